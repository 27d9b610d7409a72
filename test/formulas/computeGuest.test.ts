/**
 * Compute boots real guests (issue 20): in a Debian host booted with systemd (as the lab's compute
 * server is), compute/install and compute/configure make a hypervisor of it, and libvirt's QEMU
 * driver, the one nova-compute drives, starts a guest from the image `kinetic image build` makes
 * (Debian's kernel and a busybox initramfs), under QEMU's TCG emulation because the host has no
 * /dev/kvm. Its serial console, as libvirt writes it, shows the guest's init running, a DHCP lease on
 * its virtio NIC, and init finishing. The formula's facts are checked on the way: virt_type qemu in
 * the file nova-compute reads last, OVN's br-int on Open vSwitch's userspace datapath.
 *
 * Then the guest's NIC on OVN: the OVN databases (ovsdb role) in the same host, ovn-controller
 * making br-int on the userspace datapath, and the NIC plugged as nova plugs it (a tap on br-int
 * with external_ids:iface-id = the logical port): OVN's own DHCP answers it through that datapath.
 *
 * In the cloud set (test/support/cloudSet.ts): the whole cloud proves each of these facts again
 * through nova, so the pull-request suite keeps its time for what nothing else proves.
 *
 * Not here (needs the whole control plane: rabbitmq, nova's conductor and API, placement, glance,
 * neutron): nova-compute registering and a server created through nova's API.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import type { GuestImage } from "../../image/guestImage";
import { DebianHost } from "../support/debianHost";
import { requireCloudSet } from "../support/cloudSet";
import { requireGuestImage } from "../support/guestImagePrerequisite";
import { assertEnabled, assertInstalled, changes, describeRun, runOk, withHost } from "./hostSuite";
import { osValues } from "./openstackSuite";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DOMAIN = "kinetic-guest-test";
const CONSOLE = `/var/log/libvirt/qemu/${DOMAIN}-console.log`;

/** What nova's libvirt driver writes for a kernel/ramdisk image under virt_type qemu and cpu_mode none (no <cpu>). */
function domainXml(dir: string, nic = "<interface type='user'>\n      <model type='virtio'/>\n    </interface>"): string {
  return `<domain type='qemu'>
  <name>${DOMAIN}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${dir}/vmlinuz</kernel>
    <initrd>${dir}/initrd.img</initrd>
    <cmdline>root=/dev/vda console=tty0 console=ttyS0 panic=-1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${dir}/disk.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ${nic}
    <serial type='file'>
      <source path='${CONSOLE}'/>
      <target port='0'/>
    </serial>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>
`;
}

describe("formulas: compute boots a real guest (booted host, libvirt's QEMU driver, TCG, the image from Debian packages)", function () {
  this.timeout(40 * 60_000);
  // Before withHost's hook: outside the cloud set no host is started.
  before(function () {
    requireCloudSet(this, "compute booting a guest");
  });
  const { host } = withHost({ boot: "systemd" }, { startTimeoutMs: 30 * 60_000, stopTimeoutMs: 10 * 60_000 });
  let image: GuestImage;

  before(function () {
    image = requireGuestImage(this);
  });

  const virsh = (h: DebianHost, ...args: string[]) => h.tryExec(["virsh", "-q", "-c", "qemu:///system", ...args]);

  it("compute/install + configure on a booted host: QEMU TCG in nova-compute.conf (no /dev/kvm), OVN's bridges on the userspace datapath", async () => {
    const h = host();
    // What an installer writes (debootstrap leaves no /etc/hosts): nova-common's postinst runs
    // `hostname -f`, and the host's network has no DNS to ask.
    fs.writeFileSync(h.path("/etc/hosts"), `127.0.0.1\tlocalhost\n127.0.1.1\t${h.exec(["hostname"]).trim()}\n`);
    // nova-compute cannot start without rabbitmq and nova-conductor (it asks the conductor for the
    // services' minimum version, and fails when that times out), which this host does not run: a
    // drop-in makes its unit a no-op here, so configure's restart of it succeeds. Everything else
    // (libvirtd, Open vSwitch, ovn-controller) runs for real.
    fs.mkdirSync(h.path("/etc/systemd/system/nova-compute.service.d"), { recursive: true });
    fs.writeFileSync(h.path("/etc/systemd/system/nova-compute.service.d/kinetic-test.conf"), "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=\nExecStart=/bin/true\n");
    await runOk(h, "compute/install", { NAME: "compute-1" });
    assertInstalled(h, ["nova-compute", "qemu-system-x86", "libvirt-daemon-system", "openvswitch-switch", "ovn-host"]);
    assertEnabled(h, ["nova-compute.service", "libvirtd.service", "openvswitch-switch.service", "ovn-host.service"]);
    const values = osValues("compute", "127.0.0.1", { NAME: "compute-1", ADDRESSES_OVSDB: "127.0.0.22" });
    const r = await runOk(h, "compute/configure", values);
    assert.match(r.stdout, /hypervisor: QEMU TCG emulation \(\/dev\/kvm is missing/, describeRun(r));
    assert.match(r.stdout, /Open vSwitch datapath: userspace \(netdev/, describeRun(r));
    assert.ok(changes(r).includes("/etc/nova/nova-compute.conf"), describeRun(r));
    const computeConf = h.read("/etc/nova/nova-compute.conf");
    assert.match(computeConf, /^\[libvirt\]\nvirt_type = qemu\ncpu_mode = none$/m);
    assert.doesNotMatch(h.read("/etc/nova/nova.conf"), /virt_type/, "virt_type is set in one file only");
    const ids = h.exec(["ovs-vsctl", "--timeout=10", "get", "open_vswitch", ".", "external_ids"]);
    assert.match(ids, /ovn-bridge-datapath-type=netdev/);
    assert.match(ids, /system-id=compute-1/);
    // libvirt's QEMU driver answers and offers TCG guests of this architecture.
    const caps = virsh(h, "domcapabilities", "--virttype", "qemu", "--arch", "x86_64");
    assert.equal(caps.code, 0, `virsh domcapabilities: ${caps.stderr}`);
    assert.match(caps.stdout, /<domain>qemu<\/domain>/);
  });

  /** Defines and starts the domain; returns its console once init said `ready` (then destroys it). */
  async function bootGuest(h: DebianHost, nic?: string): Promise<{ text: string; seconds: number; qemuLog: string }> {
    const dir = "/var/lib/libvirt/images/kinetic-guest";
    fs.mkdirSync(h.path(dir), { recursive: true });
    for (const [src, dst] of [[image.kernel, "vmlinuz"], [image.ramdisk, "initrd.img"], [image.disk, "disk.raw"]]) fs.copyFileSync(src, h.path(`${dir}/${dst}`));
    fs.rmSync(h.path(CONSOLE), { force: true });
    fs.writeFileSync(h.path("/tmp/kinetic-guest.xml"), domainXml(dir, nic));
    const def = virsh(h, "define", "/tmp/kinetic-guest.xml");
    assert.equal(def.code, 0, `virsh define: ${def.stderr}`);
    const started = Date.now();
    const qemuLog = () => (h.exists(`/var/log/libvirt/qemu/${DOMAIN}.log`) ? h.read(`/var/log/libvirt/qemu/${DOMAIN}.log`).slice(-3000) : "(no QEMU log)");
    const consoleText = () => (h.exists(CONSOLE) ? fs.readFileSync(h.path(CONSOLE), "latin1") : "");
    try {
      const start = virsh(h, "start", DOMAIN);
      assert.equal(start.code, 0, `virsh start: ${start.stderr}\n--- QEMU log\n${qemuLog()}\n--- libvirtd\n${h.tryExec(["journalctl", "-u", "libvirtd", "--no-pager", "-n", "40"]).stdout}`);
      while (!/kinetic-guest: ready/.test(consoleText()) && Date.now() - started < 5 * 60_000) await sleep(1000);
      const text = consoleText();
      assert.match(text, /kinetic-guest: ready/, `no 'ready' on the guest's console after ${Math.round((Date.now() - started) / 1000)} s (domstate ${virsh(h, "domstate", DOMAIN).stdout.trim()}):\n${text.slice(-3000)}\n--- QEMU log\n${qemuLog()}`);
      return { text, seconds: (Date.now() - started) / 1000, qemuLog: h.read(`/var/log/libvirt/qemu/${DOMAIN}.log`) };
    } finally {
      virsh(h, "destroy", DOMAIN);
      virsh(h, "undefine", DOMAIN);
    }
  }

  it("libvirt's QEMU driver starts a guest from the Debian-built image under TCG; its console shows init running, a DHCP lease and init finishing", async () => {
    const h = host();
    const { text, seconds, qemuLog } = await bootGuest(h);
    assert.match(text, new RegExp(`kinetic-guest: booted: Linux ${image.kernelRelease.replace(/\./g, "\\.")} \\(x86_64\\)`));
    assert.match(text, /kinetic-guest: eth0: 10\.0\.2\.15\/24/);
    // Really TCG: QEMU was started with the TCG accelerator, and there is no /dev/kvm to use.
    assert.match(qemuLog, /-accel tcg|accel=tcg/);
    assert.equal(h.exists("/dev/kvm"), false);
    console.log(`      guest ready ${seconds.toFixed(1)} s after virsh start`);
  });

  it("the guest's NIC on OVN (userspace datapath): plugged into br-int as nova plugs it, OVN's DHCP gives it its port's address", async () => {
    const h = host();
    const OVSDB = "127.0.0.22";
    await runOk(h, "ovsdb/install", { NAME: "ovsdb-1" });
    await runOk(h, "ovsdb/configure", { ADDRESS: OVSDB, INDEX: "0", ADDRESSES_OVSDB: OVSDB });
    h.exec(["systemctl", "restart", "ovn-central.service"]);
    const nb = (...a: string[]) => h.exec(["ovn-nbctl", `--db=tcp:${OVSDB}:6641`, "--timeout=30", ...a]).trim();
    const sbShow = () => h.tryExec(["ovn-sbctl", `--db=tcp:${OVSDB}:6642`, "--timeout=10", "show"]).stdout;
    // ovn-controller (ovn-host, started by systemd) registers the chassis and makes br-int on the datapath the formula chose.
    for (let i = 0; i < 120 && !/Chassis "?compute-1"?/.test(sbShow()); i++) await sleep(1000);
    assert.match(sbShow(), /Chassis "?compute-1"?/, `the chassis did not register:\n${h.tryExec(["journalctl", "-u", "ovn-controller", "--no-pager", "-n", "40"]).stdout}`);
    let dp = "";
    for (let i = 0; i < 60 && dp !== "netdev"; i++) {
      dp = h.tryExec(["ovs-vsctl", "--timeout=10", "get", "bridge", "br-int", "datapath_type"]).stdout.trim();
      if (dp !== "netdev") await sleep(1000);
    }
    assert.equal(dp, "netdev", "br-int is not on the userspace datapath");
    // A logical switch with OVN's native DHCP and the guest's port, as neutron makes them.
    const mac = "fa:16:3e:12:34:56";
    nb("ls-add", "net1");
    // Neutron's port IDs are UUIDs, and libvirt takes nothing else as an interfaceid.
    const port = "5f0c2a8e-7d1b-4c3e-9a6f-2b8d4e1c0a93";
    nb("lsp-add", "net1", port);
    nb("lsp-set-addresses", port, `${mac} 10.9.0.10`);
    const dhcp = nb("create", "DHCP_Options", "cidr=10.9.0.0/24", 'options="lease_time"="3600" "router"="10.9.0.1" "server_id"="10.9.0.1" "server_mac"="fa:16:3e:00:00:01"');
    nb("lsp-set-dhcpv4-options", port, dhcp);
    const nic = `<interface type='bridge'>
      <mac address='${mac}'/>
      <source bridge='br-int'/>
      <virtualport type='openvswitch'><parameters interfaceid='${port}'/></virtualport>
      <target dev='tapkg0'/>
      <model type='virtio'/>
    </interface>`;
    const { text, seconds } = await bootGuest(h, nic);
    // OVN's DHCP answers only a port bound to a chassis, here through br-int's userspace datapath.
    // (The binding itself is gone from the southbound database once bootGuest destroyed the domain.)
    assert.match(text, /kinetic-guest: eth0: 10\.9\.0\.10\/24/, `the guest got no lease from OVN:\n${text.slice(-2000)}\n${sbShow()}`);
    console.log(`      guest on OVN ready ${seconds.toFixed(1)} s after virsh start`);
  });
});
