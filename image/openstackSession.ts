/**
 * A client's session with an OpenStack cloud as the operator's `OS_*` settings describe it:
 * keystone password authentication scoped to a project, then each service's URL from the token's
 * catalog. The guest image's upload (glance.ts) and the tests' tenant (test/lab/cloudTenant.ts)
 * talk to the APIs through it, with the token in a header and never in an argument.
 */

export interface OpenStackAuth {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  /** Default: the first region of the catalog entry. */
  regionName?: string;
  /** public (default), internal or admin. */
  interface?: string;
}

/** The operator's openrc variables; names the first one missing. */
export function authFromEnv(env: NodeJS.ProcessEnv = process.env): OpenStackAuth {
  const need = (k: string) => {
    const v = env[k];
    if (!v) throw new Error(`${k} is not set: source the cloud's openrc (kinetic openrc) or run inside kinetic lab shell`);
    return v;
  };
  return {
    authUrl: need("OS_AUTH_URL").replace(/\/+$/, ""),
    username: need("OS_USERNAME"),
    password: need("OS_PASSWORD"),
    projectName: need("OS_PROJECT_NAME"),
    userDomainName: env.OS_USER_DOMAIN_NAME ?? "Default",
    projectDomainName: env.OS_PROJECT_DOMAIN_NAME ?? "Default",
    ...(env.OS_REGION_NAME ? { regionName: env.OS_REGION_NAME } : {}),
    ...(env.OS_INTERFACE ? { interface: env.OS_INTERFACE } : {}),
  };
}

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region_id?: string; region?: string; url: string }[];
}

export async function call(method: string, url: string, token: string | undefined, body?: unknown, contentType = "application/json", headers: Record<string, string> = {}): Promise<Response> {
  const h: Record<string, string> = { Accept: "application/json", ...headers };
  if (token) h["X-Auth-Token"] = token;
  if (body !== undefined) h["Content-Type"] = contentType;
  const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body);
  try {
    return await fetch(url, { method, headers: h, body: data, signal: AbortSignal.timeout(120_000) });
  } catch (e) {
    throw new Error(`${method} ${url}: ${(e as Error).cause ?? (e as Error).message}`);
  }
}

export async function expectOk(r: Response, what: string): Promise<Response> {
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${(await r.text()).slice(0, 300)}`);
  return r;
}

export interface OpenStackSession {
  token: string;
  projectId: string;
  userId: string;
  /** keystone's v3 URL the token came from. */
  identity: string;
  /** The catalog's URL of a service type (no trailing slash); `hint` ends the error when it has none. */
  endpoint(type: string, hint?: string): string;
}

/** A project-scoped token and the catalog that came with it. */
export async function openstackSession(auth: OpenStackAuth): Promise<OpenStackSession> {
  const identity = /\/v3$/.test(auth.authUrl) ? auth.authUrl : `${auth.authUrl}/v3`;
  const body = {
    auth: {
      identity: { methods: ["password"], password: { user: { name: auth.username, domain: { name: auth.userDomainName }, password: auth.password } } },
      scope: { project: { name: auth.projectName, domain: { name: auth.projectDomainName } } },
    },
  };
  const r = await call("POST", `${identity}/auth/tokens`, undefined, body);
  if (r.status === 401) throw new Error(`keystone at ${identity} refused the credentials of ${auth.username} (project ${auth.projectName})`);
  await expectOk(r, `keystone ${identity}`);
  const token = r.headers.get("x-subject-token");
  if (!token) throw new Error(`keystone ${identity} answered without a token`);
  const t = ((await r.json()) as { token: { catalog?: CatalogEntry[]; project: { id: string }; user: { id: string } } }).token;
  const want = auth.interface ?? "public";
  return {
    token,
    projectId: t.project.id,
    userId: t.user.id,
    identity,
    endpoint(type, hint) {
      const eps = (t.catalog ?? []).find((c) => c.type === type)?.endpoints.filter((e) => e.interface === want && (!auth.regionName || (e.region_id ?? e.region) === auth.regionName)) ?? [];
      if (!eps.length) throw new Error(`keystone's catalog has no ${want} ${type} endpoint${auth.regionName ? ` in ${auth.regionName}` : ""}${hint ? `: ${hint}` : ""}`);
      return eps[0].url.replace(/\/+$/, "");
    },
  };
}
