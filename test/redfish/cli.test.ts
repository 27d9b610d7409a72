/**
 * The operator CLI against the simulator: discover, status, boot-once and power-cycle, as JSON and as
 * a table, credentials from the environment only; one run through `npm run kinetic` as operators do.
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { main } from "../../providers/redfish/cli";
import type { Simulator } from "../../simulator/types";
import { address, assertNoOpenSessions, PASSWORD, pki, range, simulate, USER } from "./harness";

const BMC = address(6, 2);
const BLADES = address(6, 3);
const UUID = "4C4C4544-0031-4B10-8035-B7C04F4D4B99";

describe("redfish CLI (simulator)", function () {
  this.timeout(60000);
  let sim: Simulator;
  const env = { KINETIC_BMC_USER: USER, KINETIC_BMC_PASSWORD: PASSWORD };
  const ca = () => path.join(pki().dir, "ca.pem");
  const run = async (...argv: string[]): Promise<{ code: number; out: string }> => {
    let out = "";
    const code = await main(["redfish", ...argv, "--ca", ca()], env, (s) => void (out += s));
    return { code, out };
  };

  before(async () => {
    sim = await simulate([
      { address: BMC, profile: "dell", uuids: [UUID] },
      { address: BLADES, profile: "bladed" },
    ]);
  });
  after(async () => {
    await sim?.stop();
  });
  afterEach(() => assertNoOpenSessions(sim));

  it("discover --json lists UUID -> BMC, system and vendor", async () => {
    const { code, out } = await run("discover", range(6, 29), "--json", "--probe-timeout", "300");
    assert.equal(code, 0);
    const r = JSON.parse(out);
    assert.equal(r.systems.length, 5);
    const dell = r.systems.find((s: { uuid: string }) => s.uuid === UUID);
    assert.deepEqual([dell.address, dell.systemUri, dell.model], [BMC, "/redfish/v1/Systems/System.Embedded.1", "PowerEdge R650"]);
  });

  it("discover prints a table with a summary line", async () => {
    const { out } = await run("discover", range(6, 29), "--probe-timeout", "300");
    assert.match(out, /^UUID\s+BMC\s+SYSTEM\s+VENDOR\s+MODEL\s+SERIAL\s+POWER\s+CERT SHA-256\n/);
    assert.match(out, new RegExp(`${UUID}\\s+${BMC.replace(/\./g, "\\.")}\\s+/redfish/v1/Systems/System\\.Embedded\\.1`));
    assert.ok(out.includes(`6 addresses in ${range(6, 29)}: 5 systems, 0 failed, 4 refused, 0 silent`), out);
  });

  it("boot-once, status and power-cycle on one BMC", async () => {
    const boot = await run("boot-once", BMC, "--target", "Pxe", "--json");
    assert.equal(JSON.parse(boot.out).target, "Pxe");
    const status = await run("status", BMC);
    assert.match(status.out, /System\.Embedded\.1\s+4C4C4544-0031-4B10-8035-B7C04F4D4B99\s+Dell Inc\. PowerEdge R650\s+437XR1138R2\s+P79 v1\.45 \(12\/06\/2017\)\s+2x .+\s+96 GiB\s+On\s+Once\s+Pxe/);
    assert.match(status.out, /certificate SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.match(status.out, /NIC\.Integrated\.1-1=02:/);
    const cycle = await run("power-cycle", BMC, "--method", "ForceRestart");
    // Sent, and what the BMC shows: never "now On" as if the restart had already happened.
    assert.match(cycle.out, /sent ForceRestart; PowerState On\n/);
    assert.doesNotMatch(cycle.out, /now On/);
    // A restart of a running server keeps PowerState On; the boot itself lands after the power delay.
    for (let i = 0; i < 40 && sim.bmc(BMC).system().boots.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(sim.bmc(BMC).system().boots.slice(-1)[0]?.target, "Pxe");
  });

  it("asks which system on a multi-system BMC, and accepts --system by id or UUID", async () => {
    await assert.rejects(() => run("boot-once", BLADES), /manages 4 systems .*--system/);
    const uuid = sim.bmc(BLADES).system(2).uuid;
    const r = await run("boot-once", BLADES, "--system", uuid.toLowerCase(), "--target", "Hdd", "--json");
    assert.equal(JSON.parse(r.out).system, "/redfish/v1/Systems/529QB9452R6");
  });

  it("runs as `npm run kinetic -- redfish ...` with credentials from the environment only", async () => {
    const root = path.resolve(__dirname, "../..");
    const { stdout } = await promisify(execFile)("npm", ["run", "-s", "kinetic", "--", "redfish", "status", BMC, "--ca", ca(), "--json"], {
      cwd: root,
      env: { ...process.env, ...env, PATH: `${root}/node_modules/.bin:${process.env.PATH}` },
    });
    assert.equal(JSON.parse(stdout).systems[0].uuid, UUID);
    const bad = await promisify(execFile)("npm", ["run", "-s", "kinetic", "--", "redfish", "status", BMC], {
      cwd: root,
      env: { ...process.env, KINETIC_BMC_USER: "", KINETIC_BMC_PASSWORD: "", PATH: `${root}/node_modules/.bin:${process.env.PATH}` },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 64);
    assert.match((bad as { stderr: string }).stderr, /set KINETIC_BMC_USER and KINETIC_BMC_PASSWORD/);
  });
});
