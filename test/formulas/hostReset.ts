/**
 * Puts a chroot test host's files back as they were at a snapshot, without restarting it: what a
 * formula run wrote is undone, so the next run starts from the same state (a first `up`'s, with
 * its one-time steps: Ceph's mkfs, db_sync, bootstrap). Everything is done through the host's
 * merged tree (writing to an overlay's upper directory under it is undefined); a file the run
 * copied up from a lower layer, or deleted there, is written back with the lower layer's content.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebianHost } from "../support/debianHost";

type Entry =
  | { kind: "file"; content: Buffer; mode: number; uid: number; gid: number; mtimeMs: number }
  | { kind: "link"; target: string }
  | { kind: "dir"; mode: number; uid: number; gid: number }
  /** Deleted over a lower layer's file (an overlay whiteout). */
  | { kind: "gone" };

/** The host's upper layer (everything it wrote since it started), path relative to / -> entry. */
export type Snapshot = Map<string, Entry>;

/** Harness and stub directories: not the formulas' state. */
const SKIP = new Set(["/kinetic-stub", "/proc", "/run", "/tmp", "/dev"]);

function entryAt(p: string, read: boolean): Entry | "whiteout" | undefined {
  const st = fs.lstatSync(p);
  if (st.isCharacterDevice() && st.rdev === 0) return "whiteout";
  if (st.isSymbolicLink()) return { kind: "link", target: fs.readlinkSync(p) };
  if (st.isDirectory()) return { kind: "dir", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isFile()) return { kind: "file", content: read ? fs.readFileSync(p) : Buffer.alloc(0), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs };
  return undefined;
}

function walk(upper: string, visit: (rel: string, e: Entry | "whiteout") => "skip" | void): void {
  const go = (rel: string) => {
    for (const name of fs.readdirSync(path.join(upper, rel))) {
      const r = `${rel}/${name}`;
      if (SKIP.has(r)) continue;
      const e = entryAt(path.join(upper, r), false);
      if (!e) continue;
      if (visit(r, e) === "skip") continue;
      if (e !== "whiteout" && e.kind === "dir") go(r);
    }
  };
  go("");
}

export function snapshot(host: DebianHost): Snapshot {
  const snap: Snapshot = new Map();
  walk(host.upper, (rel, e) => {
    snap.set(rel, e === "whiteout" ? { kind: "gone" } : e.kind === "file" ? (entryAt(path.join(host.upper, rel), true) as Entry) : e);
  });
  return snap;
}

/** The entry a lower layer holds at `rel` (the first layer that has it), read in full. */
function lowerEntry(lowerdirs: string[], rel: string): Entry | undefined {
  for (const d of lowerdirs) {
    const p = path.join(d, rel);
    let e: ReturnType<typeof entryAt>;
    try {
      e = entryAt(p, true);
    } catch {
      continue;
    }
    if (e === "whiteout") return undefined;
    if (e) return e;
  }
  return undefined;
}

function put(p: string, e: Entry): void {
  if (e.kind === "gone") {
    fs.rmSync(p, { recursive: true, force: true });
    return;
  }
  if (e.kind === "dir") {
    if (!fs.existsSync(p)) fs.mkdirSync(p);
    fs.chownSync(p, e.uid, e.gid);
    fs.chmodSync(p, e.mode);
    return;
  }
  fs.rmSync(p, { recursive: true, force: true });
  if (e.kind === "link") {
    fs.symlinkSync(e.target, p);
    return;
  }
  fs.writeFileSync(p, e.content);
  fs.chownSync(p, e.uid, e.gid);
  fs.chmodSync(p, e.mode);
  fs.utimesSync(p, new Date(), new Date(e.mtimeMs));
}

const same = (a: Entry, b: Entry): boolean =>
  a.kind === b.kind &&
  (a.kind === "gone" ? true : a.kind === "link" ? a.target === (b as typeof a).target : a.kind === "dir" ? a.mode === (b as typeof a).mode && a.uid === (b as typeof a).uid && a.gid === (b as typeof a).gid : a.mtimeMs === (b as typeof a).mtimeMs && a.mode === (b as typeof a).mode && a.uid === (b as typeof a).uid && a.gid === (b as typeof a).gid && a.content.length === (b as typeof a).content.length);

/**
 * Makes the host's files what they were at `snap`. `lowerdirs`: the host's lower layers, first
 * one first (for files a run changed or deleted that the snapshot did not hold: the lower one is
 * what the host had).
 */
export function resetTo(host: DebianHost, snap: Snapshot, lowerdirs: string[]): void {
  const seen = new Set<string>();
  walk(host.upper, (rel, now) => {
    seen.add(rel);
    const merged = host.path(rel);
    const was = snap.get(rel) ?? lowerEntry(lowerdirs, rel);
    if (now === "whiteout") {
      if (was && was.kind !== "gone") put(merged, was);
      return "skip";
    }
    if (was?.kind === "gone") {
      put(merged, was);
      return "skip";
    }
    if (!was) {
      fs.rmSync(merged, { recursive: true, force: true });
      return "skip";
    }
    if (now.kind !== was.kind) {
      put(merged, was);
      return "skip";
    }
    // Same kind: a file is compared by size and time (a written one has a new time), then put back whole.
    if (!same(now, was)) put(merged, was);
    return undefined;
  });
  // What the run deleted that was in the snapshot.
  for (const [rel, e] of [...snap].sort(([a], [b]) => a.length - b.length)) {
    if (!seen.has(rel)) put(host.path(rel), e);
  }
}
