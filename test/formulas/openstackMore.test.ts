/**
 * The other OpenStack roles (issue 12) in one Debian test host with a real MariaDB and keystone:
 * barbican, designate, magnum, manila + share, sahara, and zun (not packaged in Debian: its
 * configuration is rendered, parsed and registered; its code is not installed). Checks per role:
 * openstackSuite.ts.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { assertInstalled, assertRejects, EVIL, runOk } from "./hostSuite";
import { osValues, secret, serviceTests, withOpenStackHost } from "./openstackSuite";

const COMMON_NS = ["keystonemiddleware.auth_token", "oslo.log", "oslo.messaging", "oslo.db", "oslo.concurrency", "oslo.policy", "oslo.middleware", "oslo.cache"];

describe("formulas: barbican, designate, magnum, manila, share, sahara, zun on a Debian host (live MariaDB + keystone)", function () {
  this.timeout(30 * 60_000);
  const { host } = withOpenStackHost("127.0.15", ["barbican", "designate", "magnum", "manila", "sahara", "zun"]);

  serviceTests(host, {
    role: "barbican",
    address: "127.0.15.31",
    packages: ["barbican-api", "barbican-worker", "barbican-keystone-listener"],
    units: ["barbican-api.service", "barbican-worker.service", "barbican-keystone-listener.service"],
    validate: [{ file: "/etc/barbican/barbican.conf", namespaces: ["barbican.common.config", "barbican.plugin.crypto", "barbican.plugin.crypto.simple", "barbican.plugin.secret_store", ...COMMON_NS] }],
    databases: ["barbican"],
    catalog: ["barbican:key-manager"],
    users: { barbican: "SECRET_BARBICAN" },
    api: { app: "/usr/bin/barbican-wsgi-api", port: 9311, user: "barbican", expect: /"versions"/ },
    after: (h) => {
      // The KEK is 32 bytes derived from the secret: the same on every barbican endpoint.
      const kek = h.read("/etc/barbican/barbican.conf").match(/^kek = (.*)$/m)?.[1];
      assert.equal(kek, createHash("sha256").update(secret("BARBICAN_KEK")).digest("base64"));
    },
  });

  serviceTests(host, {
    role: "designate",
    address: "127.0.15.32",
    packages: ["designate-api", "designate-central", "designate-worker", "designate-producer", "designate-mdns", "bind9-utils"],
    units: ["designate-api.service", "designate-central.service", "designate-worker.service", "designate-producer.service", "designate-mdns.service"],
    values: { ADDRESSES_BIND: "127.0.15.38 127.0.15.39" },
    validate: [{ file: "/etc/designate/designate.conf", namespaces: ["designate.conf", ...COMMON_NS] }],
    databases: ["designate"],
    catalog: ["designate:dns"],
    users: { designate: "SECRET_DESIGNATE" },
    api: { app: "/usr/bin/designate-api-wsgi", port: 9001, user: "designate", expect: /"versions"/ },
    after: (h) => {
      // pools.yaml as designate reads it: both bind servers as nameservers and bind9 targets driven by rndc.
      const pools = JSON.parse(h.exec(["python3", "-c", "import json, yaml; print(json.dumps(yaml.safe_load(open('/etc/designate/pools.yaml'))))"]));
      assert.deepEqual(pools[0].nameservers, [{ host: "127.0.15.38", port: 53 }, { host: "127.0.15.39", port: 53 }]);
      assert.deepEqual(pools[0].targets.map((t: { type: string; options: { rndc_host: string } }) => [t.type, t.options.rndc_host]), [["bind9", "127.0.15.38"], ["bind9", "127.0.15.39"]]);
      assert.deepEqual(pools[0].ns_records.map((n: { hostname: string }) => n.hostname), ["ns1.cloud.example.test.", "ns2.cloud.example.test."]);
      assert.deepEqual(pools[0].targets[0].masters, [{ host: "127.0.15.32", port: 5354 }]);
      // The rndc key is the one the bind role derives from SECRET_BIND_RNDC; rndc parses the key file.
      const key = createHash("sha256").update(secret("BIND_RNDC")).digest("base64");
      assert.match(h.read("/etc/designate/rndc.key"), new RegExp(`secret "${key.replace(/[+/]/g, "\\$&")}";`));
      const check = h.tryExec(["rndc", "-k", "/etc/designate/rndc.key", "-s", "127.0.0.1", "-p", "1", "status"]);
      assert.doesNotMatch(check.stderr, /could not|syntax|bad/i, check.stderr);
    },
  });

  serviceTests(host, {
    role: "magnum",
    address: "127.0.15.33",
    packages: ["magnum-api", "magnum-conductor"],
    units: ["magnum-api.service", "magnum-conductor.service"],
    validate: [{ file: "/etc/magnum/magnum.conf", namespaces: ["magnum.conf", ...COMMON_NS] }],
    databases: ["magnum"],
    catalog: ["magnum:container-infra"],
    users: { magnum: "SECRET_MAGNUM" },
    api: { app: "/usr/bin/magnum-api-wsgi", port: 9511, user: "magnum", expect: /"versions"/ },
    after: (h) => {
      const q = (sql: string) => h.exec(["mysql", "-uroot", "-N", "-B", "-e", sql]).trim();
      assert.equal(q("SELECT COUNT(*) FROM keystone.project WHERE name = 'magnum' AND is_domain = 1"), "1");
    },
  });

  serviceTests(host, {
    role: "manila",
    address: "127.0.15.34",
    packages: ["manila-api", "manila-scheduler"],
    units: ["manila-api.service", "manila-scheduler.service"],
    validate: [{ file: "/etc/manila/manila.conf", namespaces: ["manila", ...COMMON_NS] }],
    databases: ["manila"],
    catalog: ["manila:share", "manilav2:sharev2"],
    users: { manila: "SECRET_MANILA" },
    api: { app: "/usr/bin/manila-wsgi", port: 8786, user: "manila", expect: /"versions"/ },
  });

  serviceTests(host, {
    role: "share",
    address: "127.0.15.35",
    packages: ["manila-share", "python3-cephfs", "ceph-common"],
    units: ["manila-share.service"],
    validate: [{ file: "/etc/manila/manila.conf", namespaces: ["manila", ...COMMON_NS], rename: { cephfs: "DEFAULT" } }],
    after: (h) => assert.match(h.read("/etc/manila/manila.conf"), /^enabled_share_backends = cephfs$/m),
  });

  serviceTests(host, {
    role: "sahara",
    address: "127.0.15.36",
    packages: ["sahara-api", "sahara-engine"],
    units: ["sahara-api.service", "sahara-engine.service"],
    validate: [{ file: "/etc/sahara/sahara.conf", namespaces: ["sahara.config", ...COMMON_NS] }],
    databases: ["sahara"],
    catalog: ["sahara:data-processing"],
    users: { sahara: "SECRET_SAHARA" },
    // No API check: Debian 12's sahara 16 does not start with its Flask (sahara-wsgi-api dies with
    // "The name 'v10' is already registered for this blueprint"), a packaging bug; sahara is retired upstream.
  });

  serviceTests(host, {
    role: "zun",
    address: "127.0.15.37",
    packages: ["python3-oslo.config", "python3-oslo.db", "python3-keystonemiddleware"],
    units: [],
    catalog: ["zun:container"],
    users: { zun: "SECRET_ZUN" },
    after: (h) => {
      // zun is not installed (not packaged): its options cannot be validated, but the file parses as
      // oslo.config reads it, and the shared sections are the libraries' own (validated without zun's groups).
      const out = h.exec(["python3", "-c", [
        "from oslo_config import cfg",
        "c = cfg.ConfigOpts()",
        "c.register_opts([cfg.StrOpt('connection')], group='database')",
        "c.register_opts([cfg.StrOpt('host_ip'), cfg.PortOpt('port')], group='api')",
        "c(args=[], default_config_files=['/etc/zun/zun.conf'])",
        "print(c.database.connection.split('@')[1], c.api.host_ip, c.api.port)",
      ].join("\n")]);
      assert.equal(out.trim(), "127.0.15.2/zun 127.0.15.37 9517");
      const r = h.tryExec(["oslo-config-validator", "--input-file", "/etc/zun/zun.conf", ...COMMON_NS.flatMap((n) => ["--namespace", n]), "--exclude-group", "api", "--exclude-group", "websocket_proxy", "--exclude-group", "keystone_auth", "--exclude-group", "DEFAULT"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    },
  });

  it("zun/install says zun itself is not installed, and where it comes from", async () => {
    const r = await runOk(host(), "zun/install", { NAME: "zun-1" });
    assert.match(r.stdout, /skipped: zun itself \(not packaged; install it from https:\/\/opendev\.org\/openstack\/zun stable\/zed into \/opt\/zun\/venv\)/);
    assertInstalled(host(), ["uwsgi-plugin-python3"]);
  });

  it("refuses malformed addresses and secrets, naming the value, executing nothing", async () => {
    const h = host();
    await assertRejects(h, "designate/configure", osValues("designate", "127.0.15.32", { ADDRESSES_BIND: EVIL }), "check values", /KINETIC_ADDRESSES_BIND is not a valid ipv4/);
    await assertRejects(h, "designate/configure", osValues("designate", "127.0.15.32", { ADDRESSES_BIND: "" }), "check values", /no DNS servers/);
    await assertRejects(h, "magnum/configure", osValues("magnum", "127.0.15.33", { SECRET_MAGNUM_DOMAIN: `d-${EVIL}` }), "check values", /SECRET_MAGNUM_DOMAIN must be URL-safe/);
    await assertRejects(h, "sahara/configure", osValues("sahara", "127.0.15.36", { ADDRESS: EVIL }), "check values", /KINETIC_ADDRESS is not a valid ipv4/);
  });
});
