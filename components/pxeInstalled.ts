/**
 * A physical server's install is served by the pxe hosts only until the server is installed
 * (formulas/lib/pxe.sh): after that its boot script boots its own disk, so a server whose firmware
 * tries the network first is not wiped and reinstalled by its next reboot, and its host private key
 * is no longer served. "Installed" is the server's base phase having connected with the host key it
 * is pinned to; then `formulas/pxe/installed` runs on every pxe host, once per machine: the step is
 * replaced with the server's machine (a rebuild's boot-once and power cycle), after its new base.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Endpoint } from "../pillar";
import { Formula } from "./formulaCatalog";
import { formulaStep } from "./formulaStep";

export const PXE_INSTALLED_FORMULA = "pxe/installed";

/** The pxe hosts: the endpoints whose role serves the installs (pxe/configure). */
export const pxeHosts = (endpoints: readonly Endpoint[]): Endpoint[] => endpoints.filter((e) => e.role === "pxe");

/** The step on pxe host `index` of `count` saying `server` is installed. */
export function pxeInstalledName(server: string, index: number, count: number): string {
  return count > 1 ? `${server}-pxe-installed-${index}` : `${server}-pxe-installed`;
}

export interface PxeInstalledArgs {
  server: Endpoint;
  /** Each pxe host with the SSH connection to it. */
  pxes: { endpoint: Endpoint; connection: command.types.input.remote.ConnectionArgs }[];
  /** `pxe/installed`; undefined when its file is missing (the step then fails naming it). */
  formula: Formula | undefined;
  /** The server's base phase: it has connected with the pinned key, so the install is done. */
  base: pulumi.Resource;
  /** The server's machine (boot-once, power cycle): replaced by a rebuild, and this step with it. */
  machine: pulumi.CustomResource[];
  sudo: boolean;
}

export function declarePxeInstalled(args: PxeInstalledArgs, parent: pulumi.Resource): command.remote.Command[] {
  return args.pxes.map(({ endpoint, connection }, i) =>
    formulaStep(
      pxeInstalledName(args.server.name, i, args.pxes.length),
      {
        formula: args.formula,
        expected: PXE_INSTALLED_FORMULA,
        facts: { NAME: endpoint.name, PXE_INSTALLED_UUID: args.server.uuid },
        connection,
        sudo: args.sudo,
      },
      { parent, dependsOn: [args.base], replaceWith: args.machine },
    ),
  );
}
