/** The machine specs of every virtual endpoint of a cloud, checked together (MACs unique stack-wide). */
import { Cloud } from "../pillar";
import { assertUniqueMacs } from "../providers/libvirt/mac";
import { virtualMachineSpec, VirtualMachineSpec } from "../providers/libvirt/spec";

export function virtualSpecs(cloud: Cloud, stack: string, sshPublicKeys: string[]): Map<string, VirtualMachineSpec> {
  const specs = new Map<string, VirtualMachineSpec>();
  for (const e of cloud.endpoints) {
    if (e.style === "virtual") specs.set(e.name, virtualMachineSpec(e, cloud.pillar.hosts[e.type], cloud.pillar, stack, sshPublicKeys));
  }
  assertUniqueMacs([...specs.values()].flatMap((vm) => vm.networks.map((n) => ({ endpoint: vm.name, network: n.name, mac: n.mac }))));
  return specs;
}
