/**
 * `kinetic up`'s gate before it replaces or deletes a machine (engine/machineChanges.ts, issue 21):
 * which preview events are machines, and when the up may go on, must ask, or is refused. The
 * detection on a real preview is checked in test/engine/virtualSafety.test.ts.
 */
import assert from "node:assert/strict";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { decideMachineChanges, isMachineUrn, machineChanges } from "../engine/machineChanges";
import { allowList } from "../cli/machineGate";

const MYSQL = "mysql-0b1c2d3e-4f50-5a6b-8c7d-9e0f1a2b3c4d";
const STORAGE = "storage-6f1c2a58-3d4e-4b5f-9a6b-7c8d9e0f1a2b";
const urn = (chain: string, name: string) => `urn:pulumi:dev::kinetic::${chain}::${name}`;
const DOMAIN = urn(`kinetic:endpoint:Virtual$kinetic:libvirt:Domain$command:remote:Command`, `${MYSQL}-provision-domain`);
const BOOT = urn(`kinetic:endpoint:Physical$kinetic:redfish:Machine$pulumi-nodejs:dynamic/redfish:BootOnce`, `${STORAGE}-provision-boot-once`);
const CYCLE = urn(`kinetic:endpoint:Physical$kinetic:redfish:Machine$pulumi-nodejs:dynamic/redfish:PowerCycle`, `${STORAGE}-provision-power-cycle`);
const PHASE = urn(`kinetic:endpoint:Virtual$command:remote:Command`, `${MYSQL}-configure`);
const STATE = urn(`kinetic:endpoint:Virtual$kinetic:libvirt:Domain$pulumi-nodejs:dynamic/libvirt:DomainState`, `${MYSQL}-provision-state`);

const pre = (op: string, u: string, keys: string[] = []): EngineEvent =>
  ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, urn: u, type: "", provider: "", keys, diffs: keys } } }) as unknown as EngineEvent;

describe("kinetic up: machines replaced or deleted need a yes (issue 21)", () => {
  it("recognises the resources that are machines, and only those", () => {
    assert.ok(isMachineUrn(DOMAIN));
    assert.ok(isMachineUrn(BOOT));
    assert.ok(isMachineUrn(CYCLE));
    assert.ok(!isMachineUrn(PHASE), "a formula phase is not a machine");
    assert.ok(!isMachineUrn(STATE), "a record is not a machine");
  });

  it("lists each machine once, with the engine's reason; updates and formula phases are not listed", () => {
    const changes = machineChanges([
      pre("same", DOMAIN),
      pre("update", CYCLE, ["bmcAddress"]),
      pre("replace", PHASE, ["triggers"]),
      pre("delete-replaced", DOMAIN, ["triggers"]),
      pre("replace", DOMAIN, ["triggers"]),
      pre("create-replacement", DOMAIN, ["triggers"]),
    ]);
    assert.deepEqual(changes, [{ action: "replace", endpoint: MYSQL, type: "mysql", urn: DOMAIN, why: `${MYSQL}-provision-domain: triggers changed` }]);
    const deleted = machineChanges([pre("delete", BOOT), pre("delete", CYCLE)]);
    assert.deepEqual(deleted.map((c) => [c.action, c.endpoint, c.type]), [["delete", STORAGE, "storage"]]);
    assert.match(deleted[0].why, /no longer declared/);
  });

  it("goes on when nothing is replaced, with --yes, or when --allow-replace names each machine's type or endpoint", () => {
    const changes = machineChanges([pre("replace", DOMAIN, ["triggers"]), pre("replace", BOOT, ["uuid"])]);
    assert.deepEqual(decideMachineChanges([], { yes: false, allow: [], tty: false }), { kind: "go" });
    assert.deepEqual(decideMachineChanges(changes, { yes: true, allow: [], tty: false }), { kind: "go" });
    assert.deepEqual(decideMachineChanges(changes, { yes: false, allow: allowList(["mysql", STORAGE]), tty: false }), { kind: "go" });
    assert.deepEqual(decideMachineChanges(changes, { yes: false, allow: allowList([`mysql,${STORAGE}`]), tty: false }), { kind: "go" });
    assert.deepEqual(decideMachineChanges(changes, { yes: false, allow: [], tty: false, alreadyAsked: new Set([DOMAIN, BOOT]) }), { kind: "go" }, "an interrupted rebuild's replacements were asked for");
  });

  it("asks on a terminal, and without one refuses in one line naming what it would do", () => {
    const changes = machineChanges([pre("replace", DOMAIN, ["triggers"]), pre("delete", CYCLE)]);
    const asked = decideMachineChanges(changes, { yes: false, allow: ["mysql"], tty: true });
    assert.equal(asked.kind, "ask");
    assert.deepEqual(asked.kind === "ask" && asked.changes.map((c) => c.endpoint), [STORAGE], "only what is not allowed is asked");
    const refused = decideMachineChanges(changes, { yes: false, allow: ["keystone"], tty: false });
    assert.equal(refused.kind, "refuse");
    assert.match(refused.kind === "refuse" ? refused.line : "", new RegExp(`^up: refused: it would replace ${MYSQL}, delete ${STORAGE}, and nothing asked for that \\(run it with --yes, or --allow-replace`));
    assert.ok(refused.kind === "refuse" && !refused.line.includes("\n"));
  });
});
