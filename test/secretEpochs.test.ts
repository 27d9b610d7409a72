/**
 * Credential epochs (components/secretEpochs.ts): epoch 0 derives exactly the values of before
 * epochs existed, bumping one class changes that class's values and no other, and through the
 * program (Pulumi's mocks) a bumped class changes the stdin of exactly the phases that read it.
 * Host-key generations (`kinetic:hostKeyGenerations`, raised by `kinetic rebuild`) likewise.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { hostKeyGeneration } from "../components/hostKeyPins";
import { deriveSecretAt, epochOf, epochProblems, FIXED_SECRETS, generationProblems, SECRET_CLASS_NAMES, secretClass, UNROTATED_SECRETS } from "../components/secretEpochs";
import { realProvisioners } from "../components/provisioners";
import { Captured, Run, runProgram } from "./support/program";
import { parseEpochs, rotationPhases } from "../cli/rotate";
import { FORMULAS_DIR } from "../components/formulaCatalog";
import { loadCloud } from "../pillar";

const ROOT = path.join(__dirname, "..");
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const plain = (v: unknown): unknown => (v && typeof v === "object" && SECRET_SIG in v ? (v as unknown as { value: unknown }).value : v);
const commands = (run: Run): Captured[] => run.resources.filter((r) => r.type === "command:remote:Command");

/** The names on a file's `# kinetic-uses:` lines (formulas/README.md). */
const usesOf = (text: string): string[] => [...text.matchAll(/^# kinetic-uses:(.*)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));

/** Every `SECRET_*` name a formula of this repository declares. */
function declaredSecretNames(): string[] {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isDirectory()) walk(p);
      else if (!p.endsWith(".md") && !p.endsWith(".ts")) for (const u of usesOf(fs.readFileSync(p, "utf8"))) if (/^SECRET_[A-Z0-9_]+$/.test(u)) names.add(u);
    }
  };
  walk(path.join(ROOT, "formulas"));
  return [...names].sort();
}

describe("secret epochs: derivation", () => {
  it("epoch 0 derives exactly the values of before epochs (vectors computed with the derivation of commit b19c1e7)", () => {
    const seed = "epoch-test-seed";
    assert.equal(deriveSecretAt(seed, "SECRET_KEYSTONE_ADMIN", 0), "xWA3DUYYeGzEB2NG0IaTMzhZyPn_vSmF");
    assert.equal(deriveSecretAt(seed, "SECRET_KEYSTONE_FERNET", 0), "f_W1LPySWWBAzLz0VSi2o0i8r18REMPq");
    assert.equal(deriveSecretAt(seed, "SECRET_CEPH_ADMIN", 0), "oB_cVrYb7lNnfOQ-eN2NCxdwyb1xWspB");
    assert.equal(deriveSecretAt(seed, "SECRET_CEPH_FSID", 0), "qmwogvwpsBEEiQeEs0afyccoSC4OWoqS");
  });

  it("the formulas declare secrets of every class, and the fixed ones are among them", () => {
    const names = declaredSecretNames();
    assert.ok(names.length > 40, names.join(" "));
    for (const c of ["service", "fernet", "ceph"]) assert.ok(names.some((n) => secretClass(n) === c), `no formula reads a ${c} value`);
    for (const f of [...FIXED_SECRETS, ...Object.keys(UNROTATED_SECRETS)]) assert.ok(names.includes(f), `${f} is declared by no formula (stale list?)`);
  });

  it("values whose formula cannot apply a new one stay at epoch 0 in a service rotation (the Erlang cookie, OpenSearch's admin)", () => {
    const seed = "epoch-test-seed";
    for (const n of ["SECRET_RABBITMQ_COOKIE", "SECRET_OPENSEARCH_ADMIN"]) {
      assert.equal(secretClass(n), undefined, n);
      assert.equal(deriveSecretAt(seed, n, epochOf(n, { service: 3 })), deriveSecretAt(seed, n, 0), n);
    }
    assert.notEqual(deriveSecretAt(seed, "SECRET_RABBITMQ", epochOf("SECRET_RABBITMQ", { service: 1 })), deriveSecretAt(seed, "SECRET_RABBITMQ", 0));
  });

  it("bumping one class changes every value of that class and no value of any other class or fixed value", () => {
    const seed = "epoch-test-seed";
    const names = declaredSecretNames();
    const at0 = new Map(names.map((n) => [n, deriveSecretAt(seed, n, epochOf(n, {}))]));
    for (const c of SECRET_CLASS_NAMES) {
      const changed = names.filter((n) => deriveSecretAt(seed, n, epochOf(n, { [c]: 1 })) !== at0.get(n));
      assert.deepEqual(changed, names.filter((n) => secretClass(n) === c), `class ${c}`);
    }
    // Every epoch is a different value; explicit zeros are the same as absent.
    assert.notEqual(deriveSecretAt(seed, "SECRET_KEYSTONE_FERNET", 1), deriveSecretAt(seed, "SECRET_KEYSTONE_FERNET", 2));
    for (const n of names) assert.equal(deriveSecretAt(seed, n, epochOf(n, { service: 0, fernet: 0, ceph: 0, hostKeys: 0 })), at0.get(n));
    assert.equal(secretClass("SECRET_KEYSTONE_FERNET"), "fernet");
    assert.equal(secretClass("SECRET_KEYSTONE_CREDENTIAL"), undefined, "credential keys encrypt stored credentials: fixed");
    assert.equal(secretClass("SECRET_CEPH_FSID"), undefined, "a new fsid is another cluster: fixed");
    assert.throws(() => deriveSecretAt(seed, "SECRET_X", -1), /whole number/);
  });

  it("kinetic:epochs and kinetic:hostKeyGenerations are checked, each problem naming its key", () => {
    assert.deepEqual(epochProblems(undefined), []);
    assert.deepEqual(epochProblems({ fernet: 3, service: 0 }), []);
    assert.deepEqual(epochProblems({ fernet: "1", tls: 1, ceph: -1 }), [
      'kinetic:epochs.fernet: "1" is not a whole number >= 0',
      "kinetic:epochs.tls: unknown class (classes: service, fernet, ceph, hostKeys)",
      "kinetic:epochs.ceph: -1 is not a whole number >= 0",
    ]);
    // service rotates (its formulas take a new value: README, "Rotation").
    assert.deepEqual(epochProblems({ service: 1 }), []);
    // Classes whose formulas cannot take a new value yet are refused above 0, not silently ignored.
    assert.match(epochProblems({ ceph: 1 })[0], /^kinetic:epochs\.ceph: 1, but ceph cannot be rotated yet: .*auth database/);
    assert.match(epochProblems({ hostKeys: 1 })[0], /^kinetic:epochs\.hostKeys: 1, but hostKeys cannot be rotated yet/);
    assert.match(epochProblems([1])[0], /must be an object/);
    assert.deepEqual(generationProblems({ "keystone-1": 2 }), []);
    assert.deepEqual(generationProblems({ "keystone-1": 1.5 }), ["kinetic:hostKeyGenerations.keystone-1: 1.5 is not a whole number >= 0"]);
    assert.equal(hostKeyGeneration("abc", 0), "abc");
    assert.equal(hostKeyGeneration("abc", 2), "abc/rebuild-2");
  });
});

describe("kinetic rotate: what it re-runs (the repository's formulas, the sample pillar)", () => {
  const cloud = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "dev" });
  const byRole = (role: string, phase: string) => cloud.endpoints.filter((e) => e.role === role).map((e) => `${e.name}-${phase}`);

  it("fernet: the configure of every keystone endpoint, nothing else", () => {
    assert.deepEqual(rotationPhases(cloud, FORMULAS_DIR, ["fernet"]), byRole("keystone", "configure").sort());
  });

  it("service: mysql's, rabbitmq's and the services' configures, not Ceph's monitors or any install", () => {
    const phases = rotationPhases(cloud, FORMULAS_DIR, ["service"]);
    for (const role of ["mysql", "rabbitmq", "nova", "cephmon"]) assert.ok(byRole(role, "configure").length, `the sample pillar has no ${role}`);
    for (const n of [...byRole("mysql", "configure"), ...byRole("rabbitmq", "configure"), ...byRole("nova", "configure")]) assert.ok(phases.includes(n), n);
    assert.ok(!phases.some((n) => byRole("cephmon", "configure").includes(n)), "cephmon reads only ceph values and its fixed fsid");
    assert.ok(!phases.some((n) => n.endsWith("-install") || n.endsWith("-base")), phases.join(" "));
  });

  it("the stack's kinetic:epochs text is read and checked", () => {
    assert.deepEqual(parseEpochs(undefined), {});
    assert.deepEqual(parseEpochs('{"fernet":2}'), { fernet: 2 });
    assert.throws(() => parseEpochs("fernet: 1"), /kinetic:epochs in the stack's config is not JSON/);
    assert.throws(() => parseEpochs('{"fernet":-1}'), /kinetic:epochs\.fernet: -1/);
  });
});

describe("secret epochs: through the program (mocks)", function () {
  this.timeout(300_000);
  let before0: Run;

  const stdinOf = (run: Run, name: string): string => String(plain(run.byName.get(name)!.wire.stdin));
  const changedCommands = (a: Run, b: Run): string[] =>
    commands(a)
      .filter((c) => b.byName.has(c.name) && JSON.stringify([plain(c.wire.stdin), plain(c.wire.triggers), c.wire.connection]) !== JSON.stringify([plain(b.byName.get(c.name)!.wire.stdin), plain(b.byName.get(c.name)!.wire.triggers), b.byName.get(c.name)!.wire.connection]))
      .map((c) => c.name)
      .sort();

  before(async () => {
    before0 = await runProgram({ program: { provisioners: realProvisioners } });
  });

  it("epochs all 0 (explicitly) change no command at all", async () => {
    const zeros = await runProgram({ config: { "kinetic:epochs": JSON.stringify({ service: 0, fernet: 0, ceph: 0, hostKeys: 0 }) }, program: { provisioners: realProvisioners } });
    assert.equal(commands(zeros).length, commands(before0).length);
    assert.deepEqual(changedCommands(zeros, before0), []);
  });

  it("fernet at 1 changes the stdin and trigger of exactly the phases whose formula reads SECRET_KEYSTONE_FERNET", async () => {
    const bumped = await runProgram({ config: { "kinetic:epochs": JSON.stringify({ fernet: 1 }) }, program: { provisioners: realProvisioners } });
    const keystoneConfigures = commands(before0).filter((c) => stdinOf(before0, c.name).includes("SECRET_KEYSTONE_FERNET=")).map((c) => c.name).sort();
    assert.ok(keystoneConfigures.length >= 1 && keystoneConfigures.every((n) => /^keystone-.*-configure$/.test(n)), keystoneConfigures.join(" "));
    assert.deepEqual(changedCommands(bumped, before0), keystoneConfigures);
    // And in them, only the fernet value moved.
    const values = (run: Run, n: string) => Object.fromEntries(stdinOf(run, n).split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const a = values(before0, keystoneConfigures[0]);
    const b = values(bumped, keystoneConfigures[0]);
    assert.deepEqual(Object.keys(a).filter((k) => a[k] !== b[k]), ["SECRET_KEYSTONE_FERNET"]);
  });

  it("service at 1 changes exactly the phases whose formula reads a service value: not opensearch's, not a Ceph monitor's", async () => {
    const bumped = await runProgram({ config: { "kinetic:epochs": JSON.stringify({ service: 1 }) }, program: { provisioners: realProvisioners } });
    const readsService = (n: string) => stdinOf(before0, n).split("\n").some((l) => /^SECRET_[A-Z0-9_]+=/.test(l) && secretClass(l.slice(0, l.indexOf("="))) === "service");
    const expected = commands(before0).map((c) => c.name).filter(readsService).sort();
    assert.ok(expected.some((n) => /^mysql-.*-configure$/.test(n)) && expected.some((n) => /^rabbitmq-.*-configure$/.test(n)), expected.join(" "));
    assert.deepEqual(changedCommands(bumped, before0), expected);
    assert.ok(!expected.some((n) => /^(opensearch|cephmon)-/.test(n)), expected.join(" "));
  });

  it("a refused epoch stops the program with one line naming the key", async () => {
    await assert.rejects(runProgram({ config: { "kinetic:epochs": JSON.stringify({ ceph: 1 }) }, program: { provisioners: realProvisioners } }), /kinetic:epochs\.ceph: 1, but ceph cannot be rotated yet/);
  });

  it("a host-key generation renews that endpoint's key and machine, and nothing else's", async () => {
    const vm = commands(before0).find((c) => c.name.endsWith("-provision-domain"))!;
    const endpoint = vm.name.replace(/-provision-domain$/, "");
    const renewed = await runProgram({ config: { "kinetic:hostKeyGenerations": JSON.stringify({ [endpoint]: 1 }) }, program: { provisioners: realProvisioners } });
    const changed = changedCommands(renewed, before0);
    assert.ok(changed.includes(vm.name), `${vm.name} keeps its key`);
    assert.ok(changed.every((n) => n.startsWith(`${endpoint}-`)), `outside ${endpoint}: ${changed.join(" ")}`);
  });

  it("without kinetic:hostKeySecret (a stack from before) the host keys stay those of kinetic:serviceSecret, with a warning; set to that value, no warning and no key changes", async () => {
    // BASE_CONFIG sets kinetic:hostKeySecret to the service secret's value: the migrated stack.
    assert.ok(!before0.logs.some((l) => /kinetic:hostKeySecret is not set/.test(l.message)), JSON.stringify(before0.logs));
    const legacy = await runProgram({ unset: ["kinetic:hostKeySecret"], program: { provisioners: realProvisioners } });
    assert.ok(legacy.logs.some((l) => l.severity === "warn" && /kinetic:hostKeySecret is not set: host keys are derived from kinetic:serviceSecret, as before/.test(l.message)), JSON.stringify(legacy.logs));
    assert.deepEqual(changedCommands(legacy, before0), [], "the fallback derives the same keys as the explicit secret of that value");
    // And the two are independent once set: another host key secret changes keys (and machines), no SECRET_* value.
    const other = await runProgram({ config: { "kinetic:hostKeySecret": "another-host-key-secret" }, program: { provisioners: realProvisioners } });
    const changed = changedCommands(other, before0);
    assert.ok(changed.some((n) => n.endsWith("-provision-domain")), changed.join(" "));
    for (const n of changed) {
      const a = String(plain(before0.byName.get(n)!.wire.stdin)).split("\n").filter((l) => l.startsWith("SECRET_"));
      const b = String(plain(other.byName.get(n)!.wire.stdin)).split("\n").filter((l) => l.startsWith("SECRET_"));
      assert.deepEqual(b, a, `${n}: a SECRET_ value moved with the host key secret`);
    }
  });
});
