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
}

/**
 * What forces a new machine when it changes: everything baked into the disk or the seed at first
 * boot, or into the hardware. Other changes (an SSH key, the timeout) re-run the create script in
 * place, which converges without touching the disk.
 */
export function definitionHash(vm: VirtualMachineSpec): string {
  const definition = {
    name: vm.name,
    uuid: vm.uuid,
    ramKiB: vm.ramKiB,
    vcpus: vm.vcpus,
    disk: vm.disk,
    os: vm.os,
    image: vm.image ?? null,
    networks: vm.networks.map((n) => [n.name, n.interface, n.bridge, n.mac]),
    management: [vm.management.interface, vm.management.address, vm.management.prefixLength, vm.management.gateway ?? null, vm.management.nameservers],
  };
  return createHash("sha256").update(JSON.stringify(definition)).digest("hex");
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
    // What refresh learns about the domain (running or not); a domain found gone raises the
    // generation, which is in the command's triggers: the next up re-creates the machine.
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
    const hash = definitionHash(vm);
    const domain = new command.remote.Command(
      `${name}-domain`,
      {
        connection: args.connection,
        create: createCommand({ sudo: args.sudo }),
        delete: zeroizeCommand({ sudo: args.sudo }),
        stdin,
        // The public key too: whatever changes the key (a new generation, another host key secret)
        // makes a new machine, because a running guest only takes its keys from the seed at first boot.
        // Generation 0 adds nothing, so machines made before DomainState existed are not replaced.
        triggers: pulumi.all([args.hostKey.publicKey, state.generation]).apply(([publicKey, generation]) => (generation ? [hash, publicKey, `re-created after drift ${generation}`] : [hash, publicKey])),
      },
      // The domain name and its directory must stay: zeroize the old machine before the new one.
      // The caller's dependsOn (the controller's configure) is repeated here so the engine's state
      // records it on the command itself, and `destroy` zeroizes the machine before its controller.
      { parent: this, deleteBeforeReplace: true, dependsOn: opts.dependsOn },
    );
    this.domain = domain;
    this.state = state;
    this.machine = [domain];
    this.ready = domain.stdout.apply(() => vm.name);
    this.registerOutputs({ ready: this.ready });
  }
}
