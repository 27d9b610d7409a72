/**
 * `kinetic backup [--stack NAME]`, `kinetic backup list [--stack NAME]` and
 * `kinetic restore <id|latest> [--stack NAME] --yes` (issue 21): consistent copies of what the
 * pillar cannot re-derive, kept outside the cloud (cli/backupStore.ts), and put back.
 *
 * What is taken and how it is put back: cli/backupRecipes.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Stack } from "@pulumi/pulumi/automation";
import type { Cloud, Endpoint } from "../pillar";
import { BackupManifest, BackupPart, backupId, backupRoot, decryptPart, encryptingStream, findBackup, listBackups } from "./backupStore";
import { setSecretConfig } from "../engine/stack";
import { bashCommand } from "../formulas/envelope";
import { endpointShell, ShellResult } from "./endpointShell";
import { BACKUP_RECIPES, EveryMemberRecipe, recipeOf, rolesRestoredWhole } from "./backupRecipes";
import { restoreEveryMember } from "./backupEveryMember";
import { cloudFacts, endpointFacts } from "../components/formulaFacts";
import { stackCloud } from "./cloudAccess";
import { oneLine } from "./verify";

export const BACKUP_USAGE = `kinetic backup [--stack NAME]     consistent copies of what the pillar cannot re-derive (every mysql
                               database, OVN's northbound database, etcd's keyspace, the Ceph monitors' auth
                               entities, config and config-keys), encrypted with the stack's kinetic:backupSecret,
                               kept in $KINETIC_BACKUP_DIR/NAME (default .kinetic/backups/NAME)
kinetic backup list [--stack NAME]
kinetic restore <id|latest> [--stack NAME] --yes
                               put a backup back: each database in it is dropped and made again from it; etcd's
                               keyspace becomes the snapshot's on every member (each stopped and started as a new
                               cluster from it; what was written since is gone); the Ceph monitors get back
                               what they lack, nothing they hold is overwritten`;

/**
 * The stack's backup secret; made (random, a secret in the stack's config) on the first backup,
 * with the value on pulumi's stdin (engine/stack.ts setSecretConfig): the Automation API's setConfig
 * would put it in pulumi's command line, readable by any local user in /proc/<pid>/cmdline.
 */
export async function backupSecret(stack: Stack, create: boolean, out: (l: string) => void): Promise<string> {
  const known = await stack.getConfig("kinetic:backupSecret").then((v) => v.value).catch(() => undefined);
  if (known) return known;
  if (!create) throw new Error(`stack ${stack.name} has no kinetic:backupSecret: its backups cannot be read`);
  const made = randomBytes(32).toString("base64");
  await setSecretConfig(stack, "kinetic:backupSecret", made);
  out(`made kinetic:backupSecret (a secret in Pulumi.${stack.name}.yaml, encrypted by the stack's secrets provider): without it no backup of this stack can be read`);
  return made;
}

/** Members of the role, index 0 first: a dump or restore goes to the first that takes it. */
function membersOf(cloud: Cloud, role: string): Endpoint[] {
  return cloud.endpoints.filter((e) => e.role === role).sort((a, b) => a.index - b.index);
}

/**
 * `attempt` on each member of `role` in turn until one succeeds (exit 0): that member. Otherwise
 * throws `<what>: <failure>`, naming every member and why it did not.
 */
async function onFirstMember(cloud: Cloud, role: string, failure: string, attempt: (e: Endpoint) => Promise<ShellResult>): Promise<Endpoint> {
  const why: string[] = [];
  for (const e of membersOf(cloud, role)) {
    const res = await attempt(e);
    if (res.code === 0) return e;
    why.push(`${e.name}: ${oneLine(res.out) || `exit ${res.code}`}`);
  }
  throw new Error(`${failure} (${why.join("; ")})`);
}

/** One backup of every role the pillar has a recipe for. */
export async function backupStack(stack: Stack, cloud: Cloud, out: (l: string) => void): Promise<BackupManifest> {
  const recipes = BACKUP_RECIPES.filter((r) => membersOf(cloud, r.role).length);
  if (!recipes.length) throw new Error(`stack ${stack.name}'s pillar has nothing Kinetic can back up yet (roles ${[...new Set(BACKUP_RECIPES.map((r) => r.role))].join(", ")})`);
  const secret = await backupSecret(stack, true, out);
  const id = backupId();
  const root = backupRoot(stack.name);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = path.join(root, id);
  // Made whole under a temporary name and renamed: a backup cut short never looks complete.
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { mode: 0o700 });
  try {
    const parts: BackupPart[] = [];
    for (const r of recipes) {
      let enc!: ReturnType<typeof encryptingStream>;
      let started = Date.now();
      const from = await onFirstMember(cloud, r.role, `backup ${r.part}: no member of ${r.role} gave a copy`, async (e) => {
        // Each attempt writes the part anew (a fresh IV), over what a failed one left.
        enc = encryptingStream(secret, id, r.part);
        const written = pipeline(enc, fs.createWriteStream(path.join(partial, `${r.part}.enc`), { mode: 0o600 }));
        started = Date.now();
        const res = await endpointShell(stack, e, bashCommand(r.dump), { stdout: enc, timeoutMs: 3_600_000 });
        enc.end();
        await written;
        return res;
      });
      const taken: BackupPart = { name: r.part, what: r.what, from: from.name, bytes: enc.plainBytes(), sha256: enc.plainSha256() };
      out(`backup ${r.part}: ${taken.bytes} bytes from ${from.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      parts.push(taken);
    }
    const manifest: BackupManifest = { id, stack: stack.name, takenAt: new Date().toISOString(), parts };
    fs.writeFileSync(path.join(partial, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(partial, dir);
    out(`backup ${id} of stack ${stack.name}: ${dir}`);
    return manifest;
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}

/** A backup read, decrypted and checked on this machine, ready to put back; `dispose` deletes the plain copy. */
export interface OpenedBackup {
  manifest: BackupManifest;
  /**
   * The roles whose data it replaces whole (a recipe's `wholeData`): those a rebuild
   * --restore-from may replace at once. A part of another role goes back only by kinetic restore.
   */
  roles: Set<string>;
  /** Puts back the parts of `roles` (default: every part), each through the first member that takes it. */
  restore(stack: Stack, cloud: Cloud, out: (l: string) => void, roles?: string[]): Promise<void>;
  dispose(): void;
}

/**
 * Backup `name` (`latest` or an id) of the stack, every part decrypted and its digest checked
 * before anything is restored: a bad part (altered, cut short, another secret) changes nothing.
 */
export async function openBackup(stack: Stack, name: string, out: (l: string) => void): Promise<OpenedBackup> {
  const manifest = findBackup(stack.name, name);
  const secret = await backupSecret(stack, false, out);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-restore-"));
  const plain = new Map<string, string>();
  try {
    for (const p of manifest.parts) {
      if (!recipeOf(p.name)) throw new Error(`backup ${manifest.id} has a part ${p.name} this version cannot restore`);
      const file = path.join(scratch, p.name);
      decryptPart(secret, manifest.id, p, path.join(backupRoot(stack.name), manifest.id, `${p.name}.enc`), file);
      plain.set(p.name, file);
    }
  } catch (e) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  return {
    manifest,
    roles: rolesRestoredWhole(manifest.parts.map((p) => p.name)),
    restore: async (target, cloud, log, roles) => {
      for (const p of manifest.parts.filter((x) => !roles || roles.includes(recipeOf(x.name)!.role))) {
        const recipe = recipeOf(p.name)!;
        let started = Date.now();
        if (recipe.restoreOn === "every member") {
          const said = await restoreOnEveryMember(target, cloud, recipe, plain.get(p.name)!, log);
          log(`restore ${p.name}: ${p.bytes} bytes of backup ${manifest.id} into every member of ${recipe.role} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${said}`);
          continue;
        }
        const into = await onFirstMember(cloud, recipe.role, `restore ${p.name}: no member took it`, (e) => {
          started = Date.now();
          return endpointShell(target, e, bashCommand(recipe.restore), { stdin: fs.createReadStream(plain.get(p.name)!), timeoutMs: 3_600_000 });
        });
        log(`restore ${p.name}: ${p.bytes} bytes of backup ${manifest.id} into ${into.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    },
    dispose: () => fs.rmSync(scratch, { recursive: true, force: true }),
  };
}

/** A part that restores only as a new cluster, put back on every member of its role (cli/backupEveryMember.ts). */
function restoreOnEveryMember(stack: Stack, cloud: Cloud, recipe: EveryMemberRecipe, file: string, log: (l: string) => void): Promise<string> {
  const shared = cloudFacts(cloud);
  const members = membersOf(cloud, recipe.role).map((endpoint) => ({ endpoint, values: endpointFacts(cloud, shared, endpoint) }));
  return restoreEveryMember(recipe, members, file, (e, script, stdinFile) => endpointShell(stack, e, bashCommand(script), { stdin: stdinFile ? fs.createReadStream(stdinFile) : undefined, timeoutMs: 3_600_000 }), log);
}

/** Puts backup `name` (`latest` or an id) back on the stack's cloud. */
export async function restoreStack(stack: Stack, cloud: Cloud, name: string, out: (l: string) => void): Promise<BackupManifest> {
  const opened = await openBackup(stack, name, out);
  try {
    await opened.restore(stack, cloud, out);
    return opened.manifest;
  } finally {
    opened.dispose();
  }
}

export async function backupCommand(argv: string[]): Promise<number> {
  const list = argv[0] === "list";
  const args = list ? argv.slice(1) : argv;
  let stackName = "dev";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--stack" && args[i + 1]) stackName = args[++i];
    else {
      process.stderr.write(`backup: unexpected argument ${args[i]}\n${BACKUP_USAGE}\n`);
      return 64;
    }
  }
  try {
    if (list) {
      const all = listBackups(stackName);
      if (!all.length) process.stdout.write(`stack ${stackName} has no backup in ${backupRoot(stackName)}\n`);
      for (const b of all) process.stdout.write(`${b.id}  ${b.parts.map((p) => `${p.name} ${p.bytes} bytes from ${p.from}`).join(", ")}\n`);
      return 0;
    }
    const s = await stackCloud(stackName);
    await backupStack(s.stack, s.cloud, (l) => process.stdout.write(`${l}\n`));
    return 0;
  } catch (e) {
    process.stderr.write(`backup: ${oneLine(e)}\n`);
    return 1;
  }
}

export async function restoreCommand(argv: string[]): Promise<number> {
  let stackName = "dev";
  let yes = false;
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stackName = argv[++i];
    else if (argv[i] === "--yes") yes = true;
    else if (!argv[i].startsWith("-") && name === undefined) name = argv[i];
    else {
      process.stderr.write(`restore: unexpected argument ${argv[i]}\n${BACKUP_USAGE}\n`);
      return 64;
    }
  }
  if (!name) {
    process.stderr.write(`restore: name a backup (an id from kinetic backup list, or latest)\n${BACKUP_USAGE}\n`);
    return 64;
  }
  try {
    const b = findBackup(stackName, name);
    process.stdout.write(`restore ${b.id} (taken ${b.takenAt}): ${b.parts.map((p) => `${p.name}: ${p.what}`).join("; ")}\n`);
    if (!yes) {
      const everyMember = b.parts.filter((p) => recipeOf(p.name)?.restoreOn === "every member").map((p) => p.name);
      process.stdout.write(`every database in it is dropped and made again from the backup${everyMember.length ? `; ${everyMember.join(", ")}: every member stopped and started anew from it (what was written since is gone)` : ""}: run it again with --yes\n`);
      return 64;
    }
    const s = await stackCloud(stackName);
    await restoreStack(s.stack, s.cloud, b.id, (l) => process.stdout.write(`${l}\n`));
    return 0;
  } catch (e) {
    process.stderr.write(`restore: ${oneLine(e)}\n`);
    return 1;
  }
}
