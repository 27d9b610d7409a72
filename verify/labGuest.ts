/**
 * What Tempest needs on a cloud with no route to the Internet, as the lab's clouds are: python-
 * tempestconf would download CirrOS for the compute tests, so the guest image built here from
 * Debian's packages (image/guestImage.ts) goes into glance instead, as `kinetic image upload` puts
 * it (a second run finds it there); that image's busybox has no SSH server, so Tempest's SSH
 * validation of guests is off. An operator's own image or setting wins over each. `kinetic verify`
 * on a lab stack and the whole-cloud test and bench take their options from here.
 */
import { uploadGuestImage } from "../image/glance";
import { buildGuestImage } from "../image/guestImage";
import { authFromEnv } from "../image/openstackSession";
import { AdminCredentials, osEnvironment } from "./adminCredentials";

export interface GuestOptions {
  image?: string;
  settings?: Record<string, string>;
}

export async function labGuestOptions(credentials: AdminCredentials, given: GuestOptions, log: (m: string) => void): Promise<{ image: string; settings: Record<string, string> }> {
  const settings = { ...given.settings };
  if (given.image) return { image: given.image, settings };
  log("the lab has no route out: Tempest's guest is the image built here (kinetic image upload)");
  const up = await uploadGuestImage(buildGuestImage({ offline: true, log }), authFromEnv(osEnvironment(credentials)), log, { alt: true });
  const image = up.name;
  // Tempest's second image (rebuild, list by image): without one, python-tempestconf uploads a copy
  // of the first as qcow2, and nova refuses its raw bytes ("Image not in a supported format": the
  // interop list's rebuild and list-by-image tests failed so). The same guest, a distinct image.
  if (!("compute.image_ref_alt" in settings) && up.altImageId) settings["compute.image_ref_alt"] = up.altImageId;
  if (!("validation.run_validation" in settings)) {
    log("validation.run_validation = false: the lab's guest image has no SSH server (--set validation.run_validation=true keeps it on)");
    settings["validation.run_validation"] = "false";
  }
  return { image, settings };
}
