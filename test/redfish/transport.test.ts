/**
 * Client behaviours the simulator has no fault for, against a bare HTTPS server: connection resets
 * (retried for GET, never for an action POST), one re-login after a 401 on an expired session, a 2xx
 * whose `error` is a real error, Retry-After honoured.
 */
import * as assert from "node:assert/strict";
import { RedfishClient, withSession } from "../../providers/redfish/client";
import * as errors from "../../providers/redfish/errors";
import { address, clientOptions, quirkyServer, rejection, reply } from "./harness";

const ROOT = { "@odata.id": "/redfish/v1", Links: { Sessions: { "@odata.id": "/redfish/v1/SessionService/Sessions" } }, Systems: { "@odata.id": "/redfish/v1/Systems" } };

describe("redfish client transport (bare HTTPS server)", function () {
  this.timeout(30000);

  it("retries a GET whose connection was reset", async () => {
    const seen: string[] = [];
    const server = await quirkyServer(address(7, 1), (req, res, n) => {
      seen.push(`${req.method} ${n}`);
      if (n <= 2) return void req.socket.destroy(); // reset before answering
      reply(res, 200, { ok: n });
    });
    try {
      const c = new RedfishClient(clientOptions(address(7, 1), { auth: "basic" }));
      const r = await c.get("/redfish/v1/Systems");
      assert.deepEqual(r.body, { ok: 3 });
      await c.close();
    } finally {
      await server.close();
    }
    assert.deepEqual(seen.slice(0, 3), ["GET 1", "GET 2", "GET 3"]);
  });

  it("does not retry an action POST after a reset", async () => {
    let posts = 0;
    const server = await quirkyServer(address(7, 2), (req) => {
      if (req.method === "POST") posts++;
      req.socket.destroy();
    });
    try {
      const c = new RedfishClient(clientOptions(address(7, 2), { auth: "basic" }));
      const e = await rejection(() => c.action("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", { ResetType: "ForceRestart" }));
      assert.ok(errors.isRedfishTransportError(e), String(e));
      assert.equal(e.method, "POST");
      assert.equal(posts, 1, "a reset whose answer was lost is not sent twice");
      await c.close();
    } finally {
      await server.close();
    }
  });

  it("logs in again once when the session expires (401), and deletes both sessions", async () => {
    const log: string[] = [];
    let sessions = 0;
    const open = new Set<string>();
    const server = await quirkyServer(address(7, 3), (req, res) => {
      log.push(`${req.method} ${req.url} ${req.headers["x-auth-token"] ?? "-"}`);
      if (req.url === "/redfish/v1") return reply(res, 200, ROOT);
      if (req.method === "POST" && req.url === "/redfish/v1/SessionService/Sessions") {
        sessions++;
        open.add(`t${sessions}`);
        return reply(res, 201, { "@odata.id": `/redfish/v1/SessionService/Sessions/${sessions}` }, { "X-Auth-Token": `t${sessions}`, Location: `/redfish/v1/SessionService/Sessions/${sessions}` });
      }
      const token = String(req.headers["x-auth-token"]);
      if (req.method === "DELETE") {
        open.delete(token);
        return reply(res, 204);
      }
      if (token === "t1") return reply(res, 401, { error: { code: "Base.1.0.NoValidSession", message: "expired" } });
      reply(res, 200, { Members: [] });
    });
    try {
      const r = await withSession(clientOptions(address(7, 3), { auth: "session" }), (c) => c.get("/redfish/v1/Systems"));
      assert.deepEqual(r.body, { Members: [] });
      assert.equal(sessions, 2);
      // t1 expired on the BMC (this server just never forgets it); t2, made by the re-login, was deleted.
      assert.deepEqual([...open], ["t1"]);
      assert.ok(log.some((l) => l === "DELETE /redfish/v1/SessionService/Sessions/2 t2"));
    } finally {
      await server.close();
    }
  });

  it("treats a 2xx whose `error` carries a non-success message as a failure", async () => {
    const server = await quirkyServer(address(7, 4), (_req, res) =>
      reply(res, 200, { error: { code: "iLO.0.10.ExtendedInfo", message: "See ExtendedInfo", "@Message.ExtendedInfo": [{ MessageId: "Base.1.8.PropertyValueNotInList", Message: "bad value" }] } }),
    );
    try {
      const c = new RedfishClient(clientOptions(address(7, 4), { auth: "basic" }));
      const e = await rejection(() => c.patch("/redfish/v1/Systems/1", { Boot: { BootSourceOverrideTarget: "Pxe" } }));
      assert.ok(errors.isRedfishHttpError(e));
      assert.match(e.message, /error object in a success response.*PropertyValueNotInList/);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it("waits as long as Retry-After asks before retrying", async () => {
    const at: number[] = [];
    const server = await quirkyServer(address(7, 5), (_req, res, n) => {
      at.push(Date.now());
      if (n === 1) return reply(res, 429, { error: { code: "Base.1.0.ServiceTemporarilyUnavailable", message: "slow down" } }, { "Retry-After": "1" });
      reply(res, 200, {});
    });
    try {
      const c = new RedfishClient(clientOptions(address(7, 5), { auth: "basic" }));
      await c.get("/redfish/v1/Systems");
      assert.ok(at[1] - at[0] >= 950, `retried after ${at[1] - at[0]} ms`);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it("gives up on a response that never comes at the request deadline", async () => {
    const server = await quirkyServer(address(7, 6), () => undefined);
    try {
      const c = new RedfishClient(clientOptions(address(7, 6), { auth: "basic", requestTimeoutMs: 300 }));
      const started = Date.now();
      const e = await rejection(() => c.get("/redfish/v1/Systems"));
      assert.ok(errors.isRedfishTimeoutError(e), String(e));
      assert.match(e.message, /response to GET \/redfish\/v1\/Systems/);
      assert.ok(Date.now() - started < 2000);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it("stops following a task monitor at its deadline", async () => {
    const server = await quirkyServer(address(7, 7), (req, res) => {
      if (req.method === "POST") return reply(res, 202, {}, { Location: "/redfish/v1/TaskService/TaskMonitors/1" });
      reply(res, 202, { TaskState: "Running" }, { Location: "/redfish/v1/TaskService/TaskMonitors/1" });
    });
    try {
      const c = new RedfishClient(clientOptions(address(7, 7), { auth: "basic", taskTimeoutMs: 300, taskPollMs: 50 }));
      const e = await rejection(() => c.action("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", { ResetType: "On" }));
      assert.ok(errors.isRedfishTimeoutError(e), String(e));
      assert.match(e.message, /task \/redfish\/v1\/TaskService\/TaskMonitors\/1/);
      await c.close();
    } finally {
      await server.close();
    }
  });

  it("raises a task that ends in Exception with its messages", async () => {
    let polls = 0;
    const server = await quirkyServer(address(7, 8), (req, res) => {
      if (req.method === "POST") return reply(res, 202, {}, { Location: "/redfish/v1/TaskService/TaskMonitors/2" });
      if (++polls < 2) return reply(res, 202, { TaskState: "Running" });
      reply(res, 200, { TaskState: "Exception", Messages: [{ MessageId: "Base.1.8.InternalError", Message: "power controller fault" }] });
    });
    try {
      const c = new RedfishClient(clientOptions(address(7, 8), { auth: "basic" }));
      const e = await rejection(() => c.action("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", { ResetType: "On" }));
      assert.ok(errors.isRedfishTaskError(e), String(e));
      assert.match(e.message, /Exception: \[Base\.1\.8\.InternalError\] power controller fault/);
      await c.close();
    } finally {
      await server.close();
    }
  });
});
