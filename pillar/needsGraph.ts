/**
 * The endpoint-level needs graph: one node per (endpoint, step), an edge wherever one step must
 * finish before another may start. It replaces the original's polling "waiting room": the program
 * turns every edge into a Pulumi `dependsOn`, and nothing else orders the steps. Pure code.
 */
import { Endpoint, Phase, PHASES, Pillar } from "./model";
import { PXE_TYPE, Step } from "./typeGraph";

export interface StepNode {
  id: string;
  endpoint: Endpoint;
  step: Step;
}

/** Why an edge exists, for the plan and for tests. */
export type EdgeKind = "chain" | "needs" | "spawning-0" | "pxe" | "controller";

export interface NeedsGraph {
  nodes: Map<string, StepNode>;
  /** Predecessors of each node with the reason, in a deterministic order. */
  preds: Map<string, { id: string; kind: EdgeKind }[]>;
  /** Node ids in a topological order. */
  order: string[];
}

export const stepId = (endpoint: string, step: Step): string => `${endpoint}/${step}`;

/** Rough durations, to rank paths in the plan; not promises. */
export const NOMINAL_MINUTES: Record<Step, number> = { provision: 10, base: 2, networking: 3, install: 8, configure: 5 };

/**
 * Reach-or-pass: a need `dep: phase` is met when every endpoint of `dep` has reached that phase or
 * a later one. (The original compared phases for equality, so a dependency that had moved on
 * looked unmet.) `reached` holds, per endpoint of the dependency type, its last finished phase.
 */
export function needMet(needed: Phase, reached: (Phase | undefined)[]): boolean {
  const want = PHASES.indexOf(needed);
  return reached.every((r) => r !== undefined && PHASES.indexOf(r) >= want);
}

export function buildNeedsGraph(pillar: Pillar, endpoints: Endpoint[]): NeedsGraph {
  const nodes = new Map<string, StepNode>();
  const preds = new Map<string, { id: string; kind: EdgeKind }[]>();
  const byType = new Map<string, Endpoint[]>();
  for (const e of endpoints) {
    if (!byType.has(e.type)) byType.set(e.type, []);
    byType.get(e.type)!.push(e);
  }
  const add = (e: Endpoint, step: Step) => {
    const id = stepId(e.name, step);
    nodes.set(id, { id, endpoint: e, step });
    preds.set(id, []);
    return id;
  };
  for (const e of endpoints) {
    if (e.style !== "foundation") add(e, "provision");
    for (const p of PHASES) add(e, p);
  }
  const edge = (from: string, to: string, kind: EdgeKind) => preds.get(to)!.push({ id: from, kind });

  for (const e of endpoints) {
    const type = pillar.hosts[e.type];
    if (e.style === "physical") for (const p of byType.get(PXE_TYPE) ?? []) edge(stepId(p.name, "configure"), stepId(e.name, "provision"), "pxe");
    if (e.style === "virtual" && e.controller) edge(stepId(e.controller, "configure"), stepId(e.name, "provision"), "controller");
    PHASES.forEach((phase, i) => {
      const id = stepId(e.name, phase);
      if (i > 0) edge(stepId(e.name, PHASES[i - 1]), id, "chain");
      else if (e.style !== "foundation") edge(stepId(e.name, "provision"), id, "chain");
      for (const [dep, depPhase] of Object.entries(type.needs[phase] ?? {})) {
        for (const d of byType.get(dep) ?? []) edge(stepId(d.name, depPhase), id, "needs");
      }
    });
    // Spawning 0: the first endpoint of a type runs one-time cluster initialisation in configure.
    const first = byType.get(e.type)![0];
    if (e.index > 0) edge(stepId(first.name, "configure"), stepId(e.name, "configure"), "spawning-0");
  }
  return { nodes, preds, order: topologicalOrder(nodes, preds) };
}

function topologicalOrder(nodes: Map<string, StepNode>, preds: Map<string, { id: string }[]>): string[] {
  const indegree = new Map<string, number>();
  const succ = new Map<string, string[]>();
  for (const id of nodes.keys()) [indegree.set(id, preds.get(id)!.length), succ.set(id, [])];
  for (const [id, ps] of preds) for (const p of ps) succ.get(p.id)!.push(id);
  const queue = [...nodes.keys()].filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    order.push(id);
    for (const s of succ.get(id)!) {
      const d = indegree.get(s)! - 1;
      indegree.set(s, d);
      if (d === 0) queue.push(s);
    }
  }
  if (order.length !== nodes.size) throw new Error("needs graph has a cycle (validation should have caught it)");
  return order;
}

/** Waves: wave n holds the steps whose longest chain of predecessors has n steps. */
export function waves(g: NeedsGraph): string[][] {
  const level = new Map<string, number>();
  const out: string[][] = [];
  for (const id of g.order) {
    const l = Math.max(-1, ...g.preds.get(id)!.map((p) => level.get(p.id)!)) + 1;
    level.set(id, l);
    (out[l] ??= []).push(id);
  }
  return out;
}

/** The longest path by nominal minutes: what bounds the wall time of a full `pulumi up`. */
export function criticalPath(g: NeedsGraph): { path: string[]; minutes: number } {
  const best = new Map<string, { minutes: number; via?: string }>();
  let end: string | undefined;
  for (const id of g.order) {
    let from: { minutes: number; via?: string } = { minutes: 0 };
    for (const p of g.preds.get(id)!) {
      const m = best.get(p.id)!.minutes;
      if (m > from.minutes) from = { minutes: m, via: p.id };
    }
    const here = { minutes: from.minutes + NOMINAL_MINUTES[g.nodes.get(id)!.step], via: from.via };
    best.set(id, here);
    if (!end || here.minutes > best.get(end)!.minutes) end = id;
  }
  const path: string[] = [];
  for (let id = end; id; id = best.get(id)!.via) path.unshift(id);
  return { path, minutes: end ? best.get(end)!.minutes : 0 };
}
