/**
 * `npm run bench -- plan`: time and peak memory to declare the whole resource graph under mocks,
 * with the real provisioning steps (libvirt domains, Redfish discovery/boot/power), for the sample
 * pillar and a synthetic pillar of 1,000 endpoints (target: < 10 s, < 1 GiB), and the same number of
 * bare `remote.Command`s: the SDK's own floor.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { syntheticPillar } from "./syntheticPillar";

const ROOT = path.join(__dirname, "..", "..");

interface Measurement {
  endpoints: number;
  resources: number;
  edges: number;
  ms: number;
  peakMiB: number;
}

function measure<T>(script: string, arg: string): T {
  const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, script), arg], { cwd: ROOT, maxBuffer: 1 << 20 });
  return JSON.parse(out.toString().trim().split("\n").at(-1)!) as T;
}

export async function benchPlan(_args: string[]): Promise<void> {
  const cases: [string, string][] = [
    ["sample pillar", path.join(ROOT, "pillar/sample")],
    ["synthetic 1,000 endpoints", syntheticPillar(1000)],
  ];
  let last: Measurement | undefined;
  console.log(`plan benchmark: declare every resource under Pulumi mocks (node ${process.version}, ${require("node:os").cpus().length} cores)`);
  for (const [label, dir] of cases) {
    const m = measure<Measurement>("planCase.ts", dir);
    console.log(
      `${label.padEnd(26)} ${String(m.endpoints).padStart(5)} endpoints ${String(m.resources).padStart(6)} resources ${String(m.edges).padStart(7)} dependsOn edges: ` +
        `${(m.ms / 1000).toFixed(2)} s, peak ${m.peakMiB.toFixed(0)} MiB` +
        (m.endpoints >= 1000 ? ` (target < 10 s, < 1024 MiB: ${m.ms < 10_000 && m.peakMiB < 1024 ? "met" : "MISSED"})` : ""),
    );
    if (m.endpoints >= 1000) last = m;
  }
  // What the SDK alone costs for as many resources, so the program's own share can be read off.
  const floor = measure<{ resources: number; ms: number; peakMiB: number }>("sdkFloor.ts", String(last?.resources ?? 8000));
  console.log(
    `${"SDK floor: bare Commands".padEnd(26)}       ${String(floor.resources).padStart(6)} resources                 : ` +
      `${(floor.ms / 1000).toFixed(2)} s, peak ${floor.peakMiB.toFixed(0)} MiB` +
      (last ? ` (program / floor: ${(last.ms / floor.ms).toFixed(2)}x time, ${(last.peakMiB / floor.peakMiB).toFixed(2)}x memory)` : ""),
  );
}
