/**
 * A package run killed in the middle (a second Ctrl-C ends the engine, a link or the power drops)
 * leaves dpkg half done, and apt then refuses every install until `dpkg --configure -a` runs.
 * The next formula run must finish it rather than fail on every later `up`.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { assertInstalled, runOk, withHost } from "./hostSuite";

/** PIDs of the processes named `comm` running inside `root` (their root directory is it). */
function processesNamed(root: string, comm: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm && fs.readlinkSync(`/proc/${entry}/root`) === root) found.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

describe("formulas: a package run cut short", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();

  it("the next pkg_install finishes dpkg's interrupted run and installs", async () => {
    const h = host();
    h.exec(["sh", "-c", "nohup apt-get install -y -q --no-install-recommends memcached > /tmp/apt.log 2>&1 &"]);
    // Kill apt and dpkg once dpkg has begun changing packages (a journal entry or a package not
    // yet configured), as the engine's end or a lost link would.
    const midway = () =>
      fs.readdirSync(h.path("/var/lib/dpkg/updates")).some((f) => /^\d+$/.test(f)) ||
      /^Status: install ok (half-installed|unpacked|half-configured)$/m.test(h.read("/var/lib/dpkg/status"));
    const deadline = Date.now() + 120_000;
    let killed = false;
    while (!killed && Date.now() < deadline) {
      const dpkg = processesNamed(h.root, "dpkg");
      if (dpkg.length && midway()) {
        for (const p of [...processesNamed(h.root, "apt-get"), ...dpkg]) {
          try {
            process.kill(p, "SIGKILL");
            killed = true;
          } catch {
            /* gone */
          }
        }
      }
      if (!killed) await new Promise((r) => setTimeout(r, 2));
    }
    assert.ok(killed, `dpkg never ran: ${h.read("/tmp/apt.log")}`);
    await new Promise((r) => setTimeout(r, 500));
    // The state the formula must recover from (else this test would prove nothing).
    const journal = h.exec(["sh", "-c", "ls /var/lib/dpkg/updates"]).trim();
    const audit = h.tryExec(["dpkg", "--audit"]).stdout.trim();
    assert.ok(journal || audit, "killing dpkg left no interrupted state");

    const r = await runOk(h, "memcached/install", { NAME: "memcached-0" });
    assert.match(r.stdout, /an earlier package run was interrupted/);
    assertInstalled(h, ["memcached"]);
    assert.equal(h.tryExec(["dpkg", "--audit"]).stdout.trim(), "", "dpkg has nothing left half done");
  });
});
