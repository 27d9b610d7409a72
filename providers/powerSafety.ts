/**
 * What the physical providers read before they touch a server's power (issue 21): a reset is only
 * sent where it was asked for. Loaded inside the dynamic provider host like `redfish/operations`
 * (see redfish/load.ts), so it imports only the Redfish modules, never the Pulumi program.
 *
 * - Power drift repair (`PowerCycle.update` after a refresh saw the server off) sends `On` only to a
 *   server that is still off when the up reaches it: one that came back on meanwhile is left alone
 *   (a ForceOff would cut a running OS).
 * - The first provisioning of a server (`BootOnce.create`, `PowerCycle.create`) refuses a server that
 *   is powered on unless the operator opted that server in: it may be running an OS (a mistyped UUID,
 *   a server migrated from the original), and provisioning is a PXE reinstall.
 */
import { withSession } from "./redfish/client";
import type { RedfishLogger } from "./redfish/log";
import { clientOptions, SystemInputs } from "./redfish/operations";
import { powerState, reset, waitPowerState } from "./redfish/power";
import { getVerifiedSystem } from "./redfish/systems";

/** The same deadlines as the power cycle itself (redfish/operations.ts, `timeouts.powerMs`). */
function powerWait(i: SystemInputs): { timeoutMs: number; pollMs: number } {
  return { timeoutMs: i.timeouts?.powerMs ?? 600000, pollMs: i.timeouts?.powerPollMs ?? 5000 };
}

/** A state in which a server may be running an OS: anything but Off (PoweringOn, On, PoweringOff, unknown). */
export function mayBeRunning(state: string): boolean {
  return state !== "Off";
}

/**
 * Repair of a server found off: read the power state now and send `On` only when it is `Off`.
 * Returns the resets sent (none, or `["On"]`) and the state after.
 */
export async function powerOnIfOff(i: SystemInputs, log?: RedfishLogger): Promise<{ resets: string[]; powerState: string }> {
  return withSession(clientOptions(i.bmcAddress, i, log), async (c) => {
    const { system } = await getVerifiedSystem(c, i.systemUri, i.uuid);
    const now = typeof system.PowerState === "string" ? system.PowerState : "";
    if (now !== "Off") {
      log?.warn(`${i.uuid} at ${i.bmcAddress} was seen off by the last refresh but is ${now || "in an unknown power state"} now: nothing sent`);
      return { resets: [], powerState: now };
    }
    await reset(c, i.systemUri, "On", system);
    await waitPowerState(c, i.systemUri, "On", powerWait(i));
    return { resets: ["On"], powerState: await powerState(c, i.systemUri) };
  });
}

/** Stack config key listing the servers (SMBIOS UUIDs) whose first provisioning may reset them while powered on. */
export const INSTALL_POWERED_ON_KEY = "kinetic:installPoweredOn";

/**
 * Refuses the first provisioning of a server that is powered on, unless `allowed`: throws one line
 * naming the server, its BMC, what it would do and how to opt in. Nothing is written to the BMC.
 */
export async function refuseRunningServer(i: SystemInputs, allowed: boolean, what: string, log?: RedfishLogger): Promise<void> {
  if (allowed) return;
  const state = await withSession(clientOptions(i.bmcAddress, i, log), async (c) => {
    const { system } = await getVerifiedSystem(c, i.systemUri, i.uuid);
    return typeof system.PowerState === "string" ? system.PowerState : "";
  });
  if (!mayBeRunning(state)) return;
  throw new Error(
    `server ${i.uuid} at ${i.bmcAddress} is powered on (${state || "power state not reported"}) and may be running an OS: ` +
      `${what} would reinstall it over PXE, so nothing was sent. Check the UUID; to reinstall it anyway, add it to ${INSTALL_POWERED_ON_KEY} ` +
      `(pulumi config set --path '${INSTALL_POWERED_ON_KEY}[0]' ${i.uuid}), or power it off first`,
  );
}
