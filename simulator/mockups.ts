/**
 * Resources copied from the DMTF Redfish mockups (BSD-3-Clause, see
 * mockups/LICENSE.md), read once and deep-copied for every use. Only the files
 * the simulator serves are copied; everything dynamic (ids, UUIDs, power, boot,
 * actions) is overwritten by the simulator.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { JsonObject } from "./redfish";

const DIR = path.join(__dirname, "mockups");
const cache = new Map<string, string>();

function load(rel: string): JsonObject {
  let text = cache.get(rel);
  if (text === undefined) {
    text = fs.readFileSync(path.join(DIR, rel, "index.json"), "utf8");
    cache.set(rel, text);
  }
  return JSON.parse(text) as JsonObject;
}

/** A mockup resource with every occurrence of `from` (a URI prefix) rewritten to `to`. */
function rebased(rel: string, from: string, to: string): JsonObject {
  const doc = load(rel);
  return JSON.parse(JSON.stringify(doc).split(from).join(to)) as JsonObject;
}

export const mockups = {
  /** The CSDL document of public-rackmount1 (it names more schemas than the simulator serves; clients only parse it). */
  metadata: (): string => {
    let xml = cache.get("$metadata");
    if (xml === undefined) {
      xml = fs.readFileSync(path.join(DIR, "public-rackmount1", "$metadata", "index.xml"), "utf8");
      cache.set("$metadata", xml);
    }
    return xml;
  },
  serviceRoot: (): JsonObject => load("public-rackmount1"),
  sessionService: (): JsonObject => load("public-rackmount1/SessionService"),
  taskService: (): JsonObject => load("public-rackmount1/TaskService"),
  task: (): JsonObject => load("public-rackmount1/TaskService/Tasks/545"),
  /** The ComputerSystem of `mockup` number `index` (bladed has 4; later indexes reuse the last), rebased to `id`. */
  system(mockup: "rackmount1" | "bladed", index: number, id: string): JsonObject {
    const [rel, orig] = mockup === "rackmount1"
      ? ["public-rackmount1/Systems/437XR1138R2", "437XR1138R2"]
      : [`public-bladed/Systems/529QB945${Math.min(index, 3)}R6`, `529QB945${Math.min(index, 3)}R6`];
    const doc = rebased(rel, `/redfish/v1/Systems/${orig}`, `/redfish/v1/Systems/${id}`);
    doc.Id = id;
    return doc;
  },
  resetActionInfo(systemId: string): JsonObject {
    return rebased("public-telemetry/Systems/1/ResetActionInfo", "/redfish/v1/Systems/1", `/redfish/v1/Systems/${systemId}`);
  },
};

/**
 * Drop navigation properties (`{"@odata.id": ...}` values, single or in
 * arrays, at any depth outside Actions) that point at resources the simulator
 * does not serve, so a client that follows a link never finds a 404.
 */
export function pruneLinks(doc: JsonObject, served: (uri: string) => boolean): JsonObject {
  const isRef = (v: unknown): v is { "@odata.id": string } =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as JsonObject)["@odata.id"] === "string";
  const walk = (node: JsonObject): void => {
    for (const [key, value] of Object.entries(node)) {
      if (key === "Actions" || key === "@odata.id") continue;
      if (isRef(value)) {
        if (!served(value["@odata.id"])) delete node[key];
      } else if (Array.isArray(value)) {
        const kept = value.filter((v) => !isRef(v) || served(v["@odata.id"]));
        if (value.some(isRef) && kept.length === 0) delete node[key];
        else node[key] = kept;
        for (const v of kept) if (typeof v === "object" && v !== null && !Array.isArray(v) && !isRef(v)) walk(v);
      } else if (typeof value === "object" && value !== null) {
        walk(value);
        if (key === "Links" && Object.keys(value).length === 0) delete node[key];
      }
    }
  };
  walk(doc);
  return doc;
}
