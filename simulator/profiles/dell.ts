/**
 * dell: Dell iDRAC 9 (PowerEdge).
 * - System id `System.Embedded.1`: the original Kinetic only knew ids `1` and
 *   `system` and silently skipped Dell servers during discovery.
 * - BootSourceOverrideMode is a BIOS attribute on iDRAC: a PATCH of it on the
 *   ComputerSystem answers 400; boot overrides are staged through the
 *   `@Redfish.Settings` SettingsObject (/redfish/v1/Systems/System.Embedded.1/Settings)
 *   and only take effect at the next reset (SupportedApplyTimes: OnReset).
 */
import { msg } from "../redfish";
import { baseProfile, extendedInfoSuccess, type Profile } from "./profile";

export const dell: Profile = {
  ...baseProfile,
  name: "dell",
  systemId: (i) => `System.Embedded.${i + 1}`,
  manufacturer: "Dell Inc.",
  model: "PowerEdge R650",
  bootTargets: ["None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Utilities", "UefiTarget", "SDCard", "UefiHttp"],
  settingsObject: true,
  checkSystemBootPatch: (boot) => ("BootSourceOverrideMode" in boot
    ? msg.propertyNotWritable("Boot/BootSourceOverrideMode", "PATCH the @Redfish.Settings SettingsObject; the value is applied at the next reset.")
    : undefined),
  patchSuccess: () => extendedInfoSuccess(),
  resetSuccess: "noContent",
};
