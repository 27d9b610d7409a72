/**
 * The central OpenStack roles (issue 12) in one Debian test host with a real MariaDB and keystone:
 * glance, placement, nova, cinder + volume, heat, horizon. Checks per role: openstackSuite.ts.
 */
import * as assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { authFromEnv, OpenStackAuth, uploadGuestImage } from "../../image/glance";
import type { GuestImage } from "../../image/guestImage";
import { requireGuestImage } from "../support/guestImagePrerequisite";
import { DebianHost } from "../support/debianHost";
import { assertIdempotent, assertRejects, EVIL, runOk, waitForPort } from "./hostSuite";
import { adminToken, assertValidConfig, http, logOf, osValues, serviceTests, startIn, startWsgi, withOpenStackHost } from "./openstackSuite";

const COMMON_NS = ["keystonemiddleware.auth_token", "oslo.log", "oslo.messaging", "oslo.db", "oslo.concurrency", "oslo.policy", "oslo.middleware", "oslo.cache"];

// The store sections are named by enabled_backends; their options are glance_store's.
const GLANCE_VALIDATE = {
  file: "/etc/glance/glance-api.conf",
  namespaces: ["glance.api", "glance.store", "glance.multi_store", ...COMMON_NS],
  rename: { file: "glance_store", rbd: "glance_store", os_glance_staging_store: "glance_store", os_glance_tasks_store: "glance_store" },
};

/** Debian's openstack-dashboard-apache site runs the dashboard inside Apache's workers, as Apache's user. */
const DEBIAN_DASHBOARD_USER = "www-data";

describe("formulas: glance, placement, nova, cinder, volume, heat, horizon on a Debian host (live MariaDB + keystone)", function () {
  this.timeout(30 * 60_000);
  const { host } = withOpenStackHost("127.0.12", ["glance", "placement", "nova", "cinder", "heat"]);

  serviceTests(host, {
    role: "glance",
    address: "127.0.12.11",
    packages: ["glance-api", "python3-pymysql", "python3-memcache", "python3-rbd"],
    units: ["glance-api.service"],
    validate: [GLANCE_VALIDATE],
    databases: ["glance"],
    catalog: ["glance:image"],
    users: { glance: "SECRET_GLANCE" },
    api: { app: "/usr/bin/glance-wsgi-api", port: 9292, user: "glance", expect: /"versions"/ },
    after: (h) => {
      const conf = h.read("/etc/glance/glance-api.conf");
      assert.match(conf, /^enabled_backends = file:file$/m);
      assert.match(conf, /^transport_url = rabbit:\/\/openstack:rabbit-x%20%24%28touch%20/m, "the rabbitmq password is percent-encoded");
    },
  });

  it("glance/configure: with Ceph monitors the image store is the RBD pool `images`, as client.glance with the key its secret derives", async () => {
    const h = host();
    const ceph = { ADDRESSES_CEPHMON: "127.0.12.200 127.0.12.201", NAMES_CEPHMON: "cephmon-a cephmon-b", SUBNET_MANAGEMENT: "127.0.0.0/8", SUBNET_SBE: "", SECRET_CEPH_FSID: `fsid-${EVIL}`, SECRET_CEPH_GLANCE: `glance-${EVIL}` };
    await runOk(h, "glance/configure", osValues("glance", "127.0.12.11", ceph));
    const conf = h.read("/etc/glance/glance-api.conf");
    assert.match(conf, /^enabled_backends = rbd:rbd$/m);
    assert.match(conf, /^\[rbd\]\nrbd_store_pool = images\nrbd_store_user = glance$/m);
    assertValidConfig(h, GLANCE_VALIDATE.file, GLANCE_VALIDATE.namespaces, [], GLANCE_VALIDATE.rename);
    assert.match(h.read("/etc/ceph/ceph.conf"), /^mon_host = 127\.0\.12\.200,127\.0\.12\.201$/m);
    // The key cephmon puts in the cluster for client.glance (test/formulas/ceph.test.ts checks that side).
    const head = Buffer.alloc(12);
    head.writeUInt16LE(1, 0);
    head.writeUInt16LE(16, 10);
    const key = Buffer.concat([head, createHash("sha256").update(`${ceph.SECRET_CEPH_GLANCE}:client.glance`).digest().subarray(0, 16)]).toString("base64");
    assert.equal(h.read("/etc/ceph/ceph.client.glance.keyring"), `[client.glance]\n\tkey = ${key}\n`);
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", "/etc/ceph/ceph.client.glance.keyring"]).trim(), "640 root:glance");
    await assertIdempotent(h, "glance/configure", osValues("glance", "127.0.12.11", ceph));
    await runOk(h, "glance/configure", osValues("glance", "127.0.12.11"));
  });

  serviceTests(host, {
    role: "placement",
    address: "127.0.12.12",
    packages: ["placement-api", "python3-pymysql", "python3-memcache"],
    units: ["placement-api.service"],
    validate: [{ file: "/etc/placement/placement.conf", namespaces: ["placement.conf", ...COMMON_NS] }],
    databases: ["placement"],
    catalog: ["placement:placement"],
    users: { placement: "SECRET_PLACEMENT" },
    api: { app: "/usr/bin/placement-api", port: 8778, user: "placement", expect: /"versions"/ },
  });

  serviceTests(host, {
    role: "nova",
    address: "127.0.12.13",
    packages: ["nova-api", "nova-conductor", "nova-scheduler", "nova-consoleproxy"],
    units: ["nova-api.service", "nova-api-metadata.service", "nova-conductor.service", "nova-scheduler.service", "nova-novncproxy.service"],
    validate: [{ file: "/etc/nova/nova.conf", namespaces: ["nova.conf", ...COMMON_NS] }],
    databases: ["nova", "nova_api", "nova_cell0"],
    catalog: ["nova:compute"],
    users: { nova: "SECRET_NOVA" },
    api: { app: "/usr/bin/nova-api-wsgi", port: 8774, user: "nova", expect: /"versions"/ },
    after: (h) => {
      const cells = h.exec(["runuser", "-u", "nova", "--", "nova-manage", "cell_v2", "list_cells"]);
      assert.match(cells, / cell0 /);
      assert.match(cells, / cell1 /);
    },
  });

  serviceTests(host, {
    role: "cinder",
    address: "127.0.12.14",
    packages: ["cinder-api", "cinder-scheduler"],
    units: ["cinder-api.service", "cinder-scheduler.service"],
    validate: [{ file: "/etc/cinder/cinder.conf", namespaces: ["cinder", ...COMMON_NS] }],
    databases: ["cinder"],
    catalog: ["cinderv3:volumev3"],
    users: { cinder: "SECRET_CINDER" },
    api: { app: "/usr/bin/cinder-wsgi", port: 8776, user: "cinder", expect: /"versions"/ },
  });

  serviceTests(host, {
    role: "volume",
    address: "127.0.12.15",
    packages: ["cinder-volume", "python3-rbd", "ceph-common"],
    units: ["cinder-volume.service"],
    validate: [{ file: "/etc/cinder/cinder.conf", namespaces: ["cinder", ...COMMON_NS], rename: { rbd: "backend_defaults" } }],
    after: (h) => {
      const conf = h.read("/etc/cinder/cinder.conf");
      assert.match(conf, /^enabled_backends = rbd$/m);
      assert.match(conf, /^rbd_secret_uuid = [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/m);
    },
  });

  serviceTests(host, {
    role: "heat",
    address: "127.0.12.16",
    packages: ["heat-api", "heat-api-cfn", "heat-engine"],
    units: ["heat-api.service", "heat-api-cfn.service", "heat-engine.service"],
    validate: [{ file: "/etc/heat/heat.conf", namespaces: ["heat.common.config", "heat.common.context", "heat.common.crypt", "heat.engine.clients.os.keystone.heat_keystoneclient", "heat.common.wsgi", "heat.engine.clients", "heat.engine.notification", "heat.engine.resources", "heat.api.aws.ec2token", ...COMMON_NS] }],
    databases: ["heat"],
    catalog: ["heat:orchestration", "heat-cfn:cloudformation"],
    users: { heat: "SECRET_HEAT" },
    api: { app: "/usr/bin/heat-wsgi-api", port: 8004, user: "heat", expect: /"versions"/ },
    after: async (h) => {
      // The stack user domain and its admin, and heat's roles.
      const q = (sql: string) => h.exec(["mysql", "-uroot", "-N", "-B", "-e", sql]).trim();
      assert.equal(q("SELECT COUNT(*) FROM keystone.project WHERE name = 'heat' AND is_domain = 1"), "1");
      assert.equal(q("SELECT COUNT(*) FROM keystone.role WHERE name IN ('heat_stack_owner', 'heat_stack_user')"), "2");
    },
  });

  describe("horizon", () => {
    serviceTests(host, {
      role: "horizon",
      address: "127.0.12.17",
      packages: ["openstack-dashboard", "openstack-dashboard-apache"],
      units: ["apache2.service"],
      after: (h: DebianHost) => {
        // Django loads the settings (Debian's local_settings.py, then ours) as the dashboard does:
        // as www-data, since Debian's site runs it inside Apache's own workers (its
        // WSGIProcessGroup line is commented out).
        const out = h.exec(["runuser", "-u", DEBIAN_DASHBOARD_USER, "--", "python3", "-c", [
          "import os, django, json",
          "os.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'",
          "django.setup()",
          "from django.conf import settings",
          "print(json.dumps([settings.OPENSTACK_KEYSTONE_URL, settings.SESSION_ENGINE, settings.CACHES['default']['LOCATION'], settings.SECRET_KEY]))",
        ].join("\n")]);
        const [url, engine, location, key] = JSON.parse(out.trim().split("\n").pop()!);
        assert.equal(url, "http://127.0.12.5:5000/v3");
        assert.equal(engine, "django.contrib.sessions.backends.cache");
        assert.deepEqual(location, ["127.0.12.3:11211"]);
        assert.equal(key, osValues("horizon", "127.0.12.17").SECRET_HORIZON);
        // The login page renders as the dashboard's user: Debian's local_settings.py opens its key
        // store under a lock, which needs the directory to be that user's.
        // Sessions in signed cookies here: no memcached runs in this host.
        const page = h.exec(["runuser", "-u", DEBIAN_DASHBOARD_USER, "--", "python3", "-c", [
          "import os, django", "os.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'", "django.setup()",
          "from django.conf import settings", "settings.DEBUG_PROPAGATE_EXCEPTIONS = True", "settings.ALLOWED_HOSTS = ['*']",
          "settings.SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'",
          "from django.test import Client", "print(Client().get('/auth/login/').status_code)",
        ].join("\n")]);
        assert.equal(page.trim().split("\n").pop(), "200");
      },
    });

    // Found by this case (skipped until 2026-12-07): configure gave the key store to horizon, but
    // Debian's site runs the dashboard as www-data, so every page was a 500 (PermissionError on the
    // store's lock). configure now reads the WSGI user from Apache's enabled configuration.
    it("horizon: Apache serves the login page (apache2 run in the host on loopback, sessions in a real memcached)", async () => {
      const h = host();
      // Sessions live in memcached: without it Django cannot create the login page's session (500).
      await runOk(h, "memcached/install", { NAME: "memcached-1" });
      startIn(h, "memcached", ["memcached", "-u", "memcache", "-l", "127.0.12.3", "-p", "11211"]);
      await waitForPort("127.0.12.3", 11211);
      h.exec(["sh", "-c", "printf 'Listen 127.0.12.17:80\\n' > /etc/apache2/ports.conf"]);
      const apache = startIn(h, "apache2", ["sh", "-c", ". /etc/apache2/envvars && exec /usr/sbin/apache2 -DFOREGROUND"]);
      try {
        let r = { status: 0, body: "" };
        for (let i = 0; i < 60; i++) {
          try {
            // From the dashboard's root, as a browser comes: its redirect must land on a page Apache
            // serves (Django's WEBROOT and Apache's WSGIScriptAlias agree).
            r = await http("http://127.0.12.17/horizon/");
            if (r.status === 200) break;
          } catch (e) {
            r = { status: -1, body: String(e) };
          }
          await new Promise((res) => setTimeout(res, 1000));
        }
        assert.equal(r.status, 200, `${r.body.slice(0, 800)}\n${logOf(h, "apache2")}\n${h.tryExec(["sh", "-c", "tail -n 60 /var/log/apache2/*.log /var/log/openstack-dashboard/*.log 2>/dev/null"]).stdout}`);
        assert.match(r.body, /<form[^>]*login/i);
        assert.match(r.body, /<form[^>]*action="\/horizon\/auth\/login\/"/);
      } finally {
        apache.kill("SIGTERM");
      }
    });

    it("horizon: the key store and settings follow the user Apache runs the dashboard as (a daemon group as Ubuntu ships it: horizon; back to www-data)", async () => {
      const h = host();
      const STORE = "/var/lib/openstack-dashboard/secret-key";
      const SETTINGS = "/etc/openstack-dashboard/local_settings.d/_50_kinetic.py";
      // The store and everything in it (the key, the lock the page above took) has one owner.
      const storeOwners = () => [...new Set(h.exec(["find", STORE, "-printf", "%u:%g\\n"]).trim().split("\n"))];
      const settingsGroup = () => h.exec(["stat", "-c", "%G", SETTINGS]).trim();
      assert.deepEqual(storeOwners(), [`${DEBIAN_DASHBOARD_USER}:${DEBIAN_DASHBOARD_USER}`]);
      assert.ok(h.exec(["find", STORE, "-name", "*.lock"]).trim(), "the login page above took the store's lock");
      // A mod_wsgi daemon group of its own, as horizon, as Ubuntu's conf-available/openstack-dashboard.conf
      // has it (named apart from the group Debian's site defines and leaves unused: Apache refuses two of one name).
      const UBUNTU_SHAPED = "/etc/apache2/conf-enabled/zz-kinetic-test-daemon.conf";
      fs.writeFileSync(h.path(UBUNTU_SHAPED), "WSGIDaemonProcess dashboard user=horizon group=horizon processes=3 threads=10 display-name=%{GROUP}\nWSGIProcessGroup dashboard\n");
      try {
        const r = await runOk(h, "horizon/configure", osValues("horizon", "127.0.12.17"));
        assert.match(r.stdout, /the dashboard runs as horizon:horizon$/m);
        assert.deepEqual(storeOwners(), ["horizon:horizon"]);
        assert.equal(settingsGroup(), "horizon");
      } finally {
        fs.rmSync(h.path(UBUNTU_SHAPED), { force: true });
      }
      await runOk(h, "horizon/configure", osValues("horizon", "127.0.12.17"));
      assert.deepEqual(storeOwners(), [`${DEBIAN_DASHBOARD_USER}:${DEBIAN_DASHBOARD_USER}`]);
      assert.equal(settingsGroup(), DEBIAN_DASHBOARD_USER);
      await assertIdempotent(h, "horizon/configure", osValues("horizon", "127.0.12.17"));
    });
  });

  it("refuses malformed addresses and secrets that cannot go into a URL, naming the value, executing nothing", async () => {
    const h = host();
    await assertRejects(h, "glance/configure", osValues("glance", "127.0.12.11", { ADDRESSES_MYSQL: EVIL }), "check values", /KINETIC_ADDRESSES_MYSQL is not a valid ipv4/);
    await assertRejects(h, "nova/configure", osValues("nova", "127.0.12.13", { SECRET_NOVA_DB: `db-${EVIL}` }), "check values", /KINETIC_SECRET_NOVA_DB must be URL-safe/);
    await assertRejects(h, "heat/configure", osValues("heat", "127.0.12.16", { ADDRESSES_HAPROXY: "", ADDRESSES_KEYSTONE: "" }), "check values", /no keystone/);
    await assertRejects(h, "horizon/configure", osValues("horizon", "127.0.12.17", { SECRET_HORIZON: `h-${EVIL}` }), "check values", /SECRET_HORIZON must be URL-safe/);
  });

  // `kinetic image upload` (image/glance.ts) into this file's glance, as an operator's image goes in:
  // through keystone's catalog and the image API v2 with the admin's openrc values. The guest image
  // is built offline from the cached .debs. (Its own file until 2026-12-07: a second host installing
  // MariaDB, keystone and glance again for three checks.)
  describe("kinetic image upload: the guest image into this glance", function () {
    const GLANCE = "127.0.12.11";
    const KEYSTONE = "127.0.12.5";
    let image: GuestImage;
    let auth: OpenStackAuth;
    let api: ChildProcess | undefined;

    before(async function () {
      image = requireGuestImage(this);
      // Back to the file store (the Ceph case above pointed glance at RBD), then its API.
      await runOk(host(), "glance/configure", osValues("glance", GLANCE));
      api = startWsgi(host(), "glance-image-api", "/usr/bin/glance-wsgi-api", "glance", GLANCE, 9292);
      await waitForPort(GLANCE, 9292, 120_000);
      // The admin's openrc, as `kinetic openrc` prints it (the password is the stack's secret).
      auth = authFromEnv({
        OS_AUTH_URL: `http://${KEYSTONE}:5000/v3`,
        OS_USERNAME: "admin",
        OS_PASSWORD: osValues("x", "127.0.0.1").SECRET_KEYSTONE_ADMIN,
        OS_PROJECT_NAME: "admin",
        OS_USER_DOMAIN_NAME: "Default",
        OS_PROJECT_DOMAIN_NAME: "Default",
        OS_REGION_NAME: "RegionOne",
      });
    });
    after(() => api?.kill("SIGTERM"));

    const getImage = async (id: string) => {
      const r = await http(`http://${GLANCE}:9292/v2/images/${id}`, { headers: { "X-Auth-Token": await adminToken(KEYSTONE) } });
      assert.equal(r.status, 200, r.body);
      return JSON.parse(r.body) as Record<string, string | number>;
    };
    const download = async (id: string) => {
      const r = await fetch(`http://${GLANCE}:9292/v2/images/${id}/file`, { headers: { "X-Auth-Token": await adminToken(KEYSTONE) } });
      assert.equal(r.status, 200);
      return Buffer.from(await r.arrayBuffer());
    };
    const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

    it("uploads kernel (aki), ramdisk (ari) and root disk (raw, kernel_id/ramdisk_id): active, public, the files' bytes", async () => {
      const logs: string[] = [];
      const up = await uploadGuestImage(image, auth, (m) => logs.push(m)).catch((e: Error) => assert.fail(`${e.message}\n--- glance-api log\n${logOf(host(), "glance-image-api")}`));
      assert.equal(up.name, `kinetic-guest-${image.key}`);
      assert.equal(logs.filter((l) => / uploaded \(/.test(l)).length, 3, logs.join("\n"));
      const ami = await getImage(up.imageId);
      const aki = await getImage(up.kernelId);
      const ari = await getImage(up.ramdiskId);
      assert.deepEqual([ami.status, aki.status, ari.status], ["active", "active", "active"]);
      assert.deepEqual([ami.disk_format, aki.disk_format, ari.disk_format], ["raw", "aki", "ari"]);
      assert.equal(ami.kernel_id, up.kernelId);
      assert.equal(ami.ramdisk_id, up.ramdiskId);
      assert.equal(ami.visibility, "public");
      assert.equal(ami.kinetic_image_key, image.key);
      assert.equal(sha256(await download(up.kernelId)), image.sha256.kernel);
      assert.equal(sha256(await download(up.ramdiskId)), image.sha256.ramdisk);
      assert.equal(aki.size, fs.statSync(image.kernel).size);
    });

    it("a second upload finds the same images and uploads nothing; a same-named image without the key is refused, not replaced", async () => {
      const logs: string[] = [];
      const first = await uploadGuestImage(image, auth);
      const again = await uploadGuestImage(image, auth, (m) => logs.push(m));
      assert.deepEqual(again, first);
      assert.equal(logs.filter((l) => /already in glance/.test(l)).length, 3, logs.join("\n"));
      // Someone else's image under the name a different build would take.
      const other = { ...image, key: "0000000000000000" };
      const token = await adminToken(KEYSTONE);
      const made = await http(`http://${GLANCE}:9292/v2/images`, { method: "POST", headers: { "X-Auth-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ name: "kinetic-guest-0000000000000000-kernel", disk_format: "aki", container_format: "aki" }) });
      assert.equal(made.status, 201, made.body);
      await assert.rejects(uploadGuestImage(other, auth), /an image named kinetic-guest-0000000000000000-kernel exists without kinetic_image_key=0000000000000000 .*not touching it/);
      const still = await getImage(JSON.parse(made.body).id);
      assert.equal(still.status, "queued", "the foreign image was left as it was");
    });

    it("missing credentials and a wrong password are one clear line each", async () => {
      assert.throws(() => authFromEnv({ OS_AUTH_URL: "http://x:5000/v3" }), /^Error: OS_USERNAME is not set: source the cloud's openrc/);
      await assert.rejects(uploadGuestImage(image, { ...auth, password: "wrong" }), /keystone at http:\/\/127\.0\.12\.5:5000\/v3 refused the credentials of admin \(project admin\)/);
    });
  });

  it("INDEX > 0 never syncs a database nor registers in keystone", async () => {
    const h = host();
    const r = await runOk(h, "cinder/configure", osValues("cinder", "127.0.12.14", { INDEX: "1" }));
    assert.match(r.stdout, /cinder: INDEX 1: database initialisation is done by INDEX 0/);
    assert.match(r.stdout, /keystone registration: INDEX 1: done by INDEX 0/);
    await runOk(h, "cinder/configure", osValues("cinder", "127.0.12.14"));
  });
});
