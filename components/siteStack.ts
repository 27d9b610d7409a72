/**
 * What a rack stack takes from its site stack (README "Stacks per site and per rack"). Addresses,
 * names and facts are derived from the pillar by every stack alike; what the pillar cannot give is
 * read from the site's outputs through a `StackReference`: the seeds every `SECRET_*` value and
 * generated host key derive from (secret outputs, never plain), the credential epochs, and the
 * digest of the site's part as of its last successful `up` (siteDigest).
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Cloud, partDigest, SITE } from "../pillar";
import { cloudFacts } from "./formulaFacts";
import { SecretEpochs } from "./secretEpochs";

/** The site's outputs a rack reads (exported by the site when the pillar names rack stacks). */
export interface SiteInputs {
  /** The site's Pulumi stack name. */
  stack: string;
  /** siteDigest as of the site's last `up`; undefined when the site has never been up. */
  digest?: string;
  epochs: SecretEpochs;
  /** The site's foundation hosts' keys recorded on first use (the pillar's own keys every stack reads). */
  hostKeys: Record<string, string>;
  serviceSecret?: pulumi.Output<string>;
  hostKeySecret?: pulumi.Output<string>;
}

/**
 * What a rack relies on the site for, as this pillar derives it: the site's endpoints and types
 * (pillar/stacks.ts partDigest) and the facts every endpoint shares (formulaFacts.ts cloudFacts),
 * which carry the racks' own addresses, names and PXE assignments into the site's steps. A rack
 * that adds a server changes them: the pxe server must know it before it boots, so the site goes
 * first. A change inside a rack's own endpoints (their needs, NICs, VM sizes) leaves it as it was.
 */
export function siteDigest(cloud: Cloud): string {
  const shared = cloudFacts(cloud);
  const facts = Object.keys(shared).sort().map((k) => [k, shared[k]]);
  return createHash("sha256").update(JSON.stringify({ site: partDigest(cloud, SITE), facts })).digest("hex");
}

/** Output names of the site stack. */
export const SITE_OUTPUT = "kineticSite";
export const SITE_SECRETS_OUTPUT = "kineticSiteSecrets";

/** A stack reference name for the DIY backends (file, postgres): `organization/<project>/<stack>`. */
export function siteReferenceName(siteStack: string): string {
  return `organization/kinetic/${siteStack}`;
}

/**
 * The site's outputs for this program run, or undefined for a stack that is not a rack
 * (`kinetic:rack` unset). Read before anything is declared, so the program can refuse to declare a
 * rack whose site is not up and current.
 */
export async function readSiteInputs(): Promise<SiteInputs | undefined> {
  const cfg = new pulumi.Config("kinetic");
  const rack = cfg.get("rack");
  if (!rack) return undefined;
  const stack = cfg.require("siteStack");
  const ref = new pulumi.StackReference(`${pulumi.getStack()}-site-reference`, { name: siteReferenceName(stack) });
  let site: { digest?: unknown; epochs?: unknown; hostKeys?: unknown } | undefined;
  let secrets: { serviceSecret?: unknown; hostKeySecret?: unknown } | undefined;
  try {
    site = (await ref.getOutputDetails(SITE_OUTPUT)).value as typeof site;
    const s = await ref.getOutputDetails(SITE_SECRETS_OUTPUT);
    secrets = (s.secretValue ?? s.value) as typeof secrets;
  } catch {
    // No such stack yet: the same as a site that was never up.
  }
  const str = (v: unknown) => (typeof v === "string" && v ? pulumi.secret(v) : undefined);
  return {
    stack,
    ...(typeof site?.digest === "string" ? { digest: site.digest } : {}),
    epochs: (site?.epochs ?? {}) as SecretEpochs,
    hostKeys: (site?.hostKeys ?? {}) as Record<string, string>,
    ...(str(secrets?.serviceSecret) ? { serviceSecret: str(secrets?.serviceSecret) } : {}),
    ...(str(secrets?.hostKeySecret) ? { hostKeySecret: str(secrets?.hostKeySecret) } : {}),
  };
}
