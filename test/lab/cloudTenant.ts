/**
 * A tenant of the lab's cloud, for the whole-cloud test (cloud.test.ts): a project and a user of
 * its own (member role), and in that project what a tenant makes: an image with its data, a network
 * and subnet, a volume attached to a server booted from the guest image, and an object in a
 * container. `make` creates them and writes a record (ids, the data's digests, the tenant's token
 * of that moment); `check` reads each back through a fresh login and lists what is missing or
 * changed. Run inside the lab's network (the only place its addresses exist):
 * `node -r ts-node/register/transpile-only test/lab/cloudTenant.ts make|check JOB.json`.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { call, expectOk, openstackSession, OpenStackAuth, OpenStackSession } from "../../image/openstackSession";

export const TENANT = { project: "kinetic-tenant", user: "kinetic-tenant-user", flavor: "kinetic.tenant" };

export interface TenantJob {
  admin: OpenStackAuth;
  /** The tenant user's password: written by the test, 0600, never in an argument. */
  password: string;
  /** The public image the server boots (kinetic image upload's). */
  guestImage: string;
  record: string;
}

export interface TenantRecord {
  projectId: string;
  userId: string;
  imageId: string;
  imageSha256: string;
  networkId: string;
  subnetId: string;
  volumeId: string;
  serverId: string;
  container: string;
  object: string;
  objectSha256: string;
  /** The tenant's token when it made them: still valid after keystone's machine is rebuilt. */
  token: string;
}

const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

async function json<T>(r: Promise<Response>, what: string): Promise<T> {
  return (await (await expectOk(await r, what)).json()) as T;
}

/** Polls `read` every 2 s until `done` says so; a state in `failed` ends it at once. */
async function waitFor(what: string, read: () => Promise<string>, done: string, failed: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let state = "";
  while (Date.now() < deadline) {
    state = await read();
    if (state === done) return;
    if (failed.includes(state)) throw new Error(`${what} is ${state}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`${what} not ${done} after ${timeoutMs / 1000} s (last: ${state})`);
}

/** neutron's catalog URL may or may not carry the version. */
const neutronBase = (s: OpenStackSession) => s.endpoint("network").replace(/\/v2\.0$/, "") + "/v2.0";

function tenantAuth(job: TenantJob): OpenStackAuth {
  return { ...job.admin, username: TENANT.user, password: job.password, projectName: TENANT.project, userDomainName: "Default", projectDomainName: "Default" };
}

/** The project, the user with the member role, and a flavor small enough for the lab's TCG guests. */
async function makeIdentity(admin: OpenStackSession, password: string): Promise<{ projectId: string; userId: string }> {
  const id = admin.identity;
  const t = admin.token;
  const project = await json<{ project: { id: string } }>(call("POST", `${id}/projects`, t, { project: { name: TENANT.project, domain_id: "default", description: "the whole-cloud test's tenant" } }), "keystone: create project");
  const user = await json<{ user: { id: string } }>(call("POST", `${id}/users`, t, { user: { name: TENANT.user, password, default_project_id: project.project.id, domain_id: "default" } }), "keystone: create user");
  const roles = await json<{ roles: { id: string }[] }>(call("GET", `${id}/roles?name=member`, t), "keystone: role member");
  if (!roles.roles.length) throw new Error("keystone has no role 'member' (keystone-manage bootstrap makes it)");
  await expectOk(await call("PUT", `${id}/projects/${project.project.id}/users/${user.user.id}/roles/${roles.roles[0].id}`, t), "keystone: member role");
  const nova = admin.endpoint("compute");
  const flavors = await json<{ flavors: { name: string }[] }>(call("GET", `${nova}/flavors`, t), "nova: flavors");
  if (!flavors.flavors.some((f) => f.name === TENANT.flavor)) {
    await expectOk(await call("POST", `${nova}/flavors`, t, { flavor: { name: TENANT.flavor, ram: 256, vcpus: 1, disk: 1 } }), "nova: create flavor");
  }
  return { projectId: project.project.id, userId: user.user.id };
}

export async function makeTenant(job: TenantJob): Promise<TenantRecord> {
  const admin = await openstackSession(job.admin);
  const { projectId, userId } = await makeIdentity(admin, job.password);
  const s = await openstackSession(tenantAuth(job));
  const glance = s.endpoint("image");
  const nova = s.endpoint("compute");
  const cinder = s.endpoint("volumev3");
  const neutron = neutronBase(s);

  const data = crypto.randomBytes(1 << 20);
  const image = await json<{ id: string }>(call("POST", `${glance}/v2/images`, s.token, { name: "tenant-image", disk_format: "raw", container_format: "bare", visibility: "private" }), "glance: create image");
  await expectOk(await call("PUT", `${glance}/v2/images/${image.id}/file`, s.token, data, "application/octet-stream"), "glance: upload");
  await waitFor(`image ${image.id}`, async () => (await json<{ status: string }>(call("GET", `${glance}/v2/images/${image.id}`, s.token), "glance: image")).status, "active", ["killed", "deleted"], 5 * 60_000);

  const network = await json<{ network: { id: string } }>(call("POST", `${neutron}/networks`, s.token, { network: { name: "tenant-net" } }), "neutron: create network");
  const subnet = await json<{ subnet: { id: string } }>(call("POST", `${neutron}/subnets`, s.token, { subnet: { name: "tenant-subnet", network_id: network.network.id, ip_version: 4, cidr: "10.200.0.0/24" } }), "neutron: create subnet");

  const volume = await json<{ volume: { id: string } }>(call("POST", `${cinder}/volumes`, s.token, { volume: { name: "tenant-volume", size: 1 } }), "cinder: create volume");
  const volumeStatus = async () => (await json<{ volume: { status: string } }>(call("GET", `${cinder}/volumes/${volume.volume.id}`, s.token), "cinder: volume")).volume.status;
  await waitFor(`volume ${volume.volume.id}`, volumeStatus, "available", ["error"], 5 * 60_000);

  const images = await json<{ images: { id: string }[] }>(call("GET", `${glance}/v2/images?name=${encodeURIComponent(job.guestImage)}`, s.token), "glance: guest image");
  if (!images.images.length) throw new Error(`the tenant sees no image named ${job.guestImage}`);
  const flavors = await json<{ flavors: { id: string; name: string }[] }>(call("GET", `${nova}/flavors`, s.token), "nova: flavors");
  const flavor = flavors.flavors.find((f) => f.name === TENANT.flavor);
  if (!flavor) throw new Error(`the tenant sees no flavor ${TENANT.flavor}`);
  const server = await json<{ server: { id: string } }>(call("POST", `${nova}/servers`, s.token, { server: { name: "tenant-server", imageRef: images.images[0].id, flavorRef: flavor.id, networks: [{ uuid: network.network.id }] } }), "nova: create server");
  const serverStatus = async () => {
    const sv = (await json<{ server: { status: string; fault?: { message: string } } }>(call("GET", `${nova}/servers/${server.server.id}`, s.token), "nova: server")).server;
    return sv.status === "ERROR" ? `ERROR (${sv.fault?.message ?? "no fault given"})` : sv.status;
  };
  await waitFor(`server ${server.server.id}`, serverStatus, "ACTIVE", [], 10 * 60_000).catch(async (e) => {
    throw new Error(`${(e as Error).message}; now ${await serverStatus()}`);
  });
  await expectOk(await call("POST", `${nova}/servers/${server.server.id}/os-volume_attachments`, s.token, { volumeAttachment: { volumeId: volume.volume.id } }), "nova: attach volume");
  await waitFor(`volume ${volume.volume.id} attached`, volumeStatus, "in-use", ["error", "error_attaching"], 5 * 60_000);

  const swift = s.endpoint("object-store");
  const container = "tenant-container";
  const object = "tenant-object";
  const objectData = crypto.randomBytes(64 << 10);
  await expectOk(await call("PUT", `${swift}/${container}`, s.token), "swift: create container");
  await expectOk(await call("PUT", `${swift}/${container}/${object}`, s.token, objectData, "application/octet-stream"), "swift: put object");

  return {
    projectId, userId, imageId: image.id, imageSha256: sha256(data), networkId: network.network.id, subnetId: subnet.subnet.id,
    volumeId: volume.volume.id, serverId: server.server.id, container, object, objectSha256: sha256(objectData), token: s.token,
  };
}

/** What is missing or changed, one line each (none: everything is there as it was made). */
export async function checkTenant(job: TenantJob, rec: TenantRecord): Promise<string[]> {
  const problems: string[] = [];
  const s = await openstackSession(tenantAuth(job)).catch((e: Error) => {
    throw new Error(`the tenant user cannot log in any more: ${e.message}`);
  });
  const probe = async (what: string, f: () => Promise<string | undefined>) => {
    try {
      const p = await f();
      if (p) problems.push(`${what}: ${p}`);
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  const glance = s.endpoint("image");
  const nova = s.endpoint("compute");
  const cinder = s.endpoint("volumev3");
  const neutron = neutronBase(s);
  const swift = s.endpoint("object-store");
  await probe("the token issued before", async () => {
    const r = await call("GET", `${nova}/servers/${rec.serverId}`, rec.token);
    return r.ok ? undefined : `refused (HTTP ${r.status})`;
  });
  await probe("image", async () => {
    const img = await json<{ status: string }>(call("GET", `${glance}/v2/images/${rec.imageId}`, s.token), "glance: image");
    if (img.status !== "active") return `status ${img.status}`;
    const data = Buffer.from(await (await expectOk(await call("GET", `${glance}/v2/images/${rec.imageId}/file`, s.token), "glance: download")).arrayBuffer());
    return sha256(data) === rec.imageSha256 ? undefined : "its data changed";
  });
  await probe("network", async () => (await json<{ network: { status: string } }>(call("GET", `${neutron}/networks/${rec.networkId}`, s.token), "neutron: network"), undefined));
  await probe("subnet", async () => (await json<{ subnet: { id: string } }>(call("GET", `${neutron}/subnets/${rec.subnetId}`, s.token), "neutron: subnet"), undefined));
  await probe("server", async () => {
    const sv = (await json<{ server: { status: string } }>(call("GET", `${nova}/servers/${rec.serverId}`, s.token), "nova: server")).server;
    return sv.status === "ACTIVE" ? undefined : `status ${sv.status}`;
  });
  await probe("volume", async () => {
    const v = (await json<{ volume: { status: string; attachments: { server_id: string }[] } }>(call("GET", `${cinder}/volumes/${rec.volumeId}`, s.token), "cinder: volume")).volume;
    if (v.status !== "in-use") return `status ${v.status}`;
    return v.attachments.some((a) => a.server_id === rec.serverId) ? undefined : "no longer attached to the server";
  });
  await probe("object", async () => {
    const data = Buffer.from(await (await expectOk(await call("GET", `${swift}/${rec.container}/${rec.object}`, s.token), "swift: get object")).arrayBuffer());
    return sha256(data) === rec.objectSha256 ? undefined : "its data changed";
  });
  return problems;
}

async function main(mode: string, file: string): Promise<void> {
  const job = JSON.parse(fs.readFileSync(file, "utf8")) as TenantJob;
  if (mode === "make") {
    fs.writeFileSync(job.record, JSON.stringify(await makeTenant(job)), { mode: 0o600 });
    process.stdout.write(`${JSON.stringify({ made: true })}\n`);
  } else if (mode === "check") {
    const rec = JSON.parse(fs.readFileSync(job.record, "utf8")) as TenantRecord;
    process.stdout.write(`${JSON.stringify({ problems: await checkTenant(job, rec) })}\n`);
  } else throw new Error(`cloudTenant: make or check, not ${mode}`);
}

if (require.main === module) {
  main(process.argv[2], process.argv[3]).catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
