/**
 * Stacks of one pillar (README "Stacks per site and per rack"): the **site** stack holds every type
 * that names no `stack:`, each rack stack the types that name it. Every stack loads the whole pillar
 * and derives the same endpoints, addresses and facts from it; a stack declares only its own
 * endpoints. Pure code: the program, the plan and the CLI all split a cloud the same way.
 */
import { createHash } from "node:crypto";
import { Endpoint, Pillar } from "./model";
import type { Cloud } from "./load";

/** The stack of every type that names none: foundation hosts and shared services, run first. */
export const SITE = "site";

/** A stack name as written in the pillar (`stacks:`, `hosts.<type>.stack`); a Pulumi stack name is `<site stack>-<name>`. */
export const STACK_NAME = /^[a-z][a-z0-9]{0,15}$/;

/** The stack a type's endpoints live in. */
export function stackOfType(pillar: Pillar, type: string): string {
  return pillar.hosts[type]?.stack ?? SITE;
}

/** Every stack of the pillar: the site first, then the racks in pillar order. */
export function stackNames(pillar: Pillar): string[] {
  return [SITE, ...(pillar.stacks ?? [])];
}

/** The endpoints a stack declares. */
export function partEndpoints(cloud: Cloud, part: string): Endpoint[] {
  return cloud.endpoints.filter((e) => stackOfType(cloud.pillar, e.type) === part);
}

/** The Pulumi stack that runs `part` of the cloud whose site stack is `siteStack`. */
export function pulumiStackName(siteStack: string, part: string): string {
  return part === SITE ? siteStack : `${siteStack}-${part}`;
}

/**
 * A part's endpoints (name, type, address, controller) and its types' pillar entries, as the pillar
 * derives them. The site's is half of what its racks rely on (components/siteStack.ts siteDigest,
 * with the facts every endpoint shares): a rack `up` runs only while the site's last `up` had it.
 */
export function partDigest(cloud: Cloud, part: string): string {
  const endpoints = partEndpoints(cloud, part).map((e) => [e.name, e.type, e.address, e.controller ?? ""]);
  const types = [...new Set(partEndpoints(cloud, part).map((e) => e.type))].sort().map((t) => [t, cloud.pillar.hosts[t]]);
  return createHash("sha256").update(JSON.stringify({ endpoints, types })).digest("hex");
}
