import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { FormulaValues } from "../../formulas/envelope";
import * as fs from "node:fs";
import * as path from "node:path";
import { FORMULAS_DIR } from "../../formulas/load";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, waitForPort, withHost } from "./hostSuite";
import { http, startWsgi, stopAll } from "./openstackSuite";

/** What a service's configure does in keystone (formulas/lib/openstack.sh): its user, for a service `svc`. */
const REGISTER = [
  "#!/usr/bin/env bash",
  ...["lib/kinetic.sh", "lib/openstack.sh"].map((f) => fs.readFileSync(path.join(FORMULAS_DIR, f), "utf8")),
  "os_values svc",
  "os_register user svc SECRET_SVC",
  "finish",
].join("\n");

// 127.0.99.1:3306 has no listener: the bootstrap guard must see the database as unreachable.
const values = (over: FormulaValues = {}): FormulaValues => ({
  ADDRESS: "127.0.10.71",
  INDEX: "0",
  ADDRESSES_HAPROXY: "127.0.99.1",
  ADDRESSES_MYSQL: "127.0.10.41 127.0.10.42",
  ADDRESSES_MEMCACHED: "127.0.10.81 127.0.10.82",
  ADDRESSES_KEYSTONE: "127.0.10.71",
  // What the program derives: 32 base64url characters.
  SECRET_KEYSTONE_DB: "q3Jd-9vX_0aZbKc7Lm2Np4Rs6Tu8Vw1y",
  SECRET_KEYSTONE_ADMIN: `admin-${EVIL}`,
  SECRET_KEYSTONE_FERNET: `fernet-${EVIL}`,
  SECRET_KEYSTONE_CREDENTIAL: `cred-${EVIL}`,
  ...over,
});

/** Read keystone.conf with Python's own parser and SQLAlchemy's URL parser, as keystone does. */
const PARSE = `import configparser, json, sqlalchemy
c = configparser.RawConfigParser(); c.read("/etc/keystone/keystone.conf")
u = sqlalchemy.engine.make_url(c["database"]["connection"])
print(json.dumps({"driver": u.drivername, "user": u.username, "password": u.password, "host": u.host, "db": u.database,
  "memcache": c["cache"].get("memcache_servers"), "provider": c["token"]["provider"]}))`;

describe("formulas/keystone on a Debian host", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost();

  it("install: keystone (uwsgi), PyMySQL, memcache client; keystone enabled", async () => {
    const h = host();
    await runOk(h, "keystone/install", { NAME: "keystone-1" });
    assertInstalled(h, ["keystone", "python3-keystone", "python3-pymysql", "python3-memcache"]);
    assertEnabled(h, ["keystone.service"]);
    await assertIdempotent(h, "keystone/install", { NAME: "keystone-1" });
  });

  it("configure: database through haproxy with the program's URL-safe secret, cache, fernet; bootstrap guarded", async () => {
    const h = host();
    const r = await runOk(h, "keystone/configure", values());
    const conf = JSON.parse(h.exec(["python3", "-c", PARSE]));
    assert.deepEqual(conf, {
      driver: "mysql+pymysql", user: "keystone", password: "q3Jd-9vX_0aZbKc7Lm2Np4Rs6Tu8Vw1y", host: "127.0.99.1", db: "keystone",
      memcache: "127.0.10.81:11211,127.0.10.82:11211", provider: "fernet",
    });
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", "/etc/keystone/keystone.conf"]).trim(), "640 root:keystone");
    assert.match(r.stdout, /skipped: db_sync and bootstrap \(database 127\.0\.99\.1:3306 is not reachable\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /q3Jd-9vX|admin-x/, "secrets are never printed");
    for (const kind of ["fernet", "credential"]) {
      for (const n of ["0", "1"]) {
        const key = h.read(`/etc/keystone/${kind}-keys/${n}`);
        assert.match(key, /^[A-Za-z0-9_-]{43}=$/, `${kind} key ${n} is a Fernet key`);
        assert.equal(h.exec(["stat", "-c", "%a %U", `/etc/keystone/${kind}-keys/${n}`]).trim(), "600 keystone");
      }
    }
    // A valid Fernet key: cryptography accepts it.
    h.exec(["python3", "-c", "from cryptography.fernet import Fernet; Fernet(open('/etc/keystone/fernet-keys/0').read())"]);
  });

  it("changes nothing on a second run; keys are derived, so every keystone endpoint has the same", async () => {
    const h = host();
    const key = h.read("/etc/keystone/fernet-keys/1");
    await assertIdempotent(h, "keystone/configure", values());
    await assertIdempotent(h, "keystone/configure", values({ INDEX: "1" }));
    assert.equal(h.read("/etc/keystone/fernet-keys/1"), key);
  });

  it("without haproxy the database is the first mysql endpoint; INDEX > 0 never initialises", async () => {
    const h = host();
    const r = await runOk(h, "keystone/configure", values({ ADDRESSES_HAPROXY: "", INDEX: "1" }));
    assert.equal(JSON.parse(h.exec(["python3", "-c", PARSE])).host, "127.0.10.41");
    assert.match(r.stdout, /keystone: INDEX 1: database initialisation is done by INDEX 0/);
  });

  it("INDEX 0 with a live database: db_sync and bootstrap run once; the admin password arrives literally", async function () {
    this.timeout(10 * 60_000);
    const h = host();
    // A real MariaDB inside the host on a loopback address, holding the keystone account.
    await runOk(h, "mysql/install", { NAME: "keystone-db" });
    h.exec(["install", "-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"]);
    const db = "127.0.99.2";
    let mariadb: ChildProcess | undefined;
    try {
      mariadb = spawn("chroot", [h.root, "/usr/sbin/mariadbd", "--user=mysql", `--bind-address=${db}`, "--port=3306", "--skip-log-bin"], { stdio: "ignore" });
      await waitForPort(db, 3306);
      const sqlStr = (v: string) => `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
      h.exec(["mysql", "-uroot", "-e", `CREATE DATABASE keystone; CREATE USER 'keystone'@'%' IDENTIFIED BY ${sqlStr(values().SECRET_KEYSTONE_DB)}; GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%';`]);
      const live = values({ ADDRESSES_HAPROXY: "", ADDRESSES_MYSQL: db, INDEX: "0" });
      const r = await runOk(h, "keystone/configure", live);
      assert.ok(changes(r).includes("keystone database synchronised"), r.stdout + r.stderr);
      assert.ok(changes(r).includes("keystone bootstrapped"), r.stdout);
      const q = (sql: string) => h.exec(["mysql", "-uroot", "-N", "-B", "-e", sql]).trim();
      assert.equal(q("SELECT name FROM keystone.project WHERE name = 'admin'"), "admin");
      assert.equal(q("SELECT COUNT(*) FROM keystone.local_user WHERE name = 'admin'"), "1");
      // The admin password (shell syntax and all) reached keystone literally: its bcrypt hash verifies.
      const hash = q("SELECT p.password_hash FROM keystone.password p JOIN keystone.local_user u ON p.local_user_id = u.id WHERE u.name = 'admin'");
      h.exec(["python3", "-c", "import sys, passlib.hash; sys.exit(0 if passlib.hash.bcrypt.verify(sys.argv[1], sys.argv[2]) else 1)", values().SECRET_KEYSTONE_ADMIN, hash]);
      assert.match(q("SELECT url FROM keystone.endpoint"), /^http:\/\/127\.0\.10\.71:5000\/v3\/$/m);
      assert.doesNotMatch(r.stdout + r.stderr, /q3Jd-9vX|admin-x/, "secrets are never printed");
      // Bootstrapped once: the next run only says so.
      const again = await runOk(h, "keystone/configure", live);
      assert.match(again.stdout, /keystone: already bootstrapped/);
      assert.deepEqual(changes(again), []);

      // kinetic rotate --class service, as keystone serving requests sees it: a service user made
      // through os_register (as every service's configure does), then keystone's configure and the
      // registration run again with new secrets.
      startWsgi(h, "keystone", "/usr/bin/keystone-wsgi-public", "keystone", live.ADDRESS, 5000);
      await waitForPort(live.ADDRESS, 5000, 120_000);
      const token = async (user: string, password: string, project?: string): Promise<number> => {
        const scope = project ? { scope: { project: { name: project, domain: { id: "default" } } } } : {};
        const body = { auth: { identity: { methods: ["password"], password: { user: { name: user, domain: { id: "default" }, password } } }, ...scope } };
        return (await http(`http://${live.ADDRESS}:5000/v3/auth/tokens`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })).status;
      };
      const register = (admin: string, svc: string) =>
        h.script("register/svc", REGISTER, { ...live, ADDRESSES_KEYSTONE: live.ADDRESS, ADDRESSES_SVC: live.ADDRESS, SECRET_KEYSTONE_ADMIN: admin, SECRET_SVC: svc });
      const OLD_SVC = "svc-0-q3Jd9vX0aZbKc7Lm2Np4Rs6Tu8V";
      const NEW_SVC = "svc-1-Wp8s0Yh2Kc4Lq6Mz8Nx0Rv2Tb4Jd";
      const NEW_ADMIN = "admin-rotated-Zq2Wx4Ec6Rv8Tb0Yn";
      const made = await register(live.SECRET_KEYSTONE_ADMIN, OLD_SVC);
      assert.equal(made.code, 0, describeRun(made));
      assert.equal(await token("admin", live.SECRET_KEYSTONE_ADMIN, "admin"), 201);
      assert.equal(await token("svc", OLD_SVC, "service"), 201);

      const rotated = await runOk(h, "keystone/configure", { ...live, SECRET_KEYSTONE_ADMIN: NEW_ADMIN });
      assert.deepEqual(changes(rotated), ["keystone admin password"], describeRun(rotated));
      assert.doesNotMatch(rotated.stdout + rotated.stderr, /admin-rotated|admin-x/, "secrets are never printed");
      assert.equal(await token("admin", live.SECRET_KEYSTONE_ADMIN, "admin"), 401, "the old admin password is refused");
      // The admin keeps its project and role: the token is scoped to project admin.
      assert.equal(await token("admin", NEW_ADMIN, "admin"), 201, "the new admin password works");
      assert.equal(q("SELECT COUNT(*) FROM keystone.local_user WHERE name = 'admin'"), "1", "the admin was not made again");
      assert.deepEqual(changes(await runOk(h, "keystone/configure", { ...live, SECRET_KEYSTONE_ADMIN: NEW_ADMIN })), []);

      const svc = await register(NEW_ADMIN, NEW_SVC);
      assert.equal(svc.code, 0, describeRun(svc));
      assert.deepEqual(changes(svc), ["keystone password of user svc"]);
      assert.doesNotMatch(svc.stdout + svc.stderr, /svc-[01]-|admin-rotated/, "secrets are never printed");
      assert.equal(await token("svc", OLD_SVC, "service"), 401, "the service user's old password is refused");
      // Its grants on project service survived: the token is scoped to it.
      assert.equal(await token("svc", NEW_SVC, "service"), 201, "the service user's new password works");
      assert.deepEqual(changes(await register(NEW_ADMIN, NEW_SVC)), []);
    } finally {
      await stopAll();
      mariadb?.kill("SIGTERM");
      if (mariadb && mariadb.exitCode === null) await new Promise((r) => mariadb!.once("exit", r));
    }
  });

  it("refuses malformed addresses without executing them", async () => {
    const h = host();
    await assertRejects(h, "keystone/configure", values({ ADDRESSES_MYSQL: EVIL }), "check values", /KINETIC_ADDRESSES_MYSQL is not a valid ipv4/);
    // keystone 22's alembic cannot take a percent-encoded URL: a password needing it is refused up front.
    await assertRejects(h, "keystone/configure", values({ SECRET_KEYSTONE_DB: `db-${EVIL}` }), "check values", /SECRET_KEYSTONE_DB must be URL-safe/);
  });
});
