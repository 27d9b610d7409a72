/**
 * The Pulumi program as a function, so tests can run it under mocks as often as they like:
 * read the stack config, load and validate the pillar (nothing is declared if it has problems),
 * check the formulas, declare the endpoints, and return the stack outputs.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Cloud, isPillarError, loadCloud } from "../pillar";
import { declareCloud, placeholderProvisioners, Provisioners } from "./cloud";
import { describeMissing, FORMULAS_DIR, formulaCatalog, FormulaLoader, formulaLoader } from "./formulaCatalog";
import { readSettings, Settings } from "./settings";
import { withShortStacks } from "./shortStacks";

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

  const catalog = formulaCatalog(
    cloud.endpoints.map((e) => e.role),
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
    () => declareCloud(cloud, settings, catalog, provisioners),
    (d) => [...d.endpoints, ...d.steps.values()],
  );
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
