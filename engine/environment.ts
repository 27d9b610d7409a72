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

export function engineEnv(engine: Engine, run: RunEnvironment): Record<string, string> {
  return {
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
