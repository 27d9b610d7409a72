/**
 * The create and zeroize scripts, run for real: exactly the command line and stdin the controller
 * would get over SSH, executed by `sh -c` here, against a real libvirtd (test driver, see
 * ./libvirtd.ts), real qemu-img and cloud-localds/genisoimage, and a scratch directory standing in
 * for `/kvm` and `/var/log/libvirt`. A real sshd on loopback presenting the machine's generated
 * host key stands in for the guest's (test/support/sshd.ts); plain TCP servers for a guest whose
 * sshd is not up yet.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync, openSync, writeSync, closeSync, readSync } from "node:fs";
import { AddressInfo, createServer, Server } from "node:net";
import { join } from "node:path";
import { deriveHostKey, fingerprint } from "../../components/hostKeys";
import { renderSeed } from "../../providers/libvirt/cloudInit";
import { renderDomainXml } from "../../providers/libvirt/domainXml";
import { createCommand, machineStdin, ScriptOptions, zeroizeCommand } from "../../providers/libvirt/scripts";
import { VirtualMachineSpec } from "../../providers/libvirt/spec";
import { hostileSpec, keystoneSpec } from "./fixtures";
import { startLibvirtd, TestLibvirtd } from "./libvirtd";
import { ok, run, Ran, runAsync, scratch } from "./tools";
import { spawnSync } from "node:child_process";
import { startSshd, TestSshd } from "../support/sshd";

/** The host key the test "guest" presents; every machine below is given it, except where a test says otherwise. */
const GUEST_KEY = deriveHostKey("scripts-test-secret", "guest", "0");
const pinned = (vm: VirtualMachineSpec): VirtualMachineSpec => ({ ...vm, hostKey: GUEST_KEY });
/** A key nobody presents. */
const OTHER = deriveHostKey("scripts-test-secret", "other", "0");

const BASE_MARKER = "KINETIC-TEST-BASE-IMAGE";
const MiB = 1024 * 1024;

/** A TCP server on loopback; `banner` is what it greets with (empty: accept and say nothing). */
async function listen(banner: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on("error", () => undefined);
    if (banner) s.end(banner);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

async function closedPort(): Promise<number> {
  const { server, port } = await listen("");
  await new Promise((r) => server.close(r));
  return port;
}

/** Every path under `dir` (as root sees them). */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

/**
 * What user `nobody` (no groups) can do with each path under `dir`: read a file, list a directory.
 * Tried for real, not inferred from modes. Empty when nothing.
 */
function readableByNobody(dir: string): string[] {
  return walk(dir).filter((p) => {
    const isDir = statSync(p).isDirectory();
    const r = spawnSync(isDir ? "ls" : "head", isDir ? [p] : ["-c1", p], { uid: 65534, gid: 65534, stdio: "ignore" });
    return r.status === 0;
  });
}

describe("libvirt create and zeroize scripts (real virsh, qemu-img, ISO tools)", function () {
  this.timeout(120_000);
  let libvirtd: TestLibvirtd;
  let root: string;
  let sshd: TestSshd;
  let opts: ScriptOptions & { kvmRoot: string; logDir: string };

  const virsh = (...args: string[]): Ran => run("virsh", ["-q", "-c", libvirtd.uri, ...args]);
  const exec = (command: string, vm: VirtualMachineSpec, o: ScriptOptions = opts, env: NodeJS.ProcessEnv = process.env): Promise<Ran> =>
    // What sshd does with the command: hand it to the login shell, stdin attached.
    runAsync("sh", ["-c", command], { input: machineStdin(vm.hostKey === OTHER ? vm : pinned(vm), o), env });
  const create = (vm: VirtualMachineSpec, o?: ScriptOptions, env?: NodeJS.ProcessEnv) => exec(createCommand(), vm, o, env);
  const zeroize = (vm: VirtualMachineSpec, o?: ScriptOptions) => exec(zeroizeCommand(), vm, o);
  const vmDir = (vm: VirtualMachineSpec) => join(opts.kvmRoot, "vms", vm.name);
  const logFile = (vm: VirtualMachineSpec) => join(opts.logDir, `${vm.name}.log`);
  const state = (vm: VirtualMachineSpec) => virsh("domstate", vm.name).stdout.trim();
  const defined = (vm: VirtualMachineSpec) => virsh("list", "--all", "--name").stdout.split("\n").includes(vm.name);
  const base = (os: string) => join(opts.kvmRoot, "images", `${os}-latest`);

  function makeBase(os: string): void {
    // A tiny raw "image": 1 MiB with a marker at the start, so the copy can be recognised.
    const buf = Buffer.alloc(MiB);
    buf.write(BASE_MARKER);
    writeFileSync(base(os), buf);
  }

  function isoFile(iso: string, name: string): string {
    return ok("isoinfo", ["-i", iso, "-R", "-x", `/${name}`]).stdout;
  }

  before(async () => {
    libvirtd = await startLibvirtd();
    root = scratch("kvm");
    // The scratch directory stands in for `/`: traversable by anyone (as / is), so that what is
    // private under it is private because of the modes the scripts set.
    chmodSync(root, 0o755);
    sshd = await startSshd(GUEST_KEY.privateKey);
    opts = {
      controller: "controller-1f0c3a52",
      kvmRoot: join(root, "kvm"),
      logDir: join(root, "log", "libvirt"),
      virshUri: libvirtd.uri,
      sshAddress: "127.0.0.1",
      sshPort: sshd.port,
      sshTimeoutSeconds: 20,
      pollSeconds: 0.2,
    };
    mkdirSync(join(opts.kvmRoot, "images"), { recursive: true });
    makeBase("ubuntu2204");
  });

  after(async () => {
    await libvirtd?.stop();
    await sshd?.stop();
  });

  it("create: copies and resizes the disk, writes XML and seed, builds config.iso, defines, starts and autostarts", async () => {
    const vm = keystoneSpec("scripts", 0);
    const r = await create(vm);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${vm.name} on controller-1f0c3a52: up, SSH answers on 127\\.0\\.0\\.1 with host key ${fingerprint(GUEST_KEY.publicKey).replace(/[+/]/g, "\\$&")}`));

    const dir = vmDir(vm);
    // The plain seed files (the host private key in user-data) are gone once the ISO is built.
    assert.deepEqual(readdirSync(dir).sort(), ["config.iso", "disk0.raw", "domain.xml"]);
    const disk = join(dir, "disk0.raw");
    assert.equal(statSync(disk).size, 32 * 1024 * MiB, "resized to the pillar's 32G");
    assert.equal(statSync(disk).blocks * 512 < 64 * MiB, true, "the copy stays sparse");
    const head = Buffer.alloc(BASE_MARKER.length);
    const fd = openSync(disk, "r");
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    assert.equal(head.toString(), BASE_MARKER);
    // QEMU (its own user, handed the files by libvirt's dynamic ownership) only traverses the
    // directories; no other user reads or lists anything.
    for (const d of [opts.kvmRoot, join(opts.kvmRoot, "vms"), dir]) assert.equal(statSync(d).mode & 0o7777, 0o711, d);
    for (const f of ["config.iso", "disk0.raw", "domain.xml"]) assert.equal(statSync(join(dir, f)).mode & 0o7777, 0o600, f);
    assert.deepEqual(readableByNobody(join(opts.kvmRoot, "vms")), [], "readable by a non-root user");

    assert.equal(readFileSync(join(dir, "domain.xml"), "utf8"), renderDomainXml(vm, opts));
    const seed = renderSeed(pinned(vm));
    const iso = join(dir, "config.iso");
    assert.match(ok("isoinfo", ["-d", "-i", iso]).stdout, /Volume id: cidata/i);
    for (const f of ["user-data", "meta-data", "network-config"] as const) assert.equal(isoFile(iso, f), seed[f]);

    assert.equal(state(vm), "running");
    assert.match(virsh("dominfo", vm.name).stdout, /Persistent:\s+yes[\s\S]*Autostart:\s+enable/);
    const xml = virsh("dumpxml", vm.name).stdout;
    for (const nic of vm.networks) assert.ok(xml.includes(nic.mac), `${nic.mac} in the defined domain`);
    assert.match(libvirtd.events(), new RegExp(`'${vm.name}': Defined Added[\\s\\S]*'${vm.name}': Started Booted`));
  });

  it("create again converges without touching the disk, and starts a stopped domain", async () => {
    const vm = keystoneSpec("scripts", 0);
    const disk = join(vmDir(vm), "disk0.raw");
    const fd = openSync(disk, "r+");
    writeSync(fd, "guest data", 4 * MiB);
    closeSync(fd);
    assert.equal((await create(vm)).status, 0);
    assert.equal(state(vm), "running");
    ok("virsh", ["-q", "-c", libvirtd.uri, "destroy", vm.name]);
    assert.equal(state(vm), "shut off");
    // What an earlier version left: world-readable disk and seed, plain seed files beside them.
    const dir = vmDir(vm);
    chmodSync(dir, 0o755);
    chmodSync(join(opts.kvmRoot, "vms"), 0o755);
    chmodSync(disk, 0o644);
    chmodSync(join(dir, "config.iso"), 0o644);
    writeFileSync(join(dir, "user-data"), "#cloud-config\nssh_keys: {ed25519_private: old}\n", { mode: 0o644 });
    assert.notDeepEqual(readableByNobody(join(opts.kvmRoot, "vms")), [], "the check sees an open file");
    const r = await create(vm);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(state(vm), "running");
    assert.deepEqual(readdirSync(dir).sort(), ["config.iso", "disk0.raw", "domain.xml"]);
    assert.deepEqual(readableByNobody(join(opts.kvmRoot, "vms")), [], "closed again by the re-run");
    const buf = Buffer.alloc(10);
    const rfd = openSync(disk, "r");
    readSync(rfd, buf, 0, 10, 4 * MiB);
    closeSync(rfd);
    assert.equal(buf.toString(), "guest data");
    assert.ok(!existsSync(`${disk}.part`));
  });

  it("zeroize: destroys and undefines the domain, removes its directory and console log", async () => {
    const vm = keystoneSpec("scripts", 0);
    mkdirSync(opts.logDir, { recursive: true });
    writeFileSync(logFile(vm), "[    0.000000] Linux version ...\n"); // the test driver writes no console log
    const r = await zeroize(vm);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`zeroize ${vm.name} on controller-1f0c3a52: gone`));
    assert.equal(defined(vm), false);
    assert.ok(!existsSync(vmDir(vm)), "vm dir removed");
    assert.ok(!existsSync(logFile(vm)), "console log removed");
    assert.ok(existsSync(base("ubuntu2204")), "the base image stays");
    assert.match(libvirtd.events(), new RegExp(`'${vm.name}': Stopped Destroyed[\\s\\S]*'${vm.name}': Undefined Removed`));
  });

  it("zeroize a second time: nothing left, still success", async () => {
    const vm = keystoneSpec("scripts", 0);
    const r = await zeroize(vm);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(defined(vm), false);
    assert.ok(!existsSync(vmDir(vm)));
  });

  it("zeroize a defined but stopped domain whose directory is already gone", async () => {
    const vm = keystoneSpec("scripts", 1);
    assert.equal((await create(vm)).status, 0);
    ok("virsh", ["-q", "-c", libvirtd.uri, "destroy", vm.name]);
    ok("rm", ["-rf", vmDir(vm)]);
    const r = await zeroize(vm);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(defined(vm), false);
  });

  it("zeroize refuses to delete anything when libvirt cannot be asked", async () => {
    const vm = keystoneSpec("scripts", 2);
    assert.equal((await create(vm)).status, 0);
    const r = await zeroize(vm, { ...opts, virshUri: "test+unix:///default?socket=/nonexistent/libvirt-sock" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`zeroize ${vm.name} on controller-1f0c3a52: cannot list the domains`));
    assert.ok(existsSync(join(vmDir(vm), "disk0.raw")), "the disk of a machine that may still run is kept");
    assert.equal((await zeroize(vm)).status, 0);
  });

  it("times out waiting for SSH with an error naming the endpoint and the controller", async () => {
    const vm = keystoneSpec("scripts", 3);
    const started = Date.now();
    const r = await create(vm, { ...opts, sshPort: await closedPort(), sshTimeoutSeconds: 2 });
    const took = (Date.now() - started) / 1000;
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`kinetic libvirt create ${vm.name} on controller-1f0c3a52: timed out after 2s waiting for SSH on 127\\.0\\.0\\.1 port \\d+`));
    assert.ok(took < 15, `bounded: took ${took}s`);
    assert.match(r.stderr, /the new machine was removed, nothing is left half-made \(serial log kept: /);
    assert.equal(existsSync(vmDir(vm)), false, "a failed create leaves no disk behind (Pulumi would not know to zeroize it)");
    assert.ok(!virsh("list", "--all", "--name").stdout.split("\n").includes(vm.name), "and no domain");
    assert.equal((await zeroize(vm)).status, 0);
  });

  it("leaves an existing machine running when a later create times out", async () => {
    const vm = keystoneSpec("scripts", 5);
    assert.equal((await create(vm, { ...opts, sshTimeoutSeconds: 5 })).status, 0);
    const r = await create(vm, { ...opts, sshPort: await closedPort(), sshTimeoutSeconds: 2 });
    assert.match(r.stderr, /the existing machine is left running/);
    assert.equal(state(vm), "running");
    assert.ok(existsSync(join(vmDir(vm), "disk0.raw")));
    assert.equal((await zeroize(vm)).status, 0);
  });

  it("the wait accepts only the machine's key: another key fails naming both fingerprints, and the new machine is removed", async () => {
    const vm = { ...keystoneSpec("scripts", 7), hostKey: OTHER };
    const r = await create(vm, { ...opts, sshTimeoutSeconds: 2 });
    assert.notEqual(r.status, 0);
    const esc = (s: string) => s.replace(/[+/]/g, "\\$&");
    assert.match(
      r.stderr,
      new RegExp(`create ${vm.name} on controller-1f0c3a52: SSH on 127\\.0\\.0\\.1 port ${sshd.port} presents host key ${esc(fingerprint(GUEST_KEY.publicKey))}, not this machine's ${esc(fingerprint(OTHER.publicKey))}`),
    );
    assert.match(r.stderr, /nothing was sent to it.*the new machine was removed/);
    assert.equal(existsSync(vmDir(vm)), false);
    assert.equal((await zeroize(vm)).status, 0);
  });

  it("an open port is not enough: the wait wants sshd's banner", async () => {
    const vm = keystoneSpec("scripts", 4);
    const silent = await listen("");
    try {
      const r = await create(vm, { ...opts, sshPort: silent.port, sshTimeoutSeconds: 2 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /timed out after 2s waiting for SSH/);
    } finally {
      await new Promise((res) => silent.server.close(res));
    }
    assert.equal((await zeroize(vm)).status, 0);
  });

  it("takes hostile pillar strings as data: an os name full of shell and XML syntax", async () => {
    const vm = hostileSpec();
    assert.equal((await create(vm)).status, 1, "no base image yet");
    makeBase(vm.os);
    const r = await create(vm);
    assert.equal(r.status, 0, r.stderr);
    assert.match(virsh("desc", vm.name).stdout, /os jammy<evil a='1'>&amp;"\]\]>/);
    assert.equal((await zeroize(vm)).status, 0);
    assert.equal(defined(vm), false);
  });

  it("builds the seed with genisoimage when cloud-localds is missing", async () => {
    // A PATH with every tool of /usr/bin and /bin except cloud-localds.
    const bin = join(root, "bin-without-cloud-localds");
    mkdirSync(bin);
    for (const d of ["/usr/bin", "/bin"]) {
      for (const f of readdirSync(d)) {
        if (f !== "cloud-localds" && !existsSync(join(bin, f))) symlinkSync(join(d, f), join(bin, f));
      }
    }
    const vm = keystoneSpec("scripts", 5);
    const r = await create(vm, opts, { ...process.env, PATH: `${bin}:/usr/sbin:/sbin` });
    assert.equal(r.status, 0, r.stderr);
    const iso = join(vmDir(vm), "config.iso");
    assert.match(ok("isoinfo", ["-d", "-i", iso]).stdout, /Volume id: cidata/i);
    assert.equal(isoFile(iso, "network-config"), renderSeed(vm)["network-config"]);
    assert.equal(isoFile(iso, "user-data"), renderSeed(pinned(vm))["user-data"], "the seed carries the host key");
    assert.equal((await zeroize(vm)).status, 0);
  });

  it("refuses an unsafe machine name before touching anything", async () => {
    const vm = { ...keystoneSpec("scripts", 6) };
    // Bypass the renderer's own check to prove the script checks too (it feeds `rm -rf`).
    const values = machineStdin(vm, opts).replace(/^NAME=.*$/m, `NAME=${Buffer.from("../../etc").toString("base64")}`);
    const r = await runAsync("sh", ["-c", zeroizeCommand()], { input: values });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unsafe machine name/);
  });
});

describe("libvirt scripts lint", () => {
  it("shellcheck finds nothing in create.sh and zeroize.sh", () => {
    const dir = join(__dirname, "..", "..", "providers", "libvirt", "scripts");
    ok("shellcheck", ["-x", join(dir, "create.sh"), join(dir, "zeroize.sh")]);
  });
});
