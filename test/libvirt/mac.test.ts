import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { isMacCollisionError } from "../../providers/libvirt/errors";
import { assertUniqueMacs, deriveMac, isLocalUnicastMac, MacAssignment } from "../../providers/libvirt/mac";
import { keystoneSpec } from "./fixtures";

describe("libvirt MAC addresses", () => {
  it("are locally administered unicast (first octet x2/x6/xA/xE), never QEMU's 52:54:00", () => {
    for (let i = 0; i < 2000; i++) {
      const mac = deriveMac("prod", `keystone-${i}`, "management");
      assert.ok(isLocalUnicastMac(mac), mac);
      const first = parseInt(mac.slice(0, 2), 16);
      assert.equal(first & 0x01, 0, `${mac} is multicast`);
      assert.equal(first & 0x02, 0x02, `${mac} is not locally administered`);
      assert.ok(!mac.startsWith("52:54:00"));
    }
  });

  it("are stable across runs: a fresh process derives the same addresses", () => {
    // Pinned values: changing the derivation would re-address every NIC of every running stack.
    assert.equal(deriveMac("dev", "keystone-6f1b2c3d-4e5f-5a6b-8c7d-8e9f0a1b2c3d", "management"), "22:93:1b:47:5e:5a");
    const code = `const {deriveMac}=require(${JSON.stringify(require.resolve("../../providers/libvirt/mac"))});` +
      `process.stdout.write(deriveMac("dev","keystone-6f1b2c3d-4e5f-5a6b-8c7d-8e9f0a1b2c3d","sfe"))`;
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", code], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, deriveMac("dev", "keystone-6f1b2c3d-4e5f-5a6b-8c7d-8e9f0a1b2c3d", "sfe"));
    assert.deepEqual(keystoneSpec().networks.map((n) => n.mac), keystoneSpec().networks.map((n) => n.mac));
  });

  it("differ per stack, endpoint and network, and are unique over a production-sized stack", () => {
    assert.notEqual(deriveMac("a", "e", "management"), deriveMac("b", "e", "management"));
    assert.notEqual(deriveMac("a", "e1", "management"), deriveMac("a", "e2", "management"));
    assert.notEqual(deriveMac("a", "e", "management"), deriveMac("a", "e", "public"));
    // No separator ambiguity: ("ab","c") and ("a","bc") are different NICs.
    assert.notEqual(deriveMac("ab", "c", "n"), deriveMac("a", "bc", "n"));
    const list: MacAssignment[] = [];
    for (let i = 0; i < 500; i++) {
      for (const net of ["management", "public", "private", "sfe", "sbe"]) list.push({ endpoint: `vm-${i}`, network: net, mac: deriveMac("prod", `vm-${i}`, net) });
    }
    assert.doesNotThrow(() => assertUniqueMacs(list));
  });

  it("a collision is an error naming both endpoints and networks", () => {
    const list = [
      { endpoint: "keystone-a", network: "management", mac: "0a:00:00:00:00:01" },
      { endpoint: "mysql-b", network: "public", mac: "0a:00:00:00:00:02" },
      { endpoint: "glance-c", network: "sfe", mac: "0A:00:00:00:00:01" },
    ];
    assert.throws(
      () => assertUniqueMacs(list),
      (e: unknown) => {
        assert.ok(isMacCollisionError(e));
        assert.equal(e.message, "MAC address 0a:00:00:00:00:01 is derived for both keystone-a (network management) and glance-c (network sfe); rename one of them or change the stack");
        return true;
      },
    );
  });
});
