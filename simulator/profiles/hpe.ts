/**
 * hpe: HPE iLO 5 (ProLiant Gen10).
 * - A successful PATCH or action answers 200 with an `error` object whose
 *   @Message.ExtendedInfo is a success message (iLO.2.14.SystemResetRequired,
 *   Base.1.x.Success): a client that treats any `error` as failure fails here.
 * - BootSourceOverrideMode is read-only (it follows the BIOS BootMode): 400 if patched.
 * - ETags are weak (W/"...") in the header and @odata.etag, yet If-Match
 *   compares strongly, so echoing the header gives 412 and only the strong
 *   form "..." works (the weak -> strong retry of sushy's _etag_handler).
 * - The session Location header is an absolute URL.
 */
import { msg } from "../redfish";
import { baseProfile, hpeSuccess, type Profile } from "./profile";

export const hpe: Profile = {
  ...baseProfile,
  name: "hpe",
  systemId: (i) => String(i + 1),
  manufacturer: "HPE",
  model: "ProLiant DL360 Gen10",
  sessionLocation: "absolute",
  weakEtags: true,
  resetTypes: ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "Nmi", "PushPowerButton", "GracefulRestart"],
  bootTargets: ["None", "Cd", "Hdd", "Usb", "SDCard", "Utilities", "Diags", "BiosSetup", "Pxe", "UefiShell", "UefiHttp", "UefiTarget"],
  checkSystemBootPatch: (boot) => ("BootSourceOverrideMode" in boot
    ? msg.propertyNotWritable("Boot/BootSourceOverrideMode", "Change the BIOS BootMode attribute instead.")
    : undefined),
  patchSuccess: () => hpeSuccess("iLO.2.14.SystemResetRequired"),
  resetSuccess: "hpeError",
};
