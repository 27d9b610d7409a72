/**
 * A private libvirtd serving libvirt's test driver, so the create and zeroize scripts can run
 * `virsh define`, `start`, `destroy` and `undefine` for real in separate `virsh` processes.
 *
 * Why not plain `test:///default`: that driver lives inside the client process, so every `virsh` run
 * starts from a fresh state and a domain defined by one command is gone for the next. Reached through
 * a daemon (`test+unix:///default?socket=...`) the driver lives in libvirtd instead, and its state
 * lasts as long as at least one connection is open; a `virsh event --loop` holds one for the whole
 * test (and records the lifecycle events, which the tests assert on).
 *
 * The daemon is isolated: its own sockets under a scratch dir, and `LIBVIRT_DRIVER_DIR` pointing at
 * an empty dir so it loads no hypervisor, network or storage driver and touches nothing on the host
 * (no bridges, no dnsmasq, no /var/lib/libvirt state). qemu itself is not exercised: starting a real
 * guest would need bridges on the host and a bootable image, which the test driver does not.
 */
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, scratch } from "./tools";

export interface TestLibvirtd {
  /** libvirt URI for `virsh -c`. */
  uri: string;
  /** Lifecycle events seen so far, one line each. */
  events(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startLibvirtd(): Promise<TestLibvirtd> {
  const dir = scratch("libvirtd");
  mkdirSync(join(dir, "sock"));
  mkdirSync(join(dir, "no-drivers"));
  const conf = join(dir, "libvirtd.conf");
  writeFileSync(
    conf,
    [`unix_sock_dir = "${dir}/sock"`, `unix_sock_rw_perms = "0700"`, `auth_unix_rw = "none"`, `auth_unix_ro = "none"`, ""].join("\n"),
  );
  const daemonLog: string[] = [];
  const daemon = spawn("libvirtd", ["-f", conf, "-p", join(dir, "libvirtd.pid")], {
    env: { ...process.env, LIBVIRT_DRIVER_DIR: join(dir, "no-drivers") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  daemon.stdout?.on("data", (b) => daemonLog.push(String(b)));
  daemon.stderr?.on("data", (b) => daemonLog.push(String(b)));
  const spawnError = new Promise<never>((_, reject) => daemon.on("error", (e) => reject(new Error(`libvirtd could not run (Debian package libvirt-daemon): ${e.message}`))));
  const socket = join(dir, "sock", "libvirt-sock");
  const uri = `test+unix:///default?socket=${socket}`;
  const deadline = Date.now() + 15_000;
  while (!(existsSync(socket) && run("virsh", ["-q", "-c", uri, "version"]).status === 0)) {
    if (daemon.exitCode !== null || Date.now() > deadline) {
      daemon.kill();
      throw new Error(`libvirtd did not come up on ${socket}:\n${daemonLog.join("")}`);
    }
    await Promise.race([sleep(100), spawnError]);
  }
  const events: string[] = [];
  const holder: ChildProcess = spawn("virsh", ["-c", uri, "event", "--all", "--loop"], { stdio: ["ignore", "pipe", "pipe"] });
  holder.stdout?.on("data", (b) => events.push(String(b)));
  // The holder must be connected before anything is defined, or the state would be dropped with the
  // defining connection: wait until a probe domain defined by one virsh is seen by the next one.
  const probe = join(dir, "probe.xml");
  writeFileSync(probe, "<domain type='test'><name>kinetic-probe</name><memory>1024</memory><os><type>hvm</type></os></domain>");
  for (;;) {
    run("virsh", ["-q", "-c", uri, "define", probe]);
    if (run("virsh", ["-q", "-c", uri, "domstate", "kinetic-probe"]).status === 0) break;
    if (holder.exitCode !== null || Date.now() > deadline) throw new Error(`test driver state does not persist through ${uri}`);
    await sleep(100);
  }
  run("virsh", ["-q", "-c", uri, "undefine", "kinetic-probe"]);
  const stopped = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r())));
  return {
    uri,
    events: () => events.join(""),
    async stop() {
      holder.kill();
      await stopped(holder);
      daemon.kill();
      await stopped(daemon);
    },
  };
}
