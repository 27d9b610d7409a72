/**
 * Every vendor profile end to end: find the system without a hard-coded id, set boot-once PXE (read
 * back), power-cycle, and see the server boot from the network exactly once. Then the mode rules:
 * sent only when asked, Supermicro's required mode, HPE's read-only mode, Dell's settings object.
 */
import * as assert from "node:assert/strict";
import { readBootOverride, setBootOnce } from "../../providers/redfish/boot";
import { withSession } from "../../providers/redfish/client";
import * as errors from "../../providers/redfish/errors";
import { powerCycle } from "../../providers/redfish/power";
import { listSystems } from "../../providers/redfish/systems";
import type { Simulator, VendorProfile } from "../../simulator/types";
import { address, assertNoOpenSessions, clientOptions, rejection, simulate } from "./harness";

const PROFILES: { profile: VendorProfile; id: string; systems: number }[] = [
  { profile: "generic", id: "437XR1138R2", systems: 1 },
  { profile: "dell", id: "System.Embedded.1", systems: 1 },
  { profile: "hpe", id: "1", systems: 1 },
  { profile: "supermicro", id: "1", systems: 1 },
  { profile: "openbmc", id: "system", systems: 1 },
  { profile: "ami", id: "Self", systems: 1 },
  { profile: "lenovo", id: "1", systems: 1 },
  { profile: "bladed", id: "529QB9450R6", systems: 4 },
];

describe("redfish vendor profiles (simulator)", function () {
  this.timeout(60000);
  let sim: Simulator;
  const at = (i: number): string => address(2, i + 1);

  before(async () => {
    sim = await simulate(PROFILES.map((p, i) => ({ address: at(i), profile: p.profile })));
  });
  after(async () => {
    await sim?.stop();
  });
  afterEach(() => assertNoOpenSessions(sim));

  PROFILES.forEach((p, i) => {
    it(`${p.profile}: walks Systems, sets boot-once PXE, power-cycles, boots from PXE once`, async () => {
      const bmc = sim.bmc(at(i));
      const systems = await withSession(clientOptions(at(i)), listSystems);
      assert.equal(systems.length, p.systems);
      assert.equal(systems[0].uri, `/redfish/v1/Systems/${p.id}`);
      assert.equal(systems[0].uuid, bmc.system(0).uuid);
      const uri = systems[systems.length - 1].uri;
      const index = systems.length - 1;

      const after = await withSession(clientOptions(at(i)), (c) => setBootOnce(c, uri, { target: "Pxe", uuid: systems[index].uuid }));
      assert.deepEqual([after.target, after.enabled], ["Pxe", "Once"]);
      const snap = bmc.system(index);
      // Target and Enabled are effective on the system itself for every vendor (Dell's settings object
      // only holds the mode; nothing is staged there when no mode is asked).
      assert.deepEqual([snap.boot.BootSourceOverrideTarget, snap.boot.BootSourceOverrideEnabled], ["Pxe", "Once"]);
      assert.equal(snap.pendingBoot, undefined);

      const resets = await withSession(clientOptions(at(i)), (c) => powerCycle(c, uri, { method: "ForceOffOn", uuid: systems[index].uuid, timeoutMs: 5000, pollMs: 25 }));
      assert.deepEqual(resets, ["ForceOff", "On"]);
      const done = bmc.system(index);
      assert.equal(done.powerState, "On");
      assert.deepEqual(done.resets.slice(-2), ["ForceOff", "On"]);
      assert.equal(done.boots[done.boots.length - 1].target, "Pxe");
      const now = await withSession(clientOptions(at(i)), (c) => readBootOverride(c, uri));
      assert.equal(now.enabled, "Disabled", "the Once override was consumed by the boot");
    });
  });

  it("sends BootSourceOverrideMode only when asked (generic)", async () => {
    const bmc = sim.bmc(at(0));
    let before = bmc.requests.length;
    await withSession(clientOptions(at(0)), (c) => setBootOnce(c, "/redfish/v1/Systems/437XR1138R2", { target: "Pxe" }));
    const plain = bmc.requests.slice(before).find((r) => r.method === "PATCH")!;
    assert.deepEqual(JSON.parse(plain.body), { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" } });
    before = bmc.requests.length;
    const after = await withSession(clientOptions(at(0)), (c) => setBootOnce(c, "/redfish/v1/Systems/437XR1138R2", { target: "Pxe", mode: "Legacy" }));
    assert.equal(after.mode, "Legacy");
    const withMode = bmc.requests.slice(before).find((r) => r.method === "PATCH")!;
    assert.equal(JSON.parse(withMode.body).Boot.BootSourceOverrideMode, "Legacy");
  });

  it("Supermicro: sends the current mode with the target, because the BMC requires it", async () => {
    const bmc = sim.bmc(at(3));
    const before = bmc.requests.length;
    await withSession(clientOptions(at(3)), (c) => setBootOnce(c, "/redfish/v1/Systems/1", { target: "Hdd" }));
    const patch = bmc.requests.slice(before).filter((r) => r.method === "PATCH");
    assert.equal(patch.length, 1);
    assert.equal(JSON.parse(patch[0].body).Boot.BootSourceOverrideMode, bmc.system().boot.BootSourceOverrideMode);
  });

  it("HPE: a requested mode is refused by the BMC, and the error carries its message", async () => {
    const e = await rejection(() => withSession(clientOptions(at(2)), (c) => setBootOnce(c, "/redfish/v1/Systems/1", { target: "Pxe", mode: "Legacy" })));
    assert.ok(errors.isRedfishHttpError(e), String(e));
    assert.equal(e.status, 400);
    assert.ok((e.messageIds as string[]).some((id) => /PropertyNotWritable/.test(id)));
  });

  it("Dell: a mode is written to the @Redfish.Settings object, target and Enabled to the system", async () => {
    const bmc = sim.bmc(at(1));
    const before = bmc.requests.length;
    const after = await withSession(clientOptions(at(1)), (c) => setBootOnce(c, "/redfish/v1/Systems/System.Embedded.1", { target: "Pxe", mode: "Legacy" }));
    assert.deepEqual([after.target, after.mode], ["Pxe", "Legacy"]);
    const patches = bmc.requests.slice(before).filter((r) => r.method === "PATCH");
    assert.deepEqual(patches.map((r) => [r.path, r.status]), [["/redfish/v1/Systems/System.Embedded.1/Settings", 200], ["/redfish/v1/Systems/System.Embedded.1", 200]]);
    assert.deepEqual(JSON.parse(patches[0].body).Boot, { BootSourceOverrideMode: "Legacy" });
    assert.deepEqual(Object.keys(JSON.parse(patches[1].body).Boot).sort(), ["BootSourceOverrideEnabled", "BootSourceOverrideTarget"]);
  });

  it("ForceRestart and GracefulRestart by configuration; an Off server is just turned On", async () => {
    const bmc = sim.bmc(at(0));
    const uri = "/redfish/v1/Systems/437XR1138R2";
    const cycle = (method: "ForceRestart" | "GracefulRestart") => withSession(clientOptions(at(0)), (c) => powerCycle(c, uri, { method, timeoutMs: 5000, pollMs: 25 }));
    assert.deepEqual(await cycle("ForceRestart"), ["ForceRestart"]);
    assert.deepEqual(await cycle("GracefulRestart"), ["GracefulRestart"]);
    bmc.setPowerState("Off");
    assert.deepEqual(await cycle("ForceRestart"), ["On"]);
    assert.equal(bmc.system().powerState, "On");
  });

  it("fails at the deadline when PowerState never arrives", async () => {
    const slow = await simulate([{ address: address(2, 50), powerDelayMs: 5000 }]);
    try {
      const e = await rejection(() => withSession(clientOptions(address(2, 50)), (c) => powerCycle(c, "/redfish/v1/Systems/437XR1138R2", { method: "ForceOffOn", timeoutMs: 300, pollMs: 50 })));
      assert.ok(errors.isRedfishTimeoutError(e), String(e));
      assert.match(e.message, /PowerState Off/);
      assertNoOpenSessions(slow);
    } finally {
      await slow.stop();
    }
  });

  it("refuses to act on a system that reports another UUID", async () => {
    const e = await rejection(() => withSession(clientOptions(at(0)), (c) => powerCycle(c, "/redfish/v1/Systems/437XR1138R2", { method: "ForceOffOn", uuid: "12345678-1234-1234-1234-123456789abc", timeoutMs: 1000, pollMs: 25 })));
    assert.ok(errors.isWrongSystemError(e));
  });
});
