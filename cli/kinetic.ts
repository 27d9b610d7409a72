/**
 * The operator's command: `npm run kinetic -- <command> ...`.
 */
import { ENGINE_USAGE, engineCommand, Operation, operationCommand } from "./engineCommands";
import { LAB_USAGE } from "../lab/control";
import { LAB_ACCESS_USAGE } from "./labAccess";
import { OPENRC_USAGE } from "./openrc";
import { VERIFY_USAGE } from "./verify";
import { IMAGE_USAGE } from "./image";
import { lockLeftBehind, lockRefusal, refusalLine } from "../engine/stackLock";
import { STATE_USAGE } from "./state";
import { BACKUP_USAGE } from "./backup";

const USAGE = `usage: npm run kinetic -- <command> [args]
kinetic plan [pillar dir] [...]  the offline plan (same as npm run plan)
kinetic redfish <command> ...     talk to BMCs (discover, status, power...); kinetic redfish help
kinetic start [--stack lab]       npm start: the lab up, then the real \`up\` of its stack on it (default: lab-cloud, the whole cloud)
kinetic rebuild <type|endpoint>... [--stack NAME] [--restore-from <id|latest>] --yes
                                  replace those machines and re-run their phases and all that need them;
                                  a clustered type's members one at a time, each back in its cluster first;
                                  --restore-from: a type the backup holds rebuilt whole, then put back
${BACKUP_USAGE}
kinetic rotate [--class C]... [--stack NAME] [--yes]
                                  new credentials of those classes (kinetic:epochs), re-running only the
                                  phases that read them, no machine replaced; without --yes: the plan
${IMAGE_USAGE}
${LAB_USAGE}
${LAB_ACCESS_USAGE}
${VERIFY_USAGE}
${OPENRC_USAGE}
${ENGINE_USAGE}
${STATE_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "plan":
      return (await import("./plan")).main(rest);
    case "redfish":
      return redfish(rest);
    case "engine":
      return engineCommand(rest);
    case "lab":
      if (rest[0] === "shell" || rest[0] === "ssh" || rest[0] === "forward") return (await import("./labAccess")).labAccessCommand(rest[0], rest.slice(1));
      return (await import("../lab/control")).labCommand(rest);
    case "verify": {
      const inLab = await (await import("./start")).reexecInLab(argv);
      return inLab ?? (await import("./verify")).verifyCommand(rest);
    }
    case "openrc":
      return (await import("./openrc")).openrcCommand(rest);
    case "image":
      return (await import("./image")).imageCommand(rest);
    case "start":
      return (await import("./start")).startCommand(rest);
    case "rebuild": {
      const inLab = await (await import("./start")).reexecInLab(argv);
      return inLab ?? (await import("./rebuild")).rebuildCommand(rest);
    }
    case "backup": {
      const inLab = await (await import("./start")).reexecInLab(argv);
      return inLab ?? (await import("./backup")).backupCommand(rest);
    }
    case "restore": {
      const inLab = await (await import("./start")).reexecInLab(argv);
      return inLab ?? (await import("./backup")).restoreCommand(rest);
    }
    case "rotate": {
      const inLab = await (await import("./start")).reexecInLab(argv);
      return inLab ?? (await import("./rotate")).rotateCommand(rest);
    }
    case "preview":
    case "up":
    case "refresh":
    case "destroy": {
      const inLab = await (await import("./start")).reexecInLab(argv);
      return inLab ?? operationCommand(command as Operation, rest);
    }
    case "unlock":
      return (await import("./state")).unlockCommand(rest);
    case "state":
      return (await import("./state")).stateCommand(rest);
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 64 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 64;
  }
}

// Output piped into `head` and the like: stop quietly instead of buffering an engine's output forever.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(141);
});

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    // The engine already printed its diagnostics through onOutput; this is the one-line summary.
    const message = e instanceof Error ? e.message : String(e);
    // Refused because another run holds the stack: say who and since when, and what to do.
    const holders = lockRefusal(message);
    if (holders) {
      const i = process.argv.indexOf("--stack");
      process.stderr.write(`kinetic: ${refusalLine(holders, i > 0 ? process.argv[i + 1] : "dev")}\n`);
      process.exitCode = 75;
      return;
    }
    process.stderr.write(`kinetic: ${firstLines(message)}\n`);
    if (lockLeftBehind(message)) {
      const i = process.argv.indexOf("--stack");
      process.stderr.write(`kinetic: the run could not remove its lock on the stack; once the backend is back, kinetic unlock --stack ${i > 0 ? process.argv[i + 1] : "dev"} removes it\n`);
    }
    if (process.env.KINETIC_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);

/** The redfish CLI's own exit codes: 64 for a usage error (missing credentials included), else 1. */
async function redfish(argv: string[]): Promise<number> {
  const [{ main: run }, { REDFISH_ERROR_CODES }] = await Promise.all([import("../providers/redfish/cli"), import("../providers/redfish/errors")]);
  try {
    return await run(argv);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return (e as { code?: string }).code === REDFISH_ERROR_CODES.usage ? 64 : 1;
  }
}

function firstLines(s: string): string {
  const lines = s.split("\n");
  return lines.length > 40 ? `${lines.slice(0, 40).join("\n")}\n...` : s;
}
