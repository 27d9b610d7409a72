/**
 * When the Redfish client repeats a request, as data (after ky's `types/retry.ts`). The client's one
 * choke point reads this; nothing else retries.
 */

export interface RetryPolicy {
  /**
   * Attempts after the first one. Default `3`: enough to ride out a BMC's web server restarting a
   * worker, small enough that a broken BMC fails within seconds, not minutes.
   */
  limit: number;
  /**
   * Statuses that mean "not done, try later", retried for every method because the BMC did not act:
   * 409 Conflict (iDRAC/XCC while a configuration job is pending), 429 Too Many Requests, 503 Service
   * Unavailable (session table full, BMC busy). See DSP0266 §13.3 "Retry-After".
   * Default `[409, 429, 503]`.
   */
  statusCodes: number[];
  /**
   * Transport error codes retried: the connection died before an answer, so the request may or may
   * not have reached the BMC. Default: resets and closed sockets.
   */
  errorCodes: string[];
  /**
   * Methods retried after a transport error. Default only idempotent ones (`GET`, `HEAD`, `PATCH`,
   * `PUT`, `DELETE`): repeating a reset action POST whose answer was lost could reset a server twice.
   */
  transportErrorMethods: string[];
  /**
   * Connection errors retried for **every** method, POST included: the connection never carried a
   * request (the connect or TLS handshake deadline passed), so the BMC cannot have acted. A busy BMC
   * (or the lab's simulator on a loaded machine: a whole cloud's power cycles failed on one 5 s
   * handshake) answers the handshake late. A refused connection is not retried: nothing listens, and
   * saying so at once is worth more. Default `["UND_ERR_CONNECT_TIMEOUT"]`.
   */
  connectErrorCodes: string[];
  /** First backoff delay in ms; doubles every attempt. Default `250`. */
  baseDelayMs: number;
  /** Largest backoff delay in ms. Default `4000`. */
  maxDelayMs: number;
  /** Random spread added to each delay, as a fraction of it, so many clients do not retry in step. Default `0.2`. */
  jitter: number;
  /**
   * `Retry-After` (seconds or an HTTP date, RFC 9110 §10.2.3) is honoured up to this many ms; a BMC
   * asking for longer is not retried and the error is raised. Default `30000`.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  limit: 3,
  statusCodes: [409, 429, 503],
  errorCodes: ["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNABORTED"],
  transportErrorMethods: ["GET", "HEAD", "PATCH", "PUT", "DELETE"],
  connectErrorCodes: ["UND_ERR_CONNECT_TIMEOUT"],
  baseDelayMs: 250,
  maxDelayMs: 4000,
  jitter: 0.2,
  maxRetryAfterMs: 30000,
});

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...overrides };
}

/** Milliseconds a `Retry-After` header asks for, or `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Delay before retry `attempt` (1-based), or `undefined` to stop: the limit is reached or the BMC's
 * `Retry-After` is longer than the policy accepts.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfter?: string, random = Math.random): number | undefined {
  if (attempt > policy.limit) return undefined;
  const asked = parseRetryAfter(retryAfter);
  if (asked !== undefined) return asked > policy.maxRetryAfterMs ? undefined : asked;
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(base * (1 + policy.jitter * random()));
}

export function shouldRetryStatus(policy: RetryPolicy, status: number): boolean {
  return policy.statusCodes.includes(status);
}

export function shouldRetryTransport(policy: RetryPolicy, method: string, errorCode: string): boolean {
  if (policy.connectErrorCodes.includes(errorCode)) return true;
  return policy.errorCodes.includes(errorCode) && policy.transportErrorMethods.includes(method.toUpperCase());
}
