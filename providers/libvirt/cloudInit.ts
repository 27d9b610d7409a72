/**
 * The cloud-init NoCloud seed of a virtual endpoint
 * (https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html): three files put
 * on an ISO 9660 volume labelled `cidata`.
 *
 * Only what the orchestrator needs to reach the machine is baked in: host name, root's SSH key and
 * the management address. Everything else (NTP, sysctl, the other networks...) is the formulas' job,
 * so that changing it re-runs a formula instead of rebuilding the machine.
 */
import { isIP } from "node:net";
import { stringify } from "yaml";
import { publicKeyBlob } from "../../pillar/sshPublicKey";
import { LibvirtProblem, LibvirtSpecError } from "./errors";
import { VirtualMachineSpec } from "./spec";

export interface Seed {
  "meta-data": string;
  "user-data": string;
  "network-config": string;
}

/** One authorized_keys entry: `<type> <base64> [comment]` on a single line (sshd(8) AUTHORIZED_KEYS FILE FORMAT). */
// eslint-disable-next-line no-control-regex
const AUTHORIZED_KEY = /^(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+={0,3}( [^\u0000-\u001f\u007f]*)?$/;

const yaml = (doc: unknown): string => stringify(doc, { lineWidth: 0 });

/** `meta-data`: instance-id is the endpoint UUID, so a rebuilt machine is a new instance for cloud-init. */
export function metaData(vm: VirtualMachineSpec): string {
  return yaml({ "instance-id": vm.uuid, "local-hostname": vm.name });
}

/** An unencrypted OpenSSH private key block, nothing around it. */
const OPENSSH_PRIVATE_KEY = /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$/;

/**
 * `user-data` (https://cloudinit.readthedocs.io/en/latest/reference/modules.html#users-and-groups):
 * root gets the orchestrator's keys. `disable_root: false` because cloud images otherwise prefix
 * root's keys with a command that refuses the login.
 *
 * With `vm.hostKey`, the machine's SSH host key too (https://cloudinit.readthedocs.io/en/latest/reference/modules.html#ssh):
 * `ssh_keys` is written as /etc/ssh/ssh_host_ed25519_key{,.pub} and `ssh_deletekeys` removes the
 * image's keys; with `ssh_keys` given, cloud-init generates no others (cc_ssh), so sshd presents
 * exactly the pinned key.
 */
export function userData(vm: VirtualMachineSpec): string {
  // Each key becomes one line of root's authorized_keys: a line break inside one would add a key.
  const problems: LibvirtProblem[] = [];
  if (vm.sshAuthorizedKeys.length === 0) problems.push({ propertyPath: "sshAuthorizedKeys", reason: "no key: the orchestrator could not log in" });
  vm.sshAuthorizedKeys.forEach((key, i) => {
    if (!AUTHORIZED_KEY.test(key)) problems.push({ propertyPath: `sshAuthorizedKeys.${i}`, reason: "is not one OpenSSH public key line (type, base64, optional comment)" });
  });
  if (vm.hostKey) {
    const blob = publicKeyBlob(vm.hostKey.publicKey);
    if (!blob || !vm.hostKey.publicKey.startsWith("ssh-ed25519 ")) problems.push({ propertyPath: "hostKey.publicKey", reason: "is not one ssh-ed25519 public key line" });
    // The private key's text is never echoed into an error.
    if (!OPENSSH_PRIVATE_KEY.test(vm.hostKey.privateKey)) problems.push({ propertyPath: "hostKey.privateKey", reason: "is not an unencrypted OpenSSH private key block" });
  }
  if (problems.length) throw new LibvirtSpecError(vm.name, problems);
  return (
    "#cloud-config\n" +
    yaml({
      hostname: vm.name,
      disable_root: false,
      users: [{ name: "root", ssh_authorized_keys: [...vm.sshAuthorizedKeys] }],
      ...(vm.hostKey
        ? {
            ssh_deletekeys: true,
            ssh_keys: { ed25519_private: vm.hostKey.privateKey, ed25519_public: vm.hostKey.publicKey },
          }
        : {}),
    })
  );
}

/**
 * `network-config`, version 2 (https://cloudinit.readthedocs.io/en/latest/reference/network-config-format-v2.html):
 * the management NIC, matched by its MAC (names are not trusted before `set-name` applies), with a
 * static address, default gateway and resolvers.
 */
export function networkConfig(vm: VirtualMachineSpec): string {
  const m = vm.management;
  const problems: LibvirtProblem[] = [];
  const family = isIP(m.address);
  if (!family) problems.push({ propertyPath: "management.address", reason: `${JSON.stringify(m.address)} is not an IP address` });
  const maxPrefix = family === 6 ? 128 : 32;
  if (!Number.isInteger(m.prefixLength) || m.prefixLength < 1 || m.prefixLength > maxPrefix) {
    problems.push({ propertyPath: "management.prefixLength", reason: `${m.prefixLength} is not a prefix length of 1-${maxPrefix}` });
  }
  if (m.gateway !== undefined && !isIP(m.gateway)) problems.push({ propertyPath: "management.gateway", reason: `${JSON.stringify(m.gateway)} is not an IP address` });
  m.nameservers.forEach((ns, i) => {
    if (!isIP(ns)) problems.push({ propertyPath: `management.nameservers.${i}`, reason: `${JSON.stringify(ns)} is not an IP address` });
  });
  const nic = vm.networks.find((n) => n.interface === m.interface);
  if (!nic) problems.push({ propertyPath: "management.interface", reason: `${JSON.stringify(m.interface)} is not the interface of any network` });
  if (problems.length || !nic) throw new LibvirtSpecError(vm.name, problems);

  const ethernet: Record<string, unknown> = {
    match: { macaddress: nic.mac },
    "set-name": m.interface,
    dhcp4: false,
    dhcp6: false,
    addresses: [`${m.address}/${m.prefixLength}`],
  };
  // The default route as `gateway4`/`gateway6`, not as a `routes` entry: cloud-init converts v2
  // itself for guests without netplan, and its ENI renderer (Debian 12's cloud images: ifupdown)
  // writes a route as `post-up route add default gw ... || true`, net-tools' route(8), which such
  // images lack: the guest came up without a default route, silently (a Debian guest booted by
  // test/libvirt/qemu.test.ts; canonical/cloud-init#6250). A gateway becomes ifupdown's own
  // `gateway` line there, networkd's `Gateway=`, and netplan takes it as it is (it warns that
  // `gateway4` is deprecated, and still applies it).
  if (m.gateway) ethernet[isIP(m.gateway) === 6 ? "gateway6" : "gateway4"] = m.gateway;
  if (m.nameservers.length) ethernet.nameservers = { addresses: [...m.nameservers] };
  return yaml({ version: 2, ethernets: { [m.interface]: ethernet } });
}

/** The three seed files. */
export function renderSeed(vm: VirtualMachineSpec): Seed {
  return { "meta-data": metaData(vm), "user-data": userData(vm), "network-config": networkConfig(vm) };
}
