/**
 * What the dynamic providers do, as plain functions over plain values. The provider classes
 * (`providers/redfishDiscovery.ts`, `bootOnce.ts`, `powerCycle.ts`) only load this module inside their
 * methods and call it, so the serialized providers stay small and this logic is tested directly.
 */
import * as pulumi from "@pulumi/pulumi";
import { clearBootOverride, clearContinuousOverride, HARMLESS_TARGETS, readBootOverride, setBootOnce, BootOverride } from "./boot";
import { expandCidr } from "./cidr";
import { AUTH_MODES, AuthMode, RedfishClientOptions, withSession } from "./client";
import { DiscoveredSystem, discoverShared, discoveryClient, DiscoveryOptions, findSystem, readBmcAt } from "./discovery";
import { isRedfishAuthError, isRedfishPinError, isWrongSystemError, RedfishError, REDFISH_ERROR_CODES } from "./errors";
import { RedfishLogger, silentLogger } from "./log";
import { POWER_CYCLE_METHODS, PowerCycleMethod, powerCycle, powerOff, powerState } from "./power";
import { getVerifiedSystem, listNics, NicSummary } from "./systems";
import { BmcTlsOptions, normalizeFingerprint } from "./tls";
import { normalizeUuid, uuidForms } from "./uuid";

/** Deadlines, all in ms; every field optional with the client's defaults. */
export interface TimeoutInputs {
  connectMs?: number;
  requestMs?: number;
  /** Task monitor deadline. */
  taskMs?: number;
  taskPollMs?: number;
  /** Deadline for a PowerState change. Default `600000`. */
  powerMs?: number;
  /** PowerState poll interval. Default `5000`. */
  powerPollMs?: number;
  /**
   * On a BMC that keeps only a Continuous override: how long after the power cycle reads `On` the
   * override is cleared. The firmware reads its boot source during POST, after power-on (minutes on
   * real servers); a virtual BMC's domain reads it when it starts. Default `300000`.
   */
  continuousClearMs?: number;
}

/** How to reach and log in to one BMC. */
export interface BmcConnectionInputs {
  user: string;
  password: string;
  caBundle?: string;
  insecure?: boolean;
  /** Verify the chain against `caBundle` but not the address (`kinetic:bmcCaOnlyNetworks`). Default `true`. */
  verifyName?: boolean;
  /** Trust on first use (`kinetic:bmcTofuNetworks`): no CA needed, the pin decides. Default `false`. */
  trustOnFirstUse?: boolean;
  /** Plain HTTP (`kinetic:bmcHttpNetworks`, virtual BMCs only). Default `https`. */
  scheme?: "https" | "http";
  legacyCiphers?: boolean;
  auth?: AuthMode;
  timeouts?: TimeoutInputs;
}

/** TLS settings of a connection, with the pin when one is known. */
export function tlsOptions(c: BmcConnectionInputs, pin?: string): BmcTlsOptions {
  return {
    ...(c.caBundle ? { caBundle: c.caBundle } : {}),
    insecure: c.insecure === true,
    legacyCiphers: c.legacyCiphers === true,
    ...(c.verifyName === false ? { verifyName: false } : {}),
    ...(c.trustOnFirstUse === true ? { trustOnFirstUse: true } : {}),
    ...(pin ? { pinSha256: pin } : {}),
  };
}

/** One physical server behind a BMC. */
export interface SystemInputs extends BmcConnectionInputs {
  uuid: string;
  bmcAddress: string;
  systemUri: string;
  /** Certificate pinned by discovery (`RedfishDiscovery.certSha256`); required on every connection. */
  certSha256?: string;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

export function clientOptions(address: string, c: BmcConnectionInputs & { certSha256?: string }, log: RedfishLogger = silentLogger): RedfishClientOptions {
  const t = c.timeouts ?? {};
  return {
    address,
    allowHttp: c.scheme === "http",
    user: c.user,
    password: c.password,
    auth: c.auth ?? "auto",
    tls: tlsOptions(c, c.certSha256),
    ...(t.connectMs !== undefined ? { connectTimeoutMs: t.connectMs } : {}),
    ...(t.requestMs !== undefined ? { requestTimeoutMs: t.requestMs } : {}),
    ...(t.taskMs !== undefined ? { taskTimeoutMs: t.taskMs } : {}),
    ...(t.taskPollMs !== undefined ? { taskPollMs: t.taskPollMs } : {}),
    log,
  };
}

function powerWait(c: BmcConnectionInputs): { timeoutMs: number; pollMs: number } {
  return { timeoutMs: c.timeouts?.powerMs ?? 600000, pollMs: c.timeouts?.powerPollMs ?? 5000 };
}

/** Log lines of provider methods go to the Pulumi engine, shown with the resource. */
export function providerLogger(resource: string): RedfishLogger {
  return {
    debug: (m) => void pulumi.log.debug(`${resource}: ${m}`),
    warn: (m) => void pulumi.log.warn(`${resource}: ${m}`),
  };
}

// ---------------------------------------------------------------- checks

/**
 * What a dynamic provider's `check` receives for a value not known yet during a preview (e.g. the
 * BMC address that discovery has not found yet): Pulumi's `rpc.unknownValue`. Such values are not
 * judged; `check` runs again with the real value before `create`.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const known = (v: unknown): boolean => v !== UNKNOWN;

function checkConnection(n: Partial<BmcConnectionInputs>, out: CheckFailure[]): void {
  if (known(n.user) && (typeof n.user !== "string" || n.user === "")) out.push({ property: "user", reason: "a BMC user is required (pillar api_user)" });
  if (known(n.password) && (typeof n.password !== "string" || n.password === "")) out.push({ property: "password", reason: "a BMC password is required (stack config kinetic:bmcPassword)" });
  if (known(n.caBundle) && typeof n.caBundle === "string" && n.caBundle !== "" && !n.caBundle.includes("-----BEGIN CERTIFICATE-----")) {
    out.push({ property: "caBundle", reason: "must be PEM text containing at least one -----BEGIN CERTIFICATE----- block" });
  }
  if (n.auth !== undefined && !AUTH_MODES.includes(n.auth)) out.push({ property: "auth", reason: `must be one of ${AUTH_MODES.join(", ")}` });
  if (n.scheme !== undefined && known(n.scheme) && n.scheme !== "https" && n.scheme !== "http") out.push({ property: "scheme", reason: "must be https or http" });
  const pin = (n as { certSha256?: unknown }).certSha256;
  if (pin !== undefined && pin !== "" && known(pin) && (typeof pin !== "string" || !normalizeFingerprint(pin))) {
    out.push({ property: "certSha256", reason: "must be a SHA-256 fingerprint (64 hex digits, colons allowed)" });
  }
  for (const [k, v] of Object.entries(n.timeouts ?? {})) {
    if (v !== undefined && !(typeof v === "number" && v > 0)) out.push({ property: `timeouts.${k}`, reason: "must be a positive number of milliseconds" });
  }
}

function checkUuid(v: unknown, out: CheckFailure[]): void {
  if (known(v) && (typeof v !== "string" || !normalizeUuid(v))) out.push({ property: "uuid", reason: `"${String(v)}" is not a UUID (8-4-4-4-12 hex digits)` });
}

function checkSystem(n: Partial<SystemInputs>, out: CheckFailure[]): void {
  checkUuid(n.uuid, out);
  if (known(n.bmcAddress) && (typeof n.bmcAddress !== "string" || n.bmcAddress === "")) out.push({ property: "bmcAddress", reason: "required" });
  if (known(n.systemUri) && (typeof n.systemUri !== "string" || !n.systemUri.startsWith("/redfish/"))) out.push({ property: "systemUri", reason: "must be a /redfish/v1/Systems/<id> path" });
  checkConnection(n, out);
}

export interface DiscoveryInputs extends BmcConnectionInputs {
  uuid: string;
  endpointType: string;
  cidrs: string[];
  port?: number;
  probeTimeoutMs?: number;
  /** The pillar's PXE `interface` (e.g. `ens1f0`), matched against the BMC's EthernetInterface Id/Name. */
  pxeInterface?: string;
}

export function checkDiscovery(n: Partial<DiscoveryInputs>): CheckFailure[] {
  const out: CheckFailure[] = [];
  checkUuid(n.uuid, out);
  if (known(n.endpointType) && (typeof n.endpointType !== "string" || n.endpointType === "")) out.push({ property: "endpointType", reason: "required (the pillar hosts.<type> key)" });
  if (!known(n.cidrs)) {
    // judged once known
  } else if (!Array.isArray(n.cidrs) || n.cidrs.length === 0) out.push({ property: "cidrs", reason: "at least one range to scan is required (pillar networking.subnets.oob)" });
  else
    n.cidrs.forEach((c, i) => {
      if (!known(c)) return;
      try {
        expandCidr(String(c));
      } catch (e) {
        out.push({ property: `cidrs[${i}]`, reason: (e as Error).message });
      }
    });
  if (n.port !== undefined && !(Number.isInteger(n.port) && n.port > 0 && n.port < 65536)) out.push({ property: "port", reason: "must be a TCP port" });
  checkConnection(n, out);
  return out;
}

export interface BootOnceInputs extends SystemInputs {
  target: string;
  mode?: string;
}

/** Boot modes of the ComputerSystem schema (`BootSourceOverrideMode`). */
export const BOOT_MODES = ["UEFI", "Legacy"] as const;

export function checkBootOnce(n: Partial<BootOnceInputs>): CheckFailure[] {
  const out: CheckFailure[] = [];
  checkSystem(n, out);
  if (known(n.target) && (typeof n.target !== "string" || !/^[A-Za-z][A-Za-z0-9]*$/.test(n.target))) out.push({ property: "target", reason: `"${String(n.target)}" is not a BootSourceOverrideTarget value (e.g. Pxe, Hdd, UefiHttp)` });
  if (n.mode !== undefined && known(n.mode) && !(BOOT_MODES as readonly string[]).includes(n.mode)) out.push({ property: "mode", reason: `must be one of ${BOOT_MODES.join(", ")} or left out` });
  return out;
}

export interface PowerCycleInputs extends SystemInputs {
  method: PowerCycleMethod;
}

export function checkPowerCycle(n: Partial<PowerCycleInputs>): CheckFailure[] {
  const out: CheckFailure[] = [];
  checkSystem(n, out);
  if (known(n.method) && !POWER_CYCLE_METHODS.includes(n.method as PowerCycleMethod)) out.push({ property: "method", reason: `must be one of ${POWER_CYCLE_METHODS.join(", ")}` });
  return out;
}

/** Names of `keys` whose values differ between two input sets (deep, via JSON). */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
}

// ---------------------------------------------------------------- discovery

/** What an operator wants to know about a server before reinstalling it; no secrets. */
export interface Inventory {
  manufacturer: string;
  model: string;
  serialNumber: string;
  biosVersion: string;
  /** Sockets, logical processors, model (`ProcessorSummary`). */
  processors: { count: number; logical: number; model: string };
  memoryGiB: number;
  powerState: string;
  /** Ethernet interfaces the BMC lists, the PXE interface first. */
  nics: NicSummary[];
  /** MAC of the pillar's PXE interface when the BMC lists it under that name, else `""`. */
  pxeMac: string;
}

export interface DiscoveredLocation {
  bmcAddress: string;
  systemUri: string;
  /** UUID exactly as the BMC reports it (may be the byte-swapped form of the pillar's). */
  reportedUuid: string;
  vendor: string;
  product: string;
  manufacturer: string;
  model: string;
  /** SHA-256 of the BMC's certificate, pinned from discovery on (`""` over plain HTTP). */
  certSha256: string;
  /** ServiceRoot `UUID` of the BMC (`""` when it reports none): recognises it without credentials, also over plain HTTP. */
  serviceUuid: string;
  inventory: Inventory;
}

function discoveryOptions(i: DiscoveryInputs, log?: RedfishLogger): DiscoveryOptions {
  return {
    cidrs: i.cidrs,
    user: i.user,
    password: i.password,
    tls: tlsOptions(i),
    ...(i.scheme !== undefined ? { scheme: i.scheme } : {}),
    ...(i.port !== undefined ? { port: i.port } : {}),
    ...(i.probeTimeoutMs !== undefined ? { probeTimeoutMs: i.probeTimeoutMs } : {}),
    ...(i.timeouts?.connectMs !== undefined ? { connectTimeoutMs: i.timeouts.connectMs } : {}),
    ...(i.timeouts?.requestMs !== undefined ? { requestTimeoutMs: i.timeouts.requestMs } : {}),
    ...(i.auth !== undefined ? { auth: i.auth } : {}),
    ...(log ? { log } : {}),
  };
}

/** The PXE NIC first (matched by Id or Name, case-insensitively), then the rest in the BMC's order. */
export function orderNics(nics: NicSummary[], pxeInterface: string | undefined): { nics: NicSummary[]; pxeMac: string } {
  const want = (pxeInterface ?? "").toLowerCase();
  const pxe = want === "" ? undefined : nics.find((n) => n.id.toLowerCase() === want || n.name.toLowerCase() === want);
  return { nics: pxe ? [pxe, ...nics.filter((n) => n !== pxe)] : nics, pxeMac: pxe?.mac ?? "" };
}

/**
 * The matched system's NICs: with the scan's own authentication (Basic, no login), two more reads on
 * one BMC. A BMC that lists none, or fails to, gives `[]` (logged): inventory never fails discovery.
 */
async function readNics(i: DiscoveryInputs, s: DiscoveredSystem, log?: RedfishLogger): Promise<NicSummary[]> {
  if (!s.ethernetInterfaces) return [];
  const opts = discoveryOptions(i, log);
  const client = discoveryClient(s.address, { ...opts, tls: tlsOptions(i, s.certSha256) }, i.auth ?? "basic");
  try {
    return await client.withSession((c) => listNics(c, s));
  } catch (e) {
    if (isRedfishPinError(e)) throw e;
    log?.warn(`${s.address}${s.systemUri}: Ethernet interfaces not read (${(e as Error).message})`);
    return [];
  } finally {
    await client.close();
  }
}

function located(i: DiscoveryInputs, s: DiscoveredSystem, nics: NicSummary[]): DiscoveredLocation {
  const ordered = orderNics(nics, i.pxeInterface);
  return {
    bmcAddress: s.address,
    systemUri: s.systemUri,
    reportedUuid: s.uuid,
    vendor: s.vendor,
    product: s.product,
    manufacturer: s.manufacturer,
    model: s.model,
    certSha256: s.certSha256 ?? "",
    serviceUuid: s.serviceUuid,
    inventory: {
      manufacturer: s.manufacturer,
      model: s.model,
      serialNumber: s.serialNumber,
      biosVersion: s.biosVersion,
      processors: s.processors,
      memoryGiB: s.memoryGiB,
      powerState: s.powerState,
      nics: ordered.nics,
      pxeMac: ordered.pxeMac,
    },
  };
}

/**
 * Find the server. Without `previous` (a new resource, or `pulumi up --replace`): the first scan, which
 * sends the credentials to every BMC of the ranges that answers the unauthenticated service root.
 * With `previous` (the resource's state: an update after an input changed): `relocate`, which sends
 * them only to the BMC the state recorded.
 */
export async function discoverLocation(i: DiscoveryInputs, log?: RedfishLogger, previous?: PreviousLocation): Promise<DiscoveredLocation> {
  if (previous?.bmcAddress) return relocate(i, previous, log);
  const result = await discoverShared(discoveryOptions(i, log));
  const s = findSystem(result, i.uuid, i.endpointType, i.user);
  return located(i, s, await readNics(i, s, log));
}

/** What the state recorded about where the server was. */
export type PreviousLocation = Pick<DiscoveredLocation, "bmcAddress"> & Partial<Pick<DiscoveredLocation, "certSha256" | "serviceUuid" | "systemUri">>;

/** What a failure at the recorded BMC means for finding the server elsewhere. */
function stopsTheSearch(e: unknown): boolean {
  // A changed certificate is not "the server moved" (never re-pinned around it); refused credentials
  // are not either (a rescan would send the refused password to every BMC of the network).
  return isRedfishPinError(e) || isRedfishAuthError(e);
}

/**
 * After the first scan, credentials go only to the BMC the state recorded: read it at its recorded
 * address (pinned certificate); when the server is not there (the BMC was re-addressed, or is
 * unreachable), scan the ranges, sending credentials only to a BMC that presents the recorded
 * identity (certificate, ServiceRoot UUID) without them. Refused credentials end the search.
 */
async function relocate(i: DiscoveryInputs, previous: PreviousLocation, log?: RedfishLogger): Promise<DiscoveredLocation> {
  const opts = discoveryOptions(i, log);
  const pin = previous.certSha256 ? normalizeFingerprint(previous.certSha256) ?? previous.certSha256 : undefined;
  const forms = uuidForms(i.uuid);
  try {
    const systems = await readBmcAt(previous.bmcAddress, { ...opts, tls: tlsOptions(i, pin) });
    const s = systems.find((x) => forms.includes(normalizeUuid(x.uuid) ?? ""));
    if (s) return located(i, s, await readNics(i, s, log));
    log?.warn(`${i.uuid} is no longer at ${previous.bmcAddress} (its BMC reports ${systems.length} other system(s)); looking for its BMC by its identity`);
  } catch (e) {
    if (stopsTheSearch(e)) {
      if (isRedfishAuthError(e)) (e as Error).message += `; ${i.uuid} was not searched for at other addresses (that would send the refused password to every BMC of ${i.cidrs.join(", ")})`;
      throw e;
    }
    log?.warn(`${i.uuid} is not reachable at ${previous.bmcAddress} (${(e as Error).message}); looking for its BMC by its identity`);
  }
  const identity = { ...(pin ? { certSha256: pin } : {}), ...(previous.serviceUuid ? { serviceUuid: previous.serviceUuid } : {}) };
  const howToRediscover = `if its BMC was replaced, discover it anew: \`pulumi up --replace <URN of the host's ...-discovery resource>\``;
  if (!identity.certSha256 && !identity.serviceUuid) {
    throw new RedfishError(
      REDFISH_ERROR_CODES.uuidNotFound,
      `${i.uuid} of endpoint type "${i.endpointType}" is not at ${previous.bmcAddress}, where discovery found it, and the state records no certificate or ServiceRoot UUID to recognise its BMC by without credentials, so no other host is sent them; ${howToRediscover}`,
    );
  }
  const result = await discoverShared({ ...opts, pinned: identity });
  const refusal = result.failures.find((f) => f.code === REDFISH_ERROR_CODES.auth);
  if (refusal) throw new RedfishError(REDFISH_ERROR_CODES.auth, refusal.message);
  let s: DiscoveredSystem;
  try {
    s = findSystem(result, i.uuid, i.endpointType, i.user);
  } catch (e) {
    if (e instanceof Error) e.message += `; credentials went only to a BMC presenting ${identity.certSha256 ? `the pinned certificate ${identity.certSha256}` : `ServiceRoot UUID ${identity.serviceUuid}`} (${result.notPinned ?? 0} other BMC(s) answered and were sent nothing); ${howToRediscover}`;
    throw e;
  }
  return located(i, s, await readNics(i, s, log));
}

/**
 * Refresh: confirm the recorded BMC still reports the UUID (Basic reads, at most one failed login);
 * when the server moved or its BMC is gone, `relocate` it, never by a scan that sends credentials to
 * hosts other than its pinned BMC, and never after an authentication error.
 */
export async function refreshLocation(i: DiscoveryInputs, last: DiscoveredLocation, log?: RedfishLogger): Promise<DiscoveredLocation> {
  return relocate(i, last, log);
}

// ---------------------------------------------------------------- boot once

export async function applyBootOnce(i: BootOnceInputs, log?: RedfishLogger): Promise<BootOverride> {
  return withSession(clientOptions(i.bmcAddress, i, log), (c) =>
    setBootOnce(c, i.systemUri, { target: i.target, uuid: i.uuid, ...(i.mode !== undefined ? { mode: i.mode } : {}) }),
  );
}

export async function observeBootOverride(i: SystemInputs, log?: RedfishLogger): Promise<BootOverride> {
  return withSession(clientOptions(i.bmcAddress, i, log), (c) => readBootOverride(c, i.systemUri, i.uuid));
}

/**
 * Delete without permission to zeroize: the resource leaves the stack and the server is not
 * touched (`pulumi destroy` completes; `kinetic:zeroizePhysical` decides whether servers go dark).
 * A replacement deletes the old resource only after the new one is made, so a refusal here would
 * also have failed every reinstall.
 */
function leftAlone(action: string, resource: string, i: SystemInputs, log: RedfishLogger): void {
  log.warn(`${resource}: did not ${action} ${i.uuid} at ${i.bmcAddress} (kinetic:zeroizePhysical is false); the server is left as it is`);
}

/** Zeroize: clear the override. A BMC that now reports another UUID is left alone. */
export async function zeroizeBootOverride(i: SystemInputs, allowed: boolean, resource: string, log: RedfishLogger = silentLogger): Promise<void> {
  if (!allowed) return leftAlone("clear the boot override of", resource, i, log);
  try {
    await withSession(clientOptions(i.bmcAddress, i, log), (c) => clearBootOverride(c, i.systemUri, i.uuid));
  } catch (e) {
    if (!isWrongSystemError(e)) throw e;
    log.warn(`${e.message}; not touching it`);
  }
}

// ---------------------------------------------------------------- power

/**
 * Power-cycle the server. When its boot override is Continuous to a target other than the disk (a
 * BMC that keeps no `Once`: `setBootOnce` set Continuous), the override is cleared once the cycle
 * has booted the server, `timeouts.continuousClearMs` after it reads On: that is the install being
 * seen, as far as the BMC can show it. Left in place, every later reboot would boot PXE and reinstall.
 */
export async function runPowerCycle(i: PowerCycleInputs, log: RedfishLogger = silentLogger): Promise<{ resets: string[]; powerState: string }> {
  return withSession(clientOptions(i.bmcAddress, i, log), async (c) => {
    const before = await readBootOverride(c, i.systemUri, i.uuid);
    const continuous = before.enabled === "Continuous" && !HARMLESS_TARGETS.includes(before.target);
    // Once the cycle's last reset is accepted the server is starting (its install, for a Pxe
    // override): what fails after that (the wait for On, the last read) must not fail the step, or no
    // record of the cycle is kept and the next up refuses the server as one found running an OS (seen
    // in the lab's whole cloud: every BMC's TLS handshakes came late after the power-on, on a loaded
    // machine). The state says the power state is unknown; the next refresh reads it, and an up finds
    // an Off server and sends On (powerOnIfOff), never another reset.
    const sent: string[] = [];
    let lastSent = false;
    const unknown = (e: unknown) => {
      const why = e instanceof Error ? e.message : String(e);
      log.warn(`${i.bmcAddress}${i.systemUri}: ${sent.join(", ")} sent and accepted, then ${why}: the cycle is recorded with its power state unknown, which the next refresh reads`);
      return `unknown (${why.slice(0, 200)})`;
    };
    let resets: string[];
    try {
      resets = await powerCycle(c, i.systemUri, { method: i.method, uuid: i.uuid, ...powerWait(i), onSent: (t, last) => (sent.push(t), (lastSent = last)) });
    } catch (e) {
      // A Continuous override must still be cleared below, or every reboot boots the install again.
      if (!lastSent || continuous) throw e;
      return { resets: sent, powerState: unknown(e) };
    }
    if (continuous) {
      const waitMs = i.timeouts?.continuousClearMs ?? 300000;
      log.warn(`${i.bmcAddress}${i.systemUri}: the boot override is ${before.target}/Continuous (this BMC keeps no one-time override); the server is on, clearing it in ${Math.round(waitMs / 1000)} s, once its firmware has read it`);
      await new Promise((r) => setTimeout(r, waitMs));
      const done = await clearContinuousOverride(c, i.systemUri, i.uuid).catch((e: unknown) => {
        if (e instanceof Error && !/still .*\/Continuous after clearing/.test(e.message)) {
          e.message = `clearing the ${before.target}/Continuous boot override after the power cycle failed, so every reboot of this server boots ${before.target} again (a reinstall for Pxe); clear it on the BMC by hand: ${e.message}`;
        }
        throw e;
      });
      log.warn(`${i.bmcAddress}${i.systemUri}: ${done ?? "the override was already cleared"}; later reboots boot from disk`);
    }
    return { resets, powerState: await powerState(c, i.systemUri).catch(unknown) };
  });
}

export async function observePowerState(i: SystemInputs, log?: RedfishLogger): Promise<string> {
  return withSession(clientOptions(i.bmcAddress, i, log), async (c) => {
    await getVerifiedSystem(c, i.systemUri, i.uuid);
    return powerState(c, i.systemUri);
  });
}

/** Zeroize: force the server off. A BMC that now reports another UUID is left alone. */
export async function zeroizePower(i: SystemInputs, allowed: boolean, resource: string, log: RedfishLogger = silentLogger): Promise<void> {
  if (!allowed) return leftAlone("power off", resource, i, log);
  try {
    await withSession(clientOptions(i.bmcAddress, i, log), (c) => powerOff(c, i.systemUri, { uuid: i.uuid, ...powerWait(i) }));
  } catch (e) {
    if (!isWrongSystemError(e)) throw e;
    log.warn(`${e.message}; not touching it`);
  }
}
