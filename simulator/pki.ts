/**
 * A throw-away PKI for tests: a CA, a server certificate signed by it and a
 * self-signed "wrong" certificate, made with the `openssl` CLI (Debian package
 * `openssl`, listed in .ci/packages).
 *
 * Which addresses the server certificate covers: clients connect to BMCs by IP
 * literal, so there is no SNI and every name must be an IP SAN. Wildcards do not
 * exist for IP SANs, so `serverCert` lists every address of DEFAULT_SERVER_RANGES
 * explicitly (127.0.0.1, 127.0.0.0/22 and 127.20.0.0/24, the dev pillar's oob
 * subnet: 1,280 SANs, about 8 KB). For other 127.x.y.z addresses call
 * `issueServerCertFor(pki, addresses)`, which signs one certificate for exactly
 * those addresses with the same key and caches it in `pki.dir`; the simulator
 * does this by itself, once per start, for the BMCs outside the default ranges.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
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
  return readTestPki(root);
}

/** A PKI that createTestPki made earlier in `dir` (the lab keeps its BMCs' CA across starts). */
export function readTestPki(dir: string): TestPki {
  const read = (f: string): string => fs.readFileSync(path.join(dir, f), "utf8");
  return {
    dir, caCert: read("ca.pem"), caPath: path.join(dir, "ca.pem"),
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
 * One CA-signed certificate (PEM) whose IP SANs are exactly `addresses`, with
 * `pki.serverKey` as its key: one openssl run (about 15 ms) however many
 * addresses, so 64 BMCs outside the default ranges still start at once.
 * Cached in memory and in `pki.dir/addr-<CA fingerprint>-<hash of the set>.pem`
 * (the fingerprint keeps a CA re-created in the same dir from reusing the old
 * one's certificates).
 */
export function issueServerCertFor(pki: TestPki, addresses: readonly string[]): Promise<string> {
  const set = [...new Set(addresses)].sort();
  const bad = set.find((a) => !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a));
  if (bad !== undefined || set.length === 0) {
    return Promise.reject(new Error(`issueServerCertFor: ${bad ?? "no address"} is not a 127.0.0.0/8 address`));
  }
  const ca = new X509Certificate(pki.caCert).fingerprint256.replace(/:/g, "").slice(0, 12);
  const digest = createHash("sha1").update(set.join(",")).digest("hex").slice(0, 16);
  const file = path.join(pki.dir, `addr-${ca}-${set.length === 1 ? set[0] : digest}.pem`);
  let cert = issued.get(file);
  if (!cert) {
    cert = (async () => {
      if (!fs.existsSync(file)) {
        await execFileAsync("openssl", ["req", "-new", "-key", "server.key", "-subj", `/CN=${set[0]}`,
          "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "30", "-out", file,
          "-addext", `subjectAltName=${set.map((a) => `IP:${a}`).join(",")}`,
          "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth"], { cwd: pki.dir });
      }
      return fs.readFileSync(file, "utf8");
    })();
    issued.set(file, cert);
    cert.catch(() => issued.delete(file));
  }
  return cert;
}

/** issueServerCertFor() for a single address. */
export function issueServerCert(pki: TestPki, address: string): Promise<string> {
  return issueServerCertFor(pki, [address]);
}
