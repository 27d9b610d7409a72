/**
 * `kinetic unlock` and `kinetic state migrate`: the stack's record itself, not its machines.
 *
 * unlock: removes the lock a dead run left (engine/stackLock.ts), only once that run is known to
 * be gone, so two runs never act on the same machines at once.
 *
 * state migrate: copies a stack's state from the current backend (a file backend, usually) to
 * another (PostgreSQL) with the engine's own export and import. The export is the encrypted one
 * (no `--show-secrets`): secrets travel as the ciphertext they are stored as, under the same
 * passphrase provider and salt (Pulumi.<stack>.yaml does not change), and no file on the way holds
 * them in plain text. A target that already has resources for the stack is refused: importing
 * over it would drop its record of those machines.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Backend, describeBackend, parseBackend } from "../engine/backend";
import { ensureEngine } from "../engine/build";
import { engineEnv } from "../engine/environment";
import { PROJECT_ROOT } from "../engine/paths";
import { openStack } from "../engine/stack";
import { describeHolder, holderLiveness, LockEntry, readLocks, removeLock } from "../engine/stackLock";
import { DEV_PASSPHRASE, DEV_STACKS, stackBackend } from "./engineCommands";

export const STATE_USAGE = `kinetic unlock --stack NAME [--backend URL] [--holder-gone HOST]
                               remove the lock a run that died left on the stack, once no run is
                               alive: a holder on this host is checked (pid, start time); one on
                               another host only when you name that host as gone
kinetic state migrate --to URL [--stack NAME] [--backend URL]
                               copy the stack's state (encrypted as stored) to another backend,
                               e.g. postgres://kinetic@db/kinetic?sslmode=verify-full&sslrootcert=CA`;

interface Flags {
  stack: string;
  backend?: string;
  to?: string;
  holderGone?: string;
}

function parseFlags(cmd: string, argv: string[], allowed: (keyof Flags)[]): Flags | undefined {
  const flags: Flags = { stack: "dev" };
  const names: Record<string, keyof Flags> = { "--stack": "stack", "--backend": "backend", "--to": "to", "--holder-gone": "holderGone" };
  for (let i = 0; i < argv.length; i++) {
    const key = names[argv[i]];
    if (!key || !allowed.includes(key) || argv[i + 1] === undefined) {
      process.stderr.write(`${cmd}: unexpected argument ${argv[i]}\n${STATE_USAGE}\n`);
      return undefined;
    }
    flags[key] = argv[++i];
  }
  return flags;
}

export async function unlockCommand(argv: string[]): Promise<number> {
  const flags = parseFlags("unlock", argv, ["stack", "backend", "holderGone"]);
  if (!flags) return 64;
  const backend = stackBackend(flags.backend);
  const locks = readLocks(backend, flags.stack);
  if (!locks.length) {
    process.stdout.write(`unlock: stack ${flags.stack} is not locked\n`);
    return 0;
  }
  const blocked: string[] = [];
  const gone: LockEntry[] = [];
  for (const lock of locks) {
    const live = holderLiveness(lock.holder);
    if (live.alive === true) blocked.push(`held by ${describeHolder(lock.holder)}: ${live.why}; the run is alive, let it finish (or stop it)`);
    else if (live.alive === false || flags.holderGone === lock.holder.hostname) gone.push(lock);
    else blocked.push(`held by ${describeHolder(lock.holder)}: ${live.why}; run kinetic unlock there, or, if that host is gone, add --holder-gone ${lock.holder.hostname}`);
  }
  if (blocked.length) {
    process.stderr.write(`unlock: stack ${flags.stack} left locked:\n${blocked.map((b) => `  ${b}\n`).join("")}`);
    return 75;
  }
  for (const lock of gone) {
    removeLock(backend, flags.stack, lock.key);
    process.stdout.write(`unlock: removed the lock of ${describeHolder(lock.holder)} (that run is gone)\n`);
  }
  return 0;
}

export async function stateCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "migrate") {
    process.stderr.write(`state: unknown subcommand ${sub ?? "(none)"}\n${STATE_USAGE}\n`);
    return 64;
  }
  const flags = parseFlags("state migrate", rest, ["stack", "backend", "to"]);
  if (!flags) return 64;
  if (!flags.to) {
    process.stderr.write(`state migrate: --to URL names the backend to copy to\n${STATE_USAGE}\n`);
    return 64;
  }
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE ?? (DEV_STACKS.includes(flags.stack) ? DEV_PASSPHRASE : undefined);
  if (passphrase === undefined) {
    process.stderr.write(`state migrate: set PULUMI_CONFIG_PASSPHRASE, the passphrase of stack ${flags.stack}'s secrets\n`);
    return 64;
  }
  return migrate({ stack: flags.stack, from: stackBackend(flags.backend), to: parseBackend(flags.to, "--to"), passphrase });
}

export interface MigrateArgs {
  stack: string;
  from: Backend;
  to: Backend;
  passphrase: string;
  /** Where Pulumi.yaml and Pulumi.<stack>.yaml are: the project root by default (tests: a scratch dir). */
  workDir?: string;
}

/** Copies a stack from one backend to another; see the file's comment. */
export async function migrate({ stack, from, to, passphrase, workDir = PROJECT_ROOT }: MigrateArgs): Promise<number> {
  if (from.url === to.url) {
    process.stderr.write("state migrate: --to is the backend the stack is already in\n");
    return 64;
  }
  const engine = await ensureEngine();
  const run = async (backend: Backend, args: string[]): Promise<string> => {
    const env = { ...process.env, ...engineEnv(engine, { backendUrl: backend.url, passphrase }) };
    // A deployment of 1,000 endpoints is tens of MB of JSON.
    return (await promisify(execFile)(path.join(engine.root, "bin", "pulumi"), [...args, "--non-interactive"], { cwd: workDir, env, maxBuffer: 1 << 30 })).stdout;
  };

  const exported = await run(from, ["stack", "export", "--stack", stack]);
  const source = JSON.parse(exported) as { deployment?: { resources?: unknown[]; secrets_providers?: { type?: string } } };
  const resources = source.deployment?.resources?.length ?? 0;
  if (!resources) {
    process.stderr.write(`state migrate: stack ${stack} has no resources in ${describeBackend(from).line}: nothing to move\n`);
    return 65;
  }

  // Creates the stack in the target when missing (same passphrase provider, salt from Pulumi.<stack>.yaml).
  await openStack({ engine, stack, program: async () => ({}), backendUrl: to.url, passphrase, workDir });
  const existing = JSON.parse(await run(to, ["stack", "export", "--stack", stack])) as { deployment?: { resources?: unknown[] } };
  if (existing.deployment?.resources?.length) {
    process.stderr.write(
      `state migrate: stack ${stack} already has ${existing.deployment.resources.length} resource(s) in ${describeBackend(to).line}; ` +
        "importing over them would drop that record: nothing copied\n",
    );
    return 65;
  }
  // The export holds ciphertext only; the file is private to this user and removed at once.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-migrate-"));
  try {
    const file = path.join(dir, "deployment.json");
    fs.writeFileSync(file, exported, { mode: 0o600 });
    await run(to, ["stack", "import", "--stack", stack, "--file", file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const copied = JSON.parse(await run(to, ["stack", "export", "--stack", stack])) as { deployment?: { resources?: unknown[] } };
  if ((copied.deployment?.resources?.length ?? 0) !== resources) {
    throw new Error(`state migrate: ${resources} resource(s) exported, ${copied.deployment?.resources?.length ?? 0} found after the import`);
  }
  process.stdout.write(
    `state migrate: stack ${stack}: ${resources} resource(s), secrets provider ${source.deployment?.secrets_providers?.type ?? "(none)"}, ` +
      `copied to ${describeBackend(to).line}. The copy in ${describeBackend(from).line} is left as it was: use only the new one from now on ` +
      `(KINETIC_BACKEND or --backend)\n`,
  );
  return 0;
}
