/**
 * TLS settings for BMC connections: verified by default, anything weaker is an explicit opt-in, and
 * every connection's certificate fingerprint is observed so it can be pinned (trust on first use,
 * like SSH's known_hosts).
 */
import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { ConnectionOptions, createSecureContext, SecureContext, SecureContextOptions } from "node:tls";

export interface BmcTlsOptions {
  /**
   * PEM CA bundle the BMC certificates must chain to (stack config `kinetic:bmcCaBundle`, CLI `--ca`).
   * When absent, Node's built-in public roots are used, which BMC self-signed certificates will not
   * pass: that failure is intended, it names the fix.
   */
  caBundle?: string;
  /**
   * Skip certificate verification. Opt in per out-of-band network only (`kinetic:bmcInsecureNetworks`,
   * CLI `--insecure`). A pin, when given, is still enforced. Default `false`.
   */
  insecure?: boolean;
  /**
   * Check that the certificate names the address we connected to. Default `true`. `false` verifies
   * the chain against `caBundle` only: real BMC certificates name a host name while discovery reaches
   * BMCs by address (`kinetic:bmcCaOnlyNetworks`, CLI `--ca-only`).
   */
  verifyName?: boolean;
  /**
   * Trust on first use: accept a certificate no CA vouches for when there is no pin yet (its
   * fingerprint is recorded by discovery and required from then on). Per network
   * (`kinetic:bmcTofuNetworks`, CLI `--tofu`). Default `false`.
   */
  trustOnFirstUse?: boolean;
  /**
   * SHA-256 fingerprint of the certificate the BMC must present (`AB:CD:...`, as recorded in the
   * discovery resource's `certSha256`; colons and case do not matter). Checked on every connection,
   * in every verification mode.
   */
  pinSha256?: string;
  /**
   * Accept TLS 1.0/1.1 and the legacy ciphers older BMC firmware still offers (OpenSSL security level 0).
   * Default `false`.
   */
  legacyCiphers?: boolean;
}

/**
 * One secure context per distinct settings, shared by every connection of the process. Without it
 * Node parses the CA bundle again for each TLS connection, which dominated the CPU time of a scan.
 */
const contexts = new Map<string, SecureContext>();

function secureContextFor(tls: BmcTlsOptions): SecureContext {
  const options: SecureContextOptions = {};
  if (tls.caBundle !== undefined && tls.caBundle.trim() !== "") options.ca = tls.caBundle;
  if (tls.legacyCiphers === true) {
    // Old iDRAC 7/8 and iLO 4 firmware only speak TLS 1.0/1.1 with RSA key exchange.
    options.minVersion = "TLSv1";
    options.ciphers = "DEFAULT:@SECLEVEL=0";
  }
  const key = createHash("sha256").update(JSON.stringify(options)).digest("hex");
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = createSecureContext(options);
    contexts.set(key, ctx);
  }
  return ctx;
}

/** Node/undici connect options for one BMC connection (the pin is checked by the client's connector). */
export function tlsConnectOptions(tls: BmcTlsOptions = {}): ConnectionOptions {
  const out: ConnectionOptions = {
    // Trust on first use and insecure both mean: no CA decides. The pin (if any) is checked afterwards.
    rejectUnauthorized: tls.insecure !== true && tls.trustOnFirstUse !== true,
    secureContext: secureContextFor(tls),
  };
  if (tls.verifyName === false) out.checkServerIdentity = () => undefined;
  if (tls.legacyCiphers === true) out.minVersion = "TLSv1";
  return out;
}

/** `AB:CD:...` upper case, whatever colons and case the input had; `undefined` if it is not 32 bytes of hex. */
export function normalizeFingerprint(fp: string): string | undefined {
  const hex = fp.replace(/^sha256:/i, "").replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(":");
}

/** The SHA-256 fingerprint of a peer certificate, `AB:CD:...`. */
export function fingerprintOf(cert: PeerCertificate | undefined): string | undefined {
  if (!cert || !cert.raw) return undefined;
  return normalizeFingerprint(createHash("sha256").update(cert.raw).digest("hex"));
}

/** Which TLS check failed, from a Node/OpenSSL error. */
export type TlsCheck = "chain" | "name" | "expired" | "not-tls" | "pin" | "handshake";

const CHAIN_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REJECTED",
  "INVALID_CA",
]);

export function classifyTlsError(code: string, message: string): TlsCheck {
  if (code === "KINETIC_REDFISH_TLS_PIN") return "pin";
  if (CHAIN_CODES.has(code)) return "chain";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || /HOSTNAME_MISMATCH|IP_MISMATCH/.test(code)) return "name";
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return "expired";
  // A plain-HTTP server answers the ClientHello with "HTTP/1.1 400": OpenSSL reads that as a record
  // with a wrong version or an absurd length.
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code) || /wrong version number|packet length too long|http request/i.test(message)) return "not-tls";
  return "handshake";
}

/** Error codes Node and OpenSSL use for a certificate or handshake problem. */
export function isTlsErrorCode(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|HOSTNAME|IP_MISMATCH|EPROTO|INVALID_CA|KINETIC_REDFISH_TLS_PIN/.test(code);
}
