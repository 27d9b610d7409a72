/**
 * `kinetic lab forward`'s relay (lab/forward.ts): a loopback port of the test's network namespace
 * reaches an HTTP server that exists only inside another namespace the test makes (as horizon exists
 * only inside the lab's), the listener takes 127.0.0.1 and nothing else, and closing it leaves no
 * relay process behind.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { forwardIntoNamespace } from "../../lab/forward";
import { requirePrerequisite } from "../support/prerequisite";

const NETNS = `kinetic-fwd-${process.pid}`;
const INSIDE_PORT = 18080;

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

describe("lab forward: a loopback port relayed into a network namespace", function () {
  this.timeout(120_000);
  let server: ChildProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-fwd-"));

  before(async function () {
    const why = process.getuid?.() !== 0 ? "not root" : spawnSync("sh", ["-c", "command -v ip && command -v nsenter"]).status !== 0 ? "ip or nsenter missing" : undefined;
    requirePrerequisite(this, why, "the lab forward test");
    spawnSync("ip", ["netns", "add", NETNS]);
    assert.equal(spawnSync("ip", ["-n", NETNS, "link", "set", "lo", "up"]).status, 0);
    fs.writeFileSync(path.join(dir, "index.html"), "horizon inside the lab\n");
    server = spawn("nsenter", [`--net=/run/netns/${NETNS}`, "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir, String(INSIDE_PORT)], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (spawnSync("nsenter", [`--net=/run/netns/${NETNS}`, "python3", "-c", `import socket; socket.create_connection(("127.0.0.1", ${INSIDE_PORT}), 1)`]).status === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail("the server inside the namespace did not start");
  });

  after(() => {
    server?.kill("SIGTERM");
    spawnSync("ip", ["netns", "del", NETNS]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reaches the server inside, only through 127.0.0.1, and stops cleanly", async () => {
    assert.equal(await connects("127.0.0.1", INSIDE_PORT), false, "the server is not reachable from the test's namespace by itself");
    const fwd = await forwardIntoNamespace(NETNS, "127.0.0.1", INSIDE_PORT, 0);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(`http://127.0.0.1:${fwd.port}/index.html`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(r.status, 200);
        assert.equal(await r.text(), "horizon inside the lab\n");
      }
      // Bound to 127.0.0.1 itself, not to every address: 127.0.0.2 (also this machine) is refused.
      assert.equal(await connects("127.0.0.2", fwd.port), false, "the relay listens on 127.0.0.1 only");
    } finally {
      await fwd.close();
    }
    assert.equal(await connects("127.0.0.1", fwd.port), false, "closed");
    const relays = spawnSync("pgrep", ["-f", `kinetic-forward-.*relay.sock`], { encoding: "utf8" }).stdout.trim();
    assert.equal(relays, "", "no relay process left");
  });

  it("a target that refuses: the browser's connection is closed, the relay keeps serving", async () => {
    const fwd = await forwardIntoNamespace(NETNS, "127.0.0.1", INSIDE_PORT + 1, 0);
    try {
      await assert.rejects(fetch(`http://127.0.0.1:${fwd.port}/`, { signal: AbortSignal.timeout(10_000) }));
      assert.equal(await connects("127.0.0.1", fwd.port), true, "still listening");
    } finally {
      await fwd.close();
    }
  });
});
