/**
 * The Debian root file systems lab hosts and formula test hosts boot from, cached on this machine.
 *
 * Two layers, so that a formula adding a package does not rebuild the root:
 * - the **base** (`base-<key>`): `debootstrap --variant=minbase` of bookworm from the mirror this
 *   machine's apt configuration names, with sshd, systemd and the package lists; keyed by suite,
 *   mirror, layout version and base packages;
 * - the **package layer** (`packages-<base key>/var/cache/apt/archives`): every package a formula
 *   installs (the literal `pkg_install` lines, with dependencies) *downloaded*, not installed, so
 *   formulas really install their packages, from local files. Missing packages are added to the
 *   layer in place (apt only fetches what is not there yet); what the layer holds is listed in
 *   `.requested`.
 * A host mounts an overlay `lowerdir=<package layer>:<base>` with its own writable upper layer.
 * Builds are serialised across processes with flock(1) on `<cache>/.lock`, so two test runs (or a
 * test and the lab) never build the same tree twice or read a half-built one.
 *
 * Root only (debootstrap, chroot, mounts). The cache directory is `$KINETIC_DEBIAN_CACHE`, default
 * /var/cache/kinetic/debian; stale trees of other keys, unused for a week, are pruned.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { listFormulas, loadFormula } from "../formulas/load";

export const SUITE = "bookworm";
/** Raise when the layout of the cached trees changes, so old caches are rebuilt. */
const LAYOUT_VERSION = "3";
/**
 * In every root: sshd, a real init, and what the lab's hosts need before any formula runs
 * (iproute2 for addresses, ca-certificates for HTTPS, python3 because apt hooks and most formulas
 * expect it anyway).
 */
export const BASE_PACKAGES = ["openssh-server", "systemd", "systemd-sysv", "dbus", "iproute2", "ca-certificates", "python3"];

export interface DebianRoot {
  /** The base tree (read-only lower layer). */
  base: string;
  /** The package layer (read-only lower layer above the base). */
  packages: string;
  /** `lowerdir=` value for an overlay of the two. */
  lowerdir: string;
}

export function debianCacheDir(): string {
  return process.env.KINETIC_DEBIAN_CACHE ?? "/var/cache/kinetic/debian";
}

export function withSbin(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: `${env.PATH ?? ""}:/usr/sbin:/sbin` };
}

/** Why Debian roots cannot be built or booted here, or undefined when they can. */
export function debianRootUnavailable(): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root";
  for (const tool of ["debootstrap", "chroot", "unshare", "nsenter", "mount", "flock", "ssh", "ssh-keygen", "ip"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore", env: withSbin() }).status !== 0) return `${tool} not installed`;
  }
  return undefined;
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: "utf8", env: withSbin(opts.env), timeout: opts.timeoutMs ?? 20 * 60_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? "")).slice(-4000)}`);
  return r.stdout;
}

/** The Debian mirror apt on this machine uses (deb822 .sources or one-line sources.list). */
export function debianMirror(): string {
  if (process.env.KINETIC_DEBIAN_MIRROR ?? process.env.KINETIC_TEST_MIRROR) return (process.env.KINETIC_DEBIAN_MIRROR ?? process.env.KINETIC_TEST_MIRROR)!;
  const files: string[] = [];
  if (fs.existsSync("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
  const d = "/etc/apt/sources.list.d";
  if (fs.existsSync(d)) for (const f of fs.readdirSync(d).sort()) if (/\.(list|sources)$/.test(f)) files.push(path.join(d, f));
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    if (f.endsWith(".sources")) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, "mi").exec(stanza)?.[1].trim().split(/\s+/) ?? [];
        if (/^Enabled:\s*no/im.test(stanza)) continue;
        if (!field("Types").includes("deb") || !field("Suites").includes(SUITE)) continue;
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
  throw new Error(`no apt source for ${SUITE} found in /etc/apt; set KINETIC_DEBIAN_MIRROR`);
}

/**
 * The packages of each formula (its `pkg_install` lines together), as apt resolves them: a set is
 * downloaded on its own, because apt picks other alternatives for `a | b` dependencies when it
 * installs one formula's packages than when it installs every formula's at once.
 */
export function formulaPackageSets(): string[][] {
  const sets = new Map<string, string[]>();
  for (const label of listFormulas()) {
    const set = new Set<string>();
    for (const line of loadFormula(label).text.split("\n")) {
      const m = /^\s*pkg_install\s+([a-z0-9][a-z0-9+.\- ]*?)\s*$/.exec(line);
      if (m) for (const p of m[1].split(/\s+/)) set.add(p);
    }
    const list = [...set].sort();
    if (list.length) sets.set(list.join(" "), list);
  }
  return [...sets.values()];
}

/** Runs `fn` holding an exclusive lock on the cache (flock on a file descriptor we keep open). */
function withCacheLock<T>(cache: string, fn: () => T): T {
  const unlock = lockExclusive(path.join(cache, ".lock"));
  try {
    return fn();
  } finally {
    unlock();
  }
}

/**
 * An exclusive flock(1) on `file`, held by this process's open descriptor until the returned
 * function runs; waits for another holder (at most `timeoutS` seconds when given).
 */
export function lockExclusive(file: string, timeoutS?: number): () => void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "a");
  // flock(1) on an inherited descriptor: blocks until no other process holds it.
  const r = spawnSync("flock", ["-x", ...(timeoutS === undefined ? [] : ["-w", String(timeoutS)]), "3"], { stdio: ["ignore", "ignore", "inherit", fd] });
  if (r.status !== 0) {
    fs.closeSync(fd);
    throw new Error(`could not lock ${file}${timeoutS === undefined ? "" : ` within ${timeoutS} s`}`);
  }
  return () => {
    spawnSync("flock", ["-u", "3"], { stdio: ["ignore", "ignore", "inherit", fd] });
    fs.closeSync(fd);
  };
}

/**
 * The cached base and package layer, built or extended when missing. `extraPackages` are added to
 * the formulas' own (the lab adds what it runs besides formulas).
 */
export function ensureDebianRoot(log: (m: string) => void = () => undefined, extraPackages: string[] = []): DebianRoot {
  const cache = debianCacheDir();
  const mirror = debianMirror();
  const key = createHash("sha256").update(JSON.stringify({ SUITE, mirror, LAYOUT_VERSION, BASE_PACKAGES })).digest("hex").slice(0, 16);
  const base = path.join(cache, `base-${key}`);
  const packages = path.join(cache, `packages-${key}`);
  const wanted = [...formulaPackageSets(), ...(extraPackages.length ? [extraPackages] : [])].map((set) => [...set].sort().join(" "));
  const requestedFile = path.join(packages, ".requested");
  // One line per package set already downloaded.
  const have = (): Set<string> => new Set(fs.existsSync(requestedFile) ? fs.readFileSync(requestedFile, "utf8").split("\n").filter(Boolean) : []);
  const complete = () => fs.existsSync(path.join(base, ".kinetic-complete")) && wanted.every((p) => have().has(p));
  if (!complete()) {
    withCacheLock(cache, () => {
      if (!fs.existsSync(path.join(base, ".kinetic-complete"))) buildBase(base, mirror, log);
      const missing = wanted.filter((p) => !have().has(p));
      if (missing.length) downloadPackages(base, packages, missing, [...have()], log);
    });
  }
  const now = new Date();
  fs.utimesSync(path.join(base, ".kinetic-complete"), now, now);
  // A package layer's use is its base's.
  pruneStale(cache, [base, packages], /^(base|packages)-[0-9a-f]{16}$/, (p) => path.join(p.replace(/packages-/, "base-"), ".kinetic-complete"));
  return { base, packages, lowerdir: `${packages}:${base}` };
}

function buildBase(dir: string, mirror: string, log: (m: string) => void): void {
  const tmp = `${dir}.build`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const started = Date.now();
  try {
    log(`debootstrap ${SUITE} from ${mirror} into ${tmp}`);
    run("debootstrap", ["--variant=minbase", `--include=${BASE_PACKAGES.join(",")}`, SUITE, tmp, mirror]);
    fs.writeFileSync(path.join(tmp, "etc/apt/apt.conf.d/99kinetic"), 'APT::Keep-Downloaded-Packages "true";\nBinary::apt::APT::Keep-Downloaded-Packages "true";\n');
    fs.copyFileSync("/etc/resolv.conf", path.join(tmp, "etc/resolv.conf"));
    run("chroot", [tmp, "apt-get", "update", "-q"]);
    // debootstrap copies this machine's name; each host gets its own.
    fs.writeFileSync(path.join(tmp, "etc/hostname"), "localhost\n");
    // The image's machine-id is per host (written at boot); an empty file makes systemd create one.
    fs.writeFileSync(path.join(tmp, "etc/machine-id"), "");
    // Host keys are per host: each host generates its own or is given one.
    for (const f of fs.readdirSync(path.join(tmp, "etc/ssh"))) if (f.startsWith("ssh_host_")) fs.rmSync(path.join(tmp, "etc/ssh", f));
    fs.writeFileSync(path.join(tmp, ".kinetic-complete"), `${new Date().toISOString()}\n`);
    fs.renameSync(tmp, dir);
    log(`Debian base ready in ${Math.round((Date.now() - started) / 1000)} s: ${dir}`);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Downloads `all` (with dependencies) into the package layer: apt runs in a throwaway overlay of
 * the base with the layer's archive directory bind-mounted, so the base itself is never written.
 */
function downloadPackages(base: string, layer: string, sets: string[], done: string[], log: (m: string) => void): void {
  const archives = path.join(layer, "var/cache/apt/archives");
  fs.mkdirSync(path.join(archives, "partial"), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(path.dirname(layer), ".download-"));
  const root = path.join(scratch, "root");
  for (const d of ["root", "upper", "work"]) fs.mkdirSync(path.join(scratch, d));
  const started = Date.now();
  const got: string[] = [];
  try {
    run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${base},upperdir=${scratch}/upper,workdir=${scratch}/work`, root]);
    try {
      run("mount", ["--bind", archives, path.join(root, "var/cache/apt/archives")]);
      try {
        log(`downloading ${sets.length} formula package set(s) (with dependencies) into ${layer}`);
        for (const set of sets) {
          try {
            run("chroot", [root, "apt-get", "install", "-y", "-q", "--download-only", "--no-install-recommends", ...set.split(" ")]);
            got.push(set);
          } catch (e) {
            // A formula naming a package this suite lacks fails at its own install, saying so;
            // it must not stop every other host from getting its packages.
            log(`cannot download package set "${set}": ${(e instanceof Error ? e.message : String(e)).split("\n").filter((l) => l.startsWith("E:")).join(" ") || e}`);
          }
        }
      } finally {
        spawnSync("umount", [path.join(root, "var/cache/apt/archives")]);
      }
    } finally {
      spawnSync("umount", [root]);
    }
    fs.rmSync(path.join(archives, "lock"), { force: true });
    fs.writeFileSync(path.join(layer, ".requested"), `${[...done, ...got].join("\n")}\n`);
    log(`packages ready in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Deletes the trees under `cache` whose names match `names`, other than `keep`, unused for a week
 * (the mtime of `marker(tree)`, touched at each use) and not a lower layer of a mounted overlay.
 */
export function pruneStale(cache: string, keep: string[], names: RegExp, marker: (tree: string) => string): void {
  const weekAgo = Date.now() - 7 * 24 * 3600_000;
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8");
  for (const entry of fs.readdirSync(cache)) {
    const p = path.join(cache, entry);
    if (keep.includes(p) || !names.test(entry)) continue;
    const used = fs.existsSync(marker(p)) ? fs.statSync(marker(p)).mtimeMs : 0;
    if (used > weekAgo || mounts.includes(p)) continue;
    fs.rmSync(p, { recursive: true, force: true });
  }
}
