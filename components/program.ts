/**
 * The Pulumi program as a function, so tests can run it under mocks as often as they like:
 * read the stack config, load and validate the pillar (nothing is declared if it has problems),
 * check the formulas, declare the endpoints, and return the stack outputs.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Cloud, isPillarError, loadCloud, partEndpoints, SITE, stackNames } from "../pillar";
import { declareCloud, placeholderProvisioners, Provisioners } from "./cloud";
import { describeMissing, FORMULAS_DIR, formulaCatalog, FormulaLoader, formulaLoader } from "./formulaCatalog";
import { hostKeyPins } from "./hostKeyPins";
import { readSettings, Settings } from "./settings";
import { readSiteInputs, SITE_OUTPUT, SITE_SECRETS_OUTPUT, siteDigest, SiteInputs } from "./siteStack";
import { withShortStacks } from "./shortStacks";

export const PROJECT_ROOT = path.join(__dirname, "..");

export interface ProgramOptions {
  /** How provisioning steps are declared; the real ones drive Redfish and libvirt. */
  provisioners?: (cloud: Cloud, settings: Settings) => Provisioners;
  /** How formula files are read. */
  loadFormula?: FormulaLoader;
  formulasDir?: string;
  /** A rack stack's view of its site stack (components/siteStack.ts readSiteInputs); required for a rack. */
  site?: SiteInputs;
}

/** What the stack exports per endpoint. */
export interface EndpointOutput {
  name: string;
  type: string;
  style: string;
  uuid: string;
  controller?: string;
  address: string;
}

/** The stack outputs: the endpoints, and the site's outputs for its racks when the pillar names any. */
export interface ProgramOutputs {
  endpoints: EndpointOutput[];
  [SITE_OUTPUT]?: pulumi.Output<{ digest: string; epochs: Settings["epochs"]; hostKeys: Record<string, string> }>;
  [SITE_SECRETS_OUTPUT]?: pulumi.Output<{ serviceSecret: string; hostKeySecret: string }>;
}

/** The program as the engine runs it: a rack stack first reads its site's outputs. */
export async function kineticStackProgram(opts: ProgramOptions = {}): Promise<ProgramOutputs> {
  return kineticProgram({ ...opts, site: opts.site ?? (await readSiteInputs()) });
}

export function kineticProgram(opts: ProgramOptions = {}): ProgramOutputs {
  let settings = readSettings();
  const part = settings.rack ?? SITE;
  if (settings.rack) settings = rackSettings(settings, opts.site);
  let cloud: Cloud;
  try {
    // The roles must form a cloud with the formulas that will run (a custom loader alone: not known).
    const formulasDir = opts.formulasDir ?? (opts.loadFormula ? undefined : FORMULAS_DIR);
    cloud = loadCloud(path.resolve(PROJECT_ROOT, settings.pillarDir), {
      stack: settings.stack,
      allowEmpty: new pulumi.Config("kinetic").getBoolean("allowEmpty") ?? false,
      ...(formulasDir !== undefined ? { formulasDir } : {}),
    });
  } catch (e) {
    // RunError: Pulumi prints the message (every problem, with file and line) without a stack trace.
    if (isPillarError(e)) throw new pulumi.RunError(e.message);
    throw e;
  }
  for (const note of cloud.pillar.notes) pulumi.log.info(note);
  if (!stackNames(cloud.pillar).includes(part)) {
    throw new pulumi.RunError(`kinetic:rack is '${part}', which the pillar's \`stacks\` does not list (stacks: ${stackNames(cloud.pillar).join(", ")})`);
  }
  if (opts.site) requireCurrentSite(opts.site, siteDigest(cloud));
  const endpoints = partEndpoints(cloud, part);

  const catalog = formulaCatalog(
    endpoints.map((e) => e.role),
    opts.loadFormula ?? formulaLoader(opts.formulasDir),
    opts.formulasDir,
  );
  if (catalog.missing.size) {
    const lines = describeMissing(catalog.missing);
    if (!pulumi.runtime.isDryRun()) {
      throw new pulumi.RunError(`refusing to start: ${lines.length} role(s) have no formulas, nothing was changed:\n  ${lines.join("\n  ")}`);
    }
    for (const line of lines) pulumi.log.warn(`${line}; \`pulumi up\` will refuse to start until they exist`);
  }

  const provisioners = opts.provisioners ? opts.provisioners(cloud, settings) : placeholderProvisioners;
  withShortStacks(
    () => declareCloud(cloud, settings, catalog, provisioners, part),
    (d) => [...d.endpoints, ...d.steps.values()],
  );
  return {
    // Only a site with racks exports what they read: a one-stack cloud's outputs stay as they were.
    ...(part === SITE && stackNames(cloud.pillar).length > 1 ? siteOutputs(cloud, settings) : {}),
    endpoints: endpoints.map((e) => ({
      name: e.name,
      type: e.type,
      style: e.style,
      uuid: e.uuid,
      ...(e.controller ? { controller: e.controller } : {}),
      address: e.address,
    })),
  };
}

/**
 * A rack derives what the site derives: the site's stack name (virtual UUIDs, specs), its seeds and
 * epochs (components/siteStack.ts). Its own config gives the rest (the orchestrator's SSH key, the
 * BMC password).
 */
function rackSettings(settings: Settings, site: SiteInputs | undefined): Settings {
  if (!site) throw new pulumi.RunError(`stack ${settings.stack} is rack '${settings.rack}' of site stack ${settings.siteStack}: it runs through \`kinetic preview|up --stack ${settings.stack}\` (or --all), which reads the site's outputs first`);
  const { serviceSecret, hostKeySecret, ...rest } = settings;
  void serviceSecret;
  void hostKeySecret;
  // A preview before the site's first up: the seeds are not known yet, as any value an up will make.
  const unknownSecret = () => (pulumi.runtime.isDryRun() ? pulumi.secret(pulumi.output(pulumi.unknown as unknown as string)) : undefined);
  const seed = site.serviceSecret ?? unknownSecret();
  const hostSeed = site.hostKeySecret ?? unknownSecret();
  return {
    ...rest,
    stack: site.stack,
    epochs: site.epochs,
    siteHostKeys: site.hostKeys,
    ...(seed ? { serviceSecret: seed } : {}),
    ...(hostSeed ? { hostKeySecret: hostSeed } : {}),
    hostKeySecretIsLegacy: false,
  };
}

/**
 * A rack's steps may need the site's (a configure waiting for keystone): they run only once the
 * site's last \`up\` succeeded with the site's part of this pillar. A preview says so and goes on.
 */
function requireCurrentSite(site: SiteInputs, expected: string): void {
  const why = site.digest === undefined ? `site stack ${site.stack} has not been up yet (no ${SITE_OUTPUT} output)` : site.digest !== expected ? `site stack ${site.stack} is not current: the pillar's site part, or what its steps read of the racks, changed since its last up` : undefined;
  if (!why) return;
  if (!pulumi.runtime.isDryRun()) throw new pulumi.RunError(`refusing to run a rack before its site: ${why}; run \`kinetic up --stack ${site.stack}\` (or \`kinetic up --all\`) first, nothing was changed`);
  void pulumi.log.warn(`${why}: \`kinetic up\` of this rack will refuse until the site is up`);
}

/** The site's outputs for its racks: the digest only once every site step is done, the seeds secret. */
function siteOutputs(cloud: Cloud, settings: Settings): Pick<ProgramOutputs, typeof SITE_OUTPUT | typeof SITE_SECRETS_OUTPUT> {
  const seeds = pulumi.secret(pulumi.all([settings.serviceSecret ?? "", settings.hostKeySecret ?? ""]).apply(([serviceSecret, hostKeySecret]) => ({ serviceSecret, hostKeySecret })));
  // Foundation hosts trusted on first use: a rack reaching one pins the key the site recorded.
  const pins = hostKeyPins(cloud, settings);
  const trusted = partEndpoints(cloud, SITE).filter((e) => e.style === "foundation" && !cloud.pillar.hosts[e.type].hostKeys?.[e.index]);
  const recorded = trusted.flatMap((e) => {
    const key = pins.hostKey(e);
    return key === undefined ? [] : [[e.name, key] as const];
  });
  const hostKeys = pulumi.all(Object.fromEntries(recorded));
  return {
    [SITE_OUTPUT]: pulumi.output({ digest: siteDigest(cloud), epochs: settings.epochs, hostKeys }),
    [SITE_SECRETS_OUTPUT]: seeds,
  };
}
