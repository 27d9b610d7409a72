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

  // Issue 21: an up never takes a cluster below its majority, whatever --yes says.
  describe("clustered types", () => {
    const member = (n: number) => `mysql-0b1c2d3e-4f50-5a6b-8c7d-9e0f1a2b3c4${n}`;
    const domainOf = (n: number) => urn(`kinetic:endpoint:Virtual$kinetic:libvirt:Domain$command:remote:Command`, `${member(n)}-provision-domain`);
    const mysql = (members: number) => [{ type: "mysql", members, holds: "every service's database" }];
    const replacing = (...n: number[]) => machineChanges(n.map((i) => pre("replace", domainOf(i), ["triggers"])));

    it("one member of three replaced: the usual gate (--yes goes on)", () => {
      assert.deepEqual(decideMachineChanges(replacing(1), { yes: true, allow: [], tty: false, clusters: mysql(3) }), { kind: "go" });
    });

    it("two of three at once, or the only one: refused even with --yes, naming the members, what they hold and kinetic rebuild", () => {
      const two = decideMachineChanges(replacing(1, 2), { yes: true, allow: ["mysql"], tty: true, clusters: mysql(3) });
      assert.equal(two.kind, "refuse");
      assert.match(two.kind === "refuse" ? two.line : "", new RegExp(`^up: refused: it would replace ${member(1)}, replace ${member(2)} at once, leaving 1 of mysql's 3 member\\(s\\), which hold every service's database \\(a majority, 2, must stay up\\)\\. Replace them one at a time: kinetic rebuild <endpoint> for each\\. To accept losing that data: --allow-data-loss mysql$`));
      const only = decideMachineChanges(replacing(1), { yes: true, allow: [], tty: false, clusters: mysql(1) });
      assert.match(only.kind === "refuse" ? only.line : "", /leaving 0 of mysql's 1 member\(s\).*To accept losing that data: --allow-data-loss mysql$/);
      assert.ok(only.kind === "refuse" && !only.line.includes("kinetic rebuild"), "a cluster of one cannot be rolled");
    });

    it("members deleted by a lower count count too: 3 -> 1 deletes two of three", () => {
      const changes = machineChanges([pre("delete", domainOf(1)), pre("delete", domainOf(2))]);
      assert.equal(decideMachineChanges(changes, { yes: true, allow: [], tty: false, clusters: mysql(1) }).kind, "refuse");
    });

    it("--allow-data-loss <type> lets it through to the usual gate; a rebuild's own pending member is not counted again", () => {
      assert.deepEqual(decideMachineChanges(replacing(1, 2), { yes: true, allow: [], tty: false, clusters: mysql(3), allowDataLoss: ["mysql"] }), { kind: "go" });
      assert.equal(decideMachineChanges(replacing(1, 2), { yes: false, allow: [], tty: false, clusters: mysql(3), allowDataLoss: ["mysql"] }).kind, "refuse", "still needs a yes");
      assert.deepEqual(decideMachineChanges(replacing(1, 2), { yes: true, allow: [], tty: false, clusters: mysql(3), alreadyAsked: new Set([domainOf(1)]) }), { kind: "go" });
    });
  });
});
