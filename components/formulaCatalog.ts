/**
 * Which formula script runs for each (role, phase), and which are missing. A role without formula
 * files is never skipped silently: the plan and `pulumi preview` warn, `pulumi up` refuses to start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FORMULAS_DIR, loadFormula } from "../formulas/load";
import { Phase, PHASES } from "../pillar";

export { FORMULAS_DIR };

export interface Formula {
  /** Path relative to `formulas/`, e.g. `common/base` or `mysql/configure`. */
  label: string;
  /** Script text as sent to the host (includes already inlined). */
  text: string;
}

/** Reads a formula by label; the formulas module may inline `# kinetic-include:` lines. */
export type FormulaLoader = (label: string) => Formula;

export const formulaLabel = (role: string, phase: Phase): string =>
  phase === "base" || phase === "networking" ? `common/${phase}` : `${role}/${phase}`;

/** Reads formulas from `dir`, inlining their `# kinetic-include: lib/*.sh` lines (formulas/load.ts). */
export function formulaLoader(dir = FORMULAS_DIR): FormulaLoader {
  return (label) => loadFormula(label, dir);
}

export interface FormulaCatalog {
  /** The formula of a role and phase, or undefined when its file is missing. */
  get(role: string, phase: Phase): Formula | undefined;
  /** Missing files by role, e.g. `{ glance: ["formulas/glance/install", ...] }`. */
  missing: Map<string, string[]>;
  /** A formula that is no role's phase (e.g. `pxe/installed`), or undefined when its file is missing. */
  other(label: string): Formula | undefined;
}

export function formulaCatalog(roles: Iterable<string>, load: FormulaLoader, dir = FORMULAS_DIR): FormulaCatalog {
  const found = new Map<string, Formula>();
  const missing = new Map<string, string[]>();
  const absent = new Set<string>();
  for (const role of new Set(roles)) {
    for (const phase of PHASES) {
      const label = formulaLabel(role, phase);
      if (found.has(label) || absent.has(label)) continue;
      if (fs.existsSync(path.join(dir, label))) found.set(label, load(label));
      else {
        absent.add(label);
        // The common phases are reported once, under `common`, not against every role.
        const owner = label.startsWith("common/") ? "common" : role;
        missing.set(owner, [...(missing.get(owner) ?? []), `formulas/${label}`]);
      }
    }
  }
  return {
    get: (role, phase) => found.get(formulaLabel(role, phase)),
    missing,
    other: (label) => (fs.existsSync(path.join(dir, label)) ? load(label) : undefined),
  };
}

/** One line per role for warnings and errors. */
export function describeMissing(missing: Map<string, string[]>): string[] {
  return [...missing].map(([role, files]) => `${role === "common" ? "the common phases have" : `role '${role}' has`} no formula files: expected ${files.join(", ")}`);
}
