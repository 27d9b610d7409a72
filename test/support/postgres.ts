/**
 * A real PostgreSQL server for tests (Debian's `postgresql` package, listed in .ci/packages): a
 * cluster in a temporary directory, listening on one loopback address with TLS only (a certificate
 * from the test CA, simulator/pki.ts), a role with a password for the engine and a database it
 * owns. initdb and the server refuse to run as root, so as root they run as the `postgres` user
 * the package creates.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createTestPki, issueServerCert, TestPki } from "../../simulator/pki";

export interface TestPostgres {
  address: string;
  port: number;
  /** The engine's role and its database. */
  user: string;
  database: string;
  password: string;
  /** A passfile (PGPASSFILE) holding the password, mode 0600. */
  passfile: string;
  /** The test CA's certificate, and a self-signed one that did not sign the server's. */
  caPath: string;
  wrongCaPath: string;
  /** postgres://user@address:port/database?sslmode=verify-full&sslrootcert=CA, no password. */
  url: string;
  /** SQL as the superuser over the server's Unix socket; returns psql's unaligned output. */
  sql(query: string): string;
  stop(): void;
  start(): void;
  dispose(): void;
}

function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], "bin") : undefined;
}

/** Why a real PostgreSQL cannot run here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (!binDir()) return "no /usr/lib/postgresql/*/bin/initdb (Debian package postgresql)";
  if (spawnSync("psql", ["--version"]).status !== 0) return "no psql (Debian package postgresql-client)";
  if (spawnSync("openssl", ["version"]).status !== 0) return "no openssl";
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) return "running as root and no postgres user to run the server as";
  return undefined;
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, address, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(address = "127.0.2.23"): Promise<TestPostgres> {
  const bin = binDir()!;
  const asRoot = process.getuid?.() === 0;
  const uid = asRoot ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })) : process.getuid!();
  const gid = asRoot ? Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })) : process.getgid!();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pg-"));
  const data = path.join(dir, "data");
  const sock = path.join(dir, "sock");
  const tls = path.join(dir, "tls");
  fs.mkdirSync(sock);
  fs.mkdirSync(tls);
  const pki: TestPki = createTestPki(path.join(dir, "pki"));
  fs.writeFileSync(path.join(tls, "server.pem"), await issueServerCert(pki, address));
  fs.writeFileSync(path.join(tls, "server.key"), pki.serverKey, { mode: 0o600 });
  for (const p of [dir, sock, tls, path.join(tls, "server.pem"), path.join(tls, "server.key")]) fs.chownSync(p, uid, gid);
  const as = { uid, gid, cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" } };
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(path.join(bin, cmd), args, { ...as, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  const port = await freePort(address);
  const password = `pg-${Math.random().toString(36).slice(2)}-TEST`;
  run("initdb", ["-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=reject", "--no-sync"]);
  fs.appendFileSync(
    path.join(data, "postgresql.conf"),
    [
      `listen_addresses = '${address}'`,
      `port = ${port}`,
      `unix_socket_directories = '${sock}'`,
      "ssl = on",
      `ssl_cert_file = '${path.join(tls, "server.pem")}'`,
      `ssl_key_file = '${path.join(tls, "server.key")}'`,
      // A test cluster: no fsync (a clean stop still writes everything), small memory.
      "fsync = off",
      "shared_buffers = 16MB",
      "max_connections = 40",
      "",
    ].join("\n"),
  );
  // TLS only, password only, one role from loopback (the kernel picks 127.0.0.1 as the source); the superuser only over the socket.
  fs.writeFileSync(path.join(data, "pg_hba.conf"), `local all postgres trust\nhostssl kinetic kinetic 127.0.0.0/8 scram-sha-256\n`);
  const logFile = path.join(dir, "server.log");
  const start = () => void run("pg_ctl", ["-D", data, "-l", logFile, "-w", "-t", "60", "start"]);
  const stop = () => void run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
  start();
  const sql = (query: string): string => {
    const r = spawnSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", sock, "-p", String(port), "-U", "postgres", "-d", "postgres", "-f", "-"], { ...as, input: query, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout;
  };
  sql(`CREATE ROLE kinetic LOGIN PASSWORD '${password}';\nCREATE DATABASE kinetic OWNER kinetic;`);
  const sqlIn = (query: string): string => {
    const r = spawnSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", sock, "-p", String(port), "-U", "postgres", "-d", "kinetic", "-f", "-"], { ...as, input: query, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout;
  };
  const passfile = path.join(dir, "pgpass");
  fs.writeFileSync(passfile, `${address}:${port}:kinetic:kinetic:${password}\n`, { mode: 0o600 });
  const url = `postgres://kinetic@${address}:${port}/kinetic?sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.caPath)}`;
  const wrongCaPath = path.join(pki.dir, "wrong.pem");
  let running = true;
  return {
    address, port, user: "kinetic", database: "kinetic", password, passfile, caPath: pki.caPath, wrongCaPath, url,
    sql: sqlIn,
    stop() {
      stop();
      running = false;
    },
    start() {
      start();
      running = true;
    },
    dispose() {
      try {
        if (running) stop();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
