/** Pure parts of the Redfish code: UUID forms, CIDR expansion, retry policy, errors, input checks, CLI parsing. */
import * as assert from "node:assert/strict";
import { expandCidr, expandCidrs } from "../../providers/redfish/cidr";
import { parseArgs } from "../../providers/redfish/cli";
import { parseBmcAddress, extendedInfo, isSuccessMessage } from "../../providers/redfish/client";
import { findSystem, DiscoveryResult } from "../../providers/redfish/discovery";
import * as errors from "../../providers/redfish/errors";
import { checkBootOnce, checkDiscovery, checkPowerCycle, changedKeys, UNKNOWN } from "../../providers/redfish/operations";
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelay, retryPolicy, shouldRetryStatus, shouldRetryTransport } from "../../providers/redfish/retry";
import { tlsConnectOptions } from "../../providers/redfish/tls";
import { byteSwappedUuid, isPlaceholderUuid, normalizeUuid, sameUuid, uuidForms } from "../../providers/redfish/uuid";

describe("redfish units", () => {
  describe("SMBIOS UUIDs", () => {
    const U = "4C4C4544-0037-4710-8039-B4C04F4D4B32";
    const SWAPPED = "44454c4c-3700-1047-8039-b4c04f4d4b32";
    it("compares case-insensitively and byte-swapped in the first three groups", () => {
      assert.equal(byteSwappedUuid(U), SWAPPED);
      assert.equal(byteSwappedUuid(SWAPPED), U.toLowerCase());
      assert.ok(sameUuid(U, U.toLowerCase()));
      assert.ok(sameUuid(U, SWAPPED.toUpperCase()));
      assert.ok(sameUuid(`{${U}}`, SWAPPED));
      assert.ok(!sameUuid(U, "4c4c4544-0037-4710-8039-b4c04f4d4b33"));
      assert.deepEqual(uuidForms(U), [U.toLowerCase(), SWAPPED]);
    });
    it("treats all-zero and all-F as placeholders, and rejects non-UUIDs", () => {
      assert.ok(isPlaceholderUuid("00000000-0000-0000-0000-000000000000"));
      assert.ok(isPlaceholderUuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"));
      assert.ok(!isPlaceholderUuid(U));
      assert.equal(normalizeUuid("not-a-uuid"), undefined);
    });
  });

  describe("CIDR expansion", () => {
    const cases: [string, number, string, string][] = [
      ["127.10.0.0/22", 1022, "127.10.0.1", "127.10.3.254"],
      ["10.0.0.77/24", 254, "10.0.0.1", "10.0.0.254"],
      ["10.0.0.4/31", 2, "10.0.0.4", "10.0.0.5"],
      ["10.0.0.9/32", 1, "10.0.0.9", "10.0.0.9"],
      ["10.0.0.9", 1, "10.0.0.9", "10.0.0.9"],
    ];
    for (const [cidr, n, first, last] of cases) {
      it(`${cidr} has ${n} hosts from ${first} to ${last}`, () => {
        const a = expandCidr(cidr);
        assert.equal(a.length, n);
        assert.equal(a[0], first);
        assert.equal(a[a.length - 1], last);
      });
    }
    it("dedupes overlapping ranges and rejects bad or huge ones", () => {
      assert.equal(expandCidrs(["10.0.0.0/30", "10.0.0.1/32"]).length, 2);
      for (const bad of ["10.0.0.0/33", "300.0.0.0/24", "10.0.0.0/8", "x"]) {
        assert.throws(() => expandCidr(bad), (e: unknown) => errors.isRedfishError(e) && e.code === errors.REDFISH_ERROR_CODES.usage);
      }
    });
  });

  describe("retry policy", () => {
    it("is documented data with defaults", () => {
      assert.deepEqual(DEFAULT_RETRY_POLICY.statusCodes, [409, 429, 503]);
      assert.ok(Object.isFrozen(DEFAULT_RETRY_POLICY));
      assert.equal(retryPolicy({ limit: 1 }).limit, 1);
      assert.ok(shouldRetryStatus(DEFAULT_RETRY_POLICY, 503) && !shouldRetryStatus(DEFAULT_RETRY_POLICY, 500));
    });
    it("retries transport errors only for idempotent methods", () => {
      assert.ok(shouldRetryTransport(DEFAULT_RETRY_POLICY, "GET", "ECONNRESET"));
      assert.ok(!shouldRetryTransport(DEFAULT_RETRY_POLICY, "POST", "ECONNRESET"));
      assert.ok(!shouldRetryTransport(DEFAULT_RETRY_POLICY, "GET", "ECONNREFUSED"));
    });
    it("retries a connection that never completed for every method, POST included (no request left)", () => {
      assert.ok(shouldRetryTransport(DEFAULT_RETRY_POLICY, "POST", "UND_ERR_CONNECT_TIMEOUT"));
      assert.ok(shouldRetryTransport(DEFAULT_RETRY_POLICY, "GET", "UND_ERR_CONNECT_TIMEOUT"));
    });
    it("backs off exponentially, honours Retry-After and stops at the limit", () => {
      const p = retryPolicy({ jitter: 0 });
      assert.deepEqual([1, 2, 3].map((a) => retryDelay(p, a)), [250, 500, 1000]);
      assert.equal(retryDelay(p, 4), undefined);
      assert.equal(retryDelay(p, 1, "2"), 2000);
      assert.equal(retryDelay(p, 1, "31"), undefined, "Retry-After beyond maxRetryAfterMs is not waited for");
      assert.equal(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())! > 3000, true);
      assert.equal(parseRetryAfter("soon"), undefined);
    });
  });

  describe("errors", () => {
    it("carry a stable code, the facts and ExtendedInfo messages; guards check the code", () => {
      const e = new errors.RedfishHttpError({ bmc: "127.0.0.5", method: "PATCH", uri: "/redfish/v1/Systems/1" }, 400, [
        { MessageId: "Base.1.8.PropertyValueNotInList", Message: "The value Floppy is not in the list" },
      ]);
      assert.equal(e.code, "KINETIC_REDFISH_HTTP");
      assert.match(e.message, /PATCH https:\/\/127\.0\.0\.5\/redfish\/v1\/Systems\/1 failed with HTTP 400: \[Base\.1\.8\.PropertyValueNotInList\]/);
      assert.deepEqual(e.messageIds, ["Base.1.8.PropertyValueNotInList"]);
      const copy = { ...e, code: e.code };
      assert.ok(errors.isRedfishHttpError(copy), "a plain object with the code passes the guard (other module copy)");
      assert.ok(!errors.isRedfishTlsError(e));
      const nf = new errors.UuidNotFoundError("4C4C4544-0037-4710-8039-B4C04F4D4B32", "compute", ["10.0.0.0/24"], 254, 3);
      assert.match(nf.message, /4C4C4544-0037-4710-8039-B4C04F4D4B32 of endpoint type "compute".*10\.0\.0\.0\/24/);
      assert.match(new errors.ZeroizeRefusedError("power off", "x").message, /pulumi config set kinetic:zeroizePhysical true/);
    });
    it("reads ExtendedInfo from error bodies and recognises success messages", () => {
      assert.deepEqual(extendedInfo({ error: { code: "Base.1.0.GeneralError", message: "x", "@Message.ExtendedInfo": [{ MessageId: "A.1.0.B" }] } }), [{ MessageId: "A.1.0.B" }]);
      assert.deepEqual(extendedInfo({ error: { code: "c", message: "plain" } }), [{ MessageId: "c", Message: "plain" }]);
      assert.ok(isSuccessMessage({ MessageId: "Base.1.16.Success" }));
      assert.ok(isSuccessMessage({ MessageId: "iLO.2.14.SystemResetRequired" }));
      assert.ok(!isSuccessMessage({ MessageId: "Base.1.16.PropertyNotWritable" }));
    });
  });

  it("verifies TLS by default; skipping verification and legacy ciphers are explicit opt-ins", () => {
    assert.equal(tlsConnectOptions({}).rejectUnauthorized, true);
    assert.equal(tlsConnectOptions({ caBundle: "x" }).minVersion, undefined);
    assert.equal(tlsConnectOptions({ insecure: true }).rejectUnauthorized, false);
    assert.equal(tlsConnectOptions({ legacyCiphers: true }).minVersion, "TLSv1");
    assert.equal(tlsConnectOptions({}).secureContext, tlsConnectOptions({}).secureContext, "one secure context per settings");
  });

  it("parses BMC addresses", () => {
    assert.deepEqual(parseBmcAddress("127.0.0.5"), { origin: "https://127.0.0.5:443", bmc: "127.0.0.5", host: "127.0.0.5", port: 443, scheme: "https" });
    assert.equal(parseBmcAddress("127.0.0.5:8443").bmc, "127.0.0.5:8443");
    assert.equal(parseBmcAddress("https://127.0.0.5/").origin, "https://127.0.0.5:443");
    assert.throws(() => parseBmcAddress("http://127.0.0.5"), /kinetic:bmcHttpNetworks/);
    assert.equal(parseBmcAddress("http://127.0.0.5", 443, true).origin, "http://127.0.0.5:80");
    assert.throws(() => parseBmcAddress("ftp://127.0.0.5", 443, true), /only https/);
  });

  describe("finding a UUID in a scan", () => {
    const sys = (uuid: string, address: string) => ({ uuid, address, systemUri: "/redfish/v1/Systems/1", vendor: "", product: "", manufacturer: "", model: "", serialNumber: "", powerState: "On", biosVersion: "", processors: { count: 0, logical: 0, model: "" }, memoryGiB: 0, serviceUuid: "" });
    const result: DiscoveryResult = {
      ranges: ["10.0.0.0/24"],
      scanned: 254,
      systems: [sys("4C4C4544-0037-4710-8039-B4C04F4D4B32", "10.0.0.5")],
      ambiguous: [{ uuid: "11111111-2222-3333-4444-555555555555", reason: "duplicate", locations: [{ address: "10.0.0.6", systemUri: "/a" }, { address: "10.0.0.7", systemUri: "/b" }] }],
      withoutUuid: [],
      failures: [],
      credentialsRefused: [],
      answered: 3,
      credentialsProbablyWrong: false,
      refused: 250,
      silent: 1,
      durationMs: 1,
    };
    it("matches byte-swapped and lower case", () => {
      assert.equal(findSystem(result, "44454c4c-3700-1047-8039-b4c04f4d4b32", "compute").address, "10.0.0.5");
    });
    it("reports duplicates (also byte-swapped) and placeholders as ambiguous", () => {
      assert.throws(() => findSystem(result, "11111111-2222-3333-4444-555555555555", "storage"), (e: unknown) => errors.isUuidAmbiguousError(e) && /10\.0\.0\.6\/a, 10\.0\.0\.7\/b/.test(e.message));
      assert.throws(() => findSystem(result, byteSwappedUuid("11111111-2222-3333-4444-555555555555"), "storage"), errors.isUuidAmbiguousError);
      assert.throws(() => findSystem(result, "00000000-0000-0000-0000-000000000000", "storage"), errors.isUuidAmbiguousError);
    });
    it("names the UUID, its type and the ranges when not found", () => {
      assert.throws(
        () => findSystem(result, "99999999-2222-3333-4444-555555555555", "controller"),
        (e: unknown) => errors.isUuidNotFoundError(e) && e.endpointType === "controller" && /10\.0\.0\.0\/24/.test(e.message),
      );
    });
  });

  describe("provider input checks", () => {
    const conn = { user: "admin", password: "pw" };
    it("report every bad input of a discovery", () => {
      const f = checkDiscovery({ uuid: "nope", endpointType: "", cidrs: ["10.0.0.0/33"], user: "", password: "", caBundle: "not pem", port: 70000 });
      assert.deepEqual(f.map((x) => x.property).sort(), ["caBundle", "cidrs[0]", "endpointType", "password", "port", "user", "uuid"]);
      assert.deepEqual(checkDiscovery({ uuid: "4C4C4544-0037-4710-8039-B4C04F4D4B32", endpointType: "compute", cidrs: ["10.0.0.0/24"], ...conn }), []);
    });
    it("reject a bad boot target, mode and reset method", () => {
      const sys = { ...conn, uuid: "4C4C4544-0037-4710-8039-B4C04F4D4B32", bmcAddress: "10.0.0.5", systemUri: "/redfish/v1/Systems/1" };
      assert.deepEqual(checkBootOnce({ ...sys, target: "P x e", mode: "BIOS" }).map((x) => x.property), ["target", "mode"]);
      assert.deepEqual(checkBootOnce({ ...sys, target: "Pxe" }), []);
      assert.deepEqual(checkPowerCycle({ ...sys, method: "Reboot" as never }).map((x) => x.property), ["method"]);
      assert.deepEqual(checkPowerCycle({ ...sys, systemUri: "Systems/1", method: "ForceRestart" }).map((x) => x.property), ["systemUri"]);
    });
    it("leave values unknown during a preview (discovery not run yet) to the check before create", () => {
      const sys = { ...conn, uuid: "4C4C4544-0037-4710-8039-B4C04F4D4B32", bmcAddress: UNKNOWN, systemUri: UNKNOWN };
      assert.deepEqual(checkBootOnce({ ...sys, target: "Pxe" }), []);
      assert.deepEqual(checkPowerCycle({ ...sys, method: "ForceOffOn" }), []);
      assert.deepEqual(checkDiscovery({ uuid: "4C4C4544-0037-4710-8039-B4C04F4D4B32", endpointType: "compute", cidrs: UNKNOWN as never, ...conn, password: UNKNOWN }), []);
    });
    it("diff by key", () => {
      assert.deepEqual(changedKeys({ a: 1, b: [1], c: undefined }, { a: 1, b: [2], c: null }, ["a", "b", "c"]), ["b"]);
    });
  });

  describe("CLI arguments", () => {
    it("parse commands and flags, and refuse credentials on argv", () => {
      assert.deepEqual(parseArgs(["redfish", "boot-once", "10.0.0.5", "--target", "Hdd", "--json"]), { command: "boot-once", positional: ["10.0.0.5"], flags: { target: "Hdd", json: true } });
      assert.throws(() => parseArgs(["redfish", "status", "10.0.0.5", "--password=x"]), /KINETIC_BMC_PASSWORD/);
      assert.throws(() => parseArgs(["redfish", "status", "--bogus"]), /unknown flag/);
    });
  });
});
