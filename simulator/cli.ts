/**
 * Run simulated BMCs until interrupted, for a dev stack or poking with curl:
 *
 *   node -r ts-node/register/transpile-only simulator/cli.ts \
 *     [--pki-dir DIR] [--port N] [--power-delay MS] [--latency MS|MIN-MAX] \
 *     TARGET[=PROFILE[:UUID,UUID...]] ...
 *
 * TARGET is a loopback address or a CIDR range (its host addresses, e.g. the
 * dev pillar's oob 127.20.0.0/28). Prints one JSON line (CA path, each BMC's
 * URL, profile, systems) on stdout, then serves until SIGINT/SIGTERM.
 * Credentials are the defaults: admin / password.
 */
import { addressesOf, createTestPki } from "./pki";
import { startSimulator, type BmcSpec, type VendorProfile } from "./index";

function hosts(target: string): string[] {
  if (!target.includes("/")) return [target];
  const all = addressesOf(target);
  return all.length > 2 ? all.slice(1, -1) : all;
}

async function main(argv: string[]): Promise<void> {
  let pkiDir: string | undefined;
  const common: Partial<BmcSpec> = {};
  const bmcs: BmcSpec[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--pki-dir") pkiDir = value();
    else if (arg === "--port") common.port = Number(value());
    else if (arg === "--power-delay") common.powerDelayMs = Number(value());
    else if (arg === "--latency") {
      const [min, max] = value().split("-").map(Number);
      common.latencyMs = max === undefined ? min : [min, max];
    } else {
      const [target, rest] = arg.split("=");
      const [profile, uuids] = (rest ?? "").split(":");
      const uuidList = uuids ? uuids.split(",") : undefined;
      for (const address of hosts(target)) {
        const spec: BmcSpec = { ...common, address, profile: (profile || "generic") as VendorProfile };
        if (uuidList) spec.uuids = uuidList;
        bmcs.push(spec);
      }
    }
  }
  if (bmcs.length === 0) throw new Error("usage: cli.ts [--pki-dir DIR] [--port N] [--power-delay MS] [--latency MS|MIN-MAX] TARGET[=PROFILE[:UUID,...]] ...");
  const pki = createTestPki(pkiDir);
  const sim = await startSimulator({ tls: pki, bmcs });
  process.stdout.write(JSON.stringify({
    caPath: pki.caPath,
    bmcs: sim.bmcs.map((b) => ({
      url: b.url, profile: b.spec.profile,
      systems: b.systems().map((s) => ({ id: s.id, uuid: s.uuid })),
    })),
  }) + "\n");
  const stop = (): void => void sim.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
