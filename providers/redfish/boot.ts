/**
 * Boot source override (ComputerSystem `Boot`, https://redfish.dmtf.org/schemas/v1/ComputerSystem.json
 * `BootSourceOverrideTarget`/`Enabled`/`Mode`): set a one-time boot target, read it back, clear it.
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
  /** Where it was read: the system, or its `@Redfish.Settings` object when values are pending there. */
  readFrom: string;
}

interface BootLocation {
  /** URI to PATCH: the system, or its settings object (Dell iDRAC keeps pending Boot there). */
  uri: string;
  etag?: string;
  boot: Record<string, unknown>;
  system: RedfishResource;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/**
 * Where the Boot properties are written. DSP0266 §9.9 `@Redfish.Settings`: when the system names a
 * settings object and that object carries `Boot`, changes go there and apply at the next reset.
 */
async function locateBoot(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootLocation> {
  const { system, etag } = await getVerifiedSystem(client, systemUri, uuid);
  const boot = (system.Boot as Record<string, unknown>) ?? {};
  const settingsUri = (system["@Redfish.Settings"] as { SettingsObject?: { "@odata.id"?: string } } | undefined)?.SettingsObject?.["@odata.id"];
  if (settingsUri) {
    const settings = await client.get(settingsUri);
    const pending = settings.body?.Boot as Record<string, unknown> | undefined;
    if (pending && typeof pending === "object") {
      // Allowable values are annotated on the system; the settings object holds only the values.
      return { uri: client.pathOf(settingsUri), ...(settings.etag ? { etag: settings.etag } : {}), boot: { ...boot, ...pending }, system };
    }
  }
  return { uri: client.pathOf(systemUri), ...(etag ? { etag } : {}), boot, system };
}

function checkAllowed(client: RedfishClient, uri: string, boot: Record<string, unknown>, property: string, value: string): void {
  const allowed = boot[`${property}@Redfish.AllowableValues`];
  if (Array.isArray(allowed) && !allowed.includes(value)) {
    throw new RedfishNotAllowedError(client.bmc, uri, `Boot.${property}`, value, allowed.map(String), "@Redfish.AllowableValues");
  }
}

/** The override as it will apply at the next boot (pending settings win over current values). */
export async function readBootOverride(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootOverride> {
  const loc = await locateBoot(client, systemUri, uuid);
  return {
    target: str(loc.boot.BootSourceOverrideTarget),
    enabled: str(loc.boot.BootSourceOverrideEnabled),
    mode: str(loc.boot.BootSourceOverrideMode),
    readFrom: loc.uri,
  };
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
 * Set a one-time boot override after validating it against the BMC's allowable values, then read it
 * back and fail unless the BMC reports exactly what was asked.
 */
export async function setBootOnce(client: RedfishClient, systemUri: string, req: BootOnceRequest): Promise<BootOverride> {
  const loc = await locateBoot(client, systemUri, req.uuid);
  checkAllowed(client, systemUri, loc.boot, "BootSourceOverrideTarget", req.target);
  checkAllowed(client, systemUri, loc.boot, "BootSourceOverrideEnabled", "Once");
  if (req.mode !== undefined) checkAllowed(client, systemUri, loc.boot, "BootSourceOverrideMode", req.mode);

  const boot: Record<string, string> = { BootSourceOverrideTarget: req.target, BootSourceOverrideEnabled: "Once" };
  if (req.mode !== undefined) boot.BootSourceOverrideMode = req.mode;
  else if (modeRequiredWithTarget(vendorOf(await client.serviceRoot(), loc.system)) && str(loc.boot.BootSourceOverrideMode) !== "") {
    // Supermicro: the mode must accompany the target; send the current one unchanged.
    boot.BootSourceOverrideMode = str(loc.boot.BootSourceOverrideMode);
  }
  await client.patch(loc.uri, { Boot: boot }, loc.etag);

  const after = await readBootOverride(client, systemUri, req.uuid);
  const wrong: string[] = [];
  if (after.target !== req.target) wrong.push(`BootSourceOverrideTarget is "${after.target}", not "${req.target}"`);
  if (after.enabled !== "Once") wrong.push(`BootSourceOverrideEnabled is "${after.enabled}", not "Once"`);
  if (req.mode !== undefined && after.mode !== req.mode) wrong.push(`BootSourceOverrideMode is "${after.mode}", not "${req.mode}"`);
  if (wrong.length) throw new RedfishProtocolError(client.bmc, after.readFrom, `boot override accepted but read back differently: ${wrong.join("; ")}`);
  return after;
}

/** Disable any boot override (zeroize). Nothing is written when none is set. */
export async function clearBootOverride(client: RedfishClient, systemUri: string, uuid?: string): Promise<BootOverride> {
  const loc = await locateBoot(client, systemUri, uuid);
  if (str(loc.boot.BootSourceOverrideEnabled) !== "Disabled") {
    await client.patch(loc.uri, { Boot: { BootSourceOverrideEnabled: "Disabled" } }, loc.etag);
  }
  return readBootOverride(client, systemUri, uuid);
}
