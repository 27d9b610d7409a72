/**
 * A real OpenSSH server on loopback presenting a given host key, for tests that check which key a
 * client sees (the libvirt create script's wait, trust on first use). It accepts no login unless
 * `authorizedKey` is given (then root may log in with that key only, on this machine: use it for
 * commands that touch nothing but the test's own scratch files). Needs root (sshd's privilege
 * separation) and /usr/sbin/sshd.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface TestSshd {
  address: string;
  port: number;
  /** sshd's log so far (`-e`: to stderr). */
  log(): string;
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

/** Why a real sshd cannot run here, or undefined when it can. */
export function sshdUnavailable(): string | undefined {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root";
  if (!fs.existsSync(SSHD)) return `${SSHD} missing (openssh-server)`;
  if (spawnSync("sh", ["-c", "command -v ssh-keyscan"], { stdio: "ignore" }).status !== 0) return "ssh-keyscan missing";
  return undefined;
}

async function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts sshd with `privateKey` (OpenSSH format) as its only host key; on a free port unless `port` is given. */
export async function startSshd(privateKey: string, address = "127.0.0.1", port?: number, opts: { authorizedKey?: string } = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-sshd-"));
  const key = path.join(dir, "host_key");
  fs.writeFileSync(key, privateKey, { mode: 0o600 });
  port ??= await freePort(address);
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      `ListenAddress ${address}:${port}`,
      `HostKey ${key}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      ...(opts.authorizedKey
        ? ["PubkeyAuthentication yes", "PermitRootLogin prohibit-password", "StrictModes no", `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`]
        : ["PubkeyAuthentication no", "AuthorizedKeysFile none"]),
      "",
    ].join("\n"),
  );
  if (opts.authorizedKey) fs.writeFileSync(path.join(dir, "authorized_keys"), `${opts.authorizedKey}\n`, { mode: 0o600 });
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  let log = "";
  const child = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-16000)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, address);
      s.once("data", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on ${address}:${port}: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  return {
    address,
    port,
    log: () => log,
    stop: async () => {
      process.removeListener("exit", onExit);
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
