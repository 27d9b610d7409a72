/**
 * Issue 21, physical servers: nothing is reset, set to PXE or reinstalled unless the operator asked.
 * Through the real engine, against the Redfish simulator and sshd on loopback, like lifecycle.test.ts:
 *
 * - the first up of a server that is powered on (it may be running an OS) is refused before anything
 *   is written to its BMC; with its UUID in `kinetic:installPoweredOn` it is installed;
 * - power drift repair sends `On` only to a server still off: one back on by then gets nothing;
 * - a BMC re-addressed (discovered anew behind another address) is recorded, and the up writes no
 *   boot override and resets nothing;
 * - a server that never answers after its install (the install failed) gets no reset and no boot
 *   override from the next up, which names it and the command that installs it again.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PulumiFn } from "@pulumi/pulumi/automation";
import { kineticProgram } from "../../components/program";
import { realProvisioners } from "../../components/provisioners";
import { deriveHostKey } from "../../components/hostKeys";
import { loadCloud } from "../../pillar";
import { Simulator, startSimulator } from "../../simulator";
import { createTestPki, TestPki } from "../../simulator/pki";
import { stubFormulas } from "../support/formulas";
import { requirePrerequisite } from "../support/prerequisite";
import { Installer, keepingPxeConfigure, startInstaller, writeServerPillar } from "../support/pxeInstaller";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { scratchStack, ScratchStack } from "./scratch";
import { UnreachedInstalls } from "../../cli/installHint";

const PXE_ADDRESS = "127.0.71.2";
const BMC_ADDRESS = "127.20.0.42";
/** Where the same BMC answers after it was re-addressed. */
const MOVED_BMC_ADDRESS = "127.20.0.45";
const UUID = "0e3b7a6c-51d2-4f0e-8a7b-2c9d4e5f6a71";
const BMC_PASSWORD = "safety-bmc-Pa55-TEST";
const CLIENT = deriveHostKey("engine-safety-test", "orchestrator", "client");
const PXE_KEY = deriveHostKey("engine-safety-test", "pxe", "host");

describe("engine: physical servers are reset or reinstalled only when asked (issue 21)", function () {
  this.timeout(30 * 60_000);
  let dir: string;
  let pki: TestPki;
  let sim: Simulator | undefined;
  let bmcAddress = BMC_ADDRESS;
  let pxe: TestSshd | undefined;
  let s: ScratchStack | undefined;
  let installer: Installer | undefined;
  let hostKeysFile: string;
  let serverAddress: string;
  let serverName: string;
  let port: number;
  let formulasDir: string;

  const system = () => sim!.bmc(bmcAddress).system();
  const pxeBoots = () => system().boots.filter((b) => b.target === "Pxe").length;
  const quiet = { onOutput: () => undefined };

  /** The BMC behind `address`, server powered `power`; the installer watches it for PXE boots. */
  async function startBmc(address: string, power: "On" | "Off"): Promise<void> {
    await sim?.stop();
    sim = await startSimulator({ tls: pki, bmcs: [{ address, uuids: [UUID], powerDelayMs: 50, user: "admin", password: BMC_PASSWORD }] });
    bmcAddress = address;
    installer?.newBmc();
    sim.bmc(address).setPowerState(power);
  }

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the engine's physical safety checks (a real sshd)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-safety-"));
    hostKeysFile = path.join(dir, "pxe-host-keys");
    const pillarDir = path.join(dir, "pillar");
    fs.mkdirSync(pillarDir);
    writeServerPillar(pillarDir, { management: "127.0.71", oob: "127.20.0.40/29", pxeAddress: PXE_ADDRESS, pxeKey: PXE_KEY.publicKey, uuid: UUID, clientKey: CLIENT.publicKey });
    const phase = (extra = "", uses = "NAME") => `#!/usr/bin/env bash\n# kinetic-uses: ${uses}\nset -euo pipefail\n${extra}`;
    formulasDir = stubFormulas(["pxe", "storage"], {
      "common/base": phase(),
      "common/networking": phase(),
      "pxe/install": phase(),
      "pxe/configure": keepingPxeConfigure(hostKeysFile),
      "storage/install": phase(),
      "storage/configure": phase(),
    });
    const storage = loadCloud(pillarDir, { stack: "safety" }).endpoints.find((e) => e.type === "storage")!;
    serverAddress = storage.address;
    serverName = storage.name;
    pki = createTestPki(path.join(dir, "pki"));
    // A server that is on and (for all anyone knows) running an OS.
    await startBmc(BMC_ADDRESS, "On");
    pxe = await startSshd(PXE_KEY.privateKey, PXE_ADDRESS, undefined, { authorizedKey: CLIENT.publicKey });
    port = pxe.port;
    installer = startInstaller({ system: () => sim?.bmc(bmcAddress).system(), uuid: UUID, hostKeysFile, address: serverAddress, port, authorizedKey: CLIENT.publicKey });
    const program: PulumiFn = async () => ({ endpoints: kineticProgram({ provisioners: realProvisioners, formulasDir }).endpoints });
    s = await scratchStack({
      name: "safety",
      program,
      config: {
        "kinetic:pillar": { value: pillarDir },
        "kinetic:sshPublicKey": { value: CLIENT.publicKey },
        "kinetic:sshPrivateKey": { value: CLIENT.privateKey, secret: true },
        "kinetic:bmcPassword": { value: BMC_PASSWORD, secret: true },
        "kinetic:serviceSecret": { value: "safety-service-secret-TEST", secret: true },
        "kinetic:bmcCaBundle": { value: pki.caCert },
        "kinetic:physicalBootMinutes": { value: "2" },
        "kinetic:sshPort": { value: String(port) },
      },
    });
  });

  after(async () => {
    await installer?.stop();
    await pxe?.stop();
    await sim?.stop();
    await s?.dispose();
    if (formulasDir) fs.rmSync(formulasDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the first up refuses a server that is powered on, before anything reaches its BMC but reads", async () => {
    let out = "";
    await assert.rejects(s!.stack.up({ onOutput: (l) => void (out += l) }));
    assert.match(out, new RegExp(`server ${UUID} at ${BMC_ADDRESS}(:\\d+)? is powered on .*nothing was sent.*kinetic:installPoweredOn`, "s"), out.slice(-3000));
    assert.deepEqual(system().resets, [], "a reset was sent");
    assert.equal(system().boot.BootSourceOverrideEnabled, "Disabled", "a boot override was written");
    assert.equal(system().powerState, "On");
    assert.equal(pxeBoots(), 0);
  });

  it("with its UUID in kinetic:installPoweredOn, the same up installs it", async () => {
    await s!.stack.setConfig("kinetic:installPoweredOn", { value: JSON.stringify([UUID.toUpperCase()]) });
    const r = await s!.stack.up(quiet);
    assert.equal(r.summary.result, "succeeded");
    assert.deepEqual(system().resets, ["ForceOff", "On"]);
    assert.equal(pxeBoots(), 1);
  });

  it("power drift repair leaves a server that is back on alone", async () => {
    sim!.bmc(bmcAddress).setPowerState("Off");
    await s!.stack.refresh(quiet);
    // Someone powered it on at the console between the refresh and the up.
    sim!.bmc(bmcAddress).setPowerState("On");
    const resets = system().resets.length;
    const r = await s!.stack.up(quiet);
    assert.equal(r.summary.result, "succeeded");
    assert.deepEqual(system().resets.slice(resets), [], "a running server was reset by drift repair");
    assert.equal(pxeBoots(), 1);
  });

  it("power drift repair powers on a server still off, with On alone", async () => {
    sim!.bmc(bmcAddress).setPowerState("Off");
    await s!.stack.refresh(quiet);
    const resets = system().resets.length;
    const r = await s!.stack.up(quiet);
    assert.equal(r.summary.result, "succeeded");
    assert.deepEqual(system().resets.slice(resets), ["On"]);
    assert.equal(system().powerState, "On");
    assert.equal(pxeBoots(), 1, "drift repair booted from PXE");
  });

  it("a BMC re-addressed and discovered anew: the up writes no boot override and resets nothing", async () => {
    await startBmc(MOVED_BMC_ADDRESS, "On");
    // The BMC answers elsewhere with another certificate: discovery's refresh will not send it the
    // password, and says to discover it anew (`up --replace` of the discovery resource), which
    // records the new place. Nothing else is asked to be replaced.
    const urnOf = async () => ((await s!.stack.exportStack()).deployment as { resources: { urn: string; outputs?: Record<string, unknown> }[] }).resources;
    const discoveryUrn = (await urnOf()).find((r) => r.urn.endsWith("-provision-discovery"))!.urn;
    const r = await s!.stack.up({ ...quiet, replace: [discoveryUrn] });
    const discovery = (await urnOf()).find((r) => r.urn === discoveryUrn);
    assert.match(String(discovery?.outputs?.bmcAddress), new RegExp(`^${MOVED_BMC_ADDRESS.replace(/\./g, "\\.")}`), "discovery did not record the new address");
    assert.equal(r.summary.result, "succeeded");
    assert.equal(system().boot.BootSourceOverrideEnabled, "Disabled", "a PXE boot override was written: the next reboot would reinstall the server");
    assert.deepEqual(system().resets, [], "the re-addressed server was reset");
    assert.equal(sim!.bmc(bmcAddress).openSessions(), 0);
    // And it is still managed at the new address: a second up changes nothing.
    const again = await s!.stack.up(quiet);
    assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"), [], JSON.stringify(again.summary.resourceChanges));
  });

  it("a server that never answers after its install: the up names it and `kinetic rebuild`, and sends nothing to its BMC", async () => {
    // The install failed: nothing answers SSH at the server's address. Its base phase runs again
    // (as after a failed first up) with a short boot allowance.
    await installer!.stopServer();
    await s!.stack.setConfig("kinetic:physicalBootMinutes", { value: "1" });
    const urns = ((await s!.stack.exportStack()).deployment as { resources: { urn: string }[] }).resources.map((r) => r.urn);
    const base = urns.find((u) => u.endsWith(`::${serverName}-base`))!;
    const resets = system().resets.length;
    const boots = pxeBoots();
    const unreached = new UnreachedInstalls();
    await assert.rejects(s!.stack.up({ ...quiet, replace: [base], onEvent: (e) => unreached.observe(e) }));
    assert.deepEqual(unreached.lines().length, 1, unreached.lines().join("\n"));
    assert.match(unreached.lines()[0], new RegExp(`^${serverName} did not answer SSH at ${serverAddress.replace(/\./g, "\\.")}:${port} .*\`kinetic rebuild ${serverName} --yes\``));
    assert.deepEqual(system().resets.slice(resets), [], "an unreachable server was reset");
    assert.equal(pxeBoots(), boots, "an unreachable server was set to boot from PXE");
  });
});
