/**
 * `kinetic:zeroizePhysical` as a destroy will apply it. A destroy does not run the program: the
 * engine configures the providers and deletes the resources from the state, so the setting that
 * counts is the one the last `up` recorded (each BootOnce/PowerCycle keeps it as `allowZeroize`),
 * not the stack's config now. An operator who changes it and destroys right away would get the
 * old behaviour: servers left on that they meant to power off, or, worse, powered off after they
 * set it to false. `kinetic destroy` refuses in that case (the lifecycle test shows both sides).
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { nameOfUrn, StateResource, stateResources } from "./stack";

/** The values recorded in a deployment's resources, by resource name (only resources that keep one). */
export function recordedZeroize(resources: readonly StateResource[]): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const r of resources) {
    const v = r.inputs?.allowZeroize;
    if (typeof v === "boolean") out.set(nameOfUrn(r.urn), v);
  }
  return out;
}

/** Why a destroy now would not do what the config says, or undefined when it would. */
export function zeroizeMismatch(configured: boolean, recorded: ReadonlyMap<string, boolean>): string | undefined {
  const differ = [...recorded].filter(([, v]) => v !== configured).map(([name]) => name);
  if (!differ.length) return undefined;
  const was = !configured;
  return (
    `kinetic:zeroizePhysical is ${configured} in the stack's config, but the last up recorded ${was} ` +
    `for ${differ.length} resource(s) (${differ.slice(0, 3).join(", ")}${differ.length > 3 ? ", ..." : ""}), ` +
    `and destroy acts on what was recorded: it would ${was ? "power those servers off" : "leave those servers on"}. ` +
    `Run \`kinetic up\` first to record the setting (with nothing else changed it touches no machine), ` +
    `or set it back to ${was}.`
  );
}

/** The mismatch for a stack (its config and its last recorded state). */
export async function stackZeroizeMismatch(stack: Stack): Promise<string | undefined> {
  const config = await stack.getAllConfig();
  const configured = config["kinetic:zeroizePhysical"]?.value === "true";
  return zeroizeMismatch(configured, recordedZeroize(await stateResources(stack)));
}
