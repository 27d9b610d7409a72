/**
 * `npm run bench -- rebuild`: the rolling rebuild of a clustered type (issue 21), measured. pillar/lab
 * made a Galera cluster of three behind haproxy (test/lab/galeraPillar.ts) on a lab of its own, one
 * `up` from nothing, then `kinetic rebuild mysql` as the operator runs it (cli/rebuild.ts) while a
 * probe inside the lab asks keystone for a token every 0.5 s through haproxy. Printed: the rebuild's
 * time and each member's (its machine gone to its configure done), the API's answers and errors
 * during it, and whether every table's rows and checksum came through.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCloud } from "../../pillar";
import { makeGaleraPillar, TABLE_DIGEST } from "../lab/galeraPillar";
import { startLabHarness } from "../lab/labHarness";
import type { ProbeResult } from "../lab/tokenProbe";

export async function benchRebuild(): Promise<void> {
  const load = () => os.loadavg().map((l) => l.toFixed(1)).join(" ");
  const loadBefore = load();
  const lab = await startLabHarness("bench-rebuild", (m) => process.stderr.write(`lab: ${m}\n`), "pillar/lab");
  try {
    makeGaleraPillar(lab.pillarDir);
    const cloud = loadCloud(lab.pillarDir, { stack: lab.stack });
    const up = await lab.run("up");
    if (up.error) throw new Error(`the up failed: ${up.error.slice(0, 2000)}`);
    const members = cloud.endpoints.filter((e) => e.type === "mysql");
    const before = lab.ssh(members[0].address, TABLE_DIGEST);
    const stopFile = path.join(lab.tmp, "probe-stop");
    const probe = lab.inLab<ProbeResult>(path.join(__dirname, "../lab/tokenProbe.ts"), [], { auth: lab.admin(cloud), stopFile, intervalMs: 500 });
    const r = await lab.run("rebuild", { targets: ["mysql"] });
    fs.writeFileSync(stopFile, "");
    const p = await probe;
    if (r.error) throw new Error(`the rebuild failed: ${r.error.slice(0, 2000)}`);
    const kept = members.map((m) => lab.ssh(m.address, TABLE_DIGEST) === before);
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const perMember = members.map((m) => {
      const down = Math.min(...r.steps.filter((x) => x.name === `${m.name}-provision-domain`).map((x) => x.start));
      const back = Math.max(...r.steps.filter((x) => x.name === `${m.name}-configure` && x.end !== undefined).map((x) => x.end!));
      return `${m.name.slice(0, 14)} ${s(back - down)}`;
    });
    const asked = p.ok + p.failed;
    process.stdout.write(
      [
        `rebuild benchmark: kinetic rebuild mysql, 3 Galera members behind haproxy (pillar/lab + test/lab/galeraPillar.ts; load average before: ${loadBefore})`,
        `  the rebuild, gates included             ${s(r.endedAt - r.startedAt)}`,
        `  each member, machine gone to configure done: ${perMember.join(", ")}`,
        `  keystone token requests every 0.5 s     ${p.ok} of ${asked} answered (${((p.failed / asked) * 100).toFixed(2)} % errors), longest gap ${s(p.longestGapMs)}${p.failures.length ? `; errors: ${p.failures.map((f) => `${s(f.at)} ${f.why}`).join(", ")}` : ""}`,
        `  every table's rows and checksum kept    ${kept.every(Boolean) ? "yes, on all 3 members" : `NO: ${members.filter((_, i) => !kept[i]).map((m) => m.name).join(", ")}`}`,
        `  load average after: ${load()}`,
        "",
      ].join("\n"),
    );
  } finally {
    await lab.dispose();
  }
}
