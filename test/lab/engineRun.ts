/**
 * One engine operation on a scratch stack, run inside the lab's network namespace (the only place
 * the lab's addresses exist): `nsenter --net=/run/netns/<lab> node -r ts-node/register/transpile-only
 * test/lab/engineRun.ts JOB.json`. Prints one JSON line: the summary's resource changes, and every
 * step the engine reported (resource, operation, start and end), which the tests and the lab
 * benchmark read.
 */
import * as fs from "node:fs";
import { ConfigMap, EngineEvent } from "@pulumi/pulumi/automation";
import { ensureEngine } from "../../engine/build";
import { nameOfUrn as name, openStack, typeOfUrn as type, urnsNamed } from "../../engine/stack";
import { kineticProgram } from "../../components/program";
import { PendingReplacements, upFinishingReplacements } from "../../engine/pendingReplacements";
import { realProvisioners } from "../../components/provisioners";
import { rebuildStack } from "../../cli/rebuild";
import { rotateStack } from "../../cli/rotate";
import type { SecretClass } from "../../components/secretEpochs";
import { backupStack, restoreStack } from "../../cli/backup";
import { stackPillarCloud } from "../../cli/stackPillar";

export interface EngineJob {
  /**
   * rebuild: `kinetic rebuild <targets> --yes` (cli/rebuild.ts rebuildStack: new host keys too);
   * rotate: `kinetic rotate --class <target>... --yes` (cli/rotate.ts rotateStack).
   */
  op: "up" | "refresh" | "destroy" | "preview" | "rebuild" | "backup" | "restore" | "rotate";
  /** rebuild's types or endpoints; restore's backup (one id, or latest); rotate's classes. */
  targets?: string[];
  stack: string;
  workDir: string;
  backendDir: string;
  passphrase: string;
  config: ConfigMap;
  formulasDir?: string;
  /** rebuild's `--restore-from` (a backup id, or latest). */
  restoreFrom?: string;
  /** Resource names (the end of the URN) to replace, as `kinetic rebuild` does. */
  replaceNames?: string[];
  /** The engine's progress output goes here. */
  logFile: string;
}

export interface StepRecord {
  name: string;
  type: string;
  op: string;
  start: number;
  end?: number;
  failed?: boolean;
}

export interface EngineResult {
  changes: Record<string, number>;
  steps: StepRecord[];
  startedAt: number;
  endedAt: number;
  error?: string;
  /** What rebuild told the operator (the replaced resources, the new host keys' fingerprints). */
  said?: string[];
}

async function main(): Promise<void> {
  const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as EngineJob;
  const engine = await ensureEngine();
  const stack = await openStack({
    engine,
    stack: job.stack,
    program: async () => ({ endpoints: kineticProgram({ provisioners: realProvisioners, ...(job.formulasDir ? { formulasDir: job.formulasDir } : {}) }).endpoints }),
    backendDir: job.backendDir,
    passphrase: job.passphrase,
    workDir: job.workDir,
    config: job.config,
  });
  // The step in flight per resource, and every step in order: a rebuild is several ups, and a
  // resource replaced in the first is "same" in the next, which must not hide that it was replaced.
  const steps = new Map<string, StepRecord>();
  const all: StepRecord[] = [];
  const onEvent = (e: EngineEvent) => {
    const pre = e.resourcePreEvent?.metadata;
    if (pre) {
      const record = { name: name(pre.urn), type: type(pre.urn), op: pre.op, start: Date.now() };
      steps.set(pre.urn, record);
      all.push(record);
    }
    const out = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
    if (out && steps.has(out.urn)) {
      const s = steps.get(out.urn)!;
      s.end = Date.now();
      if (e.resOpFailedEvent) s.failed = true;
    }
  };
  const log = fs.createWriteStream(job.logFile, { flags: "a" });
  const onOutput = (s: string) => log.write(s);
  const startedAt = Date.now();
  const result: EngineResult = { changes: {}, steps: [], startedAt, endedAt: 0 };
  // SIGINT (the interruption test): the engine's CLI gets it too and cancels gracefully.
  process.on("SIGINT", () => undefined);
  try {
    let summary: { resourceChanges?: Record<string, number> } | undefined;
    if (job.op === "up") {
      const urns = job.replaceNames?.length ? await urnsNamed(stack, job.replaceNames) : [];
      // As `kinetic up` and `kinetic rebuild` do: what an interrupted rebuild left is replaced too.
      summary = (await upFinishingReplacements(stack, PendingReplacements.of(job.backendDir, job.stack), { onOutput, onEvent, color: "never", ...(urns.length ? { replace: urns } : {}) })).summary;
    } else if (job.op === "rebuild") {
      const said: string[] = (result.said = []);
      const code = await rebuildStack(stack, job.targets ?? [], { yes: true, restoreFrom: job.restoreFrom, pending: PendingReplacements.of(job.backendDir, job.stack), out: (l) => (said.push(l), onOutput(`${l}\n`)), onOutput, onEvent, ...(job.formulasDir ? { formulasDir: job.formulasDir } : {}) });
      if (code !== 0) throw new Error(`rebuild ended with ${code}: ${said.join("\n")}`);
    } else if (job.op === "rotate") {
      const said: string[] = (result.said = []);
      const r = await rotateStack(stack, { classes: (job.targets ?? []) as SecretClass[], yes: true, out: (l) => (said.push(l), onOutput(`${l}\n`)), onOutput, onEvent, ...(job.formulasDir ? { formulasDir: job.formulasDir } : {}) });
      if (r.code !== 0) throw new Error(`rotate ended with ${r.code}: ${said.join("\n")}`);
    } else if (job.op === "backup" || job.op === "restore") {
      // cli/backup.ts as `kinetic backup` / `kinetic restore <id> --yes` run it, on the pillar the stack names.
      const said: string[] = (result.said = []);
      const cloud = await stackPillarCloud(stack);
      const out = (l: string) => (said.push(l), onOutput(`${l}\n`));
      if (job.op === "backup") await backupStack(stack, cloud, out);
      else await restoreStack(stack, cloud, job.targets?.[0] ?? "latest", out);
    } else if (job.op === "refresh") summary = (await stack.refresh({ onOutput, onEvent, color: "never" })).summary;
    else if (job.op === "destroy") summary = (await stack.destroy({ onOutput, onEvent, color: "never" })).summary;
    else {
      const r = await stack.preview({ onOutput, onEvent, color: "never" });
      result.changes = r.changeSummary as Record<string, number>;
    }
    if (summary) result.changes = summary.resourceChanges ?? {};
  } catch (e) {
    // The engine's own verdict ("update canceled") comes first and a failed step's output can run
    // long: keep every `error:` line, then the end of the message.
    const text = e instanceof Error ? e.message : String(e);
    const verdicts = [...new Set(text.split("\n").filter((l) => /\berror: /.test(l)).map((l) => l.trim()))];
    result.error = `${verdicts.join("\n")}\n...\n${text.slice(-3000)}`;
  }
  result.endedAt = Date.now();
  result.steps = all.filter((s) => s.op !== "same");
  await new Promise((r) => log.end(r));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
