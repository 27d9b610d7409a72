/**
 * The Pulumi engine for these machines, which cannot reach Pulumi's download servers: the CLI
 * built from the Go module proxy (engine/cli pins it), the `command` plugin built from
 * engine/command, and the dynamic-provider host script from the @pulumi/pulumi npm package, all
 * in one cache directory keyed by content. A `pulumi` already on PATH is used as it is.
 *
 * No language host is built: every run goes through the Automation API with the program inline,
 * so the engine talks to the language runtime inside our own Node.js process (`--client`).
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheRoot, contentKey, ENGINE_SRC, requiredVersion } from "./paths";

export interface Engine {
  /** Directory holding `bin/pulumi` (Automation API's PulumiCommand root). */
  root: string;
  binDir: string;
  /** The CLI's version, e.g. v3.276.0. */
  version: string;
  /** Where it came from. */
  source: "built" | "path";
  /** PULUMI_HOME for runs: inside the cache for a built engine, the user's own otherwise. */
  pulumiHome?: string;
}

export class EngineBuildError extends Error {}

const PULUMI_MODULE = "github.com/pulumi/pulumi/pkg/v3";
const COMMAND_PLUGIN = "pulumi-resource-command";
const DYNAMIC_HOST = "pulumi-resource-pulumi-nodejs";
const COMPLETE = ".complete.json";
/** Bump when what build.ts writes into the cache changes (it is not one of the keyed sources). */
export const LAYOUT_VERSION = "2";

type Log = (line: string) => void;

/** The engine to run: a `pulumi` on PATH, else the cached build, built now when missing. */
export async function ensureEngine(log: Log = (l) => process.stderr.write(`${l}\n`)): Promise<Engine> {
  const onPath = pulumiOnPath();
  if (onPath && process.env.KINETIC_ENGINE !== "build") return await pathEngine(onPath, log);
  return await builtEngine(log);
}

async function builtEngine(log: Log): Promise<Engine> {
  const go = goVersion();
  const key = contentKey(`${go} layout ${LAYOUT_VERSION}`);
  const dir = path.join(cacheRoot(), key);
  const version = requiredVersion(path.join(ENGINE_SRC, "cli", "go.mod"), PULUMI_MODULE);
  const engine: Engine = { root: dir, binDir: path.join(dir, "bin"), version, source: "built", pulumiHome: path.join(cacheRoot(), "pulumi-home") };
  if (fs.existsSync(path.join(dir, COMPLETE))) return engine;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  // One build per key on this machine: parallel test lanes or two operators' runs that each built
  // it took 4x the CPU and 62 minutes instead of 15. The others wait and use the result.
  const release = await buildLock(dir, log);
  try {
    if (fs.existsSync(path.join(dir, COMPLETE))) return engine;
    return await buildInto(dir, key, go, version, engine, log);
  } finally {
    release();
  }
}

/**
 * An exclusive lock beside the cache directory (mkdir is atomic), holding the builder's PID. A lock
 * whose process is gone, or that never got its PID written within a minute, is taken over.
 */
export async function buildLock(dir: string, log: Log): Promise<() => void> {
  const lock = `${dir}.lock`;
  const pidFile = path.join(lock, "pid");
  let said = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(pidFile, `${process.pid}\n`);
      return () => fs.rmSync(lock, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder = 0;
    try {
      holder = Number(fs.readFileSync(pidFile, "utf8").trim());
    } catch {
      // Between the holder's mkdir and its PID: young locks are respected.
    }
    const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if ((holder && !alive(holder)) || (!holder && age > 60_000)) {
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`engine: another process (${holder || "starting"}) is building it; waiting for that build`);
    said = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function buildInto(dir: string, key: string, go: string, version: string, engine: Engine, log: Log): Promise<Engine> {
  log(`engine: building Pulumi ${version} and its command plugin with ${go} into ${dir}`);
  log("engine: a cold build downloads about 300 modules and compiles for several minutes on 2 cores; later runs reuse it");
  // Build beside the final place and rename at the end: an interrupted build leaves nothing
  // that looks complete.
  const tmp = fs.mkdtempSync(path.join(cacheRoot(), `${key}.part-`));
  const started = Date.now();
  try {
    const bin = path.join(tmp, "bin");
    fs.mkdirSync(bin);
    await goBuild(log, "the Pulumi CLI", path.join(ENGINE_SRC, "cli"), [
      "-ldflags", `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${version}`,
      "-o", path.join(bin, "pulumi"), `${PULUMI_MODULE}/cmd/pulumi`,
    ]);
    await goBuild(log, "the command plugin", path.join(ENGINE_SRC, "command"), ["-ldflags", "-s -w", "-o", path.join(bin, COMMAND_PLUGIN), "."]);
    installDynamicHost(bin);
    const seconds = Math.round((Date.now() - started) / 1000);
    fs.writeFileSync(path.join(tmp, COMPLETE), JSON.stringify({ key, version, go, seconds, builtAt: new Date().toISOString() }, null, 2));
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another build finished first: keep its result.
      if (!fs.existsSync(path.join(dir, COMPLETE))) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    log(`engine: built in ${seconds} s`);
    pruneOldBuilds(key);
    return engine;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** A normal Pulumi install. Its own command plugin is used when installed, else ours is built. */
async function pathEngine(pulumi: string, log: Log): Promise<Engine> {
  const version = execFileSync(pulumi, ["version"], { encoding: "utf8" }).trim();
  const root = path.dirname(path.dirname(fs.realpathSync(pulumi)));
  const engine: Engine = { root, binDir: path.dirname(pulumi), version, source: "path" };
  const plugins = execFileSync(pulumi, ["plugin", "ls", "--json"], { encoding: "utf8" });
  const hasCommand = (JSON.parse(plugins || "[]") as Array<{ name: string; kind: string }>).some((p) => p.name === "command" && p.kind === "resource");
  if (!hasCommand) {
    log("engine: the installed Pulumi has no command plugin; building Kinetic's (pulumi plugin install resource command 1.2.1 uses the upstream one instead)");
    const built = await builtEngine(log);
    engine.binDir = `${built.binDir}${path.delimiter}${engine.binDir}`;
  }
  return engine;
}

function pulumiOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function goVersion(): string {
  try {
    return execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim();
  } catch {
    throw new EngineBuildError(
      "no `pulumi` on PATH and no Go to build it: install Go 1.26 or later (https://go.dev/dl, or your distribution's package) " +
        "so that the engine can be built from the Go module proxy, or install the Pulumi CLI and its command plugin",
    );
  }
}

function goBuild(log: Log, what: string, cwd: string, args: string[]): Promise<void> {
  log(`engine: go build ${what}`);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("go", ["build", "-trimpath", ...args], {
      cwd,
      // -mod=readonly: the committed go.sum is the whole truth; CGO off: one static binary.
      env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (b: Buffer) => {
      output += b.toString();
      if (output.length > 65536) output = output.slice(-65536);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const beat = setInterval(() => log(`engine: still building ${what} (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    child.on("error", (e) => {
      clearInterval(beat);
      reject(new EngineBuildError(`go build ${what}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearInterval(beat);
      if (code === 0) resolve();
      else reject(new EngineBuildError(`go build ${what} failed (exit ${code}) in ${cwd}:\n${output.trim()}`));
    });
  });
}

/**
 * The dynamic-provider host, which the engine looks for next to `pulumi`: @pulumi/pulumi ships it
 * as a shell script. Ours runs the SDK of the checkout that runs the engine (engineEnv sets
 * KINETIC_PULUMI_SDK), never the one that happened to build the shared cache.
 */
function installDynamicHost(bin: string): void {
  const script = path.join(bin, DYNAMIC_HOST);
  fs.writeFileSync(
    script,
    [
      "#!/bin/sh",
      "# Written by Kinetic's engine/build.ts: @pulumi/pulumi's dynamic-provider host of the running checkout.",
      'sdk="${KINETIC_PULUMI_SDK:-$(node -e "console.log(require.resolve(\'@pulumi/pulumi/package.json\').replace(/package.json$/, \'\'))")}"',
      'exec node "$sdk/cmd/dynamic-provider" "$@"',
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
}

/** Keeps the cache to the current build and the one before it. */
function pruneOldBuilds(current: string): void {
  const root = cacheRoot();
  const builds = fs
    .readdirSync(root)
    .filter((d) => d !== current && /^[0-9a-f]{16}$/.test(d))
    .map((d) => ({ d, t: fs.statSync(path.join(root, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of builds.slice(1)) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  for (const d of fs.readdirSync(root).filter((d) => d.includes(".part-"))) {
    // A partial build of a process that is gone (its pid is not recorded, so: older than a day).
    if (Date.now() - fs.statSync(path.join(root, d)).mtimeMs > 86_400_000) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  }
}

