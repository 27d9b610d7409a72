/** Small pillars for unit tests: YAML written to a scratch directory, or models built in code. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostType, Pillar } from "../../pillar";

export function pillarDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pillar-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

export const NETWORKING = `networking:
  subnets:
    management: 10.0.0.0/24
`;

export function hostType(name: string, over: Partial<HostType>): HostType {
  return {
    name,
    style: "virtual",
    enabled: true,
    role: name,
    uuids: [],
    count: 1,
    addresses: [],
    networks: { management: { interfaces: ["ens3"], bridge: false, managed: true, addresses: [] } },
    needs: {},
    ...over,
  };
}

export function pillarOf(types: HostType[], over: Partial<Pillar> = {}): Pillar {
  return {
    dir: "(test)",
    hosts: Object.fromEntries(types.map((t) => [t.name, t])),
    subnets: { management: "10.0.0.0/22" },
    bmc: { user: "admin" },
    authorizedKeys: [],
    timezone: "UTC",
    ntp: { servers: [], fallback: [] },
    images: {},
    nameservers: [],
    notes: [],
    ...over,
  };
}
