/** IPv4 arithmetic for subnets and address allocation. IPv6 management networks are not supported yet. */

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
  const m = OCTETS.exec(text);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x, i) => x > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith("0")))) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefixLength: number;
  text: string;
}

/** Parse `a.b.c.d/len`; host bits must be zero (a typo otherwise). */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const ip = parseIpv4(m[1]);
  const len = Number(m[2]);
  if (ip === undefined || len > 32) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if ((ip & mask) >>> 0 !== ip) return undefined;
  return { network: ip, prefixLength: len, text };
}

/** `a.b.c.d/len` with a host address (an interface address, not a network). */
export function parseInterfaceAddress(text: string): { address: number; prefixLength: number } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const ip = m ? parseIpv4(m[1]) : undefined;
  if (!m || ip === undefined || Number(m[2]) > 32) return undefined;
  return { address: ip, prefixLength: Number(m[2]) };
}

export function contains(cidr: Cidr, ip: number): boolean {
  const size = 2 ** (32 - cidr.prefixLength);
  return ip >= cidr.network && ip < cidr.network + size;
}

/** Usable host addresses (no network or broadcast address for prefixes shorter than /31). */
export function hostRange(cidr: Cidr): { first: number; last: number } {
  const size = 2 ** (32 - cidr.prefixLength);
  if (cidr.prefixLength >= 31) return { first: cidr.network, last: cidr.network + size - 1 };
  return { first: cidr.network + 1, last: cidr.network + size - 2 };
}
