/**
 * The cloud set: tests that run in `.github/workflows/cloud.yml` (nightly, on demand, and on pull
 * requests that change what the cloud is made of) and not in `npm test`'s default run, which CI
 * keeps under 40 minutes. They are opted into with `KINETIC_CLOUD_TEST=1`.
 *
 * What belongs here: the whole cloud itself, and isolated tests whose every fact the whole cloud
 * proves again through nova (test/formulas/computeGuest.test.ts: a TCG guest booting on a compute
 * host, its NIC on OVN's userspace datapath). Compute's formulas themselves stay in the default
 * run (test/formulas/ovn.test.ts).
 */
import type { Context } from "mocha";

export const CLOUD_TEST_WANTED = process.env.KINETIC_CLOUD_TEST === "1";

/** Skips the suite (with one line saying how to run it) unless the cloud set is wanted. */
export function requireCloudSet(ctx: Context, what: string): void {
  if (CLOUD_TEST_WANTED) return;
  process.stderr.write(`      skipped: ${what} is in the cloud set (.github/workflows/cloud.yml); KINETIC_CLOUD_TEST=1 runs it\n`);
  ctx.skip();
}
