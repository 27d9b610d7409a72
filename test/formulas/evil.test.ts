import * as assert from "node:assert/strict";
import { declaredUses } from "../../formulas/envelope";
import { listFormulas, loadFormula } from "../../formulas/load";
import { describeRun, EVIL, withHost } from "./hostSuite";

/** Concrete names for a `PREFIX_*` declaration, so prefixed values are attacked too. */
const EXPAND: Record<string, string[]> = {
  "NET_*": ["NET_MANAGEMENT_INTERFACES", "NET_MANAGEMENT_BRIDGE", "NET_MANAGEMENT_ADDRESS", "NET_MANAGEMENT_SUBNET"],
  "ADDRESSES_*": ["ADDRESSES_MYSQL", "ADDRESSES_HAPROXY", "ADDRESSES_KEYSTONE", "ADDRESSES_MEMCACHED"],
  "NAMES_*": ["NAMES_RABBITMQ"],
  "ROLE_ADDRESSES_*": ["ROLE_ADDRESSES_STORAGE", "ROLE_ADDRESSES_MDS"],
};

/**
 * Every value a formula declares is set to a string full of shell syntax (command substitution,
 * backticks, quotes, newlines). Whatever the formula does with it (carry it literally or refuse it
 * with a message naming the step), nothing may run: /tmp/pwned must not appear, in the test host or
 * on the test machine. Install formulas read no value (checked here) and are exercised by the role tests.
 */
describe("formulas: a pillar string full of shell syntax is never executed", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();

  it("the canary works: a script that does evaluate the value creates /tmp/pwned in the host", async () => {
    const bad = "#!/usr/bin/env bash\n# kinetic-uses: X\nbash -c \"echo $KINETIC_X\" > /dev/null 2>&1 || true\n";
    const r = await host().script("demo/vulnerable", bad, { X: EVIL });
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(host().exists("/tmp/pwned"), true, "the canary did not fire: the check above would prove nothing");
    host().exec(["rm", "-f", "/tmp/pwned"]);
  });

  for (const label of listFormulas()) {
    const { text } = loadFormula(label);
    if (label.endsWith("/install")) {
      it(`${label} reads no pillar value`, () => {
        const own = text.split("# <<< lib/kinetic.sh")[1] ?? text;
        assert.doesNotMatch(own, /\$\{?KINETIC_(?!STEP|CHANGES|FORMULA|APT_OPTS)/);
      });
      continue;
    }
    it(`${label}: every declared value = ${JSON.stringify(EVIL.slice(0, 24))}...`, async () => {
      const values: Record<string, string> = {};
      for (const use of declaredUses(text)) for (const name of EXPAND[use] ?? [use]) values[name] = `${name.toLowerCase()} ${EVIL}`;
      if ("NETWORKS" in values) values.NETWORKS = `management ${EVIL}`;
      const r = await host().formula(label, values);
      assert.ok(r.code === 0 || new RegExp(`kinetic: ${label}: step "[^"]+" failed`).test(r.stderr), describeRun(r));
      assert.equal(host().exists("/tmp/pwned"), false, describeRun(r));
    });
  }
});
