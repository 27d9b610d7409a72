/**
 * The PostgreSQL state backend under the real engine, against a real PostgreSQL server (TLS with
 * sslmode=verify-full, a test CA, the password in a passfile): state written and read back, the
 * stored rows searched for every secret, two ups at once, a run killed with SIGKILL and
 * `kinetic unlock`, the database restarted in the middle of an up, and `kinetic state migrate`
 * from the file backend.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ConfigMap, Stack } from "@pulumi/pulumi/automation";
import { Backend, BackendUrlError, describeBackend, parseBackend } from "../../engine/backend";
import { openStack } from "../../engine/stack";
import { holderLiveness, lockLeftBehind, lockRefusal, readLocks, refusalLine } from "../../engine/stackLock";
import { migrate, unlockCommand } from "../../cli/state";
import { requirePrerequisite } from "../support/prerequisite";
import { postgresUnavailable, startPostgres, TestPostgres } from "../support/postgres";
import { markerProgram, MarkerOptions, PLAIN_MARKER, SECRET_LITERAL, TOKEN_KEY } from "./markerProgram";
import { PASSPHRASE, testEngine } from "./scratch";

const TOKEN = "config-token-Hk72-TEST";
const CONFIG: ConfigMap = { [TOKEN_KEY]: { value: TOKEN, secret: true } };

describe("engine: state in PostgreSQL, with locking", function () {
  this.timeout(10 * 60_000);
  let pg: TestPostgres | undefined;
  let dir: string;
  let backend: Backend;
  const savedEnv = { PGPASSFILE: process.env.PGPASSFILE };

  before(async function () {
    requirePrerequisite(this, postgresUnavailable(), "the PostgreSQL backend (a real PostgreSQL server)");
    await testEngine();
    pg = await startPostgres();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-engine-pg-"));
    // The password reaches the engine (lib/pq) and psql (kinetic unlock) only through the passfile.
    process.env.PGPASSFILE = pg.passfile;
    backend = parseBackend(pg.url, "test");
  });
  after(() => {
    if (savedEnv.PGPASSFILE === undefined) delete process.env.PGPASSFILE;
    else process.env.PGPASSFILE = savedEnv.PGPASSFILE;
    pg?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // testEngine() is cached: after before(), this is the stack's workspace only.
  const stackOn = async (stack: string, opts: MarkerOptions, url = pg!.url): Promise<Stack> =>
    openStack({ engine: await testEngine(), stack, program: markerProgram(opts), backendUrl: url, passphrase: PASSPHRASE, workDir: dir, config: CONFIG });

  /** Every row of the state table, as stored and with each blob decoded (and decompressed). */
  const storedRows = (): { key: string; raw: string; decoded: string }[] =>
    pg!
      .sql("COPY (SELECT key, data::text FROM pulumi_state ORDER BY key) TO STDOUT WITH (FORMAT csv);")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const key = line.slice(0, line.indexOf(","));
        const raw = line.slice(line.indexOf(",") + 1).replace(/^"|"$/g, "").replace(/""/g, '"');
        let bytes = Buffer.from((JSON.parse(raw) as { data: string }).data, "base64");
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
        return { key, raw, decoded: bytes.toString("utf8") };
      });

  const changes = (summary: { resourceChanges?: Record<string, number> }) =>
    Object.fromEntries(Object.entries(summary.resourceChanges ?? {}).filter(([op]) => op !== "same"));

  /** Processes whose command line holds `needle` (argv is readable by every user of the machine). */
  const argvHolding = (needle: string): string[] =>
    fs
      .readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((p) => {
        try {
          const cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8");
          return cmd.includes(needle) ? [`${p}: ${cmd.split("\0").join(" ").slice(0, 120)}`] : [];
        } catch {
          return [];
        }
      });

  const toSecond = (rfc3339: string) => rfc3339.replace(/\.\d+Z$/, "Z");

  const waitFor = async (what: string, ok: () => boolean, ms = 120_000): Promise<void> => {
    const until = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  it("takes the backend from a URL without a password, verifies the server, and refuses a wrong CA", async () => {
    assert.throws(() => parseBackend("postgres://kinetic:hunter2-TEST@db/kinetic", "KINETIC_BACKEND"), (e: Error) => e instanceof BackendUrlError && /PGPASSWORD|PGPASSFILE/.test(e.message) && !e.message.includes("hunter2"));
    assert.throws(() => parseBackend("postgres://kinetic@db/kinetic?table=x;drop", "--backend"), /not a table name/);
    assert.equal(describeBackend(backend).warning, undefined);
    assert.match(describeBackend(parseBackend("postgres://kinetic@db/kinetic?sslmode=require", "t")).warning!, /not verified.*verify-full/);
    const wrong = pg!.url.replace(encodeURIComponent(pg!.caPath), encodeURIComponent(pg!.wrongCaPath));
    assert.notEqual(wrong, pg!.url);
    await assert.rejects(stackOn("wrongca", { names: ["a"] }, wrong), /certificate/i);
    // Without TLS the server has no entry for the role at all.
    await assert.rejects(stackOn("notls", { names: ["a"] }, pg!.url.replace("sslmode=verify-full", "sslmode=disable")), /pg_hba|no encryption|SSL off/i);
  });

  it("writes the state to the table and reads it back; a second up changes nothing", async () => {
    const names = ["state-a", "state-b"];
    const first = await stackOn("pgstate", { names });
    const up = await first.up();
    assert.equal(up.outputs.token.value, TOKEN);
    assert.ok(storedRows().some((r) => r.key === "kinetic/.pulumi/stacks/kinetic/pgstate.json"), "the checkpoint is a row of pulumi_state");
    // Read back through a fresh workspace: the state comes from the database, not from this process.
    const again = await stackOn("pgstate", { names });
    const outputs = await again.outputs();
    assert.equal(outputs.literal.value, SECRET_LITERAL);
    assert.equal(outputs.plain.value, PLAIN_MARKER);
    const second = await again.up();
    assert.deepEqual(changes(second.summary), {});
    assert.equal(second.summary.resourceChanges?.same, names.length + 1, "the stack and its markers, unchanged");
  });

  it("stores no secret value in plain text (each searched in the rows as stored and decoded)", () => {
    const rows = storedRows();
    const decoded = rows.map((r) => r.decoded).join("\n");
    // The search can fail: the plain output is there to be found, and the secrets are there as ciphertext.
    assert.ok(decoded.includes(PLAIN_MARKER), "the decoded rows hold the stack's plain output");
    assert.ok(decoded.includes('"ciphertext"'), "the decoded rows hold secrets as ciphertext");
    for (const secret of [TOKEN, SECRET_LITERAL, PASSPHRASE, pg!.password]) {
      for (const r of rows) {
        assert.ok(!r.raw.includes(secret), `${r.key} holds a secret as stored`);
        assert.ok(!r.decoded.includes(secret), `${r.key} holds a secret in plain text`);
        assert.ok(!r.decoded.includes(Buffer.from(secret).toString("base64")), `${r.key} holds a secret in base64`);
      }
    }
  });

  it("refuses a second up of the same stack at once, naming who holds the lock and since when", async () => {
    const opts = { names: ["lock-a", "lock-b"], pauseAfter: 0, pauseMs: 30_000 };
    const first = await stackOn("pglock", opts);
    const second = await stackOn("pglock", opts);
    let firstEnded = false;
    const running = first.up().finally(() => (firstEnded = true));
    await waitFor("the first up's lock", () => readLocks(backend, "pglock").length === 1);
    const [lock] = readLocks(backend, "pglock");
    assert.equal(lock.holder.hostname, os.hostname());
    assert.equal(holderLiveness(lock.holder).alive, true);
    assert.deepEqual(argvHolding(pg!.password), [], "the database password is in no process's arguments");

    const started = Date.now();
    const refused = await second.up().then(
      () => assert.fail("the second up ran while the first held the stack"),
      (e: Error) => e,
    );
    const waited = Date.now() - started;
    const holders = lockRefusal(refused.message);
    assert.ok(holders, `refused for another reason: ${refused.message.slice(0, 400)}`);
    // The engine prints the start time to the second (RFC 3339); the entry has nanoseconds.
    assert.deepEqual(holders, [{ ...lock.holder, timestamp: toSecond(lock.holder.timestamp) }], "names the first run's user, host, pid and start time");
    assert.ok(!firstEnded, `refused after ${waited} ms, once the first run had ended: it waited instead of refusing`);
    process.stderr.write(`      (refused after ${waited} ms, the first run still holding the stack)\n`);
    const line = refusalLine(holders!, "pglock");
    assert.match(line, new RegExp(`locked by another run: \\S+@${os.hostname()} \\(pid ${lock.holder.pid}\\) since ${toSecond(lock.holder.timestamp)}`));
    assert.match(line, /kinetic unlock --stack pglock/);

    const done = await running;
    assert.equal(done.summary.result, "succeeded");
    assert.deepEqual(readLocks(backend, "pglock"), [], "the first run released its lock");
  });

  it("a run killed with SIGKILL leaves its lock; kinetic unlock removes it only once no run is alive", async () => {
    const names = ["kill-a", "kill-b"];
    // The stack and its config exist before the child opens it (one writer of Pulumi.pgkill.yaml).
    await stackOn("pgkill", { names });
    const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(__dirname, "slowUpChild.ts")], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KINETIC_TEST_UP: JSON.stringify({ stack: "pgkill", workDir: dir, backendUrl: pg!.url, names, pauseAfter: 0, pauseMs: 120_000 }) },
    });
    let output = "";
    child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    try {
      await waitFor("the child's lock", () => readLocks(backend, "pgkill").length === 1);
    } catch (e) {
      process.kill(-child.pid!, "SIGKILL");
      throw new Error(`${(e as Error).message}; child output:\n${output}`);
    }
    const [lock] = readLocks(backend, "pgkill");

    // While the run is alive, unlock refuses and the lock stays.
    assert.equal(await unlockCommand(["--stack", "pgkill", "--backend", pg!.url]), 75);
    assert.equal(readLocks(backend, "pgkill").length, 1);

    process.kill(-child.pid!, "SIGKILL");
    await exited;
    await waitFor("the engine process to be gone", () => holderLiveness(lock.holder).alive === false, 30_000);
    assert.deepEqual(readLocks(backend, "pgkill"), [lock], "the dead run's lock is left behind");
    const refused = await (await stackOn("pgkill", { names })).up().then(
      () => assert.fail("an up ran over a dead run's lock"),
      (e: Error) => e,
    );
    assert.deepEqual(lockRefusal(refused.message), [{ ...lock.holder, timestamp: toSecond(lock.holder.timestamp) }]);

    // A holder on another host cannot be checked from here: only naming that host removes it.
    const foreign = `kinetic/.pulumi/locks/organization/kinetic/pgkill/00000000-0000-4000-8000-000000000001.json`;
    const content = JSON.stringify({ pid: 4242, username: "ops", hostname: "rack-ops-7", timestamp: new Date().toISOString() });
    pg!.sql(`INSERT INTO pulumi_state (key, data) VALUES ('${foreign}', '{"data": "${Buffer.from(content).toString("base64")}"}');`);
    assert.equal(await unlockCommand(["--stack", "pgkill", "--backend", pg!.url]), 75);
    assert.equal(readLocks(backend, "pgkill").length, 2, "nothing removed while one holder is unconfirmed");
    assert.equal(await unlockCommand(["--stack", "pgkill", "--backend", pg!.url, "--holder-gone", "rack-ops-7"]), 0);
    assert.deepEqual(readLocks(backend, "pgkill"), []);

    const up = await (await stackOn("pgkill", { names })).up();
    assert.equal(up.summary.result, "succeeded");
    assert.deepEqual((await (await stackOn("pgkill", { names })).up()).summary.resourceChanges, { same: names.length + 1 });
  });

  it("the database restarted in the middle of an up: the run fails clearly, the next up converges, nothing lost", async () => {
    const names = ["restart-a", "restart-b", "restart-c"];
    const stack = await stackOn("pgrestart", { names, pauseAfter: 0, pauseMs: 10_000 });
    const recorded = (urnPart: string) => storedRows().some((r) => r.key === "kinetic/.pulumi/stacks/kinetic/pgrestart.json" && r.decoded.includes(urnPart));
    const running = stack.up();
    // The run has begun recording restart-a (a row), then the database goes away while the
    // program is paused, and comes back once the run has ended.
    await waitFor("restart-a's first checkpoint", () => recorded("::restart-a"));
    pg!.stop();
    let failure: Error | undefined;
    try {
      await running;
    } catch (e) {
      failure = e as Error;
    } finally {
      pg!.start();
    }
    assert.ok(failure, "the run succeeded while its database was down");
    assert.match(failure.message, /failed to save snapshot.*connection refused/);
    assert.ok(lockLeftBehind(failure.message), "the engine says it could not remove its lock");

    // The database kept what the run recorded before it went away.
    assert.ok(recorded("::restart-a"));
    // The run could not remove its lock while the database was down: it is left, its run gone,
    // and the next up is refused until kinetic unlock has checked that and removed it.
    const left = readLocks(backend, "pgrestart");
    assert.equal(left.length, 1);
    assert.equal(holderLiveness(left[0].holder).alive, false);
    await assert.rejects((await stackOn("pgrestart", { names })).up(), (e: Error) => lockRefusal(e.message)?.length === 1);
    assert.equal(await unlockCommand(["--stack", "pgrestart", "--backend", pg!.url]), 0);

    const next = await (await stackOn("pgrestart", { names })).up();
    assert.equal(next.summary.result, "succeeded");
    for (const n of names) assert.ok(recorded(`::${n}`), `${n} recorded`);
    assert.equal(next.outputs.token.value, TOKEN);
    assert.deepEqual((await (await stackOn("pgrestart", { names })).up()).summary.resourceChanges, { same: names.length + 1 });
  });

  it("kinetic state migrate moves a stack from the file backend; the next up there changes nothing", async () => {
    const names = ["moved-a", "moved-b"];
    const fileBackend = parseBackend(`file://${path.join(dir, "filestate")}`, "test");
    const onFile = await stackOn("moved", { names }, fileBackend.url);
    await onFile.up();
    assert.equal(await migrate({ stack: "moved", from: fileBackend, to: backend, passphrase: PASSPHRASE, workDir: dir }), 0);

    const onPg = await stackOn("moved", { names });
    const outputs = await onPg.outputs();
    assert.equal(outputs.token.value, TOKEN, "the secrets decrypt under the same passphrase provider");
    const up = await onPg.up();
    assert.deepEqual(up.summary.resourceChanges, { same: names.length + 1 });
    const stored = storedRows().find((r) => r.key === "kinetic/.pulumi/stacks/kinetic/moved.json");
    assert.ok(stored, "the stack's checkpoint is a row now");
    assert.ok(!stored.decoded.includes(TOKEN) && !stored.decoded.includes(SECRET_LITERAL), "moved as ciphertext");
    // A second migrate would import over the record there: refused.
    assert.equal(await migrate({ stack: "moved", from: fileBackend, to: backend, passphrase: PASSPHRASE, workDir: dir }), 65);
  });
});
