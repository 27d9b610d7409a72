/**
 * Replacements asked of an `up` (a rebuild's `--replace`) and not made yet, kept beside the stack's
 * state until each is made. Without this, a rebuild cut short (Ctrl-C, a lost link) loses its rest:
 * the resources it had not reached look unchanged to the next plain `up`. Seen in the lab: after a
 * rebuild of memcached was interrupted, keystone's configure (downstream of it) never ran again.
 *
 * One JSON file per stack, `<backend>/.kinetic/pending-replace-<stack>.json`: the URNs, nothing
 * secret. Written whole to a temporary file and renamed, so a crash leaves the old list or the new.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, Stack, UpOptions, UpResult } from "@pulumi/pulumi/automation";
import { stateResources } from "./stack";

/** Step operations after which the resource has been made anew. */
const MADE = new Set(["create", "create-replacement", "replace"]);

export class PendingReplacements {
  constructor(readonly file: string) {}

  static of(backendDir: string, stack: string): PendingReplacements {
    return new PendingReplacements(path.join(backendDir, ".kinetic", `pending-replace-${stack}.json`));
  }

  read(): string[] {
    if (!fs.existsSync(this.file)) return [];
    const parsed: unknown = JSON.parse(fs.readFileSync(this.file, "utf8"));
    if (!Array.isArray(parsed) || !parsed.every((u) => typeof u === "string")) throw new Error(`${this.file}: not a list of URNs`);
    return parsed;
  }

  private write(urns: string[]): void {
    if (!urns.length) {
      fs.rmSync(this.file, { force: true });
      return;
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify([...new Set(urns)].sort(), null, 2)}\n`);
    fs.renameSync(tmp, this.file);
  }

  add(urns: string[]): void {
    if (urns.length) this.write([...this.read(), ...urns]);
  }

  /** The engine's event for a step: a resource made anew is no longer pending. */
  observe(e: EngineEvent): void {
    const m = e.resOutputsEvent?.metadata;
    if (!m || !MADE.has(m.op)) return;
    const left = this.read();
    if (left.includes(m.urn)) this.write(left.filter((u) => u !== m.urn));
  }

  clear(): void {
    this.write([]);
  }
}

/**
 * `up`, replacing `replace` and whatever an earlier up left pending (URNs no longer in the stack are
 * dropped: the pillar may have removed them). The list shrinks as the engine makes each one, and is
 * cleared when the up succeeds.
 */
export async function upFinishingReplacements(stack: Stack, pending: PendingReplacements, opts: UpOptions = {}): Promise<UpResult> {
  pending.add(opts.replace ?? []);
  let replace = pending.read();
  if (replace.length) {
    const present = new Set((await stateResources(stack)).map((r) => r.urn));
    replace = replace.filter((u) => present.has(u));
  }
  const { replace: _asked, ...rest } = opts;
  const result = await stack.up({
    ...rest,
    ...(replace.length ? { replace } : {}),
    onEvent: (e) => {
      pending.observe(e);
      opts.onEvent?.(e);
    },
  });
  pending.clear();
  return result;
}
