/**
 * Puts the guest image (guestImage.ts) into a cloud's glance the way an operator's image gets
 * there: keystone password authentication with the operator's `OS_*` settings, glance's endpoint
 * from the token's catalog, then the image API v2 (create, upload the data, wait for `active`).
 *
 * Three images, the classic kernel/ramdisk form nova's libvirt driver boots directly:
 * `<name>-kernel` (aki), `<name>-ramdisk` (ari) and `<name>` (raw, the small root disk) with
 * kernel_id and ramdisk_id. The name carries the image's content key (`kinetic-guest-<key>`), and
 * each image the property `kinetic_image_key`: a second upload of the same build finds them and
 * uploads nothing; a new build is a new name, and nothing already there is changed or deleted.
 */
import * as fs from "node:fs";
import { GuestImage } from "./guestImage";
import { call, expectOk, openstackSession, OpenStackAuth } from "./openstackSession";

export { authFromEnv, OpenStackAuth } from "./openstackSession";

interface GlanceImage {
  id: string;
  name: string;
  status: string;
  disk_format?: string;
  kinetic_image_key?: string;
}

/** A project-scoped token and glance's URL from its catalog. */
async function glanceSession(auth: OpenStackAuth): Promise<{ token: string; glance: string }> {
  const session = await openstackSession(auth);
  return { token: session.token, glance: session.endpoint("image", "is glance deployed?") };
}

async function findImage(glance: string, token: string, name: string): Promise<GlanceImage | undefined> {
  const r = await expectOk(await call("GET", `${glance}/v2/images?name=${encodeURIComponent(name)}`, token), `glance: images named ${name}`);
  return ((await r.json()) as { images: GlanceImage[] }).images[0];
}

async function waitActive(glance: string, token: string, id: string, timeoutMs = 5 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status = "";
  while (Date.now() < deadline) {
    const r = await expectOk(await call("GET", `${glance}/v2/images/${id}`, token), `glance: image ${id}`);
    status = ((await r.json()) as GlanceImage).status;
    if (status === "active") return;
    if (status === "killed" || status === "deleted") throw new Error(`glance: image ${id} is ${status}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(`glance: image ${id} not active after ${timeoutMs / 1000} s (status ${status})`);
}

/** One image: found by name and key, or created, its data uploaded, and waited for. */
async function ensureImage(glance: string, token: string, name: string, key: string, file: string, fields: Record<string, string>, log: (m: string) => void): Promise<string> {
  const found = await findImage(glance, token, name);
  if (found) {
    if (found.kinetic_image_key !== key) throw new Error(`glance: an image named ${name} exists without kinetic_image_key=${key} (${found.id}); not touching it`);
    // An earlier upload in another format (the root disk was ami until nova refused it): said, not replaced.
    if (fields.disk_format && found.disk_format !== fields.disk_format) {
      throw new Error(`glance: ${name} (${found.id}) is disk_format ${found.disk_format}, not ${fields.disk_format}: delete it (openstack image delete ${found.id}) and upload again`);
    }
    if (found.status !== "active") await waitActive(glance, token, found.id);
    log(`${name}: already in glance (${found.id})`);
    return found.id;
  }
  const made = (await (await expectOk(await call("POST", `${glance}/v2/images`, token, { name, visibility: "public", kinetic_image_key: key, ...fields }), `glance: create ${name}`)).json()) as GlanceImage;
  await expectOk(await call("PUT", `${glance}/v2/images/${made.id}/file`, token, fs.readFileSync(file), "application/octet-stream"), `glance: upload ${name}`);
  await waitActive(glance, token, made.id);
  log(`${name}: uploaded (${made.id}, ${fs.statSync(file).size} bytes)`);
  return made.id;
}

export interface UploadedGuest {
  name: string;
  /** The image to boot (raw, with kernel_id/ramdisk_id) and its kernel and ramdisk. */
  imageId: string;
  kernelId: string;
  ramdiskId: string;
  /** With `alt`: a second image of the same guest (`<name>-alt`), for what needs two images (Tempest's image_ref_alt). */
  altImageId?: string;
}

export async function uploadGuestImage(image: GuestImage, auth: OpenStackAuth, log: (m: string) => void = () => undefined, opts: { alt?: boolean } = {}): Promise<UploadedGuest> {
  const { token, glance } = await glanceSession(auth);
  const name = `kinetic-guest-${image.key}`;
  const kernelId = await ensureImage(glance, token, `${name}-kernel`, image.key, image.kernel, { disk_format: "aki", container_format: "aki" }, log);
  const ramdiskId = await ensureImage(glance, token, `${name}-ramdisk`, image.key, image.ramdisk, { disk_format: "ari", container_format: "ari" }, log);
  // The root disk as what it is, raw (bare): nova inspects an image's content against its disk_format
  // and refuses an `ami` whose bytes are raw ("Image content does not match disk_format", the full
  // cloud's Tempest). kernel_id and ramdisk_id still make nova's libvirt driver boot them directly.
  const disk = { disk_format: "raw", container_format: "bare", kernel_id: kernelId, ramdisk_id: ramdiskId };
  const imageId = await ensureImage(glance, token, name, image.key, image.disk, disk, log);
  const altImageId = opts.alt ? await ensureImage(glance, token, `${name}-alt`, image.key, image.disk, disk, log) : undefined;
  return { name, imageId, kernelId, ramdiskId, ...(altImageId ? { altImageId } : {}) };
}
