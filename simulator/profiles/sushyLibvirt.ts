/**
 * sushyLibvirt: sushy-tools' libvirt driver, the virtual BMC of most OpenStack labs (Ironic's
 * devstack and Bifrost CI, TripleO's quickstart).
 * - It maps the override onto the libvirt domain's boot order, which has no "once": `Boot` always
 *   reports `BootSourceOverrideEnabled: "Continuous"`, a PATCH of `Enabled` (`Once`, `Disabled`) is
 *   answered 204 and ignored, and `Enabled` lists no allowable values. A client that writes Once and
 *   reads it back sees "Continuous"; left so, every later boot of the domain boots PXE again.
 * - There is no "None" target: the domain boots some device; "Hdd" is the disk (its default).
 * - It has no sessions table worth the name and no ETags; Basic is what clients use.
 */
import { baseProfile, type Profile } from "./profile";

export const sushyLibvirt: Profile = {
  ...baseProfile,
  name: "sushyLibvirt",
  systemId: (i) => `vbmc-node-${i + 1}`,
  manufacturer: "Sushy Emulator",
  model: "libvirt domain",
  bootTargets: ["Pxe", "Cd", "Hdd"],
  bootModes: ["Legacy", "UEFI"],
  bootOverride: "continuousOnly",
  patchSuccess: () => ({ status: 204 }),
};
