/**
 * `kinetic image upload` (image/glance.ts) against a real glance: in a Debian test host, MariaDB
 * and keystone (openstackSuite), glance installed and configured by its formulas and its API served
 * by uwsgi on loopback. The guest image (built offline from the cached .debs) goes in through
 * keystone's catalog and the image API v2 with the admin's openrc values, as an operator's image
 * would: three active images whose data is the files' bytes, the ami pointing at its kernel and
 * ramdisk. A second upload finds them and changes nothing; an image of that name glance already
 * holds without the content key is refused, not replaced.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { authFromEnv, OpenStackAuth, uploadGuestImage } from "../../image/glance";
import { buildGuestImage, GuestImage } from "../../image/guestImage";
import { requirePrerequisite } from "../support/prerequisite";
import { runOk, waitForPort } from "./hostSuite";
import { adminToken, http, infra, logOf, osValues, startWsgi, withOpenStackHost } from "./openstackSuite";

const GLANCE = "127.0.17.11";

describe("kinetic image upload: the guest image into a real glance through keystone's catalog and the image API", function () {
  this.timeout(30 * 60_000);
  const { host } = withOpenStackHost("127.0.17", ["glance"]);
  const { KEYSTONE } = infra(GLANCE);
  let image: GuestImage;
  let auth: OpenStackAuth;

  before(async function () {
    let why: string | undefined;
    try {
      image = buildGuestImage({ offline: true });
    } catch (e) {
      why = (e as Error).message;
    }
    requirePrerequisite(this, why, "the guest image (npm run kinetic -- image build)");
    const h = host();
    await runOk(h, "glance/install", { NAME: "glance-1" });
    await runOk(h, "glance/configure", osValues("glance", GLANCE));
    startWsgi(h, "glance-api", "/usr/bin/glance-wsgi-api", "glance", GLANCE, 9292);
    await waitForPort(GLANCE, 9292, 120_000);
    // The admin's openrc, as `kinetic openrc` prints it (the password is the stack's secret).
    auth = authFromEnv({
      OS_AUTH_URL: `http://${KEYSTONE}:5000/v3`,
      OS_USERNAME: "admin",
      OS_PASSWORD: osValues("x", "127.0.0.1").SECRET_KEYSTONE_ADMIN,
      OS_PROJECT_NAME: "admin",
      OS_USER_DOMAIN_NAME: "Default",
      OS_PROJECT_DOMAIN_NAME: "Default",
      OS_REGION_NAME: "RegionOne",
    });
  });

  const getImage = async (id: string) => {
    const r = await http(`http://${GLANCE}:9292/v2/images/${id}`, { headers: { "X-Auth-Token": await adminToken(KEYSTONE) } });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as Record<string, string | number>;
  };
  const download = async (id: string) => {
    const r = await fetch(`http://${GLANCE}:9292/v2/images/${id}/file`, { headers: { "X-Auth-Token": await adminToken(KEYSTONE) } });
    assert.equal(r.status, 200);
    return Buffer.from(await r.arrayBuffer());
  };
  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

  it("uploads kernel (aki), ramdisk (ari) and root disk (raw, kernel_id/ramdisk_id): active, public, the files' bytes", async () => {
    const logs: string[] = [];
    const up = await uploadGuestImage(image, auth, (m) => logs.push(m)).catch((e: Error) => assert.fail(`${e.message}\n--- glance-api log\n${logOf(host(), "glance-api")}`));
    assert.equal(up.name, `kinetic-guest-${image.key}`);
    assert.equal(logs.filter((l) => / uploaded \(/.test(l)).length, 3, logs.join("\n"));
    const ami = await getImage(up.imageId);
    const aki = await getImage(up.kernelId);
    const ari = await getImage(up.ramdiskId);
    assert.deepEqual([ami.status, aki.status, ari.status], ["active", "active", "active"]);
    assert.deepEqual([ami.disk_format, aki.disk_format, ari.disk_format], ["raw", "aki", "ari"]);
    assert.equal(ami.kernel_id, up.kernelId);
    assert.equal(ami.ramdisk_id, up.ramdiskId);
    assert.equal(ami.visibility, "public");
    assert.equal(ami.kinetic_image_key, image.key);
    assert.equal(sha256(await download(up.kernelId)), image.sha256.kernel);
    assert.equal(sha256(await download(up.ramdiskId)), image.sha256.ramdisk);
    assert.equal(aki.size, fs.statSync(image.kernel).size);
  });

  it("a second upload finds the same images and uploads nothing; a same-named image without the key is refused, not replaced", async () => {
    const logs: string[] = [];
    const first = await uploadGuestImage(image, auth);
    const again = await uploadGuestImage(image, auth, (m) => logs.push(m));
    assert.deepEqual(again, first);
    assert.equal(logs.filter((l) => /already in glance/.test(l)).length, 3, logs.join("\n"));
    // Someone else's image under the name a different build would take.
    const other = { ...image, key: "0000000000000000" };
    const token = await adminToken(KEYSTONE);
    const made = await http(`http://${GLANCE}:9292/v2/images`, { method: "POST", headers: { "X-Auth-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ name: "kinetic-guest-0000000000000000-kernel", disk_format: "aki", container_format: "aki" }) });
    assert.equal(made.status, 201, made.body);
    await assert.rejects(uploadGuestImage(other, auth), /an image named kinetic-guest-0000000000000000-kernel exists without kinetic_image_key=0000000000000000 .*not touching it/);
    const still = await getImage(JSON.parse(made.body).id);
    assert.equal(still.status, "queued", "the foreign image was left as it was");
  });

  it("missing credentials and a wrong password are one clear line each", async () => {
    assert.throws(() => authFromEnv({ OS_AUTH_URL: "http://x:5000/v3" }), /^Error: OS_USERNAME is not set: source the cloud's openrc/);
    await assert.rejects(uploadGuestImage(image, { ...auth, password: "wrong" }), /keystone at http:\/\/127\.0\.17\.5:5000\/v3 refused the credentials of admin \(project admin\)/);
  });
});
