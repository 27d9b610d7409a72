/**
 * How a formula script and its pillar values travel to a host without ever being parsed as shell.
 *
 * The command line holds only constant text and base64 (whose alphabet is inert in a shell word),
 * so no pillar value can be interpreted by the remote login shell. The values travel on standard
 * input, which keeps secrets out of the remote process list; the runner turns each into an
 * environment variable `KINETIC_<NAME>` with `export "NAME=$value"`, which assigns without
 * re-parsing. SSH `environment` is not used: sshd drops variables not listed in `AcceptEnv`.
 */
import { createHash } from "node:crypto";

/** Names a formula may read; they become `KINETIC_<NAME>`. */
const NAME = /^[A-Z][A-Z0-9_]*$/;

export type FormulaValues = Record<string, string>;

/** The values file the runner reads on stdin: one `NAME=<base64 of value>` line per value, sorted. */
export function encodeValues(values: FormulaValues): string {
  return Object.keys(values)
    .sort()
    .map((name) => {
      if (!NAME.test(name)) throw new Error(`formula value name ${JSON.stringify(name)} is not [A-Z][A-Z0-9_]*`);
      const value = values[name];
      if (value.includes("\0")) throw new Error(`formula value ${name} contains a NUL byte`);
      return `${name}=${Buffer.from(value, "utf8").toString("base64")}\n`;
    })
    .join("");
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/**
 * The runner: writes the script into a private directory, exports the values and
 * runs the script with stdin closed (so nothing in it can read the values stream). Its exit
 * status is the script's.
 */
function runner(label: string, script: string): string {
  return [
    "set -euo pipefail",
    "umask 077",
    'work=$(mktemp -d /tmp/kinetic-formula.XXXXXX)',
    `trap 'rm -rf "$work"' EXIT`,
    `printf %s '${b64(script)}' | base64 -d > "$work/script"`,
    // Split on the first '=' by expansion: `IFS='=' read` would strip the base64 padding.
    "while IFS= read -r line; do",
    '  [ -n "$line" ] || continue',
    '  export "KINETIC_${line%%=*}=$(printf %s "${line#*=}" | base64 -d)"',
    "done",
    `export KINETIC_FORMULA='${b64(label)}'`,
    'KINETIC_FORMULA=$(printf %s "$KINETIC_FORMULA" | base64 -d)',
    'bash "$work/script" < /dev/null',
  ].join("\n");
}

/**
 * The `create` command for a formula: `bash -c "<runner>"`, where the runner is decoded from base64
 * by the login shell (POSIX `sh` is enough) before bash sees it. Pair it with `stdin: encodeValues(values)`.
 * @param opts.sudo run as root through `sudo -n` (for a non-root SSH user)
 * @param label the formula's path relative to `formulas/`, exported as `KINETIC_FORMULA` for messages
 */
export function formulaCommand(label: string, script: string, opts: { sudo?: boolean } = {}): string {
  // A non-root SSH user needs passwordless sudo; `-n` fails at once instead of waiting for a password.
  return `${opts.sudo ? "sudo -n " : ""}${bashCommand(runner(label, script), "kinetic-formula")}`;
}

/**
 * `bash -c` of `script` on a command line of constant text and base64 only (decoded by the login
 * shell), so nothing in the script is parsed by that shell; `name` becomes the script's `$0`.
 */
export function bashCommand(script: string, name?: string): string {
  return `bash -c "$(printf %s '${b64(script)}' | base64 -d)"${name ? ` ${name}` : ""}`;
}

/** A digest of everything a run depends on: a change re-runs the phase on the next `up`. */
export function formulaDigest(script: string, values: FormulaValues): string {
  return createHash("sha256").update(script).update("\0").update(encodeValues(values)).digest("hex");
}

/**
 * The names a formula reads, from its `# kinetic-uses: NAME NAME ...` header lines (any number of
 * them, anywhere in the first comment block). `PREFIX_*` asks for every value whose name starts
 * with `PREFIX_`. Only these values are sent, so editing an unrelated pillar value does not re-run it.
 */
export function declaredUses(script: string): string[] {
  const uses: string[] = [];
  for (const line of script.split("\n")) {
    const m = /^#\s*kinetic-uses:(.*)$/.exec(line);
    if (m) uses.push(...m[1].trim().split(/\s+/).filter(Boolean));
  }
  return uses;
}

/** Select the declared values; an unknown name is an error naming the formula. */
export function selectValues(label: string, script: string, available: FormulaValues): FormulaValues {
  const picked: FormulaValues = {};
  const unknown: string[] = [];
  for (const use of declaredUses(script)) {
    if (use.endsWith("_*")) {
      const prefix = use.slice(0, -1);
      for (const [k, v] of Object.entries(available)) if (k.startsWith(prefix)) picked[k] = v;
    } else if (use in available) {
      // Optional facts (a pinned address, a syslog target) are present with an empty value.
      picked[use] = available[use];
    } else {
      unknown.push(use);
    }
  }
  if (unknown.length) throw new Error(`formulas/${label}: kinetic-uses names unknown values ${unknown.join(", ")}`);
  return picked;
}
