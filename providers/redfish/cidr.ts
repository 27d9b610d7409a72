/** IPv4 CIDR expansion for discovery scans. */
import { RedfishError, REDFISH_ERROR_CODES } from "./errors";

function toInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new RedfishError(REDFISH_ERROR_CODES.usage, `"${ip}" is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** The largest range one scan accepts (a /16); beyond that a typo is more likely than a plan. */
export const MAX_SCAN_ADDRESSES = 65536;

/**
 * Host addresses of `a.b.c.d/len` (or a single address): network and broadcast addresses are left
 * out except for /31 and /32 (RFC 3021).
 */
export function expandCidr(cidr: string): string[] {
  const [ip, lenText] = cidr.trim().split("/");
  const len = lenText === undefined ? 32 : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new RedfishError(REDFISH_ERROR_CODES.usage, `"${cidr}" has no valid prefix length`);
  const size = 2 ** (32 - len);
  if (size > MAX_SCAN_ADDRESSES) throw new RedfishError(REDFISH_ERROR_CODES.usage, `"${cidr}" has ${size} addresses; scan at most a /16 at a time`);
  const base = Math.floor(toInt(ip) / size) * size;
  const out: string[] = [];
  const first = len >= 31 ? 0 : 1;
  const last = len >= 31 ? size - 1 : size - 2;
  for (let i = first; i <= last; i++) out.push(toIp(base + i));
  return out;
}

/** Every host address of several ranges, each once, in order. */
export function expandCidrs(cidrs: readonly string[]): string[] {
  return [...new Set(cidrs.flatMap(expandCidr))];
}
