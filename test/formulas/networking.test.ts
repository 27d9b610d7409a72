import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, runOk, withHost } from "./hostSuite";

const MARK = "# kinetic: managed by formulas/common/networking\n";

/** management: plain static; private: bond; sfe: bridge; sbe: bond + bridge; public: plain, no DHCP. */
const values = (over: FormulaValues = {}): FormulaValues => ({
  NETWORKS: "management private sfe sbe public",
  NET_MANAGEMENT_INTERFACES: "ens3",
  NET_MANAGEMENT_BRIDGE: "false",
  NET_MANAGEMENT_ADDRESS: "127.0.10.31/24",
  NET_MANAGEMENT_SUBNET: "127.0.10.0/24",
  NET_PRIVATE_INTERFACES: "enp1s0f0 enp1s0f1",
  NET_PRIVATE_BRIDGE: "false",
  NET_PRIVATE_ADDRESS: "",
  NET_PRIVATE_SUBNET: "127.0.20.0/24",
  NET_SFE_INTERFACES: "ens5",
  NET_SFE_BRIDGE: "true",
  NET_SFE_ADDRESS: "",
  NET_SFE_SUBNET: "127.0.30.0/24",
  NET_SBE_INTERFACES: "enp2s0f0 enp2s0f1",
  NET_SBE_BRIDGE: "true",
  NET_SBE_ADDRESS: "127.0.40.31/24",
  NET_SBE_SUBNET: "127.0.40.0/24",
  NET_PUBLIC_INTERFACES: "ens7",
  NET_PUBLIC_BRIDGE: "false",
  NET_PUBLIC_ADDRESS: "",
  NET_PUBLIC_SUBNET: "127.0.50.0/24",
  GATEWAY: "127.0.10.1",
  NAMESERVERS: "127.0.10.2 127.0.10.3",
  DOMAIN: "site.example.test",
  ...over,
});

describe("formulas/common/networking on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();
  const net = (f: string) => host().read(`/etc/systemd/network/${f}`);

  it("writes systemd-networkd files for plain, bond, bridge and bond+bridge networks", async () => {
    const h = host();
    // A file the formula does not own must survive everything below.
    fs.mkdirSync(h.path("/etc/systemd/network"), { recursive: true });
    fs.writeFileSync(h.path("/etc/systemd/network/10-local.network"), "[Match]\nName=lo0\n");
    await runOk(h, "common/networking", values());
    assertInstalled(h, ["python3", "python3-pyroute2", "systemd-resolved"]);
    assertEnabled(h, ["systemd-networkd.service", "systemd-resolved.service"]);
    assert.equal(h.tryExec(["dpkg-query", "-W", "-f=${Status}", "netplan.io"]).stdout.includes("install ok installed"), false);
    const files = fs.readdirSync(h.path("/etc/systemd/network")).sort();
    assert.deepEqual(files, [
      "10-local.network",
      "management.network",
      "private.network", "private_bond.netdev", "private_enp1s0f0.network", "private_enp1s0f1.network",
      "public.network",
      "sbe.network", "sbe_br.netdev", "sbe_bond.netdev", "sbe_bond.network", "sbe_enp2s0f0.network", "sbe_enp2s0f1.network",
      "sfe.network", "sfe_br.netdev", "sfe_ens5.network",
    ].sort());
    // plain, static, with gateway and DNS
    assert.equal(net("management.network"), `${MARK}[Match]\nName=ens3\n\n[Network]\nAddress=127.0.10.31/24\nGateway=127.0.10.1\nDNS=127.0.10.2\nDNS=127.0.10.3\nDomains=site.example.test\n\n[Link]\nRequiredForOnline=no\n`);
    // bond
    assert.match(net("private_bond.netdev"), /\[NetDev\]\nName=private_bond\nKind=bond\n\n\[Bond\]\nMode=802\.3ad\nMIIMonitorSec=100ms\n/);
    assert.equal(net("private_enp1s0f1.network"), `${MARK}[Match]\nName=enp1s0f1\n\n[Network]\nBond=private_bond\n`);
    assert.match(net("private.network"), /Name=private_bond\n\n\[Network\]\nDHCP=ipv4\n/);
    // bridge
    assert.match(net("sfe_br.netdev"), /Name=sfe_br\nKind=bridge\n/);
    assert.match(net("sfe_ens5.network"), /Name=ens5\n\n\[Network\]\nBridge=sfe_br\n/);
    assert.match(net("sfe.network"), /Name=sfe_br\n\n\[Network\]\nDHCP=ipv4\n/);
    // bond + bridge, static
    assert.match(net("sbe_bond.netdev"), /Mode=802\.3ad\nMIIMonitorSec=100ms/);
    assert.match(net("sbe_enp2s0f0.network"), /Bond=sbe_bond/);
    assert.match(net("sbe_bond.network"), /Name=sbe_bond\n\n\[Network\]\nBridge=sbe_br\n/);
    assert.match(net("sbe.network"), /Name=sbe_br\n\n\[Network\]\nAddress=127\.0\.40\.31\/24\n\n/);
    assert.doesNotMatch(net("sbe.network"), /Gateway|DHCP/);
    // public: no DHCP, no address
    assert.match(net("public.network"), /Name=ens7\n\n\[Network\]\nDHCP=no\nLinkLocalAddressing=no\n/);
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "common/networking", values());
  });

  it("removes the files of a network dropped from the pillar, and only kinetic's", async () => {
    const h = host();
    const r = await runOk(h, "common/networking", values({ NETWORKS: "management private sfe public" }));
    for (const f of ["sbe.network", "sbe_br.netdev", "sbe_bond.netdev", "sbe_bond.network", "sbe_enp2s0f0.network", "sbe_enp2s0f1.network"]) {
      assert.ok(changes(r).includes(`removed /etc/systemd/network/${f}`), r.stdout);
      assert.equal(h.exists(`/etc/systemd/network/${f}`), false, f);
    }
    assert.equal(h.exists("/etc/systemd/network/10-local.network"), true);
    assert.equal(h.exists("/etc/systemd/network/private_bond.netdev"), true);
    await assertIdempotent(h, "common/networking", values({ NETWORKS: "management private sfe public" }));
  });

  it("turns a bond into a plain interface when the pillar drops a member", async () => {
    const h = host();
    await runOk(h, "common/networking", values({ NETWORKS: "management private", NET_PRIVATE_INTERFACES: "enp1s0f0" }));
    assert.deepEqual(fs.readdirSync(h.path("/etc/systemd/network")).sort(), ["10-local.network", "management.network", "private.network"]);
    assert.match(net("private.network"), /Name=enp1s0f0\n/);
  });

  it("refuses malformed values, naming the step, without executing them", async () => {
    const h = host();
    await assertRejects(h, "common/networking", values({ DOMAIN: EVIL }), "check values", /KINETIC_DOMAIN is not a valid hostname/);
    await assertRejects(h, "common/networking", values({ NAMESERVERS: EVIL }), "check values", /KINETIC_NAMESERVERS is not a valid ipv4/);
    await assertRejects(h, "common/networking", values({ NETWORKS: `management ${EVIL}` }), "check values", /KINETIC_NETWORKS: network name/);
    await assertRejects(h, "common/networking", values({ NET_PRIVATE_INTERFACES: EVIL }), "check values", /KINETIC_NET_PRIVATE_INTERFACES is not a valid ifname/);
    const before = h.hashes(["/etc/systemd/network"]);
    await assertRejects(h, "common/networking", values({ NETWORKS: "sfe private", NET_SFE_ADDRESS: EVIL }), "check values", /KINETIC_NET_SFE_ADDRESS is not a valid cidr4/);
    await assertRejects(h, "common/networking", values({ NET_PRIVATE_BRIDGE: EVIL }), "check values", /KINETIC_NET_PRIVATE_BRIDGE is not true or false/);
    assert.deepEqual(h.hashes(["/etc/systemd/network"]), before, "a refused run writes and removes nothing");
  });
});
