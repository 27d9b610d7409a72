/**
 * Stacks per site and per rack through the real engine (cli/stackSet.ts): a site stack (identity)
 * and two rack stacks (dbase in rack1, queue in rack2), foundation hosts each with a real sshd on
 * loopback, stub formulas that log each run. dbase's base needs identity's configure, across stacks.
 * A rack's up alone is refused before the site is up and when the site is not current; up --all runs
 * the site, then the racks; the racks read the service secret from the site's secret output (their
 * own config has none); a change to one rack's pillar entry previews and applies only that rack.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { changed, openParts, previewAll, rackRefusal, StackPart, upAll } from "../../cli/stackSet";
import { deriveHostKey } from "../../components/hostKeys";
import { kineticStackProgram } from "../../components/program";
import { realProvisioners } from "../../components/provisioners";
import { deriveSecretAt } from "../../components/secretEpochs";
import { openStack } from "../../engine/stack";
import { loadCloud } from "../../pillar";
import { stubFormulas } from "../support/formulas";
import { requirePrerequisite } from "../support/prerequisite";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { PASSPHRASE, storedState, testEngine } from "./scratch";

const SITE = "stacks";
const ADDRESS = { identity: "127.0.74.2", dbase: "127.0.74.3", queue: "127.0.74.4" } as const;
const SERVICE_SECRET = "stack-set-service-secret-TEST";
const CLIENT = deriveHostKey("engine-stackset-test", "orchestrator", "client");
const KEY = {
  identity: deriveHostKey("engine-stackset-test", "identity", "host"),
  dbase: deriveHostKey("engine-stackset-test", "dbase", "host"),
  queue: deriveHostKey("engine-stackset-test", "queue", "host"),
};

function writePillar(dir: string, iface: { identity: string; dbase: string }): void {
  fs.writeFileSync(
    path.join(dir, "environment.yaml"),
    `networking:
  subnets:
    management: 127.0.74.0/24
  gateway: 127.0.74.1
authorized_keys:
  - ${CLIENT.publicKey}
stacks: [rack1, rack2]
`,
  );
  const host = (type: keyof typeof ADDRESS, extra: string, nic = "eth0") => `  ${type}:
    style: foundation
    addresses: [${ADDRESS[type]}]
${type === "identity" ? "" : `    host_keys: [${KEY[type].publicKey}]\n`}
    networks:
      management:
        interfaces: [${nic}]
${extra}`;
  fs.writeFileSync(
    path.join(dir, "hosts.yaml"),
    `hosts:\n${host("identity", "", iface.identity)}${host("dbase", "    stack: rack1\n    needs:\n      base:\n        identity: configure\n", iface.dbase)}${host("queue", "    stack: rack2\n")}`,
  );
}

function formulas(runLog: string, digests: string): string {
  const phase = (label: string, uses = "NAME", extra = "") => `#!/usr/bin/env bash\n# kinetic-uses: ${uses}\nset -euo pipefail\n${extra}printf '%s %s\\n' "$KINETIC_NAME" ${label} >> ${runLog}\n`;
  return stubFormulas(["identity", "dbase", "queue"], {
    "common/base": phase("common/base"),
    "common/networking": phase("common/networking", "NAME NETWORKS NET_*"),
    "identity/install": phase("identity/install"),
    "identity/configure": phase("identity/configure"),
    "dbase/install": phase("dbase/install"),
    "dbase/configure": phase("dbase/configure", "NAME SECRET_KEYSTONE_DB", `printf '%s' "$KINETIC_SECRET_KEYSTONE_DB" | sha256sum | cut -c1-64 > ${digests}/SECRET_KEYSTONE_DB\n`),
    "queue/install": phase("queue/install"),
    "queue/configure": phase("queue/configure"),
  });
}

describe("engine: stacks per site and per rack (kinetic up|preview --all)", function () {
  this.timeout(30 * 60_000);
  let dir: string;
  let pillarDir: string;
  let runLog: string;
  let digests: string;
  let formulasDir: string;
  let backendDir: string;
  let sshds: TestSshd[] = [];
  let parts: StackPart[] = [];
  let names: Record<keyof typeof ADDRESS, string>;
  const opened = new Map<string, Stack>();

  const take = (): string[] => {
    const ran = fs.existsSync(runLog) ? fs.readFileSync(runLog, "utf8").trim().split("\n").filter(Boolean) : [];
    fs.rmSync(runLog, { force: true });
    return ran;
  };
  const open = async (name: string): Promise<Stack> => {
    const known = opened.get(name);
    if (known) return known;
    const program: PulumiFn = async () => ({ ...(await kineticStackProgram({ provisioners: realProvisioners, formulasDir })) });
    const stack = await openStack({ engine: await testEngine(), stack: name, program, backendDir, passphrase: PASSPHRASE, workDir: dir, env: { PULUMI_SKIP_CHECKPOINTS: "true" } });
    opened.set(name, stack);
    return stack;
  };
  const up = async ({ stack }: StackPart) => (await stack.up({ onOutput: () => undefined })).summary.result === "succeeded";
  const byPart = <T extends { part: string }>(rows: T[]): Record<string, T> => Object.fromEntries(rows.map((r) => [r.part, r]));

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the stack set test (a real sshd)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-stackset-"));
    backendDir = path.join(dir, "state");
    runLog = path.join(dir, "ran.log");
    digests = path.join(dir, "digests");
    fs.mkdirSync(digests);
    pillarDir = path.join(dir, "pillar");
    fs.mkdirSync(pillarDir);
    writePillar(pillarDir, { identity: "eth0", dbase: "eth0" });
    formulasDir = formulas(runLog, digests);
    const cloud = loadCloud(pillarDir, { stack: SITE });
    names = Object.fromEntries((["identity", "dbase", "queue"] as const).map((t) => [t, cloud.endpoints.find((e) => e.type === t)!.name])) as typeof names;
    const first = await startSshd(KEY.identity.privateKey, ADDRESS.identity, undefined, { authorizedKey: CLIENT.publicKey });
    sshds = [first];
    for (const t of ["dbase", "queue"] as const) sshds.push(await startSshd(KEY[t].privateKey, ADDRESS[t], first.port, { authorizedKey: CLIENT.publicKey }));
    const site = await open(SITE);
    // The site's host is trusted on first use (no key in the pillar): its racks pin what the site recorded.
    await site.setAllConfig({ "kinetic:pillar": { value: pillarDir }, "kinetic:sshPublicKey": { value: CLIENT.publicKey }, "kinetic:sshPort": { value: String(first.port) }, "kinetic:trustOnFirstUse": { value: "true" } });
    const { setSecretConfig } = await import("../../engine/stack");
    await setSecretConfig(site, "kinetic:sshPrivateKey", CLIENT.privateKey);
    await setSecretConfig(site, "kinetic:serviceSecret", SERVICE_SECRET);
    parts = await openParts(site, open);
  });

  after(async () => {
    for (const d of sshds) await d.stop();
    if (formulasDir) fs.rmSync(formulasDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the pillar's stacks become the site stack and one Pulumi stack per rack, whose config has no service secret", async () => {
    assert.deepEqual(parts.map((p) => [p.part, p.stack.name]), [["site", SITE], ["rack1", `${SITE}-rack1`], ["rack2", `${SITE}-rack2`]]);
    const config = await parts[1].stack.getAllConfig();
    assert.equal(config["kinetic:rack"]?.value, "rack1");
    assert.equal(config["kinetic:siteStack"]?.value, SITE);
    assert.equal(config["kinetic:serviceSecret"], undefined);
    assert.equal(config["kinetic:sshPrivateKey"]?.secret, true);
  });

  it("a rack's up alone before the site was ever up is refused, and nothing runs", async () => {
    const why = await rackRefusal(parts[1].stack, open);
    assert.match(why ?? "", new RegExp(`refusing to run rack stack ${SITE}-rack1 before its site: site stack ${SITE} has not been up yet`));
    // The program refuses too, when run without the CLI's check.
    await assert.rejects(parts[1].stack.up({ onOutput: () => undefined }), /refusing to run a rack before its site: site stack stacks has not been up yet/);
    assert.deepEqual(take(), []);
  });

  it("up --all: the site first, then both racks; dbase's base ran after identity's configure; the rack derived the site's secret", async () => {
    const results = await upAll(parts, { up, out: () => undefined });
    assert.deepEqual(results.map((r) => [r.part, r.ok, r.error]), [["site", true, undefined], ["rack1", true, undefined], ["rack2", true, undefined]]);
    const ran = take();
    assert.equal(ran.length, 12, ran.join("\n"));
    const identityConfigure = ran.indexOf(`${names.identity} identity/configure`);
    for (const t of ["dbase", "queue"] as const) {
      const firstOfRack = ran.findIndex((l) => l.startsWith(names[t]));
      assert.ok(identityConfigure >= 0 && firstOfRack > identityConfigure, `${t} ran before the site finished:\n${ran.join("\n")}`);
    }
    const sha = (v: string) => createHash("sha256").update(v).digest("hex");
    assert.equal(fs.readFileSync(path.join(digests, "SECRET_KEYSTONE_DB"), "utf8").trim(), sha(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_DB", 0)));
    // Secrets only encrypted: the seed in no stack's state, nor the derived value in the rack's.
    for (const name of [SITE, `${SITE}-rack1`, `${SITE}-rack2`]) assert.ok(!storedState(backendDir, name).includes(SERVICE_SECRET), `${name}: the seed in plain text`);
    assert.ok(!storedState(backendDir, `${SITE}-rack1`).includes(deriveSecretAt(SERVICE_SECRET, "SECRET_KEYSTONE_DB", 0)));
    assert.equal(await rackRefusal(parts[1].stack, open), undefined);
    // The key the site recorded on first use is in its outputs, for a rack that reaches the site's host.
    const exported = (await parts[0].stack.outputs()).kineticSite?.value as { hostKeys?: Record<string, string> };
    const blob = (k: string | undefined) => (k ?? "").split(/\s+/).slice(0, 2).join(" ");
    assert.equal(blob(exported.hostKeys?.[names.identity]), blob(KEY.identity.publicKey));
  });

  it("preview --all after a change to rack1's entry: changes in rack1's stack only; up --all then runs only rack1's step", async () => {
    const before = byPart(await previewAll(parts, () => undefined));
    for (const p of ["site", "rack1", "rack2"]) assert.equal(changed(before[p].changes), 0, `${p}: ${JSON.stringify(before[p])}`);
    writePillar(pillarDir, { identity: "eth0", dbase: "eth1" });
    const after = byPart(await previewAll(parts, () => undefined));
    assert.equal(changed(after.site.changes), 0, JSON.stringify(after.site));
    assert.equal(changed(after.rack2.changes), 0, JSON.stringify(after.rack2));
    assert.ok(changed(after.rack1.changes) > 0, JSON.stringify(after.rack1));
    const results = await upAll(parts, { up, out: () => undefined });
    assert.ok(results.every((r) => r.ok), JSON.stringify(results));
    assert.deepEqual(take(), [`${names.dbase} common/networking`]);
  });

  it("a change to the site's entry: a rack's up alone is refused (site not current) and runs nothing", async () => {
    writePillar(pillarDir, { identity: "eth1", dbase: "eth1" });
    const why = await rackRefusal(parts[2].stack, open);
    assert.match(why ?? "", new RegExp(`site stack ${SITE} is not current: the pillar's site part, or what its steps read of the racks \\(addresses, names, PXE assignments\\), changed since its last up`));
    await assert.rejects(parts[2].stack.up({ onOutput: () => undefined }), /refusing to run a rack before its site: site stack stacks is not current: the pillar's site part, or what its steps read of the racks, changed/);
    assert.deepEqual(take(), []);
  });
});
