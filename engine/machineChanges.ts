/**
 * What an `up` would do to machines, read from a preview's engine events, and whether it may go on
 * (issue 21: nothing destroys what nobody asked to destroy).
 *
 * A machine is replaced or deleted when one of these resources is: a VM's domain command
 * (`kinetic:libvirt:Domain` > `command:remote:Command`: replacing it zeroizes the VM and makes a new
 * one from its seed, deleting it zeroizes it) or a physical server's boot override or power cycle
 * (`redfish:BootOnce`, `redfish:PowerCycle`: replacing them is a PXE reinstall). Formula phases and
 * records are not machines. The decision is pure code (`decideMachineChanges`), tested apart from
 * the terminal.
 */
import type { EngineEvent, PreviewOptions, Stack } from "@pulumi/pulumi/automation";
import { quorum } from "../formulas/clusters";
import { nameOfUrn } from "./stack";

/** One machine the up would replace or delete, with the engine's reason. */
export interface MachineChange {
  /** `replace` (zeroize or reinstall, then make anew) or `delete` (zeroize; no longer in the pillar). */
  action: "replace" | "delete";
  /** The endpoint, `<type>-<uuid>` (or the resource name when it is not of that form). */
  endpoint: string;
  /** The endpoint's type (the pillar's `hosts.<type>`). */
  type: string;
  /** The resource that carries the change. */
  urn: string;
  /** Why, in the engine's words: the properties that force it, or "no longer declared". */
  why: string;
}

const REPLACING_OPS = new Set(["replace", "create-replacement", "delete-replaced", "read-replacement", "discard-replaced"]);
const DELETING_OPS = new Set(["delete", "discard"]);

/** Whether a URN is one of the resources that are a machine (see the module comment). */
export function isMachineUrn(urn: string): boolean {
  const chain = urn.split("::")[2] ?? "";
  return /(^|\$)kinetic:libvirt:Domain\$command:remote:Command$/.test(chain) || /(^|\$)pulumi-nodejs:dynamic\/redfish:(BootOnce|PowerCycle)$/.test(chain);
}

function endpointOf(urn: string): { endpoint: string; type: string } {
  const name = nameOfUrn(urn);
  const m = /^([a-z][a-z0-9]*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(name);
  return m ? { endpoint: m[0], type: m[1] } : { endpoint: name, type: name };
}

/** The machine changes among a preview's events, one per endpoint (a replace wins over a delete). */
export function machineChanges(events: EngineEvent[]): MachineChange[] {
  const byEndpoint = new Map<string, MachineChange>();
  for (const ev of events) {
    const m = ev.resourcePreEvent?.metadata;
    if (!m || !isMachineUrn(m.urn)) continue;
    const action = REPLACING_OPS.has(m.op) ? "replace" : DELETING_OPS.has(m.op) ? "delete" : undefined;
    if (!action) continue;
    const keys = m.keys?.length ? m.keys : m.diffs?.length ? m.diffs : [];
    const why = action === "delete" ? "no longer declared by the program (the pillar no longer has it)" : keys.length ? `${keys.join(", ")} changed` : "what it is made of changed (a VM: disk, image, RAM, CPUs, NICs, management address or controller), or the replacement was asked for";
    const { endpoint, type } = endpointOf(m.urn);
    const known = byEndpoint.get(endpoint);
    if (known && (known.action === "replace" || action === "delete")) continue;
    byEndpoint.set(endpoint, { action, endpoint, type, urn: m.urn, why: `${nameOfUrn(m.urn)}: ${why}` });
  }
  return [...byEndpoint.values()].sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

/** One line per machine, for the operator. */
export function describeMachineChanges(changes: MachineChange[]): string {
  return changes.map((c) => `  ${c.action === "replace" ? "replace" : "delete "} ${c.endpoint}  (${c.why})`).join("\n");
}

export interface MachineGate {
  /** `--yes`: every machine change listed is accepted. */
  yes: boolean;
  /** `--allow-replace <type|endpoint>` values: only those machines' changes are accepted. */
  allow: string[];
  /** stdin and stdout are a terminal: the operator can be asked. */
  tty: boolean;
  /** Replacements asked for before (an interrupted rebuild's, engine/pendingReplacements.ts): accepted. */
  alreadyAsked?: Set<string>;
  /** The pillar's clustered types (formulas/clusters.ts): no up takes one below its majority. */
  clusters?: ClusterSize[];
  /** `--allow-data-loss <type>`: the operator accepts losing that clustered type's data. */
  allowDataLoss?: string[];
}

/** A clustered type of the pillar: how many members it has there, and what they hold. */
export interface ClusterSize {
  type: string;
  members: number;
  holds: string;
}

/**
 * Clustered types whose members this up would replace or delete so many at once that fewer than a
 * majority stay up (one member of one: the last copy), each as one line. Neither `--yes` nor
 * `--allow-replace` lets that through: `kinetic rebuild` replaces them one at a time; only
 * `--allow-data-loss <type>` accepts the loss.
 */
export function clusterLosses(changes: MachineChange[], clusters: ClusterSize[], allowDataLoss: string[] = []): string[] {
  const lines: string[] = [];
  for (const c of clusters) {
    if (allowDataLoss.includes(c.type)) continue;
    const hit = changes.filter((m) => m.type === c.type);
    // Members deleted are no longer in the pillar: they were members until now.
    const before = c.members + hit.filter((m) => m.action === "delete").length;
    const majority = quorum(before);
    const left = before - hit.length;
    if (!hit.length || left >= majority) continue;
    lines.push(
      `up: refused: it would ${hit.map((m) => `${m.action} ${m.endpoint}`).join(", ")} at once, leaving ${left} of ${c.type}'s ${before} member(s), which hold ${c.holds} (a majority, ${majority}, must stay up). ` +
        (before >= 3 && c.members >= 3 ? `Replace them one at a time: kinetic rebuild <endpoint> for each. ` : "") +
        `To accept losing that data: --allow-data-loss ${c.type}`,
    );
  }
  return lines;
}

export type MachineDecision = { kind: "go" } | { kind: "ask"; changes: MachineChange[] } | { kind: "refuse"; line: string };

/**
 * Refuse, whatever else was said, an up that takes a cluster below its majority (`clusterLosses`).
 * Go when no machine is replaced or deleted, or every one is accepted (`--yes`, `--allow-replace`
 * naming its type or endpoint, or asked for by an earlier rebuild); else ask on a terminal, else
 * refuse with one line.
 */
export function decideMachineChanges(changes: MachineChange[], gate: MachineGate): MachineDecision {
  const losses = clusterLosses(changes.filter((c) => !gate.alreadyAsked?.has(c.urn)), gate.clusters ?? [], gate.allowDataLoss);
  if (losses.length) return { kind: "refuse", line: losses.join("\n") };
  if (gate.yes) return { kind: "go" };
  const open = changes.filter((c) => !gate.allow.includes(c.type) && !gate.allow.includes(c.endpoint) && !gate.alreadyAsked?.has(c.urn));
  if (!open.length) return { kind: "go" };
  if (gate.tty) return { kind: "ask", changes: open };
  const names = open.map((c) => `${c.action} ${c.endpoint}`).join(", ");
  return {
    kind: "refuse",
    line: `up: refused: it would ${names}, and nothing asked for that (run it with --yes, or --allow-replace <type|endpoint> for each; in CI, a "Kinetic-Allow-Replace: <type|endpoint>" trailer in the commit message)`,
  };
}

/**
 * Preview the stack (with `opts`: the replacements an up will be given, the output shown) and return
 * the machine changes it shows. The up that follows runs the same program on the same state.
 */
export async function previewMachineChanges(stack: Stack, opts: PreviewOptions = {}): Promise<MachineChange[]> {
  const events: EngineEvent[] = [];
  const onEvent = opts.onEvent;
  await stack.preview({ ...opts, onEvent: (e) => (events.push(e), onEvent?.(e)) });
  return machineChanges(events);
}
