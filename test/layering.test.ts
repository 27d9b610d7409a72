/**
 * Issue 24: the layers import downwards only, so a lower module never needs an upper one to load
 * (and its tests never pull in the engine or the lab). Order, lowest first:
 *   formulas (load.ts, envelope.ts) < pillar < providers < components < engine, image < lab, cli, verify
 * `lab`, `cli` and `verify` (kinetic verify's Tempest runner and the admin's credentials) are peers at the top; `simulator` is standalone: it imports no layer, and only
 * `lab` and `cli` may import it (the product never depends on the test BMCs). `index.ts` (the Pulumi
 * program's entry) may import anything. Imports are read with TypeScript's own pre-processor, so
 * `import x from`, `export ... from`, `import()` and `require()` all count.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..");

/** Rank of each layer; a module may import its own layer, lower ones and peers of its rank. */
export const LAYERS: Readonly<Record<string, number>> = { formulas: 0, pillar: 1, providers: 2, components: 3, engine: 4, image: 4, lab: 5, cli: 5, verify: 5 };
const STANDALONE = "simulator";
const MAY_IMPORT_STANDALONE = new Set(["lab", "cli"]);

export interface ImportEdge {
  /** The importing file, relative to the project root. */
  file: string;
  /** The import specifier as written. */
  spec: string;
  from: string;
  to: string;
}

/** Relative imports of one file's text that leave its top-level folder. */
export function crossLayerImports(file: string, text: string): ImportEdge[] {
  const from = file.split("/")[0];
  const out: ImportEdge[] = [];
  for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!spec.startsWith(".")) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const to = target.split("/")[0];
    if (to !== from) out.push({ file, spec, from, to });
  }
  return out;
}

/** Why an edge breaks the layering, or undefined when it is allowed. */
export function violation(e: ImportEdge): string | undefined {
  if (e.from === STANDALONE) return `${e.file} imports ${e.spec}: the simulator is standalone and imports no layer`;
  if (e.to === STANDALONE) return MAY_IMPORT_STANDALONE.has(e.from) ? undefined : `${e.file} imports ${e.spec}: only lab/ and cli/ may use the simulator`;
  const a = LAYERS[e.from];
  const b = LAYERS[e.to];
  if (a === undefined) return undefined; // index.ts and other root files sit above every layer
  if (b === undefined) return `${e.file} imports ${e.spec}: ${e.to}/ is not a layer (add it to LAYERS in test/layering.test.ts)`;
  return b > a ? `${e.file} imports ${e.spec}: ${e.from}/ is below ${e.to}/` : undefined;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory() && entry.name !== "node_modules") out.push(...tsFiles(rel));
    else if (entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(rel);
  }
  return out;
}

describe("layering: lower layers never import upper ones (issue 24)", () => {
  it("the checker sees a violation in each direction it forbids, and allows downward and peer imports", () => {
    const check = (file: string, line: string) => crossLayerImports(file, line).map(violation);
    assert.match(String(check("pillar/x.ts", 'import { a } from "../components/formulaCatalog";')), /pillar\/ is below components\//);
    assert.match(String(check("providers/libvirt/s.ts", 'export { a } from "../../components/y";')), /providers\/ is below components\//);
    assert.match(String(check("components/x.ts", 'const m = await import("../engine/stack");')), /components\/ is below engine\//);
    assert.match(String(check("pillar/x.ts", 'const m = require("../lab/control");')), /pillar\/ is below lab\//);
    assert.match(String(check("simulator/x.ts", 'import "../pillar";')), /standalone/);
    assert.match(String(check("providers/x.ts", 'import { s } from "../simulator";')), /only lab\/ and cli\//);
    assert.deepEqual(check("components/x.ts", 'import { a } from "../pillar"; import { b } from "../formulas/envelope";'), [undefined, undefined]);
    assert.deepEqual(check("cli/x.ts", 'import { a } from "../lab/control"; import { s } from "../simulator";'), [undefined, undefined]);
    assert.deepEqual(check("lab/x.ts", 'import { a } from "../cli/kinetic";'), [undefined]);
    assert.deepEqual(check("pillar/x.ts", 'import { a } from "./load"; import * as fs from "node:fs";'), []);
  });

  it("every module of the project imports only its own layer, lower ones, or peers", () => {
    const dirs = [...Object.keys(LAYERS), STANDALONE];
    const files = dirs.flatMap((d) => tsFiles(d));
    const edges = files.flatMap((f) => crossLayerImports(f, fs.readFileSync(path.join(ROOT, f), "utf8")));
    // So the check cannot pass by reading nothing: the project has well over 100 modules and dozens of
    // imports between layers (components -> pillar and providers, cli -> engine and lab, ...).
    assert.ok(files.length > 100, `only ${files.length} modules found`);
    assert.ok(edges.length > 30, `only ${edges.length} imports between layers found`);
    assert.ok(edges.some((e) => e.from === "components" && e.to === "pillar"));
    const bad = edges.map(violation).filter((v): v is string => v !== undefined);
    assert.deepEqual(bad, []);
  });
});
