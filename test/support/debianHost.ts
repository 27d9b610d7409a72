/**
 * A real Debian bookworm host for formula tests, reached over SSH exactly as the program reaches a
 * server: `ssh -i <key> -p <port> root@<address> <formulaCommand(label, text)>` with
 * `encodeValues(values)` on standard input.
 *
 * The root file system is the lab's cached Debian root (lab/debianRoot.ts: a debootstrap base plus
 * a layer with every package a formula's `pkg_install` lines name, downloaded but not installed,
 * extended in place when a formula adds one), mounted as a private overlay per host. Root is
 * required; tests skip when it, debootstrap, unshare or ssh is missing.
 *
 * Two ways to run it (`startDebianHost(log, { boot })`):
 * - "chroot" (default): sshd chrooted into the tree on 127.0.0.42 at a free port; /usr/sbin/policy-rc.d
 *   answers 101, so no daemon starts on a package install (no init owns it); formulas write
 *   configuration and `systemctl enable`.
 * - "systemd": the tree boots systemd as PID 1 in its own namespaces (lab/bootedHost.ts), network
 *   included; sshd is ssh.service on 127.0.0.1:22 *inside* the host, so the client runs in the
 *   host's network (`nsenter --net`); enabled services really start, `systemd_running` is true.
 *   `netExec` runs a test-machine program (a client) in the host's network.
 *
 * The harness key is listed in a second AuthorizedKeysFile (/etc/ssh/kinetic-test-authorized_keys),
 * so a formula owning /root/.ssh/authorized_keys cannot lock the tests out. Host keys are verified
 * as the program does: the client pins the host's ed25519 key (`StrictHostKeyChecking=yes`, a
 * known_hosts file holding only that key); `startDebianHost({ hostKey })` serves a given key,
 * `script(..., { pin })` pins another. `stop()` (and process exit or SIGINT) kills everything in
 * the host, unmounts and deletes it.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { encodeValues, formulaCommand, FormulaValues } from "../../formulas/envelope";
import { loadFormula } from "../../formulas/load";
import { bootHost, isMounted, mountsUnder, removeHostCgroup, sweep } from "../../lab/bootedHost";
import { debianRootUnavailable, ensureDebianRoot, run, withSbin } from "../../lab/debianRoot";
import { ensureInstalledLayer } from "./installedLayer";
import { onInterrupt } from "./interrupt";

export const HOST_ADDRESS = "127.0.0.42";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DebianHost {
  /** The host's root file system as seen from the test machine. */
  root: string;
  /** Its overlay's upper directory: what the host wrote over the cached layers. */
  upper: string;
  /** Where the ssh client connects: 127.0.0.42 (chroot) or 127.0.0.1 inside the host's own network (systemd). */
  address: string;
  port: number;
  boot: "chroot" | "systemd";
  /** A booted host's cgroup2 directory on this machine. */
  cgroup?: string;
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
  /** Runs a program of the test machine inside the host's network (e.g. a client on 127.0.0.1 when booted). */
  netExec(argv: string[], input?: string): RunResult;
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
  return debianRootUnavailable();
}

/** The cached Debian root (lab/debianRoot.ts): `lowerdir=` of its layers, built or extended when missing. */
export function ensureRootfs(log: (m: string) => void = () => undefined): string {
  return ensureDebianRoot(log).lowerdir;
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

export interface DebianHostOptions {
  /** An OpenSSH private key for sshd to present as its only host key. Default: the tree's own ed25519 key. */
  hostKey?: string;
  /**
   * "chroot" (default): sshd chrooted into the tree on 127.0.0.42, no init, daemons never start
   * from package installs. "systemd": the tree boots systemd as PID 1 in private namespaces
   * (lab/bootedHost.ts) with its own network namespace, where sshd (ssh.service) answers on
   * 127.0.0.1:22; services formulas enable really start.
   */
  boot?: "chroot" | "systemd";
  /**
   * Whether formulas may leave out what this host cannot do (start a unit, reach a peer): the
   * explicit flag TEST_PARTIAL=1 sent with every formula's values, which the program never sends.
   * Default: true for a chroot (no init, no peers), false for a booted host, where a formula that
   * cannot finish fails as it would on a real server.
   */
  partial?: boolean;
  /**
   * Formulas (labels of install steps) whose result comes from a cached layer under the host's own
   * (test/support/installedLayer.ts): for files whose subject is another role. Default: none.
   */
  installed?: string[];
}

/** Reaching a host: its address and port as the ssh client sees them, and how to run the client. */
interface Reach {
  address: string;
  port: number;
  /** Prefix that runs a command of this machine in the host's network (empty for the chroot). */
  netPrefix: string[];
}

export async function startDebianHost(log: (m: string) => void = () => undefined, opts: DebianHostOptions = {}): Promise<DebianHost> {
  const rootfs = ensureRootfs(log);
  const lower = opts.installed?.length ? `${await ensureInstalledLayer(rootfs, opts.installed, () => startDebianHost(log), log)}:${rootfs}` : rootfs;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-host-"));
  const keyDir = path.join(work, "client");
  fs.mkdirSync(keyDir, { mode: 0o700 });
  const key = path.join(keyDir, "id_ed25519");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kinetic-test-harness", "-f", key]);
  // The harness key sits in a second AuthorizedKeysFile, so a formula owning root's own file cannot lock the tests out.
  const sshdSettings = (listen: string[], pidFile: string[]) => [
    ...listen,
    `HostKey ${opts.hostKey ? "/etc/ssh/kinetic-test-host_key" : "/etc/ssh/ssh_host_ed25519_key"}`,
    "PermitRootLogin prohibit-password",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/kinetic-test-authorized_keys",
    ...pidFile,
    "",
  ];
  const prepareKeys = (root: string): string => {
    fs.writeFileSync(path.join(root, "etc/ssh/kinetic-test-authorized_keys"), fs.readFileSync(`${key}.pub`), { mode: 0o600 });
    if (!fs.existsSync(path.join(root, "etc/ssh/ssh_host_ed25519_key"))) run("chroot", [root, "ssh-keygen", "-A"]);
    if (opts.hostKey) fs.writeFileSync(path.join(root, "etc/ssh/kinetic-test-host_key"), opts.hostKey, { mode: 0o600 });
    const hostKeyFile = path.join(root, opts.hostKey ? "etc/ssh/kinetic-test-host_key" : "etc/ssh/ssh_host_ed25519_key");
    return run("ssh-keygen", ["-y", "-f", hostKeyFile]).trim().split(" ").slice(0, 2).join(" ");
  };

  let root: string;
  let upper: string;
  let hostKey = "";
  let reach: Reach;
  let tryExec: (argv: string[]) => RunResult;
  let sshdLog: () => string;
  let stopHost: () => Promise<void>;
  let cgroup: string | undefined;
  let teardownSync: () => void;

  if (opts.boot === "systemd") {
    const booted = await bootHost({
      name: `test-${path.basename(work).replace(/[^a-z0-9]/gi, "").toLowerCase().slice(-10)}`,
      lowerdir: lower,
      dir: path.join(work, "host"),
      prepare: (r) => {
        hostKey = prepareKeys(r);
        fs.mkdirSync(path.join(r, "etc/ssh/sshd_config.d"), { recursive: true });
        fs.writeFileSync(path.join(r, "etc/ssh/sshd_config.d/00-kinetic-test.conf"), sshdSettings([], []).join("\n"));
      },
    });
    root = booted.root;
    upper = path.join(work, "host", "upper");
    cgroup = booted.cgroup;
    reach = { address: "127.0.0.1", port: 22, netPrefix: booted.enterNet() };
    tryExec = (argv) => booted.tryExec(argv);
    sshdLog = () => booted.tryExec(["journalctl", "-u", "ssh.service", "--no-pager", "-n", "200"]).stdout.slice(-8000);
    try {
      await booted.waitBooted(120_000);
      await waitForSsh(reach, () => booted.running(), sshdLog);
    } catch (e) {
      await booted.stop();
      fs.rmSync(work, { recursive: true, force: true });
      throw e;
    }
    stopHost = async () => {
      await booted.stop();
      fs.rmSync(work, { recursive: true, force: true });
    };
    teardownSync = () => {
      try {
        process.kill(booted.pid, "SIGKILL");
      } catch {
        /* gone */
      }
      sweep(work);
      removeHostCgroup(booted.name, booted.dir);
      if (!mountsUnder(work).length) fs.rmSync(work, { recursive: true, force: true });
    };
  } else {
    root = path.join(work, "root");
    upper = path.join(work, "upper");
    fs.mkdirSync(root);
    for (const d of ["upper", "work"]) fs.mkdirSync(path.join(work, d));
    run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${work}/upper,workdir=${work}/work`, root]);
    // No daemon starts on package install in the chroot: there is no init to own it.
    fs.writeFileSync(path.join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\n# kinetic test host: never start daemons from maintainer scripts\nexit 101\n", { mode: 0o755 });
    run("mount", ["-t", "proc", "proc", path.join(root, "proc")]);
    // debootstrap leaves no /etc/hosts; the installer's usual one, naming the machine's hostname
    // (a chroot shares it), so `hostname -f` in maintainer scripts (nova-common's) needs no DNS:
    // the tests run in a network of their own, without one.
    fs.writeFileSync(path.join(root, "etc/hosts"), `127.0.0.1\tlocalhost\n127.0.1.1\t${os.hostname()}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
    const port = await freePort();
    reach = { address: HOST_ADDRESS, port, netPrefix: [] };
    hostKey = prepareKeys(root);
    fs.writeFileSync(
      path.join(root, "etc/ssh/kinetic-test-sshd_config"),
      sshdSettings([`ListenAddress ${HOST_ADDRESS}:${port}`, "UsePAM no", "Subsystem sftp internal-sftp"], ["PidFile /run/kinetic-test-sshd.pid"]).join("\n"),
    );
    fs.mkdirSync(path.join(root, "run/sshd"), { recursive: true, mode: 0o755 });
    let sshdErr = "";
    // A UTS namespace of its own: a chroot shares this machine's kernel, and a formula's `hostname`
    // (common/base names every host) must rename the test host, never this machine.
    const sshd = spawn("unshare", ["--uts", "chroot", root, "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/kinetic-test-sshd_config"], { stdio: ["ignore", "ignore", "pipe"], env: withSbin() });
    sshd.stderr!.on("data", (d: Buffer) => (sshdErr = (sshdErr + d.toString()).slice(-8000)));
    sshdLog = () => sshdErr;
    tryExec = (argv) => {
      const r = spawnSync("unshare", ["--uts", "chroot", root, ...argv], { encoding: "utf8", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" }, maxBuffer: 64 * 1024 * 1024 });
      return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    };
    teardownSync = () => {
      if (sshd.exitCode === null) sshd.kill("SIGKILL");
      sweep(root);
      if (!isMounted(root)) fs.rmSync(work, { recursive: true, force: true });
    };
    try {
      await waitForSsh(reach, () => sshd.exitCode === null, sshdLog);
    } catch (e) {
      teardownSync();
      throw e;
    }
    stopHost = async () => {
      if (sshd.exitCode === null) {
        sshd.kill("SIGTERM");
        await new Promise((r) => sshd.once("exit", r));
      }
      teardownSync();
    };
  }

  const knownHosts = (k: string): string => {
    const file = path.join(keyDir, `known_hosts-${createHash("sha256").update(k).digest("hex").slice(0, 12)}`);
    // ssh looks a host on port 22 up without the [host]:port form.
    fs.writeFileSync(file, `${reach.port === 22 ? reach.address : `[${reach.address}]:${reach.port}`} ${k}\n`);
    return file;
  };
  const sshArgs = (pin: string) => [
    "-i", key, "-p", String(reach.port),
    "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${knownHosts(pin)}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", `HostKeyAlgorithms=${pin.split(" ")[0]}`, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
    `root@${reach.address}`,
  ];
  const script = (label: string, text: string, values: FormulaValues, o: { pin?: string } = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const [cmd, ...args] = [...reach.netPrefix, "ssh", ...sshArgs(o.pin ?? hostKey), formulaCommand(label, text)];
      const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(encodeValues(values));
    });
  const hostPath = (p: string) => path.join(root, p);
  let stopped = false;
  // Synchronous, so it also runs when the test process exits or is interrupted.
  const teardown = () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", teardown);
    releaseInterrupt();
    teardownSync();
  };
  process.once("exit", teardown);
  const releaseInterrupt = onInterrupt(teardown);
  const partial = opts.partial ?? (opts.boot ?? "chroot") === "chroot";
  return {
    root,
    upper,
    address: reach.address,
    port: reach.port,
    boot: opts.boot ?? "chroot",
    ...(cgroup ? { cgroup } : {}),
    formula: (label, values) => {
      const f = loadFormula(label);
      return script(f.label, f.text, partial ? { ...values, TEST_PARTIAL: "1" } : values);
    },
    script,
    hostKey,
    sshdLog,
    exec: (argv) => {
      const r = tryExec(argv);
      if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    tryExec,
    netExec: (argv, input) => {
      const [cmd, ...args] = [...reach.netPrefix, ...argv];
      const r = spawnSync(cmd, args, { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
      return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
    },
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
      stopped = true;
      process.removeListener("exit", teardown);
      releaseInterrupt();
      await stopHost();
    },
  };
}

/** Waits until sshd answers with its banner (through the host's network when booted). */
async function waitForSsh(reach: Reach, alive: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const probe = `import socket,sys
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),2)
sys.exit(0 if s.recv(4)==b"SSH-" else 1)`;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`sshd is not running: ${log()}`);
    const [cmd, ...args] = [...reach.netPrefix, "python3", "-c", probe, reach.address, String(reach.port)];
    if (spawnSync(cmd, args, { stdio: "ignore", timeout: 5000 }).status === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`sshd did not answer on ${reach.address}:${reach.port}: ${log()}`);
}

/** Run `cmd` on the test machine (not in the host). */
export function local(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}
