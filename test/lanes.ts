/**
 * `npm test`'s runner: the test files in lanes side by side, each file (or the group of quick
 * ones) a mocha process of its own, the longest first, each lane taking the next file when its
 * current one ends.
 *
 * Why: the suite is mostly waiting (apt inside test hosts, daemons starting, the engine's plugins),
 * and one mocha process leaves a core idle. Why that is safe: as root, every mocha process runs in
 * a network namespace of its own with only a loopback (`unshare --net`), so two files' daemons on
 * 127.0.0.1:3306 never meet, and nothing a test starts can reach past this machine. What needs the
 * network (the cached Debian root, the engine) is prepared first, outside the namespaces.
 *
 * Output: a line when a file starts, its whole mocha output when it ends (never interleaved), then
 * a table of every file's time and counts, and last the plain line `N passed, N failed, N skipped`
 * (the form CI reads). Exit status 1 when any file failed.
 *
 * `KINETIC_TEST_LANES` sets the number of lanes (default: 3, or 1 when not root: most of a file's
 * time is waiting on apt, daemons and the engine, so a third lane fills what two leave idle); the arguments,
 * when given, are the test files to run instead of all of them.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureEngine } from "../engine/build";
import { cloudImageUnavailable, ensureCloudImage } from "../lab/cloudImage";
import { debianRootUnavailable, ensureDebianRoot, withSbin } from "../lab/debianRoot";

const ROOT = path.resolve(__dirname, "..");

/**
 * Seconds each long file takes (2 cores; from the runs of 2026-12-02 to 2026-12-07, the OpenStack
 * files since their MariaDB and keystone come from a cached layer): only the order matters, so a
 * rough figure does. Files not listed run together, in one process, as quick ones.
 */
const EXPECTED_SECONDS: Record<string, number> = {
  "test/lab/cloud.test.ts": 3600,
  "test/lab/lab.test.ts": 1800,
  "test/lab/rabbitmqRebuild.test.ts": 700,
  "test/lab/cephmonRebuild.test.ts": 780,
  "test/lab/etcdRebuild.test.ts": 1000,
  "test/lab/ovsdbRebuild.test.ts": 900,
  "test/formulas/openstack.test.ts": 750,
  "test/formulas/computeGuest.test.ts": 900,
  "test/formulas/ceph.test.ts": 520,
  "test/verify/tempest.test.ts": 100,
  "test/engine/virtualSafety.test.ts": 500,
  "test/formulas/openstackMore.test.ts": 450,
  "test/formulas/ovn.test.ts": 280,
  "test/engine/postgresBackend.test.ts": 350,
  "test/formulas/rabbitmq.test.ts": 300,
  "test/formulas/evil.test.ts": 420,
  "test/engine/physicalSafety.test.ts": 250,
  "test/formulas/keystone.test.ts": 220,
  "test/engine/rebuildHostKey.test.ts": 220,
  "test/engine/lifecycle.test.ts": 200,
  "test/engine/rotate.test.ts": 150,
  "test/engine/stackSet.test.ts": 90,
  "test/secretEpochs.test.ts": 150,
  "test/formulas/controller.test.ts": 120,
  "test/formulas/cephBooted.test.ts": 105,
  "test/image/guestImage.test.ts": 90,
  "test/engine/stackSecrets.test.ts": 70,
  "test/engine/commandSecrets.test.ts": 70,
  "test/formulas/docker.test.ts": 65,
  "test/formulas/services.test.ts": 60,
  "test/rebuildHostKeys.test.ts": 60,
  "test/formulas/mysql.test.ts": 140,
  "test/formulas/pxe.test.ts": 210,
  "test/formulas/bind.test.ts": 30,
  "test/formulas/etcd.test.ts": 90,
  "test/formulas/etcdBackup.test.ts": 110,
  "test/formulas/cephmonBackup.test.ts": 145,
  "test/formulas/ovsdbCluster.test.ts": 90,
  "test/lab/bootedHost.test.ts": 10,
  "test/libvirt/qemu.test.ts": 240,
};

interface Job {
  files: string[];
  label: string;
  expected: number;
}

interface Outcome {
  job: Job;
  lane: number;
  seconds: number;
  code: number;
  passing: number;
  failing: number;
  pending: number;
  /** mocha's failure section (or the output's end) of a file that failed. */
  failures: string;
}

function testFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".test.ts")) found.push(rel);
    }
  };
  walk("test");
  return found.sort();
}

/** The long files one by one, longest first; the quick ones as one job at the place of their sum. */
function jobs(files: string[]): Job[] {
  const long = files.filter((f) => f in EXPECTED_SECONDS).map((f) => ({ files: [f], label: f, expected: EXPECTED_SECONDS[f] }));
  const quick = files.filter((f) => !(f in EXPECTED_SECONDS));
  const all = quick.length ? [...long, { files: quick, label: `${quick.length} quick files`, expected: 10 * quick.length }] : long;
  return all.sort((a, b) => b.expected - a.expected);
}

function canIsolate(): boolean {
  return process.getuid?.() === 0 && spawnSync("unshare", ["--net", "true"], { env: withSbin() }).status === 0;
}

function count(output: string, word: string): number {
  return Number(new RegExp(`^\\s*(\\d+) ${word}`, "m").exec(output)?.[1] ?? 0);
}

/**
 * What a failed file said about its failures: mocha's "N failing" section, or the output's end when
 * the process died without one. Printed again beside the summary, where a CI log that keeps only
 * its end still shows why (the rehearsal of 2026-12-06 failed in ceph.test.ts with no trace left).
 */
function failureReport(output: string): string {
  const at = output.search(/^\s*\d+ failing/m);
  const report = at >= 0 ? output.slice(at) : output.slice(-3000);
  return report.length > 8000 ? `${report.slice(0, 8000)}\n... (${report.length - 8000} more characters above, in the file's section)` : report;
}

function runJob(job: Job, lane: number, isolate: boolean, children: Set<number>): Promise<Outcome> {
  const mocha = [process.execPath, require.resolve("mocha/bin/mocha.js"), "--no-config", "-r", "ts-node/register/transpile-only", "--extension", "ts", "--timeout", "120000", "--reporter", "spec", ...job.files];
  // A private network: only a loopback, brought up before mocha starts.
  const argv = isolate ? ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "lane", ...mocha] : mocha;
  const started = Date.now();
  process.stdout.write(`▶ lane ${lane}: ${job.label}\n`);
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, env: withSbin(), stdio: ["ignore", "pipe", "pipe"] });
    children.add(child.pid!);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.once("close", (code, signal) => {
      children.delete(child.pid!);
      const seconds = Math.round((Date.now() - started) / 1000);
      process.stdout.write(`\n── ${job.label} (lane ${lane}, ${seconds} s, ${signal ?? `exit ${code}`}) ──\n${output}\n`);
      resolve({ job, lane, seconds, code: code ?? 1, passing: count(output, "passing"), failing: count(output, "failing"), pending: count(output, "pending"), failures: code === 0 ? "" : failureReport(output) });
    });
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles();
  const isolate = canIsolate();
  const lanes = Math.max(1, Number(process.env.KINETIC_TEST_LANES ?? (isolate ? 3 : 1)));
  // Prepared here, with the network: inside a lane there is none.
  const log = (m: string) => process.stdout.write(`prepare: ${m}\n`);
  await ensureEngine(log);
  // The command plugin's Go tests build offline inside a lane: its modules must be here already.
  if (spawnSync("go", ["version"]).status === 0) {
    const r = spawnSync("go", ["mod", "download"], { cwd: path.join(ROOT, "engine", "command"), encoding: "utf8" });
    if (r.status !== 0) log(`go mod download (engine/command) failed: ${r.stderr.trim()}`);
  }
  const why = debianRootUnavailable();
  if (why) log(`no Debian root (${why}): the files that need test hosts skip (under CI=true they fail)`);
  else ensureDebianRoot(log);
  // The Debian cloud image test/libvirt/qemu.test.ts boots (apt in a chroot needs the mirror);
  // only when that file runs, so other runs never wait for a cold build.
  if (!why && files.some((f) => path.resolve(ROOT, f) === path.join(ROOT, "test/libvirt/qemu.test.ts")) && !cloudImageUnavailable()) ensureCloudImage({ log });
  const prepared = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`${files.length} test files in ${lanes} lane(s)${isolate ? ", each process in a network namespace of its own" : ""}; prepared in ${prepared} s\n`);

  const queue = jobs(files);
  const outcomes: Outcome[] = [];
  const children = new Set<number>();
  let stopped: string | undefined;
  // CI's timeout or an operator's kill: the files' own teardown (hosts, mounts) runs on SIGTERM, and
  // no file starts after it (the running ones end, the summary says what never ran).
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.once(sig, () => {
      stopped = sig;
      for (const pid of children) {
        try {
          process.kill(pid, sig);
        } catch {
          /* gone */
        }
      }
    });
  }
  await Promise.all(
    Array.from({ length: lanes }, async (_, i) => {
      while (!stopped) {
        const job = queue.shift();
        if (!job) break;
        outcomes.push(await runJob(job, i + 1, isolate, children));
      }
    }),
  );

  const total = Math.round((Date.now() - started) / 1000);
  const failed = outcomes.filter((o) => o.code !== 0);
  process.stdout.write("\nfile                                          lane  seconds  passing  failing  pending\n");
  for (const o of outcomes.sort((a, b) => b.seconds - a.seconds)) {
    process.stdout.write(`${o.job.label.padEnd(46)}${String(o.lane).padStart(4)}${String(o.seconds).padStart(9)}${String(o.passing).padStart(9)}${String(o.failing).padStart(9)}${String(o.pending).padStart(9)}\n`);
  }
  const sum = (k: "passing" | "failing" | "pending") => outcomes.reduce((n, o) => n + o[k], 0);
  // A file whose process died without mocha's summary (a crash, a signal, a compile error) counts as
  // one failure: the closing line must never read "0 failed" under an exit status of 1.
  const silentDeaths = failed.filter((o) => o.failing === 0).length;
  process.stdout.write(`\n${total} s in all (prepare ${prepared} s, ${lanes} lanes)\n`);
  for (const o of failed) process.stdout.write(`\n── why ${o.job.label} failed ──\n${o.failures}\n`);
  if (failed.length) process.stdout.write(`failed: ${failed.map((o) => o.job.label).join(", ")}\n`);
  if (stopped) process.stdout.write(`stopped by ${stopped}: ${queue.length} file(s) never ran\n`);
  // A run that executed nothing proves nothing: say so and fail.
  const nothingProven = sum("passing") === 0;
  if (nothingProven) process.stdout.write("no test passed: nothing was proven\n");
  // The last line, alone, in the form CI reads: every lane's mocha counts summed.
  process.stdout.write(`${sum("passing")} passed, ${sum("failing") + silentDeaths} failed, ${sum("pending")} skipped\n`);
  return failed.length || nothingProven || stopped ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
