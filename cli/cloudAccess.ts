/**
 * What the operator's cloud tools (`kinetic verify`, `kinetic openrc`, `kinetic lab shell|ssh`) read
 * from a deployed stack: that it is up (its outputs name its endpoints), its pillar (the plan: who is
 * where), the admin's credentials (derived from its `kinetic:serviceSecret`, verify/adminCredentials.ts),
 * and what its state pinned for SSH. Each problem is one line naming the stack and what to do.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT } from "../engine/paths";
import { stateResources } from "../engine/stack";
import { Cloud, Endpoint, loadCloud } from "../pillar";
import { AdminCredentials, adminCredentials } from "../verify/adminCredentials";
import { DEV_STACKS, projectStack } from "./engineCommands";
import { parseEpochs } from "./rotate";

export interface StackCloud {
  stackName: string;
  stack: Stack;
  cloud: Cloud;
  /** Endpoint names the stack's last up exported (what is deployed, as opposed to planned). */
  deployed: Set<string>;
}

/** The stack, its pillar and what it deployed; throws one line when it is not up. */
export async function stackCloud(stackName: string): Promise<StackCloud> {
  // Every stack of the project has its config file (kinetic:pillar is in it); without one, opening
  // the stack would create it (and write an encryption salt into a new Pulumi.<name>.yaml).
  if (!fs.existsSync(path.join(PROJECT_ROOT, `Pulumi.${stackName}.yaml`))) {
    throw new Error(`there is no stack ${stackName} here (no Pulumi.${stackName}.yaml in ${PROJECT_ROOT})`);
  }
  if (process.env.PULUMI_CONFIG_PASSPHRASE === undefined && !DEV_STACKS.includes(stackName)) {
    throw new Error(`set PULUMI_CONFIG_PASSPHRASE, the passphrase of stack ${stackName}'s secrets (its admin password derives from one)`);
  }
  // "refresh" only names the operation in projectStack's messages; nothing here changes the stack.
  const stack = await projectStack(stackName, "refresh");
  if (!stack) throw new Error(`stack ${stackName} cannot be opened`);
  const outputs = await stack.outputs();
  const endpoints = (outputs.endpoints?.value ?? []) as { name: string }[];
  if (!endpoints.length) throw new Error(`stack ${stackName} is not up: it has no deployed endpoints (kinetic up --stack ${stackName})`);
  const pillarDir = await configValue(stack, "kinetic:pillar");
  if (!pillarDir) throw new Error(`stack ${stackName} has no kinetic:pillar in Pulumi.${stackName}.yaml`);
  const cloud = loadCloud(path.resolve(PROJECT_ROOT, pillarDir), { stack: stackName });
  return { stackName, stack, cloud, deployed: new Set(endpoints.map((e) => e.name)) };
}

async function configValue(stack: Stack, key: string): Promise<string | undefined> {
  try {
    return (await stack.getConfig(key)).value;
  } catch {
    return undefined;
  }
}

/** The admin's credentials of a deployed stack; throws one line when keystone is not part of it. */
export async function stackAdminCredentials(s: StackCloud): Promise<AdminCredentials> {
  const keystone = s.cloud.endpoints.filter((e) => e.role === "keystone");
  if (!keystone.length) throw new Error(`stack ${s.stackName}'s pillar has no keystone: there is no cloud to log in to`);
  if (!keystone.some((e) => s.deployed.has(e.name))) throw new Error(`stack ${s.stackName} has not deployed keystone yet (kinetic up --stack ${s.stackName})`);
  const seed = await configValue(s.stack, "kinetic:serviceSecret");
  if (!seed) throw new Error(`stack ${s.stackName} has no kinetic:serviceSecret: its admin password derives from it`);
  // A rotated service class (kinetic rotate) derives the admin's password at its epoch.
  return adminCredentials(s.cloud, seed, parseEpochs(await configValue(s.stack, "kinetic:epochs")));
}

/**
 * The endpoint an operator names: an endpoint name, or a type with exactly one endpoint (or its
 * endpoint 0 when it says `type/0`).
 */
export function endpointNamed(cloud: Cloud, target: string): Endpoint {
  const exact = cloud.endpoints.find((e) => e.name === target);
  if (exact) return exact;
  const [type, index] = target.split("/");
  const ofType = cloud.endpoints.filter((e) => e.type === type);
  if (!ofType.length) {
    const types = [...new Set(cloud.endpoints.map((e) => e.type))].sort().join(", ");
    throw new Error(`${target} is neither an endpoint nor a type of the pillar (types: ${types})`);
  }
  if (index !== undefined) {
    const e = ofType.find((x) => String(x.index) === index);
    if (!e) throw new Error(`${type} has no endpoint ${index} (it has ${ofType.length})`);
    return e;
  }
  if (ofType.length > 1) throw new Error(`${type} has ${ofType.length} endpoints: name one (${ofType.map((e) => e.name).join(", ")}) or say ${type}/N`);
  return ofType[0];
}

/** A value the state recorded, with Pulumi's secret wrapper (export --show-secrets) taken off. */
function plain(v: unknown): unknown {
  const SIG = "4dabf18193072939515e22adb298388d";
  if (v && typeof v === "object" && SIG in (v as object)) {
    const p = (v as { plaintext?: string }).plaintext;
    return p === undefined ? undefined : JSON.parse(p);
  }
  return v;
}

/**
 * The host key the stack's last up pinned for connections to `address` (components/hostKeyPins.ts
 * makes it; every formula step's `connection.hostKey` carries it into the state).
 */
export async function pinnedHostKey(stack: Stack, address: string): Promise<string | undefined> {
  for (const r of await stateResources(stack)) {
    const connection = plain(r.inputs?.connection) as { host?: unknown; hostKey?: unknown } | undefined;
    if (!connection || plain(connection.host) !== address) continue;
    const key = plain(connection.hostKey);
    if (typeof key === "string" && key.trim()) return key.trim();
  }
  return undefined;
}

/** The orchestrator's SSH identity from the stack's config (kinetic:sshPrivateKey, kinetic:sshUser). */
export async function orchestratorKey(stack: Stack, stackName: string): Promise<{ privateKey: string; user: string }> {
  const privateKey = await configValue(stack, "kinetic:sshPrivateKey");
  if (!privateKey) throw new Error(`stack ${stackName} has no kinetic:sshPrivateKey`);
  return { privateKey, user: (await configValue(stack, "kinetic:sshUser")) ?? "root" };
}
