/**
 * `kinetic rebuild <type or endpoint>... [--stack NAME] --yes`: the original's reason to exist,
 * recovering from a compromise by rebuilding. The named machines are replaced (a VM is zeroized and
 * created again from its seed, a physical server set to PXE once and power-cycled into a fresh
 * install), then their phases run again, and so does every phase that needs one of theirs, directly
 * or not (a rebuilt mysql means keystone's configure runs again). Nothing else is touched: it is one
 * `pulumi up --replace` of exactly those resources.
 */
import * as path from "node:path";
import { PROJECT_ROOT } from "../engine/paths";
import { nameOfUrn, urnsNamed } from "../engine/stack";
import { loadCloud } from "../pillar";
import { Cloud } from "../pillar/load";
import { upFinishingReplacements } from "../engine/pendingReplacements";
import { keepRunningOnFirstInterrupt, pendingOf, projectStack } from "./engineCommands";

export const REBUILD_USAGE = `kinetic rebuild <type|endpoint>... [--stack NAME] --yes
                               replace those machines (VMs re-created, physical servers re-installed
                               over PXE) and re-run their phases and every phase that needs them`;

/**
 * Names of the resources a rebuild replaces: the machines of the targets and every formula phase of
 * the targets or downstream of them in the needs graph (a downstream machine too: the VMs of a
 * rebuilt controller are gone with its disk).
 */
export function rebuildResourceNames(cloud: Cloud, targets: string[]): { endpoints: string[]; names: Set<string> } {
  const chosen = cloud.endpoints.filter((e) => targets.includes(e.name) || targets.includes(e.type));
  const unknown = targets.filter((t) => !cloud.endpoints.some((e) => e.name === t || e.type === t));
  if (unknown.length) {
    const types = [...new Set(cloud.endpoints.map((e) => e.type))].sort().join(", ");
    throw new Error(`rebuild: ${unknown.join(", ")} is neither a type nor an endpoint of the pillar (types: ${types})`);
  }
  const foundation = chosen.filter((e) => e.style === "foundation");
  if (foundation.length) throw new Error(`rebuild: ${foundation.map((e) => e.name).join(", ")} is a foundation host: Kinetic does not install it, so it cannot rebuild it`);
  const succs = new Map<string, string[]>();
  for (const [id, preds] of cloud.graph.preds) for (const p of preds) succs.set(p.id, [...(succs.get(p.id) ?? []), id]);
  const ids = new Set<string>();
  const visit = (id: string) => {
    if (ids.has(id)) return;
    ids.add(id);
    for (const s of succs.get(id) ?? []) visit(s);
  };
  for (const e of chosen) for (const [id, node] of cloud.graph.nodes) if (node.endpoint.name === e.name) visit(id);
  const names = new Set<string>();
  for (const id of ids) {
    const { endpoint: e, step } = cloud.graph.nodes.get(id)!;
    if (step !== "provision") names.add(`${e.name}-${step}`);
    else if (e.style === "virtual") names.add(`${e.name}-provision-domain`);
    else if (e.style === "physical") for (const r of ["boot-once", "power-cycle"]) names.add(`${e.name}-provision-${r}`);
  }
  return { endpoints: chosen.map((e) => e.name), names };
}

export async function rebuildCommand(argv: string[]): Promise<number> {
  let stackName = "dev";
  let yes = false;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stackName = argv[++i];
    else if (argv[i] === "--yes") yes = true;
    else if (argv[i].startsWith("-")) {
      process.stderr.write(`rebuild: unexpected argument ${argv[i]}\n${REBUILD_USAGE}\n`);
      return 64;
    } else targets.push(argv[i]);
  }
  if (!targets.length) {
    process.stderr.write(`${REBUILD_USAGE}\n`);
    return 64;
  }
  const stack = await projectStack(stackName, "rebuild");
  if (!stack) return 64;
  const pillarDir = (await stack.getConfig("kinetic:pillar").catch(() => ({ value: "pillar/dev" }))).value;
  const cloud = loadCloud(path.resolve(PROJECT_ROOT, pillarDir), { stack: stackName });
  const { endpoints, names } = rebuildResourceNames(cloud, targets);
  const urns = await urnsNamed(stack, names);
  const missing = [...names].filter((n) => !urns.some((u) => nameOfUrn(u) === n));
  process.stdout.write(`rebuild ${endpoints.join(", ")}: ${urns.length} resources replaced\n${urns.map((u) => `  ${nameOfUrn(u)}`).sort().join("\n")}\n`);
  if (missing.length) process.stdout.write(`not in the stack yet (created by this up): ${missing.sort().join(", ")}\n`);
  if (!yes) {
    process.stderr.write(`rebuild wipes those machines: run it again with --yes\n`);
    return 64;
  }
  // The servers reinstalled here are running: the operator asked for exactly their reinstall, so
  // their provisioning may reset them while on (components/provisioners.ts installPoweredOn).
  const reinstalled = cloud.endpoints.filter((e) => e.style === "physical" && names.has(`${e.name}-provision-power-cycle`)).map((e) => e.uuid);
  if (reinstalled.length) process.env.KINETIC_INSTALL_POWERED_ON = reinstalled.join(",");
  keepRunningOnFirstInterrupt();
  // Kept beside the state until each is made: a rebuild cut short is finished by the next up.
  await upFinishingReplacements(stack, pendingOf(stackName), { replace: urns, onOutput: (s) => process.stdout.write(s), color: process.stdout.isTTY ? "auto" : "never" });
  return 0;
}
