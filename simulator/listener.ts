/**
 * The network side of one simulated BMC: a node:https server bound to the BMC's
 * own loopback address (so connecting to an unused 127.x.y.z is refused, as on
 * a real oob network), latency, request recording, and the `hang` fault (a
 * plain TCP server that accepts and never answers).
 */
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { certCovers, issueServerCert, issueServerCertFor, WRONG_NAME_ADDRESS, type TestPki } from "./pki";
import type { BmcService } from "./bmc";
import type { BmcSpec, RecordedRequest } from "./types";

export interface Listening {
  close(): Promise<void>;
}

/** BMCs that present a CA-signed certificate for their own address (no hang, no wrongCertificate). */
function needsOwnName(spec: BmcSpec): boolean {
  return !spec.faults?.hang && !spec.faults?.wrongCertificate;
}

/**
 * Key and certificate each BMC presents: `pki.serverCert` when it names the
 * address, else one extra certificate issued for all such addresses together;
 * the wrongCertificate fault overrides both.
 */
export async function certificatesFor(specs: BmcSpec[], pki: TestPki): Promise<{ key: string; cert: string }[]> {
  const uncovered = specs.filter((s) => needsOwnName(s) && !certCovers(pki.serverCert, s.address)).map((s) => s.address);
  const extra = uncovered.length > 0 ? await issueServerCertFor(pki, uncovered) : undefined;
  const wrongName = specs.some((s) => s.faults?.wrongCertificate === "wrongName") ? await issueServerCert(pki, WRONG_NAME_ADDRESS) : undefined;
  return specs.map((spec) => {
    const wrong = spec.faults?.wrongCertificate;
    if (wrong === true || wrong === "selfSigned") return { key: pki.wrongKey, cert: pki.wrongCert };
    if (wrong === "wrongName" && wrongName) return { key: pki.serverKey, cert: wrongName };
    if (extra && uncovered.includes(spec.address)) return { key: pki.serverKey, cert: extra };
    return { key: pki.serverKey, cert: pki.serverCert };
  });
}

function delayFor(latency: BmcSpec["latencyMs"]): number {
  if (latency === undefined) return 0;
  if (typeof latency === "number") return latency;
  const [min, max] = latency;
  return min + Math.random() * (max - min);
}

function flatHeaders(h: IncomingMessage["headers"] | ReturnType<ServerResponse["getHeaders"]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : String(v);
  return out;
}

function listen(server: net.Server, spec: BmcSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`simulator: cannot listen on ${spec.address}:${spec.port ?? 443}: ${err.message}`, { cause: err }));
    server.once("error", onError);
    server.listen({ host: spec.address, port: spec.port ?? 443 }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** A TCP server that accepts connections and never sends a byte. */
export async function listenHanging(spec: BmcSpec): Promise<Listening> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await listen(server, spec);
  return {
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The HTTPS server of a BMC; every request goes to `service.handle`. */
export async function listenHttps(spec: BmcSpec, tls: { key: string; cert: string }, service: BmcService, requests: RecordedRequest[]): Promise<Listening> {
  const pending = new Set<NodeJS.Timeout>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const arrivedAt = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const answer = (): void => {
        const path = (req.url ?? "/").split("?")[0];
        const reply = service.handle({ method: req.method ?? "GET", path, headers: flatHeaders(req.headers), body });
        // Never compressed, whatever Accept-Encoding says: compression makes ETags weak.
        const payload = reply.raw?.data ?? (reply.body === undefined ? undefined : JSON.stringify(reply.body, null, 2));
        res.statusCode = reply.status;
        res.setHeader("OData-Version", "4.0");
        res.setHeader("Cache-Control", "no-cache");
        for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
        if (payload !== undefined) {
          res.setHeader("Content-Type", `${reply.raw?.contentType ?? "application/json"}; charset=utf-8`);
          res.setHeader("Content-Length", Buffer.byteLength(payload));
        }
        res.on("finish", () => requests.push({
          method: req.method ?? "", path, status: reply.status, headers: flatHeaders(req.headers), body,
          responseHeaders: flatHeaders(res.getHeaders()), arrivedAt, answeredAt: Date.now(),
        }));
        res.end(req.method === "HEAD" ? undefined : payload);
      };
      const wait = delayFor(spec.latencyMs);
      if (wait <= 0) return answer();
      const t = setTimeout(() => {
        pending.delete(t);
        answer();
      }, wait);
      pending.add(t);
    });
  };
  // scheme "http": a virtual BMC (sushy-emulator, VirtualBMC-style) serving plain HTTP.
  const server = spec.scheme === "http" ? http.createServer(onRequest) : https.createServer({ key: tls.key, cert: tls.cert }, onRequest);
  // A client that rejects our certificate aborts the handshake: expected, not an error.
  server.on("tlsClientError", () => undefined);
  await listen(server, spec);
  return {
    close: () => new Promise<void>((resolve) => {
      for (const t of pending) clearTimeout(t);
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
