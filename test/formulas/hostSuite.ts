/** Shared pieces of the formula tests: one Debian test host per test file, and the usual checks. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { FormulaValues } from "../../formulas/envelope";
import { DebianHost, DebianHostOptions, RunResult, startDebianHost, unavailable } from "../support/debianHost";
import { requirePrerequisite } from "../support/prerequisite";

/** Shell metacharacters a pillar string may carry; no formula may ever execute it. */
export const EVIL = "x $(touch /tmp/pwned) `touch /tmp/pwned` 'single' \"double\" ; touch /tmp/pwned\nsecond line $HOME \\ end";
/** Only letters, digits and the evil string: for values that are free text. */
export const evil = (prefix: string) => `${prefix} ${EVIL}`;

export const HASHED_DIRS = ["/etc", "/root", "/kvm", "/srv", "/var/www", "/var/lib/rabbitmq/.erlang.cookie", "/var/lib/kinetic"];

/**
 * Declares mocha hooks that start a host before the file's tests and stop it after. Tests are
 * skipped (with the reason) where the harness cannot run: not root, no debootstrap, ...
 */
export interface HostHooks {
  /** Run on the started host before the file's tests (daemons a file needs). */
  setup?: (host: DebianHost) => Promise<void>;
  /** Run after the tests, before the host stops (even when the host never started). */
  teardown?: () => Promise<void>;
  /** Bounds of starting (with setup) and of stopping (with teardown). Default 20 min and 1 min. */
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export function withHost(opts: DebianHostOptions = {}, hooks: HostHooks = {}): { host: () => DebianHost } {
  let host: DebianHost | undefined;
  before(async function () {
    requirePrerequisite(this, unavailable(), "a Debian test host");
    this.timeout(hooks.startTimeoutMs ?? 20 * 60_000);
    host = await startDebianHost((m) => console.log(`      [host] ${m}`), opts);
    await hooks.setup?.(host);
  });
  after(async function () {
    this.timeout(hooks.stopTimeoutMs ?? 60_000);
    await hooks.teardown?.();
    if (!host) return;
    try {
      assertNoPwned(host);
    } finally {
      await host.stop();
    }
  });
  return {
    host: () => {
      if (!host) throw new Error("host not started");
      return host;
    },
  };
}

export function assertNoPwned(host: DebianHost): void {
  assert.equal(fs.existsSync("/tmp/pwned"), false, "/tmp/pwned exists on the test machine");
  assert.equal(host.exists("/tmp/pwned"), false, "/tmp/pwned exists in the test host");
}

export function describeRun(r: RunResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`;
}

/** Runs a formula and asserts it succeeded. */
export async function runOk(host: DebianHost, label: string, values: FormulaValues): Promise<RunResult> {
  const r = await host.formula(label, values);
  assert.equal(r.code, 0, `${label} failed: ${describeRun(r)}`);
  assertNoPwned(host);
  return r;
}

/** Runs a formula a second time and asserts it changed nothing: no `changed:` line, same file hashes. */
export async function assertIdempotent(host: DebianHost, label: string, values: FormulaValues): Promise<void> {
  const before = host.hashes(HASHED_DIRS);
  const r = await runOk(host, label, values);
  const changes = r.stdout.split("\n").filter((l) => l.startsWith("changed:"));
  assert.deepEqual(changes, [], `${label} changed something on its second run: ${describeRun(r)}`);
  assert.match(r.stdout, new RegExp(`kinetic: ${label}: nothing changed`));
  const after = host.hashes(HASHED_DIRS);
  const diff = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
  assert.deepEqual(diff, [], `${label}: files differ after the second run`);
}

/** Runs a formula expecting it to refuse a value: non-zero exit, a message naming formula and step. */
export async function assertRejects(host: DebianHost, label: string, values: FormulaValues, step: string, what: RegExp): Promise<void> {
  const r = await host.formula(label, values);
  assert.notEqual(r.code, 0, `${label} accepted a bad value: ${describeRun(r)}`);
  assert.ok(r.stderr.includes(`kinetic: ${label}: step "${step}" failed`), `no step message: ${describeRun(r)}`);
  assert.match(r.stderr, what);
  assertNoPwned(host);
}

export function assertInstalled(host: DebianHost, packages: string[]): void {
  for (const p of packages) {
    const r = host.tryExec(["dpkg-query", "-W", "-f=${Status}", p]);
    assert.equal(r.stdout, "install ok installed", `package ${p} is not installed (${r.stderr.trim()})`);
  }
}

/**
 * A unit is enabled when a symlink to it exists in some /etc/systemd/system/<target>.wants/; a
 * service that only ships a SysV init script (tftpd-hpa) is enabled by its /etc/rc2.d/S* link, which
 * `systemctl enable` creates through systemd-sysv-install.
 */
export function assertEnabled(host: DebianHost, units: string[]): void {
  const base = host.path("/etc/systemd/system");
  for (const u of units) {
    const wants = fs.readdirSync(base).filter((d) => d.endsWith(".wants") && isLink(`${base}/${d}/${u}`));
    const sysv = u.replace(/\.service$/, "");
    const rc = fs.existsSync(host.path("/etc/rc2.d")) ? fs.readdirSync(host.path("/etc/rc2.d")).filter((f) => f === `S01${sysv}` || new RegExp(`^S\\d\\d${sysv}$`).test(f)) : [];
    const native = host.exists(`/lib/systemd/system/${u}`) || host.exists(`/etc/systemd/system/${u}`);
    assert.ok(wants.length > 0 || (!native && rc.length > 0), `unit ${u} is not enabled (no /etc/systemd/system/*.wants/${u}${native ? "" : ` nor /etc/rc2.d/S??${sysv}`})`);
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Lines of `changed:` output. */
export function changes(r: RunResult): string[] {
  return r.stdout.split("\n").filter((l) => l.startsWith("changed: ")).map((l) => l.slice("changed: ".length));
}

/** Waits until something accepts TCP connections on host:port (a daemon a test started in the host). */
export async function waitForPort(host: string, port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}
