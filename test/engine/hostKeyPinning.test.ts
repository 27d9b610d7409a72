/**
 * Host key pinning through the real engine and Kinetic's command plugin (engine/command): a formula
 * step declared by `formulaStep` with `connection.hostKey` runs against a real sshd on loopback that
 * presents the pinned key; after the host is replaced by one presenting another key, `up` fails
 * with the plugin's mismatch error and the host received nothing. The exported state is searched
 * for the private keys the step carried (a generated host key and the client key): none in plain text.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { formulaStep } from "../../components/formulaStep";
import { deriveHostKey, fingerprint } from "../../components/hostKeys";
import { Engine } from "../../engine/build";
import { openStack } from "../../engine/stack";
import { requirePrerequisite } from "../support/prerequisite";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { storedState, testEngine } from "./scratch";

const ADDRESS = "127.0.0.9";
const SERVED = deriveHostKey("engine-host-key-test", "pxe-1", "served");
const IMPOSTOR = deriveHostKey("engine-host-key-test", "pxe-1", "impostor");
/** The orchestrator's client key (an ed25519 key is an ed25519 key). */
const CLIENT = deriveHostKey("engine-host-key-test", "orchestrator", "client");
/** A generated host key the step carries as a secret fact, as pxe/configure's PXE_HOST_KEYS does. */
const CARRIED = deriveHostKey("engine-host-key-test", "controller-1", "physical-1");
const SCRIPT = '#!/usr/bin/env bash\n# kinetic-uses: CANARY RUN PXE_HOST_KEYS\nset -euo pipefail\nprintf \'%s\' "$KINETIC_RUN" > "$KINETIC_CANARY"\n';

describe("host key pinning under the real engine and command plugin", function () {
  this.timeout(15 * 60_000);
  let engine: Engine;
  let sshd: TestSshd | undefined;
  let dir: string;
  const canary = () => path.join(dir, "canary");

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "host-key pinning (a real sshd)");
    engine = await testEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-engine-hostkey-"));
  });
  after(async () => {
    await sshd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const program = (run: string, port: number) => async () => {
    const step = formulaStep(
      "pxe-1-configure",
      {
        formula: { label: "test/canary", text: SCRIPT },
        expected: "test/canary",
        facts: { CANARY: canary(), RUN: run },
        connection: { host: ADDRESS, port, user: "root", privateKey: pulumi.secret(CLIENT.privateKey), hostKey: SERVED.publicKey, perDialTimeout: 5, dialErrorLimit: 2 },
        sudo: false,
        secretFacts: { PXE_HOST_KEYS: () => pulumi.secret(`controller-1\t${CARRIED.publicKey}\t${Buffer.from(CARRIED.privateKey).toString("base64")}`) },
      },
      {},
    );
    return { ran: step.stdout };
  };

  it("runs on the host presenting the pinned key; refuses the same address presenting another, sending nothing", async () => {
    sshd = await startSshd(SERVED.privateKey, ADDRESS, undefined, { authorizedKey: CLIENT.publicKey });
    const port = sshd.port;
    const stack = await openStack({ engine, stack: "hostkeys", program: program("first", port), workDir: dir, backendDir: path.join(dir, "backend"), passphrase: "engine-hostkey-test" });
    await stack.up();
    assert.equal(fs.readFileSync(canary(), "utf8"), "first");
    fs.rmSync(canary());

    // The private keys the step carried are in the state only encrypted: the stack's file in the
    // backend, as stored (the Automation API's exportStack decrypts, it runs `--show-secrets`).
    const state = storedState(path.join(dir, "backend"), "hostkeys");
    assert.match(state, /"ciphertext"/, "secrets are stored encrypted");
    for (const key of [CARRIED.privateKey, CLIENT.privateKey]) {
      // Each key's own lines (the first line is the same for every unencrypted ed25519 key).
      for (const line of key.split("\n").slice(2, -2)) assert.ok(!state.includes(line), "a private key line is in the state in plain text");
      assert.ok(!state.includes(Buffer.from(key).toString("base64").slice(100, 160)));
    }
    // The search can fail: the decrypted export does hold the client key.
    assert.ok(JSON.stringify(await stack.exportStack()).includes(CLIENT.privateKey.split("\n")[3]));

    // Another machine answers at the address with another key; the next run must re-run the step.
    await sshd.stop();
    sshd = await startSshd(IMPOSTOR.privateKey, ADDRESS, port, { authorizedKey: CLIENT.publicKey });
    const logBefore = sshd.log().length;
    await stack.workspace.selectStack("hostkeys");
    const again = await openStack({ engine, stack: "hostkeys", program: program("second", port), workDir: dir, backendDir: path.join(dir, "backend"), passphrase: "engine-hostkey-test" });
    const err = await again.up().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, "up succeeded against a host presenting another key");
    const expected = `host key mismatch at ${ADDRESS}:${port}: expected ${fingerprint(SERVED.publicKey)}, presented ${fingerprint(IMPOSTOR.publicKey)}; nothing was sent`;
    assert.ok(err.message.includes(expected), `expected "${expected}" in:\n${err.message.slice(-3000)}`);
    assert.match(err.message, /pxe-1-configure/, "the error names the step, hence the endpoint");
    assert.equal(fs.existsSync(canary()), false, "the formula never ran");
    assert.doesNotMatch(sshd.log().slice(logBefore), /Accepted|session opened/);
    await again.destroy().catch(() => undefined);
  });
});
