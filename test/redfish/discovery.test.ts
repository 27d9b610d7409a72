/**
 * Discovery over a simulated out-of-band range: every vendor's system ids, several blades per BMC,
 * byte-swapped and lower-case UUIDs, duplicates and placeholders reported as ambiguous, failures
 * (wrong password, hung BMC, bad certificate) reported per address, refusing and silent addresses.
 */
import * as assert from "node:assert/strict";
import { discover, findSystem, DiscoveryResult } from "../../providers/redfish/discovery";
import * as errors from "../../providers/redfish/errors";
import { byteSwappedUuid } from "../../providers/redfish/uuid";
import type { Simulator } from "../../simulator/types";
import { address, assertNoOpenSessions, PASSWORD, pki, range, simulate, USER } from "./harness";

const RANGE = range(3, 26); // 62 host addresses; BMCs on some, the rest refuse
const U = {
  dell: "4C4C4544-0042-3510-8052-B4C04F4D4B32",
  hpe: "30373237-3132-584D-5137-323030314142",
  swapped: "A1B2C3D4-E5F6-0718-293A-4B5C6D7E8F90",
  dup: "DEADBEEF-0000-4000-8000-000000000001",
  zero: "00000000-0000-0000-0000-000000000000",
  blades: ["11111111-0000-4000-8000-00000000000A", "11111111-0000-4000-8000-00000000000B", "11111111-0000-4000-8000-00000000000C"],
};

describe("redfish discovery (simulator)", function () {
  this.timeout(60000);
  let sim: Simulator;
  let result: DiscoveryResult;

  before(async () => {
    sim = await simulate([
      { address: address(3, 2), profile: "dell", uuids: [U.dell] },
      { address: address(3, 3), profile: "hpe", uuids: [U.hpe.toLowerCase()] },
      { address: address(3, 4), profile: "openbmc", uuids: [byteSwappedUuid(U.swapped).toUpperCase()] },
      { address: address(3, 5), profile: "ami", uuids: [U.dup] },
      { address: address(3, 6), profile: "supermicro", uuids: [U.dup] },
      { address: address(3, 7), profile: "lenovo", uuids: [U.zero] },
      { address: address(3, 8), profile: "bladed", uuids: U.blades },
      { address: address(3, 9), profile: "generic", password: "another-password" },
      { address: address(3, 10), faults: { hang: true } },
      { address: address(3, 11), faults: { wrongCertificate: true } },
      { address: address(3, 12), latencyMs: [50, 200] },
    ]);
    result = await discover({ cidrs: [RANGE], user: USER, password: PASSWORD, tls: { caBundle: pki().caCert }, probeTimeoutMs: 300, connectTimeoutMs: 500, requestTimeoutMs: 2000, retry: { limit: 1, baseDelayMs: 20 } });
  });
  after(async () => {
    await sim?.stop();
  });

  it("leaves no session open anywhere", () => assertNoOpenSessions(sim));

  it("finds every system with a unique UUID, whatever its id, with vendor and model", () => {
    const byAddress = new Map(result.systems.map((s) => [`${s.address}${s.systemUri}`, s]));
    assert.equal(byAddress.get(`${address(3, 2)}/redfish/v1/Systems/System.Embedded.1`)?.uuid, U.dell);
    assert.equal(byAddress.get(`${address(3, 2)}/redfish/v1/Systems/System.Embedded.1`)?.model, "PowerEdge R650");
    assert.ok(byAddress.get(`${address(3, 3)}/redfish/v1/Systems/1`));
    assert.ok(byAddress.get(`${address(3, 4)}/redfish/v1/Systems/system`));
    assert.equal(result.systems.filter((s) => s.address === address(3, 8)).length, 3, "every blade, not just the first member");
    assert.ok(result.systems.some((s) => s.address === address(3, 12)));
    assert.equal(result.scanned, 62);
  });

  it("matches pillar UUIDs case-insensitively and byte-swapped", () => {
    assert.equal(findSystem(result, U.hpe, "compute").address, address(3, 3));
    assert.equal(findSystem(result, U.swapped, "storage").systemUri, "/redfish/v1/Systems/system");
    assert.equal(findSystem(result, U.blades[2].toLowerCase(), "compute").systemUri, "/redfish/v1/Systems/529QB9452R6");
  });

  it("reports duplicate and all-zero UUIDs as ambiguous, with their locations", () => {
    const dup = result.ambiguous.find((a) => a.reason === "duplicate")!;
    assert.deepEqual(dup.locations.map((l) => l.address).sort(), [address(3, 5), address(3, 6)]);
    assert.ok(result.ambiguous.some((a) => a.reason === "placeholder" && a.locations[0].address === address(3, 7)));
    assert.throws(() => findSystem(result, U.dup, "controller"), (e: unknown) => errors.isUuidAmbiguousError(e) && e.locations.length === 2);
    assert.ok(!result.systems.some((s) => s.uuid === U.dup || s.uuid === U.zero));
  });

  it("reports BMCs it could not read, per address, with a coded reason", () => {
    const codes = new Map(result.failures.map((f) => [f.address, f.code]));
    assert.equal(codes.get(address(3, 9)), errors.REDFISH_ERROR_CODES.auth);
    assert.equal(codes.get(address(3, 10)), errors.REDFISH_ERROR_CODES.timeout);
    assert.equal(codes.get(address(3, 11)), errors.REDFISH_ERROR_CODES.tls);
    assert.ok(!result.failures.some((f) => f.message.includes(PASSWORD)));
    assert.ok(result.refused >= 40);
  });

  it("names the UUID, its type and the ranges scanned when a pillar UUID is not found", () => {
    assert.throws(
      () => findSystem(result, "99999999-8888-4777-8666-555555555555", "controller"),
      (e: unknown) => errors.isUuidNotFoundError(e) && /99999999-8888-4777-8666-555555555555 of endpoint type "controller"/.test(e.message) && e.message.includes(RANGE),
    );
  });

  it("scans concurrently: silent addresses cost one probe timeout, not one each", async () => {
    const started = Date.now();
    // Block 4 has nothing listening: every address refuses at once; the hung BMC is one probe
    // that connects and then times out on TLS.
    const r = await discover({ cidrs: [range(4, 24), `${address(3, 10)}/32`], user: USER, password: PASSWORD, tls: { caBundle: pki().caCert }, probeTimeoutMs: 300, connectTimeoutMs: 400, requestTimeoutMs: 400, retry: { limit: 0 } });
    assert.equal(r.scanned, 255);
    assert.equal(r.failures.length, 1);
    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
  });
});
