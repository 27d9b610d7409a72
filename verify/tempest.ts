/**
 * One Tempest run against a deployed cloud, as `kinetic verify` makes it (Debian's `tempest` 33 and
 * `python3-tempestconf`):
 *
 * 1. keystone answers and takes the admin's password (else one clear line, no Python trace);
 * 2. `discover-tempest-config --create` writes `tempest.conf` from what the cloud's catalog offers
 *    (the admin credentials reach it in its environment, never argv); the run directory is 0700
 *    and the file 0600: it holds the admin password;
 * 3. `tempest run --subunit` with the profile's selection, the include/exclude lists as Tempest's
 *    own options, `--concurrency`; the subunit stream is kept, read (verify/subunit.ts) and turned
 *    into the table, the closing line and a JUnit report (verify/report.ts).
 *
 * Everything lives in the run's own directory `.kinetic/verify/<stack>/<time>/`: etc/tempest.conf,
 * .stestr.conf and the stestr repository, tempest.log, discover.log, tempest.subunit, junit.xml,
 * summary.txt. Nothing goes to the operator's home (HOME is the run directory for both tools).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AdminCredentials, osEnvironment } from "./adminCredentials";
import { countsOf, Counts, junitXml, renderTable, summaryLine } from "./report";
import { TestResult, testResults } from "./subunit";
import { Catalog, objectStoreApis, withIniOption } from "./swiftInfo";

export const PROFILES = ["smoke", "refstack", "full"] as const;
export type Profile = (typeof PROFILES)[number];

/** The interop (refstack) test list `--profile refstack` runs: the operator places it (see selection). */
export const REFSTACK_LIST = process.env.KINETIC_REFSTACK_LIST ?? path.join(__dirname, "..", ".kinetic", "verify", "refstack-platform.txt");

export interface VerifyOptions {
  credentials: AdminCredentials;
  /** The run's directory (created 0700, with its parents up to `root`). */
  runDir: string;
  /** Directories made 0700 on the way to runDir (.kinetic/verify/<stack>). */
  root?: string;
  /** Default smoke; none (undefined) with an include list runs only the list. */
  profile?: Profile;
  includeList?: string;
  excludeList?: string;
  /** Tempest workers; default Tempest's (one per CPU). */
  concurrency?: number;
  /**
   * discover-tempest-config's `--image`: a local file it uploads to glance, or the name of an image
   * glance already holds (e.g. `kinetic image upload`'s). Without it, a cloud with glance makes it
   * download CirrOS from the Internet, which a lab cannot reach.
   */
  image?: string;
  /**
   * tempest.conf settings over the discovered ones (`section.key` -> value), e.g.
   * `validation.run_validation: "false"` for guests without SSH. Each one is a documented exception
   * to Tempest's defaults, so verify prints them.
   */
  settings?: Record<string, string>;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
  /** Bounds (ms): the keystone check, the discovery, the run. */
  reachTimeoutMs?: number;
  runTimeoutMs?: number;
}

export interface VerifyResult {
  results: TestResult[];
  counts: Counts;
  /** The table and, last, the `N passed, N failed, N skipped` line. */
  report: string;
  runDir: string;
  subunit: string;
  junit: string;
  /** 0 when every selected test passed or was skipped and at least one ran; else 1. */
  exitCode: number;
}

/** A problem verify reports as one line (the cloud is not there, a tool failed): no stack trace. */
export class VerifyError extends Error {
  readonly code = "KINETIC_VERIFY";
}

export const isVerifyError = (e: unknown): e is VerifyError => (e as { code?: string } | undefined)?.code === "KINETIC_VERIFY";

/** The tools verify runs, with the Debian package that brings each. */
const TOOLS: Record<string, string> = { tempest: "tempest", "discover-tempest-config": "python3-tempestconf", stestr: "python3-stestr" };

export function missingTools(): string[] {
  return Object.entries(TOOLS)
    .filter(([tool]) => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0)
    .map(([tool, pkg]) => `${tool} (apt-get install ${pkg})`);
}

/**
 * keystone answers at the auth URL and issues the admin a token. Throws a VerifyError naming what
 * is wrong: nothing listening, no route, a timeout, or the password refused.
 */
export async function checkKeystone(c: AdminCredentials, timeoutMs = 60_000): Promise<Catalog[]> {
  const url = `${c.authUrl.replace(/\/$/, "")}/auth/tokens`;
  const body = {
    auth: {
      identity: { methods: ["password"], password: { user: { name: c.username, domain: { name: c.userDomainName }, password: c.password } } },
      scope: { project: { name: c.projectName, domain: { name: c.projectDomainName } } },
    },
  };
  let status: number;
  let answer: string;
  try {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    status = r.status;
    answer = await r.text();
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = (e as Error).name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : cause?.code ?? cause?.message ?? (e as Error).message;
    throw new VerifyError(`keystone at ${c.authUrl} is not reachable (${why}): is the stack up, and does this machine reach its management network?`);
  }
  if (status === 401) throw new VerifyError(`keystone at ${c.authUrl} refused the admin's password (401): the stack's kinetic:serviceSecret is not the one the cloud was deployed with`);
  if (status !== 201) throw new VerifyError(`keystone at ${c.authUrl} answered ${status} to the admin's login (expected 201)`);
  try {
    return (JSON.parse(answer) as { token?: { catalog?: Catalog[] } }).token?.catalog ?? [];
  } catch {
    return [];
  }
}

/**
 * The package directory of Tempest (the .stestr.conf points test discovery at it, as `tempest init`
 * does), asked of the interpreter the `tempest` command runs on: the first `python3` on the PATH may
 * be another one (pyenv's, a virtualenv's) that has no Tempest.
 */
function tempestDir(): string {
  const bin = spawnSync("sh", ["-c", "command -v tempest"], { encoding: "utf8" }).stdout.trim();
  const shebang = bin ? /^#!\s*(\S+)/.exec(fs.readFileSync(bin, "utf8").split("\n")[0]) : null;
  const python = shebang?.[1] ?? "/usr/bin/python3";
  const r = spawnSync(python, ["-c", "import os, tempest; print(os.path.dirname(tempest.__file__))"], { encoding: "utf8" });
  if (r.status !== 0) throw new VerifyError(`python3 cannot import tempest: ${r.stderr.trim().split("\n").pop()}`);
  return r.stdout.trim();
}

/** The last line of a tool's log that says what went wrong (a Python exception's message, not its trace). */
export function lastErrorLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const exception = [...lines].reverse().find((l) => /^[\w.]*(Error|Exception|Failure)\b.*:/.test(l) || /^(ERROR|CRITICAL)\b/.test(l) || / (ERROR|CRITICAL) /.test(l));
  return (exception ?? lines[lines.length - 1] ?? "(no output)").slice(0, 400);
}

interface Ran {
  code: number;
}

/** Runs argv with umask 077 (files it makes are the owner's only), stdout/stderr to files. */
function runTool(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdout: string; stderr: string; timeoutMs: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(opts.stdout, "a", 0o600);
    const err = opts.stderr === opts.stdout ? out : fs.openSync(opts.stderr, "a", 0o600);
    const child = spawn("sh", ["-c", 'umask 077; exec "$@"', "sh", ...argv], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", out, err], detached: true });
    fs.closeSync(out);
    if (err !== out) fs.closeSync(err);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        /* gone */
      }
    }, opts.timeoutMs);
    // Ctrl-C reaches the tool's own process group only through us: pass it on, then wait for its end.
    const onSignal = () => {
      try {
        process.kill(-child.pid!, "SIGINT");
      } catch {
        /* gone */
      }
    };
    process.on("SIGINT", onSignal);
    child.once("error", (e) => {
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      reject(e);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      process.off("SIGINT", onSignal);
      resolve({ code: code ?? (signal ? 128 + 15 : 1) });
    });
  });
}

/** The environment of the Python tools: ours without any OS_* of the operator's, HOME the run directory. */
function toolEnv(runDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OS_")) env[k] = v;
  return { ...env, HOME: runDir, LANG: "C.UTF-8", PYTHONUNBUFFERED: "1", ...extra };
}

/** Makes `dir` and every directory between `root` and it, each 0700 (they come to hold the admin password). */
function privateDirs(dir: string, root: string | undefined): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stop = path.resolve(root ?? dir);
  for (let d = path.resolve(dir); d.startsWith(stop); d = path.dirname(d)) {
    fs.chmodSync(d, 0o700);
    if (d === stop) break;
  }
}

/**
 * An interop (refstack) test list as include-list regexes: a guideline's list names tests as
 * `tempest.api.x.Class.test_y[id-<uuid>]`, while the installed Tempest may carry more attributes in
 * the brackets (`[id-<uuid>,smoke]`) or have moved the test: the id is what stays, so a line with
 * an id matches by it, any other line by its name.
 */
export function refstackRegexes(list: string): string {
  const out: string[] = [];
  for (const raw of list.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const id = /\bid-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/.exec(line);
    out.push(id ? idRegex(id[1]) : `^${line.replace(/\[.*$/, "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\[|$)`);
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

const idRegex = (uuid: string) => `[\\[,]id-${uuid}[\\],]`;

/** A whole test id with its attributes, as interop lists and `tempest run --list-tests` print them. */
const TEST_ID = /^[A-Za-z_][\w.]*\[[^\]]*\bid-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b[^\]]*\]$/;

/**
 * An include or exclude list as Tempest reads it (one regular expression a line), except the lines
 * that are whole test ids (`tempest.api.x.Class.test_y[id-<uuid>,smoke]`, as an interop guideline's
 * list or `--list-tests` gives them): as a regular expression their brackets are a character class,
 * so such a line matches no test at all and the run silently selects nothing of it. They match by
 * their id instead, as the refstack profile's lines do. `converted` counts them.
 */
export function listRegexes(text: string): { text: string; converted: number } {
  let converted = 0;
  const lines = text.split("\n").map((raw) => {
    const id = TEST_ID.exec(raw.trim());
    if (!id) return raw;
    converted++;
    return idRegex(id[1]);
  });
  return { text: lines.join("\n"), converted };
}

/** The profile's selection as `tempest run` options (`runDir` receives a refstack list turned into regexes). */
export function selection(profile: Profile | undefined, includeList?: string, excludeList?: string, runDir?: string, log?: (line: string) => void): string[] {
  const args: string[] = [];
  if (profile === "smoke") args.push("--smoke");
  for (const [flag, file] of [["--include-list", includeList], ["--exclude-list", excludeList]] as const) {
    if (!file) continue;
    if (!fs.existsSync(file)) throw new VerifyError(`${flag} ${file}: no such file`);
    const list = listRegexes(fs.readFileSync(file, "utf8"));
    if (!list.converted || !runDir) {
      args.push(flag, path.resolve(file));
      continue;
    }
    // The operator's file stays as it is; Tempest reads the converted copy kept with the run.
    const copy = path.join(runDir, `${flag.slice(2)}.txt`);
    fs.writeFileSync(copy, list.text);
    args.push(flag, copy);
    log?.(`${flag.slice(2)} ${file}: ${list.converted} lines are whole test ids ([id-...]), matched by their id (as regular expressions they would match nothing)`);
  }
  if (profile === "refstack") {
    // Not shipped: the interop guideline's list belongs to the OpenInfra interop working group and
    // changes with each guideline; nothing is downloaded at run time, so the operator places it.
    if (!fs.existsSync(REFSTACK_LIST)) {
      throw new VerifyError(
        `the refstack profile runs an interop guideline's required tests: put the "OpenStack Powered Platform" required test list of your release's guideline (refstack.openstack.org, one test a line) at ${REFSTACK_LIST}`,
      );
    }
    if (includeList) throw new VerifyError("--profile refstack and --include-list do not combine: the profile is a list already");
    const regexes = refstackRegexes(fs.readFileSync(REFSTACK_LIST, "utf8"));
    if (!regexes) throw new VerifyError(`${REFSTACK_LIST} lists no test`);
    if (runDir) {
      fs.writeFileSync(path.join(runDir, "refstack-include.txt"), regexes);
      args.push("--include-list", path.join(runDir, "refstack-include.txt"));
    }
  }
  return args;
}

export async function runVerify(o: VerifyOptions): Promise<VerifyResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`verify: ${l}\n`));
  const missing = missingTools();
  if (missing.length) throw new VerifyError(`Tempest is not installed here: missing ${missing.join(", ")}`);
  const profile = o.profile ?? (o.includeList ? undefined : "smoke");
  selection(profile, o.includeList, o.excludeList); // every problem with the selection before the cloud is touched

  const catalog = await checkKeystone(o.credentials, o.reachTimeoutMs);
  privateDirs(o.runDir, o.root);
  const etc = path.join(o.runDir, "etc");
  fs.mkdirSync(etc, { mode: 0o700, recursive: true });
  const conf = path.join(etc, "tempest.conf");

  for (const [k, v] of Object.entries(o.settings ?? {})) {
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+$/.test(k)) throw new VerifyError(`--set ${k}=${v}: the key is section.option (e.g. validation.run_validation)`);
    log(`tempest.conf: ${k} = ${v} (--set, or the lab's default said above: over Tempest's default and the discovery)`);
  }
  log(`discovering the cloud from its catalog (${o.credentials.authUrl})`);
  const discoverLog = path.join(o.runDir, "discover.log");
  const discover = await runTool(
    [
      "discover-tempest-config", "--create", "--no-default-deployer", "--out", conf,
      ...(o.image ? ["--image", fs.existsSync(o.image) ? path.resolve(o.image) : o.image] : []),
      // Tempest's own log, beside the rest of the run (not the directory it was started from).
      "DEFAULT.log_file", path.join(o.runDir, "tempest.log"),
      ...Object.entries(o.settings ?? {}).flat(),
    ],
    { cwd: o.runDir, env: toolEnv(o.runDir, osEnvironment(o.credentials)), stdout: discoverLog, stderr: discoverLog, timeoutMs: 10 * 60_000 },
  );
  if (discover.code !== 0 || !fs.existsSync(conf)) {
    throw new VerifyError(`discover-tempest-config failed (exit ${discover.code}): ${lastErrorLine(fs.readFileSync(discoverLog, "utf8"))} (whole log: ${discoverLog})`);
  }
  fs.chmodSync(conf, 0o600);
  // python-tempestconf reads the object store's /info at the host's root, where radosgw has none
  // (verify/swiftInfo.ts). Written into the file after the discovery: given to it as an override,
  // the option's section makes its swift check fail on a missing `discoverability` (tempestconf 2.5).
  if (catalog.some((s) => s.type === "object-store")) {
    const found = await objectStoreApis(catalog);
    if ("apis" in found) {
      const section = "object-storage-feature-enabled";
      const wanted: Record<string, string | undefined> = { discoverable_apis: found.apis.join(","), tempurl_digest_hashlib: found.tempurlDigest };
      for (const [key, value] of Object.entries(wanted)) {
        if (value === undefined || `${section}.${key}` in (o.settings ?? {})) continue;
        fs.writeFileSync(conf, withIniOption(fs.readFileSync(conf, "utf8"), section, key, value));
        log(`tempest.conf: ${section}.${key} = ${value} (from ${found.url})`);
      }
    } else log(`object storage: its optional APIs are what the discovery found (${found.why})`);
  }

  // What `tempest init` writes, without registering a workspace in the operator's ~/.tempest.
  const top = tempestDir();
  fs.writeFileSync(path.join(o.runDir, ".stestr.conf"), `[DEFAULT]\ntest_path=${top}/test_discover\ntop_dir=${top}\ngroup_regex=([^\\.]*\\.)*\n`);
  const init = spawnSync("stestr", ["init"], { cwd: o.runDir, env: toolEnv(o.runDir), encoding: "utf8" });
  if (init.status !== 0) throw new VerifyError(`stestr init failed: ${lastErrorLine(init.stderr + init.stdout)}`);

  const select = selection(profile, o.includeList, o.excludeList, o.runDir, log);
  const subunit = path.join(o.runDir, "tempest.subunit");
  const stderrLog = path.join(o.runDir, "tempest.stderr.log");
  const argv = ["tempest", "run", "--config-file", conf, "--subunit", ...select, ...(o.concurrency ? ["--concurrency", String(o.concurrency)] : [])];
  log(`running ${argv.slice(0, 2).join(" ")} ${profile ? `(profile ${profile})` : ""}${o.includeList ? ` include-list ${o.includeList}` : ""}${o.excludeList ? ` exclude-list ${o.excludeList}` : ""}`.replace(/ +/g, " "));
  const started = Date.now();
  const progress = setInterval(() => {
    try {
      const done = testResults(fs.readFileSync(subunit));
      log(`${done.length} tests done (${Math.round((Date.now() - started) / 1000)} s)`);
    } catch {
      /* not written yet */
    }
  }, 60_000);
  let ran: Ran;
  try {
    ran = await runTool(argv, { cwd: o.runDir, env: toolEnv(o.runDir), stdout: subunit, stderr: stderrLog, timeoutMs: o.runTimeoutMs ?? 6 * 60 * 60_000 });
  } finally {
    clearInterval(progress);
  }
  const results = testResults(fs.readFileSync(subunit));
  // No result and a complaint on stderr: Tempest itself failed (a bad option, a broken config). No
  // result and nothing said: stestr found no test matching the selection (it exits 1 for that).
  const complaint = fs.readFileSync(stderrLog, "utf8").trim();
  if (!results.length && ran.code !== 0 && complaint) {
    throw new VerifyError(`tempest run failed before any test ran (exit ${ran.code}): ${lastErrorLine(complaint)} (log: ${stderrLog})`);
  }
  const counts = countsOf(results);
  const junit = path.join(o.runDir, "junit.xml");
  fs.writeFileSync(junit, junitXml(results, `kinetic verify ${path.basename(o.runDir)}`));
  const none = results.length ? "" : "no test ran: the selection matched nothing\n";
  // Stopped (Ctrl-C, the deadline) or crashed: the tests still running are in no count, so the
  // counts alone would read green.
  const cut = results.length && ran.code !== 0 && counts.failed === 0 ? `tempest exited ${ran.code} before its end: the tests it was running are not counted; this run is not green\n` : "";
  const report = `${renderTable(results)}${none}${cut}${summaryLine(counts)}\n`;
  fs.writeFileSync(path.join(o.runDir, "summary.txt"), report);
  // A run whose tests all passed but whose tempest exited non-zero (a worker crashed between tests) is not green either.
  const exitCode = counts.failed > 0 || !results.length || ran.code !== 0 ? 1 : 0;
  return { results, counts, report, runDir: o.runDir, subunit, junit, exitCode };
}
