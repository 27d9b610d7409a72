/** `npm run bench -- <name> [args]`: the benchmarks. Figures are printed, never asserted in tests. */
const BENCHES: Record<string, () => Promise<(args: string[]) => Promise<void>>> = {
  plan: async () => (await import("./plan")).benchPlan,
  discovery: async () => (await import("./discovery")).benchDiscovery,
  engine: async () => (await import("./engine")).benchEngine,
  lab: async () => (await import("./lab")).benchLab,
  cloud: async () => (await import("./lab")).benchCloud,
  rebuild: async () => (await import("./rebuild")).benchRebuild,
  scale: async () => (await import("./scale")).benchScale,
};
/** Left out of a bare `npm run bench`: the full cloud from nothing takes about 40 minutes, the rolling rebuild about 10, scale (1,000 endpoints, twice) several. */
const ON_REQUEST = new Set(["cloud", "rebuild", "scale"]);

async function main(argv: string[]): Promise<void> {
  const names = argv.length && !argv[0].startsWith("-") ? [argv[0]] : Object.keys(BENCHES).filter((n) => !ON_REQUEST.has(n));
  for (const name of names) {
    const load = BENCHES[name];
    if (!load) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(", ")}`);
    await (await load())(argv.slice(1));
  }
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
