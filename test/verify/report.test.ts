/**
 * kinetic verify's reading of Tempest's results, against subunit streams written by python3-subunit's
 * own encoder, not ours: statuses, attachments, tests cut short; the table, the
 * closing line and the JUnit report; the admin credentials and the openrc.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deriveSecret } from "../../components/formulaFacts";
import { deriveSecretAt } from "../../components/secretEpochs";
import type { Cloud } from "../../pillar";
import { adminCredentials, keystoneAuthUrl, openrc, osEnvironment } from "../../verify/adminCredentials";
import { junitXml, renderTable, serviceOf, summaryLine, countsOf } from "../../verify/report";
import { testResults } from "../../verify/subunit";
import { lastErrorLine, refstackRegexes, selection } from "../../verify/tempest";
import { oneLine, parseVerifyArgs, runStamp } from "../../cli/verify";
import { requirePrerequisite } from "../support/prerequisite";

interface Event {
  id: string;
  status: "exists" | "inprogress" | "success" | "fail" | "skip" | "xfail";
  tags?: string[];
  /** A traceback attachment. */
  attach?: string;
}

/**
 * A subunit v2 stream from python3-subunit's own encoder (subunit.v2.StreamResultToBytes, what
 * subunit-output and stestr use), all events in one Python process: not our code, so the reader is
 * checked against the format as its maintainers write it. Debian's python3: the first on the PATH
 * may be another without subunit.
 */
function stream(events: Event[]): Buffer {
  const py = [
    "import json, sys, datetime, subunit.v2 as v2",
    "out = v2.StreamResultToBytes(sys.stdout.buffer)",
    "t = datetime.datetime(2026, 12, 6, 20, 0, 0, tzinfo=datetime.timezone.utc)",
    "for i, e in enumerate(json.loads(sys.stdin.read())):",
    "    ts = t + datetime.timedelta(seconds=i)",
    "    if e.get('attach') is not None:",
    "        out.status(test_id=e['id'], file_name='traceback', file_bytes=e['attach'].encode(), mime_type='text/plain; charset=utf8', timestamp=ts)",
    "    out.status(test_id=e['id'], test_status=e['status'], test_tags=set(e.get('tags') or []) or None, timestamp=ts)",
  ].join("\n");
  const r = spawnSync("/usr/bin/python3", ["-c", py], { input: JSON.stringify(events) });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout;
}

const ID = {
  ok: "tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token[id-6f8e4436,smoke]",
  fail: "tempest.api.compute.servers.test_create_server.ServersTestJSON.test_list_servers[id-9a438d88]",
  skip: "tempest.api.volume.test_volumes_get.VolumesGetTest.test_volume_create_get_update_delete[id-27fb0e9f]",
  xfail: "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_register_upload_get_image_file[id-139b765e]",
  cut: "tempest.api.network.test_networks.NetworksTest.test_create_update_delete_network_subnet[id-0e269138]",
  fixture: "setUpClass (tempest.api.object_storage.test_container_services.ContainerTest)",
};

describe("kinetic verify: Tempest's results", function () {
  before(function () {
    requirePrerequisite(this, spawnSync("/usr/bin/python3", ["-c", "import subunit.v2"]).status !== 0 && "python3-subunit is not installed", "the subunit reader tests");
  });

  it("reads python3-subunit's stream: pass, fail with its traceback, skip, xfail, a test cut short, a class fixture", () => {
    const results = testResults(
      stream([
        { id: ID.ok, status: "exists" },
        { id: ID.ok, status: "inprogress" },
        { id: ID.ok, status: "success" },
        { id: ID.fail, status: "inprogress" },
        { id: ID.fail, status: "fail", attach: "Traceback (most recent call last):\n  File \"x.py\", line 1\ntempest.lib.exceptions.TimeoutException: Request timed out\n" },
        { id: ID.skip, status: "skip", tags: ["worker-1"] },
        { id: ID.xfail, status: "xfail" },
        { id: ID.cut, status: "inprogress" },
        { id: ID.fixture, status: "fail" },
        { id: "tempest.api.identity.v3.only_listed", status: "exists" },
      ]),
    );
    const by = Object.fromEntries(results.map((r) => [r.id, r]));
    assert.deepEqual(results.map((r) => r.id).sort(), [ID.ok, ID.fail, ID.skip, ID.xfail, ID.cut, ID.fixture].sort(), "a listed test that never ran is no result");
    assert.equal(by[ID.ok].outcome, "passed");
    assert.equal(by[ID.xfail].outcome, "passed");
    assert.equal(by[ID.skip].outcome, "skipped");
    assert.deepEqual(by[ID.skip].tags, ["worker-1"]);
    assert.equal(by[ID.fail].outcome, "failed");
    assert.match(by[ID.fail].details.traceback, /TimeoutException: Request timed out/);
    assert.equal(by[ID.cut].outcome, "failed", "started, never ended: not a pass");
    assert.equal(by[ID.fixture].outcome, "failed");
    assert.ok((by[ID.ok].seconds ?? -1) >= 0);
    assert.deepEqual(countsOf(results), { passed: 2, failed: 3, skipped: 1 });
  });

  it("passes over a damaged packet (bad CRC) and reads the ones after it", () => {
    const bad = stream([{ id: "tempest.api.identity.damaged", status: "success" }]);
    bad[bad.length - 1] ^= 0xff;
    const results = testResults(Buffer.concat([Buffer.from("noise"), bad, stream([{ id: ID.ok, status: "success" }])]));
    assert.deepEqual(results.map((r) => r.id), [ID.ok]);
  });

  it("a table per service, the failures named, and last the plain line", () => {
    const results = testResults(
      stream([{ id: ID.ok, status: "success" }, { id: ID.fail, status: "fail", attach: "boom\nValueError: bad flavor\n" }, { id: ID.skip, status: "skip" }, { id: ID.fixture, status: "fail" }]),
    );
    const table = renderTable(results);
    assert.match(table, /^SERVICE\s+PASSED\s+FAILED\s+SKIPPED$/m);
    assert.match(table, /^compute \(nova\)\s+0\s+1\s+0$/m);
    assert.match(table, /^identity \(keystone\)\s+1\s+0\s+0$/m);
    assert.match(table, /^block storage \(cinder\)\s+0\s+0\s+1$/m);
    assert.match(table, /^object storage \(swift\)\s+0\s+1\s+0$/m, "a class fixture counts for its class's service");
    assert.match(table, /^total\s+1\s+2\s+1$/m);
    assert.match(table, /test_list_servers\[id-9a438d88\]: ValueError: bad flavor/);
    assert.equal(summaryLine(countsOf(results)), "1 passed, 2 failed, 1 skipped");
    assert.equal(serviceOf("tempest.scenario.test_server_basic_ops.TestServerBasicOps.test_server_basic_ops[compute,id-7fff3fb3,network,smoke]"), "scenario");
  });

  it("JUnit: one suite per service, failures with their traceback, skips, XML-escaped", () => {
    const results = testResults(stream([{ id: ID.ok, status: "success" }, { id: ID.fail, status: "fail", attach: "a < b & \"c\"\u0001\nKeyError: 'x'\n" }, { id: ID.skip, status: "skip" }]));
    const xml = junitXml(results, "kinetic verify t");
    assert.match(xml, /<testsuites name="kinetic verify t" tests="3" failures="1" skipped="1"/);
    assert.match(xml, /<testsuite name="identity \(keystone\)" tests="1" failures="0" skipped="0"/);
    assert.match(xml, /<testcase classname="tempest\.api\.identity\.v3\.test_tokens\.TokensV3Test" name="test_create_token\[id-6f8e4436,smoke\]"/);
    assert.match(xml, /<failure message="KeyError: 'x'">a &lt; b &amp; &quot;c&quot;\?\nKeyError: 'x'\n<\/failure>/);
    assert.match(xml, /<skipped message=""><\/skipped>/);
    // Well-formed: python's own XML parser reads it.
    const r = spawnSync("python3", ["-c", "import sys, xml.dom.minidom as m; d = m.parseString(sys.stdin.read()); print(len(d.getElementsByTagName('testcase')))"], { input: xml, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "3");
  });

  it("the admin's credentials: keystone behind haproxy if there is one, else keystone endpoint 0; the password the formula got", () => {
    const cloud = (endpoints: object[]) => ({ endpoints }) as unknown as Cloud;
    const ks = [
      { type: "keystone", role: "keystone", index: 1, address: "10.0.0.12" },
      { type: "keystone", role: "keystone", index: 0, address: "10.0.0.11" },
    ];
    assert.equal(keystoneAuthUrl(cloud(ks)), "http://10.0.0.11:5000/v3");
    assert.equal(keystoneAuthUrl(cloud([...ks, { type: "haproxy", role: "haproxy", index: 0, address: "10.0.0.5" }])), "http://10.0.0.5:5000/v3");
    assert.throws(() => keystoneAuthUrl(cloud([{ type: "mysql", role: "mysql", index: 0, address: "10.0.0.3" }])), /no keystone endpoint/);
    const c = adminCredentials(cloud(ks), "seed-1");
    // What components/formulaStep.ts hands formulas/keystone/configure as SECRET_KEYSTONE_ADMIN.
    assert.equal(c.password, deriveSecret("seed-1", "SECRET_KEYSTONE_ADMIN"));
    // After kinetic rotate --class service, the password keystone/configure got at the new epoch.
    const rotated = adminCredentials(cloud(ks), "seed-1", { service: 1, fernet: 3 });
    assert.equal(rotated.password, deriveSecretAt("seed-1", "SECRET_KEYSTONE_ADMIN", 1));
    assert.notEqual(rotated.password, c.password);
    assert.equal(adminCredentials(cloud(ks), "seed-1", { fernet: 3 }).password, c.password, "another class's epoch is not the admin's");
    const env = osEnvironment(c);
    assert.equal(env.OS_USERNAME, "admin");
    assert.equal(env.OS_PROJECT_NAME, "admin");
    assert.equal(env.OS_USER_DOMAIN_NAME, "Default");
    assert.equal(env.OS_PROJECT_DOMAIN_NAME, "Default");
    assert.equal(env.OS_IDENTITY_API_VERSION, "3");
    assert.equal(env.OS_CACERT, undefined, "no CA bundle for http");
    // The openrc is read back by a real shell with the password intact, whatever it holds.
    const rc = openrc({ ...c, password: "it's $(not) `run` \"x\"" }, "test");
    const r = spawnSync("sh", ["-c", `${rc}\nprintf '%s' "$OS_PASSWORD"`], { encoding: "utf8" });
    assert.equal(r.stdout, "it's $(not) `run` \"x\"");
  });

  it("refstack: a guideline's test list becomes include regexes that match by test id, as stestr (Python's re) reads them", () => {
    const list = "# 2022.11 required\ntempest.api.compute.servers.test_servers.ServersTestJSON.test_create_server_with_admin_password[id-b92d5ec7-b1dd-44a2-87e4-45e888c46ef0]\n\ntempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token\n";
    const regexes = refstackRegexes(list);
    const ids = [
      "tempest.api.compute.servers.test_servers.ServersTestJSON.test_create_server_with_admin_password[id-b92d5ec7-b1dd-44a2-87e4-45e888c46ef0,smoke]",
      "tempest.api.compute.servers.test_moved.Moved.test_admin_password[negative,id-b92d5ec7-b1dd-44a2-87e4-45e888c46ef0]",
      "tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token[id-6f8e4436-fc96-4282-8122-e41df57197a9]",
      "tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token_by_name[id-1]",
      "tempest.api.compute.servers.test_servers.ServersTestJSON.test_other[id-b92d5ec7-b1dd-44a2-87e4-45e888c46ef1]",
    ];
    const py = "import re, sys, json\nrx = [re.compile(l) for l in sys.argv[1].split('\\n') if l]\nprint(json.dumps([any(r.search(t) for r in rx) for t in json.loads(sys.stdin.read())]))";
    const r = spawnSync("python3", ["-c", py, regexes], { input: JSON.stringify(ids), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [true, true, true, false, false]);
    assert.equal(refstackRegexes("# nothing\n\n"), "");
  });

  it("include and exclude lists: a line that is a whole test id (an interop list given as --include-list) matches by its id; regular expressions stay as written", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-lists-"));
    try {
      const file = path.join(dir, "interop.txt");
      const given = "tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_list_flavors[id-e36c0eaa-dff5-4082-ad1f-3f9a80aa3f59]\ntempest\\.api\\.identity\\..*token\n";
      fs.writeFileSync(file, given);
      const args = selection(undefined, file, undefined, dir);
      assert.equal(args[0], "--include-list");
      assert.notEqual(args[1], file, "the converted copy, not the operator's file");
      assert.equal(fs.readFileSync(file, "utf8"), given, "the operator's file is left as it was");
      const regexes = fs.readFileSync(args[1], "utf8");
      const ids = [
        "tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_list_flavors[id-e36c0eaa-dff5-4082-ad1f-3f9a80aa3f59,smoke]",
        "tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.test_list_flavors_with_detail[id-6e85fde4-b3cd-4137-ab72-ed5f418e8c24]",
        "tempest.api.identity.v3.test_tokens.TokensV3Test.test_create_token[id-6f8e4436-fc96-4282-8122-e41df57197a9]",
      ];
      // A line Python's re cannot compile selects nothing here (stestr stops on it).
      const py = "import re, sys, json\ndef c(l):\n  try: return re.compile(l)\n  except re.error: return None\nrx = [r for r in (c(l) for l in sys.argv[1].split('\\n') if l) if r]\nprint(json.dumps([any(r.search(t) for r in rx) for t in json.loads(sys.stdin.read())]))";
      const match = (rx: string) => {
        const r = spawnSync("python3", ["-c", py, rx], { input: JSON.stringify(ids), encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as boolean[];
      };
      assert.deepEqual(match(regexes), [true, false, true]);
      // The line as written: a character class that Python's re rejects or that matches nothing.
      assert.deepEqual(match(given), [false, false, true]);
      // Without a test id in it, the operator's own file is passed as it is.
      fs.writeFileSync(file, "tempest\\.api\\.identity\n");
      assert.deepEqual(selection(undefined, undefined, file, dir), ["--exclude-list", path.resolve(file)]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("arguments: profiles, lists, concurrency; the run directory's name; one line of an engine error", () => {
    assert.deepEqual(parseVerifyArgs(["--stack", "lab", "--profile", "full", "--concurrency", "4"]), { stack: "lab", profile: "full", concurrency: 4 });
    assert.deepEqual(parseVerifyArgs(["--set", "validation.run_validation=false", "--set", "compute.a=b=c"]), { stack: "dev", settings: { "validation.run_validation": "false", "compute.a": "b=c" } });
    assert.match(String(parseVerifyArgs(["--set", "novalue"])), /SECTION\.KEY=VALUE/);
    assert.match(String(parseVerifyArgs(["--profile", "quick"])), /one of smoke, refstack, full/);
    assert.match(String(parseVerifyArgs(["--concurrency", "0"])), /1 to 256/);
    assert.match(String(parseVerifyArgs(["--stack"])), /needs a value/);
    assert.match(String(parseVerifyArgs(["extra"])), /unexpected argument extra/);
    assert.equal(runStamp(new Date("2026-12-06T20:15:54.123Z")), "2026-12-06T20-15-54Z");
    assert.equal(oneLine(new Error("code: 255\n stdout: \n stderr: error: no stack named 'x' found\n")), "no stack named 'x' found");
    assert.deepEqual(selection("smoke"), ["--smoke"]);
    assert.deepEqual(selection("full"), []);
    assert.throws(() => selection(undefined, "/nonexistent/list"), /--include-list \/nonexistent\/list: no such file/);
    assert.equal(lastErrorLine("Traceback (most recent call last):\n  File \"a\"\nkeystoneauth1.exceptions.connection.ConnectFailure: Unable to establish connection\n"), "keystoneauth1.exceptions.connection.ConnectFailure: Unable to establish connection");
  });
});
