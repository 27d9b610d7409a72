/**
 * `kinetic rebuild ovsdb` through the engine, on a lab of its own (issue 21): pillar/lab's pxe host
 * and physical controller, and three ovsdb members (OVN's northbound and southbound RAFT clusters)
 * as VMs on it instead of the identity chain. The first up founds both clusters on INDEX 0 and the
 * others join; then each member leaves both clusters (formulas/ovsdb/leave), its machine is
 * replaced in an up of its own, the new member joins the running clusters (formulas/ovsdb/configure,
 * INDEX 0 included), and the next goes only once formulas/ovsdb/health says all three are in both
 * clusters again. The clusters themselves must come through (the same cluster IDs) and the
 * northbound rows a tenant's network made before, in every member's own copy.
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

const DBS = [
  { key: "nb", name: "OVN_Northbound", raft: 6643 },
  { key: "sb", name: "OVN_Southbound", raft: 6644 },
];

describe("kinetic rebuild ovsdb, end to end through the engine", function () {
  this.timeout(60 * 60_000);
  let lab: LabHarness;
  const cloud = () => loadCloud(lab.pillarDir, { stack: lab.stack });
  const members = () => cloud().endpoints.filter((e) => e.type === "ovsdb").sort((a, b) => a.index - b.index);
  const ok = (r: EngineResult, what: string) => lab.ok(r, what);
  /** A member's own cluster/status of one database: its cluster ID and the RAFT addresses it lists. */
  const cluster = (address: string, db: (typeof DBS)[number]) => {
    const status = lab.ssh(address, `timeout 20 ovs-appctl -t /var/run/ovn/ovn${db.key}_db.ctl cluster/status ${db.name}`);
    return {
      cid: /^Cluster ID: \S+ \((\S+)\)$/m.exec(status)?.[1] ?? "none",
      servers: [...status.matchAll(/^\s+\S+ \(\S+ at (\S+)\)/gm)].map((m) => m[1]).sort(),
    };
  };
  const addresses = (db: (typeof DBS)[number]) => members().map((m) => `tcp:${m.address}:${db.raft}`).sort();
  /** The logical switches and routers in a member's own copy of the northbound database. */
  const rows = (address: string) =>
    ["ls-list", "lr-list"].map((c) => lab.ssh(address, `timeout 30 ovn-nbctl --no-leader-only --db=tcp:${address}:6641 ${c}`).replace(/^\S+ \(|\)$/gm, "").split("\n").filter(Boolean).sort().join(" ")).join(" | ");

  before(async function () {
    requirePrerequisite(this, debianRootUnavailable(), "the lab");
    lab = await startLabHarness("ovsdb", (m) => console.log(`      [lab] ${m}`));
    replaceIdentityChain(lab.pillarDir, virtualType("ovsdb", 3));
    assert.equal(members().length, 3);
  });

  after(async function () {
    if (lab) await lab.dispose();
  });

  it("up: the three members, configured together, form one northbound and one southbound cluster that every member lists", async () => {
    ok(await lab.run("up"), "up");
    for (const db of DBS) {
      for (const m of members()) {
        const deadline = Date.now() + 120_000;
        while (cluster(m.address, db).servers.join() !== addresses(db).join() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 3000));
        assert.deepEqual(cluster(m.address, db).servers, addresses(db), `${m.name}'s ${db.name} cluster`);
      }
      assert.equal(new Set(members().map((m) => cluster(m.address, db).cid)).size, 1, `one ${db.name} cluster`);
    }
  });

  it("rebuild ovsdb: one member at a time, each back in both clusters before the next; the clusters and their rows kept on every member", async () => {
    const all = members();
    const tag = crypto.randomBytes(4).toString("hex");
    const nbctl = (args: string) => lab.ssh(all[1].address, `timeout 30 ovn-nbctl --db=${all.map((m) => `tcp:${m.address}:6641`).join(",")} ${args}`);
    nbctl(`ls-add kinetic-probe-net-${tag}`);
    nbctl(`lsp-add kinetic-probe-net-${tag} kinetic-probe-port-${tag}`);
    nbctl(`lr-add kinetic-probe-router-${tag}`);
    const before = rows(all[0].address);
    assert.equal(before, `kinetic-probe-net-${tag} | kinetic-probe-router-${tag}`, "the rows reached member 0");
    const cids = DBS.map((db) => cluster(all[0].address, db).cid);
    for (const m of all) lab.ssh(m.address, "touch /root/before-rebuild");

    const r = await lab.run("rebuild", { targets: ["ovsdb"] });
    console.log(`      [lab] rebuild ovsdb: ${Math.round((r.endedAt - r.startedAt) / 1000)} s`);
    ok(r, "rebuild");
    // Written out here, not asked of the code under test: each member's machine and phases; no other
    // role here needs ovsdb.
    const own = (e: { name: string }) => ["provision-domain", "base", "networking", "install", "configure"].map((p) => `${e.name}-${p}`);
    assert.deepEqual(changedResources(r), all.flatMap(own).sort());
    assertOneMemberAtATime(r, all);
    const said = (r.said ?? []).join("\n");
    assert.equal((said.match(/ok {3}ovsdb-\S+: ovsdb: \S+ serves OVN_Northbound OVN_Southbound, each with a leader and all 3 members of the pillar in its cluster/g) ?? []).length, 3 * (1 + all.length), said);
    for (const m of all) {
      const left = `^  left ${m.name}: ovsdb: ${m.address.replace(/\./g, "\\.")} left its clusters \\(OVN_Northbound: 2 of 2 remain connected; OVN_Southbound: 2 of 2 remain connected\\)`;
      assert.match(said, new RegExp(left, "m"), `${m.name} left cleanly before its machine went`);
    }
    for (const m of all) {
      assert.equal(lab.ssh(m.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", `${m.name} has a new disk`);
      DBS.forEach((db, i) => {
        const c = cluster(m.address, db);
        assert.deepEqual(c.servers, addresses(db), `${m.name} lists the three in ${db.name}`);
        assert.equal(c.cid, cids[i], `${m.name} is in the same ${db.name} cluster as before, not a new one`);
      });
      assert.equal(rows(m.address), before, `the rows in ${m.name}'s own copy`);
    }
  });

  it("configure run again on every member (its formula edited): no database joined again or restarted, nothing lost", async () => {
    const state = (m: { address: string }) =>
      lab.ssh(m.address, "stat -c %i /var/lib/ovn/ovnnb_db.db /var/lib/ovn/ovnsb_db.db; systemctl show -p MainPID --value ovn-ovsdb-server-nb.service ovn-ovsdb-server-sb.service").trim();
    const states = members().map(state);
    const before = rows(members()[2].address);
    fs.appendFileSync(path.join(lab.formulasDir, "ovsdb/configure"), "# edited by the ovsdb lab test\n");
    const r = await lab.run("up");
    ok(r, "up after the edit");
    assert.deepEqual(changedResources(r), members().map((m) => `${m.name}-configure`).sort());
    members().forEach((m, i) => {
      assert.equal(state(m), states[i], `${m.name}: same database files and processes`);
      for (const db of DBS) assert.deepEqual(cluster(m.address, db).servers, addresses(db));
      assert.equal(rows(m.address), before, `nothing lost on ${m.name}`);
    });
  });
});
