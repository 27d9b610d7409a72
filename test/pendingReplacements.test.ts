/**
 * The list of replacements a rebuild has yet to make (engine/pendingReplacements.ts): it grows by
 * what an up is asked to replace, shrinks as the engine reports each one made, and is cleared by a
 * finished up; the lab's interruption test checks it through the engine.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { PendingReplacements } from "../engine/pendingReplacements";

const URN = (n: string) => `urn:pulumi:lab::kinetic::command:remote:Command::${n}`;
const outputs = (urn: string, op: string) => ({ sequence: 0, timestamp: 0, resOutputsEvent: { metadata: { urn, op, type: "command:remote:Command", provider: "" } } }) as unknown as EngineEvent;

describe("pending replacements of an interrupted rebuild", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pending-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps what is asked until the engine reports it made, beside the state", () => {
    const p = PendingReplacements.of(dir, "lab");
    assert.deepEqual(p.read(), []);
    p.add([URN("b-configure"), URN("a-install"), URN("a-install")]);
    assert.equal(p.file, path.join(dir, ".kinetic", "pending-replace-lab.json"));
    assert.deepEqual(p.read(), [URN("a-install"), URN("b-configure")]);
    p.observe(outputs(URN("a-install"), "delete-replaced"));
    assert.deepEqual(p.read(), [URN("a-install"), URN("b-configure")], "a deletion makes nothing");
    p.observe(outputs(URN("a-install"), "create-replacement"));
    assert.deepEqual(p.read(), [URN("b-configure")]);
    // A later process (the next up) sees what is left.
    assert.deepEqual(PendingReplacements.of(dir, "lab").read(), [URN("b-configure")]);
    assert.deepEqual(PendingReplacements.of(dir, "dev").read(), [], "per stack");
    p.observe(outputs(URN("b-configure"), "create"));
    assert.equal(fs.existsSync(p.file), false, "nothing pending: no file");
  });

  it("refuses a file that is not a list of URNs, naming it", () => {
    const p = PendingReplacements.of(dir, "lab");
    fs.mkdirSync(path.dirname(p.file), { recursive: true });
    fs.writeFileSync(p.file, '{"urn": 1}');
    assert.throws(() => p.read(), new RegExp(`${p.file}: not a list of URNs`));
  });
});
