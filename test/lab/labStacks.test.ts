/**
 * The labs of this machine: one per lab stack, each in its own directory and network namespace, so
 * that the full cloud's lab and the small one never touch each other's hosts.
 */
import * as assert from "node:assert/strict";
import { labStackArg } from "../../lab/control";
import { isLabStack, labLayout } from "../../lab/layout";

describe("lab stacks", () => {
  it("lab and cloud each get a directory and a namespace of their own; the environment still moves one", () => {
    assert.deepEqual([labLayout({}, "lab").dir, labLayout({}, "lab").netns], ["/var/lib/kinetic-lab", "kinetic-lab"]);
    assert.deepEqual([labLayout({}, "cloud").dir, labLayout({}, "cloud").netns], ["/var/lib/kinetic-cloud", "kinetic-cloud"]);
    assert.equal(labLayout({}).dir, "/var/lib/kinetic-lab", "no stack: the small lab, as before");
    assert.deepEqual([labLayout({ KINETIC_LAB_DIR: "/tmp/x", KINETIC_LAB_NETNS: "x" }, "cloud").dir, labLayout({ KINETIC_LAB_DIR: "/tmp/x", KINETIC_LAB_NETNS: "x" }, "cloud").netns], ["/tmp/x", "x"]);
  });

  it("--stack names a lab stack or is refused; a stack of a real site never runs on a lab", () => {
    assert.deepEqual(labStackArg(["up"]), { stack: "cloud", rest: ["up"] });
    assert.deepEqual(labStackArg(["--stack", "cloud", "--wipe"]), { stack: "cloud", rest: ["--wipe"] });
    assert.match(String(labStackArg(["--stack", "prod"])), /the labs are lab, cloud/);
    assert.match(String(labStackArg(["--stack"])), /the labs are/);
    assert.equal(isLabStack("prod"), false);
    assert.equal(isLabStack("toString"), false, "not a property every object has");
  });
});
