/**
 * What an installer (Ubuntu's autoinstall over PXE) or cloud-init (a VM's NoCloud seed) would put
 * on a fresh disk, read from exactly the data the program produced for that machine, and written
 * onto a lab host's root before it boots. The lab is this machine's installer and cloud-init; it
 * never invents a value the program should have given: a missing key, address or host key means
 * the machine does not come up, as in a datacenter.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export interface InstallNic {
  ifname: string;
  mac?: string;
  /** Pillar network the NIC is cabled to (the lab bridge it joins). */
  network: string;
  /** Static address with prefix, e.g. 10.77.0.11/24. */
  address: string;
  gateway?: string;
  nameservers: string[];
}

export interface InstallPlan {
  hostname: string;
  authorizedKeys: string[];
  /** The SSH host key the program generated for the machine (and pins). */
  hostKey: { privateKey: string; publicKey: string };
  nics: InstallNic[];
}

export class InstallRefused extends Error {}

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (v && typeof v === "object" && !Array.isArray(v) ? (v as Doc) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** The `users: [{name: root, ssh_authorized_keys}]`, `hostname` and `ssh_keys` of a cloud-config. */
function fromCloudConfig(cloudConfig: Doc, what: string): Omit<InstallPlan, "nics"> {
  const hostname = cloudConfig.hostname;
  if (typeof hostname !== "string" || !hostname) throw new InstallRefused(`${what}: no hostname`);
  const root = (Array.isArray(cloudConfig.users) ? cloudConfig.users : []).map(obj).find((u) => u.name === "root");
  const authorizedKeys = strings(root?.ssh_authorized_keys);
  if (!authorizedKeys.length) throw new InstallRefused(`${what}: no SSH key for root`);
  const keys = obj(cloudConfig.ssh_keys);
  if (typeof keys.ed25519_private !== "string" || typeof keys.ed25519_public !== "string") throw new InstallRefused(`${what}: no ed25519 host key`);
  return { hostname, authorizedKeys, hostKey: { privateKey: keys.ed25519_private, publicKey: keys.ed25519_public } };
}

/**
 * A VM's NoCloud seed: `user-data` (cloud-config), `network-config` (version 2, NICs matched by MAC
 * and renamed with `set-name`). `networkOfMac` says which lab network each of the domain's NICs is
 * cabled to (from the domain XML's bridge).
 */
export function planFromSeed(seed: { userData: string; networkConfig: string }, networkOfMac: Map<string, string>, what: string): InstallPlan {
  const base = fromCloudConfig(obj(parse(seed.userData)), `${what} user-data`);
  const net = obj(parse(seed.networkConfig));
  if (net.version !== 2) throw new InstallRefused(`${what} network-config: not version 2`);
  const nics: InstallNic[] = [];
  for (const [id, e] of Object.entries(obj(net.ethernets))) {
    const eth = obj(e);
    const mac = typeof obj(eth.match).macaddress === "string" ? (obj(eth.match).macaddress as string).toLowerCase() : undefined;
    const ifname = typeof eth["set-name"] === "string" ? (eth["set-name"] as string) : id;
    const address = strings(eth.addresses)[0];
    if (!address) continue;
    const network = mac ? networkOfMac.get(mac) : undefined;
    if (!network) throw new InstallRefused(`${what} network-config: NIC ${ifname} (${mac ?? "no MAC"}) is not one of the domain's`);
    nics.push({ ifname, mac, network, address, gateway: seedGateway(eth), nameservers: strings(obj(eth.nameservers).addresses) });
  }
  if (!nics.length) throw new InstallRefused(`${what} network-config: no NIC with an address`);
  return { ...base, nics };
}

/**
 * The default gateway of one v2 ethernet: `gateway4`/`gateway6`, which the program's seed writes
 * (providers/libvirt/cloudInit.ts), or a default `routes` entry, which seeds made before it wrote.
 */
function seedGateway(eth: Record<string, unknown>): string | undefined {
  for (const k of ["gateway4", "gateway6"]) if (typeof eth[k] === "string") return eth[k] as string;
  const route = (Array.isArray(eth.routes) ? eth.routes : []).map(obj).find((r) => r.to === "0.0.0.0/0" || r.to === "::/0" || r.to === "default");
  return typeof route?.via === "string" ? route.via : undefined;
}

/**
 * A physical server's PXE install: the autoinstall user-data its installer fetched from the pxe host
 * for its UUID (lab/pxeBoot.ts). The installed system's address is the one the autoinstall network
 * config gives its PXE interface (the pxe formula's reserved address); `mac` is its NIC's.
 */
export function planFromAutoinstall(userData: string, nic: { network: string; mac?: string }, what: string): InstallPlan {
  const doc = obj(parse(userData));
  const auto = obj(doc.autoinstall);
  if (!Object.keys(auto).length) throw new InstallRefused(`${what}: user-data has no autoinstall section`);
  const base = fromCloudConfig(obj(auto["user-data"]), `${what} autoinstall user-data`);
  const [ifname, spec] = Object.entries(obj(obj(auto.network).ethernets))[0] ?? [];
  if (!ifname) throw new InstallRefused(`${what}: autoinstall names no network interface`);
  const eth = obj(spec);
  const address = strings(eth.addresses)[0];
  if (!address) throw new InstallRefused(`${what}: autoinstall gives ${ifname} no address (the lab has no DHCP server for an installed system)`);
  const route = (Array.isArray(eth.routes) ? eth.routes : []).map(obj).find((r) => r.to === "0.0.0.0/0" || r.to === "default");
  return {
    ...base,
    nics: [{ ifname, ...(nic.mac ? { mac: nic.mac } : {}), network: nic.network, address, gateway: typeof route?.via === "string" ? route.via : undefined, nameservers: strings(obj(eth.nameservers).addresses) }],
  };
}

/**
 * Writes the plan onto a fresh root: hostname, root's authorized_keys (only these), the host key
 * as sshd's only key, a systemd-networkd file per NIC. The installer's network files sort after the
 * networking formula's (`zz-`), so once the formula writes its own they take over at the next boot,
 * as the installer's netplan does on a real server once the formula removes netplan.
 */
export function applyPlan(root: string, plan: InstallPlan): void {
  const w = (p: string, content: string, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), content, { mode });
    fs.chmodSync(path.join(root, p), mode);
  };
  w("etc/hostname", `${plan.hostname}\n`);
  w("root/.ssh/authorized_keys", plan.authorizedKeys.map((k) => `${k}\n`).join(""), 0o600);
  fs.chmodSync(path.join(root, "root/.ssh"), 0o700);
  for (const f of fs.readdirSync(path.join(root, "etc/ssh"))) if (f.startsWith("ssh_host_")) fs.rmSync(path.join(root, "etc/ssh", f));
  w("etc/ssh/ssh_host_ed25519_key", plan.hostKey.privateKey.endsWith("\n") ? plan.hostKey.privateKey : `${plan.hostKey.privateKey}\n`, 0o600);
  w("etc/ssh/ssh_host_ed25519_key.pub", `${plan.hostKey.publicKey.trim()}\n`);
  w("etc/ssh/sshd_config.d/00-installer.conf", "HostKey /etc/ssh/ssh_host_ed25519_key\n");
  for (const nic of plan.nics) {
    const lines = ["[Match]", `Name=${nic.ifname}`, "", "[Network]", `Address=${nic.address}`];
    if (nic.gateway) lines.push(`Gateway=${nic.gateway}`);
    for (const ns of nic.nameservers) lines.push(`DNS=${ns}`);
    w(`etc/systemd/network/zz-installer-${nic.ifname}.network`, `# written by the lab's installer\n${lines.join("\n")}\n`);
  }
  const wants = (unit: string, target: string) => {
    const link = path.join(root, "etc/systemd/system", target, unit);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync(`/lib/systemd/system/${unit}`, link);
  };
  wants("systemd-networkd.service", "multi-user.target.wants");
  wants("systemd-networkd.socket", "sockets.target.wants");
}
