/**
 * `kinetic lab up | down | status`: start the lab's supervisor (lab/supervisor.ts) in the lab's
 * network namespace, stop it and everything it started, and show what runs.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { mountsUnder, processesIn, sweepHosts } from "./bootedHost";
import { debianRootUnavailable, ensureDebianRoot } from "./debianRoot";
import { isLabStack, LAB_STACKS, labLayout, LabLayout } from "./layout";
import { labSpec } from "./labSpec";
import { ensureLabNetwork, netnsExists, removeLabNetwork } from "./network";
import { detachAllOsdDisks } from "./osdDisks";
import type { LabStatus } from "./supervisor";

/**
 * The lab that `npm start` and every lab command use unless told `--stack lab`: the full cloud,
 * the cloud a newcomer can log in to and boot a server in (issue 20). The small lab (pxe, one
 * controller, mysql, memcached, keystone) stays for a quicker look and for the lab's end-to-end test.
 */
export const LAB_STACK = "lab-cloud";

const ROOT = path.resolve(__dirname, "..");

export interface LabOptions {
  pillarDir?: string;
  stack?: string;
  /** The stack's config file, whose `kinetic:sshPublicKey` the foundation hosts authorize. Default `Pulumi.<stack>.yaml`. */
  stackFile?: string;
  layout?: LabLayout;
  log?: (m: string) => void;
}

/** PID of the running supervisor, or undefined. */
export function supervisorPid(layout: LabLayout = labLayout()): number | undefined {
  try {
    const pid = Number(fs.readFileSync(layout.pidFile, "utf8").trim());
    process.kill(pid, 0);
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("supervisor")) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

export function readStatus(layout: LabLayout = labLayout()): LabStatus | undefined {
  if (!supervisorPid(layout)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(layout.statusFile, "utf8")) as LabStatus;
  } catch {
    return undefined;
  }
}

/** Starts the lab unless it runs; resolves once its hosts are booted and its BMCs listen. */
export async function labUp(opts: LabOptions = {}): Promise<LabStatus> {
  const stack = opts.stack ?? LAB_STACK;
  const layout = opts.layout ?? labLayout(process.env, stack);
  const log = opts.log ?? ((m: string) => process.stderr.write(`lab: ${m}\n`));
  const why = debianRootUnavailable();
  if (why) throw new Error(`the lab cannot run here: ${why}`);
  const running = readStatus(layout);
  if (running) return running;
  const pillarDir = path.resolve(ROOT, opts.pillarDir ?? LAB_STACKS[stack] ?? LAB_STACKS[LAB_STACK]);
  const spec = labSpec(pillarDir, stack);
  fs.mkdirSync(layout.dir, { recursive: true });
  // The cached Debian root, in the foreground: a cold build takes minutes and says so.
  ensureDebianRoot(log);
  ensureLabNetwork(layout.netns, spec.bridges);
  for (const f of ["ready", path.basename(layout.statusFile)]) fs.rmSync(path.join(layout.dir, f), { force: true });
  const out = fs.openSync(layout.logFile, "a");
  const tsNode = require.resolve("ts-node/register/transpile-only");
  const child = spawn(
    "nsenter",
    [`--net=/run/netns/${layout.netns}`, process.execPath, "-r", tsNode, path.join(__dirname, "supervisor.ts"), pillarDir, opts.stackFile ?? path.join(ROOT, `Pulumi.${stack}.yaml`), stack],
    { cwd: ROOT, detached: true, stdio: ["ignore", out, out], env: { ...process.env, KINETIC_LAB_DIR: layout.dir, KINETIC_LAB_NETNS: layout.netns } },
  );
  fs.closeSync(out);
  fs.writeFileSync(layout.pidFile, `${child.pid}\n`);
  child.unref();
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    if (fs.existsSync(path.join(layout.dir, "ready"))) {
      const status = readStatus(layout);
      if (status) return status;
    }
    // Our own child: its exit is the answer. Not supervisorPid(), which reads /proc/<pid>/cmdline:
    // between fork and exec that is still this process's, and under load the first check landed
    // there and called a lab that then came up "stopped while starting".
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the lab supervisor stopped while starting:\n${tail(layout.logFile)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the lab did not start within 10 minutes:\n${tail(layout.logFile)}`);
}

/**
 * Stops the lab: the supervisor (which stops its hosts and BMCs), then whatever an interrupted run
 * left (processes rooted in a host, mounts, cgroups), then the network namespace. The hosts' disks
 * stay, as a powered-off datacenter's do, unless `wipe`.
 */
export async function labDown(opts: { layout?: LabLayout; wipe?: boolean; log?: (m: string) => void } = {}): Promise<string[]> {
  const layout = opts.layout ?? labLayout();
  const log = opts.log ?? ((m: string) => process.stderr.write(`lab: ${m}\n`));
  const done: string[] = [];
  const pid = supervisorPid(layout);
  if (pid) {
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && supervisorPid(layout)) await new Promise((r) => setTimeout(r, 200));
    if (supervisorPid(layout)) {
      process.kill(pid, "SIGKILL");
      done.push(`supervisor ${pid} killed (it did not stop within 60 s)`);
    } else done.push(`supervisor ${pid} stopped`);
  }
  done.push(...sweepHosts(layout.hostsDir).map((line) => `${line} (an interrupted run)`));
  detachAllOsdDisks(layout);
  if (netnsExists(layout.netns)) {
    removeLabNetwork(layout.netns);
    done.push(`network namespace ${layout.netns} removed`);
  }
  for (const f of [layout.pidFile, layout.statusFile, path.join(layout.dir, "ready")]) fs.rmSync(f, { force: true });
  if (opts.wipe && fs.existsSync(layout.hostsDir)) {
    fs.rmSync(layout.hostsDir, { recursive: true, force: true });
    done.push("host disks wiped");
  }
  if (opts.wipe && fs.existsSync(path.join(layout.dir, "disks"))) {
    fs.rmSync(path.join(layout.dir, "disks"), { recursive: true, force: true });
    done.push("storage servers' data disks wiped");
  }
  const left = [...processesIn(layout.dir).map((p) => `process ${p}`), ...mountsUnder(layout.dir).map((m) => `mount ${m}`)];
  if (left.length) throw new Error(`the lab left ${left.join(", ")}`);
  for (const d of done) log(d);
  return done;
}

export function renderStatus(status: LabStatus | undefined): string {
  if (!status) return "the lab is down (npm run lab -- up)\n";
  const rows = [["HOST", "ROLE", "KIND", "ADDRESS", "STATE", "BMC POWER"]];
  for (const h of status.hosts) {
    rows.push([h.name, h.role, h.kind, h.address || "-", h.detail && h.state !== "running" ? `${h.state}: ${h.detail}` : h.state, h.bmc ? `${h.bmc.power} (${h.bmc.address})` : "-"]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
  // Each physical server's last network install, link by link: where a datacenter looks on day one.
  const installs = status.hosts.filter((h) => h.install).map((h) => {
    const i = h.install!;
    const links = i.steps.map((s) => `    ${s.ok ? "ok    " : "FAILED"} ${s.step}: ${s.detail}`);
    return [`${h.name}: last network install ${i.at} (${i.seconds} s): ${i.summary}`, ...links].join("\n");
  });
  const installText = installs.length ? `\nnetwork installs:\n${installs.join("\n")}\n` : "";
  return `lab (supervisor ${status.pid}, namespace ${status.netns}, ${path.relative(ROOT, status.pillar) || status.pillar}):\n${lines.join("\n")}\n${installText}`;
}

/** Runs `argv` (a program of this machine) inside the lab's network namespace, output inherited. */
export function inLab(argv: string[], layout: LabLayout = labLayout()): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=/run/netns/${layout.netns}`, ...argv], { stdio: "inherit", cwd: ROOT });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
  });
}

/** True when this process already runs in the lab's network namespace. */
export function inLabNetwork(layout: LabLayout = labLayout()): boolean {
  try {
    return fs.statSync(`/run/netns/${layout.netns}`).ino === fs.statSync("/proc/self/ns/net").ino;
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

export const LAB_USAGE = `kinetic lab up [--stack S]     start a lab on this machine: Debian hosts, BMCs, network; stack lab-cloud
                               (default: pillar/cloud, every role) or lab (pillar/lab, the small lab)
kinetic lab status [--stack S] what runs: host, role, address, state, BMC power; each physical
                               server's last network install, link by link
kinetic lab down [--stack S] [--wipe]
                               stop everything the lab started (--wipe: and erase the hosts' disks)
kinetic lab root               build the cached Debian root the hosts boot from (lab up does it when missing)`;

/** `--stack S` out of argv (default: the full cloud's lab); a stack that has no lab is a usage error. */
export function labStackArg(argv: string[]): { stack: string; rest: string[] } | string {
  const i = argv.indexOf("--stack");
  if (i < 0) return { stack: LAB_STACK, rest: argv };
  const stack = argv[i + 1];
  if (!isLabStack(stack)) return `--stack ${stack ?? ""}: the labs are ${Object.keys(LAB_STACKS).join(", ")}`;
  return { stack, rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
}

export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...args] = argv;
  const parsed = labStackArg(args);
  if (typeof parsed === "string") {
    process.stderr.write(`lab ${sub}: ${parsed}\n${LAB_USAGE}\n`);
    return 64;
  }
  const { stack, rest } = parsed;
  const layout = labLayout(process.env, stack);
  switch (sub) {
    case "up": {
      if (rest.length) break;
      const status = await labUp({ stack, layout });
      process.stdout.write(renderStatus(status));
      return 0;
    }
    case "down":
      if (rest.some((a) => a !== "--wipe")) break;
      await labDown({ layout, wipe: rest.includes("--wipe") });
      process.stdout.write(`the ${stack} lab is down\n`);
      return 0;
    case "status":
      if (rest.length) break;
      process.stdout.write(renderStatus(readStatus(layout)));
      return 0;
    case "root": {
      if (rest.length) break;
      const why = debianRootUnavailable();
      if (why) {
        process.stderr.write(`lab root: cannot build the Debian root here: ${why}\n`);
        return 1;
      }
      const root = ensureDebianRoot((m) => process.stdout.write(`lab root: ${m}\n`));
      process.stdout.write(`lab root: ready (${root.base}, packages in ${root.packages})\n`);
      return 0;
    }
  }
  process.stderr.write(`${LAB_USAGE}\n`);
  return 64;
}

