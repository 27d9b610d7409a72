/**
 * One component resource per endpoint, named `<type>-<uuid>`. The class is thin: it carries the
 * endpoint's identity as outputs; its children (provisioning and the four formula phases) are
 * declared by `declareCloud`, because their `dependsOn` edges cross endpoints and must follow the
 * needs graph's order rather than the order endpoints are constructed in.
 */
import * as pulumi from "@pulumi/pulumi";
import { Endpoint, Style } from "../pillar";

export interface EndpointArgs {
  /** The endpoint as expanded from the pillar. */
  endpoint: Endpoint;
}

export const ENDPOINT_TYPES: Record<Style, string> = {
  physical: "kinetic:endpoint:Physical",
  virtual: "kinetic:endpoint:Virtual",
  foundation: "kinetic:endpoint:Foundation",
};

export abstract class EndpointResource extends pulumi.ComponentResource {
  readonly endpoint: Endpoint;
  readonly endpointName: pulumi.Output<string>;
  readonly endpointType: pulumi.Output<string>;
  readonly style: pulumi.Output<string>;
  readonly uuid: pulumi.Output<string>;
  readonly address: pulumi.Output<string>;
  readonly controller: pulumi.Output<string | undefined>;

  protected constructor(token: string, name: string, args: EndpointArgs, opts: pulumi.ComponentResourceOptions) {
    super(token, name, {}, opts);
    const e = args.endpoint;
    this.endpoint = e;
    this.endpointName = pulumi.output(e.name);
    this.endpointType = pulumi.output(e.type);
    this.style = pulumi.output(e.style);
    this.uuid = pulumi.output(e.uuid);
    this.address = pulumi.output(e.address);
    this.controller = pulumi.output(e.controller);
  }

  /** Called once every child is declared. */
  complete(children: Record<string, pulumi.Resource>): void {
    this.registerOutputs({
      name: this.endpointName,
      type: this.endpointType,
      style: this.style,
      uuid: this.uuid,
      address: this.address,
      controller: this.controller,
      steps: Object.keys(children),
    });
  }
}

/** A bare-metal server found and booted through its BMC (Redfish). */
export class PhysicalEndpoint extends EndpointResource {
  constructor(name: string, args: EndpointArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ENDPOINT_TYPES.physical, name, args, opts);
  }
}

/** A libvirt domain on one of the controllers. */
export class VirtualEndpoint extends EndpointResource {
  constructor(name: string, args: EndpointArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ENDPOINT_TYPES.virtual, name, args, opts);
  }
}

/** A host that already runs an OS (the original's hand-built pxe/salt host): formula phases only. */
export class FoundationEndpoint extends EndpointResource {
  constructor(name: string, args: EndpointArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ENDPOINT_TYPES.foundation, name, args, opts);
  }
}

export function endpointResource(e: Endpoint, opts: pulumi.ComponentResourceOptions = {}): EndpointResource {
  const args = { endpoint: e };
  if (e.style === "physical") return new PhysicalEndpoint(e.name, args, opts);
  if (e.style === "virtual") return new VirtualEndpoint(e.name, args, opts);
  return new FoundationEndpoint(e.name, args, opts);
}
