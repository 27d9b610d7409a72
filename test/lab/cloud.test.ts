/**
 * The whole cloud through the engine (issue 20, section 4): pillar/cloud on a lab of its own, one
 * `up` from nothing with the real formulas; then Tempest's smoke profile (kinetic verify's code, as
 * the stack's admin, inside the lab's network); then a tenant of its own makes an image, a network,
 * a volume attached to a server and an object; then `kinetic rebuild keystone` (the operator's
 * code path: the VM wiped and made again with a new host key); then every resource of the tenant is
 * read back through a fresh login and with the token issued before, and the smoke profile is green
 * again.
 *
 * About an hour of this 2-core machine (the bench's figures: README "The full cloud in the lab"),
 * so it runs when asked (KINETIC_CLOUD_TEST=1), not in `npm test`'s default lanes.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as path from "node:path";
import { debianRootUnavailable } from "../../lab/debianRoot";
import { loadCloud } from "../../pillar";
import { authFromEnv } from "../../image/openstackSession";
import { osEnvironment } from "../../verify/adminCredentials";
import { verifyInLab, VerifyFigures } from "../bench/lab";
import { requireCloudSet } from "../support/cloudSet";
import { requirePrerequisite } from "../support/prerequisite";
import type { TenantJob } from "./cloudTenant";
import type { EngineResult } from "./engineRun";
import { LabHarness, startLabHarness } from "./labHarness";


describe("the whole cloud: up from nothing, Tempest smoke, a tenant's resources through keystone's rebuild", function () {
  this.timeout(90 * 60_000);
  let lab: LabHarness;
  let guestImage = "";
  const cloud = () => loadCloud(lab.pillarDir, { stack: lab.stack });
  const ok = (r: EngineResult, what: string) => lab.ok(r, what);
  const green = (v: VerifyFigures, what: string) => {
    assert.equal(v.counts.failed, 0, `${what}: ${v.counts.failed} Tempest tests failed (subunit and JUnit in ${v.runDir})`);
    assert.ok(v.counts.passed >= 50, `${what}: only ${v.counts.passed} Tempest tests passed (${v.runDir})`);
    assert.equal(v.exitCode, 0, what);
  };
  const tenantJob = (): TenantJob => {
    return {
      admin: authFromEnv(osEnvironment(lab.admin(cloud()))),
      password: tenantPassword,
      guestImage,
      record: path.join(lab.tmp, "tenant-record.json"),
    };
  };
  const tenant = <T>(mode: "make" | "check") => lab.inLab<T>(path.join(__dirname, "cloudTenant.ts"), [mode], tenantJob());
  const tenantPassword = crypto.randomBytes(18).toString("base64url");

  before(async function () {
    requireCloudSet(this, "the whole cloud (about an hour)");
    requirePrerequisite(this, debianRootUnavailable(), "the whole cloud");
    lab = await startLabHarness("cloudtest", (m) => console.log(`      [lab] ${m}`), "pillar/cloud");
  });

  after(async function () {
    if (lab) await lab.dispose();
  });

  it("one up from nothing makes every endpoint of the cloud's pillar", async () => {
    const r = await lab.run("up");
    ok(r, "up");
    const failed = r.steps.filter((s) => s.failed).map((s) => s.name);
    assert.deepEqual(failed, []);
    for (const e of cloud().endpoints) assert.equal(lab.ssh(e.address, "hostname").trim(), e.name, `${e.name} answers at ${e.address}`);
  });

  it("a second up changes nothing: no formula runs again, no machine is touched", async () => {
    const r = await lab.run("up");
    ok(r, "second up");
    assert.deepEqual(Object.keys(r.changes).filter((k) => k !== "same"), []);
  });

  it("Tempest's smoke profile passes: identity, image, network, compute, block and object storage", async () => {
    const v = await verifyInLab(lab, cloud());
    guestImage = v.image;
    green(v, "verify");
  });

  it("a tenant makes an image, a network, a server with a volume attached, and an object", async () => {
    assert.ok(guestImage, "the guest image was uploaded by the verify step");
    assert.deepEqual(await tenant<{ made: boolean }>("make"), { made: true });
  });

  it("kinetic rebuild keystone: a new machine with a new host key; the tenant's resources and token are all still there; verify green again", async () => {
    const keystone = cloud().endpoints.find((e) => e.role === "keystone")!;
    lab.ssh(keystone.address, "touch /root/before-rebuild");
    const r = await lab.run("rebuild", { targets: ["keystone"] });
    ok(r, "rebuild keystone");
    assert.equal(lab.ssh(keystone.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", "keystone runs on a new disk");
    const said = (r.said ?? []).join("\n");
    assert.match(said, new RegExp(`new host keys for ${keystone.name}`), said);
    assert.match(said, new RegExp(`${keystone.name}\\s+SHA256:`), "the new host key's fingerprint is told");
    // keystone's domain is the one machine made again (the phases that need keystone re-run on theirs).
    const domains = [...new Set(r.steps.filter((s) => /-domain$/.test(s.name) && ["create", "create-replacement", "replace", "delete-replaced"].includes(s.op)).map((s) => s.name))];
    assert.equal(domains.length, 1, `one domain made again: ${domains.join(", ")}`);
    assert.ok(domains[0].startsWith(`${keystone.name}-`), `keystone's domain is the one made again: ${domains[0]}`);
    assert.deepEqual(await tenant<{ problems: string[] }>("check"), { problems: [] });
    green(await verifyInLab(lab, cloud()), "verify after the rebuild");
  });
});
