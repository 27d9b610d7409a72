/**
 * `PowerCycle`: resets a server through `#ComputerSystem.Reset` (ResetType from
 * https://redfish.dmtf.org/schemas/v1/Resource.json) and waits for `PowerState` with a deadline.
 * Refresh records the current `PowerState`; it never resets by itself.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SystemArgs } from "./redfish/args";
import type * as Ops from "./redfish/operations";
import type { PowerCycleMethod } from "./redfish/power";
import { loadModule } from "./redfish/load";
import type * as Safety from "./powerSafety";

/** Bump when the provider's behaviour changes so existing resources are updated by the new code. */
export const POWER_CYCLE_VERSION = "2";

export interface PowerCycleArgs extends SystemArgs {
  /**
   * `ForceOffOn` (default): ForceOff, wait for `Off`, On, wait for `On`. `ForceRestart` or
   * `GracefulRestart`: that reset type (or `On` when the server is off), then wait for `On`.
   * Reset types: https://redfish.dmtf.org/schemas/v1/Resource.json#/definitions/ResetType
   */
  method?: pulumi.Input<PowerCycleMethod>;
  /** Values that, when they change, cycle the server again (e.g. the boot override just written). */
  triggers?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The server may be reset while it is powered on when this resource is first made (stack config
   * `kinetic:installPoweredOn` lists its UUID, or `kinetic rebuild` names it). Default `false`: a
   * first provisioning refuses a server that is on (powerSafety.ts). Read at create only.
   */
  installWhileOn?: pulumi.Input<boolean>;
}

interface PowerCycleInputs extends Ops.PowerCycleInputs {
  triggers: string[];
  allowZeroize: boolean;
  installWhileOn?: boolean;
  providerVersion: string;
}

interface PowerCycleOutputs extends PowerCycleInputs {
  /** `PowerState` after the cycle (refresh: now). */
  powerState: string;
  /** Reset types sent by the last cycle, in order. */
  resets: string[];
}

const REPLACE_KEYS = ["uuid"] as const;
/** Changes that mean cycling the server again. */
const CYCLE_KEYS = ["method", "triggers"] as const;
const UPDATE_KEYS = [...CYCLE_KEYS, "bmcAddress", "systemUri", "user", "password", "caBundle", "insecure", "verifyName", "trustOnFirstUse", "scheme", "certSha256", "legacyCiphers", "auth", "timeouts", "allowZeroize", "providerVersion"] as const;

/**
 * Whether the inputs ask for a new cycle. Triggers recorded before issue 21 ended with the BMC's
 * `systemUri`, so a BMC re-addressed by discovery power-cycled (reinstalled) the server: that element
 * is no longer sent, and its disappearance from a recorded trigger list is not a change either.
 * Serialized with the provider: plain code, no imports.
 */
export function cycleRequested(olds: { method?: unknown; triggers?: unknown; systemUri?: unknown }, news: { method?: unknown; triggers?: unknown }): boolean {
  if (JSON.stringify(olds.method ?? null) !== JSON.stringify(news.method ?? null)) return true;
  const was = Array.isArray(olds.triggers) ? [...(olds.triggers as unknown[])] : [];
  const now = Array.isArray(news.triggers) ? (news.triggers as unknown[]) : [];
  if (was.length === now.length + 1 && was[was.length - 1] === olds.systemUri) was.pop();
  return JSON.stringify(was) !== JSON.stringify(now);
}

class PowerCycleProvider implements pulumi.dynamic.ResourceProvider<PowerCycleInputs, PowerCycleOutputs> {
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

  async check(_olds: PowerCycleInputs, news: PowerCycleInputs): Promise<pulumi.dynamic.CheckResult<PowerCycleInputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    return { inputs: news, failures: ops.checkPowerCycle(news) };
  }

  async diff(_id: string, olds: PowerCycleOutputs, news: PowerCycleInputs): Promise<pulumi.dynamic.DiffResult> {
    const ops = loadModule<typeof Ops>(this.operations);
    const replaces = ops.changedKeys({ ...olds }, { ...news }, REPLACE_KEYS);
    const updates = ops.changedKeys({ ...olds }, { ...news }, UPDATE_KEYS).filter((k) => k !== "triggers" || cycleRequested(olds, news));
    // Drift: a server found powered off (refresh read it) is a change, shown by refresh and
    // repaired by the next up, which powers it on (from its disk: the override was consumed) if it
    // is still off then.
    const off = olds.powerState !== undefined && olds.powerState !== "On";
    return { changes: replaces.length + updates.length > 0 || off, replaces, ...(off ? { detailedDiff: { powerState: { kind: "update", inputDiff: false } } } : {}) };
  }

  async create(inputs: PowerCycleInputs): Promise<pulumi.dynamic.CreateResult<PowerCycleOutputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    const log = ops.providerLogger(`power-cycle ${inputs.uuid}`);
    await loadModule<typeof Safety>(this.safety).refuseRunningServer(inputs, inputs.installWhileOn === true, "a power cycle", log);
    const r = await ops.runPowerCycle(inputs, log);
    return { id: `${inputs.uuid.toLowerCase()}/power-cycle`, outs: { ...inputs, ...r } satisfies PowerCycleOutputs };
  }

  async read(id: string, props?: PowerCycleOutputs): Promise<pulumi.dynamic.ReadResult<PowerCycleOutputs>> {
    if (!props) throw new Error(`${id}: import is not supported; let the program create the resource`);
    const ops = loadModule<typeof Ops>(this.operations);
    const powerState = await ops.observePowerState(props, ops.providerLogger(`power-cycle ${props.uuid}`));
    return { id, props: { ...props, powerState } };
  }

  async update(_id: string, olds: PowerCycleOutputs, news: PowerCycleInputs): Promise<pulumi.dynamic.UpdateResult<PowerCycleOutputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    const log = ops.providerLogger(`power-cycle ${news.uuid}`);
    if (cycleRequested(olds, news)) {
      return { outs: { ...news, ...(await ops.runPowerCycle(news, log)) } satisfies PowerCycleOutputs };
    }
    if (olds.powerState !== undefined && olds.powerState !== "On") {
      // Drift repair, not a reinstall: `On` only if the server is still off (never a ForceOff).
      return { outs: { ...news, ...(await loadModule<typeof Safety>(this.safety).powerOnIfOff(news, log)) } satisfies PowerCycleOutputs };
    }
    return { outs: { ...news, resets: olds.resets, powerState: await ops.observePowerState(news, log) } satisfies PowerCycleOutputs };
  }

  /** Zeroize: power the server off, only when allowed (input, or the config the provider was configured with). */
  async delete(id: string, props: PowerCycleOutputs): Promise<void> {
    const ops = loadModule<typeof Ops>(this.operations);
    await ops.zeroizePower(props, props.allowZeroize === true || this.zeroizeAllowedByConfig, `PowerCycle ${id}`, ops.providerLogger(`power-cycle ${props.uuid}`));
  }
}

export class PowerCycle extends pulumi.dynamic.Resource {
  /** `PowerState` after the cycle (or at the last refresh). */
  declare readonly powerState: pulumi.Output<string>;
  /** Reset types sent by the last cycle, in order. */
  declare readonly resets: pulumi.Output<string[]>;

  constructor(name: string, args: PowerCycleArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      powerCycleProvider(),
      name,
      {
        ...args,
        method: args.method ?? "ForceOffOn",
        triggers: args.triggers ?? [],
        allowZeroize: args.allowZeroize ?? false,
        installWhileOn: args.installWhileOn ?? false,
        password: pulumi.secret(args.password),
        providerVersion: POWER_CYCLE_VERSION,
        powerState: undefined,
        resets: undefined,
      },
      { ...opts, additionalSecretOutputs: [...new Set([...(opts.additionalSecretOutputs ?? []), "password"])] },
      "redfish",
      "PowerCycle",
    );
  }
}

/** For tests: the provider object, as Pulumi serializes it. */
export function powerCycleProvider(): pulumi.dynamic.ResourceProvider {
  // One instance for every resource: the SDK caches the serialized provider per object, and
  // serializing it (closure capture through the inspector) is the costliest part of declaring one.
  return (cachedPowerCycleProvider ??= new PowerCycleProvider(require.resolve("./redfish/operations"), require.resolve("./powerSafety")));
}
let cachedPowerCycleProvider: PowerCycleProvider | undefined;
