import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, runOk, waitForPort, withHost } from "./hostSuite";

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
      assert.deepEqual(changes(r), ["database keystone", "database user keystone"]);
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
