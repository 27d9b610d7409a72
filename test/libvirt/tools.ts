/** Helpers shared by the libvirt tests: run a real tool and fail with its output. */
import { spawnSync, SpawnSyncOptions } from "node:child_process";
import { mkdtempSync } from "node:fs";
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

export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kinetic-${prefix}-`));
}
