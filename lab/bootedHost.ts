/**
 * A Debian root booted with a real init: systemd as PID 1 in its own PID, mount, UTS, IPC, network
 * and cgroup namespaces, chrooted into an overlay of the cached root (lab/debianRoot.ts). Services
 * formulas enable really start; the host reaches nothing but what its network namespace is given.
 *
 * Why not systemd-nspawn: it refuses this machine's cgroup v1 layout. What it would do is done here
 * with unshare(1): a cgroup2 subtree of the machine's unified hierarchy per host, entered with a
 * cgroup namespace so systemd sees it as its root; a private /dev (tmpfs with the usual nodes and
 * its own devpts); proc and sysfs mounted from inside the new namespaces; `container=kinetic`, so
 * systemd skips what only a machine does (udev, hardware clocks, swap).
 *
 * Every mount but the overlay lives in the host's private mount namespace and disappears with it;
 * `stop()` kills init (PID 1 ignores SIGTERM, and SIGKILL of a namespace's init takes every process
 * in it along), unmounts the overlay and removes the cgroup. `sweep(dir)` does the same for
 * whatever an interrupted run left under a directory.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { run, withSbin } from "./debianRoot";
import { ensureInotifyInstances } from "./inotifyLimit";
import type { HostDevice } from "./osdDisks";

const CGROUP_UNIFIED_CANDIDATES = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"];
const CGROUP_PARENT = "kinetic";

export interface BootOptions {
  /** Short name: the cgroup, the log file and the initial hostname. */
  name: string;
  /** `lowerdir=` of the overlay (DebianRoot.lowerdir). */
  lowerdir: string;
  /** Directory of this host's layers: `upper/` (its disk), `work/`, `root/` (the mount point). */
  dir: string;
  /**
   * Called with the root's path after the overlay is mounted and before init starts: what an
   * installer or cloud-init would have put on the disk.
   */
  prepare?: (root: string) => void;
  /** Where init's console output goes (default `<dir>/console.log`). */
  consoleLog?: string;
  /**
   * Block devices of this machine the host gets in its private /dev before init starts (the lab's
   * data disks: loop devices), each with links to it (the pillar's /dev/disk/by-id/... path).
   */
  devices?: HostDevice[];
}

export interface BootedHost {
  name: string;
  root: string;
  dir: string;
  /** PID of the host's init as seen from this machine. */
  pid: number;
  /** Its cgroup2 directory on this machine (removed when it stops). */
  cgroup: string;
  /** `nsenter` arguments that enter every namespace of the host, root included. */
  enter(): string[];
  /** `nsenter` arguments that enter only its network namespace (a client on this machine's files). */
  enterNet(): string[];
  /** Runs a command inside the host; stdout, or an error naming the command and its stderr. */
  exec(argv: string[], opts?: { input?: string; timeoutMs?: number }): string;
  tryExec(argv: string[], opts?: { input?: string; timeoutMs?: number }): { code: number; stdout: string; stderr: string };
  /** Waits until `systemctl is-system-running` says running or degraded; returns which. */
  waitBooted(timeoutMs?: number): Promise<string>;
  running(): boolean;
  /** Kills the host's every process and unmounts it; the upper layer (its disk) stays unless `wipe`. */
  stop(opts?: { wipe?: boolean }): Promise<void>;
}

function unifiedCgroup(): string {
  for (const c of CGROUP_UNIFIED_CANDIDATES) {
    const mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n");
    if (mounts.some((l) => l.split(" ")[1] === c && l.split(" ")[2] === "cgroup2")) return c;
  }
  throw new Error("no cgroup2 hierarchy mounted (looked at /sys/fs/cgroup/unified and /sys/fs/cgroup)");
}

export function isMounted(p: string): boolean {
  return fs.readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === p);
}

/** The shell that runs as the namespace's first process, then becomes init. Values arrive as arguments. */
const BOOT_SCRIPT = `set -eu
root=$1 host=$2
shift 2
mount --make-rprivate /
mount -t proc proc "$root/proc"
# Kernel settings outside the host's own network are the machine's: read-only, as nspawn does.
mount --bind "$root/proc/sys" "$root/proc/sys"
mount --bind "$root/proc/sys/net" "$root/proc/sys/net"
mount -o remount,bind,ro "$root/proc/sys"
for f in sysrq-trigger irq bus fs; do
  [ -e "$root/proc/$f" ] && mount --bind -o ro "$root/proc/$f" "$root/proc/$f" || true
done
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=755,nosuid,size=16m tmpfs "$root/dev"
for n in null zero full random urandom tty; do
  touch "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
# /dev/net/tun: a compute host's QEMU makes its guests' tap NICs with it, and Open vSwitch's
# userspace datapath its bridges' own ports. Tap devices live in the network namespace of the
# process that makes them: the host's own.
if [ -c /dev/net/tun ]; then
  mkdir -p "$root/dev/net"; touch "$root/dev/net/tun"; mount --bind /dev/net/tun "$root/dev/net/tun"
fi
# Block devices given to the host (arguments "b MAJOR MINOR NODE" and "l TARGET LINK", paths
# checked by bootHost): there is no udev in the host to make them.
while [ $# -ge 3 ]; do
  case $1 in
    b) mkdir -p "$root$(dirname "$4")"; mknod -m 0660 "$root$4" b "$2" "$3"; chgrp 6 "$root$4"; shift 4 ;;
    l) mkdir -p "$root$(dirname "$3")"; ln -s "$2" "$root$3"; shift 3 ;;
    *) echo "boot: bad device argument $1" >&2; exit 1 ;;
  esac
done
# The hostname on the disk (an installer or a formula wrote it), else the lab's name for the host.
name=$(cat "$root/etc/hostname" 2>/dev/null || true)
hostname "\${name:-$host}"
exec chroot "$root" /lib/systemd/systemd --system --log-target=console
`;

export async function bootHost(opts: BootOptions): Promise<BootedHost> {
  const { name, dir } = opts;
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new Error(`host name not usable as a hostname: ${JSON.stringify(name)}`);
  const root = path.join(dir, "root");
  const deviceArgs = devicesArguments(opts.devices ?? []);
  ensureInotifyInstances();
  for (const d of ["upper", "work", "root"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
  if (!isMounted(root)) run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${opts.lowerdir},upperdir=${dir}/upper,workdir=${dir}/work`, root]);
  let child: ChildProcess | undefined;
  const cgroup = hostCgroup(name, dir);
  try {
    for (const d of ["proc", "sys", "dev", "run", "tmp"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    // A fresh disk is named after the host; a disk whose name was written since (by the installer,
    // a formula) keeps it: its own upper layer holds the file then.
    if (!fs.existsSync(path.join(dir, "upper/etc/hostname"))) fs.writeFileSync(path.join(root, "etc/hostname"), `${name}\n`);
    opts.prepare?.(root);
    fs.mkdirSync(cgroup, { recursive: true });
    const consoleLog = opts.consoleLog ?? path.join(dir, "console.log");
    const out = fs.openSync(consoleLog, "a");
    // The cgroup is entered before unshare(--cgroup) so that it becomes the namespace's root.
    child = spawn(
      "sh",
      ["-c", 'echo $$ > "$1/cgroup.procs" && shift && exec unshare --pid --fork --mount --uts --ipc --net --cgroup --kill-child -- sh -c "$@"', "boot", cgroup, BOOT_SCRIPT, "boot", root, name, ...deviceArgs],
      { stdio: ["ignore", out, out], env: { ...withSbin({ PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }), container: "kinetic", LANG: "C.UTF-8" }, detached: true },
    );
    fs.closeSync(out);
    child.unref();
    const pid = await initPid(child, consoleLog);
    return makeHost(opts, root, cgroup, pid, child);
  } catch (e) {
    child?.kill("SIGKILL");
    cleanup(root, cgroup);
    throw e;
  }
}

const DEV_PATH = /^\/dev\/[A-Za-z0-9][A-Za-z0-9/_.:+-]*$/;

/** The boot script's device arguments; every path a plain /dev path (no `..`), numbers integers. */
function devicesArguments(devices: HostDevice[]): string[] {
  const args: string[] = [];
  const check = (p: string) => {
    if (!DEV_PATH.test(p) || p.includes("..")) throw new Error(`device path not usable in a host's /dev: ${JSON.stringify(p)}`);
    return p;
  };
  for (const d of devices) {
    if (!Number.isInteger(d.major) || !Number.isInteger(d.minor) || d.major < 0 || d.minor < 0) throw new Error(`bad device numbers for ${d.node}`);
    args.push("b", String(d.major), String(d.minor), check(d.node));
    for (const l of d.links) args.push("l", check(d.node), check(l));
  }
  return args;
}

const INIT_START_MS = 60_000;

/** The PID (in this machine's namespace) of the host's init: unshare's forked child. */
async function initPid(child: ChildProcess, consoleLog: string): Promise<number> {
  // 60 s, not 10: when a controller starts many domains at once on a loaded machine (the full
  // cloud's 17 VMs, load average above 30), unshare, the mounts and systemd's exec took longer than
  // 10 s, and the lab gave up on VMs that were booting fine.
  const deadline = Date.now() + INIT_START_MS;
  // Checked once more after the deadline: a caller that blocked the event loop past it must not
  // fail a host whose init is there.
  for (let last = false; !last; ) {
    last = Date.now() >= deadline;
    if (child.exitCode !== null) throw new Error(`the host's init exited at once (${child.exitCode}): ${tail(consoleLog)}`);
    try {
      const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
      if (kids.length) {
        const pid = Number(kids[0]);
        // Init has started once the child's exe is systemd (not the boot shell any more).
        if (fs.readlinkSync(`/proc/${pid}/exe`).includes("systemd")) return pid;
      }
    } catch {
      /* not there yet */
    }
    if (!last) await sleep(50);
  }
  throw new Error(`the host's init did not start within ${INIT_START_MS / 1000} s: ${tail(consoleLog)}`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").slice(-2000);
  } catch {
    return "(no console log)";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function makeHost(opts: BootOptions, root: string, cgroup: string, pid: number, child: ChildProcess): BootedHost {
  const enter = () => ["nsenter", "-t", String(pid), "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd"];
  const tryExec = (argv: string[], o: { input?: string; timeoutMs?: number } = {}) => {
    const [cmd, ...args] = [...enter(), "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root", ...argv];
    const r = spawnSync(cmd, args, { input: o.input, encoding: "utf8", timeout: o.timeoutMs ?? 10 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
  };
  const alive = () => {
    try {
      process.kill(pid, 0);
      return fs.readlinkSync(`/proc/${pid}/root`) === root;
    } catch {
      return false;
    }
  };
  let stopped = false;
  return {
    name: opts.name,
    root,
    dir: opts.dir,
    pid,
    cgroup,
    enter,
    enterNet: () => ["nsenter", "-t", String(pid), "--net"],
    tryExec,
    exec: (argv, o) => {
      const r = tryExec(argv, o);
      if (r.code !== 0) throw new Error(`${opts.name}: ${argv.join(" ")} failed (${r.code}): ${(r.stderr || r.stdout).slice(-2000)}`);
      return r.stdout;
    },
    waitBooted: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      let state = "";
      while (Date.now() < deadline) {
        if (!alive()) throw new Error(`${opts.name}: init died while booting: ${tail(opts.consoleLog ?? path.join(opts.dir, "console.log"))}`);
        state = tryExec(["systemctl", "is-system-running"]).stdout.trim();
        if (state === "running" || state === "degraded") return state;
        await sleep(200);
      }
      throw new Error(`${opts.name}: not booted after ${timeoutMs / 1000} s (systemctl is-system-running: ${state || "no answer"})`);
    },
    running: alive,
    stop: async (o = {}) => {
      if (!stopped) {
        stopped = true;
        if (alive()) process.kill(pid, "SIGKILL");
        const deadline = Date.now() + 10_000;
        while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(50);
      }
      cleanup(root, cgroup);
      if (o.wipe) fs.rmSync(opts.dir, { recursive: true, force: true });
    },
  };
}

/** Kills what still runs in `root`, unmounts it and removes the cgroup. Idempotent. */
function cleanup(root: string, cgroup: string): void {
  for (const pid of processesIn(root)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && processesIn(root).length; i++) spawnSync("sleep", ["0.1"]);
  for (const m of mountsUnder(root).reverse()) spawnSync("umount", ["-l", m]);
  removeCgroup(cgroup);
}

function removeCgroup(cgroup: string): void {
  if (!fs.existsSync(cgroup)) return;
  // Children first (systemd made a tree inside); a cgroup with processes cannot go, so retry briefly.
  const dirs: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    dirs.push(d);
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    dirs.length = 0;
    try {
      walk(cgroup);
      for (const d of dirs) fs.rmdirSync(d);
      return;
    } catch {
      spawnSync("sleep", ["0.1"]);
    }
  }
}

/** Pids of processes whose root directory is `root` or inside it. */
export function processesIn(root: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const r = fs.readlinkSync(`/proc/${entry}/root`);
      if (r === root || r.startsWith(root + "/")) pids.push(Number(entry));
    } catch {
      /* gone or not ours */
    }
  }
  return pids;
}

export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + "/")))
    .map((m) => m.replace(/\\040/g, " "));
}

/**
 * Stops every host under `dir` that an interrupted run left behind: processes rooted there and
 * mounts (sweepHosts removes their cgroups too). Returns what it found.
 */
export function sweep(dir: string): { processes: number; mounts: number } {
  const procs = processesIn(dir);
  for (const pid of procs) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (let i = 0; i < 50 && processesIn(dir).length; i++) spawnSync("sleep", ["0.1"]);
  const mounts = mountsUnder(dir);
  for (const m of [...mounts].reverse()) spawnSync("umount", ["-l", m]);
  return { processes: procs.length, mounts: mounts.length };
}

/**
 * Sweeps every host directory under `hostsDir` (one per host, named as the host) and removes its
 * cgroup; says what it found, one line per host that had anything left.
 */
export function sweepHosts(hostsDir: string): string[] {
  const found: string[] = [];
  for (const name of fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir) : []) {
    const left = sweep(path.join(hostsDir, name));
    removeHostCgroup(name, path.join(hostsDir, name));
    if (left.processes || left.mounts) found.push(`${name}: ${left.processes} process(es) and ${left.mounts} mount(s) removed`);
  }
  return found;
}

/**
 * A host's cgroup: its name and a digest of its directory. By name alone, two labs (the cloud lab
 * and the bench's, or a test's) whose pillars give a host the same name shared one cgroup, and the
 * second one's stop removed the first one's cgroups from under its running systemd.
 */
export function hostCgroup(name: string, dir: string): string {
  const digest = createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 12);
  return path.join(unifiedCgroup(), CGROUP_PARENT, `${name}.${digest}`);
}

/** Removes the cgroup of the host booted from `dir` as `name` (after sweep). */
export function removeHostCgroup(name: string, dir: string): void {
  try {
    removeCgroup(hostCgroup(name, dir));
  } catch {
    /* no cgroup2 here: nothing was made */
  }
}
