/**
 * A real Debian bookworm host for formula tests, reached over SSH exactly as the program reaches a
 * server: `ssh -i <key> -p <port> root@127.0.0.42 <formulaCommand(label, text)>` with
 * `encodeValues(values)` on standard input.
 *
 * How it is built (root is required; tests skip when it, `debootstrap` or `sshd` is missing):
 * - A root file system is made once with `debootstrap --variant=minbase` from the Debian mirror the
 *   machine's own apt configuration names (read at run time, never hard-coded; override with
 *   KINETIC_TEST_MIRROR), with openssh-server and systemd installed, the package lists fetched and
 *   every package a formula installs *downloaded* (not installed) into /var/cache/apt/archives, so
 *   formulas really install their packages but from local files. It is cached under
 *   /var/cache/kinetic-test/rootfs-<key> (override the parent with KINETIC_TEST_CACHE), where the
 *   key hashes the suite, mirror, harness version and package list (the package list is read from
 *   the literal `pkg_install` lines of the formulas, so adding a package makes a new cache).
 * - The cached tree has /usr/sbin/policy-rc.d answering 101, so no daemon starts when a package is
 *   installed (there is no systemd in a chroot; formulas only write configuration and
 *   `systemctl enable`; on a real host the policy file does not exist and daemons start).
 * - Each `startDebianHost()` mounts a private overlay (fallback: `cp -a --reflink=auto`) of the
 *   cached tree, mounts /proc inside, and starts `sshd` chrooted on 127.0.0.42 at a free port with a
 *   fresh client key. The harness key is listed in a second AuthorizedKeysFile
 *   (/etc/ssh/kinetic-test-authorized_keys), so a formula owning /root/.ssh/authorized_keys cannot
 *   lock the tests out. `stop()` kills sshd and any process still running inside the tree (by pid),
 *   unmounts and deletes the copy.
 * - Host keys are verified as the program does (`connection.hostKey`): the client pins the host's
 *   ed25519 key (`StrictHostKeyChecking=yes`, a known_hosts file holding only that key), so a host
 *   presenting any other key gets nothing. `startDebianHost({ hostKey })` serves a given key (e.g.
 *   one the program generated); `script(..., { pin })` pins another key than the host's.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { encodeValues, formulaCommand, FormulaValues } from "../../components/formulaEnvelope";
import { listFormulas, loadFormula } from "../../formulas/load";

export const HOST_ADDRESS = "127.0.0.42";
const SUITE = "bookworm";
const HARNESS_VERSION = "1";
/** Installed in the cached tree: what sshd and `systemctl enable` need. */
const BASE_PACKAGES = ["openssh-server", "systemd", "systemd-sysv"];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DebianHost {
  /** The host's root file system as seen from the test machine. */
  root: string;
  port: number;
  /** Run formulas/<label> (includes inlined by loadFormula) over SSH with these values. */
  formula(label: string, values: FormulaValues): Promise<RunResult>;
  /** Run any script text over SSH the same way; `pin` replaces the host's own key as the one accepted. */
  script(label: string, text: string, values: FormulaValues, opts?: { pin?: string }): Promise<RunResult>;
  /** The host key line sshd presents. */
  hostKey: string;
  /** sshd's log so far (`-e`), the last 8000 characters. */
  sshdLog(): string;
  /** Run a command inside the host (chroot), returning its stdout; throws on failure. */
  exec(argv: string[]): string;
  /** Like exec, but returns the exit status and output without throwing. */
  tryExec(argv: string[]): RunResult;
  /** Absolute path on the test machine of a path inside the host. */
  path(p: string): string;
  read(p: string): string;
  exists(p: string): boolean;
  /** sha256 of every regular file and symlink target under the given host directories. */
  hashes(dirs: string[]): Record<string, string>;
  stop(): Promise<void>;
}

/** Why the harness cannot run here, or undefined when it can. */
export function unavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root";
  for (const tool of ["debootstrap", "chroot", "ssh", "ssh-keygen", "mount"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore", env: withSbin() }).status !== 0) return `${tool} not installed`;
  }
  return undefined;
}

function withSbin(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin` };
}

/** The Debian mirror apt on this machine uses (deb822 .sources or one-line sources.list). */
export function debianMirror(): string {
  if (process.env.KINETIC_TEST_MIRROR) return process.env.KINETIC_TEST_MIRROR;
  const files: string[] = [];
  for (const f of ["/etc/apt/sources.list"]) if (fs.existsSync(f)) files.push(f);
  const d = "/etc/apt/sources.list.d";
  if (fs.existsSync(d)) for (const f of fs.readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) files.push(path.join(d, f));
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "mi").exec(stanza)?.[1].trim().split(/\s+/) ?? [];
        if (/^Enabled:\s*no/im.test(stanza)) continue;
        if (!field("Types").includes("deb")) continue;
        if (!field("Suites").includes(SUITE)) continue;
        const uri = field("URIs")[0];
        if (uri) return uri;
      }
    } else {
      for (const line of text.split("\n")) {
        const m = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (m && m[2] === SUITE) return m[1];
      }
    }
  }
  throw new Error(`no apt source for ${SUITE} found in /etc/apt; set KINETIC_TEST_MIRROR`);
}

/** Every literal package name on a `pkg_install` line of a formula. */
export function formulaPackages(): string[] {
  const set = new Set<string>();
  for (const label of listFormulas()) {
    for (const line of loadFormula(label).text.split("\n")) {
      const m = /^\s*pkg_install\s+([a-z0-9][a-z0-9+.\- ]*?)\s*$/.exec(line);
      if (m) for (const p of m[1].split(/\s+/)) set.add(p);
    }
  }
  return [...set].sort();
}

function cacheRoot(): string {
  return process.env.KINETIC_TEST_CACHE ?? "/var/cache/kinetic-test";
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: "utf8", env: withSbin(), timeout: opts.timeoutMs ?? 20 * 60_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? "")).slice(-4000)}`);
  return r.stdout;
}

/** The cached root file system, built when missing. Returns its path. */
export function ensureRootfs(log: (m: string) => void = () => undefined): string {
  const mirror = debianMirror();
  const packages = formulaPackages();
  const key = createHash("sha256").update(JSON.stringify({ SUITE, mirror, HARNESS_VERSION, BASE_PACKAGES, packages })).digest("hex").slice(0, 16);
  const dir = path.join(cacheRoot(), `rootfs-${key}`);
  pruneOldRootfs(dir);
  if (fs.existsSync(path.join(dir, ".kinetic-complete"))) return dir;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cacheRoot(), `.build-${key}-`));
  const started = Date.now();
  try {
    log(`debootstrap ${SUITE} from ${mirror} into ${tmp}`);
    run("debootstrap", ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, SUITE, tmp, mirror]);
    // No daemon starts on package install inside the test host (documented above).
    fs.writeFileSync(path.join(tmp, "usr/sbin/policy-rc.d"), "#!/bin/sh\n# kinetic test host: never start daemons from maintainer scripts\nexit 101\n", { mode: 0o755 });
    fs.writeFileSync(path.join(tmp, "etc/apt/apt.conf.d/99kinetic-test"), 'APT::Keep-Downloaded-Packages "true";\nBinary::apt::APT::Keep-Downloaded-Packages "true";\n');
    fs.copyFileSync("/etc/resolv.conf", path.join(tmp, "etc/resolv.conf"));
    run("chroot", [tmp, "apt-get", "update", "-q"]);
    if (packages.length) {
      log(`downloading ${packages.length} formula packages (with dependencies)`);
      run("chroot", [tmp, "apt-get", "install", "-y", "-q", "--download-only", "--no-install-recommends", ...packages]);
    }
    fs.writeFileSync(path.join(tmp, ".kinetic-complete"), `${new Date().toISOString()} ${packages.join(" ")}\n`);
    try {
      fs.renameSync(tmp, dir);
    } catch {
      // Someone else finished the same build first.
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    log(`rootfs ready in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
    return dir;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Deletes cached trees of other keys (an older package list or harness version) unused for a week
 * and not mounted as an overlay's lower layer by a running test.
 */
function pruneOldRootfs(keep: string): void {
  const weekAgo = Date.now() - 7 * 24 * 3600_000;
  let mounts = "";
  try {
    mounts = fs.readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return;
  }
  for (const entry of fs.existsSync(cacheRoot()) ? fs.readdirSync(cacheRoot()) : []) {
    const p = path.join(cacheRoot(), entry);
    if (p === keep || !/^rootfs-[0-9a-f]{16}$/.test(entry)) continue;
    const marker = path.join(p, ".kinetic-complete");
    if (!fs.existsSync(marker) || fs.statSync(marker).mtimeMs > weekAgo || mounts.includes(`lowerdir=${p},`)) continue;
    fs.rmSync(p, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, HOST_ADDRESS, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST_ADDRESS);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${HOST_ADDRESS}:${port}: ${stderr()}`);
}

function isMounted(p: string): boolean {
  return fs.readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === p);
}

/** Pids of processes whose root directory is inside `root`. */
function processesIn(root: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const r = fs.readlinkSync(`/proc/${entry}/root`);
      if (r === root || r.startsWith(root + "/")) pids.push(Number(entry));
    } catch {
      /* gone or not ours to read */
    }
  }
  return pids;
}

export interface DebianHostOptions {
  /** An OpenSSH private key for sshd to present as its only host key. Default: the tree's own ed25519 key. */
  hostKey?: string;
}

export async function startDebianHost(log: (m: string) => void = () => undefined, opts: DebianHostOptions = {}): Promise<DebianHost> {
  const lower = ensureRootfs(log);
  const now = new Date();
  fs.utimesSync(path.join(lower, ".kinetic-complete"), now, now);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-host-"));
  const root = path.join(work, "root");
  fs.mkdirSync(root);
  let overlay = false;
  for (const d of ["upper", "work"]) fs.mkdirSync(path.join(work, d));
  if (spawnSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${work}/upper,workdir=${work}/work`, root], { stdio: "ignore" }).status === 0) {
    overlay = true;
  } else {
    run("cp", ["-a", "--reflink=auto", `${lower}/.`, root]);
  }
  run("mount", ["-t", "proc", "proc", path.join(root, "proc")]);

  const port = await freePort();
  const keyDir = path.join(work, "client");
  fs.mkdirSync(keyDir, { mode: 0o700 });
  const key = path.join(keyDir, "id_ed25519");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kinetic-test-harness", "-f", key]);
  fs.writeFileSync(path.join(root, "etc/ssh/kinetic-test-authorized_keys"), fs.readFileSync(`${key}.pub`), { mode: 0o600 });
  fs.writeFileSync(
    path.join(root, "etc/ssh/kinetic-test-sshd_config"),
    [
      `ListenAddress ${HOST_ADDRESS}:${port}`,
      `HostKey ${opts.hostKey ? "/etc/ssh/kinetic-test-host_key" : "/etc/ssh/ssh_host_ed25519_key"}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/kinetic-test-authorized_keys",
      "PidFile /run/kinetic-test-sshd.pid",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  fs.mkdirSync(path.join(root, "run/sshd"), { recursive: true, mode: 0o755 });
  if (!fs.existsSync(path.join(root, "etc/ssh/ssh_host_ed25519_key"))) run("chroot", [root, "ssh-keygen", "-A"]);
  if (opts.hostKey) fs.writeFileSync(path.join(root, "etc/ssh/kinetic-test-host_key"), opts.hostKey, { mode: 0o600 });
  const hostKeyFile = path.join(root, opts.hostKey ? "etc/ssh/kinetic-test-host_key" : "etc/ssh/ssh_host_ed25519_key");
  const hostKey = run("ssh-keygen", ["-y", "-f", hostKeyFile]).trim().split(" ").slice(0, 2).join(" ");
  const knownHosts = (key: string): string => {
    const file = path.join(keyDir, `known_hosts-${createHash("sha256").update(key).digest("hex").slice(0, 12)}`);
    fs.writeFileSync(file, `[${HOST_ADDRESS}]:${port} ${key}\n`);
    return file;
  };
  let sshdErr = "";
  const sshd = spawn("chroot", [root, "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/kinetic-test-sshd_config"], { stdio: ["ignore", "ignore", "pipe"], env: withSbin() });
  sshd.stderr!.on("data", (d: Buffer) => (sshdErr = (sshdErr + d.toString()).slice(-8000)));
  await waitForPort(port, sshd, () => sshdErr);

  const sshArgs = (pin: string) => [
    "-i", key, "-p", String(port),
    "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${knownHosts(pin)}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", `HostKeyAlgorithms=${pin.split(" ")[0]}`, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
    `root@${HOST_ADDRESS}`,
  ];
  const script = (label: string, text: string, values: FormulaValues, o: { pin?: string } = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn("ssh", [...sshArgs(o.pin ?? hostKey), formulaCommand(label, text)], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(encodeValues(values));
    });
  const tryExec = (argv: string[]): RunResult => {
    const r = spawnSync("chroot", [root, ...argv], { encoding: "utf8", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" }, maxBuffer: 64 * 1024 * 1024 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
  const hostPath = (p: string) => path.join(root, p);
  let stopped = false;
  // Synchronous, so it also runs when the test process exits or is interrupted.
  const teardown = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", teardown);
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.removeListener(sig, onSignal);
    if (sshd.exitCode === null) sshd.kill("SIGKILL");
    for (const pid of processesIn(root)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    const proc = path.join(root, "proc");
    if (isMounted(proc)) spawnSync("umount", ["-l", proc]);
    if (overlay && isMounted(root)) spawnSync("umount", ["-l", root]);
    if (!isMounted(root)) fs.rmSync(work, { recursive: true, force: true });
  };
  function onSignal(sig: NodeJS.Signals): void {
    teardown();
    process.kill(process.pid, sig);
  }
  process.once("exit", teardown);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, onSignal);
  return {
    root,
    port,
    formula: (label, values) => {
      const f = loadFormula(label);
      return script(f.label, f.text, values);
    },
    script,
    hostKey,
    sshdLog: () => sshdErr,
    exec: (argv) => {
      const r = tryExec(argv);
      if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    tryExec,
    path: hostPath,
    read: (p) => fs.readFileSync(hostPath(p), "utf8"),
    exists: (p) => {
      try {
        fs.lstatSync(hostPath(p));
        return true;
      } catch {
        return false;
      }
    },
    hashes: (dirs) => {
      const out: Record<string, string> = {};
      const walk = (abs: string, rel: string) => {
        let st: fs.Stats;
        try {
          st = fs.lstatSync(abs);
        } catch {
          return;
        }
        if (st.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(abs)}`;
        else if (st.isDirectory()) for (const e of fs.readdirSync(abs).sort()) walk(path.join(abs, e), `${rel}/${e}`);
        else if (st.isFile()) out[rel] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${createHash("sha256").update(fs.readFileSync(abs)).digest("hex")}`;
      };
      for (const d of dirs) walk(hostPath(d), d.replace(/\/$/, ""));
      return out;
    },
    stop: async () => {
      if (stopped) return;
      if (sshd.exitCode === null) {
        sshd.kill("SIGTERM");
        await new Promise((r) => sshd.once("exit", r));
      }
      teardown();
    },
  };
}

/** Run `cmd` on the test machine (not in the host). */
export function local(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}
