/**
 * supermicro: Supermicro X11/X12 BMC.
 * - A PATCH of BootSourceOverrideTarget without BootSourceOverrideMode answers
 *   400 (PropertyMissing): these BMCs need the mode in the same request.
 */
import { msg } from "../redfish";
import { baseProfile, extendedInfoSuccess, type Profile } from "./profile";

export const supermicro: Profile = {
  ...baseProfile,
  name: "supermicro",
  systemId: (i) => String(i + 1),
  manufacturer: "Supermicro",
  model: "SYS-1029U-TRT",
  resetTypes: ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn"],
  bootTargets: ["None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup", "UsbCd", "UefiBootNext", "UefiHttp"],
  checkSystemBootPatch: (boot) => ("BootSourceOverrideTarget" in boot && !("BootSourceOverrideMode" in boot)
    ? msg.propertyMissing("Boot/BootSourceOverrideMode")
    : undefined),
  patchSuccess: () => extendedInfoSuccess(),
};
