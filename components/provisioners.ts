/**
 * The real provisioning steps: libvirt domains on the controllers for virtual endpoints, Redfish
 * discovery, boot-once and power cycle for physical ones. Each returns the resource the endpoint's
 * formula phases wait for.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cloud } from "../pillar";
import { contains, parseCidr } from "../pillar/net";
import { isLibvirtSpecError, isMacCollisionError } from "../providers/libvirt/errors";
import { Provisioners, sshConnection } from "./cloud";
import { hostKeyPins } from "./hostKeyPins";
import { PhysicalMachine } from "./physicalMachine";
import { Settings } from "./settings";
import { VirtualMachine } from "./virtualMachine";
import { virtualGeneration } from "./virtualGenerations";
import { virtualSpecs } from "./virtualSpecs";

export function realProvisioners(cloud: Cloud, settings: Settings): Provisioners {
  let specs: ReturnType<typeof virtualSpecs>;
  try {
    specs = virtualSpecs(cloud, settings.stack, [settings.sshPublicKey]);
  } catch (e) {
    if (isLibvirtSpecError(e) || isMacCollisionError(e)) throw new pulumi.RunError((e as Error).message);
    throw e;
  }
  const byName = new Map(cloud.endpoints.map((e) => [e.name, e]));
  const pins = hostKeyPins(cloud, settings);
  const oob = cloud.pillar.subnets.oob;
  const hasPhysical = cloud.endpoints.some((e) => e.style === "physical");
  if (hasPhysical && !oob) throw new pulumi.RunError("physical endpoints are found on networking.subnets.oob, which the pillar does not set");
  if (hasPhysical && !settings.bmcPassword) {
    throw new pulumi.RunError("physical endpoints need the BMC password: pulumi config set --secret kinetic:bmcPassword");
  }
  return {
    physical: (e, parent, dependsOn) =>
      new PhysicalMachine(
        `${e.name}-provision`,
        {
          uuid: e.uuid,
          type: e.type,
          cidrs: [oob!],
          user: cloud.pillar.bmc.user,
          password: settings.bmcPassword!,
          ...(settings.bmcCaBundle ? { caBundle: settings.bmcCaBundle } : {}),
          insecure: insecureNetwork(oob!, settings.bmcInsecureNetworks),
          ...bmcNetworkOptions(oob!),
          ...(cloud.pillar.hosts[e.type].interface ? { pxeInterface: cloud.pillar.hosts[e.type].interface } : {}),
          ...(cloud.pillar.hosts[e.type].bootMode ? { bootMode: cloud.pillar.hosts[e.type].bootMode } : {}),
          allowZeroize: settings.zeroizePhysical,
          installWhileOn: installPoweredOn().includes(e.uuid.toLowerCase()),
        },
        { parent, dependsOn },
      ),
    virtual: (e, parent, dependsOn) => {
      const controller = byName.get(e.controller!)!;
      return new VirtualMachine(
        `${e.name}-provision`,
        {
          spec: specs.get(e.name)!,
          connection: sshConnection(controller, settings, pins.hostKey(controller)),
          hostKey: pins.generated(e),
          // The generation that key was derived from (the same resource: virtualGenerations.ts).
          generation: virtualGeneration(cloud, specs.get(e.name)!).generation,
          controller: controller.name,
          sudo: settings.sshUser !== "root",
          sshTimeoutSeconds: settings.vmBootSeconds,
          ...(settings.libvirtUri ? { script: { virshUri: settings.libvirtUri } } : {}),
        },
        { parent, dependsOn },
      );
    },
  };
}

/**
 * SMBIOS UUIDs (lower case) of the servers whose first provisioning may reset them although they are
 * powered on, i.e. may be running an OS (issue 21): stack config `kinetic:installPoweredOn`, plus,
 * for one run, the servers `kinetic rebuild` names (it sets `KINETIC_INSTALL_POWERED_ON`: a rebuild
 * is the operator asking for exactly that reinstall). Any other server found on is refused before
 * anything is written to its BMC (providers/powerSafety.ts).
 */
export function installPoweredOn(cfg: { getObject<T>(key: string): T | undefined } = new pulumi.Config("kinetic"), env: NodeJS.ProcessEnv = process.env): string[] {
  return [...(cfg.getObject<string[]>("installPoweredOn") ?? []), ...(env.KINETIC_INSTALL_POWERED_ON ?? "").split(",")].map((u) => String(u).trim().toLowerCase()).filter(Boolean);
}

/**
 * Per-network BMC options (issue 9), each an explicit opt-in by CIDR like `kinetic:bmcInsecureNetworks`:
 * `kinetic:bmcCaOnlyNetworks` (verify the chain against `kinetic:bmcCaBundle`, not the address),
 * `kinetic:bmcTofuNetworks` (pin each BMC's own certificate on first use),
 * `kinetic:bmcHttpNetworks` (plain HTTP: virtual BMCs only).
 */
export function bmcNetworkOptions(oob: string, cfg: { getObject<T>(key: string): T | undefined } = new pulumi.Config("kinetic")): {
  verifyName?: false;
  trustOnFirstUse?: true;
  scheme?: "http";
} {
  const listed = (key: string): boolean => insecureNetwork(oob, cfg.getObject<string[]>(key) ?? []);
  return {
    ...(listed("bmcCaOnlyNetworks") ? { verifyName: false as const } : {}),
    ...(listed("bmcTofuNetworks") ? { trustOnFirstUse: true as const } : {}),
    ...(listed("bmcHttpNetworks") ? { scheme: "http" as const } : {}),
  };
}

/** TLS verification is skipped only for an oob network inside a CIDR listed in `kinetic:bmcInsecureNetworks`. */
export function insecureNetwork(oob: string, insecure: string[]): boolean {
  const net = parseCidr(oob);
  return (
    !!net &&
    insecure.some((text) => {
      const opt = parseCidr(text);
      return !!opt && opt.prefixLength <= net.prefixLength && contains(opt, net.network);
    })
  );
}
