/**
 * Where `kinetic backup` keeps what it took (issue 21): outside the cloud, on the operator's machine
 * (`$KINETIC_BACKUP_DIR/<stack>`, default `.kinetic/backups/<stack>`), one directory per backup
 * named by its UTC time, 0700, each part a 0600 file encrypted with AES-256-GCM under a key derived
 * (HKDF-SHA256) from the stack's `kinetic:backupSecret`, which the stack's secrets provider
 * encrypts: whoever copies the directory without the stack's secrets reads nothing. A manifest
 * (nothing secret: sizes, digests, where each part came from) says what a backup holds; a part
 * whose authentication tag does not match is refused whole, never half-restored.
 *
 * A part on disk: "KBK1" | 12-byte IV | ciphertext | 16-byte GCM tag. The IV is random per part and
 * the key is bound to the backup's id and the part's name, so parts cannot be swapped unnoticed.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform, TransformCallback } from "node:stream";
import { PROJECT_ROOT } from "../engine/paths";

const MAGIC = Buffer.from("KBK1");
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface BackupPart {
  /** The part's name, e.g. `mysql` (a file `<name>.enc`). */
  name: string;
  /** What it holds, for the operator. */
  what: string;
  /** The endpoint it was taken from. */
  from: string;
  /** Bytes of the plain text. */
  bytes: number;
  /** SHA-256 of the plain text (checked again after decryption). */
  sha256: string;
}

export interface BackupManifest {
  id: string;
  stack: string;
  takenAt: string;
  parts: BackupPart[];
}

export function backupRoot(stack: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.KINETIC_BACKUP_DIR ?? path.join(PROJECT_ROOT, ".kinetic", "backups"), stack);
}

/** A backup's id: its UTC time to the second, sortable (20261207T102300Z). */
export function backupId(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

function partKey(secret: string, id: string, part: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.from(id, "utf8"), Buffer.from(`kinetic-backup/v1/${part}`, "utf8"), 32));
}

/** A stream that encrypts what passes through into the part format, counting and hashing the plain text. */
export function encryptingStream(secret: string, id: string, part: string): Transform & { plainBytes(): number; plainSha256(): string } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", partKey(secret, id, part), iv);
  const hash = createHash("sha256");
  let bytes = 0;
  let digest = "";
  let started = false;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!started) {
        this.push(Buffer.concat([MAGIC, iv]));
        started = true;
      }
      bytes += chunk.length;
      hash.update(chunk);
      done(null, cipher.update(chunk));
    },
    flush(done: TransformCallback) {
      if (!started) this.push(Buffer.concat([MAGIC, iv]));
      const last = cipher.final();
      digest = hash.digest("hex");
      done(null, Buffer.concat([last, cipher.getAuthTag()]));
    },
  });
  return Object.assign(t, { plainBytes: () => bytes, plainSha256: () => digest });
}

/**
 * A part decrypted whole into `outFile` (0600), its tag and digest checked: on any mismatch the
 * file is removed and the error says so. Whole, not streamed, so a tampered or truncated part is
 * known before a byte of it reaches a database.
 */
export function decryptPart(secret: string, id: string, part: BackupPart, inFile: string, outFile: string): void {
  const data = fs.readFileSync(inFile);
  if (data.length < MAGIC.length + IV_BYTES + TAG_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error(`${inFile}: not a Kinetic backup part`);
  const iv = data.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
  const tag = data.subarray(data.length - TAG_BYTES);
  const body = data.subarray(MAGIC.length + IV_BYTES, data.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", partKey(secret, id, part.name), iv);
  decipher.setAuthTag(tag);
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new Error(`${inFile}: does not decrypt with this stack's kinetic:backupSecret (another stack's backup, a changed secret, or the file was altered)`);
  }
  const digest = createHash("sha256").update(plain).digest("hex");
  if (digest !== part.sha256) throw new Error(`${inFile}: decrypted, but its SHA-256 is not the manifest's`);
  fs.writeFileSync(outFile, plain, { mode: 0o600 });
}

/** The backups of a stack, oldest first (those with a readable manifest). */
export function listBackups(stack: string): BackupManifest[] {
  const root = backupRoot(stack);
  if (!fs.existsSync(root)) return [];
  const out: BackupManifest[] = [];
  for (const id of fs.readdirSync(root).sort()) {
    const file = path.join(root, id, "manifest.json");
    if (!fs.existsSync(file)) continue;
    try {
      out.push(JSON.parse(fs.readFileSync(file, "utf8")) as BackupManifest);
    } catch {
      // A directory a crash left without a complete manifest is not a backup.
    }
  }
  return out;
}

/** `latest` or an id, as the operator names it; throws one line when there is no such backup. */
export function findBackup(stack: string, name: string): BackupManifest {
  const all = listBackups(stack);
  const found = name === "latest" ? all[all.length - 1] : all.find((b) => b.id === name);
  if (!found) throw new Error(all.length ? `stack ${stack} has no backup ${name} (it has: ${all.map((b) => b.id).join(", ")})` : `stack ${stack} has no backup yet (kinetic backup --stack ${stack}) in ${backupRoot(stack)}`);
  return found;
}
