/**
 * Reads the YAML files of a pillar directory into one plain tree while remembering where every
 * key and value came from, so that validation can name file, line and key path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Document, isMap, isScalar, isSeq, LineCounter, Node, parseDocument, Pair } from "yaml";
import { PillarProblem, SourceLocation } from "./errors";

export type KeyPath = (string | number)[];

export interface ParsedFile {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** A merged pillar tree and the way back to the source of each part of it. */
export interface PillarSource {
  dir: string;
  tree: Record<string, unknown>;
  /** Where a key path is: the value's node, or the key itself with `{ key: true }`. */
  locate(keyPath: KeyPath, opts?: { key?: boolean }): SourceLocation;
  files: string[];
}

/** Files that are not pillar data: address locks are written by the tool, not by hand. */
const SKIP = /\.lock\.ya?ml$/;

export function listPillarFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !SKIP.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function parseFile(file: string, problems: PillarProblem[]): ParsedFile | undefined {
  const lines = new LineCounter();
  const text = fs.readFileSync(file, "utf8");
  // uniqueKeys: a duplicated key is an error, not a silent override.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  for (const err of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(err.pos[0]);
    problems.push({
      location: { file, line: pos.line, column: pos.col },
      keyPath: "(yaml)",
      reason: err.message.split("\n")[0],
    });
  }
  return doc.errors.length ? undefined : { file, doc, lines };
}

function positionOf(pf: ParsedFile, node: Node | Pair | null | undefined, wantKey: boolean): SourceLocation {
  let target: Node | null | undefined;
  if (node && "key" in node && !("range" in node)) target = wantKey ? (node.key as Node) : (node.value as Node);
  else target = node as Node;
  const offset = target?.range?.[0];
  if (offset === undefined) return { file: pf.file, line: 0, column: 0 };
  const pos = pf.lines.linePos(offset);
  return { file: pf.file, line: pos.line, column: pos.col };
}

/** Walk `keyPath` in one document; returns the deepest pair or node reached and whether it is complete. */
function walk(pf: ParsedFile, keyPath: KeyPath): { at: Node | Pair | null; complete: boolean } {
  let node: Node | null = pf.doc.contents;
  let at: Node | Pair | null = node;
  for (const k of keyPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(k));
      if (!pair) return { at, complete: false };
      at = pair;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof k === "number" && k < node.items.length) {
      node = node.items[k] as Node;
      at = node;
    } else {
      return { at, complete: false };
    }
  }
  return { at, complete: true };
}

/**
 * Load every `*.yaml` of `dir`. Top-level keys may be split over files, and so may the entries
 * one level below (e.g. `hosts` types in several files); the same entry defined twice is an error.
 */
export function readPillarSource(dir: string, problems: PillarProblem[]): PillarSource {
  const files = fs.existsSync(dir) ? listPillarFiles(dir) : [];
  if (!files.length) {
    problems.push({ location: { file: dir, line: 0, column: 0 }, keyPath: "(pillar)", reason: "no *.yaml pillar files in this directory" });
  }
  const parsed = files.map((f) => parseFile(f, problems)).filter((p): p is ParsedFile => !!p);
  const tree: Record<string, unknown> = {};
  /** `top` or `top.child` -> the file that defines it. */
  const owner = new Map<string, ParsedFile>();

  for (const pf of parsed) {
    const js: unknown = pf.doc.toJS();
    if (js === null || js === undefined) continue;
    if (typeof js !== "object" || Array.isArray(js)) {
      problems.push({ location: positionOf(pf, pf.doc.contents, false), keyPath: "(file)", reason: "a pillar file must be a mapping of top-level keys" });
      continue;
    }
    for (const [top, value] of Object.entries(js as Record<string, unknown>)) {
      const mergeable = value !== null && typeof value === "object" && !Array.isArray(value);
      if (!(top in tree)) {
        tree[top] = mergeable ? { ...(value as object) } : value;
        owner.set(top, pf);
        if (mergeable) for (const child of Object.keys(value as object)) owner.set(`${top}.${child}`, pf);
        continue;
      }
      const existing = tree[top];
      const existingMergeable = existing !== null && typeof existing === "object" && !Array.isArray(existing);
      if (!mergeable || !existingMergeable) {
        problems.push({
          location: positionOf(pf, walk(pf, [top]).at, true),
          keyPath: top,
          reason: `also defined in ${owner.get(top)!.file}`,
        });
        continue;
      }
      for (const [child, v] of Object.entries(value as Record<string, unknown>)) {
        const prev = owner.get(`${top}.${child}`);
        if (prev) {
          problems.push({ location: positionOf(pf, walk(pf, [top, child]).at, true), keyPath: `${top}.${child}`, reason: `also defined in ${prev.file}` });
          continue;
        }
        (existing as Record<string, unknown>)[child] = v;
        owner.set(`${top}.${child}`, pf);
      }
    }
  }

  const locate = (keyPath: KeyPath, opts: { key?: boolean } = {}): SourceLocation => {
    const pf = owner.get(keyPath.slice(0, 2).join(".")) ?? owner.get(String(keyPath[0]));
    if (!pf) return { file: parsed[0]?.file ?? dir, line: 0, column: 0 };
    const { at, complete } = walk(pf, keyPath);
    // A missing key is reported at its parent, which is where it should be added.
    return positionOf(pf, at, complete ? !!opts.key : true);
  };
  return { dir, tree, locate, files };
}
