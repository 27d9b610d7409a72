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
}

export function summarize(uri: string, s: RedfishResource): SystemSummary {
  const str = (k: string): string => (typeof s[k] === "string" ? (s[k] as string) : "");
  return {
    uri,
    id: str("Id"),
    uuid: str("UUID"),
    manufacturer: str("Manufacturer"),
    model: str("Model"),
    serialNumber: str("SerialNumber"),
    powerState: str("PowerState"),
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
