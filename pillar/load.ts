/** The one entry point: read and validate a pillar, expand its endpoints, build the needs graph. */
import { readLock } from "./addresses";
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
}

/** Load a pillar directory; throws a `PillarError` listing every problem found. */
export function loadCloud(dir: string, opts: LoadOptions): Cloud {
  const { pillar, problems } = validatePillarDir(dir, opts.defaultsDir ?? DEFAULTS_DIR);
  if (!pillar) throw new PillarError(problems);
  const expansion = expandEndpoints(pillar, opts.stack, opts.lock ?? readLock(dir));
  if (expansion.problems.length) {
    const location = { file: dir, line: 0, column: 0 };
    throw new PillarError(expansion.problems.map((reason): PillarProblem => ({ location, keyPath: "networking.subnets.management", reason })));
  }
  return { pillar, endpoints: expansion.endpoints, graph: buildNeedsGraph(pillar, expansion.endpoints), lock: expansion.lock };
}
