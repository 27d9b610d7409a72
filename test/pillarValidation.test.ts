import * as assert from "node:assert/strict";
import * as path from "node:path";
import { loadCloud } from "../pillar";
import { NETWORKING, pillarDir, pillarProblems, virtualYaml } from "./support/pillars";

const problemsOf = (files: Record<string, string>) => pillarProblems(files);
const VIRTUAL = (name: string, extra = "") => virtualYaml(name, extra);
const CONTROLLER = `  controller:
    style: foundation
    role: controller
    addresses: [10.0.0.5]
`;
const IMAGES = `images:
  deb:
    url: http://deb.example/x.img
    type: raw
`;

describe("pillar validation", () => {
  it("accepts the sample and dev pillars", () => {
    for (const dir of ["sample", "dev"]) loadCloud(path.join(__dirname, "..", "pillar", dir), { stack: "dev" });
  });

  it("names file, line and key path of a typo, and suggests the key meant", () => {
    const { dir, lines } = problemsOf({ "net.yaml": NETWORKING + IMAGES, "hosts.yaml": `hosts:\n${CONTROLLER}${VIRTUAL("cache", "    enabeld: true\n")}` });
    assert.deepEqual(lines, [`${path.join(dir, "hosts.yaml")}:16:5: hosts.cache.enabeld: unknown key (did you mean 'enabled'?); allowed: style, enabled, role, uuids, interface, disk, count, ram, cpu, os, addresses, networks, needs, boot_mode, kvm_disk_config, host_keys, osd_disks, stack`]);
  });

  it("reports every problem of a run together: types, UUIDs, CIDRs, needs, duplicates, hosting", () => {
    const { dir, lines } = problemsOf({
      "a-net.yaml": `networking:\n  subnets:\n    management: 10.0.0.1/24\n    public: nonsense\n` + IMAGES,
      "b-hosts.yaml": `hosts:
  storage:
    style: physical
    uuids: [NOT-A-UUID, 4C4C4544-0042-4810-8056-B4C04F395A31]
    interface: eno1
    os: ubuntu2204
    networks:
      management:
        interfaces: [eno1]
  compute:
    style: physical
    uuids: [4c4c4544-0042-4810-8056-b4c04f395a31]
    interface: eno1
    os: ubuntu2204
    networks:
      management:
        interfaces: [eno1]
  cache:
    style: virtual
    count: two
    ram: 1048576
    cpu: 1
    disk: 8G
    os: deb
    networks:
      management:
        interfaces: [ens3]
    needs:
      install:
        nosuch: configure
        glance: configure
  glance:
    style: virtual
    enabled: false
    count: 1
    ram: 1048576
    cpu: 1
    disk: 8G
    os: deb
    networks:
      management:
        interfaces: [ens3]
  memcached:
    style: virtual
    count: 1
    ram: 1048576
    cpu: 1
    disk: 8G
    os: deb
    networks:
      management:
        interfaces: [ens3]
`,
    });
    const f = (n: string) => path.join(dir, n);
    const expected = [
      `${f("a-net.yaml")}:3:17: networking.subnets.management: must be an IPv4 network in CIDR form with zero host bits, got "10.0.0.1/24"`,
      `${f("a-net.yaml")}:4:13: networking.subnets.public: must be an IPv4 network in CIDR form with zero host bits, got "nonsense"`,
      `${f("b-hosts.yaml")}:4:13: hosts.storage.uuids.0: must be SMBIOS UUIDs (8-4-4-4-12 hex), got "NOT-A-UUID"`,
      `${f("b-hosts.yaml")}:20:12: hosts.cache.count: must be an integer from 0 to 1024, got string "two"`,
      `${f("b-hosts.yaml")}:30:9: hosts.cache.needs.install.nosuch: names type 'nosuch', which the pillar does not define (types: cache, compute, glance, memcached, storage)`,
      `${f("b-hosts.yaml")}:31:9: hosts.cache.needs.install.glance: names type 'glance', which is not enabled: enable it or remove this need`,
      `${f("b-hosts.yaml")}:44:12: hosts.memcached.style: is virtual, but no enabled physical or foundation type with role 'controller' has an endpoint to host it: add one (the machines running libvirt)`,
      `${f("b-hosts.yaml")}:3:12: hosts.storage.style: is physical, but no enabled 'pxe' type exists to boot it from: add \`hosts.pxe\` (style foundation, with the PXE server's address under \`addresses\`)`,
      `${f("b-hosts.yaml")}:3:12: hosts.storage.style: is physical, but the pillar sets no \`bmc.api_user\`: add \`bmc: {api_user: <account>}\` (its password is the stack secret kinetic:bmcPassword)`,
      `${f("b-hosts.yaml")}:11:12: hosts.compute.style: is physical, but no enabled 'pxe' type exists to boot it from: add \`hosts.pxe\` (style foundation, with the PXE server's address under \`addresses\`)`,
      `${f("b-hosts.yaml")}:12:13: hosts.compute.uuids.0: UUID 4c4c4544-0042-4810-8056-b4c04f395a31 is also listed at ${f("b-hosts.yaml")}:4 (hosts.storage.uuids.1)`,
    ];
    assert.deepEqual([...lines].sort(), [...expected].sort());
  });

  it("refuses line breaks and tabs where a value travels in a line-based format", () => {
    const { dir, lines } = problemsOf({
      "p.yaml": NETWORKING + `images:\n  deb:\n    url: http://x/y.img\n    type: "raw\\tqcow2"\nntp:\n  ntp_server: "a.example\\nServer=evil"\nhosts:\n  pxe:\n    style: foundation\n    addresses: [10.0.0.2]\n  storage:\n    style: physical\n    uuids: [4c4c4544-0042-4810-8056-b4c04f395a31]\n    interface: eno1\n    os: ubuntu2204\n    disk: "SSD\\nsecond"\n    networks:\n      management:\n        interfaces: [eno1]\n`,
    });
    const f = path.join(dir, "p.yaml");
    assert.deepEqual([...lines].sort(), [
      `${f}:7:11: images.deb.type: must be an image format such as qcow2 or raw, got "raw\\tqcow2"`,
      `${f}:9:15: ntp.ntp_server: must be host names or addresses, got "a.example\\nServer=evil"`,
      `${f}:15:12: hosts.storage.style: is physical, but the pillar sets no \`bmc.api_user\`: add \`bmc: {api_user: <account>}\` (its password is the stack secret kinetic:bmcPassword)`,
      `${f}:19:11: hosts.storage.disk: must be a disk model on one line (no tabs or line breaks, at most 256 characters), got "SSD\\nsecond"`,
    ].sort());
  });

  it("osd_disks: /dev paths for a physical type's OSDs, each once; refused elsewhere and for anything else", () => {
    const storage = (disks: string) => `  pxe:\n    style: foundation\n    addresses: [10.0.0.2]\n  storage:\n    style: physical\n    uuids: [4c4c4544-0042-4810-8056-b4c04f395a31]\n    interface: eno1\n    os: ubuntu2204\n    osd_disks: ${disks}\n    networks:\n      management:\n        interfaces: [eno1]\n`;
    const good = pillarDir({ "p.yaml": NETWORKING + "bmc:\n  api_user: kinetic\n" + `hosts:\n${storage("[/dev/sdb, /dev/disk/by-id/wwn-0x5000c500a1b2c3d4]")}` });
    const cloud = loadCloud(good, { stack: "test" });
    assert.deepEqual(cloud.pillar.hosts.storage.osdDisks, ["/dev/sdb", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"]);
    const { dir, lines } = problemsOf({
      "p.yaml": NETWORKING + "bmc:\n  api_user: kinetic\n" + `hosts:\n${storage('[/dev/sdb, sdc, "/dev/sdd $(touch /tmp/pwned)", /dev/../etc/passwd, /dev/sdb]')}${VIRTUAL("cache", "    osd_disks: [/dev/vdb]\n")}`,
    });
    const f = path.join(dir, "p.yaml");
    const what = "the /dev paths of the disks that become Ceph OSDs, such as /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4";
    assert.deepEqual([...lines].sort(), [
      `${f}:29:5: hosts.cache.osd_disks: applies to physical types only, this type is virtual`,
      `${f}:20:12: hosts.cache.style: is virtual, but no enabled physical or foundation type with role 'controller' has an endpoint to host it: add one (the machines running libvirt)`,
      `${f}:25:9: hosts.cache.os: names image 'deb', which is not under \`images\` (known: none): add \`images.deb: {url: <cloud image URL>, type: qcow2}\``,
      `${f}:15:27: hosts.storage.osd_disks.1: must be ${what}, got "sdc"`,
      `${f}:15:32: hosts.storage.osd_disks.2: must be ${what}, got "/dev/sdd $(touch /tmp/pwned)"`,
      `${f}:15:64: hosts.storage.osd_disks.3: must be ${what}, got "/dev/../etc/passwd"`,
      `${f}:15:84: hosts.storage.osd_disks.4: /dev/sdb is listed twice: one OSD per disk`,
    ].sort());
  });

  it("prints a dependency cycle", () => {
    const { dir, lines } = problemsOf({
      "p.yaml": NETWORKING + IMAGES + `hosts:\n${CONTROLLER}${VIRTUAL("mysql", "    needs:\n      configure:\n        keystone: install\n")}${VIRTUAL("keystone", "    needs:\n      install:\n        mysql: configure\n")}`,
    });
    assert.deepEqual(lines, [`${path.join(dir, "p.yaml")}:38:9: hosts.keystone.needs.install.mysql: closes a dependency cycle: keystone.install -> mysql.configure -> keystone.install`]);
  });

  it("rejects a type defined in two files, naming both", () => {
    const { dir, lines } = problemsOf({ "a.yaml": NETWORKING + IMAGES + `hosts:\n${CONTROLLER}`, "b.yaml": `hosts:\n${CONTROLLER}` });
    assert.deepEqual(lines, [`${path.join(dir, "b.yaml")}:2:3: hosts.controller: also defined in ${path.join(dir, "a.yaml")}`]);
  });

  it("reports YAML syntax errors with their position", () => {
    const { dir, lines } = problemsOf({ "a.yaml": "hosts:\n  x: [unclosed\n" });
    assert.equal(lines.length >= 1, true);
    assert.match(lines[0], new RegExp(`^${path.join(dir, "a.yaml").replace(/[.]/g, "\\.")}:\\d+:\\d+: \\(yaml\\): `));
  });

  it("drops a default need on an absent type with a note, but not silently", () => {
    const dir = pillarDir({ "p.yaml": NETWORKING + IMAGES + `hosts:\n${CONTROLLER}${VIRTUAL("keystone")}` });
    const cloud = loadCloud(dir, { stack: "t" });
    assert.deepEqual(cloud.pillar.hosts.keystone.needs, { configure: { controller: "configure" } });
    assert.ok(cloud.pillar.notes.includes("default need keystone.install -> cache.configure dropped: type 'cache' is not in the pillar"));
  });
});
