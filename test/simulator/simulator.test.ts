/**
 * Tests of the Redfish BMC simulator itself (the Redfish client has its own).
 * Part 1 drives it with sushy, a real Redfish client nobody here wrote, over
 * TLS verified against the test CA. Part 2 checks each behaviour, vendor quirk
 * and fault with plain node:https requests.
 *
 * Addresses: 127.0.3.0/24 (inside the test certificate's default SANs) and
 * 127.77.0.0/16 for the per-address certificate case, away from the ranges
 * other suites use.
 */
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";
import * as path from "node:path";
import { createTestPki, type TestPki } from "../../simulator/pki";
import { startSimulator, type BmcSpec, type SimulatedBmc, type Simulator, type VendorProfile } from "../../simulator";

interface Res {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: Record<string, unknown>;
}

interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** "basic" (default: admin/password), "none", or an X-Auth-Token. */
  auth?: "basic" | "none" | { token: string } | { user: string; password: string };
  ca?: string;
  timeoutMs?: number;
}

let pki: TestPki;

/** One HTTPS request to a simulated BMC, certificate checked against the test CA. */
function call(bmc: SimulatedBmc, method: string, uri: string, opts: CallOptions = {}): Promise<Res> {
  const url = new URL(uri, bmc.url);
  const headers: Record<string, string> = { "OData-Version": "4.0", "Accept-Encoding": "identity", ...opts.headers };
  const auth = opts.auth ?? "basic";
  if (auth === "basic") headers.Authorization = `Basic ${Buffer.from("admin:password").toString("base64")}`;
  else if (auth !== "none" && "token" in auth) headers["X-Auth-Token"] = auth.token;
  else if (auth !== "none") headers.Authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}`;
  const payload = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  if (payload !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: opts.ca ?? pki.caCert, agent: false, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const flat: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(", ") : v;
        let json: Record<string, unknown> = {};
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch { /* not JSON: tests look at text */ }
        resolve({ status: res.statusCode ?? 0, headers: flat, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(payload);
  });
}

/** MessageIds of a Redfish error body (or of a body's own @Message.ExtendedInfo). */
function messageIds(json: Record<string, unknown>): string[] {
  const error = json.error as Record<string, unknown> | undefined;
  const info = (error?.["@Message.ExtendedInfo"] ?? json["@Message.ExtendedInfo"] ?? []) as { MessageId: string }[];
  return info.map((m) => m.MessageId);
}

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function runSushy(bmc: SimulatedBmc, extra: string[] = []): Promise<{ out: Record<string, unknown>; stderr: string }> {
  const script = path.join(__dirname, "sushy_check.py");
  // /usr/bin/python3: Debian's interpreter, the one python3-sushy installs into.
  return new Promise((resolve, reject) => {
    execFile("/usr/bin/python3", [script, "--url", bmc.url, "--ca", pki.caPath, ...extra], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`sushy_check.py failed for ${bmc.spec.profile}: ${err.message}\n${stderr}`));
      resolve({ out: JSON.parse(stdout) as Record<string, unknown>, stderr });
    });
  });
}


/** The certificate a TLS server at address:port presents (not verified: only compared). */
function peerCertificate(address: string, port: number): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once("error", reject);
  });
}

describe("Redfish BMC simulator", function () {
  // Inside a describe, not a root hook: other suites do not pay for this PKI.
  before(function () {
    pki = createTestPki();
  });

  describe("Redfish simulator driven by sushy (python3-sushy)", function () {
    let sim: Simulator;
    const profiles: VendorProfile[] = ["generic", "dell", "hpe", "supermicro", "openbmc", "ami", "lenovo", "bladed"];
    const uuid = (i: number, j = 0): string => `4C4C4544-0042-3010-80${i}${j}-B2C04F333${i}${j}3`.slice(0, 36);

    before(async function () {
      sim = await startSimulator({
        tls: pki,
        bmcs: profiles.map((profile, i): BmcSpec => ({
          address: `127.0.3.${10 + i}`, profile, powerDelayMs: 50,
          uuids: profile === "bladed" ? [uuid(i, 0), uuid(i, 1), uuid(i, 2)] : [uuid(i)],
        })),
      });
    });
    after(async () => sim?.stop());

    for (const [i, profile] of profiles.entries()) {
      it(`${profile}: login, systems, UUID, power, boot once PXE, reset, logout`, async function () {
        const bmc = sim.bmc(`127.0.3.${10 + i}`);
        // supermicro answers 400 to a boot target without BootSourceOverrideMode.
        const { out, stderr } = await runSushy(bmc, profile === "supermicro" ? ["--mode", "UEFI"] : []);
        const systems = out.systems as { id: string; uuid: string; powerState: string }[];
        assert.deepEqual(systems.map((s) => s.uuid), bmc.spec.uuids);
        assert.equal(systems[0].id, bmc.system(0).id);
        assert.equal(systems[0].powerState, "On");
        assert.equal(out.reset, "ForceRestart");
        // The override was set before the reset and consumed by the boot it caused.
        await until("the boot", () => bmc.system(0).boots.length === 1);
        const sys = bmc.system(0);
        assert.deepEqual(sys.resets, ["ForceRestart"]);
        assert.equal(sys.boots[0].target, "Pxe");
        assert.equal(sys.boot.BootSourceOverrideEnabled, "Disabled");
        assert.equal(sys.boot.BootSourceOverrideTarget, "None");
        // Session auth was really used (sushy was told not to fall back to Basic) and ended.
        assert.equal(bmc.sessionsCreated(), 1);
        assert.equal(bmc.openSessions(), 0);
        assert.equal(out.sessionAfterLogout, null);
        assert.ok(bmc.requests.every((r) => !r.headers.authorization), "no Basic auth was used");
        const patches = bmc.requests.filter((r) => r.method === "PATCH");
        if (profile === "dell") {
          assert.equal(out.settingsUri, "/redfish/v1/Systems/System.Embedded.1/Settings");
          assert.deepEqual(patches.map((p) => [p.path, p.status]), [["/redfish/v1/Systems/System.Embedded.1/Settings", 200]]);
        } else if (profile === "hpe") {
          // sushy sent the weak ETag it was given, got 412, retried with the strong form.
          assert.deepEqual(patches.map((p) => p.status), [412, 200]);
          assert.match(patches[0].headers["if-match"], /^W\/"/);
          assert.match(patches[1].headers["if-match"], /^"/);
          assert.match(stderr, /Weak eTag/);
        } else {
          assert.deepEqual(patches.map((p) => p.status), [profile === "ami" ? 204 : 200]);
        }
        if (profile === "openbmc") {
          // sushy 4.3 does not read @Redfish.ActionInfo; it falls back to every reset type.
          assert.ok((out.allowedResets as string[]).includes("ForceRestart"));
        }
      });
    }
  });

  describe("issue 9 faults driven by sushy (an independent client)", function () {
    let sim: Simulator;
    before(async function () {
      sim = await startSimulator({
        tls: pki,
        bmcs: [
          { address: "127.0.3.90", scheme: "http", port: 8000, powerDelayMs: 50 },
          { address: "127.0.3.92", profile: "dell", powerDelayMs: 50, faults: { settingsModeOnly: true } },
        ],
      });
    });
    after(async () => sim?.stop());

    it("a plain-HTTP virtual BMC serves sushy end to end", async function () {
      const bmc = sim.bmc("127.0.3.90");
      const { out } = await runSushy(bmc);
      assert.equal(bmc.url, "http://127.0.3.90:8000");
      assert.equal((out.systems as unknown[]).length, 1);
      await until("the boot", () => bmc.system().boots.length === 1);
      assert.equal(bmc.system().boots[0].target, "Pxe");
      assert.equal(bmc.openSessions(), 0);
    });

    it("a settings object that holds only the mode: sushy, too, writes the target to the system and boots PXE", async function () {
      const bmc = sim.bmc("127.0.3.92");
      await runSushy(bmc);
      await until("the boot", () => bmc.system().boots.length === 1);
      assert.equal(bmc.system().boots[0].target, "Pxe");
      const patched = bmc.requests.filter((r) => r.method === "PATCH" && r.status < 300).map((r) => r.path);
      assert.ok(patched.includes("/redfish/v1/Systems/System.Embedded.1"), patched.join(", "));
      assert.equal(bmc.openSessions(), 0);
    });
  });

  describe("Redfish simulator: protocol", function () {
    let sim: Simulator;
    let bmc: SimulatedBmc;
    const SYS = "/redfish/v1/Systems/437XR1138R2";

    before(async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.1", powerDelayMs: 40, uuids: ["11111111-2222-3333-4444-555555555555"] }] });
      bmc = sim.bmc("127.0.3.1");
    });
    after(async () => sim?.stop());

    it("serves the service root without credentials, and every link it gives resolves", async function () {
      const root = await call(bmc, "GET", "/redfish/v1/", { auth: "none" });
      assert.equal(root.status, 200);
      assert.equal(root.headers["odata-version"], "4.0");
      assert.deepEqual(root.json.Links, { Sessions: { "@odata.id": "/redfish/v1/SessionService/Sessions" } });
      const links = Object.values(root.json).filter((v): v is { "@odata.id": string } => typeof v === "object" && v !== null && "@odata.id" in v);
      assert.ok(links.length >= 3);
      for (const l of links) assert.equal((await call(bmc, "GET", l["@odata.id"])).status, 200, l["@odata.id"]);
      assert.equal((await call(bmc, "GET", "/redfish/v1", { auth: "none" })).status, 200);
    });

    it("serves $metadata (CSDL) and the OData service document without credentials", async function () {
      const meta = await call(bmc, "GET", "/redfish/v1/$metadata", { auth: "none" });
      assert.equal(meta.status, 200);
      assert.match(meta.headers["content-type"], /^application\/xml/);
      assert.match(meta.text, /<edmx:Edmx/);
      const odata = await call(bmc, "GET", "/redfish/v1/odata", { auth: "none" });
      assert.equal(odata.status, 200);
      assert.ok((odata.json.value as { url: string }[]).some((v) => v.url === "/redfish/v1/Systems"));
    });

    it("answers 401 with a Basic challenge and ExtendedInfo to anything else without credentials", async function () {
      const r = await call(bmc, "GET", "/redfish/v1/Systems", { auth: "none" });
      assert.equal(r.status, 401);
      assert.match(r.headers["www-authenticate"], /^Basic /);
      assert.deepEqual(messageIds(r.json), ["Base.1.16.NoValidSession"]);
      const wrong = await call(bmc, "GET", "/redfish/v1/Systems", { auth: { user: "admin", password: "nope" } });
      assert.equal(wrong.status, 401);
      assert.equal((await call(bmc, "GET", "/redfish/v1/Systems", { auth: { token: "bogus" } })).status, 401);
      assert.equal((await call(bmc, "GET", "/redfish/v1/Systems")).status, 200, "Basic auth is accepted");
    });

    it("creates, uses and deletes a session, counting open sessions", async function () {
      const before = bmc.sessionsCreated();
      const login = await call(bmc, "POST", "/redfish/v1/SessionService/Sessions", { auth: "none", body: { UserName: "admin", Password: "password" } });
      assert.equal(login.status, 201);
      const token = login.headers["x-auth-token"];
      assert.ok(token);
      assert.match(login.headers.location, /^\/redfish\/v1\/SessionService\/Sessions\/\w+$/, "generic: relative Location");
      assert.equal(login.json["@odata.id"], login.headers.location);
      assert.equal(bmc.openSessions(), 1);
      assert.equal(bmc.sessionsCreated(), before + 1);
      const systems = await call(bmc, "GET", "/redfish/v1/Systems", { auth: { token } });
      assert.deepEqual(systems.json.Members, [{ "@odata.id": SYS }]);
      const coll = await call(bmc, "GET", "/redfish/v1/SessionService/Sessions", { auth: { token } });
      assert.deepEqual(coll.json.Members, [{ "@odata.id": login.headers.location }]);
      assert.equal((await call(bmc, "DELETE", login.headers.location, { auth: { token } })).status, 204);
      assert.equal(bmc.openSessions(), 0);
      assert.equal((await call(bmc, "GET", "/redfish/v1/Systems", { auth: { token } })).status, 401, "the token died with the session");
    });

    it("ends sessions idle for longer than sessionTimeoutS", async function () {
      const short = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.2", sessionTimeoutS: 0.2 }] });
      try {
        const b = short.bmc("127.0.3.2");
        assert.equal((await call(b, "GET", "/redfish/v1/SessionService")).json.SessionTimeout, 0.2);
        const login = await call(b, "POST", "/redfish/v1/SessionService/Sessions", { auth: "none", body: { UserName: "admin", Password: "password" } });
        const token = login.headers["x-auth-token"];
        assert.equal((await call(b, "GET", "/redfish/v1/Systems", { auth: { token } })).status, 200);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await call(b, "GET", "/redfish/v1/Systems", { auth: { token } })).status, 401);
        assert.equal(b.openSessions(), 0);
        assert.equal(b.sessionsCreated(), 1);
      } finally {
        await short.stop();
      }
    });

    it("rejects a body that is not declared JSON, and an OData-Version other than 4.0", async function () {
      const r = await call(bmc, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: '{"ResetType":"Nmi"}', headers: { "Content-Type": "text/plain" } });
      assert.equal(r.status, 400);
      assert.deepEqual(messageIds(r.json), ["Base.1.16.UnrecognizedRequestBody"]);
      assert.equal((await call(bmc, "GET", SYS, { headers: { "OData-Version": "5.0" } })).status, 412);
    });

    it("refuses wrong session credentials with 401 and ExtendedInfo", async function () {
      const r = await call(bmc, "POST", "/redfish/v1/SessionService/Sessions", { auth: "none", body: { UserName: "admin", Password: "wrong" } });
      assert.equal(r.status, 401);
      assert.deepEqual(messageIds(r.json), ["Base.1.16.ResourceAtUriUnauthorized"]);
      assert.equal(bmc.openSessions(), 0);
    });

    it("serves the system from the mockup with the spec's UUID, an ETag and boot/reset allowable values", async function () {
      const r = await call(bmc, "GET", SYS);
      assert.equal(r.status, 200);
      assert.equal(r.json.UUID, "11111111-2222-3333-4444-555555555555");
      assert.equal(r.json.Name, "WebFrontEnd483", "from public-rackmount1");
      assert.match(r.headers.etag, /^"[0-9a-f]+"$/);
      assert.equal(r.json["@odata.etag"], r.headers.etag);
      const boot = r.json.Boot as Record<string, unknown>;
      assert.ok((boot["BootSourceOverrideTarget@Redfish.AllowableValues"] as string[]).includes("Pxe"));
      const reset = (r.json.Actions as Record<string, Record<string, unknown>>)["#ComputerSystem.Reset"];
      assert.equal(reset.target, `${SYS}/Actions/ComputerSystem.Reset`);
      assert.ok((reset["ResetType@Redfish.AllowableValues"] as string[]).includes("ForceRestart"));
      assert.equal(r.json.Links, undefined, "links to unserved Chassis/Managers are pruned");
    });

    it("never compresses, even when asked to", async function () {
      const r = await call(bmc, "GET", SYS, { headers: { "Accept-Encoding": "gzip, deflate, br" } });
      assert.equal(r.headers["content-encoding"], undefined);
      assert.equal(r.json.Id, "437XR1138R2");
    });

    it("PATCH: 412 on a stale If-Match, 200 with the current one, and the ETag moves", async function () {
      const first = await call(bmc, "GET", SYS);
      const ok = await call(bmc, "PATCH", SYS, { headers: { "If-Match": first.headers.etag }, body: { Boot: { BootSourceOverrideTarget: "Cd", BootSourceOverrideEnabled: "Continuous" } } });
      assert.equal(ok.status, 200);
      assert.notEqual(ok.headers.etag, first.headers.etag);
      const stale = await call(bmc, "PATCH", SYS, { headers: { "If-Match": first.headers.etag }, body: { Boot: { BootSourceOverrideTarget: "Hdd" } } });
      assert.equal(stale.status, 412);
      assert.deepEqual(messageIds(stale.json), ["Base.1.16.PreconditionFailed"]);
      assert.equal(bmc.system().boot.BootSourceOverrideTarget, "Cd");
      const weak = await call(bmc, "PATCH", SYS, { headers: { "If-Match": `W/${ok.headers.etag}` }, body: { Boot: { BootSourceOverrideTarget: "Hdd" } } });
      assert.equal(weak.status, 412, "If-Match compares strongly (RFC 9110)");
      const none = await call(bmc, "PATCH", SYS, { body: { Boot: { BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None" } } });
      assert.equal(none.status, 200, "generic: If-Match optional");
    });

    it("PATCH: 400 PropertyValueNotInList for a target outside AllowableValues, and for unknown or read-only properties", async function () {
      const bad = await call(bmc, "PATCH", SYS, { body: { Boot: { BootSourceOverrideTarget: "Floppy" } } });
      assert.equal(bad.status, 400);
      assert.deepEqual(messageIds(bad.json), ["Base.1.16.PropertyValueNotInList"]);
      assert.deepEqual((bad.json.error as Record<string, unknown[]>)["@Message.ExtendedInfo"].map((m) => (m as { MessageArgs: string[] }).MessageArgs), [["Floppy", "Boot/BootSourceOverrideTarget"]]);
      assert.deepEqual(messageIds((await call(bmc, "PATCH", SYS, { body: { Boot: { BootSourceOverrideEnabled: "Twice" } } })).json), ["Base.1.16.PropertyValueNotInList"]);
      assert.deepEqual(messageIds((await call(bmc, "PATCH", SYS, { body: { PowerState: "Off" } })).json), ["Base.1.16.PropertyNotWritable"]);
      assert.deepEqual(messageIds((await call(bmc, "PATCH", SYS, { body: { Bogus: 1 } })).json), ["Base.1.16.PropertyUnknown"]);
      assert.deepEqual(messageIds((await call(bmc, "PATCH", SYS, { body: "{not json" })).json), ["Base.1.16.MalformedJSON"]);
      assert.equal(bmc.system().boot.BootSourceOverrideTarget, "None");
    });

    it("a Once override is used by the next boot and then returns to Disabled/None", async function () {
      await call(bmc, "PATCH", SYS, { body: { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "UEFI" } } });
      const r = await call(bmc, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: { ResetType: "ForceRestart" } });
      assert.equal(r.status, 204);
      assert.equal(bmc.system().powerState, "On", "a restart of a running system stays On");
      assert.equal(bmc.system().boot.BootSourceOverrideEnabled, "Once", "consumed only when the boot happens");
      await until("the boot", () => bmc.system().boots.length === 1);
      const s = bmc.system();
      assert.deepEqual([s.boots[0].target, s.boots[0].mode, s.boots[0].resetType], ["Pxe", "UEFI", "ForceRestart"]);
      assert.deepEqual(s.boot, { BootSourceOverrideEnabled: "Disabled", BootSourceOverrideTarget: "None", BootSourceOverrideMode: "UEFI" });
      const after = await call(bmc, "GET", SYS);
      assert.equal((after.json.Boot as Record<string, unknown>).BootSourceOverrideEnabled, "Disabled");
    });

    it("ForceOff and On move PowerState through PoweringOff/PoweringOn after powerDelayMs; On counts as a boot", async function () {
      const boots = bmc.system().boots.length;
      assert.equal((await call(bmc, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: { ResetType: "ForceOff" } })).status, 204);
      assert.equal(bmc.system().powerState, "PoweringOff");
      assert.equal((await call(bmc, "GET", SYS)).json.PowerState, "PoweringOff");
      await until("Off", () => bmc.system().powerState === "Off");
      // If-Match on an action is not expected, but must not break it.
      const on = await call(bmc, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { headers: { "If-Match": '"stale"' }, body: { ResetType: "On" } });
      assert.equal(on.status, 204);
      assert.equal(bmc.system().powerState, "PoweringOn");
      await until("On", () => bmc.system().powerState === "On");
      assert.equal(bmc.system().boots.length, boots + 1);
      assert.deepEqual(bmc.system().resets.slice(-2), ["ForceOff", "On"]);
    });

    it("validates ResetType", async function () {
      const bad = await call(bmc, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: { ResetType: "Explode" } });
      assert.equal(bad.status, 400);
      assert.deepEqual(messageIds(bad.json), ["Base.1.16.ActionParameterValueNotInList"]);
      const missing = await call(bmc, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: {} });
      assert.deepEqual(messageIds(missing.json), ["Base.1.16.ActionParameterMissing"]);
      assert.ok(!bmc.system().resets.includes("Explode"));
    });

    it("setPowerState() changes the state at once; unknown paths 404; wrong methods 405 with Allow", async function () {
      bmc.setPowerState("Off");
      assert.equal((await call(bmc, "GET", SYS)).json.PowerState, "Off");
      bmc.setPowerState("On");
      const missing = await call(bmc, "GET", "/redfish/v1/Chassis");
      assert.equal(missing.status, 404);
      assert.deepEqual(messageIds(missing.json), ["Base.1.16.ResourceMissingAtURI"]);
      const del = await call(bmc, "DELETE", SYS);
      assert.equal(del.status, 405);
      assert.equal(del.headers.allow, "GET, HEAD, PATCH");
    });

    it("answers HEAD like GET, without a body", async function () {
      const head = await call(bmc, "HEAD", SYS);
      assert.equal(head.status, 200);
      assert.ok(head.headers.etag);
      assert.equal(head.text, "");
    });

    it("records every request with its status and headers", async function () {
      await call(bmc, "GET", "/redfish/v1/Systems?$top=1", { headers: { "X-Probe": "yes" } });
      const last = bmc.requests[bmc.requests.length - 1];
      assert.deepEqual([last.method, last.path, last.status, last.headers["x-probe"]], ["GET", "/redfish/v1/Systems", 200, "yes"]);
    });
  });

  describe("Redfish simulator: vendor profiles", function () {
    let sim: Simulator;
    const at: Record<string, string> = { dell: "127.0.3.21", hpe: "127.0.3.22", supermicro: "127.0.3.23", openbmc: "127.0.3.24", ami: "127.0.3.25", lenovo: "127.0.3.26", bladed: "127.0.3.27" };

    before(async function () {
      sim = await startSimulator({
        tls: pki,
        bmcs: Object.entries(at).map(([profile, address]): BmcSpec => ({ address, profile: profile as VendorProfile, powerDelayMs: 30 })),
      });
    });
    after(async () => sim?.stop());
    const bmc = (p: string): SimulatedBmc => sim.bmc(at[p]);

    it("dell: System.Embedded.1; BootSourceOverrideMode only through the SettingsObject, applied at the next reset", async function () {
      const d = bmc("dell");
      const SYS = "/redfish/v1/Systems/System.Embedded.1";
      const sys = await call(d, "GET", SYS);
      assert.equal(sys.json.Id, "System.Embedded.1");
      const settings = (sys.json["@Redfish.Settings"] as Record<string, Record<string, string>>).SettingsObject["@odata.id"];
      assert.equal(settings, `${SYS}/Settings`);
      const direct = await call(d, "PATCH", SYS, { body: { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "UEFI" } } });
      assert.equal(direct.status, 400);
      assert.deepEqual(messageIds(direct.json), ["Base.1.16.PropertyNotWritable"]);
      const staged = await call(d, "PATCH", settings, { body: { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "Legacy" } } });
      assert.equal(staged.status, 200);
      assert.deepEqual(messageIds(staged.json), ["Base.1.16.Success"]);
      assert.equal(d.system().boot.BootSourceOverrideTarget, "None", "not applied yet");
      assert.equal(((await call(d, "GET", settings)).json.Boot as Record<string, string>).BootSourceOverrideTarget, "Pxe");
      assert.deepEqual(d.system().pendingBoot, { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "Legacy" });
      await call(d, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: { ResetType: "ForceRestart" } });
      await until("the boot", () => d.system().boots.length === 1);
      assert.deepEqual([d.system().boots[0].target, d.system().boots[0].mode], ["Pxe", "Legacy"]);
      assert.equal(d.system().pendingBoot, undefined);
      assert.equal(d.system().boot.BootSourceOverrideEnabled, "Disabled");
    });

    it("hpe: weak ETag accepted only in strong form, 200 with an `error` that means success, Mode read-only, absolute session Location", async function () {
      const h = bmc("hpe");
      const SYS = "/redfish/v1/Systems/1";
      const sys = await call(h, "GET", SYS);
      assert.match(sys.headers.etag, /^W\/"[0-9a-f]+"$/);
      assert.equal(sys.json["@odata.etag"], sys.headers.etag);
      const body = { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" } };
      assert.equal((await call(h, "PATCH", SYS, { headers: { "If-Match": sys.headers.etag }, body })).status, 412);
      const strong = await call(h, "PATCH", SYS, { headers: { "If-Match": sys.headers.etag.slice(2) }, body });
      assert.equal(strong.status, 200);
      assert.deepEqual(messageIds(strong.json), ["iLO.2.14.SystemResetRequired"]);
      assert.equal(h.system().boot.BootSourceOverrideTarget, "Pxe");
      const mode = await call(h, "PATCH", SYS, { body: { Boot: { BootSourceOverrideMode: "Legacy" } } });
      assert.equal(mode.status, 400);
      const reset = await call(h, "POST", `${SYS}/Actions/ComputerSystem.Reset`, { body: { ResetType: "ForceRestart" } });
      assert.equal(reset.status, 200);
      assert.deepEqual(messageIds(reset.json), ["Base.1.16.Success"]);
      const login = await call(h, "POST", "/redfish/v1/SessionService/Sessions", { auth: "none", body: { UserName: "admin", Password: "password" } });
      // Absolute, built from the Host the client used (node sends no :443 for the default port).
      assert.match(login.headers.location, /^https:\/\/127\.0\.3\.22\/redfish\/v1\/SessionService\/Sessions\/\w+$/);
      assert.equal((await call(h, "DELETE", login.headers.location, { auth: { token: login.headers["x-auth-token"] } })).status, 204);
    });

    it("supermicro: BootSourceOverrideTarget without BootSourceOverrideMode is 400", async function () {
      const s = bmc("supermicro");
      const without = await call(s, "PATCH", "/redfish/v1/Systems/1", { body: { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" } } });
      assert.equal(without.status, 400);
      assert.deepEqual(messageIds(without.json), ["Base.1.16.PropertyMissing"]);
      const withMode = await call(s, "PATCH", "/redfish/v1/Systems/1", { body: { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once", BootSourceOverrideMode: "UEFI" } } });
      assert.equal(withMode.status, 200);
    });

    it("openbmc: system id `system`, reset types only through @Redfish.ActionInfo", async function () {
      const o = bmc("openbmc");
      const sys = await call(o, "GET", "/redfish/v1/Systems/system");
      const reset = (sys.json.Actions as Record<string, Record<string, unknown>>)["#ComputerSystem.Reset"];
      assert.equal(reset["ResetType@Redfish.AllowableValues"], undefined);
      assert.equal(reset["@Redfish.ActionInfo"], "/redfish/v1/Systems/system/ResetActionInfo");
      const info = await call(o, "GET", reset["@Redfish.ActionInfo"] as string);
      assert.equal(info.status, 200);
      const params = info.json.Parameters as { Name: string; AllowableValues: string[] }[];
      assert.equal(params[0].Name, "ResetType");
      assert.ok(params[0].AllowableValues.includes("PowerCycle"));
      assert.ok(!params[0].AllowableValues.includes("PushPowerButton"));
      assert.equal((await call(o, "POST", reset.target as string, { body: { ResetType: "PushPowerButton" } })).status, 400);
    });

    it("ami: system id `Self`, relative session Location, 428 for a PATCH without If-Match", async function () {
      const a = bmc("ami");
      const login = await call(a, "POST", "/redfish/v1/SessionService/Sessions", { auth: "none", body: { UserName: "admin", Password: "password" } });
      assert.match(login.headers.location, /^\/redfish\/v1\/SessionService\/Sessions\//);
      const token = login.headers["x-auth-token"];
      const sys = await call(a, "GET", "/redfish/v1/Systems/Self", { auth: { token } });
      assert.equal(sys.json.Id, "Self");
      const body = { Boot: { BootSourceOverrideTarget: "Pxe", BootSourceOverrideEnabled: "Once" } };
      const noMatch = await call(a, "PATCH", "/redfish/v1/Systems/Self", { auth: { token }, body });
      assert.equal(noMatch.status, 428);
      assert.deepEqual(messageIds(noMatch.json), ["Base.1.16.PreconditionRequired"]);
      const ok = await call(a, "PATCH", "/redfish/v1/Systems/Self", { auth: { token }, headers: { "If-Match": sys.headers.etag }, body });
      assert.equal(ok.status, 204);
      await call(a, "DELETE", login.headers.location, { auth: { token } });
      assert.equal(a.openSessions(), 0);
    });

    it("lenovo: reset answers 202 with a task monitor that answers 202 twice, then 200 with the completed task", async function () {
      const l = bmc("lenovo");
      const r = await call(l, "POST", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", { body: { ResetType: "ForceOff" } });
      assert.equal(r.status, 202);
      const monitor = r.headers.location;
      assert.match(monitor, /^\/redfish\/v1\/TaskService\/TaskMonitors\/\d+$/);
      assert.equal(r.json.TaskState, "Running");
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const m = await call(l, "GET", monitor);
        statuses.push(m.status);
        if (m.status !== 202) {
          assert.equal(m.json.TaskState, "Completed");
          break;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.deepEqual(statuses.slice(0, 2), [202, 202]);
      assert.equal(statuses[statuses.length - 1], 200);
      assert.equal(l.system().powerState, "Off", "the task completes only after the power change");
      const task = await call(l, "GET", `/redfish/v1/TaskService/Tasks/${monitor.split("/").pop()}`);
      assert.equal(task.json.TaskState, "Completed");
    });

    it("bladed: several systems, from public-bladed", async function () {
      const b = bmc("bladed");
      const coll = await call(b, "GET", "/redfish/v1/Systems");
      assert.equal(coll.json["Members@odata.count"], 4);
      const uuids = new Set<string>();
      for (const m of coll.json.Members as { "@odata.id": string }[]) {
        const s = await call(b, "GET", m["@odata.id"]);
        assert.equal(s.json.Model, "SX1000");
        uuids.add(s.json.UUID as string);
      }
      assert.equal(uuids.size, 4);
      assert.deepEqual([...uuids], [0, 1, 2, 3].map((i) => b.system(i).uuid));
    });
  });

  describe("Redfish simulator: faults and listening", function () {
    let sim: Simulator | undefined;
    afterEach(async () => {
      await sim?.stop();
      sim = undefined;
    });

    it("sessionExhaustion: N refusals with 503 and Retry-After: 1, then a session; true: always", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.40", faults: { sessionExhaustion: 2 } }, { address: "127.0.3.41", faults: { sessionExhaustion: true } }] });
      const login = (b: SimulatedBmc) => call(b, "POST", "/redfish/v1/SessionService/Sessions", { auth: "none", body: { UserName: "admin", Password: "password" } });
      const a = sim.bmc("127.0.3.40");
      for (let i = 0; i < 2; i++) {
        const r = await login(a);
        assert.equal(r.status, 503);
        assert.equal(r.headers["retry-after"], "1");
        assert.deepEqual(messageIds(r.json), ["Base.1.16.SessionLimitExceeded"]);
      }
      assert.equal((await login(a)).status, 201);
      for (let i = 0; i < 3; i++) assert.equal((await login(sim.bmc("127.0.3.41"))).status, 503);
      assert.equal(sim.bmc("127.0.3.41").sessionsCreated(), 0);
    });

    it("error500: listed paths answer 500 with a Redfish error, others work", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.42", faults: { error500: ["/redfish/v1/Systems"] } }] });
      const b = sim.bmc("127.0.3.42");
      const r = await call(b, "GET", "/redfish/v1/Systems/");
      assert.equal(r.status, 500);
      assert.deepEqual(messageIds(r.json), ["Base.1.16.InternalError"]);
      assert.equal((await call(b, "GET", "/redfish/v1/Systems/437XR1138R2")).status, 200);
    });

    it("flaky503: the first N requests of any kind answer 503 with Retry-After: 0", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.43", faults: { flaky503: 2 } }] });
      const b = sim.bmc("127.0.3.43");
      const first = await call(b, "GET", "/redfish/v1/", { auth: "none" });
      assert.deepEqual([first.status, first.headers["retry-after"]], [503, "0"]);
      assert.equal((await call(b, "GET", "/redfish/v1/Systems")).status, 503);
      assert.equal((await call(b, "GET", "/redfish/v1/Systems")).status, 200);
    });

    it("hang: accepts the TCP connection and never answers", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.44", faults: { hang: true } }] });
      const connected = await new Promise<boolean>((resolve) => {
        const s = net.connect(443, "127.0.3.44", () => resolve(true));
        s.on("error", () => resolve(false));
        s.on("data", () => assert.fail("a hanging BMC sent data"));
        setTimeout(() => s.destroy(), 300);
      });
      assert.ok(connected);
      await assert.rejects(call(sim.bmc("127.0.3.44"), "GET", "/redfish/v1/", { timeoutMs: 300 }), /timeout/);
    });

    it("wrongCertificate: self-signed fails verification; wrongName fails the name check; the CA is fine otherwise", async function () {
      sim = await startSimulator({
        tls: pki,
        bmcs: [{ address: "127.0.3.45", faults: { wrongCertificate: true } }, { address: "127.0.3.46", faults: { wrongCertificate: "wrongName" } }, { address: "127.0.3.47" }],
      });
      await assert.rejects(call(sim.bmc("127.0.3.45"), "GET", "/redfish/v1/"), (e: NodeJS.ErrnoException) => /SELF_SIGNED|UNABLE_TO_VERIFY/.test(e.code ?? ""));
      await assert.rejects(call(sim.bmc("127.0.3.46"), "GET", "/redfish/v1/"), (e: NodeJS.ErrnoException) => e.code === "ERR_TLS_CERT_ALTNAME_INVALID");
      assert.equal((await call(sim.bmc("127.0.3.47"), "GET", "/redfish/v1/")).status, 200);
      // Trusting the wrong certificate explicitly works: the fault is the chain, not the TLS setup.
      assert.equal((await call(sim.bmc("127.0.3.45"), "GET", "/redfish/v1/", { ca: pki.wrongCert })).status, 200);
    });

    it("latencyMs delays every response", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.48", latencyMs: [80, 100] }] });
      const t0 = Date.now();
      await call(sim.bmc("127.0.3.48"), "GET", "/redfish/v1/");
      assert.ok(Date.now() - t0 >= 80);
    });

    it("listens on each BMC's own address: an unused loopback address refuses connections", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.50" }] });
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(443, "127.0.3.51", () => resolve("connected"));
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      });
      assert.equal(refused, "ECONNREFUSED");
    });

    // How fast they start is not asserted here: a loaded test machine makes a time bound lie (CI saw
    // 695 ms against a 500 ms bound). What is checked is what starting them means.
    it("starts 64 BMCs at once, each on its own address with its own system", async function () {
      sim = await startSimulator({ tls: pki, bmcs: Array.from({ length: 64 }, (_, i) => ({ address: `127.0.3.${100 + i}`, profile: "openbmc" as const })) });
      assert.equal(sim.bmcs.length, 64);
      for (const a of ["127.0.3.100", "127.0.3.163"]) assert.equal((await call(sim.bmc(a), "GET", "/redfish/v1/Systems/system")).json.UUID, sim.bmc(a).system().uuid);
    });

    it("starts 64 BMCs outside the default SANs with one certificate issued for all", async function () {
      // A fresh octet per run, so the certificate is really issued, not taken from the cache.
      const octet = 100 + (Date.now() % 100);
      sim = await startSimulator({ tls: pki, bmcs: Array.from({ length: 64 }, (_, i) => ({ address: `127.77.${octet}.${i + 1}` })) });
      const served = await Promise.all([sim.bmcs[0], sim.bmcs[63]].map(async (b) => {
        assert.equal((await call(b, "GET", "/redfish/v1/")).status, 200);
        return peerCertificate(b.spec.address, Number(new URL(b.url).port || 443));
      }));
      assert.equal(served[0].fingerprint256, served[1].fingerprint256, "the first and the last BMC present the same certificate");
      for (const b of [sim.bmcs[0], sim.bmcs[63]]) assert.ok((served[0].subjectaltname ?? "").includes(`IP Address:${b.spec.address}`), `${b.spec.address} in ${served[0].subjectaltname}`);
    });

    it("issues a CA-signed certificate for addresses outside the default SANs, on any port", async function () {
      sim = await startSimulator({ tls: pki, bmcs: [{ address: "127.77.1.2", port: 8443 }] });
      const b = sim.bmc("127.77.1.2");
      assert.equal(b.url, "https://127.77.1.2:8443");
      assert.equal((await call(b, "GET", "/redfish/v1/")).status, 200);
    });

    it("refuses non-loopback and duplicate addresses", async function () {
      await assert.rejects(startSimulator({ tls: pki, bmcs: [{ address: "10.0.0.1" }] }), /127\.0\.0\.0\/8/);
      await assert.rejects(startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.60" }, { address: "127.0.3.60" }] }), /two BMCs/);
      await assert.rejects(startSimulator({ tls: pki, bmcs: [{ address: "127.0.3.60", uuids: [] }] }), /uuids is empty/);
    });
  });
});
