/**
 * Turns the merged pillar tree into the typed model, reporting every problem with its file, line
 * and key path. Nothing here declares resources: the program runs this first and stops on errors.
 *
 * The bar: a pillar that passes can be built. Whatever would make a renderer (domain XML, cloud-init
 * seed, formula input), the allocator or a machine fail later is a problem here, with its place.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LOCK_FILE, RESERVED_HEAD } from "./addresses";
import { Checker } from "./checker";
import { PillarProblem, SourceLocation } from "./errors";
import { HostType, Needs, NetworkSpec, Phase, PHASES, Pillar, STYLES, SubnetName, SUBNETS } from "./model";
import { Cidr, contains, formatIpv4, hostRange, parseCidr, parseInterfaceAddress, parseIpv4 } from "./net";
import { publicKeyBlob } from "./sshPublicKey";
import { fileData, has, isReported, KeyPath, newMap, parseFile, PillarMap, PillarSource, quote, readPillarSource } from "./source";
import { SITE, STACK_NAME } from "./stacks";
import { CONTROLLER_ROLE, Edge, PXE_TYPE, typePhaseEdges } from "./typeGraph";
import { roleRequirements } from "../formulas/requirements";

const TOP_KEYS = ["hosts", "networking", "bmc", "authorized_keys", "timezone", "ntp", "images", "syslog", "stacks"] as const;
const HOST_KEYS = ["style", "enabled", "role", "uuids", "interface", "disk", "count", "ram", "cpu", "os", "addresses", "networks", "needs", "boot_mode", "kvm_disk_config", "host_keys", "osd_disks", "stack"] as const;
const NETWORK_KEYS = ["interfaces", "bridge", "managed", "addresses"] as const;
const NETWORKING_KEYS = ["subnets", "gateway", "nameservers", "domain"] as const;

/** Keys of the original's pillar that mean something else here, with what to write instead. */
const HOST_HINTS: Readonly<Record<string, string>> = {
  servers:
    "is the original's number of servers; here each physical server is listed by its SMBIOS UUID under `uuids` (find them with `npm run kinetic -- redfish discover <oob cidr>`)",
};

/**
 * Bounds checked before anything is expanded. Sources: `count` and `uuids` well above any one
 * cloud's type; ram in KiB as libvirt's `<memory unit='KiB'>` (64 MiB to 4 TiB); vCPUs: the i440fx
 * machine type takes at most 255.
 */
export const LIMITS = {
  types: 512,
  count: 1024,
  uuids: 4096,
  endpoints: 16384,
  ramKiB: { min: 65536, max: 4294967296 },
  cpu: { min: 1, max: 255 },
  /** Virtual disk sizes: below a cloud image's own size `qemu-img resize` fails. */
  diskBytes: { min: 2 ** 32, max: 2 ** 46 },
  addresses: 4096,
  nameservers: 3,
  ntpServers: 16,
  authorizedKeys: 64,
  images: 64,
} as const;

/** Operating systems the pxe formula can install on physical servers (it writes Ubuntu autoinstall, subiquity). */
export const PXE_OS = ["ubuntu2004", "ubuntu2204", "ubuntu2404"] as const;

/** SMBIOS UUIDs BMCs report when the vendor never set one: they name no particular server. */
const PLACEHOLDER_UUIDS = new Set(["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "03000200-0400-0500-0006-000700080009"]);

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/**
 * Endpoint names `<type>-<uuid>` become host names (at most 63 characters) and Pulumi names: type
 * names are DNS-label safe and at most 26 characters (26 + 1 + 36 = 63).
 */
const TYPE_NAME = /^[a-z][a-z0-9]{0,25}$/;
/** Names JavaScript objects carry already; a type must not be named like one. */
const RESERVED_NAMES = new Set(["constructor", "prototype", "__proto__"]);
const IFACE = /^[a-zA-Z0-9_.:-]{1,15}$/;
const DISK_SIZE = /^[1-9][0-9]{0,15}[KMGT]?$/;
const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ONE_LINE = /^[^\t\r\n]{1,256}$/;
/** A host name or address: NTP servers end up space-separated in timesyncd.conf. */
const HOST = /^[A-Za-z0-9._:[\]-]{1,253}$/;
/**
 * An OSD disk: a /dev path (stable names such as /dev/disk/by-id/... are best), no `..`, no
 * spaces; formulas/storage/configure receives the list space-separated (OSD_DISKS).
 */
const OSD_DISK = /^\/dev\/(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9/_.:+-]{0,250}$/;
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Virtual NICs `ensN`: N is the PCI slot, 3-27 on bus 0 (providers/libvirt/domainXml.ts NIC_SLOTS). */
const VIRTUAL_NIC = /^ens([1-9][0-9]?)$/;
export const VIRTUAL_NIC_SLOTS = { min: 3, max: 27 } as const;

/** The directory holding `defaults/needs.yaml`. */
export const DEFAULTS_DIR = path.join(__dirname, "defaults");

export interface LoadResult {
  pillar?: Pillar;
  problems: PillarProblem[];
  /** The pillar's `addresses.lock.yaml`, checked (empty when there is none). */
  lock?: Record<string, string>;
}

export interface ValidateOptions {
  /** Accept a pillar that declares no endpoint at all (stack config `kinetic:allowEmpty`). */
  allowEmpty?: boolean;
  /**
   * The formulas the pillar will run with: each enabled role must find the roles its formulas need
   * (formulas/requirements.ts). The plan and the program pass theirs; default: not checked (a test
   * pillar of one role, run with stub formulas, is not a cloud and need not be).
   */
  formulasDir?: string;
}

/** Read, merge and validate a pillar directory. Problems are returned, never thrown. */
export function validatePillarDir(dir: string, defaultsDir = DEFAULTS_DIR, opts: ValidateOptions = {}): LoadResult {
  const problems: PillarProblem[] = [];
  const source = readPillarSource(dir, problems);
  const defaults = readPillarSource(defaultsDir, problems);
  if (problems.length) return { problems };
  return validate(source, defaults, opts);
}

const swapUuid = (u: string): string => {
  const h = u.replace(/-/g, "");
  const rev = (s: string) => s.match(/../g)!.reverse().join("");
  const s = rev(h.slice(0, 8)) + rev(h.slice(8, 12)) + rev(h.slice(12, 16)) + h.slice(16);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
};

/** `12G` -> bytes; undefined when not a size. */
function sizeBytes(s: string): number | undefined {
  const m = /^([1-9][0-9]{0,15})([KMGT]?)$/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * 1024 ** " KMGT".indexOf(m[2] || " ");
}

function validate(source: PillarSource, defaults: PillarSource, opts: ValidateOptions): LoadResult {
  const c = new Checker(source);
  const d = new Checker(defaults);
  const t = source.tree;
  const loc = (p: KeyPath) => {
    const l = source.locate(p);
    return `${l.file}:${l.line}`;
  };
  c.keys(t, TOP_KEYS, []);
  const missingTop = (key: string, what: string) => {
    const empty = source.emptyFiles.length ? ` (${source.emptyFiles.map((f) => path.basename(f)).join(", ")} ${source.emptyFiles.length === 1 ? "is" : "are"} empty)` : "";
    c.report([key], `is required (${what}) and no file of the pillar defines it: add it to one of ${source.files.map((f) => path.basename(f)).join(", ")}${empty}`);
  };

  // networking
  if (t.networking === undefined) missingTop("networking", "a mapping with `subnets`");
  const net = c.map(t.networking, ["networking"], t.networking === null) ?? newMap();
  c.keys(net, NETWORKING_KEYS, ["networking"]);
  const subnetsRaw = c.map(net.subnets, ["networking", "subnets"], t.networking !== undefined) ?? newMap();
  c.keys(subnetsRaw, SUBNETS, ["networking", "subnets"]);
  const subnets: Partial<Record<SubnetName, string>> = {};
  const cidrs: Partial<Record<SubnetName, Cidr>> = {};
  for (const name of SUBNETS) {
    const text = c.string(subnetsRaw[name], ["networking", "subnets", name], { what: "an IPv4 CIDR such as 10.0.0.0/24" });
    if (text === undefined) continue;
    const cidr = parseCidr(text);
    if (!cidr) {
      c.report(["networking", "subnets", name], `must be an IPv4 network in CIDR form with zero host bits, got ${quote(text)}`);
      continue;
    }
    const clash = SUBNETS.find((other) => cidrs[other] && (contains(cidrs[other]!, cidr.network) || contains(cidr, cidrs[other]!.network)));
    if (clash) {
      const o = cidrs[clash]!;
      c.report(["networking", "subnets", name], o.network === cidr.network && o.prefixLength === cidr.prefixLength ? `is the same network as networking.subnets.${clash}` : `${text} overlaps networking.subnets.${clash} (${o.text}): each network needs its own range`);
    }
    [subnets[name], cidrs[name]] = [text, cidr];
  }
  if (t.networking !== undefined && net.subnets !== undefined && !isReported(subnetsRaw.management) && (subnetsRaw.management === undefined || subnetsRaw.management === null)) {
    c.report(["networking", "subnets", "management"], "is required: management addresses are allocated from it");
  }
  const mgmt = cidrs.management;
  if (mgmt && mgmt.prefixLength > 30) c.report(["networking", "subnets", "management"], `${mgmt.text} has no room for endpoints (a /${mgmt.prefixLength}); use a /30 or larger`);
  /** Why an address cannot be a host's address in `cidr`, if it cannot. */
  const badHostAddress = (ip: number, cidr: Cidr, what: string): string | undefined => {
    if (!contains(cidr, ip)) return `${formatIpv4(ip)} is outside the ${what} subnet ${cidr.text}`;
    const { first, last } = hostRange(cidr);
    if (ip < first) return `${formatIpv4(ip)} is the network address of ${cidr.text}, not a host address`;
    if (ip > last) return `${formatIpv4(ip)} is the broadcast address of ${cidr.text}, not a host address`;
    return undefined;
  };
  const ipv4 = (v: unknown, p: KeyPath) => {
    const s = c.string(v, p, { what: "an IPv4 address" });
    if (s !== undefined && parseIpv4(s) === undefined) {
      c.report(p, `must be an IPv4 address, got ${quote(s)}`);
      return undefined;
    }
    return s;
  };
  const gateway = ipv4(net.gateway, ["networking", "gateway"]);
  if (gateway !== undefined && mgmt) {
    const why = badHostAddress(parseIpv4(gateway)!, mgmt, "management");
    if (why) c.report(["networking", "gateway"], `${why}: the gateway must be reachable on the management network`);
  }
  const nameservers = c.strings(net.nameservers, ["networking", "nameservers"], { what: "IPv4 addresses", maxItems: LIMITS.nameservers });
  nameservers.forEach((n, i) => parseIpv4(n) === undefined && c.report(["networking", "nameservers", i], `must be an IPv4 address, got ${quote(n)}`));
  const domain = c.string(net.domain, ["networking", "domain"], { pattern: DOMAIN, what: "a DNS domain such as cloud.example.org (labels of at most 63, at most 253 characters)" });

  // global settings
  const bmc = c.map(t.bmc, ["bmc"]) ?? newMap();
  c.keys(bmc, ["api_user"], ["bmc"]);
  const bmcUser = c.string(bmc.api_user, ["bmc", "api_user"], { pattern: /^[A-Za-z0-9._@-]{1,64}$/, what: "a BMC account name (letters, digits, '.', '_', '@', '-')" }) ?? "";
  const authorizedKeys = c.strings(t.authorized_keys, ["authorized_keys"], { what: "SSH public keys", maxItems: LIMITS.authorizedKeys });
  authorizedKeys.forEach((k, i) => {
    if (!/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/]+={0,3}( [^\u0000-\u001f\u007f]*)?$/.test(k)) {
      c.report(["authorized_keys", i], "must be one SSH public key line (type, base64, optional comment)");
    }
  });
  const timezone = c.string(t.timezone, ["timezone"], { pattern: /^[A-Za-z0-9_+\-/]{1,64}$/, what: "a tz database name such as UTC or America/New_York" }) ?? "UTC";
  const ntp = c.map(t.ntp, ["ntp"]) ?? newMap();
  c.keys(ntp, ["ntp_server", "ntp_fallback"], ["ntp"]);
  const ntpServers = c.strings(ntp.ntp_server, ["ntp", "ntp_server"], { pattern: HOST, what: "host names or addresses", maxItems: LIMITS.ntpServers });
  const ntpFallback = c.strings(ntp.ntp_fallback, ["ntp", "ntp_fallback"], { pattern: HOST, what: "host names or addresses", maxItems: LIMITS.ntpServers });
  const imagesRaw = c.map(t.images, ["images"]) ?? newMap();
  const images: Pillar["images"] = newMap() as Pillar["images"];
  if (Object.keys(imagesRaw).length > LIMITS.images) c.report(["images"], `has ${Object.keys(imagesRaw).length} entries; at most ${LIMITS.images}`);
  else
    for (const name of Object.keys(imagesRaw)) {
      if (!IMAGE_NAME.test(name)) c.report(["images", name], "image names are letters, digits, '.', '_' and '-' (at most 63)", { key: true });
      const img = c.map(imagesRaw[name], ["images", name], true, "a mapping with `url` and `type`");
      if (!img) continue;
      c.keys(img, ["url", "type"], ["images", name]);
      const url = c.string(img.url, ["images", name, "url"], { required: true, pattern: /^https?:\/\/[^\s"'<>\\]{1,2040}$/, what: "an http(s) URL" });
      const type = c.string(img.type, ["images", name, "type"], { required: true, pattern: /^(qcow2|raw|vmdk|vdi|vhdx|qed)$/, what: "an image format such as qcow2 or raw" });
      if (url !== undefined && type !== undefined && IMAGE_NAME.test(name)) images[name] = { url, type };
    }
  const syslog = c.string(t.syslog, ["syslog"], { pattern: /^(udp|tcp):\/\/[A-Za-z0-9.-]{1,253}:\d{1,5}$/, what: "udp://host:port or tcp://host:port" });
  if (syslog !== undefined) {
    const port = Number(syslog.slice(syslog.lastIndexOf(":") + 1));
    if (port < 1 || port > 65535) c.report(["syslog"], `port ${port} is not a port number (1-65535)`);
  }

  // hosts
  if (t.hosts === undefined) missingTop("hosts", "a mapping of endpoint types");
  const hostsRaw = c.map(t.hosts, ["hosts"], t.hosts === null, "a mapping of endpoint types") ?? newMap();
  const hosts = newMap() as Record<string, HostType>;
  const needsWritten = new Map<string, Needs>();
  const typeNames = Object.keys(hostsRaw);
  if (typeNames.length > LIMITS.types) c.report(["hosts"], `has ${typeNames.length} types; at most ${LIMITS.types}`);
  for (const name of typeNames.length > LIMITS.types ? [] : typeNames) {
    if (RESERVED_NAMES.has(name)) {
      c.report(["hosts", name], `'${name}' is reserved; choose another type name`, { key: true });
      continue;
    }
    if (!TYPE_NAME.test(name)) {
      c.report(["hosts", name], "type names are lower-case letters and digits, starting with a letter, at most 26 characters (endpoint names <type>-<uuid> are host names of at most 63)", { key: true });
      continue;
    }
    const h = c.map(hostsRaw[name], ["hosts", name], true, "a mapping with at least `style`");
    if (!h) continue;
    const host = readHost(c, name, h, images, cidrs, new Set(Object.keys(subnetsRaw).filter((k) => subnetsRaw[k] !== null)));
    if (host) hosts[name] = host;
    if (h.needs !== undefined && h.needs !== null) needsWritten.set(name, readNeeds(c, h.needs, ["hosts", name, "needs"]));
  }

  // needs: defaults, then the pillar's per-phase overrides
  const notes: string[] = [];
  const defaultHosts = d.map(defaults.tree.hosts, ["hosts"], true) ?? newMap();
  const enabled = (n: string) => has(hosts, n) && hosts[n].enabled;
  for (const host of Object.values(hosts)) {
    const inDefaults = has(defaultHosts, host.name);
    const defaultNeeds = inDefaults ? readNeeds(d, (d.map(defaultHosts[host.name], ["hosts", host.name]) ?? newMap()).needs, ["hosts", host.name, "needs"]) : {};
    const written = needsWritten.get(host.name) ?? {};
    const needs: Needs = {};
    for (const phase of PHASES) {
      const fromPillar = written[phase];
      const entries = fromPillar ?? defaultNeeds[phase] ?? {};
      const kept: Record<string, Phase> = {};
      for (const [dep, depPhase] of Object.entries(entries)) {
        if (enabled(dep)) {
          kept[dep] = depPhase;
        } else if (fromPillar) {
          if (host.enabled) {
            c.report(
              ["hosts", host.name, "needs", phase, dep],
              has(hosts, dep) ? `names type '${dep}', which is not enabled: enable it or remove this need` : `names type '${dep}', which the pillar does not define (types: ${Object.keys(hosts).sort().join(", ") || "none"})`,
              { key: true },
            );
          }
        } else if (host.enabled) {
          notes.push(`default need ${host.name}.${phase} -> ${dep}.${depPhase} dropped: type '${dep}' is ${has(hosts, dep) ? "not enabled" : "not in the pillar"}`);
        }
      }
      if (Object.keys(kept).length) needs[phase] = kept;
    }
    host.needs = needs;
    if (host.enabled && host.name !== PXE_TYPE && !inDefaults && !needsWritten.has(host.name) && host.count > 0) {
      notes.push(`type '${host.name}' has no needs at all (it is not in pillar/defaults/needs.yaml and its pillar entry has no \`needs\`): its phases wait for nothing but its own provisioning; add \`needs\` if it uses other services`);
    }
  }
  if (d.problems.length) c.problems.push(...d.problems);

  const active = Object.values(hosts).filter((h) => h.enabled);
  const controllers = active.filter((h) => h.role === CONTROLLER_ROLE && h.style !== "virtual");
  const pxeEndpoints = enabled(PXE_TYPE) ? hosts[PXE_TYPE].count : 0;
  for (const h of active) {
    if (h.style === "virtual" && h.count > 0 && !controllers.some((ct) => ct.count > 0)) {
      c.report(["hosts", h.name, "style"], "is virtual, but no enabled physical or foundation type with role 'controller' has an endpoint to host it: add one (the machines running libvirt)");
    }
    if (h.style === "physical" && h.count > 0 && pxeEndpoints === 0) {
      c.report(
        ["hosts", h.name, "style"],
        has(hosts, PXE_TYPE)
          ? `is physical, but type 'pxe' ${hosts[PXE_TYPE].enabled ? "has no endpoint" : "is not enabled"}: physical servers boot from it`
          : "is physical, but no enabled 'pxe' type exists to boot it from: add `hosts.pxe` (style foundation, with the PXE server's address under `addresses`)",
      );
    }
  }
  // Roles that cannot form a cloud (issue 20): nova without placement, volume without a Ceph monitor,
  // an OpenStack service without mysql/rabbitmq/keystone... would wait at run time for what never
  // comes. The table is read from the formulas (formulas/requirements.ts).
  const provided = new Set(active.filter((h) => h.count > 0).map((h) => h.role));
  const requirements = opts.formulasDir !== undefined ? roleRequirements(opts.formulasDir) : [];
  for (const h of active) {
    if (h.count === 0) continue;
    for (const r of requirements) {
      if (r.role !== h.role || provided.has(r.needs)) continue;
      const raw = hostsRaw[h.name] as PillarMap;
      c.report(
        has(raw, "role") ? ["hosts", h.name, "role"] : ["hosts", h.name],
        `role '${h.role}' needs role '${r.needs}' (${r.because}); no enabled type with endpoints has role '${r.needs}': add one, or disable type '${h.name}'`,
        has(raw, "role") ? {} : { key: true },
      );
    }
  }
  const stacks = checkStacks(c, t, hosts, hostsRaw, needsWritten);

  // Discovery logs in to every BMC as bmc.api_user: without it no physical server can be found
  // (seen only under the real engine, where discovery's Check refuses an empty user).
  const firstPhysical = active.find((h) => h.style === "physical" && h.count > 0);
  if (firstPhysical && !bmcUser) {
    c.report(["hosts", firstPhysical.name, "style"], "is physical, but the pillar sets no `bmc.api_user`: add `bmc: {api_user: <account>}` (its password is the stack secret kinetic:bmcPassword)");
  }

  // UUIDs across every physical type, case-insensitive; byte-swapped forms name the same server
  const seen = new Map<string, string>();
  for (const h of Object.values(hosts)) {
    // Walk the raw list so indices match the file even when an invalid entry was dropped.
    const raw = (hostsRaw[h.name] as PillarMap).uuids;
    (Array.isArray(raw) ? raw : []).forEach((item: unknown, i) => {
      if (typeof item !== "string" || !UUID.test(item)) return;
      const u = item.toLowerCase();
      if (PLACEHOLDER_UUIDS.has(u)) {
        c.report(["hosts", h.name, "uuids", i], `${u} is a placeholder UUID that BMCs report when the vendor never set one; it names no particular server (read the real one with \`npm run kinetic -- redfish discover\`)`);
        return;
      }
      const prev = seen.get(u);
      const swapped = seen.get(swapUuid(u));
      if (prev) c.report(["hosts", h.name, "uuids", i], `UUID ${u} is also listed at ${prev}`);
      else if (swapped && swapUuid(u) !== u) c.report(["hosts", h.name, "uuids", i], `UUID ${u} is the byte-swapped form of ${swapUuid(u)} listed at ${swapped}: discovery treats them as the same server`);
      else seen.set(u, `${loc(["hosts", h.name, "uuids", i])} (hosts.${h.name}.uuids.${i})`);
    });
  }

  // pinned management addresses, and static addresses per network: unique over the pillar
  const pinnedBy = new Map<number, string>();
  const seenStatic = new Map<string, string>();
  const gatewayIp = gateway !== undefined ? parseIpv4(gateway) : undefined;
  for (const h of active) {
    h.addresses.forEach((a, i) => {
      const ip = parseIpv4(a);
      if (ip === undefined) return;
      const p = ["hosts", h.name, "addresses", i];
      if (ip === gatewayIp) c.report(p, `${a} is the gateway (networking.gateway)`);
      const prev = pinnedBy.get(ip);
      if (prev) c.report(p, `${a} is also pinned at ${prev}`);
      else pinnedBy.set(ip, `${loc(p)} (hosts.${h.name}.addresses.${i})`);
    });
    for (const [netName, spec] of Object.entries(h.networks)) {
      spec.addresses.forEach((a, i) => {
        const ia = parseInterfaceAddress(a);
        if (!ia) return;
        const p = ["hosts", h.name, "networks", netName, "addresses", i];
        const key = `${netName}/${ia.address}`;
        const prev = seenStatic.get(key);
        if (prev) c.report(p, `${a.split("/")[0]} is also used at ${prev}`);
        else seenStatic.set(key, `${loc(p)} (hosts.${h.name}.networks.${netName}.addresses.${i})`);
      });
    }
  }

  // the management subnet must hold every endpoint: one report, with the numbers
  const totalEndpoints = active.reduce((n, h) => n + h.count, 0);
  if (totalEndpoints > LIMITS.endpoints) c.report(["hosts"], `declares ${totalEndpoints} endpoints; at most ${LIMITS.endpoints}`);
  else if (mgmt && mgmt.prefixLength <= 30) {
    const { first, last } = hostRange(mgmt);
    const start = first + Math.min(RESERVED_HEAD, Math.floor((last - first + 1) / 4));
    const taken = new Set<number>();
    for (const a of [gateway, ...nameservers]) {
      const ip = a === undefined ? undefined : parseIpv4(a);
      if (ip !== undefined && ip >= start && ip <= last) taken.add(ip);
    }
    let pinned = 0;
    for (const h of active) {
      const n = Math.min(h.addresses.length, h.count);
      pinned += n;
      h.addresses.slice(0, n).forEach((a) => {
        const ip = parseIpv4(a);
        if (ip !== undefined && ip >= start && ip <= last) taken.add(ip);
      });
    }
    const room = last - start + 1 - taken.size;
    const need = totalEndpoints - pinned;
    if (need > room) {
      c.report(
        ["networking", "subnets", "management"],
        `${mgmt.text} has room for ${Math.max(room, 0)} allocated addresses (${last - first + 1} host addresses, the first ${start - first} kept for routers and VIPs, ${taken.size} gateway/nameserver/pinned), but ${need} endpoints need one: use a larger subnet`,
      );
    }
  }

  // an empty cloud would destroy every machine of an existing stack
  if (totalEndpoints === 0 && !opts.allowEmpty && t.hosts !== undefined && !isReported(t.hosts)) {
    c.report(
      ["hosts"],
      `declares no endpoint (${typeNames.length ? "every type is disabled or has none" : "no types"}): on an existing stack \`pulumi up\` would destroy every machine. If that is what you want, set \`kinetic:allowEmpty: true\` in the stack config (the plan: --allow-empty)`,
      { key: true },
    );
  }

  // cycles, on the (type, phase) graph of the enabled types: every independent one
  for (const cycle of findCycles(typePhaseEdges(active))) {
    const text = cycle.join(" -> ");
    const closing = closingNeed(cycle, hosts);
    if (closing) {
      const [type, phase, dep] = closing;
      const written = needsWritten.get(type)?.[phase];
      if (written && has(written, dep)) c.report(["hosts", type, "needs", phase, dep], `closes a dependency cycle: ${text}`, { key: true });
      else c.report(["hosts", type], `has a dependency cycle through the default needs (pillar/defaults/needs.yaml): ${text}; write \`needs.${phase}\` for this type to break it`, { key: true });
    } else {
      c.report(["hosts", cycle[0].split(".")[0]], `dependency cycle: ${text}`, { key: true });
    }
  }

  // the address lock: locked addresses never move, so a broken lock is a problem, never repaired
  const lock = readLockChecked(source.dir, c.problems, { mgmt, gateway: gatewayIp, nameservers, pinnedBy });

  if (c.problems.length) return { problems: c.problems };
  return {
    problems: [],
    lock,
    pillar: {
      dir: source.dir,
      hosts,
      stacks,
      subnets,
      bmc: { user: bmcUser },
      authorizedKeys,
      timezone,
      ntp: { servers: ntpServers, fallback: ntpFallback },
      images,
      gateway,
      nameservers,
      domain,
      syslog,
      notes,
    },
  };
}

/** The need edge that closes a cycle: the edge into the cycle's first node if it is a need, else the last need edge. */
function closingNeed(cycle: string[], hosts: Record<string, HostType>): [type: string, phase: Phase, dep: string] | undefined {
  const edges: [string, string][] = [];
  for (let i = 0; i + 1 < cycle.length; i++) edges.push([cycle[i], cycle[i + 1]]);
  for (const [from, to] of edges.reverse()) {
    const [dep, depPhase] = from.split(".");
    const [type, phase] = to.split(".") as [string, Phase];
    if (type === dep || !has(hosts, type)) continue;
    const n = hosts[type].needs[phase];
    if (n && has(n, dep) && n[dep] === depPhase) return [type, phase, dep];
  }
  return undefined;
}

/**
 * One cycle per strongly connected component (Tarjan, iterative), each starting at its smallest
 * node and closing with the edge back to it. Deterministic.
 */
export function findCycles(edges: Edge[]): string[][] {
  const out = new Map<string, string[]>();
  for (const [a, b] of edges) {
    if (!out.has(a)) out.set(a, []);
    if (!out.has(b)) out.set(b, []);
    out.get(a)!.push(b);
  }
  for (const list of out.values()) list.sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  let counter = 0;
  for (const root of [...out.keys()].sort()) {
    if (index.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i === 0) {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
      }
      const succ = out.get(v)!;
      if (i < succ.length) {
        frame[1]++;
        const w = succ[i];
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || out.get(v)!.includes(v)) sccs.push(comp.sort());
      }
    }
  }
  // Within each component: the shortest cycle through its smallest node (breadth-first).
  return sccs
    .map((comp) => {
      const members = new Set(comp);
      const start = comp[0];
      const prev = new Map<string, string>();
      const queue = [start];
      let found: string | undefined;
      for (let q = 0; q < queue.length && !found; q++) {
        for (const w of out.get(queue[q])!) {
          if (!members.has(w)) continue;
          if (w === start) {
            found = queue[q];
            break;
          }
          if (!prev.has(w)) {
            prev.set(w, queue[q]);
            queue.push(w);
          }
        }
      }
      const path: string[] = [start];
      for (let n = found!; n !== start; n = prev.get(n)!) path.splice(1, 0, n);
      return [...path, start];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

interface LockContext {
  mgmt?: Cidr;
  gateway?: number;
  nameservers: string[];
  pinnedBy: Map<number, string>;
}

/** `addresses.lock.yaml`, read like a pillar file: every entry checked, nothing repaired. */
function readLockChecked(dir: string, problems: PillarProblem[], ctx: LockContext): Record<string, string> {
  const file = path.join(dir, LOCK_FILE);
  const lock: Record<string, string> = newMap() as Record<string, string>;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") {
      let target = "";
      try {
        target = fs.readlinkSync(file);
      } catch {
        return lock; // no lock yet
      }
      problems.push({ location: { file, line: 0, column: 0 }, keyPath: "(lock)", reason: `is a dangling symbolic link (to ${target})` });
    } else problems.push({ location: { file, line: 0, column: 0 }, keyPath: "(lock)", reason: `cannot be read (${code ?? String(e)})` });
    return lock;
  }
  if (!st.isFile() || st.size > 1 << 22) {
    problems.push({ location: { file, line: 0, column: 0 }, keyPath: "(lock)", reason: st.isFile() ? "is larger than 4 MiB" : "is not a regular file" });
    return lock;
  }
  const before = problems.length;
  const pf = parseFile(file, problems);
  if (!pf) return lock;
  const data = fileData(pf, problems);
  if (problems.length > before) return lock;
  if (data === null || data === undefined) return lock;
  const where = (p: KeyPath): SourceLocation => {
    let node = pf.doc.contents as unknown;
    let target = node;
    for (const k of p) {
      const m = node as { items?: { key: { value?: unknown; range?: number[] }; value: unknown }[] };
      const pair = m.items?.find((it) => String(it.key?.value) === String(k));
      if (!pair) break;
      target = pair.key;
      node = pair.value;
    }
    const offset = (target as { range?: number[] })?.range?.[0];
    if (offset === undefined) return { file, line: 0, column: 0 };
    const pos = pf.lines.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  const report = (key: string | undefined, reason: string) =>
    problems.push({ location: where(key === undefined ? [] : [key]), keyPath: key === undefined ? "(lock)" : key, reason });
  if (typeof data !== "object" || Array.isArray(data) || isReported(data)) {
    report(undefined, "must be a mapping of endpoint keys to addresses (write it with `npm run plan -- DIR --lock`)");
    return lock;
  }
  const byAddress = new Map<number, string>();
  const m = data as PillarMap;
  const fix = "a locked address never moves: correct or delete this entry (then `npm run plan -- DIR --lock`)";
  for (const key of Object.keys(m)) {
    const v = m[key];
    if (!/^[a-z][a-z0-9]{0,25}\/([0-9]{1,5}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.test(key)) {
      report(key, `is not an endpoint key <type>/<index> or <type>/<lower-case uuid>; ${fix}`);
      continue;
    }
    const ip = typeof v === "string" ? parseIpv4(v) : undefined;
    if (ip === undefined) {
      report(key, `must be an IPv4 address, got ${typeof v === "string" ? quote(v) : typeof v}; ${fix}`);
      continue;
    }
    const s = v as string;
    if (ctx.mgmt) {
      const { first, last } = hostRange(ctx.mgmt);
      if (!contains(ctx.mgmt, ip) || ip < first || ip > last) {
        report(key, `${s} is not a host address of the management subnet ${ctx.mgmt.text}; ${fix}`);
        continue;
      }
    }
    if (ip === ctx.gateway || ctx.nameservers.includes(s)) {
      report(key, `${s} is the ${ip === ctx.gateway ? "gateway" : "a nameserver"}; ${fix}`);
      continue;
    }
    const prev = byAddress.get(ip);
    if (prev) {
      report(key, `${s} is also locked for ${prev}; ${fix}`);
      continue;
    }
    byAddress.set(ip, key);
    lock[key] = s;
  }
  for (const [ip, key] of byAddress) {
    const pin = ctx.pinnedBy.get(ip);
    if (pin && !pin.includes(`(hosts.${key.split("/")[0]}.addresses.`)) report(key, `${formatIpv4(ip)} is now pinned at ${pin}; ${fix}`);
  }
  return lock;
}

function readNeeds(c: Checker, raw: unknown, keyPath: KeyPath): Needs {
  const m = c.map(raw, keyPath, false, "a mapping of phases (base, networking, install, configure)");
  const needs: Needs = {};
  if (!m) return needs;
  c.keys(m, PHASES, keyPath);
  for (const phase of PHASES) {
    if (!has(m, phase)) continue;
    const deps = m[phase] === null ? newMap() : c.map(m[phase], [...keyPath, phase], false, "a mapping of type: phase");
    if (!deps) continue;
    const out = newMap() as Record<string, Phase>;
    for (const dep of Object.keys(deps)) {
      const p = c.oneOf(deps[dep], [...keyPath, phase, dep], PHASES, { required: true });
      if (p) out[dep] = p;
    }
    needs[phase] = out;
  }
  return needs;
}

function readHost(
  c: Checker,
  name: string,
  h: PillarMap,
  images: Pillar["images"],
  cidrs: Partial<Record<SubnetName, Cidr>>,
  /** Subnets the pillar writes, valid or not (an invalid one is reported once, where it is). */
  subnetNamed: ReadonlySet<string>,
): HostType | undefined {
  const at = (k: string | number, ...rest: (string | number)[]) => ["hosts", name, k, ...rest];
  c.keys(h, HOST_KEYS, ["hosts", name], HOST_HINTS);
  const style = c.oneOf(h.style, at("style"), STYLES, { required: true });
  const enabled = c.bool(h.enabled, at("enabled"), true);
  const role = c.string(h.role, at("role"), { pattern: /^[a-z][a-z0-9_-]{0,62}$/, what: "a role name (lower case, formulas/<role>/)" }) ?? name;
  if (!style) return undefined;

  const only = (key: string, styles: readonly string[]) => {
    if (has(h, key) && h[key] !== null && !styles.includes(style)) c.report(at(key), `applies to ${styles.join("/")} types only, this type is ${style}`, { key: true });
  };
  only("uuids", ["physical"]);
  only("interface", ["physical"]);
  only("count", ["virtual"]);
  only("ram", ["virtual"]);
  only("cpu", ["virtual"]);
  only("boot_mode", ["physical"]);
  only("kvm_disk_config", ["physical"]);
  only("host_keys", ["foundation"]);
  only("osd_disks", ["physical"]);

  const uuids = style === "physical" ? c.strings(h.uuids, at("uuids"), { required: enabled, pattern: UUID, what: "SMBIOS UUIDs (8-4-4-4-12 hex)", maxItems: LIMITS.uuids }).map((u) => u.toLowerCase()) : [];
  const addresses = c.strings(h.addresses, at("addresses"), { required: style === "foundation" && enabled, what: "IPv4 addresses", maxItems: LIMITS.addresses });
  const mgmt = cidrs.management;
  const count =
    style === "virtual"
      ? c.int(h.count, at("count"), { required: enabled, min: 0, max: LIMITS.count }) ?? 0
      : style === "physical"
        ? Array.isArray(h.uuids) ? h.uuids.length : uuids.length
        : addresses.length;
  addresses.forEach((a, i) => {
    const ip = parseIpv4(a);
    if (ip === undefined) c.report(at("addresses", i), `must be an IPv4 address, got ${quote(a)}`);
    else if (mgmt) {
      const { first, last } = hostRange(mgmt);
      if (!contains(mgmt, ip)) c.report(at("addresses", i), `${a} is outside the management subnet ${mgmt.text}`);
      else if (ip < first) c.report(at("addresses", i), `${a} is the network address of ${mgmt.text}, not a host address`);
      else if (ip > last) c.report(at("addresses", i), `${a} is the broadcast address of ${mgmt.text}, not a host address`);
    }
    if (style !== "foundation" && i >= count && enabled) c.report(at("addresses", i), `pins an address for endpoint ${i}, but the type has ${count} endpoint${count === 1 ? "" : "s"}: remove it or add the endpoint`);
  });
  const hostKeys = foundationHostKeys(c, h.host_keys, at("host_keys"), style === "foundation" ? addresses.length : 0);
  const iface = c.string(h.interface, at("interface"), {
    required: style === "physical" && enabled,
    pattern: IFACE,
    what: "the NIC the server PXE-boots from, such as ens1f0 (at most 15 characters)",
  });
  // A disk model travels in a tab-separated line (PXE_ASSIGNMENTS): one line, no tabs.
  const disk = c.string(
    h.disk,
    at("disk"),
    style === "virtual" ? { required: enabled, pattern: DISK_SIZE, what: "a size such as 32G" } : { pattern: ONE_LINE, what: "a disk model on one line (no tabs or line breaks, at most 256 characters)" },
  );
  if (style === "virtual" && disk !== undefined) {
    const bytes = sizeBytes(disk)!;
    if (bytes < LIMITS.diskBytes.min || bytes > LIMITS.diskBytes.max) c.report(at("disk"), `must be from 4G to 64T (the cloud image is resized to it), got ${disk}`);
  }
  const ram = style === "virtual" ? c.int(h.ram, at("ram"), { required: enabled, ...LIMITS.ramKiB, what: "memory in KiB" }) : undefined;
  const cpu = style === "virtual" ? c.int(h.cpu, at("cpu"), { required: enabled, ...LIMITS.cpu, what: "a number of vCPUs" }) : undefined;
  const os = c.string(h.os, at("os"), {
    required: style !== "foundation" && enabled,
    pattern: IMAGE_NAME,
    what: style === "physical" ? `the operating system to install, one of ${PXE_OS.join(", ")}` : "an image name from `images`",
  });
  if (style === "virtual" && os !== undefined && enabled && !has(images, os)) {
    c.report(at("os"), `names image '${os}', which is not under \`images\` (known: ${Object.keys(images).join(", ") || "none"}): add \`images.${os}: {url: <cloud image URL>, type: qcow2}\``);
  }
  if (style === "physical" && os !== undefined && enabled && !(PXE_OS as readonly string[]).includes(os)) {
    c.report(at("os"), `the pxe formula installs Ubuntu with autoinstall only: one of ${PXE_OS.join(", ")}, got ${quote(os)}`);
  }
  const bootMode = c.oneOf(h.boot_mode, at("boot_mode"), ["UEFI", "Legacy"] as const);
  const stack = c.string(h.stack, at("stack"), { pattern: STACK_NAME, what: `a stack name: '${SITE}' or one listed under \`stacks\` (lower-case letters and digits, at most 16)` });
  // One Ceph OSD per disk named here (formulas/storage/configure). Optional: a storage type without
  // it gets no OSD, and its configure run says so.
  const osdDisks =
    style === "physical"
      ? c.strings(h.osd_disks, at("osd_disks"), {
          pattern: OSD_DISK,
          what: "the /dev paths of the disks that become Ceph OSDs, such as /dev/sdb or /dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
          maxItems: 256,
        })
      : [];
  if (Array.isArray(h.osd_disks)) {
    const raw: unknown[] = h.osd_disks;
    raw.forEach((d, i) => {
      if (typeof d === "string" && osdDisks.includes(d) && raw.indexOf(d) !== i) c.report(at("osd_disks", i), `${d} is listed twice: one OSD per disk`);
    });
  }

  const networks: Record<string, NetworkSpec> = newMap() as Record<string, NetworkSpec>;
  const netsRaw = c.map(h.networks, at("networks"), enabled && style !== "foundation", "a mapping of networks, at least `management`") ?? newMap();
  c.keys(netsRaw, SUBNETS, at("networks"));
  const slots = new Map<number, string>();
  for (const net of Object.keys(netsRaw)) {
    if (!(SUBNETS as readonly string[]).includes(net)) continue;
    const n = c.map(netsRaw[net], at("networks", net), true, "a mapping with `interfaces`");
    if (!n) continue;
    if (enabled && !cidrs[net as SubnetName] && !subnetNamed.has(net)) c.report(at("networks", net), `uses network '${net}', which has no subnet: add networking.subnets.${net}`, { key: true });
    c.keys(n, NETWORK_KEYS, at("networks", net));
    const interfaces = c.strings(n.interfaces, at("networks", net, "interfaces"), { required: true, pattern: IFACE, what: "NIC names", maxItems: 8 });
    if (style === "virtual") {
      interfaces.forEach((ifc, i) => {
        const m = VIRTUAL_NIC.exec(ifc);
        const slot = m ? Number(m[1]) : undefined;
        if (slot === undefined || slot < VIRTUAL_NIC_SLOTS.min || slot > VIRTUAL_NIC_SLOTS.max) {
          c.report(at("networks", net, "interfaces", i), `virtual NICs are named ensN (N = PCI slot ${VIRTUAL_NIC_SLOTS.min}-${VIRTUAL_NIC_SLOTS.max}), got ${quote(ifc)}`);
          return;
        }
        const prev = slots.get(slot);
        if (prev) c.report(at("networks", net, "interfaces", i), `${ifc} is also the NIC of network ${prev}: each network needs its own PCI slot`);
        else slots.set(slot, net);
      });
      if (interfaces.length > 1) c.report(at("networks", net, "interfaces"), "a virtual endpoint has one NIC per network (bonds are for physical hosts)");
    }
    const netAddresses = c.strings(n.addresses, at("networks", net, "addresses"), { what: "address/prefix per endpoint", maxItems: LIMITS.addresses });
    const subnet = cidrs[net as SubnetName];
    netAddresses.forEach((a, i) => {
      const ia = parseInterfaceAddress(a);
      const p = at("networks", net, "addresses", i);
      if (!ia) return c.report(p, `must be an IPv4 address with prefix length, got ${quote(a)}`);
      if (i >= count && enabled) c.report(p, `is for endpoint ${i}, but the type has ${count} endpoint${count === 1 ? "" : "s"}: remove it or add the endpoint`);
      if (!subnet) return;
      const { first, last } = hostRange(subnet);
      const ip = formatIpv4(ia.address);
      if (!contains(subnet, ia.address)) c.report(p, `${ip} is outside the ${net} subnet ${subnet.text}`);
      else if (ia.address < first) c.report(p, `${ip} is the network address of ${subnet.text}, not a host address`);
      else if (ia.address > last) c.report(p, `${ip} is the broadcast address of ${subnet.text}, not a host address`);
      else if (ia.prefixLength !== subnet.prefixLength) c.report(p, `has prefix length /${ia.prefixLength}, but the ${net} subnet is ${subnet.text}`);
    });
    networks[net] = {
      interfaces,
      bridge: c.bool(n.bridge, at("networks", net, "bridge"), false),
      managed: c.bool(n.managed, at("networks", net, "managed"), true),
      addresses: netAddresses,
    };
  }
  if (enabled && style !== "foundation" && isMapping(h.networks) && !has(netsRaw, "management")) {
    c.report(at("networks"), "must include `management` (the formulas and the orchestrator reach endpoints there)");
  }

  return {
    name,
    style,
    enabled,
    role,
    uuids,
    interface: iface,
    disk,
    count: style === "physical" ? uuids.length : count,
    ram,
    cpu,
    os,
    bootMode,
    addresses,
    ...(osdDisks.length ? { osdDisks } : {}),
    ...(hostKeys.some(Boolean) ? { hostKeys } : {}),
    ...(stack !== undefined && stack !== SITE ? { stack } : {}),
    networks,
    needs: {},
  };
}

/**
 * `host_keys`: a foundation host's SSH host public key per address, in the order of `addresses`
 * (`null` or a missing entry: none, see README "SSH host keys"). Kept aligned by index, so an
 * entry that is not a key is reported at its own position and never shifts the others.
 */
function foundationHostKeys(c: Checker, raw: unknown, keyPath: KeyPath, addresses: number): string[] {
  if (raw === undefined || raw === null || isReported(raw)) return [];
  if (!Array.isArray(raw)) {
    c.report(keyPath, "must be a list of SSH host public key lines, one per address");
    return [];
  }
  if (raw.length > addresses) c.report(keyPath, `has ${raw.length} entries for ${addresses} address(es): one key per address, in the same order`);
  return raw.slice(0, addresses).map((k, i) => {
    if (k === null) return "";
    const line = c.string(k, [...keyPath, i], { what: "an SSH host public key line" });
    if (line !== undefined && !publicKeyBlob(line)) {
      c.report([...keyPath, i], "must be one SSH public key line as `ssh-keyscan` prints it after the host name (type, base64, optional comment)");
      return "";
    }
    return line ?? "";
  });
}

const isMapping = (v: unknown): v is PillarMap => v !== null && typeof v === "object" && !Array.isArray(v) && !isReported(v);

/**
 * `stacks` and every type's `stack` (README "Stacks per site and per rack"). The site stack runs
 * first, then the racks side by side, so: a stack named must be listed and hold something; a VM
 * runs on a controller of its own stack; a type waits only for its own stack or the site (a site
 * type waiting for a rack, or a rack for another rack, could never be ordered); physical servers
 * outside the pxe server's stack need it in the site. Returns the listed rack stacks.
 */
function checkStacks(c: Checker, t: PillarMap, hosts: Record<string, HostType>, hostsRaw: PillarMap, needsWritten: Map<string, Needs>): string[] {
  const listed = c.strings(t.stacks, ["stacks"], { pattern: STACK_NAME, what: "rack stack names (lower-case letters and digits, at most 16)", maxItems: 64 });
  const stacks: string[] = [];
  listed.forEach((name, i) => {
    if (name === SITE) c.report(["stacks", i], `'${SITE}' is the stack of every type that names none; list only the rack stacks`);
    else if (stacks.includes(name)) c.report(["stacks", i], `stack '${name}' is listed twice`);
    else stacks.push(name);
  });
  const known = [SITE, ...stacks];
  const written = (type: string) => has(hostsRaw[type] as PillarMap, "stack");
  /** Where to report about a type's stack: its `stack` key, or the type itself when it names none. */
  const where = (type: string): [KeyPath, { key?: boolean }] => (written(type) ? [["hosts", type, "stack"], {}] : [["hosts", type], { key: true }]);
  const stackOf = (h: HostType) => h.stack ?? SITE;
  const active = Object.values(hosts).filter((h) => h.enabled);
  for (const h of Object.values(hosts)) {
    if (h.stack !== undefined && !stacks.includes(h.stack)) {
      c.report(["hosts", h.name, "stack"], `names stack '${h.stack}', which \`stacks\` does not list (stacks: ${known.join(", ")}): add it to \`stacks\` or correct the name`);
    }
  }
  stacks.forEach((name) => {
    if (!active.some((h) => h.count > 0 && h.stack === name)) {
      c.report(["stacks", listed.indexOf(name)], `stack '${name}' has nothing in it: no enabled type with endpoints names it (\`stack: ${name}\`); remove it or move a type into it`);
    }
  });
  const controllers = active.filter((h) => h.role === CONTROLLER_ROLE && h.style !== "virtual" && h.count > 0);
  for (const h of active) {
    if (h.count === 0) continue;
    if (h.style === "virtual" && controllers.length && !controllers.some((ct) => stackOf(ct) === stackOf(h))) {
      const [keyPath, opts] = where(h.name);
      c.report(keyPath, `is virtual in stack '${stackOf(h)}', which has no controller to run its VMs (controllers: ${controllers.map((ct) => `${ct.name} in '${stackOf(ct)}'`).join(", ")}): a VM lives in its controller's stack; move the type or a controller`, opts);
    }
    for (const phase of PHASES) {
      for (const [dep, depPhase] of Object.entries(h.needs[phase] ?? {})) {
        const d = hosts[dep];
        if (!d || d.count === 0 || stackOf(d) === stackOf(h) || stackOf(d) === SITE) continue;
        const why = `${h.name} (stack '${stackOf(h)}') would wait for ${dep}.${depPhase} in stack '${stackOf(d)}': a type waits only for its own stack or the site (the site runs first, then the racks side by side)`;
        if (needsWritten.get(h.name)?.[phase] && has(needsWritten.get(h.name)![phase]!, dep)) c.report(["hosts", h.name, "needs", phase, dep], why, { key: true });
        else {
          const [keyPath, opts] = where(h.name);
          c.report(keyPath, `${why}; the need is a default (pillar/defaults/needs.yaml): write \`needs.${phase}\` for this type, or move it`, opts);
        }
      }
    }
  }
  const pxe = has(hosts, PXE_TYPE) && hosts[PXE_TYPE].enabled ? hosts[PXE_TYPE] : undefined;
  if (pxe && pxe.count > 0 && stackOf(pxe) !== SITE) {
    const other = active.find((h) => h.style === "physical" && h.count > 0 && stackOf(h) !== stackOf(pxe));
    if (other) c.report(["hosts", PXE_TYPE, "stack"], `physical type ${other.name} is in stack '${stackOf(other)}' and boots from the pxe server: the pxe server must be in the site stack`);
  }
  return stacks;
}
