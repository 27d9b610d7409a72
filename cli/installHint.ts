/**
 * What an operator should do when a physical server never answered after its network install
 * (issue 21). The install is sent once: the boot override and the power cycle are recorded when
 * the BMC accepts them, so the next `up` does not power-cycle the server again (it may be running
 * an OS by then, and nothing reinstalls a machine nobody asked to reinstall). When the install
 * failed (a disk the installer refused, a mirror down), the server's `base` phase cannot reach it
 * and every later `up` fails the same way. The engine's error says only that SSH was not answered;
 * this says which server it is and that `kinetic rebuild <server>` installs it again.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { ENDPOINT_TYPES } from "../components/endpoint";

/** The command plugin's error when every SSH dial of a phase failed (engine/command/ssh.go). */
const DIAL_FAILED = /dialing (\S+) as \S+:/;

/** The endpoint whose base phase this URN is, when that endpoint is a physical server. */
function physicalBase(urn: string): string | undefined {
  // urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>
  const parts = urn.split("::");
  if (parts.length < 4) return undefined;
  const types = parts[2].split("$");
  const name = parts.slice(3).join("::");
  if (!types.includes(ENDPOINT_TYPES.physical) || !name.endsWith("-base")) return undefined;
  return name.slice(0, -"-base".length);
}

/** Collects, from an up's engine events, the physical servers whose base phase never reached them. */
export class UnreachedInstalls {
  private readonly servers = new Map<string, string>();

  observe(e: EngineEvent): void {
    const d = e.diagnosticEvent;
    if (!d || d.severity !== "error" || !d.urn) return;
    const server = physicalBase(d.urn);
    const dial = DIAL_FAILED.exec(d.message);
    // A wrong host key is an answer: that server is up (and not the one pinned); rebuild is not the cure.
    if (server && dial && !d.message.includes("host key mismatch")) this.servers.set(server, dial[1]);
  }

  /** One line per such server (none when there was none). */
  lines(): string[] {
    return [...this.servers].map(
      ([server, addr]) =>
        `${server} did not answer SSH at ${addr} after its network install. If the install failed (see its console and the pxe host's nginx log), ` +
        `the next up will not install it again (the power cycle is recorded as sent): \`kinetic rebuild ${server} --yes\` does.`,
    );
  }
}
