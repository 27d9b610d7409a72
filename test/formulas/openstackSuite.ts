/**
 * Shared pieces of the OpenStack service tests (issue 12): inside one Debian test host, a real
 * MariaDB (service databases made by formulas/mysql/configure) and a real keystone (formulas/keystone,
 * db_sync + bootstrap, served by uwsgi on loopback), then per role the same checks:
 * install (packages, units, idempotent), configure against the live database and keystone (db sync,
 * registration), the config files checked by the service's own oslo-config-validator, a second
 * configure run that changes nothing, and the API (its WSGI app under uwsgi, on loopback) answering
 * its version document. Each test file uses its own /24 (so files can run side by side): the service
 * addresses decide it, and the shared daemons are at .2 (MariaDB), .5 (keystone), .3/.4 (memcached
 * and rabbitmq, which nothing serves: they are only written into the configs).
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FormulaValues } from "../../formulas/envelope";
import { DebianHost } from "../support/debianHost";
import { assertEnabled, assertIdempotent, assertInstalled, changes, describeRun, EVIL, runOk, waitForPort, withHost } from "./hostSuite";

/** The shared daemons of the /24 that `address` is in. */
export function infra(address: string): { DB: string; MEMCACHED: string; RABBITMQ: string; KEYSTONE: string } {
  const p = address.split(".").slice(0, 3).join(".");
  return { DB: `${p}.2`, MEMCACHED: `${p}.3`, RABBITMQ: `${p}.4`, KEYSTONE: `${p}.5` };
}

/** What the program derives: 32 base64url characters per name (fixed here, distinct per secret). */
export function secret(name: string): string {
  const base = Buffer.from(`kinetic-test-${name}-0123456789abcdefghijklmnop`).toString("base64url");
  return base.slice(0, 32);
}

/** The values every OpenStack configure formula may read, for an endpoint of `type` at `address`. */
export function osValues(type: string, address: string, over: FormulaValues = {}): FormulaValues {
  const { DB, KEYSTONE, MEMCACHED, RABBITMQ } = infra(address);
  const v: FormulaValues = {
    NAME: `${type}-1`,
    ADDRESS: address,
    INDEX: "0",
    DOMAIN: "cloud.example.test",
    ADDRESSES_MYSQL: DB,
    ADDRESSES_KEYSTONE: KEYSTONE,
    ADDRESSES_MEMCACHED: MEMCACHED,
    ADDRESSES_RABBITMQ: RABBITMQ,
    [`ADDRESSES_${type.toUpperCase()}`]: address,
    // Literal shell syntax: carried into the transport URL percent-encoded, never executed.
    SECRET_RABBITMQ: `rabbit-${EVIL}`,
    // Reaches keystone through the registration client's environment, never a file or an argument.
    SECRET_KEYSTONE_ADMIN: `admin-${EVIL}`,
  };
  for (const s of [
    "KEYSTONE_DB", "KEYSTONE_FERNET", "KEYSTONE_CREDENTIAL", "MYSQL_ROOT",
    "GLANCE_DB", "GLANCE", "PLACEMENT_DB", "PLACEMENT", "NOVA_DB", "NOVA", "NEUTRON_DB", "NEUTRON", "METADATA_PROXY",
    "CINDER_DB", "CINDER", "HEAT_DB", "HEAT", "HEAT_DOMAIN", "BARBICAN_DB", "BARBICAN", "BARBICAN_KEK",
    "DESIGNATE_DB", "DESIGNATE", "BIND_RNDC", "MAGNUM_DB", "MAGNUM", "MAGNUM_DOMAIN", "MANILA_DB", "MANILA",
    "SAHARA_DB", "SAHARA", "ZUN_DB", "ZUN", "HORIZON", "CEPH_LIBVIRT",
  ]) v[`SECRET_${s}`] = secret(s);
  return { ...v, ...over };
}

/** Every secret value of osValues: none may appear in a formula's output. */
export function assertNoSecretPrinted(output: string): void {
  for (const [k, v] of Object.entries(osValues("x", "127.0.0.1"))) {
    if (k.startsWith("SECRET_") && !v.includes(EVIL)) assert.ok(!output.includes(v), `${k} was printed`);
  }
  assert.ok(!output.includes("admin-x $("), "the keystone admin password was printed");
}

/** Processes the tests started in the host (stopped by stopAll, and by the host's stop anyway). */
const children: ChildProcess[] = [];

/** Starts argv inside the host (chroot), logging to a file in the host; returns the child. */
export function startIn(h: DebianHost, name: string, argv: string[]): ChildProcess {
  const log = fs.openSync(path.join(h.root, `tmp/${name}.log`), "a");
  const child = spawn("chroot", [h.root, ...argv], { stdio: ["ignore", log, log], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" } });
  fs.closeSync(log);
  children.push(child);
  return child;
}

export function logOf(h: DebianHost, name: string): string {
  const p = path.join(h.root, `tmp/${name}.log`);
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8").slice(-5000) : "";
}

export async function stopAll(): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill("SIGTERM");
    await Promise.race([new Promise((r) => c.once("exit", r)), new Promise((r) => setTimeout(r, 5000))]);
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }
}

/**
 * uwsgi serving a WSGI script on address:port inside the host, as the service's user, the way
 * formulas/lib/openstack.sh's os_uwsgi_ini leaves Debian's ini files: `rem-header Content-Length`
 * as Debian has it, and `add-header Connection: close`, without which a client that keeps
 * connections alive (Tempest, keystoneauth) reads "Connection reset by peer" now and then, because
 * http-socket closes every connection after its reply without saying so (CI saw it twice).
 */
export function startWsgi(h: DebianHost, name: string, app: string, user: string, address: string, port: number, opts: { pyargv?: string; processes?: number } = {}): ChildProcess {
  const argv = ["uwsgi", "--plugin", "python3", "--http-socket", `${address}:${port}`, "--wsgi-file", app, "--uid", user, "--gid", user,
    "--master", "--processes", String(opts.processes ?? 1), "--threads", "2", "--lazy-apps", "--die-on-term", "--buffer-size", "65535", "--need-app",
    "--rem-header", "Content-Length", "--add-header", "Connection: close"];
  if (opts.pyargv) argv.push("--pyargv", opts.pyargv);
  return startIn(h, name, argv);
}

/** HTTP against a service in the host (loopback). */
export async function http(url: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** A keystone admin token (password SECRET_KEYSTONE_ADMIN, project admin). */
export async function adminToken(KEYSTONE: string): Promise<string> {
  const body = { auth: { identity: { methods: ["password"], password: { user: { name: "admin", domain: { id: "default" }, password: osValues("x", "127.0.0.1").SECRET_KEYSTONE_ADMIN } } }, scope: { project: { name: "admin", domain: { id: "default" } } } } };
  const r = await http(`http://${KEYSTONE}:5000/v3/auth/tokens`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  assert.equal(r.status, 201, r.body);
  return r.headers.get("x-subject-token")!;
}

export async function keystoneGet(KEYSTONE: string, pathQuery: string): Promise<Record<string, unknown[]>> {
  const r = await http(`http://${KEYSTONE}:5000/v3${pathQuery}`, { headers: { "X-Auth-Token": await adminToken(KEYSTONE) } });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

/** A service user's password works: keystone issues it a token scoped to project service. */
export async function assertUserAuthenticates(KEYSTONE: string, user: string, password: string, domain = "default"): Promise<void> {
  const body = { auth: { identity: { methods: ["password"], password: { user: { name: user, domain: { id: domain }, password } } } } };
  const r = await http(`http://${KEYSTONE}:5000/v3/auth/tokens`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  assert.equal(r.status, 201, `${user} cannot authenticate: ${r.body}`);
}

/**
 * MariaDB (databases and accounts by formulas/mysql/configure for the given service types) and
 * keystone (formulas/keystone) running in the host. Call from a `before` hook.
 */
export async function startInfrastructure(h: DebianHost, prefix: string, types: string[]): Promise<void> {
  const { DB, KEYSTONE } = infra(`${prefix}.0`);
  await runOk(h, "mysql/install", { NAME: "mysql-1" });
  h.exec(["install", "-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"]);
  startIn(h, "mariadb", ["/usr/sbin/mariadbd", "--user=mysql", `--bind-address=${DB}`, "--port=3306", "--skip-log-bin", "--wsrep-on=OFF", "--innodb-buffer-pool-size=64M"]);
  await waitForPort(DB, 3306);
  const mysqlValues = osValues("mysql", DB, { NAME: "mysql-1" });
  for (const t of types) mysqlValues[`ADDRESSES_${t.toUpperCase()}`] = `${prefix}.250`;
  const my = await runOk(h, "mysql/configure", mysqlValues);
  assert.ok(changes(my).includes("database keystone"), describeRun(my));
  await runOk(h, "keystone/install", { NAME: "keystone-1" });
  const ks = osValues("keystone", KEYSTONE, { ADDRESSES_HAPROXY: "" });
  const r = await runOk(h, "keystone/configure", ks);
  assert.ok(changes(r).includes("keystone bootstrapped"), describeRun(r));
  startWsgi(h, "keystone", "/usr/bin/keystone-wsgi-public", "keystone", KEYSTONE, 5000);
  await waitForPort(KEYSTONE, 5000, 120_000);
  await adminToken(KEYSTONE);
}

/**
 * The install formulas of the daemons every OpenStack file starts before its own role: their result
 * comes from a cached layer (test/support/installedLayer.ts), and running them again on it is a
 * check that changes nothing. mysql.test.ts and keystone.test.ts install them on fresh hosts.
 */
export const INFRASTRUCTURE_INSTALLS = ["mysql/install", "keystone/install"];

/**
 * hostSuite's withHost for the OpenStack files: the same host, plus MariaDB and keystone started
 * in it (startInfrastructure) before the tests; after them the daemons are stopped first, and the
 * host gets minutes to go (deleting a host with a dozen OpenStack services installed takes longer
 * than withHost's minute on a busy machine).
 */
export function withOpenStackHost(prefix: string, types: string[]): { host: () => DebianHost } {
  return withHost({ installed: INFRASTRUCTURE_INSTALLS }, { setup: (host) => startInfrastructure(host, prefix, types), teardown: stopAll, startTimeoutMs: 30 * 60_000, stopTimeoutMs: 10 * 60_000 });
}

export interface ApiSpec {
  /** The WSGI script (Debian's UWSGI_INI_APP) and the port. */
  app: string;
  port: number;
  user: string;
  pyargv?: string;
  /** The version document: GET http://address:port<path> answers with a JSON body matching. */
  path?: string;
  expect: RegExp;
}

export interface ServiceSpec {
  role: string;
  /** The type whose ADDRESSES_<TYPE> holds the endpoint (default: role). */
  type?: string;
  address: string;
  packages: string[];
  units: string[];
  /** Extra values for configure. */
  values?: FormulaValues;
  /** oslo-config-validator runs: the files (joined as --input-file per file) and namespaces. */
  validate?: { file: string; namespaces: string[]; exclude?: string[]; rename?: Record<string, string> }[];
  /** Databases that hold tables after the first configure (db sync ran). */
  databases?: string[];
  /** Keystone services (name:type) registered by the first configure. */
  catalog?: string[];
  /** Keystone users (name -> SECRET_ name of its password) that authenticate afterwards. */
  users?: Record<string, string>;
  api?: ApiSpec;
  /** More checks after the first configure. */
  after?: (h: DebianHost) => Promise<void> | void;
}

/** oslo-config-validator of a rendered file: no error (an unknown option or group fails). */
export function assertValidConfig(h: DebianHost, file: string, namespaces: string[], exclude: string[] = [], rename: Record<string, string> = {}): void {
  // A section whose name is chosen by the deployment (a backend: [rbd], [file]) holds the options of
  // a known group: a copy with the section renamed to that group is validated instead.
  if (Object.keys(rename).length) {
    let text = h.read(file);
    for (const [from, to] of Object.entries(rename)) text = text.replace(new RegExp(`^\\[${from}\\]$`, "gm"), `[${to}]`);
    fs.writeFileSync(path.join(h.root, "tmp/kinetic-validate.conf"), text);
    file = "/tmp/kinetic-validate.conf";
  }
  const argv = ["oslo-config-validator", "--input-file", file, ...namespaces.flatMap((n) => ["--namespace", n]), ...exclude.flatMap((g) => ["--exclude-group", g])];
  const r = h.tryExec(argv);
  assert.equal(r.code, 0, `oslo-config-validator ${file}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, /ERROR/, `oslo-config-validator ${file}:\n${r.stdout}${r.stderr}`);
}

/** The same checks for every service role: install, configure (live), validator, idempotence, API. */
export function serviceTests(host: () => DebianHost, spec: ServiceSpec): void {
  const type = spec.type ?? spec.role;
  const values = () => osValues(type, spec.address, spec.values);

  it(`${spec.role}/install: ${spec.packages.join(", ")}; ${spec.units.join(", ")} enabled; a second run changes nothing`, async () => {
    const h = host();
    await runOk(h, `${spec.role}/install`, { NAME: `${type}-1` });
    assertInstalled(h, spec.packages);
    assertEnabled(h, spec.units);
    await assertIdempotent(h, `${spec.role}/install`, { NAME: `${type}-1` });
  });

  it(`${spec.role}/configure: config${spec.databases ? ", db sync against MariaDB" : ""}${spec.catalog ? ", keystone registration" : ""}${spec.validate ? "; oslo-config-validator accepts the files" : ""}`, async () => {
    const h = host();
    const r = await runOk(h, `${spec.role}/configure`, values());
    assertNoSecretPrinted(r.stdout + r.stderr);
    for (const db of spec.databases ?? []) {
      const n = Number(h.exec(["mysql", "-uroot", "-N", "-B", "-e", `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${db}'`]).trim());
      assert.ok(n > 0, `database ${db} has no tables after configure: ${describeRun(r)}`);
    }
    if (spec.databases?.length) assert.match(r.stdout, / database synchronised/, describeRun(r));
    if (spec.catalog) {
      const { KEYSTONE } = infra(spec.address);
      const services = (await keystoneGet(KEYSTONE, "/services")).services as { name: string; type: string; id: string }[];
      const endpoints = (await keystoneGet(KEYSTONE, "/endpoints")).endpoints as { service_id: string; interface: string; url: string }[];
      for (const entry of spec.catalog) {
        const [name, stype] = entry.split(":");
        const s = services.find((x) => x.name === name && x.type === stype);
        assert.ok(s, `service ${name} (${stype}) is not in keystone: ${describeRun(r)}`);
        const ifs = endpoints.filter((e) => e.service_id === s!.id).map((e) => e.interface).sort();
        assert.deepEqual(ifs, ["admin", "internal", "public"], `endpoints of ${name}`);
        for (const e of endpoints.filter((x) => x.service_id === s!.id)) assert.ok(e.url.startsWith(`http://${spec.address}:`), `${name} endpoint URL ${e.url}`);
      }
    }
    for (const [user, sec] of Object.entries(spec.users ?? {})) await assertUserAuthenticates(infra(spec.address).KEYSTONE, user, values()[sec]);
    for (const v of spec.validate ?? []) assertValidConfig(h, v.file, v.namespaces, v.exclude, v.rename);
    await spec.after?.(h);
  });

  it(`${spec.role}/configure: a second run changes nothing (no db sync, no keystone change)`, async () => {
    const h = host();
    await assertIdempotent(h, `${spec.role}/configure`, values());
    if (spec.databases?.length) {
      const r = await runOk(h, `${spec.role}/configure`, values());
      assert.match(r.stdout, /database already synchronised/);
    }
  });

  if (spec.api) {
    const api = spec.api;
    it(`${spec.role}: the API (${path.basename(api.app)} under uwsgi on ${spec.address}:${api.port}) answers its version document`, async () => {
      const h = host();
      const child = startWsgi(h, `${spec.role}-api`, api.app, api.user, spec.address, api.port, { pyargv: api.pyargv });
      try {
        await waitForPort(spec.address, api.port, 60_000);
        let last = { status: 0, body: "" };
        for (let i = 0; i < 60; i++) {
          try {
            last = await http(`http://${spec.address}:${api.port}${api.path ?? "/"}`);
            if (last.status < 500 && api.expect.test(last.body)) break;
          } catch (e) {
            last = { status: -1, body: String(e) };
          }
          await new Promise((res) => setTimeout(res, 1000));
        }
        assert.ok(last.status < 500 && api.expect.test(last.body), `GET ${api.path ?? "/"}: ${last.status} ${last.body.slice(0, 500)}\n--- uwsgi log\n${logOf(h, `${spec.role}-api`)}`);
      } finally {
        child.kill("SIGTERM");
        await Promise.race([new Promise((res) => child.once("exit", res)), new Promise((res) => setTimeout(res, 5000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    });
  }
}
