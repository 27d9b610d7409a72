/**
 * `kinetic preview --all` and `kinetic up --all` (cli/stackSet.ts): every stack of the pillar, the
 * site first for an up. Each stack's up keeps its own machine gate (cli/machineGate.ts): the racks'
 * gates are asked one after another, before any rack runs.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { upFinishingReplacements } from "../engine/pendingReplacements";
import { pendingOf } from "./engineCommands";
import { UnreachedInstalls } from "./installHint";
import { confirmMachineChanges, MachineGateOptions } from "./machineGate";
import { openParts, previewAll, StackOpener, StackPart, upAll } from "./stackSet";

export interface StackSetOptions {
  gate: Omit<MachineGateOptions, "replace">;
  diff: boolean;
  color: "auto" | "never";
}

export async function stackSetCommand(op: "preview" | "up", site: Stack, open: StackOpener, opts: StackSetOptions): Promise<number> {
  const parts = await openParts(site, open);
  const out = (s: string) => process.stdout.write(s);
  if (op === "preview") {
    const rows = await previewAll(parts, out, { color: opts.color });
    return rows.some((r) => r.error) ? 1 : 0;
  }
  const gated = new Set<string>();
  const gate = async ({ stack }: StackPart) => {
    const left = pendingOf(stack.name).read();
    const ok = await confirmMachineChanges(stack, { ...opts.gate, replace: left });
    if (ok) gated.add(stack.name);
    return ok;
  };
  const results = await upAll(parts, {
    out,
    gate,
    up: async (p) => {
      if (!gated.has(p.stack.name) && !(await gate(p))) return false;
      // Racks run side by side: each line of their output names its stack.
      const prefix = p.part === "site" ? "" : `[${p.stack.name}] `;
      let partial = "";
      const onOutput = (s: string) => {
        const lines = (partial + s).split("\n");
        partial = lines.pop()!;
        for (const l of lines) out(`${prefix}${l}\n`);
      };
      const unreached = new UnreachedInstalls();
      const r = await upFinishingReplacements(p.stack, pendingOf(p.stack.name), { onOutput, diff: opts.diff, color: opts.color, onEvent: (e) => unreached.observe(e) }).finally(() => {
        if (partial) out(`${prefix}${partial}\n`);
        for (const line of unreached.lines()) out(`${prefix}${line}\n`);
      });
      return r.summary.result === "succeeded";
    },
  });
  out(`\n${results.map((r) => `${r.stack.padEnd(24)} ${r.part.padEnd(10)} ${r.ok ? "up" : `not up${r.error ? `: ${r.error}` : ""}`}`).join("\n")}\n`);
  const ran = new Set(results.map((r) => r.stack));
  for (const p of parts) if (!ran.has(p.stack.name)) out(`${p.stack.name} (${p.part}): not run\n`);
  return results.every((r) => r.ok) && ran.size === parts.length ? 0 : 1;
}
