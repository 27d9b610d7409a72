/**
 * `kinetic image build|upload`: the guest image that proves a cloud's compute (image/).
 */
import { authFromEnv, uploadGuestImage } from "../image/glance";
import { buildGuestImage, imageCacheDir } from "../image/guestImage";

export const IMAGE_USAGE = `kinetic image build [--offline]   build the guest image from Debian packages (kernel + busybox initramfs)
                                  into the content-keyed cache (${imageCacheDir()}); prints its key and files
kinetic image upload              build (or take from the cache) and put it into glance with the
                                  OS_* credentials (openrc): kinetic-guest-<key> (ami) + -kernel (aki) + -ramdisk (ari)`;

export async function imageCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const unknown = rest.filter((a) => a !== "--offline");
  if ((sub !== "build" && sub !== "upload") || unknown.length) {
    process.stderr.write(`${sub && sub !== "help" ? `unknown arguments: ${[sub, ...unknown].join(" ")}\n` : ""}usage:\n${IMAGE_USAGE}\n`);
    return sub === "help" ? 0 : 64;
  }
  const log = (m: string) => process.stderr.write(`image: ${m}\n`);
  // The credentials are read before any build, so a missing one costs nothing.
  const auth = sub === "upload" ? authFromEnv() : undefined;
  const started = Date.now();
  const image = buildGuestImage({ offline: rest.includes("--offline"), log });
  process.stdout.write(`guest image ${image.key} (${image.cached ? "cached" : `built in ${((Date.now() - started) / 1000).toFixed(1)} s`}): Linux ${image.kernelRelease}, ${image.packages.map((p) => `${p.name} ${p.version}`).join(", ")}\n`);
  process.stdout.write(`  kernel  ${image.kernel}\n  ramdisk ${image.ramdisk}\n  disk    ${image.disk}\n`);
  if (auth) {
    const up = await uploadGuestImage(image, auth, log);
    process.stdout.write(`glance: ${up.name} ${up.imageId} (kernel ${up.kernelId}, ramdisk ${up.ramdiskId})\n`);
  }
  return 0;
}
