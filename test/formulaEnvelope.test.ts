import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { declaredUses, encodeValues, formulaCommand, selectValues } from "../formulas/envelope";

describe("formula envelope", () => {
  const hostile = "$(touch /tmp/pwned-envelope) `touch /tmp/pwned-envelope` '; reboot # \"q\" \\ \n\ttab\nend";
  const script = `#!/usr/bin/env bash\n# kinetic-uses: A B\nset -euo pipefail\nprintf '<%s>' "$KINETIC_A" "$KINETIC_B" "$KINETIC_FORMULA"\nexit 7\n`;

  it("delivers values literally through a real shell and keeps the script's exit status", () => {
    fs.rmSync("/tmp/pwned-envelope", { force: true });
    let out = "";
    let status = 0;
    try {
      execFileSync("sh", ["-c", formulaCommand("x/configure", script)], { input: encodeValues({ A: hostile, B: "" }) });
    } catch (e) {
      const err = e as { status: number; stdout: Buffer };
      [status, out] = [err.status, err.stdout.toString()];
    }
    assert.equal(status, 7);
    assert.equal(out, `<${hostile}><><x/configure>`);
    assert.equal(fs.existsSync("/tmp/pwned-envelope"), false);
  });

  it("builds a command line of constant text and base64 only", () => {
    assert.match(formulaCommand("a/b", script), /^bash -c "\$\(printf %s '[A-Za-z0-9+/=]+' \| base64 -d\)" kinetic-formula$/);
    assert.match(formulaCommand("a/b", script, { sudo: true }), /^sudo -n bash -c /);
  });

  it("sends only declared values and names a formula that asks for an unknown one", () => {
    assert.deepEqual(declaredUses("# kinetic-uses: A B_*\n#kinetic-uses:  C\nx"), ["A", "B_*", "C"]);
    assert.deepEqual(selectValues("r/install", "# kinetic-uses: A B_*", { A: "1", B_X: "2", B_Y: "3", C: "4" }), { A: "1", B_X: "2", B_Y: "3" });
    assert.throws(() => selectValues("r/install", "# kinetic-uses: A NOPE", { A: "1" }), /^Error: formulas\/r\/install: kinetic-uses names unknown values NOPE$/);
  });

  it("refuses value names that are not shell-variable safe and NUL bytes", () => {
    assert.throws(() => encodeValues({ "A;B": "x" }), /is not \[A-Z\]/);
    assert.throws(() => encodeValues({ A: "x\0y" }), /NUL/);
  });
});
