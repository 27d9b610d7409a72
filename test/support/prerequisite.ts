/**
 * What a test does when something it needs is missing on this machine (not root, no sshd, no Go, ...).
 *
 * On a developer's machine it is skipped with the reason, so a partial setup still runs the rest.
 * Under `CI=true` it fails instead: CI runs on a machine `.ci/install` prepared, so a missing
 * prerequisite there is a defect of the install (or of the runner's account), and a run whose
 * host, lab and sshd tests all went pending must not pass as green.
 */
import type { Context } from "mocha";

export function requirePrerequisite(ctx: Context, why: string | undefined | false, what: string): void {
  if (!why) return;
  if (process.env.CI === "true") throw new Error(`${what} cannot run: ${why} (CI=true: a missing prerequisite fails instead of skipping)`);
  process.stderr.write(`      skipped: ${what} (${why})\n`);
  ctx.skip();
}
