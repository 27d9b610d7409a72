/**
 * Shared setup of the Redfish tests: one test PKI per process, simulators on a loopback /16 of their
 * own, and the checks every test repeats (no session left open).
 */
import * as assert from "node:assert/strict";
import { startSimulator } from "../../simulator";
import type { BmcSpec, Simulator } from "../../simulator/types";
import { createTestPki, TestPki } from "../../simulator/pki";
import type { RedfishClientOptions } from "../../providers/redfish/client";

export const USER = "kinetic-operator";
export const PASSWORD = "Pa55-redfish-TEST-secret";

let shared: TestPki | undefined;
export function pki(): TestPki {
  return (shared ??= createTestPki());
}

/**
 * Second octet of this process's addresses, 127.128.0.0-127.247.255.255 by process id: two test runs
 * at once (a developer's and CI's, or two engineers') never bind the same address, and other suites
 * keep 127.0-127.127.
 */
export const NET = 128 + (process.pid % 120);

/** `127.<NET>.<block>.<n>`: each test file takes its own block. */
export function address(block: number, n: number): string {
  return `127.${NET}.${block}.${n}`;
}

/** `127.<NET>.<block>.0/<len>`. */
export function range(block: number, len: number): string {
  return `127.${NET}.${block}.0/${len}`;
}

export async function simulate(bmcs: BmcSpec[]): Promise<Simulator> {
  return startSimulator({ bmcs: bmcs.map((b) => ({ user: USER, password: PASSWORD, powerDelayMs: 50, ...b })), tls: pki() });
}

/** Client options for a simulated BMC, verified against the test CA, with short deadlines. */
export function clientOptions(address: string, extra: Partial<RedfishClientOptions> = {}): RedfishClientOptions {
  return {
    address,
    user: USER,
    password: PASSWORD,
    tls: { caBundle: pki().caCert },
    connectTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    taskPollMs: 50,
    retry: { baseDelayMs: 20, maxDelayMs: 100 },
    ...extra,
  };
}

export function assertNoOpenSessions(sim: Simulator): void {
  for (const b of sim.bmcs) assert.equal(b.openSessions(), 0, `${b.spec.address} has ${b.openSessions()} open sessions`);
}

/** Run `fn`, expect it to reject, and return the error. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  assert.fail("expected a rejection");
}

/**
 * A bare HTTPS server on `address` for behaviours the simulator has no fault for (a connection reset
 * mid-request, an expired session, a 2xx carrying a real error). `handle` answers each request; its
 * `n` counts requests from 1.
 */
export async function quirkyServer(
  address: string,
  handle: (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, n: number, body: string) => void,
): Promise<{ close(): Promise<void> }> {
  const https = await import("node:https");
  const { issueServerCert } = await import("../../simulator/pki");
  const cert = await issueServerCert(pki(), address);
  let n = 0;
  const server = https.createServer({ key: pki().serverKey, cert }, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handle(req, res, ++n, body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address, port: 443 }, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Send `body` as Redfish JSON. */
export function reply(res: import("node:http").ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
