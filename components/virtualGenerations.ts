/**
 * One recorded generation per virtual machine of a cloud (providers/machineGeneration.ts), shared by
 * the host key it derives (hostKeyPins.ts) and the domain whose triggers carry it (provisioners.ts):
 * both must see the same resource, declared once per program run.
 */
import type { Cloud } from "../pillar";
import type { VirtualMachineSpec } from "../providers/libvirt/spec";
import type { MachineGeneration } from "../providers/machineGeneration";
import { machineGeneration } from "./virtualMachine";

const cache = new WeakMap<Cloud, Map<string, MachineGeneration>>();

export function virtualGeneration(cloud: Cloud, spec: VirtualMachineSpec): MachineGeneration {
  let byName = cache.get(cloud);
  if (!byName) cache.set(cloud, (byName = new Map()));
  let generation = byName.get(spec.name);
  if (!generation) byName.set(spec.name, (generation = machineGeneration(spec)));
  return generation;
}
