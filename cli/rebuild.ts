/**
 * `kinetic rebuild <type or endpoint>... [--stack NAME] --yes`: the original's reason to exist,
 * recovering from a compromise by rebuilding. The named machines are replaced (a VM is zeroized and
 * created again from its seed, a physical server set to PXE once and power-cycled into a fresh
 * install), then their phases run again, and so does every phase that needs one of theirs, directly
 * or not (a rebuilt mysql means keystone's configure runs again). Nothing else is touched: it is
 * `pulumi up --replace` of exactly those resources; one `up` in all, or, when members of a clustered
 * role are among them, one per member and the next only once the cluster is whole again
 * (cli/rebuildPlan.ts, formulas/clusters.ts).
 */
import { nameOfUrn, stateResources, urnsNamed } from "../engine/stack";
import { fingerprint } from "../components/hostKeys";
import { generationProblems } from "../components/secretEpochs";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { stackPillarCloud } from "./stackPillar";
import { Cloud } from "../pillar/load";
import type { Endpoint } from "../pillar";
import { PendingReplacements, upFinishingReplacements } from "../engine/pendingReplacements";
import { keepRunningOnFirstInterrupt, pendingOf, projectStack } from "./engineCommands";
import { clusterRoles } from "../formulas/clusters";
import { FORMULAS_DIR } from "../formulas/load";
import { planRebuild, RebuildStep, rebuildResourceNames, renewedEndpoints } from "./rebuildPlan";
import { OpenedBackup, openBackup } from "./backup";
import { recipeOf } from "./backupRecipes";
import { oneLine } from "./verify";
import { clusterHealth, MemberHealth, runRoleFormula, waitClusterHealthy } from "./clusterHealth";
import { elsewhereTargets, HOST_KEY_GENERATIONS, recordGenerations, servePxeKeys } from "./rebuildStacks";
import { partOf, StackOpener } from "./stackSet";

export const REBUILD_USAGE = `kinetic rebuild <type|endpoint>... [--stack NAME] [--restore-from <id|latest>] --yes
                               replace those machines (VMs re-created, physical servers re-installed
                               over PXE) and re-run their phases and every phase that needs them;
                               members of a clustered type one at a time, each back in its cluster
                               (formulas/<role>/health) before the next; refused where a cluster
                               would lose its majority or its last copy. --restore-from: the members
                               of a type the backup holds go together, then the backup is put back`;

export { rebuildResourceNames, renewedEndpoints };

/**
 * `kinetic:hostKeyGenerations` (JSON text in the stack's config, or absent) with those endpoints
 * raised by one. More texts (a rack's and its site's) are merged first, each endpoint at its highest.
 */
export function raisedGenerations(text: string | undefined | (string | undefined)[], endpoints: string[]): Record<string, number> {
  const next: Record<string, number> = {};
  for (const t of Array.isArray(text) ? text : [text]) {
    if (!t) continue;
    let current: unknown;
    try {
      current = JSON.parse(t);
    } catch {
      throw new Error("kinetic:hostKeyGenerations in the stack's config is not JSON: an object of endpoint: generation");
    }
    const problems = generationProblems(current);
    if (problems.length) throw new Error(problems.join("; "));
    for (const [e, g] of Object.entries(current as Record<string, number>)) next[e] = Math.max(next[e] ?? 0, g);
  }
  for (const e of endpoints) next[e] = (next[e] ?? 0) + 1;
  return next;
}

/** A value of an exported (decrypted) state: a secret is `{ <sig>: ..., plaintext: "<JSON>" }`. */
function revealed(v: unknown): unknown {
  if (v && typeof v === "object" && typeof (v as { plaintext?: unknown }).plaintext === "string") return JSON.parse((v as { plaintext: string }).plaintext);
  return v;
}

/** The host key every phase of these endpoints now pins (from the state the up recorded), as fingerprints. */

/**
 * Each member about to be replaced leaves its cluster cleanly first (formulas/<role>/leave), so the
 * others do not hold writes waiting to learn it is gone. A member that cannot be reached or whose
 * leave fails is already gone or broken: the rebuild goes on (replacing it is the repair). A member
 * whose leave *refused* (exit 77: its going would take the cluster below a majority) stops the
 * rebuild before its machine is touched: the line saying why, or undefined to go on.
 */
export async function leaveBeforeReplace(
  members: readonly Endpoint[],
  leaveOf: (e: Endpoint) => string | undefined,
  run: (e: Endpoint, label: string) => Promise<MemberHealth>,
  out: (line: string) => void,
): Promise<string | undefined> {
  for (const e of members) {
    const leave = leaveOf(e);
    if (!leave) continue;
    const left = await run(e, leave);
    if (left.refused) {
      out(`  refused to leave ${e.name}: ${left.line}`);
      return `${e.name} refused to leave its cluster (${left.line})`;
    }
    out(`  ${left.ok ? "left" : "could not leave (going on)"} ${e.name}: ${left.line}`);
  }
  return undefined;
}

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
  let restoreFrom: string | undefined;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stackName = argv[++i];
    else if (argv[i] === "--restore-from" && argv[i + 1]) restoreFrom = argv[++i];
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
  return rebuildStack(stack, targets, {
    yes,
    restoreFrom,
    pending: pendingOf(stackName),
    out: (line) => process.stdout.write(`${line}\n`),
    onOutput: (t) => process.stdout.write(t),
    openStack: (name) => projectStack(name, "rebuild"),
  });
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
  /** The formulas the stack's program runs (the health formulas of clustered roles come from there too). */
  formulasDir?: string;
  /** How long a clustered type may take to be whole again after each up (seconds; default 600). */
  gateSeconds?: number;
  /** A backup (`latest` or an id) whose data is put back instead of kept (cli/rebuildPlan.ts). */
  restoreFrom?: string;
  /** Opens a rack's site stack (cli/rebuildStacks.ts); without it a rack's rebuild is refused. */
  openStack?: StackOpener;
}

/**
 * The rebuild of `targets` on a stack: 0 done, 64 not confirmed or refused (nothing changed), 1 a
 * clustered type not whole (before the first up: nothing changed; after an up: the rest not done).
 */
export async function rebuildStack(stack: Stack, targets: string[], opts: RebuildOptions): Promise<number> {
  // Read and checked before anything changes: a backup that cannot be put back stops the rebuild here.
  let backup: OpenedBackup | undefined;
  if (opts.restoreFrom) {
    try {
      backup = await openBackup(stack, opts.restoreFrom, opts.out);
    } catch (e) {
      opts.out(`rebuild: refused: backup ${opts.restoreFrom}: ${oneLine(e)}`);
      opts.out("nothing was changed");
      return 64;
    }
  }
  try {
    return await rebuildPlanned(stack, targets, opts, backup);
  } finally {
    backup?.dispose();
  }
}

async function rebuildPlanned(stack: Stack, targets: string[], opts: RebuildOptions, backup: OpenedBackup | undefined): Promise<number> {
  const cloud = await stackPillarCloud(stack);
  // Stacks per rack: the targets must be this stack's, and a rack records its new keys in its site too.
  const { part, siteStack } = await partOf(stack);
  const elsewhere = elsewhereTargets(cloud, targets, part, siteStack ?? stack.name);
  let site: Stack | undefined;
  if (!elsewhere.length && siteStack) {
    site = await opts.openStack?.(siteStack);
    if (!site) elsewhere.push(`rebuild: refused: ${stack.name} is rack ${part} of site stack ${siteStack}, which could not be opened (the new host keys are recorded there)`);
  }
  if (elsewhere.length) {
    for (const line of elsewhere) opts.out(line);
    opts.out("nothing was changed");
    return 64;
  }
  const formulasDir = opts.formulasDir ?? FORMULAS_DIR;
  const clusters = clusterRoles(formulasDir);
  const plan = planRebuild(cloud, targets, clusters, backup?.roles);
  if (plan.kind === "plan" && backup && !plan.steps.some((s) => s.restore?.length)) {
    const partial = backup.manifest.parts.filter((p) => recipeOf(p.name)?.wholeData === false).map((p) => p.name);
    opts.out(`rebuild: refused: backup ${backup.manifest.id} holds ${[...backup.roles].join(", ") || "no role's whole data"}; none of ${targets.join(", ")} is a member of those, so there is nothing to put back (without --restore-from the rebuild keeps the data)${partial.length ? `; ${partial.join(", ")} in it is not the whole of its role's data and goes back only with kinetic restore` : ""}`);
    opts.out("nothing was changed");
    return 64;
  }
  if (plan.kind === "refuse") {
    for (const line of plan.lines) opts.out(line);
    opts.out("nothing was changed");
    return 64;
  }
  const { endpoints, names, steps } = plan;
  const urns = await urnsNamed(stack, names);
  const missing = [...names].filter((n) => !urns.some((u) => nameOfUrn(u) === n));
  opts.out(`rebuild ${endpoints.join(", ")}: ${urns.length} resources replaced\n${urns.map((u) => `  ${nameOfUrn(u)}`).sort().join("\n")}`);
  if (missing.length) opts.out(`not in the stack yet (created by this up): ${missing.sort().join(", ")}`);
  const stepLine = (s: RebuildStep, i: number) => `${i + 1}. ${s.machines.join(", ") || "the phases that need them"}${s.restore?.length ? `, then backup ${backup!.manifest.id} put back into ${s.restore.join(", ")}` : ""}`;
  if (backup) opts.out(`backup ${backup.manifest.id} (taken ${backup.manifest.takenAt}) replaces the data of ${[...new Set(steps.flatMap((s) => s.restore ?? []))].join(", ")}: every database in it is dropped and made again from it`);
  if (steps.length > 1) opts.out(`${plan.before.length ? `one machine at a time (${plan.before.join(", ")} must keep a majority)` : "in order"}: ${steps.map(stepLine).join("  ")}`);
  if (!opts.yes) {
    opts.out("rebuild wipes those machines: run it again with --yes");
    return 64;
  }
  const gate = async (types: string[], when: string): Promise<boolean> => {
    for (const type of types) {
      const role = clusters.get(cloud.endpoints.find((e) => e.type === type)!.role)!;
      opts.out(`${when}: ${type} whole? (formulas/${role.health})`);
      const healthy = await waitClusterHealthy(() => clusterHealth(stack, cloud, type, role.health!, formulasDir), opts.gateSeconds ?? 600, opts.out);
      if (!healthy) {
        opts.out(`rebuild: stopped ${when}: ${type} is not whole (above); replacing another member could lose ${role.holds}. Repair it, then run the rebuild again`);
        return false;
      }
    }
    return true;
  };
  if (!(await gate(plan.before, "before the first machine"))) return 1;
  for (const [i, step] of steps.entries()) {
    const stepUrns = urns.filter((u) => step.names.has(nameOfUrn(u)));
    if (steps.length > 1) opts.out(`step ${i + 1} of ${steps.length}: ${step.machines.join(", ") || "the phases that need them"} (${stepUrns.length} resources)`);
    // Members whose data a backup replaces all go at once: nobody stays to hear them leave.
    const leaving = (step.gates.length && !step.restore?.length ? step.machines : []).map((name) => cloud.endpoints.find((x) => x.name === name)!);
    const stop = await leaveBeforeReplace(leaving, (e) => clusters.get(e.role)?.leave, (e, label) => runRoleFormula(stack, cloud, e, label, formulasDir), opts.out);
    if (stop) {
      opts.out(`rebuild: stopped before step ${i + 1}: ${stop}; nothing of this step was replaced${i ? ` (steps 1 to ${i} are done)` : ""}`);
      return 1;
    }
    await rebuildUp(stack, cloud, step.names, stepUrns, opts, site);
    if (step.gates.length && !(await gate(step.gates, `after step ${i + 1}`))) return 1;
    if (step.restore?.length) {
      try {
        await backup!.restore(stack, cloud, opts.out, step.restore);
      } catch (e) {
        opts.out(`rebuild: stopped after step ${i + 1}: its machines are rebuilt, but putting back backup ${backup!.manifest.id} failed: ${oneLine(e)}`);
        const left = steps.slice(i + 1).map((s, j) => stepLine(s, i + 1 + j));
        opts.out(`put it back with kinetic restore ${backup!.manifest.id} --stack ${stack.name} --yes${left.length ? `; not run yet: ${left.join("  ")}` : ""}`);
        return 1;
      }
    }
  }
  return 0;
}

/** One up of a rebuild: exactly `urns` replaced, new host keys for the machines among `names`. */
async function rebuildUp(stack: Stack, cloud: Cloud, names: Set<string>, urns: string[], opts: RebuildOptions, site: Stack | undefined): Promise<void> {
  // The servers reinstalled here are running: the operator asked for exactly their reinstall, so
  // their provisioning may reset them while on (components/provisioners.ts installPoweredOn).
  const reinstalled = cloud.endpoints.filter((e) => e.style === "physical" && names.has(`${e.name}-provision-power-cycle`)).map((e) => e.uuid);
  if (reinstalled.length) process.env.KINETIC_INSTALL_POWERED_ON = reinstalled.join(",");
  // New host keys for this up's machines only, recorded in the stack's config before the up: a
  // rebuild cut short and finished by the next up derives the same new keys, and a machine of a
  // later step is not yet marked (a raised generation alone makes the next up replace it).
  const renewed = renewedEndpoints(cloud, names);
  if (renewed.length) {
    const texts = await Promise.all([stack, ...(site ? [site] : [])].map(async (s) => (await s.getAllConfig())[HOST_KEY_GENERATIONS]?.value));
    await recordGenerations(stack, site, JSON.stringify(raisedGenerations(texts, renewed)));
    opts.out(`new host keys for ${renewed.join(", ")} (kinetic:hostKeyGenerations${site ? `, recorded in site stack ${site.name} too` : ""})`);
    if (site && renewed.some((n) => cloud.endpoints.find((e) => e.name === n)?.style === "physical")) {
      const ran = await servePxeKeys(site, cloud, opts.onOutput);
      opts.out(`site stack ${site.name}: ${ran.length ? `${ran.join(", ")} re-run, so the install serves the new keys` : "no pxe host's configure in its state yet"}`);
    }
  }
  // Kept beside the state until each is made: a rebuild cut short is finished by the next up. Only
  // this step's: with the later steps' there too, the next plain up would replace those members at once.
  await upFinishingReplacements(stack, opts.pending, { replace: urns, onOutput: opts.onOutput, onEvent: opts.onEvent, color: process.stdout.isTTY ? "auto" : "never" });
  const prints = await pinnedFingerprints(stack, renewed);
  if (prints.size) opts.out(`host keys of the rebuilt machines (every connection now pins these):\n${[...prints].map(([e, fp]) => `  ${e}  ${fp}`).join("\n")}`);
}
