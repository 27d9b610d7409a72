/**
 * The libvirt domain XML of a virtual endpoint (https://libvirt.org/formatdomain.html).
 *
 * Machine type `pc` (i440fx) like the original: on its PCI root bus every slot is hot-pluggable, so
 * the guest names the NIC in slot N `ensN`, which is how the pillar fixes interface names. Every PCI
 * device gets an explicit address (https://libvirt.org/formatdomain.html#device-addresses) so that
 * the layout is the same on every controller and a NIC slot can be checked against the others here,
 * instead of libvirt failing (or silently moving a device) at `virsh define` time.
 */
import { LibvirtProblem, LibvirtSpecError } from "./errors";
import { isLocalUnicastMac } from "./mac";
import { interfaceSlot, VirtualMachineSpec } from "./spec";

/** Where the machine's files live on the controller; overridable so tests can use a scratch dir. */
export interface DomainPaths {
  /** Root of the VM store; the disk and seed are `<kvmRoot>/vms/<name>/`. Default `/kvm`. */
  kvmRoot: string;
  /** Directory of the serial console logs `<logDir>/<name>.log`. Default `/var/log/libvirt`. */
  logDir: string;
}

export const DEFAULT_PATHS: DomainPaths = { kvmRoot: "/kvm", logDir: "/var/log/libvirt" };

/**
 * PCI slots on bus 0 that are not NICs. 0 is the host bridge and 1 the PIIX3 south bridge (ISA, IDE,
 * ACPI) on i440fx; libvirt keeps 2 for the primary video device even when there is none. The other
 * devices sit at the top of the bus, so `ens3` upwards is free for NICs.
 */
export const PCI_SLOTS = {
  hostBridge: 0x00,
  southBridge: 0x01,
  video: 0x02,
  sata: 0x1c,
  rng: 0x1d,
  disk: 0x1e,
  balloon: 0x1f,
} as const;
export type PciSlotUser = keyof typeof PCI_SLOTS;

/** NIC slots allowed: above the reserved ones and below the first device slot. */
export const NIC_SLOTS = { min: 0x03, max: PCI_SLOTS.sata - 1 } as const;

/** Hostname-safe: the name is a directory, a file name in the zeroize `rm -rf` and the guest host name. */
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BRIDGE = /^[A-Za-z0-9_.-]{1,15}$/;
/** `qemu-img resize` sizes: a whole number with an optional binary suffix. */
const SIZE = /^[1-9][0-9]*[KMGT]?$/;
/** Characters XML 1.0 cannot carry at all, even escaped (https://www.w3.org/TR/xml/#charsets). */
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/**
 * Every problem of a spec that would make libvirt, qemu-img or the guest fail later, collected.
 * Throws {@link LibvirtSpecError}.
 */
export function validateSpec(vm: VirtualMachineSpec): void {
  const problems: LibvirtProblem[] = [];
  const bad = (propertyPath: string, reason: string) => problems.push({ propertyPath, reason });
  if (!NAME.test(vm.name)) bad("name", `${JSON.stringify(vm.name)} is not a host name ([a-z0-9-], at most 63)`);
  if (!UUID.test(vm.uuid)) bad("uuid", `${JSON.stringify(vm.uuid)} is not a lower-case UUID`);
  if (!Number.isSafeInteger(vm.ramKiB) || vm.ramKiB <= 0) bad("ramKiB", `${vm.ramKiB} is not a positive whole number of KiB`);
  if (!Number.isSafeInteger(vm.vcpus) || vm.vcpus <= 0) bad("vcpus", `${vm.vcpus} is not a positive whole number`);
  if (!SIZE.test(vm.disk)) bad("disk", `${JSON.stringify(vm.disk)} is not a size such as 32G`);
  if (!vm.os || vm.os.includes("/") || vm.os.startsWith(".")) bad("os", `${JSON.stringify(vm.os)} cannot name an image /kvm/images/<os>-latest`);
  for (const [key, value] of Object.entries({ stack: vm.stack, os: vm.os, disk: vm.disk })) {
    if (NOT_XML.test(value)) bad(key, "contains a control character XML cannot carry");
  }

  const slotOwner = new Map<number, string>();
  for (const [user, slot] of Object.entries(PCI_SLOTS)) slotOwner.set(slot, `the ${user} device`);
  if (vm.networks.length === 0) bad("networks", "a machine needs at least one network");
  for (const nic of vm.networks) {
    const at = `networks.${nic.name}`;
    // libvirt's schema allows device names of [a-zA-Z0-9_.-\\:/] (schemas/basictypes.rng `deviceName`),
    // Linux at most 15 bytes (IFNAMSIZ - 1) and no '/' or ':' (net/core/dev.c `dev_valid_name`).
    if (!BRIDGE.test(nic.bridge)) {
      bad(`${at}.bridge`, `${JSON.stringify(nic.bridge)} is not a bridge name libvirt and Linux accept (1-15 of [A-Za-z0-9_.-])`);
    }
    if (!isLocalUnicastMac(nic.mac)) bad(`${at}.mac`, `${JSON.stringify(nic.mac)} is not a lower-case locally administered unicast MAC`);
    const slot = interfaceSlot(nic.interface);
    if (slot === undefined) {
      bad(`${at}.interface`, `${JSON.stringify(nic.interface)} is not of the form ensN (N = PCI slot ${NIC_SLOTS.min}-${NIC_SLOTS.max})`);
      continue;
    }
    const owner = slotOwner.get(slot);
    if (owner) {
      bad(`${at}.interface`, `${nic.interface} needs PCI slot 0x${hex(slot)}, which ${owner} already uses`);
    } else if (slot < NIC_SLOTS.min || slot > NIC_SLOTS.max) {
      bad(`${at}.interface`, `${nic.interface}: PCI slot ${slot} is outside bus 0's NIC slots ${NIC_SLOTS.min}-${NIC_SLOTS.max}`);
    } else {
      slotOwner.set(slot, `${nic.interface} of network ${nic.name}`);
    }
  }
  const mgmt = vm.management;
  if (!vm.networks.some((n) => n.interface === mgmt.interface)) {
    bad("management.interface", `${JSON.stringify(mgmt.interface)} is not the interface of any network of the machine`);
  }
  if (problems.length) throw new LibvirtSpecError(vm.name, problems);
}

const hex = (n: number): string => n.toString(16).padStart(2, "0");

/** Escape for XML text and for attribute values in either quote style. */
export function xmlEscape(text: string): string {
  if (NOT_XML.test(text)) throw new Error(`${JSON.stringify(text)} contains a character XML cannot carry`);
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

/** `<address>` of a device on PCI bus 0. */
const pci = (slot: number): string => `<address type='pci' domain='0x0000' bus='0x00' slot='0x${hex(slot)}' function='0x0'/>`;

/**
 * Render the domain XML. Validates first (see {@link validateSpec}); every value that comes from the
 * pillar is XML-escaped.
 */
export function renderDomainXml(vm: VirtualMachineSpec, paths: DomainPaths = DEFAULT_PATHS): string {
  validateSpec(vm);
  const e = xmlEscape;
  const dir = `${paths.kvmRoot.replace(/\/+$/, "")}/vms/${vm.name}`;
  const log = `${paths.logDir.replace(/\/+$/, "")}/${vm.name}.log`;
  const nics = vm.networks.map((nic) =>
    [
      // https://libvirt.org/formatdomain.html#bridge-to-lan
      `    <interface type='bridge'>`,
      `      <mac address='${e(nic.mac)}'/>`,
      `      <source bridge='${e(nic.bridge)}'/>`,
      `      <model type='virtio'/>`,
      `      ${pci(interfaceSlot(nic.interface) as number)}`,
      `    </interface>`,
    ].join("\n"),
  );
  return [
    `<domain type='kvm'>`,
    `  <name>${e(vm.name)}</name>`,
    `  <uuid>${e(vm.uuid)}</uuid>`,
    `  <description>Kinetic virtual endpoint of stack ${e(vm.stack)}: os ${e(vm.os)}, disk ${e(vm.disk)}</description>`,
    `  <memory unit='KiB'>${vm.ramKiB}</memory>`,
    `  <currentMemory unit='KiB'>${vm.ramKiB}</currentMemory>`,
    `  <vcpu placement='static'>${vm.vcpus}</vcpu>`,
    // https://libvirt.org/formatdomain.html#cpu-model-and-topology: the host's model, migratable.
    `  <cpu mode='host-model'/>`,
    `  <os>`,
    `    <type arch='x86_64' machine='pc'>hvm</type>`,
    `    <boot dev='hd'/>`,
    `  </os>`,
    `  <features>`,
    `    <acpi/>`,
    `    <apic/>`,
    `  </features>`,
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    // https://libvirt.org/formatdomain.html#hard-drives-floppy-disks-cdroms
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='raw' discard='unmap'/>`,
    `      <source file='${e(dir)}/disk0.raw'/>`,
    `      <target dev='vda' bus='virtio'/>`,
    `      ${pci(PCI_SLOTS.disk)}`,
    `    </disk>`,
    // The NoCloud seed: cloud-init finds it by its volume label `cidata`.
    `    <disk type='file' device='cdrom'>`,
    `      <driver name='qemu' type='raw'/>`,
    `      <source file='${e(dir)}/config.iso'/>`,
    `      <target dev='sda' bus='sata'/>`,
    `      <readonly/>`,
    `      <address type='drive' controller='0' bus='0' target='0' unit='0'/>`,
    `    </disk>`,
    `    <controller type='sata' index='0'>`,
    `      ${pci(PCI_SLOTS.sata)}`,
    `    </controller>`,
    // No USB devices: without this libvirt adds a UHCI controller nobody uses.
    `    <controller type='usb' model='none'/>`,
    ...nics,
    // https://libvirt.org/formatdomain.html#consoles-serial-parallel-channel-devices: the console
    // stays usable (`virsh console`) and everything it prints is also kept in the log file.
    `    <serial type='pty'>`,
    `      <log file='${e(log)}' append='off'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='pty'>`,
    `      <target type='serial' port='0'/>`,
    `    </console>`,
    // https://libvirt.org/formatdomain.html#random-number-generator-device: /dev/urandom does not block.
    `    <rng model='virtio'>`,
    `      <backend model='random'>/dev/urandom</backend>`,
    `      ${pci(PCI_SLOTS.rng)}`,
    `    </rng>`,
    `    <memballoon model='virtio'>`,
    `      ${pci(PCI_SLOTS.balloon)}`,
    `    </memballoon>`,
    `  </devices>`,
    `</domain>`,
    ``,
  ].join("\n");
}
