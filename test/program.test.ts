import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { deriveSecret } from "../components/formulaFacts";
import { realProvisioners } from "../components/provisioners";
import { loadCloud, PHASES } from "../pillar";
import { stubFormulas } from "./support/formulas";
import { BASE_CONFIG, Captured, Run, runProgram, SECRETS } from "./support/program";

const ROOT = path.join(__dirname, "..");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const ENVELOPE = /^bash -c "\$\(printf %s '[A-Za-z0-9+/=]+' \| base64 -d\)" kinetic-formula$/;

const commands = (run: Run) => run.resources.filter((r) => r.type === "command:remote:Command");
const decodeStdin = (stdin: string): Record<string, string> =>
  Object.fromEntries(stdin.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), Buffer.from(l.slice(l.indexOf("=") + 1), "base64").toString("utf8")]));
/** A plain or secret-wrapped input value, unwrapped. */
const plain = (v: unknown): unknown => (v && typeof v === "object" && SECRET_SIG in v ? (v as unknown as { value: unknown }).value : v);

/**
 * The edges the sample pillar must produce, derived here independently of pillar/needsGraph.ts:
 * straight from the defaults file and the pillar's own YAML, by the rules of the issue.
 */
function expectedEdges(pillarDirName: string): Map<string, Set<string>> {
  const cloud = loadCloud(path.join(ROOT, "pillar", pillarDirName), { stack: "dev" });
  const defaults = parse(fs.readFileSync(path.join(ROOT, "pillar/defaults/needs.yaml"), "utf8")).hosts as Record<string, { needs?: Record<string, Record<string, string>> }>;
  const rawHosts: Record<string, { needs?: Record<string, Record<string, string>> }> = {};
  for (const f of fs.readdirSync(path.join(ROOT, "pillar", pillarDirName))) {
    if (f.endsWith(".yaml") && !f.endsWith(".lock.yaml")) Object.assign(rawHosts, parse(fs.readFileSync(path.join(ROOT, "pillar", pillarDirName, f), "utf8")).hosts ?? {});
  }
  const of = (type: string) => cloud.endpoints.filter((e) => e.type === type);
  const expected = new Map<string, Set<string>>();
  for (const e of cloud.endpoints) {
    const add = (step: string, dep: string) => {
      const k = `${e.name}-${step}`;
      if (!expected.has(k)) expected.set(k, new Set());
      expected.get(k)!.add(dep);
    };
    if (e.style === "physical") for (const p of of("pxe")) add("provision", `${p.name}-configure`);
    if (e.style === "virtual") add("provision", `${e.controller}-configure`);
    if (e.style !== "foundation") add("base", `${e.name}-provision`);
    PHASES.forEach((phase, i) => {
      if (i > 0) add(phase, `${e.name}-${PHASES[i - 1]}`);
      const needs = rawHosts[e.type]?.needs?.[phase] ?? defaults[e.type]?.needs?.[phase] ?? {};
      for (const [dep, depPhase] of Object.entries(needs)) for (const d of of(dep)) add(phase, `${d.name}-${depPhase}`);
      if (phase === "configure" && e.index > 0) add(phase, `${of(e.type)[0].name}-configure`);
      if (!expected.has(`${e.name}-${phase}`)) expected.set(`${e.name}-${phase}`, new Set());
    });
  }
  return expected;
}

describe("program under mocks", function () {
  this.timeout(300_000);
  let sample: Run;
  const formulas = stubFormulas(undefined, {
    "mysql/configure": "#!/usr/bin/env bash\n# kinetic-uses: NAME INDEX ADDRESSES_MYSQL SECRET_MYSQL_ROOT\nset -euo pipefail\n",
  });
  before(async () => {
    sample = await runProgram({ program: { formulasDir: formulas, provisioners: realProvisioners } });
  });

  it("declares exactly the sample pillar's endpoints, named <type>-<uuid>, with their steps as children", () => {
    const cloud = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "dev" });
    const endpoints = sample.resources.filter((r) => r.type.startsWith("kinetic:endpoint:") && r.type !== "kinetic:endpoint:Provisioning");
    assert.equal(endpoints.length, 106);
    const count = (style: string) => endpoints.filter((r) => r.type === `kinetic:endpoint:${style}`).length;
    assert.deepEqual([count("Physical"), count("Virtual"), count("Foundation")], [33, 72, 1]);
    const hosts = parse(fs.readFileSync(path.join(ROOT, "pillar/sample/hosts.yaml"), "utf8")).hosts;
    for (const uuid of hosts.storage.uuids as string[]) assert.ok(sample.byName.has(`storage-${uuid.toLowerCase()}`), uuid);
    for (const [type, h] of Object.entries(hosts as Record<string, { style: string; count?: number; enabled?: boolean }>)) {
      if (h.style !== "virtual" || h.enabled === false) continue;
      const names = endpoints.filter((r) => r.name.startsWith(`${type}-`)).map((r) => r.name);
      assert.equal(names.length, h.count, type);
      for (const n of names) assert.match(n, new RegExp(`^${type}-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`));
    }
    for (const e of cloud.endpoints) {
      for (const step of [...(e.style === "foundation" ? [] : ["provision"]), ...PHASES]) {
        const child = sample.byName.get(`${e.name}-${step}`);
        assert.ok(child, `${e.name}-${step}`);
        assert.equal(child.parent, e.name);
      }
    }
    // components + provisioning steps + formula phases + a libvirt domain, its DomainState and its
    // recorded MachineGeneration per virtual endpoint + discovery, boot-once and power cycle per
    // physical endpoint, and the pxe host's step retiring its install (one pxe host)
    assert.equal(sample.resources.length, 106 + 105 + 106 * 4 + 72 * 3 + 33 * 3 + 33);
    for (const e of cloud.endpoints.filter((x) => x.style === "physical")) {
      assert.equal(sample.byName.get(`${e.name}-pxe-installed`)!.parent, e.name);
      assert.equal(sample.byName.get(`${e.name}-provision`)!.type, "kinetic:redfish:Machine");
      assert.deepEqual(["discovery", "boot-once", "power-cycle"].map((s) => sample.byName.get(`${e.name}-provision-${s}`)!.parent), Array(3).fill(`${e.name}-provision`));
    }
  });

  it("gives every step exactly the dependsOn edges of the needs graph, and no other", () => {
    const expected = expectedEdges("sample");
    const steps = sample.resources.filter((r) => r.parent && !r.type.startsWith("command:remote") ? r.name.endsWith("-provision") : /-(provision|base|networking|install|configure)$/.test(r.name));
    assert.equal(steps.length, expected.size);
    let edges = 0;
    for (const r of steps) {
      assert.deepEqual([...r.dependsOn].sort(), [...(expected.get(r.name) ?? ["(step not expected)"])].sort(), r.name);
      edges += r.dependsOn.length;
    }
    // Inside a provisioning step (Redfish steps, the libvirt domain) only the step's own edges and
    // the order among its parts appear; no other resource has edges.
    const stepNames = new Set(steps.map((r) => r.name));
    for (const r of sample.resources.filter((x) => !stepNames.has(x.name))) {
      // The pxe host's step after a physical server's install waits for that server's base phase only.
      if (r.name.endsWith("-pxe-installed")) {
        assert.deepEqual(r.dependsOn, [`${r.parent}-base`], r.name);
        continue;
      }
      const step = r.parent?.endsWith("-provision") ? sample.byName.get(r.parent)! : undefined;
      const allowed = new Set([...(step?.dependsOn ?? []), ...sample.resources.filter((x) => step && x.parent === step.name).map((x) => x.name)]);
      for (const d of r.dependsOn) assert.ok(allowed.has(d), `${r.name} -> ${d} is not an edge of the needs graph`);
      if (step) assert.deepEqual(step.dependsOn.filter((d) => !r.dependsOn.includes(d)), [], `${r.name} repeats its step's edges`);
    }
    assert.ok(edges > 1500, `only ${edges} edges`);
  });

  it("never lets a secret reach the engine as a plain value", () => {
    const seedSecret = deriveSecret(SECRETS.serviceSecret, "SECRET_MYSQL_ROOT");
    const needles = [SECRETS.sshPrivateKey, SECRETS.bmcPassword, SECRETS.serviceSecret, seedSecret].flatMap((s) => [s, Buffer.from(s).toString("base64")]);
    const leaks: string[] = [];
    const walk = (v: unknown, where: string): void => {
      if (typeof v === "string") {
        for (const n of needles) if (v.includes(n) || v.includes(Buffer.from(`SECRET_MYSQL_ROOT=${Buffer.from(seedSecret).toString("base64")}`).toString())) leaks.push(where);
      } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
      else if (v && typeof v === "object") {
        if (SECRET_SIG in v) return; // wrapped as secret: encrypted in state, masked in output
        for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
      }
    };
    for (const r of sample.resources) walk(r.wire, r.name);
    assert.deepEqual(leaks, []);
    // ...and the secrets do arrive where they are needed, wrapped.
    const mysql = commands(sample).find((r) => /^mysql-.*-configure$/.test(r.name))!;
    assert.ok(SECRET_SIG in (mysql.wire.stdin as object), "stdin carrying SECRET_* is a secret");
    assert.equal(decodeStdin(plain(mysql.inputs.stdin) as string).SECRET_MYSQL_ROOT, seedSecret);
    assert.ok(SECRET_SIG in (mysql.wire.connection as object), "the connection holding the private key is a secret");
  });

  it("sends each formula only the values it declares, as inert base64 on stdin", () => {
    const base = commands(sample).find((r) => /^cache-.*-base$/.test(r.name))!;
    assert.match(base.inputs.create as string, ENVELOPE);
    assert.deepEqual(Object.keys(decodeStdin(base.inputs.stdin as string)).sort(), ["AUTHORIZED_KEYS", "NAME", "NTP_SERVERS", "TIMEZONE"]);
  });

  it("exports name, type, style, UUID, controller and address of every endpoint", () => {
    const out = sample.outputs.endpoints;
    assert.equal(out.length, 106);
    const vm = out.find((e) => e.type === "keystone")!;
    assert.deepEqual(Object.keys(vm).sort(), ["address", "controller", "name", "style", "type", "uuid"]);
    assert.match(vm.controller!, /^controller-/);
    assert.equal(new Set(out.map((e) => e.address)).size, 106, "addresses are unique");
  });
});

describe("program: change, determinism and safety", function () {
  this.timeout(300_000);
  const devFiles = () => Object.fromEntries(["hosts.yaml", "environment.yaml"].map((f) => [f, fs.readFileSync(path.join(ROOT, "pillar/dev", f), "utf8")]));
  const scratch = (files: Record<string, string>) => {
    const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "kinetic-dev-"));
    for (const [n, t] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), t);
    return dir;
  };
  const run = (dir: string, formulasDir: string, extra: { dryRun?: boolean; stack?: string } = {}) =>
    runProgram({ config: { "kinetic:pillar": dir }, program: { formulasDir }, ...extra });
  const trigger = (r: Captured) => JSON.stringify(r.inputs.triggers);
  const domains = (r: Run) =>
    new Map(
      commands(r)
        .filter((c) => c.name.endsWith("-provision-domain"))
        .map((c) => {
          const v = decodeStdin(plain(c.inputs.stdin) as string);
          return [v.NAME, { controller: v.CONTROLLER, macs: [...v.DOMAIN_XML.matchAll(/<mac address='([^']+)'\/>/g)].map((m) => m[1]), address: v.SSH_ADDRESS, trigger: trigger(c) }];
        }),
    );

  it("places each virtual type round-robin over the controllers, and keeps names, MACs and addresses across runs and a count change", async () => {
    const formulas = stubFormulas();
    const files = devFiles();
    const twoControllers = files["hosts.yaml"].replace("      - 4C4C4544-0042-4810-8056-B4C04F395A31\n", "      - 4C4C4544-0042-4810-8056-B4C04F395A31\n      - 4C4C4544-0042-4810-8056-B4C04F395A32\n");
    const real = { formulasDir: formulas, provisioners: realProvisioners };
    const a = await runProgram({ config: { "kinetic:pillar": scratch({ ...files, "hosts.yaml": twoControllers }) }, program: real });
    const again = await runProgram({ config: { "kinetic:pillar": scratch({ ...files, "hosts.yaml": twoControllers }) }, program: real });
    const grown = await runProgram({ config: { "kinetic:pillar": scratch({ ...files, "hosts.yaml": twoControllers.replace(/(  mysql:\n    style: virtual\n    count:) 3/, "$1 6") }) }, program: real });
    const [da, dAgain, dGrown] = [domains(a), domains(again), domains(grown)];
    assert.equal(da.size, 9);
    assert.deepEqual([...dAgain], [...da]);
    assert.equal(dGrown.size, 12);
    for (const [name, d] of da) assert.deepEqual(dGrown.get(name), d, `${name}: same controller, MACs, address and definition`);
    const macs = [...dGrown.values()].flatMap((d) => d.macs);
    assert.equal(new Set(macs).size, macs.length, "MACs unique");
    for (const m of macs) assert.match(m, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/, "locally administered unicast");
    const perController = new Map<string, number>();
    for (const e of grown.outputs.endpoints.filter((x) => x.type === "mysql")) perController.set(e.controller!, (perController.get(e.controller!) ?? 0) + 1);
    assert.deepEqual([...perController.values()], [3, 3], "6 mysql endpoints over 2 controllers");
    for (const e of grown.outputs.endpoints.filter((x) => x.style === "virtual")) assert.equal(dGrown.get(e.name)!.controller, e.controller);
  });

  it("makes every formula phase of a virtual endpoint wait for its domain, created on its controller after the controller's configure", async () => {
    const r = await runProgram({ config: { "kinetic:pillar": scratch(devFiles()) }, program: { formulasDir: stubFormulas(), provisioners: realProvisioners } });
    for (const e of r.outputs.endpoints.filter((x) => x.style === "virtual")) {
      const provision = r.byName.get(`${e.name}-provision`)!;
      assert.equal(provision.type, "kinetic:libvirt:Domain");
      assert.deepEqual(provision.dependsOn, [`${e.controller}-configure`]);
      const domain = r.byName.get(`${e.name}-provision-domain`)!;
      assert.equal(domain.parent, `${e.name}-provision`);
      const controller = r.outputs.endpoints.find((x) => x.name === e.controller)!;
      assert.equal((plain(domain.inputs.connection) as { host: string }).host, controller.address);
      // dependsOn a component waits for all of its children: the domain command.
      assert.deepEqual(r.byName.get(`${e.name}-base`)!.dependsOn, [`${e.name}-provision`]);
      for (const [prev, phase] of [["base", "networking"], ["networking", "install"], ["install", "configure"]]) assert.ok(r.byName.get(`${e.name}-${phase}`)!.dependsOn.includes(`${e.name}-${prev}`));
    }
  });

  it("yields the same names and inputs on every run, and a count change only adds endpoints", async () => {
    const formulas = stubFormulas();
    const files = devFiles();
    const a = await run(scratch(files), formulas);
    const b = await run(scratch(files), formulas);
    assert.deepEqual(a.resources.map((r) => [r.name, r.inputs]), b.resources.map((r) => [r.name, r.inputs]));
    const grown = await run(scratch({ ...files, "hosts.yaml": files["hosts.yaml"].replace(/(  mysql:\n    style: virtual\n    count:) 3/, "$1 5") }), formulas);
    const before = new Map(a.outputs.endpoints.map((e) => [e.name, e]));
    const after = new Map(grown.outputs.endpoints.map((e) => [e.name, e]));
    assert.equal(after.size, before.size + 2);
    for (const [name, e] of before) assert.deepEqual(after.get(name), e, `${name} kept its UUID, controller and address`);
    assert.notEqual(a.outputs.endpoints.find((e) => e.type === "mysql")!.uuid, (await run(scratch(files), formulas, { stack: "prod" })).outputs.endpoints.find((e) => e.type === "mysql")!.uuid, "UUIDs differ per stack");
  });

  it("re-runs a phase when its formula or a value it reads changes, and only then", async () => {
    const files = devFiles();
    const formulas = stubFormulas();
    const a = await run(scratch(files), formulas);
    const ntpChanged = await run(scratch({ ...files, "environment.yaml": files["environment.yaml"].replace("0.debian.pool.ntp.org", "ntp.example.org") }), formulas);
    const edited = stubFormulas(undefined, { "keystone/install": "#!/usr/bin/env bash\n# kinetic-uses: NAME ROLE\nset -euo pipefail\necho v2\n" });
    const b = await run(scratch(files), edited);
    for (const r of commands(a)) {
      const n = ntpChanged.byName.get(r.name)!;
      if (r.name.endsWith("-base")) assert.notEqual(trigger(n), trigger(r), `${r.name}: base reads NTP_SERVERS`);
      else assert.equal(trigger(n), trigger(r), `${r.name} does not read NTP_SERVERS`);
      const e = b.byName.get(r.name)!;
      if (/^keystone-.*-install$/.test(r.name)) assert.notEqual(trigger(e), trigger(r));
      else assert.equal(trigger(e), trigger(r), r.name);
    }
  });

  it("carries hostile pillar strings to the host as inert data", async () => {
    // As hostile as validation lets through: shell syntax, quotes and backslashes everywhere a free
    // string may go (line breaks are refused where a value travels in a line-based format).
    const hostile = "$(touch /tmp/pwned) `touch /tmp/pwned` '; reboot # \"quoted\" \\ ${IFS}";
    const hostileKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFk8VnE0Ck0mLRUd3ihP0qfVJ6SGK1QyoRi5QUgRyWPF dev $(touch /tmp/pwned) `id` ';reboot #";
    const files = devFiles();
    const env = files["environment.yaml"]
      .replace(/  - ssh-ed25519 .*\n/, `  - ${JSON.stringify(hostileKey)}\n`);
    // (bmc.api_user is a BMC account name: validation refuses shell syntax there, pillarRobustness tests it)
    const hosts = files["hosts.yaml"].replace("disk: QEMU HARDDISK", `disk: ${JSON.stringify(hostile)}`);
    const formulas = stubFormulas(undefined, {
      "pxe/configure": "#!/usr/bin/env bash\n# kinetic-uses: PXE_ASSIGNMENTS AUTHORIZED_KEYS\nset -euo pipefail\nprintf '%s\\n' \"$KINETIC_AUTHORIZED_KEYS\" \"$KINETIC_PXE_ASSIGNMENTS\"\n",
    });
    const r = await run(scratch({ "hosts.yaml": hosts, "environment.yaml": env }), formulas);
    for (const c of commands(r)) {
      assert.match(c.inputs.create as string, ENVELOPE, c.name);
      for (const line of (plain(c.inputs.stdin) as string).split("\n").filter(Boolean)) assert.match(line, /^[A-Z][A-Z0-9_]*=[A-Za-z0-9+/=]*$/);
    }
    const pxe = commands(r).find((c) => /^pxe-.*-configure$/.test(c.name))!;
    const values = decodeStdin(pxe.inputs.stdin as string);
    // The pillar's keys exactly, then the orchestrator's own (base makes root's keys this list).
    assert.equal(values.AUTHORIZED_KEYS, `${hostileKey}\n${BASE_CONFIG["kinetic:sshPublicKey"]}`);
    assert.ok(values.PXE_ASSIGNMENTS.split("\t").includes(hostile));
    // Run the exact command through a real shell: the values arrive literally and nothing executes.
    fs.rmSync("/tmp/pwned", { force: true });
    const out = execFileSync("sh", ["-c", pxe.inputs.create as string], { input: pxe.inputs.stdin as string }).toString();
    assert.ok(out.startsWith(`${hostileKey}\n`), out);
    assert.ok(out.split("\n")[2].split("\t").includes(hostile), out);
    assert.equal(fs.existsSync("/tmp/pwned"), false);
  });

  it("warns on a role without formulas in preview, and refuses to start `up` before declaring anything", async () => {
    const files = devFiles();
    const formulas = stubFormulas(["pxe", "controller", "cache", "haproxy", "mysql", "rabbitmq", "memcached"]);
    const preview = await run(scratch(files), formulas, { dryRun: true });
    assert.deepEqual(preview.logs.filter((l) => l.severity === "warn").map((l) => l.message), [
      "role 'keystone' has no formula files: expected formulas/keystone/install, formulas/keystone/configure; `pulumi up` will refuse to start until they exist",
    ]);
    await assert.rejects(run(scratch(files), formulas, { dryRun: false }), /refusing to start: 1 role\(s\) have no formulas, nothing was changed:\n  role 'keystone' has no formula files: expected formulas\/keystone\/install, formulas\/keystone\/configure/);
  });

  it("runs from index.ts, the entry point Pulumi loads, on the dev stack's config", async () => {
    const r = await runProgram({ entry: path.join(ROOT, "index.ts"), config: { "kinetic:pillar": "pillar/dev" }, dryRun: true });
    assert.equal(r.outputs.endpoints.length, 11);
    assert.equal(r.byName.get(`${r.outputs.endpoints.find((e) => e.type === "controller")!.name}-provision`)!.type, "kinetic:redfish:Machine");
    assert.equal(r.resources.filter((x) => x.type === "kinetic:libvirt:Domain").length, 9);
  });

  it("stops on pillar problems before declaring any resource", async () => {
    const files = devFiles();
    let declared = -1;
    await assert.rejects(async () => {
      const r = await run(scratch({ ...files, "hosts.yaml": files["hosts.yaml"].replace("count: 3", "count: three") }), stubFormulas());
      declared = r.resources.length;
    }, /hosts\.yaml:\d+:\d+: hosts\.mysql\.count: must be an integer/);
    assert.equal(declared, -1);
  });
});
