/**
 * A VM boots for real: the create script, with the program's domain XML and NoCloud seed, makes a
 * domain under libvirt's QEMU driver from the lab's Debian cloud image (lab/cloudImage.ts); cloud-init
 * applies the seed; the guest answers SSH at its planned address with the host key the program
 * pinned, and only with that key. Then zeroize removes it. As root, with qemu-system-x86 and
 * libvirt-daemon-system (skipped otherwise; under CI=true it fails instead).
 *
 * Isolation: libvirtd, virtlogd, the `<net>_br` bridges and the guest's network live in a private
 * network namespace (`ip netns`): the management subnet 10.100.0.0/22 exists only there, the test's
 * SSH runs there, nothing leaves the machine. The daemons also run in a mount namespace of their own
 * where libvirt's state directories (/run/libvirt, /var/lib/libvirt, /etc/libvirt/qemu,
 * /var/cache/libvirt, /var/log/libvirt) are scratch directories of this test: nothing of it is left
 * on the host, and it never meets another libvirtd. libvirtd listens on a scratch socket.
 *
 * Acceleration: TCG (`type='qemu'`, no `<cpu>`): KVM guests hang on this machine kind, and in this
 * project's CI sandbox (itself a VM) KVM's host-model and host-passthrough CPUs abort in QEMU
 * ("failed to set MSR 0x10a"), a nested-virtualisation limit, not a problem of the XML. Everything
 * else is the XML the controllers get: the PCI layout is read back from QEMU itself.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deriveHostKey } from "../../components/hostKeys";
import { encodeValues } from "../../formulas/envelope";
import { cloudImageUnavailable, ensureCloudImage } from "../../lab/cloudImage";
import { PCI_SLOTS } from "../../providers/libvirt/domainXml";
import { createCommand, machineValues, ScriptOptions, zeroizeCommand } from "../../providers/libvirt/scripts";
import { interfaceSlot, virtualMachineSpec, VirtualMachineSpec } from "../../providers/libvirt/spec";
import { requirePrerequisite } from "../support/prerequisite";
import { endpoint, HOST_KEY_SECRET, hostType, pillar } from "./fixtures";
import { ok, run, runAsync, scratch } from "./tools";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Bound of the create script's SSH wait: a TCG boot of Debian with cloud-init takes 1-3 minutes here. */
const SSH_TIMEOUT_SECONDS = 420;

/** Why this test cannot run here, or undefined. */
function unavailable(): string | undefined {
  const why = cloudImageUnavailable();
  if (why) return why;
  for (const [tool, pkg] of [["qemu-system-x86_64", "qemu-system-x86"], ["libvirtd", "libvirt-daemon"], ["virtlogd", "libvirt-daemon"], ["virsh", "libvirt-clients"], ["cloud-localds", "cloud-image-utils"]]) {
    if (run("sh", ["-c", `PATH=$PATH:/usr/sbin command -v ${tool}`]).status !== 0) return `${tool} not installed (Debian package ${pkg})`;
  }
  if (!existsSync("/etc/libvirt/qemu.conf") || run("id", ["-u", "libvirt-qemu"]).status !== 0) return "no libvirt-qemu user or /etc/libvirt/qemu.conf (Debian package libvirt-daemon-system)";
  return undefined;
}

describe("a VM boots for real: the program's domain XML and seed under libvirt's QEMU driver (TCG), a Debian cloud image", function () {
  this.timeout(10 * 60_000);
  const ns = `kinetic-qemu-${process.pid}`;
  const daemons: ChildProcess[] = [];
  let dir: string;
  let image: ReturnType<typeof ensureCloudImage>;
  let opts: ScriptOptions & { kvmRoot: string; logDir: string; virshUri: string };
  let vm: VirtualMachineSpec;
  let clientKey: string;
  let booted = false;

  const virsh = (...args: string[]) => run("virsh", ["-q", "-c", opts.virshUri, ...args]);
  // The scripts run in the namespace: the create script's SSH wait must reach the guest.
  const exec = (command: string) => {
    const values = machineValues(vm, opts);
    values.DOMAIN_XML = values.DOMAIN_XML.replace("<domain type='kvm'>", "<domain type='qemu'>").replace("  <cpu mode='host-model'/>\n", "");
    return runAsync("ip", ["netns", "exec", ns, "sh", "-c", command], { input: encodeValues(values), timeoutMs: (SSH_TIMEOUT_SECONDS + 60) * 1000 });
  };
  /** The guest's QEMU as this machine sees it (libvirt's pid file holds its pid in the daemons' namespace). */
  const qemuRunning = () => run("pgrep", ["-f", `guest=${vm.name}`]).status === 0;
  /** ssh from inside the namespace, trusting only the host key line in `knownHosts`. */
  const ssh = (knownHosts: string, command: string) => {
    const kh = join(dir, `known_hosts.${Math.random().toString(36).slice(2)}`);
    writeFileSync(kh, `${vm.management.address} ${knownHosts}\n`);
    return runAsync("ip", ["netns", "exec", ns, "ssh", "-F", "/dev/null", "-i", clientKey, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${kh}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=20", `root@${vm.management.address}`, command], { timeoutMs: 240_000 });
  };
  const consoleTail = () => {
    const f = join(opts.logDir, `${vm.name}.log`);
    return existsSync(f) ? readFileSync(f, "latin1").slice(-4000) : "(no console log)";
  };

  before(async function () {
    requirePrerequisite(this, unavailable(), "a VM booting under libvirt's QEMU driver");
    const started = Date.now();
    // Built before the tests (test/lanes.ts prepares it with the network); here there is none.
    image = ensureCloudImage({ offline: true });
    console.log(`      cloud image ${image.key} (${image.cached ? "cached" : "built"} in ${image.seconds.toFixed(1)} s): Linux ${image.kernelRelease}, cloud-init ${image.packages["cloud-init"]}`);
    dir = scratch("qemu");
    chmodSync(dir, 0o755); // mkdtemp makes it 0700; QEMU runs as libvirt-qemu and must reach the disk
    const suffix = process.pid.toString(16).padStart(12, "0").slice(-12);
    // The production layout: four networks, management first; 10.100.0.0/22 lives in the namespace.
    const t = hostType("keystone", { management: "ens3", public: "ens4", private: "ens5", sfe: "ens6" }, { ram: 1048576, cpu: 2, disk: "8G", os: "debian12" });
    const keyFile = join(dir, "id_ed25519");
    ok("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kinetic@orchestrator", "-f", keyFile]);
    clientKey = keyFile;
    const spec = virtualMachineSpec(endpoint("keystone", 0, `6f1b2c3d-4e5f-5a6b-8c7d-${suffix}`, "10.100.0.20"), t, pillar([t]), "qemu", [readFileSync(`${keyFile}.pub`, "utf8").trim()]);
    vm = { ...spec, hostKey: deriveHostKey(HOST_KEY_SECRET, spec.name, "0") };

    ok("ip", ["netns", "add", ns]);
    ok("ip", ["-n", ns, "link", "set", "lo", "up"]);
    for (const nic of vm.networks) {
      ok("ip", ["-n", ns, "link", "add", nic.bridge, "type", "bridge"]);
      ok("ip", ["-n", ns, "link", "set", nic.bridge, "up"]);
    }
    // The gateway the seed names is this end of the management bridge.
    ok("ip", ["-n", ns, "addr", "add", `${vm.management.gateway}/${vm.management.prefixLength}`, "dev", "management_br"]);

    const conf = join(dir, "libvirtd.conf");
    mkdirSync(join(dir, "sock"));
    writeFileSync(conf, `unix_sock_dir = "${dir}/sock"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n`);
    const state = { run: "/run/libvirt", lib: "/var/lib/libvirt", qemuConf: "/etc/libvirt/qemu", cache: "/var/cache/libvirt", log: "/var/log/libvirt" };
    const mounts = Object.entries(state).map(([k, target]) => {
      mkdirSync(join(dir, k), { mode: 0o755 });
      return `mkdir -p ${target} && mount --bind "$1/${k}" ${target}`;
    });
    // The shell is PID 1 of a PID namespace of its own and reaps what libvirt daemonizes (QEMU, its
    // capability probes): this machine's PID 1 is no init and left them zombies for minutes, which
    // libvirtd took for live QEMUs and waited on (`virsh define` hung). When the test ends, ending
    // that PID 1 ends everything in it.
    const daemonScript = ["set -e", ...mounts, "virtlogd &", `libvirtd -f "$1/libvirtd.conf" &`, "while :; do wait; sleep 1; done"].join("\n");
    daemons.push(
      spawn("ip", ["netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "sh", "-c", daemonScript, "daemons", dir], { stdio: "ignore" }),
    );
    opts = {
      controller: "local-qemu",
      kvmRoot: join(dir, "kvm"),
      logDir: join(dir, "console"),
      virshUri: `qemu:///system?socket=${dir}/sock/libvirt-sock`,
      sshTimeoutSeconds: SSH_TIMEOUT_SECONDS,
    };
    const deadline = Date.now() + 30_000;
    while (virsh("version").status !== 0) {
      if (Date.now() > deadline) throw new Error("libvirtd with the QEMU driver did not come up");
      await sleep(200);
    }
    mkdirSync(join(opts.kvmRoot, "images"), { recursive: true });
    symlinkSync(image.disk, join(opts.kvmRoot, "images", `${vm.os}-latest`));
    console.log(`      libvirtd up ${((Date.now() - started) / 1000).toFixed(1)} s into the setup`);
  });

  after(async () => {
    if (opts && virsh("domstate", vm.name).status === 0) await exec(zeroizeCommand());
    // unshare --kill-child: its PID 1, and with it libvirtd, virtlogd and any QEMU, end with it.
    for (const d of daemons) d.kill("SIGKILL"); // unshare --fork ignores SIGTERM while it waits
    await sleep(500);
    run("ip", ["netns", "del", ns]);
  });

  it("create: QEMU runs the domain with every device where the XML put it, and the guest answers SSH with its pinned host key", async () => {
    const started = Date.now();
    const r = await exec(createCommand());
    assert.equal(r.status, 0, `${r.stderr}\n--- console\n${consoleTail()}`);
    booted = true;
    console.log(`      create script: SSH answered with the pinned key ${((Date.now() - started) / 1000).toFixed(1)} s after it started`);
    assert.match(r.stdout, new RegExp(`up, SSH answers on ${vm.management.address.replace(/\./g, "\\.")} with host key SHA256:`));
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
    assert.match(readFileSync(join(opts.logDir, `${vm.name}.log`), "latin1"), /Linux version/, "virtlogd keeps the guest's serial console");
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

  it("cloud-init ran the program's seed: root logs in with the orchestrator's key, trusting only the pinned host key; host name, instance, address, route and host keys are the seed's", async () => {
    assert.ok(booted, "the guest did not boot");
    const pinned = vm.hostKey!.publicKey.split(" ").slice(0, 2).join(" ");
    const probe = [
      "cloud-init status --wait >/dev/null 2>&1; cloud-init status",
      "hostname",
      "cat /var/lib/cloud/data/instance-id",
      "ip -o -4 addr show dev ens3 | awk '{print $4}'",
      "ip -4 route show default",
      "ls /etc/ssh | grep '^ssh_host_' | sort | tr '\\n' ' '; echo",
      "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub",
      "for n in ens4 ens5 ens6; do test -e /sys/class/net/$n && printf '%s ' $n; done; echo",
      // For the failure messages only: what cloud-init and systemd say went wrong.
      "cloud-init status --long; grep -E 'WARNING|ERROR|Traceback' /var/log/cloud-init.log | tail -n 20; systemctl --failed --no-legend; systemd-analyze blame | head -n 8",
    ].join("; echo ---; ");
    const r = await ssh(pinned, probe);
    assert.equal(r.status, 0, `ssh with the pinned key failed: ${r.stderr}\n--- console\n${consoleTail()}`);
    const [status, hostname, instance, address, route, hostKeys, hostPub, otherNics, diagnosis] = r.stdout.split("---\n").map((s) => s.trim());
    console.log(`      the guest's slowest units:\n${diagnosis.split("\n").filter((l) => /^\s*[0-9.]+(ms|s|min)\b/.test(l)).map((l) => `        ${l.trim()}`).join("\n")}`);
    assert.equal(status, "status: done", `cloud-init did not finish cleanly:\n${diagnosis}`);
    assert.equal(hostname, vm.name);
    assert.equal(instance, vm.uuid);
    assert.equal(address, `${vm.management.address}/${vm.management.prefixLength}`);
    assert.match(route, new RegExp(`^default via ${vm.management.gateway!.replace(/\./g, "\\.")} dev ens3`), `no default route via the seed's gateway:\n${diagnosis}`);
    // ssh_deletekeys + ssh_keys: the pinned key is the only one sshd has.
    assert.equal(hostKeys, "ssh_host_ed25519_key ssh_host_ed25519_key.pub");
    assert.equal(hostPub, pinned);
    // The other NICs are named by their PCI slots as the pillar says (their addresses are the networking formula's).
    assert.equal(otherNics, "ens4 ens5 ens6");
  });

  it("a known_hosts holding any other key refuses the guest: ssh fails with host key verification", async () => {
    assert.ok(booted, "the guest did not boot");
    const other = deriveHostKey(HOST_KEY_SECRET, vm.name, "1").publicKey.split(" ").slice(0, 2).join(" ");
    assert.notEqual(other, vm.hostKey!.publicKey.split(" ").slice(0, 2).join(" "));
    const r = await ssh(other, "echo reached");
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /reached/);
    assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it("zeroize: the QEMU process is gone, the domain undefined, the files removed; twice", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await exec(zeroizeCommand());
      assert.equal(r.status, 0, r.stderr);
      assert.equal(virsh("domstate", vm.name).status === 0, false);
      assert.ok(!existsSync(join(opts.kvmRoot, "vms", vm.name)));
      assert.ok(!existsSync(join(opts.logDir, `${vm.name}.log`)));
    }
    assert.ok(!qemuRunning(), "QEMU still runs");
  });
});
