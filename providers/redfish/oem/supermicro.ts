/**
 * Supermicro X11/X12 BMCs reject a PATCH of `BootSourceOverrideTarget` that does not also carry
 * `BootSourceOverrideMode` (400, `PropertyMissing`), even when the mode does not change. We then send
 * the current mode back unchanged, so the pillar still only changes the mode when it asks to.
 */
import type { Vendor } from "./vendor";

export function modeRequiredWithTarget(vendor: Vendor): boolean {
  return vendor === "supermicro";
}
