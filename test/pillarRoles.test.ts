/**
 * Issue 20 section 4: a pillar whose roles cannot form a cloud (nova without placement, volume
 * without a Ceph monitor, neutron without ovsdb, an OpenStack service without mysql, rabbitmq or
 * keystone) is a plan-time problem naming both roles and the pillar file and line, not a formula
 * waiting at run time. The table is read from the formulas (formulas/requirements.ts).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FORMULAS_DIR } from "../formulas/load";
import { roleRequirements } from "../formulas/requirements";
import { isPillarError, loadCloud } from "../pillar";

const ROOT = path.join(__dirname, "..");

/** A copy of a pillar directory with `edit` applied to one file. */
function pillarCopy(from: string, file: string, edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-roles-"));
  for (const f of fs.readdirSync(from)) if (f.endsWith(".yaml")) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  const p = path.join(dir, file);
  const before = fs.readFileSync(p, "utf8");
  const after = edit(before);
  assert.notEqual(after, before, "the edit changed the pillar");
  fs.writeFileSync(p, after);
  return dir;
}

/** The problems of loading `dir` with the project's formulas, `<dir>` for the directory. */
function problems(dir: string, formulasDir: string | null = FORMULAS_DIR): string[] {
  try {
    loadCloud(dir, { stack: "t", ...(formulasDir !== null ? { formulasDir } : {}) });
    return [];
  } catch (e) {
    assert.ok(isPillarError(e), String(e));
    return e.problems.map((p) => `${p.location.file.replace(dir, "<dir>")}:${p.location.line}:${p.location.column}: ${p.keyPath}: ${p.reason}`);
  }
}

const disable = (type: string) => (text: string) => text.replace(new RegExp(`^  ${type}:\\n`, "m"), `  ${type}:\n    enabled: false\n`);

describe("pillar: roles that cannot form a cloud are a plan-time problem (issue 20)", function () {
  this.timeout(120_000);

  it("the requirements read from the formulas include the cases a cloud cannot do without", () => {
    const needs = new Set(roleRequirements().map((r) => `${r.role}->${r.needs}`));
    for (const want of [
      "nova->placement", "nova->mysql", "nova->rabbitmq", "nova->keystone", "compute->nova", "compute->ovsdb",
      "volume->cephmon", "cinder->volume", "cinder->keystone", "glance->keystone", "neutron->ovsdb", "storage->cephmon",
      "placement->mysql", "keystone->mysql", "heat->rabbitmq", "designate->bind",
    ]) assert.ok(needs.has(want), `${want} (have: ${[...needs].sort().join(" ")})`);
    // Nothing a formula only may use: glance works without Ceph (file store), haproxy and mysql need no other role.
    for (const not of ["glance->cephmon", "haproxy->mysql", "mysql->keystone", "memcached->mysql"]) assert.ok(!needs.has(not), not);
  });

  it("derives them from what a formula reads and where it stops, so the table follows the formulas", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-formulas-"));
    const write = (rel: string, text: string) => (fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true }), fs.writeFileSync(path.join(dir, rel), text));
    for (const r of ["beta", "gamma", "delta", "cephmon", "mysql", "rabbitmq", "keystone"]) write(`${r}/install`, "# kinetic-uses: NAME\n");
    write("alpha/install", "# kinetic-uses: NAME\n");
    write("alpha/configure", [
      "# kinetic-uses: ADDRESS INDEX ADDRESSES_* SECRET_RABBITMQ SECRET_ALPHA_DB SECRET_BETA SECRET_UNRELATED",
      "gamma=()", "os_list gamma gamma", '[ "${#gamma[@]}" -gt 0 ] || die "no gamma"',
      "delta=()", "os_list delta delta", // optional: no die
      'if [ "${#delta[@]}" -gt 0 ]; then ceph_check_members; fi', // conditional: not a requirement
      "",
    ].join("\n"));
    const got = roleRequirements(dir).filter((r) => r.role === "alpha").map((r) => r.needs).sort();
    assert.deepEqual(got, ["beta", "gamma", "mysql", "rabbitmq"]);
    // Stub formulas (the engine tests') require nothing: not even what the real neutron/volume/cinder lines add.
    const stubs = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-stubs-"));
    for (const r of ["neutron", "ovsdb", "volume", "cephmon", "cinder"]) {
      fs.mkdirSync(path.join(stubs, r));
      fs.writeFileSync(path.join(stubs, r, "configure"), "#!/usr/bin/env bash\n# kinetic-uses: NAME INDEX ADDRESSES_*\necho ok\n");
    }
    assert.deepEqual(roleRequirements(stubs), []);
    fs.rmSync(stubs, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the sample, dev, lab and cloud pillars form clouds", () => {
    for (const p of ["sample", "dev", "lab", "cloud"]) {
      if (!fs.existsSync(path.join(ROOT, "pillar", p))) continue;
      assert.deepEqual(problems(path.join(ROOT, "pillar", p)), [], `pillar/${p}`);
    }
  });

  it("nova without placement: one line per role that needs it, naming both roles, file, line and key", () => {
    const dir = pillarCopy(path.join(ROOT, "pillar", "sample"), "hosts.yaml", disable("placement"));
    const text = fs.readFileSync(path.join(dir, "hosts.yaml"), "utf8").split("\n");
    const lineOf = (key: string) => text.findIndex((l) => l === `  ${key}:`) + 1;
    assert.deepEqual(problems(dir), [
      `<dir>/hosts.yaml:${lineOf("compute") + text.slice(lineOf("compute")).findIndex((l) => /^    role:/.test(l)) + 1}:11: hosts.compute.role: role 'compute' needs role 'placement' (formulas/compute/configure reads SECRET_PLACEMENT, the placement service user that formulas/placement/configure registers in keystone); no enabled type with endpoints has role 'placement': add one, or disable type 'compute'`,
      `<dir>/hosts.yaml:${lineOf("nova")}:3: hosts.nova: role 'nova' needs role 'placement' (formulas/nova/configure reads SECRET_PLACEMENT, the placement service user that formulas/placement/configure registers in keystone); no enabled type with endpoints has role 'placement': add one, or disable type 'nova'`,
    ]);
    // A test pillar of one role run with stub formulas is no cloud and need not be: not checked without formulas.
    assert.deepEqual(problems(dir, null), []);
  });

  it("volume without a Ceph monitor, neutron without ovsdb, and the OpenStack services without mysql", () => {
    const noMon = problems(pillarCopy(path.join(ROOT, "pillar", "sample"), "hosts.yaml", disable("cephmon")));
    for (const role of ["volume", "storage", "mds", "swift"]) assert.ok(noMon.some((p) => p.includes(`role '${role}' needs role 'cephmon'`)), `${role}: ${noMon.join("\n")}`);
    const noOvsdb = problems(pillarCopy(path.join(ROOT, "pillar", "sample"), "hosts.yaml", disable("ovsdb")));
    assert.ok(noOvsdb.some((p) => /hosts\.neutron: role 'neutron' needs role 'ovsdb' \(formulas\/neutron\/configure points the OVN/.test(p)), noOvsdb.join("\n"));
    const noMysql = problems(pillarCopy(path.join(ROOT, "pillar", "sample"), "hosts.yaml", disable("mysql")));
    for (const role of ["keystone", "glance", "nova", "neutron", "cinder", "placement", "heat"]) {
      assert.ok(noMysql.some((p) => p.includes(`role '${role}' needs role 'mysql'`)), `${role}: ${noMysql.join("\n")}`);
    }
    assert.ok(noMysql.every((p) => /^<dir>\/hosts\.yaml:\d+:\d+: hosts\.[a-z]+(\.role)?: role '[a-z]+' needs role 'mysql'/.test(p)), noMysql.join("\n"));
  });

  it("npm run plan refuses it with the same line and exit 1, before anything else", () => {
    const dir = pillarCopy(path.join(ROOT, "pillar", "dev"), "hosts.yaml", disable("mysql"));
    const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "cli/plan.ts", dir, "--out", fs.mkdtempSync(path.join(os.tmpdir(), "plan-"))], { cwd: ROOT });
    assert.equal(r.status, 1, r.stderr.toString());
    assert.match(r.stdout.toString() + r.stderr.toString(), /hosts\.yaml:\d+:\d+: hosts\.keystone(\.role)?: role 'keystone' needs role 'mysql'/);
  });
});
