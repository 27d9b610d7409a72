/**
 * Small typed readers over the merged pillar tree. Each records a problem (with file, line and key
 * path) instead of throwing, so one run reports every problem at once.
 */
import { PillarProblem } from "./errors";
import { has, isReported, KeyPath, PillarMap, PillarSource, quote } from "./source";

export class Checker {
  readonly problems: PillarProblem[] = [];
  constructor(readonly source: PillarSource) {}

  report(keyPath: KeyPath, reason: string, opts: { key?: boolean } = {}): void {
    this.problems.push({ location: this.source.locate(keyPath, opts), keyPath: keyPath.join("."), reason });
  }

  /** Unknown keys are typos until proven otherwise: name the closest known key. */
  /**
   * Unknown keys: typos until proven otherwise, so the closest known key is named. `hints` maps
   * keys of other vocabularies (the original's pillar) to what to write instead.
   */
  keys(value: PillarMap, allowed: readonly string[], keyPath: KeyPath, hints: Readonly<Record<string, string>> = {}): void {
    for (const k of Object.keys(value)) {
      if (allowed.includes(k)) continue;
      if (has(hints, k)) {
        this.report([...keyPath, k], hints[k], { key: true });
        continue;
      }
      const near = closest(k, allowed);
      this.report([...keyPath, k], `unknown key${near ? ` (did you mean '${near}'?)` : ""}; allowed: ${allowed.join(", ")}`, { key: true });
    }
  }

  map(value: unknown, keyPath: KeyPath, required = false, what = "a mapping"): PillarMap | undefined {
    if (isReported(value)) return undefined;
    if (value === undefined || value === null) {
      if (required) this.report(keyPath, `is required (${what})`);
      return undefined;
    }
    if (typeof value !== "object" || Array.isArray(value)) {
      this.report(keyPath, `must be ${what}, got ${describe(value)}`);
      return undefined;
    }
    return value as PillarMap;
  }

  string(value: unknown, keyPath: KeyPath, opts: { required?: boolean; pattern?: RegExp; what?: string; maxLength?: number } = {}): string | undefined {
    if (isReported(value)) return undefined;
    if (value === undefined || value === null) {
      if (opts.required) this.report(keyPath, `is required (${opts.what ?? "a string"})`);
      return undefined;
    }
    if (typeof value !== "string") {
      this.report(keyPath, `must be ${opts.what ?? "a string"}, got ${describe(value)}`);
      return undefined;
    }
    if (value.includes("\0")) {
      this.report(keyPath, "must not contain a NUL byte");
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      this.report(keyPath, `must be ${opts.what ?? `a string matching ${opts.pattern}`}, got ${quote(value)}`);
      return undefined;
    }
    if (opts.maxLength !== undefined && value.length > opts.maxLength) {
      this.report(keyPath, `is ${value.length} characters long; at most ${opts.maxLength}`);
      return undefined;
    }
    return value;
  }

  bool(value: unknown, keyPath: KeyPath, fallback: boolean): boolean {
    if (isReported(value)) return fallback;
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") {
      this.report(keyPath, `must be true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  /** An integer within bounds; both bounds are checked before anything is expanded from it. */
  int(value: unknown, keyPath: KeyPath, opts: { required?: boolean; min?: number; max?: number; what?: string } = {}): number | undefined {
    if (isReported(value)) return undefined;
    const what = opts.what ?? "an integer";
    if (value === undefined || value === null) {
      if (opts.required) this.report(keyPath, `is required (${what}${bounds(opts)})`);
      return undefined;
    }
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      const big = typeof value === "number" && Number.isInteger(value);
      this.report(keyPath, `must be ${what}${bounds(opts)}, got ${big ? `${value}, beyond any bound` : describe(value)}`);
      return undefined;
    }
    if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
      this.report(keyPath, `must be ${what}${bounds(opts)}, got ${value}`);
      return undefined;
    }
    return value;
  }

  /** A list of strings; a single string is accepted as a list of one (the original's pillar does both). */
  strings(value: unknown, keyPath: KeyPath, opts: { required?: boolean; pattern?: RegExp; what?: string; maxItems?: number } = {}): string[] {
    if (isReported(value)) return [];
    if (value === undefined || value === null) {
      if (opts.required) this.report(keyPath, `is required (a list of ${opts.what ?? "strings"})`);
      return [];
    }
    if (typeof value === "string") return this.string(value, keyPath, opts) === undefined ? [] : [value];
    if (!Array.isArray(value)) {
      this.report(keyPath, `must be a list of ${opts.what ?? "strings"}, got ${describe(value)}`);
      return [];
    }
    if (opts.maxItems !== undefined && value.length > opts.maxItems) {
      this.report(keyPath, `has ${value.length} entries; at most ${opts.maxItems}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((v, i) => {
      const s = this.string(v, [...keyPath, i], opts);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  oneOf<T extends string>(value: unknown, keyPath: KeyPath, allowed: readonly T[], opts: { required?: boolean } = {}): T | undefined {
    const s = this.string(value, keyPath, { required: opts.required, what: `one of ${allowed.join(", ")}` });
    if (s === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(s)) {
      const near = closest(s, allowed);
      this.report(keyPath, `must be one of ${allowed.join(", ")}, got ${quote(s)}${near ? ` (did you mean '${near}'?)` : ""}`);
      return undefined;
    }
    return s as T;
  }
}

function bounds(o: { min?: number; max?: number }): string {
  if (o.min !== undefined && o.max !== undefined) return ` from ${o.min} to ${o.max}`;
  if (o.min !== undefined) return ` of at least ${o.min}`;
  if (o.max !== undefined) return ` of at most ${o.max}`;
  return "";
}

export function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `string ${quote(v)}`;
  if (typeof v === "number" && !Number.isFinite(v)) return `number ${v}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The allowed key within edit distance 2, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
