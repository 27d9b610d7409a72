import * as assert from "node:assert/strict";
import { FormulaValues } from "../../components/formulaEnvelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, EVIL, runOk, withHost } from "./hostSuite";

// 127.0.99.1:3306 has no listener: the bootstrap guard must see the database as unreachable.
const values = (over: FormulaValues = {}): FormulaValues => ({
  ADDRESS: "127.0.10.71",
  INDEX: "0",
  ADDRESSES_HAPROXY: "127.0.99.1",
  ADDRESSES_MYSQL: "127.0.10.41 127.0.10.42",
  ADDRESSES_MEMCACHED: "127.0.10.81 127.0.10.82",
  ADDRESSES_KEYSTONE: "127.0.10.71",
  SECRET_KEYSTONE_DB: `db-${EVIL}`,
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

  it("configure: database through haproxy with the secret URL-encoded, cache, fernet; bootstrap guarded", async () => {
    const h = host();
    const r = await runOk(h, "keystone/configure", values());
    const conf = JSON.parse(h.exec(["python3", "-c", PARSE]));
    assert.deepEqual(conf, {
      driver: "mysql+pymysql", user: "keystone", password: `db-${EVIL}`, host: "127.0.99.1", db: "keystone",
      memcache: "127.0.10.81:11211,127.0.10.82:11211", provider: "fernet",
    });
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", "/etc/keystone/keystone.conf"]).trim(), "640 root:keystone");
    assert.match(r.stdout, /skipped: db_sync and bootstrap \(database 127\.0\.99\.1:3306 is not reachable\)/);
    assert.doesNotMatch(r.stdout + r.stderr, /db-x|admin-x/, "secrets are never printed");
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

  it("refuses malformed addresses without executing them", async () => {
    const h = host();
    await assertRejects(h, "keystone/configure", values({ ADDRESSES_MYSQL: EVIL }), "check values", /KINETIC_ADDRESSES_MYSQL is not a valid ipv4/);
  });
});
