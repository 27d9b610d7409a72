/**
 * What distinguishes one vendor's Redfish service from another in the
 * simulator. Each vendor module (dell.ts, hpe.ts, ...) is a Profile built from
 * `baseProfile` with the few fields that make it differ, and a comment naming
 * the real-world symptom it reproduces.
 */
import type { Reply, RedfishMessage } from "../redfish";
import { msg } from "../redfish";
import type { BootSettings, PowerState, VendorProfile } from "../types";

/** A PATCH of ComputerSystem.Boot as received (values not yet validated). */
export type BootPatch = Partial<Record<keyof BootSettings | "UefiTargetBootSourceOverride", unknown>>;

export interface Profile {
  name: VendorProfile;
  /** Which DMTF mockup the ComputerSystem resources start from. */
  mockup: "rackmount1" | "bladed";
  /** Systems when BmcSpec.uuids is not given. */
  defaultSystemCount: number;
  systemId(index: number): string;
  manufacturer: string;
  model: string;
  /** Session `Location` header: absolute URL or path only. */
  sessionLocation: "absolute" | "relative";
  /** ETags in responses (header and @odata.etag) are weak, W/"...". */
  weakEtags: boolean;
  /** PATCH without If-Match answers 428 Precondition Required. */
  requireIfMatch: boolean;
  /** Reset types listed inline (`ResetType@Redfish.AllowableValues`) or through `@Redfish.ActionInfo`. */
  resetListing: "inline" | "actionInfo";
  resetTypes: readonly string[];
  bootTargets: readonly string[];
  /** Values of BootSourceOverrideMode; empty: the property is not shown at all. */
  bootModes: readonly string[];
  /**
   * "standard": Once/Continuous/Disabled kept as written, a Once consumed by the boot it causes.
   * "continuousOnly": the override is always Continuous, whatever is PATCHed (sushyLibvirt.ts).
   */
  bootOverride: "standard" | "continuousOnly";
  /** Boot override staged through `@Redfish.Settings` (SettingsObject), applied at the next reset. */
  settingsObject: boolean;
  /** Vendor rule on a PATCH of the ComputerSystem's Boot, checked before the generic validation. */
  checkSystemBootPatch(boot: BootPatch): RedfishMessage | undefined;
  /** Successful PATCH of a ComputerSystem (or its SettingsObject). */
  patchSuccess(resource: () => Reply): Reply;
  /** Successful Reset action; "task" answers 202 with a task monitor. */
  resetSuccess: "noContent" | "hpeError" | "task";
}

export const ALL_RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn", "PushPowerButton"] as const;

/** HPE iLO's way of saying "OK": HTTP 200 with an `error` object whose ExtendedInfo is a success message. */
export function hpeSuccess(messageId: string): Reply {
  return {
    status: 200,
    body: {
      error: {
        code: "iLO.0.10.ExtendedInfo",
        message: "See @Message.ExtendedInfo for more information.",
        "@Message.ExtendedInfo": [{ MessageId: messageId }],
      },
    },
  };
}

export function extendedInfoSuccess(): Reply {
  return { status: 200, body: { "@Message.ExtendedInfo": [msg.success()] } };
}

/** The DMTF mockup's service as-is: the reference behaviour the vendor profiles differ from. */
export const baseProfile: Profile = {
  name: "generic",
  mockup: "rackmount1",
  defaultSystemCount: 1,
  systemId: (i) => (i === 0 ? "437XR1138R2" : `437XR1138R2-${i + 1}`),
  manufacturer: "Contoso",
  model: "3500",
  sessionLocation: "relative",
  weakEtags: false,
  requireIfMatch: false,
  resetListing: "inline",
  resetTypes: ALL_RESET_TYPES,
  bootTargets: ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Utilities", "Diags", "SDCard", "UefiTarget"],
  bootModes: ["Legacy", "UEFI"],
  bootOverride: "standard",
  settingsObject: false,
  checkSystemBootPatch: () => undefined,
  // DSP0266: a successful PATCH answers 200 with the updated resource (or 204).
  patchSuccess: (resource) => resource(),
  resetSuccess: "noContent",
};

/** Power states a reset type leads to, from the state it starts in. */
export function resetOutcome(type: string, from: PowerState): { to: "On" | "Off"; boots: boolean } | undefined {
  const on = from === "On" || from === "PoweringOn";
  switch (type) {
    case "On": case "ForceOn": return on ? { to: "On", boots: false } : { to: "On", boots: true };
    case "ForceOff": case "GracefulShutdown": return { to: "Off", boots: false };
    case "ForceRestart": case "GracefulRestart": case "PowerCycle": return { to: "On", boots: true };
    case "PushPowerButton": return on ? { to: "Off", boots: false } : { to: "On", boots: true };
    case "Nmi": return undefined;
    default: return undefined;
  }
}
