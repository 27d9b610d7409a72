/**
 * Backups at rest (cli/backupStore.ts, issue 21): what the operator's machine keeps is unreadable
 * without the stack's backup secret, and a part that was altered, truncated, swapped with another
 * backup's or decrypted with another secret is refused whole, never handed on in part.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BackupPart, backupId, decryptPart, encryptingStream, findBackup, listBackups } from "../cli/backupStore";

describe("kinetic backup: parts at rest", () => {
  let dir: string;
  const SECRET = "the stack's backup secret";
  const plain = Buffer.concat([Buffer.from("CREATE TABLE t (id INT PRIMARY KEY);\n"), Buffer.alloc(300_000, "INSERT INTO t VALUES (1);\n")]);

  async function seal(id: string, part: string, secret = SECRET): Promise<{ file: string; meta: BackupPart }> {
    const file = path.join(dir, `${id}-${part}.enc`);
    const enc = encryptingStream(secret, id, part);
    // Several chunks, as a dump arrives from ssh.
    await pipeline(Readable.from([plain.subarray(0, 1000), plain.subarray(1000, 200_000), plain.subarray(200_000)]), enc, fs.createWriteStream(file, { mode: 0o600 }));
    return { file, meta: { name: part, what: "test", from: "mysql-x", bytes: enc.plainBytes(), sha256: enc.plainSha256() } };
  }

  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-backup-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("round-trips, and nothing of the plain text is on disk", async () => {
    const { file, meta } = await seal("20261207T100000Z", "mysql");
    assert.equal(meta.bytes, plain.length);
    const sealed = fs.readFileSync(file);
    assert.ok(!sealed.includes("INSERT INTO") && !sealed.includes("CREATE TABLE"));
    const out = path.join(dir, "plain");
    decryptPart(SECRET, "20261207T100000Z", meta, file, out);
    assert.ok(fs.readFileSync(out).equals(plain));
    assert.equal((fs.statSync(out).mode & 0o777).toString(8), "600");
  });

  it("refuses another secret, one altered byte, a truncated file, or a part of another backup, writing nothing", async () => {
    const id = "20261207T100000Z";
    const { file, meta } = await seal(id, "mysql");
    const out = path.join(dir, "plain");
    assert.throws(() => decryptPart("another secret", id, meta, file, out), /does not decrypt with this stack's kinetic:backupSecret/);
    const sealed = fs.readFileSync(file);
    const altered = Buffer.from(sealed);
    altered[5000] ^= 0x80;
    fs.writeFileSync(file, altered);
    assert.throws(() => decryptPart(SECRET, id, meta, file, out), /does not decrypt/);
    fs.writeFileSync(file, sealed.subarray(0, sealed.length - 10));
    assert.throws(() => decryptPart(SECRET, id, meta, file, out), /does not decrypt/);
    fs.writeFileSync(file, sealed);
    assert.throws(() => decryptPart(SECRET, "20261208T100000Z", meta, file, out), /does not decrypt/, "the key is bound to the backup's id");
    const other = await seal(id, "ovsdb");
    assert.throws(() => decryptPart(SECRET, id, meta, other.file, out), /does not decrypt/, "and to the part's name");
    assert.throws(() => decryptPart(SECRET, id, { ...meta, sha256: "0".repeat(64) }, file, out), /SHA-256 is not the manifest's/);
    assert.equal(fs.existsSync(out), false, "no plain text was written by a refused part");
  });

  it("lists complete backups only, oldest first; latest is the newest", () => {
    const old = process.env.KINETIC_BACKUP_DIR;
    process.env.KINETIC_BACKUP_DIR = dir;
    try {
      const root = path.join(dir, "s");
      for (const id of ["20261207T100000Z", "20261206T100000Z"]) {
        fs.mkdirSync(path.join(root, id), { recursive: true });
        fs.writeFileSync(path.join(root, id, "manifest.json"), JSON.stringify({ id, stack: "s", takenAt: "", parts: [] }));
      }
      fs.mkdirSync(path.join(root, "20261208T100000Z.partial"));
      assert.deepEqual(listBackups("s").map((b) => b.id), ["20261206T100000Z", "20261207T100000Z"]);
      assert.equal(findBackup("s", "latest").id, "20261207T100000Z");
      assert.throws(() => findBackup("s", "20261201T000000Z"), /stack s has no backup 20261201T000000Z \(it has: 20261206T100000Z, 20261207T100000Z\)/);
      assert.throws(() => findBackup("t", "latest"), /stack t has no backup yet/);
      assert.match(backupId(new Date("2026-12-07T10:23:45.678Z")), /^20261207T102345Z$/);
    } finally {
      if (old === undefined) delete process.env.KINETIC_BACKUP_DIR;
      else process.env.KINETIC_BACKUP_DIR = old;
    }
  });
});
