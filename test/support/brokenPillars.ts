/**
 * A corpus of broken pillars, by category (issue 8): each case is a valid small pillar with one
 * thing wrong, and the exact problems it must produce (`<dir>` stands for the pillar directory).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pillarDir } from "./pillars";

export const NET = `networking:
  subnets:
    management: 10.0.0.0/24
    public: 203.0.113.0/24
  gateway: 10.0.0.1
images:
  deb:
    url: http://deb.example/x.img
    type: qcow2
`;

/** The BMC account discovery logs in with: required as soon as a type is physical. */
export const BMC = "bmc:\n  api_user: admin\n";

export const HOSTS = `hosts:
  pxe:
    style: foundation
    addresses: [10.0.0.2]
  controller:
    style: physical
    uuids: [4c4c4544-0042-4810-8056-b4c04f395a31]
    interface: eno1
    os: ubuntu2204
    networks:
      management:
        interfaces: [eno1]
  cache:
    style: virtual
    count: 1
    ram: 1048576
    cpu: 1
    disk: 8G
    os: deb
    networks:
      management:
        interfaces: [ens3]
`;

export interface BrokenCase {
  name: string;
  /** Files of the pillar; defaults to net.yaml = NET and hosts.yaml = HOSTS. */
  files?: Record<string, string>;
  /** Replace in hosts.yaml (first occurrence), applied to HOSTS. */
  hosts?: [string, string][];
  net?: [string, string][];
  /** Filesystem changes after the files are written. */
  setup?: (dir: string) => string | void;
  /** Expected problem lines, `<dir>` for the directory. */
  expect: string[];
}

export function buildCase(c: BrokenCase): string {
  let hosts = HOSTS;
  for (const [a, b] of c.hosts ?? []) {
    if (!hosts.includes(a)) throw new Error(`case ${c.name}: ${JSON.stringify(a)} not in HOSTS`);
    hosts = hosts.replace(a, b);
  }
  let net = NET;
  for (const [a, b] of c.net ?? []) {
    if (!net.includes(a)) throw new Error(`case ${c.name}: ${JSON.stringify(a)} not in NET`);
    net = net.replace(a, b);
  }
  const dir = pillarDir(c.files ?? { "net.yaml": net, "hosts.yaml": hosts, "bmc.yaml": BMC });
  const other = c.setup?.(dir);
  return typeof other === "string" ? other : dir;
}

export const write = (dir: string, name: string, text: string | Buffer): void => fs.writeFileSync(path.join(dir, name), text);


const VM = (name: string, extra = "") => `  ${name}:\n    style: virtual\n    count: 1\n    ram: 1048576\n    cpu: 1\n    disk: 8G\n    os: deb\n    networks:\n      management:\n        interfaces: [ens3]\n${extra}`;
/** The corpus, by category of issue 8. */
export const CASES: Record<string, BrokenCase[]> = {
  "crashes and hangs": [
    { name: "alias without anchor", hosts: [["    count: 1\n", "    count: *n\n"]], expect: [
      "<dir>/hosts.yaml:15:12: hosts.cache.count: alias *n has no anchor &n before it in this file (anchors do not reach across pillar files)",
    ] },
    { name: "alias to an anchor in another file", files: { "a.yaml": NET + "timezone: &tz UTC\n", "hosts.yaml": HOSTS.replace("  pxe:\n", "  pxe:\n    role: *tz\n") }, expect: [
      "<dir>/hosts.yaml:3:11: hosts.pxe.role: alias *tz has no anchor &tz before it in this file (anchors do not reach across pillar files)",
    ] },
    { name: "alias bomb", files: { "net.yaml": NET, "hosts.yaml": HOSTS, "bomb.yaml": "ntp:\n  ntp_server: &a [x, x, x, x, x, x, x, x, x, x]\n  ntp_fallback: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nbmc: &c {api_user: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\nsyslog: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ntimezone: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nauthorized_keys: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" }, expect: [
      "<dir>/bomb.yaml:1:1: (file): expands to more than 50000 values (aliases repeating aliases?); a pillar is far smaller",
    ] },
    { name: "recursive alias", files: { "net.yaml": NET, "hosts.yaml": HOSTS, "r.yaml": "authorized_keys: &a [*a]\n" }, expect: [
      "<dir>/r.yaml:1:22: authorized_keys.0: alias *a refers to a value that contains it (a recursive structure)",
    ] },
    { name: "symlink loop", setup: (d) => fs.symlinkSync(path.join(d, "loop.yaml"), path.join(d, "loop.yaml")), expect: [
      "<dir>/loop.yaml: (file): is a symbolic link loop",
    ] },
    { name: "dangling symlink", setup: (d) => fs.symlinkSync(path.join(d, "gone.yaml"), path.join(d, "link.yaml")), expect: [
      "<dir>/link.yaml: (file): is a dangling symbolic link (to <dir>/gone.yaml, which does not exist)",
    ] },
    { name: "directory named .yaml", setup: (d) => fs.mkdirSync(path.join(d, "extra.yaml")), expect: [
      "<dir>/extra.yaml: (file): is a directory, not a YAML file (pillar directories are not read recursively); rename or move it",
    ] },
    { name: "pillar path is a file", setup: (d) => path.join(d, "hosts.yaml"), expect: [
      "<dir>: (pillar): is a file, not a directory: a pillar is the directory of YAML files (<base>?)",
    ] },
    { name: "pillar path does not exist", setup: (d) => path.join(d, "nope"), expect: [
      "<dir>: (pillar): the pillar directory does not exist",
    ] },
    { name: "a FIFO named .yaml", setup: (d) => { require("node:child_process").execFileSync("mkfifo", [path.join(d, "fifo.yaml")]); }, expect: [
      "<dir>/fifo.yaml: (file): is not a regular file (a FIFO, socket or device); pillar files are plain files",
    ] },
    { name: "lock that is not YAML", setup: (d) => write(d, "addresses.lock.yaml", "cache/0: [10.0.0.20\n"), expect: [
      "<dir>/addresses.lock.yaml:2:1: (yaml): Flow sequence in block collection must be sufficiently indented and end with a ]",
    ] },
    { name: "constructor and toString at top level", net: [["images:\n", "constructor: 1\ntoString: x\nimages:\n"]], expect: [
      "<dir>/net.yaml:6:1: constructor: unknown key; allowed: hosts, networking, bmc, authorized_keys, timezone, ntp, images, syslog, stacks",
      "<dir>/net.yaml:7:1: toString: unknown key; allowed: hosts, networking, bmc, authorized_keys, timezone, ntp, images, syslog, stacks",
    ] },
    { name: "__proto__ at top level", net: [["images:\n", "__proto__:\n  style: virtual\nimages:\n"]], expect: [
      "<dir>/net.yaml:6:1: __proto__: unknown key; allowed: hosts, networking, bmc, authorized_keys, timezone, ntp, images, syslog, stacks",
    ] },
    { name: "__proto__ and constructor under hosts", hosts: [["hosts:\n", "hosts:\n  __proto__:\n    style: physical\n  constructor:\n    style: virtual\n"]], expect: [
      "<dir>/hosts.yaml:2:3: hosts.__proto__: '__proto__' is reserved; choose another type name",
      "<dir>/hosts.yaml:4:3: hosts.constructor: 'constructor' is reserved; choose another type name",
    ] },
    { name: "__proto__ does not fill in a missing key", hosts: [["    style: virtual\n", ""]], files: undefined, setup: (d) => write(d, "proto.yaml", "timezone: UTC\n__proto__:\n  style: virtual\n"), expect: [
      "<dir>/proto.yaml:2:1: __proto__: unknown key; allowed: hosts, networking, bmc, authorized_keys, timezone, ntp, images, syslog, stacks",
      "<dir>/hosts.yaml:13:3: hosts.cache.style: is required (one of physical, virtual, foundation)",
    ] },
    { name: "count 1e9", hosts: [["    count: 1\n", "    count: 1e9\n"]], expect: [
      "<dir>/hosts.yaml:15:12: hosts.cache.count: must be an integer from 0 to 1024, got 1000000000",
    ] },
    { name: "count beyond any number", hosts: [["    count: 1\n", "    count: 1e400\n"]], expect: [
      "<dir>/hosts.yaml:15:12: hosts.cache.count: must be an integer from 0 to 1024, got number Infinity",
    ] },
    { name: "deep nesting", files: { "net.yaml": NET, "hosts.yaml": HOSTS, "deep.yaml": "bmc: " + "[".repeat(5000) + "]".repeat(5000) + "\n" }, expect: [
      "<dir>/deep.yaml:1:70: (yaml): is nested more than 64 levels deep ([ and {); a pillar nests at most 32",
    ] },
  ],
  "accepted but cannot work": [
    { name: "all-zero UUID", hosts: [["4c4c4544-0042-4810-8056-b4c04f395a31", "00000000-0000-0000-0000-000000000000"]], expect: [
      "<dir>/hosts.yaml:7:13: hosts.controller.uuids.0: 00000000-0000-0000-0000-000000000000 is a placeholder UUID that BMCs report when the vendor never set one; it names no particular server (read the real one with `npm run kinetic -- redfish discover`)",
    ] },
    { name: "all-F UUID", hosts: [["4c4c4544-0042-4810-8056-b4c04f395a31", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"]], expect: [
      "<dir>/hosts.yaml:7:13: hosts.controller.uuids.0: ffffffff-ffff-ffff-ffff-ffffffffffff is a placeholder UUID that BMCs report when the vendor never set one; it names no particular server (read the real one with `npm run kinetic -- redfish discover`)",
    ] },
    { name: "byte-swapped UUIDs", hosts: [["[4c4c4544-0042-4810-8056-b4c04f395a31]", "[4c4c4544-0042-4810-8056-b4c04f395a31, 44454c4c-4200-1048-8056-b4c04f395a31]"]], expect: [
      "<dir>/hosts.yaml:7:51: hosts.controller.uuids.1: UUID 44454c4c-4200-1048-8056-b4c04f395a31 is the byte-swapped form of 4c4c4544-0042-4810-8056-b4c04f395a31 listed at <dir>/hosts.yaml:7 (hosts.controller.uuids.0): discovery treats them as the same server",
    ] },
    { name: "identical subnets", net: [["203.0.113.0/24", "10.0.0.0/24"]], expect: [
      "<dir>/net.yaml:4:13: networking.subnets.public: is the same network as networking.subnets.management",
    ] },
    { name: "overlapping subnets", net: [["203.0.113.0/24", "10.0.0.128/25"]], expect: [
      "<dir>/net.yaml:4:13: networking.subnets.public: 10.0.0.128/25 overlaps networking.subnets.management (10.0.0.0/24): each network needs its own range",
    ] },
    { name: "gateway outside management", net: [["gateway: 10.0.0.1", "gateway: 10.9.0.1"]], expect: [
      "<dir>/net.yaml:5:12: networking.gateway: 10.9.0.1 is outside the management subnet 10.0.0.0/24: the gateway must be reachable on the management network",
    ] },
    { name: "gateway is the broadcast address", net: [["gateway: 10.0.0.1", "gateway: 10.0.0.255"]], expect: [
      "<dir>/net.yaml:5:12: networking.gateway: 10.0.0.255 is the broadcast address of 10.0.0.0/24, not a host address: the gateway must be reachable on the management network",
    ] },
    { name: "pinned network address", hosts: [["[10.0.0.2]", "[10.0.0.0]"]], expect: [
      "<dir>/hosts.yaml:4:17: hosts.pxe.addresses.0: 10.0.0.0 is the network address of 10.0.0.0/24, not a host address",
    ] },
    { name: "pinned broadcast address", hosts: [["[10.0.0.2]", "[10.0.0.255]"]], expect: [
      "<dir>/hosts.yaml:4:17: hosts.pxe.addresses.0: 10.0.0.255 is the broadcast address of 10.0.0.0/24, not a host address",
    ] },
    { name: "pinned gateway", hosts: [["[10.0.0.2]", "[10.0.0.1]"]], expect: [
      "<dir>/hosts.yaml:4:17: hosts.pxe.addresses.0: 10.0.0.1 is the gateway (networking.gateway)",
    ] },
    { name: "pinned outside the subnet", hosts: [["[10.0.0.2]", "[10.1.0.2]"]], expect: [
      "<dir>/hosts.yaml:4:17: hosts.pxe.addresses.0: 10.1.0.2 is outside the management subnet 10.0.0.0/24",
    ] },
    { name: "network without a subnet", hosts: [["        interfaces: [ens3]\n", "        interfaces: [ens3]\n      sbe:\n        interfaces: [ens4]\n"]], expect: [
      "<dir>/hosts.yaml:23:7: hosts.cache.networks.sbe: uses network 'sbe', which has no subnet: add networking.subnets.sbe",
    ] },
    { name: "more pinned addresses than count", hosts: [["    count: 1\n", "    count: 1\n    addresses: [10.0.0.30, 10.0.0.31]\n"]], expect: [
      "<dir>/hosts.yaml:16:28: hosts.cache.addresses.1: pins an address for endpoint 1, but the type has 1 endpoint: remove it or add the endpoint",
    ] },
    { name: "two virtual NICs on one PCI slot", hosts: [["        interfaces: [ens3]\n", "        interfaces: [ens3]\n      public:\n        interfaces: [ens3]\n"]], expect: [
      "<dir>/hosts.yaml:24:22: hosts.cache.networks.public.interfaces.0: ens3 is also the NIC of network management: each network needs its own PCI slot",
    ] },
    { name: "virtual NIC on a reserved slot", hosts: [["[ens3]", "[ens2]"]], expect: [
      "<dir>/hosts.yaml:22:22: hosts.cache.networks.management.interfaces.0: virtual NICs are named ensN (N = PCI slot 3-27), got \"ens2\"",
    ] },
    { name: "virtual NIC beyond the NIC slots", hosts: [["[ens3]", "[ens28]"]], expect: [
      "<dir>/hosts.yaml:22:22: hosts.cache.networks.management.interfaces.0: virtual NICs are named ensN (N = PCI slot 3-27), got \"ens28\"",
    ] },
    { name: "ram below 64 MiB", hosts: [["ram: 1048576", "ram: 1024"]], expect: [
      "<dir>/hosts.yaml:16:10: hosts.cache.ram: must be memory in KiB from 65536 to 4294967296, got 1024",
    ] },
    { name: "ram beyond 4 TiB", hosts: [["ram: 1048576", "ram: 99999999999999"]], expect: [
      "<dir>/hosts.yaml:16:10: hosts.cache.ram: must be memory in KiB from 65536 to 4294967296, got 99999999999999",
    ] },
    { name: "cpu 0", hosts: [["cpu: 1", "cpu: 0"]], expect: [
      "<dir>/hosts.yaml:17:10: hosts.cache.cpu: must be a number of vCPUs from 1 to 255, got 0",
    ] },
    { name: "cpu 1000", hosts: [["cpu: 1", "cpu: 1000"]], expect: [
      "<dir>/hosts.yaml:17:10: hosts.cache.cpu: must be a number of vCPUs from 1 to 255, got 1000",
    ] },
    { name: "disk of 8 bytes", hosts: [["disk: 8G", "disk: 8"]], expect: [
      "<dir>/hosts.yaml:18:11: hosts.cache.disk: must be a size such as 32G, got number 8",
    ] },
    { name: "disk of 8 KiB", hosts: [["disk: 8G", "disk: 8K"]], expect: [
      "<dir>/hosts.yaml:18:11: hosts.cache.disk: must be from 4G to 64T (the cloud image is resized to it), got 8K",
    ] },
    { name: "pxe disabled", hosts: [["    style: foundation\n", "    style: foundation\n    enabled: false\n"]], expect: [
      "<dir>/hosts.yaml:7:12: hosts.controller.style: is physical, but type 'pxe' is not enabled: physical servers boot from it",
    ] },
    { name: "physical type without os", hosts: [["    os: ubuntu2204\n", ""]], expect: [
      "<dir>/hosts.yaml:5:3: hosts.controller.os: is required (the operating system to install, one of ubuntu2004, ubuntu2204, ubuntu2404)",
    ] },
    { name: "physical os the pxe formula cannot install", hosts: [["os: ubuntu2204", "os: debian12"]], expect: [
      "<dir>/hosts.yaml:9:9: hosts.controller.os: the pxe formula installs Ubuntu with autoinstall only: one of ubuntu2004, ubuntu2204, ubuntu2404, got \"debian12\"",
    ] },
    { name: "100,000-character domain", net: [["  gateway: 10.0.0.1\n", `  gateway: 10.0.0.1\n  domain: ${"a".repeat(100000)}.org\n`]], expect: [
      "<dir>/net.yaml:6:11: networking.domain: is 100004 characters long; at most 4096",
    ] },
    { name: "300-character domain", net: [["  gateway: 10.0.0.1\n", `  gateway: 10.0.0.1\n  domain: ${"a.".repeat(150)}org\n`]], expect: [
      "<dir>/net.yaml:6:11: networking.domain: must be a DNS domain such as cloud.example.org (labels of at most 63, at most 253 characters), got \"a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.\"... (303 characters)",
    ] },
    { name: "Latin-1 text", files: undefined, setup: (d) => write(d, "tz.yaml", Buffer.from("timezone: Am\xe9rica/New_York\n", "latin1")), expect: [
      "<dir>/tz.yaml:1:13: (file): is not valid UTF-8 (byte 0xe9 at offset 12; Latin-1 or Windows-1252 text?); save it as UTF-8",
    ] },
    { name: "YAML 1.1 octal", hosts: [["cpu: 1", "cpu: 010"]], expect: [
      "<dir>/hosts.yaml:17:10: hosts.cache.cpu: 010 is octal (8) in YAML 1.1 (the original's pillar) but 10 here: write it without the leading zero, as 0o10 for octal, or quote it for a string",
    ] },
    { name: "YAML 1.1 yes", hosts: [["    style: foundation\n", "    style: foundation\n    enabled: yes\n"]], expect: [
      "<dir>/hosts.yaml:4:14: hosts.pxe.enabled: \"yes\" is the boolean true in YAML 1.1 (the original's pillar) but a string here: write true for a boolean, or quote it for a string",
    ] },
    { name: "YAML 1.1 base 60", hosts: [["cpu: 1", "cpu: 1:20"]], expect: [
      "<dir>/hosts.yaml:17:10: hosts.cache.cpu: 1:20 is a base-60 number in YAML 1.1 (the original's pillar) but a string here: quote it",
    ] },
    { name: "locked addresses that collide", setup: (d) => write(d, "addresses.lock.yaml", "cache/0: 10.0.0.20\ncontroller/4c4c4544-0042-4810-8056-b4c04f395a31: 10.0.0.20\n"), expect: [
      "<dir>/addresses.lock.yaml:2:1: controller/4c4c4544-0042-4810-8056-b4c04f395a31: 10.0.0.20 is also locked for cache/0; a locked address never moves: correct or delete this entry (then `npm run plan -- DIR --lock`)",
    ] },
    { name: "locked address outside the subnet", setup: (d) => write(d, "addresses.lock.yaml", "cache/0: 10.7.0.20\n"), expect: [
      "<dir>/addresses.lock.yaml:1:1: cache/0: 10.7.0.20 is not a host address of the management subnet 10.0.0.0/24; a locked address never moves: correct or delete this entry (then `npm run plan -- DIR --lock`)",
    ] },
    { name: "locked address now pinned by another", setup: (d) => write(d, "addresses.lock.yaml", "cache/0: 10.0.0.2\n"), expect: [
      "<dir>/addresses.lock.yaml:1:1: cache/0: 10.0.0.2 is now pinned at <dir>/hosts.yaml:4 (hosts.pxe.addresses.0); a locked address never moves: correct or delete this entry (then `npm run plan -- DIR --lock`)",
    ] },
    { name: "empty hosts", files: { "net.yaml": NET, "hosts.yaml": "hosts: {}\n" }, expect: [
      "<dir>/hosts.yaml:1:1: hosts: declares no endpoint (no types): on an existing stack `pulumi up` would destroy every machine. If that is what you want, set `kinetic:allowEmpty: true` in the stack config (the plan: --allow-empty)",
    ] },
    { name: "every type disabled", files: { "net.yaml": NET, "hosts.yaml": "hosts:\n  pxe:\n    style: foundation\n    enabled: false\n    addresses: [10.0.0.2]\n" }, expect: [
      "<dir>/hosts.yaml:1:1: hosts: declares no endpoint (every type is disabled or has none): on an existing stack `pulumi up` would destroy every machine. If that is what you want, set `kinetic:allowEmpty: true` in the stack config (the plan: --allow-empty)",
    ] },
  ],
  "unclear reports": [
    { name: "missing hosts, empty file named", files: { "net.yaml": NET, "hosts.yaml": "" }, expect: [
      "<dir>: hosts: is required (a mapping of endpoint types) and no file of the pillar defines it: add it to one of hosts.yaml, net.yaml (hosts.yaml is empty)",
    ] },
    { name: "missing style", hosts: [["    style: virtual\n", ""]], expect: [
      "<dir>/hosts.yaml:13:3: hosts.cache.style: is required (one of physical, virtual, foundation)",
    ] },
    { name: "two independent cycles", hosts: [["hosts:\n", "hosts:\n" + VM("aa", "    needs:\n      install:\n        bb: install\n") + VM("bb", "    needs:\n      install:\n        aa: install\n") + VM("cc", "    needs:\n      configure:\n        dd: configure\n") + VM("dd", "    needs:\n      configure:\n        cc: configure\n")]], expect: [
      "<dir>/hosts.yaml:14:9: hosts.aa.needs.install.bb: closes a dependency cycle: aa.install -> bb.install -> aa.install",
      "<dir>/hosts.yaml:40:9: hosts.cc.needs.configure.dd: closes a dependency cycle: cc.configure -> dd.configure -> cc.configure",
    ] },
    { name: "UTF-16 file", setup: (d) => write(d, "tz.yaml", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("timezone: UTC\n", "utf16le")])), expect: [
      "<dir>/tz.yaml:1:1: (file): is UTF-16LE encoded (byte order mark); save it as UTF-8",
    ] },
    { name: "binary file", setup: (d) => write(d, "blob.yaml", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00])), expect: [
      "<dir>/blob.yaml:1:8: (file): is a binary file, not YAML text (NUL byte at offset 7)",
    ] },
    { name: "subnet too small, reported once", net: [["10.0.0.0/24", "10.0.0.0/29"]], hosts: [["    count: 1\n", "    count: 40\n"], ["[10.0.0.2]", "[10.0.0.2]"]], expect: [
      "<dir>/net.yaml:3:17: networking.subnets.management: 10.0.0.0/29 has room for 4 allocated addresses (6 host addresses, the first 1 kept for routers and VIPs, 1 gateway/nameserver/pinned), but 41 endpoints need one: use a larger subnet",
    ] },
  ],
  migration: [
    { name: "servers: N", hosts: [["    uuids: [4c4c4544-0042-4810-8056-b4c04f395a31]\n", "    servers: 3\n"]], expect: [
      "<dir>/hosts.yaml:7:5: hosts.controller.servers: is the original's number of servers; here each physical server is listed by its SMBIOS UUID under `uuids` (find them with `npm run kinetic -- redfish discover <oob cidr>`)",
      "<dir>/hosts.yaml:5:3: hosts.controller.uuids: is required (a list of SMBIOS UUIDs (8-4-4-4-12 hex))",
      "<dir>/hosts.yaml:14:12: hosts.cache.style: is virtual, but no enabled physical or foundation type with role 'controller' has an endpoint to host it: add one (the machines running libvirt)",
    ] },
    { name: "missing interface", hosts: [["    interface: eno1\n", ""]], expect: [
      "<dir>/hosts.yaml:5:3: hosts.controller.interface: is required (the NIC the server PXE-boots from, such as ens1f0 (at most 15 characters))",
    ] },
    { name: "no pxe host", hosts: [["  pxe:\n    style: foundation\n    addresses: [10.0.0.2]\n", ""]], expect: [
      "<dir>/hosts.yaml:3:12: hosts.controller.style: is physical, but no enabled 'pxe' type exists to boot it from: add `hosts.pxe` (style foundation, with the PXE server's address under `addresses`)",
    ] },
    { name: "no image for os", net: [["  deb:\n", "  debian:\n"]], expect: [
      "<dir>/hosts.yaml:19:9: hosts.cache.os: names image 'deb', which is not under `images` (known: debian): add `images.deb: {url: <cloud image URL>, type: qcow2}`",
    ] },
  ],
};
