/**
 * `npm run bench -- lab`: one `up` of pillar/lab from nothing, on a lab of its own, through the
 * real engine. Printed side by side, from the same run's engine events:
 * - makespan: the up's wall time;
 * - critical path: the longest path through the needs graph, each step weighted by its measured
 *   duration (first resource of the step started -> last one finished);
 * - overhead = makespan - critical path (target: makespan <= critical path x 1.05 + 30 s);
 * - the original's waiting room replayed on the same durations: a step behind a gate (a `needs`
 *   edge) starts at the first poll after its needs are met, polls every 60 s plus a random splay
 *   of 0-30 s (seeded, so the replay is repeatable).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCloud } from "../../pillar";
import { runStamp } from "../../cli/verify";
import type { EngineResult, StepRecord } from "../lab/engineRun";
import { LabHarness, startLabHarness } from "../lab/labHarness";

interface Timed {
  id: string;
  duration: number;
}

/** Measured duration of each graph step: the span of the resources named `<endpoint>-<step>...`. */
export function stepDurations(cloud: ReturnType<typeof loadCloud>, steps: StepRecord[]): Map<string, Timed> {
  const out = new Map<string, Timed>();
  for (const [id, node] of cloud.graph.nodes) {
    const prefix = `${node.endpoint.name}-${node.step}`;
    const mine = steps.filter((s) => s.end !== undefined && (s.name === prefix || s.name.startsWith(`${prefix}-`)));
    const duration = mine.length ? Math.max(...mine.map((s) => s.end!)) - Math.min(...mine.map((s) => s.start)) : 0;
    out.set(id, { id, duration });
  }
  return out;
}

export function criticalPath(cloud: ReturnType<typeof loadCloud>, durations: Map<string, Timed>): { ms: number; path: string[] } {
  const best = new Map<string, { ms: number; path: string[] }>();
  for (const id of cloud.graph.order) {
    const preds = cloud.graph.preds.get(id) ?? [];
    const from = preds.map((p) => best.get(p.id)!).reduce<{ ms: number; path: string[] }>((a, b) => (b.ms > a.ms ? b : a), { ms: 0, path: [] });
    best.set(id, { ms: from.ms + durations.get(id)!.duration, path: [...from.path, id] });
  }
  return [...best.values()].reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, path: [] });
}

/** The original's schedule on the same durations: gated steps wait for the next poll. */
export function waitingRoomReplay(cloud: ReturnType<typeof loadCloud>, durations: Map<string, Timed>, seed = 1): number {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const end = new Map<string, number>();
  for (const id of cloud.graph.order) {
    const preds = cloud.graph.preds.get(id) ?? [];
    const chain = preds.filter((p) => p.kind === "chain").map((p) => end.get(p.id)!);
    const gates = preds.filter((p) => p.kind !== "chain").map((p) => end.get(p.id)!);
    const entered = Math.max(0, ...chain);
    let start = entered;
    if (gates.length) {
      const ready = Math.max(...gates);
      let poll = entered;
      while (poll < ready) poll += 60_000 + random() * 30_000;
      start = Math.max(poll, entered);
    }
    end.set(id, start + durations.get(id)!.duration);
  }
  return Math.max(...end.values());
}

export async function benchLab(): Promise<void> {
  await benchUp("bench", "pillar/lab", 5);
}

/**
 * `npm run bench -- cloud`: pillar/cloud (every role: the full cloud) from nothing on a lab of its
 * own, then the guest image into glance and Tempest's smoke profile, as `kinetic image upload` and
 * `kinetic verify` do. About 40 minutes on this 2-core machine; `npm run bench` without a name
 * leaves it out.
 */
export async function benchCloud(): Promise<void> {
  await benchUp("bench-cloud", "pillar/cloud", 10, true);
}

/** The machine's memory in use (MemTotal - MemAvailable), in bytes. */
function memoryInUse(): number {
  const m = fs.readFileSync("/proc/meminfo", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(m)?.[1] ?? 0);
  return (kb("MemTotal") - kb("MemAvailable")) * 1024;
}

async function benchUp(name: string, pillar: string, slowest: number, verify = false): Promise<void> {
  const t0 = Date.now();
  const idleMemory = memoryInUse();
  let peakMemory = idleMemory;
  const sampler = setInterval(() => (peakMemory = Math.max(peakMemory, memoryInUse())), 5000);
  const load = () => os.loadavg().map((l) => l.toFixed(1)).join(" ");
  const loadBefore = load();
  const lab = await startLabHarness(name, (m) => process.stderr.write(`lab: ${m}\n`), pillar);
  const labUpMs = Date.now() - t0;
  let result: EngineResult;
  try {
    result = await lab.run("up");
    if (result.error) throw new Error(`the ${pillar} up failed; the engine's log is kept in ${keepEngineLog(lab, name)}\n${failedSteps(lab)}`);
    const cloud = loadCloud(lab.pillarDir, { stack: lab.stack });
    const durations = stepDurations(cloud, result.steps);
    const cp = criticalPath(cloud, durations);
    const makespan = result.endedAt - result.startedAt;
    const replay = waitingRoomReplay(cloud, durations);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const lines = [
      `${name} benchmark: ${pillar}, ${cloud.endpoints.length} endpoints, ${cloud.graph.nodes.size} steps, one up from nothing (lab start ${s(labUpMs)}, not counted; load average before: ${loadBefore})`,
      `  makespan                                ${s(makespan)}`,
      `  critical path (measured step durations)  ${s(cp.ms)}   ${cp.path.map((id) => `${cloud.graph.nodes.get(id)!.endpoint.type}.${cloud.graph.nodes.get(id)!.step}`).join(" -> ")}`,
      `  orchestration overhead                  ${s(makespan - cp.ms)} (${((makespan / cp.ms - 1) * 100).toFixed(1)} %); target makespan <= ${s(cp.ms * 1.05 + 30_000)}: ${makespan <= cp.ms * 1.05 + 30_000 ? "met" : "missed"}`,
      `  the original's waiting room, replayed   ${s(replay)} (${(replay / makespan).toFixed(2)}x our makespan)`,
      `  slowest steps: ${[...durations.values()].sort((a, b) => b.duration - a.duration).slice(0, slowest).map((d) => `${d.id.replace(/-[0-9a-f-]{36}/, "")} ${s(d.duration)}`).join(", ")}`,
    ];
    if (verify) {
      const v = await verifyInLab(lab, cloud);
      lines.push(
        `  guest image into glance                 ${s(v.uploadMs)}`,
        `  Tempest smoke                           ${s(v.verifyMs)}: ${v.counts.passed} passed, ${v.counts.failed} failed, ${v.counts.skipped} skipped (${v.runDir})`,
        `  from nothing to verify's end            ${s(Date.now() - t0)} (lab start included)`,
      );
    }
    lines.push(`  the machine's memory in use: ${(idleMemory / 2 ** 30).toFixed(1)} GiB before, ${(peakMemory / 2 ** 30).toFixed(1)} GiB at the peak (sampled every 5 s); load average after: ${load()}`, "");
    process.stdout.write(lines.join("\n"));
  } finally {
    clearInterval(sampler);
    await lab.dispose();
  }
}

/** The engine's log of a failed run, kept where the lab's disposal does not remove it. */
function keepEngineLog(lab: LabHarness, name: string): string {
  const dir = path.join(process.cwd(), ".kinetic", "bench");
  fs.mkdirSync(dir, { recursive: true });
  const kept = path.join(dir, `${name}-${runStamp()}.engine.log`);
  fs.copyFileSync(path.join(lab.tmp, "engine.log"), kept);
  return kept;
}

/** Each failed step's last lines from the engine's log: what the stack's outputs would bury. */
function failedSteps(lab: LabHarness): string {
  const lines = fs.readFileSync(path.join(lab.tmp, "engine.log"), "utf8").split("\n");
  const failed = new Set(lines.filter((l) => l.includes("**creating failed**") || l.includes("**updating failed**")).map((l) => /Command (\S+)/.exec(l)?.[1]).filter((n): n is string => !!n));
  return [...failed].map((step) => `${step}:\n${lines.filter((l) => l.includes(`Command ${step} `)).slice(-25).join("\n")}`).join("\n\n");
}

/** test/lab/cloudVerify.ts's line. */
export interface VerifyFigures {
  image: string;
  uploadMs: number;
  verifyMs: number;
  counts: { passed: number; failed: number; skipped: number };
  exitCode: number;
  runDir: string;
}

/** The guest image into glance and Tempest's smoke profile, inside the lab's network, as the stack's admin. */
export function verifyInLab(lab: LabHarness, cloud: ReturnType<typeof loadCloud>): Promise<VerifyFigures> {
  const runDir = path.join(process.cwd(), ".kinetic", "verify", lab.stack, runStamp());
  return lab.inLab<VerifyFigures>(path.join(__dirname, "../lab/cloudVerify.ts"), [], { credentials: lab.admin(cloud), runDir });
}
