/**
 * Issue 22, the BMC credential rules: after the first scan the BMC password goes only to the BMC the
 * state pinned for a server; a refresh never rescans on an authentication error; no Basic retry after
 * a refused session; at most one failed login per BMC per run. Counted at the simulator, through the
 * dynamic providers' own methods (what `pulumi refresh` and `up` call), in one process like the
 * engine's provider host.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { bootOnceProvider } from "../../providers/bootOnce";
import { powerCycleProvider } from "../../providers/powerCycle";
import { forgetCredentialLedger } from "../../providers/redfish/credentialLedger";
import { forgetSharedScans } from "../../providers/redfish/discovery";
import * as errors from "../../providers/redfish/errors";
import { redfishDiscoveryProvider } from "../../providers/redfishDiscovery";
import type { RecordedRequest, SimulatedBmc, Simulator } from "../../simulator/types";
import { address, assertNoOpenSessions, PASSWORD, pki, range, simulate, USER } from "./harness";

const B = 22; // this file's address block
const at = (n: number): string => address(B, n);
const UUID = "4C4C4544-0031-4B10-8035-B7C04F4D2201";

type Provider = Required<pulumi.dynamic.ResourceProvider>;

/** A request that carried the credentials: HTTP Basic, or the session POST. */
const carriedCredentials = (r: RecordedRequest): boolean => r.headers.authorization !== undefined || (r.method === "POST" && r.path.endsWith("/Sessions"));
/** Failed logins as the BMC counts them. */
const failedLogins = (rs: RecordedRequest[]): number => rs.filter((r) => carriedCredentials(r) && (r.status === 401 || r.status === 403)).length;

describe("BMC credentials go only to pinned BMCs, at most one failed login per BMC per run (issue 22)", function () {
  this.timeout(90000);
  let sim: Simulator;
  const servers = { generic: at(1), target: at(2), hpe: at(3), supermicro: at(4) };
  const since = (bmc: SimulatedBmc, n: number): RecordedRequest[] => bmc.requests.slice(n);
  const connection = (password = PASSWORD) => ({ user: USER, password, caBundle: pki().caCert, insecure: false, legacyCiphers: false, timeouts: { powerMs: 5000, powerPollMs: 25, taskPollMs: 25 } });
  const discovery = redfishDiscoveryProvider() as Provider;
  const bootOnce = bootOnceProvider() as Provider;
  const powerCycle = powerCycleProvider() as Provider;
  // What the state holds after the first `up`: discovery found the server at its BMC and pinned it.
  let state: Record<string, unknown>;

  before(async () => {
    sim = await simulate([
      { address: servers.generic },
      { address: servers.target, profile: "dell", uuids: [UUID] },
      { address: servers.hpe, profile: "hpe" },
      { address: servers.supermicro, profile: "supermicro" },
    ]);
    forgetSharedScans();
    forgetCredentialLedger();
    const created = await discovery.create({ ...connection(), uuid: UUID, endpointType: "compute", cidrs: [range(B, 29)], probeTimeoutMs: 300, providerVersion: "3" });
    state = created.outs;
    assert.equal(state.bmcAddress, servers.target);
    assert.match(String(state.certSha256), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
  after(async () => sim?.stop());
  afterEach(() => assertNoOpenSessions(sim));
  // Each test is one run (one provider process): nothing remembered from the previous one.
  beforeEach(() => (forgetSharedScans(), forgetCredentialLedger()));

  const others = () => [servers.generic, servers.hpe, servers.supermicro].map((a) => sim.bmc(a));

  it("a refresh with a wrong password: one failed login at the pinned BMC, no rescan, nothing sent to any other BMC", async () => {
    const target = sim.bmc(servers.target);
    const mark = target.requests.length;
    const othersMark = others().map((b) => b.requests.length);
    const wrong = { ...state, ...connection("wrong-password") };
    const system = { ...wrong, systemUri: state.systemUri, bmcAddress: state.bmcAddress, certSha256: state.certSha256, target: "Pxe", allowZeroize: false, method: "ForceOffOn", providerVersion: "1" };
    // A refresh reads every resource of the server at once: discovery, boot override, power.
    const results = await Promise.allSettled([
      discovery.read(UUID.toLowerCase(), wrong),
      bootOnce.read(`${UUID.toLowerCase()}/boot-once`, { ...system, overrideTarget: "", overrideEnabled: "", overrideMode: "" }),
      powerCycle.read(`${UUID.toLowerCase()}/power-cycle`, { ...system, resets: [], powerState: "On", triggers: [] }),
    ]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      const e = (r as PromiseRejectedResult).reason as Error;
      assert.ok(errors.isRedfishAuthError(e), String(e));
      assert.ok(!e.message.includes("wrong-password"), "the password is never in a message");
    }
    assert.equal(failedLogins(since(target, mark)), 1, JSON.stringify(since(target, mark).map((r) => [r.method, r.path, r.status])));
    assert.equal(since(target, mark).filter(carriedCredentials).length, 1, "the refused password was not sent again");
    assert.ok(results.some((r) => /refused these credentials earlier in this run/.test(String((r as PromiseRejectedResult).reason))));
    assert.ok(results.some((r) => /was not searched for at other addresses/.test(String((r as PromiseRejectedResult).reason))));
    others().forEach((b, i) => assert.deepEqual(since(b, othersMark[i]).map((r) => r.path), [], `${b.spec.address} was not even scanned`));
  });

  it("a refresh with the right password reads the pinned BMC only", async () => {
    const othersMark = others().map((b) => b.requests.length);
    const now = await discovery.read(UUID.toLowerCase(), { ...state, ...connection() });
    assert.equal(now.props!.bmcAddress, servers.target);
    others().forEach((b, i) => assert.equal(since(b, othersMark[i]).length, 0, b.spec.address));
  });

  it("an update (inputs changed, e.g. the password rotated) goes to the pinned BMC, not to every BMC of the ranges", async () => {
    const othersMark = others().map((b) => b.requests.length);
    const r = await discovery.update(UUID.toLowerCase(), { ...state } as never, { ...state, ...connection(), probeTimeoutMs: 300 } as never);
    assert.equal(r.outs!.bmcAddress, servers.target);
    others().forEach((b, i) => assert.equal(since(b, othersMark[i]).filter(carriedCredentials).length, 0, b.spec.address));
  });

  it("a BMC not at its recorded address is looked for by its pinned certificate: the other BMCs answer the unauthenticated root and get no credentials", async () => {
    const othersMark = others().map((b) => b.requests.length);
    const moved = { ...state, ...connection(), bmcAddress: at(7) }; // nothing listens there (any more)
    const now = await discovery.read(UUID.toLowerCase(), moved);
    assert.equal(now.props!.bmcAddress, servers.target, "found again behind the pinned certificate");
    others().forEach((b, i) => {
      const seen = since(b, othersMark[i]);
      assert.ok(seen.length > 0, `${b.spec.address} was probed`);
      assert.deepEqual(seen.filter(carriedCredentials), [], `${b.spec.address} got no credentials`);
    });
  });

  it("the first scan with a wrong password, then boot and power in the same run: one failed login per BMC in all", async () => {
    const all = [sim.bmc(servers.target), ...others()];
    const marks = all.map((b) => b.requests.length);
    const wrong = connection("wrong-password");
    await assert.rejects(discovery.create({ ...wrong, uuid: UUID, endpointType: "compute", cidrs: [range(B, 29)], probeTimeoutMs: 300, providerVersion: "3" }));
    const system = { ...wrong, uuid: UUID, systemUri: state.systemUri, bmcAddress: state.bmcAddress, certSha256: state.certSha256, allowZeroize: false, installWhileOn: true, providerVersion: "1" };
    await assert.rejects(bootOnce.create({ ...system, target: "Pxe" }));
    await assert.rejects(powerCycle.create({ ...system, method: "ForceOffOn", triggers: [] }));
    all.forEach((b, i) => assert.equal(failedLogins(since(b, marks[i])), 1, b.spec.address));
  });
});
