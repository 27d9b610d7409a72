/**
 * Walking the `Systems` collection (DSP0266 §9.6; ComputerSystem schema
 * https://redfish.dmtf.org/schemas/v1/ComputerSystem.json). System ids are whatever the BMC says:
 * `1`, `system` (OpenBMC), `Self` (AMI), `System.Embedded.1` (Dell), several members on blades.
 */
import { RedfishClient, RedfishResource } from "./client";
import { RedfishProtocolError, WrongSystemError } from "./errors";
import { sameUuid } from "./uuid";

/** What we keep of one ComputerSystem. */
export interface SystemSummary {
  /** `@odata.id` of the system. */
  uri: string;
  id: string;
  /** SMBIOS UUID as the BMC reports it. */
  uuid: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  powerState: string;
  /** `BiosVersion`. */
  biosVersion: string;
  /** `ProcessorSummary`: sockets, logical processors, model (what the BMC lists; 0 / "" when it does not). */
  processors: { count: number; logical: number; model: string };
  /** `MemorySummary.TotalSystemMemoryGiB` (0 when not listed). */
  memoryGiB: number;
  /** `EthernetInterfaces` collection link, when the system has one. */
  ethernetInterfaces?: string;
}

export function summarize(uri: string, s: RedfishResource): SystemSummary {
  const str = (k: string): string => (typeof s[k] === "string" ? (s[k] as string) : "");
  const obj = (k: string): Record<string, unknown> => (typeof s[k] === "object" && s[k] !== null ? (s[k] as Record<string, unknown>) : {});
  const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const cpu = obj("ProcessorSummary");
  const nics = odataId(s.EthernetInterfaces);
  return {
    uri,
    id: str("Id"),
    uuid: str("UUID"),
    manufacturer: str("Manufacturer"),
    model: str("Model"),
    serialNumber: str("SerialNumber"),
    powerState: str("PowerState"),
    biosVersion: str("BiosVersion"),
    processors: { count: num(cpu.Count), logical: num(cpu.LogicalProcessorCount), model: typeof cpu.Model === "string" ? cpu.Model : "" },
    memoryGiB: num(obj("MemorySummary").TotalSystemMemoryGiB),
    ...(nics ? { ethernetInterfaces: nics } : {}),
  };
}

function odataId(v: unknown): string | undefined {
  const id = (v as { "@odata.id"?: unknown } | undefined)?.["@odata.id"];
  return typeof id === "string" ? id : undefined;
}

/** URIs of every member of the Systems collection, following `Members@odata.nextLink` pages. */
export async function systemUris(client: RedfishClient): Promise<string[]> {
  const root = await client.serviceRoot();
  const collection = odataId(root.Systems);
  if (!collection) throw new RedfishProtocolError(client.bmc, "/redfish/v1", "service root has no Systems collection");
  const uris: string[] = [];
  let page: string | undefined = collection;
  for (let pages = 0; page && pages < 100; pages++) {
    const body: RedfishResource = (await client.get(page)).body ?? {};
    for (const m of (body.Members as unknown[]) ?? []) {
      const id = odataId(m);
      if (id) uris.push(id);
    }
    const next = body["Members@odata.nextLink"];
    page = typeof next === "string" ? next : undefined;
  }
  return uris;
}

/** Every system of the BMC, read concurrently (the client's in-flight limit still applies). */
export async function listSystems(client: RedfishClient): Promise<SystemSummary[]> {
  const uris = await systemUris(client);
  return Promise.all(uris.map(async (uri) => summarize(uri, (await client.get(uri)).body ?? {})));
}

/** One Ethernet interface of a system as its BMC lists it. */
export interface NicSummary {
  id: string;
  name: string;
  mac: string;
}

/**
 * The MAC addresses of a system's Ethernet interfaces (ComputerSystem `EthernetInterfaces`,
 * https://redfish.dmtf.org/schemas/v1/EthernetInterface.json): the collection, then its members
 * concurrently. `[]` when the system lists none.
 */
export async function listNics(client: RedfishClient, system: Pick<SystemSummary, "ethernetInterfaces">): Promise<NicSummary[]> {
  if (!system.ethernetInterfaces) return [];
  const body = (await client.get(system.ethernetInterfaces)).body ?? {};
  const uris = ((body.Members as unknown[]) ?? []).map(odataId).filter((u): u is string => u !== undefined);
  const nics = await Promise.all(
    uris.map(async (u) => {
      const n = (await client.get(u)).body ?? {};
      const mac = typeof n.MACAddress === "string" && n.MACAddress !== "" ? n.MACAddress : typeof n.PermanentMACAddress === "string" ? n.PermanentMACAddress : "";
      return { id: typeof n.Id === "string" ? n.Id : "", name: typeof n.Name === "string" ? n.Name : "", mac: mac.toLowerCase() };
    }),
  );
  return nics.filter((n) => n.mac !== "");
}

/** Read `systemUri` and check it still is the server with `uuid` before acting on it. */
export async function getVerifiedSystem(client: RedfishClient, systemUri: string, uuid: string | undefined): Promise<{ system: RedfishResource; etag?: string }> {
  const res = await client.get(systemUri);
  const system = res.body ?? {};
  if (uuid) {
    const actual = typeof system.UUID === "string" ? system.UUID : "";
    if (!sameUuid(actual, uuid)) throw new WrongSystemError(client.bmc, systemUri, uuid, actual);
  }
  return { system, ...(res.etag !== undefined ? { etag: res.etag } : {}) };
}
