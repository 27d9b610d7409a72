/**
 * A lab of its own (directory and network namespace) for the end-to-end tests and the lab
 * benchmark, with a scratch stack on it: copies of pillar/lab and formulas/ that a test may edit,
 * a fresh SSH key and secrets, the engine run inside the lab's network (engineRun.ts).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { parseEpochs } from "../../cli/rotate";
import type { SecretEpochs } from "../../components/secretEpochs";
import { labDown, labUp } from "../../lab/control";
import { labLayout, LabLayout } from "../../lab/layout";
import { LAB_LIBVIRT_URI } from "../../lab/supervisor";
import type { Cloud } from "../../pillar";
import { AdminCredentials, adminCredentials } from "../../verify/adminCredentials";
import { onInterrupt } from "../support/interrupt";
import type { EngineJob, EngineResult } from "./engineRun";

const ROOT = path.resolve(__dirname, "../..");

export interface LabHarness {
  layout: LabLayout;
  tmp: string;
  stack: string;
  pillarDir: string;
  formulasDir: string;
  key: string;
  /** The stack's service secret (the bench derives the cloud's admin credentials from it). */
  serviceSecret: string;
  /** The stack's `kinetic:epochs` now (a `rotate` raises them): what every secret is derived at. */
  epochs(): SecretEpochs;
  /** The cloud's admin credentials at the stack's epochs now, as `kinetic openrc` derives them. */
  admin(cloud: Cloud): AdminCredentials;
  /** One engine operation; `interruptAt`: SIGINT to the engine (its process group) when its output shows this. */
  run(op: EngineJob["op"], extra?: Partial<EngineJob>, opts?: { interruptAt?: RegExp }): Promise<EngineResult & { interrupted?: Interruption }>;
  /** `input`: the command's stdin (a password goes there, never in its command line). */
  ssh(address: string, command: string, input?: string): string;
  /**
   * A TypeScript script of ours run inside the lab's network with a job file (written 0600: it may
   * hold the cloud's admin password); its last line of output is JSON, returned parsed.
   */
  inLab<T>(script: string, args: string[], job: unknown): Promise<T>;
  /**
   * Fails the test when the run failed, naming a copy of the engine's and the lab's logs kept outside
   * the scratch directory (dispose removes that one, and CI sees only what is kept).
   */
  ok(r: EngineResult, what: string): void;
  /** Stops the lab, wipes its disks and (unless KINETIC_KEEP_E2E) the scratch directory. */
  dispose(): Promise<void>;
}

/** When the harness sent SIGINT: ms after the run started, and the engine's line that matched. */
export interface Interruption {
  afterMs: number;
  line: string;
}

/**
 * The complete lines `file` holds from byte `offset` on, and the offset after the last of them
 * (a line still being written waits for the next call; none while the file does not exist).
 */
function linesFrom(file: string, offset: number): { lines: string[]; next: number } {
  if (!fs.existsSync(file)) return { lines: [], next: offset };
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(Math.max(0, fs.fstatSync(fd).size - offset));
    fs.readSync(fd, buf, 0, buf.length, offset);
    // A newline byte never occurs inside a UTF-8 sequence: cutting after it splits no character.
    const end = buf.lastIndexOf(0x0a) + 1;
    return { lines: buf.subarray(0, end).toString("utf8").split("\n"), next: offset + end };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `pillar`: the pillar the lab is built for (copied into the scratch directory): pillar/lab, or
 * pillar/cloud (the bench's cloud case), or an absolute path (a test's own pillar, which must exist
 * before the lab starts: the lab's BMCs and disks are made for its physical servers).
 */
export async function startLabHarness(name: string, log: (m: string) => void = () => undefined, pillar = "pillar/lab"): Promise<LabHarness> {
  const layout = labLayout({ KINETIC_LAB_DIR: `/var/lib/kinetic-lab-${name}`, KINETIC_LAB_NETNS: `kinetic-${name}` });
  const stack = name;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `kinetic-lab-${name}-`));
  const pillarDir = path.join(tmp, "pillar");
  const formulasDir = path.join(tmp, "formulas");
  fs.cpSync(path.resolve(ROOT, pillar), pillarDir, { recursive: true });
  fs.cpSync(path.join(ROOT, "formulas"), formulasDir, { recursive: true });
  const key = path.join(tmp, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `lab-${name}`, "-f", key]);
  const publicKey = fs.readFileSync(`${key}.pub`, "utf8").trim();
  fs.writeFileSync(path.join(tmp, "stack.yaml"), `config:\n  kinetic:sshPublicKey: ${publicKey}\n`);
  await labDown({ layout, wipe: true, log: () => undefined });
  // Interrupted (Ctrl-C on npm test, CI's timeout): the engine runs in sessions of their own (they
  // must not see the test's Ctrl-C), so without this they outlived mocha, kept the lab's hosts up
  // and held the runner's pipe open until their up ended. Each run's whole session goes (pulumi,
  // its plugins in their own groups), then the lab, then the signal does what it would have done.
  const engines = new Set<number>();
  let stopping = false;
  const teardown = async () => {
    stopping = true;
    releaseInterrupt();
    for (const sid of engines) spawnSync("pkill", ["-KILL", "--session", String(sid)]);
    engines.clear();
    await labDown({ layout, wipe: true, log: () => undefined });
    if (!process.env.KINETIC_KEEP_E2E) fs.rmSync(tmp, { recursive: true, force: true });
  };
  const releaseInterrupt = onInterrupt(teardown);
  try {
    await labUp({ layout, pillarDir, stack, stackFile: path.join(tmp, "stack.yaml"), log });
  } catch (e) {
    // The test's after() has no harness to dispose of: a lab half started is taken down here.
    await teardown();
    throw e;
  }
  const v = (value: string, secret = false) => ({ value, secret });
  const serviceSecret = crypto.randomBytes(24).toString("base64url");
  const config: ConfigMap = {
    "kinetic:pillar": v(pillarDir),
    "kinetic:sshPublicKey": v(publicKey),
    "kinetic:sshPrivateKey": v(fs.readFileSync(key, "utf8"), true),
    "kinetic:bmcPassword": v("password", true),
    "kinetic:serviceSecret": v(serviceSecret, true),
    "kinetic:bmcCaBundle": v(layout.caPath),
    "kinetic:libvirtUri": v(LAB_LIBVIRT_URI),
    "kinetic:trustOnFirstUse": v("true"),
    "kinetic:zeroizePhysical": v("false"),
    "kinetic:physicalBootMinutes": v("5"),
    "kinetic:vmBootSeconds": v("300"),
  };
  const run = (op: EngineJob["op"], extra: Partial<EngineJob> = {}, opts: { interruptAt?: RegExp } = {}): Promise<EngineResult & { interrupted?: Interruption }> => {
    const job: EngineJob = {
      op, stack, workDir: tmp, backendDir: path.join(tmp, "state"), passphrase: `lab-${name}-test`, config,
      formulasDir, logFile: path.join(tmp, "engine.log"), ...extra,
    };
    if (stopping) return Promise.reject(new Error(`the lab is being taken down: no ${op}`));
    const file = path.join(tmp, `job-${op}.json`);
    fs.writeFileSync(file, JSON.stringify(job));
    return new Promise((resolve, reject) => {
      const child = spawn("nsenter", [`--net=/run/netns/${layout.netns}`, process.execPath, "-r", "ts-node/register/transpile-only", path.join(__dirname, "engineRun.ts"), file], {
        cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], detached: true,
        // Backups (cli/backup.ts) stay in the scratch directory, not the checkout's .kinetic/backups.
        env: { ...process.env, KINETIC_BACKUP_DIR: path.join(tmp, "backups") },
      });
      engines.add(child.pid!);
      // Ctrl-C in a terminal: SIGINT to the foreground process group, which is the runner and the
      // engine's CLI (the runner leads its own group: detached); the engine starts its plugins in
      // groups of their own, so they never see it, as under a terminal. Sent when the engine's
      // output of this run shows `interruptAt` (a step starting), not after a delay that the
      // machine's load would make land anywhere.
      let poll: NodeJS.Timeout | undefined;
      let interrupted: Interruption | undefined;
      if (opts.interruptAt) {
        // Each poll reads only what the engine wrote since the last one.
        let offset = fs.existsSync(job.logFile) ? fs.statSync(job.logFile).size : 0;
        const started = Date.now();
        poll = setInterval(() => {
          const { lines, next } = linesFrom(job.logFile, offset);
          offset = next;
          const line = lines.find((l) => opts.interruptAt!.test(l));
          if (line === undefined) return;
          clearInterval(poll);
          process.kill(-child.pid!, "SIGINT");
          interrupted = { afterMs: Date.now() - started, line: line.trim() };
        }, 100);
      }
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.once("error", reject);
      child.once("exit", (code) => {
        engines.delete(child.pid!);
        if (poll) clearInterval(poll);
        const line = out.trim().split("\n").pop() ?? "";
        try {
          resolve({ ...(JSON.parse(line) as EngineResult), ...(interrupted ? { interrupted } : {}) });
        } catch {
          reject(new Error(`engine run ${op} exited ${code} without a result: ${out.slice(-2000)}`));
        }
      });
    });
  };
  const ssh = (address: string, command: string, input?: string): string =>
    execFileSync("nsenter", [`--net=/run/netns/${layout.netns}`, "ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `root@${address}`, command], { encoding: "utf8", input });
  // Read from the stack's config file (the engine's workDir is tmp), where cli/rotate.ts writes it:
  // not from the test's memory, so credentials follow a rotation whoever ran it.
  const epochs = (): SecretEpochs => {
    const file = path.join(tmp, `Pulumi.${stack}.yaml`);
    const config = fs.existsSync(file) ? ((parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) : {};
    const text = config["kinetic:epochs"];
    return parseEpochs(typeof text === "string" ? text : undefined);
  };
  let jobs = 0;
  const inLab = async <T>(script: string, args: string[], job: unknown): Promise<T> => {
    const file = path.join(tmp, `in-lab-${++jobs}.json`);
    fs.writeFileSync(file, JSON.stringify(job), { mode: 0o600 });
    // Not spawnSync: the bench's memory sampler keeps running meanwhile.
    const child = spawn("nsenter", [`--net=/run/netns/${layout.netns}`, process.execPath, "-r", "ts-node/register/transpile-only", script, ...args, file], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    const last = out.trim().split("\n").pop() ?? "";
    try {
      return JSON.parse(last) as T;
    } catch {
      throw new Error(`${path.basename(script)} ${args.join(" ")} in the lab failed (exit ${code}): ${out.slice(-2000)}`);
    }
  };
  const ok = (r: EngineResult, what: string): void => {
    if (!r.error) return;
    const kept = fs.mkdtempSync(path.join(os.tmpdir(), `kinetic-${stack}-failed-`));
    for (const f of [path.join(tmp, "engine.log"), layout.logFile]) if (fs.existsSync(f)) fs.copyFileSync(f, path.join(kept, path.basename(f)));
    throw new assert.AssertionError({ message: `${what} failed: ${r.error}\n(the engine's and the lab's logs: ${kept})` });
  };
  return {
    layout, tmp, stack, pillarDir, formulasDir, key, run, ssh, inLab, serviceSecret, epochs, ok,
    admin: (cloud) => adminCredentials(cloud, serviceSecret, epochs()),
    dispose: teardown,
  };
}
