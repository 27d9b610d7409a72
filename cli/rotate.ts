/**
 * `kinetic rotate [--class C]... [--stack NAME] [--yes]`: new credentials after a compromise, without
 * rebuilding anything. Each named class's epoch in the stack's config (`kinetic:epochs`,
 * components/secretEpochs.ts) goes up by one, so every value of the class is derived anew; then one
 * `up` re-runs the phases whose formulas declare (`# kinetic-uses:`) a value of those classes, since
 * a phase's trigger is a digest of the values it reads. Nothing else changes, and no machine is
 * replaced: a preview with the new epochs must plan changes to exactly those phases, or the epochs
 * are put back and nothing runs (another pending change, e.g. an edited formula, is the operator's
 * to apply with `kinetic up` first, not something to slip into a rotation).
 */
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { formulaCatalog, formulaLoader, FORMULAS_DIR } from "../components/formulaCatalog";
import { epochProblems, SECRET_CLASSES, SECRET_CLASS_NAMES, SecretClass, secretClass, SecretEpochs } from "../components/secretEpochs";
import { PROJECT_ROOT } from "../engine/paths";
import { nameOfUrn } from "../engine/stack";
import { declaredUses } from "../formulas/envelope";
import { Cloud, loadCloud } from "../pillar";
import { keepRunningOnFirstInterrupt, pendingOf, projectStack } from "./engineCommands";

const ROTATABLE = SECRET_CLASS_NAMES.filter((c) => !SECRET_CLASSES[c].notYet);

export const ROTATE_USAGE = `kinetic rotate [--class C]... [--stack NAME] [--yes]
                               new credentials of those classes (${SECRET_CLASS_NAMES.join(", ")};
                               default: every class that can rotate today: ${ROTATABLE.join(", ")}):
                               raises their kinetic:epochs and re-runs exactly the phases that read
                               them, no machine replaced; without --yes only says what would re-run`;

/** Names (`<endpoint>-<phase>`) of the formula phases that read a value of one of `classes`. */
export function rotationPhases(cloud: Cloud, formulasDir: string, classes: readonly SecretClass[]): string[] {
  const catalog = formulaCatalog(
    cloud.endpoints.map((e) => e.role),
    formulaLoader(formulasDir),
    formulasDir,
  );
  const names: string[] = [];
  for (const { endpoint: e, step } of cloud.graph.nodes.values()) {
    if (step === "provision") continue;
    const formula = catalog.get(e.role, step);
    if (!formula) continue;
    // As formulaStep.ts: a wildcard is never a secret; a fixed value has no class.
    const reads = declaredUses(formula.text).filter((u) => u.startsWith("SECRET_") && !u.endsWith("*"));
    if (reads.some((u) => classes.includes(secretClass(u) as SecretClass))) names.push(`${e.name}-${step}`);
  }
  return names.sort();
}

/** `kinetic:epochs` as the stack's config holds it (JSON text, or absent). */
export function parseEpochs(text: string | undefined): SecretEpochs {
  if (text === undefined || text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`kinetic:epochs in the stack's config is not JSON: set it to an object such as {"fernet": 1}`);
  }
  const problems = epochProblems(value);
  if (problems.length) throw new Error(problems.join("; "));
  return value as SecretEpochs;
}

/** Operations of a preview or up that change a resource. */
const CHANGING = new Set(["create", "update", "delete", "replace", "create-replacement", "delete-replaced", "import", "import-replacement", "discard", "discard-replaced"]);

/** Runs `op` and collects the names of the resources it changes, with the operation. */
async function changesOf(run: (onEvent: (e: EngineEvent) => void) => Promise<unknown>): Promise<Map<string, Set<string>>> {
  const changed = new Map<string, Set<string>>();
  await run((event) => {
    const m = event.resourcePreEvent?.metadata;
    if (!m || !CHANGING.has(m.op)) return;
    // The stack resource itself (outputs) is not a machine or a phase.
    if (m.type === "pulumi:pulumi:Stack") return;
    // Nor is a provider updated in place: the dynamic providers' default provider takes the stack's
    // whole config as its inputs, so the new epochs update it on any stack with a VM or a physical
    // server, and an update of a provider touches none of its resources. A replaced one would.
    if (m.type.startsWith("pulumi:providers:") && m.op === "update") return;
    const name = nameOfUrn(m.urn);
    changed.set(name, new Set([...(changed.get(name) ?? []), m.op]));
  });
  return changed;
}

export interface RotateOptions {
  classes: readonly SecretClass[];
  /** Without it, only the plan is printed and nothing changes. */
  yes: boolean;
  /** Where the program's formulas are (the project's `formulas/` by default). */
  formulasDir?: string;
  out: (line: string) => void;
  /** The engine's own output. */
  onOutput?: (s: string) => void;
  /** The up's engine events (not the preview's): what a caller records of the steps that ran. */
  onEvent?: (e: EngineEvent) => void;
}

export interface RotateResult {
  /** 0 rotated (or nothing to do), 64 not confirmed, 65 refused (nothing changed). */
  code: number;
  /** The phases the rotation re-runs (planned, and what the up changed when it ran). */
  phases: string[];
  /** What the up changed, by resource name, when it ran. */
  changed?: Map<string, Set<string>>;
}

export async function rotateStack(stack: Stack, opts: RotateOptions): Promise<RotateResult> {
  const config = await stack.getAllConfig();
  const before = config["kinetic:epochs"]?.value;
  const epochs = parseEpochs(before);
  const cloud = loadCloud(path.resolve(PROJECT_ROOT, config["kinetic:pillar"]?.value ?? "pillar/dev"), { stack: stack.name });
  const phases = rotationPhases(cloud, opts.formulasDir ?? FORMULAS_DIR, opts.classes);
  const next: SecretEpochs = { ...epochs };
  for (const c of opts.classes) next[c] = (epochs[c] ?? 0) + 1;
  opts.out(`rotate ${opts.classes.map((c) => `${c} (epoch ${epochs[c] ?? 0} -> ${next[c]}: ${SECRET_CLASSES[c].covers})`).join(", ")}`);
  if (!phases.length) {
    opts.out("no phase reads a value of those classes: nothing to rotate");
    return { code: 0, phases };
  }
  opts.out(`these ${phases.length} phases re-run with the new values (no machine is replaced):\n${phases.map((p) => `  ${p}`).join("\n")}`);
  if (!opts.yes) {
    opts.out("run it again with --yes to rotate");
    return { code: 64, phases };
  }

  const restore = async () => {
    if (before === undefined) await stack.removeConfig("kinetic:epochs");
    else await stack.setConfig("kinetic:epochs", { value: before });
  };
  await stack.setConfig("kinetic:epochs", { value: JSON.stringify(next) });
  let planned: Map<string, Set<string>>;
  try {
    planned = await changesOf((onEvent) => stack.preview({ onEvent, onOutput: opts.onOutput }));
  } catch (e) {
    await restore();
    throw e;
  }
  const unexpected = [...planned].filter(([name, ops]) => !phases.includes(name) || ops.has("delete"));
  if (unexpected.length) {
    await restore();
    opts.out(
      `refused: with the new epochs the stack would also change ${unexpected.map(([n, ops]) => `${n} (${[...ops].join(", ")})`).join(", ")}; ` +
        "apply pending changes with `kinetic up` first, then rotate. The epochs are as they were; nothing ran",
    );
    return { code: 65, phases };
  }
  opts.out("the new epochs are in the stack's config; if this up is cut short, the next `kinetic up` finishes the rotation");
  const changed = await changesOf((onEvent) => stack.up({ onEvent: (e) => (onEvent(e), opts.onEvent?.(e)), onOutput: opts.onOutput }));
  const ran = [...changed.keys()].filter((n) => phases.includes(n));
  const other = [...changed.keys()].filter((n) => !phases.includes(n));
  // The preview said nothing else would change; if the up did anyway (a machine changed in between), say so.
  opts.out(`rotated: ${ran.length} of ${phases.length} phases re-ran${other.length ? `; ALSO changed, against the preview: ${other.join(", ")}` : "; nothing else changed"}`);
  return { code: 0, phases, changed };
}

export async function rotateCommand(argv: string[]): Promise<number> {
  let stackName = "dev";
  let yes = false;
  const classes: SecretClass[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stackName = argv[++i];
    else if (argv[i] === "--class" && argv[i + 1]) {
      const c = argv[++i];
      if (!(SECRET_CLASS_NAMES as string[]).includes(c)) {
        process.stderr.write(`rotate: ${c} is not a class (classes: ${SECRET_CLASS_NAMES.join(", ")})\n`);
        return 64;
      }
      if (!classes.includes(c as SecretClass)) classes.push(c as SecretClass);
    } else if (argv[i] === "--yes") yes = true;
    else {
      process.stderr.write(`rotate: unexpected argument ${argv[i]}\n${ROTATE_USAGE}\n`);
      return 64;
    }
  }
  const chosen = classes.length ? classes : ROTATABLE;
  const notYet = chosen.filter((c) => SECRET_CLASSES[c].notYet);
  if (notYet.length) {
    for (const c of notYet) process.stderr.write(`rotate: ${c} cannot be rotated yet: ${SECRET_CLASSES[c].notYet}\n`);
    return 65;
  }
  const stack = await projectStack(stackName, "rotate");
  if (!stack) return 64;
  // A rebuild cut short is finished by `kinetic up` (its replacements are passed to that up); a
  // rotation's up does not make them, so it would leave machines half rebuilt behind its back.
  const pending = pendingOf(stackName).read();
  if (pending.length) {
    process.stderr.write(`rotate: an interrupted rebuild left ${pending.length} replacement(s): run \`kinetic up --stack ${stackName}\` first, then rotate\n`);
    return 65;
  }
  if (yes) keepRunningOnFirstInterrupt();
  try {
    const result = await rotateStack(stack, {
      classes: chosen,
      yes,
      out: (line) => process.stdout.write(`${line}\n`),
      onOutput: (s) => process.stdout.write(s),
    });
    return result.code;
  } catch (e) {
    process.stderr.write(`rotate: ${(e as Error).message.split("\n")[0]}\n`);
    return 1;
  }
}
