/**
 * `kinetic rebuild`'s choice of resources (cli/rebuild.ts), on the lab and sample pillars: the
 * targets' machines and phases, every phase downstream of them in the needs graph, nothing else.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { rebuildResourceNames } from "../cli/rebuild";
import { loadCloud } from "../pillar";

const ROOT = path.resolve(__dirname, "..");

describe("kinetic rebuild: which resources are replaced", () => {
  const lab = loadCloud(path.join(ROOT, "pillar/lab"), { stack: "lab" });
  const name = (role: string) => lab.endpoints.find((e) => e.role === role)!.name;

  it("a VM: its domain and its four phases, and keystone's configure, which needs mysql's", () => {
    const { endpoints, names } = rebuildResourceNames(lab, ["mysql"]);
    assert.deepEqual(endpoints, [name("mysql")]);
    assert.deepEqual([...names].sort(), [
      `${name("keystone")}-configure`,
      ...["base", "configure", "install", "networking", "provision-domain"].map((s) => `${name("mysql")}-${s}`),
    ].sort());
  });

  it("a controller: its install over PXE, its phases, and every VM on it with all of theirs", () => {
    const { names } = rebuildResourceNames(lab, [name("controller")]);
    for (const r of ["provision-boot-once", "provision-power-cycle", "base", "networking", "install", "configure"]) assert.ok(names.has(`${name("controller")}-${r}`), r);
    for (const role of ["mysql", "memcached", "keystone"]) assert.ok(names.has(`${name(role)}-provision-domain`), `${role}'s VM`);
    assert.ok(![...names].some((n) => n.startsWith(name("pxe"))), "the pxe host is upstream: untouched");
  });

  it("refuses a foundation host and names unknown targets with the pillar's types", () => {
    assert.throws(() => rebuildResourceNames(lab, ["pxe"]), /foundation host: Kinetic does not install it/);
    assert.throws(() => rebuildResourceNames(lab, ["mysq"]), /mysq is neither a type nor an endpoint of the pillar \(types: controller, keystone, memcached, mysql, pxe\)/);
  });

  it("on the sample pillar, a rebuilt mysql re-runs the configure of every service that needs it, and no unrelated step", () => {
    const sample = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "sample" });
    const { names } = rebuildResourceNames(sample, ["mysql"]);
    const keystone = sample.endpoints.filter((e) => e.type === "keystone").map((e) => `${e.name}-configure`);
    for (const k of keystone) assert.ok(names.has(k), k);
    assert.ok(![...names].some((n) => n.startsWith("storage-") && n.endsWith("-install")), "storage installs do not need mysql");
  });
});
