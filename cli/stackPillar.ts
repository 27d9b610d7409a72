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
  const pillarDir = (await stack.getConfig("kinetic:pillar").catch(() => ({ value: "pillar/dev" }))).value;
  return loadCloud(path.resolve(PROJECT_ROOT, pillarDir), { stack: stack.name });
}
