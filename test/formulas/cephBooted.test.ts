import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { waitFor } from "./daemons";
import { assertIdempotent, assertRejects, changes, describeRun, EVIL, runOk, withHost } from "./hostSuite";

const MON = "cephmon-9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01";
const values = (over: FormulaValues = {}): FormulaValues => ({
  NAME: MON, ADDRESS: "127.0.0.1", INDEX: "0", NAMES_CEPHMON: MON, ADDRESSES_CEPHMON: "127.0.0.1",
  SUBNET_MANAGEMENT: "127.0.0.0/8", SUBNET_SBE: "", ROLE_ADDRESSES_STORAGE: "127.0.0.1",
  SECRET_CEPH_FSID: `fsid-${EVIL}`, SECRET_CEPH_MON: `mon-${EVIL}`, SECRET_CEPH_ADMIN: `admin-${EVIL}`, SECRET_CEPH_MGR: `mgr-${EVIL}`,
  SECRET_CEPH_BOOTSTRAP_OSD: `bosd-${EVIL}`, SECRET_CEPH_BOOTSTRAP_MDS: `bmds-${EVIL}`, SECRET_CEPH_BOOTSTRAP_RGW: `brgw-${EVIL}`,
  ...over,
});

/** The production path of cephmon: systemd runs, so the formula itself starts ceph-mon@ and ceph-mgr@. */
describe("formulas/cephmon on a booted Debian host (the formula starts the monitor and manager under systemd)", function () {
  this.timeout(20 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const cephJson = (...args: string[]) => JSON.parse(host().exec(["timeout", "60", "ceph", "--connect-timeout", "20", ...args, "--format", "json"]));

  it("install + configure: ceph-mon@ and ceph-mgr@ run, quorum of one, an active manager; the cluster settings applied; a rerun changes nothing", async () => {
    const h = host();
    await runOk(h, "cephmon/install", { NAME: MON });
    const r = await runOk(h, "cephmon/configure", values());
    assert.ok(changes(r).includes(`monitor ${MON} created`), describeRun(r));
    assert.match(r.stdout, new RegExp(`restarted: ceph-mon@${MON}\\.service`));
    const unitLog = () => h.tryExec(["journalctl", "-u", `ceph-mon@${MON}`, "-u", `ceph-mgr@${MON}`, "--no-pager", "-n", "60"]).stdout;
    await waitFor("quorum", () => cephJson("quorum_status").quorum_names.join() === MON, 120_000, unitLog);
    await waitFor("an active manager", () => cephJson("mgr", "stat").available === true, 180_000, unitLog);
    assert.equal(h.exec(["systemctl", "is-active", `ceph-mon@${MON}.service`, `ceph-mgr@${MON}.service`]).trim(), "active\nactive");
    // The monitor answers as soon as the start step ran, so the same run already applied the pool defaults
    // (unless the monitor was still electing itself; then the next run does).
    await runOk(h, "cephmon/configure", values());
    assert.equal(h.exec(["ceph", "config", "get", "mon", "osd_pool_default_size"]).trim(), "1", describeRun(r));
    await assertIdempotent(h, "cephmon/configure", values());
  });

  it("health: passes with the monitor in quorum; fails naming a pillar monitor not in it, and a monitor that is down. leave: refused when it would break quorum, the monitor kept", async () => {
    const h = host();
    const other = "cephmon-1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a02";
    const health = await runOk(h, "cephmon/health", values());
    assert.match(health.stdout, new RegExp(`^cephmon: mon\\.${MON} leader, all 1 monitors of the pillar in its quorum$`, "m"), describeRun(health));
    await assertRejects(h, "cephmon/health", values({ NAMES_CEPHMON: `${MON} ${other}`, ADDRESSES_CEPHMON: "127.0.0.1 127.0.0.2" }), "quorum", new RegExp(`not in mon\\.${MON}'s quorum: mon\\.${other} \\(quorum: ${MON}\\)`));
    // The only monitor: removing it leaves no quorum, so leave refuses and changes nothing.
    await assertRejects(h, "cephmon/leave", values(), "leave", new RegExp(`removing mon\\.${MON} would leave 0 monitor\\(s\\) in quorum of the 0 remaining in the map \\(1 needed\\): refusing`));
    assert.equal(h.exec(["systemctl", "is-active", `ceph-mon@${MON}.service`]).trim(), "active");
    assert.deepEqual(cephJson("quorum_status").quorum_names, [MON]);
    // A monitor that is down is not healthy, whatever the others say.
    h.exec(["systemctl", "stop", `ceph-mon@${MON}.service`]);
    try {
      await assertRejects(h, "cephmon/health", values(), "quorum", new RegExp(`mon\\.${MON} does not answer on its admin socket`));
    } finally {
      h.exec(["systemctl", "start", `ceph-mon@${MON}.service`]);
    }
  });

  it("a rebuilt INDEX 0 while a monitor of the cluster listens but gives no map: refused, no second cluster made", async () => {
    const h = host();
    // Stands for a monitor of the pillar without a quorum: its port takes connections (the kernel
    // completes them from the backlog) and nothing ever answers.
    h.exec(["systemd-run", "--unit", "kinetic-silent-mon", "python3", "-c", "import socket, time\ns = socket.socket()\ns.bind(('127.0.0.2', 3300))\ns.listen(64)\ntime.sleep(3600)"]);
    try {
      await waitFor("the silent listener", () => h.tryExec(["bash", "-c", "exec 3<> /dev/tcp/127.0.0.2/3300"]).code === 0, 30_000);
      const fresh = "cephmon-9f4c6a5b-1e8d-4c2f-8a7b-5d6e7f8a9b04";
      const other = "cephmon-0a5d7b6c-2f9e-4d3a-9b8c-6e7f8a9b0c05";
      await assertRejects(h, "cephmon/configure", values({ NAME: fresh, ADDRESS: "127.0.0.3", NAMES_CEPHMON: `${fresh} ${other}`, ADDRESSES_CEPHMON: "127.0.0.3 127.0.0.2" }), "monitor",
        /a monitor of this cluster listens on 127\.0\.0\.2:3300 but no quorum gave its map: refusing to create a second cluster/);
      assert.equal(h.exists(`/var/lib/ceph/mon/ceph-${fresh}`), false, "no monitor store was made");
    } finally {
      h.tryExec(["systemctl", "stop", "kinetic-silent-mon.service"]);
    }
  });
});
