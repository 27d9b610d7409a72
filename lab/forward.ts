/**
 * A loopback port of this machine relayed to a TCP service inside the lab's network namespace
 * (horizon for the operator's browser): the lab's addresses exist only in the namespace, and a
 * process lives in one network namespace, so the relay is two halves joined by a Unix socket, which
 * belongs to the file system, not to a network namespace:
 *
 *   browser -> 127.0.0.1:PORT (this process, root namespace) -> Unix socket -> child in the lab's
 *   namespace (`nsenter --net`, this file run as a program) -> host:port inside the lab
 *
 * The listener binds 127.0.0.1 only: nothing outside this machine reaches the lab through it.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface Forward {
  /** The loopback port bound (the one asked for, or the system's choice for 0). */
  port: number;
  close(): Promise<void>;
}

/** Pipes two sockets into each other; either end closing closes both. */
function join(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.once("error", end).once("close", end);
  b.once("error", end).once("close", end);
}

/** The half inside the namespace: every connection to `socketPath` is joined to host:port. */
function serveInside(socketPath: string, host: string, port: number): void {
  const server = net.createServer((client) => join(client, net.connect({ host, port })));
  server.listen(socketPath, () => process.stdout.write("ready\n"));
  const stop = () => server.close(() => process.exit(0));
  process.once("SIGTERM", stop).once("SIGINT", stop);
  // The parent gone (its pipe closed): so is the reason to relay.
  process.stdin.resume();
  process.stdin.once("end", stop);
}

/**
 * Listens on 127.0.0.1:`localPort` and relays each connection to `host`:`port` inside network
 * namespace `netns`. Resolves once both halves are ready.
 */
export async function forwardIntoNamespace(netns: string, host: string, port: number, localPort: number): Promise<Forward> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-forward-"));
  const socketPath = path.join(dir, "relay.sock");
  const tsNode = require.resolve("ts-node/register/transpile-only");
  const child: ChildProcess = spawn("nsenter", [`--net=/run/netns/${netns}`, process.execPath, "-r", tsNode, __filename, socketPath, host, String(port)], { stdio: ["pipe", "pipe", "inherit"] });
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`the relay inside namespace ${netns} stopped (exit ${code})`)));
      child.stdout!.once("data", () => resolve());
    });
  } catch (e) {
    cleanup();
    throw e;
  }
  const server = net.createServer((browser) => join(browser, net.connect(socketPath)));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(localPort, "127.0.0.1", () => resolve());
    });
  } catch (e) {
    child.kill("SIGTERM");
    cleanup();
    throw e;
  }
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      child.stdin!.end();
      child.kill("SIGTERM");
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
      cleanup();
    },
  };
}

if (require.main === module) {
  const [socketPath, host, port] = process.argv.slice(2);
  serveInside(socketPath, host, Number(port));
}
