/**
 * `kinetic rebuild` of a physical server in a rack stack (cli/rebuildStacks.ts), through the real
 * engine: a site stack with the pxe host, a rack stack with one physical server (the Redfish
 * simulator, sshd per endpoint on loopback; the test plays the installer as rebuildHostKey.test.ts
 * does, starting the server's sshd with the key the pxe host's configure received for its UUID).
 *
 * The site's pxe host derives the key it serves from the site's config. Before this, a rack's
 * rebuild raised the generation in the rack only: the server was reinstalled with its old key and
 * the rack's phases, pinning the new one, refused it; and `up --all` copied the site's config over
 * the rack's, which would have given the server its old key back (a second replacement).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { rebuildStack } from "../../cli/rebuild";
import { openParts, StackPart } from "../../cli/stackSet";
import { deriveHostKey } from "../../components/hostKeys";
import { kineticStackProgram } from "../../components/program";
import { realProvisioners } from "../../components/provisioners";
import { PendingReplacements } from "../../engine/pendingReplacements";
import { openStack, setSecretConfig } from "../../engine/stack";
import { loadCloud } from "../../pillar";
import { Simulator, startSimulator } from "../../simulator";
import { createTestPki } from "../../simulator/pki";
import { stubFormulas } from "../support/formulas";
import { requirePrerequisite } from "../support/prerequisite";
import { Installer, keepingPxeConfigure, startInstaller, writeServerPillar } from "../support/pxeInstaller";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { PASSPHRASE, testEngine } from "./scratch";

const SITE = "racked";
const PXE_ADDRESS = "127.0.76.2";
const BMC_ADDRESS = "127.20.0.58";
const UUID = "5c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const BMC_PASSWORD = "rack-rebuild-bmc-Pa55-TEST";
const CLIENT = deriveHostKey("engine-rack-rebuild-test", "orchestrator", "client");
const PXE_KEY = deriveHostKey("engine-rack-rebuild-test", "pxe", "host");

describe("engine: kinetic rebuild of a rack's physical server (stacks per rack)", function () {
  this.timeout(30 * 60_000);
  let dir: string;
  let backendDir: string;
  let sim: Simulator | undefined;
  let pxe: TestSshd | undefined;
  let installer: Installer | undefined;
  let formulasDir: string;
  let serverName: string;
  let parts: StackPart[] = [];
  const opened = new Map<string, Stack>();
  const installedKeys = () => installer!.installed;
  const quiet = { onOutput: () => undefined };

  const open = async (name: string): Promise<Stack> => {
    const known = opened.get(name);
    if (known) return known;
    const program: PulumiFn = async () => ({ ...(await kineticStackProgram({ provisioners: realProvisioners, formulasDir })) });
    const stack = await openStack({ engine: await testEngine(), stack: name, program, backendDir, passphrase: PASSPHRASE, workDir: dir });
    opened.set(name, stack);
    return stack;
  };
  const generations = async (s: Stack) => JSON.parse((await s.getAllConfig())["kinetic:hostKeyGenerations"]?.value ?? "{}") as Record<string, number>;
  const changes = (r: { changeSummary: Record<string, number> }) => Object.keys(r.changeSummary).filter((k) => k !== "same");

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the rack rebuild test (a real sshd)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-rack-rebuild-"));
    backendDir = path.join(dir, "state");
    const hostKeysFile = path.join(dir, "pxe-host-keys");
    const pillarDir = path.join(dir, "pillar");
    fs.mkdirSync(pillarDir);
    writeServerPillar(pillarDir, { management: "127.0.76", oob: "127.20.0.56/29", pxeAddress: PXE_ADDRESS, pxeKey: PXE_KEY.publicKey, uuid: UUID, clientKey: CLIENT.publicKey, rack: "rack1" });
    formulasDir = stubFormulas(["pxe", "storage"], { "pxe/configure": keepingPxeConfigure(hostKeysFile) });
    const storage = loadCloud(pillarDir, { stack: SITE }).endpoints.find((e) => e.type === "storage")!;
    serverName = storage.name;

    const pki = createTestPki(path.join(dir, "pki"));
    sim = await startSimulator({ tls: pki, bmcs: [{ address: BMC_ADDRESS, uuids: [UUID], powerDelayMs: 50, user: "admin", password: BMC_PASSWORD }] });
    sim.bmc(BMC_ADDRESS).setPowerState("Off");
    pxe = await startSshd(PXE_KEY.privateKey, PXE_ADDRESS, undefined, { authorizedKey: CLIENT.publicKey });
    const port = pxe.port;
    installer = startInstaller({ system: () => sim?.bmc(BMC_ADDRESS).system(), uuid: UUID, hostKeysFile, address: storage.address, port, authorizedKey: CLIENT.publicKey });

    const site = await open(SITE);
    await site.setAllConfig({
      "kinetic:pillar": { value: pillarDir },
      "kinetic:sshPublicKey": { value: CLIENT.publicKey },
      "kinetic:bmcCaBundle": { value: pki.caCert },
      "kinetic:physicalBootMinutes": { value: "2" },
      "kinetic:sshPort": { value: String(port) },
    });
    await setSecretConfig(site, "kinetic:sshPrivateKey", CLIENT.privateKey);
    await setSecretConfig(site, "kinetic:bmcPassword", BMC_PASSWORD);
    await setSecretConfig(site, "kinetic:serviceSecret", "rack-rebuild-service-secret-TEST");
    await setSecretConfig(site, "kinetic:hostKeySecret", "rack-rebuild-host-key-secret-TEST");
    parts = await openParts(site, open);
  });

  after(async () => {
    delete process.env.KINETIC_INSTALL_POWERED_ON;
    await installer?.stop();
    await pxe?.stop();
    await sim?.stop();
    if (formulasDir) fs.rmSync(formulasDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the site, then the rack: the rack's server is installed from the site's pxe host", async () => {
    assert.equal((await parts[0].stack.up(quiet)).summary.result, "succeeded");
    assert.equal((await parts[1].stack.up(quiet)).summary.result, "succeeded");
    assert.equal(installedKeys().length, 1);
  });

  it("rebuilding a rack's server from the site stack is refused, naming the rack's stack; nothing changes", async () => {
    const lines: string[] = [];
    const resets = sim!.bmc(BMC_ADDRESS).system().resets.length;
    const code = await rebuildStack(parts[0].stack, ["storage"], { yes: true, pending: PendingReplacements.of(path.join(dir, "pending"), SITE), out: (l) => lines.push(l), openStack: open });
    assert.equal(code, 64, lines.join("\n"));
    assert.match(lines.join("\n"), new RegExp(`storage is in rack rack1: \`kinetic rebuild storage --stack ${SITE}-rack1 --yes\``));
    assert.equal(sim!.bmc(BMC_ADDRESS).system().resets.length, resets);
    assert.deepEqual(await generations(parts[0].stack), {});
  });

  it("rebuild in the rack: the site's pxe host serves the new key first, the server is reinstalled with it, and both stacks record it", async () => {
    const lines: string[] = [];
    const code = await rebuildStack(parts[1].stack, ["storage"], { yes: true, pending: PendingReplacements.of(path.join(dir, "pending"), `${SITE}-rack1`), out: (l) => lines.push(l), openStack: open });
    assert.equal(code, 0, lines.join("\n"));
    assert.equal(installedKeys().length, 2, "a second PXE install");
    assert.notEqual(installedKeys()[1], installedKeys()[0], "the rebuilt server got its old host key back");
    assert.deepEqual(await generations(parts[1].stack), { [serverName]: 1 });
    assert.deepEqual(await generations(parts[0].stack), { [serverName]: 1 });
    assert.match(lines.join("\n"), new RegExp(`site stack ${SITE}: pxe-[0-9a-f-]+-configure re-run`));
  });

  it("the next up --all changes nothing in either stack (the rack keeps the new key)", async () => {
    parts = await openParts(parts[0].stack, open);
    assert.deepEqual(await generations(parts[1].stack), { [serverName]: 1 });
    for (const p of parts) assert.deepEqual(changes(await p.stack.preview(quiet)), [], `${p.stack.name} would change`);
    assert.equal(installedKeys().length, 2);
  });
});
