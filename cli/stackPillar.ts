/**
 * The pillar a stack's program runs on, as the program reads it: `kinetic:pillar` from the stack's
 * config (relative to the project), `pillar/dev` when it names none (components/settings.ts).
 * For the commands that plan around the program (rebuild, up's machine gate, backups).
 */
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT } from "../engine/paths";
import { Cloud, loadCloud } from "../pillar";

export async function stackPillarCloud(stack: Stack): Promise<Cloud> {
  // One read of the config (pulumi config --json); a rack stack derives as its site does (components/program.ts rackSettings).
  const config = await stack.getAllConfig();
  const pillarDir = config["kinetic:pillar"]?.value ?? "pillar/dev";
  const site = config["kinetic:siteStack"]?.value;
  return loadCloud(path.resolve(PROJECT_ROOT, pillarDir), { stack: site ?? stack.name });
}
