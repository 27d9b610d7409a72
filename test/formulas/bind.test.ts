import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FormulaValues } from "../../formulas/envelope";
import { waitFor } from "./daemons";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, withHost } from "./hostSuite";

const BIND = ["bind-2f6a1c3e-4d5b-4e7f-8a9b-0c1d2e3f4a01", "bind-3a7b2d4f-5e6c-4f80-9bac-1d2e3f4a5b02"];
const BIND_ADDR = ["127.0.30.1", "127.0.30.2"];
const DOMAIN = "cloud.example.test";
const RNDC = `rndc-${EVIL}`;
const values = (over: FormulaValues = {}): FormulaValues => ({
  ADDRESS: BIND_ADDR[0],
  INDEX: "0",
  DOMAIN,
  NAMESERVERS: `${BIND_ADDR[0]} 127.0.99.53`,
  SUBNET_MANAGEMENT: "127.0.0.0/8",
  NAMES_BIND: BIND.join(" "),
  ADDRESSES_BIND: BIND_ADDR.join(" "),
  NAMES_CEPHMON: "cephmon-5b0e2c1d-7a4f-4e8b-9c3d-1f2a3b4c5d01",
  ADDRESSES_CEPHMON: "127.0.20.11",
  SECRET_BIND_RNDC: RNDC,
  ...over,
});
/** The designate interface (formulas/README.md): base64 of sha256(SECRET_BIND_RNDC). */
const RNDC_KEY = createHash("sha256").update(RNDC).digest("base64");

describe("formulas/bind on a booted Debian host (named really runs)", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  const dig = (name: string, type = "A") => host().exec(["dig", "+short", "+time=2", "+tries=2", `@${BIND_ADDR[0]}`, name, type]).trim();

  it("install: bind9, its utilities and dig; named enabled; a second run changes nothing", async () => {
    const h = host();
    await runOk(h, "bind/install", { NAME: BIND[0] });
    assertInstalled(h, ["bind9", "bind9-utils", "bind9-dnsutils"]);
    assertEnabled(h, ["named.service"]);
    await assertIdempotent(h, "bind/install", { NAME: BIND[0] });
  });

  it("configure: named answers for every endpoint of the cloud in the domain's zone, on the bind address", async () => {
    const h = host();
    // named listens on interface addresses only: give the host's own loopback the bind address, as a server's NIC has it.
    h.exec(["ip", "addr", "add", `${BIND_ADDR[0]}/32`, "dev", "lo"]);
    const r = await runOk(h, "bind/configure", values());
    assert.ok(changes(r).includes(`/var/lib/bind/kinetic/db.${DOMAIN}`), describeRun(r));
    assert.match(r.stdout, /restarted: named\.service/);
    await waitFor("named to answer", () => dig(`${BIND[1]}.${DOMAIN}`) === BIND_ADDR[1], 60_000, () => h.tryExec(["journalctl", "-u", "named", "--no-pager", "-n", "40"]).stdout);
    assert.equal(dig(`cephmon-5b0e2c1d-7a4f-4e8b-9c3d-1f2a3b4c5d01.${DOMAIN}`), "127.0.20.11");
    assert.equal(dig(`ns2.${DOMAIN}`), BIND_ADDR[1]);
    assert.deepEqual(dig(DOMAIN, "NS").split("\n").sort(), [`ns1.${DOMAIN}.`, `ns2.${DOMAIN}.`]);
    const options = h.read("/etc/bind/named.conf.options");
    assert.match(options, /forwarders \{ 127\.0\.99\.53; \};/, "a bind endpoint is never its own forwarder");
    assert.match(options, /allow-new-zones yes;/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(RNDC_KEY.replace(/[+/]/g, "\\$&")), "the rndc key is never printed");
  });

  it("changes nothing on a second run; a changed record set bumps the serial and named serves it", async () => {
    const h = host();
    const serial = () => dig(DOMAIN, "SOA").split(" ")[2];
    const before = serial();
    await assertIdempotent(h, "bind/configure", values());
    assert.equal(serial(), before);
    const more = values({ NAMES_ETCD: "etcd-4b8c3e5a-6f7d-4a91-acbd-2e3f4a5b6c01", ADDRESSES_ETCD: "127.0.40.1" });
    const r = await runOk(h, "bind/configure", more);
    assert.ok(changes(r).includes(`/var/lib/bind/kinetic/db.${DOMAIN}`), describeRun(r));
    await waitFor("the new record", () => dig(`etcd-4b8c3e5a-6f7d-4a91-acbd-2e3f4a5b6c01.${DOMAIN}`) === "127.0.40.1", 60_000);
    assert.ok(Number(serial()) > Number(before), `serial ${serial()} after ${before}`);
    await assertIdempotent(h, "bind/configure", more);
  });

  it("designate's interface: rndc with the derived key on the bind address adds and deletes a zone", async () => {
    const h = host();
    assert.match(h.read("/etc/bind/designate.key"), new RegExp(`algorithm hmac-sha256;\\n\\tsecret "${RNDC_KEY.replace(/[+/]/g, "\\$&")}";`));
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", "/etc/bind/designate.key"]).trim(), "640 root:bind");
    const rndc = (...args: string[]) => h.exec(["rndc", "-k", "/etc/bind/designate.key", "-s", BIND_ADDR[0], "-p", "953", ...args]);
    assert.match(rndc("status"), /server is up and running/);
    rndc("addzone", "designate-made.example", "{ type secondary; primaries { 127.0.99.54; }; };");
    assert.match(rndc("showzone", "designate-made.example"), /zone "designate-made\.example"/);
    rndc("delzone", "designate-made.example");
    // A key other than the derived one is refused.
    const bad = h.tryExec(["rndc", "-y", "designate", "-s", BIND_ADDR[0], "-p", "953", "-c", "/dev/null", "status"]);
    assert.notEqual(bad.code, 0);
  });

  it("refuses hostile names, addresses and domains without executing them", async () => {
    const h = host();
    await assertRejects(h, "bind/configure", values({ DOMAIN: EVIL }), "check values", /KINETIC_DOMAIN is not a valid hostname/);
    await assertRejects(h, "bind/configure", values({ NAMES_CEPHMON: EVIL, ADDRESSES_CEPHMON: EVIL }), "check values", /KINETIC_(NAMES|ADDRESSES)_CEPHMON|differ in length/);
    await assertRejects(h, "bind/configure", values({ NAMESERVERS: EVIL }), "check values", /KINETIC_NAMESERVERS is not a valid ipv4/);
  });
});
