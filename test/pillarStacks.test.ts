/**
 * Stacks per site and per rack in the pillar (pillar/stacks.ts, validate.ts checkStacks): the
 * default is one site stack with everything (placement unchanged); a rack's VMs run on its own
 * controllers; every misuse is reported with file, line and key.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { loadCloud, partDigest, partEndpoints, SITE, stackNames } from "../pillar";
import { NETWORKING, pillarDir, pillarProblems, virtualYaml } from "./support/pillars";

const IMAGES = `images:
  deb:
    url: http://deb.example/x.img
    type: raw
`;
const controller = (name: string, address: string, stack?: string) => `  ${name}:
    style: foundation
    role: controller
    addresses: [${address}]
${stack ? `    stack: ${stack}\n` : ""}`;
const vm = (name: string, count: number, stack?: string, extra = "") => virtualYaml(name, `${stack ? `    stack: ${stack}\n` : ""}${extra}`, count);

/** The problems, with the scratch directory cut from each line. */
function problems(hosts: string, stacks = ""): { dir: string; lines: string[] } {
  const { dir, lines } = pillarProblems({ "net.yaml": NETWORKING + IMAGES + stacks, "hosts.yaml": `hosts:\n${hosts}` }, "t");
  return { dir, lines: lines.map((l) => l.replace(dir + path.sep, "")) };
}

describe("pillar stacks", () => {
  it("without `stacks`: one site stack holding every endpoint, VMs placed over every controller as before", () => {
    const dir = pillarDir({ "net.yaml": NETWORKING + IMAGES, "hosts.yaml": `hosts:\n${controller("controller", "10.0.0.5")}${controller("controllerb", "10.0.0.6")}${vm("cache", 4)}` });
    const cloud = loadCloud(dir, { stack: "t" });
    assert.deepEqual(stackNames(cloud.pillar), [SITE]);
    assert.equal(partEndpoints(cloud, SITE).length, cloud.endpoints.length);
    assert.equal(cloud.pillar.hosts.cache.stack, undefined);
    // Round robin over both controllers: the placement of before.
    const on = new Set(cloud.endpoints.filter((e) => e.type === "cache").map((e) => e.controller));
    assert.equal(on.size, 2);
  });

  it("a rack's VMs run only on its own controllers, the site's on the site's; each part has its own digest", () => {
    const dir = pillarDir({
      "net.yaml": NETWORKING + IMAGES + "stacks: [rack1]\n",
      "hosts.yaml": `hosts:\n${controller("controller", "10.0.0.5")}${controller("controllerb", "10.0.0.6", "rack1")}${vm("cache", 3)}${vm("compute", 3, "rack1")}`,
    });
    const cloud = loadCloud(dir, { stack: "t" });
    assert.deepEqual(stackNames(cloud.pillar), [SITE, "rack1"]);
    const ctl = (type: string) => cloud.endpoints.find((e) => e.type === type)!.name;
    assert.deepEqual(new Set(cloud.endpoints.filter((e) => e.type === "cache").map((e) => e.controller)), new Set([ctl("controller")]));
    assert.deepEqual(new Set(cloud.endpoints.filter((e) => e.type === "compute").map((e) => e.controller)), new Set([ctl("controllerb")]));
    assert.deepEqual(partEndpoints(cloud, "rack1").map((e) => e.type).sort(), ["compute", "compute", "compute", "controllerb"]);
    assert.notEqual(partDigest(cloud, SITE), partDigest(cloud, "rack1"));
    // A change to the rack's entry leaves the site's digest as it was.
    const dir2 = pillarDir({
      "net.yaml": NETWORKING + IMAGES + "stacks: [rack1]\n",
      "hosts.yaml": `hosts:\n${controller("controller", "10.0.0.5")}${controller("controllerb", "10.0.0.6", "rack1")}${vm("cache", 3)}${vm("compute", 3, "rack1").replace("ram: 1048576", "ram: 2097152")}`,
    });
    const cloud2 = loadCloud(dir2, { stack: "t" });
    assert.equal(partDigest(cloud2, SITE), partDigest(cloud, SITE));
    assert.notEqual(partDigest(cloud2, "rack1"), partDigest(cloud, "rack1"));
  });

  it("an unknown stack name, a stack with nothing in it, and `site` listed are reported at their lines", () => {
    const { lines } = problems(`${controller("controller", "10.0.0.5", "rack9")}`, "stacks: [rack1, site]\n");
    assert.deepEqual(lines, [
      "net.yaml:8:17: stacks.1: 'site' is the stack of every type that names none; list only the rack stacks",
      "hosts.yaml:6:12: hosts.controller.stack: names stack 'rack9', which `stacks` does not list (stacks: site, rack1): add it to `stacks` or correct the name",
      "net.yaml:8:10: stacks.0: stack 'rack1' has nothing in it: no enabled type with endpoints names it (`stack: rack1`); remove it or move a type into it",
    ]);
  });

  it("a VM in a stack without a controller (its controller would be in another stack) is reported at the type's stack key", () => {
    const { lines } = problems(`${controller("controller", "10.0.0.5")}${vm("compute", 2, "rack1")}`, "stacks: [rack1]\n");
    assert.deepEqual(lines, [
      "hosts.yaml:16:12: hosts.compute.stack: is virtual in stack 'rack1', which has no controller to run its VMs (controllers: controller in 'site'): a VM lives in its controller's stack; move the type or a controller",
    ]);
  });

  it("a site type waiting for a rack, and a rack for another rack, are reported at the need", () => {
    const needs = (dep: string) => `    needs:\n      configure:\n        ${dep}: configure\n`;
    const { lines } = problems(
      `${controller("controller", "10.0.0.5", "rack1")}${controller("controllerb", "10.0.0.6", "rack2")}${vm("cache", 1, "rack1")}${vm("alpha", 1, "rack2", needs("cache"))}  beta:\n    style: foundation\n    addresses: [10.0.0.7]\n${needs("alpha")}`,
      "stacks: [rack1, rack2]\n",
    );
    assert.deepEqual(lines, [
      "hosts.yaml:36:9: hosts.alpha.needs.configure.cache: alpha (stack 'rack2') would wait for cache.configure in stack 'rack1': a type waits only for its own stack or the site (the site runs first, then the racks side by side)",
      "hosts.yaml:42:9: hosts.beta.needs.configure.alpha: beta (stack 'site') would wait for alpha.configure in stack 'rack2': a type waits only for its own stack or the site (the site runs first, then the racks side by side)",
    ]);
  });
});
