/**
 * Trust on first use against real sshd servers on loopback: the first key seen is recorded, nothing
 * ever rescans, and a host that later presents another key is refused by a client that pins the
 * recorded key (OpenSSH's client with StrictHostKeyChecking=yes, the same rule as the command
 * provider's `connection.hostKey`).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { deriveHostKey, fingerprint } from "../components/hostKeys";
import { trustedHostKeyProvider, TRUSTED_HOST_KEY_VERSION } from "../providers/trustedHostKey";
import { requirePrerequisite } from "./support/prerequisite";
import { startSshd, sshdUnavailable, TestSshd } from "./support/sshd";

const FIRST = deriveHostKey("tofu-test", "pxe", "first");
const LATER = deriveHostKey("tofu-test", "pxe", "impostor");
const keyOnly = (line: string) => line.split(" ").slice(0, 2).join(" ");

describe("trust on first use (TrustedHostKey) against real sshd", function () {
  this.timeout(60_000);
  const provider = trustedHostKeyProvider();
  let sshd: TestSshd | undefined;

  before(function () {
    requirePrerequisite(this, sshdUnavailable(), "trust on first use (a real sshd)");
  });
  afterEach(async () => {
    await sshd?.stop();
    sshd = undefined;
  });

  it("serializes (the provider runs in another process)", async () => {
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    assert.ok(sf.text.length > 0);
  });

  it("records the key presented first; later runs keep it and a changed key is refused before login", async () => {
    sshd = await startSshd(FIRST.privateKey, "127.0.0.7");
    const inputs = { endpoint: "pxe-1", host: sshd.address, port: sshd.port, timeoutSeconds: 5, providerVersion: TRUSTED_HOST_KEY_VERSION };
    assert.deepEqual((await provider.check!(inputs, inputs)).failures, []);
    const created = { outs: (await provider.create!(inputs)).outs! };
    assert.equal(created.outs.hostKey, keyOnly(FIRST.publicKey));
    assert.equal(created.outs.fingerprint, fingerprint(FIRST.publicKey));

    // The host is replaced by one with another key at the same address and port.
    const port = sshd.port;
    await sshd.stop();
    sshd = await startSshd(LATER.privateKey, "127.0.0.7", port);
    // The next run: no change, and an update (e.g. a new provider version) never rescans.
    assert.deepEqual(await provider.diff!("pxe-1/host-key", created.outs, inputs), { changes: false, replaces: [] });
    const updated = await provider.update!("pxe-1/host-key", created.outs, { ...inputs, providerVersion: "next" });
    assert.equal(updated.outs!.hostKey, keyOnly(FIRST.publicKey));

    // A client pinning the recorded key refuses the new host before authenticating.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-tofu-"));
    const knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, `[${sshd.address}]:${port} ${updated.outs!.hostKey}\n`);
    const r = spawnSync(
      "ssh",
      ["-p", String(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlgorithms=ssh-ed25519", `root@${sshd.address}`, "true"],
      { encoding: "utf8", timeout: 20_000 },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    assert.ok(r.stderr.includes(fingerprint(LATER.publicKey)), r.stderr);
    assert.doesNotMatch(sshd.log(), /Accepted|Failed (publickey|none)|authenticating user/, "no authentication was attempted");
  });

  it("a changed address is a new first use (replace); other changes are updates", async () => {
    const olds = { endpoint: "pxe-1", host: "127.0.0.7", port: 22, timeoutSeconds: 5, providerVersion: "1", hostKey: "k", fingerprint: "f", recordedAt: "t" };
    assert.deepEqual(await provider.diff!("id", olds, { ...olds, host: "127.0.0.8" }), { changes: true, replaces: ["host"] });
    assert.deepEqual(await provider.diff!("id", olds, { ...olds, endpoint: "pxe-2" }), { changes: true, replaces: [] });
  });

  it("fails naming the host when nothing answers, and refuses an address that is not one", async () => {
    const closed = await startSshd(FIRST.privateKey, "127.0.0.7");
    const port = closed.port;
    await closed.stop();
    await assert.rejects(provider.create!({ endpoint: "pxe-1", host: "127.0.0.7", port, timeoutSeconds: 2, providerVersion: "1" }), /trust on first use: (ssh-keyscan )?pxe-1 at 127\.0\.0\.7 port \d+ (presented no SSH host key|failed)/);
    const bad = { endpoint: "pxe-1", host: "-oProxyCommand=x", port: 22, timeoutSeconds: 5, providerVersion: "1" };
    assert.deepEqual((await provider.check!(bad, bad)).failures!.map((f) => f.property), ["host"]);
  });
});
