/**
 * Issue 8: no pillar makes validation crash, hang or accept what cannot work. One table per
 * category of broken pillars (test/support/brokenPillars.ts), each case asserting exact problem
 * text and place; then the README's pillar, prototype safety, the plan CLI, and a fuzz test.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isAlias, isMap, isScalar, isSeq, Node, parseDocument, Scalar, YAMLMap } from "yaml";
import { isPillarError, loadCloud, PillarProblem } from "../pillar";
import { BMC, buildCase, CASES, HOSTS, NET } from "./support/brokenPillars";
import { pillarDir } from "./support/pillars";

const ROOT = path.join(__dirname, "..");

/** Problems of loading `dir` (with `<dir>` and `<base>` for the paths), or "ACCEPTED". */
function outcome(dir: string, opts: { allowEmpty?: boolean } = {}): string[] {
  const base = path.dirname(dir);
  try {
    loadCloud(dir, { stack: "t", ...opts });
    return ["ACCEPTED"];
  } catch (e) {
    assert.ok(isPillarError(e), `not a pillar error: ${e instanceof Error ? e.stack : String(e)}`);
    return e.message
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(dir).join("<dir>").split(base).join("<base>"));
  }
}

describe("pillar robustness: broken pillars by category (issue 8)", () => {
  for (const [category, cases] of Object.entries(CASES)) {
    describe(category, () => {
      for (const c of cases) {
        it(c.name, () => {
          const t0 = Date.now();
          assert.deepEqual(outcome(buildCase(c)), c.expect);
          assert.ok(Date.now() - t0 < 5000, "under 5 s");
        });
      }
    });
  }

  it("the corpus is not empty and its base pillar is valid (so each case fails for its own reason)", () => {
    assert.ok(Object.values(CASES).flat().length >= 60);
    assert.deepEqual(outcome(pillarDir({ "net.yaml": NET, "hosts.yaml": HOSTS, "bmc.yaml": BMC })), ["ACCEPTED"]);
  });

  it("an empty cloud is accepted when the stack says so explicitly", () => {
    const dir = pillarDir({ "net.yaml": NET, "hosts.yaml": "hosts: {}\n" });
    assert.deepEqual(outcome(dir, { allowEmpty: true }), ["ACCEPTED"]);
  });

  it("a __proto__ mapping changes no object of the process", () => {
    const dir = pillarDir({ "net.yaml": NET, "hosts.yaml": HOSTS, "p.yaml": "__proto__:\n  style: virtual\n  polluted: yes-it-is\n" });
    outcome(dir);
    const probe = {} as Record<string, unknown>;
    assert.equal(probe.style, undefined);
    assert.equal(probe.polluted, undefined);
  });

  it("a UTF-8 byte-order mark at the start of a file is accepted, and positions after it are unchanged", () => {
    // Editors on Windows write EF BB BF first; YAML allows it. It used to be refused as "not valid UTF-8 (byte 0xef)".
    const bom = "\ufeff";
    assert.deepEqual(outcome(pillarDir({ "net.yaml": bom + NET, "hosts.yaml": bom + HOSTS, "bmc.yaml": bom + BMC })), ["ACCEPTED"]);
    // The mark is not a column: a mistake on the first line is still reported at column 1 of line 1's text.
    const dir = pillarDir({ "net.yaml": NET, "hosts.yaml": HOSTS, "bmc.yaml": BMC, "tz.yaml": `${bom}timezone: 5\n` });
    const problems = outcome(dir);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /^<dir>\/tz\.yaml:1:11: timezone: /);
  });

  it("lists types that have no needs at all in the notes", () => {
    const cloud = loadCloud(pillarDir({ "net.yaml": NET, "hosts.yaml": HOSTS.replace("  cache:", "  widget:"), "bmc.yaml": BMC }), { stack: "t" });
    assert.ok(cloud.pillar.notes.some((n) => n.startsWith("type 'widget' has no needs at all")), cloud.pillar.notes.join("\n"));
  });

  it("every pillar snippet of the README validates", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /^hosts:/m.test(b));
    assert.ok(blocks.length >= 1);
    for (const b of blocks) assert.deepEqual(outcome(pillarDir({ "pillar.yaml": b })), ["ACCEPTED"]);
  });

  it("npm run plan prints problems without a stack trace, exit 1", function () {
    this.timeout(60_000);
    const loop = pillarDir({ "net.yaml": NET, "hosts.yaml": HOSTS });
    fs.symlinkSync(path.join(loop, "l.yaml"), path.join(loop, "l.yaml"));
    for (const dir of [loop, path.join(loop, "hosts.yaml")]) {
      const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "cli/plan.ts"), dir, "--out", fs.mkdtempSync(path.join(os.tmpdir(), "plan-"))], { cwd: ROOT });
      const err = r.stderr.toString();
      assert.equal(r.status, 1, err);
      assert.match(err, /problem/);
      assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz: structure-aware mutations of the sample and dev pillars, deterministic (seeded).

/** mulberry32: small, seeded, good enough to pick mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRANGE_VALUES = [
  "null", "~", "true", "yes", "no", "on", "010", "0x1F", "1:20", "1_000", "-1", "0", "1e9", "1e400", ".inf", "-.inf", ".nan", "9007199254740993",
  "''", '""', "[]", "{}", "[1, [2, [3]]]", "{a: {b: {c: d}}}", "*nowhere", "!!binary aGVsbG8=", "!!set {a, b}", "!custom x", "2001-12-14", "__proto__",
  `"${"x".repeat(5000)}"`, `"${"é".repeat(300)}"`, '"a\\tb"', '"line\\nbreak"', '"nul\\0byte"', "constructor", "10.0.0.0/8", "255.255.255.255", "ens3", "ens99",
];
const STRANGE_KEYS = ["__proto__", "constructor", "toString", "<<", "servers", "hosts", "count", "style", "", "x".repeat(300), "1", "null"];

function nodesOf(doc: ReturnType<typeof parseDocument>): { map: YAMLMap; index: number }[] {
  const out: { map: YAMLMap; index: number }[] = [];
  const visit = (n: unknown, depth: number) => {
    if (depth > 12) return;
    if (isMap(n)) n.items.forEach((p, i) => (out.push({ map: n, index: i }), visit(p.value, depth + 1)));
    else if (isSeq(n)) n.items.forEach((x) => visit(x, depth + 1));
  };
  visit(doc.contents, 0);
  return out;
}

/** One mutated copy of `files`. */
function mutate(files: Record<string, string>, r: () => number): Record<string, string> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const out = { ...files };
  const rounds = 1 + Math.floor(r() * 3);
  for (let k = 0; k < rounds; k++) {
    const name = pick(Object.keys(out));
    const kind = Math.floor(r() * 10);
    if (kind === 9) {
      // text-level: inject a raw YAML feature or garbage at a random line
      const lines = out[name].split("\n");
      const at = Math.floor(r() * lines.length);
      lines.splice(at, 0, pick(["&a x: 1", "*a", "<<: *base", "---", "...", "%YAML 1.1", "\t- tab", "? complex\n: key", "\u0000", "key: [unclosed", "\uFEFFbom: 1", "  - : x"]));
      out[name] = lines.join("\n");
      continue;
    }
    const doc = parseDocument(out[name]);
    const pairs = nodesOf(doc);
    if (!pairs.length) continue;
    const { map, index } = pick(pairs);
    const pair = map.items[index];
    if (kind === 0) map.items.splice(index, 1); // delete a key
    else if (kind === 1) map.items.push(doc.createPair(`${(pair.key as Scalar).value}`, pair.value)); // duplicate it
    else if (kind === 2) (pair.key as Scalar).value = pick(STRANGE_KEYS); // rename to a strange key
    else if (kind === 3) (pair.key as Scalar).value = `${(pair.key as Scalar).value}`.replace(/.(?=.$)/, "x"); // a typo
    else if (kind === 4 || kind === 5 || kind === 6) pair.value = parseDocument(`v: ${pick(STRANGE_VALUES)}`).get("v", true) as Node; // change type/value
    else if (kind === 7 && isScalar(pair.value)) pair.value = doc.createNode(Number.MAX_SAFE_INTEGER * (r() < 0.5 ? 1 : -1));
    else if (kind === 8) {
      // an anchor here and aliases of it elsewhere (or of an anchor that does not exist)
      const target = pair.value as Node;
      if (target && !isAlias(target) && r() < 0.7) {
        target.anchor = "fz";
        const other = pick(pairs);
        other.map.items[other.index].value = doc.createAlias(target as never, "fz");
      }
    }
    out[name] = doc.toString({ lineWidth: 0 });
  }
  return out;
}

describe("pillar robustness: fuzz (issue 8)", () => {
  const CASES_PER_PILLAR = Number(process.env.KINETIC_FUZZ_CASES ?? 150);
  for (const base of ["sample", "dev"]) {
    it(`${CASES_PER_PILLAR} mutations of pillar/${base}: every run is a plan or problems with file and line, each under 5 s`, function () {
      this.timeout(300_000);
      const dir = path.join(ROOT, "pillar", base);
      const files = Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
      const r = rng(base === "sample" ? 8 : 88);
      let accepted = 0;
      let rejected = 0;
      let slowest = 0;
      for (let i = 0; i < CASES_PER_PILLAR; i++) {
        let mutated: Record<string, string>;
        try {
          mutated = mutate(files, r);
        } catch {
          continue; // the mutation itself did not apply (e.g. a key that cannot be renamed)
        }
        const scratch = pillarDir(mutated);
        const t0 = Date.now();
        try {
          loadCloud(scratch, { stack: "fuzz" });
          accepted++;
        } catch (e) {
          if (!isPillarError(e)) assert.fail(`case ${i} crashed: ${e instanceof Error ? e.stack : String(e)}\n${JSON.stringify(mutated).slice(0, 3000)}`);
          rejected++;
          for (const p of e.problems as PillarProblem[]) {
            assert.ok(p.location.file.startsWith(scratch), `case ${i}: ${p.location.file}`);
            const lineless = p.location.line === 0 && (/^\((pillar|file|lock)\)$/.test(p.keyPath) || p.location.file === scratch || p.keyPath === "networking.subnets.management");
            assert.ok(p.location.line > 0 || lineless, `case ${i}: no line: ${p.location.file}: ${p.keyPath}: ${p.reason}`);
            assert.ok(p.reason.length < 1000, `case ${i}: a short reason`);
          }
        } finally {
          const ms = Date.now() - t0;
          slowest = Math.max(slowest, ms);
          assert.ok(ms < 5000, `case ${i} took ${ms} ms`);
          fs.rmSync(scratch, { recursive: true, force: true });
        }
      }
      assert.ok(rejected > CASES_PER_PILLAR / 2, `most mutations break the pillar (accepted ${accepted}, rejected ${rejected})`);
      console.log(`      ${base}: ${accepted} accepted, ${rejected} rejected, slowest ${slowest} ms`);
    });
  }
});
