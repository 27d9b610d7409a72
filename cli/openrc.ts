/**
 * `kinetic openrc [--stack NAME]`: the admin's openrc of a deployed stack, for a real site's
 * operator (`kinetic openrc --stack prod > admin-openrc.sh; . ./admin-openrc.sh`). The password in
 * it is the point, so it goes to stdout and nowhere else; stderr says it is a secret.
 */
import { openrc } from "../verify/adminCredentials";
import { stackAdminCredentials, stackCloud } from "./cloudAccess";
import { oneLine } from "./verify";

export const OPENRC_USAGE = `kinetic openrc [--stack NAME]   the admin's openrc of the stack's cloud on stdout (it holds the admin password)`;

export async function openrcCommand(argv: string[]): Promise<number> {
  let stackName = "dev";
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack" && argv[i + 1]) stackName = argv[++i];
    else {
      process.stderr.write(`openrc: unexpected argument ${argv[i]}\n${OPENRC_USAGE}\n`);
      return 64;
    }
  }
  try {
    const credentials = await stackAdminCredentials(await stackCloud(stackName));
    process.stderr.write(`openrc: this is stack ${stackName}'s admin password: a secret. Keep the file private (umask 077), never commit or paste it\n`);
    process.stdout.write(openrc(credentials, `kinetic openrc --stack ${stackName}: the admin of ${credentials.authUrl}`));
    return 0;
  } catch (e) {
    process.stderr.write(`openrc: ${oneLine(e)}\n`);
    return 1;
  }
}
