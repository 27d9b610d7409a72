/**
 * The Pulumi program as a function, so tests can run it under mocks as often as they like:
 * read the stack config, load and validate the pillar (nothing is declared if it has problems),
 * check the formulas, declare the endpoints, and return the stack outputs.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Cloud, isPillarError, loadCloud } from "../pillar";
import { declareCloud, DeclaredCloud, placeholderProvisioners, Provisioners } from "./cloud";
import { describeMissing, formulaCatalog, FormulaLoader, plainLoader } from "./formulaCatalog";
import { readSettings, Settings } from "./settings";

export const PROJECT_ROOT = path.join(__dirname, "..");

export interface ProgramOptions {
  /** How provisioning steps are declared; the real ones drive Redfish and libvirt. */
  provisioners?: (cloud: Cloud, settings: Settings) => Provisioners;
  /** How formula files are read. */
  loadFormula?: FormulaLoader;
  formulasDir?: string;
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

export function kineticProgram(opts: ProgramOptions = {}): { endpoints: EndpointOutput[] } {
  const settings = readSettings();
  let cloud: Cloud;
  try {
    cloud = loadCloud(path.resolve(PROJECT_ROOT, settings.pillarDir), { stack: settings.stack });
  } catch (e) {
    // RunError: Pulumi prints the message (every problem, with file and line) without a stack trace.
    if (isPillarError(e)) throw new pulumi.RunError(e.message);
    throw e;
  }
  for (const note of cloud.pillar.notes) pulumi.log.info(note);

  const catalog = formulaCatalog(
    cloud.endpoints.map((e) => e.role),
    opts.loadFormula ?? plainLoader(opts.formulasDir),
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
  withShortStacks(() => declareCloud(cloud, settings, catalog, provisioners));
  return {
    endpoints: cloud.endpoints.map((e) => ({
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
 * The SDK attaches a captured stack trace to each of the dozens of promises it makes per resource
 * (leak diagnostics only), and `pulumi` formats every one through source maps: at a thousand
 * endpoints that was two thirds of the time to declare the program (`npm run bench -- plan`).
 * So the stack depth is capped from declaration until the SDK has registered every resource, then
 * restored; resource source positions are unaffected (the SDK lifts the cap for those).
 */
function withShortStacks(fn: () => DeclaredCloud): DeclaredCloud {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  let declared: DeclaredCloud;
  try {
    declared = fn();
  } catch (e) {
    Error.stackTraceLimit = saved;
    throw e;
  }
  const resources: pulumi.Resource[] = [...declared.endpoints, ...declared.steps.values()];
  pulumi.all(resources.map((r) => r.urn)).apply(() => {
    Error.stackTraceLimit = saved;
  });
  return declared;
}
