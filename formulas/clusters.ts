/**
 * Which roles form a cluster whose members hold data the pillar cannot re-derive, read from the
 * formulas (issue 21: replacing every member at once, or the last one, wipes that data).
 *
 * A role is clustered when its `configure` has the line
 *   # kinetic-cluster: <what its members hold, for the operator's messages>
 * Its machines are then replaced one at a time, and only while the others keep a majority.
 * Whether a member rebuilt alone can rejoin is a property of the formulas too: the role has
 * `formulas/<role>/health`, which exits 0 only when the member serves and every member of the
 * pillar is back in its cluster (the gate between two machines of a rolling rebuild). A clustered
 * role without it cannot be rebuilt without losing data, and is refused. `formulas/<role>/leave`,
 * where there is one, makes a member leave its cluster cleanly just before its machine is replaced.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FORMULAS_DIR } from "./load";

const CLUSTER = /^#\s*kinetic-cluster:\s*(.+?)\s*$/;

export interface ClusterRole {
  role: string;
  /** What a member holds (from the `kinetic-cluster:` line). */
  holds: string;
  /** `<role>/health`, the formula that says whether the cluster is whole again; absent: no rolling rebuild. */
  health?: string;
  /** `<role>/leave`, run on a member just before its machine is replaced. */
  leave?: string;
}

/** Every clustered role, by role name. */
export function clusterRoles(dir: string = FORMULAS_DIR): Map<string, ClusterRole> {
  const found = new Map<string, ClusterRole>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === "lib") continue;
    const configure = path.join(dir, entry.name, "configure");
    if (!fs.existsSync(configure)) continue;
    const lines = fs.readFileSync(configure, "utf8").split("\n");
    const holds = lines.map((l) => CLUSTER.exec(l)?.[1]).find((h) => h !== undefined);
    if (holds === undefined) continue;
    const own = (f: string) => (fs.existsSync(path.join(dir, entry.name, f)) ? { [f]: `${entry.name}/${f}` } : {});
    found.set(entry.name, { role: entry.name, holds, ...own("health"), ...own("leave") });
  }
  return found;
}

/** Members that must stay up for a cluster of `members` to keep its quorum: a strict majority. */
export function quorum(members: number): number {
  return Math.floor(members / 2) + 1;
}
