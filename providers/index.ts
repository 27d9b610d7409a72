/**
 * Provisioning resources for endpoints. For physical endpoints: Redfish discovery -> boot-once ->
 * power cycle, built by `provisionPhysical` for the physical endpoint component.
 */
import * as pulumi from "@pulumi/pulumi";
import { BootOnce } from "./bootOnce";
import { PowerCycle } from "./powerCycle";
import { RedfishDiscovery } from "./redfishDiscovery";
import type { AuthMode } from "./redfish/client";
import type { TimeoutInputs } from "./redfish/operations";
import type { PowerCycleMethod } from "./redfish/power";

export { BootOnce } from "./bootOnce";
export type { BootOnceArgs } from "./bootOnce";
export { PowerCycle } from "./powerCycle";
export type { PowerCycleArgs } from "./powerCycle";
export { RedfishDiscovery } from "./redfishDiscovery";
export type { RedfishDiscoveryArgs } from "./redfishDiscovery";
export type { PowerCycleMethod } from "./redfish/power";
export type { TimeoutInputs } from "./redfish/operations";

export interface PhysicalProvisioningArgs {
  /** SMBIOS UUID of the server (pillar `hosts.<type>.uuids[i]`). */
  uuid: pulumi.Input<string>;
  /** Endpoint type (pillar `hosts.<type>` key); named in discovery errors. */
  type: string;
  /** Out-of-band ranges to scan (pillar `networking.subnets.oob`). */
  cidrs: pulumi.Input<string>[];
  /** BMC user (pillar `api_user`). */
  user: pulumi.Input<string>;
  /** BMC password (stack config `kinetic:bmcPassword`); kept secret in state. */
  password: pulumi.Input<string>;
  /** PEM CA bundle for BMC certificates (stack config `kinetic:bmcCaBundle`). Default: Node's public roots. */
  caBundle?: pulumi.Input<string>;
  /** Skip TLS verification for this network (explicit opt-in). Default `false`. */
  insecure?: boolean;
  /** Verify the chain against `caBundle` but not the address, for this network (`kinetic:bmcCaOnlyNetworks`). Default `true`. */
  verifyName?: boolean;
  /** Trust each BMC's certificate on first use and pin it, for this network (`kinetic:bmcTofuNetworks`). Default `false`. */
  trustOnFirstUse?: boolean;
  /** `http` for virtual BMCs on this network (`kinetic:bmcHttpNetworks`). Default `https`. */
  scheme?: "https" | "http";
  /** The pillar's PXE `interface`: its MAC leads the discovery inventory (`inventory.pxeMac`). */
  pxeInterface?: string;
  /** Allow legacy TLS versions and ciphers (explicit opt-in). Default `false`. */
  legacyCiphers?: boolean;
  /** `BootSourceOverrideTarget` for the one-time boot. Default `Pxe`. */
  bootTarget?: string;
  /** `BootSourceOverrideMode` (`UEFI`/`Legacy`), only when the pillar asks. Default: not sent. */
  bootMode?: string;
  /** How to reset: `ForceOffOn` (default), `ForceRestart` or `GracefulRestart`. */
  resetType?: PowerCycleMethod;
  /** Stack config `kinetic:zeroizePhysical`: deleting powers the server off and clears the override. */
  allowZeroize: boolean;
  /**
   * The first provisioning may reset the server while it is powered on (stack config
   * `kinetic:installPoweredOn` lists its UUID, or `kinetic rebuild` names it). Default `false`:
   * a server found on is refused before anything is written (providers/powerSafety.ts).
   */
  installWhileOn?: boolean;
  /** Session or Basic auth; default `auto`. */
  auth?: AuthMode;
  /** Redfish port. Default `443`. */
  port?: number;
  /** Deadlines (ms); defaults in `TimeoutInputs`. */
  timeouts?: TimeoutInputs;
}

export interface PhysicalProvisioning {
  discovery: RedfishDiscovery;
  bootOnce: BootOnce;
  powerCycle: PowerCycle;
}

/**
 * Discovery -> boot-once -> power cycle for one physical server. Children are named `${name}-discovery`,
 * `${name}-boot-once`, `${name}-power-cycle`, take `parent` (and every other option) from `opts`, and
 * are ordered with `dependsOn`. Formula phases should depend on `powerCycle`.
 */
export function provisionPhysical(name: string, args: PhysicalProvisioningArgs, opts: pulumi.CustomResourceOptions = {}): PhysicalProvisioning {
  const connection = {
    user: args.user,
    password: args.password,
    ...(args.caBundle !== undefined ? { caBundle: args.caBundle } : {}),
    insecure: args.insecure ?? false,
    ...(args.verifyName === false ? { verifyName: false } : {}),
    ...(args.trustOnFirstUse === true ? { trustOnFirstUse: true } : {}),
    ...(args.scheme === "http" ? { scheme: "http" as const } : {}),
    legacyCiphers: args.legacyCiphers ?? false,
    ...(args.auth !== undefined ? { auth: args.auth } : {}),
    ...(args.timeouts !== undefined ? { timeouts: args.timeouts } : {}),
  };
  // The caller's dependsOn (e.g. the PXE server) is kept on every step, and each step waits for the previous one.
  const after = (r: pulumi.Resource): pulumi.CustomResourceOptions => {
    const d = opts.dependsOn;
    if (d === undefined) return { ...opts, dependsOn: [r] };
    if (Array.isArray(d)) return { ...opts, dependsOn: [...d, r] };
    if (pulumi.Resource.isInstance(d)) return { ...opts, dependsOn: [d, r] };
    const later = pulumi.output(d as pulumi.Input<pulumi.Input<pulumi.Resource>[]>);
    return { ...opts, dependsOn: later.apply((x) => [...(Array.isArray(x) ? x : [x]), r]) };
  };

  const discovery = new RedfishDiscovery(
    `${name}-discovery`,
    {
      ...connection,
      uuid: args.uuid,
      endpointType: args.type,
      cidrs: args.cidrs,
      ...(args.port !== undefined ? { port: args.port } : {}),
      ...(args.pxeInterface !== undefined ? { pxeInterface: args.pxeInterface } : {}),
    },
    opts,
  );
  const system = {
    ...connection,
    uuid: args.uuid,
    bmcAddress: discovery.bmcAddress,
    systemUri: discovery.systemUri,
    // The certificate discovery pinned: boot and power talk to that BMC only.
    certSha256: discovery.certSha256,
    allowZeroize: args.allowZeroize,
    installWhileOn: args.installWhileOn ?? false,
  };
  const bootOnce = new BootOnce(
    `${name}-boot-once`,
    { ...system, target: args.bootTarget ?? "Pxe", ...(args.bootMode !== undefined ? { mode: args.bootMode } : {}) },
    // Replacing the override or the cycle is a reinstall: the old one goes first, so a zeroizing
    // delete (power off, clear the override) never follows the new boot.
    { ...after(discovery), deleteBeforeReplace: true },
  );
  const powerCycle = new PowerCycle(
    `${name}-power-cycle`,
    {
      ...system,
      method: args.resetType ?? "ForceOffOn",
      // A new override (other target or mode) is only useful after a reset: cycle again. Inputs
      // only: observed values (overrideEnabled reads `Disabled` once consumed) must not re-cycle,
      // nor may the BMC's location (a re-addressed BMC is the same server; powerCycle.ts
      // cycleRequested ignores the systemUri that earlier versions put last here).
      triggers: [args.bootTarget ?? "Pxe", args.bootMode ?? ""],
    },
    { ...after(bootOnce), deleteBeforeReplace: true },
  );
  return { discovery, bootOnce, powerCycle };
}
