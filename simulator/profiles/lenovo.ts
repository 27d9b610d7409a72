/**
 * lenovo: Lenovo XClarity Controller (XCC).
 * - The Reset action answers 202 Accepted with
 *   `Location: /redfish/v1/TaskService/TaskMonitors/N`; the monitor answers 202
 *   a couple of times, then 200 with the completed Task. A client that takes
 *   the 202 as "done" races the power change.
 */
import { baseProfile, extendedInfoSuccess, type Profile } from "./profile";

export const lenovo: Profile = {
  ...baseProfile,
  name: "lenovo",
  systemId: (i) => String(i + 1),
  manufacturer: "Lenovo",
  model: "ThinkSystem SR650",
  bootTargets: ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Diags", "UefiTarget"],
  patchSuccess: () => extendedInfoSuccess(),
  resetSuccess: "task",
};
