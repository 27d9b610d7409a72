/**
 * SSH host keys: derivation, where the program pins them, and that private keys stay secret.
 * The program runs under Pulumi's mocks (test/support/program.ts); every `remote.Command` it
 * declares is enumerated.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { deriveHostKey, ed25519FromSeed, fingerprint, publicKeyBlob } from "../components/hostKeys";
import { realProvisioners } from "../components/provisioners";
import { Captured, Run, runProgram, SECRETS } from "./support/program";
import { ALL_ROLES, stubFormulas } from "./support/formulas";

const ROOT = path.join(__dirname, "..");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const isSecret = (v: unknown): boolean => !!v && typeof v === "object" && SECRET_SIG in v;
const plain = (v: unknown): unknown => (isSecret(v) ? (v as { value: unknown }).value : v);
const decodeStdin = (stdin: unknown): Record<string, string> =>
  Object.fromEntries(
    String(plain(stdin))
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), Buffer.from(l.slice(l.indexOf("=") + 1), "base64").toString("utf8")]),
  );
const commands = (run: Run) => run.resources.filter((r) => r.type === "command:remote:Command");
const hostKeyOf = (c: Captured): unknown => (plain(c.wire.connection) as Record<string, unknown> | undefined)?.hostKey;

/** The dev pillar with a pxe server that serves a physical pxe-installed server too (so PXE_HOST_KEYS has work). */
function devPillar(edit: (hosts: string) => string = (h) => h): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-hostkeys-"));
  for (const f of ["hosts.yaml", "environment.yaml"]) {
    const text = fs.readFileSync(path.join(ROOT, "pillar/dev", f), "utf8");
    fs.writeFileSync(path.join(dir, f), f === "hosts.yaml" ? edit(text) : text);
  }
  return dir;
}

describe("host keys: derivation", () => {
  it("is deterministic per secret, endpoint and generation, and different otherwise", () => {
    const a = deriveHostKey("s", "keystone-1", "g1");
    assert.deepEqual(deriveHostKey("s", "keystone-1", "g1"), a);
    for (const other of [deriveHostKey("t", "keystone-1", "g1"), deriveHostKey("s", "keystone-2", "g1"), deriveHostKey("s", "keystone-1", "g2")]) {
      assert.notEqual(other.publicKey.split(" ")[1], a.publicKey.split(" ")[1]);
    }
    assert.throws(() => deriveHostKey("", "x", "g"), /secret is empty/);
  });

  it("writes OpenSSH's own formats: ssh-keygen reads the private key back to the same public key and fingerprint", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-hostkey-"));
    for (const seed of [Buffer.alloc(32, 0), Buffer.alloc(32, 0xff), Buffer.from("0123456789abcdef0123456789abcdef")]) {
      for (const comment of ["", "root@keystone-1", "c"]) {
        const k = ed25519FromSeed(seed, comment);
        const file = path.join(dir, "key");
        fs.writeFileSync(file, k.privateKey, { mode: 0o600 });
        assert.equal(execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim(), k.publicKey);
        assert.equal(execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" }).split(" ")[1], fingerprint(k.publicKey));
      }
    }
  });

  it("reads public key lines the way an SSH implementation does", () => {
    const k = deriveHostKey("s", "e", "g").publicKey;
    assert.ok(publicKeyBlob(k));
    assert.ok(publicKeyBlob(k.split(" ").slice(0, 2).join(" ")));
    assert.equal(publicKeyBlob(k.replace("ssh-ed25519", "ssh-rsa")), undefined, "type differs from the blob's");
    assert.equal(publicKeyBlob("ssh-ed25519 AAAA"), undefined);
    assert.equal(publicKeyBlob(`${k}\nssh-ed25519 AAAA`), undefined, "one line only");
    assert.equal(publicKeyBlob("10.0.0.2 " + k), undefined, "ssh-keyscan's host column is not part of the key");
  });
});

describe("host keys: every connection the program declares is pinned", function () {
  this.timeout(300_000);
  let dev: Run;
  const pillar = devPillar();

  before(async () => {
    // The pxe configure declares what the real one does (formulas/pxe/configure): the assignments and their keys.
    const formulasDir = stubFormulas(ALL_ROLES, { "pxe/configure": "#!/usr/bin/env bash\n# kinetic-uses: PXE_ASSIGNMENTS PXE_HOST_KEYS\necho ok\n" });
    dev = await runProgram({ config: { "kinetic:pillar": pillar }, program: { formulasDir, provisioners: realProvisioners } });
  });

  it("every remote.Command has a host key, a well-formed public key line", () => {
    const all = commands(dev);
    assert.ok(all.length > 20, `${all.length} commands`);
    const unpinned = (list: Captured[]) => list.filter((c) => typeof hostKeyOf(c) !== "string" || !publicKeyBlob(hostKeyOf(c) as string)).map((c) => c.name);
    assert.deepEqual(unpinned(all), []);
    // The check can fail: a connection without a key, or with something else, is reported.
    assert.deepEqual(unpinned([{ ...all[0], name: "no-key", wire: { connection: { host: "10.0.0.1" } } }, { ...all[0], name: "junk", wire: { connection: { hostKey: "AAAA" } } }]), ["no-key", "junk"]);
  });

  it("virtual endpoints: the pinned key is the one in the machine's seed, and its wait expects it too", () => {
    const domains = commands(dev).filter((c) => c.name.endsWith("-provision-domain"));
    assert.ok(domains.length >= 3);
    for (const d of domains) {
      const v = decodeStdin(d.wire.stdin);
      assert.ok(isSecret(d.wire.stdin), `${d.name}: stdin carrying the private key is a secret`);
      const seed = parse(v.USER_DATA) as { ssh_keys: { ed25519_public: string; ed25519_private: string } };
      assert.equal(v.HOST_KEY, seed.ssh_keys.ed25519_public);
      for (const phase of ["base", "networking", "install", "configure"]) {
        const step = dev.byName.get(`${v.NAME}-${phase}`)!;
        assert.equal(hostKeyOf(step), v.HOST_KEY, `${step.name} pins the seed's key`);
      }
      assert.ok((d.inputs.triggers as unknown[]).includes(v.HOST_KEY), "the key is part of what replaces the machine");
    }
    const keys = domains.map((d) => decodeStdin(d.wire.stdin).HOST_KEY);
    assert.equal(new Set(keys).size, keys.length, "one key per machine");
  });

  it("physical endpoints: the pinned key is the one the pxe server hands out for that server", () => {
    const pxeConfigure = commands(dev).find((c) => /^pxe-.*-configure$/.test(c.name))!;
    assert.ok(isSecret(pxeConfigure.wire.stdin), "the pxe configure's stdin carries private keys: secret");
    const lines = decodeStdin(pxeConfigure.wire.stdin).PXE_HOST_KEYS.split("\n");
    const physical = dev.outputs.endpoints.filter((e) => e.style === "physical");
    assert.equal(lines.length, physical.length);
    for (const e of physical) {
      const [uuid, pub, priv] = lines.find((l) => l.startsWith(`${e.uuid}\t`))!.split("\t");
      assert.equal(uuid, e.uuid);
      assert.match(Buffer.from(priv, "base64").toString(), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      for (const phase of ["base", "networking", "install", "configure"]) assert.equal(hostKeyOf(dev.byName.get(`${e.name}-${phase}`)!), pub);
      // The libvirt commands on this controller pin the same key.
      for (const d of commands(dev).filter((c) => c.name.endsWith("-provision-domain"))) {
        if (decodeStdin(d.wire.stdin).CONTROLLER === e.name) assert.equal(hostKeyOf(d), pub, d.name);
      }
    }
  });

  it("foundation hosts: the pillar's host_keys entry", () => {
    const pxe = dev.outputs.endpoints.find((e) => e.type === "pxe")!;
    const expected = (parse(fs.readFileSync(path.join(pillar, "hosts.yaml"), "utf8")) as { hosts: { pxe: { host_keys: string[] } } }).hosts.pxe.host_keys[0];
    for (const phase of ["base", "networking", "install", "configure"]) assert.equal(hostKeyOf(dev.byName.get(`${pxe.name}-${phase}`)!), expected);
  });

  it("no private host key reaches the engine unencrypted, in any input or output", () => {
    const privateKeys: string[] = [];
    for (const c of commands(dev)) {
      const v = decodeStdin(c.wire.stdin);
      if (v.USER_DATA) privateKeys.push((parse(v.USER_DATA) as { ssh_keys: { ed25519_private: string } }).ssh_keys.ed25519_private);
      if (v.PXE_HOST_KEYS) for (const l of v.PXE_HOST_KEYS.split("\n")) privateKeys.push(Buffer.from(l.split("\t")[2], "base64").toString());
    }
    assert.ok(privateKeys.length >= 4);
    // Whole keys, their base64, and every body line (a key split over lines is still a leak).
    const needles = privateKeys.flatMap((k) => [k, Buffer.from(k).toString("base64"), ...k.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))]);
    const leaks: string[] = [];
    const walk = (v: unknown, where: string): void => {
      if (typeof v === "string") {
        if (needles.some((n) => v.includes(n))) leaks.push(where);
      } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
      else if (v && typeof v === "object") {
        if (isSecret(v)) return;
        for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
      }
    };
    for (const r of dev.resources) walk(r.wire, r.name);
    walk(dev.outputs, "stack outputs");
    assert.deepEqual(leaks, []);
    // The test can fail: the same walk finds a key placed in plain text.
    walk({ stdin: `x${privateKeys[0]}` }, "canary");
    assert.deepEqual(leaks, ["canary.stdin"]);
  });
});

describe("host keys: foundation hosts without a key", function () {
  this.timeout(300_000);
  const noKey = () => devPillar((h) => h.replace(/^ {4}host_keys: .*\n/m, ""));

  it("`pulumi up` refuses before declaring anything, naming the pillar key to add", async () => {
    await assert.rejects(
      runProgram({ config: { "kinetic:pillar": noKey() }, program: { formulasDir: stubFormulas() } }),
      (e: Error) =>
        /refusing to connect to 1 foundation host\(s\) whose SSH host key is unknown, nothing was changed/.test(e.message) &&
        /pxe-[0-9a-f-]+ at 10\.10\.0\.2: add its SSH host key as hosts\.pxe\.host_keys\[0\]/.test(e.message) &&
        /kinetic:trustOnFirstUse true/.test(e.message),
    );
  });

  it("a preview warns instead (it connects nowhere)", async () => {
    const r = await runProgram({ config: { "kinetic:pillar": noKey() }, program: { formulasDir: stubFormulas() }, dryRun: true });
    assert.ok(r.logs.some((l) => l.severity === "warn" && /hosts\.pxe\.host_keys\[0\].*`pulumi up` will refuse to connect/.test(l.message)), JSON.stringify(r.logs));
  });

  it("with trust on first use, the key is recorded by a TrustedHostKey resource and pinned from it", async () => {
    const r = await runProgram({ config: { "kinetic:pillar": noKey(), "kinetic:trustOnFirstUse": "true" }, program: { formulasDir: stubFormulas() } });
    const pxe = r.outputs.endpoints.find((e) => e.type === "pxe")!;
    const record = r.byName.get(`${pxe.name}-host-key`)!;
    assert.equal(record.type, "pulumi-nodejs:dynamic/ssh:TrustedHostKey");
    assert.equal(record.parent, pxe.name);
    assert.equal(record.inputs.host, "10.10.0.2");
    assert.equal(record.inputs.port, 22);
    // Other endpoints are not foundation hosts: no record for them.
    assert.equal(r.resources.filter((x) => x.name.endsWith("-host-key")).length, 1);
  });

  it("an explicit pillar key wins over trust on first use", async () => {
    const r = await runProgram({ config: { "kinetic:pillar": devPillar(), "kinetic:trustOnFirstUse": "true" }, program: { formulasDir: stubFormulas() } });
    assert.equal(r.resources.filter((x) => x.name.endsWith("-host-key")).length, 0);
  });
});

// Referenced so a future rename of the test secrets shows up here.
void SECRETS;
