import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { DebianHost } from "../support/debianHost";
import { waitFor } from "./daemons";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, withHost } from "./hostSuite";

const NAMES = ["etcd-4b8c3e5a-6f7d-4a91-acbd-2e3f4a5b6c01", "etcd-5c9d4f6b-7a8e-4ba2-bdce-3f4a5b6c7d02", "etcd-6dae5a7c-8b9f-4cb3-8edf-4a5b6c7d8e03"];
const ADDRS = ["127.0.40.1", "127.0.40.2", "127.0.40.3"];
const values = (i: number, count: number, over: FormulaValues = {}): FormulaValues => ({
  NAME: NAMES[i],
  ADDRESS: ADDRS[i],
  NAMES_ETCD: NAMES.slice(0, count).join(" "),
  ADDRESSES_ETCD: ADDRS.slice(0, count).join(" "),
  ...over,
});

describe("formulas/etcd on a booted Debian host (etcd really runs)", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const etcdctl = (...args: string[]) => host().tryExec(["etcdctl", "--endpoints", `http://${ADDRS[0]}:2379`, "--dial-timeout", "3s", ...args]);

  it("install: etcd server and etcdctl; etcd enabled; a second run changes nothing", async () => {
    const h = host();
    await runOk(h, "etcd/install", { NAME: NAMES[0] });
    assertInstalled(h, ["etcd-server", "etcd-client"]);
    assertEnabled(h, ["etcd.service"]);
    await assertIdempotent(h, "etcd/install", { NAME: NAMES[0] });
  });

  it("configure: the member starts with the static cluster and answers etcdctl endpoint health", async () => {
    const h = host();
    const r = await runOk(h, "etcd/configure", values(0, 1));
    assert.match(r.stdout, /restarted: etcd\.service/);
    const env = h.read("/etc/default/etcd");
    assert.match(env, new RegExp(`^ETCD_INITIAL_CLUSTER=${NAMES[0]}=http://${ADDRS[0]}:2380$`, "m"));
    assert.match(env, /^ETCD_DATA_DIR=\/var\/lib\/etcd\/kinetic$/m);
    await waitFor("etcd endpoint health", () => etcdctl("endpoint", "health").code === 0, 90_000, () => h.tryExec(["journalctl", "-u", "etcd", "--no-pager", "-n", "40"]).stdout);
    assert.match(etcdctl("endpoint", "health").stderr + etcdctl("endpoint", "health").stdout, /is healthy/);
    assert.equal(etcdctl("put", "kinetic", "works").code, 0);
    assert.equal(etcdctl("get", "--print-value-only", "kinetic").stdout.trim(), "works");
    assert.equal(h.exec(["systemctl", "is-active", "etcd.service"]).trim(), "active");
  });

  it("changes nothing on a second run (and does not restart a running member)", async () => {
    const h = host();
    const pid = h.exec(["systemctl", "show", "-p", "MainPID", "--value", "etcd.service"]).trim();
    await assertIdempotent(h, "etcd/configure", values(0, 1));
    assert.equal(h.exec(["systemctl", "show", "-p", "MainPID", "--value", "etcd.service"]).trim(), pid);
  });

  it("every member of a three-node cluster gets the same initial cluster", async () => {
    const h = host();
    // Nobody serves: a first up's founding configuration (a member that finds a running cluster joins it, below).
    h.exec(["systemctl", "stop", "etcd.service"]);
    const r = await runOk(h, "etcd/configure", values(1, 3));
    assert.match(h.read("/etc/default/etcd"), /^ETCD_INITIAL_CLUSTER_STATE=new$/m);
    const line = `ETCD_INITIAL_CLUSTER=${NAMES.map((n, i) => `${n}=http://${ADDRS[i]}:2380`).join(",")}`;
    assert.ok(h.read("/etc/default/etcd").includes(line), describeRun(r));
    assert.match(h.read("/etc/default/etcd"), new RegExp(`^ETCD_LISTEN_CLIENT_URLS=http://${ADDRS[1]}:2379,http://127\\.0\\.0\\.1:2379$`, "m"));
  });

  it("refuses hostile or inconsistent values without executing them", async () => {
    const h = host();
    await assertRejects(h, "etcd/configure", values(0, 2, { NAMES_ETCD: `${NAMES[0]} ${EVIL}` }), "check values", /KINETIC_NAMES_ETCD/);
    await assertRejects(h, "etcd/configure", values(0, 2, { ADDRESSES_ETCD: ADDRS[0] }), "check values", /differ in length/);
    await assertRejects(h, "etcd/configure", values(2, 2), "check values", /is not in KINETIC_NAMES_ETCD/);
  });
});

/**
 * A member rebuilt alone (issue 21): formulas/etcd/leave removes it from the running cluster, and
 * on a new disk formulas/etcd/configure adds it again and starts it into that cluster. The host's
 * etcd.service is member 0 (the formulas' member); members 1 and 2 are etcd processes of the
 * test's own (transient units in the same host) on their own loopback addresses.
 */
describe("formulas/etcd: a member leaves its running cluster and joins it again from a new disk", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const at = (i: number) => `http://${ADDRS[i]}:2379`;
  const etcdctl = (i: number, ...args: string[]) => host().tryExec(["etcdctl", "--endpoints", at(i), "--dial-timeout", "3s", "--command-timeout", "10s", ...args]);
  const members = (i: number) => (JSON.parse(etcdctl(i, "member", "list", "-w", "json").stdout).members as { name: string }[]).map((m) => m.name || "(unstarted)").sort();
  const initial = NAMES.map((n, i) => `${n}=http://${ADDRS[i]}:2380`).join(",");
  const journal = (h: DebianHost) => () => h.tryExec(["journalctl", "-u", "etcd", "-u", "kinetic-peer-1", "-u", "kinetic-peer-2", "--no-pager", "-n", "60"]).stdout;
  /** Member i (1 or 2) as a transient unit: the same static cluster the formula writes. */
  const startPeer = (h: DebianHost, i: number) =>
    h.exec(["systemd-run", "--unit", `kinetic-peer-${i}`, "/usr/bin/etcd", "--name", NAMES[i], "--data-dir", `/var/lib/kinetic-peer-${i}`,
      "--listen-peer-urls", `http://${ADDRS[i]}:2380`, "--initial-advertise-peer-urls", `http://${ADDRS[i]}:2380`,
      "--listen-client-urls", at(i), "--advertise-client-urls", at(i),
      "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "kinetic-etcd"]);
  /** Waits (up to 2 min) until etcd/health passes on member 0; its output. */
  const healthy = async (h: DebianHost) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await h.formula("etcd/health", values(0, 3));
      if (r.code === 0) return r.stdout;
      if (Date.now() > deadline) assert.fail(`etcd/health never passed: ${describeRun(r)}\n${journal(h)()}`);
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  };

  it("three members serve (member 0 founded by the formula); etcd/health passes and says so", async () => {
    const h = host();
    await runOk(h, "etcd/install", { NAME: NAMES[0] });
    const r = await runOk(h, "etcd/configure", values(0, 3));
    assert.doesNotMatch(r.stdout, /joining the running cluster/, "nobody served yet: member 0 founds");
    assert.match(h.read("/etc/default/etcd"), /^ETCD_INITIAL_CLUSTER_STATE=new$/m);
    startPeer(h, 1);
    startPeer(h, 2);
    assert.match(await healthy(h), new RegExp(`^etcd: ${NAMES[0]} serves, 3 of 3 members of the pillar in its cluster and serving$`, "m"));
    assert.equal(etcdctl(1, "put", "kinetic-probe", "kept-1").code, 0);
  });

  it("with another member down: etcd/health names it and leave is refused, member 0 still in the cluster and serving", async () => {
    const h = host();
    h.exec(["systemctl", "kill", "--signal=SIGSTOP", "kinetic-peer-2.service"]);
    try {
      await assertRejects(h, "etcd/health", values(0, 3), "cluster", new RegExp(`not every member serves: .*${ADDRS[2].replace(/\./g, "\\.")}`));
      await assertRejects(h, "etcd/leave", values(0, 3), "leave", new RegExp(`removing ${NAMES[0]} would leave 1 serving member\\(s\\) of the 2 remaining \\(2 needed\\): refusing`));
      assert.equal(h.exec(["systemctl", "is-active", "etcd.service"]).trim(), "active");
      assert.deepEqual(members(0), [...NAMES].sort());
    } finally {
      h.exec(["systemctl", "kill", "--signal=SIGCONT", "kinetic-peer-2.service"]);
    }
    await healthy(h);
  });

  it("leave, then a new disk: member 0 is added again, starts into the running cluster and has its keys; a second configure changes nothing", async () => {
    const h = host();
    const left = await runOk(h, "etcd/leave", values(0, 3));
    assert.match(left.stdout, new RegExp(`^etcd: ${NAMES[0]} left the cluster \\(2 of 2 remain serving\\)$`, "m"), describeRun(left));
    assert.deepEqual(members(1), [NAMES[1], NAMES[2]].sort());
    assert.notEqual(h.tryExec(["systemctl", "is-active", "etcd.service"]).stdout.trim(), "active");
    // What the machine's replacement loses: the member's data and its configuration.
    h.exec(["rm", "-rf", "/var/lib/etcd/kinetic", "/etc/default/etcd"]);
    const r = await runOk(h, "etcd/configure", values(0, 3));
    assert.match(r.stdout, /^etcd: joining the running cluster$/m, describeRun(r));
    assert.ok(changes(r).includes(`member ${NAMES[0]} added to the running cluster`), describeRun(r));
    const env = h.read("/etc/default/etcd");
    assert.match(env, /^ETCD_INITIAL_CLUSTER_STATE=existing$/m);
    const listed = /^ETCD_INITIAL_CLUSTER=(.*)$/m.exec(env)?.[1].split(",").sort();
    assert.deepEqual(listed, initial.split(",").sort());
    await healthy(h);
    // A serializable read is answered from member 0's own copy: the key reached its new data.
    assert.equal(etcdctl(0, "get", "--consistency=s", "--print-value-only", "kinetic-probe").stdout.trim(), "kept-1");
    const pid = h.exec(["systemctl", "show", "-p", "MainPID", "--value", "etcd.service"]).trim();
    const inode = h.exec(["stat", "-c", "%i", "/var/lib/etcd/kinetic/member"]).trim();
    await assertIdempotent(h, "etcd/configure", values(0, 3));
    assert.equal(h.exec(["systemctl", "show", "-p", "MainPID", "--value", "etcd.service"]).trim(), pid, "not restarted");
    assert.equal(h.exec(["stat", "-c", "%i", "/var/lib/etcd/kinetic/member"]).trim(), inode, "its data kept");
  });

  it("a member whose machine went without leaving: its stale entry is removed and it joins again", async () => {
    const h = host();
    h.exec(["systemctl", "stop", "etcd.service"]);
    h.exec(["rm", "-rf", "/var/lib/etcd/kinetic", "/var/lib/etcd/kinetic-join", "/etc/default/etcd"]);
    const r = await runOk(h, "etcd/configure", values(0, 3));
    assert.match(r.stdout, new RegExp(`^etcd: removed the stale member ${NAMES[0]} `, "m"), describeRun(r));
    assert.match(r.stdout, /^etcd: joining the running cluster$/m);
    await healthy(h);
    assert.equal(etcdctl(0, "get", "--consistency=s", "--print-value-only", "kinetic-probe").stdout.trim(), "kept-1");
  });
});
