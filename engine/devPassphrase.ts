/**
 * The dev passphrase: public (README, Pulumi.dev.yaml), so it protects nothing. It is for the stacks
 * whose secrets are throwaway values, dev (a pillar of fake hosts) and the labs (this machine's), and
 * refused for any other stack, where it would leave real secrets readable to anyone with the state
 * or the stack's config file.
 */
export const DEV_PASSPHRASE = "kinetic-dev-only";
/**
 * Stacks whose secrets are throwaway values under DEV_PASSPHRASE: the ones this repository bundles
 * (lab-cloud: the lab's full cloud, pillar/cloud). Not `cloud`, a likely name for a real site's
 * stack, which would then be encrypted with a public passphrase (issue 22).
 */
export const DEV_STACKS = ["dev", "lab", "lab-cloud"];

/** Why `passphrase` may not encrypt the secrets of stack `stack`; undefined when it may. Never echoes it. */
export function passphraseRefusal(stack: string, passphrase: string): string | undefined {
  if (DEV_STACKS.includes(stack)) return undefined;
  if (passphrase === DEV_PASSPHRASE) {
    return `stack ${stack}: PULUMI_CONFIG_PASSPHRASE is the public dev passphrase, for the ${DEV_STACKS.join(", ")} stacks only; give stack ${stack}'s secrets a passphrase of their own`;
  }
  if (passphrase === "") return `stack ${stack}: PULUMI_CONFIG_PASSPHRASE is empty; give stack ${stack}'s secrets a passphrase`;
  return undefined;
}
