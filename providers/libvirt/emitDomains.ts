/**
 * `npm run plan -- --emit-domains DIR`: write what every virtual endpoint would get on its controller,
 * so a reviewer can diff exactly what a pull request changes there.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderSeed } from "./cloudInit";
import { renderDomainXml } from "./domainXml";
import { assertUniqueMacs } from "./mac";
import { VirtualMachineSpec } from "./spec";

/**
 * Writes `<dir>/<name>/{domain.xml,user-data,meta-data,network-config}` for every spec (rendered with
 * the production paths `/kvm` and `/var/log/libvirt`) and returns the paths written, in spec order.
 * Checks MAC uniqueness across all specs first, so nothing is written for a stack that cannot be built.
 */
export function emitDomains(specs: VirtualMachineSpec[], dir: string): string[] {
  assertUniqueMacs(specs.flatMap((vm) => vm.networks.map((n) => ({ endpoint: vm.name, network: n.name, mac: n.mac }))));
  // Render everything before writing anything: a bad spec leaves no half-written tree behind.
  const rendered = specs.map((vm) => ({ vm, files: { "domain.xml": renderDomainXml(vm), ...renderSeed(vm) } }));
  const written: string[] = [];
  for (const { vm, files } of rendered) {
    const target = join(dir, vm.name);
    mkdirSync(target, { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      const path = join(target, file);
      writeFileSync(path, text);
      written.push(path);
    }
  }
  return written;
}
