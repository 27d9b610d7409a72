/**
 * The environment of every engine run: offline (no update check, no plugin downloads), the
 * stack's backend (a local file backend, or PostgreSQL: engine/backend.ts), the passphrase secrets
 * provider, and a PATH that puts the engine's own binaries and this project's Node.js 22 first.
 * The PostgreSQL password is not here: the engine's driver takes PGPASSWORD or PGPASSFILE from the
 * environment it inherits.
 */
import * as path from "node:path";
import { Engine } from "./build";
import { PROJECT_ROOT } from "./paths";

export interface RunEnvironment {
  /** Directory of the file backend (`file://`), created by the caller. Ignored when backendUrl is given. */
  backendDir?: string;
  /** The backend's URL (`postgres://...` or `file://...`, engine/backend.ts); wins over backendDir. */
  backendUrl?: string;
  /** The passphrase that encrypts this stack's secrets in state and in its config file. */
  passphrase: string;
}

/**
 * How many resource operations the engine runs at once unless the operator sets PULUMI_PARALLEL.
 * Pulumi's default is 4 per core of the orchestrator (pulumi/pulumi#14989: cloud APIs' rate limits
 * and big providers' memory), 8 on a 2-core machine. Kinetic's operations are SSH sessions and BMC
 * calls that wait on their own machines, so the orchestrator's cores are not what bounds them: with
 * 8, the full cloud's 17 VM installs of 10 to 20 minutes each held every slot while the steps of the
 * critical path that were ready waited (npm run bench -- cloud, 2026-12-07: makespan 2017 s against
 * a critical path of 1609 s). Enough for every machine of a large pillar to run its phase at once.
 */
export const ENGINE_PARALLEL = 512;

export function engineEnv(engine: Engine, run: RunEnvironment): Record<string, string> {
  return {
    PULUMI_PARALLEL: process.env.PULUMI_PARALLEL ?? String(ENGINE_PARALLEL),
    PATH: [engine.binDir, path.join(PROJECT_ROOT, "node_modules", ".bin"), process.env.PATH ?? ""].join(path.delimiter),
    // The dynamic-provider host runs this checkout's SDK (engine/build.ts, installDynamicHost).
    KINETIC_PULUMI_SDK: path.join(PROJECT_ROOT, "node_modules", "@pulumi", "pulumi"),
    PULUMI_BACKEND_URL: backendUrlOf(run),
    PULUMI_CONFIG_PASSPHRASE: run.passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Never a prompt (runs are non-interactive), no legacy-backend notice, no Copilot features.
    PULUMI_SKIP_CONFIRMATIONS: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_COPILOT: "false",
    ...(engine.pulumiHome ? { PULUMI_HOME: engine.pulumiHome } : {}),
  };
}

export function backendUrlOf(run: RunEnvironment): string {
  if (run.backendUrl) return run.backendUrl;
  if (run.backendDir) return `file://${path.resolve(run.backendDir)}`;
  throw new Error("an engine run needs a backend: backendUrl or backendDir");
}
