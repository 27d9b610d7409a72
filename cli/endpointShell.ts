/**
 * One command on a deployed endpoint, as the operator's tools run it (the rolling rebuild's health
 * gate, backups and restores): over SSH with the stack's orchestrator key, accepting only the host
 * key the stack's state pinned for that endpoint (cli/labAccess.ts sshWithPin), standard input and
 * output as streams so a database dump never has to fit in memory. Nothing here is interactive.
 */
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { Stack } from "@pulumi/pulumi/automation";
import type { Endpoint } from "../pillar";
import { orchestratorKey, pinnedHostKey } from "./cloudAccess";
import { sshWithPin } from "./labAccess";

export interface ShellIo {
  /** Sent as the command's standard input (then closed); none: empty. */
  stdin?: string | Readable;
  /** Where standard output goes; none: collected into `out`. */
  stdout?: Writable;
  /** Killed after this many ms (default 10 min). */
  timeoutMs?: number;
}

export interface ShellResult {
  code: number;
  /** Standard error, and standard output when no `stdout` stream was given. */
  out: string;
}

/** `command` (one shell line, constant text) as root on `e`; `sudo -n` when the stack's SSH user is not root. */
export async function endpointShell(stack: Stack, e: Endpoint, command: string, io: ShellIo = {}): Promise<ShellResult> {
  const hostKey = await pinnedHostKey(stack, e.address);
  if (!hostKey) return { code: 255, out: `the stack's state pins no host key for ${e.name} at ${e.address}` };
  const { privateKey, user } = await orchestratorKey(stack, stack.name);
  const line = user === "root" ? command : `sudo -n ${command}`;
  // BatchMode: a key problem fails at once instead of waiting on a password prompt nobody sees.
  return sshWithPin({ address: e.address, user, privateKey, hostKey, command: [line] }, (argv) => run([argv[0], "-o", "BatchMode=yes", ...argv.slice(1)], io));
}

function run(argv: string[], io: ShellIo): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
    if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
    else child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), io.timeoutMs ?? 600_000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), out });
    });
    child.stdin.on("error", () => undefined);
    if (io.stdin === undefined || typeof io.stdin === "string") child.stdin.end(io.stdin ?? "");
    else io.stdin.pipe(child.stdin);
  });
}
