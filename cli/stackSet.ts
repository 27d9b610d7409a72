/**
 * The stacks of one pillar (README "Stacks per site and per rack"): the site stack and one Pulumi
 * stack per rack the pillar lists, `<site>-<rack>`. `kinetic up --all` runs the site, then the racks
 * side by side (at most STACKS_AT_ONCE at a time); `kinetic preview --all` previews them side by
 * side; a rack's `up` alone runs only while the site is up and current (siteRefusal).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { SITE_OUTPUT, siteDigest } from "../components/siteStack";
import { setSecretConfig } from "../engine/stack";
import { Cloud, pulumiStackName, SITE, stackNames } from "../pillar";
import { stackPillarCloud } from "./stackPillar";

/** Rack stacks run at once after the site: each is an engine and its plugins (about 300 MB here). */
export const STACKS_AT_ONCE = 4;

/** Site config a rack does not copy: it reads these from the site's outputs (components/siteStack.ts). */
const FROM_SITE = new Set(["kinetic:serviceSecret", "kinetic:hostKeySecret", "kinetic:epochs", "kinetic:rack", "kinetic:siteStack"]);

export interface StackPart {
  /** The pillar's stack: `site` or a rack's name. */
  part: string;
  stack: Stack;
}

export type StackOpener = (name: string) => Promise<Stack | undefined>;

/** `fn` over `items`, at most `limit` at a time; results in the order of `items`. */
export async function boundedAll<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The site stack and its racks, each rack's config made from the site's (the orchestrator's key, the
 * pillar, the BMC password; secrets through stdin, never argv) plus `kinetic:rack` and `kinetic:siteStack`.
 */
export async function openParts(site: Stack, open: StackOpener): Promise<StackPart[]> {
  const cloud = await stackPillarCloud(site);
  const parts: StackPart[] = [{ part: SITE, stack: site }];
  const racks = stackNames(cloud.pillar).filter((p) => p !== SITE);
  if (!racks.length) return parts;
  const config = await site.getAllConfig();
  for (const rack of racks) {
    const name = pulumiStackName(site.name, rack);
    const stack = await open(name);
    if (!stack) throw new Error(`stack ${name} (rack ${rack}) could not be opened`);
    const plain = Object.fromEntries(Object.entries(config).filter(([k, v]) => !v.secret && !FROM_SITE.has(k)));
    await stack.setAllConfig({ ...plain, "kinetic:rack": { value: rack }, "kinetic:siteStack": { value: site.name } });
    for (const [k, v] of Object.entries(config)) if (v.secret && !FROM_SITE.has(k)) await setSecretConfig(stack, k, v.value);
    parts.push({ part: rack, stack });
  }
  return parts;
}

/** Why a rack may not run now: the site never up, its last update not a success, or its pillar part changed since. */
export async function siteRefusal(site: Stack, cloud: Cloud): Promise<string | undefined> {
  const outputs = await site.outputs();
  const exported = outputs[SITE_OUTPUT]?.value as { digest?: string } | undefined;
  if (!exported?.digest) return `site stack ${site.name} has not been up yet (it exports no ${SITE_OUTPUT})`;
  const [last] = await site.history(1);
  if (last && last.result !== "succeeded") return `site stack ${site.name}'s last ${last.kind} did not succeed (${last.result})`;
  if (exported.digest !== siteDigest(cloud)) return `site stack ${site.name} is not current: the pillar's site part, or what its steps read of the racks (addresses, names, PXE assignments), changed since its last up`;
  return undefined;
}

/** The stack's part (`site` or its rack) and, for a rack, its site stack's name (from its config). */
export async function partOf(stack: Stack): Promise<{ part: string; siteStack?: string }> {
  const config = await stack.getAllConfig();
  const rack = config["kinetic:rack"]?.value;
  return rack ? { part: rack, siteStack: config["kinetic:siteStack"]?.value } : { part: SITE };
}

/**
 * For `kinetic up --stack <rack>` alone: the refusal when the stack is a rack whose site may not be
 * relied on; undefined for a site stack or a rack whose site is up and current.
 */
export async function rackRefusal(stack: Stack, open: StackOpener): Promise<string | undefined> {
  const { part, siteStack: siteName } = await partOf(stack);
  if (part === SITE || !siteName) return undefined;
  const site = await open(siteName);
  if (!site) return `the site stack ${siteName} could not be opened`;
  const why = await siteRefusal(site, await stackPillarCloud(stack));
  return why ? `refusing to run rack stack ${stack.name} before its site: ${why}; run \`kinetic up --stack ${siteName}\` (or \`kinetic up --all --stack ${siteName}\`) first. Nothing was changed` : undefined;
}

export interface PartPreview {
  stack: string;
  part: string;
  /** The engine's change summary (op -> count), or why the preview failed. */
  changes?: Record<string, number>;
  error?: string;
}

/** Operations of a summary that change something. */
export function changed(changes: Record<string, number> | undefined): number {
  return Object.entries(changes ?? {}).reduce((n, [op, c]) => (op === "same" ? n : n + c), 0);
}

/** Previews of every stack, side by side, each one's output held and printed whole (`out`). */
export async function previewAll(parts: StackPart[], out: (s: string) => void, opts: { color?: "auto" | "never"; env?: Record<string, string> } = {}): Promise<PartPreview[]> {
  const results = await boundedAll(parts, STACKS_AT_ONCE, async ({ part, stack }): Promise<PartPreview> => {
    let text = "";
    try {
      const r = await stack.preview({ onOutput: (s) => (text += s), color: opts.color ?? "never" });
      return { stack: stack.name, part, changes: r.changeSummary as Record<string, number> };
    } catch (e) {
      return { stack: stack.name, part, error: firstLine(e) };
    } finally {
      out(`\n=== ${stack.name} (${part}) ===\n${text}`);
    }
  });
  out(`\n${summaryTable(results)}\n`);
  return results;
}

export function summaryTable(rows: PartPreview[]): string {
  const lines = rows.map((r) => `${r.stack.padEnd(24)} ${r.part.padEnd(10)} ${r.error ? `failed: ${r.error}` : `${changed(r.changes)} to change  ${JSON.stringify(r.changes ?? {})}`}`);
  return [`${"stack".padEnd(24)} ${"part".padEnd(10)} changes`, ...lines].join("\n");
}

export interface PartUp {
  stack: string;
  part: string;
  ok: boolean;
  error?: string;
}

/**
 * `up --all`: the site first (a rack's step may need the site's), then, only when the site succeeded
 * and is current, the racks side by side. `up` runs one stack's up (its machine gate included) and
 * says whether it went on; `gate`, when given, is asked for every rack before any rack runs (a
 * question on the terminal cannot be shared by racks running at once).
 */
export async function upAll(parts: StackPart[], fns: { up: (p: StackPart) => Promise<boolean>; gate?: (p: StackPart) => Promise<boolean>; out: (s: string) => void }): Promise<PartUp[]> {
  const [site, ...racks] = parts;
  const results: PartUp[] = [];
  const run = async (p: StackPart): Promise<PartUp> => {
    try {
      return { stack: p.stack.name, part: p.part, ok: await fns.up(p) };
    } catch (e) {
      return { stack: p.stack.name, part: p.part, ok: false, error: firstLine(e) };
    }
  };
  const first = await run(site);
  results.push(first);
  if (!first.ok || !racks.length) return results;
  const why = await siteRefusal(site.stack, await stackPillarCloud(site.stack));
  if (why) {
    fns.out(`up --all: the racks do not run: ${why}\n`);
    return results;
  }
  const go: StackPart[] = [];
  for (const r of racks) {
    if (!fns.gate || (await fns.gate(r))) go.push(r);
    else results.push({ stack: r.stack.name, part: r.part, ok: false, error: "not confirmed" });
  }
  results.push(...(await boundedAll(go, STACKS_AT_ONCE, run)));
  return results;
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const refusal = /refusing[^\n]*/.exec(m);
  // The Automation API's error starts with the exit code and the engine's whole output: the diagnostic is the line to show.
  const lines = m.split("\n").map((l) => l.trim());
  const diagnostic = lines.find((l) => /^error: (?!update failed|preview failed)/.test(l)) ?? lines.find((l) => /error:/.test(l));
  return (refusal ? refusal[0] : diagnostic ?? lines.find(Boolean) ?? m).slice(0, 400);
}
