/**
 * The SDK's own cost per declared resource, for comparison with the program's: N bare
 * `remote.Command`s (the resource each formula phase is) under the same mocks, in this process.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { peakRssMiB } from "./peakRss";
import { withShortStacks } from "../../components/shortStacks";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 4000);
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: {} }), call: () => ({}) }, "kinetic", "bench", false);
  const started = process.hrtime.bigint();
  await pulumi.runtime.runInPulumiStack(async () => {
    const key = pulumi.secret("key");
    // With the same stack-capture setting as the program, so only the resources differ.
    withShortStacks(
      () => Array.from({ length: n }, (_, i) => new command.remote.Command(`c${i}`, { connection: { host: "127.0.0.1", privateKey: key }, create: "true", stdin: "x", triggers: ["t"] })),
      (list) => list,
    );
    return {};
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(JSON.stringify({ resources: n, ms, peakMiB: peakRssMiB() }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
