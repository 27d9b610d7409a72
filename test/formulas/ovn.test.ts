/**
 * The networking family (issue 12) in one Debian test host: ovsdb (the OVN central databases, started
 * with ovn-ctl from the options the formula wrote), neutron (ML2/OVN against a live MariaDB, keystone
 * and those OVN databases), network (an OVN gateway chassis) and compute (nova-compute, the OVN
 * metadata agent, the chassis), the last two against an Open vSwitch database run in the host.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { recipeOf } from "../../cli/backupRecipes";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, waitForPort } from "./hostSuite";
import { assertNoSecretPrinted, assertValidConfig, osValues, serviceTests, startIn, withOpenStackHost } from "./openstackSuite";

const COMMON_NS = ["keystonemiddleware.auth_token", "oslo.log", "oslo.messaging", "oslo.db", "oslo.concurrency", "oslo.policy", "oslo.middleware", "oslo.cache"];
const OVSDB = "127.0.14.22";

describe("formulas: ovsdb, neutron, network, compute on a Debian host (live OVN databases, MariaDB, keystone)", function () {
  this.timeout(30 * 60_000);
  const { host } = withOpenStackHost("127.0.14", ["neutron"]);

  it("ovsdb/install + configure: ovn-central; ovn-ctl starts the clustered NB/SB databases and northd from /etc/default/ovn-central", async () => {
    const h = host();
    await runOk(h, "ovsdb/install", { NAME: "ovsdb-1" });
    assertInstalled(h, ["ovn-central"]);
    assertEnabled(h, ["ovn-central.service"]);
    await assertIdempotent(h, "ovsdb/install", { NAME: "ovsdb-1" });
    const values = { ADDRESS: OVSDB, INDEX: "0", ADDRESSES_OVSDB: OVSDB };
    const r = await runOk(h, "ovsdb/configure", values);
    assert.ok(changes(r).includes("/etc/default/ovn-central"), describeRun(r));
    await assertIdempotent(h, "ovsdb/configure", values);
    // What the init script does: ovn-ctl with OVN_CTL_OPTS from the file.
    h.exec(["sh", "-c", ". /etc/default/ovn-central && /usr/share/ovn/scripts/ovn-ctl start_northd $OVN_CTL_OPTS > /tmp/ovn-ctl.log 2>&1"]);
    await waitForPort(OVSDB, 6641);
    await waitForPort(OVSDB, 6642);
    const status = h.exec(["ovs-appctl", "-t", "/var/run/ovn/ovnnb_db.ctl", "cluster/status", "OVN_Northbound"]);
    assert.match(status, /Role: leader/);
    assert.match(status, new RegExp(`Address: tcp:${OVSDB.replace(/\./g, "\\.")}:6643`));
    h.exec(["ovn-nbctl", `--db=tcp:${OVSDB}:6641`, "show"]);
    h.exec(["ovn-sbctl", `--db=tcp:${OVSDB}:6642`, "show"]);
    // A second member would join the first.
    const joiner = await runOk(h, "ovsdb/configure", { ADDRESS: "127.0.14.23", INDEX: "1", ADDRESSES_OVSDB: `${OVSDB} 127.0.14.23` });
    assert.match(h.read("/etc/default/ovn-central"), /--db-nb-cluster-remote-addr=127\.0\.14\.22 --db-sb-cluster-remote-addr=127\.0\.14\.22/);
    assert.match(joiner.stdout, /INDEX 1 joins the OVN RAFT cluster at 127\.0\.14\.22/);
    await runOk(h, "ovsdb/configure", values);
  });

  serviceTests(host, {
    role: "neutron",
    address: "127.0.14.21",
    packages: ["neutron-server", "neutron-api", "neutron-rpc-server"],
    // neutron-server (API and RPC) from its own unit: Debian's uwsgi neutron-api never starts ML2/OVN's database connections (formulas/neutron/install).
    units: ["neutron-server.service"],
    values: { ADDRESSES_OVSDB: OVSDB },
    validate: [
      { file: "/etc/neutron/neutron.conf", namespaces: ["neutron", "neutron.agent", "neutron.db", "neutron.extensions", "nova.auth", "placement.auth", ...COMMON_NS] },
      { file: "/etc/neutron/plugins/ml2/ml2_conf.ini", namespaces: ["neutron.ml2", "neutron.ml2.ovn", "oslo.log"] },
    ],
    databases: ["neutron"],
    catalog: ["neutron:network"],
    users: { neutron: "SECRET_NEUTRON" },
    api: {
      app: "/usr/bin/neutron-api",
      port: 9696,
      user: "neutron",
      pyargv: "--config-file=/etc/neutron/neutron.conf --config-file=/etc/neutron/plugins/ml2/ml2_conf.ini",
      expect: /"versions"/,
    },
    after: (h) => {
      assert.match(h.read("/etc/neutron/plugins/ml2/ml2_conf.ini"), /^ovn_nb_connection = tcp:127\.0\.14\.22:6641$/m);
    },
  });

  it("network/install + configure: an OVN gateway chassis in the Open vSwitch database, br-public on the public device", async () => {
    const h = host();
    await runOk(h, "network/install", { NAME: "network-1" });
    assertInstalled(h, ["ovn-host", "openvswitch-switch"]);
    assertEnabled(h, ["openvswitch-switch.service", "ovn-host.service"]);
    await assertIdempotent(h, "network/install", { NAME: "network-1" });
    const values = { NAME: "network-1", ADDRESS: "127.0.14.23", ADDRESSES_OVSDB: OVSDB, NETWORKS: "management public", NET_PUBLIC_INTERFACES: "ens4", NET_PUBLIC_BRIDGE: "false", NET_PUBLIC_ADDRESS: "" };
    // Without the Open vSwitch database the run says what it skipped.
    const skipped = await runOk(h, "network/configure", values);
    assert.match(skipped.stdout, /skipped: OVN chassis settings \(the Open vSwitch database is not running\)/);
    // The Open vSwitch database, as openvswitch-switch runs it (no vswitchd: nothing touches the kernel).
    h.exec(["sh", "-c", "install -d /var/run/openvswitch && ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema"]);
    startIn(h, "ovsdb-server", ["ovsdb-server", "/etc/openvswitch/conf.db", "--remote=punix:/var/run/openvswitch/db.sock"]);
    for (let i = 0; i < 50 && !h.exists("/var/run/openvswitch/db.sock"); i++) await new Promise((r) => setTimeout(r, 200));
    h.exec(["ovs-vsctl", "--no-wait", "init"]);
    const r = await runOk(h, "network/configure", values);
    for (const c of ["ovs external_ids:system-id", "ovs external_ids:ovn-remote", "ovs external_ids:ovn-cms-options", "ovs bridge br-public", "ovs port ens4 on br-public"]) assert.ok(changes(r).includes(c), describeRun(r));
    const ids = h.exec(["ovs-vsctl", "--no-wait", "get", "open_vswitch", ".", "external_ids"]);
    assert.match(ids, /ovn-remote="tcp:127\.0\.14\.22:6642"/);
    assert.match(ids, /ovn-encap-ip="127\.0\.14\.23"/);
    assert.match(ids, /ovn-cms-options=enable-chassis-as-gw/);
    assert.match(ids, /ovn-bridge-mappings="public:br-public"/);
    assert.equal(h.exec(["ovs-vsctl", "--no-wait", "port-to-br", "ens4"]).trim(), "br-public");
    await assertIdempotent(h, "network/configure", values);
    await assertRejects(h, "network/configure", { ...values, NET_PUBLIC_INTERFACES: EVIL }, "check values", /KINETIC_NET_PUBLIC_INTERFACES is not a valid ifname/);
  });

  it("compute/install + configure: nova-compute (libvirt), the OVN metadata agent and the chassis; validator; a second run changes nothing", async () => {
    const h = host();
    await runOk(h, "compute/install", { NAME: "compute-1" });
    assertInstalled(h, ["nova-compute", "nova-compute-kvm", "ovn-host", "neutron-ovn-metadata-agent", "python3-rbd", "ceph-common"]);
    assertEnabled(h, ["nova-compute.service", "libvirtd.service", "openvswitch-switch.service", "ovn-host.service", "neutron-ovn-metadata-agent.service"]);
    await assertIdempotent(h, "compute/install", { NAME: "compute-1" });
    const values = osValues("compute", "127.0.14.24", { NAME: "compute-1", ADDRESSES_OVSDB: OVSDB, ADDRESSES_CEPHMON: "127.0.14.200", NAMES_CEPHMON: "cephmon-1",
      SECRET_CEPH_FSID: "fsid-secret-of-the-test", SECRET_CEPH_VOLUME: "volume-secret-of-the-test", NET_PRIVATE_ADDRESS: "127.0.14.124" });
    const r = await runOk(h, "compute/configure", values);
    assertNoSecretPrinted(r.stdout + r.stderr);
    // os_vif: the [os_vif_ovs] options (the plugin's own namespace, outside nova's).
    assertValidConfig(h, "/etc/nova/nova.conf", ["nova.conf", "os_vif", ...COMMON_NS]);
    // The agent registers the [ovn] options of the ML2 driver and the [agent] ones at start: their namespaces too.
    assertValidConfig(h, "/etc/neutron/neutron_ovn_metadata_agent.ini", ["neutron.ovn.metadata.agent", "neutron.ml2.ovn", "neutron.agent", "oslo.log"]);
    assertValidConfig(h, "/etc/neutron/neutron.conf", ["neutron", "neutron.agent", ...COMMON_NS]);
    const nova = h.read("/etc/nova/nova.conf");
    assert.match(nova, /^images_type = rbd$/m);
    // One Ceph client for nova's disks and cinder's volumes: the one the libvirt secret holds the key of.
    assert.match(nova, /^rbd_user = volume$/m);
    // os-vif (user nova) reaches Open vSwitch on loopback: Debian's database listens only on a root-only socket.
    assert.match(nova, /^\[os_vif_ovs\]\novsdb_connection = tcp:127\.0\.0\.1:6640$/m);
    assert.match(h.exec(["ovs-vsctl", "--no-wait", "get-manager"]), /^ptcp:6640:127\.0\.0\.1$/m);
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", "/etc/ceph/ceph.client.volume.keyring"]).trim(), "640 root:nova");
    assert.match(h.read("/etc/ceph/ceph.client.volume.keyring"), /^\[client\.volume\]\n\s*key = [A-Za-z0-9+/]+=*$/m);
    assert.match(nova, /^novncproxy_base_url = http:\/\/127\.0\.14\.24:6080\/vnc_auto\.html$/m);
    assert.equal(h.read("/etc/neutron/neutron_ovn_metadata_agent.ini").match(/^metadata_proxy_shared_secret = (.*)$/m)?.[1], values.SECRET_METADATA_PROXY);
    // The same Open vSwitch database as the network test: this chassis's own settings replace them.
    const ids = h.exec(["ovs-vsctl", "--no-wait", "get", "open_vswitch", ".", "external_ids"]);
    assert.match(ids, /system-id=compute-1/);
    assert.match(ids, /ovn-encap-ip="127\.0\.14\.124"/);
    await assertIdempotent(h, "compute/configure", values);
    await assertRejects(h, "compute/configure", { ...values, ADDRESSES_OVSDB: "" }, "check values", /no OVN databases/);
  });

  // Last: it stops the OVN databases and makes them anew, as a rebuilt cluster would be.
  it("backup ovn-northbound (cli/backupRecipes.ts): taken from the RAFT member, put back into a cluster made anew, every row back", async () => {
    const h = host();
    const recipe = recipeOf("ovn-northbound")!;
    assert.ok(recipe.restoreOn === "one member");
    const nbctl = (...args: string[]) => h.exec(["ovn-nbctl", `--db=tcp:${OVSDB}:6641`, ...args]).trim();
    // What a tenant's network leaves in the northbound database: a switch, a port with addresses, a router.
    nbctl("ls-add", "kinetic-probe-net");
    nbctl("lsp-add", "kinetic-probe-net", "kinetic-probe-port");
    nbctl("lsp-set-addresses", "kinetic-probe-port", "fa:16:3e:00:00:01 10.20.30.4");
    nbctl("lr-add", "kinetic-probe-router");
    const tables: [string, string][] = [["Logical_Switch", "name"], ["Logical_Switch_Port", "name,addresses"], ["Logical_Router", "name"]];
    const rows = () => tables.map(([t, c]) => `${t}: ${nbctl("--bare", `--columns=${c}`, "list", t).split("\n").filter(Boolean).sort().join(" ")}`).join("\n");
    const before = rows();
    assert.match(before, /kinetic-probe-port/);
    fs.writeFileSync(h.path("/tmp/nb.backup"), h.exec(["bash", "-c", recipe.dump]));

    // The cluster made anew: its databases deleted, ovn-ctl starts a new RAFT cluster from the same options.
    const clusterId = () => h.exec(["ovs-appctl", "-t", "/var/run/ovn/ovnnb_db.ctl", "cluster/cid", "OVN_Northbound"]).trim();
    const oldCluster = clusterId();
    h.exec(["sh", "-c", ". /etc/default/ovn-central && /usr/share/ovn/scripts/ovn-ctl stop_northd $OVN_CTL_OPTS > /tmp/ovn-ctl-stop.log 2>&1"]);
    h.exec(["sh", "-c", "rm -f /var/lib/ovn/ovnnb_db.db /var/lib/ovn/ovnsb_db.db"]);
    h.exec(["sh", "-c", ". /etc/default/ovn-central && /usr/share/ovn/scripts/ovn-ctl start_northd $OVN_CTL_OPTS > /tmp/ovn-ctl.log 2>&1"]);
    await waitForPort(OVSDB, 6641);
    assert.notEqual(clusterId(), oldCluster, "a new cluster");
    assert.equal(nbctl("ls-list"), "", "the new cluster starts empty");

    // On a pipe, as kinetic restore gives it (over SSH): a file on stdin would hide a seek.
    fs.writeFileSync(h.path("/tmp/nb-restore.sh"), recipe.restore);
    h.exec(["bash", "-c", "cat /tmp/nb.backup | bash /tmp/nb-restore.sh"]);
    assert.equal(rows(), before);
    assert.match(h.exec(["ovs-appctl", "-t", "/var/run/ovn/ovnnb_db.ctl", "cluster/status", "OVN_Northbound"]), /Role: leader/);
  });
});
