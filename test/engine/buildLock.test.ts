/**
 * engine/build.ts's lock: one engine build per cache key on a machine. Real processes contend for
 * it; each holds it for a while and records when; the records must never overlap.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildLock } from "../../engine/build";

const HOLDER = `
const fs = require("node:fs");
const { buildLock } = require(${JSON.stringify(path.resolve(__dirname, "../../engine/build"))});
(async () => {
  const [dir, out] = process.argv.slice(1);
  const release = await buildLock(dir, () => undefined);
  const from = Date.now();
  await new Promise((r) => setTimeout(r, 700));
  fs.appendFileSync(out, JSON.stringify({ pid: process.pid, from, to: Date.now() }) + "\\n");
  release();
})();
`;

function holder(dir: string, out: string): Promise<number> {
  const tsNode = require.resolve("ts-node/register/transpile-only");
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-r", tsNode, "-e", HOLDER, "--", dir, out], { stdio: "inherit" });
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

describe("engine build lock (one build per key on a machine)", function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-buildlock-"))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("three processes asking at once hold it one after the other, and leave no lock", async () => {
    const dir = path.join(tmp, "0123456789abcdef");
    const out = path.join(tmp, "held");
    const codes = await Promise.all([holder(dir, out), holder(dir, out), holder(dir, out)]);
    assert.deepEqual(codes, [0, 0, 0]);
    const spans = fs.readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { from: number; to: number }).sort((a, b) => a.from - b.from);
    assert.equal(spans.length, 3);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i].from >= spans[i - 1].to, `held at once: ${JSON.stringify(spans)}`);
    assert.equal(fs.existsSync(`${dir}.lock`), false);
  });

  it("a lock left by a process that is gone is taken over", async () => {
    const dir = path.join(tmp, "fedcba9876543210");
    fs.mkdirSync(`${dir}.lock`);
    // A PID that is not running: a short-lived child's, after it exited.
    const dead = await new Promise<number>((resolve) => {
      const c = spawn("true");
      c.once("exit", () => resolve(c.pid!));
    });
    fs.writeFileSync(path.join(`${dir}.lock`, "pid"), `${dead}\n`);
    const release = await Promise.race([buildLock(dir, () => undefined), new Promise<never>((_, rej) => setTimeout(() => rej(new Error("waited for a dead holder")), 10_000))]);
    assert.equal(fs.readFileSync(path.join(`${dir}.lock`, "pid"), "utf8").trim(), String(process.pid));
    release();
  });

  it("a live holder is waited for, not taken over", async () => {
    const dir = path.join(tmp, "00112233445566ff");
    fs.mkdirSync(`${dir}.lock`);
    fs.writeFileSync(path.join(`${dir}.lock`, "pid"), `${process.ppid}\n`);
    const got = await Promise.race([buildLock(dir, () => undefined).then(() => "taken"), new Promise((r) => setTimeout(() => r("waiting"), 5000))]);
    assert.equal(got, "waiting");
    fs.rmSync(`${dir}.lock`, { recursive: true, force: true });
  });
});
