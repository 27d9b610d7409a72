/** TLS settings for BMC connections: verified by default, anything weaker is an explicit opt-in. */
import { createHash } from "node:crypto";
import { ConnectionOptions, createSecureContext, SecureContext, SecureContextOptions } from "node:tls";

export interface BmcTlsOptions {
  /**
   * PEM CA bundle the BMC certificates must chain to (stack config `kinetic:bmcCaBundle`). When
   * absent, Node's built-in public roots are used, which BMC self-signed certificates will not pass:
   * that failure is intended, it names the fix.
   */
  caBundle?: string;
  /**
   * Skip certificate verification. Opt in per out-of-band network only, for BMCs still on factory
   * self-signed certificates. Default `false`.
   */
  insecure?: boolean;
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

/** Node/undici connect options for one BMC connection. */
export function tlsConnectOptions(tls: BmcTlsOptions = {}): ConnectionOptions {
  const out: ConnectionOptions = { rejectUnauthorized: tls.insecure !== true, secureContext: secureContextFor(tls) };
  if (tls.legacyCiphers === true) out.minVersion = "TLSv1";
  return out;
}

/** Error codes Node and OpenSSL use for a certificate or handshake problem. */
export function isTlsErrorCode(code: string): boolean {
  return (
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|HOSTNAME|IP_MISMATCH|EPROTO/.test(code)
  );
}
