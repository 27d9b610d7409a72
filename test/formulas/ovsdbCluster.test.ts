/**
 * OVN's RAFT clusters with a member rebuilt alone (issue 21), on a booted Debian host: member 0 is
 * the formulas' (ovn-central.service, started by ovn-ctl from the options formulas/ovsdb/configure
 * wrote); members 1 and 2 are ovsdb-servers of the test's own (transient units in the same host,
 * one per database) on their own loopback addresses, joined to the cluster member 0 founded.
 * formulas/ovsdb/leave takes member 0 out of both clusters (or refuses), its disk is wiped, and
 * formulas/ovsdb/configure brings it back into the running clusters; formulas/ovsdb/health is the
 * gate that says when it is whole.
 */
import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { DebianHost } from "../support/debianHost";
import { waitFor } from "./daemons";
import { assertIdempotent, assertRejects, changes, describeRun, runOk, withHost } from "./hostSuite";

const ADDRS = ["127.0.41.1", "127.0.41.2", "127.0.41.3"];
const DBS = [
  { key: "nb", name: "OVN_Northbound", client: 6641, raft: 6643 },
  { key: "sb", name: "OVN_Southbound", client: 6642, raft: 6644 },
];
const values = (over: FormulaValues = {}): FormulaValues => ({ NAME: "ovsdb-1", ADDRESS: ADDRS[0], INDEX: "0", ADDRESSES_OVSDB: ADDRS.join(" "), ...over });
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("formulas/ovsdb: a member leaves OVN's running RAFT clusters and joins them again from a new disk", function () {
  this.timeout(20 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const peerUnit = (i: number, key: string) => `kinetic-ovsdb-${i}-${key}`;
  const peerCtl = (i: number, key: string) => `/run/kinetic-ovsdb-${i}-${key}.ctl`;
  const ctl = (i: number, key: string) => (i === 0 ? `/var/run/ovn/ovn${key}_db.ctl` : peerCtl(i, key));
  /** cluster/status of one database through member i's control socket. */
  const status = (h: DebianHost, i: number, db: (typeof DBS)[number]) => h.tryExec(["ovs-appctl", "-t", ctl(i, db.key), "cluster/status", db.name]);
  /** The RAFT addresses a member's cluster/status lists, sorted. */
  const servers = (h: DebianHost, i: number, db: (typeof DBS)[number]) =>
    [...status(h, i, db).stdout.matchAll(/^\s+\S+ \(\S+ at (\S+)\)/gm)].map((m) => m[1]).sort();
  const all = (db: (typeof DBS)[number], which = [0, 1, 2]) => which.map((i) => `tcp:${ADDRS[i]}:${db.raft}`).sort();
  const journal = (h: DebianHost) => () =>
    h.tryExec(["journalctl", "-u", "ovn-ovsdb-server-nb", "-u", "ovn-ovsdb-server-sb", ...[1, 2].flatMap((i) => DBS.flatMap((d) => ["-u", peerUnit(i, d.key)])), "--no-pager", "-n", "60"]).stdout;
  /** Member i (1 or 2): both databases joined to the cluster through member 0, as transient units. */
  const startPeer = (h: DebianHost, i: number) => {
    for (const db of DBS) {
      const file = `/var/lib/kinetic-ovsdb-${i}/${db.key}.db`;
      h.exec(["install", "-d", `/var/lib/kinetic-ovsdb-${i}`]);
      h.exec(["ovsdb-tool", "join-cluster", file, db.name, `tcp:${ADDRS[i]}:${db.raft}`, `tcp:${ADDRS[0]}:${db.raft}`]);
      h.exec(["systemd-run", "--unit", peerUnit(i, db.key), "/usr/sbin/ovsdb-server", "--no-chdir", `--unixctl=${peerCtl(i, db.key)}`,
        `--remote=ptcp:${db.client}:${ADDRS[i]}`, `--log-file=/var/log/kinetic-ovsdb-${i}-${db.key}.log`, file]);
    }
  };
  /** Waits (up to 2 min) until ovsdb/health passes on member 0; its output. */
  const healthy = async (h: DebianHost) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await h.formula("ovsdb/health", values());
      if (r.code === 0) return r.stdout;
      if (Date.now() > deadline) assert.fail(`ovsdb/health never passed: ${describeRun(r)}\n${journal(h)()}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  /** The northbound rows a tenant's network leaves, read from member i's own copy. */
  const rows = (h: DebianHost, i: number) =>
    ["ls-list", "lr-list"].map((c) => h.exec(["ovn-nbctl", "--no-leader-only", `--db=tcp:${ADDRS[i]}:6641`, c]).replace(/^\S+ \(|\)$/gm, "").split("\n").filter(Boolean).sort().join(" ")).join(" | ");
  const pause = (h: DebianHost, i: number, signal: "SIGSTOP" | "SIGCONT") => {
    for (const db of DBS) h.exec(["systemctl", "kill", `--signal=${signal}`, `${peerUnit(i, db.key)}.service`]);
  };

  it("three members serve (member 0 founded by the formula); ovsdb/health passes and says so", async () => {
    const h = host();
    await runOk(h, "ovsdb/install", { NAME: "ovsdb-1" });
    const r = await runOk(h, "ovsdb/configure", values());
    assert.match(r.stdout, /INDEX 0 creates the OVN RAFT cluster on 127\.0\.41\.1/, describeRun(r));
    assert.doesNotMatch(r.stdout, /joins the running cluster/, "nobody served yet: member 0 founds");
    startPeer(h, 1);
    startPeer(h, 2);
    assert.match(await healthy(h), new RegExp(`^ovsdb: ${re(ADDRS[0])} serves OVN_Northbound OVN_Southbound, each with a leader and all 3 members of the pillar in its cluster$`, "m"));
    for (const db of DBS) assert.deepEqual(servers(h, 1, db), all(db));
    const nbctl = (...args: string[]) => h.exec(["ovn-nbctl", `--db=${ADDRS.map((a) => `tcp:${a}:6641`).join(",")}`, ...args]);
    nbctl("ls-add", "kinetic-probe-net");
    nbctl("lsp-add", "kinetic-probe-net", "kinetic-probe-port");
    nbctl("lr-add", "kinetic-probe-router");
    assert.equal(rows(h, 2), "kinetic-probe-net | kinetic-probe-router");
  });

  it("with another member stopped: ovsdb/health names it and leave is refused, member 0 still in both clusters", async () => {
    const h = host();
    pause(h, 2, "SIGSTOP");
    try {
      await assertRejects(h, "ovsdb/health", values(), "clusters", new RegExp(`not connected to OVN_Northbound's cluster: ${re(ADDRS[2])}`));
      const before = DBS.map((db) => h.exec(["stat", "-c", "%i %Y", `/var/lib/ovn/ovn${db.key}_db.db`]));
      const r = await h.formula("ovsdb/leave", values());
      assert.equal(r.code, 77, describeRun(r));
      assert.match(r.stderr, new RegExp(`removing ${re(ADDRS[0])} from OVN_Northbound's cluster would leave 1 connected server\\(s\\) of the 2 remaining \\(2 needed\\): refusing`));
      for (const db of DBS) {
        assert.match(status(h, 0, db).stdout, /^Status: cluster member$/m, `member 0 still in ${db.name}`);
        assert.deepEqual(servers(h, 1, db), all(db));
      }
      assert.deepEqual(DBS.map((db) => h.exec(["stat", "-c", "%i %Y", `/var/lib/ovn/ovn${db.key}_db.db`])), before);
      assert.equal(h.exec(["systemctl", "is-active", "ovn-ovsdb-server-nb.service"]).trim(), "active");
    } finally {
      pause(h, 2, "SIGCONT");
    }
    await healthy(h);
  });

  it("leave: member 0 leaves both clusters, the others list two; health fails while it is missing", async () => {
    const h = host();
    const left = await runOk(h, "ovsdb/leave", values());
    assert.match(left.stdout, new RegExp(`^ovsdb: ${re(ADDRS[0])} left its clusters \\(OVN_Northbound: 2 of 2 remain connected; OVN_Southbound: 2 of 2 remain connected\\)$`, "m"), describeRun(left));
    for (const db of DBS) assert.deepEqual(servers(h, 1, db), all(db, [1, 2]), `${db.name} without member 0`);
    assert.notEqual(h.tryExec(["systemctl", "is-active", "ovn-ovsdb-server-nb.service"]).stdout.trim(), "active");
    await assertRejects(h, "ovsdb/health", values(), "clusters", /OVN_Northbound is not served here/);
  });

  it("a new disk while the others have no majority: INDEX 0 refuses to found a second cluster and makes no database", async () => {
    const h = host();
    // What the machine's replacement loses: the databases and the configuration.
    h.exec(["sh", "-c", "rm -f /var/lib/ovn/ovn*_db.db /etc/default/ovn-central"]);
    pause(h, 2, "SIGSTOP");
    try {
      // Member 1 alone of two: after an election it cannot win, it says it is disconnected (its _Server too).
      const deadline = Date.now() + 30_000;
      while (!DBS.every((db) => /^Status: disconnected from the cluster/m.test(status(h, 1, db).stdout)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      await assertRejects(h, "ovsdb/configure", values(), "cluster", new RegExp(`OVN_Northbound: ${re(ADDRS[1])} answer\\(s\\) as a member of a cluster with no majority now: refusing to found a second one`));
      for (const db of DBS) assert.equal(h.tryExec(["test", "-e", `/var/lib/ovn/ovn${db.key}_db.db`]).code, 1, `no ${db.name} database made`);
      // Nor the options: with them and no database, any start of ovn-central would found a cluster.
      assert.equal(h.tryExec(["test", "-e", "/etc/default/ovn-central"]).code, 1, "no options written");
    } finally {
      pause(h, 2, "SIGCONT");
    }
    // Members 1 and 2 elect a leader again (both databases) before the next case joins them.
    await waitFor("a leader again", () => DBS.every((db) => /^Status: cluster member$/m.test(status(h, 1, db).stdout) && /^Leader: (?!unknown)\S+$/m.test(status(h, 1, db).stdout)), 60_000, journal(h));
  });

  it("configure on the new disk: member 0 joins the running clusters, its rows are back, health passes; a second configure changes nothing", async () => {
    const h = host();
    // As on a new machine: the package's install started ovn-central with its defaults, which made
    // and serves empty standalone databases (the file is gone, so ovn-ctl has no options).
    h.exec(["systemctl", "restart", "ovn-central.service"]);
    await waitFor("the package's standalone databases", () => DBS.every((db) => h.tryExec(["ovsdb-tool", "db-is-standalone", `/var/lib/ovn/ovn${db.key}_db.db`]).code === 0), 60_000, journal(h));
    const r = await runOk(h, "ovsdb/configure", values());
    assert.match(r.stdout, /^ovsdb: OVN_Northbound OVN_Southbound joins the running cluster of 127\.0\.41\.2 127\.0\.41\.3$/m, describeRun(r));
    for (const db of DBS) assert.ok(changes(r).includes(`${db.name} joins the cluster of ${ADDRS[1]} ${ADDRS[2]}`), describeRun(r));
    assert.doesNotMatch(r.stdout, /creates the OVN RAFT cluster/);
    // The standalone files moved aside, not deleted.
    for (const db of DBS) assert.match(h.exec(["sh", "-c", `ls /var/lib/ovn/ovn${db.key}_db.db.standalone-*`]), new RegExp(`ovn${db.key}_db\\.db\\.standalone-\\d{8}T\\d{6}Z`));
    await healthy(h);
    for (const db of DBS) {
      assert.deepEqual(servers(h, 0, db), all(db));
      assert.equal(/^Cluster ID: \S+ \((\S+)\)$/m.exec(status(h, 0, db).stdout)?.[1], /^Cluster ID: \S+ \((\S+)\)$/m.exec(status(h, 1, db).stdout)?.[1], `one ${db.name} cluster`);
    }
    // Read from member 0's own copy: the rows reached its new disk.
    assert.equal(rows(h, 0), "kinetic-probe-net | kinetic-probe-router");
    const state = () => ["nb", "sb"].map((k) => `${h.exec(["stat", "-c", "%i", `/var/lib/ovn/ovn${k}_db.db`]).trim()} ${h.exec(["systemctl", "show", "-p", "MainPID", "--value", `ovn-ovsdb-server-${k}.service`]).trim()}`);
    const before = state();
    await assertIdempotent(h, "ovsdb/configure", values());
    assert.deepEqual(state(), before, "the same database files and processes");
    await healthy(h);
  });

  it("a member whose machine went without leaving: its stale server is removed and it joins again", async () => {
    const h = host();
    h.exec(["systemctl", "stop", "ovn-central.service", "ovn-northd.service", "ovn-ovsdb-server-nb.service", "ovn-ovsdb-server-sb.service"]);
    h.exec(["sh", "-c", "rm -f /var/lib/ovn/ovn*_db.db* /etc/default/ovn-central"]);
    // The others still list member 0's old server (and keep a majority: two of three answer).
    for (const db of DBS) assert.deepEqual(servers(h, 1, db), all(db));
    const r = await runOk(h, "ovsdb/configure", values());
    for (const db of DBS) assert.ok(changes(r).some((c) => new RegExp(`^${db.name}: removed the stale server [0-9a-f]{4} of this address$`).test(c)), describeRun(r));
    await healthy(h);
    for (const db of DBS) {
      assert.deepEqual(servers(h, 1, db), all(db), `${db.name}: three servers, the stale one gone`);
      assert.deepEqual(servers(h, 0, db), all(db));
    }
    assert.equal(rows(h, 0), "kinetic-probe-net | kinetic-probe-router");
  });
});
