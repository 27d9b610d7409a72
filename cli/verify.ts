/**
 * `kinetic verify [--stack NAME] [--profile smoke|refstack|full] [--include-list FILE]
 * [--exclude-list FILE] [--concurrency N] [--image FILE]`: OpenStack's own test suite (Tempest)
 * against a deployed stack, as its admin, from where the cloud's management network is reachable
 * (the lab's stacks: inside the lab's network namespace, see cli/start.ts reexecInLab). The run's
 * files stay in `.kinetic/verify/<stack>/<time>/` (verify/tempest.ts).
 */
import * as path from "node:path";
import { PROJECT_ROOT } from "../engine/paths";
import { isLabStack } from "../lab/layout";
import { labGuestOptions } from "../verify/labGuest";
import { Profile, PROFILES, runVerify } from "../verify/tempest";
import { stackAdminCredentials, stackCloud } from "./cloudAccess";

export const VERIFY_USAGE = `kinetic verify [--stack NAME] [--profile smoke|refstack|full] [--include-list FILE] [--exclude-list FILE]
               [--concurrency N] [--image FILE|NAME] [--set SECTION.KEY=VALUE]...
                               run Tempest against the stack's cloud as its admin (default profile smoke;
                               an include list alone runs just its tests); results, subunit and JUnit in
                               .kinetic/verify/<stack>/<time>/; exit 1 on any failure; --image: the guest
                               image for compute tests (a file, or a name glance has: kinetic image upload);
                               --set: a tempest.conf option over the discovered one (repeatable)`;

export interface VerifyArgs {
  stack: string;
  profile?: Profile;
  includeList?: string;
  excludeList?: string;
  concurrency?: number;
  image?: string;
  settings?: Record<string, string>;
}

export function parseVerifyArgs(argv: string[]): VerifyArgs | string {
  const a: VerifyArgs = { stack: "dev" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const takes = ["--stack", "--profile", "--include-list", "--exclude-list", "--concurrency", "--image", "--set"];
    if (!takes.includes(flag)) return `unexpected argument ${flag}`;
    if (value === undefined || value.startsWith("--")) return `${flag} needs a value`;
    i++;
    if (flag === "--stack") a.stack = value;
    else if (flag === "--profile") {
      if (!(PROFILES as readonly string[]).includes(value)) return `--profile ${value}: one of ${PROFILES.join(", ")}`;
      a.profile = value as Profile;
    } else if (flag === "--include-list") a.includeList = value;
    else if (flag === "--exclude-list") a.excludeList = value;
    else if (flag === "--image") a.image = value;
    else if (flag === "--set") {
      const eq = value.indexOf("=");
      if (eq < 1) return `--set ${value}: SECTION.KEY=VALUE`;
      a.settings = { ...a.settings, [value.slice(0, eq)]: value.slice(eq + 1) };
    }
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 256) return `--concurrency ${value}: a whole number from 1 to 256`;
      a.concurrency = n;
    }
  }
  return a;
}

/** The run's directory name: UTC, sortable, no colon (some tools read `a:b` as host:path). */
export function runStamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

export async function verifyCommand(argv: string[]): Promise<number> {
  const args = parseVerifyArgs(argv);
  if (typeof args === "string") {
    process.stderr.write(`verify: ${args}\n${VERIFY_USAGE}\n`);
    return 64;
  }
  try {
    const s = await stackCloud(args.stack);
    const credentials = await stackAdminCredentials(s);
    const root = path.join(PROJECT_ROOT, ".kinetic", "verify");
    const runDir = path.join(root, args.stack, runStamp());
    // A lab's cloud has no route out and the guest image made here no SSH server (verify/labGuest.ts).
    const { image, settings } = isLabStack(args.stack) ? await labGuestOptions(credentials, args, (m) => process.stderr.write(`verify: ${m}\n`)) : args;
    const r = await runVerify({ credentials, runDir, root, profile: args.profile, includeList: args.includeList, excludeList: args.excludeList, concurrency: args.concurrency, image, settings });
    process.stderr.write(`verify: subunit stream, JUnit report and Tempest's logs in ${path.relative(process.cwd(), r.runDir) || r.runDir}\n`);
    process.stdout.write(r.report);
    return r.exitCode;
  } catch (e) {
    process.stderr.write(`verify: ${oneLine(e)}\n`);
    if (process.env.KINETIC_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

/**
 * One line for the operator: ours are one line already; the engine's errors (a CommandError's
 * message holds the whole pulumi output) are reduced to their `error:` line.
 */
export function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const lines = message.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length <= 1) return lines[0] ?? "failed";
  const error = lines.map((l) => /(?:^|\s)error: (.*)$/.exec(l)?.[1]).find((m) => m);
  return error ?? lines[0];
}
