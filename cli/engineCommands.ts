/**
 * `kinetic engine | preview | up | refresh | destroy`: the real Pulumi engine on a stack of this
 * project, with a local file backend. What `pulumi <op> --stack <name>` does with a normal
 * Pulumi install, for machines that only have the engine we build (engine/build.ts).
 */
import * as path from "node:path";
import { Backend, describeBackend, selectBackend } from "../engine/backend";
import { ensureEngine } from "../engine/build";
import { DEV_PASSPHRASE, DEV_STACKS, passphraseRefusal } from "../engine/devPassphrase";
import { PROJECT_ROOT } from "../engine/paths";
import { PendingReplacements, upFinishingReplacements } from "../engine/pendingReplacements";
import { UnreachedInstalls } from "./installHint";
import { kineticInline } from "../engine/program";
import { openStack } from "../engine/stack";
import { stackZeroizeMismatch } from "../engine/zeroizeSetting";
import { allowList, confirmMachineChanges } from "./machineGate";
import type { Stack } from "@pulumi/pulumi/automation";

/** The dev passphrase and the stacks it is for (engine/devPassphrase.ts): refused for any other stack. */
export { DEV_PASSPHRASE, DEV_STACKS } from "../engine/devPassphrase";

export const ENGINE_USAGE = `kinetic engine                 build (or find) the Pulumi engine and print where it is
kinetic preview|up|refresh|destroy [--stack NAME] [--diff] [--yes] [--backend URL] [--all]
                               run the real engine on Pulumi.<NAME>.yaml (default: dev); state in
                               --backend or $KINETIC_BACKEND (postgres://user@host/db?sslmode=verify-full&
                               sslrootcert=CA, password from PGPASSWORD or PGPASSFILE), else file://
                               $KINETIC_STATE_DIR or .kinetic/state; passphrase $PULUMI_CONFIG_PASSPHRASE
                               (the dev stack's is the documented dev-only value); destroy needs --yes;
                               up previews first and, before replacing or deleting a machine, asks on
                               a terminal or needs --yes or --allow-replace <type|endpoint> (repeatable);
                               an up that would take a clustered type (mysql, rabbitmq, cephmon, etcd,
                               ovsdb) below a majority of its members is refused unless
                               --allow-data-loss <type>: use kinetic rebuild, one member at a time;
                               preview|up --all: the site stack and every rack stack the pillar names
                               (<NAME>-<rack>); up runs the site, then the racks side by side`;

export type Operation = "preview" | "up" | "refresh" | "destroy";

/**
 * Ctrl-C reaches the engine too (same process group), which then finishes the steps in flight,
 * records them and stops: stay and show that, instead of leaving it running unseen while it holds
 * the stack's lock. A second Ctrl-C leaves at once.
 */
export function keepRunningOnFirstInterrupt(): void {
  let interrupts = 0;
  process.on("SIGINT", () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write("\nkinetic: interrupted: the engine finishes the steps in flight, records them and stops (Ctrl-C again to leave now)\n");
  });
}

/** The local file backend of the project's stacks. */
export function stateDir(): string {
  return process.env.KINETIC_STATE_DIR ?? path.join(PROJECT_ROOT, ".kinetic", "state");
}

/**
 * The backend of this run (engine/backend.ts): `--backend URL`, else $KINETIC_BACKEND, else the
 * file backend in stateDir(). A database backend is named on stderr, with a warning when its
 * server is not verified.
 */
export function stackBackend(flag?: string): Backend {
  const backend = selectBackend(flag, stateDir());
  if (backend.kind !== "file") {
    const { line, warning } = describeBackend(backend);
    process.stderr.write(`kinetic: ${line}\n${warning ? `kinetic: warning: ${warning}\n` : ""}`);
  }
  return backend;
}

/** What a rebuild of this stack cut short left to replace (engine/pendingReplacements.ts). */
export function pendingOf(stackName: string): PendingReplacements {
  return PendingReplacements.of(stateDir(), stackName);
}

/**
 * The project's stack `stackName` on the real engine, with the local file backend; undefined (after
 * saying why) when its passphrase is unknown.
 */
export async function projectStack(stackName: string, op: Operation | "rebuild" | "unlock" | "migrate" | "rotate", backend: Backend = stackBackend()): Promise<Stack | undefined> {
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE ?? (DEV_STACKS.includes(stackName) ? DEV_PASSPHRASE : undefined);
  if (passphrase === undefined) {
    process.stderr.write(`${op}: set PULUMI_CONFIG_PASSPHRASE, the passphrase of stack ${stackName}'s secrets\n`);
    return undefined;
  }
  const refused = passphraseRefusal(stackName, passphrase);
  if (refused) {
    process.stderr.write(`${op}: ${refused}\n`);
    return undefined;
  }
  const engine = await ensureEngine();
  return openStack({
    engine,
    stack: stackName,
    program: kineticInline,
    backendUrl: backend.url,
    passphrase,
    // Pulumi 3.276's file backend writes and encrypts the whole deployment after every step, even
    // in a preview that keeps none of it: 104 s -> 32 s on the sample (npm run bench -- engine).
    // Only for previews: an up's checkpoints are what let an interrupted run recover.
    ...(op === "preview" ? { env: { PULUMI_SKIP_CHECKPOINTS: "true" } } : {}),
  });
}

export async function engineCommand(argv: string[]): Promise<number> {
  const engine = await ensureEngine();
  process.stderr.write(`engine: Pulumi ${engine.version} (${engine.source}) at ${engine.root}\n`);
  if (argv.length) process.stderr.write(`engine: unexpected arguments ${argv.join(" ")}\n`);
  return argv.length ? 64 : 0;
}

export async function operationCommand(op: Operation, argv: string[]): Promise<number> {
  let stackName = "dev";
  let yes = false;
  let diff = false;
  const allowReplace: string[] = [];
  const allowDataLoss: string[] = [];
  let backendFlag: string | undefined;
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stackName = argv[++i];
    else if (argv[i] === "--backend" && argv[i + 1]) backendFlag = argv[++i];
    else if (argv[i] === "--yes") yes = true;
    else if (argv[i] === "--diff") diff = true;
    else if (argv[i] === "--all" && (op === "preview" || op === "up")) all = true;
    else if (argv[i] === "--allow-replace" && argv[i + 1] !== undefined && op === "up") allowReplace.push(argv[++i]);
    else if (argv[i] === "--allow-data-loss" && argv[i + 1] !== undefined && op === "up") allowDataLoss.push(argv[++i]);
    else {
      process.stderr.write(`${op}: unexpected argument ${argv[i]}\n${ENGINE_USAGE}\n`);
      return 64;
    }
  }
  if (op === "destroy" && !yes) {
    process.stderr.write(`destroy zeroizes the stack's machines: run it again with --yes\n`);
    return 64;
  }
  const backend = stackBackend(backendFlag);
  const stack = await projectStack(stackName, op, backend);
  if (!stack) return 64;
  // Stacks per site and per rack (cli/stackSet.ts): --all runs every stack of the pillar; a rack alone waits for its site.
  const open = (name: string) => projectStack(name, op, backend);
  if (all) return (await import("./stackSetCommand")).stackSetCommand(op as "preview" | "up", stack, open, { gate: { yes, allow: allowList(allowReplace), allowDataLoss: allowList(allowDataLoss), color: process.stdout.isTTY ? "auto" : "never" }, diff, color: process.stdout.isTTY ? "auto" : "never" });
  if (op === "up") {
    const refused = await (await import("./stackSet")).rackRefusal(stack, open);
    if (refused) {
      process.stderr.write(`up: ${refused}\n`);
      return 65;
    }
  }
  if (op === "destroy") {
    const mismatch = await stackZeroizeMismatch(stack);
    if (mismatch) {
      process.stderr.write(`destroy: ${mismatch}\n`);
      return 65;
    }
  }
  keepRunningOnFirstInterrupt();
  const onOutput = (s: string) => process.stdout.write(s);
  const color = process.stdout.isTTY ? "auto" : "never";
  switch (op) {
    case "preview":
      await stack.preview({ onOutput, diff, color });
      break;
    case "up": {
      const pending = pendingOf(stackName);
      const left = pending.read();
      if (left.length) process.stdout.write(`up: an interrupted rebuild left ${left.length} replacement(s); this up makes them\n`);
      // Issue 21: no machine is replaced or deleted without a yes (cli/machineGate.ts).
      if (!(await confirmMachineChanges(stack, { yes, allow: allowList(allowReplace), replace: left, color, allowDataLoss: allowList(allowDataLoss) }))) return 65;
      const unreached = new UnreachedInstalls();
      try {
        await upFinishingReplacements(stack, pending, { onOutput, diff, color, onEvent: (e) => unreached.observe(e) });
      } finally {
        for (const line of unreached.lines()) process.stderr.write(`up: ${line}\n`);
      }
      break;
    }
    case "refresh":
      await stack.refresh({ onOutput, color });
      break;
    case "destroy":
      await stack.destroy({ onOutput, color });
      break;
  }
  return 0;
}
