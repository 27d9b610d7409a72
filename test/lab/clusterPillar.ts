/**
 * pillar/lab's copy made a cluster of its own for a rolling-rebuild lab (rabbitmq, etcd, cephmon):
 * pxe and the controller kept, the identity chain (mysql onwards) replaced by the given types.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A virtual type of `count` members as pillar/lab writes its VMs (1 GiB, 1 CPU, 4G disk). */
export function virtualType(type: string, count: number): string[] {
  return [`  ${type}:`, "    style: virtual", `    count: ${count}`, "    ram: 1048576", "    cpu: 1", "    disk: 4G", "    os: ubuntu2204", "    networks:", "      management:", "        interfaces: [ens3]"];
}

/** pillar/lab's hosts.yaml in `pillarDir` keeps everything before its mysql type, then `types` (YAML lines). */
export function replaceIdentityChain(pillarDir: string, types: string[]): void {
  const hosts = path.join(pillarDir, "hosts.yaml");
  const text = fs.readFileSync(hosts, "utf8");
  const at = text.indexOf("\n  mysql:\n");
  if (at < 0) throw new Error(`${hosts} is not pillar/lab's shape (no mysql type after the controller)`);
  fs.writeFileSync(hosts, `${text.slice(0, at + 1)}${[...types, ""].join("\n")}`);
}
