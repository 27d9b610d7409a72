/**
 * `kinetic verify` and `kinetic openrc` as an operator runs them (the real CLI, the real engine on a
 * scratch state directory): a stack that does not exist, and one that is not up, are one line each
 * on stderr and exit 1, with nothing run and no stack created.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

/** The operator's environment with a scratch file backend (and no other backend or passphrase of theirs). */
function env(stateDir: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, KINETIC_STATE_DIR: stateDir };
  delete e.KINETIC_BACKEND;
  delete e.PULUMI_CONFIG_PASSPHRASE;
  return e;
}

function kinetic(args: string[], stateDir: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(ROOT, "cli", "kinetic.ts"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: env(stateDir),
    timeout: 15 * 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("kinetic verify and openrc: a stack that is not there, or not up", function () {
  this.timeout(20 * 60_000);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-verify-state-"));
  after(() => fs.rmSync(state, { recursive: true, force: true }));

  it("no such stack: one line, exit 1, no config file made", () => {
    for (const command of ["verify", "openrc"]) {
      const r = kinetic([command, "--stack", "nosuch"], state);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `${command}: there is no stack nosuch here (no Pulumi.nosuch.yaml in ${ROOT})\n`);
      assert.equal(r.stdout, "");
    }
    assert.equal(fs.existsSync(path.join(ROOT, "Pulumi.nosuch.yaml")), false);
  });

  it("a stack never brought up: one line naming what to do, exit 1, nothing run", () => {
    const runs = path.join(ROOT, ".kinetic", "verify", "dev");
    const before = fs.existsSync(runs) ? fs.readdirSync(runs) : [];
    const r = kinetic(["verify", "--stack", "dev"], state);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, "verify: stack dev is not up: it has no deployed endpoints (kinetic up --stack dev)\n");
    assert.equal(r.stdout, "");
    assert.deepEqual(fs.existsSync(runs) ? fs.readdirSync(runs) : [], before, "no run directory made");
    const o = kinetic(["openrc", "--stack", "dev"], state);
    assert.equal(o.code, 1, o.stderr);
    assert.equal(o.stderr, "openrc: stack dev is not up: it has no deployed endpoints (kinetic up --stack dev)\n");
    assert.equal(o.stdout, "", "no password printed");
  });
});
