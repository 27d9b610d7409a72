/**
 * Issue 9: Redfish against BMCs as they ship. Each block reproduces one finding with a simulator
 * profile or fault (each of these tests failed on the client before the fix) and checks the fix:
 * TLS by address and pinning, wrong passwords, `@Redfish.Settings`, sessions, redirects, plain HTTP
 * for virtual BMCs, `Once` not supported, the smaller ones, and out-of-band inventory.
 */
import * as assert from "node:assert/strict";
import { readBootOverride, setBootOnce } from "../../providers/redfish/boot";
import { RedfishClient, withSession } from "../../providers/redfish/client";
import { forgetCredentialLedger } from "../../providers/redfish/credentialLedger";
import { discover, findSystem, forgetSharedScans } from "../../providers/redfish/discovery";
import * as errors from "../../providers/redfish/errors";
import { discoverLocation, refreshLocation } from "../../providers/redfish/operations";
import { powerCycle } from "../../providers/redfish/power";
import { listSystems } from "../../providers/redfish/systems";
import type { SimulatedBmc, Simulator } from "../../simulator/types";
import { address, assertNoOpenSessions, clientOptions, PASSWORD, pki, quirkyServer, rejection, reply, simulate, USER } from "./harness";

const B = 20; // this file's address block
const at = (n: number): string => address(B, n);

/** Requests that carried credentials and were refused: failed logins as the BMC counts them. */
function failedLogins(bmc: SimulatedBmc): number {
  return bmc.requests.filter((r) => r.status === 401 && (r.headers.authorization !== undefined || (r.method === "POST" && r.path.endsWith("/Sessions")))).length;
}

describe("redfish against BMCs as they ship (issue 9)", function () {
  this.timeout(60000);
  let sim: Simulator;
  const A = {
    wrongName: at(1),
    selfSigned: at(2),
    httpOn443: at(3),
    settingsModeOnly: at(4),
    noToken: at(5),
    sessionRefused: at(6),
    redirect: at(7),
    onceSilent: at(8),
    onceListed: at(9),
    noBoot: at(10),
    basicOff: at(11),
    plainHttp: at(12),
    inventory: at(13),
  };
  before(async () => {
    sim = await simulate([
      { address: A.wrongName, faults: { wrongCertificate: "wrongName" } },
      { address: A.selfSigned, faults: { wrongCertificate: "selfSigned" } },
      { address: A.httpOn443, scheme: "http", port: 443 },
      { address: A.settingsModeOnly, profile: "dell", faults: { settingsModeOnly: true } },
      { address: A.noToken, faults: { sessionWithoutToken: true } },
      { address: A.sessionRefused, profile: "supermicro", faults: { sessionRefused: true } },
      { address: A.redirect, profile: "openbmc", faults: { redirectRoot: true } },
      { address: A.onceSilent, faults: { onlyContinuous: "silent" } },
      { address: A.onceListed, faults: { onlyContinuous: "listed" } },
      { address: A.noBoot, faults: { noBoot: true } },
      { address: A.basicOff, profile: "ami", faults: { basicDisabled: true } },
      { address: A.plainHttp, scheme: "http", port: 8000 },
      { address: A.inventory, profile: "dell", nics: [{ id: "eno1", mac: "AA:BB:CC:00:00:01" }, { id: "ens1f0", mac: "AA:BB:CC:00:00:02" }] },
    ]);
  });
  after(async () => sim?.stop());
  afterEach(() => assertNoOpenSessions(sim));
  // Each test is its own run: the credential ledger (at most one failed login per BMC per run) starts empty.
  beforeEach(() => (forgetSharedScans(), forgetCredentialLedger()));

  describe("1. TLS by address, pinning", () => {
    it("names the failed check: a CA-signed certificate for a host name is a name mismatch, not an unknown CA", async () => {
      const e = await rejection(() => new RedfishClient(clientOptions(A.wrongName)).serviceRoot());
      assert.ok(errors.isRedfishTlsError(e), String(e));
      assert.equal(e.check, "name");
      assert.match(e.message, /does not name this address/);
      assert.match(e.message, /kinetic:bmcCaOnlyNetworks/);
      assert.doesNotMatch(e.message, /add the BMC's CA/);
    });

    it("verifies the chain without the name when the network opts in (verifyName: false), and still refuses an unknown CA", async () => {
      const ok = new RedfishClient(clientOptions(A.wrongName, { tls: { caBundle: pki().caCert, verifyName: false } }));
      assert.equal(typeof (await ok.serviceRoot())["@odata.id"], "string");
      await ok.close();
      const e = await rejection(() => new RedfishClient(clientOptions(A.selfSigned, { tls: { caBundle: pki().caCert, verifyName: false } })).serviceRoot());
      assert.equal(e.check, "chain");
      assert.match(e.message, /kinetic:bmcCaBundle/);
    });

    it("says 'not TLS' for plain HTTP on port 443", async () => {
      const e = await rejection(() => new RedfishClient(clientOptions(A.httpOn443)).serviceRoot());
      assert.ok(errors.isRedfishTlsError(e), String(e));
      assert.equal(e.check, "not-tls", e.message);
      assert.match(e.message, /not TLS/);
    });

    it("pins on first use: discovery records the certificate; a different one is refused naming both fingerprints, before credentials are sent", async () => {
      const inputs = { uuid: sim.bmc(A.selfSigned).system().uuid, endpointType: "compute", cidrs: [`${A.selfSigned}/32`], user: USER, password: PASSWORD, trustOnFirstUse: true, probeTimeoutMs: 500 };
      const first = await discoverLocation(inputs);
      assert.match(first.certSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      // A later operation with the recorded pin works; with another pin nothing is sent.
      const again = await refreshLocation(inputs, first);
      assert.equal(again.certSha256, first.certSha256);
      const wrongPin = "00:" + first.certSha256.slice(3);
      const before = sim.bmc(A.selfSigned).requests.length;
      const e = await rejection(() => refreshLocation(inputs, { ...first, certSha256: wrongPin }));
      assert.ok(errors.isRedfishPinError(e), String(e));
      assert.ok(e.message.includes(wrongPin) && e.message.includes(first.certSha256), e.message);
      assert.match(e.message, /pulumi up --replace/);
      assert.equal(sim.bmc(A.selfSigned).requests.length, before, "no request (and no credential) reached the BMC");
      // A rescan that finds the same BMC with another certificate is refused too.
      forgetSharedScans();
      const rescan = await rejection(() => discoverLocation(inputs, undefined, { bmcAddress: first.bmcAddress, certSha256: wrongPin }));
      assert.ok(errors.isRedfishPinError(rescan), String(rescan));
    });

    it("the pin holds for boot and power operations too", async () => {
      const e = await rejection(() => withSession(clientOptions(A.inventory, { tls: { caBundle: pki().caCert, pinSha256: "AB".repeat(32) } }), listSystems));
      assert.ok(errors.isRedfishPinError(e), String(e));
    });
  });

  describe("2. wrong passwords", () => {
    it("one failed authentication per BMC, refused credentials reported per address, and 'the password is probably wrong'", async () => {
      const targets = [A.settingsModeOnly, A.redirect, A.onceSilent, A.onceListed];
      const before = targets.map((a) => failedLogins(sim.bmc(a)));
      const r = await discover({ cidrs: targets.map((a) => `${a}/32`), user: USER, password: "wrong-password", tls: { caBundle: pki().caCert }, probeTimeoutMs: 500 });
      targets.forEach((a, i) => assert.equal(failedLogins(sim.bmc(a)) - before[i], 1, `${a}: one failed login`));
      assert.deepEqual(r.credentialsRefused.length, 4);
      assert.equal(r.credentialsProbablyWrong, true);
      for (const f of r.failures) {
        assert.equal(f.code, "KINETIC_REDFISH_AUTH");
        assert.match(f.message, /credentials refused by/);
        assert.doesNotMatch(f.message, /Links\.Sessions|HTTP 404|kinetic:bmcUser/);
      }
      const e = await rejection(async () => findSystem(r, sim.bmc(A.redirect).system().uuid, "compute", USER));
      assert.ok(errors.isCredentialsRefusedError(e), String(e));
      assert.match(e.message, /password is probably wrong.*bmc\.api_user.*kinetic:bmcPassword/);
      assert.ok(!e.message.includes("wrong-password"));
    });

    it("stops sending credentials once most answering BMCs refused them", async () => {
      const targets = [A.settingsModeOnly, A.redirect, A.onceSilent, A.onceListed, A.noBoot];
      const before = targets.map((a) => failedLogins(sim.bmc(a)));
      // One address at a time, so the order is the address order.
      const r = await discover({ cidrs: targets.map((a) => `${a}/32`), concurrency: 1, user: USER, password: "wrong-password", tls: { caBundle: pki().caCert }, probeTimeoutMs: 500 });
      assert.equal(r.credentialsRefused.length, 3);
      assert.equal(r.credentialsProbablyWrong, true);
      const after = targets.map((a, i) => failedLogins(sim.bmc(a)) - before[i]);
      assert.deepEqual(after, [1, 1, 1, 0, 0], "the last two never saw the credentials");
      assert.deepEqual(r.failures.map((f) => f.code).sort(), ["KINETIC_REDFISH_AUTH", "KINETIC_REDFISH_AUTH", "KINETIC_REDFISH_AUTH", "KINETIC_REDFISH_CREDENTIALS", "KINETIC_REDFISH_CREDENTIALS"]);
    });

    it("a BMC with Basic switched off is read with one session (and the session is deleted)", async () => {
      const r = await discover({ cidrs: [`${A.basicOff}/32`], user: USER, password: PASSWORD, tls: { caBundle: pki().caCert }, probeTimeoutMs: 500 });
      assert.equal(r.systems.length, 1, JSON.stringify(r.failures));
      assert.equal(sim.bmc(A.basicOff).sessionsCreated(), 1);
    });
  });

  describe("3. @Redfish.Settings holding only the mode", () => {
    it("target and Enabled go to the system, the mode to the settings object; the next boot really is PXE", async () => {
      const bmc = sim.bmc(A.settingsModeOnly);
      const uri = "/redfish/v1/Systems/System.Embedded.1";
      const after = await withSession(clientOptions(A.settingsModeOnly), (c) => setBootOnce(c, uri, { target: "Pxe", mode: "Legacy", uuid: bmc.system().uuid }));
      assert.deepEqual([after.target, after.enabled, after.mode], ["Pxe", "Once", "Legacy"]);
      assert.deepEqual([bmc.system().boot.BootSourceOverrideTarget, bmc.system().boot.BootSourceOverrideEnabled], ["Pxe", "Once"], "effective on the system");
      await withSession(clientOptions(A.settingsModeOnly), (c) => powerCycle(c, uri, { method: "ForceOffOn", timeoutMs: 5000, pollMs: 25 }));
      const boot = bmc.system().boots.at(-1)!;
      assert.deepEqual([boot.target, boot.mode], ["Pxe", "Legacy"]);
    });
  });

  describe("4. sessions", () => {
    it("a session created without X-Auth-Token is deleted again and the operation goes on with Basic", async () => {
      const systems = await withSession(clientOptions(A.noToken), listSystems);
      assert.equal(systems.length, 1);
      assert.equal(sim.bmc(A.noToken).sessionsCreated(), 1);
      assert.equal(sim.bmc(A.noToken).openSessions(), 0);
    });

    // Issue 22 removed the blind Basic retry after a refused session (two failed logins per wrong password).
    it("a 401 on the session POST falls back to Basic only where Basic with these credentials was accepted in this run; a wrong password costs one failed login", async () => {
      const bmc = sim.bmc(A.sessionRefused);
      const refused = await rejection(() => withSession(clientOptions(A.sessionRefused), listSystems));
      assert.ok(errors.isRedfishAuthError(refused), String(refused));
      assert.match(refused.message, /not retried with HTTP Basic.*--auth basic/);
      // A run that discovered the BMC (Basic reads) knows Basic works: the session refusal is no guess then.
      forgetCredentialLedger();
      const r = await discover({ cidrs: [`${A.sessionRefused}/32`], user: USER, password: PASSWORD, tls: { caBundle: pki().caCert }, probeTimeoutMs: 500 });
      assert.equal(r.systems.length, 1);
      assert.equal((await withSession(clientOptions(A.sessionRefused), listSystems)).length, 1);
      forgetCredentialLedger();
      const before = failedLogins(bmc);
      const e = await rejection(() => withSession(clientOptions(A.sessionRefused, { password: "nope" }), listSystems));
      assert.ok(errors.isRedfishAuthError(e), String(e));
      assert.equal(failedLogins(bmc) - before, 1, "the session POST only");
    });
  });

  it("5. follows a 308 on the service root, on the same BMC only", async () => {
    const c = new RedfishClient(clientOptions(A.redirect));
    const root = await c.serviceRoot();
    assert.equal(root["@odata.id"], "/redfish/v1/");
    await c.close();
    assert.deepEqual(sim.bmc(A.redirect).requests.slice(-2).map((r) => r.status), [308, 200]);
  });

  it("5. never follows a redirect to another origin or down to http (the credentials would go with it)", async () => {
    const server = await quirkyServer(at(60), (req, res) => {
      if (req.url === "/redfish/v1") return reply(res, 308, undefined, { Location: `http://${at(60)}/redfish/v1/` });
      if (req.url === "/redfish/v1/Systems") return reply(res, 307, undefined, { Location: `https://${at(61)}/redfish/v1/Systems` });
      reply(res, 404, {});
    });
    try {
      const c = new RedfishClient(clientOptions(at(60), { auth: "basic" }));
      const down = await rejection(() => c.serviceRoot());
      assert.match(down.message, /redirected to another origin \(http:/);
      const away = await rejection(() => c.get("/redfish/v1/Systems"));
      assert.match(away.message, /redirected to another origin/);
      await c.close();
    } finally {
      await server.close();
    }
  });

  describe("6. plain HTTP for virtual BMCs", () => {
    it("only with the explicit opt-in", async () => {
      assert.throws(() => new RedfishClient(clientOptions(`http://${A.plainHttp}:8000`)), /kinetic:bmcHttpNetworks/);
      const systems = await withSession(clientOptions(`http://${A.plainHttp}:8000`, { allowHttp: true }), listSystems);
      assert.equal(systems.length, 1);
      const r = await discover({ cidrs: [`${A.plainHttp}/32`], scheme: "http", port: 8000, user: USER, password: PASSWORD, probeTimeoutMs: 500 });
      assert.equal(r.systems[0]?.address, `http://${A.plainHttp}:8000`);
      assert.equal(r.systems[0]?.certSha256, undefined);
    });
  });

  // Issue 24 changed these from "refused" to what Ironic does: Continuous, cleared after the boot
  // (the power cycle's side is in test/redfish/asShipped.test.ts).
  describe("7. Once not supported", () => {
    it("a BMC that silently keeps Continuous: Pxe/Continuous is kept and reported as such (continuous: true)", async () => {
      const bmc = sim.bmc(A.onceSilent);
      const r = await withSession(clientOptions(A.onceSilent), (c) => setBootOnce(c, "/redfish/v1/Systems/437XR1138R2", { target: "Pxe" }));
      assert.deepEqual([r.target, r.enabled, r.continuous], ["Pxe", "Continuous", true]);
      assert.deepEqual([bmc.system().boot.BootSourceOverrideEnabled, bmc.system().boot.BootSourceOverrideTarget], ["Continuous", "Pxe"]);
    });

    it("a BMC that lists only Continuous gets Continuous written, never Once", async () => {
      const bmc = sim.bmc(A.onceListed);
      const r = await withSession(clientOptions(A.onceListed), (c) => setBootOnce(c, "/redfish/v1/Systems/437XR1138R2", { target: "Pxe" }));
      assert.deepEqual([r.target, r.enabled, r.continuous], ["Pxe", "Continuous", true]);
      const patches = bmc.requests.filter((q) => q.method === "PATCH");
      assert.equal(patches.length, 1);
      assert.equal(patches[0].status, 200);
    });
  });

  describe("8. smaller ones", () => {
    it("ForceRestart returns once the restart happened (LastResetTime moved), not while the server still reads On from before", async () => {
      const bmc = sim.bmc(A.inventory);
      const boots = bmc.system().boots.length;
      const resets = await withSession(clientOptions(A.inventory), (c) => powerCycle(c, "/redfish/v1/Systems/System.Embedded.1", { method: "ForceRestart", timeoutMs: 5000, pollMs: 20 }));
      assert.deepEqual(resets, ["ForceRestart"]);
      assert.equal(bmc.system().boots.length, boots + 1, "the boot happened before powerCycle returned");
    });

    it("a system without a Boot object is refused with a clear error and not PATCHed", async () => {
      const e = await rejection(() => withSession(clientOptions(A.noBoot), (c) => setBootOnce(c, "/redfish/v1/Systems/437XR1138R2", { target: "Pxe" })));
      assert.match(e.message, /no Boot object/);
      assert.equal(sim.bmc(A.noBoot).requests.filter((r) => r.method === "PATCH").length, 0);
    });
  });

  describe("out-of-band inventory", () => {
    it("discovery keeps serial, BIOS, CPU, memory, power and the MACs, PXE NIC first", async () => {
      const bmc = sim.bmc(A.inventory);
      const before = bmc.sessionsCreated();
      const requestsBefore = bmc.requests.length;
      const found = await discoverLocation({
        uuid: bmc.system().uuid, endpointType: "compute", cidrs: [`${A.inventory}/32`], user: USER, password: PASSWORD,
        caBundle: pki().caCert, probeTimeoutMs: 500, pxeInterface: "ens1f0",
      });
      assert.equal(found.inventory.pxeMac, "aa:bb:cc:00:00:02");
      assert.deepEqual(found.inventory.nics.map((n) => n.id), ["ens1f0", "eno1"]);
      assert.equal(found.inventory.serialNumber, "437XR1138R2");
      assert.equal(found.inventory.biosVersion, "P79 v1.45 (12/06/2017)");
      assert.deepEqual([found.inventory.processors.count, found.inventory.memoryGiB, found.inventory.powerState], [2, 96, "On"]);
      assert.equal(bmc.sessionsCreated(), before, "no extra login");
      // The scan's three reads are unchanged (root, Systems, system); the NICs cost the matched system
      // two more round trips (collection, then members concurrently), after the scan.
      const SYS = "/redfish/v1/Systems/System.Embedded.1";
      assert.deepEqual(bmc.requests.slice(requestsBefore).map((r) => r.path).sort(), [
        "/redfish/v1", "/redfish/v1/Systems", SYS, `${SYS}/EthernetInterfaces`, `${SYS}/EthernetInterfaces/eno1`, `${SYS}/EthernetInterfaces/ens1f0`,
      ].sort());
      assert.ok(!JSON.stringify(found).includes(PASSWORD));
    });
  });
});

describe("redfish discovery: identity of BMCs and systems (issue 9)", function () {
  this.timeout(60000);
  let sim: Simulator;
  const uuid = "4C4C4544-0031-4B10-8035-B7C04F4D4B99";
  before(async () => {
    sim = await simulate([
      // One BMC on two addresses (shared and dedicated NIC): same service identity.
      { address: at(40), uuids: [uuid], serviceUuid: "92384634-2938-2342-8820-489239905423" },
      { address: at(41), uuids: [uuid], serviceUuid: "92384634-2938-2342-8820-489239905423" },
      // A system that reports no UUID at all.
      { address: at(42), faults: { noUuid: true } },
    ]);
  });
  after(async () => sim?.stop());
  afterEach(() => assertNoOpenSessions(sim));

  it("one BMC on two addresses is one server, a system without UUID says 'no UUID'", async () => {
    const r = await discover({ cidrs: [`${at(40)}/31`, `${at(42)}/32`], user: USER, password: PASSWORD, tls: { caBundle: pki().caCert }, probeTimeoutMs: 500 });
    const hit = findSystem(r, uuid, "compute");
    assert.equal(hit.address, at(40));
    assert.deepEqual(hit.aliases, [at(41)]);
    assert.deepEqual(r.withoutUuid.map((s) => s.address), [at(42)]);
    assert.deepEqual(r.ambiguous, [], "a system without UUID is neither ambiguous nor the all-zero UUID");
  });
});

void readBootOverride;
