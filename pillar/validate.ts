/**
 * Turns the merged pillar tree into the typed model, reporting every problem with its file, line
 * and key path. Nothing here declares resources: the program runs this first and stops on errors.
 */
import * as path from "node:path";
import { Checker } from "./checker";
import { PillarProblem } from "./errors";
import { HostType, Needs, NetworkSpec, Phase, PHASES, Pillar, STYLES, SubnetName, SUBNETS } from "./model";
import { Cidr, contains, parseCidr, parseInterfaceAddress, parseIpv4 } from "./net";
import { PillarSource, readPillarSource } from "./source";
import { findCycle, typePhaseEdges } from "./typeGraph";

const TOP_KEYS = ["hosts", "networking", "bmc", "authorized_keys", "timezone", "ntp", "images", "syslog"] as const;
const HOST_KEYS = ["style", "enabled", "role", "uuids", "interface", "disk", "count", "ram", "cpu", "os", "addresses", "networks", "needs", "boot_mode", "kvm_disk_config"] as const;
const NETWORK_KEYS = ["interfaces", "bridge", "managed", "addresses"] as const;
const NETWORKING_KEYS = ["subnets", "gateway", "nameservers", "domain"] as const;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** Endpoint names become host names and Pulumi names: keep type names DNS-label safe. */
const TYPE_NAME = /^[a-z][a-z0-9]{0,30}$/;
const IFACE = /^[a-zA-Z0-9_.:-]{1,15}$/;
const DISK_SIZE = /^[1-9][0-9]*[KMGT]?$/;
const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ONE_LINE = /^[^\t\r\n]+$/;
/** A host name or address: NTP servers end up space-separated in timesyncd.conf. */
const HOST = /^[A-Za-z0-9._:[\]-]+$/;
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** The directory holding `defaults/needs.yaml`. */
export const DEFAULTS_DIR = path.join(__dirname, "defaults");

export interface LoadResult {
  pillar?: Pillar;
  problems: PillarProblem[];
}

/** Read, merge and validate a pillar directory. Problems are returned, not thrown. */
export function validatePillarDir(dir: string, defaultsDir = DEFAULTS_DIR): LoadResult {
  const problems: PillarProblem[] = [];
  const source = readPillarSource(dir, problems);
  const defaults = readPillarSource(defaultsDir, problems);
  if (problems.length) return { problems };
  return validate(source, defaults);
}

function validate(source: PillarSource, defaults: PillarSource): LoadResult {
  const c = new Checker(source);
  const d = new Checker(defaults);
  const t = source.tree;
  c.keys(t, TOP_KEYS, []);

  // networking
  const net = c.map(t.networking, ["networking"], true) ?? {};
  c.keys(net, NETWORKING_KEYS, ["networking"]);
  const subnetsRaw = c.map(net.subnets, ["networking", "subnets"], true) ?? {};
  c.keys(subnetsRaw, SUBNETS, ["networking", "subnets"]);
  const subnets: Partial<Record<SubnetName, string>> = {};
  const cidrs: Partial<Record<SubnetName, Cidr>> = {};
  for (const name of SUBNETS) {
    const text = c.string(subnetsRaw[name], ["networking", "subnets", name], { what: "an IPv4 CIDR such as 10.0.0.0/24" });
    if (text === undefined) continue;
    const cidr = parseCidr(text);
    if (!cidr) c.report(["networking", "subnets", name], `must be an IPv4 network in CIDR form with zero host bits, got ${JSON.stringify(text)}`);
    else [subnets[name], cidrs[name]] = [text, cidr];
  }
  if (subnetsRaw.management === undefined) c.report(["networking", "subnets", "management"], "is required: management addresses are allocated from it");
  const ipv4 = (v: unknown, p: (string | number)[]) => {
    const s = c.string(v, p, { what: "an IPv4 address" });
    if (s !== undefined && parseIpv4(s) === undefined) c.report(p, `must be an IPv4 address, got ${JSON.stringify(s)}`);
    return s;
  };
  const gateway = ipv4(net.gateway, ["networking", "gateway"]);
  const nameservers = c.strings(net.nameservers, ["networking", "nameservers"], { what: "IPv4 addresses" });
  nameservers.forEach((n, i) => parseIpv4(n) === undefined && c.report(["networking", "nameservers", i], `must be an IPv4 address, got ${JSON.stringify(n)}`));
  const domain = c.string(net.domain, ["networking", "domain"], { pattern: DOMAIN, what: "a DNS domain such as cloud.example.org" });

  // global settings
  const bmc = c.map(t.bmc, ["bmc"]) ?? {};
  c.keys(bmc, ["api_user"], ["bmc"]);
  const bmcUser = c.string(bmc.api_user, ["bmc", "api_user"]) ?? "";
  const authorizedKeys = c.strings(t.authorized_keys, ["authorized_keys"], { what: "SSH public keys" });
  authorizedKeys.forEach((k, i) => {
    if (!/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-\S+)\s+[A-Za-z0-9+/=]+(\s.*)?$/.test(k) || k.includes("\n")) {
      c.report(["authorized_keys", i], "must be one SSH public key line (type, base64, optional comment)");
    }
  });
  const timezone = c.string(t.timezone, ["timezone"], { pattern: /^[A-Za-z0-9_+\-/]+$/, what: "a tz database name such as UTC or America/New_York" }) ?? "UTC";
  const ntp = c.map(t.ntp, ["ntp"]) ?? {};
  c.keys(ntp, ["ntp_server", "ntp_fallback"], ["ntp"]);
  const ntpServers = c.strings(ntp.ntp_server, ["ntp", "ntp_server"], { pattern: HOST, what: "host names or addresses" });
  const ntpFallback = c.strings(ntp.ntp_fallback, ["ntp", "ntp_fallback"], { pattern: HOST, what: "host names or addresses" });
  const imagesRaw = c.map(t.images, ["images"]) ?? {};
  const images: Pillar["images"] = {};
  for (const [name, v] of Object.entries(imagesRaw)) {
    if (!IMAGE_NAME.test(name)) c.report(["images", name], "image names are letters, digits, '.', '_' and '-'", { key: true });
    const img = c.map(v, ["images", name], true);
    if (!img) continue;
    c.keys(img, ["url", "type"], ["images", name]);
    const url = c.string(img.url, ["images", name, "url"], { required: true, pattern: /^https?:\/\/\S+$/, what: "an http(s) URL" });
    const type = c.string(img.type, ["images", name, "type"], { required: true, pattern: IMAGE_NAME, what: "an image format such as qcow2 or raw" });
    if (url !== undefined && type !== undefined) images[name] = { url, type };
  }
  const syslog = c.string(t.syslog, ["syslog"], { pattern: /^(udp|tcp):\/\/[^\s/:]+:\d{1,5}$/, what: "udp://host:port or tcp://host:port" });

  // hosts
  const hostsRaw = c.map(t.hosts, ["hosts"], true) ?? {};
  const hosts: Record<string, HostType> = {};
  const needsWritten = new Map<string, Needs>();
  for (const [name, raw] of Object.entries(hostsRaw)) {
    if (!TYPE_NAME.test(name)) c.report(["hosts", name], "type names are lower-case letters and digits, starting with a letter, at most 31 characters", { key: true });
    const h = c.map(raw, ["hosts", name], true);
    if (!h) continue;
    const host = readHost(c, name, h, images, cidrs);
    if (host) hosts[name] = host;
    if (h.needs !== undefined) needsWritten.set(name, readNeeds(c, h.needs, ["hosts", name, "needs"]));
  }

  // needs: defaults, then the pillar's per-phase overrides
  const notes: string[] = [];
  const defaultHosts = d.map(defaults.tree.hosts, ["hosts"], true) ?? {};
  const enabled = (n: string) => hosts[n]?.enabled === true;
  for (const host of Object.values(hosts)) {
    const defaultNeeds = defaultHosts[host.name] ? readNeeds(d, (defaultHosts[host.name] as Record<string, unknown>).needs, ["hosts", host.name, "needs"]) : {};
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
            c.report(["hosts", host.name, "needs", phase, dep], hosts[dep] ? `names type '${dep}', which is not enabled` : `names type '${dep}', which the pillar does not define`, { key: true });
          }
        } else if (host.enabled) {
          notes.push(`default need ${host.name}.${phase} -> ${dep}.${depPhase} dropped: type '${dep}' is ${hosts[dep] ? "not enabled" : "not in the pillar"}`);
        }
      }
      if (Object.keys(kept).length) needs[phase] = kept;
    }
    host.needs = needs;
  }
  if (d.problems.length) c.problems.push(...d.problems);

  const active = Object.values(hosts).filter((h) => h.enabled);
  const controllers = active.filter((h) => h.role === "controller" && h.style !== "virtual");
  for (const h of active) {
    if (h.style === "virtual" && h.count > 0 && !controllers.some((ct) => ct.uuids.length + ct.addresses.length > 0)) {
      c.report(["hosts", h.name, "style"], "is virtual, but no enabled physical or foundation type with role 'controller' has an endpoint to host it");
    }
    if (h.style === "physical" && h.uuids.length && !enabled("pxe")) {
      c.report(["hosts", h.name, "style"], "is physical, but no enabled 'pxe' type exists to boot it from");
    }
  }

  // duplicate UUIDs across every physical type, case-insensitive
  const seen = new Map<string, string>();
  for (const h of Object.values(hosts)) {
    // Walk the raw list so indices match the file even when an invalid entry was dropped.
    const raw = (hostsRaw[h.name] as Record<string, unknown>).uuids;
    (Array.isArray(raw) ? raw : []).forEach((item: unknown, i) => {
      if (typeof item !== "string" || !UUID.test(item)) return;
      const u = item.toLowerCase();
      const prev = seen.get(u);
      if (prev) c.report(["hosts", h.name, "uuids", i], `UUID ${u} is also listed at ${prev}`);
      else {
        const loc = source.locate(["hosts", h.name, "uuids", i]);
        seen.set(u, `${loc.file}:${loc.line} (hosts.${h.name}.uuids.${i})`);
      }
    });
  }

  // cycles, on the (type, phase) graph of the enabled types
  const cycle = findCycle(typePhaseEdges(active));
  if (cycle) {
    const [first] = cycle;
    const [type, phase] = first.split(".");
    const where = needsWritten.get(type)?.[phase as Phase] ? ["hosts", type, "needs", phase] : ["hosts", type];
    c.report(where, `dependency cycle: ${cycle.join(" -> ")}`, { key: true });
  }

  if (c.problems.length) return { problems: c.problems };
  return {
    problems: [],
    pillar: {
      dir: source.dir,
      hosts,
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

function readNeeds(c: Checker, raw: unknown, keyPath: (string | number)[]): Needs {
  const m = c.map(raw, keyPath);
  const needs: Needs = {};
  if (!m) return needs;
  c.keys(m, PHASES, keyPath);
  for (const phase of PHASES) {
    if (!(phase in m)) continue;
    const deps = m[phase] === null ? {} : c.map(m[phase], [...keyPath, phase]);
    if (!deps) continue;
    const out: Record<string, Phase> = {};
    for (const [dep, depPhase] of Object.entries(deps)) {
      const p = c.oneOf(depPhase, [...keyPath, phase, dep], PHASES, { required: true });
      if (p) out[dep] = p;
    }
    needs[phase] = out;
  }
  return needs;
}

function readHost(
  c: Checker,
  name: string,
  h: Record<string, unknown>,
  images: Pillar["images"],
  cidrs: Partial<Record<SubnetName, Cidr>>,
): HostType | undefined {
  const at = (k: string | number, ...rest: (string | number)[]) => ["hosts", name, k, ...rest];
  c.keys(h, HOST_KEYS, ["hosts", name]);
  const style = c.oneOf(h.style, at("style"), STYLES, { required: true });
  const enabled = c.bool(h.enabled, at("enabled"), true);
  const role = c.string(h.role, at("role"), { pattern: /^[a-z][a-z0-9_-]*$/, what: "a role name (lower case)" }) ?? name;
  if (!style) return undefined;

  const only = (key: string, styles: readonly string[]) => {
    if (h[key] !== undefined && !styles.includes(style)) c.report(at(key), `applies to ${styles.join("/")} types only, this type is ${style}`, { key: true });
  };
  only("uuids", ["physical"]);
  only("interface", ["physical"]);
  only("count", ["virtual"]);
  only("ram", ["virtual"]);
  only("cpu", ["virtual"]);
  only("boot_mode", ["physical"]);
  only("kvm_disk_config", ["physical"]);

  const uuids = c.strings(h.uuids, at("uuids"), { required: style === "physical" && enabled, pattern: UUID, what: "SMBIOS UUIDs (8-4-4-4-12 hex)" }).map((u) => u.toLowerCase());
  const addresses = c.strings(h.addresses, at("addresses"), { required: style === "foundation" && enabled, what: "IPv4 addresses" });
  const mgmt = cidrs.management;
  addresses.forEach((a, i) => {
    const ip = parseIpv4(a);
    if (ip === undefined) c.report(at("addresses", i), `must be an IPv4 address, got ${JSON.stringify(a)}`);
    else if (mgmt && !contains(mgmt, ip)) c.report(at("addresses", i), `${a} is outside the management subnet ${mgmt.text}`);
  });
  const iface = c.string(h.interface, at("interface"), { required: style === "physical" && enabled, pattern: IFACE, what: "a NIC name" });
  // A disk model travels in a tab-separated line (PXE_ASSIGNMENTS): one line, no tabs.
  const disk = c.string(h.disk, at("disk"), style === "virtual" ? { required: enabled, pattern: DISK_SIZE, what: "a size such as 32G" } : { pattern: ONE_LINE, what: "a disk model on one line (no tabs or line breaks)" });
  const count = style === "virtual" ? c.int(h.count, at("count"), { required: enabled, min: 0 }) ?? 0 : style === "physical" ? uuids.length : addresses.length;
  const ram = c.int(h.ram, at("ram"), { required: style === "virtual" && enabled, min: 65536 });
  const cpu = c.int(h.cpu, at("cpu"), { required: style === "virtual" && enabled, min: 1 });
  const os = c.string(h.os, at("os"), { required: style === "virtual" && enabled, pattern: IMAGE_NAME, what: "an image name from `images`" });
  if (style === "virtual" && os !== undefined && enabled && !(os in images)) {
    c.report(at("os"), `names image '${os}', which is not under \`images\` (known: ${Object.keys(images).join(", ") || "none"})`);
  }
  const bootMode = c.oneOf(h.boot_mode, at("boot_mode"), ["UEFI", "Legacy"] as const);

  const networks: Record<string, NetworkSpec> = {};
  const netsRaw = c.map(h.networks, at("networks"), enabled && style !== "foundation") ?? {};
  c.keys(netsRaw, SUBNETS, at("networks"));
  for (const [net, rawNet] of Object.entries(netsRaw)) {
    const n = c.map(rawNet, at("networks", net), true);
    if (!n) continue;
    c.keys(n, NETWORK_KEYS, at("networks", net));
    const interfaces = c.strings(n.interfaces, at("networks", net, "interfaces"), { required: true, pattern: IFACE, what: "NIC names" });
    if (style === "virtual") {
      interfaces.forEach((ifc, i) => /^ens([1-9][0-9]?)$/.test(ifc) || c.report(at("networks", net, "interfaces", i), `virtual NICs are named ensN (N = PCI slot 1-31), got ${JSON.stringify(ifc)}`));
      if (interfaces.length > 1) c.report(at("networks", net, "interfaces"), "a virtual endpoint has one NIC per network (bonds are for physical hosts)");
    }
    const netAddresses = c.strings(n.addresses, at("networks", net, "addresses"), { what: "address/prefix per endpoint" });
    netAddresses.forEach((a, i) => parseInterfaceAddress(a) || c.report(at("networks", net, "addresses", i), `must be an IPv4 address with prefix length, got ${JSON.stringify(a)}`));
    networks[net] = {
      interfaces,
      bridge: c.bool(n.bridge, at("networks", net, "bridge"), false),
      managed: c.bool(n.managed, at("networks", net, "managed"), true),
      addresses: netAddresses,
    };
  }
  if (enabled && style !== "foundation" && h.networks !== undefined && !networks.management && !("management" in netsRaw)) {
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
    count,
    ram,
    cpu,
    os,
    bootMode,
    addresses,
    networks,
    needs: {},
  };
}
