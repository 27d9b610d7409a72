/**
 * An `up` in a process of its own, for the test that kills a run with SIGKILL: the test kills this
 * process's whole group (this process, the engine, its plugins), as a machine that dies would.
 * Arguments come as JSON in KINETIC_TEST_UP (no secret: the database password is in PGPASSFILE).
 */
import { openStack } from "../../engine/stack";
import { markerProgram, MarkerOptions } from "./markerProgram";
import { PASSPHRASE, testEngine } from "./scratch";

interface ChildArgs extends MarkerOptions {
  stack: string;
  workDir: string;
  backendUrl: string;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.env.KINETIC_TEST_UP ?? "{}") as ChildArgs;
  const stack = await openStack({ engine: await testEngine(), stack: args.stack, program: markerProgram(args), backendUrl: args.backendUrl, passphrase: PASSPHRASE, workDir: args.workDir });
  await stack.up({ onOutput: (s) => process.stdout.write(s) });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
