/**
 * The stack lock as kinetic reads it (engine/stackLock.ts) and the backend URL rules
 * (engine/backend.ts), without the engine: the liveness check against real processes, the
 * engine's refusal message, lock entries of a file backend. The PostgreSQL side, with the real
 * engine and server, is postgresBackend.test.ts.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BackendUrlError, parseBackend, selectBackend } from "../../engine/backend";
import { holderLiveness, lockLeftBehind, lockPrefix, lockRefusal, readLocks, refusalLine, removeLock } from "../../engine/stackLock";

describe("stack lock: holders, liveness and the engine's refusal", () => {
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-lock-"))));
  after(() => {
    for (const c of children) c.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const holder = (pid: number, at = new Date()) => ({ pid, username: "root", hostname: os.hostname(), timestamp: at.toISOString() });
  /** A live process whose command is `<dir>/pulumi`, as the engine's is. */
  const fakeEngine = (): ChildProcess => {
    const bin = path.join(dir, "pulumi");
    if (!fs.existsSync(bin)) fs.copyFileSync("/bin/sleep", bin);
    fs.chmodSync(bin, 0o755);
    const c = spawn(bin, ["60"], { stdio: "ignore" });
    children.push(c);
    return c;
  };

  it("a live engine process on this host is alive; so is nothing else", async () => {
    const engine = fakeEngine();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(holderLiveness(holder(engine.pid!)).alive, true);
    // The same pid with a lock taken an hour before the process started: a reused pid.
    const stale = holderLiveness(holder(engine.pid!, new Date(Date.now() - 3_600_000)));
    assert.equal(stale.alive, false);
    assert.match(stale.why, /reused the pid/);
    const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(sleeper);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(holderLiveness(holder(sleeper.pid!)).alive, false, "a process that is not the engine");
  });

  it("a pid with no process is dead; another host's run is unknown", () => {
    const gone = spawnSync("true").pid;
    assert.equal(holderLiveness(holder(gone)).alive, false);
    const elsewhere = holderLiveness({ ...holder(1), hostname: "rack-ops-7" });
    assert.equal(elsewhere.alive, "unknown");
    assert.match(elsewhere.why, /rack-ops-7/);
  });

  it("reads who holds the lock from the engine's refusal and says what to do", () => {
    const message = [
      "code: 255",
      " stderr: error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.",
      "  postgres://kinetic@127.0.2.23:5432/kinetic/.pulumi/locks/organization/kinetic/site/0b6e.json: created by ops@rack-1 (pid 4711) at 2026-12-06T20:00:00Z",
    ].join("\n");
    const holders = lockRefusal(message)!;
    assert.deepEqual(holders, [{ username: "ops", hostname: "rack-1", pid: 4711, timestamp: "2026-12-06T20:00:00Z" }]);
    const line = refusalLine(holders, "site");
    assert.match(line, /^stack site is locked by another run: ops@rack-1 \(pid 4711\) since 2026-12-06T20:00:00Z\. /);
    assert.match(line, /kinetic unlock --stack site/);
    assert.ok(!line.includes("pulumi cancel"), "not the command that deletes a live run's lock");
    assert.equal(lockRefusal("error: connection refused"), undefined);
    // The Automation API's error carries the engine's output twice: each holder once.
    assert.equal(lockRefusal(`${message}\n${message}`)!.length, 1);
    assert.ok(lockLeftBehind("error: there was a problem deleting the lock at postgres://****:****@db/k/.pulumi/locks/x.json, manual clean up may be required"));
    assert.ok(!lockLeftBehind(message));
  });

  it("lists and removes the lock entries of a file backend, and only that stack's", () => {
    const backend = parseBackend(`file://${dir}/state`, "test");
    assert.deepEqual(readLocks(backend, "site"), []);
    const put = (stack: string, id: string, pid: number) => {
      const file = path.join(backend.kind === "file" ? backend.dir : "", lockPrefix(stack), `${id}.json`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(holder(pid)));
    };
    put("site", "a", 11);
    put("rack1", "b", 12);
    const locks = readLocks(backend, "site");
    assert.deepEqual(locks.map((l) => [l.key, l.holder.pid]), [[".pulumi/locks/organization/kinetic/site/a.json", 11]]);
    assert.throws(() => removeLock(backend, "site", readLocks(backend, "rack1")[0].key), /not a lock of stack site/);
    removeLock(backend, "site", locks[0].key);
    assert.deepEqual(readLocks(backend, "site"), []);
    assert.equal(readLocks(backend, "rack1").length, 1);
    assert.throws(() => lockPrefix("../x"), /not a stack name/);
  });
});

describe("backend URLs", () => {
  it("file backends, the default and the variable", () => {
    assert.deepEqual(parseBackend("file:///var/lib/kinetic", "t"), { kind: "file", url: "file:///var/lib/kinetic", dir: "/var/lib/kinetic" });
    assert.equal(selectBackend(undefined, "/srv/state", {}).url, "file:///srv/state");
    assert.equal(selectBackend(undefined, "/srv/state", { KINETIC_BACKEND: "postgres://k@db/k" }).kind, "postgres");
    assert.equal(selectBackend("file:///x", "/srv/state", { KINETIC_BACKEND: "postgres://k@db/k" }).url, "file:///x", "--backend wins");
  });

  it("postgres: the table, and one clear line for what is refused", () => {
    const pg = parseBackend("postgres://kinetic@db:5432/kinetic?sslmode=verify-full&table=site_state", "t");
    assert.equal(pg.kind === "postgres" && pg.table, "site_state");
    // Pulumi prefixes every key with the URL's path: the lock entries are under "kinetic/".
    assert.equal(pg.kind === "postgres" && pg.keyPrefix, "kinetic/");
    const refused: [string, RegExp][] = [
      ["postgres://kinetic:s3cret-TEST@db/kinetic", /KINETIC_BACKEND: the URL carries a password; put it in PGPASSWORD or a passfile/],
      ["postgresql://kinetic@db/kinetic", /answers to postgres:\/\//],
      ["postgres://kinetic@db/kinetic?table=a;drop table x", /not a table name/],
      ["s3://bucket", /neither file:\/\/\/dir nor postgres:\/\//],
      ["mysql://u:pw-TEST@h/d", /mysql:\/\/u:\*\*\*\*@h\/d/],
    ];
    for (const [url, why] of refused) {
      assert.throws(() => parseBackend(url, "KINETIC_BACKEND"), (e: Error) => e instanceof BackendUrlError && why.test(e.message) && !e.message.includes("TEST") && !e.message.includes("\n"), url);
    }
  });
});
