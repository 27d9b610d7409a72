/**
 * `kinetic backup`'s ceph-monitors part (cli/backupRecipes.ts; issue 21) against a real monitor in a
 * booted Debian host, made by formulas/cephmon: what only the monitors' store holds (an operator's
 * auth entity, a central config option, a config-key) is taken, the store is made anew (same fsid,
 * from the stack's secrets, as a rebuilt monitor's), and the restore puts back what it lacks,
 * keeping what the monitors hold.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { FormulaValues } from "../../formulas/envelope";
import { recipeOf } from "../../cli/backupRecipes";
import { waitFor } from "./daemons";
import { describeRun, EVIL, runOk, withHost } from "./hostSuite";

const MON = "cephmon-3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e01";
const values = (): FormulaValues => ({
  NAME: MON, ADDRESS: "127.0.0.1", INDEX: "0", NAMES_CEPHMON: MON, ADDRESSES_CEPHMON: "127.0.0.1",
  SUBNET_MANAGEMENT: "127.0.0.0/8", SUBNET_SBE: "", ROLE_ADDRESSES_STORAGE: "127.0.0.1",
  SECRET_CEPH_FSID: `fsid-${EVIL}`, SECRET_CEPH_MON: `mon-${EVIL}`, SECRET_CEPH_ADMIN: `admin-${EVIL}`, SECRET_CEPH_MGR: `mgr-${EVIL}`,
  SECRET_CEPH_BOOTSTRAP_OSD: `bosd-${EVIL}`, SECRET_CEPH_BOOTSTRAP_MDS: `bmds-${EVIL}`, SECRET_CEPH_BOOTSTRAP_RGW: `brgw-${EVIL}`,
});

interface AuthEntity {
  entity: string;
  key: string;
  caps: Record<string, string>;
}

describe("backup ceph-monitors (cli/backupRecipes.ts): what only the monitors' store holds, put back into a store made anew", function () {
  this.timeout(20 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const recipe = recipeOf("ceph-monitors");
  const ceph = (...args: string[]) => host().exec(["timeout", "60", "ceph", "--connect-timeout", "20", ...args]);
  const auth = (entity: string): AuthEntity | undefined => {
    const r = host().tryExec(["timeout", "60", "ceph", "--connect-timeout", "20", "auth", "get", entity, "--format", "json"]);
    return r.code === 0 ? (JSON.parse(r.stdout) as AuthEntity[])[0] : undefined;
  };
  const unitLog = () => host().tryExec(["journalctl", "-u", `ceph-mon@${MON}`, "--no-pager", "-n", "60"]).stdout;
  const quorum = () => waitFor("quorum", () => host().tryExec(["timeout", "30", "ceph", "--connect-timeout", "10", "quorum_status"]).code === 0, 180_000, unitLog);
  /** The recipe's restore with `backup` on its standard input: exit status and what it said. */
  const restore = (backup: string) => {
    const h = host();
    fs.writeFileSync(h.path("/root/monitors.json"), backup, { mode: 0o600 });
    fs.writeFileSync(h.path("/root/restore.sh"), recipe!.restoreOn === "one member" ? recipe!.restore : "exit 99");
    return h.tryExec(["sh", "-c", "bash /root/restore.sh < /root/monitors.json"]);
  };

  let backup = "";
  let operator: AuthEntity;
  let rotatedBefore: AuthEntity;
  let probePool = 0;

  it("the dump, from a monitor in quorum: the fsid, an operator's auth entity, config, config-keys and pools", async () => {
    assert.ok(recipe, "cli/backupRecipes.ts has no ceph-monitors part");
    assert.equal(recipe.restoreOn, "one member");
    const h = host();
    await runOk(h, "cephmon/install", { NAME: MON });
    await runOk(h, "cephmon/configure", values());
    await quorum();
    ceph("auth", "get-or-create", "client.operator", "mon", "allow r", "osd", "allow rw pool=kinetic-probe");
    ceph("auth", "get-or-create", "client.rotated", "mon", "allow r");
    ceph("config", "set", "osd", "osd_max_backfills", "3");
    ceph("config-key", "set", "kinetic/probe", "a value with spaces");
    ceph("osd", "pool", "create", "kinetic-probe", "8");
    operator = auth("client.operator")!;
    rotatedBefore = auth("client.rotated")!;
    probePool = (JSON.parse(ceph("osd", "dump", "--format", "json")) as { pools: { pool: number; pool_name: string }[] }).pools.find((p) => p.pool_name === "kinetic-probe")!.pool;
    const r = h.tryExec(["bash", "-c", recipe.dump]);
    assert.equal(r.code, 0, r.stderr);
    backup = r.stdout;
    const doc = JSON.parse(backup) as { format: number; fsid: string; auth: AuthEntity[]; config: { section: string; name: string; value: string }[]; config_key: Record<string, string>; pools: { name: string; pool: number }[] };
    assert.equal(doc.format, 1);
    assert.equal(doc.fsid, JSON.parse(ceph("fsid", "--format", "json")).fsid);
    assert.deepEqual(doc.auth.find((e) => e.entity === "client.operator"), { entity: operator.entity, key: operator.key, caps: operator.caps });
    assert.ok(doc.config.some((o) => o.section === "osd" && o.name === "osd_max_backfills" && o.value === "3"));
    assert.equal(doc.config_key["kinetic/probe"], "a value with spaces");
    assert.ok(!Object.keys(doc.config_key).some((k) => k.startsWith("config/") || k.startsWith("config-history/")), "the config is taken once, from config dump");
    assert.deepEqual(doc.pools.find((p) => p.name === "kinetic-probe")?.pool, probePool);
  });

  it("a store made anew (same fsid from the stack's secrets) gets back what it lacks; what the monitors hold is kept; a second restore changes nothing", async () => {
    const h = host();
    h.exec(["systemctl", "stop", `ceph-mon@${MON}.service`]);
    h.exec(["rm", "-rf", `/var/lib/ceph/mon/ceph-${MON}`]);
    const r = await runOk(h, "cephmon/configure", values());
    assert.match(r.stdout, /INDEX 0 creates the cluster/, describeRun(r));
    await quorum();
    assert.equal(auth("client.operator"), undefined, "the new store has no operator's entity");
    // Made after the backup: a key rotated (a new one for the same name), and a new entity.
    ceph("auth", "get-or-create", "client.rotated", "mon", "allow r");
    const rotated = auth("client.rotated")!;
    assert.notEqual(rotated.key, rotatedBefore.key);
    ceph("auth", "get-or-create", "client.after", "mon", "allow r");

    const res = restore(backup);
    assert.equal(res.code, 0, res.stderr);
    const line = res.stdout.trim();
    console.log(`      [restore] ${line}`);
    assert.match(line, /^cephmon: auth entities put back: [^;]*\bclient\.operator\b/);
    assert.match(line, /kept as the monitors have them \(they differ from the backup\): [^;]*\bclient\.rotated\b/);
    assert.match(line, /config options put back: osd osd_max_backfills/);
    assert.match(line, new RegExp(`pools not made again .*kinetic-probe \\(id ${probePool}\\)`));
    assert.deepEqual(auth("client.operator"), operator, "the operator's entity, key and caps as taken");
    assert.equal(auth("client.rotated")!.key, rotated.key, "the rotated key is not brought back");
    assert.ok(auth("client.after"), "what was made after the backup stays");
    assert.equal(ceph("config", "get", "osd", "osd_max_backfills").trim(), "3");
    assert.equal(ceph("config-key", "get", "kinetic/probe"), "a value with spaces");
    assert.equal(h.tryExec(["sh", "-c", "ls /tmp/tmp.*/backup.json 2> /dev/null | wc -l"]).stdout.trim(), "0", "no copy of the keys left in /tmp");

    const again = restore(backup);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /auth entities put back: none; kept as .*client\.rotated; config options put back: none; config-keys put back: 0/);
  });

  it("a backup of another cluster (another fsid) is refused with nothing changed", () => {
    const doc = JSON.parse(backup) as { fsid: string; auth: AuthEntity[] };
    doc.fsid = "00000000-0000-4000-8000-000000000000";
    doc.auth.push({ entity: "client.foreign", key: operator.key, caps: { mon: "allow *" } });
    const res = restore(JSON.stringify(doc));
    assert.equal(res.code, 1);
    assert.match(res.stderr, /this backup is of Ceph cluster 00000000-0000-4000-8000-000000000000, these monitors serve [0-9a-f-]{36}: refusing, nothing was changed/);
    assert.equal(auth("client.foreign"), undefined);
  });
});
