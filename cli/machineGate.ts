/**
 * `kinetic up`'s question before it replaces or deletes a machine (issue 21): a preview first, the
 * machines it would replace or delete listed with the engine's reason, then a yes from the operator
 * on a terminal, or `--yes`, or `--allow-replace <type|endpoint>` naming each; without a terminal
 * (CI's up on merge) anything else is refused with one line, before the engine changes anything.
 */
import { createInterface } from "node:readline/promises";
import type { Stack } from "@pulumi/pulumi/automation";
import { ClusterSize, decideMachineChanges, describeMachineChanges, previewMachineChanges } from "../engine/machineChanges";
import { clusterRoles } from "../formulas/clusters";
import { stackPillarCloud } from "./stackPillar";

export interface MachineGateOptions {
  yes: boolean;
  allow: string[];
  /** URNs the up will be given to replace (an interrupted rebuild's, asked for then). */
  replace: string[];
  color: "auto" | "never";
  /** `--allow-data-loss <type>` values. */
  allowDataLoss?: string[];
}

/** The clustered types of the stack's pillar, with their sizes (formulas/clusters.ts). */
export async function stackClusters(stack: Stack): Promise<ClusterSize[]> {
  const cloud = await stackPillarCloud(stack);
  const roles = clusterRoles();
  const out: ClusterSize[] = [];
  for (const type of Object.keys(cloud.pillar.hosts).sort()) {
    const members = cloud.endpoints.filter((e) => e.type === type);
    const role = members.length ? roles.get(members[0].role) : undefined;
    if (role) out.push({ type, members: members.length, holds: role.holds });
  }
  return out;
}

/** True when the up may go on. */
export async function confirmMachineChanges(stack: Stack, opts: MachineGateOptions): Promise<boolean> {
  process.stdout.write("up: preview first (a machine replaced or deleted needs a yes)\n");
  const changes = await previewMachineChanges(stack, { onOutput: (s) => process.stdout.write(s), color: opts.color, ...(opts.replace.length ? { replace: opts.replace } : {}) });
  if (!changes.length) return true;
  process.stdout.write(`\nup would replace or delete ${changes.length} machine(s): a replaced VM is zeroized and made anew from its seed, a replaced server reinstalled over PXE, a deleted one zeroized\n${describeMachineChanges(changes)}\n`);
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const decision = decideMachineChanges(changes, { yes: opts.yes, allow: opts.allow, tty, alreadyAsked: new Set(opts.replace), clusters: await stackClusters(stack), allowDataLoss: opts.allowDataLoss ?? [] });
  if (decision.kind === "go") return true;
  if (decision.kind === "refuse") {
    process.stderr.write(`${decision.line}\n`);
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Ctrl-C at the question is a no (the interface then rejects the pending question).
  rl.on("SIGINT", () => rl.close());
  try {
    const answer = await rl.question(`Replace or delete ${decision.changes.map((c) => c.endpoint).join(", ")}? Type yes to go on: `).catch(() => "");
    if (answer.trim() === "yes") return true;
    process.stderr.write("\nup: not confirmed; nothing was changed\n");
    return false;
  } finally {
    rl.close();
  }
}

/** `--allow-replace a,b --allow-replace c` -> [a, b, c]. */
export function allowList(values: string[]): string[] {
  return values.flatMap((v) => v.split(/[,\s]+/)).filter(Boolean);
}
