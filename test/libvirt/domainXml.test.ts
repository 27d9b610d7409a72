import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isLibvirtSpecError } from "../../providers/libvirt/errors";
import { NIC_SLOTS, renderDomainXml, xmlEscape } from "../../providers/libvirt/domainXml";
import { VirtualMachineSpec } from "../../providers/libvirt/spec";
import { hostileSpec, keystoneSpec } from "./fixtures";
import { ok, run, scratch } from "./tools";

const GOLDEN = join(__dirname, "golden", "keystone.xml");

/** libvirt's own checks: the RELAX NG schema, then a real (test driver) libvirt parsing and defining it. */
function assertLibvirtAccepts(xml: string, name: string): void {
  const file = join(scratch("xml"), `${name}.xml`);
  writeFileSync(file, xml);
  ok("virt-xml-validate", [file, "domain"]);
  // The test driver keeps state per connection: define and read back within one virsh run.
  const r = ok("virsh", ["-q", "-c", "test:///default", `define ${file}; dumpxml ${name}`]);
  assert.match(r.stdout, new RegExp(`<name>${name}</name>`));
}

function withNics(nics: Record<string, string>): VirtualMachineSpec {
  const vm = keystoneSpec();
  vm.networks = Object.entries(nics).map(([name, iface], i) => ({ name, interface: iface, bridge: `${name}_br`, mac: `0a:00:00:00:00:0${i}` }));
  vm.management = { ...vm.management, interface: Object.values(nics)[0] };
  return vm;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isLibvirtSpecError(e), `expected a LibvirtSpecError, got ${String(e)}`);
    return e.problems.map((p) => `${p.propertyPath}: ${p.reason}`);
  }
  assert.fail("expected an error");
}

describe("libvirt domain XML", () => {
  it("matches the golden file (review changes to it like a change on every controller)", () => {
    assert.equal(renderDomainXml(keystoneSpec()), readFileSync(GOLDEN, "utf8"));
  });

  it("has the pillar's memory, vCPUs, disk, seed, console log, rng and one bridge NIC per network", () => {
    const vm = keystoneSpec();
    const xml = renderDomainXml(vm);
    assert.match(xml, /<memory unit='KiB'>8388608<\/memory>/);
    assert.match(xml, /<vcpu placement='static'>4<\/vcpu>/);
    assert.match(xml, /<cpu mode='host-model'\/>/);
    assert.match(xml, new RegExp(`<source file='/kvm/vms/${vm.name}/disk0.raw'/>`));
    assert.match(xml, new RegExp(`<source file='/kvm/vms/${vm.name}/config.iso'/>\\s*<target dev='sda' bus='sata'/>\\s*<readonly/>`));
    assert.match(xml, new RegExp(`<log file='/var/log/libvirt/${vm.name}.log' append='off'/>`));
    assert.match(xml, /<backend model='random'>\/dev\/urandom<\/backend>/);
    for (const [i, net] of ["management", "public", "private", "sfe"].entries()) {
      const nic = vm.networks.find((n) => n.name === net);
      assert.ok(nic);
      const slot = `0x0${3 + i}`;
      assert.match(xml, new RegExp(`<mac address='${nic.mac}'/>\\s*<source bridge='${net}_br'/>\\s*<model type='virtio'/>\\s*<address type='pci' domain='0x0000' bus='0x00' slot='${slot}' function='0x0'/>`));
    }
  });

  it("passes virt-xml-validate and is defined by a real libvirt", () => {
    assertLibvirtAccepts(renderDomainXml(keystoneSpec()), keystoneSpec().name);
  });

  it("escapes hostile pillar strings (os and stack names) and libvirt reads them back verbatim", () => {
    const vm = hostileSpec();
    const xml = renderDomainXml(vm);
    assert.ok(!xml.includes("<evil"), "markup from the pillar reached the XML");
    assert.match(xml, /stack st&apos;a&lt;c&gt;k: os jammy&lt;evil a=&apos;1&apos;&gt;&amp;amp;&quot;]]&gt;, disk 16G/);
    assertLibvirtAccepts(xml, vm.name);
    const file = join(scratch("xml"), "hostile.xml");
    writeFileSync(file, xml);
    const r = ok("virsh", ["-q", "-c", "test:///default", `define ${file}; desc ${vm.name}`]);
    assert.ok(r.stdout.includes(`stack st'a<c>k: os jammy<evil a='1'>&amp;"]]>, disk 16G`), r.stdout);
  });

  it("rejects a network name that cannot be a bridge name, instead of passing it to libvirt", () => {
    const problems = problemsOf(() => renderDomainXml(hostileSpec({ management: "ens3", "x&'<\"": "ens9" })));
    assert.deepEqual(problems, [`networks.x&'<".bridge: "x&'<\\"_br" is not a bridge name libvirt and Linux accept (1-15 of [A-Za-z0-9_.-])`]);
    const long = problemsOf(() => renderDomainXml(hostileSpec({ management: "ens3", storagebackend: "ens9" })));
    assert.match(long[0], /^networks.storagebackend.bridge: "storagebackend_br"/);
  });

  it("renders scratch paths when told to (the script tests run with them)", () => {
    const vm = keystoneSpec();
    const xml = renderDomainXml(vm, { kvmRoot: "/tmp/k/", logDir: "/tmp/log" });
    assert.match(xml, new RegExp(`'/tmp/k/vms/${vm.name}/disk0.raw'`));
    assert.match(xml, new RegExp(`'/tmp/log/${vm.name}.log'`));
  });

  it("rejects interface names that are not ensN", () => {
    for (const bad of ["eth0", "ens", "ens03", "enp0s3", "ens3a", "ENS3", "ens100"]) {
      const problems = problemsOf(() => renderDomainXml(withNics({ management: "ens3", public: bad })));
      assert.ok(problems.some((p) => p.startsWith("networks.public.interface") && p.includes("ensN")), `${bad}: ${problems.join("; ")}`);
    }
  });

  it("rejects NIC slots used by other devices or outside the NIC range, naming the device", () => {
    for (const [iface, owner] of [["ens1", "southBridge"], ["ens2", "video"], ["ens28", "sata"], ["ens30", "disk"], ["ens31", "balloon"]]) {
      const problems = problemsOf(() => renderDomainXml(withNics({ management: "ens3", public: iface })));
      assert.ok(problems.some((p) => p.includes(`the ${owner} device`)), `${iface}: ${problems.join("; ")}`);
    }
    const problems = problemsOf(() => renderDomainXml(withNics({ management: "ens3", public: "ens32" })));
    assert.ok(problems.some((p) => p.includes(`${NIC_SLOTS.min}-${NIC_SLOTS.max}`)), problems.join("; "));
  });

  it("rejects two networks on the same slot, naming both", () => {
    const problems = problemsOf(() => renderDomainXml(withNics({ management: "ens3", public: "ens4", sfe: "ens4" })));
    assert.deepEqual(problems, ["networks.sfe.interface: ens4 needs PCI slot 0x04, which ens4 of network public already uses"]);
  });

  it("accepts every NIC slot it allows (libvirt agrees there is no clash)", () => {
    const nics: Record<string, string> = {};
    for (let s = NIC_SLOTS.min; s <= NIC_SLOTS.max; s++) nics[`n${s}`] = `ens${s}`;
    const vm = withNics(nics);
    vm.networks.forEach((n, i) => (n.mac = `0a:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`));
    assertLibvirtAccepts(renderDomainXml(vm), vm.name);
  });

  it("collects every problem of a bad spec in one error", () => {
    const vm = { ...keystoneSpec(), name: "Bad_Name", ramKiB: 0, disk: "lots", uuid: "nope" };
    const problems = problemsOf(() => renderDomainXml(vm));
    assert.deepEqual(problems.map((p) => p.split(":")[0]), ["name", "uuid", "ramKiB", "disk"]);
  });

  it("refuses characters XML cannot carry", () => {
    assert.throws(() => xmlEscape("a\u0001b"), /XML cannot carry/);
    assert.equal(xmlEscape(`<&'">`), "&lt;&amp;&apos;&quot;&gt;");
  });

  it("the test driver really checks: an unescaped document is refused", () => {
    const file = join(scratch("xml"), "broken.xml");
    writeFileSync(file, renderDomainXml(keystoneSpec()).replace("</description>", "&</description>"));
    assert.notEqual(run("virt-xml-validate", [file, "domain"]).status, 0);
    assert.notEqual(run("virsh", ["-q", "-c", "test:///default", "define", file]).status, 0);
  });
});
