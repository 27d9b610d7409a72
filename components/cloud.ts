/**
 * Declares every endpoint and its steps. Steps are created in the needs graph's topological
 * order, so each one's `dependsOn` lists already-declared resources: the graph's edges, and
 * nothing else, order the whole `pulumi up` (no waiting room, no polling).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cloud, Endpoint, Phase, SITE, stackOfType } from "../pillar";
import { endpointResource, EndpointResource } from "./endpoint";
import { FormulaCatalog, formulaLabel } from "./formulaCatalog";
import { declarePxeInstalled, PXE_INSTALLED_FORMULA, pxeHosts } from "./pxeInstalled";
import { cloudFacts, endpointFacts } from "./formulaFacts";
import { formulaStep } from "./formulaStep";
import { hostKeyPins } from "./hostKeyPins";
import { Settings } from "./settings";

/** Declares the provisioning step of a physical or virtual endpoint; returns what phases wait for. */
export type Provisioner = (e: Endpoint, parent: EndpointResource, dependsOn: pulumi.Resource[]) => pulumi.Resource;

export interface Provisioners {
  physical: Provisioner;
  virtual: Provisioner;
}

/**
 * A provisioning step that stands for a machine: the custom resources whose replacement means a
 * new, blank machine (a re-created domain, a re-installed server). Every formula phase of the
 * endpoint is replaced with them, so `up` runs the phases again on the new machine instead of
 * reporting success over a blank one.
 */
export interface MachineResource {
  readonly machine: pulumi.CustomResource[];
}

function machineOf(r: pulumi.Resource): pulumi.CustomResource[] {
  const m = (r as Partial<MachineResource>).machine;
  return Array.isArray(m) ? m : [];
}

export interface DeclaredCloud {
  endpoints: EndpointResource[];
  /** The resource of every needs-graph node, by node id (`<endpoint>/<step>`). */
  steps: Map<string, pulumi.Resource>;
}

/** Seconds one SSH dial may take before it counts as a failed attempt. */
const DIAL_SECONDS = 10;

/**
 * The SSH connection to an endpoint. `hostKey` is the only host key accepted (one public key line,
 * see hostKeyPins.ts): the command provider checks it before sending anything.
 */
export function sshConnection(e: Endpoint, settings: Settings, hostKey: pulumi.Input<string> | undefined): command.types.input.remote.ConnectionArgs {
  // A physical server is reinstalling from PXE when its base phase starts: allow for that.
  const minutes = e.style === "physical" ? settings.physicalBootMinutes : 5;
  return {
    host: e.address,
    port: settings.sshPort,
    user: settings.sshUser,
    privateKey: settings.sshPrivateKey,
    ...(hostKey !== undefined ? { hostKey } : {}),
    perDialTimeout: DIAL_SECONDS,
    dialErrorLimit: Math.ceil((minutes * 60) / DIAL_SECONDS),
  };
}

/**
 * Foundation hosts whose key the pillar does not give: `pulumi up` refuses before declaring anything
 * (unless the stack opted in to trust on first use); a preview warns, since it connects nowhere.
 */
function requirePins(pins: ReturnType<typeof hostKeyPins>, mine: (e: Endpoint) => boolean): void {
  const unpinned = pins.unpinned().filter(({ endpoint }) => mine(endpoint));
  if (!unpinned.length) return;
  const lines = unpinned.map(({ endpoint: e, key }) => `${e.name} at ${e.address}: add its SSH host key as ${key} (e.g. \`ssh-keyscan -t ed25519 ${e.address}\`, checked out of band)`);
  const how = "or opt in to trust on first use: `pulumi config set kinetic:trustOnFirstUse true`";
  if (!pulumi.runtime.isDryRun()) {
    throw new pulumi.RunError(`refusing to connect to ${lines.length} foundation host(s) whose SSH host key is unknown, nothing was changed:\n  ${lines.join("\n  ")}\n${how}`);
  }
  for (const line of lines) pulumi.log.warn(`${line}; \`pulumi up\` will refuse to connect until it is known, ${how}`);
}

/** `keys` (one per line) with `key` appended unless the same key (type and blob) is already there. */
export function withKey(keys: string, key: string): string {
  const blob = (line: string) => line.trim().split(/\s+/).slice(0, 2).join(" ");
  const lines = keys.split("\n").filter((l) => l.trim());
  if (!key.trim() || lines.some((l) => blob(l) === blob(key))) return lines.join("\n");
  return [...lines, key.trim()].join("\n");
}

/**
 * `part`: the stack of the pillar this program run declares (pillar/stacks.ts); only its endpoints
 * and steps are declared. A need on a step of another stack (the site's, validation allows no
 * other) is no `dependsOn`: the site's \`up\` has finished before a rack's starts (cli/stackSet.ts).
 */
export function declareCloud(cloud: Cloud, settings: Settings, catalog: FormulaCatalog, provisioners: Provisioners, part = SITE): DeclaredCloud {
  const components = new Map<string, EndpointResource>();
  const pins = hostKeyPins(cloud, settings);
  const mine = (e: Endpoint) => stackOfType(cloud.pillar, e.type) === part;
  requirePins(pins, mine);
  for (const e of cloud.endpoints) if (mine(e)) components.set(e.name, endpointResource(e));
  pins.declareTrust((e) => components.get(e.name), mine);
  declareRackAnchor(cloud, settings, pins, part, mine);
  // Only the pxe server's configure reads them (declared as PXE_HOST_KEYS); made once, secret.
  let pxeHostKeys: pulumi.Output<string> | undefined;
  const shared = cloudFacts(cloud);
  // common/base makes root's authorized_keys exactly this list and the pxe host's autoinstall data
  // gives it to every physical server: without the orchestrator's own key the program would lock
  // itself out of every machine after the base phase (the lab showed it).
  shared.AUTHORIZED_KEYS = withKey(shared.AUTHORIZED_KEYS, settings.sshPublicKey);
  const facts = new Map<string, ReturnType<typeof endpointFacts>>();
  const steps = new Map<string, pulumi.Resource>();
  const children = new Map<string, Record<string, pulumi.Resource>>();
  const machines = new Map<string, pulumi.CustomResource[]>();

  for (const id of cloud.graph.order) {
    const node = cloud.graph.nodes.get(id)!;
    const e = node.endpoint;
    if (!mine(e)) continue;
    const parent = components.get(e.name)!;
    const dependsOn = cloud.graph.preds.get(id)!.flatMap((p) => steps.get(p.id) ?? []);
    let resource: pulumi.Resource;
    if (node.step === "provision") {
      resource = provisioners[e.style as "physical" | "virtual"](e, parent, dependsOn);
      machines.set(e.name, machineOf(resource));
    } else {
      if (!facts.has(e.name)) facts.set(e.name, endpointFacts(cloud, shared, e));
      const phase: Phase = node.step;
      resource = formulaStep(
        `${e.name}-${phase}`,
        {
          formula: catalog.get(e.role, phase),
          expected: formulaLabel(e.role, phase),
          facts: facts.get(e.name)!,
          connection: sshConnection(e, settings, pins.hostKey(e)),
          sudo: settings.sshUser !== "root",
          serviceSecret: settings.serviceSecret,
          epochs: settings.epochs,
          secretFacts: { PXE_HOST_KEYS: () => (pxeHostKeys ??= pins.pxeHostKeys()) },
        },
        { parent, dependsOn, replaceWith: machines.get(e.name) ?? [] },
      );
    }
    steps.set(id, resource);
    children.set(e.name, { ...children.get(e.name), [node.step]: resource });
  }
  // Once a physical server's base phase has run, its pxe hosts stop serving its install (pxeInstalled.ts).
  const pxes = pxeHosts(cloud.endpoints).map((p) => ({ endpoint: p, connection: sshConnection(p, settings, pins.hostKey(p)) }));
  const formula = pxes.length ? catalog.other(PXE_INSTALLED_FORMULA) : undefined;
  for (const e of cloud.endpoints) {
    const base = children.get(e.name)?.base;
    if (e.style !== "physical" || !base || !components.has(e.name)) continue;
    declarePxeInstalled({ server: e, pxes, formula, base, machine: machines.get(e.name) ?? [], sudo: settings.sshUser !== "root" }, components.get(e.name)!);
  }
  for (const [name, c] of components) c.complete(children.get(name) ?? {});
  return { endpoints: [...components.values()], steps };
}

/**
 * A rack stack's first remote command: its site's pxe hosts answer with their pinned keys (`true`
 * run there). A rack's physical servers need them anyway (they install them), and the step is
 * declared before any machine for the engine's sake: Pulumi 3.276, replacing a machine (boot-once
 * and power cycle are delete-before-replace), deletes the commands replaced with it before any
 * command of the run has been registered, and so before their default provider is loaded; it fails
 * with "unknown provider" (a rack's `kinetic rebuild`; test/engine/rackRebuild.test.ts). In the
 * site the foundation hosts' phases come first and load it.
 */
function declareRackAnchor(cloud: Cloud, settings: Settings, pins: ReturnType<typeof hostKeyPins>, part: string, mine: (e: Endpoint) => boolean): void {
  if (part === SITE || !cloud.endpoints.some((e) => mine(e) && e.style !== "foundation")) return;
  for (const pxe of pxeHosts(cloud.endpoints)) {
    new command.remote.Command(`${pxe.name}-reached-from-${part}`, { connection: sshConnection(pxe, settings, pins.hostKey(pxe)), create: "true" });
  }
}

/** The placeholder provisioning step used where no real one is wired (e.g. in plan-only tests). */
export class ProvisioningPlaceholder extends pulumi.ComponentResource {
  constructor(name: string, opts: pulumi.ComponentResourceOptions) {
    super("kinetic:endpoint:Provisioning", name, {}, opts);
    this.registerOutputs({});
  }
}

export const placeholderProvisioners: Provisioners = {
  physical: (e, parent, dependsOn) => new ProvisioningPlaceholder(`${e.name}-provision`, { parent, dependsOn }),
  virtual: (e, parent, dependsOn) => new ProvisioningPlaceholder(`${e.name}-provision`, { parent, dependsOn }),
};

