/**
 * `RedfishDiscovery`: finds the BMC and ComputerSystem of one SMBIOS UUID by scanning the out-of-band
 * ranges (see `redfish/discovery.ts`). All discoveries of one deployment share a scan. Only the first
 * scan (create, or a replace) sends the BMC credentials to every BMC that answers; refresh and update
 * send them only to the BMC recorded in the state (`operations.ts` `relocate`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { BmcConnectionArgs } from "./redfish/args";
import type * as Ops from "./redfish/operations";
import { loadModule } from "./redfish/load";

/** Bump when the provider's behaviour changes so existing resources are updated by the new code. */
export const REDFISH_DISCOVERY_VERSION = "3";

export interface RedfishDiscoveryArgs extends BmcConnectionArgs {
  /**
   * SMBIOS UUID from the pillar (`hosts.<type>.uuids`); matched case-insensitively and with its first
   * three groups byte-swapped (DSP0134 §7.2.1, https://www.dmtf.org/dsp/DSP0134), against the
   * ComputerSystem `UUID` (https://redfish.dmtf.org/schemas/v1/ComputerSystem.json).
   */
  uuid: pulumi.Input<string>;
  /** Endpoint type (pillar `hosts.<type>` key), named in errors. */
  endpointType: pulumi.Input<string>;
  /** IPv4 ranges to scan (pillar `networking.subnets.oob`). */
  cidrs: pulumi.Input<pulumi.Input<string>[]>;
  /** Redfish port. Default `443`. */
  port?: pulumi.Input<number>;
  /** TCP probe deadline per address, ms. Default `1000`. */
  probeTimeoutMs?: pulumi.Input<number>;
  /** The pillar's PXE `interface` (`hosts.<type>.interface`): its MAC is listed first and as `inventory.pxeMac`. */
  pxeInterface?: pulumi.Input<string>;
}

interface RedfishDiscoveryInputs extends Ops.DiscoveryInputs {
  providerVersion: string;
}

interface RedfishDiscoveryOutputs extends RedfishDiscoveryInputs, Ops.DiscoveredLocation {}

/** Inputs whose change means another server: replace. Anything else re-discovers in place. */
const REPLACE_KEYS = ["uuid"] as const;
const UPDATE_KEYS = ["endpointType", "cidrs", "port", "user", "password", "caBundle", "insecure", "verifyName", "trustOnFirstUse", "scheme", "legacyCiphers", "auth", "pxeInterface", "providerVersion"] as const;

class RedfishDiscoveryProvider implements pulumi.dynamic.ResourceProvider<RedfishDiscoveryInputs, RedfishDiscoveryOutputs> {
  /** @param operations absolute path of `redfish/operations`, resolved when the program ran. */
  constructor(private readonly operations: string) {}

  async check(_olds: RedfishDiscoveryInputs, news: RedfishDiscoveryInputs): Promise<pulumi.dynamic.CheckResult<RedfishDiscoveryInputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    return { inputs: news, failures: ops.checkDiscovery(news) };
  }

  async diff(_id: string, olds: RedfishDiscoveryOutputs, news: RedfishDiscoveryInputs): Promise<pulumi.dynamic.DiffResult> {
    const ops = loadModule<typeof Ops>(this.operations);
    const replaces = ops.changedKeys({ ...olds }, { ...news }, REPLACE_KEYS);
    const updates = ops.changedKeys({ ...olds }, { ...news }, UPDATE_KEYS);
    return { changes: replaces.length + updates.length > 0, replaces };
  }

  async create(inputs: RedfishDiscoveryInputs): Promise<pulumi.dynamic.CreateResult<RedfishDiscoveryOutputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    const found = await ops.discoverLocation(inputs, ops.providerLogger(`discovery ${inputs.uuid}`));
    return { id: inputs.uuid.toLowerCase(), outs: { ...inputs, ...found } satisfies RedfishDiscoveryOutputs };
  }

  async read(id: string, props?: RedfishDiscoveryOutputs): Promise<pulumi.dynamic.ReadResult<RedfishDiscoveryOutputs>> {
    if (!props) throw new Error(`${id}: import is not supported; let the program create the resource`);
    const ops = loadModule<typeof Ops>(this.operations);
    const now = await ops.refreshLocation(props, props, ops.providerLogger(`discovery ${props.uuid}`));
    return { id, props: { ...props, ...now } };
  }

  async update(_id: string, olds: RedfishDiscoveryOutputs, news: RedfishDiscoveryInputs): Promise<pulumi.dynamic.UpdateResult<RedfishDiscoveryOutputs>> {
    const ops = loadModule<typeof Ops>(this.operations);
    // After the first scan the credentials go only to the BMC the state recorded (issue 22), and its
    // pin holds; only a replace (`pulumi up --replace`) scans the ranges with credentials and re-pins.
    const previous = olds.bmcAddress ? { bmcAddress: olds.bmcAddress, certSha256: olds.certSha256, serviceUuid: olds.serviceUuid, systemUri: olds.systemUri } : undefined;
    const found = await ops.discoverLocation(news, ops.providerLogger(`discovery ${news.uuid}`), previous);
    return { outs: { ...news, ...found } satisfies RedfishDiscoveryOutputs };
  }

  /** Discovery changes nothing on the server; forgetting it is enough. */
  async delete(): Promise<void> {}
}

export class RedfishDiscovery extends pulumi.dynamic.Resource {
  /** BMC address (`host` or `host:port`) managing the server. */
  declare readonly bmcAddress: pulumi.Output<string>;
  /** ComputerSystem `@odata.id` of the server. */
  declare readonly systemUri: pulumi.Output<string>;
  /** UUID exactly as the BMC reports it (may be the byte-swapped form). */
  declare readonly reportedUuid: pulumi.Output<string>;
  /** Service root `Vendor`, e.g. `Dell`. */
  declare readonly vendor: pulumi.Output<string>;
  /** Service root `Product`. */
  declare readonly product: pulumi.Output<string>;
  declare readonly manufacturer: pulumi.Output<string>;
  /** ComputerSystem `Model`. */
  declare readonly model: pulumi.Output<string>;
  /**
   * SHA-256 fingerprint of the BMC's TLS certificate, pinned on first use (`""` over plain HTTP). Pass
   * it to `BootOnce`/`PowerCycle` as `certSha256`; a changed certificate fails until accepted with
   * `pulumi up --replace <this resource's URN>`.
   */
  declare readonly certSha256: pulumi.Output<string>;
  /** ServiceRoot `UUID` of the BMC: with the certificate, how refresh recognises it without credentials. */
  declare readonly serviceUuid: pulumi.Output<string>;
  /** Out-of-band inventory: manufacturer, model, serial, BIOS, CPU and memory summary, power, NIC MACs (PXE NIC first). */
  declare readonly inventory: pulumi.Output<Ops.Inventory>;

  constructor(name: string, args: RedfishDiscoveryArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      redfishDiscoveryProvider(),
      name,
      {
        ...args,
        password: pulumi.secret(args.password),
        providerVersion: REDFISH_DISCOVERY_VERSION,
        bmcAddress: undefined,
        systemUri: undefined,
        reportedUuid: undefined,
        vendor: undefined,
        product: undefined,
        manufacturer: undefined,
        model: undefined,
        certSha256: undefined,
        serviceUuid: undefined,
        inventory: undefined,
      },
      { ...opts, additionalSecretOutputs: [...new Set([...(opts.additionalSecretOutputs ?? []), "password"])] },
      "redfish",
      "Discovery",
    );
  }
}

/** For tests: the provider object, as Pulumi serializes it. */
export function redfishDiscoveryProvider(): pulumi.dynamic.ResourceProvider {
  // One instance for every resource: the SDK caches the serialized provider per object, and
  // serializing it (closure capture through the inspector) is the costliest part of declaring one.
  return (cachedRedfishDiscoveryProvider ??= new RedfishDiscoveryProvider(require.resolve("./redfish/operations")));
}
let cachedRedfishDiscoveryProvider: RedfishDiscoveryProvider | undefined;
