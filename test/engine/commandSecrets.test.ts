/**
 * The command plugin through the real engine (issue 22): a formula step whose input is secret has
 * its stdout and stderr stored as secrets (encrypted in the state, searched for in the stored file);
 * a step without secret input keeps them readable; and the engine's customTimeouts bound a command.
 * The steps run against a real sshd on loopback (root may log in with the test's key only; the
 * formulas touch nothing but the test's scratch directory).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { formulaStep } from "../../components/formulaStep";
import { deriveHostKey } from "../../components/hostKeys";
import { Engine } from "../../engine/build";
import { openStack } from "../../engine/stack";
import { requirePrerequisite } from "../support/prerequisite";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { storedState, testEngine } from "./scratch";

const ADDRESS = "127.0.0.11";
const HOST = deriveHostKey("engine-command-secrets", "host", "0");
const CLIENT = deriveHostKey("engine-command-secrets", "client", "0");
/** What the secret step prints: derived from its secret input, as a formula's output may be. */
const MARKER = "secret-derived-output-7f3a9c";
const ECHO = (uses: string) => `#!/usr/bin/env bash\n# kinetic-uses: ${uses}\nset -euo pipefail\nprintf '%s\\n' "$KINETIC_SAY"\nprintf '%s\\n' "$KINETIC_SAY" >&2\n`;

describe("command plugin under the real engine: secret output, deadlines", function () {
  this.timeout(15 * 60_000);
  let engine: Engine;
  let sshd: TestSshd | undefined;
  let dir: string;

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the command plugin through the engine (a real sshd)");
    engine = await testEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-engine-cmdsecrets-"));
    sshd = await startSshd(HOST.privateKey, ADDRESS, undefined, { authorizedKey: CLIENT.publicKey });
  });
  after(async () => {
    await sshd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const connection = () => ({ host: ADDRESS, port: sshd!.port, user: "root", privateKey: pulumi.secret(CLIENT.privateKey), hostKey: HOST.publicKey, perDialTimeout: 5, dialErrorLimit: 2 });

  it("stdout and stderr of a step with secret input are stored encrypted; a plain step's stay readable", async () => {
    const program = async () => {
      const secret = formulaStep(
        "secret-step",
        { formula: { label: "test/secret", text: ECHO("SAY") }, expected: "test/secret", facts: {}, connection: connection(), sudo: false, secretFacts: { SAY: () => pulumi.secret(MARKER) } },
        {},
      );
      const plain = formulaStep("plain-step", { formula: { label: "test/plain", text: ECHO("SAY") }, expected: "test/plain", facts: { SAY: "plain-output-visible" }, connection: connection(), sudo: false }, {});
      return { secretOut: secret.stdout, plainOut: plain.stdout };
    };
    const stack = await openStack({ engine, stack: "cmdsecrets", program, workDir: dir, backendDir: path.join(dir, "backend"), passphrase: "engine-cmdsecrets-test" });
    const up = await stack.up();
    assert.equal(up.outputs.secretOut.secret, true, "the secret step's stdout is a secret output");
    assert.equal(up.outputs.secretOut.value, MARKER);
    assert.equal(up.outputs.plainOut.secret, false);
    const state = storedState(path.join(dir, "backend"), "cmdsecrets");
    assert.ok(!state.includes(MARKER), "the secret step's output is in the stored state in plain text");
    assert.ok(state.includes("plain-output-visible"), "the plain step's output is stored readable (the search can find output)");
    // The decrypted export does hold it: the search above can fail.
    assert.ok(JSON.stringify(await stack.exportStack()).includes(MARKER));
  });

  it("a command that outlives the resource's customTimeouts is given up on, naming the deadline", async () => {
    const program = async () => {
      const step = formulaStep(
        "slow-step",
        { formula: { label: "test/slow", text: "#!/usr/bin/env bash\n# kinetic-uses: NAME\nsleep 60\n" }, expected: "test/slow", facts: { NAME: "slow" }, connection: connection(), sudo: false },
        { customTimeouts: { create: "3s" } },
      );
      return { out: step.stdout };
    };
    const stack = await openStack({ engine, stack: "cmddeadline", program, workDir: dir, backendDir: path.join(dir, "backend"), passphrase: "engine-cmdsecrets-test" });
    const started = Date.now();
    const err = await stack.up().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const took = (Date.now() - started) / 1000;
    assert.ok(err, "up succeeded although the command runs 60 s with a 3 s deadline");
    assert.match(err.message, /did not end within its deadline of 3s/);
    assert.ok(took < 50, `the engine waited ${took} s`);
  });
});
