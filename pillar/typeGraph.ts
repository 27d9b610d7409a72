/**
 * The (type, phase) graph: one node per enabled type and step, used to find cycles and to print
 * the plan. Pure code: no Pulumi, no I/O.
 */
import { HostType, PHASES } from "./model";

/** Steps of an endpoint in order: provisioning (none for foundation hosts), then the formula phases. */
export const STEPS = ["provision", ...PHASES] as const;
export type Step = (typeof STEPS)[number];

export type Edge = [from: string, to: string];

export const nodeId = (type: string, step: Step): string => `${type}.${step}`;

/** The role that hosts virtual endpoints. */
export const CONTROLLER_ROLE = "controller";
/** The type whose `configure` physical provisioning waits for (it serves DHCP/PXE). */
export const PXE_TYPE = "pxe";

/** Edges between (type, step) nodes of the given enabled types. */
export function typePhaseEdges(types: HostType[]): Edge[] {
  const edges: Edge[] = [];
  const names = new Set(types.map((t) => t.name));
  const controllers = types.filter((t) => t.role === CONTROLLER_ROLE && t.style !== "virtual");
  for (const t of types) {
    if (t.style !== "foundation") edges.push([nodeId(t.name, "provision"), nodeId(t.name, "base")]);
    for (let i = 1; i < PHASES.length; i++) edges.push([nodeId(t.name, PHASES[i - 1]), nodeId(t.name, PHASES[i])]);
    for (const phase of PHASES) {
      for (const [dep, depPhase] of Object.entries(t.needs[phase] ?? {})) {
        if (names.has(dep)) edges.push([nodeId(dep, depPhase), nodeId(t.name, phase)]);
      }
    }
    if (t.style === "physical" && names.has(PXE_TYPE)) edges.push([nodeId(PXE_TYPE, "configure"), nodeId(t.name, "provision")]);
    if (t.style === "virtual") for (const ct of controllers) edges.push([nodeId(ct.name, "configure"), nodeId(t.name, "provision")]);
  }
  return edges;
}

/** A cycle as a list of nodes whose last element equals the first, or undefined. Deterministic. */
export function findCycle(edges: Edge[]): string[] | undefined {
  const out = new Map<string, string[]>();
  for (const [a, b] of edges) {
    if (!out.has(a)) out.set(a, []);
    out.get(a)!.push(b);
  }
  const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of out.get(n) ?? []) {
      const s = state.get(m);
      if (s === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (s === undefined) {
        const found = visit(m);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of [...out.keys()].sort()) {
    if (state.has(n)) continue;
    const found = visit(n);
    if (found) return found;
  }
  return undefined;
}
