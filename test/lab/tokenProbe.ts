/**
 * Asks keystone for a token every `intervalMs` until `stopFile` exists, run inside the lab's network
 * (LabHarness.inLab) beside a rolling rebuild: each answer needs keystone to read the admin from the
 * database, through haproxy. Prints one JSON line: how many answered, how many did not, and the
 * first failures with when and why. The password only travels in the 0600 job file.
 */
import * as fs from "node:fs";
import type { AdminCredentials } from "../../verify/adminCredentials";
import { askToken } from "./keystoneToken";

interface Job {
  auth: AdminCredentials;
  stopFile: string;
  intervalMs: number;
}

export interface ProbeResult {
  ok: number;
  failed: number;
  /** Up to 20: ms since the probe started, and what went wrong. */
  failures: { at: number; why: string }[];
  /** The longest time between two answered requests (ms). */
  longestGapMs: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as Job;
  const result: ProbeResult = { ok: 0, failed: 0, failures: [], longestGapMs: 0 };
  const started = Date.now();
  let lastOk = started;
  while (!fs.existsSync(job.stopFile)) {
    const t = Date.now();
    let why: string | undefined;
    try {
      const r = await askToken(job.auth);
      if (r.status !== 201 || !r.token) why = `HTTP ${r.status}`;
    } catch (e) {
      why = (e as Error).cause ? String((e as Error & { cause: Error }).cause.message ?? (e as Error).cause) : (e as Error).message;
    }
    if (why === undefined) {
      result.ok++;
      result.longestGapMs = Math.max(result.longestGapMs, Date.now() - lastOk);
      lastOk = Date.now();
    } else {
      result.failed++;
      if (result.failures.length < 20) result.failures.push({ at: t - started, why });
    }
    await new Promise((r) => setTimeout(r, Math.max(0, job.intervalMs - (Date.now() - t))));
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

void main();
