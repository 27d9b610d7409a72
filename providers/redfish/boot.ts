/**
 * Boot source override (ComputerSystem `Boot`, https://redfish.dmtf.org/schemas/v1/ComputerSystem.json
 * `BootSourceOverrideTarget`/`Enabled`/`Mode`): set a one-time boot target, confirm it where it takes
 * effect, clear it.
 *
 * `@Redfish.Settings` (DSP0266 §9.9): a settings object holds only the properties it lists, and only
 * those are written there. Dell iDRAC and Lenovo XCC settings objects hold BootOrder and the mode: a
 * client that PATCHes the whole Boot object there (and reads it back from there) sees "Pxe / Once"
 * echoed back while the system's effective override stays `None`. So the target and `Enabled` always
 * go to the system itself and are confirmed there; the mode goes to the settings object only when the
 * settings object lists it, and is confirmed as pending there when the service applies it at reset.
 */
import { RedfishClient, RedfishResource } from "./client";
import { RedfishNotAllowedError, RedfishProtocolError } from "./errors";
import { modeRequiredWithTarget } from "./oem/supermicro";
import { vendorOf } from "./oem/vendor";
import { getVerifiedSystem } from "./systems";

/** What the override will do at the next boot. */
export interface BootOverride {
  target: string;
  enabled: string;
  mode: string;
  /** Where it was read: the system, plus its settings object when the mode is pending there. */
  readFrom: string;
}

interface SettingsObject {
  uri: string;
  etag?: string;
  /** The settings object's Boot (what it lists is what it holds). */
  boot: Record<string, unknown>;
  /** `SupportedApplyTimes` of the `@Redfish.Settings` annotation. */
  applyTimes: string[];
}

interface BootState {
  systemUri: string;
  etag?: string;
  /** The system's effective Boot, with its `@Redfish.AllowableValues` annotations. */
  boot: Record<string, unknown>;
  system: RedfishResource;
  settings?: SettingsObject;
}

const TARGET = "BootSourceOverrideTarget";
const ENABLED = "BootSourceOverrideEnabled";
const MODE = "BootSourceOverrideMode";

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

async function bootState(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootState> {
  const { system, etag } = await getVerifiedSystem(client, systemUri, uuid);
  const boot = system.Boot;
  if (typeof boot !== "object" || boot === null || Array.isArray(boot)) {
    throw new RedfishProtocolError(client.bmc, client.pathOf(systemUri), "system has no Boot object: this BMC offers no boot override, nothing was changed");
  }
  const annotation = system["@Redfish.Settings"] as { SettingsObject?: { "@odata.id"?: string }; SupportedApplyTimes?: unknown } | undefined;
  const settingsUri = annotation?.SettingsObject?.["@odata.id"];
  let settings: SettingsObject | undefined;
  if (settingsUri) {
    const res = await client.get(settingsUri);
    const sboot = res.body?.Boot;
    if (typeof sboot === "object" && sboot !== null) {
      settings = {
        uri: client.pathOf(settingsUri),
        ...(res.etag ? { etag: res.etag } : {}),
        boot: sboot as Record<string, unknown>,
        applyTimes: Array.isArray(annotation?.SupportedApplyTimes) ? annotation!.SupportedApplyTimes.map(String) : [],
      };
    }
  }
  return { systemUri: client.pathOf(systemUri), ...(etag ? { etag } : {}), boot: boot as Record<string, unknown>, system, ...(settings ? { settings } : {}) };
}

function checkAllowed(client: RedfishClient, uri: string, boot: Record<string, unknown>, property: string, value: string, note = ""): void {
  const allowed = boot[`${property}@Redfish.AllowableValues`];
  if (Array.isArray(allowed) && !allowed.includes(value)) {
    throw new RedfishNotAllowedError(client.bmc, uri, `Boot.${property}`, value, allowed.map(String), `@Redfish.AllowableValues${note}`);
  }
}

/** The mode is written to (and pending in) the settings object when that object lists it. */
function modeInSettings(state: BootState): boolean {
  return state.settings !== undefined && MODE in state.settings.boot;
}

function overrideOf(state: BootState): BootOverride {
  const pendingMode = modeInSettings(state) ? str(state.settings!.boot[MODE]) : "";
  return {
    target: str(state.boot[TARGET]),
    enabled: str(state.boot[ENABLED]),
    mode: pendingMode || str(state.boot[MODE]),
    readFrom: state.systemUri + (modeInSettings(state) ? ` (mode: ${state.settings!.uri})` : ""),
  };
}

/** The override as it will apply at the next boot: the system's own values, the mode pending in its settings object. */
export async function readBootOverride(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootOverride> {
  return overrideOf(await bootState(client, systemUri, uuid));
}

export interface BootOnceRequest {
  /** `BootSourceOverrideTarget`, e.g. `Pxe`, `Hdd`, `Cd`, `UefiHttp`. */
  target: string;
  /** `BootSourceOverrideMode` (`UEFI` or `Legacy`); only sent when given. */
  mode?: string;
  /** Expected SMBIOS UUID of the system, checked before writing. */
  uuid?: string;
}

/**
 * Set a one-time boot override after validating it against the BMC's allowable values, then read the
 * system again and fail unless its effective override is exactly what was asked. Every failure after
 * the first write restores the override found before (a server must never be left PXE-booting on
 * every boot).
 *
 * A BMC whose `BootSourceOverrideEnabled@Redfish.AllowableValues` lacks `Once` is refused before
 * anything is written (documented choice: `Continuous` would need clearing after the boot it causes,
 * and a crash in between leaves the server reinstalling itself at every boot).
 */
export async function setBootOnce(client: RedfishClient, systemUri: string, req: BootOnceRequest): Promise<BootOverride> {
  const state = await bootState(client, systemUri, req.uuid);
  const uri = state.systemUri;
  checkAllowed(client, uri, state.boot, TARGET, req.target);
  checkAllowed(client, uri, state.boot, ENABLED, "Once", "; this BMC only keeps a Continuous override, which Kinetic refuses: it would reinstall the server at every boot");
  if (req.mode !== undefined) checkAllowed(client, uri, state.boot, MODE, req.mode);

  const before = overrideOf(state);
  const onSystem: Record<string, string> = { [TARGET]: req.target, [ENABLED]: "Once" };
  let onSettings: Record<string, string> | undefined;
  if (req.mode !== undefined) {
    if (modeInSettings(state)) onSettings = { [MODE]: req.mode };
    else onSystem[MODE] = req.mode;
  } else if (modeRequiredWithTarget(vendorOf(await client.serviceRoot(), state.system)) && str(state.boot[MODE]) !== "") {
    // Supermicro: the mode must accompany the target; send the current one unchanged.
    onSystem[MODE] = str(state.boot[MODE]);
  }

  let wrote = false;
  try {
    wrote = true;
    // The settings object first: on services whose settings object mirrors the system's Boot, a write
    // to the system would change its ETag and turn this PATCH into a 412 round.
    if (onSettings) await client.patch(state.settings!.uri, { Boot: onSettings }, state.settings!.etag);
    await client.patch(uri, { Boot: onSystem }, state.etag);

    const after = await bootState(client, systemUri, req.uuid);
    const now = overrideOf(after);
    const wrong: string[] = [];
    if (now.target !== req.target) wrong.push(`${TARGET} is "${now.target}", not "${req.target}"`);
    if (now.enabled !== "Once") wrong.push(`${ENABLED} is "${now.enabled}", not "Once"`);
    if (req.mode !== undefined && now.mode !== req.mode) wrong.push(`${MODE} is "${now.mode}", not "${req.mode}"`);
    if (onSettings && after.settings && after.settings.applyTimes.length > 0 && !after.settings.applyTimes.includes("OnReset")) {
      wrong.push(`the settings object applies at ${after.settings.applyTimes.join("/")}, not at the next reset`);
    }
    if (wrong.length) throw new RedfishProtocolError(client.bmc, uri, `boot override accepted but the system reports otherwise: ${wrong.join("; ")}`);
    return now;
  } catch (e) {
    if (wrote) await restoreOverride(client, uri, before, e);
    throw e;
  }
}

/** Put back the override found before a failed write. Never raises: a failure is added to the error's message. */
async function restoreOverride(client: RedfishClient, uri: string, before: BootOverride, failure: unknown): Promise<void> {
  const back: Record<string, string> = { [ENABLED]: before.enabled || "Disabled" };
  if (before.target !== "") back[TARGET] = before.target;
  try {
    const fresh = await client.get(uri);
    await client.patch(uri, { Boot: back }, fresh.etag);
  } catch (r) {
    if (failure instanceof Error) failure.message += `; restoring the previous override (${before.enabled}/${before.target}) also failed: ${(r as Error).message}`;
  }
}

/** Disable any boot override (zeroize). Nothing is written when none is set. */
export async function clearBootOverride(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootOverride> {
  const state = await bootState(client, systemUri, uuid);
  if (str(state.boot[ENABLED]) !== "Disabled") {
    await client.patch(state.systemUri, { Boot: { [ENABLED]: "Disabled" } }, state.etag);
  }
  return readBootOverride(client, systemUri, uuid);
}
