/**
 * `kinetic rotate` through the real engine: two foundation hosts (a real sshd each, on loopback),
 * stub formulas that log each run and keep a digest of the secret they read. A rotation of one
 * class (fernet, then service) re-runs exactly the phase that reads a value of it, with a new value,
 * replaces nothing else;
 * explicit epochs of 0 (an upgraded stack) change nothing; a rotation that would carry another
 * pending change is refused with the epochs put back.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiFn } from "@pulumi/pulumi/automation";
import { pinnedFingerprints } from "../../cli/rebuild";
import { rotateStack } from "../../cli/rotate";
import { deriveHostKey, fingerprint } from "../../components/hostKeys";
import { kineticProgram } from "../../components/program";
import { realProvisioners } from "../../components/provisioners";
import { deriveSecretAt } from "../../components/secretEpochs";
import { loadCloud } from "../../pillar";
import { MachineGeneration } from "../../providers/machineGeneration";
import { stubFormulas } from "../support/formulas";
import { requirePrerequisite } from "../support/prerequisite";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { scratchStack, ScratchStack, storedState } from "./scratch";

const KEYSTONE_ADDRESS = "127.0.72.2";
const MYSQL_ADDRESS = "127.0.72.3";
const SERVICE_SECRET = "rotate-service-secret-TEST";
const CLIENT = deriveHostKey("engine-rotate-test", "orchestrator", "client");
const KEYSTONE_KEY = deriveHostKey("engine-rotate-test", "keystone", "host");
const MYSQL_KEY = deriveHostKey("engine-rotate-test", "mysql", "host");

function pillar(dir: string): void {
  fs.writeFileSync(
    path.join(dir, "environment.yaml"),
    `networking:
  subnets:
    management: 127.0.72.0/24
  gateway: 127.0.72.1
  nameservers: [127.0.72.1]
authorized_keys:
  - ${CLIENT.publicKey}
timezone: UTC
ntp:
  ntp_server: 127.0.72.1
`,
  );
  const host = (type: string, address: string, key: string) => `  ${type}:
    style: foundation
    addresses: [${address}]
    host_keys: [${key}]
    networks:
      management:
        interfaces: [eth0]
`;
  fs.writeFileSync(path.join(dir, "hosts.yaml"), `hosts:\n${host("keystone", KEYSTONE_ADDRESS, KEYSTONE_KEY.publicKey)}${host("mysql", MYSQL_ADDRESS, MYSQL_KEY.publicKey)}`);
}

/** Stub formulas: each phase logs "<endpoint> <phase>"; the two configures keep a digest of the secret they read. */
function formulas(runLog: string, digests: string): string {
  const phase = (label: string, uses = "NAME", extra = "") =>
    `#!/usr/bin/env bash\n# kinetic-uses: ${uses}\nset -euo pipefail\n${extra}printf '%s %s\\n' "$KINETIC_NAME" ${label} >> ${runLog}\n`;
  const keep = (name: string) => `printf '%s' "$KINETIC_${name}" | sha256sum | cut -c1-64 > ${digests}/${name}\n`;
  return stubFormulas(["keystone", "mysql"], {
    "common/base": phase("common/base"),
    "common/networking": phase("common/networking"),
    "keystone/install": phase("keystone/install"),
    "keystone/configure": phase("keystone/configure", "NAME SECRET_KEYSTONE_FERNET SECRET_KEYSTONE_CREDENTIAL", keep("SECRET_KEYSTONE_FERNET") + keep("SECRET_KEYSTONE_CREDENTIAL")),
    "mysql/install": phase("mysql/install"),
    "mysql/configure": phase("mysql/configure", "NAME SECRET_KEYSTONE_DB", keep("SECRET_KEYSTONE_DB")),
  });
}

describe("engine: kinetic rotate re-runs exactly the phases that read the rotated class", function () {
  this.timeout(30 * 60_000);
  let dir: string;
  let s: ScratchStack | undefined;
  let sshds: TestSshd[] = [];
  let runLog: string;
  let digests: string;
  let formulasDir: string;
  let names: { keystone: string; mysql: string };
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);

  const take = (): string[] => {
    const ran = fs.existsSync(runLog) ? fs.readFileSync(runLog, "utf8").trim().split("\n").filter(Boolean) : [];
    fs.rmSync(runLog, { force: true });
    return ran.sort();
  };
  const digest = (name: string): string => fs.readFileSync(path.join(digests, name), "utf8").trim();
  const epochs = async (): Promise<string | undefined> => (await s!.stack.getAllConfig())["kinetic:epochs"]?.value;

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the engine rotation test (a real sshd)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-rotate-"));
    runLog = path.join(dir, "ran.log");
    digests = path.join(dir, "digests");
    fs.mkdirSync(digests);
    const pillarDir = path.join(dir, "pillar");
    fs.mkdirSync(pillarDir);
    pillar(pillarDir);
    formulasDir = formulas(runLog, digests);
    const cloud = loadCloud(pillarDir, { stack: "rotate" });
    names = { keystone: cloud.endpoints.find((e) => e.type === "keystone")!.name, mysql: cloud.endpoints.find((e) => e.type === "mysql")!.name };
    const first = await startSshd(KEYSTONE_KEY.privateKey, KEYSTONE_ADDRESS, undefined, { authorizedKey: CLIENT.publicKey });
    sshds = [first, await startSshd(MYSQL_KEY.privateKey, MYSQL_ADDRESS, first.port, { authorizedKey: CLIENT.publicKey })];
    const program: PulumiFn = async () => {
      // A dynamic resource, as every stack with a VM or a physical server has (DomainState, the
      // Redfish providers): their default provider takes the stack's config as its inputs, so a
      // new epoch is an update of that provider (the lab's first rotation was refused for it).
      new MachineGeneration("probe-generation", { domain: "probe", generation: "g", replacing: "r" });
      return { endpoints: kineticProgram({ provisioners: realProvisioners, formulasDir }).endpoints };
    };
    s = await scratchStack({
      name: "rotate",
      program,
      config: {
        "kinetic:pillar": { value: pillarDir },
        "kinetic:sshPublicKey": { value: CLIENT.publicKey },
        "kinetic:sshPrivateKey": { value: CLIENT.privateKey, secret: true },
        "kinetic:serviceSecret": { value: SERVICE_SECRET, secret: true },
        "kinetic:sshPort": { value: String(first.port) },
      },
    });
  });

  after(async () => {
    for (const d of sshds) await d.stop();
    await s?.dispose();
    if (formulasDir) fs.rmSync(formulasDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("up runs every phase; the values are those of epoch 0", async () => {
    const result = await s!.stack.up({ onOutput: () => undefined });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(take().length, 8);
    const sha = (v: string) => createHash("sha256").update(v).digest("hex");
    assert.equal(digest("SECRET_KEYSTONE_FERNET"), sha(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_FERNET", 0)));
    assert.equal(digest("SECRET_KEYSTONE_DB"), sha(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_DB", 0)));
  });

  it("the pins as the recorded state holds them (what kinetic rebuild reports after its up)", async () => {
    const prints = await pinnedFingerprints(s!.stack, [names.keystone, names.mysql]);
    assert.deepEqual([...prints].sort(), [[names.keystone, fingerprint(KEYSTONE_KEY.publicKey)], [names.mysql, fingerprint(MYSQL_KEY.publicKey)]].sort());
  });

  it("an upgraded stack (every epoch explicitly 0) changes nothing and runs nothing", async () => {
    await s!.stack.setConfig("kinetic:epochs", { value: JSON.stringify({ service: 0, fernet: 0, ceph: 0, hostKeys: 0 }) });
    const result = await s!.stack.up({ onOutput: () => undefined });
    assert.deepEqual(Object.keys(result.summary.resourceChanges ?? {}).filter((k) => k !== "same"), [], JSON.stringify(result.summary.resourceChanges));
    assert.deepEqual(take(), []);
  });

  it("without --yes: the plan names exactly the phase reading the class, and nothing changes", async () => {
    const r = await rotateStack(s!.stack, { classes: ["fernet"], yes: false, formulasDir, out });
    assert.equal(r.code, 64);
    assert.deepEqual(r.phases, [`${names.keystone}-configure`]);
    assert.match(lines.join("\n"), /rotate fernet \(epoch 0 -> 1: keystone's fernet token keys/);
    assert.match(lines.join("\n"), new RegExp(`these 1 phases re-run with the new values \\(no machine is replaced\\):\\n  ${names.keystone}-configure`));
    assert.equal(JSON.parse((await epochs())!).fernet, 0);
    assert.deepEqual(take(), []);
  });

  it("a rotation that would carry another pending change is refused, the epochs put back, nothing run", async () => {
    const file = path.join(formulasDir, "mysql", "configure");
    const original = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, original.replace("set -euo pipefail", "set -euo pipefail\n# edited"));
    try {
      const before = await epochs();
      lines.length = 0;
      const r = await rotateStack(s!.stack, { classes: ["fernet"], yes: true, formulasDir, out });
      assert.equal(r.code, 65);
      assert.match(lines.join("\n"), new RegExp(`refused: with the new epochs the stack would also change ${names.mysql}-configure \\(`));
      assert.equal(await epochs(), before);
      assert.deepEqual(take(), []);
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it("rotate --class fernet --yes: only keystone's configure re-runs, with a new fernet value; nothing else changes", async () => {
    const fernet = digest("SECRET_KEYSTONE_FERNET");
    const credential = digest("SECRET_KEYSTONE_CREDENTIAL");
    const db = digest("SECRET_KEYSTONE_DB");
    lines.length = 0;
    const r = await rotateStack(s!.stack, { classes: ["fernet"], yes: true, formulasDir, out });
    assert.equal(r.code, 0, lines.join("\n"));
    assert.deepEqual(take(), [`${names.keystone} keystone/configure`]);
    assert.deepEqual([...r.changed!.keys()], [`${names.keystone}-configure`], JSON.stringify([...r.changed!].map(([n, o]) => [n, [...o]])));
    assert.notEqual(digest("SECRET_KEYSTONE_FERNET"), fernet, "the fernet value did not change");
    assert.equal(digest("SECRET_KEYSTONE_CREDENTIAL"), credential, "the credential key is fixed: it must not change");
    assert.equal(digest("SECRET_KEYSTONE_DB"), db);
    assert.deepEqual(JSON.parse((await epochs())!), { service: 0, fernet: 1, ceph: 0, hostKeys: 0 });
    // The new value is in the state only encrypted.
    assert.ok(!storedState(s!.backendDir, "rotate").includes(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_FERNET", 1)));
  });

  it("rotate --class service --yes: only mysql's configure re-runs, with a new database password; the fernet and credential values stay", async () => {
    const fernet = digest("SECRET_KEYSTONE_FERNET");
    const credential = digest("SECRET_KEYSTONE_CREDENTIAL");
    const db = digest("SECRET_KEYSTONE_DB");
    lines.length = 0;
    const r = await rotateStack(s!.stack, { classes: ["service"], yes: true, formulasDir, out });
    assert.equal(r.code, 0, lines.join("\n"));
    assert.match(lines.join("\n"), /rotate service \(epoch 0 -> 1: service passwords/);
    assert.deepEqual(take(), [`${names.mysql} mysql/configure`]);
    assert.deepEqual([...r.changed!.keys()], [`${names.mysql}-configure`]);
    assert.notEqual(digest("SECRET_KEYSTONE_DB"), db, "the database password did not change");
    assert.equal(digest("SECRET_KEYSTONE_DB"), createHash("sha256").update(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_DB", 1)).digest("hex"));
    assert.equal(digest("SECRET_KEYSTONE_FERNET"), fernet);
    assert.equal(digest("SECRET_KEYSTONE_CREDENTIAL"), credential);
    assert.deepEqual(JSON.parse((await epochs())!), { service: 1, fernet: 1, ceph: 0, hostKeys: 0 });
    assert.ok(!storedState(s!.backendDir, "rotate").includes(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_DB", 1)));
  });

  it("the next up changes nothing and runs nothing", async () => {
    const result = await s!.stack.up({ onOutput: () => undefined });
    assert.deepEqual(Object.keys(result.summary.resourceChanges ?? {}).filter((k) => k !== "same"), [], JSON.stringify(result.summary.resourceChanges));
    assert.deepEqual(take(), []);
  });
});
