/**
 * Using the lab's cloud from this machine:
 *
 * - `kinetic lab shell [--stack NAME] [-- COMMAND...]`: a shell (or one command) inside the lab's
 *   network namespace with the admin's OS_* variables, so `openstack server list` works there. The
 *   password is in the child's environment only, never in argv or a file.
 * - `kinetic lab ssh <endpoint|type> [--stack NAME] [-- COMMAND...]`: root on a lab host with the
 *   stack's orchestrator key, accepting only the host key the stack's state pinned for it
 *   (a known_hosts file with exactly that key, StrictHostKeyChecking=yes), in a 0700 scratch
 *   directory removed afterwards.
 * - `kinetic lab forward <endpoint|type> [--stack NAME] [--port P] [--local L]`: 127.0.0.1:L of this
 *   machine relayed to the endpoint's port P in the lab (horizon: `kinetic lab forward horizon`, then
 *   http://127.0.0.1:8080/horizon/ in a browser). Loopback only.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { forwardIntoNamespace } from "../lab/forward";
import { LAB_STACK, readStatus } from "../lab/control";
import { isLabStack, LAB_STACKS, labLayout } from "../lab/layout";
import { osEnvironment } from "../verify/adminCredentials";
import { endpointNamed, orchestratorKey, pinnedHostKey, stackAdminCredentials, stackCloud } from "./cloudAccess";
import { oneLine } from "./verify";

export const LAB_ACCESS_USAGE = `kinetic lab shell [--stack NAME] [-- COMMAND...]
                               a shell (or COMMAND) in the lab's network with the admin's OS_* variables
kinetic lab ssh <endpoint|type[/N]> [--stack NAME] [-- COMMAND...]
                               root on a lab host, with the stack's key, over the host key its state pinned
kinetic lab forward <endpoint|type[/N]> [--stack NAME] [--port 80] [--local 8080]
                               127.0.0.1:LOCAL relayed to that host's PORT in the lab (horizon: open
                               http://127.0.0.1:8080/horizon/); Ctrl-C stops it`;

interface Parsed {
  stack: string;
  target?: string;
  command: string[];
  port?: number;
  local?: number;
}

function parse(argv: string[], flags: string[]): Parsed | string {
  const p: Parsed = { stack: LAB_STACK, command: [] };
  const dash = argv.indexOf("--");
  const own = dash < 0 ? argv : argv.slice(0, dash);
  if (dash >= 0) p.command = argv.slice(dash + 1);
  for (let i = 0; i < own.length; i++) {
    const a = own[i];
    if (a.startsWith("--")) {
      if (!flags.includes(a) || own[i + 1] === undefined) return `unexpected argument ${a}`;
      const v = own[++i];
      if (a === "--stack") p.stack = v;
      else {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) return `${a} ${v}: a port number`;
        if (a === "--port") p.port = n;
        else p.local = n;
      }
    } else if (p.target === undefined) p.target = a;
    else return `unexpected argument ${a}`;
  }
  return p;
}

/** Runs argv inside the lab's network namespace with `env`, terminal inherited; resolves its exit code. */
function inLabWith(stack: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=/run/netns/${labLayout(process.env, stack).netns}`, ...argv], { stdio: "inherit", env });
    // The child owns the terminal's Ctrl-C (an interactive shell ignores it itself); we only wait.
    const ignore = () => undefined;
    process.on("SIGINT", ignore);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGINT", ignore);
      resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1));
    });
  });
}

function labRunning(stack: string): boolean {
  if (!isLabStack(stack)) {
    process.stderr.write(`stack ${stack} has no lab on this machine (the labs are ${Object.keys(LAB_STACKS).join(", ")})\n`);
    return false;
  }
  if (readStatus(labLayout(process.env, stack))) return true;
  process.stderr.write(`the ${stack} lab is down (npm run kinetic -- lab up --stack ${stack})\n`);
  return false;
}

export async function labShell(argv: string[]): Promise<number> {
  const p = parse(argv, ["--stack"]);
  if (typeof p === "string" || p.target !== undefined) {
    process.stderr.write(`lab shell: ${typeof p === "string" ? p : `unexpected argument ${p.target} (a command goes after --)`}\n${LAB_ACCESS_USAGE}\n`);
    return 64;
  }
  if (!labRunning(p.stack)) return 69;
  const credentials = await stackAdminCredentials(await stackCloud(p.stack));
  const env = { ...process.env, ...osEnvironment(credentials) };
  if (!p.command.length) {
    process.stderr.write(`lab shell: the lab's network, as the admin of stack ${p.stack} (${credentials.authUrl}); try \`openstack server list\`; exit leaves\n`);
    return inLabWith(p.stack, [process.env.SHELL || "/bin/bash"], { ...env, KINETIC_LAB_SHELL: p.stack });
  }
  return inLabWith(p.stack, p.command, env);
}

export async function labSsh(argv: string[]): Promise<number> {
  const p = parse(argv, ["--stack"]);
  if (typeof p === "string" || p.target === undefined) {
    process.stderr.write(`lab ssh: ${typeof p === "string" ? p : "name an endpoint or a type"}\n${LAB_ACCESS_USAGE}\n`);
    return 64;
  }
  if (!labRunning(p.stack)) return 69;
  const s = await stackCloud(p.stack);
  const e = endpointNamed(s.cloud, p.target);
  const hostKey = await pinnedHostKey(s.stack, e.address);
  if (!hostKey) throw new Error(`stack ${p.stack}'s state pins no host key for ${e.name} at ${e.address}: it has not been reached yet (kinetic up --stack ${p.stack})`);
  const { privateKey, user } = await orchestratorKey(s.stack, p.stack);
  return sshWithPin({ address: e.address, user, privateKey, hostKey, command: p.command }, (argv) => inLabWith(p.stack, argv, process.env));
}

export interface PinnedSsh {
  address: string;
  port?: number;
  user: string;
  /** The orchestrator's private key (OpenSSH format): written to a 0600 file for ssh -i, removed after. */
  privateKey: string;
  /** The one host key line (`type base64 [comment]`) accepted. */
  hostKey: string;
  command: string[];
}

/**
 * ssh to `address` trusting only `hostKey` (a known_hosts file holding that key alone, no global
 * file, StrictHostKeyChecking=yes: a different key ends the connection before anything is sent).
 * `run` executes the ssh argv (in the lab's namespace for `lab ssh`). The key files live in a 0700
 * scratch directory removed afterwards, whatever happens.
 */
export async function sshWithPin<T>(o: PinnedSsh, run: (argv: string[]) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-ssh-"));
  try {
    const identity = path.join(dir, "id");
    fs.writeFileSync(identity, o.privateKey.endsWith("\n") ? o.privateKey : `${o.privateKey}\n`, { mode: 0o600 });
    const knownHosts = path.join(dir, "known_hosts");
    const hostName = o.port && o.port !== 22 ? `[${o.address}]:${o.port}` : o.address;
    fs.writeFileSync(knownHosts, `${hostName} ${o.hostKey.trim()}\n`, { mode: 0o600 });
    const ssh = [
      "ssh", "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no", "-o", "ConnectTimeout=15", "-F", "/dev/null",
      ...(o.port ? ["-p", String(o.port)] : []), "-l", o.user, o.address,
      ...(o.command.length ? ["--", ...o.command] : []),
    ];
    return await run(ssh);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function labForward(argv: string[]): Promise<number> {
  const p = parse(argv, ["--stack", "--port", "--local"]);
  if (typeof p === "string" || p.target === undefined || p.command.length) {
    process.stderr.write(`lab forward: ${typeof p === "string" ? p : "name an endpoint or a type (horizon)"}\n${LAB_ACCESS_USAGE}\n`);
    return 64;
  }
  if (!labRunning(p.stack)) return 69;
  const s = await stackCloud(p.stack);
  const e = endpointNamed(s.cloud, p.target);
  const port = p.port ?? 80;
  const fwd = await forwardIntoNamespace(labLayout(process.env, p.stack).netns, e.address, port, p.local ?? 8080);
  // The dashboard is at /horizon/ (formulas/horizon/configure); anything else at /.
  const hint = e.role === "horizon" && port === 80 ? "/horizon/" : "/";
  process.stderr.write(`lab forward: http://127.0.0.1:${fwd.port}${hint} -> ${e.name} ${e.address}:${port} in the lab (this machine only); Ctrl-C stops\n`);
  await new Promise<void>((resolve) => process.once("SIGINT", resolve).once("SIGTERM", resolve));
  await fwd.close();
  return 0;
}

/** `kinetic lab shell|ssh|forward`: one line for what goes wrong (the stack not up, no such host). */
export async function labAccessCommand(sub: "shell" | "ssh" | "forward", argv: string[]): Promise<number> {
  try {
    if (sub === "shell") return await labShell(argv);
    if (sub === "ssh") return await labSsh(argv);
    return await labForward(argv);
  } catch (e) {
    process.stderr.write(`lab ${sub}: ${oneLine(e)}\n`);
    return 1;
  }
}
