/**
 * `npm run bench -- engine [sample|synthetic] [options]`: a real
 * `pulumi preview` (the engine of engine/build.ts, the program inline through the Automation API,
 * as `npm start` runs it) of the sample pillar and of a synthetic pillar of 1,000 endpoints, side by
 * side with the same program under Pulumi's mocks (dry run, real provisioners and formulas), both
 * measured in this run, each case in its own process. The engine runs twice: as `npm start` runs it,
 * and with PULUMI_SKIP_CHECKPOINTS=true (see VARIANTS: what the engine spends a preview on).
 * `--variants default|skip`, `--endpoints N` (synthetic size), `--timeout-min M` (per case, 10).
 *
 * Memory is every process of the case, found by walking /proc every 200 ms from this (parent)
 * process: our Node.js process (Automation API + the inline program, i.e. the language runtime),
 * the `pulumi` CLI invocations (the engine), the command plugin and the dynamic-provider host.
 * Each gets its own peak (the kernel's VmHWM, last sample before exit); "total" is the largest sum
 * of their resident sets seen at one sample. CPU seconds per process are sampled the same way.
 *
 * Where the time goes comes from marks taken inside the case process: engine found, stack opened
 * (createOrSelectStack + config: separate `pulumi` runs), preview called, the program called by the
 * engine, declaration returned, every RegisterResource request sent and answered (the engine
 * answers once Check/Diff on the provider is done in preview), and the engine events.
 *
 * The case process is this file too: `engine.ts engine|mock <pillar> <scratch dir>`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { syntheticPillar } from "./syntheticPillar";

const ROOT = path.join(__dirname, "..", "..");
const SAMPLE_MS = 200;
const TICK = 100; // USER_HZ on Linux
const PAGE_KIB = 4;

// ---------------------------------------------------------------------------------------------
// The case processes
// ---------------------------------------------------------------------------------------------

/** Milliseconds since this process started (performance.timeOrigin). */
const now = () => performance.now();

export interface CaseResult {
  mode: "engine" | "mock";
  marks: Record<string, number>;
  resources: number;
  registrations?: number;
  preEvents?: number;
  outputsEvents?: number;
  warnings?: number;
  nodePeakMiB: number;
  nodeCpuS: number;
}

function progress(fields: Record<string, number>): void {
  process.stderr.write(`progress ${JSON.stringify(fields)}\n`);
}

function nodePeakMiB(): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return hwm ? Number(hwm[1]) / 1024 : NaN;
}

function cpuS(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function mockCase(pillar: string): Promise<CaseResult> {
  const marks: Record<string, number> = {};
  const { runProgram } = await import("../support/program");
  const { realProvisioners } = await import("../../components/provisioners");
  marks.imported = now();
  // The engine's preview is a dry run with the real formulas: the same here.
  const run = await runProgram({ config: { "kinetic:pillar": pillar }, dryRun: true, program: { provisioners: realProvisioners }, light: true });
  marks.programFinished = now();
  return { mode: "mock", marks, resources: run.resources.length, nodePeakMiB: nodePeakMiB(), nodeCpuS: cpuS() };
}

async function engineCase(pillar: string, scratch: string): Promise<CaseResult> {
  const marks: Record<string, number> = {};
  const pulumi = await import("@pulumi/pulumi");
  const { ensureEngine } = await import("../../engine/build");
  const { openStack } = await import("../../engine/stack");
  const { kineticInline } = await import("../../engine/program");
  const { BASE_CONFIG } = await import("../support/program");
  marks.imported = now();

  const engine = await ensureEngine((l) => process.stderr.write(`${l}\n`));
  marks.engineReady = now();

  let registrations = 0;
  let answered = 0;
  let preEvents = 0;
  let outputsEvents = 0;
  let warnings = 0;
  let resources = 0;
  const program = async () => {
    marks.programCalled = now();
    // Time every RegisterResource round trip: sent by the SDK, answered by the engine after the
    // provider's Check (and, with prior state, Diff).
    const monitor = (pulumi.runtime as unknown as { getMonitor(): Record<string, Function> }).getMonitor();
    for (const method of ["registerResource", "registerResourceOutputs"]) {
      const original = monitor[method].bind(monitor);
      monitor[method] = (req: unknown, cb: (...a: unknown[]) => void) => {
        const resource = method === "registerResource";
        if (resource) registrations++;
        marks[`last_${method}_sent`] = now();
        marks[`first_${method}_sent`] ??= now();
        return original(req, (...a: unknown[]) => {
          if (resource) answered++;
          marks[`last_${method}_answered`] = now();
          cb(...a);
        });
      };
    }
    const outputs = await kineticInline();
    marks.programDeclared = now();
    return outputs;
  };

  // The scale bench (scale.ts) runs rack stacks: their name and config come from its environment.
  const extra = JSON.parse(process.env.KINETIC_BENCH_CONFIG ?? "{}") as Record<string, string>;
  const config = Object.fromEntries(
    Object.entries({ ...BASE_CONFIG, "kinetic:pillar": pillar, ...extra }).map(([k, value]) => [k, { value, secret: /private|password|secret/i.test(k) }]),
  );
  // A rack's program reads its site's outputs (a StackReference): the site stack must exist, as
  // `kinetic preview --all` makes it first. Never up here: the rack previews with its seeds unknown.
  const site = extra["kinetic:siteStack"];
  if (site) await openStack({ engine, stack: site, program, backendDir: path.join(scratch, "backend"), passphrase: "kinetic-bench-only", workDir: path.join(scratch, "work") });
  const stack = await openStack({
    engine,
    stack: process.env.KINETIC_BENCH_STACK ?? "bench",
    program,
    backendDir: path.join(scratch, "backend"),
    passphrase: "kinetic-bench-only",
    workDir: path.join(scratch, "work"),
    config,
  });
  marks.stackOpened = now();

  const beat = setInterval(() => progress({ s: Math.round(now() / 1000), registrations, answered, preEvents, outputsEvents }), 5000);
  const tail: string[] = [];
  const errors: string[] = [];
  try {
    marks.previewCalled = now();
    const result = await stack.preview({
      color: "never",
      onOutput: (s) => {
        tail.push(s);
        if (tail.length > 40) tail.shift();
      },
      onEvent: (e) => {
        marks.firstEvent ??= now();
        if (e.preludeEvent) marks.prelude = now();
        if (e.resourcePreEvent) {
          preEvents++;
          marks.firstResourcePre ??= now();
          marks.lastResourcePre = now();
        }
        if (e.resOutputsEvent) {
          outputsEvents++;
          marks.lastResOutputs = now();
        }
        if (e.diagnosticEvent?.severity === "warning") warnings++;
        if (e.diagnosticEvent?.severity === "error") errors.push(`${e.diagnosticEvent.urn ?? ""}: ${e.diagnosticEvent.message}`.trim());
        if (e.summaryEvent) marks.summary = now();
      },
    });
    marks.previewReturned = now();
    // The program has finished when its last registration (a resource, or a component's or the
    // stack's outputs) is answered.
    marks.programFinished = Math.max(marks.last_registerResource_answered ?? 0, marks.last_registerResourceOutputs_answered ?? 0);
    resources = Object.values(result.changeSummary).reduce((n, c) => n + (c ?? 0), 0);
  } catch (e) {
    // The engine's own error diagnostics last: the report shows the end of stderr.
    const first = (e instanceof Error ? e.message : String(e)).split("\n").find((l) => /error/i.test(l)) ?? "";
    process.stderr.write(`${tail.join("").slice(-2000)}\n${first}\n${errors.map((m) => `engine error: ${m.slice(0, 600)}`).join("\n")}\n`);
    process.exit(1);
  } finally {
    clearInterval(beat);
  }
  return { mode: "engine", marks, resources, registrations, preEvents, outputsEvents, warnings, nodePeakMiB: nodePeakMiB(), nodeCpuS: cpuS() };
}

// ---------------------------------------------------------------------------------------------
// The bench: runs each case in a child process and watches its whole process tree
// ---------------------------------------------------------------------------------------------

export type Role = "node" | "pulumi" | "command" | "dynamic" | "other";
const ROLES: Role[] = ["node", "pulumi", "command", "dynamic", "other"];

interface ProcSample {
  role: Role;
  peakKiB: number;
  cpuTicks: number;
}

export interface TreeStats {
  /** Per role: the largest VmHWM of any of its processes, CPU summed over its processes. */
  peakMiB: Record<Role, number>;
  cpuS: Record<Role, number>;
  processes: Record<Role, number>;
  /** The largest sum of resident sets over the whole tree at one sample. */
  totalAtOnceMiB: number;
}

function readProc(pid: number): { ppid: number; cpuTicks: number; rssKiB: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss 24.
    return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]), rssKiB: Number(f[21]) * PAGE_KIB };
  } catch {
    return undefined;
  }
}

function roleOf(pid: number, root: number): Role {
  if (pid === root) return "node";
  let cmd = "";
  try {
    cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 3).join(" ");
  } catch {
    return "other";
  }
  if (cmd.includes("dynamic-provider")) return "dynamic";
  if (cmd.includes("pulumi-resource-command")) return "command";
  if (/(^|\/)pulumi( |$)/.test(cmd)) return "pulumi";
  return "other";
}

/** Samples the process tree under `root` until stop() is called. */
function watchTree(root: number): { stop(): TreeStats; kill(): void } {
  const seen = new Map<number, ProcSample>();
  let totalAtOnce = 0;
  const sample = () => {
    const parent = new Map<number, number>();
    const info = new Map<number, { cpuTicks: number; rssKiB: number }>();
    for (const d of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      const p = readProc(Number(d));
      if (!p) continue;
      parent.set(Number(d), p.ppid);
      info.set(Number(d), p);
    }
    const inTree = (pid: number) => {
      for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === root) return true;
      return false;
    };
    let total = 0;
    for (const [pid, p] of info) {
      if (!inTree(pid)) continue;
      total += p.rssKiB;
      let s = seen.get(pid);
      // A shell that execs into the dynamic-provider host changes role: look again while "other".
      if (!s || s.role === "other") s = { role: roleOf(pid, root), peakKiB: s?.peakKiB ?? 0, cpuTicks: 0 };
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (hwm) s.peakKiB = Math.max(s.peakKiB, Number(hwm[1]));
      } catch {
        // exited meanwhile
      }
      s.cpuTicks = p.cpuTicks;
      seen.set(pid, s);
    }
    totalAtOnce = Math.max(totalAtOnce, total);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  sample();
  const zero = () => Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<Role, number>;
  return {
    stop() {
      clearInterval(timer);
      const stats: TreeStats = { peakMiB: zero(), cpuS: zero(), processes: zero(), totalAtOnceMiB: totalAtOnce / 1024 };
      for (const s of seen.values()) {
        stats.peakMiB[s.role] = Math.max(stats.peakMiB[s.role], s.peakKiB / 1024);
        stats.cpuS[s.role] += s.cpuTicks / TICK;
        stats.processes[s.role]++;
      }
      return stats;
    },
    kill() {
      // Only the processes of this case: the child and its descendants, by pid.
      for (const pid of [...seen.keys()].reverse()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    },
  };
}

export interface Measured {
  result?: CaseResult;
  /** Wall time of the whole case process, seen from here (Node.js + ts-node startup included). */
  wallMs: number;
  tree: TreeStats;
  load: [number, number];
  /** Why it stopped, when it did not finish. */
  failure?: string;
  lastProgress?: Record<string, number>;
}

export function runCase(mode: "engine" | "mock", pillar: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Measured> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `kinetic-bench-${mode}-`));
  fs.mkdirSync(path.join(scratch, "work"));
  const load0 = os.loadavg()[0];
  const started = Date.now();
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, mode, pillar, scratch], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tree = watchTree(child.pid!);
  let stdout = "";
  let stderr = "";
  let lastProgress: Record<string, number> | undefined;
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => {
    for (const line of b.toString().split("\n")) {
      if (line.startsWith("progress ")) lastProgress = JSON.parse(line.slice(9));
      else if (line.trim()) stderr = (stderr + line + "\n").slice(-8000);
    }
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    tree.kill();
  }, timeoutMs);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const wallMs = Date.now() - started;
      const stats = tree.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
      const load: [number, number] = [load0, os.loadavg()[0]];
      const last = stdout.trim().split("\n").at(-1);
      if (code === 0 && last?.startsWith("{")) {
        resolve({ result: JSON.parse(last) as CaseResult, wallMs, tree: stats, load });
      } else {
        const why = timedOut ? `stopped after ${Math.round(timeoutMs / 60000)} min` : `exit ${code ?? signal}${signal === "SIGKILL" ? " (killed: out of memory?)" : ""}`;
        resolve({ wallMs, tree: stats, load, failure: `${why}\n${stderr.trim().split("\n").slice(-30).join("\n")}`, lastProgress });
      }
    });
  });
}

const s = (ms?: number) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
const mib = (m?: number) => (m === undefined || !m ? "-" : m.toFixed(0));
const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(1)}x` : "-");

function between(m: Record<string, number>, from: string, to: string): number | undefined {
  return m[from] !== undefined && m[to] !== undefined ? m[to] - m[from] : undefined;
}

/**
 * The engine as `npm start` runs it, and with PULUMI_SKIP_CHECKPOINTS=true: Pulumi 3.276's file
 * backend gives a preview a SnapshotManager (with a discarding persister) whose service loop
 * serializes the whole deployment, secrets encrypted, after every step (backend/snapshot.go
 * defaultServiceLoop): quadratic in the number of resources, for nothing. The variable selects the
 * loop that only keeps the snapshot in memory.
 */
const VARIANTS: { key: string; head: string; env: Record<string, string> }[] = [
  { key: "default", head: "engine", env: {} },
  { key: "skip", head: "skip-ckpt", env: { PULUMI_SKIP_CHECKPOINTS: "true" } },
];

function report(label: string, engines: Measured[], heads: string[], mock: Measured): string[] {
  const m = mock.result?.marks ?? {};
  const out: string[] = [];
  const W = 58;
  const cols = (cells: string[]) => cells.map((c) => c.padStart(10)).join("");
  const row = (what: string, cells: string[]) => out.push(`  ${what.padEnd(W)}${cols(cells)}`);
  // Per engine variant: its figure, then its ratio to the mocks; then the mocks' figure.
  const triple = (what: string, eng: (x: Measured) => number | undefined, mocked: number | undefined, fmt: (v?: number) => string) =>
    row(what, [...engines.flatMap((x) => [fmt(eng(x)), ratio(eng(x), mocked)]), fmt(mocked)]);
  out.push(`${label}: ${engines.map((x, i) => `${x.result?.resources ?? "?"} resources in the ${heads[i]} preview`).join(", ")}, ${mock.result?.resources ?? "?"} declared under mocks`);
  row("", [...heads.flatMap((h) => [h, "/mocks"]), "mocks"]);
  triple("wall time, whole process (s)", (x) => x.wallMs, mock.wallMs, s);
  triple("  program: called -> every registration answered (s)", (x) => between(x.result?.marks ?? {}, "programCalled", "programFinished"), between(m, "imported", "programFinished"), s);
  triple("peak RSS, sum over all processes at one sample (MiB)", (x) => x.tree.totalAtOnceMiB, mock.tree.totalAtOnceMiB, mib);
  triple("  our node process: program + Automation API (MiB)", (x) => x.tree.peakMiB.node, mock.tree.peakMiB.node, mib);
  for (const [role, what] of [["pulumi", "pulumi CLI, largest of its runs"], ["command", "command plugin"], ["dynamic", "dynamic-provider host (node)"]] as [Role, string][]) {
    triple(`  ${what} (MiB)`, (x) => x.tree.peakMiB[role], undefined, mib);
  }
  triple("CPU s, node process", (x) => x.tree.cpuS.node, mock.tree.cpuS.node, (v) => (v === undefined ? "-" : v.toFixed(1)));
  for (const [role, what] of [["pulumi", "pulumi CLI, all runs"], ["command", "command plugin"], ["dynamic", "dynamic-provider host"]] as [Role, string][]) {
    triple(`CPU s, ${what}`, (x) => x.tree.cpuS[role], undefined, (v) => (v === undefined ? "-" : v.toFixed(1)));
  }
  out.push(`  engine timeline, s (at: s since the case process started)`);
  const steps: [string, string | undefined, string][] = [
    ["node + ts-node + imports", undefined, "imported"],
    ["ensureEngine (cached build)", "imported", "engineReady"],
    ["open stack: select/create + set config (pulumi runs)", "engineReady", "stackOpened"],
    ["preview called -> first engine event", "previewCalled", "firstEvent"],
    ["preview called -> program called (engine, plugins up)", "previewCalled", "programCalled"],
    ["program called -> declaration returned (synchronous)", "programCalled", "programDeclared"],
    ["program called -> last RegisterResource sent", "programCalled", "last_registerResource_sent"],
    ["last RegisterResource sent -> answered", "last_registerResource_sent", "last_registerResource_answered"],
    ["first -> last resource step event", "firstResourcePre", "lastResourcePre"],
    ["program finished -> preview returned", "programFinished", "previewReturned"],
  ];
  row("", heads.flatMap((h) => [h, "at"]));
  for (const [what, from, to] of steps) {
    row(`  ${what}`, engines.flatMap((x) => {
      const e = x.result?.marks ?? {};
      return [s(from ? between(e, from, to) : e[to]), s(e[to])];
    }));
  }
  row("  registrations / step events / warnings", engines.flatMap((x) => [x.result ? `${x.result.registrations}/${x.result.preEvents}/${x.result.warnings}` : "-", ""]));
  out.push(`  load average (1 min) before/after: ${[...engines.map((x, i) => [heads[i], x] as const), ["mocks", mock] as const].map(([h, x]) => `${h} ${x.load.map((l) => l.toFixed(2)).join("/")}`).join(", ")}`);
  for (const [what, x] of [...engines.map((x, i) => [heads[i], x] as const), ["mocks", mock] as const]) {
    if (x.failure) {
      out.push(`  ${what} DID NOT FINISH after ${s(x.wallMs)} s: ${x.failure.split("\n")[0]}`);
      if (x.lastProgress) out.push(`    last progress (s since start, RegisterResource sent/answered, step events): ${JSON.stringify(x.lastProgress)}`);
      out.push(...x.failure.split("\n").slice(1).slice(-14).map((l) => `    | ${l.slice(0, 600)}`));
    }
  }
  return out;
}

export async function benchEngine(args: string[]): Promise<void> {
  let endpoints = 1000;
  let timeoutMin = 10;
  let variants = VARIANTS;
  const only: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--endpoints") endpoints = Number(args[++i]);
    else if (args[i] === "--timeout-min") timeoutMin = Number(args[++i]);
    else if (args[i] === "--variants") {
      const keys = args[++i].split(",");
      variants = VARIANTS.filter((v) => keys.includes(v.key));
    } else only.push(args[i]);
  }
  // Build (or find) the engine before anything is timed.
  const { ensureEngine } = await import("../../engine/build");
  const engine = await ensureEngine((l) => process.stderr.write(`${l}\n`));
  console.log(
    `engine benchmark: pulumi preview (Pulumi ${engine.version}, ${engine.source}, program inline, file backend) vs the same program under mocks; ` +
      `node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(`columns: engine = with the file backend's checkpoints (Pulumi's default); skip-ckpt = PULUMI_SKIP_CHECKPOINTS=true, as npm start and the engine tests run previews; /mocks = ratio to the mocks; timeout ${timeoutMin} min per case`);
  console.log(`memory and CPU: every process of a case, sampled every ${SAMPLE_MS} ms (a process's last ${SAMPLE_MS} ms may be missed)`);
  const cases: [string, string, () => string][] = [
    ["sample", "pillar/sample", () => "pillar/sample"],
    ["synthetic", `synthetic ${endpoints.toLocaleString("en")} endpoints`, () => syntheticPillar(endpoints)],
  ];
  for (const [key, label, make] of cases) {
    if (only.length && !only.includes(key)) continue;
    const pillar = make();
    try {
      const mock = await runCase("mock", pillar, timeoutMin * 60_000);
      const engines: Measured[] = [];
      for (const v of variants) engines.push(await runCase("engine", pillar, timeoutMin * 60_000, v.env));
      console.log(report(label, engines, variants.map((v) => v.head), mock).join("\n"));
      if (key === "sample") {
        console.log(
          `  goal: a pull-request preview of the sample cloud in < 30 s: ` +
            engines.map((x, i) => `${variants[i].head} ${x.result ? (x.wallMs < 30_000 ? "met" : "MISSED") : "FAILED"} (${s(x.wallMs)} s)`).join(", "),
        );
      }
    } finally {
      if (path.isAbsolute(pillar) && pillar.startsWith(os.tmpdir())) fs.rmSync(pillar, { recursive: true, force: true });
    }
  }
}

if (require.main === module) {
  const [mode, pillar, scratch] = process.argv.slice(2);
  (mode === "engine" ? engineCase(pillar, scratch) : mockCase(pillar)).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      // The SDK may keep handles open after a preview: the measurement is done.
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
