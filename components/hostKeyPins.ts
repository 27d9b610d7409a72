/**
 * Which SSH host key every connection of the program pins (README "SSH host keys"):
 *
 * - virtual endpoints: a key generated for the machine (hostKeys.ts), generation = the machine's
 *   definition hash, so whatever redefines the machine also changes its key, plus the endpoint's
 *   `kinetic:hostKeyGenerations` count, which `kinetic rebuild` raises (a `--replace` alone does not
 *   change the definition); delivered in the cloud-init seed;
 * - physical endpoints: a key generated per server (`physical-1`, plus the same rebuild count),
 *   delivered through the pxe server's per-server autoinstall data (`PXE_HOST_KEYS`);
 * - foundation hosts: the pillar's `host_keys` entry, or with `kinetic:trustOnFirstUse` the key
 *   recorded at first use (providers/trustedHostKey.ts). Without either, `pulumi up` refuses.
 *
 * One set of pins per program run, shared by the formula steps (cloud.ts) and the libvirt commands
 * on the controllers (provisioners.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { Cloud, Endpoint } from "../pillar";
import { virtualMachineSpec } from "../providers/libvirt/spec";
import { TrustedHostKey } from "../providers/trustedHostKey";
import { GeneratedHostKey, generatedHostKey } from "./hostKeys";
import { Settings } from "./settings";
import { virtualGeneration } from "./virtualGenerations";

/** Generation of a physical server's key: see README "SSH host keys" (rotation). */
const PHYSICAL_GENERATION = "physical-1";

export interface HostKeyPins {
  /** The key line `connection.hostKey` pins for this endpoint; undefined only for an unpinned foundation host in a preview. */
  hostKey(e: Endpoint): pulumi.Input<string> | undefined;
  /** The key the program generates for a virtual or physical endpoint. */
  generated(e: Endpoint): GeneratedHostKey;
  /** Foundation endpoints with neither a pillar key nor trust on first use, with the pillar key to add. */
  unpinned(): { endpoint: Endpoint; key: string }[];
  /** Declares the trust-on-first-use records (once, before any connection is declared). */
  declareTrust(parentOf: (e: Endpoint) => pulumi.Resource | undefined, only?: (e: Endpoint) => boolean): void;
  /** `PXE_HOST_KEYS` for the pxe configure formula: `uuid<TAB>public line<TAB>base64(private key)` per physical endpoint (secret). */
  pxeHostKeys(): pulumi.Output<string>;
}

const cache = new WeakMap<Cloud, HostKeyPins>();

export function hostKeyPins(cloud: Cloud, settings: Settings): HostKeyPins {
  let pins = cache.get(cloud);
  if (!pins) cache.set(cloud, (pins = makePins(cloud, settings)));
  return pins;
}

/**
 * The generation an endpoint's key is derived at: its base (definition hash, or PHYSICAL_GENERATION)
 * and how many times `kinetic rebuild` renewed it (`kinetic:hostKeyGenerations`). 0 adds nothing,
 * so a stack that never rebuilt keeps the keys it had before generations were counted.
 */
export function hostKeyGeneration(base: string, rebuilt: number): string {
  return rebuilt ? `${base}/rebuild-${rebuilt}` : base;
}

function makePins(cloud: Cloud, settings: Settings): HostKeyPins {
  let warnedLegacy = false;
  const generated = new Map<string, GeneratedHostKey>();
  const trusted = new Map<string, TrustedHostKey>();
  const pillarKey = (e: Endpoint): string => cloud.pillar.hosts[e.type].hostKeys?.[e.index] ?? "";

  const generatedKey = (e: Endpoint): GeneratedHostKey => {
    let key = generated.get(e.name);
    if (key) return key;
    if (e.style === "foundation") throw new Error(`${e.name} is a foundation host: the program does not make its key`);
    if (!settings.hostKeySecret) {
      throw new pulumi.RunError(
        "virtual and physical endpoints get SSH host keys derived from a stack secret: `openssl rand -base64 32 | pulumi config set --secret kinetic:serviceSecret` (or kinetic:hostKeySecret)",
      );
    }
    if (settings.hostKeySecretIsLegacy && !warnedLegacy) {
      warnedLegacy = true;
      void pulumi.log.warn(
        "kinetic:hostKeySecret is not set: host keys are derived from kinetic:serviceSecret, as before (so they stay the same). Set kinetic:hostKeySecret to that same value to keep them and make the two independent (README \"SSH host keys\", migration)",
      );
    }
    // A virtual machine's base is its recorded generation (virtualGenerations.ts, issue 21): the
    // definition hash it was made with, which a change a running guest takes (nameservers) keeps.
    const base: pulumi.Input<string> =
      e.style === "virtual" ? virtualGeneration(cloud, virtualMachineSpec(e, cloud.pillar.hosts[e.type], cloud.pillar, settings.stack, [settings.sshPublicKey])).generation : PHYSICAL_GENERATION;
    const rebuilt = settings.hostKeyGenerations[e.name] ?? 0;
    key = generatedHostKey(settings.hostKeySecret, e.name, pulumi.output(base).apply((b) => hostKeyGeneration(b, rebuilt)));
    generated.set(e.name, key);
    return key;
  };

  return {
    generated: generatedKey,
    hostKey(e) {
      if (e.style !== "foundation") return generatedKey(e).publicKey;
      const fromPillar = pillarKey(e);
      if (fromPillar) return fromPillar;
      // Another stack's host (a rack reaching the site's): the key the site recorded on first use.
      return trusted.get(e.name)?.hostKey ?? settings.siteHostKeys?.[e.name];
    },
    unpinned() {
      if (settings.trustOnFirstUse) return [];
      return cloud.endpoints.filter((e) => e.style === "foundation" && !pillarKey(e)).map((endpoint) => ({ endpoint, key: `hosts.${endpoint.type}.host_keys[${endpoint.index}]` }));
    },
    declareTrust(parentOf, only = () => true) {
      if (!settings.trustOnFirstUse) return;
      for (const e of cloud.endpoints) {
        if (e.style !== "foundation" || pillarKey(e) || trusted.has(e.name) || !only(e)) continue;
        const parent = parentOf(e);
        // The port every connection uses (kinetic:sshPort): 22 unless the stack says otherwise, so a stack on 22 sees no change.
        const record = new TrustedHostKey(`${e.name}-host-key`, { endpoint: e.name, host: e.address, port: settings.sshPort }, parent ? { parent } : {});
        record.fingerprint.apply((fp) => {
          if (fp) void pulumi.log.info(`${e.name} at ${e.address}: host key trusted on first use, ${fp}; add it to the pillar as hosts.${e.type}.host_keys[${e.index}] to make it explicit`, record);
        });
        trusted.set(e.name, record);
      }
    },
    pxeHostKeys() {
      const physical = cloud.endpoints.filter((e) => e.style === "physical");
      const lines = physical.map((e) => {
        const k = generatedKey(e);
        return pulumi.all([k.publicKey, k.privateKey]).apply(([pub, priv]) => [e.uuid, pub, Buffer.from(priv, "utf8").toString("base64")].join("\t"));
      });
      return pulumi.secret(pulumi.all(lines).apply((l) => l.join("\n")));
    },
  };
}
