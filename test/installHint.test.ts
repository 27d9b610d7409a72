import * as assert from "node:assert/strict";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { UnreachedInstalls } from "../cli/installHint";

const URN = (type: string, name: string) => `urn:pulumi:lab::kinetic::kinetic:site:Stack$${type}$command:remote:Command::${name}`;
const error = (urn: string, message: string): EngineEvent => ({ sequence: 1, timestamp: 0, diagnosticEvent: { urn, message, color: "never", severity: "error" } });
const DIAL = "error: dialing 10.0.0.7:22 as root: dial tcp 10.0.0.7:22: connect: no route to host";

describe("the hint for a physical server that never answered after its install (cli/installHint.ts)", () => {
  it("names the physical server whose base phase could not be reached, once, with its address and the rebuild command", () => {
    const u = new UnreachedInstalls();
    u.observe(error(URN("kinetic:endpoint:Physical", "storage-0e3b-base"), DIAL));
    u.observe(error(URN("kinetic:endpoint:Physical", "storage-0e3b-base"), DIAL));
    assert.deepEqual(u.lines().length, 1);
    assert.match(u.lines()[0], /^storage-0e3b did not answer SSH at 10\.0\.0\.7:22 .*`kinetic rebuild storage-0e3b --yes`/);
  });

  it("says nothing for a VM, a later phase, a wrong host key, a warning or another error", () => {
    const u = new UnreachedInstalls();
    u.observe(error(URN("kinetic:endpoint:Virtual", "keystone-1a2b-base"), DIAL));
    u.observe(error(URN("kinetic:endpoint:Physical", "storage-0e3b-configure"), DIAL));
    u.observe(error(URN("kinetic:endpoint:Physical", "storage-0e3b-base"), "error: dialing 10.0.0.7:22 as root: host key mismatch at 10.0.0.7:22: expected A, presented B; nothing was sent"));
    u.observe(error(URN("kinetic:endpoint:Physical", "storage-0e3b-base"), "error: formulas/common/base failed: exit 1"));
    u.observe({ sequence: 2, timestamp: 0, diagnosticEvent: { urn: URN("kinetic:endpoint:Physical", "storage-0e3b-base"), message: DIAL, color: "never", severity: "warning" } });
    assert.deepEqual(u.lines(), []);
  });
});
