/**
 * Expands enabled types into endpoints: names, UUIDs, controller placement and management
 * addresses. Deterministic: the same pillar and stack give the same endpoints on every run.
 */
import { createHash } from "node:crypto";
import { AddressRequest, allocate } from "./addresses";
import { Endpoint, HostType, Pillar } from "./model";
import { parseCidr } from "./net";
import { CONTROLLER_ROLE } from "./typeGraph";
import { SITE } from "./stacks";
import { endpointUuid } from "./uuid";

export interface Expansion {
  endpoints: Endpoint[];
  problems: string[];
  /** The address lock after this expansion. */
  lock: Record<string, string>;
}

/** Stable identity for the address lock: a physical server is its UUID, a virtual one its slot. */
export function addressKey(type: HostType, index: number): string {
  return type.style === "physical" ? `${type.name}/${type.uuids[index]}` : `${type.name}/${index}`;
}

/** Types in a fixed order (by name) so that file layout never changes the result. */
export function enabledTypes(pillar: Pillar): HostType[] {
  return Object.values(pillar.hosts)
    .filter((h) => h.enabled)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Round-robin placement over the controllers, starting at an offset derived from the type name
 * (the original picked a random offset so that the endpoints 0 of all types do not pile onto one
 * controller; a hash keeps that spread and makes it repeatable). Adding a controller moves
 * endpoints: that is inherent to round-robin, and `npm run plan` shows it before it happens.
 */
export function placement(type: string, index: number, controllers: string[]): string {
  const offset = createHash("sha256").update(type).digest().readUInt32BE(0) % controllers.length;
  return controllers[(offset + index) % controllers.length];
}

export function expandEndpoints(pillar: Pillar, stack: string, lock: Record<string, string>): Expansion {
  const types = enabledTypes(pillar);
  const requests: AddressRequest[] = [];
  const drafts: Omit<Endpoint, "address" | "prefixLength">[] = [];
  for (const t of types) {
    for (let i = 0; i < t.count; i++) {
      const uuid = t.style === "physical" ? t.uuids[i] : endpointUuid(stack, t.name, i);
      drafts.push({ name: `${t.name}-${uuid}`, type: t.name, role: t.role, style: t.style, index: i, uuid });
      requests.push({ key: addressKey(t, i), pinned: t.addresses[i] });
    }
  }
  // A VM runs on a controller of its own stack (pillar/stacks.ts): with one stack, every controller.
  const controllers = drafts.filter((e) => pillar.hosts[e.type].role === CONTROLLER_ROLE && e.style !== "virtual");
  const stackOf = (type: string) => pillar.hosts[type].stack ?? SITE;
  for (const e of drafts) {
    if (e.style !== "virtual") continue;
    const here = controllers.filter((c) => stackOf(c.type) === stackOf(e.type)).map((c) => c.name);
    if (here.length) e.controller = placement(e.type, e.index, here);
  }

  const subnet = parseCidr(pillar.subnets.management!)!;
  const reserved = [pillar.gateway, ...pillar.nameservers].filter((a): a is string => !!a);
  const alloc = allocate(subnet, requests, lock, reserved);
  const endpoints = drafts.map((e, i) => ({ ...e, address: alloc.addresses.get(requests[i].key) ?? "", prefixLength: subnet.prefixLength }));
  return { endpoints, problems: alloc.problems, lock: alloc.lock };
}
