/**
 * One password login to keystone (POST /v3/auth/tokens, scoped to the admin's project), as the
 * in-lab scripts (tokenProbe.ts, tokenStatus.ts) ask it: the answer's status and whether it carried
 * a token. The password only travels in the request's body.
 */
import type { AdminCredentials } from "../../verify/adminCredentials";

export async function askToken(auth: AdminCredentials, timeoutMs = 10_000): Promise<{ status: number; token: boolean }> {
  const body = JSON.stringify({
    auth: {
      identity: { methods: ["password"], password: { user: { name: auth.username, domain: { name: auth.userDomainName }, password: auth.password } } },
      scope: { project: { name: auth.projectName, domain: { name: auth.projectDomainName } } },
    },
  });
  const r = await fetch(`${auth.authUrl.replace(/\/$/, "")}/auth/tokens`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(timeoutMs) });
  await r.arrayBuffer();
  return { status: r.status, token: !!r.headers.get("x-subject-token") };
}
