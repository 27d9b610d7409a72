/**
 * Reads the YAML files of a pillar directory into one tree while remembering where every key and
 * value came from, so that validation can name file, line and key path.
 *
 * Nothing a pillar directory can contain makes this throw or hang: every filesystem oddity, encoding,
 * YAML feature and size is either read or turned into a problem with its place. Mappings become
 * objects without a prototype, so a key named `__proto__` or `constructor` is just a key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument, Pair, Scalar } from "yaml";
import { PillarProblem, SourceLocation } from "./errors";

export type KeyPath = (string | number)[];

/** A mapping read from the pillar: no prototype, so only its own keys exist. */
export type PillarMap = Record<string, unknown>;

export function newMap(): PillarMap {
  return Object.create(null) as PillarMap;
}

/** Whether `key` is an own key of `m` (never `in`, which also sees `Object.prototype`). */
export function has(m: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(m, key);
}

/**
 * A value already reported while reading (an over-long string, an ambiguous YAML 1.1 scalar, an
 * unresolved alias): validation skips it without a second report.
 */
export class Reported {
  constructor(readonly why: string) {}
}
export const isReported = (v: unknown): v is Reported => v instanceof Reported;

/** Bounds of what is read at all; a real pillar is far below every one of them. */
export const SOURCE_LIMITS = {
  /** Bytes per file. */
  fileBytes: 1 << 20,
  /** YAML files per pillar directory. */
  files: 256,
  /** Values per file after aliases are expanded (an alias bomb stops here). */
  values: 50_000,
  /** Nesting depth of mappings and lists. */
  depth: 32,
  /** Characters of one string value (an SSH RSA 16384 key line is about 2,800). */
  stringLength: 4096,
  /** Characters of one key. */
  keyLength: 253,
} as const;

export interface ParsedFile {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** A merged pillar tree and the way back to the source of each part of it. */
export interface PillarSource {
  dir: string;
  tree: PillarMap;
  /** Where a key path is: the value's node, or the key itself with `{ key: true }`. */
  locate(keyPath: KeyPath, opts?: { key?: boolean }): SourceLocation;
  /** YAML files read (also those with problems). */
  files: string[];
  /** Files that hold no YAML document at all (empty or only comments). */
  emptyFiles: string[];
}

/** Files that are not pillar data: address locks are written by the tool, not by hand. */
const SKIP = /\.lock\.ya?ml$/i;
const YAML_FILE = /\.ya?ml$/i;

const at = (file: string, line = 0, column = 0): SourceLocation => ({ file, line, column });
const problem = (location: SourceLocation, keyPath: string, reason: string): PillarProblem => ({ location, keyPath, reason });

function errnoOf(e: unknown): string {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "";
}

function describeErrno(e: unknown): string {
  switch (errnoOf(e)) {
    case "EACCES":
    case "EPERM":
      return "permission denied (the user running the tool must be able to read it)";
    case "ELOOP":
      return "is a symbolic link loop";
    case "ENOENT":
      return "does not exist";
    case "ENOTDIR":
      return "is not a directory";
    case "EISDIR":
      return "is a directory, not a YAML file";
    case "EMFILE":
    case "ENFILE":
      return "too many open files";
    default:
      return `cannot be read (${errnoOf(e) || (e instanceof Error ? e.message : String(e))})`;
  }
}

/**
 * The YAML files of `dir`, sorted; problems for entries that look like pillar files but cannot be
 * one (directories, dangling links, link loops, devices and FIFOs, unreadable ones).
 */
export function listPillarFiles(dir: string, problems: PillarProblem[] = []): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    problems.push(problem(at(dir), "(pillar)", `the pillar directory ${describeErrno(e)}`));
    return [];
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (!YAML_FILE.test(name) || SKIP.test(name)) continue;
    const file = path.join(dir, name);
    if (!/\.ya?ml$/.test(name)) {
      problems.push(problem(at(file), "(file)", "is not read: pillar files end in lower-case .yaml or .yml; rename it"));
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      const code = errnoOf(e);
      let reason = describeErrno(e);
      if (code === "ENOENT") {
        let target = "";
        try {
          target = fs.readlinkSync(file);
        } catch {
          /* not a link after all */
        }
        reason = target ? `is a dangling symbolic link (to ${target}, which does not exist)` : "disappeared while the pillar was read";
      }
      problems.push(problem(at(file), "(file)", reason));
      continue;
    }
    if (st.isDirectory()) {
      problems.push(problem(at(file), "(file)", "is a directory, not a YAML file (pillar directories are not read recursively); rename or move it"));
      continue;
    }
    if (!st.isFile()) {
      // Reading a FIFO would block forever; a device could be endless.
      problems.push(problem(at(file), "(file)", "is not a regular file (a FIFO, socket or device); pillar files are plain files"));
      continue;
    }
    if (st.size > SOURCE_LIMITS.fileBytes) {
      problems.push(problem(at(file), "(file)", `is ${st.size} bytes; a pillar file may have at most ${SOURCE_LIMITS.fileBytes} bytes`));
      continue;
    }
    files.push(file);
  }
  if (files.length > SOURCE_LIMITS.files) {
    problems.push(problem(at(dir), "(pillar)", `has ${files.length} YAML files; at most ${SOURCE_LIMITS.files} are read`));
    return [];
  }
  return files;
}

/** Line and column (1-based) of byte `offset` of `bytes` counted in characters of the valid prefix. */
function linePosOfByte(bytes: Buffer, offset: number): { line: number; col: number } {
  const before = bytes.subarray(0, offset).toString("utf8");
  const lines = before.split("\n");
  return { line: lines.length, col: lines[lines.length - 1].length + 1 };
}

/** The file's text as UTF-8, or a problem naming the encoding it is in instead. */
export function decodeText(file: string, bytes: Buffer): { text?: string; problem?: PillarProblem } {
  const b = bytes;
  if (b.length >= 4 && ((b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) || (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0))) {
    return { problem: problem(at(file, 1, 1), "(file)", "is UTF-32 encoded (byte order mark); save it as UTF-8") };
  }
  if (b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff))) {
    return { problem: problem(at(file, 1, 1), "(file)", `is UTF-16${b[0] === 0xff ? "LE" : "BE"} encoded (byte order mark); save it as UTF-8`) };
  }
  const nul = b.indexOf(0);
  if (nul >= 0) {
    // UTF-16 without a byte order mark: ASCII text with every other byte zero.
    const sample = b.subarray(0, Math.min(b.length, 512));
    let even = 0;
    let odd = 0;
    for (let i = 0; i < sample.length; i++) if (sample[i] === 0) (i % 2 ? odd++ : even++);
    const half = sample.length / 2;
    if (odd > half * 0.6 && even === 0) return { problem: problem(at(file, 1, 1), "(file)", "is UTF-16LE encoded (every other byte is zero); save it as UTF-8") };
    if (even > half * 0.6 && odd === 0) return { problem: problem(at(file, 1, 1), "(file)", "is UTF-16BE encoded (every other byte is zero); save it as UTF-8") };
    const pos = linePosOfByte(b, nul);
    return { problem: problem(at(file, pos.line, pos.col), "(file)", `is a binary file, not YAML text (NUL byte at offset ${nul})`) };
  }
  const bad = firstInvalidUtf8(b);
  if (bad < 0) {
    let text = b.toString("utf8");
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return { text };
  }
  const pos = linePosOfByte(b, bad);
  return {
    problem: problem(
      at(file, pos.line, pos.col),
      "(file)",
      `is not valid UTF-8 (byte 0x${b[bad].toString(16).padStart(2, "0")} at offset ${bad}; Latin-1 or Windows-1252 text?); save it as UTF-8`,
    ),
  };
}

/** Offset of the first byte that is not part of well-formed UTF-8, or -1. */
function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; ) {
    const x = b[i];
    const n = x < 0x80 ? 0 : x >= 0xc2 && x <= 0xdf ? 1 : x >= 0xe0 && x <= 0xef ? 2 : x >= 0xf0 && x <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    // ignoreBOM: by default the decoder swallows U+FEFF, so a byte-order mark (legal YAML, written
    // by editors on Windows) decoded to "" and was refused as invalid UTF-8.
    if (n > 0 && !new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(b.subarray(i, i + n + 1)).match(/^[^\ufffd]+$/)) return i;
    i += n + 1;
  }
  return -1;
}

export function parseFile(file: string, problems: PillarProblem[]): ParsedFile | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    problems.push(problem(at(file), "(file)", describeErrno(e)));
    return undefined;
  }
  const decoded = decodeText(file, bytes);
  if (decoded.problem) {
    problems.push(decoded.problem);
    return undefined;
  }
  return parseText(file, decoded.text!, problems);
}

/** Offset where flow collections (`[`, `{`) nest deeper than `max`, or -1: checked before the parser recurses. */
function deepFlowAt(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5b || ch === 0x7b) {
      if (++depth > max) return i;
    } else if ((ch === 0x5d || ch === 0x7d) && depth > 0) depth--;
    else if (ch === 0x0a && depth === 0) depth = 0;
  }
  return -1;
}

export function parseText(file: string, text: string, problems: PillarProblem[]): ParsedFile | undefined {
  const lines = new LineCounter();
  const deep = deepFlowAt(text, 2 * SOURCE_LIMITS.depth);
  if (deep >= 0) {
    const before = text.slice(0, deep).split("\n");
    problems.push(problem(at(file, before.length, before[before.length - 1].length + 1), "(yaml)", `is nested more than ${2 * SOURCE_LIMITS.depth} levels deep ([ and {); a pillar nests at most ${SOURCE_LIMITS.depth}`));
    return undefined;
  }
  let doc: Document.Parsed;
  try {
    // uniqueKeys: a duplicated key is an error, not a silent override. YAML 1.2 core schema, no
    // merge keys (`<<` is reported below), no custom tags.
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, version: "1.2", merge: false });
  } catch (e) {
    // The parser recurses per nesting level: a pathologically deep document exhausts the stack.
    const reason = e instanceof RangeError ? "is nested too deeply to be read" : `cannot be parsed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`;
    problems.push(problem(at(file, 1, 1), "(yaml)", reason));
    return undefined;
  }
  const seenReasons = new Set<string>();
  let shown = 0;
  const all = [...doc.errors, ...doc.warnings];
  for (const err of all) {
    const pos = lines.linePos(err.pos[0]);
    let reason = err.message.split("\n")[0];
    // The composer recurses per nesting level: deep nesting overflows the stack at every level.
    if (/call stack/i.test(reason)) reason = `is nested too deeply to be read (a pillar nests at most ${SOURCE_LIMITS.depth} levels)`;
    if (seenReasons.has(reason) || shown >= 20) continue;
    seenReasons.add(reason);
    shown++;
    if (err.code === "DUPLICATE_KEY") reason = `${reason} (each key may appear once in a mapping)`;
    if (/multiple documents/i.test(reason)) reason = "holds more than one YAML document (`---`); a pillar file is one mapping: split it into files";
    problems.push(problem(at(file, pos.line, pos.col), "(yaml)", reason));
  }
  return doc.errors.length ? undefined : { file, doc, lines };
}

function positionOf(pf: ParsedFile, node: Node | Pair | null | undefined, wantKey: boolean): SourceLocation {
  let target: Node | null | undefined;
  if (node && isPair(node)) target = wantKey ? (node.key as Node) : ((node.value as Node | null) ?? (node.key as Node));
  else target = node as Node;
  const offset = target?.range?.[0];
  if (offset === undefined) return at(pf.file);
  const pos = pf.lines.linePos(offset);
  return at(pf.file, pos.line, pos.col);
}

const keyText = (k: unknown): string | undefined => (isScalar(k) && k.value !== null && typeof k.value !== "object" ? String(k.value) : undefined);

/** Walk `keyPath` in one document; returns the deepest pair or node reached and whether it is complete. */
function walk(pf: ParsedFile, keyPath: KeyPath): { at: Node | Pair | null; complete: boolean } {
  let node: Node | null = pf.doc.contents;
  let here: Node | Pair | null = node;
  for (const k of keyPath) {
    if (isAlias(node)) node = (node.resolve(pf.doc) as Node | undefined) ?? null;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(k));
      if (!pair) return { at: here, complete: false };
      here = pair;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof k === "number" && k < node.items.length) {
      node = node.items[k] as Node;
      here = node;
    } else {
      return { at: here, complete: false };
    }
  }
  return { at: here, complete: true };
}

/** Plain scalars whose meaning differs between YAML 1.1 (the original's reader) and YAML 1.2 (ours). */
export function yaml11Ambiguity(s: Scalar): string | undefined {
  if (s.type !== Scalar.PLAIN || typeof s.source !== "string") return undefined;
  const src = s.source;
  if (/^(yes|no|on|off)$/i.test(src)) {
    const b = /^(yes|on)$/i.test(src);
    return `${JSON.stringify(src)} is the boolean ${b} in YAML 1.1 (the original's pillar) but a string here: write ${b} for a boolean, or quote it for a string`;
  }
  if (/^[-+]?0[0-7]+$/.test(src)) {
    return `${src} is octal (${parseInt(src, 8)}) in YAML 1.1 (the original's pillar) but ${parseInt(src, 10)} here: write it without the leading zero, as 0o${src.replace(/^[-+]?0+/, "")} for octal, or quote it for a string`;
  }
  if (/^[-+]?0[0-9]+$/.test(src)) return `${src} has a leading zero, which YAML 1.1 reads as octal: write it without the leading zero, or quote it for a string`;
  if (/^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(src)) {
    return `${src} is a base-60 number in YAML 1.1 (the original's pillar) but a string here: quote it`;
  }
  if (/^[-+]?[0-9][0-9_]*_[0-9_]*(\.[0-9_]*)?$/.test(src)) {
    return `${src} is a number with '_' separators in YAML 1.1 but a string here: write the digits without '_', or quote it`;
  }
  return undefined;
}

/** Abbreviate a value for a message: a reviewer wants the start, not 100,000 characters. */
export function quote(s: string, max = 60): string {
  return s.length <= max ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, max))}... (${s.length} characters)`;
}

class Budget {
  used = 0;
  exceeded = false;
}

/**
 * The document as plain data: prototype-less maps, arrays, scalars. Aliases are expanded within
 * the budget; problems are recorded with their place and the value becomes a {@link Reported}.
 */
function toData(pf: ParsedFile, node: unknown, keyPath: KeyPath, depth: number, budget: Budget, problems: PillarProblem[], active: Set<unknown>): unknown {
  if (budget.exceeded) return new Reported("budget");
  if (++budget.used > SOURCE_LIMITS.values) {
    budget.exceeded = true;
    problems.push(problem(at(pf.file, 1, 1), "(file)", `expands to more than ${SOURCE_LIMITS.values} values (aliases repeating aliases?); a pillar is far smaller`));
    return new Reported("budget");
  }
  const where = (n: Node | Pair | null | undefined) => positionOf(pf, n, false);
  const pathText = keyPath.join(".") || "(file)";
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    let target: Node | undefined;
    try {
      target = node.resolve(pf.doc) as Node | undefined;
    } catch {
      target = undefined;
    }
    if (!target) {
      problems.push(problem(where(node), pathText, `alias *${node.source} has no anchor &${node.source} before it in this file (anchors do not reach across pillar files)`));
      return new Reported("alias");
    }
    if (active.has(target)) {
      problems.push(problem(where(node), pathText, `alias *${node.source} refers to a value that contains it (a recursive structure)`));
      return new Reported("alias");
    }
    return toData(pf, target, keyPath, depth, budget, problems, active);
  }
  if (depth > SOURCE_LIMITS.depth) {
    problems.push(problem(where(node as Node), pathText, `is nested more than ${SOURCE_LIMITS.depth} levels deep`));
    budget.exceeded = true;
    return new Reported("depth");
  }
  if (isScalar(node)) {
    const v = node.value;
    if (node.tag && !/^tag:yaml\.org,2002:(str|int|float|bool|null)$/.test(node.tag)) {
      problems.push(problem(where(node), pathText, `has tag ${node.tag}, which a pillar does not use; remove the tag`));
      return new Reported("tag");
    }
    const ambiguous = yaml11Ambiguity(node);
    if (ambiguous) {
      problems.push(problem(where(node), pathText, ambiguous));
      return new Reported("yaml11");
    }
    if (typeof v === "string" && v.length > SOURCE_LIMITS.stringLength) {
      problems.push(problem(where(node), pathText, `is ${v.length} characters long; at most ${SOURCE_LIMITS.stringLength}`));
      return new Reported("long");
    }
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean" || v === null) return v;
    if (typeof v === "bigint") return Number(v);
    problems.push(problem(where(node), pathText, "is a value a pillar cannot hold (binary data, a date?); write it as a string"));
    return new Reported("type");
  }
  active.add(node);
  try {
    if (isSeq(node)) {
      if (node.tag && node.tag !== "tag:yaml.org,2002:seq") {
        problems.push(problem(where(node), pathText, `has tag ${node.tag}, which a pillar does not use; remove the tag`));
        return new Reported("tag");
      }
      return node.items.map((item, i) => toData(pf, item, [...keyPath, i], depth + 1, budget, problems, active));
    }
    if (isMap(node)) {
      if (node.tag && node.tag !== "tag:yaml.org,2002:map") {
        problems.push(problem(where(node), pathText, `has tag ${node.tag}, which a pillar does not use (sets and ordered maps are not pillar values); remove the tag`));
        return new Reported("tag");
      }
      const out = newMap();
      for (const pair of node.items) {
        let key = isAlias(pair.key) ? undefined : keyText(pair.key);
        if (isScalar(pair.key) && pair.key.value === null) key = undefined;
        if (key === undefined) {
          problems.push(problem(positionOf(pf, pair, true), pathText, "has a key that is not a plain string (an empty key, a list or mapping as key, or an alias)"));
          continue;
        }
        if (key === "<<" && isScalar(pair.key) && pair.key.type === Scalar.PLAIN) {
          problems.push(problem(positionOf(pf, pair, true), [...keyPath, key].join("."), "merge keys (<<) are not supported: write the keys out"));
          continue;
        }
        if (key.length > SOURCE_LIMITS.keyLength) {
          problems.push(problem(positionOf(pf, pair, true), pathText, `has a key of ${key.length} characters; at most ${SOURCE_LIMITS.keyLength}`));
          continue;
        }
        if (has(out, key)) continue; // reported by the parser (uniqueKeys), e.g. 1 and "1"
        out[key] = toData(pf, pair.value, [...keyPath, key], depth + 1, budget, problems, active);
      }
      return out;
    }
  } finally {
    active.delete(node);
  }
  problems.push(problem(where(node as Node), pathText, "is not a YAML value a pillar can hold"));
  return new Reported("type");
}

/** A parsed file as data, with problems for whatever could not be read. */
export function fileData(pf: ParsedFile, problems: PillarProblem[]): unknown {
  const budget = new Budget();
  const data = toData(pf, pf.doc.contents, [], 0, budget, problems, new Set());
  // A bomb stops the whole file: what was read of it is not the file.
  return budget.exceeded ? new Reported("budget") : data;
}

const isMapping = (v: unknown): v is PillarMap => v !== null && typeof v === "object" && !Array.isArray(v) && !isReported(v);

/**
 * Load every `*.yaml` of `dir`. Top-level keys may be split over files, and so may the entries
 * one level below (e.g. `hosts` types in several files); the same entry defined twice is an error.
 */
export function readPillarSource(dir: string, problems: PillarProblem[]): PillarSource {
  let files: string[] = [];
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    problems.push(problem(at(dir), "(pillar)", `the pillar directory ${describeErrno(e)}`));
  }
  if (st && !st.isDirectory()) {
    problems.push(problem(at(dir), "(pillar)", `is a file, not a directory: a pillar is the directory of YAML files (${path.dirname(dir)}?)`));
  } else if (st) {
    const before = problems.length;
    files = listPillarFiles(dir, problems);
    if (!files.length && problems.length === before) problems.push(problem(at(dir), "(pillar)", "no *.yaml pillar files in this directory"));
  }
  const parsed = files.map((f) => parseFile(f, problems)).filter((p): p is ParsedFile => !!p);
  const tree = newMap();
  /** `top` or `top.child` -> the file that defines it. */
  const owner = new Map<string, ParsedFile>();
  const emptyFiles: string[] = [];

  for (const pf of parsed) {
    if (pf.doc.contents === null || (isScalar(pf.doc.contents) && pf.doc.contents.value === null && !pf.doc.contents.source)) {
      emptyFiles.push(pf.file);
      continue;
    }
    const js = fileData(pf, problems);
    if (isReported(js)) continue;
    if (js === null) {
      emptyFiles.push(pf.file);
      continue;
    }
    if (!isMapping(js)) {
      const got = Array.isArray(js) ? "a list" : `${typeof js} ${quote(String(js))}`;
      problems.push(problem(positionOf(pf, pf.doc.contents, false), "(file)", `a pillar file must be a mapping of top-level keys, got ${got}`));
      continue;
    }
    for (const top of Object.keys(js)) {
      const value = js[top];
      const mergeable = isMapping(value);
      if (!has(tree, top)) {
        if (mergeable) {
          const copy = newMap();
          for (const child of Object.keys(value)) {
            copy[child] = value[child];
            owner.set(`${top}\u0000${child}`, pf);
          }
          tree[top] = copy;
        } else {
          tree[top] = value;
        }
        owner.set(top, pf);
        continue;
      }
      const existing = tree[top];
      if (!mergeable || !isMapping(existing)) {
        problems.push(problem(positionOf(pf, walk(pf, [top]).at, true), top, `also defined in ${owner.get(top)!.file}`));
        continue;
      }
      for (const child of Object.keys(value)) {
        const prev = owner.get(`${top}\u0000${child}`);
        if (prev) {
          problems.push(problem(positionOf(pf, walk(pf, [top, child]).at, true), `${top}.${child}`, `also defined in ${prev.file}`));
          continue;
        }
        existing[child] = value[child];
        owner.set(`${top}\u0000${child}`, pf);
      }
    }
  }

  const locate = (keyPath: KeyPath, opts: { key?: boolean } = {}): SourceLocation => {
    const pf = (keyPath.length >= 2 ? owner.get(`${keyPath[0]}\u0000${keyPath[1]}`) : undefined) ?? owner.get(String(keyPath[0]));
    // A top-level key no file defines: the directory is where it is missing.
    if (!pf) return at(dir);
    const { at: reached, complete } = walk(pf, keyPath);
    // A missing key is reported at its parent, which is where it should be added.
    return positionOf(pf, reached, complete ? !!opts.key : true);
  };
  return { dir, tree, locate, files, emptyFiles };
}
