/**
 * Redfish authentication (DSP0266 "Security details"): sessions created by a
 * POST to the Sessions collection (X-Auth-Token + Location), ended by a DELETE
 * of the session URI, and HTTP Basic on every request as the alternative.
 */
import { randomBytes } from "node:crypto";
import { errorReply, msg, type JsonObject, type Reply } from "./redfish";

export const SESSIONS = "/redfish/v1/SessionService/Sessions";

export interface Session {
  id: string;
  token: string;
  user: string;
  /** Date.now() of the last request made with the session's token. */
  lastUsed: number;
}

export interface LoginOptions {
  user: string;
  password: string;
  /** `Location` as an absolute URL (https://<Host header>/...) or a path only. */
  absoluteLocation: boolean;
  /** Idle time after which a session ends (SessionService.SessionTimeout). */
  timeoutSeconds: number;
  /** sessionExhaustion fault: how many more logins answer 503 (Infinity: always). */
  exhaustedLogins: number;
  /** sessionWithoutToken fault: 201 + Location, no X-Auth-Token. */
  withoutToken?: boolean;
  /** sessionRefused fault: every session POST answers 401. */
  refuseSessions?: boolean;
  /** basicDisabled fault: Authorization headers are ignored, no Basic challenge. */
  basicDisabled?: boolean;
}

/** 401 as every Redfish service answers an unauthenticated request, with the Basic challenge. */
export function unauthorized(message = msg.noValidSession(), challenge = true): Reply {
  const reply = errorReply(401, message);
  return challenge ? { ...reply, headers: { "WWW-Authenticate": 'Basic realm="Redfish"' } } : reply;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private created = 0;
  private exhaustedSoFar = 0;

  constructor(private readonly opts: LoginOptions) {}

  get open(): number {
    this.expire();
    return this.sessions.size;
  }

  /** Drop sessions idle for longer than the timeout, as a BMC does. */
  private expire(): void {
    const limit = Date.now() - this.opts.timeoutSeconds * 1000;
    for (const [id, s] of this.sessions) if (s.lastUsed < limit) this.sessions.delete(id);
  }

  get createdCount(): number {
    return this.created;
  }

  has(id: string): boolean {
    this.expire();
    return this.sessions.has(id);
  }

  ids(): string[] {
    this.expire();
    return [...this.sessions.keys()];
  }

  /** Checks X-Auth-Token, then Basic; undefined when the request may proceed. */
  authenticate(headers: Record<string, string>, uri: string): Reply | undefined {
    const token = headers["x-auth-token"];
    if (token !== undefined) {
      this.expire();
      for (const s of this.sessions.values()) {
        if (s.token === token) {
          s.lastUsed = Date.now();
          return undefined;
        }
      }
      return unauthorized(msg.noValidSession(), !this.opts.basicDisabled);
    }
    const auth = headers["authorization"];
    if (this.opts.basicDisabled) return unauthorized(msg.noValidSession(), false);
    if (auth !== undefined) {
      const m = /^Basic\s+(\S+)$/i.exec(auth);
      if (m) {
        const decoded = Buffer.from(m[1], "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon >= 0 && decoded.slice(0, colon) === this.opts.user && decoded.slice(colon + 1) === this.opts.password) return undefined;
      }
      return unauthorized(msg.unauthorized(uri));
    }
    return unauthorized();
  }

  /** POST to the Sessions collection: no authentication needed, only the body's credentials. */
  login(body: unknown, host: string | undefined): Reply {
    if (this.exhaustedSoFar < this.opts.exhaustedLogins) {
      this.exhaustedSoFar++;
      return { ...errorReply(503, msg.sessionLimitExceeded()), headers: { "Retry-After": "1" } };
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) return errorReply(400, msg.malformedJson());
    const { UserName, Password } = body as Record<string, unknown>;
    if (UserName === undefined) return errorReply(400, msg.propertyMissing("UserName"));
    if (Password === undefined) return errorReply(400, msg.propertyMissing("Password"));
    if (UserName !== this.opts.user || Password !== this.opts.password || this.opts.refuseSessions) return unauthorized(msg.unauthorized(SESSIONS), !this.opts.basicDisabled);
    const session: Session = { id: randomBytes(8).toString("hex").toUpperCase(), token: randomBytes(16).toString("hex"), user: UserName, lastUsed: Date.now() };
    this.sessions.set(session.id, session);
    this.created++;
    const uri = `${SESSIONS}/${session.id}`;
    return {
      status: 201,
      headers: {
        ...(this.opts.withoutToken ? {} : { "X-Auth-Token": session.token }),
        Location: this.opts.absoluteLocation && host ? `https://${host}${uri}` : uri,
      },
      body: this.resource(session),
    };
  }

  get(id: string): JsonObject | undefined {
    const s = this.sessions.get(id);
    return s ? this.resource(s) : undefined;
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  private resource(s: Session): JsonObject {
    return {
      "@odata.type": "#Session.v1_6_0.Session", "@odata.id": `${SESSIONS}/${s.id}`,
      Id: s.id, Name: "User Session", Description: "Manager User Session", UserName: s.user,
    };
  }
}
