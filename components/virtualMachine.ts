/**
 * `kinetic:libvirt:Domain`: one virtual endpoint's machine on its controller.
 *
 * A `remote.Command` (https://www.pulumi.com/registry/packages/command/api-docs/remote/command/) runs
 * the create script on `pulumi up` and the zeroize script on `pulumi destroy`, both through the
 * formula envelope. A command rather than a dynamic provider because the whole life cycle is two
 * idempotent scripts on the controller: there is nothing to read back or diff beyond the definition,
 * and the delete must work from the state alone (the command provider re-sends the stored stdin).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { createCommand, machineStdin, ScriptOptions, zeroizeCommand } from "../providers/libvirt/scripts";
import { VirtualMachineSpec } from "../providers/libvirt/spec";
import { DomainState } from "../providers/domainState";
import { MachineGeneration } from "../providers/machineGeneration";
import { GeneratedHostKey } from "./hostKeys";

export interface VirtualMachineArgs {
  /** The machine, from `virtualMachineSpec()` (providers/libvirt/spec.ts). */
  spec: VirtualMachineSpec;
  /**
   * The machine's SSH host key (hostKeys.ts): the private half goes into the cloud-init seed, the
   * public half is what the create script's wait and every connection to the machine accept.
   */
  hostKey: GeneratedHostKey;
  /** SSH connection to the controller that hosts it. */
  connection: pulumi.Input<command.types.input.remote.ConnectionArgs>;
  /** Controller endpoint name, for messages. Default `spec.controller`, else the connection host. */
  controller?: string;
  /** Run the scripts through `sudo -n` (the SSH user is not root). Default false. */
  sudo?: boolean;
  /** Bound of the wait for the guest's SSH after start, in seconds; 0 skips it. Default 600. */
  sshTimeoutSeconds?: number;
  /** Overrides for tests and unusual controllers: `/kvm`, `/var/log/libvirt`, `qemu:///system`, SSH port. */
  script?: Omit<ScriptOptions, "controller" | "sshTimeoutSeconds">;
  /**
   * The machine's generation as recorded in state ({@link machineGeneration}): in the domain's
   * triggers, so a new generation is a new machine. It must be the one `hostKey` was derived from.
   * Default `definitionHash(spec)` (unrecorded: what the program did before issue 21).
   */
  generation?: pulumi.Input<string>;
}

/** Identity, disk, image, RAM, vCPUs and NICs: hashed first, in this order, by both hashes below. */
function hardware(vm: VirtualMachineSpec) {
  return {
    name: vm.name,
    uuid: vm.uuid,
    ramKiB: vm.ramKiB,
    vcpus: vm.vcpus,
    disk: vm.disk,
    os: vm.os,
    image: vm.image ?? null,
    networks: vm.networks.map((n) => [n.name, n.interface, n.bridge, n.mac]),
  };
}

/**
 * The definition hash as every version computed it: the value a new machine's generation starts at
 * ({@link machineGeneration}). It covers the gateway and the nameservers, which a running guest
 * takes (common/networking manages them after first boot): so it must never decide by itself that
 * a machine is replaced; {@link replacingHash} does. Kept exactly as it was, because the triggers
 * and host keys of machines made before issue 21 are derived from it.
 */
export function definitionHash(vm: VirtualMachineSpec): string {
  const definition = {
    ...hardware(vm),
    management: [vm.management.interface, vm.management.address, vm.management.prefixLength, vm.management.gateway ?? null, vm.management.nameservers],
  };
  return createHash("sha256").update(JSON.stringify(definition)).digest("hex");
}

/**
 * What only a new machine can take, so what replaces it when it changes (issue 21): the disk and its
 * base image (copied once at create), the RAM and vCPUs (the domain definition: a running guest keeps
 * its hardware until a power cycle, and nothing here restarts it), the NICs and their MACs, the
 * management address (written by cloud-init at first boot; a guest still on the old address is out
 * of reach), the identity (name, UUID), and the controller it runs on: a move is a replacement whose
 * delete zeroizes the machine on the controller it leaves (the recorded connection), then creates it
 * on the new one (README "Provisioning"). Not the gateway nor the nameservers: a running guest takes
 * those from common/networking; the create script re-runs in place with the new seed.
 */
export function replacingHash(vm: VirtualMachineSpec): string {
  const definition = {
    ...hardware(vm),
    management: [vm.management.interface, vm.management.address, vm.management.prefixLength],
    controller: vm.controller ?? null,
  };
  return createHash("sha256").update(JSON.stringify(definition)).digest("hex");
}

/**
 * The machine's generation, recorded in state (providers/machineGeneration.ts): it starts at the
 * definition hash (for a machine of an older stack, the value it already has) and moves only when
 * {@link replacingHash} does. Declared once per machine (`${spec.name}-generation`), top level:
 * the host key is derived from it before the endpoint's components exist.
 */
export function machineGeneration(spec: VirtualMachineSpec, opts: pulumi.CustomResourceOptions = {}): MachineGeneration {
  return new MachineGeneration(`${spec.name}-generation`, { domain: spec.name, generation: definitionHash(spec), replacing: replacingHash(spec) }, opts);
}

export class VirtualMachine extends pulumi.ComponentResource {
  // `declare`: with target ES2022 a class field would be re-initialised after `super()` (STYLE.md).
  /** The command that creates and zeroizes the machine: formula phases `dependsOn` it. */
  declare readonly domain: command.remote.Command;
  /** The domain: its replacement is a new machine (see MachineResource). */
  declare readonly machine: pulumi.CustomResource[];
  /** What the last refresh saw of the domain. */
  declare readonly state: DomainState;
  /** The domain name once the guest answers SSH. */
  declare readonly ready: pulumi.Output<string>;

  constructor(name: string, args: VirtualMachineArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("kinetic:libvirt:Domain", name, {}, opts);
    const vm = args.spec;
    const controller = args.controller ?? vm.controller ?? "the controller";
    const scriptOptions = {
      ...args.script,
      controller,
      ...(args.sshTimeoutSeconds !== undefined ? { sshTimeoutSeconds: args.sshTimeoutSeconds } : {}),
    };
    // The seed carries the private host key: stdin is secret as a whole (and so in state).
    const stdin = pulumi.secret(
      pulumi.all([args.hostKey.publicKey, args.hostKey.privateKey]).apply(([publicKey, privateKey]) => machineStdin({ ...vm, hostKey: { publicKey, privateKey } }, scriptOptions)),
    );
    // What refresh learns about the domain: one found gone raises the generation, which is in the
    // command's triggers (the next up re-creates the machine); one found stopped, paused or crashed
    // raises `starts`, which is in the create command line (the next up runs the create script
    // again, which starts the domain and keeps its disk).
    const connection = pulumi.output(args.connection);
    const state = new DomainState(
      `${name}-state`,
      {
        domain: vm.name,
        host: connection.apply((c) => c.host),
        port: connection.apply((c) => c.port ?? 22),
        user: connection.apply((c) => c.user ?? "root"),
        privateKey: connection.apply((c) => c.privateKey ?? ""),
        hostKey: connection.apply((c) => c.hostKey ?? ""),
        virshUri: scriptOptions.virshUri ?? "qemu:///system",
      },
      // The step's edges, repeated as on every part of a step (destroy order).
      { parent: this, dependsOn: opts.dependsOn },
    );
    const hash = args.generation ?? definitionHash(vm);
    const domain = new command.remote.Command(
      `${name}-domain`,
      {
        connection: args.connection,
        // A trailing shell comment, a number only: a new count is an update that runs create again.
        // 0 adds nothing, so machines made before `starts` existed see no change.
        create: state.starts.apply((n) => (n ? `${createCommand({ sudo: args.sudo })} # kinetic: start again after refresh found it stopped (${Number(n)})` : createCommand({ sudo: args.sudo }))),
        delete: zeroizeCommand({ sudo: args.sudo }),
        stdin,
        // The public key too: whatever changes the key (a new generation, another host key secret)
        // makes a new machine, because a running guest only takes its keys from the seed at first boot.
        // Generation 0 adds nothing, so machines made before DomainState existed are not replaced.
        triggers: pulumi.all([hash, args.hostKey.publicKey, state.generation]).apply(([h, publicKey, generation]) => (generation ? [h, publicKey, `re-created after drift ${generation}`] : [h, publicKey])),
      },
      // The domain name and its directory must stay: zeroize the old machine before the new one.
      // The caller's dependsOn (the controller's configure) is repeated here so the engine's state
      // records it on the command itself, and `destroy` zeroizes the machine before its controller.
      // replacementTrigger: the controller is not in the generation (a move keeps the machine's
      // identity and key) but moves the machine: replaced, so the delete runs with the recorded
      // connection and zeroizes it on the controller it leaves. A stack recorded before this had no
      // replacementTrigger, which the engine does not count as a change (no replace on upgrade).
      { parent: this, deleteBeforeReplace: true, dependsOn: opts.dependsOn, replacementTrigger: replacingHash(vm) },
    );
    this.domain = domain;
    this.state = state;
    this.machine = [domain];
    this.ready = domain.stdout.apply(() => vm.name);
    this.registerOutputs({ ready: this.ready });
  }
}
