/**
 * A throw-away PKI for tests: a CA, a server certificate signed by it and a
 * self-signed "wrong" certificate, made with the `openssl` CLI (Debian package
 * `openssl`, listed in .ci/packages).
 *
 * Which addresses the server certificate covers: clients connect to BMCs by IP
 * literal, so there is no SNI and every name must be an IP SAN. Wildcards do not
 * exist for IP SANs, so `serverCert` lists every address of DEFAULT_SERVER_RANGES
 * explicitly (127.0.0.1, 127.0.0.0/22 and 127.20.0.0/24, the dev pillar's oob
 * subnet: 1,280 SANs, about 8 KB). For any other 127.x.y.z address call
 * `issueServerCert(pki, address)`, which signs a certificate for just that
 * address with the same key and caches it in `pki.dir`; the simulator does this
 * by itself for BMCs outside the default ranges.
 */
import { execFile, execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

export interface TestPki {
  /** Directory holding every PEM file below (ca.pem, server.key, ...). */
  dir: string;
  /** PEM of the test CA; also written to `caPath`. */
  caCert: string;
  serverKey: string;
  /** Signed by the CA; IP SANs for every address of DEFAULT_SERVER_RANGES. */
  serverCert: string;
  wrongKey: string;
  /** Self-signed (not by the CA), with the same IP SANs as serverCert. */
  wrongCert: string;
  /** Path of caCert on disk, for clients that want a file (curl, python requests). */
  caPath: string;
}

/** CIDR ranges whose every address is an IP SAN of `serverCert`. */
export const DEFAULT_SERVER_RANGES: readonly string[] = ["127.0.0.1/32", "127.0.0.0/22", "127.20.0.0/24"];

/** An address no simulated BMC uses: certificates for it are "for the wrong name". */
export const WRONG_NAME_ADDRESS = "127.255.255.254";

const execFileAsync = promisify(execFile);

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Every address of an IPv4 CIDR range, network and broadcast included. */
export function addressesOf(cidr: string): string[] {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText ?? "32");
  const octets = base.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !(bits >= 16 && bits <= 32)) {
    throw new Error(`addressesOf: ${cidr} is not an IPv4 CIDR range of /16 or smaller`);
  }
  const start = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const size = 2 ** (32 - bits);
  const first = start - (start % size);
  const out: string[] = [];
  for (let i = 0; i < size; i++) {
    const n = first + i;
    out.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join("."));
  }
  return out;
}

function sanConfig(addresses: readonly string[]): string {
  const lines = ["[req]", "distinguished_name = dn", "prompt = no", "[dn]", "CN = kinetic-test-bmc", "[ext]",
    "basicConstraints = critical,CA:FALSE", "keyUsage = critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage = serverAuth", "subjectAltName = @alt", "[alt]"];
  addresses.forEach((a, i) => lines.push(`IP.${i + 1} = ${a}`));
  return lines.join("\n") + "\n";
}

/**
 * Create the PKI in `dir` (a fresh temporary directory by default). Synchronous:
 * five openssl runs with EC P-256 keys, about 50 ms.
 */
export function createTestPki(dir?: string): TestPki {
  const root = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pki-"));
  fs.mkdirSync(root, { recursive: true });
  const sans = [...new Set(DEFAULT_SERVER_RANGES.flatMap(addressesOf))];
  fs.writeFileSync(path.join(root, "server.cnf"), sanConfig(sans));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
    "-subj", "/CN=Kinetic test CA", "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], root);
  openssl(["req", "-new", ...ec, "-keyout", "server.key", "-out", "server.csr", "-config", "server.cnf"], root);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.pem", "-days", "30", "-extfile", "server.cnf", "-extensions", "ext"], root);
  // Same SANs, but self-signed: only the chain is wrong, so a client that fails
  // here fails because it verifies the issuer.
  openssl(["req", "-x509", ...ec, "-keyout", "wrong.key", "-out", "wrong.pem", "-days", "30",
    "-config", "server.cnf", "-extensions", "ext"], root);
  const read = (f: string): string => fs.readFileSync(path.join(root, f), "utf8");
  return {
    dir: root, caCert: read("ca.pem"), caPath: path.join(root, "ca.pem"),
    serverKey: read("server.key"), serverCert: read("server.pem"),
    wrongKey: read("wrong.key"), wrongCert: read("wrong.pem"),
  };
}

/** True when `cert` (PEM) names `address` in its IP SANs. */
export function certCovers(cert: string, address: string): boolean {
  return new X509Certificate(cert).checkIP(address) !== undefined;
}

const issued = new Map<string, Promise<string>>();

/**
 * A CA-signed certificate (PEM) for exactly one IP address, with `pki.serverKey`
 * as its key. Cached in memory and in `pki.dir/addr-<CA fingerprint>-<address>.pem`
 * (the fingerprint keeps a re-created CA in the same dir from reusing
 * certificates of the old one); concurrent calls run openssl in parallel (one
 * process each, about 10 ms).
 */
export function issueServerCert(pki: TestPki, address: string): Promise<string> {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) {
    return Promise.reject(new Error(`issueServerCert: ${address} is not a 127.0.0.0/8 address`));
  }
  const ca = new X509Certificate(pki.caCert).fingerprint256.replace(/:/g, "").slice(0, 12);
  const file = path.join(pki.dir, `addr-${ca}-${address}.pem`);
  const key = `${pki.dir}|${ca}|${address}`;
  let cert = issued.get(key);
  if (!cert) {
    cert = (async () => {
      if (!fs.existsSync(file)) {
        await execFileAsync("openssl", ["req", "-new", "-key", "server.key", "-subj", `/CN=${address}`,
          "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "30", "-out", file,
          "-addext", `subjectAltName=IP:${address}`, "-addext", "basicConstraints=critical,CA:FALSE",
          "-addext", "extendedKeyUsage=serverAuth"], { cwd: pki.dir });
      }
      return fs.readFileSync(file, "utf8");
    })();
    issued.set(key, cert);
    cert.catch(() => issued.delete(key));
  }
  return cert;
}
