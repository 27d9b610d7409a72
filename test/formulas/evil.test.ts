import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { cloudFacts, deriveSecret, endpointFacts } from "../../components/formulaFacts";
import { deriveHostKey } from "../../components/hostKeys";
import { declaredUses, encodeValues, formulaCommand, FormulaValues, selectValues } from "../../formulas/envelope";
import { listFormulas, loadFormula } from "../../formulas/load";
import { Cloud, loadCloud } from "../../pillar";
import { DebianHost, ensureRootfs } from "../support/debianHost";
import { EVIL, withHost } from "./hostSuite";
import { resetTo, snapshot } from "./hostReset";
import { clearStubCalls, installStubs, StubCall, stubCalls, StubWorld } from "./stubHost";

/**
 * A pillar string full of shell syntax is never executed, one value at a time (issue 22).
 *
 * For every formula that reads values (all but the installs, which are checked to read none) and
 * for each value it is sent, the formula runs with THAT value hostile (its valid value followed by
 * EVIL: command substitution, backticks, quotes, `;`, a newline) and every other value valid, as
 * the program derives them for the INDEX 0 endpoint of its role in pillar/sample
 * (components/formulaFacts.ts; secrets from deriveSecret, PXE host keys from deriveHostKey).
 *
 * The host is a chroot made to look like an installed, booted server whose peers all answer
 * (stubHost.ts): the packages' own configuration files, the service accounts, systemd "running",
 * and recording stubs (stubCommand.sh) for every command that needs a real service, device or the
 * kernel (mysql, ceph, rabbitmqctl, etcdctl, systemctl, ip, sysctl, ...), which answer what lets
 * the formula go on (a healthy cluster, an empty disk, nothing made yet). python3 and timeout are
 * wrapped, not replaced: the formulas' own Python runs, except os_register's keystone client.
 * Every run starts from the host as it was before the formula's first run (hostReset.ts), so the
 * one-time steps of a first `up` run every time (Ceph's mkfs keys, db_sync, keystone bootstrap).
 * The first run of each formula goes over SSH exactly as the program's; the cases run the same
 * command (formulaCommand, values on stdin) through chroot, which must give the same run.
 *
 * Each case ends one of three ways, and the test prints which:
 * - refused: the formula failed with `kinetic: <formula>: step "<step>" failed: ...`, said
 *   "its validation names it" where the message names the value (`KINETIC_<NAME>`);
 * - carried: it succeeded, and the whole value (unsplit) reached a file it wrote, one argv element
 *   of a stub, a stub's input or a command's environment, literally or escaped for its target
 *   (JSON/YAML, SQL, URL, base64, option-file, re-joined as words, hashed, or line by line);
 * - ignored: it succeeded and did exactly what the all-valid run does (same commands and input,
 *   same changes): declared, but unused by this endpoint.
 * Anything else fails: /tmp/pwned created (in the host or on this machine), the value reaching a
 * command or file only in pieces (split into argv words, cut), a success that differs from the
 * valid run with the value found nowhere, the valid part of a secret printed, a failure naming no
 * step. The second case shows this can fail: a script that checks NAME and then hands TARGET to a
 * command unquoted, or to `bash -c`, passes the old all-at-once test (stopped by NAME's check) and
 * is caught here.
 *
 * What it proves: no value is evaluated by bash (eval, `bash -c`, unquoted expansion or heredoc)
 * anywhere a formula goes with the other values valid, and none reaches a command split. What it
 * does not: the stubs do not interpret what they get, so a value carried into SQL, an INI or YAML
 * file is shown reaching it escaped, not parsed there (the role tests run the real services on
 * such files); branches the stubs' answers do not take (a cluster already formed elsewhere, a disk
 * holding an OSD, a peer that does not answer) are not visited; STOPS_AT lists the formulas whose
 * valid run stops early here, and where. Values prefixed ADDRESSES_/NAMES_/ROLE_ADDRESSES_ are
 * tried together, then halved while together they change the run (refused together: one by one);
 * a value whose use needs another one hostile too would be missed.
 */

/** The valid values of a formula: those the program sends an INDEX 0 endpoint of its role in pillar/sample. */
function validValues(cloud: Cloud, shared: FormulaValues, label: string, text: string): FormulaValues {
  const role = label.split("/")[0];
  const e = cloud.endpoints.find((x) => (role === "common" ? x.role === "compute" : x.role === role) && x.index === 0);
  if (!e) throw new Error(`pillar/sample has no ${role} endpoint`);
  const secrets = Object.fromEntries(declaredUses(text).filter((u) => u.startsWith("SECRET_")).map((u) => [u, deriveSecret("evil-test-seed", u)]));
  const physical = cloud.endpoints.filter((x) => x.style === "physical");
  const hostKeys = physical.map((x) => {
    const k = deriveHostKey("evil-test-seed", x.name, "physical-1");
    return [x.uuid, k.publicKey, Buffer.from(k.privateKey).toString("base64")].join("\t");
  });
  // PXE_INSTALLED_UUID: the server pxe/installed is told has installed (components/pxeInstalled.ts).
  return selectValues(label, text, { ...endpointFacts(cloud, shared, e), ...secrets, PXE_HOST_KEYS: hostKeys.join("\n"), PXE_INSTALLED_UUID: physical[0].uuid });
}

const hostile = (valid: string): string => (valid ? `${valid} ${EVIL}` : EVIL);

/** How a formula may carry a value: literally, or escaped for where it goes (formulas/lib/kinetic.sh). */
const ENCODINGS: Record<string, (v: string) => string> = {
  literally: (v) => v,
  "JSON/option-file escaped": (v) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t"),
  "SQL escaped": (v) => v.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n"),
  "URL encoded": (v) => [...Buffer.from(v, "utf8")].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join(""),
  base64: (v) => Buffer.from(v, "utf8").toString("base64"),
  "as words": (v) => v.split(/\s+/).filter(Boolean).join(" "),
  // Hashed: only ever data to sha256sum (compute's and volume's libvirt secret UUID, bind's rndc key).
  "hashed (sha256 as a UUID)": (v) => createHash("sha256").update(v).digest("hex").replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, "$1-$2-$3-$4-$5"),
  "hashed (sha256, base64)": (v) => createHash("sha256").update(v).digest("base64"),
};

/** The encoding in which `text` holds the whole value, or each of its lines (a list: keys, assignments). */
function carriedIn(text: string, v: string): string | undefined {
  for (const [name, enc] of Object.entries(ENCODINGS)) if (text.includes(enc(v))) return name;
  const lines = v.split("\n").filter((l) => l.trim());
  if (lines.length < 2) return undefined;
  for (const [name, enc] of Object.entries(ENCODINGS)) if (lines.every((l) => text.includes(enc(l)))) return `line by line, ${name}`;
  return undefined;
}

/** What one run did. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: StubCall[];
  /** Files of the host written during the run (path -> content), stub records left out. */
  files: Map<string, string>;
  changed: string[];
}

const SKIP_DIRS = new Set(["kinetic-stub", "proc", "run", "tmp"]);
/** Regular files of the host's upper layer (what the host wrote) modified at or after `since`. */
function filesSince<T>(upper: string, since: number, read: (p: string) => T): Map<string, T> {
  const out = new Map<string, T>();
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(upper, rel), { withFileTypes: true })) {
      const r = `${rel}/${entry.name}`;
      if (!rel && SKIP_DIRS.has(entry.name)) continue;
      const p = path.join(upper, r);
      if (entry.isDirectory()) walk(r);
      else if (entry.isFile() && fs.statSync(p).mtimeMs >= since) out.set(r, read(p));
    }
  };
  walk("");
  return out;
}

/** Runs a formula (or a demonstration script's text) with these values. */
type Runner = (values: FormulaValues) => Promise<{ code: number; stdout: string; stderr: string }>;

/** The environment sshd gives root's command (Debian's default PATH, home, names). */
const LOGIN_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", USER: "root", LOGNAME: "root", SHELL: "/bin/bash" };
/**
 * The program's command for a formula (formulaCommand, the values on stdin: encodeValues) run by
 * `sh -c` in the host as sshd's login shell would, without the SSH transport, which carries the
 * command and the values as bytes and parses neither. A tenth of an SSH run's time; the first run
 * of each formula goes over SSH as the program's does.
 */
function direct(host: DebianHost, label: string, text: string): Runner {
  const command = formulaCommand(label, text);
  return async (values) => {
    const r = spawnSync("unshare", ["--uts", "chroot", host.root, "/bin/sh", "-c", command], { input: encodeValues(values), encoding: "utf8", env: LOGIN_ENV, cwd: "/", maxBuffer: 64 * 1024 * 1024 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
}

async function observe(host: DebianHost, runner: Runner, values: FormulaValues): Promise<Run> {
  clearStubCalls(host);
  const since = Date.now() - 2;
  // A wait the stubs do not satisfy fails in seconds, naming what it waited for, not in 300 s.
  const r = await runner({ ...values, WAIT_SECONDS: "4" });
  return {
    ...r,
    calls: stubCalls(host),
    files: filesSince(host.upper, since, (p) => (fs.statSync(p).size < 4_000_000 ? fs.readFileSync(p, "utf8") : "")),
    changed: r.stdout.split("\n").filter((l) => l.startsWith("changed: ")).sort(),
  };
}

/** A run's commands and their input, with the names of temporary files made the same. */
function shape(run: Run): string[] {
  // mktemp's names: /tmp/tmp.XXXXXXXXXX, <dir>/.kinetic.XXXXXX, /kvm/images/.download.XXXXXX, ...
  const norm = (s: string) => s.replace(/\/tmp\/tmp\.[A-Za-z0-9]+/g, "/tmp/T").replace(/(\/\.[A-Za-z0-9_-]+)\.[A-Za-z0-9]{6}(?![A-Za-z0-9])/g, "$1.T");
  // Sorted: the two ends of a pipe (ceph ... | python3) start together and record in either order.
  return run.calls.map((c) => norm(`${c.argv.join("\u241f")} <<< ${c.stdin}`)).sort();
}

type Outcome = { kind: "refused"; step: string; message: string; names: boolean } | { kind: "carried"; where: string } | { kind: "ignored" };

/**
 * Classifies a run with `name` hostile against the steady all-valid run; throws (the case fails)
 * when the value ran, was split or mangled, or changed the run without being found.
 */
function classify(label: string, name: string, value: string, validPart: string, run: Run, steady: Run, pwned: boolean): Outcome {
  const show = () => `exit ${run.code}\n--- stdout\n${run.stdout.slice(-3000)}\n--- stderr\n${run.stderr.slice(-3000)}`;
  assert.equal(pwned, false, `${label} ${name}: the value was executed (/tmp/pwned exists)\n${show()}`);
  if (name.startsWith("SECRET_") || name === "PXE_HOST_KEYS") {
    // The valid part of a secret is a long random string: seen in the output, the secret was printed.
    for (const part of validPart.split(/\s+/).filter((p) => p.length >= 16)) {
      assert.ok(!run.stdout.includes(part) && !run.stderr.includes(part), `${label} printed the secret ${name}\n${show()}`);
    }
  }
  const stop = (r: Run) => /^kinetic: .* failed.*$/m.exec(r.stderr)?.[0];
  const sameStop = steady.code !== 0 && run.code === steady.code && stop(run) === stop(steady);
  if (run.code !== 0 && !sameStop) {
    const m = new RegExp(`kinetic: ${label.replace(/\//g, "\\/")}: step "([^"]+)" failed(?:: (.*)| (\\(exit .*))`).exec(run.stderr);
    assert.ok(m, `${label} ${name}: failed without naming its step\n${show()}`);
    const message = m[2] ?? m[3];
    return { kind: "refused", step: m[1], message, names: message.includes(name.replace(/ .*/, "")) };
  }
  const sinks: [string, string][] = [
    ...[...run.files].map(([p, c]): [string, string] => [`file ${p}`, c]),
    ...run.calls.flatMap((c, i): [string, string][] => [
      ...c.argv.map((a, j): [string, string] => [`${c.argv[0]} argv[${j}] (call ${i})`, a]),
      [`${c.argv[0]} stdin (call ${i})`, c.stdin],
      ...Object.entries(c.env).map(([k, v]): [string, string] => [`${c.argv[0]} environment ${k} (call ${i})`, v]),
    ]),
    ["a changed: line", run.changed.join("\n")],
  ];
  for (const [where, text] of sinks) {
    const form = carriedIn(text, value);
    if (form) return { kind: "carried", where: `${where}, ${form}` };
  }
  // Not found whole: a piece of it anywhere means the value was split or mangled on the way.
  const piece = sinks.find(([, text]) => text.includes("touch /tmp/pwned") || text.includes("$(touch"));
  assert.ok(!piece, `${label} ${name}: the value reached ${piece?.[0]} only in pieces:\n${piece?.[1].slice(0, 2000)}`);
  assert.deepEqual(shape(run), shape(steady), `${label} ${name}: the run differs from the valid run's commands, but the value was found nowhere`);
  assert.deepEqual(run.changed, steady.changed, `${label} ${name}: the run changed other things than the valid run, but the value was found nowhere`);
  return { kind: "ignored" };
}

/**
 * What the stubs answer: the pillar's clusters whole and healthy (every Ceph monitor in quorum,
 * every etcd member serving, every RabbitMQ node running), nothing made yet in Ceph.
 */
function stubWorld(cloud: Cloud): StubWorld {
  const of = (role: string) => cloud.endpoints.filter((e) => e.role === role);
  const mons = of("cephmon").map((e) => e.name);
  const etcd = of("etcd");
  const rabbit = JSON.stringify(of("rabbitmq").map((e) => `rabbit@${e.name}`));
  return {
    addresses: [...new Set(cloud.endpoints.map((e) => e.address))],
    disks: [...new Set(cloud.endpoints.flatMap((e) => cloud.pillar.hosts[e.type].osdDisks ?? []))],
    answers: {
      "ceph~1~mon_status": JSON.stringify({ state: "leader", monmap: { mons: mons.map((name, rank) => ({ rank, name })) }, quorum: mons.map((_, i) => i) }),
      "ceph~1~quorum_status": JSON.stringify({ monmap: { mons: mons.map((name) => ({ name })) }, quorum_names: mons }),
      "ceph~1~config dump": "[]",
      "ceph~1~fs ls": "[]",
      "ceph~1~auth get": "[]",
      "etcdctl~1~member list": JSON.stringify({ members: etcd.map((e, i) => ({ ID: i + 1, name: e.name, clientURLs: [`http://${e.address}:2379`], peerURLs: [`http://${e.address}:2380`] })) }),
      "etcdctl~1~endpoint health -w json": JSON.stringify(etcd.map((e) => ({ endpoint: `http://${e.address}:2379`, health: true }))),
      "etcdctl~2~endpoint health": etcd.map((e) => `http://${e.address}:2379 is healthy: successfully committed proposal`).join("\n"),
      "rabbitmqctl~1~cluster_status": `{"running_nodes":${rabbit},"disk_nodes":${rabbit},"partitions":[]}`,
      "rabbitmqctl~1~list_users": "openstack\t[administrator]\n",
    },
  };
}

const FAMILIES = ["ADDRESSES_", "NAMES_", "ROLE_ADDRESSES_"];
/** A family member the formula's text names (its type as a word, e.g. os_list's `mysql`): tried alone. */
function named(text: string, name: string): boolean {
  const family = FAMILIES.filter((f) => name.startsWith(f)).sort((a, b) => b.length - a.length)[0];
  if (!family) return true;
  const type = name.slice(family.length).toLowerCase();
  return text.includes(name) || new RegExp(`(^|[^A-Za-z0-9_])${type}([^A-Za-z0-9]|$)`, "m").test(text.replace(/^#.*$/gm, ""));
}

/**
 * Where the all-valid run stops in the stub host, for the formulas whose remaining steps need a
 * service the stubs cannot stand in for (the values they read are all checked before that step).
 */
const STOPS_AT: Record<string, { step: string; why: string }> = {
  "ovsdb/health": { step: "clusters", why: "it reads OVN's RAFT cluster/status text, which no stub writes" },
  "storage/configure": { step: "osds", why: "it lists the OSD ceph-volume just prepared; the stubs keep no state between calls" },
};

/**
 * Runs one formula with each value hostile in turn (family members together first, halved while
 * together they change the run) and returns one line per case; throws on the first case that fails.
 */
/** Formulas that act on what another one made (pxe/installed on pxe/configure's assignments): run first, with valid values. */
const PREPARE: Record<string, string[]> = { "pxe/installed": ["pxe/configure"] };

async function sweep(h: DebianHost, label: string, text: string, ssh: Runner, valid: FormulaValues, pwned: () => boolean): Promise<string[]> {
  // Every run starts from the host as it is now (this formula never ran): a first `up`'s path,
  // with the one-time steps that use values the later runs skip (Ceph's mkfs keys, db_sync).
  const fresh = snapshot(h);
  const lowerdirs = ensureRootfs().split(":");
  const reset = () => resetTo(h, fresh, lowerdirs);
  const first = await observe(h, ssh, valid);
  reset();
  const runner = direct(h, label, text);
  const stops = STOPS_AT[label];
  const fail = /^kinetic: .* failed.*$/m.exec(first.stderr)?.[0];
  if (stops) assert.ok(first.code !== 0 && fail?.includes(`step "${stops.step}"`), `${label}: STOPS_AT says the valid run stops in step "${stops.step}": ${fail ?? "it succeeds"}`);
  else assert.equal(first.code, 0, `${label} fails with every value valid, so no case would reach past that:\n${first.stdout.slice(-3000)}\n${first.stderr.slice(-3000)}`);
  const steady = await observe(h, runner, valid);
  reset();
  // The same run over SSH and directly, from the same state: the reset and the direct runner change nothing.
  assert.deepEqual([steady.code, shape(steady), steady.changed], [first.code, shape(first), first.changed], `${label}: the valid run differs between SSH and direct`);
  const lines: string[] = [];
  /** Runs with `names` hostile; then puts back what it wrote (the next case starts from the valid state). */
  const hostileRun = async (names: string[]): Promise<Run> => {
    const values = { ...valid };
    for (const n of names) values[n] = hostile(valid[n]);
    const run = await observe(h, runner, values);
    assert.equal(pwned(), false, `${label} ${names.join(" ")}: a value was executed (/tmp/pwned exists)\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
    reset();
    return run;
  };
  const alone = async (name: string): Promise<void> => {
    const run = await hostileRun([name]);
    const o = classify(label, name, hostile(valid[name]), valid[name], run, steady, pwned());
    lines.push(`${name}: ${o.kind === "refused" ? `refused in step "${o.step}"${o.names ? " (its validation names it)" : ""}: ${o.message.slice(0, 100)}` : o.kind === "carried" ? `carried to ${o.where}` : "ignored (the run equals the valid run)"}`);
  };
  /** Family members together; refused naming one of them: that one alone, the rest together again; changed the run: halved. */
  const together = async (names: string[], streak = 0): Promise<void> => {
    if (names.length === 1) return alone(names[0]);
    const run = await hostileRun(names);
    if (run.code === steady.code && JSON.stringify([shape(run), run.changed]) === JSON.stringify([shape(steady), steady.changed])) {
      lines.push(`${names.length} together, ignored (the run equals the valid run): ${names.join(" ")}`);
      return;
    }
    const failure = /^kinetic: .* failed.*$/m.exec(run.stderr)?.[0] ?? "";
    const refusedFor = run.code !== 0 && run.code !== steady.code ? names.find((n) => failure.includes(`KINETIC_${n} `)) : undefined;
    if (refusedFor) {
      // Each checked in turn (bind's every NAMES_/ADDRESSES_ pair): after a few, one by one is cheaper.
      if (streak >= 2) {
        for (const n of names) await alone(n);
        return;
      }
      await alone(refusedFor);
      await together(names.filter((n) => n !== refusedFor), streak + 1);
      return;
    }
    const mid = Math.ceil(names.length / 2);
    await together(names.slice(0, mid));
    await together(names.slice(mid));
  };
  const family = (n: string) => FAMILIES.some((f) => n.startsWith(f));
  for (const name of Object.keys(valid).filter((n) => !family(n))) await alone(name);
  const members = Object.keys(valid).filter(family);
  for (const pool of [members.filter((n) => named(text, n)), members.filter((n) => !named(text, n))]) if (pool.length) await together(pool);
  // The resets put everything back: the valid values run as they did before the first case.
  const last = await observe(h, runner, valid);
  reset();
  assert.deepEqual([last.code, shape(last), last.changed], [steady.code, shape(steady), steady.changed], `${label}: the valid run after the cases differs from before them`);
  return lines;
}

/** lib/kinetic.sh inlined before a demonstration script's body, as loadFormula does for a formula. */
const withLib = (body: string): string => `#!/usr/bin/env bash\n# kinetic-uses: NAME TARGET\n${fs.readFileSync(path.join(__dirname, "..", "..", "formulas", "lib", "kinetic.sh"), "utf8")}\n${body}\nfinish\n`;
/** Checks NAME first, as every formula does, then hands TARGET to a (stubbed) command: safely, split, or through a shell. */
const DEMO = {
  safe: withLib('step "check values"\nneed_valid is_hostname NAME "${KINETIC_NAME:?}"\nstep "reload"\nrndc reload "${KINETIC_TARGET:?}"'),
  split: withLib('step "check values"\nneed_valid is_hostname NAME "${KINETIC_NAME:?}"\nstep "reload"\n# shellcheck disable=SC2086\nrndc reload ${KINETIC_TARGET:?} || true'),
  shell: withLib('step "check values"\nneed_valid is_hostname NAME "${KINETIC_NAME:?}"\nstep "reload"\nbash -c "rndc reload ${KINETIC_TARGET:?}" || true'),
};
const DEMO_VALUES = { NAME: "demo-host", TARGET: "zone.example.org" };

describe("formulas: a pillar string full of shell syntax is never executed, one value at a time", function () {
  this.timeout(20 * 60_000);
  const cloud = loadCloud(path.join(__dirname, "..", "..", "pillar", "sample"), { stack: "dev" });
  const shared = cloudFacts(cloud);
  const world = stubWorld(cloud);
  const { host } = withHost({ partial: false }, { setup: async (h) => installStubs(h, world) });
  const pwned = () => fs.existsSync("/tmp/pwned") || host().exists("/tmp/pwned");

  it("the canary works: a script that does evaluate the value creates /tmp/pwned in the host", async () => {
    const bad = "#!/usr/bin/env bash\n# kinetic-uses: X\nbash -c \"echo $KINETIC_X\" > /dev/null 2>&1 || true\n";
    const r = await host().script("demo/vulnerable", bad, { X: EVIL });
    assert.equal(r.code, 0);
    assert.equal(host().exists("/tmp/pwned"), true, "the canary did not fire: the check above would prove nothing");
    host().exec(["rm", "-f", "/tmp/pwned"]);
  });

  it("a formula that checks one value and then misuses another is caught one value at a time, and was not all at once", async () => {
    const h = host();
    const run = (text: string): Runner => (values) => h.script("demo/reload", text, values);
    // All values hostile at once (the old test): the check of NAME stops each before TARGET is used.
    for (const text of [DEMO.split, DEMO.shell]) {
      const r = await observe(h, run(text), { NAME: hostile("demo-host"), TARGET: hostile("zone.example.org") });
      assert.match(r.stderr, /step "check values" failed: KINETIC_NAME is not a valid hostname/);
      assert.equal(pwned(), false);
    }
    // One at a time: the safe script passes; the one splitting TARGET into words and the one handing it to a shell are caught.
    const lines = await sweep(h, "demo/reload", DEMO.safe, run(DEMO.safe), DEMO_VALUES, pwned);
    assert.deepEqual(lines.map((l) => l.replace(/:.*/, "")), ["NAME", "TARGET"]);
    assert.match(lines[1], /^TARGET: carried to rndc argv\[2\]/);
    await assert.rejects(sweep(h, "demo/reload", DEMO.split, run(DEMO.split), DEMO_VALUES, pwned), /TARGET: the value reached rndc argv\[\d\] \(call 0\) only in pieces/);
    await assert.rejects(sweep(h, "demo/reload", DEMO.shell, run(DEMO.shell), DEMO_VALUES, pwned), /TARGET: a value was executed/);
    h.exec(["rm", "-f", "/tmp/pwned"]);
  });

  // EVIL_ONLY=<regex> runs only the formulas it matches (for working on one).
  const only = new RegExp(process.env.EVIL_ONLY ?? "");
  for (const label of listFormulas().filter((l) => only.test(l))) {
    const { text } = loadFormula(label);
    if (label.endsWith("/install")) {
      it(`${label} reads no pillar value`, () => {
        const own = text.split("# <<< lib/kinetic.sh")[1] ?? text;
        assert.doesNotMatch(own, /\$\{?KINETIC_(?!STEP|CHANGES|FORMULA|APT_OPTS)/);
      });
      continue;
    }
    it(`${label}: each value hostile in turn, the others valid`, async function () {
      const h = host();
      for (const before of PREPARE[label] ?? []) {
        const r = await h.formula(before, { ...validValues(cloud, shared, before, loadFormula(before).text), WAIT_SECONDS: "4" });
        assert.equal(r.code, 0, `${before}, run before ${label}: ${r.stderr.slice(-2000)}`);
      }
      const lines = await sweep(h, label, text, (values) => h.formula(label, values), validValues(cloud, shared, label, text), pwned);
      console.log(`      ${label}:\n${lines.map((l) => `        ${l}`).join("\n")}`);
    });
  }
});
