/**
 * Stack configuration (`pulumi config`), namespace `kinetic`. Secrets are read with
 * `requireSecret`/`getSecret`, so they stay `Output`s marked secret all the way into state.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { epochProblems, generationProblems, SecretEpochs } from "./secretEpochs";

export interface Settings {
  stack: string;
  /** `kinetic:pillar`: the pillar directory, relative to the project. Default `pillar/dev`. */
  pillarDir: string;
  /** `kinetic:sshUser`: the account formulas run as (non-root uses `sudo -n`). Default `root`. */
  sshUser: string;
  /** `kinetic:sshPort`: the port every endpoint's sshd listens on. Default 22. */
  sshPort: number;
  /** `kinetic:sshPrivateKey` (secret): the orchestrator's key for every endpoint. */
  sshPrivateKey: pulumi.Output<string>;
  /** `kinetic:sshPublicKey`: its public half, put into virtual endpoints by cloud-init. */
  sshPublicKey: string;
  /** `kinetic:bmcPassword` (secret): password of the pillar's `bmc.api_user`. */
  bmcPassword?: pulumi.Output<string>;
  /**
   * `kinetic:bmcCaBundle`: PEM CA bundle that BMC certificates are verified against, or the absolute
   * path of a file holding it (the lab's CA is made on the machine that runs the lab).
   */
  bmcCaBundle?: string;
  /** `kinetic:bmcInsecureNetworks`: CIDRs whose BMCs are used WITHOUT certificate verification. */
  bmcInsecureNetworks: string[];
  /** `kinetic:zeroizePhysical`: allow `pulumi destroy` to power off physical servers. Default false. */
  zeroizePhysical: boolean;
  /** `kinetic:serviceSecret` (secret): seed from which every `SECRET_*` formula value is derived. */
  serviceSecret?: pulumi.Output<string>;
  /**
   * `kinetic:epochs`: the epoch of each credential class (components/secretEpochs.ts); a class that
   * is absent is at 0, which derives what the program derived before epochs existed.
   */
  epochs: SecretEpochs;
  /**
   * `kinetic:hostKeySecret` (secret): seed of the SSH host keys the program generates for virtual and
   * physical endpoints (components/hostKeys.ts). When absent, `kinetic:serviceSecret` is used as
   * before (`hostKeySecretIsLegacy`), with a warning: a stack keeps its host keys on upgrade.
   */
  hostKeySecret?: pulumi.Output<string>;
  /** True when `hostKeySecret` is `kinetic:serviceSecret` because `kinetic:hostKeySecret` is not set. */
  hostKeySecretIsLegacy: boolean;
  /**
   * `kinetic:hostKeyGenerations`: per endpoint name, how many times `kinetic rebuild` gave it a new
   * host key. Absent or 0: the key of before (generation = definition hash or `physical-1`).
   */
  hostKeyGenerations: Record<string, number>;
  /**
   * `kinetic:trustOnFirstUse`: a foundation host without `host_keys` in the pillar is trusted with the
   * key it presents first, which is recorded in state and required ever after. Default false.
   */
  trustOnFirstUse: boolean;
  /** `kinetic:physicalBootMinutes`: how long SSH may take to answer after a PXE install. Default 45. */
  physicalBootMinutes: number;
  /** `kinetic:vmBootSeconds`: how long a new virtual endpoint may take to answer SSH. Default 600. */
  vmBootSeconds: number;
  /**
   * `kinetic:libvirtUri`: the libvirt connection the controllers' VM scripts use. Default
   * `qemu:///system`; the lab uses libvirtd's test driver (`test+unix:///default`), having no KVM.
   */
  libvirtUri?: string;
  /**
   * `kinetic:rack`: the pillar's rack stack this Pulumi stack runs (README "Stacks per site and per
   * rack"); absent: the site stack. `kinetic:siteStack` names the site's Pulumi stack, whose outputs
   * it reads (components/siteStack.ts).
   */
  rack?: string;
  siteStack?: string;
  /**
   * A rack's pins of the site's foundation hosts that the pillar gives no key for (recorded on
   * first use by the site), by endpoint name: read from the site's outputs (components/siteStack.ts).
   */
  siteHostKeys?: Record<string, string>;
}

function caBundle(value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith("/")) return value;
  try {
    return fs.readFileSync(value, "utf8");
  } catch (e) {
    throw new Error(`kinetic:bmcCaBundle names ${value}, which cannot be read (${(e as NodeJS.ErrnoException).code ?? e}); for the lab stack, start the lab first: npm run lab -- up`);
  }
}

/** A stack configuration value that is wrong: one line naming the key, no stack trace. */
function configError(problems: string[]): never {
  throw new pulumi.RunError(`the stack's configuration (Pulumi.<stack>.yaml): ${problems.join("; ")}`);
}

export function readSettings(): Settings {
  const cfg = new pulumi.Config("kinetic");
  const epochs = cfg.getObject<unknown>("epochs");
  const generations = cfg.getObject<unknown>("hostKeyGenerations");
  const problems = [...epochProblems(epochs), ...generationProblems(generations)];
  if (problems.length) configError(problems);
  const explicitHostKeySecret = cfg.getSecret("hostKeySecret");
  return {
    stack: pulumi.getStack(),
    pillarDir: cfg.get("pillar") ?? "pillar/dev",
    sshUser: cfg.get("sshUser") ?? "root",
    sshPort: cfg.getNumber("sshPort", { min: 1, max: 65535 }) ?? 22,
    sshPrivateKey: cfg.requireSecret("sshPrivateKey"),
    sshPublicKey: cfg.require("sshPublicKey"),
    bmcPassword: cfg.getSecret("bmcPassword"),
    bmcCaBundle: caBundle(cfg.get("bmcCaBundle")),
    bmcInsecureNetworks: cfg.getObject<string[]>("bmcInsecureNetworks") ?? [],
    zeroizePhysical: cfg.getBoolean("zeroizePhysical") ?? false,
    serviceSecret: cfg.getSecret("serviceSecret"),
    epochs: (epochs ?? {}) as SecretEpochs,
    hostKeySecret: explicitHostKeySecret ?? cfg.getSecret("serviceSecret"),
    hostKeySecretIsLegacy: !explicitHostKeySecret && cfg.getSecret("serviceSecret") !== undefined,
    hostKeyGenerations: (generations ?? {}) as Record<string, number>,
    trustOnFirstUse: cfg.getBoolean("trustOnFirstUse") ?? false,
    physicalBootMinutes: cfg.getNumber("physicalBootMinutes", { min: 1 }) ?? 45,
    vmBootSeconds: cfg.getNumber("vmBootSeconds", { min: 10 }) ?? 600,
    libvirtUri: cfg.get("libvirtUri"),
    ...(cfg.get("rack") ? { rack: cfg.get("rack"), siteStack: cfg.require("siteStack") } : {}),
  };
}
