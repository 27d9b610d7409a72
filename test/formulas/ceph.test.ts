import * as assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { FormulaValues } from "../../formulas/envelope";
import { DebianHost } from "../support/debianHost";
import { bindSys, Daemons, LoopDisk, loopDisk, waitFor } from "./daemons";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, waitForPort, withHost } from "./hostSuite";
import { INFRASTRUCTURE_INSTALLS } from "./openstackSuite";

const MON = "cephmon-5b0e2c1d-7a4f-4e8b-9c3d-1f2a3b4c5d01";
const MON_ADDR = "127.0.20.11";
const OSD_ADDR = "127.0.20.31";
const MDS = "mds-6c1f3d2e-8b5a-4f9c-ad4e-2a3b4c5d6e01";
const SECRETS: FormulaValues = {
  SECRET_CEPH_FSID: `fsid-${EVIL}`,
  SECRET_CEPH_MON: `mon-${EVIL}`,
  SECRET_CEPH_ADMIN: `admin-${EVIL}`,
  SECRET_CEPH_MGR: `mgr-${EVIL}`,
  SECRET_CEPH_BOOTSTRAP_OSD: `bosd-${EVIL}`,
  SECRET_CEPH_BOOTSTRAP_MDS: `bmds-${EVIL}`,
  SECRET_CEPH_BOOTSTRAP_RGW: `brgw-${EVIL}`,
};
const cluster: FormulaValues = { NAMES_CEPHMON: MON, ADDRESSES_CEPHMON: MON_ADDR, SUBNET_MANAGEMENT: "127.0.0.0/8", SUBNET_SBE: "" };
const monValues = (over: FormulaValues = {}): FormulaValues => ({
  NAME: MON, ADDRESS: MON_ADDR, INDEX: "0", ...cluster, ...SECRETS,
  ROLE_ADDRESSES_STORAGE: "127.0.20.21", ROLE_ADDRESSES_MDS: "127.0.20.41", ...over,
});
const storageValues = (disks: string): FormulaValues => ({
  NAME: "storage-0a23385b-f721-4de3-9f17-1d6dff2b6348", ...cluster, OSD_DISKS: disks,
  SECRET_CEPH_FSID: SECRETS.SECRET_CEPH_FSID, SECRET_CEPH_BOOTSTRAP_OSD: SECRETS.SECRET_CEPH_BOOTSTRAP_OSD,
});
const mdsValues = (): FormulaValues => ({ NAME: MDS, ...cluster, SECRET_CEPH_FSID: SECRETS.SECRET_CEPH_FSID, SECRET_CEPH_BOOTSTRAP_MDS: SECRETS.SECRET_CEPH_BOOTSTRAP_MDS });

/** What formulas/lib/ceph.sh derives, computed independently. */
function fsidOf(secret: string): string {
  const d = createHash("sha256").update(`${secret}:fsid`).digest().subarray(0, 16);
  d[6] = (d[6] & 0x0f) | 0x40;
  d[8] = (d[8] & 0x3f) | 0x80;
  const h = d.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
function keyOf(secret: string, entity: string): string {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(1, 0);
  head.writeUInt16LE(16, 10);
  return Buffer.concat([head, createHash("sha256").update(`${secret}:${entity}`).digest().subarray(0, 16)]).toString("base64");
}
const FSID = fsidOf(SECRETS.SECRET_CEPH_FSID);
const ADMIN_KEY = keyOf(SECRETS.SECRET_CEPH_ADMIN, "client.admin");

function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

describe("formulas/cephmon, storage and mds on a Debian host (a real monitor, manager, OSD and MDS)", function () {
  this.timeout(20 * 60_000);
  const daemons = new Daemons();
  const disks: LoopDisk[] = [];
  let osdDaemon: ChildProcess | undefined;
  let unbindSys: (() => void) | undefined;
  // Registered before withHost's hook, so it runs first: daemons stop before the host is torn down.
  after(async function () {
    this.timeout(10 * 60_000);
    await daemons.stopAll();
    unbindSys?.();
    for (const d of disks) d.detach();
    // The host's teardown (60 s) deletes its upper layer: remove the bulk this file installed
    // (Ceph, MariaDB, keystone, the OpenStack client) here, where there is time for it on a busy machine.
    if (hostRef) for (const dir of ["/usr/lib/python3/dist-packages", "/usr/share", "/usr/lib/x86_64-linux-gnu", "/usr/bin", "/var/lib"]) fs.rmSync(hostRef.path(dir), { recursive: true, force: true });
  });
  // MariaDB and keystone (for radosgw's keystone case) from the cached layer: ceph's own roles install on it.
  const { host: started } = withHost({ installed: INFRASTRUCTURE_INSTALLS });
  let hostRef: DebianHost | undefined;
  const host = () => (hostRef = started());
  const ceph = (h: DebianHost, ...args: string[]) => h.exec(["timeout", "60", "ceph", "--connect-timeout", "20", ...args]);
  const cephJson = (h: DebianHost, ...args: string[]) => JSON.parse(ceph(h, ...args, "--format", "json"));
  /** osd.0 as the monitor sees it. */
  const osd0 = (h: DebianHost) => cephJson(h, "osd", "dump").osds.find((o: { osd: number }) => o.osd === 0);
  /** osd.0's daemon in the foreground (no systemd here), logged under `name`. */
  const startOsd0 = (h: DebianHost, name: string) => (osdDaemon = daemons.start(h, name, ["ceph-osd", "-f", "-i", "0", "--setuser", "ceph", "--setgroup", "ceph", "--public-addr", OSD_ADDR, "--cluster-addr", OSD_ADDR]));

  it("install: ceph-mon, ceph-mgr, ceph-osd (with ceph-volume) and ceph-mds; targets enabled; a second run changes nothing", async () => {
    const h = host();
    for (const role of ["cephmon", "storage", "mds"]) {
      await runOk(h, `${role}/install`, { NAME: `${role}-1` });
      await assertIdempotent(h, `${role}/install`, { NAME: `${role}-1` });
    }
    assertInstalled(h, ["ceph-mon", "ceph-mgr", "ceph-osd", "ceph-mds"]);
    assert.ok(h.exists("/usr/sbin/ceph-volume"));
    assertEnabled(h, ["ceph.target", "ceph-mon.target", "ceph-mgr.target", "ceph-osd.target", "ceph-mds.target"]);
  });

  it("cephmon INDEX 0: creates the cluster once (derived fsid and keys, nothing secret printed); starting is skipped without systemd", async () => {
    const h = host();
    const r = await runOk(h, "cephmon/configure", monValues());
    assert.ok(changes(r).includes(`monitor ${MON} created`), describeRun(r));
    assert.match(r.stdout, new RegExp(`cephmon: INDEX 0 creates the cluster with monitor ${MON}`));
    assert.match(r.stdout, /skipped: starting ceph-mon@/);
    assert.match(r.stdout, /skipped: pool defaults and CephFS \(the cluster does not answer yet\)/);
    const conf = h.read("/etc/ceph/ceph.conf");
    assert.match(conf, new RegExp(`^fsid = ${FSID}$`, "m"));
    assert.match(conf, new RegExp(`^mon_host = ${MON_ADDR}$`, "m"));
    assert.match(conf, new RegExp(`^\\[mon\\.${MON}\\]\\npublic_addr = ${MON_ADDR}$`, "m"));
    assert.equal(h.exec(["stat", "-c", "%a %U", "/etc/ceph/ceph.client.admin.keyring"]).trim(), "600 root");
    assert.match(h.read("/etc/ceph/ceph.client.admin.keyring"), new RegExp(`key = ${ADMIN_KEY.replace(/[+/]/g, "\\$&")}`));
    assert.equal(h.read(`/var/lib/ceph/mon/ceph-${MON}/kinetic-fsid`).trim(), FSID);
    assertEnabled(h, [`ceph-mon@${MON}.service`, `ceph-mgr@${MON}.service`]);
    const out = r.stdout + r.stderr;
    for (const secret of [FSID, ADMIN_KEY, keyOf(SECRETS.SECRET_CEPH_MON, "mon."), "fsid-x", "admin-x"]) assert.ok(!out.includes(secret), `printed a secret: ${secret}`);
    assert.equal(h.exists("/tmp/pwned"), false);
    await assertIdempotent(h, "cephmon/configure", monValues());
  });

  it("a real monitor reaches a quorum of one and a manager becomes active", async () => {
    const h = host();
    h.exec(["install", "-d", "-o", "ceph", "-g", "ceph", "/run/ceph", "/var/log/ceph"]);
    daemons.start(h, "mon", ["ceph-mon", "-f", "-i", MON, "--setuser", "ceph", "--setgroup", "ceph"]);
    await waitFor("the monitor's quorum", () => cephJson(h, "quorum_status").quorum_names.join() === MON, 90_000, () => daemons.log("mon"));
    const status = cephJson(h, "-s");
    assert.equal(status.fsid, FSID);
    assert.deepEqual(status.quorum_names, [MON]);
    daemons.start(h, "mgr", ["ceph-mgr", "-f", "-i", MON, "--setuser", "ceph", "--setgroup", "ceph"]);
    await waitFor("an active manager", () => cephJson(h, "mgr", "stat").available === true, 120_000, () => daemons.log("mgr"));
    assert.equal(cephJson(h, "mgr", "stat").active_name, MON);
  });

  it("cephmon with the cluster answering: pool defaults for one storage endpoint and the CephFS, once", async () => {
    const h = host();
    const r = await runOk(h, "cephmon/configure", monValues());
    assert.ok(changes(r).includes("ceph config global osd_pool_default_size = 1"), describeRun(r));
    assert.ok(changes(r).includes("filesystem cephfs"), describeRun(r));
    assert.equal(ceph(h, "config", "get", "mon", "osd_pool_default_size").trim(), "1");
    assert.deepEqual(cephJson(h, "fs", "ls").map((f: { name: string }) => f.name), ["cephfs"]);
    await assertIdempotent(h, "cephmon/configure", monValues());
  });

  it("storage: an OSD on a loop-device disk is created, comes up and is in; a second run creates nothing", async () => {
    const h = host();
    unbindSys = bindSys(h);
    const disk = loopDisk(h, 3 * 2 ** 30);
    disks.push(disk);
    await runOk(h, "storage/install", { NAME: "storage-1" });
    const r = await runOk(h, "storage/configure", storageValues(disk.device));
    assert.ok(changes(r).includes(`osd.0 created on ${disk.device}`), describeRun(r));
    assert.match(r.stdout, /skipped: starting ceph-osd@/);
    assertEnabled(h, ["ceph-osd@0.service", "kinetic-ceph-osd-activate.service"]);
    assert.equal(h.read("/var/lib/ceph/osd/ceph-0/whoami").trim(), "0");
    assert.equal(h.read("/var/lib/ceph/osd/ceph-0/ceph_fsid").trim(), FSID);
    // The data directory is on the root file system, not a tmpfs that a reboot empties.
    assert.ok(!h.read("/proc/mounts").includes("/var/lib/ceph/osd/ceph-0 "), "the OSD directory is a mount (tmpfs)");
    startOsd0(h, "osd");
    await waitFor("osd.0 up and in", () => osd0(h)?.up === 1 && osd0(h)?.in === 1, 120_000, () => daemons.log("osd"));
    assert.equal(cephJson(h, "osd", "stat").num_up_osds, 1);
    const again = await runOk(h, "storage/configure", storageValues(disk.device));
    assert.match(again.stdout, new RegExp(`storage: ${disk.device} holds osd\\.0 of this cluster`));
    await assertIdempotent(h, "storage/configure", storageValues(disk.device));
    assert.equal(cephJson(h, "osd", "ls").length, 1, "a second run created another OSD");
  });

  it("storage after a reboot: the boot unit activates the OSD by its pillar path (a by-id link), the device is the ceph user's again and the OSD comes back", async () => {
    const h = host();
    const disk = disks[0];
    // The pillar names disks by /dev/disk/by-id: the kernel's names may change across reboots.
    const link = "/dev/disk/by-id/kinetic-test-osd-0";
    fs.mkdirSync(h.path("/dev/disk/by-id"), { recursive: true });
    fs.symlinkSync(disk.device, h.path(link));
    const r = await runOk(h, "storage/configure", storageValues(link));
    assert.match(r.stdout, new RegExp(`storage: ${link} holds osd\\.0 of this cluster`), describeRun(r));
    assert.equal(cephJson(h, "osd", "ls").length, 1, "the link made another OSD");
    // A reboot: the OSD stops, and the new device node belongs to root (no udev rule gives it back).
    const upFrom = osd0(h).up_from as number;
    osdDaemon!.kill("SIGTERM");
    await waitFor("osd.0 stopped", () => osdDaemon!.exitCode !== null || osdDaemon!.signalCode !== null, 60_000);
    h.exec(["chown", "root:disk", disk.device]);
    // What kinetic-ceph-osd-activate.service runs at boot (no systemd in this test host).
    assert.match(h.read("/etc/systemd/system/kinetic-ceph-osd-activate.service"), /^ExecStart=\/usr\/local\/sbin\/kinetic-ceph-osd-activate$/m);
    // ceph-osd@ waits for it: started beside it, an OSD whose device was not yet the ceph user's failed.
    assert.match(h.read("/etc/systemd/system/ceph-osd@.service.d/kinetic-activate.conf"), /^After=kinetic-ceph-osd-activate\.service$/m);
    h.exec(["/usr/local/sbin/kinetic-ceph-osd-activate"]);
    assert.equal(h.exec(["stat", "-c", "%U:%G", disk.device]).trim(), "ceph:ceph");
    assert.equal(h.exec(["readlink", "-f", "/var/lib/ceph/osd/ceph-0/block"]).trim(), disk.device);
    startOsd0(h, "osd-after-reboot");
    // up_from moves on when the OSD boots again (a stale "up" would not).
    await waitFor("osd.0 up again", () => osd0(h)?.up === 1 && osd0(h)?.up_from > upFrom, 180_000, () => daemons.log("osd-after-reboot"));
  });

  it("cephmon makes OpenStack's RBD pools and clients; each client's key is the one its own secret derives, with only its pools' rights", async () => {
    const h = host();
    const CLIENTS: FormulaValues = {
      ADDRESSES_GLANCE: "127.0.20.61", ADDRESSES_VOLUME: "127.0.20.62", ADDRESSES_COMPUTE: "127.0.20.63",
      SECRET_CEPH_GLANCE: `glance-${EVIL}`, SECRET_CEPH_VOLUME: `volume-${EVIL}`, SECRET_CEPH_COMPUTE: `compute-${EVIL}`,
    };
    // This test cluster's one OSD holds every pool of the file (CephFS, these, radosgw's below).
    h.exec(["ceph", "config", "set", "global", "mon_max_pg_per_osd", "1000"]);
    const r = await runOk(h, "cephmon/configure", monValues(CLIENTS));
    // Made with 8 placement groups; the manager's autoscaler, which runs every minute, may have grown
    // one since (a loaded run saw volumes at 32 by the time of this check).
    for (const pool of ["images", "volumes", "vms"]) {
      const pgs = cephJson(h, "osd", "pool", "get", pool, "pg_num").pg_num as number;
      assert.ok(pgs >= 8 && pgs <= 32, `${pool}: ${pgs} placement groups`);
    }
    for (const c of ["pool images", "pool volumes", "pool vms", "client.glance", "client.volume", "client.compute"]) assert.ok(changes(r).includes(c), `${c}\n${describeRun(r)}`);
    for (const pool of ["images", "volumes", "vms"]) assert.deepEqual(Object.keys(cephJson(h, "osd", "pool", "application", "get", pool)), ["rbd"], pool);
    for (const c of ["glance", "volume", "compute"]) {
      // The key glance/volume/compute derive for their keyrings (lib/ceph.sh), computed independently here.
      assert.equal(cephJson(h, "auth", "get", `client.${c}`)[0].key, keyOf(CLIENTS[`SECRET_CEPH_${c.toUpperCase()}`], `client.${c}`), c);
      fs.writeFileSync(h.path(`/tmp/${c}.keyring`), `[client.${c}]\n\tkey = ${keyOf(CLIENTS[`SECRET_CEPH_${c.toUpperCase()}`], `client.${c}`)}\n`);
    }
    const rbd = (c: string, ...args: string[]) => h.tryExec(["timeout", "60", "rbd", "--id", c, "--keyring", `/tmp/${c}.keyring`, ...args]);
    assert.equal(rbd("glance", "create", "--size", "8", "images/probe").code, 0, "glance writes images");
    assert.match(rbd("glance", "ls", "images").stdout, /^probe$/m);
    assert.notEqual(rbd("glance", "create", "--size", "8", "volumes/probe").code, 0, "glance may not write volumes");
    assert.equal(rbd("volume", "create", "--size", "8", "volumes/probe").code, 0, "volume writes volumes");
    assert.match(rbd("volume", "ls", "images").stdout, /^probe$/m, "volume reads images (clones of images)");
    assert.notEqual(rbd("volume", "create", "--size", "8", "images/other").code, 0, "volume may not write images");
    assert.equal(rbd("compute", "create", "--size", "8", "vms/probe").code, 0, "compute writes vms");
    // A key or caps changed by hand are put back; a second run changes nothing.
    h.exec(["ceph", "auth", "caps", "client.glance", "mon", "allow r"]);
    const repaired = await runOk(h, "cephmon/configure", monValues(CLIENTS));
    assert.deepEqual(changes(repaired).filter((c) => c.startsWith("client.")), ["client.glance"], describeRun(repaired));
    await assertIdempotent(h, "cephmon/configure", monValues(CLIENTS));
  });

  it("storage: a disk carrying a filesystem, or data, or missing is refused and named; nothing is created and the disk is unchanged", async () => {
    const h = host();
    const ext4 = loopDisk(h, 1030 * 2 ** 20);
    const data = loopDisk(h, 1030 * 2 ** 20);
    disks.push(ext4, data);
    h.exec(["mkfs.ext4", "-q", "-F", ext4.device]);
    const fd = fs.openSync(data.file, "r+");
    fs.writeSync(fd, Buffer.from("precious data, not a filesystem\n".repeat(64)), 0, undefined, 4096);
    fs.closeSync(fd);
    const sums = [sha256File(ext4.file), sha256File(data.file)];
    const osd = disks[0].device;
    const r = await h.formula("storage/configure", storageValues(`${osd} ${ext4.device} ${data.device} /dev/sdzz`));
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /kinetic: storage\/configure: step "inspect disks" failed: refusing to create OSDs/);
    assert.ok(r.stderr.includes(`${ext4.device}: carries TYPE=ext4`), r.stderr);
    assert.ok(r.stderr.includes(`${data.device}: carries data`), r.stderr);
    assert.ok(r.stderr.includes("/dev/sdzz: not a block device on this host"), r.stderr);
    assert.ok(!r.stderr.includes(`${osd}:`), "the OSD of this cluster is not refused");
    assert.deepEqual([sha256File(ext4.file), sha256File(data.file)], sums, "a refused disk was written to");
    assert.equal(cephJson(h, "osd", "ls").length, 1);
  });

  it("mds: its key comes from the cluster through bootstrap-mds; a real MDS registers and serves cephfs", async () => {
    const h = host();
    await runOk(h, "mds/install", { NAME: MDS });
    const r = await runOk(h, "mds/configure", mdsValues());
    assert.ok(changes(r).includes(`/var/lib/ceph/mds/ceph-${MDS}/keyring`), describeRun(r));
    assert.match(h.read(`/var/lib/ceph/mds/ceph-${MDS}/keyring`), new RegExp(`^\\[mds\\.${MDS}\\]$`, "m"));
    assertEnabled(h, [`ceph-mds@${MDS}.service`]);
    await assertIdempotent(h, "mds/configure", mdsValues());
    daemons.start(h, "mds", ["ceph-mds", "-f", "-i", MDS, "--setuser", "ceph", "--setgroup", "ceph"]);
    const names = () => {
      const fsmap = cephJson(h, "fs", "dump");
      return [...fsmap.standbys.map((s: { name: string }) => s.name), ...fsmap.filesystems.flatMap((f: { mdsmap: { info: Record<string, { name: string }> } }) => Object.values(f.mdsmap.info).map((i) => i.name))];
    };
    await waitFor("the MDS to register", () => names().includes(MDS), 90_000, () => daemons.log("mds"));
  });

  it("swift: radosgw answers a Swift request authenticated by the real keystone; registration once", async function () {
    this.timeout(20 * 60_000);
    const h = host();
    const DB = "127.0.99.2";
    const KS = "127.0.10.71";
    const RGW = "swift-8e1f5a3b-2c4d-4e6f-8a0b-1c2d3e4f5a01";
    const RGW_ADDR = "127.0.20.51";
    const KS_DB = "q3Jd-9vX_0aZbKc7Lm2Np4Rs6Tu8Vw1y";
    const ADMIN = `admin-${EVIL}`;
    for (const [label, name] of [["mysql/install", "db"], ["keystone/install", "keystone"], ["swift/install", RGW]]) await runOk(h, label, { NAME: name });
    assertInstalled(h, ["radosgw", "python3-openstackclient"]);
    await assertIdempotent(h, "swift/install", { NAME: RGW });
    // A real MariaDB and keystone (db_sync and bootstrap by the keystone formula), keystone served by its own WSGI script.
    h.exec(["install", "-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"]);
    daemons.start(h, "mariadb", ["/usr/sbin/mariadbd", "--user=mysql", `--bind-address=${DB}`, "--port=3306", "--skip-log-bin"]);
    await waitForPort(DB, 3306);
    h.exec(["mysql", "-uroot", "-e", `CREATE DATABASE keystone; CREATE USER 'keystone'@'%' IDENTIFIED BY '${KS_DB}'; GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%';`]);
    await runOk(h, "keystone/configure", {
      ADDRESS: KS, INDEX: "0", ADDRESSES_MYSQL: DB, ADDRESSES_KEYSTONE: KS, SECRET_KEYSTONE_DB: KS_DB, SECRET_KEYSTONE_ADMIN: ADMIN,
      SECRET_KEYSTONE_FERNET: `fernet-${EVIL}`, SECRET_KEYSTONE_CREDENTIAL: `cred-${EVIL}`,
    });
    daemons.start(h, "keystone", ["keystone-wsgi-public", "--host", KS, "--port", "5000"]);
    await waitForPort(KS, 5000, 120_000);
    // Test-only: one 3 GiB OSD holds at most 250 placement groups; radosgw creates six pools.
    ceph(h, "config", "set", "global", "osd_pool_default_pg_num", "8");
    const swift = (over: FormulaValues = {}): FormulaValues => ({
      NAME: RGW, ADDRESS: RGW_ADDR, INDEX: "0", ...cluster, ADDRESSES_KEYSTONE: KS,
      SECRET_CEPH_FSID: SECRETS.SECRET_CEPH_FSID, SECRET_CEPH_BOOTSTRAP_RGW: SECRETS.SECRET_CEPH_BOOTSTRAP_RGW,
      SECRET_SWIFT: "sW1ft-Pass_word.0123456789abcdef", SECRET_KEYSTONE_ADMIN: ADMIN, ...over,
    });
    const r = await runOk(h, "swift/configure", swift());
    for (const c of [`/var/lib/ceph/radosgw/ceph-rgw.${RGW}/keyring`, "keystone user swift", "keystone service swift", "keystone endpoint swift public", "keystone endpoint swift internal", "keystone endpoint swift admin"]) {
      assert.ok(changes(r).includes(c), `${c}: ${describeRun(r)}`);
    }
    assert.ok(!(r.stdout + r.stderr).includes("sW1ft-Pass"), "the swift password is never printed");
    await assertIdempotent(h, "swift/configure", swift());
    daemons.start(h, "rgw", ["radosgw", "-f", "--cluster", "ceph", "--name", `client.rgw.${RGW}`, "--setuser", "ceph", "--setgroup", "ceph"]);
    await waitForPort(RGW_ADDR, 8080, 180_000).catch((e) => assert.fail(`${e}\n${daemons.log("rgw")}`));
    // A token of keystone's admin (the bootstrap user) for the admin project.
    const keystoneEnv = [`OS_AUTH_URL=http://${KS}:5000/v3`, "OS_IDENTITY_API_VERSION=3", "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default"];
    const openstackAs = (user: string, password: string, project: string, ...a: string[]) =>
      h.exec(["env", ...keystoneEnv, `OS_USERNAME=${user}`, `OS_PASSWORD=${password}`, `OS_PROJECT_NAME=${project}`, "openstack", ...a]);
    const token = JSON.parse(openstackAs("admin", ADMIN, "admin", "token", "issue", "-f", "json"));
    const account = `http://${RGW_ADDR}:8080/swift/v1/AUTH_${token.project_id}`;
    const call = (method: string, url: string, body?: string, auth = true) =>
      fetch(url, { method, body, headers: auth ? { "X-Auth-Token": token.id } : {} });
    assert.ok([401, 403].includes((await call("GET", account, undefined, false)).status), "no token, no access");
    // The first requests may wait for radosgw's pools to become active.
    let status = 0;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 2000))) {
      status = (await call("PUT", `${account}/kinetic`)).status;
      if (status === 201 || status === 202) break;
    }
    assert.ok(status === 201 || status === 202, `PUT container: ${status}\n${daemons.log("rgw")}`);
    assert.equal((await call("PUT", `${account}/kinetic/hello.txt`, "stored in Ceph through Swift")).status, 201);
    const got = await call("GET", `${account}/kinetic/hello.txt`);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), "stored in Ceph through Swift");
    assert.match(await (await call("GET", `${account}/kinetic`)).text(), /^hello\.txt$/m);
    // ResellerAdmin, the role that manages other accounts (Tempest's account-quota tests set a
    // quota with it first): made by the formula, and radosgw takes it as its admin role. A user
    // holding only it, in another project, sets the quota of admin's account.
    assert.ok(changes(r).includes("keystone role ResellerAdmin"), describeRun(r));
    const os = (...a: string[]) => openstackAs("admin", ADMIN, "admin", ...a);
    os("project", "create", "--domain", "Default", "resellers");
    os("user", "create", "--domain", "Default", "--password", "Reseller-Pass-1", "reseller");
    os("role", "add", "--user", "reseller", "--project", "resellers", "ResellerAdmin");
    const reseller = JSON.parse(openstackAs("reseller", "Reseller-Pass-1", "resellers", "token", "issue", "-f", "json"));
    const quota = await fetch(account, { method: "POST", headers: { "X-Auth-Token": reseller.id, "X-Account-Meta-Quota-Bytes": "1048576" } });
    assert.equal(quota.status, 204, `the reseller admin sets admin's account quota: ${quota.status} ${await quota.text()}`);
    assert.equal((await call("HEAD", account)).headers.get("x-account-meta-quota-bytes"), "1048576");
  });

  it("a monitor or ceph.conf of another cluster is refused, never overwritten", async () => {
    const h = host();
    // An unmanaged ceph.conf naming another fsid.
    const mine = h.read("/etc/ceph/ceph.conf");
    const foreign = "[global]\nfsid = 11111111-2222-4333-8444-555555555555\nmon_host = 10.9.9.9\n";
    fs.writeFileSync(h.path("/etc/ceph/ceph.conf"), foreign);
    await assertRejects(h, "cephmon/configure", monValues(), "foreign cluster", /\/etc\/ceph\/ceph\.conf belongs to another Ceph cluster \(fsid 11111111-2222-4333-8444-555555555555\)/);
    await assertRejects(h, "storage/configure", storageValues(disks[0].device), "ceph.conf and keys", /belongs to another Ceph cluster/);
    assert.equal(h.read("/etc/ceph/ceph.conf"), foreign);
    fs.writeFileSync(h.path("/etc/ceph/ceph.conf"), mine);
    // A monitor store made by hand for another cluster, under the name of a second monitor.
    const other = "cephmon-7d2a4e3f-9c6b-4a0d-be5f-3b4c5d6e7f02";
    const two = { NAMES_CEPHMON: `${MON} ${other}`, ADDRESSES_CEPHMON: `${MON_ADDR} 127.0.20.12` };
    h.exec(["monmaptool", "--create", "--fsid", "99999999-8888-4777-8666-555555555555", "--add", other, "127.0.20.12", "/tmp/other-monmap"]);
    h.exec(["install", "-d", "-o", "ceph", "-g", "ceph", `/var/lib/ceph/mon/ceph-${other}`]);
    h.exec(["ceph-authtool", "--create-keyring", "/tmp/other-keyring", "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"]);
    h.exec(["chown", "ceph:ceph", "/tmp/other-keyring", "/tmp/other-monmap"]);
    h.exec(["ceph-mon", "--mkfs", "-i", other, "--monmap", "/tmp/other-monmap", "--keyring", "/tmp/other-keyring", "--fsid", "99999999-8888-4777-8666-555555555555", "--setuser", "ceph", "--setgroup", "ceph"]);
    // --fsid: ceph-mon --mkfs would otherwise take the fsid of this host's ceph.conf.
    const before = h.hashes([`/var/lib/ceph/mon/ceph-${other}`]);
    await assertRejects(h, "cephmon/configure", monValues({ NAME: other, ADDRESS: "127.0.20.12", INDEX: "1", ...two }), "foreign cluster", /monitor data \/var\/lib\/ceph\/mon\/ceph-cephmon-7d2a.* exists and was not made by kinetic/);
    // A store of another cluster that does carry a marker: named with its fsid.
    h.exec(["sh", "-c", `printf '99999999-8888-4777-8666-555555555555\\n' > /var/lib/ceph/mon/ceph-${other}/kinetic-fsid`]);
    await assertRejects(h, "cephmon/configure", monValues({ NAME: other, ADDRESS: "127.0.20.12", INDEX: "1", ...two }), "foreign cluster", /belongs to another Ceph cluster \(fsid 99999999-8888-4777-8666-555555555555\)/);
    h.exec(["rm", `/var/lib/ceph/mon/ceph-${other}/kinetic-fsid`]);
    assert.deepEqual(h.hashes([`/var/lib/ceph/mon/ceph-${other}`]), before);
  });

  it("refuses hostile or malformed values without executing them", async () => {
    const h = host();
    await assertRejects(h, "cephmon/configure", monValues({ ADDRESSES_CEPHMON: `${MON_ADDR} ${EVIL}` }), "check values", /KINETIC_ADDRESSES_CEPHMON|differ in length/);
    await assertRejects(h, "cephmon/configure", monValues({ NAME: EVIL }), "check values", /KINETIC_NAME is not a valid hostname/);
    await assertRejects(h, "storage/configure", storageValues(`/dev/sdb ${EVIL}`), "check values", /KINETIC_OSD_DISKS holds something that is not a \/dev path/);
    await assertRejects(h, "storage/configure", storageValues("/dev/../etc/passwd"), "check values", /not a \/dev path/);
    await assertRejects(h, "mds/configure", { ...mdsValues(), NAMES_CEPHMON: EVIL }, "check values", /KINETIC_NAMES_CEPHMON/);
  });
  it("a second monitor (INDEX 1) joins the running cluster: quorum of two, same fsid, nothing created twice", async () => {
    const h = host();
    const second = "cephmon-8e3b5f4a-0d7c-4b1e-9f6a-4c5d6e7f8a03";
    const both = { NAMES_CEPHMON: `${MON} ${second}`, ADDRESSES_CEPHMON: `${MON_ADDR} 127.0.20.13` };
    const joinValues = monValues({ NAME: second, ADDRESS: "127.0.20.13", INDEX: "1", ...both });
    const r = await runOk(h, "cephmon/configure", joinValues);
    assert.match(r.stdout, /cephmon: joining the running cluster/);
    assert.ok(changes(r).includes(`monitor ${second} created`), describeRun(r));
    daemons.start(h, "mon2", ["ceph-mon", "-f", "-i", second, "--setuser", "ceph", "--setgroup", "ceph"]);
    await waitFor("a quorum of two", () => cephJson(h, "quorum_status").quorum_names.length === 2, 120_000, () => daemons.log("mon2"));
    assert.deepEqual(cephJson(h, "quorum_status").quorum_names.sort(), [MON, second].sort());
    assert.equal(cephJson(h, "-s").fsid, FSID);
    await assertIdempotent(h, "cephmon/configure", joinValues);
  });
});
