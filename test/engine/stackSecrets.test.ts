/**
 * How a stack's secrets are kept: the public dev passphrase is refused for any stack but the
 * bundled dev, lab and lab-cloud (`cloud` included, a name a real site may use), and so are an
 * empty passphrase and none at all; secret config reaches the engine without ever being in a
 * command line (engine/stack.ts setSecretConfig: openStack's config, kinetic backup's secret). The
 * second part runs the real engine: a `pulumi` wrapper in front of it records every command line
 * the Automation API, openStack and kinetic backup run.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine } from "../../engine/build";
import { DEV_PASSPHRASE, DEV_STACKS, passphraseRefusal } from "../../engine/devPassphrase";
import { openStack } from "../../engine/stack";
import { backupSecret } from "../../cli/backup";
import { projectStack } from "../../cli/engineCommands";
import { PASSPHRASE, testEngine } from "./scratch";

/** Runs `fn` with PULUMI_CONFIG_PASSPHRASE set to `value` (unset: undefined) and stderr captured. */
async function withPassphrase<T>(value: string | undefined, fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const saved = process.env.PULUMI_CONFIG_PASSPHRASE;
  const write = process.stderr.write.bind(process.stderr);
  let stderr = "";
  if (value === undefined) delete process.env.PULUMI_CONFIG_PASSPHRASE;
  else process.env.PULUMI_CONFIG_PASSPHRASE = value;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    return { result: await fn(), stderr };
  } finally {
    process.stderr.write = write;
    if (saved === undefined) delete process.env.PULUMI_CONFIG_PASSPHRASE;
    else process.env.PULUMI_CONFIG_PASSPHRASE = saved;
  }
}

describe("stack secrets: the dev passphrase only for the bundled dev and lab stacks", () => {
  it("passphraseRefusal: dev, lab and lab-cloud take it; any other stack (cloud too) refuses it and an empty one, never echoing a passphrase", () => {
    assert.deepEqual(DEV_STACKS, ["dev", "lab", "lab-cloud"]);
    for (const dev of DEV_STACKS) assert.equal(passphraseRefusal(dev, DEV_PASSPHRASE), undefined, dev);
    assert.equal(passphraseRefusal("site", "a-real-passphrase"), undefined);
    assert.equal(passphraseRefusal("cloud", "a-real-passphrase"), undefined);
    for (const stack of ["site", "cloud"]) {
      assert.equal(passphraseRefusal(stack, DEV_PASSPHRASE), `stack ${stack}: PULUMI_CONFIG_PASSPHRASE is the public dev passphrase, for the dev, lab, lab-cloud stacks only; give stack ${stack}'s secrets a passphrase of their own`);
    }
    assert.match(passphraseRefusal("site", "") ?? "", /^stack site: PULUMI_CONFIG_PASSPHRASE is empty/);
    assert.ok(!(passphraseRefusal("site", DEV_PASSPHRASE) ?? "").includes(DEV_PASSPHRASE));
  });

  it("kinetic preview --stack site with the dev passphrase (or an empty one) stops before the engine, in one line", async () => {
    for (const value of [DEV_PASSPHRASE, ""]) {
      const { result, stderr } = await withPassphrase(value, () => projectStack("site", "preview"));
      assert.equal(result, undefined);
      assert.match(stderr, /^preview: stack site: PULUMI_CONFIG_PASSPHRASE is (the public dev passphrase|empty)[^\n]*\n$/);
    }
  });

  it("kinetic preview --stack cloud (no longer a lab stack) takes no default passphrase: without one, or with the dev one, it stops in one line", async () => {
    const unset = await withPassphrase(undefined, () => projectStack("cloud", "preview"));
    assert.equal(unset.result, undefined);
    assert.equal(unset.stderr, "preview: set PULUMI_CONFIG_PASSPHRASE, the passphrase of stack cloud's secrets\n");
    const dev = await withPassphrase(DEV_PASSPHRASE, () => projectStack("cloud", "preview"));
    assert.equal(dev.result, undefined);
    assert.match(dev.stderr, /^preview: stack cloud: PULUMI_CONFIG_PASSPHRASE is the public dev passphrase[^\n]*\n$/);
  });

  it("openStack refuses it too, before running anything (the CLI's other ways in: state, migrate)", async () => {
    const nowhere: Engine = { root: "/nonexistent", binDir: "/nonexistent/bin", version: "none", source: "path" };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-devpass-"));
    try {
      await assert.rejects(
        openStack({ engine: nowhere, stack: "site", program: async () => ({}), backendDir: path.join(dir, "state"), passphrase: DEV_PASSPHRASE, workDir: dir }),
        /stack site: PULUMI_CONFIG_PASSPHRASE is the public dev passphrase/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The real engine behind a `pulumi` that first appends its command line to `log`: every pulumi the
 * Automation API, openStack or setSecretConfig runs goes through it (they are the only processes
 * these code paths start).
 */
async function argvLoggingEngine(dir: string, log: string): Promise<Engine> {
  const real = await testEngine();
  const front = path.join(dir, "front");
  fs.mkdirSync(path.join(front, "bin"), { recursive: true });
  fs.writeFileSync(path.join(front, "bin", "pulumi"), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${path.join(real.root, "bin", "pulumi")}' "$@"\n`, { mode: 0o755 });
  return { ...real, root: front, binDir: `${path.join(front, "bin")}${path.delimiter}${real.binDir}` };
}

describe("stack secrets: secret config never in a command line (real engine)", function () {
  this.timeout(10 * 60_000);

  it("openStack sets secret config through stdin: the value is stored encrypted, read back exactly, and in no pulumi argv", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-stacksecrets-"));
    try {
      const log = path.join(dir, "argv.log");
      const engine = await argvLoggingEngine(dir, log);
      // Multi-line, trailing newline, shell and YAML syntax: kept byte for byte.
      const secret = "-----BEGIN KEY-----\nline two $(x) 'q' \"d\": #\n-----END KEY-----\n";
      const stack = await openStack({
        engine,
        stack: "secrets",
        program: async () => ({}),
        backendDir: path.join(dir, "state"),
        passphrase: PASSPHRASE,
        workDir: dir,
        config: { "kinetic:token": { value: secret, secret: true }, "kinetic:plain": { value: "visible" } },
      });
      assert.deepEqual(await stack.getConfig("kinetic:token"), { value: secret, secret: true });
      assert.deepEqual(await stack.getConfig("kinetic:plain"), { value: "visible", secret: false });
      const file = fs.readFileSync(path.join(dir, "Pulumi.secrets.yaml"), "utf8");
      assert.match(file, /kinetic:token:\s*\n\s*secure: /);
      assert.ok(!file.includes("line two"), "the config file holds the secret in clear");
      const argv = fs.readFileSync(log, "utf8");
      assert.match(argv, /config set --secret --raw --stack secrets --non-interactive -- kinetic:token/, argv);
      assert.match(argv, /visible/, "the plain value went the Automation API's way (the log sees argv)");
      assert.ok(!argv.includes("line two") && !argv.includes("BEGIN KEY"), `a secret in pulumi's argv:\n${argv}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kinetic backup makes kinetic:backupSecret the same way: stored encrypted, read back, and in no pulumi argv", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-backupsecret-"));
    try {
      const log = path.join(dir, "argv.log");
      const engine = await argvLoggingEngine(dir, log);
      const stack = await openStack({ engine, stack: "backups", program: async () => ({}), backendDir: path.join(dir, "state"), passphrase: PASSPHRASE, workDir: dir });
      const said: string[] = [];
      const made = await backupSecret(stack, true, (l) => said.push(l));
      assert.match(made, /^[A-Za-z0-9+/]{43}=$/, "32 random bytes, base64");
      assert.match(said.join("\n"), /made kinetic:backupSecret/);
      assert.deepEqual(await stack.getConfig("kinetic:backupSecret"), { value: made, secret: true });
      assert.equal(await backupSecret(stack, true, () => {}), made, "the second backup reads it, it does not make another");
      assert.match(fs.readFileSync(path.join(dir, "Pulumi.backups.yaml"), "utf8"), /kinetic:backupSecret:\s*\n\s*secure: /);
      const argv = fs.readFileSync(log, "utf8");
      assert.ok(!argv.includes(made), `kinetic:backupSecret in pulumi's argv:\n${argv}`);
      assert.match(argv, /config set --secret --raw --stack backups --non-interactive -- kinetic:backupSecret/, argv);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
