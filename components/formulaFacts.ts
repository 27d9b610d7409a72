/**
 * The catalogue of values a formula may declare with `# kinetic-uses:` (documented in
 * formulas/README.md). All are strings; lists are space-separated unless noted. Facts about other
 * endpoints (their addresses) come from the same expansion that names those endpoints, so a
 * formula sees exactly the endpoints the program declares.
 */
import { Cloud, Endpoint, SUBNETS } from "../pillar";
import { deriveSecretAt } from "./secretEpochs";
import { FormulaValues } from "../formulas/envelope";

/** Upper-case a pillar name for use inside a value name (`ceph-mon` -> `CEPH_MON`). */
export const envName = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/**
 * Values the program supplies only as secrets, made where they are used (cloud.ts):
 * `PXE_HOST_KEYS`, one `uuid<TAB>public key line<TAB>base64(private key)` per physical endpoint,
 * the host keys the pxe server hands each installed server (components/hostKeyPins.ts).
 */
export const SECRET_FACTS = ["PXE_HOST_KEYS"] as const;

/** Facts shared by every endpoint of a cloud: computed once per program run, not per endpoint. */
export function cloudFacts(cloud: Cloud): FormulaValues {
  const { pillar, endpoints } = cloud;
  const v: FormulaValues = {
    TIMEZONE: pillar.timezone,
    NTP_SERVERS: pillar.ntp.servers.join(" "),
    NTP_FALLBACK: pillar.ntp.fallback.join(" "),
    AUTHORIZED_KEYS: pillar.authorizedKeys.join("\n"),
    SYSLOG_TARGET: pillar.syslog ?? "",
    GATEWAY: pillar.gateway ?? "",
    NAMESERVERS: pillar.nameservers.join(" "),
    DOMAIN: pillar.domain ?? "",
    IMAGES: Object.entries(pillar.images)
      .map(([name, i]) => `${name}\t${i.type}\t${i.url}`)
      .join("\n"),
    PXE_ASSIGNMENTS: endpoints
      .filter((e) => e.style === "physical")
      .map((e) => {
        const t = pillar.hosts[e.type];
        return [e.uuid, e.name, t.interface ?? "", t.os ?? "", t.disk ?? "", e.address].join("\t");
      })
      .join("\n"),
  };
  for (const s of SUBNETS) v[`SUBNET_${envName(s)}`] = pillar.subnets[s] ?? "";
  const byType = new Map<string, Endpoint[]>();
  for (const e of endpoints) byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
  for (const [type, list] of byType) {
    v[`ADDRESSES_${envName(type)}`] = list.map((e) => e.address).join(" ");
    v[`NAMES_${envName(type)}`] = list.map((e) => e.name).join(" ");
  }
  // By role across types (storage and storagev2 are both role storage): the Ceph monitors size pools by it.
  const byRole = new Map<string, Endpoint[]>();
  for (const e of endpoints) byRole.set(e.role, [...(byRole.get(e.role) ?? []), e]);
  for (const [role, list] of byRole) v[`ROLE_ADDRESSES_${envName(role)}`] = list.map((e) => e.address).join(" ");
  return v;
}

/** Facts of one endpoint, on top of the cloud's. */
export function endpointFacts(cloud: Cloud, shared: FormulaValues, e: Endpoint): FormulaValues {
  const type = cloud.pillar.hosts[e.type];
  const managed = Object.entries(type.networks).filter(([, n]) => n.managed);
  const v: FormulaValues = {
    ...shared,
    NAME: e.name,
    TYPE: e.type,
    ROLE: e.role,
    STYLE: e.style,
    UUID: e.uuid,
    INDEX: String(e.index),
    COUNT: String(type.count),
    ADDRESS: e.address,
    PREFIX_LENGTH: String(e.prefixLength),
    NETWORKS: managed.map(([n]) => n).join(" "),
    // physical storage types: the disks that become Ceph OSDs (space-separated /dev paths)
    OSD_DISKS: (type.osdDisks ?? []).join(" "),
  };
  for (const [net, spec] of managed) {
    const N = envName(net);
    v[`NET_${N}_INTERFACES`] = spec.interfaces.join(" ");
    v[`NET_${N}_BRIDGE`] = String(spec.bridge);
    v[`NET_${N}_ADDRESS`] = net === "management" ? `${e.address}/${e.prefixLength}` : spec.addresses[e.index] ?? "";
    v[`NET_${N}_SUBNET`] = cloud.pillar.subnets[net as keyof typeof cloud.pillar.subnets] ?? "";
  }
  return v;
}

/**
 * Service passwords: `SECRET_<NAME>` is derived from the stack's one secret seed, so a formula can
 * declare any secret it needs without a config key per password, and every run derives the same.
 * This is the value at epoch 0; a rotated class derives at its epoch (secretEpochs.ts).
 */
export function deriveSecret(seed: string, name: string): string {
  return deriveSecretAt(seed, name, 0);
}
