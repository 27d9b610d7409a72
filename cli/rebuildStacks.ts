/**
 * `kinetic rebuild` where the pillar names stacks per rack (README "Stacks per site and per rack").
 *
 * - The new host keys are recorded in the **site's** config as well as the rack's: `up --all`
 *   (cli/stackSet.ts openParts) copies the site's plain config to every rack before it runs, so a
 *   generation raised in the rack alone would be put back by the next `up --all`, giving the rebuilt
 *   machine its old key again and replacing it a second time.
 * - A rack's physical server is installed by the site's pxe hosts, which derive the key they serve
 *   from the site's config: before the rack's up power-cycles the server, the site runs exactly its
 *   pxe hosts' `configure` (a targeted up: nothing else of the site changes), so the install the
 *   server boots carries the key its phases will pin.
 * - A target that lives in another stack is refused, naming the stack that holds it.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { pxeHosts } from "../components/pxeInstalled";
import { nameOfUrn, stateResources } from "../engine/stack";
import { Cloud, partEndpoints, pulumiStackName, SITE, stackOfType } from "../pillar";

/** Per endpoint, how many times `kinetic rebuild` gave it a new host key (components/settings.ts). */
export const HOST_KEY_GENERATIONS = "kinetic:hostKeyGenerations";

/**
 * Lines refusing targets this stack does not hold (empty: every target is here). A target is a
 * type or an endpoint name, as `kinetic rebuild` takes them.
 */
export function elsewhereTargets(cloud: Cloud, targets: string[], part: string, siteStack: string): string[] {
  if (!cloud.pillar.stacks?.length) return [];
  const lines: string[] = [];
  for (const t of targets) {
    const type = cloud.pillar.hosts[t] ? t : cloud.endpoints.find((e) => e.name === t)?.type;
    if (!type) continue; // the plan names unknown targets itself
    const owner = stackOfType(cloud.pillar, type);
    if (owner !== part) lines.push(`rebuild: refused: ${t} is in ${owner === SITE ? "the site stack" : `rack ${owner}`}: \`kinetic rebuild ${t} --stack ${pulumiStackName(siteStack, owner)} --yes\``);
  }
  return lines;
}

/** Records `generations` (kinetic:hostKeyGenerations, JSON) on the stack and, for a rack, on its site too. */
export async function recordGenerations(stack: Stack, siteStack: Stack | undefined, generations: string): Promise<void> {
  if (siteStack) await siteStack.setConfig(HOST_KEY_GENERATIONS, { value: generations });
  await stack.setConfig(HOST_KEY_GENERATIONS, { value: generations });
}

/**
 * The site's pxe hosts' configure phases, brought up alone so they serve the rack's rebuilt servers'
 * new keys. Returns the names it ran (none when the site holds no pxe host phase yet).
 */
export async function servePxeKeys(site: Stack, cloud: Cloud, onOutput?: (s: string) => void): Promise<string[]> {
  const wanted = new Set(pxeHosts(partEndpoints(cloud, SITE)).map((p) => `${p.name}-configure`));
  const urns = (await stateResources(site)).map((r) => r.urn).filter((u) => wanted.has(nameOfUrn(u)));
  if (!urns.length) return [];
  await site.up({ target: urns, onOutput, color: "never" });
  return urns.map(nameOfUrn);
}
