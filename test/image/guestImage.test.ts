/**
 * The guest image (image/guestImage.ts): the initramfs archive format, the module order, a build
 * from the cached Debian packages into a content-keyed cache (offline, as the tests run without a
 * network: `.ci/install` runs `kinetic image build` beforehand), and the image booting under
 * QEMU's TCG (no KVM) with a virtio NIC: its console shows the kernel reaching the guest's init,
 * the NIC's DHCP lease and the end of init.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { cpioNewc } from "../../image/cpio";
import { buildGuestImage, GuestImage, guestImageKey, imageCacheDir, moduleDepends, resolveGuestPackages } from "../../image/guestImage";
import { requirePrerequisite } from "../support/prerequisite";

/** Reads a newc archive back: [name, mode, data, rdevmajor, rdevminor] per entry, trailer excluded. */
function readNewc(buf: Buffer): { name: string; mode: number; data: Buffer; rdev: [number, number] }[] {
  const out: { name: string; mode: number; data: Buffer; rdev: [number, number] }[] = [];
  let at = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    assert.equal(buf.toString("ascii", at, at + 6), "070701", `magic at ${at}`);
    const f = (i: number) => parseInt(buf.toString("ascii", at + 6 + i * 8, at + 14 + i * 8), 16);
    const [mode, size, rmaj, rmin, nameSize] = [f(1), f(6), f(9), f(10), f(11)];
    const name = buf.toString("utf8", at + 110, at + 110 + nameSize - 1);
    const dataAt = align(at + 110 + nameSize);
    if (name === "TRAILER!!!") {
      assert.equal(align(dataAt), buf.length, "the trailer ends the archive");
      return out;
    }
    out.push({ name, mode, data: buf.subarray(dataAt, dataAt + size), rdev: [rmaj, rmin] });
    at = align(dataAt + size);
  }
}

describe("guest image: the newc archive and module order", () => {
  it("writes directories, files, symlinks and device nodes the kernel's format reads back, 4-byte aligned, same bytes every time", () => {
    const entries = [
      { type: "dir" as const, path: "dev" },
      { type: "char" as const, path: "dev/console", major: 5, minor: 1 },
      { type: "file" as const, path: "init", data: Buffer.from("#!/bin/sh\necho hi\n"), mode: 0o755 },
      { type: "symlink" as const, path: "bin/sh", target: "busybox" },
    ];
    const a = cpioNewc(entries);
    assert.deepEqual(a, cpioNewc(entries));
    const back = readNewc(a);
    assert.deepEqual(back.map((e) => e.name), ["dev", "dev/console", "init", "bin/sh"]);
    assert.equal(back[0].mode, 0o040755);
    assert.equal(back[1].mode, 0o020600);
    assert.deepEqual(back[1].rdev, [5, 1]);
    assert.equal(back[2].mode, 0o100755);
    assert.equal(back[2].data.toString(), "#!/bin/sh\necho hi\n");
    assert.equal(back[3].mode, 0o120777);
    assert.equal(back[3].data.toString(), "busybox");
    assert.throws(() => cpioNewc([{ type: "dir", path: "a/../b" }]), /bad path/);
  });

  it("reads a module's dependencies from its .modinfo strings", () => {
    const ko = Buffer.concat([Buffer.from("\x7fELF junk\0license=GPL\0depends=virtio,virtio_ring\0vermagic=6.1\0")]);
    assert.deepEqual(moduleDepends(ko), ["virtio", "virtio_ring"]);
    assert.deepEqual(moduleDepends(Buffer.from("\0depends=\0name=x\0")), []);
    assert.deepEqual(moduleDepends(Buffer.from("no modinfo")), []);
  });
});

describe("guest image: built from Debian packages, booted under QEMU TCG", function () {
  this.timeout(10 * 60_000);
  let image: GuestImage;
  let scratch: string;

  before(function () {
    let why: string | undefined;
    try {
      const packages = resolveGuestPackages();
      const debs = path.join(imageCacheDir(), "debs");
      const missing = packages.filter((p) => !fs.existsSync(path.join(debs, `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.sha256.slice(0, 12)}.deb`)));
      if (missing.length) why = `${missing.map((p) => `${p.name} ${p.version}`).join(", ")} not in ${debs}: run \`npm run kinetic -- image build\` (.ci/install does)`;
    } catch (e) {
      why = (e as Error).message;
    }
    requirePrerequisite(this, why, "the guest image build");
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-image-"));
  });

  after(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("builds offline from the cached .debs into a cache keyed by content; a second build is that cache, and two caches hold the same bytes", () => {
    // A fresh cache holding only the .debs: the build itself must need nothing else.
    fs.mkdirSync(path.join(scratch, "debs"));
    for (const f of fs.readdirSync(path.join(imageCacheDir(), "debs"))) if (f.endsWith(".deb")) fs.linkSync(path.join(imageCacheDir(), "debs", f), path.join(scratch, "debs", f));
    const logs: string[] = [];
    const first = buildGuestImage({ cache: scratch, offline: true, log: (m) => logs.push(m) });
    assert.equal(first.cached, false);
    assert.match(logs.join("\n"), /building guest image/);
    assert.equal(first.key, guestImageKey(resolveGuestPackages()));
    assert.equal(first.dir, path.join(scratch, `guest-${first.key}`));
    for (const f of [first.kernel, first.ramdisk, first.disk]) assert.ok(fs.statSync(f).size > 0, f);
    const second = buildGuestImage({ cache: scratch, offline: true, log: (m) => logs.push(m) });
    assert.equal(second.cached, true);
    assert.deepEqual(second.sha256, first.sha256);
    // Reproducible: the machine's own cache (built by .ci/install or the operator) has the same bytes.
    const main = buildGuestImage({ offline: true });
    assert.equal(main.key, first.key);
    assert.deepEqual(main.sha256, first.sha256);
    // The initramfs holds the init, busybox, the console node and the virtio modules in load order.
    const entries = readNewc(gunzipSync(fs.readFileSync(first.ramdisk)));
    const names = entries.map((e) => e.name);
    for (const n of ["init", "bin/busybox", "dev/console", "etc/kinetic-modules", "etc/udhcpc.script", "etc/http-get"]) assert.ok(names.includes(n), `${n} missing from the initramfs`);
    const order = entries.find((e) => e.name === "etc/kinetic-modules")!.data.toString().trim().split("\n");
    const idx = (m: string) => order.findIndex((o) => o.endsWith(`/${m}.ko`));
    for (const m of ["virtio", "virtio_ring", "virtio_pci", "failover", "net_failover", "virtio_net", "virtio_blk"]) assert.ok(idx(m) >= 0, `${m} not in the module order: ${order.join(" ")}`);
    assert.ok(idx("virtio") < idx("virtio_pci") && idx("virtio_ring") < idx("virtio_net") && idx("net_failover") < idx("virtio_net"), order.join(" "));
    image = first;
  });

  it("boots under QEMU TCG (no KVM): the console shows Linux reaching the guest's init, a DHCP lease on the virtio NIC, its name from the metadata service, and init finishing", async function () {
    const qemu = spawnSync("sh", ["-c", "command -v qemu-system-x86_64"], { encoding: "utf8" }).stdout.trim();
    requirePrerequisite(this, !qemu && "qemu-system-x86_64 not installed (Debian package qemu-system-x86)", "booting the guest image");
    assert.ok(image, "the build test did not run");
    const consoleLog = path.join(scratch, "console.log");
    // User-mode networking restricted to the guest and QEMU's own DHCP server: nothing leaves QEMU.
    // The metadata service's address is answered by a command of QEMU's (guestfwd), as nova's would;
    // QEMU forwards only addresses of its own network, so that network is 169.254.169.0/24.
    const metadata = `cmd:printf 'HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\n\\r\\n{"name": "kinetic-test-guest"}'`;
    const vm = spawn(qemu, ["-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults", "-serial", `file:${consoleLog}`, "-display", "none",
      "-kernel", image.kernel, "-initrd", image.ramdisk, "-append", "console=ttyS0 panic=-1",
      "-nic", `user,restrict=on,model=virtio-net-pci,net=169.254.169.0/24,dhcpstart=169.254.169.15,guestfwd=tcp:169.254.169.254:80-${metadata}`, "-drive", `file=${image.disk},format=raw,if=virtio,readonly=on`], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    vm.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const read = () => (fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, "latin1") : "");
    const started = Date.now();
    try {
      while (!/kinetic-guest: ready/.test(read()) && Date.now() - started < 5 * 60_000 && vm.exitCode === null) await new Promise((r) => setTimeout(r, 500));
      const text = read();
      assert.match(text, /kinetic-guest: ready/, `the guest did not finish its init in ${Math.round((Date.now() - started) / 1000)} s (qemu: ${stderr.trim() || "running"}):\n${text.slice(-3000)}`);
      assert.match(text, /Run \/init as init process/);
      assert.match(text, new RegExp(`kinetic-guest: booted: Linux ${image.kernelRelease.replace(/\./g, "\\.")} \\(x86_64\\)`));
      assert.match(text, /kinetic-guest: eth0: 169\.254\.169\.15\/24/);
      // The instance's name from the metadata service (busybox-static's wget segfaulted here: it never worked).
      assert.match(text, /kinetic-guest: metadata: name kinetic-test-guest/);
      console.log(`      guest ready ${((Date.now() - started) / 1000).toFixed(1)} s after QEMU started`);
    } finally {
      vm.kill("SIGKILL");
    }
  });
});
