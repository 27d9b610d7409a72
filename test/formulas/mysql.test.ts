import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { FormulaValues } from "../../formulas/envelope";
import { DebianHost } from "../support/debianHost";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, waitForPort, withHost } from "./hostSuite";

const NAMES = ["mysql-3d0c6c1e-64a4-4b39-8c1f-6d7b6f2f4a01", "mysql-8b1f0d52-1b8e-4d0a-9b55-2f9f7e1f2a02", "mysql-c2e9b7a4-0f1d-4c67-a0f2-5a6b7c8d9e03"];
const ADDRS = ["127.0.10.41", "127.0.10.42", "127.0.10.43"];
const values = (i: number, over: FormulaValues = {}): FormulaValues => ({
  NAME: NAMES[i],
  ADDRESS: ADDRS[i],
  INDEX: String(i),
  ADDRESSES_MYSQL: ADDRS.join(" "),
  SECRET_MYSQL_ROOT: `root-${EVIL}`,
  SECRET_KEYSTONE_DB: `ks-${EVIL}`,
  ...over,
});

describe("formulas/mysql on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();

  it("install: MariaDB server and client, Galera 4, rsync; mariadb enabled", async () => {
    const h = host();
    await runOk(h, "mysql/install", { NAME: NAMES[0] });
    assertInstalled(h, ["mariadb-server", "mariadb-client", "galera-4", "rsync"]);
    assertEnabled(h, ["mariadb.service"]);
    await assertIdempotent(h, "mysql/install", { NAME: NAMES[0] });
  });

  it("configure on INDEX 0: Galera configuration over every mysql endpoint, bootstrap decided", async () => {
    const h = host();
    const r = await runOk(h, "mysql/configure", values(0));
    const cnf = h.read("/etc/mysql/mariadb.conf.d/60-kinetic-galera.cnf");
    assert.match(cnf, /^wsrep_cluster_address = gcomm:\/\/127\.0\.10\.41,127\.0\.10\.42,127\.0\.10\.43$/m);
    assert.match(cnf, /^wsrep_provider = \/usr\/lib\/galera\/libgalera_smm\.so$/m);
    assert.match(cnf, /^wsrep_node_address = 127\.0\.10\.41$/m);
    assert.match(cnf, new RegExp(`^wsrep_node_name = ${NAMES[0]}$`, "m"));
    assert.match(cnf, /^bind-address = 127\.0\.10\.41$/m);
    assert.ok(h.exists("/usr/lib/galera/libgalera_smm.so"), "the provider the configuration names exists");
    assert.match(r.stdout, /galera: INDEX 0 bootstraps the cluster \(--wsrep-new-cluster\)/);
    assert.match(r.stdout, /skipped: cluster start \(systemd is not running here\)/);
    // The root password reaches MariaDB's option parser intact, from a 0600 file.
    assert.equal(h.exec(["stat", "-c", "%a %U", "/root/.my.cnf"]).trim(), "600 root");
    const parsed = h.exec(["my_print_defaults", "--defaults-file=/root/.my.cnf", "client"]);
    assert.ok(parsed.includes(`--password=root-${EVIL}\n`), "password round-trips through my.cnf escaping");
    assert.doesNotMatch(r.stdout + r.stderr, /root-x \$\(touch/, "the secret is never printed");
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "mysql/configure", values(0));
  });

  it("the written configuration really forms a Galera cluster; INDEX 0 then creates accounts and databases once", async function () {
    this.timeout(5 * 60_000);
    const h = host();
    h.exec(["install", "-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"]);
    let server: ChildProcess | undefined;
    try {
      // What galera_new_cluster does under systemd: mariadbd --wsrep-new-cluster, with the formula's files.
      server = spawn("chroot", [h.root, "/usr/sbin/mariadbd", "--user=mysql", "--wsrep-new-cluster"], { stdio: "ignore" });
      await waitForPort(ADDRS[0], 3306);
      const q = (sql: string) => h.exec(["mysql", "-uroot", "-N", "-B", "-e", sql]).trim();
      assert.equal(q("SHOW STATUS LIKE 'wsrep_ready'"), "wsrep_ready\tON");
      assert.equal(q("SHOW STATUS LIKE 'wsrep_cluster_size'"), "wsrep_cluster_size\t1");
      assert.equal(q("SELECT @@wsrep_node_name"), NAMES[0]);
      const r = await runOk(h, "mysql/configure", values(0));
      assert.deepEqual(changes(r), ["database user kinetic-health (unix socket, no privileges)", "database keystone", "database user keystone"]);
      // The service account logs in over TCP with the secret exactly as given (shell syntax, quotes, newline).
      assert.equal(h.exec(["mysql", "-h", ADDRS[0], "-u", "keystone", `--password=${values(0).SECRET_KEYSTONE_DB}`, "-N", "-B", "-e", "SELECT DATABASE() IS NULL, 1", "keystone"]).trim(), "0\t1");
      await assertIdempotent(h, "mysql/configure", values(0));

      // kinetic rotate --class service: configure again with new secrets. The account keeps its
      // rows and grants; the old password is refused, the new one works.
      const login = (pw: string, sql: string) => h.tryExec(["mysql", "-h", ADDRS[0], "-u", "keystone", `--password=${pw}`, "-N", "-B", "-e", sql, "keystone"]);
      assert.equal(login(values(0).SECRET_KEYSTONE_DB, "CREATE TABLE survivor (n INT); INSERT INTO survivor VALUES (42)").code, 0);
      const rotated = values(0, { SECRET_KEYSTONE_DB: "ks-rotated-Zq2Wx4Ec6Rv8Tb0Yn1Um3", SECRET_MYSQL_ROOT: "root-rotated-Pl9Ok8Ij7Uh6Yg5Tf" });
      const r2 = await runOk(h, "mysql/configure", rotated);
      assert.deepEqual(changes(r2), ["/root/.my.cnf", "database password of user keystone"]);
      assert.doesNotMatch(r2.stdout + r2.stderr, /rotated-/, "the secrets are never printed");
      assert.notEqual(login(values(0).SECRET_KEYSTONE_DB, "SELECT 1").code, 0, "the old password is refused");
      assert.equal(login(rotated.SECRET_KEYSTONE_DB, "SELECT n FROM survivor").stdout.trim(), "42", "the new password works and the rows are there");
      assert.ok(h.exec(["my_print_defaults", "--defaults-file=/root/.my.cnf", "client"]).includes(`--password=${rotated.SECRET_MYSQL_ROOT}\n`));
      const rootHas = (pw: string) => q(`SELECT JSON_SEARCH(Priv, 'one', PASSWORD('${pw}')) IS NOT NULL FROM mysql.global_priv WHERE User = 'root' AND Host = 'localhost'`);
      assert.equal(rootHas(rotated.SECRET_MYSQL_ROOT), "1", "root's password (for TCP clients) is the new one");
      await assertIdempotent(h, "mysql/configure", rotated);
    } finally {
      server?.kill("SIGTERM");
      if (server && server.exitCode === null) await new Promise((r) => server!.once("exit", r));
    }
  });

  it("configure on another INDEX joins instead of bootstrapping", async () => {
    const h = host();
    const r = await runOk(h, "mysql/configure", values(1));
    assert.match(r.stdout, /galera: INDEX 1 joins the cluster at 127\.0\.10\.41,127\.0\.10\.42,127\.0\.10\.43/);
    assert.doesNotMatch(r.stdout, /bootstraps/);
    assert.match(h.read("/etc/mysql/mariadb.conf.d/60-kinetic-galera.cnf"), /^wsrep_node_address = 127\.0\.10\.42$/m);
  });

  it("refuses malformed addresses without executing them", async () => {
    const h = host();
    await assertRejects(h, "mysql/configure", values(0, { ADDRESSES_MYSQL: EVIL }), "check values", /KINETIC_ADDRESSES_MYSQL is not a valid ipv4/);
    await assertRejects(h, "mysql/configure", values(0, { INDEX: EVIL }), "check values", /KINETIC_INDEX is not a number/);
  });
});

/**
 * The Galera health endpoint (formulas/mysql/configure) and haproxy's check of it
 * (formulas/haproxy/configure), both real, in one booted host: a one-member cluster bootstrapped by
 * the formula under systemd, haproxy in front of it. A member made not Synced (wsrep_desync: Donor/
 * Desynced, as a donor of a state transfer is) must answer 503 and be marked DOWN, its clients cut
 * off; Synced again, 200 and UP. With a plain TCP check haproxy kept it UP throughout.
 */
describe("formulas/mysql on a booted Debian host: the Galera health endpoint behind a real haproxy", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const ONE = values(0, { ADDRESSES_MYSQL: ADDRS[0] });
  const HAPROXY = "127.0.10.91";
  const HEALTH = `http://${ADDRS[0]}:9200/`;

  const health = (h: DebianHost, url = HEALTH) => h.netExec(["curl", "-sS", "-i", "--max-time", "10", url]);
  const sql = (h: DebianHost, q: string) => h.exec(["mysql", "-uroot", "-N", "-B", "-e", q]).trim();
  /** status and check_status of mysql-0 in haproxy's `show stat`, read from its admin socket. */
  const haproxyServer = (h: DebianHost): { status: string; check: string } => {
    const py = [
      "import csv, socket",
      "s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); s.sendall(b'show stat\\n')",
      "data = b''",
      "while True:",
      "    b = s.recv(65536)",
      "    if not b: break",
      "    data += b",
      "rows = list(csv.reader(data.decode().lstrip('# ').splitlines()))",
      "head = rows[0]",
      "for r in rows[1:]:",
      "    if len(r) == len(head) and r[0] == 'mysql_3306' and r[1] == 'mysql-0': print(r[head.index('status')], r[head.index('check_status')])",
    ].join("\n");
    const [status = "", check = ""] = h.exec(["python3", "-c", py]).trim().split(" ");
    return { status, check };
  };
  const waitFor = async (what: string, ok: () => boolean, seconds = 60): Promise<void> => {
    const deadline = Date.now() + seconds * 1000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`waited ${seconds} s for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  /** A query through haproxy's frontend, as the keystone service would make it. */
  const throughHaproxy = (h: DebianHost) =>
    h.tryExec(["mysql", "-h", HAPROXY, "-u", "keystone", `--password=${ONE.SECRET_KEYSTONE_DB}`, "--connect-timeout=5", "-N", "-B", "-e", "SELECT @@wsrep_node_name", "keystone"]);

  it("configure: the member serves; its health endpoint answers 200 on the member's address only, through an account with no privilege; a second run changes nothing", async () => {
    const h = host();
    await runOk(h, "mysql/install", { NAME: NAMES[0] });
    const r = await runOk(h, "mysql/configure", ONE);
    assert.ok(changes(r).includes("database user kinetic-health (unix socket, no privileges)"), describeRun(r));
    assertEnabled(h, ["kinetic-galera-health.socket"]);
    const ok = health(h);
    assert.match(ok.stdout, /^HTTP\/1\.1 200 /, `${ok.stdout}${ok.stderr}`);
    assert.match(ok.stdout, /galera: serving: Synced \(state 4\), Primary, wsrep_ready ON\n$/);
    // Bound to the member's address, not to every address of the host.
    assert.deepEqual(h.exec(["ss", "-Hltn", "sport = :9200"]).trim().split("\n").map((l) => l.trim().split(/\s+/)[3]), [`${ADDRS[0]}:9200`]);
    assert.notEqual(health(h, "http://127.0.0.1:9200/").code, 0, "nothing answers on 127.0.0.1:9200");
    // The account: unix-socket login, USAGE only (no privilege on any row), and only for the OS user of its name.
    assert.equal(sql(h, "SHOW GRANTS FOR 'kinetic-health'@'localhost'"), "GRANT USAGE ON *.* TO `kinetic-health`@`localhost` IDENTIFIED VIA unix_socket");
    assert.notEqual(h.tryExec(["mysql", "--no-defaults", "-u", "kinetic-health", "-e", "SELECT 1"]).code, 0, "root cannot log in as kinetic-health");
    await assertIdempotent(h, "mysql/configure", ONE);
  });

  it("a flood of connections starts at most 8 checks per source and 16 in all, each as kinetic-health, never root; the endpoint answers again after it", async () => {
    const h = host();
    // 40 connections that send nothing, from the sources given: each check waits (2 s) for its
    // request, so they all hang at once. Counted while they hang: the checks running and their
    // user; then which connections got an answer and which systemd closed unanswered.
    const py = [
      "import json, socket, subprocess, sys, time",
      "src = sys.argv[1:]",
      `conns = [socket.create_connection(('${ADDRS[0]}', 9200), source_address=(src[i % len(src)], 0)) for i in range(40)]`,
      "time.sleep(1)",
      "users = subprocess.run(['ps', '-C', 'galera-health', '-o', 'user='], capture_output=True, text=True).stdout.split()",
      "answered = dropped = 0",
      "for c in conns:",
      "    c.settimeout(20)",
      "    try: data = c.recv(64)",
      "    except ConnectionResetError: data = b''",
      "    if data.startswith(b'HTTP/1.1 '): answered += 1",
      "    elif data == b'': dropped += 1",
      "    c.close()",
      "print(json.dumps({'users': users, 'answered': answered, 'dropped': dropped}))",
    ].join("\n");
    const flood = (sources: string[]) => JSON.parse(h.exec(["python3", "-c", py, ...sources])) as { users: string[]; answered: number; dropped: number };
    // MaxConnectionsPerSource (8) bounds one source, MaxConnections (16) every source together.
    for (const [sources, bound] of [[["127.0.1.1"], 8], [["127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5"], 16]] as const) {
      const f = flood([...sources]);
      assert.ok(f.users.length >= 1 && f.users.length <= bound, `${sources.length} source(s): ${JSON.stringify(f)}`);
      assert.deepEqual([...new Set(f.users)], ["kinetic-health"], "never root");
      assert.ok(f.answered >= 1 && f.answered <= bound && f.answered + f.dropped === 40, `${sources.length} source(s): the connections past ${bound} are closed, not queued: ${JSON.stringify(f)}`);
      await waitFor("the endpoint answering 200 after the flood", () => /^HTTP\/1\.1 200 /.test(health(h).stdout), 30);
    }
  });

  it("haproxy marks a member that is not Synced DOWN and cuts its clients off, and UP again once it is Synced", async function () {
    this.timeout(10 * 60_000);
    const h = host();
    await runOk(h, "haproxy/install", { NAME: "haproxy-1" });
    await runOk(h, "haproxy/configure", { ADDRESS: HAPROXY, ADDRESSES_HAPROXY: HAPROXY, ADDRESSES_MYSQL: ADDRS[0] });
    await waitFor("haproxy's mysql-0 UP", () => haproxyServer(h).status === "UP");
    assert.equal(haproxyServer(h).check, "L7OK", "checked over HTTP, not by TCP");
    assert.equal(throughHaproxy(h).stdout.trim(), NAMES[0]);

    try {
      // Donor/Desynced: what a member serving a state transfer is; it accepts TCP all along.
      sql(h, "SET GLOBAL wsrep_desync = ON");
      assert.equal(sql(h, "SHOW STATUS LIKE 'wsrep_local_state_comment'"), "wsrep_local_state_comment\tDonor/Desynced");
      const down = health(h);
      assert.match(down.stdout, /^HTTP\/1\.1 503 /, down.stdout);
      assert.match(down.stdout, /galera: not serving: Donor\/Desynced \(state 2\), Primary, wsrep_ready ON\n$/);
      await waitFor("haproxy's mysql-0 DOWN", () => haproxyServer(h).status === "DOWN", 30);
      assert.equal(haproxyServer(h).check, "L7STS", "down by the check's HTTP status");
      assert.equal(h.tryExec(["mysql", "--connect-timeout=3", "-h", ADDRS[0], "-u", "keystone", `--password=${ONE.SECRET_KEYSTONE_DB}`, "-N", "-B", "-e", "SELECT 1", "keystone"]).stdout.trim(), "1", "the member itself still accepts TCP");
      assert.notEqual(throughHaproxy(h).code, 0, "haproxy sends no client to it");
    } finally {
      sql(h, "SET GLOBAL wsrep_desync = OFF");
    }
    await waitFor("the endpoint answering 200", () => /^HTTP\/1\.1 200 /.test(health(h).stdout), 30);
    await waitFor("haproxy's mysql-0 UP again", () => haproxyServer(h).status === "UP", 30);
    assert.equal(throughHaproxy(h).stdout.trim(), NAMES[0]);
  });

  it("a member out of any Primary component (it left for a peer that never answers: Disconnected, wsrep_ready OFF) answers 503 and is DOWN; bootstrapped again, 200 and UP", async function () {
    this.timeout(10 * 60_000);
    const h = host();
    await waitFor("haproxy's mysql-0 UP", () => haproxyServer(h).status === "UP");
    try {
      // Galera gives up on the absent peer after about 30 s; mariadbd keeps accepting TCP.
      sql(h, "SET GLOBAL wsrep_cluster_address = 'gcomm://127.0.10.42'");
      const down = health(h);
      assert.match(down.stdout, /^HTTP\/1\.1 503 /, down.stdout);
      assert.match(down.stdout, /galera: not serving: Initialized \(state 0\), Disconnected, wsrep_ready OFF\n$/);
      await waitFor("haproxy's mysql-0 DOWN", () => haproxyServer(h).status === "DOWN", 30);
      assert.notEqual(throughHaproxy(h).code, 0, "haproxy sends no client to it");
    } finally {
      sql(h, "SET GLOBAL wsrep_cluster_address = 'gcomm://'");
    }
    await waitFor("the endpoint answering 200", () => /^HTTP\/1\.1 200 /.test(health(h).stdout), 30);
    await waitFor("haproxy's mysql-0 UP again", () => haproxyServer(h).status === "UP", 30);
    assert.equal(throughHaproxy(h).stdout.trim(), NAMES[0]);
  });
});
