/** Helpers shared by the libvirt tests: run a real tool and fail with its output. */
import { spawn, spawnSync, SpawnSyncOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000, ...opts });
  if (r.error) throw new Error(`${cmd} could not run (is its Debian package in .ci/packages installed?): ${r.error.message}`);
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Run and require exit status 0. */
export function ok(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Ran {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const scratchDirs: string[] = [];
// Removed when the test process ends (sparse 32G disks and ISOs included); KINETIC_KEEP_SCRATCH=1 keeps them for a post-mortem.
process.on("exit", () => {
  if (process.env.KINETIC_KEEP_SCRATCH !== "1") for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
});

export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kinetic-${prefix}-`));
  scratchDirs.push(dir);
  return dir;
}

/**
 * Like {@link run} but without blocking the event loop, for commands that talk to servers running in
 * this test process (the fake sshd).
 */
export function runAsync(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += String(b)));
    child.stderr.on("data", (b) => (stderr += String(b)));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 90_000);
    child.on("error", (e) => reject(new Error(`${cmd} could not run: ${e.message}`)));
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}
