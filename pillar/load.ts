/** The one entry point: read and validate a pillar, expand its endpoints, build the needs graph. */
import { expandEndpoints } from "./endpoints";
import { PillarError, PillarProblem } from "./errors";
import { Endpoint, Pillar } from "./model";
import { buildNeedsGraph, NeedsGraph } from "./needsGraph";
import { DEFAULTS_DIR, validatePillarDir } from "./validate";

export interface Cloud {
  pillar: Pillar;
  endpoints: Endpoint[];
  graph: NeedsGraph;
  /** Address lock content after this load (write it with `writeLock`). */
  lock: Record<string, string>;
}

export interface LoadOptions {
  /** Stack name: part of every derived virtual UUID. */
  stack: string;
  defaultsDir?: string;
  /** Use this lock instead of the pillar's `addresses.lock.yaml`. */
  lock?: Record<string, string>;
  /** Accept a pillar without endpoints (stack config `kinetic:allowEmpty`); otherwise it is refused. */
  allowEmpty?: boolean;
  /** Check that each role finds the roles these formulas need (see `ValidateOptions.formulasDir`). */
  formulasDir?: string;
}

/** Load a pillar directory; throws a `PillarError` listing every problem found. */
export function loadCloud(dir: string, opts: LoadOptions): Cloud {
  const { pillar, problems, lock } = validatePillarDir(dir, opts.defaultsDir ?? DEFAULTS_DIR, { allowEmpty: opts.allowEmpty, ...(opts.formulasDir !== undefined ? { formulasDir: opts.formulasDir } : {}) });
  if (!pillar) throw new PillarError(problems);
  const expansion = expandEndpoints(pillar, opts.stack, opts.lock ?? lock ?? {});
  if (expansion.problems.length) {
    // Validation checks capacity and pins beforehand; this is the allocator's own word, kept short.
    const location = { file: dir, line: 0, column: 0 };
    const shown = expansion.problems.slice(0, 5);
    if (expansion.problems.length > shown.length) shown.push(`... and ${expansion.problems.length - shown.length} more like these`);
    throw new PillarError(shown.map((reason): PillarProblem => ({ location, keyPath: "networking.subnets.management", reason })));
  }
  return { pillar, endpoints: expansion.endpoints, graph: buildNeedsGraph(pillar, expansion.endpoints), lock: expansion.lock };
}
