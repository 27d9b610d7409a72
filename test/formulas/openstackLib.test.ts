/**
 * formulas/lib/openstack.sh run locally with bash (no test host): the values it derives, the
 * sections it renders and the values it refuses. The live checks (db sync, keystone registration,
 * validators, APIs) are in openstack.test.ts, ovn.test.ts and openstackMore.test.ts.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { FORMULAS_DIR } from "../../formulas/load";
import { EVIL } from "./hostSuite";

const libs = ["lib/kinetic.sh", "lib/openstack.sh"].map((f) => fs.readFileSync(path.join(FORMULAS_DIR, f), "utf8")).join("\n");
/** The libraries, then `body`, as a formula runs them: each value as KINETIC_<NAME>. */
const bashArgs = (body: string, env: Record<string, string>) => ({
  argv: ["-c", `${libs}\n${body}`],
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin", KINETIC_FORMULA: "demo/configure", ...Object.fromEntries(Object.entries(env).map(([k, v]) => [`KINETIC_${k}`, v])) },
});
const bash = (body: string, env: Record<string, string> = {}) => {
  const a = bashArgs(body, env);
  return spawnSync("bash", a.argv, { encoding: "utf8", env: a.env });
};
const base = { ADDRESS: "10.0.0.9", INDEX: "0", ADDRESSES_MYSQL: "10.0.0.2 10.0.0.3", ADDRESSES_KEYSTONE: "10.0.0.5", ADDRESSES_DEMO: "10.0.0.9 10.0.0.10", SECRET_RABBITMQ: "p" };

describe("formulas/lib/openstack.sh (run locally with bash)", () => {
  it("os_values: without haproxy the database is mysql[0], keystone keystone[0], endpoints the type's first address", () => {
    const r = bash('os_values demo; printf "%s|%s|%s|%s|%s\\n" "$OS_DB_HOST" "$OS_API_HOST" "$OS_KEYSTONE_URL" "$OS_MEMCACHE" "$OS_TRANSPORT_URL"', base);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "10.0.0.2|10.0.0.9|http://10.0.0.5:5000||\n");
  });

  it("os_values: haproxy fronts everything; memcached and rabbitmq lists; the rabbitmq password is percent-encoded", () => {
    const r = bash('os_values demo; printf "%s|%s|%s|%s|%s\\n" "$OS_DB_HOST" "$OS_API_HOST" "$OS_KEYSTONE_URL" "$OS_MEMCACHE" "$OS_TRANSPORT_URL"', {
      ...base, ADDRESSES_HAPROXY: "10.0.0.1 10.0.0.11", ADDRESSES_MEMCACHED: "10.0.0.6 10.0.0.7", ADDRESSES_RABBITMQ: "10.0.0.8 10.0.0.12", SECRET_RABBITMQ: "a b/$(x)%",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "10.0.0.1|10.0.0.1|http://10.0.0.1:5000|10.0.0.6:11211,10.0.0.7:11211|rabbit://openstack:a%20b%2F%24%28x%29%25@10.0.0.8:5672,openstack:a%20b%2F%24%28x%29%25@10.0.0.12:5672/\n");
  });

  it("os_values refuses a malformed address of any type it reads, naming it, executing nothing", () => {
    for (const bad of ["ADDRESS", "ADDRESSES_MYSQL", "ADDRESSES_HAPROXY", "ADDRESSES_MEMCACHED", "ADDRESSES_RABBITMQ", "ADDRESSES_KEYSTONE", "ADDRESSES_DEMO"]) {
      const r = bash('step "check values"; os_values demo; echo reached', { ...base, [bad]: EVIL.replace(/\/tmp\/pwned/g, "/tmp/pwned-oslib") });
      assert.notEqual(r.status, 0, bad);
      assert.match(r.stderr, new RegExp(`step "check values" failed: KINETIC_${bad} is not a valid ipv4`));
      assert.doesNotMatch(r.stdout, /reached/);
    }
    assert.equal(fs.existsSync("/tmp/pwned-oslib"), false);
    const none = bash('step "check values"; os_values demo', { ...base, ADDRESSES_MYSQL: "" });
    assert.match(none.stderr, /no database/);
    const noKeystone = bash('step "check values"; os_values demo', { ...base, ADDRESSES_KEYSTONE: "" });
    assert.match(noKeystone.stderr, /no keystone/);
  });

  it("os_secret accepts the program's base64url secrets and refuses anything needing escaping, without printing it", () => {
    assert.equal(bash("os_secret SECRET_X", { SECRET_X: "q3Jd-9vX_0aZbKc7Lm2Np4Rs6Tu8Vw1y" }).status, 0);
    for (const v of ["a%b", "a$b", "a b", "a'b", "a\nb", ""]) {
      const r = bash('step "check values"; os_secret SECRET_X', { SECRET_X: v });
      assert.notEqual(r.status, 0, JSON.stringify(v));
      if (v) assert.ok(!r.stderr.includes(v), "the secret is printed");
    }
  });

  it("the renderers print sections Python's configparser reads back (no duplicate section or key)", () => {
    const r = bash(
      `os_values demo
       { os_ini_default; printf 'my_ip = %s\\n' "$OS_ADDRESS"
         os_ini_database demo demo pw1; os_ini_database demo demo_api pw1 api_database
         os_ini_authtoken demo pw2; os_ini_auth service_user demo pw2; os_ini_auth placement placement pw3; os_ini_common demo; }`,
      { ...base, ADDRESSES_MEMCACHED: "10.0.0.6", ADDRESSES_RABBITMQ: "10.0.0.8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const py = spawnSync("python3", ["-c", "import configparser, json, sys\nc = configparser.ConfigParser(strict=True, interpolation=None)\nc.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(c[s]) for s in c.sections()}))"], { input: r.stdout, encoding: "utf8" });
    assert.equal(py.status, 0, py.stderr + r.stdout);
    const conf = JSON.parse(py.stdout);
    assert.equal(conf.database.connection, "mysql+pymysql://demo:pw1@10.0.0.2/demo");
    assert.equal(conf.api_database.connection, "mysql+pymysql://demo:pw1@10.0.0.2/demo_api");
    assert.equal(conf.keystone_authtoken.memcached_servers, "10.0.0.6:11211");
    assert.equal(conf.keystone_authtoken.region_name, "RegionOne");
    assert.equal(conf.service_user.region_name, undefined, "service_user has no region_name option");
    assert.equal(conf.placement.username, "placement");
    // No role consumes notifications, and sending one broke every cinder volume create.
    assert.equal(conf.oslo_messaging_notifications.driver, "noop");
    assert.equal(conf.cache.memcache_servers, "10.0.0.6:11211");
  });

  it("os_db_sync and os_register keep to INDEX 0 and say why they did nothing", () => {
    const r = bash('os_values demo; f() { echo RAN; }; os_db_sync demo demo-common f; os_register user demo SECRET_DEMO; finish', { ...base, INDEX: "2" });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /RAN|changed:/);
    assert.match(r.stdout, /demo: INDEX 2: database initialisation is done by INDEX 0/);
    assert.match(r.stdout, /keystone registration: INDEX 2: done by INDEX 0/);
    // INDEX 0 with nothing listening (a loopback address no daemon uses).
    // A test host that asked for partial runs (TEST_PARTIAL=1) is told what was left out.
    const r0 = bash('os_values demo; f() { echo RAN; }; os_db_sync demo demo-common f; os_register user demo SECRET_DEMO; finish', { ...base, ADDRESSES_MYSQL: "127.0.12.254", ADDRESSES_KEYSTONE: "127.0.12.254", TEST_PARTIAL: "1" });
    assert.equal(r0.status, 0, r0.stderr);
    assert.match(r0.stdout, /skipped: demo database sync \(database 127\.0\.12\.254:3306 is not reachable\)/);
    assert.match(r0.stdout, /skipped: keystone registration \(keystone 127\.0\.12\.254:5000 is not reachable\)/);
  });

  it("anywhere else a phase never succeeds half-way: it waits for the database, then fails naming it", () => {
    const started = Date.now();
    const r = bash('os_values demo; f() { echo RAN; }; step "database"; os_db_sync demo demo-common f; echo REACHED', { ...base, ADDRESSES_MYSQL: "127.0.12.254", WAIT_SECONDS: "3" });
    assert.notEqual(r.status, 0, r.stdout);
    assert.doesNotMatch(r.stdout, /RAN|REACHED|skipped:/);
    assert.match(r.stdout, /waiting: demo database sync \(database 127\.0\.12\.254:3306 is not reachable; up to 3 s\)/);
    assert.match(r.stderr, /step "database" failed: demo database sync: database 127\.0\.12\.254:3306 is not reachable \(waited 3 s\)/);
    assert.ok(Date.now() - started >= 3000, "it did not wait");
    const k = bash('os_values demo; step "registration"; os_register user demo SECRET_DEMO; echo REACHED', { ...base, ADDRESSES_KEYSTONE: "127.0.12.254", WAIT_SECONDS: "2" });
    assert.notEqual(k.status, 0);
    assert.doesNotMatch(k.stdout, /REACHED/);
    assert.match(k.stderr, /step "registration" failed: keystone registration: keystone 127\.0\.12\.254:5000 is not reachable \(waited 2 s\)/);
  });

  it("waits as long as it takes within the deadline: a database that answers late is used", () => {
    // A listener on a free loopback port started 2 s after the formula began waiting.
    const r = bash('os_values demo; (sleep 2; exec python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\'127.0.12.253\', 3306)); s.listen(); time.sleep(4)") > /dev/null 2>&1 & wait_until "demo database sync" "database down" tcp_open 127.0.12.253 3306 && echo ANSWERED', { ...base, WAIT_SECONDS: "20" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /waiting: demo database sync/);
    assert.match(r.stdout, /ANSWERED/);
  });

  it("os_derive_key is base64(sha256(value)), as the bind role derives the rndc key", () => {
    const r = bash('os_derive_key "$KINETIC_SECRET_X"', { SECRET_X: "abc" });
    assert.equal(r.stdout, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  });

  it("os_uwsgi_ini: processes sized to the CPUs (2 to 8) and `Connection: close` once, a second run changes nothing; an ini without [uwsgi] is refused", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-uwsgi-"));
    try {
      // Debian's keystone-uwsgi.ini, shortened: comments, the section, processes and threads.
      const ini = path.join(dir, "api-uwsgi.ini");
      fs.writeFileSync(ini, "#####\n# Debian\n[uwsgi]\nbuffer-size = 65535\nrem-header = Content-Length\nprocesses = 8\nthreads = 32\n");
      const first = bash(`KINETIC_CHANGES=0; os_uwsgi_ini ${JSON.stringify(ini)}; echo "changes $KINETIC_CHANGES"`);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /changes 1$/m);
      const cpus = Math.min(8, Math.max(2, Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim())));
      const text = fs.readFileSync(ini, "utf8");
      assert.equal(text, `#####\n# Debian\n[uwsgi]\nadd-header = Connection: close\nbuffer-size = 65535\nrem-header = Content-Length\nprocesses = ${cpus}\nthreads = 32\n`);
      const second = bash(`KINETIC_CHANGES=0; os_uwsgi_ini ${JSON.stringify(ini)}; echo "changes $KINETIC_CHANGES"`);
      assert.match(second.stdout, /changes 0$/m);
      assert.equal(fs.readFileSync(ini, "utf8"), text);
      const foreign = path.join(dir, "other.ini");
      fs.writeFileSync(foreign, "[app]\nprocesses = 8\n");
      const r = bash(`step "uwsgi"; os_uwsgi_ini ${JSON.stringify(foreign)}`);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /other\.ini has no \[uwsgi\] section/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("os_register against a keystone that does not answer at first", () => {
    // keystone's API as far as `os_register role demo` uses it, on a loopback address of its own;
    // `refuse` says how each request is to be left unanswered, in order, before keystone answers.
    const fakeKeystone = async (refuse: ("reset" | 503)[]) => {
      const roles: { id: string; name: string }[] = [];
      const posts: string[] = [];
      let n = 0;
      const server = http.createServer((req, res) => {
        const how = refuse[n++];
        if (how === "reset") {
          req.socket.destroy();
          return;
        }
        if (how === 503) {
          res.writeHead(503).end("no server is available");
          return;
        }
        const url = new URL(req.url ?? "/", "http://keystone");
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          const json = (code: number, value: unknown, headers: Record<string, string> = {}) => void res.writeHead(code, { "Content-Type": "application/json", ...headers }).end(JSON.stringify(value));
          if (req.method === "POST" && url.pathname === "/v3/auth/tokens") json(201, { token: {} }, { "X-Subject-Token": "token" });
          else if (req.method === "GET" && url.pathname === "/v3/roles") json(200, { roles: roles.filter((r) => r.name === url.searchParams.get("name")) });
          else if (req.method === "POST" && url.pathname === "/v3/roles") {
            const role = { id: `id-${roles.length}`, name: (JSON.parse(body) as { role: { name: string } }).role.name };
            roles.push(role);
            posts.push(role.name);
            json(201, { role });
          } else json(404, {});
        });
      });
      await new Promise<void>((resolve) => server.listen(5000, "127.0.12.252", resolve));
      return { posts, close: () => new Promise((resolve) => server.close(resolve)) };
    };
    // Asynchronous: the fake keystone answers from this process's event loop meanwhile.
    const bashAsync = (body: string, env: Record<string, string>) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const a = bashArgs(body, env);
        const child = spawn("bash", a.argv, { env: a.env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
      });
    const env = { ...base, ADDRESSES_KEYSTONE: "127.0.12.252", WAIT_SECONDS: "60", SECRET_KEYSTONE_ADMIN: "admin-password" };

    it("a reset connection and two 503s are waited out; each role is made once", async function () {
      this.timeout(120_000);
      const k = await fakeKeystone(["reset", 503, 503]);
      try {
        const r = await bashAsync('os_values demo; step "registration"; os_register role demo; echo "REACHED $KINETIC_CHANGES"', env);
        assert.equal(r.status, 0, r.stderr);
        assert.equal((r.stderr.match(/waiting: keystone at http:\/\/127\.0\.12\.252:5000\/v3: POST \/auth\/tokens: /g) ?? []).length, 3, r.stderr);
        assert.match(r.stderr, /HTTP 503/);
        assert.match(r.stdout, /changed: keystone role admin\nchanged: keystone role service\nchanged: keystone role demo\nREACHED 3/);
        assert.deepEqual(k.posts, ["admin", "service", "demo"]);
      } finally {
        await k.close();
      }
    });

    it("a keystone that never answers fails the step after the deadline, naming it and the last request", async function () {
      this.timeout(120_000);
      const k = await fakeKeystone(Array(100).fill(503));
      try {
        const started = Date.now();
        const r = await bashAsync('os_values demo; step "registration"; os_register role demo; echo REACHED', { ...env, WAIT_SECONDS: "6" });
        assert.notEqual(r.status, 0);
        assert.doesNotMatch(r.stdout, /REACHED/);
        assert.match(r.stderr, /os_register: keystone at http:\/\/127\.0\.12\.252:5000\/v3 did not answer within 6 s \(last: POST \/auth\/tokens: HTTP 503\)/);
        // The step's failure names the command's first line only, not the client's whole text.
        assert.match(r.stderr, /step "registration" failed \(exit 1 at line \d+: python3 - "\$OS_KEYSTONE_URL\/v3" "\$KINETIC_WAIT_SECONDS" "\$@" <<'PY' \.\.\.\)/);
        assert.doesNotMatch(r.stderr, /def register/);
        assert.ok(Date.now() - started >= 6000, "it did not wait");
        assert.deepEqual(k.posts, []);
      } finally {
        await k.close();
      }
    });
  });
});
