/**
 * A stack's lock, as Pulumi's DIY backends keep it: one entry per run under
 * `.pulumi/locks/organization/<project>/<stack>/<run id>.json`, holding the engine's pid, user,
 * host and start time. The engine takes it at the start of every up, refresh and destroy, refuses
 * while another run's entry is there (naming it) and deletes its own at the end. A run that dies
 * (SIGKILL, a lost machine, the database gone when it tried to delete it) leaves its entry, and
 * every later run is refused until someone removes it.
 *
 * `kinetic unlock` removes an entry only once the run that wrote it is known to be gone: its host
 * is this machine and no process with its pid, started no later than the lock, runs the engine.
 * A run on another host cannot be checked from here: the operator names that host to say it is
 * gone (`--holder-gone HOST`), or runs `kinetic unlock` there.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Backend } from "./backend";

export const PROJECT = "kinetic";

/** What the engine writes in a lock entry (pkg/backend/diy/lock.go, lockContent). */
export interface LockHolder {
  pid: number;
  username: string;
  hostname: string;
  /** RFC 3339, when the run took the lock. */
  timestamp: string;
}

export interface LockEntry {
  /** The entry's key in the backend (a path relative to its root). */
  key: string;
  holder: LockHolder;
}

export class StackLockError extends Error {}

/** Stack names as Pulumi accepts them; also what keeps them out of harm in a path or a query. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function lockPrefix(stack: string): string {
  if (!STACK_NAME.test(stack)) throw new StackLockError(`"${stack}" is not a stack name ([A-Za-z0-9_.-])`);
  return `.pulumi/locks/organization/${PROJECT}/${stack}/`;
}

/** The lock entries of `stack` in `backend`. */
export function readLocks(backend: Backend, stack: string): LockEntry[] {
  const prefix = lockPrefix(stack);
  if (backend.kind === "file") {
    const dir = path.join(backend.dir, prefix);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => ({ key: `${prefix}${f}`, holder: parseHolder(fs.readFileSync(path.join(dir, f), "utf8"), `${prefix}${f}`) }));
  }
  // Pulumi's PostgreSQL backend keeps each entry as {"data": <base64 of the file's bytes>}, its key
  // prefixed with the URL's path.
  const out = psql(backend, `SELECT key || E'\\t' || convert_from(decode(data->>'data', 'base64'), 'UTF8') FROM ${backend.table} WHERE starts_with(key, :'prefix') ORDER BY key;`, { prefix: backend.keyPrefix + prefix });
  return out
    .split("\n")
    .filter((l) => l.includes("\t"))
    .map((line) => {
      const [key, content] = [line.slice(0, line.indexOf("\t")), line.slice(line.indexOf("\t") + 1)];
      return { key, holder: parseHolder(content, key) };
    });
}

/** Removes one lock entry (and nothing else: a run that took the lock since keeps its own). */
export function removeLock(backend: Backend, stack: string, key: string): void {
  const prefix = (backend.kind === "postgres" ? backend.keyPrefix : "") + lockPrefix(stack);
  if (!key.startsWith(prefix) || key.includes("..")) throw new StackLockError(`${key} is not a lock of stack ${stack}`);
  if (backend.kind === "file") {
    fs.rmSync(path.join(backend.dir, key), { force: true });
    return;
  }
  psql(backend, `DELETE FROM ${backend.table} WHERE key = :'key';`, { key });
}

export type Liveness = { alive: true; why: string } | { alive: false; why: string } | { alive: "unknown"; why: string };

/**
 * Whether the run that wrote `holder` may still be running. Only this machine's processes can be
 * seen: another host's run is "unknown". A pid that is there but started after the lock was taken,
 * or that is not the engine, is another process that reused the number.
 */
export function holderLiveness(holder: LockHolder, here = os.hostname(), proc = "/proc"): Liveness {
  if (holder.hostname !== here) return { alive: "unknown", why: `it ran on ${holder.hostname}, not on this host (${here})` };
  const dir = path.join(proc, String(holder.pid));
  let stat: string;
  let cmdline: string;
  try {
    stat = fs.readFileSync(path.join(dir, "stat"), "utf8");
    cmdline = fs.readFileSync(path.join(dir, "cmdline"), "utf8").split("\0").join(" ");
  } catch {
    return { alive: false, why: `no process ${holder.pid} on this host` };
  }
  const started = processStart(stat, proc);
  const locked = Date.parse(holder.timestamp);
  // Clock ticks are 10 ms and btime is whole seconds: a process that started more than 2 s after
  // the lock was written cannot have written it.
  if (started !== undefined && Number.isFinite(locked) && started > locked + 2000) {
    return { alive: false, why: `process ${holder.pid} started at ${new Date(started).toISOString()}, after the lock: another process reused the pid` };
  }
  if (!/(^|\/)pulumi( |$)/.test(cmdline)) return { alive: false, why: `process ${holder.pid} is not the engine (${cmdline.slice(0, 80).trim()})` };
  return { alive: true, why: `process ${holder.pid} (${cmdline.slice(0, 80).trim()}) is running` };
}

/** When the process of `/proc/<pid>/stat` started, in ms since the epoch. */
function processStart(stat: string, proc: string): number | undefined {
  // Field 22, counted after the command name (in parentheses, which may itself hold spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[22 - 3]);
  const btime = /^btime (\d+)$/m.exec(fs.readFileSync(path.join(proc, "stat"), "utf8"));
  if (!Number.isFinite(ticks) || !btime) return undefined;
  const hz = 100; // USER_HZ: 100 on every Linux ABI Node.js runs on
  return Number(btime[1]) * 1000 + (ticks / hz) * 1000;
}

export function describeHolder(h: LockHolder): string {
  return `${h.username}@${h.hostname} (pid ${h.pid}) since ${h.timestamp}`;
}

function parseHolder(text: string, key: string): LockHolder {
  let v: Partial<LockHolder>;
  try {
    v = JSON.parse(text) as Partial<LockHolder>;
  } catch {
    throw new StackLockError(`lock ${key}: not the engine's JSON`);
  }
  if (typeof v.pid !== "number" || typeof v.hostname !== "string" || typeof v.timestamp !== "string") throw new StackLockError(`lock ${key}: no pid, hostname or timestamp`);
  return { pid: v.pid, username: String(v.username ?? "?"), hostname: v.hostname, timestamp: v.timestamp };
}

/**
 * One psql run against the backend's database. The URL has no password (engine/backend.ts refuses
 * one); psql takes it from PGPASSWORD or PGPASSFILE like the engine. Values travel as psql
 * variables (quoted by psql, :'name'), never pasted into the SQL.
 */
function psql(backend: Extract<Backend, { kind: "postgres" }>, sql: string, vars: Record<string, string>): string {
  const u = new URL(backend.url);
  u.searchParams.delete("table"); // Pulumi's parameter, unknown to libpq
  const args = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", ...Object.entries(vars).flatMap(([k, v]) => ["-v", `${k}=${v}`]), "-d", u.toString(), "-f", "-"];
  const r = spawnSync("psql", args, { input: sql, encoding: "utf8", timeout: 60_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new StackLockError(missing ? "psql not found: install PostgreSQL's client (Debian: postgresql-client) to read the stack's lock" : `psql: ${r.error.message}`);
  }
  if (r.status !== 0) throw new StackLockError(`psql: ${r.stderr.trim().split("\n")[0]}`);
  return r.stdout;
}

/**
 * The holders an engine error names when it refused a run because the stack is locked, or
 * undefined for any other error. Pulumi's message ends by suggesting `pulumi cancel`, which deletes
 * every lock without asking whether its run is alive: callers say `kinetic unlock` instead.
 */
export function lockRefusal(message: string): LockHolder[] | undefined {
  if (!message.includes("the stack is currently locked")) return undefined;
  // The Automation API's error repeats the engine's output, so each holder may appear twice.
  const holders = new Map<string, LockHolder>();
  for (const m of message.matchAll(/created by (\S+?)@(\S+) \(pid (\d+)\) at (\S+)/g)) {
    holders.set(m.slice(1).join(" "), { username: m[1], hostname: m[2], pid: Number(m[3]), timestamp: m[4] });
  }
  return [...holders.values()];
}

/** Whether the engine said it could not remove its own lock (the backend went away at the end). */
export function lockLeftBehind(message: string): boolean {
  return message.includes("there was a problem deleting the lock");
}

/** The one line an operator sees when the engine refused a run because of `holders`' lock. */
export function refusalLine(holders: LockHolder[], stack: string): string {
  const who = holders.length ? holders.map(describeHolder).join("; ") : "a run the engine did not name";
  return `stack ${stack} is locked by another run: ${who}. Wait for it to end; if it died, kinetic unlock --stack ${stack} removes its lock once it is sure no run is alive`;
}
