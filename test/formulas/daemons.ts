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
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-64000));
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

  /** SIGTERM to every daemon at once, SIGKILL to those still there after 10 s. */
  async stopAll(): Promise<void> {
    const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
    const live = this.running.map((r) => r.child).filter((c) => !exited(c));
    const waitExit = (c: ChildProcess, ms: number) =>
      exited(c) ? Promise.resolve(true) : Promise.race([new Promise<boolean>((r) => c.once("exit", () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    for (const c of live) c.kill("SIGTERM");
    await Promise.all(live.map(async (c) => {
      if (!(await waitExit(c, 10_000))) {
        c.kill("SIGKILL");
        await waitExit(c, 5_000);
      }
    }));
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
