/**
 * The gate of a rolling rebuild (cli/rebuildPlan.ts): a clustered role's health formula
 * (`formulas/<role>/health`, formulas/clusters.ts) run on every member of a type (cli/endpointShell.ts:
 * the orchestrator's key, the host key the state pinned), the formula and its values sent as every
 * phase sends them (formulas/envelope.ts). It changes nothing on the hosts.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { cloudFacts, endpointFacts } from "../components/formulaFacts";
import { encodeValues, formulaCommand, selectValues } from "../formulas/envelope";
import { loadFormula } from "../formulas/load";
import type { Cloud, Endpoint } from "../pillar";
import { endpointShell } from "./endpointShell";

/** A formula's exit status when it declined something destructive (formulas/lib/kinetic.sh `refuse`). */
export const FORMULA_REFUSED = 77;

export interface MemberHealth {
  endpoint: string;
  ok: boolean;
  /** The formula ran and declined (exit FORMULA_REFUSED), as opposed to failing or not being reached. */
  refused?: boolean;
  /** The formula's own line: what it saw, or why it failed. */
  line: string;
}

/** The line that says the most: a formula's `kinetic: ...failed: why`, else its last printed line. */
function verdict(out: string): string {
  const lines = out.split("\n").map((l) => l.trim()).filter(Boolean);
  const failed = lines.find((l) => /^kinetic: .* failed/.test(l));
  if (failed) return failed.replace(/^kinetic: [^:]+: /, "");
  return lines.filter((l) => !l.startsWith("step: ") && !/^kinetic: .*(nothing changed|change\(s\))$/.test(l)).pop() ?? "no output";
}

/** A role's formula (`<role>/health`, `<role>/leave`) run once on one endpoint: passed or not, and its line. */
export async function runRoleFormula(stack: Stack, cloud: Cloud, e: Endpoint, label: string, formulasDir?: string): Promise<MemberHealth> {
  const { text } = loadFormula(label, formulasDir);
  const values = selectValues(label, text, endpointFacts(cloud, cloudFacts(cloud), e));
  // endpointShell adds `sudo -n` for a non-root user.
  const r = await endpointShell(stack, e, formulaCommand(label, text), { stdin: encodeValues(values), timeoutMs: 120_000 }).catch((err: Error) => ({ code: 255, out: err.message }));
  return { endpoint: e.name, ok: r.code === 0, ...(r.code === FORMULA_REFUSED ? { refused: true } : {}), line: verdict(r.out) };
}

/** The health formula of `type`'s role on each of its members, once. */
export function clusterHealth(stack: Stack, cloud: Cloud, type: string, health: string, formulasDir?: string): Promise<MemberHealth[]> {
  return Promise.all(cloud.endpoints.filter((e) => e.type === type).map((e) => runRoleFormula(stack, cloud, e, health, formulasDir)));
}

/**
 * Waits until every member of `type` passes its health formula (tried every 5 s, up to `seconds`):
 * true then; false with the last lines seen. `out` gets one line per member, once passed or at the end.
 */
export async function waitClusterHealthy(
  check: () => Promise<MemberHealth[]>,
  seconds: number,
  out: (line: string) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const seen = await check();
    const done = seen.every((m) => m.ok);
    if (done || Date.now() >= deadline) {
      for (const m of seen) out(`  ${m.ok ? "ok  " : "FAIL"} ${m.endpoint}: ${m.line}`);
      return done;
    }
    await sleep(5000);
  }
}
