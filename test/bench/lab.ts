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
import { loadCloud } from "../../pillar";
import type { EngineResult, StepRecord } from "../lab/engineRun";
import { startLabHarness } from "../lab/labHarness";

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
  const t0 = Date.now();
  const lab = await startLabHarness("bench", (m) => process.stderr.write(`lab: ${m}\n`));
  const labUpMs = Date.now() - t0;
  let result: EngineResult;
  try {
    result = await lab.run("up");
    if (result.error) throw new Error(`the lab up failed: ${result.error}`);
    const cloud = loadCloud(lab.pillarDir, { stack: lab.stack });
    const durations = stepDurations(cloud, result.steps);
    const cp = criticalPath(cloud, durations);
    const makespan = result.endedAt - result.startedAt;
    const replay = waitingRoomReplay(cloud, durations);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    process.stdout.write(
      [
        `lab benchmark: pillar/lab, ${cloud.endpoints.length} endpoints, ${cloud.graph.nodes.size} steps, one up from nothing (lab start ${s(labUpMs)}, not counted)`,
        `  makespan                                ${s(makespan)}`,
        `  critical path (measured step durations)  ${s(cp.ms)}   ${cp.path.map((id) => `${cloud.graph.nodes.get(id)!.endpoint.type}.${cloud.graph.nodes.get(id)!.step}`).join(" -> ")}`,
        `  orchestration overhead                  ${s(makespan - cp.ms)} (${((makespan / cp.ms - 1) * 100).toFixed(1)} %); target makespan <= ${s(cp.ms * 1.05 + 30_000)}: ${makespan <= cp.ms * 1.05 + 30_000 ? "met" : "missed"}`,
        `  the original's waiting room, replayed   ${s(replay)} (${(replay / makespan).toFixed(2)}x our makespan)`,
        `  slowest steps: ${[...durations.values()].sort((a, b) => b.duration - a.duration).slice(0, 5).map((d) => `${d.id.replace(/-[0-9a-f-]{36}/, "")} ${s(d.duration)}`).join(", ")}`,
        "",
      ].join("\n"),
    );
  } finally {
    await lab.dispose();
  }
}
