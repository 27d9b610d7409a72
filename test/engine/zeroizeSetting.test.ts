import * as assert from "node:assert/strict";
import { recordedZeroize, zeroizeMismatch } from "../../engine/zeroizeSetting";

describe("zeroizePhysical: the config now against what destroy will apply", () => {
  const urn = (name: string) => `urn:pulumi:lab::kinetic::kinetic:index:Physical$pulumi-nodejs:dynamic:Resource::${name}`;
  const state = [
    { urn: urn("controller-1-boot-once"), inputs: { allowZeroize: false, uuid: "u" } },
    { urn: urn("controller-1-power-cycle"), inputs: { allowZeroize: false } },
    { urn: urn("mysql-1-configure"), inputs: { create: "x" } },
    { urn: urn("controller-1"), },
  ];

  it("reads the recorded value of the resources that keep one", () => {
    assert.deepEqual([...recordedZeroize(state)], [["controller-1-boot-once", false], ["controller-1-power-cycle", false]]);
  });

  it("agrees when the config says what was recorded, and when nothing physical is left", () => {
    assert.equal(zeroizeMismatch(false, recordedZeroize(state)), undefined);
    assert.equal(zeroizeMismatch(true, new Map()), undefined);
  });

  it("names both directions: servers left on, and servers powered off against the config", () => {
    assert.match(zeroizeMismatch(true, recordedZeroize(state))!, /recorded false for 2 resource\(s\) \(controller-1-boot-once, controller-1-power-cycle\).*leave those servers on.*kinetic up/);
    const on = new Map([["controller-1-power-cycle", true]]);
    assert.match(zeroizeMismatch(false, on)!, /is false in the stack's config.*power those servers off.*set it back to true/);
  });
});
