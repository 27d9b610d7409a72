/**
 * Where the built engine lives: a cache outside the work tree (CI may or may not keep it), one
 * directory per content key, so a changed go.mod, go.sum or plugin source builds anew and an
 * unchanged one is reused.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const ENGINE_SRC = __dirname;
export const PROJECT_ROOT = path.join(__dirname, "..");

/** `$KINETIC_ENGINE_CACHE`, else `$XDG_CACHE_HOME/kinetic/engine`, else `~/.cache/kinetic/engine`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KINETIC_ENGINE_CACHE) return path.resolve(env.KINETIC_ENGINE_CACHE);
  const xdg = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(xdg, "kinetic", "engine");
}

/** The files whose content decides what gets built (plus the Go version and the platform). */
export function keyedSources(): string[] {
  const files: string[] = [];
  for (const dir of ["cli", "command"]) {
    for (const f of fs.readdirSync(path.join(ENGINE_SRC, dir)).sort()) {
      if (/\.(go|mod|sum)$/.test(f) && !f.endsWith("_test.go")) files.push(path.join(ENGINE_SRC, dir, f));
    }
  }
  files.push(path.join(PROJECT_ROOT, "node_modules", "@pulumi", "pulumi", "package.json"));
  return files;
}

export function contentKey(goVersion: string, files = keyedSources()): string {
  const h = crypto.createHash("sha256");
  h.update(`${goVersion}\n${process.platform}/${process.arch}\n`);
  for (const f of files) {
    h.update(`${path.relative(PROJECT_ROOT, f)}\n`);
    h.update(fs.readFileSync(f));
  }
  return h.digest("hex").slice(0, 16);
}

/** The version of a module required by a go.mod (e.g. the Pulumi CLI's). */
export function requiredVersion(goMod: string, module: string): string {
  const text = fs.readFileSync(goMod, "utf8");
  const m = new RegExp(`^\\s*${module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s+(v\\S+)`, "m").exec(text);
  if (!m) throw new Error(`${goMod} does not require ${module}`);
  return m[1];
}
