/**
 * A stack of the Kinetic program under the real engine, through the Automation API. The program
 * runs inline, in this process, as the engine's language runtime; providers (the command plugin,
 * the dynamic providers) run in the engine's own plugin processes, as under `pulumi up`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigMap, LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { Engine } from "./build";
import { passphraseRefusal } from "./devPassphrase";
import { engineEnv, RunEnvironment } from "./environment";
import { PROJECT_ROOT } from "./paths";

export interface StackArgs extends RunEnvironment {
  engine: Engine;
  /** Stack name, e.g. `dev`; its config file is `Pulumi.<stack>.yaml` in workDir. */
  stack: string;
  /** The program; the real Kinetic program by default. */
  program: PulumiFn;
  /**
   * Where Pulumi.yaml and the stack's config file live: the project root by default. Tests
   * give a scratch directory so that their stacks' files never land in the work tree.
   */
  workDir?: string;
  /** Config to set on the stack (e.g. `kinetic:pillar`), secrets marked `secret: true`. */
  config?: ConfigMap;
  /** More environment for the engine (e.g. PULUMI_EXPERIMENTAL for update plans). */
  env?: Record<string, string>;
}

export async function openStack(args: StackArgs): Promise<Stack> {
  // A file backend's directory must exist; a database is the operator's to create.
  const fileDir = args.backendUrl ? (args.backendUrl.startsWith("file://") ? args.backendUrl.slice("file://".length) : undefined) : args.backendDir;
  if (fileDir) fs.mkdirSync(fileDir, { recursive: true });
  const workDir = args.workDir ?? PROJECT_ROOT;
  const refused = passphraseRefusal(args.stack, args.passphrase);
  if (refused) throw new Error(refused);
  const pulumiCommand = await PulumiCommand.get({ root: args.engine.root });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: args.stack, projectName: "kinetic", program: args.program },
    {
      workDir,
      pulumiCommand,
      envVars: { ...engineEnv(args.engine, args), ...args.env },
      ...(args.engine.pulumiHome ? { pulumiHome: args.engine.pulumiHome } : {}),
      ...(fs.existsSync(path.join(workDir, "Pulumi.yaml"))
        ? {}
        : { projectSettings: { name: "kinetic", runtime: { name: "nodejs" }, main: PROJECT_ROOT } }),
    },
  );
  if (args.config) await setConfig(stack, args.config);
  return stack;
}

/**
 * Sets config on the stack without a secret value ever in a command line: the Automation API's
 * setAllConfig passes every value, secrets included, as `pulumi config set-all --secret KEY=VALUE`
 * arguments, which any local user reads in /proc/<pid>/cmdline while it runs. Plain values still go
 * that way; each secret goes through setSecretConfig.
 */
async function setConfig(stack: Stack, config: ConfigMap): Promise<void> {
  const plain = Object.entries(config).filter(([, v]) => !v.secret);
  if (plain.length) await stack.setAllConfig(Object.fromEntries(plain));
  for (const [key, v] of Object.entries(config).filter(([, c]) => c.secret)) await setSecretConfig(stack, key, v.value);
}

/**
 * Sets secret config `key` to `value` with the value on stdin, never in a command line (the
 * Automation API's setConfig and setAllConfig put it in pulumi's argv): `pulumi config set --secret
 * --raw KEY`, which reads a value from stdin when it is not given one (--raw keeps it byte for byte),
 * run as the stack's workspace runs pulumi (its command, directory and environment).
 */
export async function setSecretConfig(stack: Stack, key: string, value: string): Promise<void> {
  const ws = stack.workspace;
  const env = { ...process.env, ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}), ...ws.envVars };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ws.pulumiCommand.command, ["config", "set", "--secret", "--raw", "--stack", stack.name, "--non-interactive", "--", key], { cwd: ws.workDir, env, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`pulumi config set --secret ${key} on stack ${stack.name} failed (exit ${code}): ${stderr.trim()}`))));
    child.stdin!.end(value);
  });
}

/** The resource name at the end of a URN. */
export function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The type of a URN (the last type of its type chain). */
export function typeOfUrn(urn: string): string {
  const chain = urn.split("::")[2];
  return chain.slice(chain.lastIndexOf("$") + 1);
}

/** A resource as the stack's state records it: the fields Kinetic reads. */
export interface StateResource {
  urn: string;
  inputs?: Record<string, unknown>;
}

/** The resources of the stack's last recorded state. */
export async function stateResources(stack: Stack): Promise<StateResource[]> {
  const state = await stack.exportStack();
  return (state.deployment as { resources?: StateResource[] } | undefined)?.resources ?? [];
}

/** URNs of the stack's resources whose names are in `names` (what `up --replace` takes). */
export async function urnsNamed(stack: Stack, names: Iterable<string>): Promise<string[]> {
  const wanted = new Set(names);
  return (await stateResources(stack)).map((r) => r.urn).filter((u) => wanted.has(nameOfUrn(u)));
}
