import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, EVIL, runOk, withHost } from "./hostSuite";

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
    assert.match(cfg, /listen mysql_3306\n[\s\S]*?mode tcp[\s\S]*?server mysql-0 127\.0\.10\.41:3306 check inter 2s\n    server mysql-1 127\.0\.10\.42:3306 check inter 2s backup\n/);
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
