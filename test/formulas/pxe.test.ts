import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import { parse } from "yaml";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { FormulaValues } from "../../formulas/envelope";
import { deriveHostKey } from "../../components/hostKeys";
import { Daemons } from "./daemons";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, runOk, waitForPort, withHost } from "./hostSuite";

const U1 = "4c4c4544-0042-3610-8058-b4c04f4e3332";
/** The first three groups byte-swapped. */
const swap = (u: string) => u.split("-").map((g, i) => (i < 3 ? g.match(/../g)!.reverse().join("") : g)).join("-");
const U1_SWAPPED = swap(U1);
const U2 = "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90";
const KEYS = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPxeKeyOne op@site\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPxeKeyTwo ${EVIL}`;
/** A disk model is a field of a tab-separated line: it can carry everything but a tab or a newline. */
const ONE_LINE_EVIL = EVIL.replace(/\n/g, " ");
const DISK = `Samsung SSD 980 ${ONE_LINE_EVIL}`;
const assignment = (u: string, name: string, iface: string, disk: string, addr: string) => [u, name, iface, "ubuntu2204", disk, addr].join("\t");
/** The host keys the program generates for the two servers (components/hostKeyPins.ts: PXE_HOST_KEYS). */
const HOST_KEY_1 = deriveHostKey("pxe-test", `controller-${U1}`, "physical-1");
const HOST_KEY_2 = deriveHostKey("pxe-test", `storage-${U2}`, "physical-1");
const hostKeyLine = (u: string, k: { publicKey: string; privateKey: string }) => [u, k.publicKey, Buffer.from(k.privateKey).toString("base64")].join("\t");

/** GET http://127.0.10.5<path> (the pxe host's ADDRESS) from the client address `from`: status and body. */
function get(from: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.10.5", port: 80, path: urlPath, localAddress: from, timeout: 10_000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} from ${from}: no answer in 10 s`)));
    req.on("error", reject);
  });
}

const values = (over: FormulaValues = {}): FormulaValues => ({
  NAME: "pxe-0b9e2f0e-5d86-4b4a-9a5d-4a54b7c4f0a1",
  ADDRESS: "127.0.10.5",
  SUBNET_MANAGEMENT: "127.0.10.0/24",
  GATEWAY: "127.0.10.1",
  NAMESERVERS: "127.0.10.2 127.0.10.3",
  DOMAIN: "site.example.test",
  AUTHORIZED_KEYS: KEYS,
  PXE_ASSIGNMENTS: [
    assignment(U1, `controller-${U1}`, "eno1", DISK, "127.0.10.50"),
    assignment(U2, `storage-${U2}`, "enp65s0f0", "INTEL SSDSC2KB48", "127.0.10.51"),
  ].join("\n"),
  PXE_HOST_KEYS: [hostKeyLine(U1, HOST_KEY_1), hostKeyLine(U2.toUpperCase(), HOST_KEY_2)].join("\n"),
  ...over,
});

describe("formulas/pxe on a Debian host", function () {
  this.timeout(10 * 60_000);
  const daemons = new Daemons();
  const { host } = withHost({}, { teardown: () => daemons.stopAll() });
  const www = "/var/www/kinetic";

  it("install: Kea, tftpd-hpa, iPXE and nginx, enabled", async () => {
    const h = host();
    await runOk(h, "pxe/install", { NAME: values().NAME });
    assertInstalled(h, ["kea-dhcp4-server", "tftpd-hpa", "ipxe", "nginx-light"]);
    assertEnabled(h, ["kea-dhcp4-server.service", "tftpd-hpa.service", "nginx.service"]);
    await assertIdempotent(h, "pxe/install", { NAME: values().NAME });
  });

  it("configure: DHCP reservations by SMBIOS UUID (both byte orders) that Kea accepts", async () => {
    const h = host();
    await runOk(h, "pxe/configure", values());
    const check = h.tryExec(["kea-dhcp4", "-t", "/etc/kea/kea-dhcp4.conf"]);
    assert.equal(check.code, 0, `kea-dhcp4 -t refused the configuration:\n${check.stdout}${check.stderr}\n${h.read("/etc/kea/kea-dhcp4.conf")}`);
    const kea = h.read("/etc/kea/kea-dhcp4.conf");
    assert.ok(kea.includes(`option[97].hex == 0x00${U1.replace(/-/g, "").toUpperCase()} or option[97].hex == 0x00${U1_SWAPPED.replace(/-/g, "").toUpperCase()}`), kea);
    assert.ok(kea.includes(`{ "pool": "127.0.10.50 - 127.0.10.50", "client-class": "kinetic-host-${U1.replace(/-/g, "")}" }`), kea);
    assert.ok(kea.includes(`{ "pool": "127.0.10.51 - 127.0.10.51", "client-class": "kinetic-host-${U2.replace(/-/g, "")}" }`), kea);
    assert.ok(kea.includes('"boot-file-name": "http://127.0.10.5/boot.ipxe"'));
    assert.ok(kea.includes('{ "name": "routers", "data": "127.0.10.1" }'));
  });

  it("configure: TFTP serves the iPXE binaries, HTTP the boot script and per-UUID assignments", async () => {
    const h = host();
    // Compared inside the host: /usr/lib/ipxe/* may be symlinks to absolute paths.
    const sum = (p: string) => h.exec(["sha256sum", p]).split(" ")[0];
    assert.equal(sum("/srv/tftp/ipxe.efi"), sum("/usr/lib/ipxe/ipxe.efi"));
    assert.equal(sum("/srv/tftp/undionly.kpxe"), sum("/usr/lib/ipxe/undionly.kpxe"));
    assert.match(h.read("/etc/default/tftpd-hpa"), /^TFTP_DIRECTORY="\/srv\/tftp"$/m);
    assert.equal(h.exists("/etc/nginx/sites-enabled/default"), false);
    assert.equal(h.exec(["readlink", "/etc/nginx/sites-enabled/kinetic-pxe"]).trim(), "../sites-available/kinetic-pxe");
    const nginx = h.tryExec(["nginx", "-t"]);
    assert.equal(nginx.code, 0, `nginx -t refused the configuration: ${nginx.stderr}`);
    assert.match(h.read(`${www}/boot.ipxe`), /^chain http:\/\/127\.0\.10\.5\/assignments\/\$\{uuid\}\/boot\.ipxe \|\| goto unknown$/m);
    assert.match(h.read(`${www}/assignments/${U1}/boot.ipxe`), /ds=nocloud-net;s=http:\/\/127\.0\.10\.5\/assignments\/4c4c4544-0042-3610-8058-b4c04f4e3332\//);
    // The byte-swapped fallback answers with the same assignment.
    assert.equal(h.exec(["readlink", `${www}/assignments/${U1_SWAPPED}`]).trim(), U1);
    const ud = h.read(`${www}/assignments/${U1}/user-data`);
    assert.match(ud, /^#cloud-config\n/);
    const doc = parse(ud) as { autoinstall: Record<string, any> };
    assert.equal(doc.autoinstall.version, 1);
    assert.equal(doc.autoinstall.storage.layout.match.model, DISK, "the disk model is carried literally");
    assert.deepEqual(doc.autoinstall.network.ethernets, { eno1: { dhcp4: true } });
    assert.equal(doc.autoinstall["user-data"].hostname, `controller-${U1}`);
    assert.deepEqual(doc.autoinstall["user-data"].users[0].ssh_authorized_keys, KEYS.split("\n"));
    assert.deepEqual(parse(h.read(`${www}/assignments/${U1}/meta-data`)), { "instance-id": U1, "local-hostname": `controller-${U1}` });
  });

  it("configure: each server's autoinstall carries its own generated host key, readable by root and nginx only", () => {
    const h = host();
    for (const [u, key] of [[U1, HOST_KEY_1], [U2, HOST_KEY_2]] as const) {
      const file = `${www}/assignments/${u}/user-data`;
      const inner = (parse(h.read(file)) as { autoinstall: { "user-data": Record<string, unknown> } }).autoinstall["user-data"];
      assert.equal(inner.ssh_deletekeys, true);
      assert.deepEqual(inner.ssh_keys, { ed25519_private: key.privateKey, ed25519_public: key.publicKey });
      assert.equal(h.exec(["stat", "-c", "%a %U:%G", file]).trim(), "640 root:www-data");
      // What the installed system's cloud-init receives is valid cloud-config (cloud-init's own schema).
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pxe-ud-"));
      fs.writeFileSync(path.join(dir, "user-data"), "#cloud-config\n" + JSON.stringify(inner));
      const schema = spawnSync("cloud-init", ["schema", "-c", path.join(dir, "user-data")], { encoding: "utf8" });
      assert.equal(schema.status, 0, schema.stdout + schema.stderr);
    }
  });

  it("nginx serves an assignment only to its server's reserved address: 403 from any other, host key never sent", async () => {
    const h = host();
    // The test's own network has only a loopback: 127.0.10.5 is the pxe host, 127.0.10.50 and .51 the
    // servers' reserved addresses, 127.0.10.99 anyone else on the management network.
    daemons.start(h, "nginx", ["nginx", "-g", "daemon off;"]);
    await waitForPort("127.0.10.5", 80, 30_000).catch((e: Error) => { throw new Error(`${e.message}\n${daemons.log("nginx")}`); });
    const own = await get("127.0.10.50", `/assignments/${U1}/user-data`);
    assert.equal(own.status, 200, daemons.log("nginx"));
    assert.ok(own.body.includes(JSON.stringify(HOST_KEY_1.privateKey)), "its server gets its user-data");
    assert.equal((await get("127.0.10.50", `/assignments/${U1_SWAPPED}/user-data`)).status, 200, "also under the byte-swapped UUID");
    assert.equal((await get("127.0.10.50", `/assignments/${U1}/boot.ipxe`)).status, 200);
    for (const [from, p] of [
      ["127.0.10.99", `/assignments/${U1}/user-data`],
      ["127.0.10.99", `/assignments/${U1_SWAPPED}/user-data`],
      ["127.0.10.99", `/assignments/${U1}/boot.ipxe`],
      ["127.0.10.51", `/assignments/${U1}/user-data`], // another server of the fleet
      ["127.0.10.50", `/assignments/${U2}/user-data`],
      ["127.0.10.99", `/assignments/${U1}/../${U1}/user-data`],
      ["127.0.10.99", `/assignments//${U1}/user-data`],
      ["127.0.10.99", `/assignments/${U1.toUpperCase()}/user-data`],
      ["127.0.10.99", "/assignments/"],
    ] as const) {
      const r = await get(from, p);
      assert.ok(r.status === 403 || r.status === 404, `GET ${p} from ${from}: ${r.status}`);
      assert.ok(!r.body.includes("PRIVATE KEY"), `GET ${p} from ${from} sent a private key`);
    }
    assert.equal((await get("127.0.10.99", `/assignments/${U1}/user-data`)).status, 403);
    // What every client needs stays public: the chain script.
    assert.equal((await get("127.0.10.99", "/boot.ipxe")).status, 200);
  });

  it("refuses a server without a host key, or a key that is not one, without printing key material", async () => {
    const h = host();
    await assertRejects(h, "pxe/configure", values({ PXE_HOST_KEYS: hostKeyLine(U1, HOST_KEY_1) }), "check values", /KINETIC_PXE_HOST_KEYS has no host key for a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90/);
    const notAKey = Buffer.from("SECRET-MATERIAL-NOT-A-KEY").toString("base64");
    const r = await h.formula("pxe/configure", values({ PXE_HOST_KEYS: [hostKeyLine(U1, HOST_KEY_1), [U2, HOST_KEY_2.publicKey, notAKey].join("\t")].join("\n") }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /KINETIC_PXE_HOST_KEYS line 2: the private key is not an OpenSSH private key block \(not shown\)/);
    assert.ok(!(r.stdout + r.stderr).includes("SECRET-MATERIAL") && !(r.stdout + r.stderr).includes(notAKey));
    await assertRejects(h, "pxe/configure", values({ PXE_HOST_KEYS: [U1, `ssh-ed25519 AAAA\nx`, "AAAA"].join("\t") }), "check values", /KINETIC_PXE_HOST_KEYS line 1 has 2 tab-separated fields, not 3/);
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "pxe/configure", values());
  });

  it("removes the assignment of an endpoint dropped from the pillar", async () => {
    const h = host();
    const r = await runOk(h, "pxe/configure", values({ PXE_ASSIGNMENTS: assignment(U2, `storage-${U2}`, "enp65s0f0", "INTEL SSDSC2KB48", "127.0.10.51"), PXE_HOST_KEYS: hostKeyLine(U2, HOST_KEY_2) }));
    assert.ok(changes(r).includes(`removed ${www}/assignments/${U1}`), r.stdout);
    assert.ok(changes(r).includes(`removed ${www}/assignments/${U1_SWAPPED}`), r.stdout);
    assert.deepEqual(fs.readdirSync(h.path(`${www}/assignments`)).sort(), [U2, swap(U2)].sort());
    assert.doesNotMatch(h.read("/etc/kea/kea-dhcp4.conf"), /127\.0\.10\.50/);
  });

  it("refuses malformed assignment fields without executing them", async () => {
    const h = host();
    await assertRejects(h, "pxe/configure", values({ PXE_ASSIGNMENTS: assignment(U1, EVIL.split("\n")[0], "eno1", "d", "127.0.10.50") }), "check values", /PXE_ASSIGNMENTS name is not a valid hostname/);
    await assertRejects(h, "pxe/configure", values({ PXE_ASSIGNMENTS: assignment(EVIL.split("\n")[0], "n", "eno1", "d", "127.0.10.50") }), "check values", /PXE_ASSIGNMENTS uuid is not a valid uuid/);
    await assertRejects(h, "pxe/configure", values({ DOMAIN: EVIL }), "check values", /KINETIC_DOMAIN is not a valid hostname/);
    // A newline inside a field splits the line: refused by field count, never half-parsed.
    await assertRejects(h, "pxe/configure", values({ PXE_ASSIGNMENTS: assignment(U1, "n", "eno1", EVIL, "127.0.10.50") }), "check values", /KINETIC_PXE_ASSIGNMENTS line 1 has 5 tab-separated fields, not 6/);
  });
});
