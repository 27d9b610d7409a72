/**
 * Deterministic MAC addresses for the NICs of virtual endpoints.
 *
 * The original let libvirt pick a random MAC under QEMU's OUI `52:54:00`, so a rebuilt endpoint came
 * back with different addresses and DHCP leases and switch tables went stale. Here the MAC is a hash
 * of (stack, endpoint name, network): the same endpoint always gets the same MAC, on every run and
 * every controller.
 *
 * The first octet has the IEEE "locally administered" bit (0x02) set and the "multicast" bit (0x01)
 * clear, i.e. its low nibble is 2, 6, A or E. Addresses of that form are never assigned to a vendor,
 * so they cannot clash with a physical NIC (IEEE 802-2014 section 8.4; `52:54:00` is QEMU's assigned,
 * universally administered OUI and therefore NOT a safe choice for addresses we invent).
 */
import { createHash } from "node:crypto";
import { MacCollisionError } from "./errors";

/** The MAC of one NIC: lower case, colon separated, locally administered unicast. */
export function deriveMac(stack: string, endpoint: string, network: string): string {
  // NUL separators: no (stack, endpoint, network) triple can be spelled as another one.
  const digest = createHash("sha256").update(`kinetic-mac\0${stack}\0${endpoint}\0${network}`).digest();
  const octets = [...digest.subarray(0, 6)];
  octets[0] = (octets[0] & 0xfc) | 0x02; // unicast (bit 0 clear), locally administered (bit 1 set)
  return octets.map((o) => o.toString(16).padStart(2, "0")).join(":");
}

/** A locally administered unicast MAC written as six lower-case colon-separated octets. */
export function isLocalUnicastMac(mac: string): boolean {
  return /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/.test(mac);
}

/** One NIC's MAC as assigned to an endpoint. */
export interface MacAssignment {
  endpoint: string;
  network: string;
  mac: string;
}

/**
 * Throws {@link MacCollisionError} naming both NICs when two share a MAC. With 46 random bits a
 * collision in a stack of a few hundred NICs is about one in 10^9, but a duplicate MAC on a bridge
 * silently black-holes traffic, so it is checked rather than assumed.
 */
export function assertUniqueMacs(list: readonly MacAssignment[]): void {
  const seen = new Map<string, MacAssignment>();
  for (const item of list) {
    const mac = item.mac.toLowerCase();
    const earlier = seen.get(mac);
    if (earlier) {
      throw new MacCollisionError(mac, { endpoint: earlier.endpoint, network: earlier.network }, {
        endpoint: item.endpoint,
        network: item.network,
      });
    }
    seen.set(mac, item);
  }
}
