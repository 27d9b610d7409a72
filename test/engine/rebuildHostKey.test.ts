/**
 * `kinetic rebuild` of a physical server through the real engine gives it a new SSH host key, and
 * tells the operator that key's fingerprint: a `--replace` alone would reinstall it with its old key
 * (the key's generation does not change with a reinstall), which an attacker may have copied.
 *
 * Set-up as in lifecycle.test.ts: a foundation pxe host and one physical server against real servers
 * on loopback (sshd per endpoint, the Redfish simulator). The test plays the installer: on each PXE
 * boot it starts the server's sshd with the key the pxe host's configure received for its UUID.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiFn } from "@pulumi/pulumi/automation";
import { rebuildStack } from "../../cli/rebuild";
import { deriveHostKey, fingerprint } from "../../components/hostKeys";
import { kineticProgram } from "../../components/program";
import { realProvisioners } from "../../components/provisioners";
import { PendingReplacements } from "../../engine/pendingReplacements";
import { loadCloud } from "../../pillar";
import { Simulator, startSimulator } from "../../simulator";
import { createTestPki } from "../../simulator/pki";
import { stubFormulas } from "../support/formulas";
import { requirePrerequisite } from "../support/prerequisite";
import { Installer, keepingPxeConfigure, startInstaller, writeServerPillar } from "../support/pxeInstaller";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { scratchStack, ScratchStack } from "./scratch";

const PXE_ADDRESS = "127.0.73.2";
const BMC_ADDRESS = "127.20.0.50";
const UUID = "7a2d3b69-4e5f-4c60-8b7c-8d9e0f1a2b3c";
const BMC_PASSWORD = "rebuild-bmc-Pa55-TEST";
const CLIENT = deriveHostKey("engine-rebuild-test", "orchestrator", "client");
const PXE_KEY = deriveHostKey("engine-rebuild-test", "pxe", "host");

describe("engine: kinetic rebuild gives a reinstalled server a new host key and names it", function () {
  this.timeout(30 * 60_000);
  let dir: string;
  let sim: Simulator | undefined;
  let pxe: TestSshd | undefined;
  let s: ScratchStack | undefined;
  let installer: Installer | undefined;
  let formulasDir: string;
  let serverName: string;
  const installedKeys = () => installer!.installed;

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the engine rebuild host-key test (a real sshd)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-rebuild-key-"));
    const hostKeysFile = path.join(dir, "pxe-host-keys");
    const pillarDir = path.join(dir, "pillar");
    fs.mkdirSync(pillarDir);
    writeServerPillar(pillarDir, { management: "127.0.73", oob: "127.20.0.48/29", pxeAddress: PXE_ADDRESS, pxeKey: PXE_KEY.publicKey, uuid: UUID, clientKey: CLIENT.publicKey });
    formulasDir = stubFormulas(["pxe", "storage"], { "pxe/configure": keepingPxeConfigure(hostKeysFile) });
    const storage = loadCloud(pillarDir, { stack: "rebuildkey" }).endpoints.find((e) => e.type === "storage")!;
    serverName = storage.name;

    const pki = createTestPki(path.join(dir, "pki"));
    sim = await startSimulator({ tls: pki, bmcs: [{ address: BMC_ADDRESS, uuids: [UUID], powerDelayMs: 50, user: "admin", password: BMC_PASSWORD }] });
    sim.bmc(BMC_ADDRESS).setPowerState("Off");
    pxe = await startSshd(PXE_KEY.privateKey, PXE_ADDRESS, undefined, { authorizedKey: CLIENT.publicKey });
    const port = pxe.port;
    installer = startInstaller({ system: () => sim?.bmc(BMC_ADDRESS).system(), uuid: UUID, hostKeysFile, address: storage.address, port, authorizedKey: CLIENT.publicKey });

    const program: PulumiFn = async () => ({ endpoints: kineticProgram({ provisioners: realProvisioners, formulasDir }).endpoints });
    s = await scratchStack({
      name: "rebuildkey",
      program,
      config: {
        "kinetic:pillar": { value: pillarDir },
        "kinetic:sshPublicKey": { value: CLIENT.publicKey },
        "kinetic:sshPrivateKey": { value: CLIENT.privateKey, secret: true },
        "kinetic:bmcPassword": { value: BMC_PASSWORD, secret: true },
        "kinetic:serviceSecret": { value: "rebuild-service-secret-TEST", secret: true },
        "kinetic:hostKeySecret": { value: "rebuild-host-key-secret-TEST", secret: true },
        "kinetic:bmcCaBundle": { value: pki.caCert },
        "kinetic:physicalBootMinutes": { value: "2" },
        "kinetic:sshPort": { value: String(port) },
      },
    });
  });

  after(async () => {
    delete process.env.KINETIC_INSTALL_POWERED_ON;
    await installer?.stop();
    await pxe?.stop();
    await sim?.stop();
    await s?.dispose();
    if (formulasDir) fs.rmSync(formulasDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the first up installs the server with its first key", async () => {
    const result = await s!.stack.up({ onOutput: () => undefined });
    assert.equal(result.summary.result, "succeeded");
    assert.equal(installedKeys().length, 1);
  });

  it("rebuild: a second install with a new key, every phase pins it, and the operator is told its fingerprint", async () => {
    const lines: string[] = [];
    const pending = PendingReplacements.of(path.join(dir, "pending"), "rebuildkey");
    const code = await rebuildStack(s!.stack, ["storage"], { yes: true, pending, out: (l) => lines.push(l) });
    assert.equal(code, 0, lines.join("\n"));
    assert.equal(installedKeys().length, 2, "a second PXE install");
    assert.notEqual(installedKeys()[1], installedKeys()[0], "the rebuilt server got its old host key back");
    assert.deepEqual(JSON.parse((await s!.stack.getAllConfig())["kinetic:hostKeyGenerations"].value), { [serverName]: 1 });
    const text = lines.join("\n");
    assert.match(text, new RegExp(`new host keys for ${serverName} \\(kinetic:hostKeyGenerations\\)`));
    assert.match(text, new RegExp(`host keys of the rebuilt machines \\(every connection now pins these\\):\\n  ${serverName}  ${fingerprint(installedKeys()[1]).replace(/[+/]/g, "\\$&")}$`));
    // The phases of the up after it connect with that key (and nothing is left to do).
    const again = await s!.stack.up({ onOutput: () => undefined });
    assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), [], JSON.stringify(again.summary.resourceChanges));
  });
});
