/**
 * Every lab host runs its own systemd, dbus, logind and resolved, each holding inotify instances,
 * all as the machine's root (no user namespace). The kernel's default of 128 instances per user
 * runs out at about a dozen hosts: the next hosts' systemd stays in "initializing" and init never
 * appears (the full cloud's 21 hosts; the bench's lab beside the cloud lab: physical servers that
 * never came up). Measured here: 17 hosts booted beside the cloud lab's 13 left 7 of them
 * initializing after 120 s at 128; all 17 up in 17 s at 1024.
 */
import * as fs from "node:fs";

const SYSCTL = "/proc/sys/fs/inotify/max_user_instances";
/** Enough for a few hundred hosts at about ten instances each; raised only, never lowered. */
export const INOTIFY_INSTANCES_FLOOR = 8192;

/**
 * Raises fs.inotify.max_user_instances to the floor when it is lower. Returns the old value when it
 * raised it (to say so), undefined when it was high enough; throws when it is low and cannot be
 * raised (not root), naming the setting, since hosts would then hang in boot without a word.
 * `file`/`writeTo`: the sysctl, or a test's stand-ins.
 */
export function ensureInotifyInstances(file = SYSCTL, writeTo = file): number | undefined {
  const current = Number(fs.readFileSync(file, "utf8").trim());
  if (current >= INOTIFY_INSTANCES_FLOOR) return undefined;
  try {
    fs.writeFileSync(writeTo, `${INOTIFY_INSTANCES_FLOOR}\n`);
  } catch (e) {
    throw new Error(
      `fs.inotify.max_user_instances is ${current}, too few for the lab's hosts (each runs its own systemd), and could not be raised: ${(e as Error).message}; ` +
        `run \`sysctl -w fs.inotify.max_user_instances=${INOTIFY_INSTANCES_FLOOR}\` as root`,
    );
  }
  return current;
}
