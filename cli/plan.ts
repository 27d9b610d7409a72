/**
 * `npm run plan -- [pillar dir] [--stack NAME] [--out DIR] [--lock] [--emit-domains DIR]`
 *
 * Reads a pillar the way the Pulumi program does, without the engine, and prints what `pulumi up`
 * would do: the endpoints, the phase waves, the critical path and the dependency graph; writes the
 * graph as Mermaid and DOT (and SVG when Graphviz `dot` is installed).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describeMissing, FORMULAS_DIR, formulaCatalog, formulaLoader } from "../components/formulaCatalog";
import { virtualSpecs } from "../components/virtualSpecs";
import { emitDomains } from "../providers/libvirt/emitDomains";
import { writeLock } from "../pillar/addresses";
import { isPillarError } from "../pillar/errors";
import { toDot, toMermaid, typeLevelEdges } from "../pillar/graphFormats";
import { Cloud, loadCloud } from "../pillar/load";
import { criticalPath, NeedsGraph, waves } from "../pillar/needsGraph";

const PROJECT_ROOT = path.join(__dirname, "..");

export interface PlanArgs {
  pillarDir: string;
  stack: string;
  outDir: string;
  lock: boolean;
  emitDomains?: string;
  /** Plan a pillar without endpoints (the stack's `kinetic:allowEmpty`). */
  allowEmpty: boolean;
}

export function parseArgs(argv: string[]): PlanArgs {
  const args: PlanArgs = { pillarDir: "pillar/dev", stack: "dev", outDir: "out/plan", lock: false, allowEmpty: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--stack") args.stack = value();
    else if (a === "--out") args.outDir = value();
    else if (a === "--lock") args.lock = true;
    else if (a === "--allow-empty") args.allowEmpty = true;
    else if (a === "--emit-domains") args.emitDomains = value();
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else args.pillarDir = a;
  }
  return args;
}

/** `mysql-<uuid>/configure` x3 -> `mysql/configure [0-2]`: endpoints of one type and step together. */
function groupSteps(g: NeedsGraph, ids: string[]): string[] {
  const groups = new Map<string, number[]>();
  for (const id of ids) {
    const n = g.nodes.get(id)!;
    const k = `${n.endpoint.type}.${n.step}`;
    groups.set(k, [...(groups.get(k) ?? []), n.endpoint.index]);
  }
  return [...groups].map(([k, idx]) => {
    idx.sort((a, b) => a - b);
    const span = idx.length === 1 ? `${idx[0]}` : idx.every((v, i) => i === 0 || v === idx[i - 1] + 1) ? `${idx[0]}-${idx.at(-1)}` : idx.join(",");
    return `${k}[${span}]`;
  });
}

export function renderPlan(cloud: Cloud, missing: string[]): string {
  const out: string[] = [];
  const { endpoints, graph } = cloud;
  const styles = (s: string) => endpoints.filter((e) => e.style === s).length;
  out.push(`Pillar ${cloud.pillar.dir}: ${endpoints.length} endpoints (${styles("physical")} physical, ${styles("virtual")} virtual, ${styles("foundation")} foundation), ${graph.nodes.size} steps`);
  out.push("", "Endpoints:");
  for (const e of endpoints) out.push(`  ${e.name.padEnd(52)} ${e.style.padEnd(10)} ${e.address.padEnd(15)} ${e.controller ? `on ${e.controller}` : ""}`.trimEnd());
  const w = waves(graph);
  out.push("", `Waves (${w.length}; steps in one wave run in parallel):`);
  w.forEach((ids, i) => out.push(`  ${String(i + 1).padStart(3)}: ${groupSteps(graph, ids).join(" ")}`));
  const cp = criticalPath(graph);
  out.push("", `Critical path (${cp.path.length} steps, ~${cp.minutes} min at nominal step times):`);
  out.push(`  ${cp.path.map((id) => groupSteps(graph, [id])[0]).join(" -> ")}`);
  out.push("", "Dependencies (type.step <- what it waits for):");
  const edges = typeLevelEdges(graph);
  const into = new Map<string, string[]>();
  for (const e of edges) if (e.kind !== "chain") into.set(e.to, [...(into.get(e.to) ?? []), e.from]);
  for (const [to, from] of [...into].sort()) out.push(`  ${to} <- ${from.join(", ")}`);
  if (cloud.pillar.notes.length) out.push("", "Notes:", ...cloud.pillar.notes.map((n) => `  ${n}`));
  if (missing.length) out.push("", "WARNING (pulumi up will refuse to start):", ...missing.map((m) => `  ${m}`));
  return out.join("\n") + "\n";
}

export function writeGraphFiles(graph: NeedsGraph, outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const edges = typeLevelEdges(graph);
  const mmd = path.join(outDir, "needs.mmd");
  const dot = path.join(outDir, "needs.dot");
  fs.writeFileSync(mmd, toMermaid(edges));
  fs.writeFileSync(dot, toDot(edges));
  const written = [mmd, dot];
  const svg = path.join(outDir, "needs.svg");
  const r = spawnSync("dot", ["-Tsvg", "-o", svg, dot], { stdio: "ignore", timeout: 60_000 });
  if (r.status === 0) written.push(svg);
  return written;
}

export function main(argv: string[]): number {
  let args: PlanArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`plan: ${(e as Error).message}\nusage: npm run plan -- [pillar dir] [--stack NAME] [--out DIR] [--lock] [--allow-empty] [--emit-domains DIR]\n`);
    return 2;
  }
  let cloud: Cloud;
  try {
    cloud = loadCloud(path.resolve(args.pillarDir), { stack: args.stack, allowEmpty: args.allowEmpty, formulasDir: FORMULAS_DIR });
  } catch (e) {
    if (!isPillarError(e)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 1;
  }
  const catalog = formulaCatalog(cloud.endpoints.map((e) => e.role), formulaLoader());
  process.stdout.write(renderPlan(cloud, describeMissing(catalog.missing)));
  const files = writeGraphFiles(cloud.graph, args.outDir);
  if (args.lock) files.push(writeLock(path.resolve(args.pillarDir), cloud.lock));
  process.stdout.write(`\nWrote ${files.join(", ")}\n`);
  if (args.emitDomains) {
    try {
      const written = emitDomainFiles(cloud, args);
      process.stdout.write(`Wrote ${written.length} files (domain.xml, user-data, meta-data, network-config per virtual endpoint) under ${path.resolve(args.emitDomains)}\n`);
    } catch (e) {
      process.stderr.write(`plan: ${(e as Error).message}\n`);
      return 1;
    }
  }
  return 0;
}

/**
 * Every rendered domain XML and cloud-init seed, for review. The orchestrator's public key is the
 * stack's `kinetic:sshPublicKey`, read from `Pulumi.<stack>.yaml` as `pulumi up` would.
 */
function emitDomainFiles(cloud: Cloud, args: PlanArgs): string[] {
  const stackFile = path.join(PROJECT_ROOT, `Pulumi.${args.stack}.yaml`);
  const config = fs.existsSync(stackFile) ? (parse(fs.readFileSync(stackFile, "utf8"))?.config ?? {}) : {};
  const key = config["kinetic:sshPublicKey"];
  if (typeof key !== "string") throw new Error(`--emit-domains needs kinetic:sshPublicKey in ${stackFile}`);
  return emitDomains([...virtualSpecs(cloud, args.stack, [key]).values()], path.resolve(args.emitDomains!));
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    // A bug of ours, not a problem of the pillar: one line, and the trace only on request.
    process.stderr.write(`plan: internal error: ${e instanceof Error ? e.message : String(e)} (set KINETIC_DEBUG=1 for the stack trace; please report it)\n`);
    if (process.env.KINETIC_DEBUG) process.stderr.write(`${e instanceof Error ? e.stack : ""}\n`);
    process.exitCode = 70;
  }
}
