/**
 * `npm run bench -- discovery [--sample N] [--probe-timeout MS] [--auth session]`: our concurrent discovery against the
 * original Kinetic's sequential scan, on the same simulated /22, in the same run.
 *
 * The /22 is 127.10.0.0/22 (1,022 host addresses): 64 simulated BMCs (every vendor profile, 50-500 ms
 * latency per response), 64 *silent* addresses whose SYNs are dropped, and the rest refuse (nothing
 * listens, the kernel answers RST).
 *
 * Isolation: everything runs inside a network namespace the benchmark creates (`ip netns add`,
 * iproute2) and always deletes; the silent addresses are iptables DROP rules on that namespace's own
 * `lo`, so nothing on the host's loopback is touched and the rules vanish with the namespace. Needs
 * root (CAP_NET_ADMIN). The outer process sets up the namespace and re-runs this file inside it; the
 * inner one starts the simulator and runs each scan in its own child process so each gets its own
 * wall time and peak RSS (`process.resourceUsage().maxRSS`).
 *
 * The original algorithm (KINETIC.md, "Redfish as the original uses it"): for every address in order,
 * a TCP connect with a 0.5 s timeout; if it connects, read the service root, log in with a session,
 * GET /redfish/v1/Systems, GET the first member, read UUID, log out. It is run for real over the whole
 * /22 unless `--sample N` is given, in which case it runs on an evenly spaced sample of N addresses
 * with the same mix and the time is extrapolated linearly (and the output says so).
 */
import { execFileSync, spawn } from "node:child_process";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";

const RANGE = "127.10.0.0/22";
const BMC_COUNT = 64;
const SILENT_COUNT = 64;
const PROFILES = ["generic", "dell", "hpe", "supermicro", "openbmc", "ami", "lenovo", "bladed"] as const;
const USER = "admin";
const PASSWORD = "bench-password";

interface Layout {
  hosts: string[];
  bmcs: string[];
  silent: string[];
}

/** Deterministic placement (a fixed LCG), so outer and inner processes agree without talking. */
export function layout(): Layout {
  const hosts: string[] = [];
  for (let i = 1; i < 1023; i++) hosts.push(`127.10.${i >> 8}.${i & 255}`);
  let seed = 0x5eed;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const shuffled = hosts.map((h) => [rand(), h] as const).sort((a, b) => a[0] - b[0]).map(([, h]) => h);
  const byOrder = (a: string, b: string): number => hosts.indexOf(a) - hosts.indexOf(b);
  return { hosts, bmcs: shuffled.slice(0, BMC_COUNT).sort(byOrder), silent: shuffled.slice(BMC_COUNT, BMC_COUNT + SILENT_COUNT).sort(byOrder) };
}

interface ScanReport {
  algorithm: string;
  wallMs: number;
  maxRssKb: number;
  baselineRssKb: number;
  found: number;
  addresses: number;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

// ------------------------------------------------------------------ outer: namespace

export async function benchDiscovery(args: string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("discovery bench: needs root to create a network namespace (ip netns add) and iptables rules");
  const ns = `kinetic-bench-${process.pid}`;
  const cleanup = (): void => {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      /* already gone */
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup();
    process.kill(process.pid, sig);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  removeStaleNamespaces();
  try {
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
    // One chain, one DROP per silent address: SYNs vanish, so connect() waits for its timeout.
    const rules = ["*filter", ":INPUT ACCEPT [0:0]", ...layout().silent.map((a) => `-A INPUT -i lo -d ${a}/32 -p tcp --dport 443 -j DROP`), "COMMIT", ""].join("\n");
    execFileSync("ip", ["netns", "exec", ns, "iptables-restore"], { input: rules });
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-r", "ts-node/register/transpile-only", __filename, "inner", ...args], {
        stdio: "inherit",
        cwd: path.resolve(__dirname, "../.."),
      });
      child.on("error", reject);
      child.on("exit", (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`discovery bench: inner run exited with ${code}`);
  } finally {
    cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

/** Namespaces of earlier runs that were killed before their cleanup (SIGKILL): their process is gone. */
function removeStaleNamespaces(): void {
  const list = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  for (const m of list.matchAll(/^kinetic-bench-(\d+)/gm)) {
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) execFileSync("ip", ["netns", "del", m[0]], { stdio: "ignore" });
  }
}

// ------------------------------------------------------------------ inner: simulator + scans

async function inner(args: string[]): Promise<void> {
  const { startSimulator } = await import("../../simulator");
  const { createTestPki } = await import("../../simulator/pki");
  const l = layout();
  const probeMs = Number(flag(args, "probe-timeout") ?? 500);
  const sample = flag(args, "sample") !== undefined ? Number(flag(args, "sample")) : undefined;
  const pki = createTestPki();
  const sim = await startSimulator({
    tls: pki,
    bmcs: l.bmcs.map((address, i) => ({ address, profile: PROFILES[i % PROFILES.length], user: USER, password: PASSWORD, latencyMs: [50, 500] as [number, number] })),
  });
  try {
    // Sanity: the silent addresses really are silent, the refusing ones refuse.
    const probe = (host: string): Promise<string> =>
      new Promise((resolve) => {
        const s = net.connect({ host, port: 443 });
        const t = setTimeout(() => (s.destroy(), resolve("timeout")), 300);
        s.once("connect", () => (clearTimeout(t), s.destroy(), resolve("open")));
        s.once("error", (e: NodeJS.ErrnoException) => (clearTimeout(t), resolve(e.code ?? "error")));
      });
    const refusing = l.hosts.find((h) => !l.bmcs.includes(h) && !l.silent.includes(h))!;
    const checks = [await probe(l.silent[0]), await probe(refusing), await probe(l.bmcs[0])];
    if (checks.join() !== "timeout,ECONNREFUSED,open") throw new Error(`discovery bench: address setup is wrong (silent/refused/bmc probed ${checks.join("/")})`);

    process.stdout.write(
      `discovery bench: ${RANGE} (${l.hosts.length} addresses): ${BMC_COUNT} simulated BMCs (${PROFILES.join(", ")}; 50-500 ms per response), ` +
        `${SILENT_COUNT} silent (SYN dropped by iptables in netns), ${l.hosts.length - BMC_COUNT - SILENT_COUNT} refusing; connect timeout ${probeMs} ms, ${os.cpus().length} CPUs\n`,
    );
    const ours = await runChild(["scan", flag(args, "auth") === "session" ? "ours-session" : "ours", String(probeMs), pki.caCert]);
    const leftOurs = sim.bmcs.reduce((n, b) => n + b.openSessions(), 0);
    const targets = sample === undefined ? l.hosts : sampleHosts(l, sample);
    const seq = await runChild(["scan", "sequential", String(probeMs), pki.caCert, ...targets]);
    const leftSeq = sim.bmcs.reduce((n, b) => n + b.openSessions(), 0);
    const factor = l.hosts.length / targets.length;
    const seqWall = seq.wallMs * factor;
    const mb = (kb: number): string => (kb / 1024).toFixed(1);
    process.stdout.write(
      `ours (concurrent${ours.algorithm === "ours-session" ? ", sessions" : ", Basic reads"}): ${(ours.wallMs / 1000).toFixed(2)} s wall, peak RSS ${mb(ours.maxRssKb)} MB (${mb(ours.maxRssKb - ours.baselineRssKb)} MB above idle), ${ours.found} systems found, ${leftOurs} sessions left open\n`,
    );
    process.stdout.write(
      `original (sequential, sessions): ${(seqWall / 1000).toFixed(2)} s wall${
        factor === 1 ? "" : ` EXTRAPOLATED from ${targets.length} evenly spaced addresses (${(seq.wallMs / 1000).toFixed(2)} s measured) x ${factor.toFixed(2)}`
      }, peak RSS ${mb(seq.maxRssKb)} MB (${mb(seq.maxRssKb - seq.baselineRssKb)} MB above idle), ${seq.found} systems found, ${leftSeq} sessions left open\n`,
    );
    const ratio = seqWall / ours.wallMs;
    process.stdout.write(
      `ratio: ours is ${ratio.toFixed(1)}x faster (target >= 50x); ours ${(ours.wallMs / 1000).toFixed(2)} s vs target connect timeout + 2 s = ${((probeMs + 2000) / 1000).toFixed(2)} s: ${
        ratio >= 50 && ours.wallMs <= probeMs + 2000 ? "met" : "NOT met"
      }\n`,
    );
  } finally {
    await sim.stop();
  }
}

/** Every k-th address so the sample keeps the BMC / silent / refused proportions. */
function sampleHosts(l: Layout, n: number): string[] {
  const step = l.hosts.length / n;
  return Array.from({ length: n }, (_, i) => l.hosts[Math.floor(i * step)]);
}

function runChild(args: string[]): Promise<ScanReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", __filename, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return reject(new Error(`scan child ${args[1]} exited ${code}: ${out}`));
      resolve(JSON.parse(line) as ScanReport);
    });
  });
}

// ------------------------------------------------------------------ scan children

async function scanOurs(probeMs: number, ca: string, session: boolean): Promise<number> {
  const r = await discover({ cidrs: [RANGE], user: USER, password: PASSWORD, tls: { caBundle: ca }, probeTimeoutMs: probeMs, ...(session ? { auth: "session" as const } : {}) });
  if (r.failures.length) process.stderr.write(`ours: ${r.failures.length} failures, first: ${r.failures[0].message}\n`);
  return r.systems.length + r.withoutUuid.length + r.ambiguous.reduce((n, a) => n + a.locations.length, 0);
}

/** The original algorithm, one address after the other. */
async function scanSequential(probeMs: number, ca: string, hosts: string[]): Promise<number> {
  let found = 0;
  for (const host of hosts) {
    if ((await tcpProbe(host, 443, probeMs)) !== "open") continue;
    const client = new RedfishClient({ address: host, user: USER, password: PASSWORD, auth: "session", tls: { caBundle: ca }, maxInFlight: 1, connectTimeoutMs: probeMs });
    try {
      await client.withSession(async (c) => {
        const root = await c.serviceRoot();
        const systems = (await c.get((root.Systems as { "@odata.id": string })["@odata.id"])).body;
        const first = (systems?.Members as { "@odata.id": string }[])[0]["@odata.id"];
        if ((await c.get(first)).body?.UUID) found++;
      });
    } catch (e) {
      process.stderr.write(`sequential: ${host}: ${(e as Error).message}\n`);
    } finally {
      await client.close();
    }
  }
  return found;
}

// Loaded before the clock starts: module loading (ts-node, undici) is not part of either scan.
let discover: typeof import("../../providers/redfish/discovery").discover;
let RedfishClient: typeof import("../../providers/redfish/client").RedfishClient;
let tcpProbe: typeof import("../../providers/redfish/probe").tcpProbe;

async function scanChild(args: string[]): Promise<void> {
  const [algorithm, probeText, ca, ...hosts] = args;
  ({ discover } = await import("../../providers/redfish/discovery"));
  ({ RedfishClient } = await import("../../providers/redfish/client"));
  ({ tcpProbe } = await import("../../providers/redfish/probe"));
  const baselineRssKb = Math.round(process.memoryUsage().rss / 1024);
  const start = performance.now();
  const found = algorithm.startsWith("ours") ? await scanOurs(Number(probeText), ca, algorithm === "ours-session") : await scanSequential(Number(probeText), ca, hosts);
  const wallMs = performance.now() - start;
  const report: ScanReport = { algorithm, wallMs, maxRssKb: process.resourceUsage().maxRSS, baselineRssKb, found, addresses: algorithm.startsWith("ours") ? 1022 : hosts.length };
  process.stdout.write(JSON.stringify(report) + "\n");
}

if (require.main === module) {
  const [mode, ...rest] = process.argv.slice(2);
  const run = mode === "inner" ? inner(rest) : mode === "scan" ? scanChild(rest) : benchDiscovery(process.argv.slice(2));
  run.catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
