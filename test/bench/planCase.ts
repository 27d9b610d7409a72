/**
 * One measurement, in its own process so peak memory is this case's alone: declare the whole
 * resource graph of a pillar under Pulumi's mocks and print JSON with the wall time and peak RSS.
 */
import { peakRssMiB } from "./peakRss";
import { realProvisioners } from "../../components/provisioners";
import { stubFormulas } from "../support/formulas";
import { runProgram } from "../support/program";

async function main(): Promise<void> {
  const [pillar] = process.argv.slice(2);
  // Formulas that read what real ones read: a configure needs a few peer lists, not all of them.
  const formulasDir = stubFormulas(undefined, {}, "NAME INDEX ADDRESSES_MYSQL ADDRESSES_RABBITMQ ADDRESSES_MEMCACHED");
  const started = process.hrtime.bigint();
  const run = await runProgram({ config: { "kinetic:pillar": pillar }, program: { formulasDir, provisioners: realProvisioners }, light: true });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const edges = run.resources.reduce((n, r) => n + r.dependsOn.length, 0);
  process.stdout.write(JSON.stringify({ endpoints: run.outputs.endpoints.length, resources: run.resources.length, edges, ms, peakMiB: peakRssMiB() }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
