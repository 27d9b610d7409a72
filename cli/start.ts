/**
 * `npm start` (`kinetic start [--stack lab]`; default: the lab-cloud stack): the lab if it is not running, then the real
 * `pulumi up` of the lab's stack on it, then the lab's status. The engine runs inside the lab's
 * network namespace, the only place where the lab's addresses exist.
 */
import { inLab, inLabNetwork, labStackArg, labUp, readStatus, renderStatus } from "../lab/control";
import { isLabStack, labLayout } from "../lab/layout";

const TS_NODE = () => require.resolve("ts-node/register/transpile-only");

export async function startCommand(argv: string[]): Promise<number> {
  const parsed = labStackArg(argv);
  if (typeof parsed === "string" || parsed.rest.length) {
    process.stderr.write(`start: ${typeof parsed === "string" ? parsed : `unexpected arguments ${parsed.rest.join(" ")}`}\n`);
    return 64;
  }
  const { stack } = parsed;
  const layout = labLayout(process.env, stack);
  process.stdout.write(renderStatus(await labUp({ stack, layout })));
  const code = await inLab([process.execPath, "-r", TS_NODE(), `${__dirname}/kinetic.ts`, "up", "--stack", stack], layout);
  process.stdout.write(renderStatus(readStatus(layout)));
  if (code === 0) process.stdout.write(usingTheCloud(stack));
  return code;
}

/** What a newcomer does next with the cloud `npm start` built (cli/labAccess.ts, cli/verify.ts, cli/openrc.ts). */
export function usingTheCloud(stack: string): string {
  const s = `--stack ${stack}`;
  return `
The cloud is up. Use it:
  npm run kinetic -- lab shell ${s}                    a shell in the lab's network as the cloud's admin (openstack server list)
  npm run kinetic -- lab shell ${s} -- openstack catalog list    one command instead
  npm run kinetic -- lab ssh keystone ${s}             root on a lab host (an endpoint or a type), over its pinned host key
  npm run kinetic -- lab forward horizon ${s}          horizon at http://127.0.0.1:8080/horizon/ in this machine's browser
  npm run kinetic -- verify ${s}                       OpenStack's Tempest smoke tests against it (--profile full for all)
  npm run kinetic -- openrc --stack NAME                a real site's admin openrc (a secret: it holds the password)
`;
}

/**
 * An engine operation on a lab's stack from outside the lab's network: run the same command inside
 * it. Returns the exit code, or undefined when the operation can run here.
 */
export async function reexecInLab(argv: string[]): Promise<number | undefined> {
  const i = argv.indexOf("--stack");
  const stack = i < 0 ? undefined : argv[i + 1];
  if (!isLabStack(stack)) return undefined;
  const layout = labLayout(process.env, stack);
  if (inLabNetwork(layout)) return undefined;
  if (!readStatus(layout)) {
    process.stderr.write(`the ${stack} stack's machines are its lab's: start it first (npm run kinetic -- lab up --stack ${stack})\n`);
    return 69;
  }
  return inLab([process.execPath, "-r", TS_NODE(), `${__dirname}/kinetic.ts`, ...argv], layout);
}
