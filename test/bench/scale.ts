/**
 * `npm run bench -- scale [--endpoints N] [--racks R] [--timeout-min M]`: the real-engine preview of
 * the synthetic pillar (1,000 endpoints by default) as one stack, then the same endpoints as R rack
 * stacks (10) and the site (syntheticPillar's `racks`), previewed side by side as `kinetic preview
 * --all` runs them (at most STACKS_AT_ONCE at a time). Each stack is a process tree of its own
 * (engine.ts runCase: our node process, the pulumi CLI runs, the plugins), with
 * PULUMI_SKIP_CHECKPOINTS as `kinetic preview` sets it. Printed: wall time, the largest process and
 * the largest sum over one stack's processes, summed over the stacks, and the load average (the
 * machine may be shared: the figures are what this run saw, not an idle machine's).
 */
import * as os from "node:os";
import { boundedAll, STACKS_AT_ONCE } from "../../cli/stackSet";
import { Measured, runCase } from "./engine";
import { syntheticPillar } from "./syntheticPillar";

const s = (ms: number) => (ms / 1000).toFixed(1);
const mib = (m: number) => m.toFixed(0);
const largestProcess = (m: Measured) => Math.max(...Object.values(m.tree.peakMiB));

function line(label: string, m: Measured): string {
  const r = m.result;
  return `  ${label.padEnd(14)} ${s(m.wallMs).padStart(8)} s ${String(r?.resources ?? "-").padStart(7)} resources  largest process ${mib(largestProcess(m)).padStart(5)} MiB (node ${mib(m.tree.peakMiB.node)}, pulumi ${mib(m.tree.peakMiB.pulumi)}, command ${mib(m.tree.peakMiB.command)}, dynamic ${mib(m.tree.peakMiB.dynamic)})  all processes at once ${mib(m.tree.totalAtOnceMiB).padStart(5)} MiB  load ${m.load.map((l) => l.toFixed(1)).join("/")}${m.failure ? `  FAILED: ${m.failure.split("\n").slice(0, 3).join(" | ").slice(0, 400)}` : ""}`;
}

export async function benchScale(args: string[]): Promise<void> {
  let endpoints = 1000;
  let racks = 10;
  let timeoutMin = 20;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--endpoints") endpoints = Number(args[++i]);
    else if (args[i] === "--racks") racks = Number(args[++i]);
    else if (args[i] === "--timeout-min") timeoutMin = Number(args[++i]);
    else throw new Error(`scale: unexpected argument ${args[i]}`);
  }
  const timeoutMs = timeoutMin * 60_000;
  const env = { PULUMI_SKIP_CHECKPOINTS: "true" };
  const out = (l: string) => process.stdout.write(`${l}\n`);
  out(`scale: ${endpoints} endpoints, real-engine preview; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} at the start`);

  const one = await runCase("engine", syntheticPillar(endpoints), timeoutMs, env);
  out(`one stack:`);
  out(line("bench", one));

  const pillar = syntheticPillar(endpoints, { racks });
  const parts = ["site", ...Array.from({ length: racks }, (_, r) => `rack${r}`)];
  const started = Date.now();
  const split = await boundedAll(parts, STACKS_AT_ONCE, (part) =>
    runCase("engine", pillar, timeoutMs, {
      ...env,
      KINETIC_BENCH_STACK: part === "site" ? "bench" : `bench-${part}`,
      KINETIC_BENCH_CONFIG: JSON.stringify(part === "site" ? {} : { "kinetic:rack": part, "kinetic:siteStack": "bench" }),
    }),
  );
  const wall = Date.now() - started;
  out(`${racks} rack stacks and the site, ${STACKS_AT_ONCE} at a time (the site never up: the racks preview with the site's seeds unknown):`);
  parts.forEach((p, i) => out(line(p, split[i])));
  const sum = (f: (m: Measured) => number) => split.reduce((n, m) => n + f(m), 0);
  out(`  wall time, all ${parts.length} stacks: ${s(wall)} s (one stack: ${s(one.wallMs)} s); wall times summed ${s(sum((m) => m.wallMs))} s`);
  out(`  largest process: ${mib(Math.max(...split.map(largestProcess)))} MiB (one stack: ${mib(largestProcess(one))} MiB); each stack's processes at once, summed over the stacks: ${mib(sum((m) => m.tree.totalAtOnceMiB))} MiB (one stack: ${mib(one.tree.totalAtOnceMiB)} MiB)`);
  out(`  resources: ${sum((m) => m.result?.resources ?? 0)} over the stacks (one stack: ${one.result?.resources ?? "-"})`);
  out(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} (a shared machine: not idle figures)`);
  if (one.failure || split.some((m) => m.failure)) process.exitCode = 1;
}
