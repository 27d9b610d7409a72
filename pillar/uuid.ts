/** Name-based UUIDs (RFC 9562 version 5) so the same pillar gives the same virtual endpoints on every run. */
import { createHash } from "node:crypto";

/** Kinetic's namespace for derived endpoint UUIDs. Never change it: every virtual endpoint would be renamed. */
export const KINETIC_NAMESPACE = "0b7f4c9e-5a3d-4d52-9a57-6b2f1d0e8c41";

export function uuidv5(name: string, namespace = KINETIC_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(ns).update(name, "utf8").digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC variant
  const h = hash.subarray(0, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The UUID of endpoint `index` of a virtual (or foundation) type in a stack. */
export function endpointUuid(stack: string, type: string, index: number): string {
  return uuidv5(`${stack}/${type}/${index}`);
}
