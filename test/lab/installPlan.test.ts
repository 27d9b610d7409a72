/**
 * lab/installPlan.ts reads what the pxe formula serves: the installed system's address is the one
 * its autoinstall network config gives (there is no DHCP lease for an installed system: Kea
 * reserves by DHCP option 97, which only firmware sends).
 */
import * as assert from "node:assert/strict";
import { InstallRefused, planFromAutoinstall, planFromSeed } from "../../lab/installPlan";
import { renderSeed } from "../../providers/libvirt/cloudInit";
import { keystoneSpec } from "../libvirt/fixtures";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPxeKeyOne op@site";
const userData = (network: string) => `#cloud-config
autoinstall:
  version: 1
  network: ${network}
  user-data:
    hostname: "controller-1"
    users: [{name: root, lock_passwd: true, ssh_authorized_keys: ["${KEY}"]}]
    ssh_keys: {ed25519_private: "-----BEGIN OPENSSH PRIVATE KEY-----\\nx\\n-----END OPENSSH PRIVATE KEY-----\\n", ed25519_public: "ssh-ed25519 AAAA host"}
`;

describe("lab install plan from the pxe host's autoinstall", () => {
  it("takes the PXE interface's static address, route and name servers, with the NIC's MAC", () => {
    const plan = planFromAutoinstall(
      userData('{version: 2, ethernets: {"eno1": {addresses: ["10.77.0.11/24"], routes: [{to: default, via: "10.77.0.1"}], nameservers: {addresses: ["10.77.0.2"], search: ["lab.test"]}}}}'),
      { network: "management", mac: "52:54:00:aa:bb:cc" },
      "server x",
    );
    assert.deepEqual(plan.nics, [{ ifname: "eno1", mac: "52:54:00:aa:bb:cc", network: "management", address: "10.77.0.11/24", gateway: "10.77.0.1", nameservers: ["10.77.0.2"] }]);
    assert.equal(plan.hostname, "controller-1");
    assert.deepEqual(plan.authorizedKeys, [KEY]);
  });

  it("refuses an interface left to DHCP: nothing would give the installed system an address", () => {
    assert.throws(
      () => planFromAutoinstall(userData('{version: 2, ethernets: {"eno1": {dhcp4: true}}}'), { network: "management" }, "server x"),
      (e: Error) => e instanceof InstallRefused && /server x: autoinstall gives eno1 no address/.test(e.message),
    );
  });

  it("a VM's seed as the program renders it: the management NIC's address, gateway (gateway4) and name servers", () => {
    const vm = keystoneSpec();
    const seed = renderSeed(vm);
    const nic = vm.networks.find((n) => n.name === "management")!;
    const plan = planFromSeed({ userData: seed["user-data"], networkConfig: seed["network-config"] }, new Map(vm.networks.map((n) => [n.mac, n.name])), "domain x");
    assert.deepEqual(plan.nics, [{ ifname: "ens3", mac: nic.mac, network: "management", address: "10.100.0.20/22", gateway: "10.100.0.1", nameservers: ["10.100.0.10", "10.100.0.11"] }]);
    // A seed written before the program said gateway4 (a default route entry) still gives its gateway.
    const before = seed["network-config"].replace("gateway4: 10.100.0.1", "routes:\n      - to: 0.0.0.0/0\n        via: 10.100.0.1");
    assert.notEqual(before, seed["network-config"]);
    assert.equal(planFromSeed({ userData: seed["user-data"], networkConfig: before }, new Map(vm.networks.map((n) => [n.mac, n.name])), "domain x").nics[0].gateway, "10.100.0.1");
  });
});
