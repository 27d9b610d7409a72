import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { waitFor } from "./daemons";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, describeRun, EVIL, runOk, withHost } from "./hostSuite";

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
    const r = await runOk(h, "etcd/configure", values(1, 3));
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
