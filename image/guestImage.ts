/**
 * The guest image the cloud boots to prove compute works (issue 20): built on this machine from
 * Debian packages only, nothing downloaded from anywhere else. Debian's kernel (linux-image-amd64's
 * vmlinuz and its virtio modules) and busybox-static in an initramfs whose init (image/guest/init)
 * reports on the console what it did. It goes to glance as the classic kernel/ramdisk trio (an aki,
 * an ari, and a small raw root disk whose kernel_id/ramdisk_id point at them: image/glance.ts), which
 * nova's libvirt driver boots directly, so no bootloader is needed; under TCG it reaches userspace in
 * seconds.
 *
 * The cache is keyed by content: the SHA256 of each .deb apt would fetch (as its index states it)
 * and of the builder's own files. `buildGuestImage` resolves the packages with this machine's apt
 * (a Debian apt source for `linux-image-amd64` and `busybox-static`; offline, from its lists),
 * returns the cached image when the key is there, else downloads the .debs (`apt-get download`,
 * checked against the index's SHA256) and builds. The same inputs give the same bytes (cpio.ts).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { CpioEntry, cpioNewc } from "./cpio";

/** Raise when the image's layout changes in a way its inputs do not show. */
const BUILDER_VERSION = "1";
/** The virtio drivers the guest needs (disk, NIC, console, entropy); their dependencies come along. */
const MODULES = ["virtio_pci", "virtio_net", "virtio_blk", "virtio_console", "virtio-rng"];
/** Size of the root disk glance gets (raw zeros): nova needs an image to boot, the guest never reads it. */
const ROOT_DISK_BYTES = 1024 * 1024;

/**
 * The two busybox initramfs images built here, each from the same kernel and busybox with the files
 * of its own directory (`init` becomes /init, every other file /etc/<name>): the guest the cloud
 * boots, and the lab's installer a lab server PXE-boots into (image/installer/init).
 */
export type ImageKind = "guest" | "installer";
const KIND_DIR: Record<ImageKind, string> = { guest: path.join(__dirname, "guest"), installer: path.join(__dirname, "installer") };
/** Files both images carry in /etc (common/http-get: HTTP without busybox-static's wget). */
const COMMON_DIR = path.join(__dirname, "common");

/** The files of an image besides the kernel's and busybox: [name in the initramfs, path here], sorted. */
function imageFiles(kind: ImageKind): [string, string][] {
  const files: [string, string][] = [];
  for (const f of fs.readdirSync(KIND_DIR[kind])) files.push([f === "init" ? "init" : `etc/${f}`, path.join(KIND_DIR[kind], f)]);
  for (const f of fs.readdirSync(COMMON_DIR)) files.push([`etc/${f}`, path.join(COMMON_DIR, f)]);
  return files.sort(([a], [b]) => a.localeCompare(b));
}

export interface DebianPackage {
  name: string;
  version: string;
  sha256: string;
}

export interface GuestImage {
  /** The content key (hex): same packages and builder, same key, same bytes. */
  key: string;
  dir: string;
  /** Paths of the kernel (aki), the initramfs (ari) and the root disk (raw). */
  kernel: string;
  ramdisk: string;
  disk: string;
  /** The kernel's release (e.g. 6.1.0-57-amd64) and the packages it was built from. */
  kernelRelease: string;
  packages: DebianPackage[];
  /** SHA256 of kernel, ramdisk and disk. */
  sha256: { kernel: string; ramdisk: string; disk: string };
}

export function imageCacheDir(): string {
  if (process.env.KINETIC_IMAGE_CACHE) return process.env.KINETIC_IMAGE_CACHE;
  return process.getuid?.() === 0 ? "/var/cache/kinetic/images" : path.join(os.homedir(), ".cache/kinetic/images");
}

function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: "C" } });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join(" | ")}`);
  return r.stdout;
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The candidate of `name` as this machine's apt index states it (no download). */
export function aptCandidate(name: string): DebianPackage & { depends: string } {
  let text: string;
  try {
    text = run("apt-cache", ["show", "--no-all-versions", name]);
  } catch (e) {
    throw new Error(`the guest image needs Debian's ${name}, which this machine's apt does not know (a Debian apt source and apt-get update): ${(e as Error).message}`);
  }
  const field = (k: string) => new RegExp(`^${k}: (.*)$`, "m").exec(text)?.[1].trim() ?? "";
  const version = field("Version");
  const sum = field("SHA256");
  if (!version || !/^[0-9a-f]{64}$/.test(sum)) throw new Error(`apt-cache show ${name}: no Version or SHA256 field`);
  return { name, version, sha256: sum, depends: field("Depends") };
}

/** The exact packages: the kernel image linux-image-amd64 depends on today, and busybox-static. */
export function resolveGuestPackages(): DebianPackage[] {
  const meta = aptCandidate("linux-image-amd64");
  const kernelName = /^(linux-image-[0-9][^\s,(]*)/.exec(meta.depends)?.[1];
  if (!kernelName) throw new Error(`linux-image-amd64 ${meta.version}: no linux-image-<release> in its Depends (${meta.depends})`);
  return [kernelName, "busybox-static"].map((n) => {
    const { name, version, sha256: s } = aptCandidate(n);
    return { name, version, sha256: s };
  });
}

/** The builder's own inputs (its files): part of the key, so a changed init makes a new image. */
function builderDigest(kind: ImageKind): string {
  const h = createHash("sha256").update(BUILDER_VERSION).update(JSON.stringify(MODULES)).update(String(ROOT_DISK_BYTES));
  h.update(kind);
  for (const [name, file] of imageFiles(kind)) h.update(name).update(fs.readFileSync(file));
  return h.digest("hex");
}

export function guestImageKey(packages: DebianPackage[], kind: ImageKind = "guest"): string {
  return sha256(JSON.stringify({ packages: packages.map((p) => [p.name, p.version, p.sha256]), builder: builderDigest(kind) })).slice(0, 16);
}

/** The .deb of `p` in `<cache>/debs`, downloaded when missing; its SHA256 must be the index's. */
function fetchDeb(cache: string, p: DebianPackage, offline: boolean, log: (m: string) => void): string {
  const dir = path.join(cache, "debs");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.sha256.slice(0, 12)}.deb`);
  if (fs.existsSync(file) && sha256(fs.readFileSync(file)) === p.sha256) return file;
  if (offline) throw new Error(`${p.name} ${p.version} is not in ${dir} and downloads are off: run \`kinetic image build\` where Debian's mirror is reachable`);
  const tmp = fs.mkdtempSync(path.join(dir, ".download-"));
  try {
    // apt's sandbox user must be able to write the directory.
    fs.chmodSync(tmp, 0o777);
    log(`downloading ${p.name} ${p.version}`);
    run("apt-get", ["download", "-q", `${p.name}=${p.version}`], { cwd: tmp });
    const got = fs.readdirSync(tmp).filter((f) => f.endsWith(".deb"));
    if (got.length !== 1) throw new Error(`apt-get download ${p.name}=${p.version}: expected one .deb, got ${got.join(", ") || "none"}`);
    const data = fs.readFileSync(path.join(tmp, got[0]));
    if (sha256(data) !== p.sha256) throw new Error(`${got[0]}: SHA256 ${sha256(data)} is not the index's ${p.sha256}`);
    fs.renameSync(path.join(tmp, got[0]), file);
    return file;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Extracts the members matching `patterns` (tar wildcards, `*` not crossing `/`) of a .deb's data into `dir`. */
function extract(deb: string, dir: string, patterns: string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  // Streamed: the kernel package's data is some 400 MB uncompressed.
  const script = 'deb=$1 dir=$2; shift 2; set -o pipefail; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards --no-wildcards-match-slash "$@"';
  run("bash", ["-c", script, "extract", deb, dir, ...patterns]);
}

/** `depends=` of a kernel module's .modinfo section (NUL-separated key=value strings in the ELF). */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf("\0depends=");
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  return ko.subarray(at + "\0depends=".length, end).toString("ascii").split(",").filter(Boolean);
}

/** The .ko files (relative to /lib/modules/<release>) of `wanted` and their dependencies, dependencies first. */
export function moduleLoadOrder(modulesRoot: string, wanted: string[]): string[] {
  const byName = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ko")) byName.set(e.name.slice(0, -3).replace(/-/g, "_"), path.relative(modulesRoot, p));
    }
  };
  walk(modulesRoot);
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    const key = name.replace(/-/g, "_");
    if (seen.has(key)) return;
    if (chain.includes(key)) throw new Error(`module dependency cycle: ${[...chain, key].join(" -> ")}`);
    const rel = byName.get(key);
    if (!rel) throw new Error(`kernel module ${name} is not in ${modulesRoot}`);
    for (const dep of moduleDepends(fs.readFileSync(path.join(modulesRoot, rel)))) visit(dep, [...chain, key]);
    seen.add(key);
    order.push(rel);
  };
  for (const m of wanted) visit(m, []);
  return order;
}

function buildInto(kind: ImageKind, dir: string, debs: Record<string, string>, packages: DebianPackage[], key: string): GuestImage {
  const work = path.join(dir, "work");
  const kernelPkg = packages.find((p) => p.name.startsWith("linux-image-"))!;
  const release = kernelPkg.name.slice("linux-image-".length);
  const modDirs = ["drivers/virtio", "drivers/net", "net/core", "drivers/block", "drivers/char", "drivers/char/hw_random"];
  extract(debs[kernelPkg.name], work, [`./boot/vmlinuz-${release}`, ...modDirs.map((d) => `./lib/modules/${release}/kernel/${d}/*.ko`)]);
  extract(debs["busybox-static"], work, ["./bin/busybox"]);
  const modulesRoot = path.join(work, "lib/modules", release);
  const order = moduleLoadOrder(modulesRoot, MODULES);
  const entries: CpioEntry[] = [];
  for (const d of ["bin", "dev", "etc", "lib", "lib/modules", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin"]) entries.push({ type: "dir", path: d, mode: d === "tmp" ? 0o1777 : 0o755 });
  // The kernel opens /dev/console for init before anything is mounted.
  entries.push({ type: "char", path: "dev/console", major: 5, minor: 1 }, { type: "char", path: "dev/null", major: 1, minor: 3, mode: 0o666 });
  entries.push({ type: "file", path: "bin/busybox", data: fs.readFileSync(path.join(work, "bin/busybox")), mode: 0o755 });
  entries.push({ type: "symlink", path: "bin/sh", target: "busybox" });
  for (const [name, file] of imageFiles(kind)) entries.push({ type: "file", path: name, data: fs.readFileSync(file), mode: 0o755 });
  entries.push({ type: "file", path: "etc/kinetic-modules", data: Buffer.from(order.map((m) => `${m}\n`).join("")) });
  const made = new Set<string>();
  for (const m of order) {
    const parts = path.dirname(m).split("/");
    for (let i = 1; i <= parts.length; i++) {
      const d = `lib/modules/${parts.slice(0, i).join("/")}`;
      if (!made.has(d)) (made.add(d), entries.push({ type: "dir", path: d }));
    }
    entries.push({ type: "file", path: `lib/modules/${m}`, data: fs.readFileSync(path.join(modulesRoot, m)) });
  }
  const ramdisk = gzipSync(cpioNewc(entries), { level: 9 });
  const kernel = fs.readFileSync(path.join(work, "boot", `vmlinuz-${release}`));
  const disk = Buffer.alloc(ROOT_DISK_BYTES);
  fs.writeFileSync(path.join(dir, "vmlinuz"), kernel);
  fs.writeFileSync(path.join(dir, "initrd.img"), ramdisk);
  fs.writeFileSync(path.join(dir, "disk.raw"), disk);
  fs.rmSync(work, { recursive: true, force: true });
  return {
    key,
    dir,
    kernel: path.join(dir, "vmlinuz"),
    ramdisk: path.join(dir, "initrd.img"),
    disk: path.join(dir, "disk.raw"),
    kernelRelease: release,
    packages,
    sha256: { kernel: sha256(kernel), ramdisk: sha256(ramdisk), disk: sha256(disk) },
  };
}

export interface BuildOptions {
  /** Default imageCacheDir(). */
  cache?: string;
  /** Never download: fail naming what is missing (tests run without a network). */
  offline?: boolean;
  log?: (m: string) => void;
}

/** The guest image for the packages apt offers today: from the cache, or built (and cached). */
export function buildGuestImage(opts: BuildOptions = {}): GuestImage & { cached: boolean } {
  return buildImage("guest", opts);
}

/** The lab's installer (image/installer/init), from the same packages; its disk is unused. */
export function buildInstallerImage(opts: BuildOptions = {}): GuestImage & { cached: boolean } {
  return buildImage("installer", opts);
}

function buildImage(kind: ImageKind, opts: BuildOptions): GuestImage & { cached: boolean } {
  const cache = opts.cache ?? imageCacheDir();
  const log = opts.log ?? (() => undefined);
  const packages = resolveGuestPackages();
  const key = guestImageKey(packages, kind);
  const dir = path.join(cache, `${kind}-${key}`);
  const manifest = path.join(dir, "manifest.json");
  if (fs.existsSync(manifest)) return { ...(JSON.parse(fs.readFileSync(manifest, "utf8")) as GuestImage), cached: true };
  const debs: Record<string, string> = {};
  for (const p of packages) debs[p.name] = fetchDeb(cache, p, opts.offline ?? false, log);
  const tmp = fs.mkdtempSync(path.join(cache, `.${kind}-${key}-`));
  try {
    log(`building ${kind} image ${key} from ${packages.map((p) => `${p.name} ${p.version}`).join(", ")}`);
    const built = buildInto(kind, tmp, debs, packages, key);
    fs.writeFileSync(path.join(tmp, "manifest.json"), `${JSON.stringify({ ...built, dir, kernel: path.join(dir, "vmlinuz"), ramdisk: path.join(dir, "initrd.img"), disk: path.join(dir, "disk.raw") }, null, 2)}\n`);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(manifest)) return { ...(JSON.parse(fs.readFileSync(manifest, "utf8")) as GuestImage), cached: true };
    throw e;
  }
  return { ...(JSON.parse(fs.readFileSync(manifest, "utf8")) as GuestImage), cached: false };
}
