/**
 * ami: AMI MegaRAC SP-X.
 * - System id `Self`.
 * - The session Location header is a relative path.
 * - A PATCH without If-Match answers 428 Precondition Required.
 */
import { baseProfile, type Profile } from "./profile";

export const ami: Profile = {
  ...baseProfile,
  name: "ami",
  systemId: (i) => (i === 0 ? "Self" : `Self${i + 1}`),
  manufacturer: "AMI",
  model: "MegaRAC SP-X",
  sessionLocation: "relative",
  requireIfMatch: true,
  bootTargets: ["None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup", "Diags", "UefiTarget"],
  patchSuccess: () => ({ status: 204 }),
};
