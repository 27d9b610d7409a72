/**
 * Discovery: which BMC manages the server with a given SMBIOS UUID. Every address of the ranges is
 * probed concurrently (bounded), in three steps, each only for addresses that passed the previous:
 * a TCP connect with a short deadline, the unauthenticated service root, then the authenticated
 * Systems walk (session deleted afterwards).
 */
import { createHash } from "node:crypto";
import { AuthMode, RedfishClient } from "./client";
import { expandCidrs } from "./cidr";
import { isRedfishAuthError, isRedfishError, UuidAmbiguousError, UuidNotFoundError } from "./errors";
import { mapConcurrent } from "./limiter";
import { RedfishLogger, silentLogger } from "./log";
import { describeService } from "./oem/vendor";
import { tcpProbe } from "./probe";
import { RetryPolicy } from "./retry";
import { listSystems } from "./systems";
import { BmcTlsOptions } from "./tls";
import { byteSwappedUuid, isPlaceholderUuid, normalizeUuid, uuidForms } from "./uuid";

export interface DiscoveryOptions {
  /** IPv4 ranges to scan, e.g. the pillar's `networking.subnets.oob`. */
  cidrs: string[];
  user: string;
  password: string;
  tls?: BmcTlsOptions;
  /** Redfish port. Default `443`. */
  port?: number;
  /** Addresses worked on at once across all ranges. Default `256`: far below the default 1024 file descriptors. */
  concurrency?: number;
  /** TCP probe deadline in ms. Default `1000`: a BMC on the management LAN answers a SYN in microseconds. */
  probeTimeoutMs?: number;
  /** HTTPS connect deadline for addresses that passed the probe, in ms. Default `3000`. */
  connectTimeoutMs?: number;
  /** Per-request deadline in ms. Default `15000`. */
  requestTimeoutMs?: number;
  /**
   * How the Systems walk authenticates. Default `basic`, retried once with a session when Basic is
   * refused (401/403; some BMCs disable Basic). Why Basic for a scan: it reads three resources per BMC
   * and writes nothing, so a session would add two round trips (login, logout) to each BMC and take a
   * slot of its small session table (iLO, iDRAC: a handful) while operators may be logged in. Every
   * write (boot override, reset) uses a session. `session` or `auto` force the session flow.
   */
  auth?: AuthMode;
  retry?: Partial<RetryPolicy>;
  log?: RedfishLogger;
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
}

export interface AmbiguousUuid {
  uuid: string;
  reason: "placeholder" | "duplicate";
  locations: { address: string; systemUri: string }[];
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
  failures: DiscoveryFailure[];
  /** Addresses that answered the probe with a refusal. */
  refused: number;
  /** Addresses that did not answer the probe at all. */
  silent: number;
  durationMs: number;
}

/** Address a client uses for `host` on `port`. */
function bmcAddress(host: string, port: number): string {
  return port === 443 ? host : `${host}:${port}`;
}

/** Grouping key under which a UUID and its byte-swapped twin fall together. */
function uuidKey(uuid: string): string {
  const n = normalizeUuid(uuid) ?? uuid.toLowerCase();
  const s = byteSwappedUuid(n);
  return s < n ? s : n;
}

async function readBmc(address: string, opts: DiscoveryOptions): Promise<DiscoveredSystem[]> {
  try {
    return await readBmcWith(address, opts, opts.auth ?? "basic");
  } catch (e) {
    if (opts.auth !== undefined || !isRedfishAuthError(e)) throw e;
    (opts.log ?? silentLogger).debug(`discovery: ${address} refused Basic auth; trying a session`);
    return readBmcWith(address, opts, "session");
  }
}

async function readBmcWith(address: string, opts: DiscoveryOptions, auth: AuthMode): Promise<DiscoveredSystem[]> {
  const client = new RedfishClient({
    address,
    user: opts.user,
    password: opts.password,
    tls: opts.tls,
    auth,
    connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 15000,
    ...(opts.retry ? { retry: opts.retry } : {}),
    log: opts.log ?? silentLogger,
  });
  try {
    // Unauthenticated first: a non-Redfish HTTPS server or a TLS mismatch fails here, before any login.
    const { vendor, product } = describeService(await client.serviceRoot());
    const systems = await client.withSession(listSystems);
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
    }));
  } finally {
    await client.close();
  }
}

/** Scan every address of `opts.cidrs` and sort what answered into usable, ambiguous and failed. */
export async function discover(opts: DiscoveryOptions): Promise<DiscoveryResult> {
  const started = Date.now();
  const port = opts.port ?? 443;
  const addresses = expandCidrs(opts.cidrs);
  const log = opts.log ?? silentLogger;
  let refused = 0;
  let silent = 0;
  const failures: DiscoveryFailure[] = [];
  const found: DiscoveredSystem[] = [];
  await mapConcurrent(addresses, opts.concurrency ?? 256, async (host) => {
    const probe = await tcpProbe(host, port, opts.probeTimeoutMs ?? 1000);
    if (probe === "refused") return void refused++;
    if (probe !== "open") return void silent++;
    const address = bmcAddress(host, port);
    try {
      found.push(...(await readBmc(address, opts)));
    } catch (e) {
      const code = isRedfishError(e) ? e.code : "UNKNOWN";
      failures.push({ address, code, message: (e as Error).message });
      log.warn(`discovery: ${(e as Error).message}`);
    }
  });

  const groups = new Map<string, DiscoveredSystem[]>();
  const ambiguous: AmbiguousUuid[] = [];
  const placeholders: DiscoveredSystem[] = [];
  for (const s of found) {
    if (isPlaceholderUuid(s.uuid)) placeholders.push(s);
    else groups.set(uuidKey(s.uuid), [...(groups.get(uuidKey(s.uuid)) ?? []), s]);
  }
  if (placeholders.length) {
    ambiguous.push({ uuid: "00000000-0000-0000-0000-000000000000", reason: "placeholder", locations: placeholders.map((s) => ({ address: s.address, systemUri: s.systemUri })) });
  }
  const systems: DiscoveredSystem[] = [];
  for (const list of groups.values()) {
    if (list.length === 1) systems.push(list[0]);
    else ambiguous.push({ uuid: list[0].uuid, reason: "duplicate", locations: list.map((s) => ({ address: s.address, systemUri: s.systemUri })) });
  }
  const byAddress = (a: { address: string }, b: { address: string }): number => a.address.localeCompare(b.address, "en", { numeric: true });
  systems.sort(byAddress);
  failures.sort(byAddress);
  return { ranges: [...opts.cidrs], scanned: addresses.length, systems, ambiguous, failures, refused, silent, durationMs: Date.now() - started };
}

/**
 * The server with `uuid` (matched case-insensitively, also byte-swapped). Raises `UuidAmbiguousError`
 * for a placeholder or duplicated UUID and `UuidNotFoundError` naming the UUID, its endpoint type and
 * the ranges scanned.
 */
export function findSystem(result: DiscoveryResult, uuid: string, endpointType: string): DiscoveredSystem {
  if (isPlaceholderUuid(uuid)) throw new UuidAmbiguousError(uuid, endpointType, result.ambiguous.find((a) => a.reason === "placeholder")?.locations ?? [], "placeholder UUID: SMBIOS never programmed");
  const forms = uuidForms(uuid);
  const amb = result.ambiguous.find((a) => a.reason === "duplicate" && uuidKey(a.uuid) === uuidKey(uuid));
  if (amb) throw new UuidAmbiguousError(uuid, endpointType, amb.locations, `${amb.locations.length} systems report it`);
  const hit = result.systems.find((s) => forms.includes(normalizeUuid(s.uuid) ?? ""));
  if (!hit) throw new UuidNotFoundError(uuid, endpointType, result.ranges, result.scanned, result.systems.length);
  return hit;
}

/** Scans shared by every resource of one provider process: 33 servers of a subnet cost one scan. */
const cache = new Map<string, { at: number; result: Promise<DiscoveryResult> }>();

function cacheKey(opts: DiscoveryOptions): string {
  // Hash, so the password is never kept as a map key in clear.
  return createHash("sha256")
    .update(JSON.stringify([[...opts.cidrs].sort(), opts.port ?? 443, opts.user, opts.password, opts.tls ?? {}, opts.auth ?? "default"]))
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
