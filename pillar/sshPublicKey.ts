/**
 * One SSH public key line (`<type> <base64> [comment]`, sshd(8) AUTHORIZED_KEYS FILE FORMAT), checked
 * the way an SSH implementation parses it: the base64 decodes exactly and the blob names the same
 * key type as the line. Pure code, shared by the pillar validation and the program's host key pins.
 */
import { createHash } from "node:crypto";

// eslint-disable-next-line no-control-regex
const LINE = /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?: [^\u0000-\u001f\u007f]*)?$/;

/** The key blob of a public key line, or undefined when the line is not one well-formed key. */
export function publicKeyBlob(line: string): Buffer | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const blob = Buffer.from(m[2], "base64");
  if (blob.toString("base64") !== m[2] || blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (4 + n > blob.length || blob.subarray(4, 4 + n).toString("latin1") !== m[1]) return undefined;
  return blob;
}

/** `SHA256:<base64, no padding>`, as `ssh-keygen -l` and the command provider's mismatch error print it. */
export function fingerprint(line: string): string {
  const blob = publicKeyBlob(line);
  if (!blob) throw new Error("not an SSH public key line");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}
