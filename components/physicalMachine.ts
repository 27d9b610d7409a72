/**
 * `kinetic:redfish:Machine`: the provisioning step of a physical endpoint, grouping Redfish
 * discovery -> boot-once -> power cycle (providers/index.ts) so the formula phases wait for all three.
 */
import * as pulumi from "@pulumi/pulumi";
import { PhysicalProvisioning, PhysicalProvisioningArgs, provisionPhysical } from "../providers";

export class PhysicalMachine extends pulumi.ComponentResource {
  readonly steps: PhysicalProvisioning;
  /**
   * Replacing the boot override or the power cycle re-installs the server from PXE (what a
   * rebuild does): the phases run again on it (see MachineResource).
   */
  readonly machine: pulumi.CustomResource[];

  constructor(name: string, args: PhysicalProvisioningArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("kinetic:redfish:Machine", name, {}, opts);
    // The caller's dependsOn (the pxe server's configure) goes on every Redfish step too, so the
    // engine's state records it and `destroy` orders them after everything that waits for them.
    this.steps = provisionPhysical(name, args, { parent: this, dependsOn: opts.dependsOn });
    this.machine = [this.steps.bootOnce, this.steps.powerCycle];
    this.registerOutputs({ bmcAddress: this.steps.discovery.bmcAddress });
  }
}
