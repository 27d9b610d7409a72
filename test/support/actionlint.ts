/**
 * actionlint (github.com/rhysd/actionlint), the checker of .github/workflows, built from the Go
 * module proxy at a pinned version into a cache keyed by that version and the Go toolchain:
 * `~/.cache/kinetic/tools/actionlint-<version>-<go>/actionlint`. `.ci/install` builds it (the test
 * lanes run without a network); the test only looks for it.
 *
 *   ts-node --transpile-only test/support/actionlint.ts build
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ACTIONLINT_MODULE = "github.com/rhysd/actionlint/cmd/actionlint";
/** Pinned: a new actionlint can start reporting on an unchanged workflow. */
export const ACTIONLINT_VERSION = "v1.7.12";

function goVersion(): string | undefined {
  const r = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function toolsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(xdg, "kinetic", "tools");
}

/** Where the built binary is (or would be), or undefined without Go. */
export function actionlintPath(): string | undefined {
  const go = goVersion();
  return go ? path.join(toolsRoot(), `actionlint-${ACTIONLINT_VERSION}-${go}`, "actionlint") : undefined;
}

/** Why actionlint cannot run here, or undefined when it can. */
export function actionlintUnavailable(): string | undefined {
  const bin = actionlintPath();
  if (!bin) return "no go on the PATH (actionlint is built from the Go module proxy)";
  if (!fs.existsSync(bin)) return `${bin} not built: bash .ci/install builds it`;
  return undefined;
}

/** Builds actionlint into its cache unless it is there; returns its path. */
export function buildActionlint(log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  const bin = actionlintPath();
  if (!bin) throw new Error("actionlint: no go on the PATH");
  if (fs.existsSync(bin)) return bin;
  const dir = path.dirname(bin);
  const tmp = `${dir}.part-${process.pid}`;
  fs.mkdirSync(tmp, { recursive: true });
  log(`actionlint: go install ${ACTIONLINT_MODULE}@${ACTIONLINT_VERSION} into ${dir}`);
  try {
    execFileSync("go", ["install", "-trimpath", "-ldflags", "-s -w", `${ACTIONLINT_MODULE}@${ACTIONLINT_VERSION}`], {
      env: { ...process.env, GOBIN: tmp, CGO_ENABLED: "0" },
      stdio: ["ignore", "inherit", "inherit"],
    });
    // Rename at the end: an interrupted build leaves nothing that looks built.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

if (require.main === module) {
  if (process.argv[2] !== "build") {
    process.stderr.write("usage: ts-node test/support/actionlint.ts build\n");
    process.exit(64);
  }
  process.stdout.write(`${buildActionlint()}\n`);
}
