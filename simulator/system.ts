/**
 * One simulated ComputerSystem: power state machine, boot override and (dell)
 * pending settings. No HTTP here; bmc.ts maps requests onto these methods.
 *
 * Timing: a reset moves PowerState after `powerDelayMs` (PoweringOn /
 * PoweringOff in between; a restart of a running system stays "On", as most
 * BMCs report it). A boot happens when that delay ends: pending settings are
 * applied first, the override in force is recorded in `boots`, and a `Once`
 * override then returns to Disabled / None.
 */
import type { BootRecord, BootSettings, PowerEvent, PowerState, SystemSnapshot } from "./types";
import { resetOutcome } from "./profiles/profile";

export class SimSystem {
  powerState: PowerState;
  boot: BootSettings;
  pendingBoot: Partial<BootSettings> | undefined;
  /** settingsModeOnly fault: the pending keys a reset really applies (others are dropped). */
  appliesFromSettings: string[] | undefined;
  readonly resets: string[] = [];
  readonly boots: BootRecord[] = [];
  /** ComputerSystem `LastResetTime` (v1_12): when the last boot happened. */
  lastResetTime = "2026-01-01T00:00:00+00:00";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly uuid: string,
    private readonly powerDelayMs: number,
    initialPower: "On" | "Off",
    withMode: boolean,
    /** Told when a boot happens and when power goes off (the lab starts and stops the server's host). */
    private readonly onPower?: (event: PowerEvent) => void,
  ) {
    this.powerState = initialPower;
    this.boot = { BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None" };
    if (withMode) this.boot.BootSourceOverrideMode = "UEFI";
  }

  /** True while a reset has not finished moving the power state. */
  get transitioning(): boolean {
    return this.timer !== undefined;
  }

  /** Accept a (validated) ResetType and schedule its effect. */
  reset(type: string): void {
    this.resets.push(type);
    const outcome = resetOutcome(type, this.powerState);
    if (!outcome) return; // Nmi: no power change
    this.cancel();
    if (!outcome.boots && outcome.to === "On") return; // On while already on: nothing to do
    const restartWhileOn = outcome.boots && this.powerState === "On" && outcome.to === "On";
    if (!restartWhileOn) this.powerState = outcome.to === "On" ? "PoweringOn" : "PoweringOff";
    const finish = (): void => {
      this.timer = undefined;
      this.powerState = outcome.to;
      if (outcome.boots) this.bootNow(type);
      else if (outcome.to === "Off") this.onPower?.({ kind: "off", uuid: this.uuid });
    };
    if (this.powerDelayMs <= 0) finish();
    else {
      this.timer = setTimeout(finish, this.powerDelayMs);
      this.timer.unref();
    }
  }

  private bootNow(resetType: string): void {
    if (this.pendingBoot) {
      const applied = this.appliesFromSettings
        ? Object.fromEntries(Object.entries(this.pendingBoot).filter(([k]) => this.appliesFromSettings!.includes(k)))
        : this.pendingBoot;
      this.boot = { ...this.boot, ...applied };
      this.pendingBoot = undefined;
    }
    const active = this.boot.BootSourceOverrideEnabled !== "Disabled" && this.boot.BootSourceOverrideTarget !== "None";
    const record: BootRecord = { resetType, target: active ? this.boot.BootSourceOverrideTarget : "None", at: Date.now() };
    this.lastResetTime = new Date(record.at).toISOString().replace("Z", "+00:00");
    if (active && this.boot.BootSourceOverrideMode) record.mode = this.boot.BootSourceOverrideMode;
    this.boots.push(record);
    if (this.boot.BootSourceOverrideEnabled === "Once") {
      this.boot.BootSourceOverrideEnabled = "Disabled";
      this.boot.BootSourceOverrideTarget = "None";
    }
    this.onPower?.({ kind: "boot", uuid: this.uuid, target: record.target, resetType });
  }

  setPowerState(state: "On" | "Off"): void {
    this.cancel();
    this.powerState = state;
    if (state === "Off") this.onPower?.({ kind: "off", uuid: this.uuid });
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  snapshot(): SystemSnapshot {
    const s: SystemSnapshot = {
      uuid: this.uuid, id: this.id, powerState: this.powerState, boot: { ...this.boot },
      resets: [...this.resets], boots: this.boots.map((b) => ({ ...b })),
    };
    if (this.pendingBoot) s.pendingBoot = { ...this.pendingBoot };
    return s;
  }
}
