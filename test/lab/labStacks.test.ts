/**
 * The labs of this machine: one per lab stack, each in its own directory and network namespace, so
 * that the full cloud's lab and the small one never touch each other's hosts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEV_STACKS } from "../../engine/devPassphrase";
import { labStackArg } from "../../lab/control";
import { isLabStack, LAB_STACKS, labLayout } from "../../lab/layout";

describe("lab stacks", () => {
  it("lab and lab-cloud each get a directory and a namespace of their own; the environment still moves one", () => {
    assert.deepEqual([labLayout({}, "lab").dir, labLayout({}, "lab").netns], ["/var/lib/kinetic-lab", "kinetic-lab"]);
    assert.deepEqual([labLayout({}, "lab-cloud").dir, labLayout({}, "lab-cloud").netns], ["/var/lib/kinetic-lab-cloud", "kinetic-lab-cloud"]);
    assert.equal(labLayout({}).dir, "/var/lib/kinetic-lab", "no stack: the small lab, as before");
    assert.deepEqual([labLayout({ KINETIC_LAB_DIR: "/tmp/x", KINETIC_LAB_NETNS: "x" }, "lab-cloud").dir, labLayout({ KINETIC_LAB_DIR: "/tmp/x", KINETIC_LAB_NETNS: "x" }, "lab-cloud").netns], ["/tmp/x", "x"]);
  });

  it("--stack names a lab stack or is refused; a stack of a real site never runs on a lab", () => {
    assert.deepEqual(labStackArg(["up"]), { stack: "lab-cloud", rest: ["up"] });
    assert.deepEqual(labStackArg(["--stack", "lab-cloud", "--wipe"]), { stack: "lab-cloud", rest: ["--wipe"] });
    assert.match(String(labStackArg(["--stack", "prod"])), /the labs are lab, lab-cloud$/);
    assert.match(String(labStackArg(["--stack", "cloud"])), /the labs are lab, lab-cloud$/, "cloud is a name a real site may use (issue 22)");
    assert.match(String(labStackArg(["--stack"])), /the labs are/);
    assert.equal(isLabStack("prod"), false);
    assert.equal(isLabStack("toString"), false, "not a property every object has");
  });

  it("every lab stack is a bundled stack of throwaway secrets under the dev passphrase, with its config file here", () => {
    for (const stack of Object.keys(LAB_STACKS)) {
      assert.ok(DEV_STACKS.includes(stack), `${stack} is not in DEV_STACKS`);
      assert.ok(fs.existsSync(path.join(__dirname, "..", "..", `Pulumi.${stack}.yaml`)), `no Pulumi.${stack}.yaml`);
    }
  });
});
