/**
 * The data disks of the lab's storage servers: what `hosts.<type>.osd_disks` names must exist on the
 * server as block devices, or formulas/storage has nothing to make OSDs on. A real server has them
 * cabled; the lab gives each one a sparse file on this machine attached as a loop device, and the
 * server sees, in its own /dev, the loop device's node and the pillar's path as a link to it (as
 * udev's /dev/disk/by-id links are on a real server). The files live beside the hosts' disks, not
 * in them: a PXE reinstall wipes the server's OS disk, never its data disks (as on a real server,
 * where formulas/storage then finds its OSDs again). `lab down --wipe` erases them with the rest.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { run, withSbin } from "./debianRoot";
import type { LabLayout } from "./layout";

/** Size of each data disk: sparse, so only what Ceph writes takes room on this machine. */
export const OSD_DISK_BYTES = 10 * 2 ** 30;

export interface AttachedDisk {
  /** The pillar's path on the server (e.g. /dev/disk/by-id/lab-osd-0). */
  path: string;
  /** The loop device on this machine (e.g. /dev/loop3). */
  loop: string;
  minor: number;
}

/** The device nodes and links a booted host gets in its /dev (lab/bootedHost.ts `devices`). */
export interface HostDevice {
  /** Node path inside the host, /dev/... */
  node: string;
  major: number;
  minor: number;
  /** Symbolic links inside the host pointing at the node. */
  links: string[];
}

const disksDir = (layout: LabLayout, server: string) => path.join(layout.dir, "disks", server);

/** The loop device this machine has attached to `file`, if any. */
function loopOf(file: string): string | undefined {
  const r = spawnSync("losetup", ["-j", file, "-n", "-O", "NAME"], { encoding: "utf8", env: withSbin() });
  return r.status === 0 ? r.stdout.trim().split("\n")[0] || undefined : undefined;
}

/**
 * Makes (once) and attaches the server's data disks; an already attached file keeps its loop device.
 * `server` is the lab's name for the physical server (stable across reinstalls).
 */
export function attachOsdDisks(layout: LabLayout, server: string, paths: string[]): AttachedDisk[] {
  const dir = disksDir(layout, server);
  fs.mkdirSync(dir, { recursive: true });
  return paths.map((p, i) => {
    if (!/^\/dev\/[A-Za-z0-9][A-Za-z0-9/_.:+-]*$/.test(p) || p.includes("..")) throw new Error(`${server}: osd disk ${JSON.stringify(p)} is not a /dev path`);
    const file = path.join(dir, `disk-${i}.img`);
    if (!fs.existsSync(file)) {
      fs.writeFileSync(file, "");
      fs.truncateSync(file, OSD_DISK_BYTES);
    }
    const loop = loopOf(file) ?? run("losetup", ["--find", "--show", file]).trim();
    const m = /^\/dev\/loop(\d+)$/.exec(loop);
    if (!m) throw new Error(`${server}: losetup gave ${JSON.stringify(loop)} for ${file}`);
    return { path: p, loop, minor: Number(m[1]) };
  });
}

/** What the host's /dev must hold for these disks: each loop node, and the pillar's path linked to it. */
export function hostDevices(disks: AttachedDisk[]): HostDevice[] {
  return disks.map((d) => ({ node: d.loop, major: 7, minor: d.minor, links: d.path === d.loop ? [] : [d.path] }));
}

/** Detaches the server's data disks (their files stay: the next start attaches them again). */
export function detachOsdDisks(layout: LabLayout, server: string): void {
  const dir = disksDir(layout, server);
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const loop = loopOf(path.join(dir, f));
    if (loop) spawnSync("losetup", ["-d", loop], { env: withSbin() });
  }
}

/** Detaches every data disk of the lab (lab down, and a supervisor's start after an interrupted run). */
export function detachAllOsdDisks(layout: LabLayout): void {
  const root = path.join(layout.dir, "disks");
  for (const server of fs.existsSync(root) ? fs.readdirSync(root) : []) detachOsdDisks(layout, server);
}
