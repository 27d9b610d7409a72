/**
 * Issue 21, virtual machines: a VM's disk is wiped only when what it is made of changes. Through the
 * real engine (Automation API, our command plugin), one VM on "controllers" that are a real sshd on
 * loopback each, running the real create/zeroize scripts against a private libvirtd (libvirt's test
 * driver, test/libvirt/libvirtd.ts) and a scratch `/kvm`. The guest's data is a marker written into
 * its disk file: a zeroize and create gives a fresh copy of the base image, without it.
 *
 * - a stack made by the component as released before (fixtures/virtualMachineBefore21.ts) upgrades
 *   to the current code without a replacement;
 * - a nameserver or gateway change re-runs the create script in place, the disk kept, and so does a
 *   seed the released program rendered differently (the default route as gateway4); a RAM change
 *   replaces the machine;
 * - a domain found shut off or paused by refresh is started again by the next up, its disk kept;
 *   one found missing is re-created;
 * - a VM moved to another controller is zeroized on the one it leaves and created on the new one.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PulumiFn } from "@pulumi/pulumi/automation";
import { generatedHostKey, deriveHostKey } from "../../components/hostKeys";
import { definitionHash, machineGeneration, VirtualMachine } from "../../components/virtualMachine";
import { VirtualMachineSpec } from "../../providers/libvirt/spec";
import { VirtualMachine as VirtualMachineBefore21 } from "./fixtures/virtualMachineBefore21";
import { keystoneSpec } from "../libvirt/fixtures";
import { startLibvirtd, TestLibvirtd } from "../libvirt/libvirtd";
import { run, scratch } from "../libvirt/tools";
import { requirePrerequisite } from "../support/prerequisite";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";
import { nameOfUrn, scratchStack, ScratchStack } from "./scratch";
import { decideMachineChanges, previewMachineChanges } from "../../engine/machineChanges";

const CLIENT = deriveHostKey("engine-vm-safety-test", "orchestrator", "client");
/** The orchestrator's key after a rotation: the controllers accept both, as during a real one. */
const ROTATED_CLIENT = deriveHostKey("engine-vm-safety-test", "orchestrator", "client-rotated");
const HOST_KEY_SECRET = "engine-vm-safety-host-keys-TEST";
const MiB = 1024 * 1024;
/** Where the "guest" keeps its data: past the 1 MiB base image, so a fresh copy has zeros there. */
const DATA_OFFSET = 4 * MiB;
const DATA = "KINETIC-GUEST-DATA";

interface Controller {
  name: string;
  key: ReturnType<typeof deriveHostKey>;
  sshd: TestSshd;
  libvirtd: TestLibvirtd;
  kvmRoot: string;
  logDir: string;
}

async function startController(name: string, address: string): Promise<Controller> {
  const key = deriveHostKey("engine-vm-safety-test", name, "host");
  const root = scratch(`vm-safety-${name}`);
  const kvmRoot = path.join(root, "kvm");
  fs.mkdirSync(path.join(kvmRoot, "images"), { recursive: true });
  // A tiny raw base image (what /kvm/images/<os>-latest is on a real controller).
  fs.writeFileSync(path.join(kvmRoot, "images", "ubuntu2204-latest"), Buffer.alloc(MiB));
  const libvirtd = await startLibvirtd();
  const sshd = await startSshd(key.privateKey, address, undefined, { authorizedKey: `${CLIENT.publicKey}\n${ROTATED_CLIENT.publicKey}` });
  return { name, key, sshd, libvirtd, kvmRoot, logDir: path.join(root, "log") };
}

describe("engine: a VM's disk is wiped only when what it is made of changes (issue 21)", function () {
  this.timeout(20 * 60_000);
  let a: Controller | undefined;
  let b: Controller | undefined;
  let s: ScratchStack | undefined;
  let spec: VirtualMachineSpec;

  const virsh = (c: Controller, ...args: string[]) => run("virsh", ["-q", "-c", c.libvirtd.uri, ...args]);
  const domstate = (c: Controller) => virsh(c, "domstate", spec.name).stdout.trim();
  const diskOf = (c: Controller) => path.join(c.kvmRoot, "vms", spec.name, "disk0.raw");
  const writeData = (c: Controller) => {
    const fd = fs.openSync(diskOf(c), "r+");
    fs.writeSync(fd, Buffer.from(DATA), 0, DATA.length, DATA_OFFSET);
    fs.closeSync(fd);
  };
  const hasData = (c: Controller): boolean => {
    if (!fs.existsSync(diskOf(c))) return false;
    const buf = Buffer.alloc(DATA.length);
    const fd = fs.openSync(diskOf(c), "r");
    fs.readSync(fd, buf, 0, DATA.length, DATA_OFFSET);
    fs.closeSync(fd);
    return buf.toString() === DATA;
  };
  let client = CLIENT;
  const connection = (c: Controller) => ({ host: c.sshd.address, port: c.sshd.port, user: "root", privateKey: pulumi.secret(client.privateKey), hostKey: c.key.publicKey });
  const script = (c: Controller) => ({ virshUri: c.libvirtd.uri, kvmRoot: c.kvmRoot, logDir: c.logDir });

  /** The program as it was before issue 21: generation = the current definition hash. */
  const before21 = (vm: VirtualMachineSpec, c: Controller): PulumiFn => async () => {
    new VirtualMachineBefore21("vm", {
      spec: vm,
      hostKey: generatedHostKey(pulumi.secret(HOST_KEY_SECRET), vm.name, definitionHash(vm)),
      connection: connection(c),
      controller: c.name,
      sshTimeoutSeconds: 0,
      script: script(c),
    });
  };
  /** The program now, as components/provisioners.ts and hostKeyPins.ts declare a VM. */
  const current = (vm: VirtualMachineSpec, c: Controller): PulumiFn => async () => {
    const generation = machineGeneration(vm).generation;
    new VirtualMachine("vm", {
      spec: vm,
      hostKey: generatedHostKey(pulumi.secret(HOST_KEY_SECRET), vm.name, generation),
      generation,
      connection: connection(c),
      controller: c.name,
      sshTimeoutSeconds: 0,
      script: script(c),
    });
  };
  const up = async (program: PulumiFn) => {
    s!.stack.workspace.program = program;
    const r = await s!.stack.up({ onOutput: () => undefined });
    assert.equal(r.summary.result, "succeeded");
    return r.summary.resourceChanges ?? {};
  };
  const refresh = async (program: PulumiFn) => {
    s!.stack.workspace.program = program;
    await s!.stack.refresh({ onOutput: () => undefined });
  };
  const replaced = (changes: Record<string, number>) => (changes.replace ?? 0) + (changes["create-replacement"] ?? 0) + (changes.delete ?? 0);

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the engine's VM safety checks (a real sshd)");
    a = await startController("controller-a", "127.0.72.2");
    b = await startController("controller-b", "127.0.72.3");
    spec = { ...keystoneSpec("vmsafety"), controller: a.name };
    s = await scratchStack({ name: "vmsafety", program: before21(spec, a), config: {} });
  });

  after(async () => {
    await s?.dispose();
    for (const c of [a, b]) {
      await c?.sshd.stop();
      await c?.libvirtd.stop();
    }
  });

  it("a stack made before issue 21 upgrades without replacing its VM", async () => {
    await up(before21(spec, a!));
    assert.equal(domstate(a!), "running");
    writeData(a!);
    const xml = path.join(a!.kvmRoot, "vms", spec.name, "domain.xml");
    const written = fs.statSync(xml).mtimeMs;
    const changes = await up(current(spec, a!));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.ok(hasData(a!), "the upgrade wiped the VM's disk");
    assert.equal(fs.statSync(xml).mtimeMs, written, "the upgrade ran the create script");
    // And nothing is left to do.
    const again = await up(current(spec, a!));
    assert.deepEqual(Object.keys(again).filter((k) => k !== "same"), [], JSON.stringify(again));
    // Nor does a preview show anything to do: `kinetic rotate` refuses when its preview shows a change
    // it did not ask for, and every VM's domain showed as an update (DomainState's `starts` was absent
    // from its state, so unknown in every preview).
    s!.stack.workspace.program = current(spec, a!);
    const preview = await s!.stack.preview({ onOutput: () => undefined });
    assert.deepEqual(Object.keys(preview.changeSummary).filter((k) => k !== "same"), [], JSON.stringify(preview.changeSummary));
  });

  it("a stack whose DomainState was recorded by version 1 (no `starts`) is updated once, and neither its preview nor its up touches the machine", async () => {
    // Version 1's record, reproduced in the state: `starts` absent from the outputs, neither it nor
    // `generation` among the inputs. The provider's new version makes DomainState an update, whose
    // preview once left both unknown and predicted replacing the VM.
    const deployment = await s!.stack.exportStack();
    const state = (deployment.deployment.resources as Array<{ type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }>).find((r) => r.type.endsWith(":DomainState"));
    assert.ok(state, "no DomainState in the state");
    delete state.outputs.starts;
    delete state.inputs.starts;
    delete state.inputs.generation;
    state.inputs.providerVersion = state.outputs.providerVersion = "1";
    await s!.stack.importStack(deployment);
    const xml = path.join(a!.kvmRoot, "vms", spec.name, "domain.xml");
    const written = fs.statSync(xml).mtimeMs;
    s!.stack.workspace.program = current(spec, a!);
    const preview = await s!.stack.preview({ onOutput: () => undefined });
    assert.deepEqual(preview.changeSummary, { same: (preview.changeSummary.same ?? 0), update: 1 }, `only DomainState should change: ${JSON.stringify(preview.changeSummary)}`);
    assert.deepEqual(await previewMachineChanges(s!.stack), []);
    const changes = await up(current(spec, a!));
    assert.equal(changes.update, 1, JSON.stringify(changes));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.equal(fs.statSync(xml).mtimeMs, written, "the update ran the create script");
    assert.ok(hasData(a!));
    const after = await s!.stack.preview({ onOutput: () => undefined });
    assert.deepEqual(Object.keys(after.changeSummary).filter((k) => k !== "same"), [], JSON.stringify(after.changeSummary));
  });

  it("adding a nameserver or changing the gateway re-runs create in place and keeps the disk", async () => {
    spec = { ...spec, management: { ...spec.management, nameservers: [...spec.management.nameservers, "10.100.0.12"], gateway: "10.100.0.2" } };
    s!.stack.workspace.program = current(spec, a!);
    assert.deepEqual(await previewMachineChanges(s!.stack), [], "kinetic up would ask before a nameserver change");
    const changes = await up(current(spec, a!));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.ok(hasData(a!), "a nameserver change wiped the VM's disk");
    assert.equal(domstate(a!), "running");
  });

  it("a seed rendered as released before (the default route as a routes entry, not gateway4) upgrades in place: create re-runs with the new seed, the disk kept", async () => {
    // The released renderer, reproduced by rewriting today's output: scripts.ts calls renderSeed
    // through the module's exports, so replacing that export for one up is the previous program.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const cloudInit = require("../../providers/libvirt/cloudInit") as { renderSeed: (vm: VirtualMachineSpec) => Record<string, string> };
    const today = cloudInit.renderSeed;
    cloudInit.renderSeed = (vm) => {
      const seed = today(vm);
      return { ...seed, "network-config": seed["network-config"].replace(/^( +)gateway4: (\S+)$/m, "$1routes:\n$1  - to: 0.0.0.0/0\n$1    via: $2") };
    };
    const networkConfig = () => run("isoinfo", ["-R", "-i", path.join(a!.kvmRoot, "vms", spec.name, "config.iso"), "-x", "/network-config"]).stdout;
    try {
      await up(current(spec, a!));
    } finally {
      cloudInit.renderSeed = today;
    }
    assert.match(networkConfig(), /routes:\n +- to: 0\.0\.0\.0\/0\n +via: 10\.100\.0\.2/, "the released seed was not what the VM got");
    writeData(a!);
    s!.stack.workspace.program = current(spec, a!);
    assert.deepEqual(await previewMachineChanges(s!.stack), [], "kinetic up would ask before a seed rendering change");
    const changes = await up(current(spec, a!));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.ok((changes.update ?? 0) >= 1, `the create script did not re-run: ${JSON.stringify(changes)}`);
    assert.match(networkConfig(), /gateway4: 10\.100\.0\.2/);
    assert.doesNotMatch(networkConfig(), /routes:/);
    assert.ok(hasData(a!), "a seed rendering change wiped the VM's disk");
    assert.equal(domstate(a!), "running");
  });

  it("a domain found shut off is started again by the next up, its disk kept", async () => {
    virsh(a!, "destroy", spec.name);
    assert.equal(domstate(a!), "shut off");
    await refresh(current(spec, a!));
    const changes = await up(current(spec, a!));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.equal(domstate(a!), "running");
    assert.ok(hasData(a!), "a stopped VM's disk was wiped");
  });

  it("a domain found paused is resumed by the next up, its disk kept", async () => {
    virsh(a!, "suspend", spec.name);
    assert.equal(domstate(a!), "paused");
    await refresh(current(spec, a!));
    const changes = await up(current(spec, a!));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.equal(domstate(a!), "running");
    assert.ok(hasData(a!), "a paused VM's disk was wiped");
  });

  it("a domain found missing is re-created", async () => {
    virsh(a!, "destroy", spec.name);
    virsh(a!, "undefine", spec.name);
    await refresh(current(spec, a!));
    const changes = await up(current(spec, a!));
    assert.ok(replaced(changes) > 0, JSON.stringify(changes));
    assert.equal(domstate(a!), "running");
    writeData(a!);
  });

  it("a new orchestrator key updates DomainState and re-runs create in place: the preview predicts no replacement, even after a re-creation (generation 1)", async () => {
    client = ROTATED_CLIENT;
    s!.stack.workspace.program = current(spec, a!);
    const preview = await s!.stack.preview({ onOutput: () => undefined });
    assert.equal(preview.changeSummary.replace ?? 0, 0, JSON.stringify(preview.changeSummary));
    assert.deepEqual(await previewMachineChanges(s!.stack), [], "kinetic up would ask before an orchestrator key change");
    const changes = await up(current(spec, a!));
    assert.equal(replaced(changes), 0, JSON.stringify(changes));
    assert.ok(hasData(a!), "a new orchestrator key wiped the VM's disk");
    assert.equal(domstate(a!), "running");
    // The refresh after it reads the domain with the new key (the old one would also be accepted here).
    await refresh(current(spec, a!));
    const again = await up(current(spec, a!));
    assert.deepEqual(Object.keys(again).filter((k) => k !== "same"), [], JSON.stringify(again));
  });

  it("more RAM replaces the machine (a new disk from the base image)", async () => {
    spec = { ...spec, ramKiB: spec.ramKiB * 2 };
    // What kinetic up shows and asks about first (cli/machineGate.ts), from the engine's preview.
    s!.stack.workspace.program = current(spec, a!);
    const shown = await previewMachineChanges(s!.stack);
    assert.deepEqual(shown.map((c) => [c.action, nameOfUrn(c.urn)]), [["replace", "vm-domain"]]);
    assert.match(shown[0].why, /triggers|made of changed/);
    assert.equal(decideMachineChanges(shown, { yes: false, allow: [], tty: false }).kind, "refuse");
    const changes = await up(current(spec, a!));
    assert.ok(replaced(changes) > 0, JSON.stringify(changes));
    assert.equal(domstate(a!), "running");
    assert.ok(!hasData(a!), "the replaced machine kept its old disk");
    writeData(a!);
  });

  it("a VM moved to another controller is zeroized on the one it leaves and created on the new one", async () => {
    spec = { ...spec, controller: b!.name };
    s!.stack.workspace.program = current(spec, b!);
    assert.deepEqual((await previewMachineChanges(s!.stack)).map((c) => [c.action, nameOfUrn(c.urn)]), [["replace", "vm-domain"]], "the move is not shown as a replacement");
    const changes = await up(current(spec, b!));
    assert.ok(replaced(changes) > 0, JSON.stringify(changes));
    assert.equal(domstate(b!), "running");
    assert.ok(!virsh(a!, "list", "--all", "--name").stdout.split("\n").includes(spec.name), "the VM is still defined on the controller it left: two live copies");
    assert.ok(!fs.existsSync(path.join(a!.kvmRoot, "vms", spec.name)), "the VM's disk is still on the controller it left");
  });
});
