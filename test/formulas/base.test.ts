import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, evil, runOk, withHost } from "./hostSuite";

const KEYS = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKineticTestKeyOne operator@site\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKineticTestKeyTwo ${EVIL}`;

const values = (over: FormulaValues = {}): FormulaValues => ({
  NAME: "cache-6f1c9a52-7a43-4be0-9a8e-0f4c8a2b1d33",
  ADDRESS: "127.0.10.21",
  DOMAIN: "",
  TIMEZONE: "America/New_York",
  NTP_SERVERS: "ntp1.example.test 192.0.2.123 2001:db8::123",
  NTP_FALLBACK: "fallback.example.test",
  AUTHORIZED_KEYS: KEYS,
  SYSLOG_TARGET: "udp://127.0.0.1:514",
  ...over,
});

describe("formulas/common/base on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();

  it("configures time, NTP, sysctl, keys, hosts, rsyslog forwarding and limits", async () => {
    const h = host();
    // debootstrap leaves no /etc/hosts; give it the installer's usual one.
    fs.writeFileSync(h.path("/etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tinstaller\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    const r = await runOk(h, "common/base", values());
    assert.ok(changes(r).includes("/etc/systemd/timesyncd.conf.d/kinetic.conf"), r.stdout);
    assertInstalled(h, ["systemd-timesyncd", "rsyslog"]);
    assertEnabled(h, ["systemd-timesyncd.service", "rsyslog.service"]);
    assert.equal(h.exec(["readlink", "/etc/localtime"]).trim(), "/usr/share/zoneinfo/America/New_York");
    assert.equal(h.read("/etc/timezone"), "America/New_York\n");
    const words = (s: string) => s.split(/\s+/).filter(Boolean).join(" ");
    assert.equal(
      h.read("/etc/systemd/timesyncd.conf.d/kinetic.conf"),
      `# kinetic: managed by formulas/common/base\n[Time]\nNTP=${words(values().NTP_SERVERS)}\nFallbackNTP=${words(values().NTP_FALLBACK)}\n`,
    );
    assert.match(h.read("/etc/sysctl.d/60-kinetic.conf"), /^net\.core\.somaxconn = 8192$/m);
    assert.equal(h.read("/root/.ssh/authorized_keys"), `${KEYS}\n`);
    assert.equal(h.exec(["stat", "-c", "%a", "/root/.ssh/authorized_keys"]).trim(), "600");
    assert.match(h.read("/etc/hosts"), /^# BEGIN kinetic base\n127\.0\.10\.21 cache-6f1c9a52-7a43-4be0-9a8e-0f4c8a2b1d33\n# END kinetic base$/m);
    assert.match(h.read("/etc/hosts"), /^127\.0\.0\.1\s+localhost/m, "existing entries are kept");
    assert.equal(h.read("/etc/hostname"), "cache-6f1c9a52-7a43-4be0-9a8e-0f4c8a2b1d33\n");
    assert.match(h.read("/etc/rsyslog.d/60-kinetic-forward.conf"), /action\(type="omfwd" target="127\.0\.0\.1" port="514" protocol="udp"/);
    assert.match(h.read("/etc/security/limits.d/60-kinetic.conf"), /^\*\s+soft nofile 1048576$/m);
    assert.match(h.read("/etc/systemd/system.conf.d/60-kinetic.conf"), /^DefaultLimitNOFILE=1048576$/m);
    assert.match(r.stdout, /kinetic: common\/base: \d+ change\(s\)/);
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "common/base", values());
  });

  it("follows pillar edits: domain, keys exactly as given, no syslog target removes forwarding", async () => {
    const h = host();
    const edited = values({ DOMAIN: "site.example.test", AUTHORIZED_KEYS: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnlyKey only@site", SYSLOG_TARGET: "" });
    const r = await runOk(h, "common/base", edited);
    assert.ok(changes(r).includes("removed /etc/rsyslog.d/60-kinetic-forward.conf"), r.stdout);
    assert.equal(h.exists("/etc/rsyslog.d/60-kinetic-forward.conf"), false);
    assert.equal(h.read("/root/.ssh/authorized_keys"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnlyKey only@site\n");
    assert.match(h.read("/etc/hosts"), /^127\.0\.10\.21 cache-6f1c9a52-7a43-4be0-9a8e-0f4c8a2b1d33\.site\.example\.test cache-6f1c9a52-7a43-4be0-9a8e-0f4c8a2b1d33$/m);
    assert.equal((h.read("/etc/hosts").match(/# BEGIN kinetic base/g) ?? []).length, 1);
    await assertIdempotent(h, "common/base", edited);
  });

  it("refuses values that must be names or targets, naming the step, without executing them", async () => {
    const h = host();
    await assertRejects(h, "common/base", values({ DOMAIN: EVIL }), "check values", /KINETIC_DOMAIN is not a valid hostname/);
    await assertRejects(h, "common/base", values({ TIMEZONE: EVIL }), "check values", /KINETIC_TIMEZONE is not a time zone name/);
    await assertRejects(h, "common/base", values({ NTP_SERVERS: evil("ntp1.example.test") }), "check values", /KINETIC_NTP_SERVERS is not host names or addresses/);
    await assertRejects(h, "common/base", values({ NTP_FALLBACK: evil("fallback.example.test") }), "check values", /KINETIC_NTP_FALLBACK is not host names or addresses/);
    await assertRejects(h, "common/base", values({ SYSLOG_TARGET: `udp://${EVIL}:514` }), "rsyslog forwarding", /KINETIC_SYSLOG_TARGET is not udp:\/\/host:port/);
    await assertRejects(h, "common/base", values({ TIMEZONE: "Mars/Olympus_Mons" }), "timezone", /unknown time zone/);
  });
});
