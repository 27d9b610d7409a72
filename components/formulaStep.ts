/**
 * One formula phase of one endpoint as a `remote.Command`. The command text is constant plus
 * base64 (see formulas/envelope.ts); the declared values travel on stdin; a digest of script and
 * values is the trigger, so editing the formula or a value it reads re-runs the phase on `up`.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Formula } from "./formulaCatalog";
import { declaredUses, encodeValues, formulaCommand, formulaDigest, FormulaValues, selectValues } from "../formulas/envelope";
import { deriveSecretAt, epochOf, SecretEpochs } from "./secretEpochs";

export interface FormulaStepArgs {
  /** The script; undefined when its file is missing (only reachable in a preview, see index.ts). */
  formula: Formula | undefined;
  /** Label of the missing file, for the failing placeholder script. */
  expected: string;
  /** Every fact available to this endpoint; the formula's `kinetic-uses` picks from them. */
  facts: FormulaValues;
  /** SSH connection to the endpoint's management address. */
  connection: command.types.input.remote.ConnectionArgs;
  /** Run through `sudo -n` (the SSH user is not root). */
  sudo: boolean;
  /** Seed for `SECRET_*` values (`kinetic:serviceSecret`). */
  serviceSecret?: pulumi.Output<string>;
  /** Epoch of each credential class (`kinetic:epochs`, secretEpochs.ts); absent: all at 0. */
  epochs?: SecretEpochs;
  /**
   * Values the program only has as secrets (e.g. `PXE_HOST_KEYS`, the generated host keys), made
   * on demand: called only when the formula declares the name. They make stdin and trigger secret.
   */
  secretFacts?: Record<string, () => pulumi.Output<string>>;
}

const SECRET_PREFIX = "SECRET_";

export function formulaStep(name: string, args: FormulaStepArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
  const formula = args.formula ?? {
    label: args.expected,
    text: `#!/usr/bin/env bash\necho "formulas/${args.expected} is missing: add it before pulumi up" >&2\nexit 1\n`,
  };
  const secrets = declaredUses(formula.text).filter((u) => u.startsWith(SECRET_PREFIX) && !u.endsWith("*"));
  const secretFacts = args.secretFacts ?? {};
  const available = { ...args.facts, ...Object.fromEntries([...secrets, ...Object.keys(secretFacts)].map((s) => [s, ""])) };
  const picked = selectValues(formula.label, formula.text, available);
  const pickedSecretFacts = Object.keys(secretFacts).filter((n) => n in picked);

  let stdin: pulumi.Input<string>;
  let trigger: pulumi.Input<string>;
  if (secrets.length || pickedSecretFacts.length) {
    if (secrets.length && !args.serviceSecret) {
      throw new Error(`formulas/${formula.label} reads ${secrets.join(", ")}: set the seed with \`openssl rand -base64 32 | pulumi config set --secret kinetic:serviceSecret\``);
    }
    const extra = pulumi.all(pickedSecretFacts.map((n) => secretFacts[n]()));
    const all = pulumi.all([args.serviceSecret ?? "", extra]).apply(([seed, values]) => ({
      ...picked,
      ...Object.fromEntries(secrets.map((s) => [s, deriveSecretAt(seed, s, epochOf(s, args.epochs ?? {}))])),
      ...Object.fromEntries(pickedSecretFacts.map((n, i) => [n, values[i]])),
    }));
    stdin = pulumi.secret(all.apply(encodeValues));
    trigger = pulumi.secret(all.apply((values) => formulaDigest(formula.text, values)));
  } else {
    stdin = encodeValues(picked);
    trigger = formulaDigest(formula.text, picked);
  }
  return new command.remote.Command(
    name,
    {
      connection: args.connection,
      create: formulaCommand(formula.label, formula.text, { sudo: args.sudo }),
      stdin,
      triggers: [trigger],
    },
    opts,
  );
}
