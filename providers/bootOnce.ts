/**
 * `BootOnce`: a one-time boot override (ComputerSystem `Boot`, DMTF schema
 * https://redfish.dmtf.org/schemas/v1/ComputerSystem.json), default PXE, read back to confirm.
 * Refresh records what the BMC will do at the next boot (a consumed `Once` reads back `Disabled`);
 * that is not drift to correct, so it never triggers a new override by itself.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SystemArgs } from "./redfish/args";
import type * as Ops from "./redfish/operations";
import { loadModule } from "./redfish/load";
import type * as Safety from "./powerSafety";

/** Bump when the provider's behaviour changes so existing resources are updated by the new code. */
export const BOOT_ONCE_VERSION = "2";

export interface BootOnceArgs extends SystemArgs {
  /**
   * `BootSourceOverrideTarget`. Default `Pxe`. Checked against the BMC's
   * `BootSourceOverrideTarget@Redfish.AllowableValues` before writing.
   * See https://redfish.dmtf.org/schemas/v1/ComputerSystem.json#/definitions/BootSource
   */
  target?: pulumi.Input<string>;
  /**
   * `BootSourceOverrideMode` (`UEFI` or `Legacy`). Default: not sent, so the server keeps its mode;
   * set it only when the pillar asks (HPE iLO rejects writing it; Dell takes it in the settings object).
   * See https://redfish.dmtf.org/schemas/v1/ComputerSystem.json#/definitions/BootSourceOverrideMode
   */
  mode?: pulumi.Input<string>;
  /**
   * The override may be written while the server is powered on when this resource is first made
   * (stack config `kinetic:installPoweredOn`, or `kinetic rebuild` naming the server). Default
   * `false`: a first provisioning refuses a server that is on (powerSafety.ts). Read at create only.
   */
  installWhileOn?: pulumi.Input<boolean>;
}

interface BootOnceInputs extends Ops.BootOnceInputs {
  allowZeroize: boolean;
  installWhileOn?: boolean;
  providerVersion: string;
}

interface BootOnceOutputs extends BootOnceInputs {
  /** What the BMC reported after the write (refresh: what it reports now). */
  overrideTarget: string;
  overrideEnabled: string;
  overrideMode: string;
}

const REPLACE_KEYS = ["uuid"] as const;
/**
 * Changes that mean writing the override again: what the override is, not where the BMC is. A BMC
 * that discovery finds at a new address (or a new system URI) is the same server, identified by its
 * UUID: the new location is recorded, nothing is written (a `Once` written then would reinstall a
 * healthy server at its next reboot).
 */
const APPLY_KEYS = ["target", "mode"] as const;
const UPDATE_KEYS = [...APPLY_KEYS, "user", "password", "caBundle", "insecure", "verifyName", "trustOnFirstUse", "scheme", "certSha256", "legacyCiphers", "auth", "timeouts", "allowZeroize", "providerVersion"] as const;

class BootOnceProvider implements pulumi.dynamic.ResourceProvider<BootOnceInputs, BootOnceOutputs> {
  /**
   * Stack config `kinetic:zeroizePhysical` as the engine configures this provider: the current
   * value in an `up`, but in a `destroy` the one recorded by the last `up` (the engine configures
   * providers from the state there), so the setting counts from the next `up`.
   */
  private zeroizeAllowedByConfig = false;

  /** @param operations absolute path of `redfish/operations`, resolved when the program ran. */
  constructor(
    private readonly operations: string,
    /** Absolute path of `powerSafety`, loaded like `operations`. */
    private readonly safety: string,
  ) {}

  async configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.zeroizeAllowedByConfig = req.config.get("kinetic:zeroizePhysical") === "true";
  }

  async check(_olds: BootOnceInputs, news: BootOnceInputs): Promise<pulumi.dynamic.CheckResult<BootOnceInputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    return { inputs: news, failures: ops.checkBootOnce(news) };
  }

  async diff(_id: string, olds: BootOnceOutputs, news: BootOnceInputs): Promise<pulumi.dynamic.DiffResult> {
    const ops = loadModule<typeof Ops>(this.operations);
    const replaces = ops.changedKeys({ ...olds }, { ...news }, REPLACE_KEYS);
    const updates = ops.changedKeys({ ...olds }, { ...news }, UPDATE_KEYS);
    return { changes: replaces.length + updates.length > 0, replaces };
  }

  async create(inputs: BootOnceInputs): Promise<pulumi.dynamic.CreateResult<BootOnceOutputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    const log = ops.providerLogger(`boot-once ${inputs.uuid}`);
    await loadModule<typeof Safety>(this.safety).refuseRunningServer(inputs, inputs.installWhileOn === true, "setting a one-time PXE boot and power-cycling", log);
    const after = await ops.applyBootOnce(inputs, log);
    return {
      id: `${inputs.uuid.toLowerCase()}/boot-once`,
      outs: { ...inputs, overrideTarget: after.target, overrideEnabled: after.enabled, overrideMode: after.mode } satisfies BootOnceOutputs,
    };
  }

  async read(id: string, props?: BootOnceOutputs): Promise<pulumi.dynamic.ReadResult<BootOnceOutputs>> {
    if (!props) throw new Error(`${id}: import is not supported; let the program create the resource`);
    const ops = loadModule<typeof Ops>(this.operations);
    const now = await ops.observeBootOverride(props, ops.providerLogger(`boot-once ${props.uuid}`));
    return { id, props: { ...props, overrideTarget: now.target, overrideEnabled: now.enabled, overrideMode: now.mode } };
  }

  async update(_id: string, olds: BootOnceOutputs, news: BootOnceInputs): Promise<pulumi.dynamic.UpdateResult<BootOnceOutputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    const log = ops.providerLogger(`boot-once ${news.uuid}`);
    const after = ops.changedKeys({ ...olds }, { ...news }, APPLY_KEYS).length > 0 ? await ops.applyBootOnce(news, log) : await ops.observeBootOverride(news, log);
    return { outs: { ...news, overrideTarget: after.target, overrideEnabled: after.enabled, overrideMode: after.mode } satisfies BootOnceOutputs };
  }

  /** Zeroize: clear the override, only when allowed (input, or the config the provider was configured with). */
  async delete(id: string, props: BootOnceOutputs): Promise<void> {
    const ops = loadModule<typeof Ops>(this.operations);
    await ops.zeroizeBootOverride(props, props.allowZeroize === true || this.zeroizeAllowedByConfig, `BootOnce ${id}`, ops.providerLogger(`boot-once ${props.uuid}`));
  }
}

export class BootOnce extends pulumi.dynamic.Resource {
  /** `BootSourceOverrideTarget` the BMC reports. */
  declare readonly overrideTarget: pulumi.Output<string>;
  /** `BootSourceOverrideEnabled` the BMC reports (`Once` after create; `Disabled` once consumed). */
  declare readonly overrideEnabled: pulumi.Output<string>;
  /** `BootSourceOverrideMode` the BMC reports. */
  declare readonly overrideMode: pulumi.Output<string>;
  declare readonly target: pulumi.Output<string>;
  declare readonly systemUri: pulumi.Output<string>;

  constructor(name: string, args: BootOnceArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      bootOnceProvider(),
      name,
      {
        ...args,
        target: args.target ?? "Pxe",
        allowZeroize: args.allowZeroize ?? false,
        installWhileOn: args.installWhileOn ?? false,
        password: pulumi.secret(args.password),
        providerVersion: BOOT_ONCE_VERSION,
        overrideTarget: undefined,
        overrideEnabled: undefined,
        overrideMode: undefined,
      },
      { ...opts, additionalSecretOutputs: [...new Set([...(opts.additionalSecretOutputs ?? []), "password"])] },
      "redfish",
      "BootOnce",
    );
  }
}

/** For tests: the provider object, as Pulumi serializes it. */
export function bootOnceProvider(): pulumi.dynamic.ResourceProvider {
  // One instance for every resource: the SDK caches the serialized provider per object, and
  // serializing it (closure capture through the inspector) is the costliest part of declaring one.
  return (cachedBootOnceProvider ??= new BootOnceProvider(require.resolve("./redfish/operations"), require.resolve("./powerSafety")));
}
let cachedBootOnceProvider: BootOnceProvider | undefined;
