/**
 * What the dynamic providers do, as plain functions over plain values. The provider classes
 * (`providers/redfishDiscovery.ts`, `bootOnce.ts`, `powerCycle.ts`) only load this module inside their
 * methods and call it, so the serialized providers stay small and this logic is tested directly.
 */
import * as pulumi from "@pulumi/pulumi";
import { readBootOverride, setBootOnce, clearBootOverride, BootOverride } from "./boot";
import { expandCidr } from "./cidr";
import { AUTH_MODES, AuthMode, RedfishClientOptions, withSession } from "./client";
import { discoverShared, findSystem } from "./discovery";
import { isWrongSystemError, ZeroizeRefusedError } from "./errors";
import { RedfishLogger, silentLogger } from "./log";
import { POWER_CYCLE_METHODS, PowerCycleMethod, powerCycle, powerOff, powerState } from "./power";
import { describeService } from "./oem/vendor";
import { getVerifiedSystem, summarize } from "./systems";
import { normalizeUuid } from "./uuid";

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
}

/** How to reach and log in to one BMC. */
export interface BmcConnectionInputs {
  user: string;
  password: string;
  caBundle?: string;
  insecure?: boolean;
  legacyCiphers?: boolean;
  auth?: AuthMode;
  timeouts?: TimeoutInputs;
}

/** One physical server behind a BMC. */
export interface SystemInputs extends BmcConnectionInputs {
  uuid: string;
  bmcAddress: string;
  systemUri: string;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

export function clientOptions(address: string, c: BmcConnectionInputs, log: RedfishLogger = silentLogger): RedfishClientOptions {
  const t = c.timeouts ?? {};
  return {
    address,
    user: c.user,
    password: c.password,
    auth: c.auth ?? "auto",
    tls: { ...(c.caBundle ? { caBundle: c.caBundle } : {}), insecure: c.insecure === true, legacyCiphers: c.legacyCiphers === true },
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

export interface DiscoveredLocation {
  bmcAddress: string;
  systemUri: string;
  /** UUID exactly as the BMC reports it (may be the byte-swapped form of the pillar's). */
  reportedUuid: string;
  vendor: string;
  product: string;
  manufacturer: string;
  model: string;
}

export async function discoverLocation(i: DiscoveryInputs, log?: RedfishLogger): Promise<DiscoveredLocation> {
  const result = await discoverShared({
    cidrs: i.cidrs,
    user: i.user,
    password: i.password,
    tls: { ...(i.caBundle ? { caBundle: i.caBundle } : {}), insecure: i.insecure === true, legacyCiphers: i.legacyCiphers === true },
    ...(i.port !== undefined ? { port: i.port } : {}),
    ...(i.probeTimeoutMs !== undefined ? { probeTimeoutMs: i.probeTimeoutMs } : {}),
    ...(i.timeouts?.connectMs !== undefined ? { connectTimeoutMs: i.timeouts.connectMs } : {}),
    ...(i.timeouts?.requestMs !== undefined ? { requestTimeoutMs: i.timeouts.requestMs } : {}),
    ...(i.auth !== undefined ? { auth: i.auth } : {}),
    ...(log ? { log } : {}),
  });
  const s = findSystem(result, i.uuid, i.endpointType);
  return { bmcAddress: s.address, systemUri: s.systemUri, reportedUuid: s.uuid, vendor: s.vendor, product: s.product, manufacturer: s.manufacturer, model: s.model };
}

/**
 * Refresh: confirm the recorded BMC still reports the UUID (one login, one GET); when the server moved
 * or its BMC is gone, scan again so the state shows where it is now.
 */
export async function refreshLocation(i: DiscoveryInputs, last: DiscoveredLocation, log?: RedfishLogger): Promise<DiscoveredLocation> {
  try {
    return await withSession(clientOptions(last.bmcAddress, i, log), async (c) => {
      const { system } = await getVerifiedSystem(c, last.systemUri, i.uuid);
      const s = summarize(last.systemUri, system);
      const { vendor, product } = describeService(await c.serviceRoot());
      return { bmcAddress: last.bmcAddress, systemUri: last.systemUri, reportedUuid: s.uuid, vendor, product, manufacturer: s.manufacturer, model: s.model };
    });
  } catch (e) {
    log?.warn(`${i.uuid} is no longer at ${last.bmcAddress}${last.systemUri} (${(e as Error).message}); scanning again`);
    return discoverLocation(i, log);
  }
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

/** Zeroize: clear the override. A BMC that now reports another UUID is left alone. */
export async function zeroizeBootOverride(i: SystemInputs, allowed: boolean, resource: string, log: RedfishLogger = silentLogger): Promise<void> {
  if (!allowed) throw new ZeroizeRefusedError("clear the boot override of", `${resource} (${i.uuid} at ${i.bmcAddress})`);
  try {
    await withSession(clientOptions(i.bmcAddress, i, log), (c) => clearBootOverride(c, i.systemUri, i.uuid));
  } catch (e) {
    if (!isWrongSystemError(e)) throw e;
    log.warn(`${e.message}; not touching it`);
  }
}

// ---------------------------------------------------------------- power

export async function runPowerCycle(i: PowerCycleInputs, log?: RedfishLogger): Promise<{ resets: string[]; powerState: string }> {
  return withSession(clientOptions(i.bmcAddress, i, log), async (c) => {
    const resets = await powerCycle(c, i.systemUri, { method: i.method, uuid: i.uuid, ...powerWait(i) });
    return { resets, powerState: await powerState(c, i.systemUri) };
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
  if (!allowed) throw new ZeroizeRefusedError("power off", `${resource} (${i.uuid} at ${i.bmcAddress})`);
  try {
    await withSession(clientOptions(i.bmcAddress, i, log), (c) => powerOff(c, i.systemUri, { uuid: i.uuid, ...powerWait(i) }));
  } catch (e) {
    if (!isWrongSystemError(e)) throw e;
    log.warn(`${e.message}; not touching it`);
  }
}
