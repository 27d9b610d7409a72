/**
 * The needs graph at the (type, step) level, as Mermaid and Graphviz DOT, for reviewers of a pillar
 * change. Endpoint-level graphs of a real cloud have thousands of edges; per type they stay readable.
 */
import { Endpoint } from "./model";
import { NeedsGraph } from "./needsGraph";

export interface TypeEdge {
  from: string;
  to: string;
  kind: string;
}

/** Collapse endpoint-level edges onto (type, step) nodes; drops edges within one node (spawning 0). */
export function typeLevelEdges(g: NeedsGraph): TypeEdge[] {
  const seen = new Map<string, TypeEdge>();
  for (const [id, preds] of g.preds) {
    const to = nodeOf(g.nodes.get(id)!.endpoint, g.nodes.get(id)!.step);
    for (const p of preds) {
      const n = g.nodes.get(p.id)!;
      const from = nodeOf(n.endpoint, n.step);
      if (from !== to) seen.set(`${from}>${to}`, { from, to, kind: p.kind });
    }
  }
  return [...seen.values()].sort((a, b) => (a.from + a.to).localeCompare(b.from + b.to));
}

const nodeOf = (e: Endpoint, step: string): string => `${e.type}.${step}`;
const mermaidId = (n: string) => n.replace(/[^A-Za-z0-9]/g, "_");

export function toMermaid(edges: TypeEdge[]): string {
  const lines = ["flowchart LR"];
  const nodes = new Set(edges.flatMap((e) => [e.from, e.to]));
  for (const n of [...nodes].sort()) lines.push(`  ${mermaidId(n)}["${n}"]`);
  for (const e of edges) lines.push(`  ${mermaidId(e.from)} ${e.kind === "chain" ? "-->" : "-.->"} ${mermaidId(e.to)}`);
  return lines.join("\n") + "\n";
}

export function toDot(edges: TypeEdge[]): string {
  const lines = ["digraph needs {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];'];
  for (const e of edges) lines.push(`  "${e.from}" -> "${e.to}"${e.kind === "chain" ? "" : ` [style=dashed, label="${e.kind}"]`};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}
