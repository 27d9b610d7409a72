/**
 * cli/backupEveryMember.ts's order, with a recording shell (fast; the real etcd restore is
 * test/formulas/etcdBackup.test.ts): no member is swapped unless every member staged the backup,
 * and values reach the scripts as data, never as shell.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { Endpoint } from "../pillar";
import type { EveryMemberRecipe } from "../cli/backupRecipes";
import { restoreEveryMember, RestoreMember, restoreToken, withValues } from "../cli/backupEveryMember";
import type { ShellResult } from "../cli/endpointShell";

const recipe: EveryMemberRecipe = {
  part: "etcd",
  role: "etcd",
  what: "test",
  wholeData: true,
  dump: "false",
  restoreOn: "every member",
  uses: ["NAME"],
  stage: "#stage",
  discard: "#discard",
  swap: "#swap",
  settle: "#settle",
};
const members: RestoreMember[] = ["a", "b", "c"].map((name) => ({ endpoint: { name } as Endpoint, values: { NAME: name, OTHER: "not sent" } }));

/** A shell that records `<member> <phase>` and answers `answer` for it. */
function recording(answer: (member: string, phase: string) => ShellResult) {
  const calls: string[] = [];
  const values: string[] = [];
  const shell = async (e: Endpoint, script: string, stdinFile?: string): Promise<ShellResult> => {
    const phase = script.split("\n").at(-1)!.slice(1);
    calls.push(`${e.name} ${phase}${stdinFile ? ` < ${stdinFile}` : ""}`);
    values.push(script.split("\n").slice(0, -1).join("\n"));
    return answer(e.name, phase);
  };
  return { calls, values, shell };
}

describe("kinetic restore of a part on every member (cli/backupEveryMember.ts)", () => {
  it("stages on every member, then swaps every member, then settles on the first", async () => {
    const r = recording((m, phase) => ({ code: 0, out: `${phase} on ${m}\n` }));
    const said: string[] = [];
    assert.equal(await restoreEveryMember(recipe, members, "/tmp/part", r.shell, (l) => said.push(l), "kinetic-etcd-restore-0123456789ab"), "settle on a");
    assert.deepEqual(r.calls, ["a stage < /tmp/part", "b stage < /tmp/part", "c stage < /tmp/part", "a swap", "b swap", "c swap", "a settle"]);
    assert.deepEqual(said, ["  stage on a", "  stage on b", "  stage on c", "  swap on a", "  swap on b", "  swap on c"]);
    // Only the recipe's values and the token, the same token everywhere.
    for (const v of r.values) assert.doesNotMatch(v, /OTHER/);
    assert.equal(new Set(r.values.map((v) => /KINETIC_RESTORE_TOKEN=\S+/.exec(v)?.[0])).size, 1);
  });

  it("one member that cannot stage: no member is swapped, every member's staged copy is thrown away, and the error says nothing changed", async () => {
    const r = recording((m, phase) => (m === "b" && phase === "stage" ? { code: 1, out: "etcdctl snapshot restore: snapshot file integrity check failed\n" } : { code: 0, out: "" }));
    await assert.rejects(restoreEveryMember(recipe, members, "/tmp/part", r.shell, () => undefined), /^Error: restore etcd: every member of etcd must take it and b: etcdctl snapshot restore: snapshot file integrity check failed; nothing was changed$/);
    assert.deepEqual(r.calls.filter((c) => !c.endsWith("stage < /tmp/part")), ["a discard", "b discard", "c discard"]);
  });

  it("a member unreachable (the shell throws) counts as not staged", async () => {
    const r = recording(() => ({ code: 0, out: "" }));
    const shell = (e: Endpoint, script: string, stdinFile?: string) => (e.name === "c" ? Promise.reject(new Error("ssh: connect to host c: No route to host")) : r.shell(e, script, stdinFile));
    await assert.rejects(restoreEveryMember(recipe, members, "/tmp/part", shell, () => undefined), /c: ssh: connect to host c: No route to host; nothing was changed/);
    assert.ok(!r.calls.some((c) => c.endsWith("swap")));
  });

  it("a swap that fails names the members already started from the backup", async () => {
    const r = recording((m, phase) => (m === "c" && phase === "swap" ? { code: 1, out: "Failed to stop etcd.service\n" } : { code: 0, out: "" }));
    await assert.rejects(restoreEveryMember(recipe, members, "/tmp/part", r.shell, () => undefined), /c: Failed to stop etcd\.service; a, b already started from the backup: run the restore again once every member answers/);
    assert.ok(!r.calls.some((c) => c.endsWith("settle")));
  });

  it("values reach the script as data: quotes, $( ) and newlines are not run", () => {
    const hostile = `x'; touch /tmp/pwned-kinetic; echo '$(touch /tmp/pwned-kinetic)\n\`touch /tmp/pwned-kinetic\``;
    const r = spawnSync("bash", ["-c", withValues({ NAME: hostile }, 'printf %s "$KINETIC_NAME"')], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, hostile);
    assert.equal(spawnSync("test", ["-e", "/tmp/pwned-kinetic"]).status, 1);
    assert.throws(() => withValues({ "NAME; rm": "x" }, "true"), /is not \[A-Z\]/);
    assert.match(restoreToken("etcd"), /^kinetic-etcd-restore-[0-9a-f]{12}$/);
    assert.notEqual(restoreToken("etcd"), restoreToken("etcd"));
  });
});
