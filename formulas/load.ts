/**
 * Reads a formula and makes it self-contained: every line `# kinetic-include: lib/<file>.sh` is
 * replaced by that file's text (between marker comments), because the program sends exactly one
 * script text per phase and copies no other file to the host. Includes are not nested.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The directory holding the formulas (this file's directory). */
export const FORMULAS_DIR = __dirname;

const INCLUDE = /^#\s*kinetic-include:\s*(\S+)\s*$/;
const LIB = /^lib\/[A-Za-z0-9_.-]+\.sh$/;

/**
 * @param relPath the formula's path relative to `formulas/`, e.g. `common/base` or `mysql/configure`
 * @param dir the formulas directory (default: the one beside this file)
 * @returns `label` (= relPath, for `formulaCommand` and messages) and the inlined script `text`
 */
export function loadFormula(relPath: string, dir: string = FORMULAS_DIR): { label: string; text: string } {
  const label = relPath.split(path.sep).join("/");
  const file = path.join(dir, label);
  const source = fs.readFileSync(file, "utf8");
  const out: string[] = [];
  source.split("\n").forEach((line, i) => {
    const m = INCLUDE.exec(line);
    if (!m) {
      out.push(line);
      return;
    }
    const lib = m[1];
    if (!LIB.test(lib)) throw new Error(`formulas/${label}:${i + 1}: kinetic-include must name lib/<file>.sh, got ${JSON.stringify(lib)}`);
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, lib), "utf8");
    } catch (e) {
      throw new Error(`formulas/${label}:${i + 1}: kinetic-include ${lib}: ${(e as Error).message}`);
    }
    if (text.split("\n").some((l) => INCLUDE.test(l))) throw new Error(`formulas/${lib}: includes may not include other files`);
    out.push(`# >>> ${lib} (inlined by formulas/load.ts)`, text.replace(/\n$/, ""), `# <<< ${lib}`);
  });
  return { label, text: out.join("\n") };
}

/** Every formula (files under `formulas/` that are not `lib/`, docs or TypeScript), as relative paths. */
export function listFormulas(dir: string = FORMULAS_DIR): string[] {
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (r !== "lib") walk(r);
      } else if (rel && !/\.(ts|md|sh)$/.test(entry.name)) found.push(r);
    }
  };
  walk("");
  return found.sort();
}
