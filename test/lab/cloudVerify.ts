/**
 * The cloud bench's last leg, run inside the lab's network (test/bench/cloud.ts spawns it there):
 * the guest image into glance as an operator puts it (kinetic image upload), then Tempest's smoke
 * profile (kinetic verify). Reads a job file: the admin's credentials and the run directory; prints
 * one JSON line: how long each took and Tempest's counts.
 */
import * as fs from "node:fs";
import { authFromEnv, uploadGuestImage } from "../../image/glance";
import { buildGuestImage } from "../../image/guestImage";
import { AdminCredentials, osEnvironment } from "../../verify/adminCredentials";
import { runVerify } from "../../verify/tempest";

interface Job {
  credentials: AdminCredentials;
  runDir: string;
}

async function main(file: string): Promise<void> {
  const job = JSON.parse(fs.readFileSync(file, "utf8")) as Job;
  const log = (m: string) => process.stderr.write(`cloud bench: ${m}\n`);
  const t0 = Date.now();
  const image = buildGuestImage({ offline: true, log });
  const uploaded = await uploadGuestImage(image, authFromEnv(osEnvironment(job.credentials)), log);
  const t1 = Date.now();
  // The busybox guest has no sshd: Tempest's SSH validation of guests is off (README "Using the cloud").
  const r = await runVerify({ credentials: job.credentials, runDir: job.runDir, image: uploaded.name, settings: { "validation.run_validation": "false" }, concurrency: 2, log });
  process.stderr.write(r.report);
  process.stdout.write(`${JSON.stringify({ uploadMs: t1 - t0, verifyMs: Date.now() - t1, counts: r.counts, exitCode: r.exitCode, runDir: r.runDir })}\n`);
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
