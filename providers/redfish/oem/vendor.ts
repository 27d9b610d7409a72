/**
 * Which BMC family a service belongs to, from the service root (`Vendor`, Redfish 2018.2+, else the
 * `Oem` keys older firmware carries). Quirk decisions read this, and each quirk names its vendor and
 * symptom where it is applied.
 */
import type { RedfishResource } from "../client";

export const VENDORS = ["dell", "hpe", "supermicro", "lenovo", "openbmc", "ami", "unknown"] as const;
export type Vendor = (typeof VENDORS)[number];

const PATTERNS: [Vendor, RegExp][] = [
  ["dell", /dell/i],
  ["hpe", /\bhpe?\b|hewlett/i],
  ["supermicro", /supermicro/i],
  ["lenovo", /lenovo/i],
  ["openbmc", /openbmc/i],
  ["ami", /\bami\b|american megatrends/i],
];

/** The vendor from the service root, else from the system's `Manufacturer` (pre-2018 firmware has no `Vendor`). */
export function vendorOf(root: RedfishResource, system?: RedfishResource): Vendor {
  const hints = [root.Vendor, root.Product, ...Object.keys((root.Oem as Record<string, unknown>) ?? {}), system?.Manufacturer].filter(
    (h): h is string => typeof h === "string",
  );
  for (const [vendor, re] of PATTERNS) if (hints.some((h) => re.test(h))) return vendor;
  return "unknown";
}

/** The vendor and product as a BMC describes itself, for discovery output. */
export function describeService(root: RedfishResource): { vendor: string; product: string } {
  const s = (v: unknown): string => (typeof v === "string" ? v : "");
  const oemKeys = Object.keys((root.Oem as Record<string, unknown>) ?? {});
  return { vendor: s(root.Vendor) || oemKeys[0] || "", product: s(root.Product) };
}
