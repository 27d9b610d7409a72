/**
 * What the rolling-rebuild cases of the lab tests check in the engine's own record of an operation,
 * shared by the mysql (lab.test.ts) and rabbitmq (rabbitmqRebuild.test.ts) cases.
 */
import * as assert from "node:assert/strict";
import type { EngineResult, StepRecord } from "./engineRun";

/**
 * Resources the operation changed. A provider's own update is left out: it is stack config reaching
 * it (kinetic rebuild records new host keys' generations there, kinetic backup its secret), not a
 * machine or a phase; the summary's counts still include it.
 */
export function changedResources(r: EngineResult): string[] {
  return [...new Set(r.steps.filter((s) => s.op !== "same" && s.op !== "read" && s.op !== "refresh" && !s.type.startsWith("pulumi:providers:")).map((s) => s.name))].sort();
}

/** One member at a time: each member's machine went only after the previous member's configure ended. */
export function assertOneMemberAtATime(r: EngineResult, members: { name: string }[]): void {
  const at = (name: string, pick: (s: StepRecord) => boolean) => r.steps.filter((s) => s.name === name && pick(s));
  for (let i = 1; i < members.length; i++) {
    const done = at(`${members[i - 1].name}-configure`, (s) => s.end !== undefined);
    const down = at(`${members[i].name}-provision-domain`, () => true);
    const prevDone = Math.max(...done.map((s) => s.end!));
    const nextDown = Math.min(...down.map((s) => s.start));
    // The steps themselves in the message: which op of which up came too early.
    const seen = [...done, ...down].map((s) => `${s.name} ${s.op} ${s.start - r.startedAt}..${s.end === undefined ? "?" : s.end - r.startedAt} ms`).join("; ");
    assert.ok(nextDown > prevDone, `${members[i].name} went down only after ${members[i - 1].name} was back (${seen})`);
  }
}
