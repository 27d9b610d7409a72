/**
 * The Redfish service of one simulated BMC, independent of the transport:
 * `handle()` maps a request onto a Reply. listener.ts does TLS, latency and
 * recording; the vendor differences come from the Profile.
 */
import { createHash } from "node:crypto";
import { etagOf, ifMatchSatisfied, presentEtag } from "./etag";
import { mockups, pruneLinks } from "./mockups";
import type { BootPatch, Profile } from "./profiles";
import { hpeSuccess } from "./profiles/profile";
import { BASE, errorReply, msg, type Json, type JsonObject, type RedfishMessage, type Reply } from "./redfish";
import { SESSIONS, SessionStore } from "./sessions";
import { SimSystem } from "./system";
import { TaskList } from "./tasks";
import type { BmcSpec, BootSettings } from "./types";

export interface IncomingRequest {
  method: string;
  /** Path without query string. */
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

const ROOT = "/redfish/v1";
const SYSTEMS = `${ROOT}/Systems`;
const ENABLED_VALUES = ["Disabled", "Once", "Continuous"];

/** SMBIOS UUID a BMC reports when BmcSpec.uuids is not given: upper case, stable per address and index. */
export function defaultUuid(address: string, index = 0): string {
  const h = createHash("sha1").update(`kinetic-sim:${address}:${index}`).digest("hex").toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class BmcService {
  readonly systems: SimSystem[];
  readonly sessions: SessionStore;
  private readonly tasks = new TaskList();
  private flakyLeft: number;
  private bootPatchesLeft: number;
  private readonly error500: Set<string>;
  /** The failsAfterReset fault has fired. */
  private fallenOver = false;

  constructor(readonly spec: BmcSpec, readonly profile: Profile, readonly url: string) {
    const count = spec.uuids?.length ?? profile.defaultSystemCount;
    const withMode = profile.bootModes.length > 0;
    this.systems = Array.from({ length: count }, (_, i) => new SimSystem(
      profile.systemId(i), spec.uuids?.[i] ?? defaultUuid(spec.address, i),
      spec.powerDelayMs ?? 200, spec.initialPowerState ?? "On", withMode, spec.onPower));
    // A continuous-only BMC (sushy-tools' libvirt driver) always has a device first in the boot order: the disk.
    if (profile.bootOverride === "continuousOnly") for (const s of this.systems) s.boot = { ...s.boot, BootSourceOverrideEnabled: "Continuous", BootSourceOverrideTarget: "Hdd" };
    const exhaustion = spec.faults?.sessionExhaustion;
    this.sessions = new SessionStore({
      user: spec.user ?? "admin", password: spec.password ?? "password",
      absoluteLocation: profile.sessionLocation === "absolute",
      timeoutSeconds: spec.sessionTimeoutS ?? 1800,
      exhaustedLogins: exhaustion === true ? Infinity : typeof exhaustion === "number" ? exhaustion : 0,
      withoutToken: spec.faults?.sessionWithoutToken === true,
      refuseSessions: spec.faults?.sessionRefused === true,
      basicDisabled: spec.faults?.basicDisabled === true,
    });
    this.bootPatchesLeft = spec.faults?.bootPatchFailsAfter ?? Infinity;
    this.flakyLeft = spec.faults?.flaky503 ?? 0;
    this.error500 = new Set((spec.faults?.error500 ?? []).map(normalizePath));
  }

  stop(): void {
    for (const s of this.systems) s.cancel();
  }

  handle(req: IncomingRequest): Reply {
    if (this.flakyLeft > 0) {
      this.flakyLeft--;
      return { ...errorReply(503, msg.serviceTemporarilyUnavailable(0)), headers: { "Retry-After": "0" } };
    }
    const path = normalizePath(req.path);
    if (this.error500.has(path) || this.fallenOver) return errorReply(500, msg.internalError());
    const method = req.method === "HEAD" ? "GET" : req.method;
    // DSP0266: a request for an OData version the service does not support gets 412.
    const odata = req.headers["odata-version"];
    if (odata !== undefined && odata.trim() !== "4.0") return errorReply(412, msg.preconditionFailed());
    // A body must be JSON and say so; like bmcweb, anything else is an unrecognised body.
    if ((method === "POST" || method === "PATCH") && req.body.trim() !== "" && !/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      return errorReply(400, msg.unrecognizedRequestBody());
    }

    // Unauthenticated: the service root, the OData service document, and login.
    if (path === "/redfish") return only(method, ["GET"], () => ({ status: 200, body: { v1: `${ROOT}/` } }));
    if (path === ROOT && this.spec.faults?.redirectRoot && req.path === ROOT) {
      return { status: 308, headers: { Location: `${ROOT}/` }, body: undefined };
    }
    if (path === ROOT) return only(method, ["GET"], () => this.get(this.serviceRoot()));
    if (path === `${ROOT}/odata`) return only(method, ["GET"], () => this.get(odataDocument()));
    if (path === `${ROOT}/$metadata`) return only(method, ["GET"], () => ({ status: 200, raw: { contentType: "application/xml", data: mockups.metadata() } }));
    if (path === SESSIONS && method === "POST") {
      const parsed = parseJson(req.body);
      return this.sessions.login(parsed.ok ? parsed.value : undefined, req.headers.host);
    }

    const denied = this.sessions.authenticate(req.headers, path);
    if (denied) return denied;
    return this.route(method, path, req) ?? errorReply(404, msg.resourceMissing(path));
  }

  private route(method: string, path: string, req: IncomingRequest): Reply | undefined {
    if (path === `${ROOT}/SessionService`) {
      return only(method, ["GET"], () => {
        const doc = pruneLinks(mockups.sessionService(), (u) => this.served(u));
        doc.SessionTimeout = this.spec.sessionTimeoutS ?? 1800;
        return this.get(doc);
      });
    }
    if (path === SESSIONS) return only(method, ["GET", "POST"], () => this.get(collection(SESSIONS, "#SessionCollection.SessionCollection", "Session Collection", this.sessions.ids().map((id) => `${SESSIONS}/${id}`))));
    if (path.startsWith(`${SESSIONS}/`)) {
      const id = path.slice(SESSIONS.length + 1);
      const body = this.sessions.get(id);
      if (!body) return undefined;
      return only(method, ["GET", "DELETE"], () => (method === "GET" ? this.get(body) : (this.sessions.delete(id), { status: 204 })));
    }
    if (path === SYSTEMS) return only(method, ["GET"], () => this.get(collection(SYSTEMS, "#ComputerSystemCollection.ComputerSystemCollection", "Computer System Collection", this.systems.map((s) => `${SYSTEMS}/${s.id}`))));
    if (path.startsWith(`${SYSTEMS}/`)) return this.routeSystem(method, path, req);
    const task = this.tasks.route(method, path, (i) => this.systems[i]);
    if (task) return task;
    return undefined;
  }

  private routeSystem(method: string, path: string, req: IncomingRequest): Reply | undefined {
    const [id, ...rest] = path.slice(SYSTEMS.length + 1).split("/");
    const index = this.systems.findIndex((s) => s.id === id);
    if (index < 0) return undefined;
    const sys = this.systems[index];
    const sub = rest.join("/");
    if (sub === "") return only(method, ["GET", "PATCH"], () => (method === "GET" ? this.getTagged(this.systemResource(sys)) : this.patchSystem(sys, req)));
    if (sub === "Settings" && this.profile.settingsObject) return only(method, ["GET", "PATCH"], () => (method === "GET" ? this.getTagged(this.settingsResource(sys)) : this.patchSettings(sys, req)));
    if (sub === "ResetActionInfo" && this.profile.resetListing === "actionInfo") {
      return only(method, ["GET"], () => {
        const info = mockups.resetActionInfo(sys.id);
        const params = info.Parameters as JsonObject[];
        params[0].AllowableValues = [...this.profile.resetTypes];
        return this.get(info);
      });
    }
    if (sub === "Actions/ComputerSystem.Reset") return only(method, ["POST"], () => this.reset(index, req));
    if (sub === "EthernetInterfaces") {
      return only(method, ["GET"], () => this.get(collection(`${SYSTEMS}/${sys.id}/EthernetInterfaces`, "#EthernetInterfaceCollection.EthernetInterfaceCollection", "Ethernet Interfaces", this.nics(index).map((n) => `${SYSTEMS}/${sys.id}/EthernetInterfaces/${n.id}`))));
    }
    if (sub.startsWith("EthernetInterfaces/")) {
      const nic = this.nics(index).find((n) => n.id === sub.slice("EthernetInterfaces/".length));
      if (!nic) return undefined;
      return only(method, ["GET"], () => this.get({
        "@odata.type": "#EthernetInterface.v1_12_4.EthernetInterface", "@odata.id": `${SYSTEMS}/${sys.id}/EthernetInterfaces/${nic.id}`,
        Id: nic.id, Name: "Ethernet Interface", MACAddress: nic.mac, PermanentMACAddress: nic.mac, LinkStatus: "LinkUp",
      }));
    }
    return undefined;
  }

  /** Whether the simulator answers GET on `uri` (used to prune mockup links). */
  served(uri: string): boolean {
    const p = normalizePath(uri);
    if ([ROOT, SYSTEMS, `${ROOT}/SessionService`, SESSIONS, `${ROOT}/TaskService`, `${ROOT}/TaskService/Tasks`].includes(p)) return true;
    if (p.startsWith(`${SESSIONS}/`)) return this.sessions.has(p.slice(SESSIONS.length + 1));
    if (p.startsWith(`${SYSTEMS}/`)) {
      const [id, ...rest] = p.slice(SYSTEMS.length + 1).split("/");
      if (!this.systems.some((s) => s.id === id)) return false;
      const sub = rest.join("/");
      return sub === "" || sub === "EthernetInterfaces" || (sub === "Settings" && this.profile.settingsObject) || (sub === "ResetActionInfo" && this.profile.resetListing === "actionInfo");
    }
    return false;
  }

  /** NICs of system `index`: the spec's, else two with MACs derived from address and index. */
  nics(index: number): { id: string; mac: string }[] {
    if (this.spec.nics) return this.spec.nics;
    return [1, 2].map((n) => {
      const h = createHash("sha1").update(`kinetic-sim-nic:${this.spec.address}:${index}:${n}`).digest("hex");
      return { id: `NIC.Integrated.1-${n}`, mac: ["02", ...h.slice(0, 10).match(/../g)!].join(":").toUpperCase() };
    });
  }

  private serviceRoot(): JsonObject {
    const root = mockups.serviceRoot();
    root["@odata.id"] = `${ROOT}/`;
    root.UUID = (this.spec.serviceUuid ?? defaultUuid(`service:${this.spec.address}`)).toLowerCase();
    return pruneLinks(root, (u) => this.served(u));
  }

  // ----- GET helpers -------------------------------------------------------

  /** 200 with body and an ETag header (every resource has one). */
  private get(body: JsonObject): Reply {
    return { status: 200, body, headers: { ETag: presentEtag(etagOf(body), this.profile.weakEtags) } };
  }

  /** Like get(), and also `@odata.etag` in the body (systems and settings). */
  private getTagged(body: JsonObject): Reply {
    const tag = presentEtag(etagOf(body), this.profile.weakEtags);
    return { status: 200, body: { ...body, "@odata.etag": tag }, headers: { ETag: tag, Allow: "GET, HEAD, PATCH" } };
  }

  // ----- ComputerSystem ----------------------------------------------------

  private systemResource(sys: SimSystem): JsonObject {
    const index = this.systems.indexOf(sys);
    const doc = mockups.system(this.profile.mockup, index, sys.id);
    if (this.spec.faults?.noUuid) delete doc.UUID;
    else doc.UUID = sys.uuid;
    doc.PowerState = sys.powerState;
    doc.LastResetTime = sys.lastResetTime;
    doc.Manufacturer = this.profile.manufacturer;
    doc.Model = this.profile.model;
    if (this.spec.faults?.noBoot) delete doc.Boot;
    else doc.Boot = this.bootResource(sys.boot);
    const target = `${SYSTEMS}/${sys.id}/Actions/ComputerSystem.Reset`;
    doc.Actions = {
      "#ComputerSystem.Reset": this.profile.resetListing === "inline"
        ? { target, "ResetType@Redfish.AllowableValues": [...this.profile.resetTypes] }
        : { target, "@Redfish.ActionInfo": `${SYSTEMS}/${sys.id}/ResetActionInfo` },
    };
    if (this.profile.settingsObject) {
      doc["@Redfish.Settings"] = {
        "@odata.type": "#Settings.v1_3_5.Settings",
        SettingsObject: { "@odata.id": `${SYSTEMS}/${sys.id}/Settings` },
        SupportedApplyTimes: ["OnReset"],
      };
    }
    return pruneLinks(doc, (u) => this.served(u));
  }

  private enabledValues(): string[] {
    if (this.profile.bootOverride === "continuousOnly") return ENABLED_VALUES;
    return this.spec.faults?.onlyContinuous ? ["Disabled", "Continuous"] : ENABLED_VALUES;
  }

  private bootResource(boot: Partial<BootSettings>): JsonObject {
    if (this.spec.faults?.bootOrderOnly) return { BootOrder: ["Boot0001", "Boot0002"] };
    const out: JsonObject = {
      BootSourceOverrideEnabled: boot.BootSourceOverrideEnabled ?? "Disabled",
      "BootSourceOverrideEnabled@Redfish.AllowableValues": this.enabledValues(),
      BootSourceOverrideTarget: boot.BootSourceOverrideTarget ?? "None",
      "BootSourceOverrideTarget@Redfish.AllowableValues": [...this.profile.bootTargets],
    };
    if (this.profile.bootModes.length > 0) {
      out.BootSourceOverrideMode = boot.BootSourceOverrideMode ?? "UEFI";
      out["BootSourceOverrideMode@Redfish.AllowableValues"] = [...this.profile.bootModes];
    }
    if (this.spec.faults?.onlyContinuous === "silent" || this.profile.bootOverride === "continuousOnly") delete out["BootSourceOverrideEnabled@Redfish.AllowableValues"];
    return out;
  }

  private settingsResource(sys: SimSystem): JsonObject {
    return {
      "@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
      "@odata.id": `${SYSTEMS}/${sys.id}/Settings`,
      Id: "Settings", Name: "System Settings (pending, applied at the next reset)",
      Boot: this.spec.faults?.settingsModeOnly
        ? { ...(sys.pendingBoot ?? {}), BootSourceOverrideMode: sys.pendingBoot?.BootSourceOverrideMode ?? sys.boot.BootSourceOverrideMode ?? "UEFI" }
        : this.bootResource({ ...sys.boot, ...sys.pendingBoot }),
    };
  }

  /** Common PATCH prologue: JSON body and the If-Match rules (428 / 412). */
  private patchPrologue(req: IncomingRequest, current: JsonObject): { body: Record<string, unknown> } | Reply {
    const parsed = parseJson(req.body);
    if (!parsed.ok || !isObject(parsed.value)) return errorReply(400, msg.malformedJson());
    const ifMatch = req.headers["if-match"];
    if (ifMatch === undefined && this.profile.requireIfMatch) return errorReply(428, msg.preconditionRequired());
    if (ifMatch !== undefined && !ifMatchSatisfied(ifMatch, etagOf(current))) return errorReply(412, msg.preconditionFailed());
    if (Object.keys(parsed.value).length === 0) return errorReply(400, msg.emptyJson());
    return { body: parsed.value };
  }

  private patchSystem(sys: SimSystem, req: IncomingRequest): Reply {
    const current = this.systemResource(sys);
    const pre = this.patchPrologue(req, current);
    if ("status" in pre) return pre;
    for (const key of Object.keys(pre.body)) {
      if (key === "Boot" || key === "@odata.etag") continue;
      return errorReply(400, key in current ? msg.propertyNotWritable(key) : msg.propertyUnknown(key));
    }
    const boot = pre.body.Boot;
    if (boot === undefined) return errorReply(400, msg.emptyJson());
    if (!isObject(boot)) return errorReply(400, msg.propertyValueTypeError(JSON.stringify(boot), "Boot"));
    const vendor = this.profile.checkSystemBootPatch(boot as BootPatch);
    if (vendor) return errorReply(400, vendor);
    const checked = this.validateBoot(boot);
    if ("error" in checked) return errorReply(400, checked.error);
    if (this.bootPatchesLeft <= 0) return errorReply(500, msg.internalError());
    this.bootPatchesLeft--;
    // onlyContinuous "silent": the BMC keeps only Continuous and says nothing about it.
    if (this.spec.faults?.onlyContinuous === "silent" && checked.ok.BootSourceOverrideEnabled === "Once") checked.ok.BootSourceOverrideEnabled = "Continuous";
    // sushy-tools' libvirt driver: Enabled is accepted and ignored; the boot order has no "once".
    if (this.profile.bootOverride === "continuousOnly" && checked.ok.BootSourceOverrideEnabled !== undefined) checked.ok.BootSourceOverrideEnabled = "Continuous";
    sys.boot = { ...sys.boot, ...checked.ok };
    return this.profile.patchSuccess(() => this.getTagged(this.systemResource(sys)));
  }

  private patchSettings(sys: SimSystem, req: IncomingRequest): Reply {
    const pre = this.patchPrologue(req, this.settingsResource(sys));
    if ("status" in pre) return pre;
    for (const key of Object.keys(pre.body)) {
      if (key !== "Boot" && key !== "@odata.etag") return errorReply(400, msg.propertyUnknown(key));
    }
    const boot = pre.body.Boot;
    if (!isObject(boot)) return errorReply(400, msg.propertyValueTypeError(JSON.stringify(boot ?? null), "Boot"));
    const checked = this.validateBoot(boot);
    if ("error" in checked) return errorReply(400, checked.error);
    sys.pendingBoot = { ...sys.pendingBoot, ...checked.ok };
    if (this.spec.faults?.settingsModeOnly) sys.appliesFromSettings = ["BootSourceOverrideMode"];
    return this.profile.patchSuccess(() => this.getTagged(this.settingsResource(sys)));
  }

  /** Boot properties against the profile's allowable values (Base PropertyValueNotInList). */
  private validateBoot(boot: Record<string, unknown>): { ok: Partial<BootSettings> } | { error: RedfishMessage } {
    if (this.spec.faults?.bootOrderOnly) {
      const key = Object.keys(boot).find((k) => k !== "BootOrder");
      if (key !== undefined) return { error: msg.propertyUnknown(`Boot/${key}`) };
    }
    const allowed: Record<string, readonly string[]> = {
      BootSourceOverrideEnabled: this.spec.faults?.onlyContinuous === "silent" ? ENABLED_VALUES : this.enabledValues(),
      BootSourceOverrideTarget: this.profile.bootTargets,
    };
    if (this.profile.bootModes.length > 0) allowed.BootSourceOverrideMode = this.profile.bootModes;
    const ok: Partial<BootSettings> = {};
    for (const [key, value] of Object.entries(boot)) {
      const prop = `Boot/${key}`;
      if (key === "UefiTargetBootSourceOverride" && typeof value === "string") continue;
      const values = allowed[key];
      if (!values) return { error: key.includes("@") ? msg.propertyNotWritable(prop) : msg.propertyUnknown(prop) };
      if (typeof value !== "string") return { error: msg.propertyValueTypeError(JSON.stringify(value), prop) };
      if (!values.includes(value)) return { error: msg.propertyValueNotInList(value, prop) };
      ok[key as keyof BootSettings] = value;
    }
    return { ok };
  }

  private reset(index: number, req: IncomingRequest): Reply {
    // If-Match on an action POST is ignored (DSP0266 ties it to PUT/PATCH/DELETE).
    const action = "ComputerSystem.Reset";
    const parsed = parseJson(req.body === "" ? "{}" : req.body);
    if (!parsed.ok || !isObject(parsed.value)) return errorReply(400, msg.malformedJson());
    const type = parsed.value.ResetType;
    if (type === undefined) return errorReply(400, msg.actionParameterMissing(action, "ResetType"));
    if (typeof type !== "string" || !this.profile.resetTypes.includes(type)) {
      return errorReply(400, msg.actionParameterValueNotInList(String(JSON.stringify(type)).replace(/^"|"$/g, ""), "ResetType", action));
    }
    this.systems[index].reset(type);
    if (type === this.spec.faults?.failsAfterReset) this.fallenOver = true;
    switch (this.profile.resetSuccess) {
      case "noContent": return { status: 204 };
      case "hpeError": return hpeSuccess(`${BASE}.Success`);
      case "task": return this.tasks.start(index, this.systems[index]);
    }
  }
}

/** Collapse trailing slashes and the query string: /redfish/v1/ and /redfish/v1 are one resource. */
export function normalizePath(p: string): string {
  const noQuery = p.split("?")[0];
  const trimmed = noQuery.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** 405 with an Allow header when the method is not one of `methods`. */
function only(method: string, methods: string[], handler: () => Reply): Reply {
  if (methods.includes(method)) return handler();
  const allow = methods.includes("GET") ? ["GET", "HEAD", ...methods.filter((m) => m !== "GET")] : methods;
  return { ...errorReply(405, msg.operationNotAllowed()), headers: { Allow: allow.join(", ") } };
}

function collection(id: string, type: string, name: string, members: string[]): JsonObject {
  return {
    "@odata.type": type, "@odata.id": id, Name: name,
    "Members@odata.count": members.length, Members: members.map((m): Json => ({ "@odata.id": m })),
  };
}

function odataDocument(): JsonObject {
  const entries = ["Systems", "SessionService", "Tasks"].map((name): Json => ({
    name, kind: "Singleton", url: name === "Tasks" ? `${ROOT}/TaskService` : `${ROOT}/${name}`,
  }));
  return { "@odata.context": `${ROOT}/$metadata`, value: [{ name: "Service", kind: "Singleton", url: `${ROOT}/` }, ...entries] };
}
