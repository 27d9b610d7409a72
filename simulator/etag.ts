/**
 * ETags and If-Match (RFC 9110 §8.8.3, §13.1.1; DSP0266 "ETags").
 *
 * The simulator's ETag is a hash of the resource body, so it changes exactly
 * when the representation changes (PATCH, power state moving). If-Match uses
 * the STRONG comparison of RFC 9110: a weak tag `W/"x"` never matches. That is
 * what makes the HPE profile (weak tags in responses) reject its own header
 * value and accept only the strong form.
 */
import { createHash } from "node:crypto";
import type { JsonObject } from "./redfish";

/** The opaque tag (quoted, strong form) of a body; `@odata.etag` is left out of the hash. */
export function etagOf(body: JsonObject): string {
  const { "@odata.etag": _ignored, ...rest } = body;
  void _ignored;
  return `"${createHash("sha1").update(JSON.stringify(rest)).digest("hex").slice(0, 16)}"`;
}

/** How a resource's tag is written in responses: strong `"x"` or weak `W/"x"`. */
export function presentEtag(strong: string, weak: boolean): string {
  return weak ? `W/${strong}` : strong;
}

/** Split an If-Match header value into entity tags (`*`, `"x"`, `W/"x"`). */
export function parseIfMatch(header: string): string[] {
  return header.match(/\*|(?:W\/)?"[^"]*"/g) ?? [];
}

/** RFC 9110 If-Match evaluation with strong comparison against `current` (strong form). */
export function ifMatchSatisfied(header: string, current: string): boolean {
  return parseIfMatch(header).some((tag) => tag === "*" || tag === current);
}
