/**
 * A Redfish BMC simulator for tests, the benchmark and the dev stack: one real
 * HTTPS server per simulated BMC, each bound to its own loopback address,
 * serving resources from the DMTF mockups with vendor quirks (profiles/) and
 * injectable faults.
 *
 *   const pki = createTestPki();                       // simulator/pki.ts
 *   const sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.1.5", profile: "dell" }] });
 *   // client: https://127.0.1.5:443, CA pki.caCert, user admin / password
 *   sim.bmc("127.0.1.5").system().boot                 // what the client changed
 *   await sim.stop();
 *
 * Certificates: BMCs inside DEFAULT_SERVER_RANGES (127.0.0.1, 127.0.0.0/22,
 * 127.20.0.0/24) present `pki.serverCert`; the others share one certificate
 * signed by the same CA for exactly their addresses, issued with openssl at
 * start (one run, cached in pki.dir).
 */
import type { TestPki } from "./pki";
import { BmcService } from "./bmc";
import { certificatesFor, listenHanging, listenHttps, type Listening } from "./listener";
import { profiles } from "./profiles";
import type { BmcSpec, RecordedRequest, SimulatedBmc, Simulator } from "./types";

export type { BmcSpec, BootRecord, PowerEvent, BootSettings, PowerState, RecordedRequest, SimulatedBmc, Simulator, SystemSnapshot, VendorProfile } from "./types";
export type { TestPki } from "./pki";
export { defaultUuid } from "./bmc";
export { profiles } from "./profiles";

interface Running {
  bmc: SimulatedBmc;
  listening: Listening;
  service: BmcService;
}

function checkSpecs(specs: BmcSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    if (!/^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(spec.address) || spec.address.split(".").some((o) => Number(o) > 255)) {
      throw new Error(`simulator: ${spec.address} is not a 127.0.0.0/8 address; BMCs only listen on loopback`);
    }
    const key = `${spec.address}:${spec.port ?? 443}`;
    if (seen.has(key)) throw new Error(`simulator: two BMCs on ${key}`);
    seen.add(key);
    if (spec.profile && !(spec.profile in profiles)) throw new Error(`simulator: unknown profile ${spec.profile}`);
    if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port > 0 && spec.port < 65536)) throw new Error(`simulator: ${spec.address}: bad port ${spec.port}`);
    if (spec.uuids !== undefined && spec.uuids.length === 0) throw new Error(`simulator: ${spec.address}: uuids is empty (leave it out for the profile's default systems)`);
  }
}

async function startBmc(spec: BmcSpec, tls: { key: string; cert: string }): Promise<Running> {
  const port = spec.port ?? 443;
  const url = `${spec.scheme ?? "https"}://${spec.address}:${port}`;
  const service = new BmcService(spec, profiles[spec.profile ?? "generic"], url);
  const requests: RecordedRequest[] = [];
  const listening = spec.faults?.hang
    ? await listenHanging(spec)
    : await listenHttps(spec, tls, service, requests);
  const systemAt = (index = 0) => {
    const s = service.systems[index];
    if (!s) throw new Error(`simulator: ${spec.address} has ${service.systems.length} system(s), no index ${index}`);
    return s;
  };
  const bmc: SimulatedBmc = {
    spec, url, requests,
    openSessions: () => service.sessions.open,
    sessionsCreated: () => service.sessions.createdCount,
    system: (index) => systemAt(index).snapshot(),
    systems: () => service.systems.map((s) => s.snapshot()),
    setPowerState: (state, index) => systemAt(index).setPowerState(state),
  };
  return { bmc, listening, service };
}

/** Start every BMC in parallel; if any fails to start, the others are stopped and the error is thrown. */
export async function startSimulator(opts: { bmcs: BmcSpec[]; tls: TestPki }): Promise<Simulator> {
  checkSpecs(opts.bmcs);
  const certs = await certificatesFor(opts.bmcs, opts.tls);
  const results = await Promise.allSettled(opts.bmcs.map((spec, i) => startBmc(spec, certs[i])));
  const running = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async (): Promise<void> => {
    for (const r of running) r.service.stop();
    await Promise.all(running.map((r) => r.listening.close()));
  };
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const byAddress = new Map(running.map((r) => [r.bmc.spec.address, r.bmc]));
  return {
    bmcs: running.map((r) => r.bmc),
    bmc(address) {
      const found = byAddress.get(address);
      if (!found) throw new Error(`simulator: no BMC at ${address}`);
      return found;
    },
    stop,
  };
}
