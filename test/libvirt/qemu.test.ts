/**
 * Opt-in (KINETIC_QEMU_TEST=1, as root, Debian package qemu-system-x86): the create and zeroize
 * scripts against libvirt's real QEMU driver and a real QEMU process.
 *
 * Isolation: libvirtd, virtlogd and the `<net>_br` bridges live in a private network namespace
 * (`ip netns`), so no bridge or tap device appears on the host; libvirtd listens on a scratch socket.
 * The privileged QEMU driver still keeps its state under /etc/libvirt/qemu, /var/lib/libvirt/qemu and
 * /run/libvirt, which is why this test is not in the default run.
 *
 * Acceleration: the domain is started with TCG (`type='qemu'`, no `<cpu>`). In this project's CI
 * sandbox (itself a VM) KVM's host-model and host-passthrough CPUs abort in QEMU ("failed to set MSR
 * 0x10a"), a nested-virtualisation limit, not a problem of the XML. Everything else is the XML the
 * controllers get: the PCI layout is read back from QEMU itself.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeValues } from "../../formulas/envelope";
import { PCI_SLOTS } from "../../providers/libvirt/domainXml";
import { createCommand, machineValues, ScriptOptions, zeroizeCommand } from "../../providers/libvirt/scripts";
import { interfaceSlot, VirtualMachineSpec } from "../../providers/libvirt/spec";
import { keystoneSpec } from "./fixtures";
import { ok, run, runAsync, scratch } from "./tools";

const enabled = process.env.KINETIC_QEMU_TEST === "1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(enabled ? describe : describe.skip)("libvirt scripts against real QEMU (opt-in: KINETIC_QEMU_TEST=1)", function () {
  this.timeout(180_000);
  const ns = `kinetic-qemu-${process.pid}`;
  const daemons: ChildProcess[] = [];
  let dir: string;
  let opts: ScriptOptions & { kvmRoot: string; logDir: string; virshUri: string };
  const vm: VirtualMachineSpec = { ...keystoneSpec("qemu", 0), ramKiB: 262144, vcpus: 1, disk: "64M" };

  const virsh = (...args: string[]) => run("virsh", ["-q", "-c", opts.virshUri, ...args]);
  const exec = (command: string) => {
    const values = machineValues(vm, opts);
    values.DOMAIN_XML = values.DOMAIN_XML.replace("<domain type='kvm'>", "<domain type='qemu'>").replace("  <cpu mode='host-model'/>\n", "");
    return runAsync("sh", ["-c", command], { input: encodeValues(values) });
  };
  const qemuRunning = () => run("pgrep", ["-f", `guest=${vm.name}`]).status === 0;

  before(async () => {
    dir = scratch("qemu");
    chmodSync(dir, 0o755); // mkdtemp makes it 0700; QEMU runs as libvirt-qemu and must reach the disk
    mkdirSync(join(dir, "sock"));
    ok("ip", ["netns", "add", ns]);
    ok("ip", ["-n", ns, "link", "set", "lo", "up"]);
    for (const nic of vm.networks) {
      ok("ip", ["-n", ns, "link", "add", nic.bridge, "type", "bridge"]);
      ok("ip", ["-n", ns, "link", "set", nic.bridge, "up"]);
    }
    const conf = join(dir, "libvirtd.conf");
    writeFileSync(conf, `unix_sock_dir = "${dir}/sock"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n`);
    // `ip netns exec` execs the daemon, so these are the daemons' own pids.
    daemons.push(spawn("ip", ["netns", "exec", ns, "virtlogd", "-p", join(dir, "virtlogd.pid")], { stdio: "ignore" }));
    daemons.push(spawn("ip", ["netns", "exec", ns, "libvirtd", "-f", conf, "-p", join(dir, "libvirtd.pid")], { stdio: "ignore" }));
    opts = {
      controller: "local-qemu",
      kvmRoot: join(dir, "kvm"),
      logDir: join(dir, "log"),
      virshUri: `qemu:///system?socket=${dir}/sock/libvirt-sock`,
      sshTimeoutSeconds: 0, // nothing boots from the test image; the SSH wait is covered by scripts.test.ts
    };
    const deadline = Date.now() + 20_000;
    while (virsh("version").status !== 0) {
      if (Date.now() > deadline) throw new Error("libvirtd with the QEMU driver did not come up");
      await sleep(200);
    }
    mkdirSync(join(opts.kvmRoot, "images"), { recursive: true });
    writeFileSync(join(opts.kvmRoot, "images", `${vm.os}-latest`), Buffer.alloc(1024 * 1024));
  });

  after(async () => {
    if (opts && virsh("domstate", vm.name).status === 0) await exec(zeroizeCommand());
    for (const d of daemons) d.kill();
    await sleep(500);
    run("ip", ["netns", "del", ns]);
  });

  it("create: QEMU runs the domain with every device where the XML put it", async () => {
    const r = await exec(createCommand());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(virsh("domstate", vm.name).stdout.trim(), "running");
    assert.ok(qemuRunning());
    assert.match(virsh("dominfo", vm.name).stdout, /Persistent:\s+yes[\s\S]*Autostart:\s+enable/);
    const pci = virsh("qemu-monitor-command", "--hmp", vm.name, "info pci").stdout;
    const at = (slot: number) => new RegExp(`Bus\\s+0, device\\s+${slot}, function 0:\\s+([^\\n]+)`).exec(pci)?.[1] ?? "";
    for (const nic of vm.networks) assert.match(at(interfaceSlot(nic.interface) as number), /Ethernet controller: PCI device 1af4:1000/, nic.interface);
    assert.match(at(PCI_SLOTS.sata), /SATA controller/);
    assert.match(at(PCI_SLOTS.disk), /1af4:1001/); // virtio-blk
    assert.match(at(PCI_SLOTS.rng), /1af4:1005/); // virtio-rng
    assert.match(at(PCI_SLOTS.balloon), /1af4:1002/); // virtio-balloon
    const iflist = virsh("domiflist", vm.name).stdout;
    for (const nic of vm.networks) assert.match(iflist, new RegExp(`bridge\\s+${nic.bridge}\\s+virtio\\s+${nic.mac}`));
    assert.ok(existsSync(join(opts.logDir, `${vm.name}.log`)), "virtlogd opened the console log");
    // The disk and seed stay private (0600, directories 0711) and QEMU, running as its own user,
    // still opens them: libvirt's dynamic ownership hands them to that user when the domain starts.
    const qemuUid = Number(ok("id", ["-u", "libvirt-qemu"]).stdout.trim());
    const vmDir = join(opts.kvmRoot, "vms", vm.name);
    assert.equal(statSync(vmDir).mode & 0o7777, 0o711);
    for (const f of ["disk0.raw", "config.iso"]) {
      const st = statSync(join(vmDir, f));
      assert.equal(st.mode & 0o7777, 0o600, f);
      assert.equal(st.uid, qemuUid, `${f} handed to libvirt-qemu`);
    }
  });

  it("zeroize: the QEMU process is gone, the domain undefined, the files removed; twice", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await exec(zeroizeCommand());
      assert.equal(r.status, 0, r.stderr);
      assert.equal(virsh("domstate", vm.name).status === 0, false);
      assert.ok(!existsSync(join(opts.kvmRoot, "vms", vm.name)));
      assert.ok(!existsSync(join(opts.logDir, `${vm.name}.log`)));
    }
    assert.ok(!qemuRunning());
  });
});
