/**
 * The whole cloud's verification, run inside the lab's network (LabHarness.inLab) by the cloud bench
 * and the whole-cloud test, as `kinetic verify` does on a lab stack: the guest image into glance and
 * SSH validation off (verify/labGuest.ts), then Tempest's smoke profile (verify/tempest.ts). Reads a
 * job file: the admin's credentials and the run directory; prints one JSON line: the image's name,
 * how long the upload and Tempest took and Tempest's counts.
 */
import * as fs from "node:fs";
import { AdminCredentials } from "../../verify/adminCredentials";
import { labGuestOptions } from "../../verify/labGuest";
import { runVerify } from "../../verify/tempest";

interface Job {
  credentials: AdminCredentials;
  runDir: string;
}

async function main(file: string): Promise<void> {
  const job = JSON.parse(fs.readFileSync(file, "utf8")) as Job;
  const log = (m: string) => process.stderr.write(`cloud verify: ${m}\n`);
  const t0 = Date.now();
  const { image, settings } = await labGuestOptions(job.credentials, {}, log);
  const t1 = Date.now();
  const r = await runVerify({ credentials: job.credentials, runDir: job.runDir, image, settings, concurrency: 2, log });
  process.stderr.write(r.report);
  process.stdout.write(`${JSON.stringify({ image, uploadMs: t1 - t0, verifyMs: Date.now() - t1, counts: r.counts, exitCode: r.exitCode, runDir: r.runDir })}\n`);
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
