/**
 * Where a stack's state lives. Pulumi's DIY backends, chosen by URL:
 *
 * - `file:///dir`: a local directory (`.kinetic/state` by default: one operator, `npm start`),
 * - `postgres://user@host:port/db?sslmode=verify-full&sslrootcert=/path/ca.pem[&table=name]`: a
 *   table in PostgreSQL (Pulumi's `pkg/backend/diy/postgres`, compiled into every Pulumi 3.276
 *   CLI, so into the engine we build): a team, CI runners and operators sharing one record.
 *
 * The database password never goes in the URL: the URL reaches the engine and Pulumi prints it in
 * some errors ("failed to open state database \"postgres://...\""). The engine's driver (lib/pq)
 * reads `PGPASSWORD` or a passfile (`PGPASSFILE`, `~/.pgpass` format) from the environment, as
 * psql does; so does `psql`, which `kinetic unlock` uses.
 */
import * as path from "node:path";

export type Backend =
  | { kind: "file"; url: string; dir: string }
  | {
      kind: "postgres";
      url: string;
      table: string;
      /**
       * What Pulumi puts before every key in the table: the URL's path (the database name) and a
       * slash (pkg/backend/diy/backend.go: a bucket URL's path is a prefix inside the bucket).
       */
      keyPrefix: string;
    };

/** An unusable backend URL: the message names where it came from (the flag or the variable). */
export class BackendUrlError extends Error {}

/** The table Pulumi's PostgreSQL backend uses when the URL names none. */
export const DEFAULT_TABLE = "pulumi_state";

/**
 * The backend of a URL. `source` names where the URL came from (`--backend`, `KINETIC_BACKEND`)
 * for the one-line error an operator sees.
 */
export function parseBackend(url: string, source: string): Backend {
  if (url.startsWith("file://")) {
    const dir = url.slice("file://".length);
    if (!dir) throw new BackendUrlError(`${source}: file:// needs a directory, e.g. file://${path.resolve(".kinetic/state")}`);
    return { kind: "file", url: `file://${path.resolve(dir)}`, dir: path.resolve(dir) };
  }
  if (url.startsWith("postgres://")) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new BackendUrlError(`${source}: not a URL (postgres://user@host:port/database?sslmode=verify-full&sslrootcert=/path/ca.pem)`);
    }
    if (parsed.password) {
      // The value itself is never repeated: this line goes to terminals and CI logs.
      throw new BackendUrlError(
        `${source}: the URL carries a password; put it in PGPASSWORD or a passfile (PGPASSFILE) instead: ` +
          "the URL reaches the engine's arguments and error messages",
      );
    }
    const table = parsed.searchParams.get("table") ?? DEFAULT_TABLE;
    // Pulumi pastes the table name into its SQL (it documents that it trusts the operator's URL):
    // keep it to a plain or schema-qualified identifier.
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/.test(table)) {
      throw new BackendUrlError(`${source}: table=${table} is not a table name ([A-Za-z_][A-Za-z0-9_]*, optionally schema.table)`);
    }
    const dbPath = parsed.pathname.replace(/^\/+/, "");
    return { kind: "postgres", url, table, keyPrefix: dbPath ? `${dbPath.replace(/\/?$/, "/")}` : "" };
  }
  if (url.startsWith("postgresql://")) {
    throw new BackendUrlError(`${source}: Pulumi's PostgreSQL backend answers to postgres://, not postgresql://`);
  }
  throw new BackendUrlError(`${source}: ${redacted(url)} is neither file:///dir nor postgres://user@host/database`);
}

/**
 * The backend of this run: `--backend URL`, else `$KINETIC_BACKEND`, else the file backend in
 * `defaultDir` (what `npm start` uses).
 */
export function selectBackend(flag: string | undefined, defaultDir: string, env: NodeJS.ProcessEnv = process.env): Backend {
  if (flag !== undefined) return parseBackend(flag, "--backend");
  if (env.KINETIC_BACKEND) return parseBackend(env.KINETIC_BACKEND, "KINETIC_BACKEND");
  return parseBackend(`file://${defaultDir}`, "the default state directory");
}

/**
 * One line for logs, and a warning when a PostgreSQL backend is reached without verifying the
 * server: the state holds every machine's record and its encrypted secrets, and an unverified
 * server could be anyone's.
 */
export function describeBackend(backend: Backend): { line: string; warning?: string } {
  if (backend.kind === "file") return { line: `state in ${backend.dir}` };
  const u = new URL(backend.url);
  const where = `${u.username ? `${u.username}@` : ""}${u.host || "(PGHOST)"}${u.pathname}`;
  const line = `state in PostgreSQL ${where}, table ${backend.table}`;
  const sslmode = u.searchParams.get("sslmode") ?? process.env.PGSSLMODE;
  if (sslmode === "verify-full") return { line };
  return { line, warning: `sslmode=${sslmode ?? "(default)"}: the server's certificate and name are not verified; use sslmode=verify-full&sslrootcert=<CA file>` };
}

/** The URL with any password masked (for the error about an unusable URL). */
export function redacted(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/i, "$1****@");
}
