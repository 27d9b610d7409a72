/**
 * `kinetic rebuild cephmon` through the engine, on a lab of its own (issue 21): pillar/lab's pxe
 * host and physical controller, three Ceph monitors as VMs on it and one physical storage server
 * with an OSD on the lab's sparse disk (lab/osdDisks.ts) instead of the identity chain. Each monitor
 * leaves the monitor map (formulas/cephmon/leave), its machine is replaced in an up of its own, the
 * new monitor joins the running cluster with its monitor map and fsid (formulas/cephmon/configure),
 * and the next goes only once formulas/cephmon/health says all three are in quorum again. What
 * the monitors hold and the pillar cannot re-derive must come through: the fsid, the osdmap, an
 * operator's pool and the object in it, a config-key value and a client's key.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { debianRootUnavailable } from "../../lab/debianRoot";
import { loadCloud } from "../../pillar";
import { requirePrerequisite } from "../support/prerequisite";
import type { EngineResult } from "./engineRun";
import { replaceIdentityChain, virtualType } from "./clusterPillar";
import { LabHarness, startLabHarness } from "./labHarness";
import { assertOneMemberAtATime, changedResources } from "./rebuildChecks";

/**
 * A copy of pillar/lab made pxe, the controller, three monitors and a storage server with one OSD
 * disk, in a directory of its own: the lab is started from it (its BMCs and disks follow the pillar).
 */
function makeCephPillar(): string {
  const pillarDir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-cephmon-pillar-"));
  fs.cpSync(path.join(__dirname, "../../pillar/lab"), pillarDir, { recursive: true });
  const storage = ["  storage:", "    style: physical", "    role: storage", "    uuids:", "      - 3b1f7c2e-0d4a-4b8e-9f61-2a7c5e9d1b03", "    interface: eno1", "    disk: LAB DISK", "    os: ubuntu2204", "    osd_disks: [/dev/disk/by-id/lab-osd-0]", "    networks:", "      management:", "        interfaces: [eno1]"];
  replaceIdentityChain(pillarDir, [...virtualType("cephmon", 3), ...storage]);
  return pillarDir;
}

describe("kinetic rebuild cephmon, end to end through the engine", function () {
  this.timeout(60 * 60_000);
  let lab: LabHarness;
  let pillar: string | undefined;
  const cloud = () => loadCloud(lab.pillarDir, { stack: lab.stack });
  const mons = () => cloud().endpoints.filter((e) => e.type === "cephmon").sort((a, b) => a.index - b.index);
  const storage = () => cloud().endpoints.find((e) => e.type === "storage")!;
  const ok = (r: EngineResult, what: string) => lab.ok(r, what);
  const ceph = (address: string, args: string) => lab.ssh(address, `timeout 120 ceph --connect-timeout 30 ${args}`);
  const cephJson = (address: string, args: string) => JSON.parse(ceph(address, `${args} --format json`));
  const quorum = (address: string) => (cephJson(address, "quorum_status").quorum_names as string[]).sort();
  /** Polls `check` every 3 s for up to `seconds`; fails with what it saw last. */
  const until = async (what: string, seconds: number, check: () => string | true) => {
    const deadline = Date.now() + seconds * 1000;
    let last: string | true = "never checked";
    while (Date.now() < deadline) {
      try {
        last = check();
      } catch (e) {
        last = String(e);
      }
      if (last === true) return;
      await new Promise((r) => setTimeout(r, 3000));
    }
    assert.fail(`${what}: not after ${seconds} s (last: ${last})`);
  };
  /** What the monitors hold beyond the pillar: the fsid, a config-key value, a client's key and caps, the probe pool. */
  const holds = (address: string) => {
    const auth = cephJson(address, "auth get client.kinetic-probe")[0];
    const pool = cephJson(address, "osd pool ls detail").find((p: { pool_name: string }) => p.pool_name === "kinetic-probe");
    return JSON.stringify({
      fsid: cephJson(address, "fsid").fsid,
      configKey: ceph(address, "config-key get kinetic/probe").trim(),
      auth: { key: auth.key, caps: auth.caps },
      pool: pool && { id: pool.pool_id, size: pool.size },
    });
  };
  const objectSha = (address: string) => lab.ssh(address, "timeout 180 rados -p kinetic-probe get probe /tmp/probe.out && sha256sum /tmp/probe.out && rm -f /tmp/probe.out").split(" ")[0];
  const osdUp = (address: string) => {
    const stat = cephJson(address, "osd stat");
    return stat.num_up_osds === 1 && stat.num_in_osds === 1 ? true : JSON.stringify(stat);
  };

  before(async function () {
    requirePrerequisite(this, debianRootUnavailable(), "the lab");
    pillar = makeCephPillar();
    lab = await startLabHarness("mon", (m) => console.log(`      [lab] ${m}`), pillar);
    assert.equal(mons().length, 3);
  });

  after(async function () {
    if (lab) await lab.dispose();
    if (pillar) fs.rmSync(pillar, { recursive: true, force: true });
  });

  it("up: three monitors in one quorum with the cluster's fsid, the storage server's OSD up and in", async () => {
    ok(await lab.run("up"), "up");
    const names = mons().map((m) => m.name).sort();
    const fsids = new Set<string>();
    for (const m of mons()) {
      await until(`${m.name} sees all three in quorum`, 180, () => (quorum(m.address).join() === names.join() ? true : quorum(m.address).join()));
      fsids.add(cephJson(m.address, "fsid").fsid);
    }
    assert.equal(fsids.size, 1, [...fsids].join(", "));
    await until("the OSD up and in", 240, () => osdUp(mons()[0].address));
  });

  it("rebuild cephmon: one monitor at a time, each back in quorum before the next; fsid, maps, keys, config-keys and the pool's object kept", async () => {
    const members = mons();
    const a = members[1].address;
    // Data nobody can re-derive from the pillar: a pool and an object in it, a config-key, a client.
    ceph(a, "osd pool create kinetic-probe 8");
    ceph(a, "osd pool set kinetic-probe size 1 --yes-i-really-mean-it");
    ceph(a, "osd pool set kinetic-probe min_size 1");
    const sha = lab.ssh(a, "head -c 1048576 /dev/urandom > /root/probe.bin && timeout 180 rados -p kinetic-probe put probe /root/probe.bin && sha256sum /root/probe.bin").split(" ")[0];
    assert.match(sha, /^[0-9a-f]{64}$/);
    const value = crypto.randomBytes(16).toString("hex");
    ceph(a, `config-key set kinetic/probe ${value}`);
    ceph(a, "auth get-or-create client.kinetic-probe mon 'allow r' osd 'allow rw pool=kinetic-probe'");
    const before = holds(members[0].address);
    assert.equal(JSON.parse(before).configKey, value, "the config-key reached monitor 0");
    assert.equal(objectSha(members[0].address), sha, "the object reads back before the rebuild");
    const epochBefore = cephJson(members[0].address, "osd dump").epoch as number;
    for (const m of members) lab.ssh(m.address, "touch /root/before-rebuild");

    const r = await lab.run("rebuild", { targets: ["cephmon"] });
    console.log(`      [lab] rebuild cephmon: ${Math.round((r.endedAt - r.startedAt) / 1000)} s`);
    ok(r, "rebuild");
    // Written out here, not asked of the code under test: each monitor's machine and phases, and the
    // storage server's configure (pillar/defaults/needs.yaml: it needs cephmon's configure).
    const own = (e: { name: string }) => ["provision-domain", "base", "networking", "install", "configure"].map((p) => `${e.name}-${p}`);
    assert.deepEqual(changedResources(r), [...members.flatMap(own), `${storage().name}-configure`].sort());
    assertOneMemberAtATime(r, members);
    const said = (r.said ?? []).join("\n");
    // The gate: before the first up and after each (3 monitors each time): the monitors' three ups
    // and the last one, of the storage server's configure.
    assert.equal((said.match(/ok {3}cephmon-\S+: cephmon: mon\.\S+ (leader|peon), all 3 monitors of the pillar in its quorum/g) ?? []).length, 3 * (1 + members.length + 1), said);
    for (const m of members) assert.match(said, new RegExp(`^  left ${m.name}: cephmon: mon\\.${m.name} left the monitor map \\(2 of 2 remain in quorum\\)`, "m"), `${m.name} left cleanly before its machine went`);
    const names = members.map((m) => m.name).sort();
    for (const m of members) {
      assert.equal(lab.ssh(m.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", `${m.name} has a new disk`);
      assert.deepEqual(quorum(m.address), names, `${m.name} sees all three in quorum`);
      assert.equal(holds(m.address), before, `fsid, config-key, client key and pool, through ${m.name}`);
    }
    assert.ok((cephJson(members[2].address, "osd dump").epoch as number) >= epochBefore, "the osdmap went on from its epoch, not a new one");
    await until("the OSD up and in", 240, () => osdUp(members[2].address));
    assert.equal(objectSha(members[2].address), sha, "the object reads back identical");
  });

  it("configure run again on every monitor (its formula edited): no store made again, the quorum and data kept", async () => {
    // A monitor store made again (mkfs) would be a new directory: its inode and the marker's say whether one was.
    const store = (m: { name: string; address: string }) => lab.ssh(m.address, `stat -c %i /var/lib/ceph/mon/ceph-${m.name} /var/lib/ceph/mon/ceph-${m.name}/store.db /var/lib/ceph/mon/ceph-${m.name}/kinetic-fsid`).trim();
    const stores = mons().map(store);
    const before = holds(mons()[2].address);
    fs.appendFileSync(path.join(lab.formulasDir, "cephmon/configure"), "# edited by the cephmon lab test\n");
    const r = await lab.run("up");
    ok(r, "up after the edit");
    const changed = changedResources(r);
    const configures = mons().map((m) => `${m.name}-configure`);
    for (const c of configures) assert.ok(changed.includes(c), `${c} ran again: ${changed.join(", ")}`);
    assert.deepEqual(changed.filter((c) => !configures.includes(c) && c !== `${storage().name}-configure`), [], "nothing else changed");
    const names = mons().map((m) => m.name).sort();
    mons().forEach((m, i) => {
      assert.equal(store(m), stores[i], `${m.name}'s store was not made again`);
      assert.deepEqual(quorum(m.address), names);
      assert.equal(holds(m.address), before, `nothing lost through ${m.name}`);
    });
  });
});
