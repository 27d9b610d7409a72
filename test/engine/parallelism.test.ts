/**
 * How many operations the engine runs at once (engine/environment.ts ENGINE_PARALLEL): read back
 * from the built engine itself, whose `up --help` prints the default it resolved from the
 * environment, so a misspelt variable or one the engine ignores fails here.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ensureEngine } from "../../engine/build";
import { ENGINE_PARALLEL, engineEnv } from "../../engine/environment";

describe("engine parallelism", function () {
  this.timeout(20 * 60_000);

  const resolvedDefault = async (operatorValue: string | undefined): Promise<string> => {
    const engine = await ensureEngine();
    const saved = process.env.PULUMI_PARALLEL;
    if (operatorValue === undefined) delete process.env.PULUMI_PARALLEL;
    else process.env.PULUMI_PARALLEL = operatorValue;
    try {
      const env = { ...process.env, ...engineEnv(engine, { backendDir: "/nonexistent", passphrase: "x" }) };
      const r = spawnSync(path.join(engine.binDir, "pulumi"), ["up", "--help"], { env, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const m = /--parallel int32 .*\(default (\d+)\)/.exec(r.stdout);
      assert.ok(m, `no --parallel default in: ${r.stdout.slice(0, 2000)}`);
      return m[1];
    } finally {
      if (saved === undefined) delete process.env.PULUMI_PARALLEL;
      else process.env.PULUMI_PARALLEL = saved;
    }
  };

  it("runs as many operations at once as the machines allow, not 4 per core of the orchestrator", async () => {
    assert.equal(await resolvedDefault(undefined), String(ENGINE_PARALLEL));
  });

  it("an operator's PULUMI_PARALLEL wins", async () => {
    assert.equal(await resolvedDefault("3"), "3");
  });
});
