/**
 * `kinetic rebuild`'s choice of resources (cli/rebuild.ts), on the lab and sample pillars: the
 * targets' machines and phases, every phase downstream of them in the needs graph, nothing else.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { FORMULA_REFUSED, MemberHealth } from "../cli/clusterHealth";
import { leaveBeforeReplace, rebuildResourceNames } from "../cli/rebuild";
import { loadCloud } from "../pillar";

const ROOT = path.resolve(__dirname, "..");

describe("kinetic rebuild: which resources are replaced", () => {
  const lab = loadCloud(path.join(ROOT, "pillar/lab"), { stack: "lab" });
  const name = (role: string) => lab.endpoints.find((e) => e.role === role)!.name;

  it("a VM: its domain and its four phases, and keystone's configure, which needs mysql's", () => {
    const { endpoints, names } = rebuildResourceNames(lab, ["mysql"]);
    assert.deepEqual(endpoints, [name("mysql")]);
    assert.deepEqual([...names].sort(), [
      `${name("keystone")}-configure`,
      ...["base", "configure", "install", "networking", "provision-domain"].map((s) => `${name("mysql")}-${s}`),
    ].sort());
  });

  it("a controller: its install over PXE, its phases, and every VM on it with all of theirs", () => {
    const { names } = rebuildResourceNames(lab, [name("controller")]);
    for (const r of ["provision-boot-once", "provision-power-cycle", "base", "networking", "install", "configure"]) assert.ok(names.has(`${name("controller")}-${r}`), r);
    for (const role of ["mysql", "memcached", "keystone"]) assert.ok(names.has(`${name(role)}-provision-domain`), `${role}'s VM`);
    assert.ok(![...names].some((n) => n.startsWith(name("pxe"))), "the pxe host is upstream: untouched");
  });

  it("refuses a foundation host and names unknown targets with the pillar's types", () => {
    assert.throws(() => rebuildResourceNames(lab, ["pxe"]), /foundation host: Kinetic does not install it/);
    assert.throws(() => rebuildResourceNames(lab, ["mysq"]), /mysq is neither a type nor an endpoint of the pillar \(types: controller, keystone, memcached, mysql, pxe\)/);
  });

  it("on the sample pillar, a rebuilt mysql re-runs the configure of every service that needs it, and no unrelated step", () => {
    const sample = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "sample" });
    const { names } = rebuildResourceNames(sample, ["mysql"]);
    const keystone = sample.endpoints.filter((e) => e.type === "keystone").map((e) => `${e.name}-configure`);
    for (const k of keystone) assert.ok(names.has(k), k);
    assert.ok(![...names].some((n) => n.startsWith("storage-") && n.endsWith("-install")), "storage installs do not need mysql");
  });
});

describe("kinetic rebuild: a member leaves its cluster before its machine is replaced (leaveBeforeReplace)", () => {
  const sample = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "sample" });
  const mons = sample.endpoints.filter((e) => e.role === "cephmon").slice(0, 2);
  const leaveOf = (e: { role: string }) => (e.role === "cephmon" ? "cephmon/leave" : undefined);
  const run = (results: MemberHealth[]) => {
    const ran: string[] = [];
    return { ran, fn: async (e: { name: string }, label: string) => (ran.push(`${e.name} ${label}`), results.shift()!) };
  };

  it("goes on after each member left, and after one that could not be reached (already gone: replacing it is the repair)", async () => {
    const r = run([{ endpoint: mons[0].name, ok: true, line: "left" }, { endpoint: mons[1].name, ok: false, line: "dialing: no route to host" }]);
    const lines: string[] = [];
    assert.equal(await leaveBeforeReplace(mons, leaveOf, r.fn, (l) => lines.push(l)), undefined);
    assert.deepEqual(r.ran, mons.map((m) => `${m.name} cephmon/leave`));
    assert.match(lines[1], /could not leave \(going on\)/);
  });

  it("stops at a member that refused (exit 77: its going would break the majority), before the next is asked", async () => {
    const r = run([{ endpoint: mons[0].name, ok: false, refused: true, line: "removing mon.x would leave 1 monitor(s) in quorum of the 2 remaining in the map (2 needed): refusing" }]);
    const stop = await leaveBeforeReplace(mons, leaveOf, r.fn, () => undefined);
    assert.match(stop ?? "", new RegExp(`^${mons[0].name} refused to leave its cluster \\(removing mon\\.x would leave`));
    assert.equal(r.ran.length, 1);
  });

  it("a role without a leave formula is not asked", async () => {
    const r = run([]);
    const keystone = sample.endpoints.filter((e) => e.role === "keystone");
    assert.equal(await leaveBeforeReplace(keystone, leaveOf, r.fn, () => undefined), undefined);
    assert.deepEqual(r.ran, []);
  });

  it("formulas/lib/kinetic.sh refuse exits 77, the status runRoleFormula reads as refused", () => {
    const lib = fs.readFileSync(path.join(ROOT, "formulas/lib/kinetic.sh"), "utf8");
    const out = spawnSync("bash", ["-c", `${lib.slice(lib.indexOf("# die MESSAGE"), lib.indexOf("# warn MESSAGE"))}\nKINETIC_FORMULA=t/leave KINETIC_STEP=leave; refuse "no"`], { encoding: "utf8" });
    assert.equal(out.status, FORMULA_REFUSED);
    assert.equal(out.stderr, 'kinetic: t/leave: step "leave" failed: no\n');
    for (const f of ["cephmon/leave", "etcd/leave", "ovsdb/leave"]) assert.match(fs.readFileSync(path.join(ROOT, "formulas", f), "utf8"), /refuse "removing /, f);
  });
});
