/**
 * SSH host keys the program makes for the machines it installs (virtual and physical endpoints).
 *
 * The program keeps no state of its own, so a key is *derived*, not drawn: the 32-byte ed25519 seed
 * is HMAC-SHA256(host key secret, "kinetic-host-key/v1/<endpoint>/<generation>"). The same stack
 * secret, endpoint and generation give the same key on every run; a new generation (a changed
 * machine definition, see virtualMachine.ts) gives an unrelated one. Only the public half is ever a
 * plain value; the private half exists as a `pulumi.secret` Output and inside secret stdin.
 *
 * Formats: the private key is OpenSSH's own `openssh-key-v1` container, unencrypted, which is what
 * sshd and cloud-init's `ssh_keys` expect (PROTOCOL.key in OpenSSH's sources); the public key is one
 * authorized_keys-style line, what `connection.hostKey` of the command provider takes.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash, createHmac, createPrivateKey, createPublicKey } from "node:crypto";

export interface HostKeyPair {
  /** `ssh-ed25519 <base64> <comment>`. */
  publicKey: string;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` ... (unencrypted). */
  privateKey: string;
}

/** A generated key as the program holds it: the private half is a secret Output only. */
export interface GeneratedHostKey {
  /** Public line (not secret: it is what the program pins and shows). */
  publicKey: pulumi.Output<string>;
  /** Private key, marked secret. */
  privateKey: pulumi.Output<string>;
}

const ED25519 = "ssh-ed25519";
/** DER prefix of a PKCS#8 ed25519 private key; the 32-byte seed follows (RFC 8410). */
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

const sshString = (b: Buffer | string): Buffer => {
  const body = typeof b === "string" ? Buffer.from(b, "utf8") : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};
const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** The ed25519 key pair of a 32-byte seed, in OpenSSH formats. `comment` goes on both halves. */
export function ed25519FromSeed(seed: Buffer, comment: string): HostKeyPair {
  if (seed.length !== 32) throw new Error("an ed25519 seed is 32 bytes");
  if (/[\r\n]/.test(comment)) throw new Error("a key comment is one line");
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
  const pub = createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(-32);
  const blob = Buffer.concat([sshString(ED25519), sshString(pub)]);
  // The check integers only detect a wrong passphrase; fixed by the seed so the text is stable.
  const check = createHash("sha256").update("kinetic-check").update(seed).digest().readUInt32BE(0);
  let section = Buffer.concat([uint32(check), uint32(check), sshString(ED25519), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const container = Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), sshString("none"), sshString("none"), sshString(""), uint32(1), sshString(blob), sshString(section)]);
  const body = container.toString("base64").replace(/.{1,70}/g, "$&\n");
  return {
    publicKey: `${ED25519} ${blob.toString("base64")}${comment ? ` ${comment}` : ""}`,
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}-----END OPENSSH PRIVATE KEY-----\n`,
  };
}

/** The key of one endpoint and generation under a stack's host key secret. */
export function deriveHostKey(secret: string, endpoint: string, generation: string): HostKeyPair {
  if (!secret) throw new Error("the host key secret is empty");
  const seed = createHmac("sha256", secret).update(`kinetic-host-key/v1/${endpoint}/${generation}`).digest();
  return ed25519FromSeed(seed, `root@${endpoint}`);
}

/** The same key as Outputs: public half plain (unsecret), private half secret. */
export function generatedHostKey(secret: pulumi.Output<string>, endpoint: string, generation: pulumi.Input<string>): GeneratedHostKey {
  const pair = pulumi.all([secret, generation]).apply(([s, g]) => deriveHostKey(s, endpoint, g));
  return {
    publicKey: pulumi.unsecret(pair.apply((p) => p.publicKey)),
    privateKey: pulumi.secret(pair.apply((p) => p.privateKey)),
  };
}

export { fingerprint, publicKeyBlob } from "../pillar/sshPublicKey";
