/**
 * `kinetic verify`'s machinery against a real cloud: in a Debian test host, MariaDB and keystone
 * deployed by their formulas (mysql/configure makes the database, keystone/configure bootstraps the
 * admin with the password the program derives from the stack's seed), keystone under uwsgi on a
 * loopback address. Then the same code `kinetic verify` runs after reading the stack
 * (verify/adminCredentials.ts from a cloud and the seed, verify/tempest.ts runVerify): Debian's
 * Tempest discovers the cloud and runs real identity tests from an include list. Also: a cloud that
 * does not answer, and a wrong password, are one clear line each.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deriveSecret } from "../../components/formulaFacts";
import type { Cloud } from "../../pillar";
import { adminCredentials } from "../../verify/adminCredentials";
import { checkKeystone, missingTools, runVerify, VerifyResult } from "../../verify/tempest";
import { DebianHost } from "../support/debianHost";
import { requirePrerequisite } from "../support/prerequisite";
import { changes, describeRun, runOk, waitForPort, withHost } from "../formulas/hostSuite";
import { INFRASTRUCTURE_INSTALLS, logOf, osValues, startIn, startWsgi, stopAll } from "../formulas/openstackSuite";

const PREFIX = "127.0.23";
const DB = `${PREFIX}.2`;
const KEYSTONE = `${PREFIX}.5`;
const SEED = "verify-test-seed-0123456789";
/** A cloud as the pillar would give it: keystone endpoint 0 at KEYSTONE, no haproxy. */
const CLOUD = { endpoints: [{ type: "keystone", role: "keystone", index: 0, address: KEYSTONE, name: "keystone-0" }] } as unknown as Cloud;

/** MariaDB and keystone in the host, keystone's admin password derived from SEED as the program does. */
async function deployKeystone(h: DebianHost): Promise<void> {
  await runOk(h, "mysql/install", { NAME: "mysql-1" });
  h.exec(["install", "-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"]);
  startIn(h, "mariadb", ["/usr/sbin/mariadbd", "--user=mysql", `--bind-address=${DB}`, "--port=3306", "--skip-log-bin", "--wsrep-on=OFF", "--innodb-buffer-pool-size=64M"]);
  await waitForPort(DB, 3306);
  const my = await runOk(h, "mysql/configure", osValues("mysql", DB, { NAME: "mysql-1" }));
  assert.ok(changes(my).includes("database keystone"), describeRun(my));
  await runOk(h, "keystone/install", { NAME: "keystone-1" });
  const ks = await runOk(h, "keystone/configure", osValues("keystone", KEYSTONE, { ADDRESSES_HAPROXY: "", SECRET_KEYSTONE_ADMIN: deriveSecret(SEED, "SECRET_KEYSTONE_ADMIN") }));
  assert.ok(changes(ks).includes("keystone bootstrapped"), describeRun(ks));
  // Two processes: Tempest's workers log in and create users side by side.
  startWsgi(h, "keystone", "/usr/bin/keystone-wsgi-public", "keystone", KEYSTONE, 5000, { processes: 2 });
  await waitForPort(KEYSTONE, 5000, 120_000);
  // The cloud is up when keystone answers, not when uwsgi listens: the app loads on the first request
  // (tens of seconds on a loaded machine). Verify runs against a cloud that is up.
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      await checkKeystone(adminCredentials(CLOUD, SEED), 60_000);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`keystone never answered: ${(e as Error).message}\n${logOf(h, "keystone")}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

describe("kinetic verify: Tempest against a real keystone", function () {
  this.timeout(30 * 60_000);
  before(function () {
    const missing = missingTools();
    requirePrerequisite(this, missing.length > 0 && `missing ${missing.join(", ")}`, "kinetic verify's Tempest tests");
  });
  const { host } = withHost({ installed: INFRASTRUCTURE_INSTALLS }, { setup: deployKeystone, teardown: stopAll, startTimeoutMs: 30 * 60_000, stopTimeoutMs: 10 * 60_000 });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-verify-"));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const lines: string[] = [];
  let run: VerifyResult | undefined;

  it("runs real identity tests from an include list: table, closing line, subunit and JUnit kept; tempest.conf private", async function () {
    host();
    const list = path.join(root, "identity.txt");
    // One regular expression a line, '#' comments: Tempest's own format.
    fs.writeFileSync(list, "# identity, as an operator's include list would say it\n^tempest\\.api\\.identity\\.v3\\.test_(tokens|api_discovery|domains)\\.\n^tempest\\.api\\.identity\\.admin\\.v3\\.test_domains\\.DomainsTestJSON\\.test_create_update_delete_domain\n");
    const runDir = path.join(root, "verify", "keystone", "run-1");
    try {
      run = await runVerify({ credentials: adminCredentials(CLOUD, SEED), runDir, root: path.join(root, "verify"), includeList: list, concurrency: 2, log: (l) => lines.push(l) });
    } catch (e) {
      assert.fail(`${(e as Error).message}\n--- keystone log\n${logOf(host(), "keystone")}\n--- discover.log\n${fs.existsSync(path.join(runDir, "discover.log")) ? fs.readFileSync(path.join(runDir, "discover.log"), "utf8").slice(-4000) : ""}`);
    }
    const r = run!;
    const stderr = fs.existsSync(path.join(runDir, "tempest.stderr.log")) ? fs.readFileSync(path.join(runDir, "tempest.stderr.log"), "utf8").slice(-3000) : "";
    assert.equal(r.exitCode, 0, `${r.report}\n--- tempest stderr\n${stderr}`);
    assert.ok(r.counts.passed >= 5, `real identity tests passed: ${r.report}`);
    assert.equal(r.counts.failed, 0, r.report);
    assert.ok(r.results.every((t) => t.id.startsWith("tempest.api.identity.")), "only the include list's tests ran");
    // The table, and the closing line last.
    const reportLines = r.report.trimEnd().split("\n");
    assert.match(r.report, /^SERVICE\s+PASSED\s+FAILED\s+SKIPPED$/m);
    assert.match(r.report, new RegExp(`^identity \\(keystone\\)\\s+${r.counts.passed}\\s+0\\s+${r.counts.skipped}$`, "m"));
    assert.equal(reportLines[reportLines.length - 1], `${r.counts.passed} passed, 0 failed, ${r.counts.skipped} skipped`);
    // Kept: the subunit stream, a JUnit report naming the tests, the summary.
    assert.ok(fs.statSync(r.subunit).size > 0);
    const junit = fs.readFileSync(r.junit, "utf8");
    assert.match(junit, /<testcase classname="tempest\.api\.identity\.v3\.test_tokens\.TokensV3Test"/);
    assert.equal((junit.match(/<testcase /g) ?? []).length, r.results.length);
    assert.equal(fs.readFileSync(path.join(runDir, "summary.txt"), "utf8"), r.report);
    // tempest.conf holds the admin password: 0600, in directories only the owner enters.
    const conf = path.join(runDir, "etc", "tempest.conf");
    assert.match(fs.readFileSync(conf, "utf8"), new RegExp(deriveSecret(SEED, "SECRET_KEYSTONE_ADMIN").replace(/[-]/g, "\\-")));
    assert.equal(fs.statSync(conf).mode & 0o777, 0o600);
    for (const d of [runDir, path.dirname(runDir), path.join(root, "verify")]) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);
    assert.ok(!lines.join("\n").includes(deriveSecret(SEED, "SECRET_KEYSTONE_ADMIN")), "the password is never printed");
  });

  it("an include list that matches nothing is not green", async function () {
    host();
    const list = path.join(root, "nothing.txt");
    fs.writeFileSync(list, "^tempest\\.api\\.no_such_service\\.\n");
    const r = await runVerify({ credentials: adminCredentials(CLOUD, SEED), runDir: path.join(root, "verify", "keystone", "run-2"), includeList: list, log: (l) => lines.push(l) });
    assert.equal(r.exitCode, 1);
    assert.match(r.report, /no test ran: the selection matched nothing\n0 passed, 0 failed, 0 skipped\n$/);
  });

  it("a cloud that does not answer, or refuses the password: one clear line, nothing run", async () => {
    host();
    const gone = { ...adminCredentials(CLOUD, SEED), authUrl: `http://${PREFIX}.99:5000/v3` };
    const runDir = path.join(root, "verify", "gone");
    await assert.rejects(runVerify({ credentials: gone, runDir, log: () => undefined }), (e: Error) => {
      assert.equal(e.message, `keystone at http://${PREFIX}.99:5000/v3 is not reachable (ECONNREFUSED): is the stack up, and does this machine reach its management network?`);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
    assert.equal(fs.existsSync(runDir), false, "nothing was started");
    await assert.rejects(runVerify({ credentials: adminCredentials(CLOUD, "another-seed"), runDir, log: () => undefined }), /refused the admin's password \(401\): the stack's kinetic:serviceSecret is not the one the cloud was deployed with$/);
  });
});
