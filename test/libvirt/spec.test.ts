import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCloud } from "../../pillar";
import { renderSeed } from "../../providers/libvirt/cloudInit";
import { renderDomainXml } from "../../providers/libvirt/domainXml";
import { isLibvirtSpecError } from "../../providers/libvirt/errors";
import { assertUniqueMacs, deriveMac } from "../../providers/libvirt/mac";
import { virtualMachineSpec, VirtualMachineSpec } from "../../providers/libvirt/spec";
import { endpoint, hostType, pillar, SSH_KEY } from "./fixtures";
import { ok, run, scratch } from "./tools";

const ROOT = join(__dirname, "..", "..");

function specsOf(dir: string, stack = "dev"): VirtualMachineSpec[] {
  const cloud = loadCloud(join(ROOT, "pillar", dir), { stack });
  return cloud.endpoints.filter((e) => e.style === "virtual").map((e) => virtualMachineSpec(e, cloud.pillar.hosts[e.type], cloud.pillar, stack, [SSH_KEY]));
}

describe("virtualMachineSpec", () => {
  it("takes ram, cpu, disk, os and one NIC per network from the type, the address from the endpoint", () => {
    const t = hostType("glance", { management: "ens3", sfe: "ens4" });
    const p = pillar([t]);
    const e = endpoint("glance", 1, "11111111-2222-5333-8444-555555555555", "10.100.0.41");
    const vm = virtualMachineSpec(e, t, p, "prod", [SSH_KEY]);
    assert.deepEqual(vm, {
      name: e.name,
      uuid: e.uuid,
      stack: "prod",
      ramKiB: 8388608,
      vcpus: 4,
      disk: "32G",
      os: "ubuntu2204",
      networks: [
        { name: "management", interface: "ens3", bridge: "management_br", mac: deriveMac("prod", e.name, "management") },
        { name: "sfe", interface: "ens4", bridge: "sfe_br", mac: deriveMac("prod", e.name, "sfe") },
      ],
      management: { interface: "ens3", address: "10.100.0.41", prefixLength: 22, gateway: "10.100.0.1", nameservers: ["10.100.0.10", "10.100.0.11"] },
      sshAuthorizedKeys: [SSH_KEY],
      image: p.images.ubuntu2204,
      controller: e.controller,
    });
  });

  it("lists every problem of a type that cannot be a virtual machine", () => {
    const t = hostType("bad", { public: "ens4" }, { ram: undefined, os: undefined });
    t.networks.sbe = { interfaces: ["ens5", "ens6"], bridge: false, managed: true, addresses: [] };
    try {
      virtualMachineSpec({ ...endpoint("bad", 0, "11111111-2222-5333-8444-555555555555", "10.100.0.9"), style: "physical" }, t, pillar([t]), "dev", []);
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(isLibvirtSpecError(e), String(e));
      assert.deepEqual(e.problems.map((p) => p.propertyPath), [
        "style",
        "hosts.bad.ram",
        "hosts.bad.os",
        "hosts.bad.networks.sbe.interfaces",
        "hosts.bad.networks.management",
        "sshAuthorizedKeys",
      ]);
    }
  });

  describe("every virtual endpoint of the sample pillar", function () {
    this.timeout(120_000);
    let specs: VirtualMachineSpec[];
    before(() => (specs = specsOf("sample")));

    it("renders domain XML that virt-xml-validate and libvirt accept, with unique MACs", () => {
      assert.ok(specs.length > 0);
      assertUniqueMacs(specs.flatMap((vm) => vm.networks.map((n) => ({ endpoint: vm.name, network: n.name, mac: n.mac }))));
      const dir = scratch("sample-xml");
      const files = specs.map((vm) => {
        const file = join(dir, `${vm.name}.xml`);
        writeFileSync(file, renderDomainXml(vm));
        return file;
      });
      for (const file of files) ok("virt-xml-validate", [file, "domain"]);
      // One virsh run, one test-driver connection: every machine defined side by side.
      const r = ok("virsh", ["-q", "-c", "test:///default", [...files.map((f) => `define ${f}`), "list --all --name"].join("; ")]);
      for (const vm of specs) assert.ok(r.stdout.split("\n").includes(vm.name), `${vm.name} defined`);
    });

    it("renders seeds cloud-init accepts (first three types: the shape is the same for all)", () => {
      const dir = scratch("sample-seed");
      const byType = new Map(specs.map((vm) => [vm.name.replace(/-[0-9a-f-]{36}$/, ""), vm]));
      for (const [type, vm] of [...byType].slice(0, 3)) {
        const file = join(dir, `${type}.user-data`);
        writeFileSync(file, renderSeed(vm)["user-data"]);
        const r = run("cloud-init", ["schema", "-c", file]);
        assert.equal(r.status, 0, `${type}: ${r.stdout}${r.stderr}`);
      }
    });

    it("is the same on every run (names, MACs, addresses)", () => {
      assert.deepEqual(specsOf("sample"), specs);
    });
  });
});
