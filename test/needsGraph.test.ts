import * as assert from "node:assert/strict";
import { expandEndpoints } from "../pillar/endpoints";
import { buildNeedsGraph, criticalPath, needMet, NeedsGraph, NOMINAL_MINUTES, waves } from "../pillar/needsGraph";
import { findCycle, typePhaseEdges } from "../pillar/typeGraph";
import { hostType, pillarOf } from "./support/pillars";

const UUID_A = "00000000-0000-4000-8000-00000000000a";
const UUID_B = "00000000-0000-4000-8000-00000000000b";

/** A cloud with every kind of edge: foundation pxe, two physical controllers, virtual types with needs. */
function sampleGraph(): { g: NeedsGraph; name: (type: string, i?: number) => string } {
  const pillar = pillarOf([
    hostType("pxe", { style: "foundation", count: 1, addresses: ["10.0.0.2"] }),
    hostType("controller", { style: "physical", role: "controller", uuids: [UUID_A, UUID_B], count: 2, needs: { configure: { pxe: "configure" } } }),
    hostType("mysql", { count: 3, needs: { install: { controller: "configure" } } }),
    hostType("keystone", { count: 2, needs: { configure: { mysql: "configure" }, networking: { mysql: "base" } } }),
  ]);
  const { endpoints } = expandEndpoints(pillar, "test", {});
  const name = (type: string, i = 0) => endpoints.filter((e) => e.type === type)[i].name;
  return { g: buildNeedsGraph(pillar, endpoints), name };
}

const preds = (g: NeedsGraph, id: string) => g.preds.get(id)!.map((p) => `${p.kind}:${p.id}`).sort();

describe("needs graph", () => {
  it("meets a need when the dependency reached or passed the phase (the original wanted an exact match)", () => {
    assert.equal(needMet("install", ["install", "configure"]), true);
    assert.equal(needMet("networking", ["configure"]), true);
    assert.equal(needMet("configure", ["configure", "install"]), false);
    assert.equal(needMet("base", [undefined]), false);
    assert.equal(needMet("base", []), true, "a type with no endpoints holds nobody back");
  });

  it("chains an endpoint's steps: provision, base, networking, install, configure", () => {
    const { g, name } = sampleGraph();
    const m = name("mysql", 1);
    assert.deepEqual(preds(g, `${m}/base`), [`chain:${m}/provision`]);
    assert.deepEqual(preds(g, `${m}/networking`), [`chain:${m}/base`]);
  });

  it("makes every endpoint of a type wait for every endpoint of each type it needs", () => {
    const { g, name } = sampleGraph();
    const k1 = name("keystone", 1);
    assert.deepEqual(preds(g, `${k1}/configure`), [
      `chain:${k1}/install`,
      ...[0, 1, 2].map((i) => `needs:${name("mysql", i)}/configure`),
      `spawning-0:${name("keystone", 0)}/configure`,
    ].sort());
    assert.deepEqual(preds(g, `${k1}/networking`), [`chain:${k1}/base`, ...[0, 1, 2].map((i) => `needs:${name("mysql", i)}/base`)].sort());
  });

  it("lets endpoint 0 configure before the others of its type (spawning 0), and only in configure", () => {
    const { g, name } = sampleGraph();
    const m0 = name("mysql", 0);
    assert.ok(!preds(g, `${m0}/configure`).some((p) => p.startsWith("spawning-0")));
    for (const i of [1, 2]) assert.ok(preds(g, `${name("mysql", i)}/configure`).includes(`spawning-0:${m0}/configure`));
    assert.ok(!preds(g, `${name("mysql", 1)}/install`).some((p) => p.startsWith("spawning-0")));
  });

  it("makes physical provisioning wait for pxe and virtual provisioning for its own controller only", () => {
    const { g, name } = sampleGraph();
    assert.deepEqual(preds(g, `${name("controller", 1)}/provision`), [`pxe:${name("pxe")}/configure`]);
    const vm = g.nodes.get(`${name("mysql", 0)}/provision`)!.endpoint;
    assert.deepEqual(preds(g, `${vm.name}/provision`), [`controller:${vm.controller}/configure`]);
    assert.equal(g.nodes.has(`${name("pxe")}/provision`), false, "a foundation host is not provisioned");
  });

  it("computes waves and the critical path", () => {
    const { g, name } = sampleGraph();
    const w = waves(g);
    assert.deepEqual(w[0], [`${name("pxe")}/base`]);
    assert.equal(w.flat().length, g.nodes.size);
    const cp = criticalPath(g);
    assert.equal(cp.path[0], `${name("pxe")}/base`);
    assert.match(cp.path.at(-1)!, /^keystone-.*\/configure$/);
    assert.equal(cp.minutes, cp.path.reduce((s, id) => s + NOMINAL_MINUTES[g.nodes.get(id)!.step], 0));
    // pxe(4 phases) -> controller(5) -> controller 1 configure -> mysql: provision..configure, mysql1 configure -> keystone1 configure
    assert.equal(cp.path.length, 4 + 5 + 1 + 5 + 1 + 1 + 1);
  });

  it("finds dependency cycles across types and phases", () => {
    const types = [
      hostType("mysql", { needs: { configure: { keystone: "install" } } }),
      hostType("keystone", { needs: { install: { mysql: "configure" } } }),
    ];
    const cycle = findCycle(typePhaseEdges(types));
    assert.deepEqual(cycle, ["keystone.install", "mysql.configure", "keystone.install"]);
    assert.equal(findCycle(typePhaseEdges([hostType("a", { needs: { configure: { b: "configure" } } }), hostType("b", {})])), undefined);
  });
});
