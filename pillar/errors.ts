/**
 * Errors of the pillar: each carries where it is (file, line, key path) so an operator can go
 * straight to the line, and validation collects them all and throws once.
 */

/** A place in a pillar file. `line` and `column` are 1-based; 0 when unknown (e.g. a missing key). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** One problem found in the pillar. */
export interface PillarProblem {
  location: SourceLocation;
  /** Dotted key path, e.g. `hosts.keystone.needs.configure.mysql`. */
  keyPath: string;
  reason: string;
}

export function formatProblem(p: PillarProblem): string {
  const where = p.location.line ? `${p.location.file}:${p.location.line}:${p.location.column}` : p.location.file;
  return `${where}: ${p.keyPath}: ${p.reason}`;
}

/** Stable codes so guards work across module copies (see STYLE.md, errors). */
export const PILLAR_ERROR = "KINETIC_PILLAR_INVALID";

export class PillarError extends Error {
  readonly code = PILLAR_ERROR;
  constructor(readonly problems: PillarProblem[]) {
    super(
      `the pillar has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join("\n"),
    );
    this.name = "PillarError";
  }
}

export function isPillarError(e: unknown): e is PillarError {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === PILLAR_ERROR;
}
