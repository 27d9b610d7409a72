/**
 * openbmc: OpenBMC bmcweb.
 * - System id `system`.
 * - Reset types are listed only through `@Redfish.ActionInfo`
 *   (/redfish/v1/Systems/system/ResetActionInfo), not inline: a client that
 *   only reads ResetType@Redfish.AllowableValues finds no list.
 */
import { baseProfile, extendedInfoSuccess, type Profile } from "./profile";

export const openbmc: Profile = {
  ...baseProfile,
  name: "openbmc",
  systemId: (i) => (i === 0 ? "system" : `system${i + 1}`),
  manufacturer: "OpenBMC",
  model: "Romulus",
  resetListing: "actionInfo",
  resetTypes: ["On", "ForceOff", "ForceOn", "ForceRestart", "GracefulRestart", "GracefulShutdown", "PowerCycle", "Nmi"],
  bootTargets: ["None", "Pxe", "Hdd", "Cd", "Diags", "BiosSetup", "Usb"],
  patchSuccess: () => extendedInfoSuccess(),
};
