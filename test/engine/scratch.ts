/**
 * Scratch stacks for engine tests: a temporary work directory (Pulumi.yaml comes from the
 * project settings, the stack's config file lands here, never in the work tree) and a
 * temporary file backend, removed by `dispose()`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigMap, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { Engine, ensureEngine } from "../../engine/build";
import { kineticInline } from "../../engine/program";
import { openStack } from "../../engine/stack";
import { BASE_CONFIG } from "../support/program";

export const PASSPHRASE = "engine-test-passphrase";

let cached: Promise<Engine> | undefined;

/** The engine, built once per test process (a cold build takes minutes: progress goes to stderr). */
export function testEngine(): Promise<Engine> {
  return (cached ??= ensureEngine((line) => process.stderr.write(`      ${line}\n`)));
}

export interface ScratchStack {
  stack: Stack;
  dir: string;
  backendDir: string;
  dispose(): Promise<void>;
}

/** The base config of the mock tests (pillar/sample, test secrets), as engine config. */
export function baseConfig(overrides: Record<string, string> = {}): ConfigMap {
  const secret = new Set(["kinetic:sshPrivateKey", "kinetic:bmcPassword", "kinetic:serviceSecret", "kinetic:hostKeySecret"]);
  const all = { ...BASE_CONFIG, ...overrides };
  return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, { value: v, secret: secret.has(k) }]));
}

export async function scratchStack(opts: { name?: string; config: ConfigMap; program?: PulumiFn; env?: Record<string, string> }): Promise<ScratchStack> {
  const engine = await testEngine();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-engine-"));
  const backendDir = path.join(dir, "state");
  const stack = await openStack({
    engine,
    stack: opts.name ?? "test",
    program: opts.program ?? kineticInline,
    backendDir,
    passphrase: PASSPHRASE,
    workDir: dir,
    config: opts.config,
    ...(opts.env ? { env: opts.env } : {}),
  });
  return {
    stack,
    dir,
    backendDir,
    async dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The stack's state as the file backend stores it, secrets encrypted: what a secret search must
 * read (the Automation API's exportStack runs `--show-secrets` and decrypts them).
 */
export function storedState(backendDir: string, stack: string): string {
  const file = path.join(backendDir, ".pulumi", "stacks", "kinetic", `${stack}.json`);
  if (!fs.existsSync(file)) throw new Error(`no state file ${file}`);
  return fs.readFileSync(file, "utf8");
}

export { nameOfUrn, typeOfUrn } from "../../engine/stack";
