/**
 * `kinetic rebuild etcd` through the engine, on a lab of its own (issue 21): pillar/lab's pxe host
 * and physical controller, and an etcd cluster of three VMs on it instead of the identity chain. The
 * first up starts the three members together (each configure on its own, whichever sees the others
 * serving first); then each member leaves (formulas/etcd/leave), its machine is replaced in an up of
 * its own, the new member is added to the running cluster and starts into it (formulas/etcd/configure),
 * and the next goes only once formulas/etcd/health says all three serve again. The keyspace must
 * come through on every member.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { debianRootUnavailable } from "../../lab/debianRoot";
import { loadCloud } from "../../pillar";
import { requirePrerequisite } from "../support/prerequisite";
import type { EngineResult } from "./engineRun";
import { replaceIdentityChain, virtualType } from "./clusterPillar";
import { LabHarness, startLabHarness } from "./labHarness";
import { assertOneMemberAtATime, changedResources } from "./rebuildChecks";

describe("kinetic rebuild etcd, end to end through the engine", function () {
  this.timeout(60 * 60_000);
  let lab: LabHarness;
  const cloud = () => loadCloud(lab.pillarDir, { stack: lab.stack });
  const members = () => cloud().endpoints.filter((e) => e.type === "etcd").sort((a, b) => a.index - b.index);
  const ok = (r: EngineResult, what: string) => lab.ok(r, what);
  const ctl = (address: string, args: string) => lab.ssh(address, `timeout 60 etcdctl --endpoints http://${address}:2379 --dial-timeout 5s --command-timeout 20s ${args}`);
  /** The names of the members the cluster lists, through one member (unstarted ones as such). */
  const listed = (address: string) => (JSON.parse(ctl(address, "member list -w json")).members as { name: string }[]).map((m) => m.name || "(unstarted)").sort();
  /** What this member's own copy holds under kinetic/ (a serializable read: no quorum round). */
  const holds = (address: string) => JSON.stringify((JSON.parse(ctl(address, "get --consistency=s --prefix kinetic/ -w json")).kvs ?? []).map((kv: { key: string; value: string }) => [kv.key, kv.value]));

  before(async function () {
    requirePrerequisite(this, debianRootUnavailable(), "the lab");
    lab = await startLabHarness("etcd", (m) => console.log(`      [lab] ${m}`));
    replaceIdentityChain(lab.pillarDir, virtualType("etcd", 3));
    assert.equal(members().length, 3);
  });

  after(async function () {
    if (lab) await lab.dispose();
  });

  it("up: the three members, configured together, form one cluster that every member lists and serves", async () => {
    ok(await lab.run("up"), "up");
    const names = members().map((m) => m.name).sort();
    for (const m of members()) {
      const deadline = Date.now() + 120_000;
      while (listed(m.address).join() !== names.join() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual(listed(m.address), names, `${m.name}'s cluster`);
      // etcdctl 3.4 prints its verdict on stderr: its status is the answer.
      ctl(m.address, "endpoint health");
    }
  });

  it("rebuild etcd: one member at a time, each back in the cluster before the next; the keyspace kept on every member", async () => {
    const all = members();
    const values = Array.from({ length: 5 }, (_, i) => [`kinetic/probe-${i}`, crypto.randomBytes(12).toString("hex")]);
    for (const [k, v] of values) ctl(all[1].address, `put ${k} ${v}`);
    const before = holds(all[0].address);
    assert.equal(before, JSON.stringify(values.map(([k, v]) => [Buffer.from(k).toString("base64"), Buffer.from(v).toString("base64")])), "the keys reached member 0");
    for (const m of all) lab.ssh(m.address, "touch /root/before-rebuild");

    const r = await lab.run("rebuild", { targets: ["etcd"] });
    console.log(`      [lab] rebuild etcd: ${Math.round((r.endedAt - r.startedAt) / 1000)} s`);
    ok(r, "rebuild");
    // Written out here, not asked of the code under test: each member's machine and phases; no other
    // role here needs etcd.
    const own = (e: { name: string }) => ["provision-domain", "base", "networking", "install", "configure"].map((p) => `${e.name}-${p}`);
    assert.deepEqual(changedResources(r), all.flatMap(own).sort());
    assertOneMemberAtATime(r, all);
    const said = (r.said ?? []).join("\n");
    assert.equal((said.match(/ok {3}etcd-\S+: etcd: etcd-\S+ serves, 3 of 3 members of the pillar in its cluster and serving/g) ?? []).length, 3 * (1 + all.length), said);
    for (const m of all) assert.match(said, new RegExp(`^  left ${m.name}: etcd: ${m.name} left the cluster \\(2 of 2 remain serving\\)`, "m"), `${m.name} left cleanly before its machine went`);
    const names = all.map((m) => m.name).sort();
    for (const m of all) {
      assert.equal(lab.ssh(m.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", `${m.name} has a new disk`);
      assert.deepEqual(listed(m.address), names, `${m.name} lists the three`);
      assert.equal(holds(m.address), before, `the keyspace in ${m.name}'s own copy`);
    }
  });

  it("configure run again on every member (its formula edited): no member added or restarted, nothing lost", async () => {
    const state = (m: { address: string }) => lab.ssh(m.address, "stat -c %i /var/lib/etcd/kinetic/member; systemctl show -p MainPID --value etcd.service").trim();
    const states = members().map(state);
    const before = holds(members()[2].address);
    fs.appendFileSync(path.join(lab.formulasDir, "etcd/configure"), "# edited by the etcd lab test\n");
    const r = await lab.run("up");
    ok(r, "up after the edit");
    assert.deepEqual(changedResources(r), members().map((m) => `${m.name}-configure`).sort());
    const names = members().map((m) => m.name).sort();
    members().forEach((m, i) => {
      assert.equal(state(m), states[i], `${m.name}: same data directory and process`);
      assert.deepEqual(listed(m.address), names);
      assert.equal(holds(m.address), before, `nothing lost on ${m.name}`);
    });
  });
});
