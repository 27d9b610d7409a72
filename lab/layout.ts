/**
 * Where the lab keeps things on this machine, and the names it gives the kernel objects it makes.
 * One lab per lab stack (LAB_STACKS): stack `lab` in /var/lib/kinetic-lab and namespace
 * kinetic-lab, stack `lab-cloud` in /var/lib/kinetic-lab-cloud and kinetic-lab-cloud, so the small
 * lab and the full cloud can run side by side. `KINETIC_LAB_DIR` and `KINETIC_LAB_NETNS` move it,
 * e.g. for a test that must not touch an operator's lab.
 */
import * as path from "node:path";

export interface LabLayout {
  /** Everything the lab writes: host disks, PKI, logs, the supervisor's status. */
  dir: string;
  /** Network namespace holding the lab's bridges, BMCs and the engine's view of the lab. */
  netns: string;
  hostsDir: string;
  pkiDir: string;
  /** The CA the BMCs' certificates chain to (what `kinetic:bmcCaBundle` names for the lab stack). */
  caPath: string;
  statusFile: string;
  pidFile: string;
  logFile: string;
  /** Files the lab serves on the management network's gateway (base images for the controller). */
  mirrorDir: string;
}

/** The stacks that run on a lab of this machine, and the pillar each lab is built for. */
export const LAB_STACKS: Readonly<Record<string, string>> = { lab: "pillar/lab", "lab-cloud": "pillar/cloud" };

export function isLabStack(stack: string | undefined): stack is string {
  return stack !== undefined && Object.prototype.hasOwnProperty.call(LAB_STACKS, stack);
}

export function labLayout(env: NodeJS.ProcessEnv = process.env, stack = "lab"): LabLayout {
  const dir = env.KINETIC_LAB_DIR ?? `/var/lib/kinetic-${stack}`;
  return {
    dir,
    netns: env.KINETIC_LAB_NETNS ?? `kinetic-${stack}`,
    hostsDir: path.join(dir, "hosts"),
    pkiDir: path.join(dir, "pki"),
    caPath: path.join(dir, "pki", "ca.pem"),
    statusFile: path.join(dir, "status.json"),
    pidFile: path.join(dir, "supervisor.pid"),
    logFile: path.join(dir, "supervisor.log"),
    mirrorDir: path.join(dir, "mirror"),
  };
}
