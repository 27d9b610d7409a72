/**
 * Daemons a formula test starts by hand inside the Debian test host (a chroot without systemd, so
 * the formulas only configure and enable them), and loop devices standing in for disks.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DebianHost } from "../support/debianHost";

export class Daemons {
  private readonly running: { name: string; child: ChildProcess; log: () => string }[] = [];

  /** Starts `argv` chrooted into the host, in the foreground; its output is kept for failures. */
  start(host: DebianHost, name: string, argv: string[], env: Record<string, string> = {}): ChildProcess {
    let out = "";
    const child = spawn("chroot", [host.root, ...argv], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", ...env },
    });
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.running.push({ name, child, log: () => out });
    return child;
  }

  /** The output of a daemon so far, for assertion messages. */
  log(name: string): string {
    const d = this.running.find((r) => r.name === name);
    return d ? `${name} (exit ${d.child.exitCode ?? "running"}): ${d.log()}` : `${name}: not started`;
  }

  async stopAll(): Promise<void> {
    for (const { child } of this.running.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill("SIGTERM");
      const gone = await Promise.race([new Promise((r) => child.once("exit", () => r(true))), new Promise((r) => setTimeout(() => r(false), 10_000))]);
      if (!gone) child.kill("SIGKILL");
    }
    this.running.length = 0;
  }
}

/** Polls `check` until it returns true (exceptions count as false). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 90_000, detail: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (check()) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}\n${detail()}`);
}

/** A file-backed loop device on the test machine, with its node made inside the host. */
export interface LoopDisk {
  file: string;
  device: string;
  detach(): void;
}

export function loopDisk(host: DebianHost, sizeBytes: number): LoopDisk {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-disk-"));
  const file = path.join(dir, "disk.img");
  fs.writeFileSync(file, "");
  fs.truncateSync(file, sizeBytes);
  const r = spawnSync("losetup", ["--find", "--show", file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`losetup failed: ${r.stderr}`);
  const device = r.stdout.trim();
  const minor = Number(/loop(\d+)$/.exec(device)![1]);
  const node = host.path(device);
  fs.rmSync(node, { force: true });
  const mk = spawnSync("mknod", ["-m", "0660", node, "b", "7", String(minor)], { encoding: "utf8" });
  if (mk.status !== 0) throw new Error(`mknod failed: ${mk.stderr}`);
  let detached = false;
  return {
    file,
    device,
    detach: () => {
      if (detached) return;
      detached = true;
      fs.rmSync(node, { force: true });
      spawnSync("losetup", ["-d", device]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bind-mounts the test machine's /sys into the host (ceph-volume and lsblk read it); returns the unmount. */
export function bindSys(host: DebianHost): () => void {
  const target = host.path("/sys");
  fs.mkdirSync(target, { recursive: true });
  const r = spawnSync("mount", ["--bind", "-o", "ro", "/sys", target], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mount /sys failed: ${r.stderr}`);
  return () => void spawnSync("umount", ["-l", target]);
}
