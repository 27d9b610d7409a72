/**
 * lab/tiedProcess.ts: a child started with spawnTied dies when its parent is killed with SIGKILL
 * (what a lab supervisor killed that way does to its QEMU machines); one started with a plain spawn
 * outlives it, which is what this test would see if the tie did nothing.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/** Alive and not a zombie waiting for its new parent to reap it. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** A node process that starts `sleep 300` (tied or not), prints the sleep's pid, and waits. */
async function parentWithSleep(tied: boolean): Promise<{ parent: ReturnType<typeof spawn>; child: number }> {
  const code = tied
    ? `const c = require("./lab/tiedProcess").spawnTied("sleep", ["300"], { stdio: "ignore" }); console.log(c.pid); setInterval(() => {}, 1000);`
    : `const c = require("node:child_process").spawn("sleep", ["300"], { stdio: "ignore" }); console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", code], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const child = await new Promise<number>((resolve, reject) => {
    let out = "";
    parent.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    parent.on("exit", (c) => reject(new Error(`the parent exited (${c}) before starting its child`)));
  });
  return { parent, child };
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe("lab/tiedProcess: children die with a parent killed by SIGKILL", function () {
  this.timeout(60_000);

  it("spawnTied: the child is gone within 5 s of its parent's SIGKILL", async () => {
    const { parent, child } = await parentWithSleep(true);
    // setpriv execs the command: the pid becomes sleep's own (once setpriv has set the signal).
    const cmdline = () => fs.readFileSync(`/proc/${child}/cmdline`, "utf8");
    for (const end = Date.now() + 5_000; !/^sleep\x00/.test(cmdline()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
    assert.match(cmdline(), /^sleep\x00300\x00$/);
    assert.ok(alive(child));
    parent.kill("SIGKILL");
    assert.ok(await goneWithin(child, 5_000), `sleep ${child} outlived its parent`);
  });

  it("a plain spawn's child outlives its parent's SIGKILL (what the tie prevents)", async () => {
    const { parent, child } = await parentWithSleep(false);
    parent.kill("SIGKILL");
    try {
      assert.equal(await goneWithin(child, 1_000), false);
    } finally {
      process.kill(child, "SIGKILL");
    }
  });
});
