/**
 * Credential rotation without a new seed: every derived credential belongs to one *class*, and each
 * class has an *epoch* in the stack's config (`kinetic:epochs`, README "Stack configuration").
 * Bumping a class's epoch gives every value of that class a new, unrelated derivation and leaves
 * every other value as it was, so `kinetic rotate --class fernet` re-runs exactly the phases that
 * read a fernet value (their trigger digests the values) and nothing else.
 *
 * Epoch 0, the default when the class or the whole key is absent, derives exactly what the program
 * derived before epochs existed: an existing stack sees no change on upgrade.
 *
 * Some values are identities or keys that encrypt data at rest: changing them loses that data (a new
 * Ceph fsid is another cluster, a new barbican KEK cannot decrypt the stored secrets, a new
 * credential key cannot decrypt keystone's stored credentials, a new libvirt secret UUID detaches
 * running instances from their RBD volumes). They belong to no class and never rotate
 * (`FIXED_SECRETS`): nothing destroys what nobody asked to destroy.
 */
import { createHmac } from "node:crypto";

/** The rotatable classes, with what each covers and whether the formulas can take a new value yet. */
export const SECRET_CLASSES = {
  service: {
    covers: "service passwords: MariaDB accounts, RabbitMQ's openstack user, keystone's admin and service users, rndc, guacamole's database, horizon's secret key, nova's metadata proxy",
    // Each holder takes the new value when its configure runs again (mysql: ALTER USER; rabbitmq:
    // change_password; keystone: bootstrap again; os_register: the service users) and each consumer
    // rewrites its files and restarts; the needs graph runs the holders first (README, "Rotation").
    notYet: undefined,
  },
  fernet: {
    covers: "keystone's fernet token keys (SECRET_KEYSTONE_FERNET)",
    notYet: undefined,
  },
  ceph: {
    covers: "Ceph auth keys (mon., client.admin, mgr, bootstrap-osd/mds/rgw)",
    notYet: "cephmon/configure puts keys into the monitors' auth database only at mkfs: a new key in the keyring files would lock every daemon and client out of the cluster",
  },
  hostKeys: {
    covers: "SSH host keys of virtual and physical endpoints",
    notYet: "re-keying sshd in place (without replacing the machine) is not built; `kinetic rebuild <type>` gives rebuilt machines new host keys",
  },
} as const;
export type SecretClass = keyof typeof SECRET_CLASSES;
export const SECRET_CLASS_NAMES = Object.keys(SECRET_CLASSES) as SecretClass[];

/** Values whose change loses data (see the module comment): derived at epoch 0 forever. */
export const FIXED_SECRETS: readonly string[] = ["SECRET_CEPH_FSID", "SECRET_CEPH_LIBVIRT", "SECRET_BARBICAN_KEK", "SECRET_KEYSTONE_CREDENTIAL"];

/**
 * Values that would belong to a class but whose formula cannot apply a new one yet: they stay at
 * epoch 0 (their phases do not re-run in a rotation), each with why. Rotating them anyway would
 * restart a service and leave the old credential in force while the program derives another.
 */
export const UNROTATED_SECRETS: Readonly<Record<string, string>> = {
  SECRET_RABBITMQ_COOKIE:
    "RabbitMQ's nodes must all restart with a new Erlang cookie together: configure restarts one node at a time, and a node on the new cookie cannot reach the others (pause_minority stops it) until they follow",
  SECRET_OPENSEARCH_ADMIN:
    "OpenSearch's security plugin reads OPENSEARCH_INITIAL_ADMIN_PASSWORD only when it first initialises its index; changing the admin password afterwards needs the old one or the admin certificate, which formulas/opensearch does not do",
};

/** Epoch of each class; a class that is absent is at 0. */
export type SecretEpochs = Partial<Record<SecretClass, number>>;

/** The class of a `SECRET_*` value, or undefined for a fixed or unrotated one. */
export function secretClass(name: string): SecretClass | undefined {
  if (FIXED_SECRETS.includes(name) || name in UNROTATED_SECRETS) return undefined;
  if (name === "SECRET_KEYSTONE_FERNET") return "fernet";
  if (name.startsWith("SECRET_CEPH_")) return "ceph";
  return "service";
}

/** The epoch a value is derived at under `epochs`. */
export function epochOf(name: string, epochs: SecretEpochs): number {
  const c = secretClass(name);
  return c ? epochs[c] ?? 0 : 0;
}

/**
 * `SECRET_<NAME>` at an epoch. Epoch 0 is the derivation from before epochs (unchanged, so existing
 * stacks keep every value); a later epoch adds `/epoch-<n>` to the HMAC's message. Names are
 * `SECRET_[A-Z0-9_]+`, so no name and epoch can spell another's message.
 */
export function deriveSecretAt(seed: string, name: string, epoch: number): string {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`a secret epoch is a whole number >= 0, not ${epoch}`);
  const message = epoch === 0 ? `kinetic-service-secret/${name}` : `kinetic-service-secret/${name}/epoch-${epoch}`;
  return createHmac("sha256", seed).update(message).digest("base64url").slice(0, 32);
}

/**
 * Problems in a `kinetic:epochs` value, each naming the key: an object of known classes to whole
 * numbers >= 0. A class whose rotation is not built yet may only be 0 (a higher value would be
 * silently ignored, or would lock services out).
 */
export function epochProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value !== "object" || value === null || Array.isArray(value)) return ["kinetic:epochs must be an object of class: epoch, e.g. {\"fernet\": 1}"];
  const problems: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!(k in SECRET_CLASSES)) problems.push(`kinetic:epochs.${k}: unknown class (classes: ${SECRET_CLASS_NAMES.join(", ")})`);
    else if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) problems.push(`kinetic:epochs.${k}: ${JSON.stringify(v)} is not a whole number >= 0`);
    else if (v > 0 && SECRET_CLASSES[k as SecretClass].notYet) problems.push(`kinetic:epochs.${k}: ${v}, but ${k} cannot be rotated yet: ${SECRET_CLASSES[k as SecretClass].notYet}`);
  }
  return problems;
}

/**
 * Per-endpoint host-key generations (`kinetic:hostKeyGenerations`, raised by `kinetic rebuild`):
 * problems, each naming the key.
 */
export function generationProblems(value: unknown): string[] {
  if (value === undefined) return [];
  if (typeof value !== "object" || value === null || Array.isArray(value)) return ["kinetic:hostKeyGenerations must be an object of endpoint: generation"];
  return Object.entries(value)
    .filter(([, v]) => typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    .map(([k, v]) => `kinetic:hostKeyGenerations.${k}: ${JSON.stringify(v)} is not a whole number >= 0`);
}
