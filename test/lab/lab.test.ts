/**
 * The lab end to end, through the real engine: pillar/lab (pxe foundation host, one physical
 * controller behind a simulated BMC, mysql, memcached and keystone as VMs on it) on a lab of its
 * own (its own directory and network namespace, so an operator's lab is left alone), with the real
 * formulas. Each step reads what really happened: SSH to every endpoint, the controller's libvirt,
 * the BMC's power, and the steps the engine reported.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigMap } from "@pulumi/pulumi/automation";
import { rebuildResourceNames } from "../../cli/rebuild";
import { labDown, labUp, readStatus } from "../../lab/control";
import { debianRootUnavailable } from "../../lab/debianRoot";
import { labLayout } from "../../lab/layout";
import { LAB_LIBVIRT_URI } from "../../lab/supervisor";
import { loadCloud } from "../../pillar";
import type { EngineJob, EngineResult } from "./engineRun";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "e2e";
const layout = labLayout({ KINETIC_LAB_DIR: "/var/lib/kinetic-lab-e2e", KINETIC_LAB_NETNS: "kinetic-e2e" });

describe("the lab, end to end through the engine", function () {
  this.timeout(60 * 60_000);
  let tmp = "";
  let key = "";
  let config: ConfigMap = {};
  const pillarDir = () => path.join(tmp, "pillar");
  const formulasDir = () => path.join(tmp, "formulas");

  const run = (op: EngineJob["op"], extra: Partial<EngineJob> = {}): Promise<EngineResult> => {
    const job: EngineJob = {
      op, stack: STACK, workDir: tmp, backendDir: path.join(tmp, "state"), passphrase: "lab-e2e-test", config,
      formulasDir: formulasDir(), logFile: path.join(tmp, "engine.log"), ...extra,
    };
    const file = path.join(tmp, `job-${op}.json`);
    fs.writeFileSync(file, JSON.stringify(job));
    return new Promise((resolve, reject) => {
      const child = spawn("nsenter", [`--net=/run/netns/${layout.netns}`, process.execPath, "-r", "ts-node/register/transpile-only", path.join(__dirname, "engineRun.ts"), file], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.once("error", reject);
      child.once("exit", (code) => {
        const line = out.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(line) as EngineResult);
        } catch {
          reject(new Error(`engine run ${op} exited ${code} without a result: ${out.slice(-2000)}`));
        }
      });
    });
  };
  const ok = (r: EngineResult, what: string) => {
    if (r.error) assert.fail(`${what} failed: ${r.error}\n(engine log: ${path.join(tmp, "engine.log")}, lab log: ${layout.logFile})`);
  };
  const ssh = (address: string, command: string): string =>
    execFileSync("nsenter", [`--net=/run/netns/${layout.netns}`, "ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `root@${address}`, command], { encoding: "utf8" });
  const cloud = () => loadCloud(pillarDir(), { stack: STACK });
  const changed = (r: EngineResult) => [...new Set(r.steps.filter((s) => s.op !== "same" && s.op !== "read" && s.op !== "refresh").map((s) => s.name))].sort();

  before(async function () {
    const why = debianRootUnavailable();
    if (why) {
      console.log(`      (the lab cannot run here: ${why})`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-lab-e2e-"));
    fs.cpSync(path.join(ROOT, "pillar/lab"), pillarDir(), { recursive: true });
    fs.cpSync(path.join(ROOT, "formulas"), formulasDir(), { recursive: true });
    key = path.join(tmp, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "lab-e2e", "-f", key]);
    const publicKey = fs.readFileSync(`${key}.pub`, "utf8").trim();
    fs.writeFileSync(path.join(tmp, "stack.yaml"), `config:\n  kinetic:sshPublicKey: ${publicKey}\n`);
    await labDown({ layout, wipe: true, log: () => undefined });
    await labUp({ layout, pillarDir: pillarDir(), stack: STACK, stackFile: path.join(tmp, "stack.yaml"), log: (m) => console.log(`      [lab] ${m}`) });
    const v = (value: string, secret = false) => ({ value, secret });
    config = {
      "kinetic:pillar": v(pillarDir()),
      "kinetic:sshPublicKey": v(publicKey),
      "kinetic:sshPrivateKey": v(fs.readFileSync(key, "utf8"), true),
      "kinetic:bmcPassword": v("password", true),
      "kinetic:serviceSecret": v(crypto.randomBytes(24).toString("base64url"), true),
      "kinetic:bmcCaBundle": v(layout.caPath),
      "kinetic:libvirtUri": v(LAB_LIBVIRT_URI),
      "kinetic:trustOnFirstUse": v("true"),
      "kinetic:zeroizePhysical": v("false"),
      "kinetic:physicalBootMinutes": v("5"),
      "kinetic:vmBootSeconds": v("300"),
    };
  });

  after(async function () {
    if (!tmp) return;
    await labDown({ layout, wipe: true, log: () => undefined });
    assert.equal(fs.existsSync(`/run/netns/${layout.netns}`), false, "down removes the lab's network namespace");
    if (!process.env.KINETIC_KEEP_E2E) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("up: every endpoint answers SSH at its address with its name; each VM runs on its planned controller", async () => {
    ok(await run("up"), "up");
    const status = readStatus(layout)!;
    for (const e of cloud().endpoints) {
      assert.equal(ssh(e.address, "hostname").trim(), e.name, `${e.name} at ${e.address}`);
      if (e.style !== "virtual") continue;
      const host = status.hosts.find((h) => h.name === e.name);
      assert.equal(host?.state, "running", `${e.name} runs in the lab`);
      const controller = cloud().endpoints.find((c) => c.name === e.controller)!;
      assert.match(ssh(controller.address, `virsh -q -c '${LAB_LIBVIRT_URI}' domstate ${e.name}`), /running/, `${e.name} runs on ${controller.name}`);
    }
    // keystone answers, set up by the formulas against the mysql VM.
    const keystone = cloud().endpoints.find((e) => e.role === "keystone")!;
    assert.match(ssh(keystone.address, "curl -fsS http://127.0.0.1:5000/v3"), /"version"/);
  });

  it("a second up changes nothing", async () => {
    const r = await run("up");
    ok(r, "second up");
    assert.deepEqual(changed(r), []);
    assert.deepEqual(Object.keys(r.changes).filter((k) => k !== "same"), []);
  });

  it("editing one formula re-runs exactly that phase on exactly the endpoints of that role", async () => {
    fs.appendFileSync(path.join(formulasDir(), "memcached/configure"), "# edited by the lab test\n");
    const r = await run("up");
    ok(r, "up after the edit");
    const memcached = cloud().endpoints.filter((e) => e.role === "memcached").map((e) => `${e.name}-configure`);
    assert.deepEqual(changed(r), memcached.sort());
  });

  it("rebuild mysql: the VM is re-created, its phases and every phase that needs them run again, nothing else", async () => {
    const mysql = cloud().endpoints.find((e) => e.role === "mysql")!;
    ssh(mysql.address, "touch /root/before-rebuild");
    const { names } = rebuildResourceNames(cloud(), ["mysql"]);
    const r = await run("up", { replaceNames: [...names] });
    ok(r, "rebuild");
    assert.deepEqual(changed(r), [...names].sort());
    assert.ok(names.has(`${cloud().endpoints.find((e) => e.role === "keystone")!.name}-configure`), "keystone's configure needs mysql's");
    assert.equal(ssh(mysql.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", "a new disk");
  });

  it("raising memcached's count by one creates only the new endpoint's resources", async () => {
    const before = new Set(cloud().endpoints.map((e) => e.name));
    const hosts = path.join(pillarDir(), "hosts.yaml");
    fs.writeFileSync(hosts, fs.readFileSync(hosts, "utf8").replace(/(  memcached:\n    style: virtual\n    count: )1/, "$12"));
    const added = cloud().endpoints.filter((e) => !before.has(e.name));
    assert.equal(added.length, 1);
    const r = await run("up");
    ok(r, "up with one more memcached");
    const created = r.steps.filter((s) => s.op === "create").map((s) => s.name);
    assert.ok(created.length > 0);
    for (const n of created) assert.ok(n.startsWith(added[0].name), `only ${added[0].name}'s resources are created, not ${n}`);
    const others = changed(r).filter((n) => !n.startsWith(added[0].name));
    // The only other change allowed: phases that read the list of memcached addresses.
    for (const n of others) assert.match(n, /^keystone-.*-configure$/, `unexpected change ${n}`);
    assert.equal(ssh(added[0].address, "hostname").trim(), added[0].name);
  });

  it("drift: a server powered off at its BMC shows in refresh, and the next up repairs it", async () => {
    const controller = cloud().endpoints.find((e) => e.style === "physical")!;
    const bmc = readStatus(layout)!.hosts.find((h) => h.kind === "physical")!.bmc!.address;
    const curl = (args: string[]) =>
      execFileSync("nsenter", [`--net=/run/netns/${layout.netns}`, "curl", "-fsS", "--cacert", layout.caPath, "-u", "admin:password", ...args], { encoding: "utf8" });
    const systems = JSON.parse(curl([`https://${bmc}/redfish/v1/Systems`])) as { Members: { "@odata.id": string }[] };
    curl(["-X", "POST", "-H", "content-type: application/json", "-d", '{"ResetType":"ForceOff"}', `https://${bmc}${systems.Members[0]["@odata.id"]}/Actions/ComputerSystem.Reset`]);
    await waitFor(() => readStatus(layout)!.hosts.find((h) => h.kind === "physical")!.state !== "running", 30_000);
    const refreshed = await run("refresh");
    ok(refreshed, "refresh");
    assert.ok((refreshed.changes.update ?? 0) >= 1, `refresh sees the drift: ${JSON.stringify(refreshed.changes)}`);
    const r = await run("up");
    ok(r, "up after the drift");
    assert.ok(changed(r).includes(`${controller.name}-provision-power-cycle`), `up powers the server on again: ${changed(r).join(", ")}`);
    await waitFor(() => readStatus(layout)!.hosts.filter((h) => h.kind === "virtual").every((h) => h.state === "running"), 120_000);
    for (const e of cloud().endpoints) assert.equal(ssh(e.address, "hostname").trim(), e.name);
  });

  it("destroy removes every domain and its files; the physical server stays on without zeroizePhysical", async () => {
    const controller = cloud().endpoints.find((e) => e.style === "physical")!;
    const r = await run("destroy");
    ok(r, "destroy");
    assert.equal(ssh(controller.address, `virsh -q -c '${LAB_LIBVIRT_URI}' list --all --name | grep -v '^test$' || true`).trim(), "");
    assert.equal(ssh(controller.address, "ls -A /kvm/vms").trim(), "");
    await waitFor(() => readStatus(layout)!.hosts.filter((h) => h.kind === "virtual").every((h) => h.state !== "running"), 60_000);
    const physical = readStatus(layout)!.hosts.find((h) => h.kind === "physical")!;
    assert.equal(physical.bmc?.power, "On");
    assert.equal(physical.state, "running");
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(`condition not met within ${ms / 1000} s`);
}
