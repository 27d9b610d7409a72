/**
 * `npm start` (`kinetic start`): the lab if it is not running, then the real `pulumi up` of the lab
 * stack on it, then the lab's status. The engine runs inside the lab's network namespace, the only
 * place where the lab's addresses exist.
 */
import { inLab, inLabNetwork, LAB_STACK, labUp, readStatus, renderStatus } from "../lab/control";

const TS_NODE = () => require.resolve("ts-node/register/transpile-only");

export async function startCommand(argv: string[]): Promise<number> {
  if (argv.length) {
    process.stderr.write(`start: unexpected arguments ${argv.join(" ")}\n`);
    return 64;
  }
  process.stdout.write(renderStatus(await labUp()));
  const code = await inLab([process.execPath, "-r", TS_NODE(), `${__dirname}/kinetic.ts`, "up", "--stack", LAB_STACK]);
  process.stdout.write(renderStatus(readStatus()));
  return code;
}

/**
 * An engine operation on the lab stack from outside the lab's network: run the same command inside
 * it. Returns the exit code, or undefined when the operation can run here.
 */
export async function reexecInLab(argv: string[]): Promise<number | undefined> {
  const i = argv.indexOf("--stack");
  if (i < 0 || argv[i + 1] !== LAB_STACK || inLabNetwork()) return undefined;
  if (!readStatus()) {
    process.stderr.write(`the lab stack's machines are the lab's: start it first (npm run lab -- up)\n`);
    return 69;
  }
  return inLab([process.execPath, "-r", TS_NODE(), `${__dirname}/kinetic.ts`, ...argv]);
}
