/**
 * The command plugin's own Go tests (engine/command/*_test.go): its diff decides whether a formula
 * phase runs again, is re-created or is left alone. Built with the engine build's flags, so Go's
 * build cache from `npm run engine` serves the dependencies.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { requirePrerequisite } from "../support/prerequisite";

describe("engine: the command plugin's Go tests", function () {
  this.timeout(15 * 60_000);

  it("go test passes", function () {
    requirePrerequisite(this, spawnSync("go", ["version"]).status !== 0 && "no go on the PATH", "the command plugin's Go tests");
    const r = spawnSync("go", ["test", "-trimpath", "-count=1", "./..."], {
      cwd: path.join(__dirname, "..", "..", "engine", "command"),
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
});
