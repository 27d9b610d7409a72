/**
 * The Redfish client: every HTTP exchange with a BMC goes through `RedfishClient.request` (the one
 * choke point, after sushy's `connector.py` `_op`): default headers, authentication, the per-BMC
 * in-flight limit, timeouts, retries from `retry.ts`, task monitors and error mapping.
 *
 * Redfish specification: DSP0266 (https://www.dmtf.org/dsp/DSP0266).
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { Agent, buildConnector, request as undiciRequest } from "undici";
import { basicAccepted, beforeSending, credentialKey } from "./credentialLedger";
import {
  CredentialsWithheldError,
  RedfishAuthError,
  RedfishError,
  RedfishHttpError,
  RedfishMessage,
  RedfishPinError,
  RedfishProtocolError,
  RedfishTaskError,
  RedfishTimeoutError,
  RedfishTlsError,
  RedfishTransportError,
  REDFISH_ERROR_CODES,
  RequestFacts,
  isRedfishHttpError,
} from "./errors";
import { Limiter } from "./limiter";
import { isIloSuccessMessageId } from "./oem/hpe";
import { RedfishLogger, silentLogger } from "./log";
import { RetryPolicy, retryDelay, retryPolicy, shouldRetryStatus, shouldRetryTransport } from "./retry";
import { BmcTlsOptions, classifyTlsError, fingerprintOf, isTlsErrorCode, normalizeFingerprint, tlsConnectOptions } from "./tls";

/** How the client authenticates. */
/** Marks a connect timeout that passed after TCP connected (see `tlsConnector`). */
const TLS_STALLED = Symbol("kinetic.tlsHandshakeStalled");

function tlsStalled(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x && typeof x === "object" && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if ((x as { [TLS_STALLED]?: boolean })[TLS_STALLED] === true) return true;
  }
  return false;
}

export const AUTH_MODES = ["auto", "session", "basic"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface RedfishClientOptions {
  /** BMC address: `host`, `host:port`, `https://host[:port]`, or `http://host[:port]` with `allowHttp`. */
  address: string;
  /**
   * Permit a plain-HTTP address (`http://...`): only for virtual BMCs (OpenStack's sushy emulator,
   * VirtualBMC-style services), per network (`kinetic:bmcHttpNetworks`). Default `false`.
   */
  allowHttp?: boolean;
  /** BMC account name (pillar `api_user`). Needed for anything beyond the service root. */
  user?: string;
  /** BMC account password. Never logged, never part of an error. */
  password?: string;
  /**
   * `session` logs in through the service root's `Links.Sessions` (DSP0266 §13.3.4, X-Auth-Token);
   * `basic` sends HTTP Basic on every request; `auto` (default) uses a session and falls back to
   * Basic when the BMC has no session service or its session table stays full (503).
   */
  auth?: AuthMode;
  /** Certificate verification; see `BmcTlsOptions`. Default: verify against Node's roots. */
  tls?: BmcTlsOptions;
  /** TCP + TLS connect deadline in ms. Default `5000`. */
  connectTimeoutMs?: number;
  /** Deadline for response headers, and again for the body, in ms. Default `30000`. */
  requestTimeoutMs?: number;
  /** Retry policy overrides; see `retry.ts` for the defaults. */
  retry?: Partial<RetryPolicy>;
  /**
   * Requests in flight to this BMC at once, shared by every client of this process talking to the same
   * BMC. Default `4`: BMC web servers are small and several vendors answer 503 beyond a handful.
   */
  maxInFlight?: number;
  /** How long a task monitor (202 + Location, DSP0266 §13.2.6) may run, in ms. Default `600000`. */
  taskTimeoutMs?: number;
  /** Task monitor poll interval when the BMC sends no `Retry-After`, in ms. Default `1000`. */
  taskPollMs?: number;
  log?: RedfishLogger;
}

/** A decoded answer. `body` is the parsed JSON, or `undefined` for an empty body. */
export interface RedfishResponse<T = RedfishResource> {
  status: number;
  headers: Record<string, string>;
  body: T | undefined;
  /** The answer's ETag: the `ETag` header, else the body's `@odata.etag` (DSP0266 §8.8.3). */
  etag?: string;
  uri: string;
}

/** A Redfish resource as plain JSON. */
export type RedfishResource = Record<string, unknown> & { "@odata.id"?: string; "@odata.etag"?: string };

export interface RequestOptions {
  body?: unknown;
  /** Send credentials. Default `true`; the service root and the session login go without. */
  auth?: boolean;
  /** `If-Match` value (PATCH/PUT only; never set on action POSTs). */
  ifMatch?: string;
  /** Statuses returned to the caller instead of raised (e.g. 412/428 for the ETag dance). */
  allowStatus?: number[];
  /** Follow a 202 + `Location` task monitor to completion. Default `true`. */
  followTask?: boolean;
  /** The body carries the credentials (the session POST): counted like Basic in the credential ledger. */
  credentials?: boolean;
}

/** Redirects followed per request (DSP0266 services redirect `/redfish/v1` <-> `/redfish/v1/`). */
const MAX_REDIRECTS = 5;

/** Every message of an error and its causes, for classifying OpenSSL errors that share one code. */
function messageChain(e: unknown): string {
  const out: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const m = (cur as { message?: unknown }).message;
    if (typeof m === "string") out.push(m);
    cur = (cur as { cause?: unknown }).cause;
  }
  return out.join(" | ");
}

const DEFAULTS = {
  connectTimeoutMs: 5000,
  requestTimeoutMs: 30000,
  maxInFlight: 4,
  taskTimeoutMs: 600000,
  taskPollMs: 1000,
};

/** One limiter per BMC origin in this process: the in-flight limit holds across clients. */
const limiters = new Map<string, Limiter>();
function limiterFor(origin: string, max: number): Limiter {
  let l = limiters.get(origin);
  if (!l || l.max !== max) {
    if (l && l.inFlight > 0) return l;
    l = new Limiter(max);
    limiters.set(origin, l);
  }
  return l;
}

/**
 * Parse `host`, `host:port`, `[v6]:port` or an https URL into an origin and a display name. `http://`
 * only with `allowHttp` (an explicit per-network opt-in); its display name keeps the scheme.
 */
export function parseBmcAddress(address: string, defaultPort = 443, allowHttp = false): { origin: string; bmc: string; host: string; port: number; scheme: "https" | "http" } {
  const withScheme = /^[a-z]+:\/\//i.test(address) ? address : `https://${address}`;
  const u = new URL(withScheme);
  if (u.protocol === "http:" && !allowHttp) {
    throw new RedfishError(REDFISH_ERROR_CODES.usage, `BMC address ${address}: plain HTTP is only used for networks listed in kinetic:bmcHttpNetworks (CLI --http)`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new RedfishError(REDFISH_ERROR_CODES.usage, `BMC address ${address}: only https is supported`);
  const scheme = u.protocol === "http:" ? "http" : "https";
  const port = u.port === "" ? (scheme === "http" ? 80 : defaultPort) : Number(u.port);
  const host = u.hostname;
  const bmc = scheme === "http" ? `http://${host}:${port}` : port === 443 ? host : `${host}:${port}`;
  return { origin: `${scheme}://${host}:${port}`, bmc, host: host.replace(/^\[|\]$/g, ""), port, scheme };
}

function headerRecord(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** The `@Message.ExtendedInfo` messages of an error body or of a resource (DSP0266 §9.10). */
export function extendedInfo(body: unknown): RedfishMessage[] {
  if (typeof body !== "object" || body === null) return [];
  const b = body as Record<string, unknown>;
  const err = b.error as Record<string, unknown> | undefined;
  const info = (err?.["@Message.ExtendedInfo"] ?? b["@Message.ExtendedInfo"]) as unknown;
  const list = Array.isArray(info) ? (info as RedfishMessage[]) : [];
  if (list.length === 0 && err && typeof err.message === "string") return [{ MessageId: String(err.code ?? ""), Message: err.message }];
  return list;
}

/**
 * A message that reports success: the Base registry's `Success` (or any registry's `...Success`),
 * an `OK` severity, or HPE iLO's informational ids (see `oem/hpe.ts`).
 */
export function isSuccessMessage(m: RedfishMessage): boolean {
  const id = m.MessageId ?? "";
  return /(^|\.)Success$/.test(id) || m.MessageSeverity === "OK" || m.Severity === "OK" || isIloSuccessMessageId(id);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorCode(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === "string" && c !== "") return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return (e as { name?: string })?.name ?? "UNKNOWN";
}

export class RedfishClient {
  readonly origin: string;
  /** Display name of the BMC, used in every error and log line. */
  readonly bmc: string;
  readonly host: string;
  readonly port: number;
  private readonly opts: Required<Omit<RedfishClientOptions, "user" | "password" | "tls" | "retry" | "log" | "allowHttp">>;
  /** This BMC and these credentials in the run's credential ledger; undefined without a user. */
  readonly #ledgerKey: string | undefined;
  /** SHA-256 of the certificate the BMC presented (last TLS connection), `AB:CD:...`. */
  #certificateSha256: string | undefined;
  private readonly policy: RetryPolicy;
  private readonly log: RedfishLogger;
  private readonly dispatcher: Agent;
  private readonly limiter: Limiter;
  // Credentials live in private fields only; no method returns or prints them.
  readonly #user: string | undefined;
  readonly #password: string | undefined;
  #token: string | undefined;
  private sessionUri: string | undefined;
  private basic = false;
  private root: RedfishResource | undefined;

  constructor(options: RedfishClientOptions) {
    const a = parseBmcAddress(options.address, 443, options.allowHttp === true);
    this.origin = a.origin;
    this.bmc = a.bmc;
    this.host = a.host;
    this.port = a.port;
    this.opts = {
      address: options.address,
      auth: options.auth ?? "auto",
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      maxInFlight: options.maxInFlight ?? DEFAULTS.maxInFlight,
      taskTimeoutMs: options.taskTimeoutMs ?? DEFAULTS.taskTimeoutMs,
      taskPollMs: options.taskPollMs ?? DEFAULTS.taskPollMs,
    };
    this.#user = options.user;
    this.#password = options.password;
    this.basic = this.opts.auth === "basic";
    this.#ledgerKey = options.user !== undefined ? credentialKey(this.bmc, options.user, options.password ?? "") : undefined;
    this.policy = retryPolicy(options.retry);
    this.log = options.log ?? silentLogger;
    this.limiter = limiterFor(this.origin, this.opts.maxInFlight);
    this.dispatcher = new Agent({
      connect: a.scheme === "http" ? { timeout: this.opts.connectTimeoutMs } : this.tlsConnector(options.tls ?? {}),
      connections: this.opts.maxInFlight,
      headersTimeout: this.opts.requestTimeoutMs,
      bodyTimeout: this.opts.requestTimeoutMs,
      keepAliveTimeout: 2000,
    });
  }

  /**
   * A connector that records the certificate of every TLS connection and, when a pin is given,
   * refuses any other certificate before a byte of the request (credentials included) is sent.
   */
  private tlsConnector(tls: BmcTlsOptions): buildConnector.connector {
    const base = buildConnector({ ...tlsConnectOptions(tls), timeout: this.opts.connectTimeoutMs } as buildConnector.BuildOptions);
    const pin = tls.pinSha256 !== undefined && tls.pinSha256 !== "" ? normalizeFingerprint(tls.pinSha256) ?? tls.pinSha256 : undefined;
    return (opts, callback) => {
      // Whether TCP connected: a connect deadline that passes after it is a TLS handshake that stalled
      // (a service that accepts and never answers TLS), not an unreachable BMC.
      let tcpConnected = false;
      const pending = base(opts, (err, socket) => {
        if (err && tcpConnected && (err as { code?: string }).code === "UND_ERR_CONNECT_TIMEOUT") (err as { [TLS_STALLED]?: boolean })[TLS_STALLED] = true;
        if (err || !socket) return callback(err ?? new Error("no socket"), null);
        const tlsSocket = socket as TLSSocket;
        const presented = fingerprintOf(tlsSocket.getPeerCertificate?.());
        if (presented) this.#certificateSha256 = presented;
        // A resumed session shows no certificate: it resumes one this connector made (its session cache
        // is per client), whose certificate was checked then. Keeping resumption keeps scans fast.
        const resumed = presented === undefined && tlsSocket.isSessionReused?.() === true;
        if (pin !== undefined && presented !== pin && !resumed) {
          (socket as Socket).destroy();
          return callback(new RedfishPinError(this.bmc, pin, presented ?? "(none)"), null);
        }
        callback(null, socket);
      });
      (pending as unknown as Socket | undefined)?.once?.("connect", () => (tcpConnected = true));
      return pending;
    };
  }

  /** Log a warning through the client's logger (operations that are not requests, e.g. power waits). */
  logWarn(message: string): void {
    this.log.warn(`${this.bmc}: ${message}`);
  }

  /** SHA-256 fingerprint (`AB:CD:...`) of the certificate this BMC presented; `undefined` before a TLS connection. */
  get certificateSha256(): string | undefined {
    return this.#certificateSha256;
  }

  /** `session` or `basic` once logged in, `none` before. */
  get authentication(): "session" | "basic" | "none" {
    return this.#token ? "session" : this.basic ? "basic" : "none";
  }

  /** Release the connection pool. The client cannot be used afterwards. */
  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------- the choke point

  /**
   * Send one request, retrying per the policy, and decode the answer. Raises a `RedfishError` subclass
   * naming this BMC, the method and the URI for anything but a 2xx (or an `allowStatus`).
   */
  async request<T = RedfishResource>(method: string, uri: string, options: RequestOptions = {}): Promise<RedfishResponse<T>> {
    const path = this.pathOf(uri);
    const facts: RequestFacts = { bmc: this.bmc, method, uri: path };
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      let res: RedfishResponse<T>;
      try {
        res = await this.sendCounted<T>(method, path, options, facts);
      } catch (e) {
        if (e instanceof RedfishError) throw e;
        const code = errorCode(e);
        const wait = shouldRetryTransport(this.policy, method, code) ? retryDelay(this.policy, attempt) : undefined;
        if (wait !== undefined) {
          this.log.debug(`${method} ${path} on ${this.bmc}: ${code}; retry ${attempt}/${this.policy.limit} in ${wait} ms`);
          await delay(wait);
          continue;
        }
        throw this.transportError(facts, code, e);
      }

      if (res.status === 401 && options.auth !== false && this.#token && !reauthenticated) {
        // The session expired or the BMC restarted its web server: log in again once (as sushy does).
        reauthenticated = true;
        this.log.warn(`${method} ${path} on ${this.bmc}: 401 with a session; logging in again`);
        this.#token = undefined;
        this.sessionUri = undefined;
        await this.login();
        attempt--;
        continue;
      }
      if (shouldRetryStatus(this.policy, res.status) && !(options.allowStatus ?? []).includes(res.status)) {
        const wait = retryDelay(this.policy, attempt, res.headers["retry-after"]);
        if (wait !== undefined) {
          this.log.debug(`${method} ${path} on ${this.bmc}: HTTP ${res.status}; retry ${attempt}/${this.policy.limit} in ${wait} ms`);
          await delay(wait);
          continue;
        }
      }
      if ((options.allowStatus ?? []).includes(res.status)) return res;
      if (res.status === 401 || res.status === 403) {
        throw new RedfishAuthError(facts, res.status, extendedInfo(res.body), /\bbasic\b/i.test(res.headers["www-authenticate"] ?? ""));
      }
      if (res.status < 200 || res.status >= 300) throw new RedfishHttpError(facts, res.status, extendedInfo(res.body));

      // HPE iLO answers some PATCHes and actions with 200 and an `error` object whose only message is
      // `Base.x.Success`: that is success. Any other message in a 2xx `error` is a failure.
      const body = res.body as Record<string, unknown> | undefined;
      if (body && typeof body === "object" && typeof body.error === "object" && body.error !== null) {
        const messages = extendedInfo(body);
        if (!(messages.length > 0 && messages.every(isSuccessMessage))) {
          throw new RedfishHttpError(facts, res.status, messages, "error object in a success response");
        }
      }
      if (res.status === 202 && options.followTask !== false && method !== "GET" && res.headers.location) {
        return this.followTask<T>(facts, res);
      }
      return res;
    }
  }

  /**
   * `send`, through the run's credential ledger when the request carries the password (Basic, or the
   * session POST): never sent again to a BMC that refused it in this run, and the first such request
   * to a BMC is answered before others go (credentialLedger.ts). A token request carries no password.
   */
  private async sendCounted<T>(method: string, path: string, options: RequestOptions, facts: RequestFacts): Promise<RedfishResponse<T>> {
    const carries = this.#ledgerKey !== undefined && (options.credentials === true || (options.auth !== false && this.basic && !this.#token));
    if (!carries) return this.limiter.run(() => this.send<T>(method, path, options));
    const gate = await beforeSending(this.#ledgerKey!);
    if (gate.refused) throw new CredentialsWithheldError(facts);
    let res: RedfishResponse<T>;
    try {
      res = await this.limiter.run(() => this.send<T>(method, path, options));
    } catch (e) {
      gate.done();
      throw e;
    }
    const basicChallenge = /\bbasic\b/i.test(res.headers["www-authenticate"] ?? "");
    // A session refused where Basic with the same credentials was accepted: the account may not open
    // sessions (older Supermicro); the password is right, `login` goes on with Basic.
    if (res.status === 401 && options.credentials === true && basicAccepted(this.#ledgerKey!)) gate.done();
    // A 403 to Basic is a lack of privilege (the account logged in), not a failed login.
    else if ((options.credentials === true && (res.status === 401 || res.status === 403)) || (res.status === 401 && basicChallenge)) gate.done("refused");
    else if (res.status >= 200 && res.status < 300) gate.done(options.credentials === true ? "accepted" : "basicAccepted");
    // A 401 to Basic without a Basic challenge: Basic is switched off, the password was not judged.
    else gate.done();
    return res;
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<RedfishResponse<T>> {
    const headers: Record<string, string> = {
      // DSP0266 §8.1: clients should send OData-Version. Compression is refused because it makes some
      // BMCs (iDRAC) weaken their ETags, which then fail If-Match.
      "OData-Version": "4.0",
      "Accept-Encoding": "identity",
      Accept: "application/json",
    };
    if (options.body !== undefined) headers["Content-Type"] = "application/json; charset=utf-8";
    if (options.ifMatch !== undefined) headers["If-Match"] = options.ifMatch;
    if (options.auth !== false) Object.assign(headers, this.authHeaders());
    let target = path;
    let res: Awaited<ReturnType<typeof undiciRequest>>;
    for (let hops = 0; ; hops++) {
      res = await undiciRequest(this.origin + target, {
        dispatcher: this.dispatcher,
        method: method as "GET",
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        // Safety net above undici's own connect/headers/body timeouts.
        signal: AbortSignal.timeout(this.opts.connectTimeoutMs + 2 * this.opts.requestTimeoutMs),
      });
      const next = this.redirectTarget(method, target, res.statusCode, res.headers.location);
      if (next === undefined) break;
      await res.body.dump().catch(() => undefined);
      if (hops >= MAX_REDIRECTS) throw new RedfishProtocolError(this.bmc, path, `more than ${MAX_REDIRECTS} redirects`);
      this.log.debug(`${method} ${target} on ${this.bmc}: ${res.statusCode}, following to ${next}`);
      target = next;
    }
    const text = await res.body.text();
    let body: T | undefined;
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text) as T;
      } catch (e) {
        if (res.statusCode >= 200 && res.statusCode < 300 && method === "GET") {
          throw new RedfishProtocolError(this.bmc, path, `GET answered ${res.statusCode} with a body that is not JSON`, { cause: e });
        }
      }
    }
    const h = headerRecord(res.headers);
    const etag = h.etag ?? (body as RedfishResource | undefined)?.["@odata.etag"];
    return { status: res.statusCode, headers: h, body, uri: path, ...(etag ? { etag: String(etag) } : {}) };
  }

  /**
   * Where a 301/302/307/308 leads, when it is to be followed: same scheme, host and port only (our
   * credentials go with the request, and never over a downgraded scheme); 301/302 only for GET/HEAD
   * (clients may turn them into GET, which would change what a POST means).
   */
  private redirectTarget(method: string, from: string, status: number, location: string | string[] | undefined): string | undefined {
    if (![301, 302, 307, 308].includes(status) || typeof location !== "string" || location === "") return undefined;
    if ((status === 301 || status === 302) && method !== "GET" && method !== "HEAD") return undefined;
    const url = new URL(location, this.origin + from);
    if (url.origin !== new URL(this.origin).origin) {
      throw new RedfishProtocolError(this.bmc, from, `redirected to another origin (${url.protocol}//${url.host}); not followed: credentials stay on this BMC`);
    }
    return url.pathname + url.search;
  }

  private authHeaders(): Record<string, string> {
    if (this.#token) return { "X-Auth-Token": this.#token };
    if (this.basic && this.#user !== undefined) {
      return { Authorization: "Basic " + Buffer.from(`${this.#user}:${this.#password ?? ""}`).toString("base64") };
    }
    return {};
  }

  private transportError(facts: RequestFacts, code: string, e: unknown): RedfishError {
    if (e instanceof RedfishError) return e;
    if (code === "UND_ERR_CONNECT_TIMEOUT") {
      const what = tlsStalled(e)
        ? "the TLS handshake (the TCP connection was accepted but no TLS answer came: a BMC web server that hangs, or no TLS service on this port)"
        : "connect";
      return new RedfishTimeoutError(this.bmc, what, this.opts.connectTimeoutMs, { cause: e, method: facts.method, uri: facts.uri });
    }
    if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "TimeoutError" || code === "ABORT_ERR") {
      return new RedfishTimeoutError(this.bmc, `response to ${facts.method} ${facts.uri}`, this.opts.requestTimeoutMs, { cause: e, method: facts.method, uri: facts.uri });
    }
    if (isTlsErrorCode(code)) return new RedfishTlsError(facts, code, e, classifyTlsError(code, messageChain(e)));
    return new RedfishTransportError(facts, code, e);
  }

  /** A path on this BMC from an `@odata.id`, a relative or an absolute URL. */
  pathOf(uri: string): string {
    if (/^https?:\/\//i.test(uri)) {
      const u = new URL(uri);
      return u.pathname + u.search;
    }
    return uri.startsWith("/") ? uri : "/" + uri;
  }

  // ---------------------------------------------------------------- task monitors

  private async followTask<T>(facts: RequestFacts, accepted: RedfishResponse<T>): Promise<RedfishResponse<T>> {
    const monitor = this.pathOf(accepted.headers.location);
    const deadline = Date.now() + this.opts.taskTimeoutMs;
    let last: RedfishResponse<T> = accepted;
    this.log.debug(`${facts.method} ${facts.uri} on ${this.bmc}: 202, following task monitor ${monitor}`);
    for (;;) {
      const asked = Number(last.headers["retry-after"]);
      const wait = Number.isFinite(asked) && asked > 0 ? Math.min(asked * 1000, this.opts.taskPollMs * 10) : this.opts.taskPollMs;
      if (Date.now() + wait > deadline) throw new RedfishTimeoutError(this.bmc, `task ${monitor} of ${facts.method} ${facts.uri}`, this.opts.taskTimeoutMs);
      await delay(wait);
      // DSP0266 §13.2.6: the monitor answers 202 while the task runs, then the operation's own answer.
      last = await this.request<T>("GET", monitor, { allowStatus: [202] });
      const task = last.body as RedfishResource | undefined;
      const state = typeof task?.TaskState === "string" ? task.TaskState : undefined;
      if (state && ["Exception", "Killed", "Cancelled", "Interrupted"].includes(state)) {
        throw new RedfishTaskError(this.bmc, monitor, state, extendedInfo(task).concat((task?.Messages as RedfishMessage[]) ?? []));
      }
      if (last.status === 202 && state !== "Completed") continue;
      if (state && state !== "Completed") continue;
      return last;
    }
  }

  // ---------------------------------------------------------------- authentication

  /** The unauthenticated service root (`/redfish/v1`), read once per client. */
  async serviceRoot(): Promise<RedfishResource> {
    if (!this.root) this.root = (await this.request("GET", "/redfish/v1", { auth: false })).body ?? {};
    return this.root;
  }

  /** Log in per the auth mode. Idempotent. */
  async login(): Promise<void> {
    if (this.#token || this.basic) return;
    if (this.#user === undefined) throw new RedfishError(REDFISH_ERROR_CODES.usage, `${this.bmc}: no BMC user configured`);
    const root = await this.serviceRoot();
    const links = root.Links as { Sessions?: { "@odata.id"?: string } } | undefined;
    const sessions = links?.Sessions?.["@odata.id"];
    if (!sessions) {
      if (this.opts.auth === "session") throw new RedfishProtocolError(this.bmc, "/redfish/v1", "service root has no Links.Sessions; use Basic auth");
      this.log.warn(`${this.bmc}: no session service advertised; using HTTP Basic`);
      this.basic = true;
      return;
    }
    let res: RedfishResponse;
    try {
      res = await this.request("POST", sessions, { auth: false, credentials: true, body: { UserName: this.#user, Password: this.#password ?? "" }, followTask: false });
    } catch (e) {
      const status = isRedfishHttpError(e) ? e.status : 0;
      if (this.opts.auth === "auto" && status === 401 && !(e as { withheld?: boolean }).withheld && this.#ledgerKey && basicAccepted(this.#ledgerKey)) {
        // Older Supermicro (accounts without the session privilege) refuse the session POST but take
        // Basic. Only when this BMC accepted Basic with these very credentials earlier in this run:
        // then it is no guess, and a wrong password never costs a second failed login here.
        this.log.warn(`${this.bmc}: session login answered 401, but HTTP Basic with these credentials was accepted earlier in this run; using Basic`);
        this.basic = true;
        return;
      }
      if (this.opts.auth === "auto" && status === 401 && e instanceof Error && !(e as { withheld?: boolean }).withheld) {
        e.message += "; not retried with HTTP Basic (a second failed login); if this account may not open sessions (older Supermicro), use Basic (CLI --auth basic)";
      }
      if (this.opts.auth === "auto" && [404, 405, 501, 503].includes(status)) {
        // 404/405/501: no session service after all. 503 after retries: the BMC's session table is
        // full (iLO and iDRAC keep a handful); Basic needs no session slot.
        this.log.warn(`${this.bmc}: session login answered ${status}; falling back to HTTP Basic`);
        this.basic = true;
        return;
      }
      throw e;
    }
    const token = res.headers["x-auth-token"];
    const location = res.headers.location ?? res.body?.["@odata.id"];
    if (location) this.sessionUri = this.pathOf(location);
    if (!token) {
      // The BMC made a session but gave us no token to use or end it with: end it with Basic, so it
      // does not hold one of the BMC's few session slots until it times out.
      if (this.sessionUri) await this.deleteWithBasic(this.sessionUri);
      this.sessionUri = undefined;
      if (this.opts.auth === "session") throw new RedfishProtocolError(this.bmc, sessions, "session created without an X-Auth-Token header (deleted again)");
      this.log.warn(`${this.bmc}: session created without an X-Auth-Token header; deleted it, using HTTP Basic`);
      this.basic = true;
      return;
    }
    this.#token = token;
    if (!this.sessionUri) this.log.warn(`${this.bmc}: session has no Location or @odata.id; it cannot be deleted and will expire on its own`);
    this.log.debug(`${this.bmc}: session ${this.sessionUri ?? "(unknown)"} opened`);
  }

  private async deleteWithBasic(uri: string): Promise<void> {
    const wasBasic = this.basic;
    this.basic = true;
    try {
      await this.request("DELETE", uri, { allowStatus: [404], followTask: false });
    } catch (e) {
      this.log.warn(`${this.bmc}: could not delete token-less session ${uri}: ${(e as Error).message}`);
    } finally {
      this.basic = wasBasic;
    }
  }

  /** Delete the session, if any. Never raises: a failure is logged, the session expires on the BMC. */
  async logout(): Promise<void> {
    const uri = this.sessionUri;
    if (!this.#token || !uri) {
      this.#token = undefined;
      return;
    }
    try {
      await this.request("DELETE", uri, { allowStatus: [404], followTask: false });
      this.log.debug(`${this.bmc}: session ${uri} deleted`);
    } catch (e) {
      this.log.warn(`${this.bmc}: could not delete session ${uri}: ${(e as Error).message}`);
    } finally {
      this.#token = undefined;
      this.sessionUri = undefined;
    }
  }

  /** Run `fn` logged in; the session is deleted afterwards, whether `fn` succeeded or not. */
  async withSession<T>(fn: (client: RedfishClient) => Promise<T>): Promise<T> {
    try {
      await this.login();
      return await fn(this);
    } finally {
      await this.logout();
    }
  }

  // ---------------------------------------------------------------- verbs

  async get<T = RedfishResource>(uri: string): Promise<RedfishResponse<T>> {
    return this.request<T>("GET", uri);
  }

  /**
   * PATCH `changes` onto `uri` with `If-Match` from the preceding GET (`etag`). On 412 the weak tag is
   * retried strong (HPE iLO issues `W/"..."` but compares strong), then without `If-Match`; on 428 the
   * resource is read for an ETag and the PATCH retried (AMI MegaRAC). Each step is logged.
   */
  async patch(uri: string, changes: unknown, etag?: string): Promise<RedfishResponse> {
    const path = this.pathOf(uri);
    const tried = new Set<string>();
    let tag = etag;
    for (;;) {
      tried.add(tag ?? "(none)");
      const res = await this.request("PATCH", path, { body: changes, ...(tag !== undefined ? { ifMatch: tag } : {}), allowStatus: [412, 428] });
      if (res.status === 412) {
        const strong = tag?.replace(/^W\//, "");
        if (tag !== undefined && strong !== tag && !tried.has(strong!)) {
          this.log.warn(`PATCH ${path} on ${this.bmc}: 412 with weak ETag; retrying with it made strong`);
          tag = strong;
          continue;
        }
        if (tag !== undefined) {
          this.log.warn(`PATCH ${path} on ${this.bmc}: 412 with ETag; retrying without If-Match`);
          tag = undefined;
          continue;
        }
        throw new RedfishHttpError({ bmc: this.bmc, method: "PATCH", uri: path }, 412, extendedInfo(res.body), "precondition failed without If-Match");
      }
      if (res.status === 428) {
        const fresh = (await this.get(path)).etag;
        if (fresh === undefined || tried.has(fresh)) {
          throw new RedfishHttpError({ bmc: this.bmc, method: "PATCH", uri: path }, 428, extendedInfo(res.body), "BMC requires If-Match but offers no usable ETag");
        }
        this.log.warn(`PATCH ${path} on ${this.bmc}: 428 precondition required; retrying with the resource's ETag`);
        tag = fresh;
        continue;
      }
      return res;
    }
  }

  /** POST an action. Never sends `If-Match` (DSP0266 §8.8.3 applies it to PUT/PATCH only). */
  async action(target: string, parameters: Record<string, unknown>): Promise<RedfishResponse> {
    return this.request("POST", target, { body: parameters });
  }
}

/**
 * Open a client, log in, run `fn`, and always delete the session and close the connections, also
 * when `fn` or the login fails.
 */
export async function withSession<T>(options: RedfishClientOptions, fn: (client: RedfishClient) => Promise<T>): Promise<T> {
  const client = new RedfishClient(options);
  try {
    return await client.withSession(fn);
  } finally {
    await client.close();
  }
}
