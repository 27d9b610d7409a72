/**
 * `MachineGeneration`: the generation of one virtual machine, kept in state (issue 21).
 *
 * A VM's generation names the machine made from its seed: it is in the domain command's triggers
 * (a new generation replaces the machine) and its SSH host key is derived from it. Before issue 21
 * it was the definition hash of the *current* pillar, which also covered the gateway and the
 * nameservers: adding a nameserver gave every VM a new generation, so every VM was zeroized and
 * re-created. What a running guest can take (gateway, nameservers: common/networking manages both
 * after first boot) must not do that, but a stack made before must also not see a replacement when
 * it upgrades, so the generation cannot simply be re-defined from fewer fields.
 *
 * Hence a record: created with the definition hash as it was always computed (`generation`: for
 * a machine of an older stack, exactly the value its triggers and host key already carry), it keeps
 * that value while only what a running guest takes changes, and moves to the current definition
 * hash when `replacing` (the hash of what a running guest cannot take) changes.
 *
 * The provider supports no preview, so the engine previews `create` and `update` with the inputs as
 * outputs: `generation` is an input too, so a preview shows the value the up will record.
 * Nothing is ever contacted; `delete` does nothing.
 */
import * as pulumi from "@pulumi/pulumi";

export interface MachineGenerationArgs {
  /** The domain name, for the id and messages. */
  domain: pulumi.Input<string>;
  /** The definition hash of the current spec (components/virtualMachine.ts `definitionHash`). */
  generation: pulumi.Input<string>;
  /** Hash of what only a new machine can take (components/virtualMachine.ts `replacingHash`). */
  replacing: pulumi.Input<string>;
}

interface MachineGenerationInputs {
  domain: string;
  generation: string;
  replacing: string;
}

class MachineGenerationProvider implements pulumi.dynamic.ResourceProvider<MachineGenerationInputs, MachineGenerationInputs> {
  async diff(_id: string, olds: MachineGenerationInputs, news: MachineGenerationInputs): Promise<pulumi.dynamic.DiffResult> {
    // Only a change of what needs a new machine moves the generation; the rest is not a change
    // (the engine then keeps the recorded outputs, the generation among them).
    return { changes: olds.replacing !== news.replacing || olds.domain !== news.domain, replaces: [], deleteBeforeReplace: false };
  }

  async create(inputs: MachineGenerationInputs): Promise<pulumi.dynamic.CreateResult<MachineGenerationInputs>> {
    return { id: `${inputs.domain}/generation`, outs: { ...inputs } };
  }

  async update(_id: string, _olds: MachineGenerationInputs, news: MachineGenerationInputs): Promise<pulumi.dynamic.UpdateResult<MachineGenerationInputs>> {
    return { outs: { ...news } };
  }
}

export class MachineGeneration extends pulumi.dynamic.Resource {
  /** The recorded generation: what the domain's triggers and the host key derive from. */
  declare readonly generation: pulumi.Output<string>;
  declare readonly replacing: pulumi.Output<string>;

  constructor(name: string, args: MachineGenerationArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(machineGenerationProvider(), name, { ...args }, opts, "libvirt", "MachineGeneration");
  }
}

/** The provider object, as Pulumi serializes it (one instance, see powerCycle.ts). */
export function machineGenerationProvider(): pulumi.dynamic.ResourceProvider<MachineGenerationInputs, MachineGenerationInputs> {
  return (cached ??= new MachineGenerationProvider());
}
let cached: MachineGenerationProvider | undefined;
