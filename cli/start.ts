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
  if (code === 0) process.stdout.write(USING_THE_CLOUD);
  return code;
}

/** What a newcomer does next with the cloud `npm start` built (cli/labAccess.ts, cli/verify.ts, cli/openrc.ts). */
export const USING_THE_CLOUD = `
The cloud is up. Use it:
  npm run kinetic -- lab shell                    a shell in the lab's network as the cloud's admin (openstack server list)
  npm run kinetic -- lab shell -- openstack catalog list    one command instead
  npm run kinetic -- lab ssh keystone             root on a lab host (an endpoint or a type), over its pinned host key
  npm run kinetic -- lab forward horizon          horizon at http://127.0.0.1:8080/horizon in this machine's browser
  npm run kinetic -- verify --stack ${LAB_STACK}          OpenStack's Tempest smoke tests against it (--profile full for all)
  npm run kinetic -- openrc --stack NAME          a real site's admin openrc (a secret: it holds the password)
`;

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
