/**
 * Every failure of the Redfish client, discovery and providers. One base class with a stable `code`
 * (modelled on undici's `lib/core/errors.js`); subclasses carry the facts (BMC, method, URI, status,
 * the BMC's `@Message.ExtendedInfo` messages) and the original error as `cause`.
 *
 * Type guards compare `code`, not `instanceof`: dynamic provider methods run in a module context
 * re-loaded from an absolute path, where a class identity check would fail.
 *
 * Nothing here ever receives credentials, tokens or request headers, so they cannot leak into a
 * message or a serialized error.
 */

export const REDFISH_ERROR_CODES = {
  http: "KINETIC_REDFISH_HTTP",
  transport: "KINETIC_REDFISH_TRANSPORT",
  timeout: "KINETIC_REDFISH_TIMEOUT",
  tls: "KINETIC_REDFISH_TLS",
  auth: "KINETIC_REDFISH_AUTH",
  notAllowed: "KINETIC_REDFISH_NOT_ALLOWED",
  protocol: "KINETIC_REDFISH_PROTOCOL",
  task: "KINETIC_REDFISH_TASK",
  uuidNotFound: "KINETIC_REDFISH_UUID_NOT_FOUND",
  uuidAmbiguous: "KINETIC_REDFISH_UUID_AMBIGUOUS",
  zeroizeRefused: "KINETIC_REDFISH_ZEROIZE_REFUSED",
  wrongSystem: "KINETIC_REDFISH_WRONG_SYSTEM",
  credentials: "KINETIC_REDFISH_CREDENTIALS",
  usage: "KINETIC_REDFISH_USAGE",
} as const;
export type RedfishErrorCode = (typeof REDFISH_ERROR_CODES)[keyof typeof REDFISH_ERROR_CODES];

/** One entry of a Redfish `@Message.ExtendedInfo` array (DSP0266 §9.10.2, Message.v1_1 schema). */
export interface RedfishMessage {
  MessageId?: string;
  Message?: string;
  Severity?: string;
  MessageSeverity?: string;
  Resolution?: string;
}

/** Where a request went: the facts every request-level error carries. */
export interface RequestFacts {
  /** BMC address as configured (`host` or `host:port`). */
  bmc: string;
  method: string;
  /** Path of the resource (never carries credentials). */
  uri: string;
}

export class RedfishError extends Error {
  constructor(
    readonly code: RedfishErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RedfishError";
  }
}

function describe(f: RequestFacts): string {
  return `${f.method} https://${f.bmc}${f.uri}`;
}

function formatMessages(messages: RedfishMessage[]): string {
  if (messages.length === 0) return "";
  return ": " + messages.map((m) => `[${m.MessageId ?? "?"}] ${m.Message ?? ""}`.trim()).join("; ");
}

/** The BMC answered with a status we cannot accept (after retries). */
export class RedfishHttpError extends RedfishError {
  readonly bmc: string;
  readonly method: string;
  readonly uri: string;
  constructor(
    facts: RequestFacts,
    readonly status: number,
    readonly messages: RedfishMessage[],
    detail?: string,
    code: RedfishErrorCode = REDFISH_ERROR_CODES.http,
  ) {
    super(code, `${describe(facts)} failed with HTTP ${status}${detail ? ` (${detail})` : ""}${formatMessages(messages)}`);
    this.name = "RedfishHttpError";
    this.bmc = facts.bmc;
    this.method = facts.method;
    this.uri = facts.uri;
  }
  /** Message ids only, e.g. `Base.1.8.PropertyValueNotInList`. */
  get messageIds(): string[] {
    return this.messages.map((m) => m.MessageId ?? "").filter((id) => id !== "");
  }
}

/** Where the BMC credentials come from, for hints: the settings that really exist. */
export const CREDENTIALS_HINT =
  "the user is the pillar's bmc.api_user, the password the stack secret kinetic:bmcPassword (CLI: KINETIC_BMC_USER / KINETIC_BMC_PASSWORD)";

/** 401/403: the credentials were refused (the message never names them). */
export class RedfishAuthError extends RedfishHttpError {
  constructor(
    facts: RequestFacts,
    status: number,
    messages: RedfishMessage[],
    /** The 401 carried `WWW-Authenticate: Basic`: the BMC takes Basic, so a refusal means wrong credentials. */
    readonly basicChallenge = false,
  ) {
    super(facts, status, messages, `credentials refused by ${facts.bmc}; ${CREDENTIALS_HINT}`, REDFISH_ERROR_CODES.auth);
    this.name = "RedfishAuthError";
  }
}

/**
 * Nothing was sent: this BMC refused these credentials earlier in this run (credentialLedger.ts). An
 * auth error like the refusal itself (`isRedfishAuthError`), so callers treat both alike.
 */
export class CredentialsWithheldError extends RedfishAuthError {
  readonly withheld = true;
  constructor(facts: RequestFacts) {
    super(facts, 401, []);
    this.message =
      `${describe(facts)}: not sent: ${facts.bmc} refused these credentials earlier in this run, and each further ` +
      `failed login brings an account lockout closer (at most one per BMC per run); ${CREDENTIALS_HINT}`;
    this.name = "CredentialsWithheldError";
  }
}

/** The connection failed (refused, reset, DNS, socket closed) before an answer arrived. */
export class RedfishTransportError extends RedfishError {
  readonly bmc: string;
  readonly method: string;
  readonly uri: string;
  constructor(
    facts: RequestFacts,
    /** The system or undici error code, e.g. `ECONNREFUSED`, `UND_ERR_SOCKET`. */
    readonly transportCode: string,
    cause: unknown,
    code: RedfishErrorCode = REDFISH_ERROR_CODES.transport,
    what = "connection failed",
  ) {
    super(code, `${describe(facts)}: ${what} (${transportCode})`, { cause });
    this.name = "RedfishTransportError";
    this.bmc = facts.bmc;
    this.method = facts.method;
    this.uri = facts.uri;
  }
}

/** Which TLS check failed (see `tls.ts` `classifyTlsError`). */
export type RedfishTlsCheck = "chain" | "name" | "expired" | "not-tls" | "pin" | "handshake";

const TLS_WHAT: Record<RedfishTlsCheck, string> = {
  chain:
    "TLS: the certificate does not chain to a trusted CA; put the CA that signed it in kinetic:bmcCaBundle (CLI --ca FILE), " +
    "or trust each BMC's own certificate on first use for this network (kinetic:bmcTofuNetworks, CLI --tofu)",
  name:
    "TLS: the certificate chains to a trusted CA but does not name this address (BMC certificates usually name a host name); " +
    "verify the chain only for this network with kinetic:bmcCaOnlyNetworks (CLI --ca-only)",
  expired: "TLS: the certificate has expired or is not valid yet (check the BMC's clock and renew its certificate)",
  "not-tls": "not TLS: the service on this port answered in plain text (plain HTTP on a TLS port?); for a virtual BMC that only serves http, opt in with kinetic:bmcHttpNetworks (CLI --http)",
  pin: "TLS: certificate pin mismatch",
  handshake:
    "TLS handshake failed (protocol or cipher mismatch); old firmware may need legacy ciphers (CLI --legacy-ciphers), or skip verification for this network (kinetic:bmcInsecureNetworks, CLI --insecure)",
};

/** The TLS handshake or certificate verification failed; `check` says which check. */
export class RedfishTlsError extends RedfishTransportError {
  constructor(
    facts: RequestFacts,
    transportCode: string,
    cause: unknown,
    readonly check: RedfishTlsCheck = "handshake",
  ) {
    super(facts, transportCode, cause, REDFISH_ERROR_CODES.tls, TLS_WHAT[check]);
    this.name = "RedfishTlsError";
  }
}

/**
 * The BMC presented another certificate than the one pinned at discovery. Never accepted silently:
 * the message names both fingerprints and how to accept the new one.
 */
export class RedfishPinError extends RedfishError {
  readonly check = "pin" as const;
  readonly transportCode = "KINETIC_REDFISH_TLS_PIN";
  constructor(
    readonly bmc: string,
    readonly pinned: string,
    readonly presented: string,
  ) {
    super(
      REDFISH_ERROR_CODES.tls,
      `${bmc}: TLS certificate changed since discovery pinned it: pinned SHA-256 ${pinned}, presented ${presented}. ` +
        `If the BMC's certificate was replaced on purpose, accept the new one by discovering again: ` +
        `\`pulumi up --replace <URN of the host's ...-discovery resource>\` (CLI: --pin ${presented}); otherwise treat it as an attack.`,
    );
    this.name = "RedfishPinError";
  }
}

/** A connect, request, task or power-state deadline passed. */
export class RedfishTimeoutError extends RedfishError {
  constructor(
    readonly bmc: string,
    /** What was being waited for, e.g. `connect`, `response to GET /redfish/v1`, `PowerState On`. */
    readonly waitingFor: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown; method?: string; uri?: string },
  ) {
    super(REDFISH_ERROR_CODES.timeout, `${bmc}: timed out after ${timeoutMs} ms waiting for ${waitingFor}`, options);
    this.name = "RedfishTimeoutError";
    this.method = options?.method;
    this.uri = options?.uri;
  }
  readonly method: string | undefined;
  readonly uri: string | undefined;
}

/** A requested boot target, boot mode or reset type the BMC does not accept. */
export class RedfishNotAllowedError extends RedfishError {
  constructor(
    readonly bmc: string,
    readonly uri: string,
    /** The property or parameter, e.g. `Boot.BootSourceOverrideTarget`, `ResetType`. */
    readonly property: string,
    readonly requested: string,
    readonly allowed: string[],
    /** Where the allowed list came from (`@Redfish.AllowableValues` or an ActionInfo URI). */
    readonly source: string,
  ) {
    super(
      REDFISH_ERROR_CODES.notAllowed,
      `${bmc}${uri}: ${property} "${requested}" is not accepted by this BMC; it accepts ${
        allowed.length ? allowed.map((a) => `"${a}"`).join(", ") : "nothing"
      } (from ${source})`,
    );
    this.name = "RedfishNotAllowedError";
  }
}

/** The BMC answered something that does not follow the Redfish schema (missing link, bad JSON). */
export class RedfishProtocolError extends RedfishError {
  constructor(
    readonly bmc: string,
    readonly uri: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(REDFISH_ERROR_CODES.protocol, `${bmc}${uri}: ${detail}`, options);
    this.name = "RedfishProtocolError";
  }
}

/** A task monitor finished in a state other than `Completed`. */
export class RedfishTaskError extends RedfishError {
  constructor(
    readonly bmc: string,
    readonly monitorUri: string,
    readonly taskState: string,
    readonly messages: RedfishMessage[],
  ) {
    super(REDFISH_ERROR_CODES.task, `${bmc}: task ${monitorUri} ended in state ${taskState}${formatMessages(messages)}`);
    this.name = "RedfishTaskError";
  }
}

/** A pillar UUID that no scanned BMC reports. */
export class UuidNotFoundError extends RedfishError {
  constructor(
    readonly uuid: string,
    readonly endpointType: string,
    readonly ranges: string[],
    readonly scanned: number,
    readonly found: number,
  ) {
    super(
      REDFISH_ERROR_CODES.uuidNotFound,
      `SMBIOS UUID ${uuid} of endpoint type "${endpointType}" was not found on any BMC in ${ranges.join(", ")} ` +
        `(${scanned} addresses scanned, ${found} systems answered; byte-swapped form also tried)`,
    );
    this.name = "UuidNotFoundError";
  }
}

/** A UUID that more than one system reports, or the all-zero UUID: which server is meant cannot be told. */
export class UuidAmbiguousError extends RedfishError {
  constructor(
    readonly uuid: string,
    readonly endpointType: string,
    readonly locations: { address: string; systemUri: string }[],
    reason: string,
  ) {
    super(
      REDFISH_ERROR_CODES.uuidAmbiguous,
      `SMBIOS UUID ${uuid} of endpoint type "${endpointType}" is ambiguous (${reason}): ` +
        locations.map((l) => `${l.address}${l.systemUri}`).join(", "),
    );
    this.name = "UuidAmbiguousError";
  }
}

/** Most BMCs that answered refused the credentials: the password (or user) is probably wrong. */
export class CredentialsRefusedError extends RedfishError {
  constructor(
    readonly refused: string[],
    readonly answered: number,
    readonly user: string,
  ) {
    super(
      REDFISH_ERROR_CODES.credentials,
      `${refused.length} of ${answered} BMCs that answered refused the credentials of user "${user}" ` +
        `(${refused.slice(0, 5).join(", ")}${refused.length > 5 ? ", ..." : ""}): the password is probably wrong; ${CREDENTIALS_HINT}. ` +
        `The scan stopped sending credentials to avoid locking the account.`,
    );
    this.name = "CredentialsRefusedError";
  }
}

/** Deleting a physical endpoint without the stack's permission to zeroize physical hosts. */
export class ZeroizeRefusedError extends RedfishError {
  constructor(
    readonly resource: string,
    readonly target: string,
  ) {
    super(
      REDFISH_ERROR_CODES.zeroizeRefused,
      `refusing to ${resource} ${target}: zeroizing physical hosts (power off, clear boot override) is not allowed by this stack. ` +
        `Allow it with \`pulumi config set kinetic:zeroizePhysical true\` and run again, ` +
        `or drop the resource from state without touching the server with \`pulumi state delete <urn>\``,
    );
    this.name = "ZeroizeRefusedError";
  }
}

/** The system at the recorded address no longer reports the UUID we expect. */
export class WrongSystemError extends RedfishError {
  constructor(
    readonly bmc: string,
    readonly systemUri: string,
    readonly expectedUuid: string,
    readonly actualUuid: string,
  ) {
    super(
      REDFISH_ERROR_CODES.wrongSystem,
      `${bmc}${systemUri} reports UUID ${actualUuid || "(none)"}, not ${expectedUuid}; the server moved, run discovery again (pulumi refresh)`,
    );
    this.name = "WrongSystemError";
  }
}

function hasCode(e: unknown, code: string): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === code;
}

export function isRedfishError(e: unknown): e is RedfishError {
  return typeof e === "object" && e !== null && Object.values(REDFISH_ERROR_CODES).includes((e as { code?: never }).code as never);
}
export const isRedfishHttpError = (e: unknown): e is RedfishHttpError =>
  hasCode(e, REDFISH_ERROR_CODES.http) || hasCode(e, REDFISH_ERROR_CODES.auth);
export const isRedfishAuthError = (e: unknown): e is RedfishAuthError => hasCode(e, REDFISH_ERROR_CODES.auth);
export const isRedfishTransportError = (e: unknown): e is RedfishTransportError =>
  hasCode(e, REDFISH_ERROR_CODES.transport) || hasCode(e, REDFISH_ERROR_CODES.tls);
export const isRedfishTlsError = (e: unknown): e is RedfishTlsError => hasCode(e, REDFISH_ERROR_CODES.tls);
export const isRedfishTimeoutError = (e: unknown): e is RedfishTimeoutError => hasCode(e, REDFISH_ERROR_CODES.timeout);
export const isRedfishNotAllowedError = (e: unknown): e is RedfishNotAllowedError => hasCode(e, REDFISH_ERROR_CODES.notAllowed);
export const isRedfishProtocolError = (e: unknown): e is RedfishProtocolError => hasCode(e, REDFISH_ERROR_CODES.protocol);
export const isRedfishTaskError = (e: unknown): e is RedfishTaskError => hasCode(e, REDFISH_ERROR_CODES.task);
export const isUuidNotFoundError = (e: unknown): e is UuidNotFoundError => hasCode(e, REDFISH_ERROR_CODES.uuidNotFound);
export const isUuidAmbiguousError = (e: unknown): e is UuidAmbiguousError => hasCode(e, REDFISH_ERROR_CODES.uuidAmbiguous);
export const isZeroizeRefusedError = (e: unknown): e is ZeroizeRefusedError => hasCode(e, REDFISH_ERROR_CODES.zeroizeRefused);
export const isRedfishPinError = (e: unknown): e is RedfishPinError => hasCode(e, REDFISH_ERROR_CODES.tls) && (e as { check?: unknown }).check === "pin";
export const isCredentialsRefusedError = (e: unknown): e is CredentialsRefusedError => hasCode(e, REDFISH_ERROR_CODES.credentials);
export const isWrongSystemError = (e: unknown): e is WrongSystemError => hasCode(e, REDFISH_ERROR_CODES.wrongSystem);
