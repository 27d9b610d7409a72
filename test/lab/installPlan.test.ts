/**
 * lab/installPlan.ts reads what the pxe formula serves: the installed system's address is the one
 * its autoinstall network config gives (there is no DHCP lease for an installed system: Kea
 * reserves by DHCP option 97, which only firmware sends).
 */
import * as assert from "node:assert/strict";
import { InstallRefused, planFromAutoinstall } from "../../lab/installPlan";

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
});
