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
import { isRedfishHttpError, RedfishNotAllowedError, RedfishProtocolError } from "./errors";
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

/**
 * Targets that mean "boot as if no override were set": no target, or the local disk. A Continuous
 * override to one of these reinstalls nothing (sushy-tools' libvirt driver reports `Hdd`/`Continuous`
 * for a domain that boots its disk).
 */
export const HARMLESS_TARGETS: readonly string[] = ["", "None", "Hdd"];

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
  if (!(TARGET in boot) && !(ENABLED in boot)) {
    // A Boot object with only BootOrder and the like: a PATCH of the override properties would be
    // refused (PropertyUnknown) or, worse, accepted and ignored.
    throw new RedfishProtocolError(
      client.bmc,
      client.pathOf(systemUri),
      `the system's Boot object has neither ${TARGET} nor ${ENABLED} (it lists ${Object.keys(boot).filter((k) => !k.includes("@")).join(", ") || "nothing"}): this BMC offers no boot override through Redfish, nothing was changed`,
    );
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

/** Set by `setBootOnce` when the BMC keeps no one-time override and Continuous was set instead. */
export interface BootOnceResult extends BootOverride {
  /**
   * True when the override is Continuous because this BMC keeps no `Once` (sushy-tools' libvirt
   * driver, BMCs listing only Continuous): it must be cleared once the boot it was set for happened
   * (`clearContinuousOverride`, run by the power cycle), or every reboot boots the target again.
   */
  continuous: boolean;
}

/**
 * Set a one-time boot override after validating it against the BMC's allowable values, then read the
 * system again and fail unless its effective override is exactly what was asked. Every failure after
 * a write the BMC took restores the override found before (a server must never be left PXE-booting on
 * every boot); a write the BMC refused (4xx) changed nothing, so nothing is restored after it.
 *
 * A BMC that keeps no `Once` gets what Ironic does for such BMCs: the target with `Continuous`, and
 * the result says `continuous: true` so the caller clears it after the boot (the power cycle does,
 * `clearContinuousOverride`). Two shapes: `Once` missing from the listed allowable values while
 * `Continuous` is there (nothing is written as Once), or a BMC that takes `Once` and reports
 * `Continuous` (sushy-tools' libvirt driver: the domain's boot order has no "once").
 */
export async function setBootOnce(client: RedfishClient, systemUri: string, req: BootOnceRequest): Promise<BootOnceResult> {
  const state = await bootState(client, systemUri, req.uuid);
  const uri = state.systemUri;
  checkAllowed(client, uri, state.boot, TARGET, req.target);
  const enabledAllowed = state.boot[`${ENABLED}@Redfish.AllowableValues`];
  const onceListedOut = Array.isArray(enabledAllowed) && !enabledAllowed.includes("Once");
  if (onceListedOut) checkAllowed(client, uri, state.boot, ENABLED, "Continuous", "; this BMC keeps neither a one-time nor a continuous override");
  if (req.mode !== undefined) checkAllowed(client, uri, state.boot, MODE, req.mode);

  const before = overrideOf(state);
  let enabled = onceListedOut ? "Continuous" : "Once";
  const onSystem: Record<string, string> = { [TARGET]: req.target, [ENABLED]: enabled };
  let onSettings: Record<string, string> | undefined;
  if (req.mode !== undefined) {
    if (modeInSettings(state)) onSettings = { [MODE]: req.mode };
    else onSystem[MODE] = req.mode;
  } else if (modeRequiredWithTarget(vendorOf(await client.serviceRoot(), state.system)) && str(state.boot[MODE]) !== "") {
    // Supermicro: the mode must accompany the target; send the current one unchanged.
    onSystem[MODE] = str(state.boot[MODE]);
  }

  // Whether the BMC may have changed something: a PATCH it refused with a 4xx changed nothing; one
  // that succeeded, or whose outcome is unknown (timeout, 5xx, connection lost), may have.
  let changed = false;
  const patch = async (path: string, body: Record<string, unknown>, etag?: string): Promise<void> => {
    try {
      await client.patch(path, body, etag);
      changed = true;
    } catch (e) {
      if (!(isRedfishHttpError(e) && e.status >= 400 && e.status < 500)) changed = true;
      throw e;
    }
  };
  try {
    // The settings object first: on services whose settings object mirrors the system's Boot, a write
    // to the system would change its ETag and turn this PATCH into a 412 round.
    if (onSettings) await patch(state.settings!.uri, { Boot: onSettings }, state.settings!.etag);
    await patch(uri, { Boot: onSystem }, state.etag);

    const after = await bootState(client, systemUri, req.uuid);
    const now = overrideOf(after);
    if (enabled === "Once" && now.enabled === "Continuous" && now.target === req.target) {
      // Took Once, keeps Continuous (sushy-tools' libvirt driver): keep it, the caller clears it after the boot.
      enabled = "Continuous";
    }
    const wrong: string[] = [];
    if (now.target !== req.target) wrong.push(`${TARGET} is "${now.target}", not "${req.target}"`);
    if (now.enabled !== enabled) wrong.push(`${ENABLED} is "${now.enabled}", not "${enabled}"`);
    if (req.mode !== undefined && now.mode !== req.mode) wrong.push(`${MODE} is "${now.mode}", not "${req.mode}"`);
    if (onSettings && after.settings && after.settings.applyTimes.length > 0 && !after.settings.applyTimes.includes("OnReset")) {
      wrong.push(`the settings object applies at ${after.settings.applyTimes.join("/")}, not at the next reset`);
    }
    if (wrong.length) throw new RedfishProtocolError(client.bmc, uri, `boot override accepted but the system reports otherwise: ${wrong.join("; ")}`);
    if (enabled === "Continuous") {
      client.logWarn(
        `${uri}: this BMC keeps no one-time boot override (${onceListedOut ? `${ENABLED}@Redfish.AllowableValues lists no Once` : "Once was accepted and reads back Continuous"}): ` +
          `set ${req.target}/Continuous instead, as Ironic does; it is cleared as soon as the power cycle has booted the server, so later reboots boot from disk`,
      );
    }
    return { ...now, continuous: enabled === "Continuous" };
  } catch (e) {
    if (changed) await restoreOverride(client, uri, before, e);
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

/**
 * After the boot a Continuous override was set for: make the server boot as it would without one,
 * and confirm it. First `Enabled: Disabled`; a BMC that keeps Continuous whatever is written
 * (sushy-tools' libvirt driver) gets the disk as its continuous target instead (what Ironic sets
 * after a deployment). Nothing is written when the override already is harmless. Raises when the
 * override still points at `target` afterwards: a server left so reinstalls at every reboot.
 * @returns what was done, for the operator's output; undefined when nothing was needed
 */
export async function clearContinuousOverride(client: RedfishClient, systemUri: string, uuid?: string): Promise<string | undefined> {
  const state = await bootState(client, systemUri, uuid);
  const first = overrideOf(state);
  if (first.enabled !== "Continuous" || HARMLESS_TARGETS.includes(first.target)) return undefined;
  const enabledAllowed = state.boot[`${ENABLED}@Redfish.AllowableValues`];
  if (!Array.isArray(enabledAllowed) || enabledAllowed.includes("Disabled")) {
    await client.patch(state.systemUri, { Boot: { [ENABLED]: "Disabled" } }, state.etag);
    const now = await bootState(client, systemUri, uuid);
    const o = overrideOf(now);
    if (o.enabled !== "Continuous" || HARMLESS_TARGETS.includes(o.target)) return `override ${first.target}/Continuous cleared (now ${o.target || "-"}/${o.enabled})`;
    const targets = now.boot[`${TARGET}@Redfish.AllowableValues`];
    if (Array.isArray(targets) && !targets.includes("Hdd")) return stillSet(client, now.systemUri, o);
    await client.patch(now.systemUri, { Boot: { [TARGET]: "Hdd" } }, now.etag);
  } else {
    await client.patch(state.systemUri, { Boot: { [TARGET]: "Hdd" } }, state.etag);
  }
  const o = overrideOf(await bootState(client, systemUri, uuid));
  if (o.enabled !== "Continuous" || HARMLESS_TARGETS.includes(o.target)) {
    return `override ${first.target}/Continuous replaced by ${o.target}/${o.enabled} (this BMC keeps no Disabled either: the disk is its continuous target now)`;
  }
  return stillSet(client, systemUri, o);
}

function stillSet(client: RedfishClient, uri: string, o: BootOverride): never {
  throw new RedfishProtocolError(
    client.bmc,
    client.pathOf(uri),
    `the boot override is still ${o.target}/Continuous after clearing it: every reboot of this server boots ${o.target} again (a reinstall for Pxe); clear it on the BMC by hand`,
  );
}

/** Disable any boot override (zeroize). Nothing is written when none is set. */
export async function clearBootOverride(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootOverride> {
  const state = await bootState(client, systemUri, uuid);
  if (str(state.boot[ENABLED]) !== "Disabled") {
    await client.patch(state.systemUri, { Boot: { [ENABLED]: "Disabled" } }, state.etag);
  }
  return readBootOverride(client, systemUri, uuid);
}
