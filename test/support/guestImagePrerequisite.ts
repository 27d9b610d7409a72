/**
 * The guest image (image/guestImage.ts) built offline from the cached .debs, for the tests that
 * boot it or upload it: where it cannot be built, the test is skipped, or fails under CI=true
 * (test/support/prerequisite.ts).
 */
import type { Context } from "mocha";
import { buildGuestImage, GuestImage } from "../../image/guestImage";
import { requirePrerequisite } from "./prerequisite";

export function requireGuestImage(ctx: Context): GuestImage {
  try {
    return buildGuestImage({ offline: true });
  } catch (e) {
    requirePrerequisite(ctx, (e as Error).message, "the guest image (npm run kinetic -- image build)");
    throw e;
  }
}
