/**
 * A part put back on every member of its role together (cli/backupRecipes.ts EveryMemberRecipe):
 * a store whose copy restores only as a new cluster (etcd's snapshot), never through one member.
 *
 * Two phases, so that a restore that cannot finish changes nothing: `stage` on every member (the
 * backup prepared beside what serves); only when every member staged it, `swap` on every member
 * (the member stopped, its data replaced, started); then `settle` on one, which waits until the
 * new cluster serves. A member that cannot stage (unreachable, out of disk, a damaged copy) stops
 * the restore before any swap, and what the others staged is thrown away.
 */
import { randomBytes } from "node:crypto";
import type { Endpoint } from "../pillar";
import type { FormulaValues } from "../formulas/envelope";
import type { EveryMemberRecipe } from "./backupRecipes";
import type { ShellResult } from "./endpointShell";
import { oneLine } from "./verify";

/** Runs bash `script` as root on `e`, with the file `stdinFile` (when given) on its standard input. */
export type MemberShell = (e: Endpoint, script: string, stdinFile?: string) => Promise<ShellResult>;

export interface RestoreMember {
  endpoint: Endpoint;
  /** The member's formula values (components/formulaFacts.ts); the recipe's `uses` are sent. */
  values: FormulaValues;
}

/** A fresh word for one restore (etcd's new cluster token): the same on every member, never reused. */
export function restoreToken(part: string): string {
  return `kinetic-${part}-restore-${randomBytes(6).toString("hex")}`;
}

/**
 * `script` preceded by the values as `KINETIC_<NAME>` exports, each decoded from base64 by bash:
 * the script's text (sent as base64 by formulas/envelope.ts bashCommand) holds no value as shell.
 */
export function withValues(values: FormulaValues, script: string): string {
  const lines = Object.keys(values)
    .sort()
    .map((name) => {
      if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`value name ${JSON.stringify(name)} is not [A-Z][A-Z0-9_]*`);
      return `KINETIC_${name}=$(printf %s '${Buffer.from(values[name], "utf8").toString("base64")}' | base64 -d); export KINETIC_${name}`;
    });
  return [...lines, script].join("\n");
}

/** What a script said last (its one line of success), or "". */
function lastLine(out: string): string {
  return out.split("\n").map((l) => l.trim()).filter(Boolean).at(-1) ?? "";
}

/** The recipe's values of one member, and the restore's token; an unknown name is an error. */
function memberValues(recipe: EveryMemberRecipe, m: RestoreMember, token: string): FormulaValues {
  const v: FormulaValues = { RESTORE_TOKEN: token };
  for (const name of recipe.uses) {
    if (m.values[name] === undefined) throw new Error(`restore ${recipe.part}: ${m.endpoint.name} has no value ${name}`);
    v[name] = m.values[name];
  }
  return v;
}

/**
 * Puts the backup in `file` back on every member of `members` (every member of the role: one
 * missing means no new cluster of them all can start). Returns what `settle` said; throws, naming
 * each member and why, when it could not, saying whether anything was changed.
 */
export async function restoreEveryMember(recipe: EveryMemberRecipe, members: RestoreMember[], file: string, shell: MemberShell, log: (l: string) => void, token = restoreToken(recipe.part)): Promise<string> {
  if (!members.length) throw new Error(`restore ${recipe.part}: the pillar has no member of ${recipe.role}`);
  const script = (m: RestoreMember, text: string) => withValues(memberValues(recipe, m, token), text);
  const failed = (m: RestoreMember, r: ShellResult) => `${m.endpoint.name}: ${r.out.trim() ? oneLine(r.out) : `exit ${r.code}`}`;
  const run = (m: RestoreMember, text: string, stdinFile?: string) => shell(m.endpoint, script(m, text), stdinFile).catch((e: Error): ShellResult => ({ code: 255, out: e.message }));

  const staged = await Promise.all(members.map((m) => run(m, recipe.stage, file)));
  const notStaged = members.filter((_, i) => staged[i].code !== 0);
  if (notStaged.length) {
    await Promise.all(members.map((m) => run(m, recipe.discard)));
    throw new Error(`restore ${recipe.part}: every member of ${recipe.role} must take it and ${notStaged.map((m) => failed(m, staged[members.indexOf(m)])).join("; ")}; nothing was changed`);
  }
  for (const r of staged) if (lastLine(r.out)) log(`  ${lastLine(r.out)}`);

  const swapped = await Promise.all(members.map((m) => run(m, recipe.swap)));
  const notSwapped = members.filter((_, i) => swapped[i].code !== 0);
  for (const r of swapped) if (r.code === 0 && lastLine(r.out)) log(`  ${lastLine(r.out)}`);
  if (notSwapped.length) {
    const done = members.filter((m) => !notSwapped.includes(m)).map((m) => m.endpoint.name);
    throw new Error(`restore ${recipe.part}: ${notSwapped.map((m) => failed(m, swapped[members.indexOf(m)])).join("; ")}; ${done.length ? `${done.join(", ")} already started from the backup` : "no member was changed"}: run the restore again once every member answers`);
  }
  const settled = await run(members[0], recipe.settle);
  if (settled.code !== 0) throw new Error(`restore ${recipe.part}: every member started from the backup, but ${failed(members[0], settled)}`);
  return lastLine(settled.out);
}
