/**
 * `kinetic rebuild rabbitmq` through the engine, on a lab of its own (issue 21): pillar/lab's pxe
 * host and physical controller, and a RabbitMQ cluster of three VMs on it instead of the identity
 * chain. Each node leaves (formulas/rabbitmq/leave), its machine is replaced in an up of its own,
 * the new node joins the running cluster of the others (formulas/rabbitmq/configure), and the next
 * goes only once formulas/rabbitmq/health says every node runs in one cluster again. What RabbitMQ
 * holds that the pillar cannot re-derive (users, their passwords and permissions, vhosts, policies
 * an operator added) must come through on every node.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { debianRootUnavailable } from "../../lab/debianRoot";
import { loadCloud } from "../../pillar";
import { requirePrerequisite } from "../support/prerequisite";
import type { EngineResult } from "./engineRun";
import { replaceIdentityChain, virtualType } from "./clusterPillar";
import { LabHarness, startLabHarness } from "./labHarness";
import { assertOneMemberAtATime, changedResources } from "./rebuildChecks";

describe("kinetic rebuild rabbitmq, end to end through the engine", function () {
  this.timeout(60 * 60_000);
  let lab: LabHarness;
  const cloud = () => loadCloud(lab.pillarDir, { stack: lab.stack });
  const nodes = () => cloud().endpoints.filter((e) => e.type === "rabbitmq").sort((a, b) => a.index - b.index);
  const ok = (r: EngineResult, what: string) => lab.ok(r, what);
  const ctl = (address: string, args: string) => lab.ssh(address, `rabbitmqctl -q ${args}`);
  /** What the cluster holds on one node: users with tags, vhosts, permissions, policies (sorted lines). */
  const holds = (address: string) =>
    ["list_users", "list_vhosts", "list_permissions -p /", "list_permissions -p kinetic-probe", "list_policies -p kinetic-probe"]
      .map((a) => `${a}:\n${ctl(address, a).split("\n").map((l) => l.trim()).filter(Boolean).sort().join("\n")}`)
      .join("\n");
  const running = (address: string) => JSON.parse(ctl(address, "cluster_status --formatter json")).running_nodes.sort() as string[];

  before(async function () {
    requirePrerequisite(this, debianRootUnavailable(), "the lab");
    lab = await startLabHarness("rmq", (m) => console.log(`      [lab] ${m}`));
    replaceIdentityChain(lab.pillarDir, virtualType("rabbitmq", 3));
    assert.equal(nodes().length, 3);
  });

  after(async function () {
    if (lab) await lab.dispose();
  });

  it("up: three nodes in one cluster, the openstack user, no guest", async () => {
    ok(await lab.run("up"), "up");
    const names = nodes().map((n) => `rabbit@${n.name}`).sort();
    for (const n of nodes()) assert.deepEqual(running(n.address), names, `${n.name}'s cluster`);
    const users = ctl(nodes()[1].address, "list_users");
    assert.match(users, /^openstack\s/m);
    assert.doesNotMatch(users, /^guest\s/m);
  });

  it("rebuild rabbitmq: one node at a time, each back in the cluster before the next; users, vhosts, permissions and policies kept", async () => {
    const members = nodes();
    // Data nobody can re-derive from the pillar: an operator's vhost, user, permission and policy.
    const a = members[1].address;
    ctl(a, "add_vhost kinetic-probe");
    lab.ssh(a, "printf 'probe-password-1' | rabbitmqctl -q add_user kinetic-probe");
    ctl(a, "set_user_tags kinetic-probe monitoring");
    ctl(a, "set_permissions -p kinetic-probe kinetic-probe '^probe-.*' '^probe-.*' '.*'");
    ctl(a, `set_policy -p kinetic-probe probe-ttl '^probe-' '{"message-ttl":60000}' --apply-to queues`);
    const before = holds(members[0].address);
    assert.match(before, /^kinetic-probe\s+\[monitoring\]$/m, "the probe user reached node 0");
    for (const m of members) lab.ssh(m.address, "touch /root/before-rebuild");

    const r = await lab.run("rebuild", { targets: ["rabbitmq"] });
    console.log(`      [lab] rebuild rabbitmq: ${Math.round((r.endedAt - r.startedAt) / 1000)} s`);
    ok(r, "rebuild");
    // Written out here, not asked of the code under test: each node's machine and phases; no other
    // role here reads rabbitmq's values.
    const own = (e: { name: string }) => ["provision-domain", "base", "networking", "install", "configure"].map((p) => `${e.name}-${p}`);
    assert.deepEqual(changedResources(r), members.flatMap(own).sort());
    // One at a time: a node's machine goes only after the previous node's configure ended.
    assertOneMemberAtATime(r, members);
    const said = (r.said ?? []).join("\n");
    // The gate: before the first up and after each (3 nodes each time).
    assert.equal((said.match(/ok {3}rabbitmq-\S+: rabbitmq: rabbit@\S+ running, 3 of 3 nodes in its cluster, no partition/g) ?? []).length, 3 * (1 + members.length), said);
    for (const m of members) assert.match(said, new RegExp(`^  left ${m.name}: rabbitmq: rabbit@${m.name} left the cluster`, "m"), `${m.name} left cleanly before its machine went`);
    const names = members.map((n) => `rabbit@${n.name}`).sort();
    for (const m of members) {
      assert.equal(lab.ssh(m.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", `${m.name} has a new disk`);
      assert.deepEqual(running(m.address), names, `${m.name} runs in the one cluster of three`);
      assert.equal(holds(m.address), before, `users, vhosts, permissions and policies, on ${m.name}`);
    }
    // The probe user's password came through too (a user is its password hash, replicated).
    assert.match(lab.ssh(members[0].address, "rabbitmqctl authenticate_user kinetic-probe probe-password-1"), /Success/);
  });

  it("configure run again on every clustered node (its formula edited): no node joins or resets, nothing lost", async () => {
    // join_cluster resets the joining node: only a node clustered with no other member may do it.
    // A reset deletes the node's database directory, so its inode says whether one happened.
    const dbDir = (n: { name: string; address: string }) => lab.ssh(n.address, `stat -c %i /var/lib/rabbitmq/mnesia/rabbit@${n.name}`).trim();
    const dirs = nodes().map(dbDir);
    const before = holds(nodes()[2].address);
    fs.appendFileSync(path.join(lab.formulasDir, "rabbitmq/configure"), "# edited by the rabbitmq lab test\n");
    const r = await lab.run("up");
    ok(r, "up after the edit");
    assert.deepEqual(changedResources(r), nodes().map((n) => `${n.name}-configure`).sort());
    const names = nodes().map((n) => `rabbit@${n.name}`).sort();
    nodes().forEach((n, i) => {
      assert.equal(dbDir(n), dirs[i], `${n.name} was not reset`);
      assert.deepEqual(running(n.address), names);
      assert.equal(holds(n.address), before, `nothing lost on ${n.name}`);
    });
  });
});
