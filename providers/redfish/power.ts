/**
 * Power control through `#ComputerSystem.Reset` (ComputerSystem schema, `ResetType` from
 * https://redfish.dmtf.org/schemas/v1/Resource.json#/definitions/ResetType) and polling `PowerState`.
 */
import { RedfishClient, RedfishResource } from "./client";
import { RedfishNotAllowedError, RedfishProtocolError, RedfishTimeoutError } from "./errors";
import { getVerifiedSystem } from "./systems";

/** How a power cycle is done. */
export const POWER_CYCLE_METHODS = ["ForceOffOn", "ForceRestart", "GracefulRestart"] as const;
export type PowerCycleMethod = (typeof POWER_CYCLE_METHODS)[number];

export interface ResetAction {
  target: string;
  allowed: string[] | undefined;
  /** Where the allowed list came from. */
  source: string;
}

/**
 * The reset action of a system and the reset types it accepts: inline `ResetType@Redfish.AllowableValues`,
 * else the `@Redfish.ActionInfo` resource's `ResetType` parameter (OpenBMC only publishes the latter).
 */
export async function resetAction(client: RedfishClient, systemUri: string, system: RedfishResource): Promise<ResetAction> {
  const action = (system.Actions as Record<string, Record<string, unknown>> | undefined)?.["#ComputerSystem.Reset"];
  const target = action?.target;
  if (!action || typeof target !== "string") throw new RedfishProtocolError(client.bmc, systemUri, "system has no #ComputerSystem.Reset action");
  const inline = action["ResetType@Redfish.AllowableValues"];
  if (Array.isArray(inline)) return { target, allowed: inline.map(String), source: "ResetType@Redfish.AllowableValues" };
  const infoUri = action["@Redfish.ActionInfo"];
  if (typeof infoUri === "string") {
    const info = (await client.get(infoUri)).body ?? {};
    const param = ((info.Parameters as Record<string, unknown>[]) ?? []).find((p) => p.Name === "ResetType");
    if (param && Array.isArray(param.AllowableValues)) return { target, allowed: param.AllowableValues.map(String), source: client.pathOf(infoUri) };
  }
  return { target, allowed: undefined, source: "nothing (the BMC publishes no allowable values)" };
}

/** POST a reset after checking the BMC accepts `resetType`. */
export async function reset(client: RedfishClient, systemUri: string, resetType: string, system?: RedfishResource): Promise<void> {
  const sys = system ?? (await client.get(systemUri)).body ?? {};
  const action = await resetAction(client, systemUri, sys);
  if (action.allowed && !action.allowed.includes(resetType)) {
    throw new RedfishNotAllowedError(client.bmc, systemUri, "ResetType", resetType, action.allowed, action.source);
  }
  await client.action(action.target, { ResetType: resetType });
}

export interface PowerWait {
  /** Deadline in ms. */
  timeoutMs: number;
  /** Poll interval in ms. */
  pollMs: number;
}

export async function powerState(client: RedfishClient, systemUri: string): Promise<string> {
  const s = (await client.get(systemUri)).body?.PowerState;
  return typeof s === "string" ? s : "";
}

/** Poll `PowerState` until it equals `want`, or raise at the deadline. */
export async function waitPowerState(client: RedfishClient, systemUri: string, want: "On" | "Off", wait: PowerWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const state = await powerState(client, systemUri);
    if (state === want) return;
    if (Date.now() + wait.pollMs > deadline) {
      throw new RedfishTimeoutError(client.bmc, `PowerState ${want} of ${systemUri} (last seen "${state}")`, wait.timeoutMs);
    }
    await new Promise((r) => setTimeout(r, wait.pollMs));
  }
}

export interface PowerCycleRequest extends PowerWait {
  method: PowerCycleMethod;
  /** Expected SMBIOS UUID, checked before anything is reset. */
  uuid?: string;
  /** Told each reset the BMC accepted, and whether it was the cycle's last, as soon as it is. */
  onSent?: (resetType: string, last: boolean) => void;
}

/**
 * Power-cycle a system. `ForceOffOn`: ForceOff, wait for `Off`, On, wait for `On` (an Off system just
 * gets On). `ForceRestart`/`GracefulRestart`: that reset when On, `On` when Off, then wait for `On`.
 * Returns the reset types sent, in order.
 */
export async function powerCycle(client: RedfishClient, systemUri: string, req: PowerCycleRequest): Promise<string[]> {
  const { system } = await getVerifiedSystem(client, systemUri, req.uuid);
  const action = await resetAction(client, systemUri, system);
  const plan: string[] = [];
  const on = system.PowerState === "On" || system.PowerState === "PoweringOn";
  if (req.method === "ForceOffOn") plan.push(...(on ? ["ForceOff", "On"] : ["On"]));
  else plan.push(on ? req.method : "On");
  // Check every step before the first one: never leave a server off because "On" is refused.
  for (const t of new Set(plan)) {
    if (action.allowed && !action.allowed.includes(t)) throw new RedfishNotAllowedError(client.bmc, systemUri, "ResetType", t, action.allowed, action.source);
  }
  const lastReset = typeof system.LastResetTime === "string" ? system.LastResetTime : undefined;
  for (const [n, t] of plan.entries()) {
    await client.action(action.target, { ResetType: t });
    req.onSent?.(t, n === plan.length - 1);
    if (t === "ForceRestart" || t === "GracefulRestart") {
      // A restart of a running server reads "On" before, during and after: PowerState alone cannot
      // show it happened. Where the system reports LastResetTime (ComputerSystem v1_12), wait for it to move.
      if (lastReset !== undefined) await waitLastReset(client, systemUri, lastReset, req);
      else client.logWarn(`${systemUri}: ${t} sent; the BMC reports no LastResetTime, so when the restart happens cannot be observed`);
    }
    await waitPowerState(client, systemUri, t === "ForceOff" ? "Off" : "On", req);
  }
  return plan;
}

/** Poll `LastResetTime` until it differs from `before`, or raise at the deadline. */
async function waitLastReset(client: RedfishClient, systemUri: string, before: string, wait: PowerWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const now = (await client.get(systemUri)).body?.LastResetTime;
    if (typeof now === "string" && now !== before) return;
    if (Date.now() + wait.pollMs > deadline) throw new RedfishTimeoutError(client.bmc, `LastResetTime of ${systemUri} to move from ${before}`, wait.timeoutMs);
    await new Promise((r) => setTimeout(r, wait.pollMs));
  }
}

/** Force a system off and wait for `Off` (zeroize). Nothing is sent when it already is off. */
export async function powerOff(client: RedfishClient, systemUri: string, req: PowerWait & { uuid?: string }): Promise<boolean> {
  const { system } = await getVerifiedSystem(client, systemUri, req.uuid);
  if (system.PowerState === "Off") return false;
  await reset(client, systemUri, "ForceOff", system);
  await waitPowerState(client, systemUri, "Off", req);
  return true;
}
