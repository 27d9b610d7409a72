/**
 * What `kinetic rebuild` replaces, and in which order (issue 21: a rebuild never wipes a cluster).
 *
 * The resources: the targets' machines and every formula phase of theirs or downstream of them in
 * the needs graph (`rebuildResourceNames`). The order: when some of the machines are members of a
 * clustered role (formulas/clusters.ts), each such member is replaced in an `up` of its own, and the
 * next only after the role's health formula says the cluster is whole again; everything else (the
 * other machines, the downstream phases) follows in one last `up`. A replacement that would leave a
 * cluster without a majority, or whose role cannot rejoin a rebuilt member, is refused, with the
 * reason, before anything changes.
 *
 * With a backup to restore (`--restore-from`), a clustered type whose data the backup holds is not
 * kept alive but put back: its members go together in one up (a rolling rebuild would only copy the
 * data being replaced onto the new members), the backup is restored once they form a cluster again,
 * and the phases that need them run after that.
 */
import { ClusterRole, quorum } from "../formulas/clusters";
import { pxeHosts, pxeInstalledName } from "../components/pxeInstalled";
import { Cloud, Endpoint } from "../pillar";

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
  const pxes = pxeHosts(cloud.endpoints);
  for (const id of ids) {
    const { endpoint: e, step } = cloud.graph.nodes.get(id)!;
    if (step !== "provision") names.add(`${e.name}-${step}`);
    else if (e.style === "virtual") names.add(`${e.name}-provision-domain`);
    else if (e.style === "physical") {
      for (const r of ["boot-once", "power-cycle"]) names.add(`${e.name}-provision-${r}`);
      // Replaced with the machine (components/pxeInstalled.ts): the reinstalled server's install is retired again.
      pxes.forEach((_, i) => names.add(pxeInstalledName(e.name, i, pxes.length)));
    }
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

/** One `up` of a rebuild. */
export interface RebuildStep {
  /** The machines this up replaces. */
  machines: string[];
  /** Resource names it replaces. */
  names: Set<string>;
  /** Clustered types whose health formula must pass on every member after this up (and before the first). */
  gates: string[];
  /** Roles whose part of the backup is restored after this up and its gates. */
  restore?: string[];
}

export type RebuildPlan =
  /** `before`: clustered types that must be whole before the first up (a degraded cluster could lose its majority). */
  | { kind: "plan"; endpoints: string[]; names: Set<string>; steps: RebuildStep[]; before: string[] }
  | { kind: "refuse"; lines: string[] };

/** The resources of one endpoint among `names` (endpoint names are `<type>-<uuid>`: a prefix is unique). */
function resourcesOf(e: Endpoint, names: Set<string>): string[] {
  return [...names].filter((n) => n.startsWith(`${e.name}-`));
}

/**
 * The rebuild of `targets` as ordered `up`s, or the lines saying why it is refused.
 * `clusters`: the clustered roles (formulas/clusters.ts clusterRoles()). `restoring`: the roles
 * whose data a backup the operator named holds (`--restore-from`), put back instead of kept.
 */
export function planRebuild(cloud: Cloud, targets: string[], clusters: Map<string, ClusterRole>, restoring: ReadonlySet<string> = new Set()): RebuildPlan {
  const { endpoints, names } = rebuildResourceNames(cloud, targets);
  const replaced = new Set(renewedEndpoints(cloud, names));
  // A clustered member goes down with the controller it runs on (its disk is there: every VM of a
  // reinstalled controller goes at once, whatever order the VMs are listed in), or with its own machine.
  const downWith = (m: Endpoint): string | undefined => (m.controller && replaced.has(m.controller) ? m.controller : replaced.has(m.name) ? m.name : undefined);
  const lines: string[] = [];
  const memberSteps: RebuildStep[] = [];
  const gates: string[] = [];
  // Restored types: every member that goes with its own machine, in one up; then their backup.
  const whole: RebuildStep = { machines: [], names: new Set(), gates: [], restore: [] };
  /** Restored roles whose members all go down with a controller: restored after the last up. */
  const restoreLast: string[] = [];
  const types = [...new Set(cloud.endpoints.filter((e) => clusters.has(e.role)).map((e) => e.type))].sort();
  for (const type of types) {
    const members = cloud.endpoints.filter((e) => e.type === type);
    const role = clusters.get(members[0].role)!;
    const hit = members.filter((m) => downWith(m) !== undefined);
    if (!hit.length) continue;
    const n = members.length;
    const q = quorum(n);
    const list = hit.map((m) => m.name).join(", ");
    if (restoring.has(role.role)) {
      const own = hit.filter((m) => downWith(m) === m.name);
      for (const m of own) {
        whole.machines.push(m.name);
        for (const r of resourcesOf(m, names)) whole.names.add(r);
      }
      if (own.length) {
        if (role.health) whole.gates.push(type);
        whole.restore!.push(role.role);
      } else restoreLast.push(role.role);
      continue;
    }
    if (!role.health) {
      lines.push(`rebuild: refused: ${list} ${hit.length > 1 ? "are members" : "is a member"} of ${type}, which holds ${role.holds}; formulas/${role.role} cannot yet bring a rebuilt member back into its running cluster (it has no health formula), so the rebuild would lose that data`);
      continue;
    }
    if (n - 1 < q) {
      lines.push(`rebuild: refused: ${type} has ${n} member(s) holding ${role.holds}; rebuilding ${list} leaves ${n - 1}, and a cluster of ${n} needs ${q} up to keep its data: give ${type} count >= 3 so one member at a time can be rebuilt, or put the data back from a backup (--restore-from)`);
      continue;
    }
    // Members on a rebuilt controller go down with it, all in the last up: together they must leave a majority.
    const withController = hit.filter((m) => downWith(m) !== m.name);
    if (withController.length && n - withController.length < q) {
      const controllers = [...new Set(withController.map((m) => downWith(m)!))].join(", ");
      lines.push(`rebuild: refused: rebuilding ${controllers} takes ${withController.map((m) => m.name).join(", ")} down at once, leaving ${n - withController.length} of ${type}'s ${n} members (${q} needed to keep ${role.holds}): rebuild those members first, one at a time, or place them on different controllers`);
      continue;
    }
    for (const m of hit.filter((x) => downWith(x) === x.name)) memberSteps.push({ machines: [m.name], names: new Set(resourcesOf(m, names)), gates: [type] });
    gates.push(type);
  }
  if (lines.length) return { kind: "refuse", lines };
  const first = whole.machines.length ? [whole, ...memberSteps] : memberSteps;
  const lastRestore = restoreLast.length ? { restore: restoreLast } : {};
  if (!first.length) return { kind: "plan", endpoints, names, steps: [{ machines: [...replaced], names, gates, ...lastRestore }], before: gates };
  const taken = new Set(first.flatMap((s) => [...s.names]));
  const rest = new Set([...names].filter((n) => !taken.has(n)));
  const steps = [...first];
  // Never empty when restoreLast is not: the controllers those members go down with are in it.
  if (rest.size) steps.push({ machines: [...replaced].filter((m) => !first.some((s) => s.machines.includes(m))), names: rest, gates: [...whole.gates, ...gates], ...lastRestore });
  return { kind: "plan", endpoints, names, steps, before: gates };
}
