/** Small pillars for unit tests: YAML written to a scratch directory, or models built in code. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostType, isPillarError, loadCloud, Pillar, PillarError } from "../../pillar";

export function pillarDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-pillar-"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** The problems the pillar made of `files` is refused with, one a line (trimmed), and its directory; fails if it is accepted. */
export function pillarProblems(files: Record<string, string>, stack = "test"): { dir: string; lines: string[] } {
  const dir = pillarDir(files);
  try {
    loadCloud(dir, { stack });
  } catch (e) {
    assert.ok(isPillarError(e), String(e));
    return { dir, lines: (e as PillarError).message.split("\n").slice(1).map((l) => l.trim()) };
  }
  assert.fail("expected the pillar to be rejected");
}

/** A virtual type as hosts.yaml writes it (under `hosts:`), on the `deb` image; `extra` lines appended. */
export function virtualYaml(name: string, extra = "", count = 1): string {
  return `  ${name}:
    style: virtual
    count: ${count}
    ram: 1048576
    cpu: 1
    disk: 8G
    os: deb
    networks:
      management:
        interfaces: [ens3]
${extra}`;
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
