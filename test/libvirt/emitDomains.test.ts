import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { renderSeed } from "../../providers/libvirt/cloudInit";
import { renderDomainXml } from "../../providers/libvirt/domainXml";
import { emitDomains } from "../../providers/libvirt/emitDomains";
import { isMacCollisionError } from "../../providers/libvirt/errors";
import { keystoneSpec } from "./fixtures";
import { ok, scratch } from "./tools";

describe("emitDomains (plan --emit-domains DIR)", () => {
  it("writes domain.xml and the seed of every machine, each valid for libvirt", () => {
    const specs = [keystoneSpec("dev", 0), keystoneSpec("dev", 1)];
    const dir = scratch("emit");
    const paths = emitDomains(specs, dir);
    assert.equal(paths.length, 8);
    for (const vm of specs) {
      const base = join(dir, vm.name);
      assert.equal(readFileSync(join(base, "domain.xml"), "utf8"), renderDomainXml(vm));
      const seed = renderSeed(vm);
      for (const f of ["user-data", "meta-data", "network-config"] as const) assert.equal(readFileSync(join(base, f), "utf8"), seed[f]);
      ok("virt-xml-validate", [join(base, "domain.xml"), "domain"]);
    }
    assert.deepEqual(paths, specs.flatMap((vm) => ["domain.xml", "meta-data", "user-data", "network-config"].map((f) => join(dir, vm.name, f))));
  });

  it("writes nothing when two machines share a MAC", () => {
    const a = keystoneSpec("dev", 0);
    const b = keystoneSpec("dev", 1);
    b.networks[2].mac = a.networks[0].mac;
    const dir = scratch("emit");
    assert.throws(() => emitDomains([a, b], dir), (e: unknown) => isMacCollisionError(e) && e.message.includes(a.name) && e.message.includes(b.name));
    assert.ok(!existsSync(join(dir, a.name)));
  });
});
