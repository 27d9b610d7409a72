/**
 * Discovery: which BMC manages the server with a given SMBIOS UUID. Every address of the ranges is
 * probed concurrently (bounded), in three steps, each only for addresses that passed the previous:
 * a TCP connect with a short deadline, the unauthenticated service root, then the authenticated
 * Systems walk (session deleted afterwards).
 */
import { createHash } from "node:crypto";
import { AuthMode, RedfishClient } from "./client";
import { expandCidrs } from "./cidr";
import { CredentialsRefusedError, isRedfishAuthError, isRedfishError, RedfishError, REDFISH_ERROR_CODES, UuidAmbiguousError, UuidNotFoundError } from "./errors";
import { mapConcurrent } from "./limiter";
import { RedfishLogger, silentLogger } from "./log";
import { describeService } from "./oem/vendor";
import { tcpProbe } from "./probe";
import { RetryPolicy } from "./retry";
import { listSystems, SystemSummary } from "./systems";
import { BmcTlsOptions } from "./tls";
import { byteSwappedUuid, isPlaceholderUuid, normalizeUuid, uuidForms } from "./uuid";

export interface DiscoveryOptions {
  /** IPv4 ranges to scan, e.g. the pillar's `networking.subnets.oob`. */
  cidrs: string[];
  user: string;
  password: string;
  tls?: BmcTlsOptions;
  /** Redfish port. Default `443` (`80` with `scheme: "http"`). */
  port?: number;
  /**
   * `http` for virtual BMCs that serve plain HTTP (OpenStack's sushy-emulator, VirtualBMC-style
   * services): an explicit per-network opt-in (`kinetic:bmcHttpNetworks`), never a default. Default `https`.
   */
  scheme?: "https" | "http";
  /** Addresses worked on at once across all ranges. Default `256`: far below the default 1024 file descriptors. */
  concurrency?: number;
  /** TCP probe deadline in ms. Default `1000`: a BMC on the management LAN answers a SYN in microseconds. */
  probeTimeoutMs?: number;
  /** HTTPS connect deadline for addresses that passed the probe, in ms. Default `3000`. */
  connectTimeoutMs?: number;
  /** Per-request deadline in ms. Default `15000`. */
  requestTimeoutMs?: number;
  /**
   * How the Systems walk authenticates. Default `basic`, retried once with a session only when the
   * BMC's 401 carries no `WWW-Authenticate: Basic` challenge (Basic switched off); a 401 that does is
   * wrong credentials, and a second try would count as a second failed login (iDRAC and iLO lock the
   * account after a few). Why Basic for a scan: it reads three resources per BMC
   * and writes nothing, so a session would add two round trips (login, logout) to each BMC and take a
   * slot of its small session table (iLO, iDRAC: a handful) while operators may be logged in. Every
   * write (boot override, reset) uses a session. `session` or `auto` force the session flow.
   */
  auth?: AuthMode;
  retry?: Partial<RetryPolicy>;
  log?: RedfishLogger;
  /**
   * Send credentials only to BMCs with this identity, read from the unauthenticated service root and
   * TLS handshake (a server's BMC found again after the first scan: the state recorded it). Every
   * given field must match; the others answered hosts are counted in `notPinned`, nothing is sent to them.
   */
  pinned?: PinnedBmc;
}

/** What identifies a BMC without credentials: its certificate, its ServiceRoot UUID. */
export interface PinnedBmc {
  /** SHA-256 of its TLS certificate (`AB:CD:...`). */
  certSha256?: string;
  /** ServiceRoot `UUID`, lower case. */
  serviceUuid?: string;
}

/** One server found behind a BMC. */
export interface DiscoveredSystem {
  /** SMBIOS UUID as the BMC reports it. */
  uuid: string;
  /** BMC address (`host` or `host:port`). */
  address: string;
  /** `@odata.id` of the ComputerSystem. */
  systemUri: string;
  /** Service root `Vendor` (or its Oem key), e.g. `Dell`, `HPE`. */
  vendor: string;
  /** Service root `Product`, e.g. `Integrated Dell Remote Access Controller`. */
  product: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  powerState: string;
  biosVersion: string;
  processors: SystemSummary["processors"];
  memoryGiB: number;
  /** `EthernetInterfaces` link (read for matched systems only, see `readNics`). */
  ethernetInterfaces?: string;
  /** SHA-256 of the BMC's TLS certificate (`AB:CD:...`); absent over plain HTTP. */
  certSha256?: string;
  /** ServiceRoot `UUID`: the BMC's own identity, to tell one BMC on two addresses from two BMCs. */
  serviceUuid: string;
  /** Other addresses at which the same BMC (same ServiceRoot UUID) reports this system. */
  aliases?: string[];
}

export interface AmbiguousUuid {
  uuid: string;
  reason: "placeholder" | "duplicate";
  locations: { address: string; systemUri: string }[];
}

/**
 * A server whose BMC reports no SMBIOS UUID (an empty or missing `UUID`): it answered and is
 * counted, but no pillar entry can name it (the pillar identifies physical servers by UUID only).
 */
export interface UnnamedSystem {
  address: string;
  systemUri: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
}

/** An address that accepted a connection but could not be read. */
export interface DiscoveryFailure {
  address: string;
  code: string;
  message: string;
}

export interface DiscoveryResult {
  ranges: string[];
  scanned: number;
  /** Servers with a usable, unique UUID. */
  systems: DiscoveredSystem[];
  /** All-zero and duplicate UUIDs: these servers cannot be matched to a pillar entry. */
  ambiguous: AmbiguousUuid[];
  /** Servers that report no UUID at all, one entry each (two nodes of one BMC are two entries). */
  withoutUuid: UnnamedSystem[];
  failures: DiscoveryFailure[];
  /** Addresses whose BMC refused the credentials (at most one failed authentication each). */
  credentialsRefused: string[];
  /** BMCs that answered the unauthenticated service root. */
  answered: number;
  /**
   * Most answering BMCs refused the credentials: the scan stopped sending them (the rest are listed as
   * failures with code `KINETIC_REDFISH_CREDENTIALS`) and the password is probably wrong.
   */
  credentialsProbablyWrong: boolean;
  /** Addresses that answered the probe with a refusal. */
  refused: number;
  /** With `pinned`: BMCs that answered but are not the pinned one (no credentials sent to them). */
  notPinned?: number;
  /** Addresses that did not answer the probe at all. */
  silent: number;
  durationMs: number;
}

/** Address a client uses for `host` on `port`. */
function bmcAddress(host: string, port: number, scheme: "https" | "http" = "https"): string {
  if (scheme === "http") return `http://${host}:${port}`;
  return port === 443 ? host : `${host}:${port}`;
}

/** Shared by the reads of one scan: whether credentials may still be sent. */
interface ScanGate {
  answered: number;
  refused: string[];
  /** Set once most answering BMCs refused: no more credentials are sent. */
  stopped: boolean;
}

/** Refusals needed before a scan stops sending credentials (and more than half of those that answered). */
const REFUSALS_BEFORE_STOP = 3;

/** Grouping key under which a UUID and its byte-swapped twin fall together. */
function uuidKey(uuid: string): string {
  const n = normalizeUuid(uuid) ?? uuid.toLowerCase();
  const s = byteSwappedUuid(n);
  return s < n ? s : n;
}

/** A client for discovery's reads of one BMC (also used for the matched system's NICs). */
export function discoveryClient(address: string, opts: DiscoveryOptions, auth: AuthMode): RedfishClient {
  return new RedfishClient({
    address,
    allowHttp: opts.scheme === "http",
    user: opts.user,
    password: opts.password,
    ...(opts.tls ? { tls: opts.tls } : {}),
    auth,
    connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 15000,
    ...(opts.retry ? { retry: opts.retry } : {}),
    log: opts.log ?? silentLogger,
  });
}

/**
 * Read one BMC: the unauthenticated service root, then the Systems walk with at most one failed
 * authentication (Basic; a session instead only when the BMC does not offer Basic at all).
 */
async function readBmc(address: string, opts: DiscoveryOptions, gate: ScanGate): Promise<DiscoveredSystem[] | "not-pinned"> {
  const first = opts.auth ?? "basic";
  const client = discoveryClient(address, opts, first);
  let root;
  try {
    // Unauthenticated first: a non-Redfish server or a TLS mismatch fails here, before any credential is sent.
    root = await client.serviceRoot();
  } catch (e) {
    await client.close();
    throw e;
  }
  if (opts.pinned && !isPinned(opts.pinned, client.certificateSha256, root)) {
    await client.close();
    return "not-pinned";
  }
  gate.answered++;
  if (gate.stopped) {
    await client.close();
    throw new RedfishError(REDFISH_ERROR_CODES.credentials, `${client.bmc}: not authenticated: most BMCs of this scan refused the credentials, so none are sent to the rest`);
  }
  const identity = { root, certSha256: client.certificateSha256 };
  try {
    return await readSystems(address, client, identity);
  } catch (e) {
    if (!isRedfishAuthError(e)) throw e;
    if (opts.auth === undefined && !e.basicChallenge) {
      // No Basic challenge: Basic is switched off on this BMC, so nothing was tried yet. One session login.
      (opts.log ?? silentLogger).debug(`discovery: ${address} does not offer Basic auth; trying a session`);
      const session = discoveryClient(address, opts, "session");
      try {
        return await readSystems(address, session, identity);
      } catch (e2) {
        if (isRedfishAuthError(e2)) refuse(gate, address);
        throw e2;
      } finally {
        await session.close();
      }
    }
    refuse(gate, address);
    throw e;
  } finally {
    await client.close();
  }
}

function isPinned(pin: PinnedBmc, cert: string | undefined, root: Record<string, unknown>): boolean {
  if (pin.certSha256 === undefined && pin.serviceUuid === undefined) return false;
  if (pin.certSha256 !== undefined && (cert ?? "").toUpperCase() !== pin.certSha256.toUpperCase()) return false;
  if (pin.serviceUuid !== undefined && (typeof root.UUID === "string" ? root.UUID.toLowerCase() : "") !== pin.serviceUuid.toLowerCase()) return false;
  return true;
}

/**
 * The systems of one BMC at a known address (the one discovery recorded), read as a scan reads them:
 * Basic, or one session where Basic is switched off; at most one failed login.
 */
export async function readBmcAt(address: string, opts: Omit<DiscoveryOptions, "cidrs">): Promise<DiscoveredSystem[]> {
  const r = await readBmc(address, { ...opts, cidrs: [] }, { answered: 0, refused: [], stopped: false });
  return r === "not-pinned" ? [] : r;
}

function refuse(gate: ScanGate, address: string): void {
  gate.refused.push(address);
  if (gate.refused.length >= REFUSALS_BEFORE_STOP && gate.refused.length * 2 > gate.answered) gate.stopped = true;
}

async function readSystems(address: string, client: RedfishClient, identity: { root: Record<string, unknown>; certSha256: string | undefined }): Promise<DiscoveredSystem[]> {
  const { vendor, product } = describeService(identity.root);
  const serviceUuid = typeof identity.root.UUID === "string" ? identity.root.UUID.toLowerCase() : "";
  const systems = await client.withSession(listSystems);
  const cert = identity.certSha256 ?? client.certificateSha256;
  return systems.map((s) => ({
    uuid: s.uuid,
    address,
    systemUri: s.uri,
    vendor,
    product,
    manufacturer: s.manufacturer,
    model: s.model,
    serialNumber: s.serialNumber,
    powerState: s.powerState,
    biosVersion: s.biosVersion,
    processors: s.processors,
    memoryGiB: s.memoryGiB,
    ...(s.ethernetInterfaces ? { ethernetInterfaces: s.ethernetInterfaces } : {}),
    ...(cert ? { certSha256: cert } : {}),
    serviceUuid,
  }));
}

/** Scan every address of `opts.cidrs` and sort what answered into usable, ambiguous and failed. */
export async function discover(opts: DiscoveryOptions): Promise<DiscoveryResult> {
  const started = Date.now();
  const scheme = opts.scheme ?? "https";
  const port = opts.port ?? (scheme === "http" ? 80 : 443);
  const gate: ScanGate = { answered: 0, refused: [], stopped: false };
  const addresses = expandCidrs(opts.cidrs);
  const log = opts.log ?? silentLogger;
  let refused = 0;
  let silent = 0;
  let notPinned = 0;
  const failures: DiscoveryFailure[] = [];
  const found: DiscoveredSystem[] = [];
  await mapConcurrent(addresses, opts.concurrency ?? 256, async (host) => {
    const probe = await tcpProbe(host, port, opts.probeTimeoutMs ?? 1000);
    if (probe === "refused") return void refused++;
    if (probe !== "open") return void silent++;
    const address = bmcAddress(host, port, scheme);
    try {
      const r = await readBmc(address, opts, gate);
      if (r === "not-pinned") notPinned++;
      else found.push(...r);
    } catch (e) {
      const code = isRedfishError(e) ? e.code : "UNKNOWN";
      failures.push({ address, code, message: (e as Error).message });
      log.warn(`discovery: ${(e as Error).message}`);
    }
  });

  const groups = new Map<string, DiscoveredSystem[]>();
  const ambiguous: AmbiguousUuid[] = [];
  const placeholders: DiscoveredSystem[] = [];
  const missing: DiscoveredSystem[] = [];
  for (const s of found) {
    if (s.uuid.trim() === "") missing.push(s);
    else if (isPlaceholderUuid(s.uuid)) placeholders.push(s);
    else groups.set(uuidKey(s.uuid), [...(groups.get(uuidKey(s.uuid)) ?? []), s]);
  }
  const where = (list: DiscoveredSystem[]) => list.map((s) => ({ address: s.address, systemUri: s.systemUri }));
  // Not "ambiguous": each is a distinct server (two nodes of one BMC are two), none can be named.
  const withoutUuid: UnnamedSystem[] = missing
    .map((s) => ({ address: s.address, systemUri: s.systemUri, manufacturer: s.manufacturer, model: s.model, serialNumber: s.serialNumber }))
    .sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }) || a.systemUri.localeCompare(b.systemUri));
  if (placeholders.length) ambiguous.push({ uuid: "00000000-0000-0000-0000-000000000000", reason: "placeholder", locations: where(placeholders) });
  const byAddress = (a: { address: string }, b: { address: string }): number => a.address.localeCompare(b.address, "en", { numeric: true });
  const systems: DiscoveredSystem[] = [];
  for (const list of groups.values()) {
    const one = sameBmc(list);
    if (one) systems.push(one);
    else ambiguous.push({ uuid: list[0].uuid, reason: "duplicate", locations: where(list) });
  }
  systems.sort(byAddress);
  failures.sort(byAddress);
  return {
    ranges: [...opts.cidrs],
    scanned: addresses.length,
    systems,
    ambiguous,
    withoutUuid,
    failures,
    credentialsRefused: [...gate.refused].sort((a, b) => byAddress({ address: a }, { address: b })),
    answered: gate.answered,
    credentialsProbablyWrong: gate.stopped,
    refused,
    silent,
    ...(opts.pinned ? { notPinned } : {}),
    durationMs: Date.now() - started,
  };
}

/**
 * One system reported at several addresses is one server when every report comes from the same BMC
 * (same ServiceRoot UUID and certificate) at the same system URI: a BMC reachable on two addresses
 * (shared and dedicated NIC). Returns it (at its lowest address, the others as `aliases`), or
 * `undefined` when these are different BMCs.
 */
function sameBmc(list: DiscoveredSystem[]): DiscoveredSystem | undefined {
  if (list.length === 1) return list[0];
  const [first] = [...list].sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }));
  const same = list.every(
    (s) => s.serviceUuid !== "" && s.serviceUuid === first.serviceUuid && s.systemUri === first.systemUri && (s.certSha256 ?? "") === (first.certSha256 ?? ""),
  );
  if (!same) return undefined;
  return { ...first, aliases: list.filter((s) => s !== first).map((s) => s.address) };
}

/**
 * The server with `uuid` (matched case-insensitively, also byte-swapped). Raises `UuidAmbiguousError`
 * for a placeholder or duplicated UUID and `UuidNotFoundError` naming the UUID, its endpoint type and
 * the ranges scanned.
 */
export function findSystem(result: DiscoveryResult, uuid: string, endpointType: string, user = ""): DiscoveredSystem {
  if (isPlaceholderUuid(uuid)) throw new UuidAmbiguousError(uuid, endpointType, result.ambiguous.find((a) => a.reason === "placeholder")?.locations ?? [], "placeholder UUID: SMBIOS never programmed");
  const forms = uuidForms(uuid);
  const amb = result.ambiguous.find((a) => a.reason === "duplicate" && uuidKey(a.uuid) === uuidKey(uuid));
  if (amb) throw new UuidAmbiguousError(uuid, endpointType, amb.locations, `${amb.locations.length} systems report it`);
  const hit = result.systems.find((s) => forms.includes(normalizeUuid(s.uuid) ?? ""));
  if (!hit) {
    // Not found while most BMCs refused us: that is the real problem, say it first.
    if (result.credentialsProbablyWrong) throw new CredentialsRefusedError(result.credentialsRefused, result.answered, user);
    const e = new UuidNotFoundError(uuid, endpointType, result.ranges, result.scanned, result.systems.length);
    if (result.withoutUuid.length > 0) {
      e.message += `; ${result.withoutUuid.length} more system(s) report no UUID, so no pillar entry can name them (${result.withoutUuid.map((s) => s.address + s.systemUri).join(", ")}): give them one in the BIOS/BMC`;
    }
    if (result.credentialsRefused.length > 0) e.message += `; ${result.credentialsRefused.length} BMC(s) refused the credentials and were not searched: ${result.credentialsRefused.join(", ")}`;
    throw e;
  }
  return hit;
}

/** Scans shared by every resource of one provider process: 33 servers of a subnet cost one scan. */
const cache = new Map<string, { at: number; result: Promise<DiscoveryResult> }>();

function cacheKey(opts: DiscoveryOptions): string {
  // Hash, so the password is never kept as a map key in clear.
  return createHash("sha256")
    .update(JSON.stringify([[...opts.cidrs].sort(), opts.port ?? 443, opts.scheme ?? "https", opts.user, opts.password, opts.tls ?? {}, opts.auth ?? "default", opts.pinned ?? null]))
    .digest("hex");
}

/** `discover`, sharing a result (and an in-flight scan) for `ttlMs` between identical requests. */
export function discoverShared(opts: DiscoveryOptions, ttlMs = 60000): Promise<DiscoveryResult> {
  const key = cacheKey(opts);
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < ttlMs) return hit.result;
  const result = discover(opts);
  cache.set(key, { at: Date.now(), result });
  result.catch(() => cache.delete(key));
  return result;
}

/** Forget shared scans (tests, and a rescan after a miss). */
export function forgetSharedScans(): void {
  cache.clear();
}
