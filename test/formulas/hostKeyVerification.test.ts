/**
 * Host key verification over real SSH: the Debian test host's sshd presents a key the program
 * generated; a client that pins it runs the formula, a client that pins another key sends nothing.
 * The client is OpenSSH's with `StrictHostKeyChecking=yes` and a known_hosts file holding only the
 * pinned key: the same rule the command provider applies to `connection.hostKey` (it stops after
 * the key exchange, before authentication, with "host key mismatch ... nothing was sent").
 */
import * as assert from "node:assert/strict";
import { deriveHostKey, fingerprint } from "../../components/hostKeys";
import { withHost } from "./hostSuite";

const SERVED = deriveHostKey("host-key-verification-test", "pxe-0b9e2f0e", "1");
const OTHER = deriveHostKey("host-key-verification-test", "pxe-0b9e2f0e", "2");
const CANARY = "/root/kinetic-host-key-canary";
/** What a formula would do first: write something, here a canary holding the value it received. */
const SCRIPT = `#!/usr/bin/env bash\n# kinetic-uses: PAYLOAD\nset -euo pipefail\nprintf '%s' "$KINETIC_PAYLOAD" > ${CANARY}\n`;

describe("SSH host key verification against a real sshd (Debian host)", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost({ hostKey: SERVED.privateKey });

  it("the host presents the generated key", () => {
    assert.equal(host().hostKey, SERVED.publicKey.split(" ").slice(0, 2).join(" "));
  });

  it("pinned to the key the host presents: the formula runs and receives its values", async () => {
    const h = host();
    const r = await h.script("test/canary", SCRIPT, { PAYLOAD: "service-password" }, { pin: SERVED.publicKey });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(h.read(CANARY), "service-password");
    h.exec(["rm", "-f", CANARY]);
  });

  it("pinned to another key: ssh refuses after the key exchange, the host received nothing", async () => {
    const h = host();
    assert.equal(h.exists(CANARY), false);
    const logBefore = h.sshdLog().length;
    const r = await h.script("test/canary", SCRIPT, { PAYLOAD: "service-password" }, { pin: OTHER.publicKey });
    assert.equal(r.code, 255, `ssh itself failed, not the script: ${r.stderr}`);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    assert.ok(r.stderr.includes(fingerprint(SERVED.publicKey)), `the presented key is named: ${r.stderr}`);
    assert.equal(h.exists(CANARY), false, "the formula never ran");
    const log = h.sshdLog().slice(logBefore);
    // sshd saw a connection that ended before authentication: no login, no session.
    assert.doesNotMatch(log, /Accepted|session opened|Starting session/);
    // The same client pinned to the right key still gets in: the refusal was the key, nothing else.
    const ok = await h.script("test/canary", SCRIPT, { PAYLOAD: "x" }, { pin: SERVED.publicKey });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(h.sshdLog().slice(logBefore), /Accepted publickey for root/, "sshd logs logins, so their absence above means something");
    h.exec(["rm", "-f", CANARY]);
  });
});
