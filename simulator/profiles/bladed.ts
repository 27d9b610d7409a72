/**
 * bladed: the DMTF public-bladed mockup, one manager for several blades: the
 * Systems collection has 4 members (529QB9450R6 ... 529QB9453R6) by default,
 * or one per BmcSpec.uuids entry. Discovery that reads only the first member
 * misses the other blades.
 */
import { baseProfile, type Profile } from "./profile";

export const bladed: Profile = {
  ...baseProfile,
  name: "bladed",
  mockup: "bladed",
  defaultSystemCount: 4,
  systemId: (i) => `529QB94${50 + i}R6`,
  model: "SX1000",
  bootTargets: ["None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup"],
  // The mockup blades show no BootSourceOverrideMode; the simulator adds it so
  // that this profile differs from generic only by having several systems.
};
