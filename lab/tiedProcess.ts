/**
 * A child process that dies with the process that started it, even when that one is killed with
 * SIGKILL and runs no exit handler: the kernel sends the child SIGKILL when its parent goes
 * (prctl PR_SET_PDEATHSIG, through util-linux's `setpriv --pdeathsig`, which then execs the
 * command, so the child's pid is the command's). Why: the lab's QEMU machines (lab/pxeBoot.ts) hold
 * a tap on the lab's bridge and a server's MAC; one left behind by a killed supervisor keeps
 * answering as that server until someone finds it.
 */
import { ChildProcess, spawn, SpawnOptions } from "node:child_process";

export function spawnTied(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn("setpriv", ["--pdeathsig", "KILL", "--", command, ...args], options);
}
