/**
 * `kinetic rebuild` never wipes a cluster (cli/rebuildPlan.ts, issue 21): members of a clustered
 * type one per up, the phases that need them last; refused, before anything changes, where a
 * cluster would lose its majority or its last copy, or its formulas cannot rejoin a new member.
 * Every expected name is written out from the pillar here, not asked of the code under test.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { planRebuild, RebuildPlan } from "../cli/rebuildPlan";
import { rolesRestoredWhole } from "../cli/backupRecipes";
import { clusterRoles, quorum } from "../formulas/clusters";
import { Cloud, loadCloud } from "../pillar";

const ROOT = path.resolve(__dirname, "..");
const PHASES = ["provision-domain", "base", "networking", "install", "configure"];

/** pillar/lab with `count` mysql endpoints (a copy in a temporary directory). */
function labWithMysql(count: number): Cloud {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-rebuild-plan-"));
  try {
    fs.cpSync(path.join(ROOT, "pillar/lab"), dir, { recursive: true });
    const hosts = path.join(dir, "hosts.yaml");
    const text = fs.readFileSync(hosts, "utf8").replace(/(  mysql:\n    style: virtual\n    count: )1/, `$1${count}`);
    fs.writeFileSync(hosts, text);
    return loadCloud(dir, { stack: "lab" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** pillar/lab with `count` Ceph monitors added (a copy in a temporary directory). */
function labWithCephmon(count: number): Cloud {
  return labWithType("cephmon", count);
}

/** pillar/lab with `count` endpoints of a virtual type added (a copy in a temporary directory). */
function labWithType(type: string, count: number): Cloud {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-rebuild-plan-"));
  try {
    fs.cpSync(path.join(ROOT, "pillar/lab"), dir, { recursive: true });
    const added = [`  ${type}:`, "    style: virtual", `    count: ${count}`, "    ram: 1048576", "    cpu: 1", "    disk: 4G", "    os: ubuntu2204", "    networks:", "      management:", "        interfaces: [ens3]", ""];
    fs.appendFileSync(path.join(dir, "hosts.yaml"), added.join("\n"));
    return loadCloud(dir, { stack: "lab" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const steps = (p: RebuildPlan) => {
  assert.equal(p.kind, "plan", p.kind === "refuse" ? p.lines.join("\n") : "");
  return p.kind === "plan" ? p.steps.map((s) => ({ machines: s.machines, names: [...s.names].sort(), gates: s.gates })) : [];
};
const refusal = (p: RebuildPlan) => (p.kind === "refuse" ? p.lines.join("\n") : assert.fail(`planned, not refused: ${JSON.stringify(steps(p))}`));

describe("kinetic rebuild: clustered roles one member at a time (issue 21)", () => {
  const clusters = clusterRoles();

  it("the formulas declare the clustered roles; mysql's, rabbitmq's, cephmon's, etcd's and ovsdb's can rejoin a rebuilt member (they have a health formula)", () => {
    assert.deepEqual([...clusters.keys()].sort(), ["cephmon", "etcd", "mysql", "ovsdb", "rabbitmq"]);
    for (const r of ["mysql", "rabbitmq", "cephmon", "etcd", "ovsdb"]) {
      assert.equal(clusters.get(r)?.health, `${r}/health`);
      assert.equal(clusters.get(r)?.leave, `${r}/leave`);
    }
    assert.match(clusters.get("mysql")!.holds, /every service's database/);
    assert.deepEqual([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
  });

  it("three mysql members: each alone in its own up, in index order, then keystone's configure; the cluster checked before and after each", () => {
    const lab = labWithMysql(3);
    const m = lab.endpoints.filter((e) => e.type === "mysql").map((e) => e.name);
    const keystone = lab.endpoints.find((e) => e.type === "keystone")!.name;
    const plan = planRebuild(lab, ["mysql"], clusters);
    assert.deepEqual(steps(plan), [
      ...m.map((name) => ({ machines: [name], names: PHASES.map((p) => `${name}-${p}`).sort(), gates: ["mysql"] })),
      { machines: [], names: [`${keystone}-configure`], gates: ["mysql"] },
    ]);
    assert.deepEqual(plan.kind === "plan" && plan.before, ["mysql"]);
  });

  it("one named member of three: its own up, then the phases downstream of it", () => {
    const lab = labWithMysql(3);
    const [m0, m1, m2] = lab.endpoints.filter((e) => e.type === "mysql").map((e) => e.name);
    const keystone = lab.endpoints.find((e) => e.type === "keystone")!.name;
    // mysql 1 and 2 join the cluster mysql 0 started (their configure needs its): rebuilding 0 runs theirs again.
    assert.deepEqual(steps(planRebuild(lab, [m0], clusters)), [
      { machines: [m0], names: PHASES.map((p) => `${m0}-${p}`).sort(), gates: ["mysql"] },
      { machines: [], names: [`${m1}-configure`, `${m2}-configure`, `${keystone}-configure`].sort(), gates: ["mysql"] },
    ]);
  });

  it("refuses the only member, or one of two: the data would be gone or the survivor without a majority", () => {
    assert.match(refusal(planRebuild(labWithMysql(1), ["mysql"], clusters)), /^rebuild: refused: mysql has 1 member\(s\) holding every service's database .*; rebuilding mysql-\S+ leaves 0, and a cluster of 1 needs 1 up to keep its data: give mysql count >= 3/);
    assert.match(refusal(planRebuild(labWithMysql(2), ["mysql-" + labWithMysql(2).endpoints.find((e) => e.type === "mysql" && e.index === 1)!.uuid], clusters)), /mysql has 2 member\(s\).* leaves 1, and a cluster of 2 needs 2 up/);
  });

  it("refuses a controller whose rebuild takes a majority of a cluster down with it", () => {
    const lab = labWithMysql(3);
    const controller = lab.endpoints.find((e) => e.type === "controller")!.name;
    assert.match(refusal(planRebuild(lab, [controller], clusters)), new RegExp(`^rebuild: refused: rebuilding ${controller} takes (mysql-\\S+(, )?){3} down at once, leaving 0 of mysql's 3 members`));
  });

  it("a role that is not clustered is one up, with no gate", () => {
    const lab = labWithMysql(3);
    const keystone = lab.endpoints.find((e) => e.type === "keystone")!.name;
    assert.deepEqual(steps(planRebuild(lab, ["keystone"], clusters)), [{ machines: [keystone], names: PHASES.map((p) => `${keystone}-${p}`).sort(), gates: [] }]);
  });

  it("on the sample pillar: a clustered role whose formulas cannot rejoin a member is refused, and so is a controller carrying one", () => {
    const sample = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "sample" });
    // Every clustered role of the tree has its health formula now: ovsdb's taken away here.
    const withoutHealth = new Map(clusters);
    withoutHealth.set("ovsdb", { role: "ovsdb", holds: clusters.get("ovsdb")!.holds });
    assert.match(refusal(planRebuild(sample, ["ovsdb"], withoutHealth)), /ovsdb-\S+ is a member of ovsdb, which holds .*no health formula/);
    const controller = sample.endpoints.find((e) => e.type === "controller")!;
    // Its rabbitmq node, monitor and etcd member are each one of three that can rejoin: not a reason; the role that cannot is.
    const carried = sample.endpoints.filter((e) => e.controller === controller.name && e.role === "ovsdb");
    assert.ok(carried.length > 0, "the sample's first controller carries a member of a clustered role");
    const why = refusal(planRebuild(sample, [controller.name], withoutHealth));
    for (const e of carried) assert.ok(why.includes(e.name), `${e.name} named: ${why}`);
    // With its formulas as they are, the sample's one ovsdb member is still refused: it is the last copy.
    assert.match(refusal(planRebuild(sample, ["ovsdb"], clusters)), /^rebuild: refused: ovsdb has 1 member\(s\) holding OVN's northbound and southbound databases.*leaves 0, and a cluster of 1 needs 1 up/);
  });

  it("three ovsdb members: each alone in its own up, in index order, gated on both RAFT clusters before the first and after each", () => {
    const lab = labWithType("ovsdb", 3);
    const m = lab.endpoints.filter((e) => e.type === "ovsdb").sort((a, b) => a.index - b.index).map((e) => e.name);
    assert.equal(m.length, 3);
    const plan = planRebuild(lab, ["ovsdb"], clusters);
    // No role of pillar/lab needs ovsdb (no neutron there): nothing downstream, so no last up.
    assert.deepEqual(steps(plan), m.map((name) => ({ machines: [name], names: PHASES.map((p) => `${name}-${p}`).sort(), gates: ["ovsdb"] })));
    assert.deepEqual(plan.kind === "plan" && plan.before, ["ovsdb"]);
  });

  it("on the sample pillar: rabbitmq's three nodes one at a time, each gated on the whole cluster, then the phases that need it", () => {
    const sample = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "sample" });
    const r = sample.endpoints.filter((e) => e.type === "rabbitmq").sort((a, b) => a.index - b.index).map((e) => e.name);
    assert.equal(r.length, 3);
    const plan = planRebuild(sample, ["rabbitmq"], clusters);
    const got = steps(plan);
    assert.deepEqual(got.slice(0, 3), r.map((name) => ({ machines: [name], names: PHASES.map((p) => `${name}-${p}`).sort(), gates: ["rabbitmq"] })));
    // Then one up of everything downstream: no machine, every name a configure of another role.
    assert.equal(got.length, 4);
    assert.deepEqual(got[3].machines, []);
    assert.ok(got[3].names.length > 0 && got[3].names.every((n) => n.endsWith("-configure") && !r.some((m) => n.startsWith(m))), got[3].names.join(", "));
    assert.deepEqual(plan.kind === "plan" && plan.before, ["rabbitmq"]);
  });

  it("on the sample pillar: etcd's three members one at a time, each gated on the whole cluster", () => {
    const sample = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "sample" });
    const e = sample.endpoints.filter((x) => x.type === "etcd").sort((a, b) => a.index - b.index).map((x) => x.name);
    assert.equal(e.length, 3);
    const plan = planRebuild(sample, ["etcd"], clusters);
    assert.deepEqual(steps(plan).slice(0, 3), e.map((name) => ({ machines: [name], names: PHASES.map((p) => `${name}-${p}`).sort(), gates: ["etcd"] })));
    assert.deepEqual(plan.kind === "plan" && plan.before, ["etcd"]);
  });

  it("three Ceph monitors: each alone in its own up, in index order, gated on the whole quorum before the first and after each", () => {
    const lab = labWithCephmon(3);
    const m = lab.endpoints.filter((e) => e.type === "cephmon").sort((a, b) => a.index - b.index).map((e) => e.name);
    assert.equal(m.length, 3);
    const plan = planRebuild(lab, ["cephmon"], clusters);
    // No role of pillar/lab needs cephmon: nothing downstream, so no last up.
    assert.deepEqual(steps(plan), m.map((name) => ({ machines: [name], names: PHASES.map((p) => `${name}-${p}`).sort(), gates: ["cephmon"] })));
    assert.deepEqual(plan.kind === "plan" && plan.before, ["cephmon"]);
  });

  it("one Ceph monitor, or one of two, is refused: the monitors' store (the maps of the OSDs' data) would be gone or without a majority; planned only when a backup puts it back", () => {
    assert.match(refusal(planRebuild(labWithCephmon(1), ["cephmon"], clusters)), /^rebuild: refused: cephmon has 1 member\(s\) holding the Ceph monitors' store.*; rebuilding cephmon-\S+ leaves 0, and a cluster of 1 needs 1 up to keep its data: give cephmon count >= 3/);
    const two = labWithCephmon(2);
    const second = two.endpoints.find((e) => e.type === "cephmon" && e.index === 1)!.name;
    assert.match(refusal(planRebuild(two, [second], clusters)), /cephmon has 2 member\(s\).* leaves 1, and a cluster of 2 needs 2 up/);
    assert.match(refusal(planRebuild(two, ["cephmon"], clusters)), /cephmon has 2 member\(s\)/);
    // With --restore-from naming a backup that holds cephmon's part, the members go together and it is put back.
    const restored = planRebuild(labWithCephmon(1), ["cephmon"], clusters, new Set(["cephmon"]));
    assert.equal(restored.kind, "plan");
    assert.deepEqual(restored.kind === "plan" && restored.steps.map((s) => s.restore), [["cephmon"]]);
    // A real backup's ceph-monitors part is not the whole store (the maps come from the OSDs): it
    // never lets the monitors go at once; mysql's, OVN's and etcd's parts do.
    assert.deepEqual([...rolesRestoredWhole(["mysql", "ovn-northbound", "etcd", "ceph-monitors"])].sort(), ["etcd", "mysql", "ovsdb"]);
    assert.match(refusal(planRebuild(labWithCephmon(1), ["cephmon"], clusters, rolesRestoredWhole(["ceph-monitors"]))), /cephmon has 1 member\(s\)/);
    const three = planRebuild(labWithCephmon(3), ["cephmon"], clusters, rolesRestoredWhole(["ceph-monitors", "mysql"]));
    assert.ok(three.kind === "plan" && three.steps.length === 3 && three.steps.every((s) => !s.restore?.length), "one monitor at a time, nothing restored");
  });

  describe("--restore-from: a backup's data put back instead of kept", () => {
    const restoring = new Set(["mysql"]);

    it("three members: all in one up (no leave, no rolling), the backup after the cluster is whole, keystone's configure last", () => {
      const lab = labWithMysql(3);
      const m = lab.endpoints.filter((e) => e.type === "mysql").map((e) => e.name);
      const keystone = lab.endpoints.find((e) => e.type === "keystone")!.name;
      const plan = planRebuild(lab, ["mysql"], clusters, restoring);
      assert.deepEqual(steps(plan), [
        { machines: m, names: m.flatMap((name) => PHASES.map((p) => `${name}-${p}`)).sort(), gates: ["mysql"] },
        { machines: [], names: [`${keystone}-configure`], gates: ["mysql"] },
      ]);
      assert.equal(plan.kind === "plan" && plan.steps.map((s) => (s.restore ?? []).join()).join("|"), "mysql|");
      // Nobody checks a cluster being replaced from a backup before it goes: it may be what is lost.
      assert.deepEqual(plan.kind === "plan" && plan.before, []);
    });

    it("the only member, refused without a backup, is rebuilt and its data put back with one", () => {
      const lab = labWithMysql(1);
      const [m0] = lab.endpoints.filter((e) => e.type === "mysql").map((e) => e.name);
      assert.match(refusal(planRebuild(lab, ["mysql"], clusters)), /or put the data back from a backup \(--restore-from\)/);
      const plan = planRebuild(lab, ["mysql"], clusters, restoring);
      assert.deepEqual(steps(plan)[0], { machines: [m0], names: PHASES.map((p) => `${m0}-${p}`).sort(), gates: ["mysql"] });
      assert.deepEqual(plan.kind === "plan" && plan.steps[0].restore, ["mysql"]);
    });

    it("a controller carrying every member: refused without a backup; with one, the backup goes back after the last up", () => {
      const lab = labWithMysql(3);
      const controller = lab.endpoints.find((e) => e.type === "controller")!.name;
      assert.equal(planRebuild(lab, [controller], clusters).kind, "refuse");
      const plan = planRebuild(lab, [controller], clusters, restoring);
      assert.equal(plan.kind, "plan", plan.kind === "refuse" ? plan.lines.join("\n") : "");
      if (plan.kind !== "plan") return;
      assert.deepEqual(plan.steps.at(-1)!.restore, ["mysql"]);
      assert.ok(plan.steps.at(-1)!.machines.includes(controller));
    });

    it("a backup of mysql changes nothing for a type it does not hold: keystone's rebuild is the same plan, with no restore", () => {
      const lab = labWithMysql(3);
      assert.deepEqual(steps(planRebuild(lab, ["keystone"], clusters, restoring)), steps(planRebuild(lab, ["keystone"], clusters)));
      const plan = planRebuild(lab, ["keystone"], clusters, restoring);
      assert.ok(plan.kind === "plan" && plan.steps.every((s) => !s.restore?.length));
    });
  });
});
