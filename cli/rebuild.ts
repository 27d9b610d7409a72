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
import { nameOfUrn, stateResources, urnsNamed } from "../engine/stack";
import { fingerprint } from "../components/hostKeys";
import { generationProblems } from "../components/secretEpochs";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { loadCloud } from "../pillar";
import { Cloud } from "../pillar/load";
import { PendingReplacements, upFinishingReplacements } from "../engine/pendingReplacements";
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

/**
 * Endpoints whose machine the rebuild replaces (a VM's domain, a physical server's install): each
 * gets a new host key. A `--replace` alone would give it its old key back (the key's generation is
 * the definition, which a rebuild does not change), so a key an attacker copied would still be good.
 */
export function renewedEndpoints(cloud: Cloud, names: Set<string>): string[] {
  return cloud.endpoints.filter((e) => names.has(`${e.name}-provision-domain`) || names.has(`${e.name}-provision-boot-once`)).map((e) => e.name);
}

/** `kinetic:hostKeyGenerations` (JSON text in the stack's config, or absent) with those endpoints raised by one. */
export function raisedGenerations(text: string | undefined, endpoints: string[]): Record<string, number> {
  let current: unknown = {};
  if (text) {
    try {
      current = JSON.parse(text);
    } catch {
      throw new Error("kinetic:hostKeyGenerations in the stack's config is not JSON: an object of endpoint: generation");
    }
  }
  const problems = generationProblems(current);
  if (problems.length) throw new Error(problems.join("; "));
  const next = { ...(current as Record<string, number>) };
  for (const e of endpoints) next[e] = (next[e] ?? 0) + 1;
  return next;
}

/** A value of an exported (decrypted) state: a secret is `{ <sig>: ..., plaintext: "<JSON>" }`. */
function revealed(v: unknown): unknown {
  if (v && typeof v === "object" && typeof (v as { plaintext?: unknown }).plaintext === "string") return JSON.parse((v as { plaintext: string }).plaintext);
  return v;
}

/** The host key every phase of these endpoints now pins (from the state the up recorded), as fingerprints. */
export async function pinnedFingerprints(stack: Stack, endpoints: string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const r of await stateResources(stack)) {
    const name = nameOfUrn(r.urn);
    const e = endpoints.find((x) => name === `${x}-base`);
    const key = (revealed(r.inputs?.connection) as { hostKey?: unknown } | undefined)?.hostKey;
    if (e && typeof key === "string") found.set(e, fingerprint(key));
  }
  return found;
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
  if (yes) keepRunningOnFirstInterrupt();
  return rebuildStack(stack, targets, { yes, pending: pendingOf(stackName), out: (line) => process.stdout.write(`${line}\n`), onOutput: (t) => process.stdout.write(t) });
}

export interface RebuildOptions {
  /** Without it, only the list is printed and nothing changes. */
  yes: boolean;
  /** Where the replacements not made yet are kept (engineCommands.ts pendingOf). */
  pending: PendingReplacements;
  out: (line: string) => void;
  /** The engine's own output. */
  onOutput?: (s: string) => void;
  /** The engine's events (the tests and the bench time each step from them). */
  onEvent?: (e: EngineEvent) => void;
}

/** The rebuild of `targets` on a stack: 0 done, 64 not confirmed (nothing changed). */
export async function rebuildStack(stack: Stack, targets: string[], opts: RebuildOptions): Promise<number> {
  const pillarDir = (await stack.getConfig("kinetic:pillar").catch(() => ({ value: "pillar/dev" }))).value;
  const cloud = loadCloud(path.resolve(PROJECT_ROOT, pillarDir), { stack: stack.name });
  const { endpoints, names } = rebuildResourceNames(cloud, targets);
  const urns = await urnsNamed(stack, names);
  const missing = [...names].filter((n) => !urns.some((u) => nameOfUrn(u) === n));
  opts.out(`rebuild ${endpoints.join(", ")}: ${urns.length} resources replaced\n${urns.map((u) => `  ${nameOfUrn(u)}`).sort().join("\n")}`);
  if (missing.length) opts.out(`not in the stack yet (created by this up): ${missing.sort().join(", ")}`);
  if (!opts.yes) {
    opts.out("rebuild wipes those machines: run it again with --yes");
    return 64;
  }
  // The servers reinstalled here are running: the operator asked for exactly their reinstall, so
  // their provisioning may reset them while on (components/provisioners.ts installPoweredOn).
  const reinstalled = cloud.endpoints.filter((e) => e.style === "physical" && names.has(`${e.name}-provision-power-cycle`)).map((e) => e.uuid);
  if (reinstalled.length) process.env.KINETIC_INSTALL_POWERED_ON = reinstalled.join(",");
  // New host keys for the replaced machines, recorded in the stack's config before the up: a
  // rebuild cut short and finished by the next up derives the same new keys.
  const renewed = renewedEndpoints(cloud, names);
  if (renewed.length) {
    const generations = raisedGenerations((await stack.getAllConfig())["kinetic:hostKeyGenerations"]?.value, renewed);
    await stack.setConfig("kinetic:hostKeyGenerations", { value: JSON.stringify(generations) });
    opts.out(`new host keys for ${renewed.join(", ")} (kinetic:hostKeyGenerations)`);
  }
  // Kept beside the state until each is made: a rebuild cut short is finished by the next up.
  await upFinishingReplacements(stack, opts.pending, { replace: urns, onOutput: opts.onOutput, onEvent: opts.onEvent, color: process.stdout.isTTY ? "auto" : "never" });
  const prints = await pinnedFingerprints(stack, renewed);
  if (prints.size) opts.out(`host keys of the rebuilt machines (every connection now pins these):\n${[...prints].map(([e, fp]) => `  ${e}  ${fp}`).join("\n")}`);
  return 0;
}
