/**
 * A Debian cloud image built on this machine, the kind of image a controller's `/kvm/images/<os>-latest`
 * holds: a disk SeaBIOS boots (no kernel handed in from outside, as the program's domain XML has
 * none), with systemd, openssh-server and cloud-init, which reads the program's NoCloud seed. It
 * proves the program's domain XML and seed against a real guest (test/libvirt/qemu.test.ts).
 *
 * Built from the cached Debian base (lab/debianRoot.ts) plus {@link CLOUD_PACKAGES} from the same
 * mirror, nothing from anywhere else. The disk is made without mounts or loop devices (so nothing
 * can leak onto the host): an MBR with syslinux's boot code; partition 1 a FAT file system made by
 * mkfs.fat/mtools holding the kernel, the initramfs and syslinux; partition 2 the root, an ext4 file
 * system `mke2fs -d` fills from the tree. Shipped as qcow2 (the create script converts it to raw).
 *
 * Cached under `<image cache>/cloud-<key>`: the key is the base's own key (its tree is keyed by
 * suite, mirror and packages, and its apt lists, fixed when it was built, pin every version
 * installed here), the packages, and everything below that shapes the disk. Rebuilt when missing,
 * reused warm (images of other keys unused for a week are deleted); builds are serialised across
 * processes with a lock. Root only (chroot).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { imageCacheDir } from "../image/guestImage";
import { debianRootUnavailable, ensureDebianRoot, lockExclusive, pruneStale, run, withSbin } from "./debianRoot";

/** Raise when the build changes in a way the constants below do not show. */
const BUILDER_VERSION = "3";
/**
 * What a cloud image has beyond the base: a kernel (its initramfs-tools makes the initramfs), udev
 * (device names, `ens3` among them, and module loading for the seed's SATA CD-ROM), cloud-init, and
 * ifupdown, whose `/etc/network/interfaces.d` is what cloud-init 22.4 renders network-config to on
 * Debian 12, as Debian's own bookworm cloud images do.
 */
export const CLOUD_PACKAGES = ["linux-image-amd64", "udev", "kmod", "cloud-init", "ifupdown", "netbase", "procps"];
const ROOT_LABEL = "kinetic-root";
/** The kernel finds its root by label; its console is the serial port the domain XML logs. */
const KERNEL_ARGS = `root=LABEL=${ROOT_LABEL} ro console=tty0 console=ttyS0,115200n8`;
const SYSLINUX_CFG = ["SERIAL 0 115200", "DEFAULT debian", "PROMPT 0", "TIMEOUT 0", "LABEL debian", "  LINUX /vmlinuz", "  INITRD /initrd.img", `  APPEND ${KERNEL_ARGS}`, ""].join("\n");
/** Only the seed the program writes: no probing of cloud metadata services that are not there. */
const CLOUD_CFG = "datasource_list: [ NoCloud, None ]\n";
/**
 * cloud-init's locale module sets en_US.UTF-8 unless told otherwise, and update-locale refuses a
 * locale that is not generated (cloud-init then reports `status: error`): generated here, as a
 * cloud image has it.
 */
const LOCALE_GEN = "en_US.UTF-8 UTF-8\n";
const FSTAB = `LABEL=${ROOT_LABEL} / ext4 defaults,errors=remount-ro 0 1\n`;
const INTERFACES = "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n";
const SECTOR = 512;
const BOOT_START = 2048;
const BOOT_MIB = 96;

export interface CloudImage {
  key: string;
  dir: string;
  /** The image (qcow2). */
  disk: string;
  kernelRelease: string;
  /** Versions of the packages that matter, read from the built tree (dpkg). */
  packages: Record<string, string>;
  /** Virtual size of the disk in bytes: a VM's disk must be at least this. */
  virtualBytes: number;
}

/** Why the cloud image cannot be built or used here, or undefined when it can. */
export function cloudImageUnavailable(): string | undefined {
  const why = debianRootUnavailable();
  if (why) return why;
  for (const tool of ["mke2fs", "mkfs.fat", "mcopy", "syslinux", "sfdisk", "qemu-img"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore", env: withSbin() }).status !== 0) return `${tool} not installed`;
  }
  if (!fs.existsSync(MBR_BIN)) return `${MBR_BIN} missing (Debian package syslinux-common)`;
  return undefined;
}

const MBR_BIN = "/usr/lib/syslinux/mbr/mbr.bin";

export function cloudImageKey(baseDir: string): string {
  const inputs = { BUILDER_VERSION, base: path.basename(baseDir), CLOUD_PACKAGES, SYSLINUX_CFG, CLOUD_CFG, LOCALE_GEN, FSTAB, INTERFACES, BOOT_MIB };
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16);
}

/**
 * The cloud image, from the cache or built (a few minutes: apt in a chroot, the initramfs, the
 * disk). `offline` refuses to build (a test inside a network namespace cannot reach the mirror).
 */
export function ensureCloudImage(opts: { offline?: boolean; log?: (m: string) => void } = {}): CloudImage & { cached: boolean; seconds: number } {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const root = ensureDebianRoot(log);
  const key = cloudImageKey(root.base);
  const cache = imageCacheDir();
  const dir = path.join(cache, `cloud-${key}`);
  const manifest = path.join(dir, "manifest.json");
  const read = (cached: boolean) => {
    // The manifest's mtime is the image's last use: images of other keys unused for a week go.
    const now = new Date();
    fs.utimesSync(manifest, now, now);
    pruneStale(cache, [dir], /^cloud-[0-9a-f]{16}$/, (p) => path.join(p, "manifest.json"));
    return { ...(JSON.parse(fs.readFileSync(manifest, "utf8")) as CloudImage), cached, seconds: (Date.now() - started) / 1000 };
  };
  if (fs.existsSync(manifest)) return read(true);
  if (opts.offline) throw new Error(`the cloud image ${dir} is not built and downloads are off: it is built before the tests (test/lanes.ts prepares it)`);
  const unlock = lockExclusive(path.join(cache, ".cloud.lock"));
  try {
    if (fs.existsSync(manifest)) return read(true);
    const tmp = fs.mkdtempSync(path.join(cache, `.cloud-${key}-`));
    try {
      log(`building the Debian cloud image ${key} from ${root.base}`);
      const built = build(root.base, tmp, key);
      fs.writeFileSync(path.join(tmp, "manifest.json"), `${JSON.stringify({ ...built, dir, disk: path.join(dir, "disk.qcow2") }, null, 2)}\n`);
      fs.chmodSync(tmp, 0o755);
      fs.renameSync(tmp, dir);
    } catch (e) {
      removeTree(tmp);
      throw e;
    }
    log(`cloud image ${key} built in ${Math.round((Date.now() - started) / 1000)} s`);
    return read(false);
  } finally {
    unlock();
  }
}

/** rm -rf that never crosses into a mounted file system (the chroot's /dev, should one be left). */
function removeTree(dir: string): void {
  spawnSync("rm", ["-rf", "--one-file-system", "--", dir]);
}

function build(base: string, out: string, key: string): CloudImage {
  const tree = path.join(out, "root");
  run("cp", ["-a", "--", `${base}/.`, tree]);
  fs.rmSync(path.join(tree, ".kinetic-complete"), { force: true });
  // Before the kernel: initramfs-tools puts fsck for the root into the initramfs only when fstab names it.
  fs.writeFileSync(path.join(tree, "etc/fstab"), FSTAB);
  fs.writeFileSync(path.join(tree, "etc/locale.gen"), LOCALE_GEN);
  // Package scripts must not start services in the build's chroot.
  fs.writeFileSync(path.join(tree, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  // The kernel's scripts and initramfs-tools want /proc, /sys and /dev: mounted in a mount
  // namespace of this command only, so they vanish with it whatever happens.
  const install = [
    'set -e; t=$1; shift; mount -t proc proc "$t/proc"; mount -t sysfs sysfs "$t/sys"; mount --bind /dev "$t/dev"',
    'DEBIAN_FRONTEND=noninteractive chroot "$t" apt-get install -y -q --no-install-recommends "$@"',
    'chroot "$t" apt-get clean',
    'chroot "$t" locale-gen',
  ].join("\n");
  run("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", install, "install", tree, ...CLOUD_PACKAGES], { timeoutMs: 30 * 60_000 });
  fs.rmSync(path.join(tree, "usr/sbin/policy-rc.d"));
  if (!/^en_US\.utf8$/m.test(run("chroot", [tree, "locale", "-a"]))) throw new Error("locale-gen did not generate en_US.UTF-8 in the cloud image");
  fs.writeFileSync(path.join(tree, "etc/network/interfaces"), INTERFACES);
  fs.writeFileSync(path.join(tree, "etc/cloud/cloud.cfg.d/91-kinetic-datasource.cfg"), CLOUD_CFG);
  // The guest gets its resolvers from its seed, not from this machine.
  fs.writeFileSync(path.join(tree, "etc/resolv.conf"), "");
  // Per machine: the id is made at first boot, the SSH host key comes from the seed.
  fs.writeFileSync(path.join(tree, "etc/machine-id"), "");
  for (const f of fs.readdirSync(path.join(tree, "etc/ssh"))) if (f.startsWith("ssh_host_")) fs.rmSync(path.join(tree, "etc/ssh", f));

  const kernels = fs.readdirSync(path.join(tree, "boot")).filter((f) => /^vmlinuz-/.test(f));
  if (kernels.length !== 1) throw new Error(`expected one kernel in the image's /boot, found ${kernels.join(", ") || "none"}`);
  const release = kernels[0].slice("vmlinuz-".length);
  const initrd = path.join(tree, "boot", `initrd.img-${release}`);
  if (!fs.existsSync(initrd)) throw new Error(`the kernel ${release} was installed without an initramfs`);
  const packages: Record<string, string> = {};
  for (const line of run("chroot", [tree, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", `linux-image-${release}`, "cloud-init", "systemd", "openssh-server"]).trim().split("\n")) {
    const [name, version] = line.split(" ");
    packages[name] = version;
  }

  // Partition 1 (boot): FAT with syslinux, the kernel and the initramfs.
  const boot = path.join(out, "boot.fat");
  run("mkfs.fat", ["-C", "-n", "KBOOT", boot, String(BOOT_MIB * 1024)]);
  const mtools = { ...process.env, MTOOLS_SKIP_CHECK: "1" };
  const cfg = path.join(out, "syslinux.cfg");
  fs.writeFileSync(cfg, SYSLINUX_CFG);
  run("mcopy", ["-i", boot, path.join(tree, "boot", kernels[0]), "::vmlinuz"], { env: mtools });
  run("mcopy", ["-i", boot, initrd, "::initrd.img"], { env: mtools });
  run("mcopy", ["-i", boot, cfg, "::syslinux.cfg"], { env: mtools });
  run("syslinux", ["--install", boot]);

  // Partition 2 (root): the tree, with room to spare; the disk is grown by the create script.
  const usedKiB = Number(run("du", ["-sk", "--one-file-system", tree]).split(/\s/)[0]);
  const rootMiB = Math.ceil((usedKiB * 1.4) / 1024 / 256) * 256 + 256;
  const rootStart = BOOT_START + BOOT_MIB * 2048;
  const totalBytes = (rootStart + rootMiB * 2048) * SECTOR;
  const raw = path.join(out, "disk.raw");
  fs.writeFileSync(raw, "");
  fs.truncateSync(raw, totalBytes);
  run("sfdisk", ["--no-reread", "--no-tell-kernel", raw], { input: `label: dos\nstart=${BOOT_START}, size=${BOOT_MIB * 2048}, type=c, bootable\nstart=${rootStart}, type=83\n` });
  const mbr = fs.readFileSync(MBR_BIN).subarray(0, 440);
  const fd = fs.openSync(raw, "r+");
  try {
    fs.writeSync(fd, mbr, 0, mbr.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  run("dd", [`if=${boot}`, `of=${raw}`, `bs=${SECTOR}`, `seek=${BOOT_START}`, "conv=notrunc,sparse", "status=none"]);
  run("mke2fs", ["-q", "-F", "-t", "ext4", "-L", ROOT_LABEL, "-d", tree, "-E", `offset=${rootStart * SECTOR}`, raw, `${rootMiB}M`]);
  const disk = path.join(out, "disk.qcow2");
  run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, disk]);
  for (const f of [raw, boot, cfg]) fs.rmSync(f);
  removeTree(tree);
  return { key, dir: out, disk, kernelRelease: release, packages, virtualBytes: totalBytes };
}
