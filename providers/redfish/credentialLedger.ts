/**
 * What each BMC said to the credentials of this run: the "at most one failed login per BMC" rule
 * (iDRAC and iLO lock an account after a few failures, and a locked BMC account stops every operator).
 *
 * A run is one process: one `pulumi` operation (every dynamic provider of a program runs in one
 * provider host process, and loads this module once) or one CLI command. Per BMC and credentials:
 * - the first request carrying them is sent alone; requests of other resources to the same BMC wait
 *   for its answer instead of sending the same wrong password alongside it (a refresh reads discovery,
 *   boot override and power of a server at once);
 * - once refused, nothing carrying them is sent to that BMC again in this run (`CredentialsWithheldError`);
 * - once HTTP Basic with them was accepted, a session POST that the BMC refuses may fall back to Basic
 *   (older Supermicro: accounts without the session privilege): that is no guess, so it cannot be a
 *   second failed login. Without that knowledge a refused session is reported, never retried as Basic.
 * Keys are SHA-256 digests: no password is kept in clear.
 */
import { createHash } from "node:crypto";

type Verdict = "refused" | "basicAccepted" | "accepted";

interface Entry {
  verdict?: Verdict;
  /** Set while the first request with these credentials is in flight. */
  pending?: Promise<void>;
  release?: () => void;
}

const ledger = new Map<string, Entry>();

/** The ledger key of a BMC (display name, e.g. `10.0.0.5` or `10.0.0.5:8443`) and credentials. */
export function credentialKey(bmc: string, user: string, password: string): string {
  return createHash("sha256").update(JSON.stringify([bmc, user, password])).digest("hex");
}

/**
 * Wait until these credentials may be sent to this BMC. Returns `"refused"` when the BMC refused them
 * earlier in this run (send nothing), else a `done(verdict)` to call with the answer (or with nothing
 * when the request failed before the BMC judged the credentials).
 */
export async function beforeSending(key: string): Promise<{ refused: true } | { refused: false; done: (verdict?: Verdict) => void }> {
  for (;;) {
    const e = ledger.get(key) ?? {};
    if (e.verdict === "refused") return { refused: true };
    if (e.pending) {
      await e.pending;
      continue;
    }
    if (e.verdict !== undefined) return { refused: false, done: (v) => note(key, v) };
    // First contact: hold the others until this one is answered.
    let release!: () => void;
    const pending = new Promise<void>((r) => (release = r));
    ledger.set(key, { ...e, pending, release });
    return {
      refused: false,
      done: (v) => {
        const cur = ledger.get(key) ?? {};
        ledger.set(key, { verdict: v ?? cur.verdict });
        release();
      },
    };
  }
}

function note(key: string, v: Verdict | undefined): void {
  if (v === undefined) return;
  const cur = ledger.get(key) ?? {};
  // "refused" wins; "basicAccepted" is kept over a later plain "accepted".
  if (cur.verdict === "refused") return;
  if (v === "accepted" && cur.verdict === "basicAccepted") return;
  ledger.set(key, { ...cur, verdict: v });
}

/** Whether HTTP Basic with these credentials was accepted by this BMC earlier in this run. */
export function basicAccepted(key: string): boolean {
  return ledger.get(key)?.verdict === "basicAccepted";
}

/** Forget every verdict (tests: each test is its own "run"). */
export function forgetCredentialLedger(): void {
  for (const e of ledger.values()) e.release?.();
  ledger.clear();
}
