/**
 * Asks keystone for a token once with each of a job's credentials, run inside the lab's network
 * (LabHarness.inLab): prints one JSON line, each answer's HTTP status (201 with a token, else what
 * keystone said) once it answers. The rotation case of lab.test.ts reads it: the old admin password
 * 401, the new one 201.
 */
import * as fs from "node:fs";
import type { AdminCredentials } from "../../verify/adminCredentials";
import { askToken } from "./keystoneToken";

async function main(): Promise<void> {
  const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as { auths: AdminCredentials[] };
  const statuses: number[] = [];
  for (const auth of job.auths) {
    // keystone/configure restarts keystone as its last act and does not wait for it: until it answers
    // (haproxy says 503, or nothing listens yet) ask again, for at most two minutes.
    const deadline = Date.now() + 120_000;
    for (;;) {
      let r: { status: number; token: boolean } | undefined;
      try {
        r = await askToken(auth);
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (r && (r.status < 500 || Date.now() > deadline)) {
        // A 201 without a token is no login.
        statuses.push(r.status === 201 && !r.token ? 0 : r.status);
        break;
      }
      await new Promise((done) => setTimeout(done, 1000));
    }
  }
  process.stdout.write(`${JSON.stringify(statuses)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
