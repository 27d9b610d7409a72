import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, describeRun, EVIL, runOk, withHost } from "./hostSuite";

describe("formulas/cache on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();
  const values = { ADDRESS: "127.0.10.11" };

  it("install + configure: apt-cacher-ng on 3142 passing HTTPS through, enabled", async () => {
    const h = host();
    await runOk(h, "cache/install", { NAME: "cache-1" });
    assertInstalled(h, ["apt-cacher-ng"]);
    await runOk(h, "cache/configure", values);
    assertEnabled(h, ["apt-cacher-ng.service"]);
    const conf = h.read("/etc/apt-cacher-ng/zz-kinetic.conf");
    assert.match(conf, /^Port: 3142$/m);
    assert.match(conf, /^PassThroughPattern: \.\*$/m);
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "cache/install", { NAME: "cache-1" });
    await assertIdempotent(host(), "cache/configure", values);
  });
});

describe("formulas/memcached on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();

  it("install + configure: memcached on the management address, enabled", async () => {
    const h = host();
    await runOk(h, "memcached/install", { NAME: "memcached-1" });
    assertInstalled(h, ["memcached"]);
    assertEnabled(h, ["memcached.service"]);
    await runOk(h, "memcached/configure", { ADDRESS: "127.0.10.81" });
    const conf = h.read("/etc/memcached.conf");
    assert.match(conf, /^-l 127\.0\.10\.81$/m);
    assert.match(conf, /^-p 11211$/m);
    assert.match(conf, /^-u memcache$/m);
  });

  it("changes nothing on a second run; refuses a malformed address", async () => {
    await assertIdempotent(host(), "memcached/install", { NAME: "memcached-1" });
    await assertIdempotent(host(), "memcached/configure", { ADDRESS: "127.0.10.81" });
    await assertRejects(host(), "memcached/configure", { ADDRESS: EVIL }, "check values", /KINETIC_ADDRESS is not a valid ipv4/);
  });
});

describe("formulas/haproxy on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();
  const values = (over: FormulaValues = {}): FormulaValues => ({
    ADDRESS: "127.0.10.91",
    ADDRESSES_HAPROXY: "127.0.10.91",
    ADDRESSES_KEYSTONE: "127.0.10.71 127.0.10.72",
    ADDRESSES_GLANCE: "127.0.10.73",
    ADDRESSES_SWIFT: "127.0.10.74",
    ADDRESSES_MYSQL: "127.0.10.41 127.0.10.42 127.0.10.43",
    ADDRESSES_MEMCACHED: "127.0.10.81",
    ...over,
  });

  it("install + configure: a frontend per fronted type that exists, backends from its addresses; haproxy -c accepts it", async () => {
    const h = host();
    await runOk(h, "haproxy/install", { NAME: "haproxy-1" });
    assertInstalled(h, ["haproxy"]);
    assertEnabled(h, ["haproxy.service"]);
    await runOk(h, "haproxy/configure", values());
    const cfg = h.read("/etc/haproxy/haproxy.cfg");
    const check = h.tryExec(["haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg"]);
    assert.equal(check.code, 0, `haproxy -c: ${check.stdout}${check.stderr}\n${cfg}`);
    assert.match(cfg, /listen keystone_5000\n    bind 127\.0\.10\.91:5000\n[\s\S]*?server keystone-0 127\.0\.10\.71:5000 check inter 2s\n    server keystone-1 127\.0\.10\.72:5000 check inter 2s\n/);
    assert.match(cfg, /listen glance_9292\n    bind 127\.0\.10\.91:9292\n[\s\S]*?server glance-0 127\.0\.10\.73:9292 check/);
    // radosgw: swift registers object-store at http://<haproxy>:8080/swift/v1/... (found by the lab's full cloud: no frontend answered there)
    assert.match(cfg, /listen swift_8080\n    bind 127\.0\.10\.91:8080\n[\s\S]*?server swift-0 127\.0\.10\.74:8080 check/);
    // One writer, the others backups; each member checked by its Galera health endpoint (HTTP 200
    // only when Synced in a Primary component), not by TCP, which a donor or joiner accepts too.
    assert.match(cfg, /listen mysql_3306\n    bind 127\.0\.10\.91:3306\n    mode tcp\n[\s\S]*?    option httpchk GET \/\n    http-check expect status 200\n    server mysql-0 127\.0\.10\.41:3306 check port 9200 inter 2s on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions\n    server mysql-1 127\.0\.10\.42:3306 check port 9200 inter 2s backup on-marked-down shutdown-sessions\n    server mysql-2 127\.0\.10\.43:3306 check port 9200 inter 2s backup on-marked-down shutdown-sessions\n/);
    // The HTTP check is the mysql frontend's alone: the HTTP services keep their own checks.
    assert.equal(cfg.match(/option httpchk/g)?.length, 1, cfg);
    for (const absent of ["nova", "neutron", "placement", "horizon", "memcached"]) assert.doesNotMatch(cfg, new RegExp(`listen ${absent}_`), absent);
  });

  it("changes nothing on a second run; follows a new type; refuses malformed addresses", async () => {
    const h = host();
    await assertIdempotent(h, "haproxy/install", { NAME: "haproxy-1" });
    await assertIdempotent(h, "haproxy/configure", values());
    await runOk(h, "haproxy/configure", values({ ADDRESSES_HORIZON: "127.0.10.95" }));
    assert.match(h.read("/etc/haproxy/haproxy.cfg"), /listen horizon_80\n    bind 127\.0\.10\.91:80\n/);
    const before = h.read("/etc/haproxy/haproxy.cfg");
    await assertRejects(h, "haproxy/configure", values({ ADDRESSES_GLANCE: EVIL }), "check values", /KINETIC_ADDRESSES_GLANCE is not a valid ipv4/);
    assert.equal(h.read("/etc/haproxy/haproxy.cfg"), before, "a refused run leaves the configuration alone");
  });
});

describe("formulas/haproxy on a booted Debian host (haproxy really serves)", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const values = (over: FormulaValues = {}): FormulaValues => ({
    ADDRESS: "127.0.10.91",
    ADDRESSES_HAPROXY: "127.0.10.91",
    ADDRESSES_KEYSTONE: "127.0.10.71",
    ADDRESSES_MYSQL: "127.0.10.41",
    ...over,
  });

  // Found by the lab's full cloud: `maxconn 20000` needs 40065 descriptors, the lab host's limit is
  // 20000, and the reload haproxy refused left it serving Debian's default configuration, no frontend.
  it("every frontend listens after configure, with a maxconn the unit's file limit allows; a second run changes nothing", async () => {
    const h = host();
    await runOk(h, "haproxy/install", { NAME: "haproxy-1" });
    await runOk(h, "haproxy/configure", values());
    const listening = h.exec(["ss", "-Hltn"]);
    for (const port of [5000, 3306]) assert.match(listening, new RegExp(`127\\.0\\.10\\.91:${port}\\b`), `nothing on :${port}:\n${listening}`);
    // What the running haproxy really got (systemd reports what it asked for; a container caps it).
    const pid = h.exec(["systemctl", "show", "-P", "MainPID", "haproxy.service"]).trim();
    const limit = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(h.exec(["cat", `/proc/${pid}/limits`]))?.[1]);
    const maxconn = Number(/^\s*maxconn (\d+)$/m.exec(h.read("/etc/haproxy/haproxy.cfg"))?.[1]);
    assert.ok(maxconn >= 256 && 2 * maxconn + 1000 <= limit, `maxconn ${maxconn} for haproxy's limit of ${limit} files`);
    assert.equal(h.exec(["systemctl", "is-active", "haproxy.service"]).trim(), "active");
    await assertIdempotent(h, "haproxy/configure", values());
  });

  it("a frontend haproxy cannot open fails the step, naming it (not reported as done)", async () => {
    const h = host();
    // An address this host does not have: haproxy -c accepts the file, the reload cannot bind it.
    const r = await h.formula("haproxy/configure", values({ ADDRESS: "10.99.0.1", ADDRESSES_HAPROXY: "10.99.0.1", WAIT_SECONDS: "4" }));
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /haproxy's frontends on 10\.99\.0\.1 \(5000 3306\): haproxy does not listen on them/);
    await runOk(h, "haproxy/configure", values());
  });
});
