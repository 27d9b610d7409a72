/**
 * `kinetic rebuild` gives the machines it replaces new host keys (cli/rebuild.ts): which endpoints,
 * and the `kinetic:hostKeyGenerations` it records. That a raised generation changes exactly that
 * endpoint's key is in test/secretEpochs.test.ts (through the program).
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { raisedGenerations, rebuildResourceNames, renewedEndpoints } from "../cli/rebuild";
import { loadCloud } from "../pillar";

const ROOT = path.resolve(__dirname, "..");

describe("kinetic rebuild: new host keys for the replaced machines", () => {
  const lab = loadCloud(path.join(ROOT, "pillar/lab"), { stack: "lab" });
  const name = (role: string) => lab.endpoints.find((e) => e.role === role)!.name;

  it("a VM: that VM only (keystone's configure re-runs, but keystone keeps its machine and key)", () => {
    assert.deepEqual(renewedEndpoints(lab, rebuildResourceNames(lab, ["mysql"]).names), [name("mysql")]);
  });

  it("a controller: the controller and every VM on it, whose machines go with its disk", () => {
    const renewed = renewedEndpoints(lab, rebuildResourceNames(lab, [name("controller")]).names);
    assert.ok(renewed.includes(name("controller")));
    for (const role of ["mysql", "memcached", "keystone"]) assert.ok(renewed.includes(name(role)), role);
    assert.ok(!renewed.includes(name("pxe")), "the pxe host is upstream and a foundation host");
  });

  it("raises the recorded generation of each, keeping the others", () => {
    assert.deepEqual(raisedGenerations(undefined, ["a"]), { a: 1 });
    assert.deepEqual(raisedGenerations(JSON.stringify({ a: 1, b: 4 }), ["a", "c"]), { a: 2, b: 4, c: 1 });
    assert.throws(() => raisedGenerations("{", ["a"]), /kinetic:hostKeyGenerations in the stack's config is not JSON/);
    assert.throws(() => raisedGenerations(JSON.stringify({ a: "x" }), ["a"]), /kinetic:hostKeyGenerations\.a: "x" is not a whole number/);
  });
});
