/**
 * Management address allocation. Addresses must not move when counts change or types come and go
 * (a moved address is a re-provisioned machine), and a pure function of today's pillar cannot
 * promise that: whoever sorts first wins a contested slot. So allocation is first-fit and the
 * result is recorded in `addresses.lock.yaml` beside the pillar (`npm run plan -- --lock` writes
 * it; commit it like a package lock). Locked addresses never move; new endpoints take the first
 * free address; entries of endpoints that are gone are dropped from the next lock.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { Cidr, formatIpv4, hostRange, parseIpv4 } from "./net";

export const LOCK_FILE = "addresses.lock.yaml";

/** The first host addresses of the management subnet are left for routers, VIPs and such (at most a quarter of it). */
export const RESERVED_HEAD = 9;

/** One endpoint asking for an address: `key` is stable identity (physical: type/uuid; others: type/index). */
export interface AddressRequest {
  key: string;
  /** Pinned by the pillar (foundation hosts, or `addresses` of a type). */
  pinned?: string;
}

export interface Allocation {
  addresses: Map<string, string>;
  /** Problems, e.g. exhausted subnet or two endpoints pinning the same address. */
  problems: string[];
  /** The lock content after this allocation (only current endpoints). */
  lock: Record<string, string>;
}

/**
 * The lock's entries, without checks (validation reads it with every check and its positions:
 * `validatePillarDir`). Never throws: an unreadable or broken lock reads as empty here.
 */
export function readLock(dir: string): Record<string, string> {
  const file = path.join(dir, LOCK_FILE);
  let data: unknown;
  try {
    data = parse(fs.readFileSync(file, "utf8"), { maxAliasCount: 0 });
  } catch {
    return {};
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) return {};
  // fromEntries defines own properties: a key `__proto__` stays a key.
  return Object.fromEntries(Object.entries(data as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
}

export function writeLock(dir: string, lock: Record<string, string>): string {
  const file = path.join(dir, LOCK_FILE);
  const sorted = Object.fromEntries(Object.entries(lock).sort(([a], [b]) => a.localeCompare(b)));
  fs.writeFileSync(file, `# Management addresses by endpoint; written by \`npm run plan -- --lock\`. Commit it.\n${stringify(sorted)}`);
  return file;
}

export function allocate(subnet: Cidr, requests: AddressRequest[], lock: Record<string, string>, reserved: string[] = []): Allocation {
  const { first, last } = hostRange(subnet);
  const taken = new Map<number, string>();
  for (const r of reserved) {
    const ip = parseIpv4(r);
    if (ip !== undefined) taken.set(ip, "(reserved)");
  }
  const addresses = new Map<string, string>();
  const problems: string[] = [];
  const claim = (key: string, ip: number): boolean => {
    const holder = taken.get(ip);
    if (holder !== undefined) return false;
    taken.set(ip, key);
    addresses.set(key, formatIpv4(ip));
    return true;
  };
  for (const r of requests) {
    if (!r.pinned) continue;
    const ip = parseIpv4(r.pinned)!;
    if (!claim(r.key, ip)) problems.push(`${r.key}: pinned address ${r.pinned} is also used by ${taken.get(ip)}`);
  }
  for (const r of requests) {
    if (addresses.has(r.key) || r.pinned) continue;
    const locked = lock[r.key] !== undefined ? parseIpv4(lock[r.key]) : undefined;
    if (locked !== undefined && locked >= first && locked <= last) claim(r.key, locked);
  }
  // A small subnet keeps at most a quarter of its addresses in reserve.
  const start = first + Math.min(RESERVED_HEAD, Math.floor((last - first + 1) / 4));
  const pool = last - start + 1;
  for (const r of requests) {
    if (addresses.has(r.key) || r.pinned) continue;
    const preferred = createHash("sha256").update(r.key).digest().readUInt32BE(0) % pool;
    let found = false;
    for (let i = 0; i < pool && !found; i++) found = claim(r.key, start + ((preferred + i) % pool));
    if (!found) problems.push(`${r.key}: the management subnet ${subnet.text} has no free address left`);
  }
  return { addresses, problems, lock: Object.fromEntries(addresses) };
}
