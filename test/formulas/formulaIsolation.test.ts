/**
 * What a formula leaves within reach of the other users of its host, with formulas/lib/kinetic.sh and
 * lib/openstack.sh run locally by bash as root (no test host, as openstackLib.test.ts does):
 * - no process it starts, above all none dropped to a service user (os_as, su, runuser), carries
 *   its values (KINETIC_SECRET_*) in its environment, which that user reads in /proc/<pid>/environ;
 *   the keystone client of os_register still gets the passwords it needs;
 * - the one-formula-at-a-time lock is in root's own directory: another local user can neither take
 *   it (stalling every formula) nor plant a symlink in its place.
 * Root is needed (runuser, setpriv, unshare); under CI=true its absence fails the file.
 */
import * as assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FORMULAS_DIR } from "../../formulas/load";

const libs = ["lib/kinetic.sh", "lib/openstack.sh"].map((f) => fs.readFileSync(path.join(FORMULAS_DIR, f), "utf8")).join("\n");
const SECRET = "s3cr3t-Value-4-kinetic-isolation-test";
const ADMIN = "adm1n-Value-4-kinetic-isolation-test";
const NOBODY = 65534;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** bash -c "<libs><body>" with the values exported as KINETIC_<NAME>, as the runner hands them over. */
function bash(body: string, values: Record<string, string> = {}, timeoutMs = 60_000, prefix: string[] = []): Promise<Ran> {
  const vars = Object.fromEntries(Object.entries(values).map(([k, v]) => [`KINETIC_${k}`, v]));
  const argv = [...prefix, "bash", "-c", `${libs}\n${body}`];
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", KINETIC_FORMULA: "demo/configure", ...vars }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * Processes whose command line starts with `command`: pid, owner and environment. (The formula's own
 * shell and its subshells, root's, hold the values from their start: only root reads those.)
 */
function processes(command: string): { pid: number; uid: number; environ: string }[] {
  const found: { pid: number; uid: number; environ: string }[] = [];
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ").startsWith(command)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${e}/status`, "utf8"))![1]);
      found.push({ pid: Number(e), uid, environ: fs.readFileSync(`/proc/${e}/environ`, "utf8") });
    } catch {
      /* gone */
    }
  }
  return found;
}

describe("formulas: nothing of a formula within reach of the host's other users", function () {
  this.timeout(120_000);
  before(function () {
    if (process.getuid?.() === 0) return;
    if (process.env.CI === "true") throw new Error("this file needs root (runuser, setpriv, unshare), and CI runs as root");
    console.log("      (not root: runuser and setpriv need it)");
    this.skip();
  });

  it("no process a formula starts carries its values: os_as, su, runuser and plain commands get none", async () => {
    // Distinct sleeps mark each way a formula starts a process; they outlive the formula, as a
    // service would, and are read from /proc as the service user could.
    const marks = { os_as: "31.4159", su: "31.4160", runuser: "31.4161", plain: "31.4162" };
    const r = await bash(
      [
        // (their output away from the test's pipes, which would otherwise stay open until they end)
        `os_as nobody sleep ${marks.os_as} > /dev/null 2>&1 &`,
        `su -s /bin/sh -c 'exec sleep ${marks.su}' nobody > /dev/null 2>&1 &`,
        `runuser -u nobody -- sleep ${marks.runuser} > /dev/null 2>&1 &`,
        `sleep ${marks.plain} > /dev/null 2>&1 &`,
        // The formula itself still reads its values.
        'printf "own:%s\\n" "$KINETIC_SECRET_DEMO"',
        "sleep 1",
      ].join("\n"),
      { SECRET_DEMO: SECRET, NAME: "demo" },
    );
    try {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^own:${SECRET}$`, "m"));
      for (const [how, mark] of Object.entries(marks)) {
        const ps = processes(`sleep ${mark}`);
        assert.ok(ps.length > 0, `${how}: the process was not found`);
        if (how !== "plain") assert.ok(ps.some((p) => p.uid === NOBODY), `${how}: no process of nobody`);
        for (const p of ps) {
          assert.ok(!p.environ.includes("KINETIC_"), `${how}: pid ${p.pid} (uid ${p.uid}) has KINETIC_ in its environment: ${p.environ.split("\0").filter((v) => v.startsWith("KINETIC_")).map((v) => v.split("=")[0]).join(" ")}`);
          assert.ok(!p.environ.includes(SECRET), `${how}: pid ${p.pid} has the secret in its environment`);
        }
      }
    } finally {
      for (const mark of Object.values(marks)) for (const p of processes(`sleep ${mark}`)) process.kill(p.pid, "SIGKILL");
    }
  });

  it("os_register's keystone client still gets the admin password (and only it is given the secrets)", async () => {
    // A keystone stand-in on a loopback address of its own: records the password of POST /auth/tokens, answers 401.
    const address = "127.0.13.7";
    const server: ChildProcess = spawn("python3", ["-c", `
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        print(body["auth"]["identity"]["password"]["user"]["password"], flush=True)
        self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], 5000), H).serve_forever()
`, address], { stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    server.stdout!.on("data", (d: Buffer) => (seen += d.toString()));
    try {
      const base = { ADDRESS: "10.0.0.9", INDEX: "0", ADDRESSES_MYSQL: "127.0.13.8", ADDRESSES_KEYSTONE: address, ADDRESSES_DEMO: "10.0.0.9", SECRET_RABBITMQ: "p" };
      let r: Ran | undefined;
      for (let i = 0; i < 50; i++) {
        r = await bash('os_values demo; os_register user demo SECRET_DEMO', { ...base, SECRET_DEMO: SECRET, SECRET_KEYSTONE_ADMIN: ADMIN, WAIT_SECONDS: "1" });
        if (/refused the admin credentials|is not set/.test(r.stderr)) break;
        await new Promise((res) => setTimeout(res, 200)); // the stand-in is still starting
      }
      assert.notEqual(r!.code, 0);
      assert.match(r!.stderr, /os_register: keystone refused the admin credentials/, "the client reached keystone with a password");
      assert.doesNotMatch(r!.stderr, /os_register: KINETIC_SECRET_KEYSTONE_ADMIN is not set/);
      assert.deepEqual([...new Set(seen.trim().split("\n"))], [ADMIN]);
    } finally {
      server.kill("SIGKILL");
    }
  });

  it("the formula lock is in root's 0700 /run/kinetic: another user can neither take it nor stall a formula", async () => {
    const r0 = await bash("finish");
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(spawnSync("stat", ["-c", "%u %a", "/run/kinetic"], { encoding: "utf8" }).stdout.trim(), "0 700");
    // nobody tries the lock: the new place is out of reach, and the old world-writable one (which a
    // user could hold for 30 minutes) is no longer what formulas wait for.
    const asNobody = ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--"];
    const take = spawnSync(asNobody[0], [...asNobody.slice(1), "flock", "-n", "/run/kinetic/formula.lock", "true"], { encoding: "utf8" });
    assert.notEqual(take.status, 0, "nobody took the formula lock");
    fs.mkdirSync("/run/lock", { recursive: true });
    const holder = spawn(asNobody[0], [...asNobody.slice(1), "flock", "/run/lock/kinetic-formula.lock", "sleep", "60"], { stdio: "ignore" });
    try {
      await new Promise((res) => setTimeout(res, 500));
      const started = Date.now();
      const r = await bash("finish", {}, 20_000);
      assert.equal(r.timedOut, false, "the formula waited for a lock another user holds");
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - started < 15_000);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("refuses a symlink or a foreign directory at /run/kinetic instead of locking through it", async () => {
    // In a private mount namespace with its own /run: the machine's /run/kinetic is not touched.
    const inPrivateRun = (setup: string) => ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount -t tmpfs tmpfs /run && ${setup} && exec "$@"`, "sh"];
    const link = await bash("finish", {}, 20_000, inPrivateRun("mkdir /run/elsewhere && ln -s /run/elsewhere /run/kinetic"));
    assert.equal(link.code, 75, link.stderr);
    assert.match(link.stderr, /kinetic: demo\/configure: \/run\/kinetic is not a directory \(a symlink\?\): refusing/);
    const open = await bash("finish", {}, 20_000, inPrivateRun("mkdir -m 0777 /run/kinetic"));
    assert.equal(open.code, 75, open.stderr);
    assert.match(open.stderr, /\/run\/kinetic is not root's 0700 directory \(root 777\)/);
  });
});
