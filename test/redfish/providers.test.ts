/**
 * The dynamic providers, by calling their methods directly against the simulator (check, create,
 * read, diff, update, delete), their serialization (and a serialized provider run in a bare Node
 * process, as Pulumi's dynamic provider host runs it), and `provisionPhysical` under Pulumi mocks.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { bootOnceProvider } from "../../providers/bootOnce";
import { powerCycleProvider } from "../../providers/powerCycle";
import { redfishDiscoveryProvider } from "../../providers/redfishDiscovery";
import { forgetSharedScans } from "../../providers/redfish/discovery";
import * as errors from "../../providers/redfish/errors";
import type { Simulator } from "../../simulator/types";
import { address, assertNoOpenSessions, PASSWORD, pki, range, rejection, simulate, USER } from "./harness";

const UUID = "4C4C4544-0031-4B10-8035-B7C04F4D4B32";
const OTHER = "4C4C4544-0031-4B10-8035-B7C04F4D4B33";
const DELL = address(5, 2);
const GENERIC = address(5, 3);

type Provider = Required<pulumi.dynamic.ResourceProvider>;
const config = (values: Record<string, string>): pulumi.dynamic.ConfigureRequest => ({
  config: { get: (k: string) => values[k], require: (k: string) => values[k] ?? assert.fail(k) },
});

describe("redfish dynamic providers (simulator)", function () {
  this.timeout(90000);
  let sim: Simulator;
  const connection = () => ({ user: USER, password: PASSWORD, caBundle: pki().caCert, insecure: false, legacyCiphers: false, timeouts: { powerMs: 5000, powerPollMs: 25, taskPollMs: 25 } });

  before(async () => {
    forgetSharedScans();
    sim = await simulate([
      { address: DELL, profile: "dell", uuids: [byteSwap(UUID)] },
      { address: GENERIC, uuids: [OTHER] },
    ]);
  });
  after(async () => {
    await sim?.stop();
  });
  afterEach(() => assertNoOpenSessions(sim));

  describe("RedfishDiscovery", () => {
    const p = redfishDiscoveryProvider() as Provider;
    const inputs = () => ({ ...connection(), uuid: UUID, endpointType: "compute", cidrs: [range(5, 28)], probeTimeoutMs: 300, providerVersion: "1" });

    it("check reports bad inputs", async () => {
      const r = await p.check({}, { ...inputs(), uuid: "x", cidrs: [] });
      assert.deepEqual(r.failures!.map((f) => f.property).sort(), ["cidrs", "uuid"]);
      assert.deepEqual((await p.check({}, inputs())).failures, []);
    });

    it("create finds the server (byte-swapped UUID, Dell id); read confirms it; diff replaces on a new UUID only", async () => {
      const created = await p.create(inputs());
      assert.equal(created.outs.bmcAddress, DELL);
      assert.equal(created.outs.systemUri, "/redfish/v1/Systems/System.Embedded.1");
      assert.equal(created.outs.reportedUuid, byteSwap(UUID));
      assert.equal(created.outs.model, "PowerEdge R650");
      const read = await p.read(created.id, created.outs);
      assert.equal(read.props!.bmcAddress, DELL);
      assert.deepEqual(await p.diff(created.id, created.outs, inputs()), { changes: false, replaces: [] });
      assert.deepEqual(await p.diff(created.id, created.outs, { ...inputs(), uuid: OTHER }), { changes: true, replaces: ["uuid"] });
      assert.deepEqual(await p.diff(created.id, created.outs, { ...inputs(), providerVersion: "2" }), { changes: true, replaces: [] });
    });

    it("read sees a server that moved: it scans again and reports the new place", async () => {
      const created = await p.create(inputs());
      forgetSharedScans();
      const stale = { ...created.outs, bmcAddress: GENERIC, systemUri: "/redfish/v1/Systems/437XR1138R2" };
      const read = await p.read(created.id, stale);
      assert.equal(read.props!.bmcAddress, DELL);
    });

    it("create fails naming the UUID, type and ranges when nothing reports it", async () => {
      forgetSharedScans();
      const e = await rejection(() => p.create({ ...inputs(), uuid: "99999999-8888-4777-8666-555555555555" }));
      assert.ok(errors.isUuidNotFoundError(e));
      assert.match(e.message, /"compute"/);
      assert.ok(e.message.includes(range(5, 28)));
    });
  });

  describe("BootOnce", () => {
    const p = bootOnceProvider() as Provider;
    // installWhileOn: the simulated server is on; the operator opted it in (powerSafety.ts).
    const inputs = () => ({ ...connection(), uuid: OTHER, bmcAddress: GENERIC, systemUri: "/redfish/v1/Systems/437XR1138R2", target: "Pxe", allowZeroize: false, installWhileOn: true, providerVersion: "1" });

    it("create refuses a server that is powered on unless it is opted in, and writes nothing", async () => {
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("On");
      const before = bmc.system().boot.BootSourceOverrideEnabled;
      const e = await rejection(() => p.create({ ...inputs(), installWhileOn: false }));
      assert.match(e.message, new RegExp(`^server ${OTHER} at ${GENERIC.replace(/\./g, "\\.")}.* is powered on \\(On\\) .*nothing was sent.*kinetic:installPoweredOn`));
      assert.equal(bmc.system().boot.BootSourceOverrideEnabled, before, "an override was written");
      bmc.setPowerState("Off");
      const created = await p.create({ ...inputs(), installWhileOn: false });
      assert.equal(created.outs.overrideEnabled, "Once", "a server that is off is provisioned");
    });

    it("a BMC found at a new address is recorded, and no override is written (issue 21)", async () => {
      const created = await p.create(inputs());
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("Off");
      await powerCycleProvider().create!({ ...inputs(), method: "ForceOffOn", triggers: [], allowZeroize: false });
      const read = await p.read(created.id, created.outs);
      assert.equal(read.props!.overrideEnabled, "Disabled");
      // The same BMC, reached under another name: what discovery's refresh records when it moved.
      const moved = { ...inputs(), bmcAddress: `${GENERIC}:443` };
      const updated = await p.update(created.id, read.props, moved);
      assert.equal(updated.outs!.overrideEnabled, "Disabled");
      assert.equal(bmc.system().boot.BootSourceOverrideEnabled, "Disabled", "a re-addressed BMC got a PXE override: a reinstall at its next reboot");
    });

    it("check reports a bad target and mode", async () => {
      const r = await p.check({}, { ...inputs(), target: "", mode: "BIOS" });
      assert.deepEqual(r.failures!.map((f) => f.property), ["target", "mode"]);
    });

    it("create writes and reads back the override; refresh sees it consumed; diff updates on a new target", async () => {
      const created = await p.create(inputs());
      assert.deepEqual([created.outs.overrideTarget, created.outs.overrideEnabled], ["Pxe", "Once"]);
      const bmc = sim.bmc(GENERIC);
      assert.equal(bmc.system().boot.BootSourceOverrideTarget, "Pxe");
      bmc.setPowerState("Off");
      await powerCycleProvider().create!({ ...inputs(), method: "ForceOffOn", triggers: [], allowZeroize: false });
      const read = await p.read(created.id, created.outs);
      assert.equal(read.props!.overrideEnabled, "Disabled", "refresh shows the override was used");
      assert.deepEqual(await p.diff(created.id, read.props, inputs()), { changes: false, replaces: [] });
      assert.deepEqual(await p.diff(created.id, read.props, { ...inputs(), target: "Hdd" }), { changes: true, replaces: [] });
      const updated = await p.update(created.id, read.props, { ...inputs(), target: "Hdd" });
      assert.equal(updated.outs!.overrideTarget, "Hdd");
    });

    it("delete leaves the override alone unless zeroize is allowed, and then clears it", async () => {
      const created = await p.create(inputs());
      await p.delete(created.id, created.outs);
      assert.equal(sim.bmc(GENERIC).system().boot.BootSourceOverrideEnabled, "Once", "nothing was touched");
      await p.delete(created.id, { ...created.outs, allowZeroize: true });
      assert.equal(sim.bmc(GENERIC).system().boot.BootSourceOverrideEnabled, "Disabled");
    });

    it("delete honours kinetic:zeroizePhysical from the stack config at delete time", async () => {
      const fresh = bootOnceProvider() as Provider;
      await fresh.configure(config({ "kinetic:zeroizePhysical": "true" }));
      const created = await fresh.create(inputs());
      await fresh.delete(created.id, created.outs);
      assert.equal(sim.bmc(GENERIC).system().boot.BootSourceOverrideEnabled, "Disabled");
    });
  });

  describe("PowerCycle", () => {
    const p = powerCycleProvider() as Provider;
    const inputs = () => ({ ...connection(), uuid: OTHER, bmcAddress: GENERIC, systemUri: "/redfish/v1/Systems/437XR1138R2", method: "ForceOffOn", triggers: ["Pxe"], allowZeroize: false, installWhileOn: true, providerVersion: "1" });

    it("create refuses a server that is powered on unless it is opted in, and resets nothing", async () => {
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("On");
      const resets = bmc.system().resets.length;
      const e = await rejection(() => p.create({ ...inputs(), installWhileOn: false }));
      assert.match(e.message, /is powered on \(On\) and may be running an OS: a power cycle would reinstall it/);
      assert.equal(bmc.system().resets.length, resets, "a reset was sent");
      assert.equal(bmc.system().powerState, "On");
    });

    it("drift repair sends On only to a server still off: one back on by then gets nothing (issue 21)", async () => {
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("Off");
      const created = await p.create(inputs());
      bmc.setPowerState("Off");
      const read = await p.read(created.id, created.outs);
      assert.equal(read.props!.powerState, "Off");
      bmc.setPowerState("On"); // powered on at the console between the refresh and the up
      const resets = bmc.system().resets.length;
      const repaired = await p.update(created.id, read.props, inputs());
      assert.deepEqual(bmc.system().resets.slice(resets), [], "a running server was reset by drift repair");
      assert.deepEqual(repaired.outs!.resets, []);
      assert.equal(repaired.outs!.powerState, "On");
    });

    it("triggers recorded with the BMC's system URI (before issue 21) do not cycle when it is dropped or changes", async () => {
      const created = await p.create({ ...inputs(), triggers: ["Pxe", "", "/redfish/v1/Systems/437XR1138R2"] });
      const now = { ...inputs(), triggers: ["Pxe", ""] };
      assert.deepEqual(await p.diff(created.id, created.outs, now), { changes: false, replaces: [] });
      const resets = sim.bmc(GENERIC).system().resets.length;
      await p.update(created.id, created.outs, { ...now, bmcAddress: `${GENERIC}:443` });
      assert.equal(sim.bmc(GENERIC).system().resets.length, resets, "a re-addressed BMC's server was power-cycled");
      assert.deepEqual((await p.diff(created.id, created.outs, { ...now, triggers: ["Hdd", ""] })).changes, true, "a new boot target still cycles");
    });

    it("check reports a bad method", async () => {
      assert.deepEqual((await p.check({}, { ...inputs(), method: "Reboot" })).failures!.map((f) => f.property), ["method"]);
    });

    it("create cycles Off then On; read reports drift in PowerState; a trigger change cycles again", async () => {
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("On");
      const created = await p.create(inputs());
      assert.deepEqual(created.outs.resets, ["ForceOff", "On"]);
      assert.equal(created.outs.powerState, "On");
      bmc.setPowerState("Off");
      const read = await p.read(created.id, created.outs);
      assert.equal(read.props!.powerState, "Off");
      assert.equal((await p.diff(created.id, read.props, inputs())).changes, true, "a server found off is drift");
      assert.deepEqual(await p.diff(created.id, created.outs, inputs()), { changes: false, replaces: [] });
      const resetsBefore = bmc.system().resets.length;
      const same = await p.update(created.id, created.outs, { ...inputs(), timeouts: { ...inputs().timeouts, powerMs: 6000 } });
      assert.equal(bmc.system().resets.length, resetsBefore, "no cycle without a trigger change or drift");
      assert.equal(same.outs!.powerState, "Off");
      const repaired = await p.update(created.id, read.props, inputs());
      assert.deepEqual(repaired.outs!.resets, ["On"], "the next up powers a server found off back on");
      bmc.setPowerState("Off");
      const again = await p.update(created.id, created.outs, { ...inputs(), triggers: ["Hdd"] });
      assert.deepEqual(again.outs!.resets, ["On"]);
      assert.equal(bmc.system().powerState, "On");
    });

    it("ForceRestart by configuration", async () => {
      const created = await p.create({ ...inputs(), method: "ForceRestart" });
      assert.deepEqual(created.outs.resets, ["ForceRestart"]);
    });

    it("delete powers off only when allowed", async () => {
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("On");
      const created = await p.create(inputs());
      await p.delete(created.id, created.outs);
      assert.equal(bmc.system().powerState, "On", "not powered off without permission");
      await p.delete(created.id, { ...created.outs, allowZeroize: true });
      assert.equal(bmc.system().powerState, "Off");
    });

    it("delete leaves a server alone when the BMC now reports another UUID", async () => {
      const bmc = sim.bmc(GENERIC);
      bmc.setPowerState("On");
      await p.delete("x", { ...inputs(), uuid: UUID, allowZeroize: true, resets: [], powerState: "On" });
      assert.equal(bmc.system().powerState, "On");
    });
  });

  describe("serialization", () => {
    const providers = { discovery: redfishDiscoveryProvider, bootOnce: bootOnceProvider, powerCycle: powerCycleProvider };

    for (const [name, make] of Object.entries(providers)) {
      it(`${name}: serializes without capturing our modules or undici`, async () => {
        const provider = make();
        const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
        assert.ok(sf.text.length < 20000, `serialized ${name} is ${sf.text.length} chars`);
        assert.doesNotMatch(sf.text, /undici|class RedfishClient|node_modules\/undici/);
        for (const m of ["check", "diff", "create", "read", "update", "delete"]) {
          assert.ok(typeof (provider as unknown as Record<string, unknown>)[m] === "function", m);
          await pulumi.runtime.serializeFunction((provider as unknown as Record<string, (...a: unknown[]) => unknown>)[m]);
        }
      });
    }

    it("a serialized provider runs in a bare Node process (no ts-node preloaded), as in Pulumi's provider host", async () => {
      const provider = bootOnceProvider();
      const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-serialized-"));
      fs.writeFileSync(path.join(dir, "provider.js"), sf.text);
      const inputs = { ...connection(), uuid: OTHER, bmcAddress: GENERIC, systemUri: "/redfish/v1/Systems/437XR1138R2", target: "Cd", allowZeroize: false, installWhileOn: true, providerVersion: "1" };
      fs.writeFileSync(path.join(dir, "inputs.json"), JSON.stringify(inputs));
      const script = `
        const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
        const fs = require("fs");
        const provider = requireFromString(fs.readFileSync(process.argv[1] + "/provider.js", "utf8")).handler();
        const inputs = JSON.parse(fs.readFileSync(process.argv[1] + "/inputs.json", "utf8"));
        (async () => {
          const check = await provider.check({}, inputs);
          const created = await provider.create(inputs);
          console.log(JSON.stringify({ failures: check.failures, id: created.id, target: created.outs.overrideTarget, tsNodeWasLoaded: ".ts" in require.extensions }));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      const { stdout } = await promisify(execFile)(process.execPath, ["-e", script, dir], { cwd: os.tmpdir(), env: { ...process.env, NODE_OPTIONS: "" } });
      const out = JSON.parse(stdout.trim().split("\n").pop()!);
      assert.deepEqual(out.failures, []);
      assert.equal(out.target, "Cd");
      assert.equal(out.tsNodeWasLoaded, true, "the provider registered ts-node itself");
      assert.equal(sim.bmc(GENERIC).system().boot.BootSourceOverrideTarget, "Cd");
    });
  });
});

describe("redfish dynamic providers: a checkout that moved", () => {
  it("a serialized provider whose recorded path is gone loads the operations from the project directory", async () => {
    const provider = bootOnceProvider();
    const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const real = require.resolve("../../providers/redfish/operations");
    assert.ok(sf.text.includes(JSON.stringify(real).slice(1, -1)), "the absolute path is recorded");
    const moved = sf.text.split(JSON.stringify(real).slice(1, -1)).join("/old/checkout/providers/redfish/operations.ts");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-moved-"));
    fs.writeFileSync(path.join(dir, "provider.js"), moved);
    const script = `
      const requireFromString = require(${JSON.stringify(require.resolve("require-from-string"))});
      const provider = requireFromString(require("fs").readFileSync(process.argv[1] + "/provider.js", "utf8")).handler();
      provider.check({}, { uuid: "bad" }).then((r) => console.log(JSON.stringify(r.failures.map((f) => f.property))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script, dir], { cwd: path.resolve(__dirname, "../..") });
    assert.deepEqual(JSON.parse(stdout.trim()), ["uuid", "bmcAddress", "systemUri", "user", "password", "target"]);
  });
});

function byteSwap(u: string): string {
  const [a, b, c, d, e] = u.split("-");
  const s = (h: string) => h.match(/../g)!.reverse().join("");
  return [s(a), s(b), s(c), d, e].join("-").toUpperCase();
}
