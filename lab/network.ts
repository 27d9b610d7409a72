/**
 * The lab's network: one namespace (`ip netns`) holding a Linux bridge per pillar network with the
 * gateway's address, the BMCs (on its loopback: the pillar's oob subnet is 127.x) and whatever runs
 * "in the lab" (the engine, the lab's HTTP mirror). Each host is a veth pair: one end in the host's
 * own namespace, named as the pillar or the seed names the NIC and carrying its MAC, the other on
 * the bridge. Nothing is routed out of the namespace: the lab reaches no address of the world.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { run } from "./debianRoot";

export interface LabBridge {
  /** Pillar network name (management, public, ...). */
  network: string;
  /** Gateway address with prefix, e.g. 10.77.0.1/24; none for a network without one. */
  gateway?: string;
}

/** Linux bridge name of a pillar network inside the lab namespace (15 characters at most). */
export function bridgeName(network: string): string {
  return `lab-${network}`.slice(0, 15);
}

export function netnsExists(netns: string): boolean {
  return fs.existsSync(`/run/netns/${netns}`);
}

const ip = (netns: string, args: string[]) => run("ip", ["-n", netns, ...args]);

/** Creates the namespace and its bridges (idempotent). */
export function ensureLabNetwork(netns: string, bridges: LabBridge[]): void {
  if (!netnsExists(netns)) run("ip", ["netns", "add", netns]);
  ip(netns, ["link", "set", "lo", "up"]);
  for (const b of bridges) {
    const name = bridgeName(b.network);
    if (spawnSync("ip", ["-n", netns, "link", "show", name], { stdio: "ignore" }).status !== 0) {
      ip(netns, ["link", "add", name, "type", "bridge"]);
    }
    if (b.gateway && !ip(netns, ["-o", "addr", "show", "dev", name]).includes(` ${b.gateway} `)) {
      ip(netns, ["addr", "add", b.gateway, "dev", name]);
    }
    ip(netns, ["link", "set", name, "up"]);
  }
}

/**
 * Plugs a NIC into a host: `ifname` (with `mac`) appears in the namespace of process `pid`, its
 * peer joins the network's bridge. A NIC of the same name already there is left as it is.
 */
export function plugNic(netns: string, pid: number, nic: { ifname: string; mac?: string; network: string }): void {
  const present = spawnSync("nsenter", ["-t", String(pid), "--net", "ip", "link", "show", nic.ifname], { stdio: "ignore" }).status === 0;
  if (present) return;
  const peer = `v${createHash("sha256").update(`${pid}/${nic.ifname}`).digest("hex").slice(0, 12)}`;
  spawnSync("ip", ["-n", netns, "link", "del", peer], { stdio: "ignore" });
  ip(netns, ["link", "add", peer, "type", "veth", "peer", "name", nic.ifname, ...(nic.mac ? ["address", nic.mac] : []), "netns", String(pid)]);
  ip(netns, ["link", "set", peer, "master", bridgeName(nic.network), "up"]);
}

/** Deletes the namespace, and with it every bridge and veth end in it. */
export function removeLabNetwork(netns: string): void {
  if (netnsExists(netns)) run("ip", ["netns", "del", netns]);
}
