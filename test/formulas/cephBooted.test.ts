import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { waitFor } from "./daemons";
import { assertIdempotent, changes, describeRun, EVIL, runOk, withHost } from "./hostSuite";

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
});
