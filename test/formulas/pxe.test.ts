import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import { parse } from "yaml";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { FormulaValues } from "../../formulas/envelope";
import { buildInstallerImage } from "../../image/guestImage";
import { chainSummary, ChainStep, describeChain, logMarks, OVMF, PxeBootResult, PxeMachine } from "../../lab/pxeBoot";
import { deriveHostKey } from "../../components/hostKeys";
import { Daemons } from "./daemons";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, runOk, waitForPort, withHost } from "./hostSuite";
import { requirePrerequisite } from "../support/prerequisite";

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
    // The reserved address, statically: the installed system's DHCP client sends no option 97.
    assert.deepEqual(doc.autoinstall.network.ethernets, {
      eno1: { addresses: ["127.0.10.50/24"], routes: [{ to: "default", via: "127.0.10.1" }], nameservers: { addresses: ["127.0.10.2", "127.0.10.3"], search: ["site.example.test"] } },
    });
    // A kernel iPXE starts through its EFI stub finds its initrd only by name (the UEFI case below).
    assert.match(h.read(`${www}/assignments/${U1}/boot.ipxe`), /^kernel http:\/\/127\.0\.10\.5\/images\/ubuntu2204\/vmlinuz initrd=initrd /m);
    // The installer too, on its kernel line, on the NIC iPXE booted from.
    assert.match(h.read(`${www}/assignments/${U1}/boot.ipxe`), / ip=127\.0\.10\.50::127\.0\.10\.1:255\.255\.255\.0:controller-4c4c4544-0042-3610-8058-b4c04f4e3332::off:127\.0\.10\.2:127\.0\.10\.3 BOOTIF=01-\$\{netX\/mac:hexhyp\} /);
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

  it("once a server is installed (pxe/installed), its install is served no more: its boot script boots its disk and its host key is gone from nginx; the next configure keeps it so; a new host key (kinetic rebuild) serves the install again", async () => {
    const h = host();
    await assertRejects(h, "pxe/installed", { PXE_INSTALLED_UUID: EVIL }, "check values", /PXE_INSTALLED_UUID is not a valid uuid/);
    await assertRejects(h, "pxe/installed", { PXE_INSTALLED_UUID: "7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b" }, "check values", /no assignment for 7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b on this pxe host/);
    // The staged assignment (what a rebuild serves again) is root's only: it holds the private key.
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", `/var/lib/kinetic/pxe/assignments/${U1}/user-data`]).trim(), "600 root:root");
    assert.equal(h.exec(["stat", "-c", "%a", "/var/lib/kinetic/pxe/assignments"]).trim(), "700");
    const r = await runOk(h, "pxe/installed", { PXE_INSTALLED_UUID: U1.toUpperCase() });
    assert.ok(changes(r).includes(`removed ${www}/assignments/${U1}/user-data`), r.stdout);
    const installed = async () => {
      const script = await get("127.0.10.50", `/assignments/${U1}/boot.ipxe`);
      assert.equal(script.status, 200);
      assert.match(script.body, /^exit$/m);
      assert.doesNotMatch(script.body, /autoinstall|kernel/);
      assert.equal((await get("127.0.10.50", `/assignments/${U1_SWAPPED}/boot.ipxe`)).body, script.body, "also under the byte-swapped UUID");
      for (const f of ["user-data", "meta-data"]) assert.equal((await get("127.0.10.50", `/assignments/${U1}/${f}`)).status, 404, `${f} is still served`);
    };
    await installed();
    // The other server is not installed yet: its install is still served, to it only.
    const other = await get("127.0.10.51", `/assignments/${U2}/user-data`);
    assert.equal(other.status, 200);
    assert.ok(other.body.includes(JSON.stringify(HOST_KEY_2.privateKey)));
    // pxe/configure again (a pillar or formula change): the installed server stays installed.
    await assertIdempotent(h, "pxe/configure", values());
    await installed();
    // kinetic rebuild gives the server a new host key: its install, with that key, is served again.
    const rebuilt = deriveHostKey("pxe-test", `controller-${U1}`, "physical-1/rebuild-1");
    await runOk(h, "pxe/configure", values({ PXE_HOST_KEYS: [hostKeyLine(U1, rebuilt), hostKeyLine(U2, HOST_KEY_2)].join("\n") }));
    const again = await get("127.0.10.50", `/assignments/${U1}/user-data`);
    assert.equal(again.status, 200);
    assert.ok(again.body.includes(JSON.stringify(rebuilt.privateKey)), "the rebuilt server's install carries its new key");
    assert.match((await get("127.0.10.50", `/assignments/${U1}/boot.ipxe`)).body, / autoinstall /);
    // And once it is installed with that key, retired again.
    await runOk(h, "pxe/installed", { PXE_INSTALLED_UUID: U1 });
    await installed();
    await runOk(h, "pxe/configure", values());
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

  /**
   * The chain a datacenter checks on day one, for real: a QEMU machine (TCG) with the server's UUID
   * and MAC on a bridge in this test's own network namespace, its NIC's iPXE ROM (Debian's
   * ipxe-qemu), this host's Kea and nginx as pxe/configure left them, and the lab's installer
   * (image/installer) standing in for Ubuntu's, which cannot be fetched here.
   */
  describe("a server network-boots through Kea, iPXE and nginx to the installer", function () {
    this.timeout(15 * 60_000);
    const BRIDGE = "kpxe0";
    const PXE = "10.231.0.5";
    const SERVER = "10.231.0.50";
    const U3 = "7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b";
    const MAC = "52:54:00:3c:2a:10";
    const HOST_KEY_3 = deriveHostKey("pxe-test", `compute-${U3}`, "physical-1");
    const chainValues = (): FormulaValues => values({
      ADDRESS: PXE,
      SUBNET_MANAGEMENT: "10.231.0.0/24",
      GATEWAY: "10.231.0.1",
      NAMESERVERS: "10.231.0.2",
      PXE_ASSIGNMENTS: assignment(U3, `compute-${U3}`, "eno1", "QEMU HARDDISK", SERVER),
      PXE_HOST_KEYS: hostKeyLine(U3, HOST_KEY_3),
    });
    let qemuMissing = false;

    before(async function () {
      qemuMissing = spawnSync("sh", ["-c", "command -v qemu-system-x86_64 && test -e /usr/lib/ipxe/qemu/efi-virtio.rom"], { stdio: "ignore" }).status !== 0;
      if (qemuMissing) return;
      const h = host();
      const ip = (...args: string[]) => {
        const r = spawnSync("ip", args, { encoding: "utf8" });
        assert.equal(r.status, 0, `ip ${args.join(" ")}: ${r.stderr}`);
      };
      // This file's lane has a network namespace of its own: the bridge and its addresses exist only there.
      spawnSync("ip", ["link", "del", BRIDGE], { stdio: "ignore" });
      ip("link", "add", BRIDGE, "type", "bridge");
      ip("addr", "add", `${PXE}/24`, "dev", BRIDGE);
      ip("link", "set", BRIDGE, "up");
      await runOk(h, "pxe/configure", chainValues());
      // The operator's part: the installer's kernel and initrd where the server's script names them.
      const installer = buildInstallerImage({ offline: true });
      h.exec(["mkdir", "-p", `${www}/images/ubuntu2204`]);
      fs.copyFileSync(installer.kernel, h.path(`${www}/images/ubuntu2204/vmlinuz`));
      fs.copyFileSync(installer.ramdisk, h.path(`${www}/images/ubuntu2204/initrd`));
      h.exec(["sh", "-c", "mkdir -p /run/kea /var/lib/kea /var/log/nginx && rm -f /var/lib/kea/kea-leases4.csv*"]);
      daemons.start(h, "kea", ["kea-dhcp4", "-c", "/etc/kea/kea-dhcp4.conf"]);
      // nginx reads this configuration: the one an earlier case started reloads, else one starts.
      if (h.tryExec(["nginx", "-s", "reload"]).code === 0) await new Promise((r) => setTimeout(r, 2000));
      else daemons.start(h, "nginx-chain", ["nginx", "-g", "daemon off;"]);
      await waitForPort(PXE, 80, 30_000).catch((e: Error) => { throw new Error(`${e.message}\n${daemons.log("nginx-chain")}`); });
    });

    after(() => {
      spawnSync("ip", ["link", "del", BRIDGE], { stdio: "ignore" });
    });

    /** One network boot; `stopWhen` (polled each second) pulls the power early, as a BMC would. */
    async function boot(stopWhen?: () => boolean, firmware: "bios" | "uefi" = "bios"): Promise<{ result: PxeBootResult; steps: ChainStep[]; summary: string }> {
      const h = host();
      const marks = logMarks(h.root);
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pxe-boot-"));
      const m = new PxeMachine({ uuid: U3, mac: MAC, bridge: BRIDGE, tap: "kpxe0tap", workDir, timeoutMs: 240_000, firmware });
      const poll = stopWhen ? setInterval(() => stopWhen() && m.stop(), 1000) : undefined;
      try {
        const result = await m.done;
        const steps = describeChain(h.root, marks, { mac: MAC, uuid: U3 }, result);
        return { result, steps, summary: chainSummary(steps) };
      } finally {
        if (poll) clearInterval(poll);
        fs.rmSync(workDir, { recursive: true, force: true });
      }
    }
    /** Stops the machine 10 s after nginx served `urlPath` (past `from` bytes of its access log): what it fetched next is all it would. */
    const tenSecondsAfter = (urlPath: string, from: number) => {
      let seen = 0;
      return () => {
        if (!seen && host().read("/var/log/nginx/access.log").slice(from).includes(`"GET ${urlPath} HTTP/1.1" 200 `)) seen = Date.now();
        return seen > 0 && Date.now() - seen > 10_000;
      };
    };
    const why = (b: { result: PxeBootResult; summary: string }) => `${b.summary}\ninstaller said:\n  ${b.result.said.join("\n  ")}\n${b.result.qemuError ?? ""}\n${daemons.log("kea").slice(-6000)}`;

    it("gets its lease by UUID, chains both scripts, boots the installer at its reserved address, and the installer gets its user-data", async function () {
      requirePrerequisite(this, qemuMissing && "qemu-system-x86_64 or ipxe-qemu not installed (Debian package qemu-system-x86)", "a network boot");
      const h = host();
      const b = await boot();
      assert.equal(b.result.end, "poweroff", why(b));
      assert.deepEqual(b.steps.map((s) => [s.step, s.ok]), [
        ["DHCP lease", true], ["boot script", true], ["server's boot script", true], ["kernel", true], ["initrd", true],
        ["installer", true], ["installer network", true], ["autoinstall data", true],
      ], why(b));
      // Kea's lease for the MAC is the reserved address; every fetch came from that address.
      assert.match(h.read("/var/lib/kea/kea-leases4.csv"), new RegExp(`^${SERVER.replace(/\./g, "\\.")},${MAC},`, "m"));
      const access = h.read("/var/log/nginx/access.log");
      for (const p of ["/boot.ipxe", "/images/ubuntu2204/vmlinuz", "/images/ubuntu2204/initrd", "/meta-data", "/user-data"]) {
        assert.match(access, new RegExp(`^${SERVER.replace(/\./g, "\\.")} .*"GET [^ "]*${p.replace(/\./g, "\\.")} HTTP/1\\.[01]" 200 `, "m"), `no GET ${p} from ${SERVER}`);
      }
      // The installer ran on the NIC iPXE booted from (BOOTIF), with the address from its kernel line.
      assert.ok(b.result.said.includes(`network: static ${SERVER}/24 on eth0`), why(b));
      // What it received is this server's autoinstall, with its own host key and static address.
      const doc = parse(b.result.userData!) as { autoinstall: Record<string, any> };
      assert.equal(doc.autoinstall["user-data"].ssh_keys.ed25519_public, HOST_KEY_3.publicKey);
      assert.deepEqual(doc.autoinstall.network.ethernets.eno1.addresses, [`${SERVER}/24`]);
    });

    it("UEFI firmware's own PXE (no iPXE ROM): Kea's UEFI class, ipxe.efi over TFTP, then the same chain to the user-data", async function () {
      requirePrerequisite(this, qemuMissing && "qemu-system-x86_64 or ipxe-qemu not installed (Debian package qemu-system-x86)", "a network boot");
      requirePrerequisite(this, !fs.existsSync(OVMF) && `${OVMF} missing (Debian package ovmf)`, "a UEFI network boot");
      const h = host();
      daemons.start(h, "tftpd", ["in.tftpd", "--listen", "--foreground", "--secure", "--user", "tftp", "--address", `${PXE}:69`, "/srv/tftp"]);
      const b = await boot(undefined, "uefi");
      assert.equal(b.result.end, "poweroff", why(b));
      assert.deepEqual(b.steps.filter((s) => !s.ok), [], why(b));
      // The firmware asked as a UEFI client and was sent to TFTP; only ipxe.efi from there asks for /boot.ipxe.
      assert.match(daemons.log("kea"), /Expression kinetic-uefi evaluated to 1/, why(b));
      assert.ok(b.result.userData?.includes(HOST_KEY_3.publicKey), why(b));
    });

    it("the installer's own DHCP (ip=dhcp, no option 97) gets no lease: why the script gives it its address", async function () {
      requirePrerequisite(this, qemuMissing && "qemu-system-x86_64 or ipxe-qemu not installed (Debian package qemu-system-x86)", "a network boot");
      const h = host();
      const script = `${www}/assignments/${U3}/boot.ipxe`;
      const good = h.read(script);
      // The kernel line this formula wrote before: Kea reserves by option 97, which only firmware sends.
      fs.writeFileSync(h.path(script), good.replace(/ ip=\S+ BOOTIF=\S+ /, " ip=dhcp "));
      try {
        const b = await boot();
        assert.equal(b.summary, "stopped at installer network: network: no DHCP lease on eth0", why(b));
        assert.equal(b.result.userData, undefined);
      } finally {
        fs.writeFileSync(h.path(script), good);
      }
    });

    it("once installed (pxe/installed), the server network-booting again boots its own disk: its boot script, then iPXE exits; no installer, no user-data", async function () {
      requirePrerequisite(this, qemuMissing && "qemu-system-x86_64 or ipxe-qemu not installed (Debian package qemu-system-x86)", "a network boot");
      const h = host();
      await runOk(h, "pxe/installed", { PXE_INSTALLED_UUID: U3 });
      try {
        const from = h.read("/var/log/nginx/access.log").length;
        const b = await boot(tenSecondsAfter(`/assignments/${U3}/boot.ipxe`, from));
        assert.equal(b.summary, "stopped at kernel: never asked for", why(b));
        assert.deepEqual(b.steps.map((s) => [s.step, s.ok]), [["DHCP lease", true], ["boot script", true], ["server's boot script", true], ["kernel", false]], why(b));
        assert.equal(b.result.userData, undefined);
        assert.deepEqual(b.result.said, [], "the installer ran");
        assert.doesNotMatch(h.read("/var/log/nginx/access.log").slice(from), /user-data|vmlinuz/);
      } finally {
        // The cases below boot the installer again: as a rebuild does, a new key serves the install.
        h.exec(["rm", "-f", `/var/lib/kinetic/pxe/installed/${U3}`]);
        await runOk(h, "pxe/configure", chainValues());
      }
    });

    it("a broken link stops the install where it broke: the boot script, then the user-data", async function () {
      requirePrerequisite(this, qemuMissing && "qemu-system-x86_64 or ipxe-qemu not installed (Debian package qemu-system-x86)", "a network boot");
      const h = host();
      const chain = `${www}/boot.ipxe`;
      const chainText = h.read(chain);
      fs.rmSync(h.path(chain));
      try {
        // iPXE gives up on a 404 and the BIOS waits a minute before it retries: the BMC pulls the power.
        const b = await boot(() => / "GET \/boot\.ipxe HTTP\/1\.[01]" 404 /.test(h.read("/var/log/nginx/access.log")));
        assert.equal(b.summary, "stopped at boot script: /boot.ipxe: 404", why(b));
        assert.equal(b.result.end, "stopped");
      } finally {
        fs.writeFileSync(h.path(chain), chainText);
      }
      const ud = `${www}/assignments/${U3}/user-data`;
      const udText = h.read(ud);
      fs.rmSync(h.path(ud));
      try {
        const b = await boot();
        assert.match(b.summary, /^stopped at autoinstall data: fetch http:\/\/10\.231\.0\.5\/assignments\/[0-9a-f-]+\/user-data: 404$/, why(b));
        assert.equal(b.result.userData, undefined);
      } finally {
        fs.writeFileSync(h.path(ud), udText);
        h.exec(["chown", "root:www-data", ud]);
        h.exec(["chmod", "0640", ud]);
      }
    });
  });
});
