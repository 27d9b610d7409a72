/**
 * The real provisioning steps: libvirt domains on the controllers for virtual endpoints, Redfish
 * discovery, boot-once and power cycle for physical ones. Each returns the resource the endpoint's
 * formula phases wait for.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cloud } from "../pillar";
import { isLibvirtSpecError, isMacCollisionError } from "../providers/libvirt/errors";
import { placeholderProvisioners, Provisioners, sshConnection } from "./cloud";
import { Settings } from "./settings";
import { VirtualMachine } from "./virtualMachine";
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
  return {
    physical: placeholderProvisioners.physical,
    virtual: (e, parent, dependsOn) => {
      const controller = byName.get(e.controller!)!;
      return new VirtualMachine(
        `${e.name}-provision`,
        {
          spec: specs.get(e.name)!,
          connection: sshConnection(controller, settings),
          controller: controller.name,
          sudo: settings.sshUser !== "root",
          sshTimeoutSeconds: settings.vmBootSeconds,
        },
        { parent, dependsOn },
      );
    },
  };
}
