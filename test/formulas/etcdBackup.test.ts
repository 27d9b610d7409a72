/**
 * `kinetic backup`'s etcd part (cli/backupRecipes.ts, cli/backupEveryMember.ts; issue 21) against a
 * real three-member etcd cluster: three booted Debian hosts, each one member as formulas/etcd makes
 * it, joined by a bridge in this test's own network namespace. The snapshot is taken, the keyspace
 * changed, and the snapshot put back on every member: every key, value and revision as taken, the
 * cluster whole after; a restore that one member cannot stage changes nothing.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Endpoint } from "../../pillar";
import { bashCommand, FormulaValues } from "../../formulas/envelope";
import { EveryMemberRecipe, recipeOf } from "../../cli/backupRecipes";
import { MemberShell, restoreEveryMember, RestoreMember } from "../../cli/backupEveryMember";
import { DebianHost, startDebianHost, unavailable } from "../support/debianHost";
import { requirePrerequisite } from "../support/prerequisite";
import { assertIdempotent, describeRun, runOk } from "./hostSuite";

const NAMES = ["etcd-7a1b2c3d-0001", "etcd-7a1b2c3d-0002", "etcd-7a1b2c3d-0003"];
/** On the bridge between the hosts, which lives in this test's network namespace only. */
const ADDRS = ["10.240.40.1", "10.240.40.2", "10.240.40.3"];
const BRIDGE = "kbr-etcd";
const values = (i: number): FormulaValues => ({ NAME: NAMES[i], ADDRESS: ADDRS[i], NAMES_ETCD: NAMES.join(" "), ADDRESSES_ETCD: ADDRS.join(" ") });

/**
 * Why this file cannot link hosts here: it adds a bridge to its own network, which must be a
 * namespace made for it (test/lanes.ts), holding a loopback and nothing else.
 */
function ownNetwork(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root";
  const links = spawnSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map((l) => l.split(":")[1]?.trim().split("@")[0]);
  const others = links.filter((l) => l !== "lo");
  return others.length ? `its network has ${others.join(", ")} besides a loopback: run it in a namespace of its own (test/lanes.ts)` : undefined;
}

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
}

/** One key as etcd holds it: everything a restore must give back. */
interface Kv {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease?: number;
}

describe("backup etcd (cli/backupRecipes.ts): a snapshot of a three-member cluster, put back on every member", function () {
  this.timeout(20 * 60_000);
  const hosts: DebianHost[] = [];
  let scratch = "";
  const recipe = recipeOf("etcd") as EveryMemberRecipe | undefined;
  const ctl = (i: number, ...args: string[]) => hosts[i].tryExec(["etcdctl", "--endpoints", `http://${ADDRS[i]}:2379`, "--dial-timeout", "3s", "--command-timeout", "10s", ...args]);
  const ctlOk = (i: number, ...args: string[]) => {
    const r = ctl(i, ...args);
    assert.equal(r.code, 0, `etcdctl ${args.join(" ")} on member ${i}: ${r.stderr}`);
    return r.stdout;
  };
  /** Every key (linearizable read through member i) and the revision it was read at. */
  const keyspace = (i: number): { revision: number; kvs: Kv[] } => {
    const j = JSON.parse(ctlOk(i, "get", "", "--prefix", "-w", "json")) as { header: { revision: number }; kvs?: Kv[] };
    const kvs = (j.kvs ?? []).map((kv) => ({ ...kv, key: Buffer.from(kv.key, "base64").toString(), value: Buffer.from(kv.value, "base64").toString() }));
    return { revision: j.header.revision, kvs: kvs.sort((a, b) => a.key.localeCompare(b.key)) };
  };
  const clusterId = (i: number) => (JSON.parse(ctlOk(i, "member", "list", "-w", "json")) as { header: { cluster_id: number } }).header.cluster_id;
  const pids = () => hosts.map((h) => h.exec(["systemctl", "show", "-p", "MainPID", "--value", "etcd.service"]).trim());
  const members: () => RestoreMember[] = () => NAMES.map((name, i) => ({ endpoint: { name } as Endpoint, values: values(i) }));
  /** The restore's shell: the command line kinetic sends over ssh (bashCommand), the file on its stdin. */
  const shellOn = (stdinFor: (i: number, file: string) => string = (_, f) => f): MemberShell => async (e, script, stdinFile) => {
    const i = NAMES.indexOf(e.name);
    const h = hosts[i];
    let redirect = "< /dev/null";
    if (stdinFile) {
      fs.copyFileSync(stdinFor(i, stdinFile), h.path("/root/restore-input"));
      redirect = "< /root/restore-input";
    }
    const r = h.tryExec(["sh", "-c", `${bashCommand(script)} ${redirect}`]);
    return { code: r.code, out: r.stderr + r.stdout };
  };
  /** Waits (up to 2 min) until formulas/etcd/health passes on member i. */
  const healthy = async (i: number): Promise<string> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await hosts[i].formula("etcd/health", values(i));
      if (r.code === 0) return r.stdout;
      if (Date.now() > deadline) assert.fail(`etcd/health never passed on member ${i}: ${describeRun(r)}\n${hosts[i].tryExec(["journalctl", "-u", "etcd", "--no-pager", "-n", "40"]).stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  };
  /** Runs the recipe's dump on member i; the snapshot's path on this machine. */
  const dump = (i: number): { code: number; file: string; err: string } => {
    fs.writeFileSync(hosts[i].path("/root/dump.sh"), recipe!.dump);
    const r = hosts[i].tryExec(["sh", "-c", "bash /root/dump.sh > /root/etcd.snapshot"]);
    const file = path.join(scratch, `etcd-${i}.snapshot`);
    if (r.code === 0) fs.copyFileSync(hosts[i].path("/root/etcd.snapshot"), file);
    return { code: r.code, file, err: r.stderr };
  };

  before(async function () {
    requirePrerequisite(this, unavailable() ?? ownNetwork(), "three Debian test hosts joined by a bridge");
    this.timeout(20 * 60_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-etcd-backup-"));
    hosts.push(...(await Promise.all(NAMES.map(() => startDebianHost((m) => console.log(`      [host] ${m}`), { boot: "systemd" })))));
    sh(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    sh(["ip", "link", "set", BRIDGE, "up"]);
    for (const [i, h] of hosts.entries()) {
      // The veth's inner end in the host's network, its outer end here on the bridge.
      const r = h.netExec(["ip", "link", "add", "eth-etcd", "type", "veth", "peer", "name", `kv-etcd-${i}`, "netns", String(process.pid)]);
      assert.equal(r.code, 0, r.stderr);
      sh(["ip", "link", "set", `kv-etcd-${i}`, "master", BRIDGE, "up"]);
      for (const argv of [["ip", "addr", "add", `${ADDRS[i]}/24`, "dev", "eth-etcd"], ["ip", "link", "set", "eth-etcd", "up"]]) assert.equal(h.netExec(argv).code, 0);
    }
  });

  after(async function () {
    this.timeout(5 * 60_000);
    await Promise.all(hosts.map((h) => h.stop()));
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("three members, one per machine, founded by formulas/etcd, serve", async () => {
    assert.ok(recipe, "cli/backupRecipes.ts has no etcd part");
    assert.equal(recipe.restoreOn, "every member");
    await Promise.all(hosts.map((h) => runOk(h, "etcd/install", { NAME: NAMES[0] })));
    await Promise.all(hosts.map((h, i) => runOk(h, "etcd/configure", values(i))));
    for (const i of [0, 1, 2]) assert.match(await healthy(i), /3 of 3 members of the pillar in its cluster and serving/);
  });

  let taken: { revision: number; kvs: Kv[] };
  let snapshot = "";

  it("the dump: refused on a member without a quorum; from one with it, a snapshot of every key", async () => {
    ctlOk(0, "put", "/kinetic/kept", "the same after");
    ctlOk(1, "put", "/kinetic/changed", "as taken");
    ctlOk(2, "put", "/kinetic/deleted", "back after the restore");
    ctlOk(0, "put", "/kinetic/spaces and ünïcode", "a value\nof two lines");
    for (let n = 0; n < 50; n++) ctlOk(n % 3, "put", `/kinetic/many/${String(n).padStart(2, "0")}`, `value ${n}`);
    ctlOk(1, "put", "/kinetic/changed", "as taken, second version");
    const lease = /lease ([0-9a-f]+) granted/.exec(ctlOk(0, "lease", "grant", "86400"))?.[1];
    assert.ok(lease);
    ctlOk(0, "put", "--lease", lease, "/kinetic/leased", "with its lease");

    // Two members stopped: the third still has every key, but no quorum to say they are current.
    hosts[1].exec(["systemctl", "stop", "etcd.service"]);
    hosts[2].exec(["systemctl", "stop", "etcd.service"]);
    const refused = dump(0);
    hosts[1].exec(["systemctl", "start", "--no-block", "etcd.service"]);
    hosts[2].exec(["systemctl", "start", "--no-block", "etcd.service"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /this member does not serve with a quorum: its copy could be stale/);
    await healthy(0);

    taken = keyspace(0);
    const d = dump(1);
    assert.equal(d.code, 0, d.err);
    snapshot = d.file;
    // What etcdctl itself reads in it: the revision the keys were read at, and the same keys.
    const status = JSON.parse(hosts[1].exec(["etcdctl", "snapshot", "status", "-w", "json", "/root/etcd.snapshot"])) as { revision: number; totalKey: number };
    assert.equal(status.revision, taken.revision);
    assert.equal(taken.kvs.length, 55);
    assert.equal(taken.kvs.find((kv) => kv.key === "/kinetic/changed")?.version, 2);
    assert.equal(taken.kvs.find((kv) => kv.key === "/kinetic/leased")?.lease, parseInt(lease, 16));
    assert.equal(hosts[1].exec(["sh", "-c", "ls -d /var/lib/etcd/kinetic-backup.* 2> /dev/null || true"]).trim(), "", "the dump left nothing behind");
  });

  it("a member that cannot stage (its copy damaged on the way) stops the restore before any swap: nothing is changed", async () => {
    ctlOk(0, "put", "/kinetic/changed", "changed after the backup");
    ctlOk(1, "del", "/kinetic/deleted");
    ctlOk(2, "put", "/kinetic/added", "made after the backup");
    ctlOk(0, "del", "/kinetic/many/", "--prefix");
    const now = keyspace(0);
    const before = { pids: pids(), cluster: clusterId(0) };
    const damaged = path.join(scratch, "damaged.snapshot");
    const whole = fs.readFileSync(snapshot);
    fs.writeFileSync(damaged, Buffer.concat([whole.subarray(0, 4096), Buffer.alloc(whole.length - 4096, 0)]));
    const said: string[] = [];
    await assert.rejects(
      restoreEveryMember(recipe!, members(), snapshot, shellOn((i, f) => (i === 2 ? damaged : f)), (l) => said.push(l)),
      new RegExp(`restore etcd: every member of etcd must take it and ${NAMES[2]}: .*; nothing was changed$`),
    );
    assert.deepEqual(pids(), before.pids, "no member was stopped");
    assert.equal(clusterId(0), before.cluster);
    assert.deepEqual(keyspace(0).kvs, now.kvs);
    for (const h of hosts) assert.equal(h.exists("/var/lib/etcd/kinetic-restore"), false, "what the others staged is thrown away");
    // A copy staged and left there (a restore cut short before its swaps): configure and a
    // restart of etcd do not take it; only a swap of the same restore would.
    const token = "kinetic-etcd-restore-0123456789ab";
    const staged = await shellOn()({ name: NAMES[0] } as Endpoint, `KINETIC_RESTORE_TOKEN=${token}\nKINETIC_NAME=${NAMES[0]}\nKINETIC_ADDRESS=${ADDRS[0]}\nKINETIC_NAMES_ETCD='${NAMES.join(" ")}'\nKINETIC_ADDRESSES_ETCD='${ADDRS.join(" ")}'\n${recipe!.stage}`, snapshot);
    assert.equal(staged.code, 0, staged.out);
    assert.equal(hosts[0].read("/var/lib/etcd/kinetic-restore/token").trim(), token);
    await assertIdempotent(hosts[0], "etcd/configure", values(0));
    hosts[0].exec(["systemctl", "restart", "etcd.service"]);
    await healthy(0);
    assert.deepEqual(keyspace(0).kvs, now.kvs);
    assert.equal(clusterId(0), before.cluster);
    hosts[0].exec(["rm", "-rf", "/var/lib/etcd/kinetic-restore"]);
    before.pids[0] = pids()[0];
    // A swap with nothing staged for it (another restore's token, or none) touches nothing.
    const swap = await shellOn()({ name: NAMES[0] } as Endpoint, `KINETIC_RESTORE_TOKEN=kinetic-etcd-restore-000000000000\nKINETIC_NAME=${NAMES[0]}\n${recipe!.swap}`);
    assert.equal(swap.code, 1);
    assert.match(swap.out, /nothing staged here for this restore/);
    assert.deepEqual(pids(), before.pids);
  });

  it("the restore: a new cluster of the same members, every key, value, version and revision as the snapshot holds them; formulas/etcd changes nothing after", async () => {
    const oldCluster = clusterId(0);
    const said: string[] = [];
    const settled = await restoreEveryMember(recipe!, members(), snapshot, shellOn(), (l) => said.push(l));
    assert.equal(settled, `etcd: every member (3) serves the restored keyspace, at revision ${taken.revision}`, said.join("\n"));
    assert.equal(said.filter((l) => /staged the snapshot \(revision \d+, \d+ keys\)/.test(l)).length, 3, said.join("\n"));
    for (const i of [0, 1, 2]) {
      assert.match(await healthy(i), /3 of 3 members of the pillar in its cluster and serving/);
      // Each member's own copy (a serializable read is answered locally), not only the leader's.
      const local = JSON.parse(ctlOk(i, "get", "", "--prefix", "--consistency=s", "-w", "json")) as { kvs: Kv[] };
      assert.equal(local.kvs.length, taken.kvs.length, `member ${i}`);
    }
    const back = keyspace(1);
    assert.deepEqual(back.kvs, taken.kvs, "every key, value, create/mod revision, version and lease as taken");
    assert.equal(back.revision, taken.revision, "the revision is the snapshot's: what was written after it is gone, and its revisions with it");
    assert.equal(back.kvs.find((kv) => kv.key === "/kinetic/added"), undefined);
    assert.notEqual(clusterId(0), oldCluster, "a new cluster (its own token): a member of the old one cannot join it");
    for (const h of hosts) {
      assert.equal(h.exists("/var/lib/etcd/kinetic-restore"), false);
      assert.match(h.exec(["sh", "-c", "ls -d /var/lib/etcd/kinetic.before-restore-*"]), /kinetic\.before-restore-kinetic-etcd-restore-[0-9a-f]{12}/, "the former data kept aside");
    }
    // Writes go on from the snapshot's revision.
    ctlOk(2, "put", "/kinetic/after", "written after the restore");
    assert.equal(keyspace(0).revision, taken.revision + 1);
    // The member's configure finds its data and leaves it (and etcd) alone.
    const pid = pids()[0];
    await assertIdempotent(hosts[0], "etcd/configure", values(0));
    assert.equal(pids()[0], pid);
  });
});
