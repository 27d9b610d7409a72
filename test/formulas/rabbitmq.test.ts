import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, EVIL, runOk, withHost } from "./hostSuite";

const NAMES = ["rabbitmq-0d4f7a2e-1c3b-4e5d-8f6a-7b8c9d0e1f01", "rabbitmq-1e5a8b3f-2d4c-4f6e-9a7b-8c9d0e1f2a02"];
const ADDRS = ["127.0.10.61", "127.0.10.62"];
const COOKIE = `Cookie0123456789abcdefXYZ ${EVIL}`;
const values = (i: number, over: FormulaValues = {}): FormulaValues => ({
  NAME: NAMES[i],
  ADDRESS: ADDRS[i],
  INDEX: String(i),
  NAMES_RABBITMQ: NAMES.join(" "),
  ADDRESSES_RABBITMQ: ADDRS.join(" "),
  SECRET_RABBITMQ: `pw-${EVIL}`,
  SECRET_RABBITMQ_COOKIE: COOKIE,
  ...over,
});

describe("formulas/rabbitmq on a Debian host", function () {
  this.timeout(10 * 60_000);
  const { host } = withHost();

  it("install: rabbitmq-server, enabled", async () => {
    const h = host();
    await runOk(h, "rabbitmq/install", { NAME: NAMES[1] });
    assertInstalled(h, ["rabbitmq-server"]);
    assertEnabled(h, ["rabbitmq-server.service"]);
    await assertIdempotent(h, "rabbitmq/install", { NAME: NAMES[1] });
  });

  it("configure: shared cookie, every node resolvable, classic peer discovery, joins endpoint 0", async () => {
    const h = host();
    h.exec(["sh", "-c", "printf '127.0.0.1\\tlocalhost\\n' > /etc/hosts"]);
    const r = await runOk(h, "rabbitmq/configure", values(1));
    // The cookie is the secret's letters and digits: the same on every node, never shell-interpreted.
    assert.equal(h.read("/var/lib/rabbitmq/.erlang.cookie"), COOKIE.replace(/[^A-Za-z0-9]/g, ""));
    assert.equal(h.exec(["stat", "-c", "%a %U:%G", "/var/lib/rabbitmq/.erlang.cookie"]).trim(), "400 rabbitmq:rabbitmq");
    assert.match(h.read("/etc/hosts"), new RegExp(`# BEGIN kinetic rabbitmq\\n127\\.0\\.10\\.61 ${NAMES[0]}\\n127\\.0\\.10\\.62 ${NAMES[1]}\\n# END kinetic rabbitmq`));
    assert.match(h.read("/etc/hosts"), /^127\.0\.0\.1\tlocalhost$/m);
    const conf = h.read("/etc/rabbitmq/rabbitmq.conf");
    assert.match(conf, /^cluster_formation\.peer_discovery_backend = classic_config$/m);
    assert.match(conf, new RegExp(`^cluster_formation\\.classic_config\\.nodes\\.1 = rabbit@${NAMES[0]}$`, "m"));
    assert.match(conf, new RegExp(`^cluster_formation\\.classic_config\\.nodes\\.2 = rabbit@${NAMES[1]}$`, "m"));
    assert.match(conf, /^listeners\.tcp\.default = 127\.0\.10\.62:5672$/m);
    assert.match(h.read("/etc/rabbitmq/rabbitmq-env.conf"), new RegExp(`^NODENAME=rabbit@${NAMES[1]}$`, "m"));
    assert.match(r.stdout, new RegExp(`rabbitmq: INDEX 1 joins rabbit@${NAMES[0]}`));
    assert.match(r.stdout, /skipped: cluster join and users/);
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "rabbitmq/configure", values(1));
  });

  it("shares /etc/hosts with common/base: each keeps the other's block, neither changes on a rerun", async () => {
    const h = host();
    const base = {
      NAME: NAMES[1], ADDRESS: ADDRS[1], DOMAIN: "", TIMEZONE: "UTC", NTP_SERVERS: "", NTP_FALLBACK: "",
      AUTHORIZED_KEYS: "", SYSLOG_TARGET: "",
    };
    await runOk(h, "common/base", base);
    const hosts = h.read("/etc/hosts");
    assert.match(hosts, /# BEGIN kinetic rabbitmq\n[\s\S]*# END kinetic rabbitmq/);
    assert.match(hosts, new RegExp(`# BEGIN kinetic base\\n127\\.0\\.10\\.62 ${NAMES[1]}\\n# END kinetic base`));
    await assertIdempotent(h, "rabbitmq/configure", values(1));
    await assertIdempotent(h, "common/base", base);
  });

  it("refuses mismatched or malformed endpoint lists and a weak cookie", async () => {
    const h = host();
    await assertRejects(h, "rabbitmq/configure", values(1, { NAMES_RABBITMQ: `${NAMES[0]} ${EVIL}` }), "check values", /NAMES_RABBITMQ/);
    await assertRejects(h, "rabbitmq/configure", values(1, { ADDRESSES_RABBITMQ: ADDRS[0] }), "check values", /differ in length/);
    await assertRejects(h, "rabbitmq/configure", values(1, { SECRET_RABBITMQ_COOKIE: "$(touch /tmp/pwned)" }), "check values", /fewer than 20 letters/);
  });
});

describe("formulas/rabbitmq on a booted Debian host (RabbitMQ really runs)", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost({ boot: "systemd" });
  /** A secret shaped like the program's (base64url): rabbitmqctl add_user reads one line of stdin. */
  const PASSWORD = "q3Jd-9vX_0aZbKc7Lm2Np4Rs6Tu8Vw1y";
  const single = (): FormulaValues => values(0, { NAMES_RABBITMQ: NAMES[0], ADDRESSES_RABBITMQ: ADDRS[0], SECRET_RABBITMQ: PASSWORD });
  const users = (h: ReturnType<typeof host>) => h.exec(["rabbitmqctl", "-q", "list_users"]).split("\n").map((l) => l.split(/\s+/)[0]).filter(Boolean);

  it("configure on INDEX 0: the openstack user exists and the package's guest does not; loopback_users keeps its default", async () => {
    const h = host();
    await runOk(h, "rabbitmq/install", { NAME: NAMES[0] });
    const r = await runOk(h, "rabbitmq/configure", single());
    assert.doesNotMatch(h.read("/etc/rabbitmq/rabbitmq.conf"), /loopback_users/);
    const listed = users(h);
    assert.ok(listed.includes("openstack"), `list_users: ${listed.join(", ")}`);
    assert.ok(!listed.includes("guest"), `list_users still has guest: ${listed.join(", ")}\n${r.stdout}`);
    assert.match(r.stdout, /changed: rabbitmq user guest deleted/);
    assert.notEqual(h.tryExec(["rabbitmqctl", "-q", "authenticate_user", "guest", "guest"]).code, 0, "guest/guest is refused");
    assert.equal(h.tryExec(["rabbitmqctl", "-q", "authenticate_user", "openstack", PASSWORD]).code, 0, "openstack's password works");
  });

  it("changes nothing on a second run", async () => {
    await assertIdempotent(host(), "rabbitmq/configure", single());
    assert.ok(!users(host()).includes("guest"));
  });

  it("a new SECRET_RABBITMQ (kinetic rotate --class service): openstack's password changes, read from stdin; nothing else does", async () => {
    const h = host();
    // What must survive: a vhost, a queue in it, another user, openstack's permissions there.
    h.exec(["rabbitmqctl", "-q", "add_vhost", "survivor"]);
    h.exec(["rabbitmqctl", "-q", "set_permissions", "-p", "survivor", "openstack", ".*", ".*", ".*"]);
    h.exec(["sh", "-c", "printf '%s' probe-password-0123 | rabbitmqctl -q add_user probe"]);
    h.exec(["sh", "-c", "rabbitmqctl -q eval 'rabbit_amqqueue:declare(rabbit_misc:r(<<\"survivor\">>, queue, <<\"kept\">>), true, false, [], none, <<\"test\">>).' > /dev/null"]);
    const queues = () => h.exec(["rabbitmqctl", "-q", "list_queues", "-p", "survivor", "name"]).split("\n").map((l) => l.trim()).filter(Boolean);
    assert.ok(queues().includes("kept"), queues().join(", "));
    const NEW = "Wp8s0Yh2Kc4Lq6Mz8Nx0Rv2Tb4Jd6Fg_";
    const r = await runOk(h, "rabbitmq/configure", { ...single(), SECRET_RABBITMQ: NEW });
    assert.deepEqual(changes(r), ["rabbitmq password of user openstack"]);
    assert.doesNotMatch(r.stdout + r.stderr, /Wp8s0Yh2|q3Jd-9vX/, "the secrets are never printed");
    assert.notEqual(h.tryExec(["rabbitmqctl", "-q", "authenticate_user", "openstack", PASSWORD]).code, 0, "the old password is refused");
    assert.equal(h.tryExec(["rabbitmqctl", "-q", "authenticate_user", "openstack", NEW]).code, 0, "the new password works");
    assert.ok(queues().includes("kept"), "the queue survived");
    assert.ok(users(h).includes("probe"), users(h).join(", "));
    assert.equal(h.tryExec(["rabbitmqctl", "-q", "authenticate_user", "probe", "probe-password-0123"]).code, 0, "another user's password is untouched");
    assert.match(h.exec(["rabbitmqctl", "-q", "list_user_permissions", "openstack"]), /^survivor\s/m, "openstack's permissions survived");
    await assertIdempotent(h, "rabbitmq/configure", { ...single(), SECRET_RABBITMQ: NEW });
  });

  it("health: a node of a pillar of one passes; with a second name in the pillar it fails naming the node not running", async () => {
    const h = host();
    const r = await runOk(h, "rabbitmq/health", { NAME: NAMES[0], NAMES_RABBITMQ: NAMES[0] });
    assert.match(r.stdout, new RegExp(`rabbitmq: rabbit@${NAMES[0]} running, 1 of 1 nodes in its cluster, no partition`));
    const bad = await h.formula("rabbitmq/health", { NAME: NAMES[0], NAMES_RABBITMQ: NAMES.join(" ") });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, new RegExp(`not running in rabbit@${NAMES[0]}'s cluster: rabbit@${NAMES[1]} \\(running: "rabbit@${NAMES[0]}"\\)`));
  });

  it("leave: the node resets and stops; configure then makes it whole again, its user back, as a rebuilt node would be", async () => {
    const h = host();
    const r = await runOk(h, "rabbitmq/leave", { NAME: NAMES[0] });
    assert.match(r.stdout, new RegExp(`rabbitmq: rabbit@${NAMES[0]} left the cluster`));
    assert.notEqual(h.tryExec(["systemctl", "is-active", "--quiet", "rabbitmq-server.service"]).code, 0, "stopped");
    const again = await runOk(h, "rabbitmq/leave", { NAME: NAMES[0] });
    assert.match(again.stdout, /was not running: nothing to leave/);
    const c = await runOk(h, "rabbitmq/configure", single());
    assert.match(c.stdout, new RegExp(`rabbit@${NAMES[0]} founds the cluster`));
    assert.ok(users(h).includes("openstack") && !users(h).includes("guest"), users(h).join(", "));
    await runOk(h, "rabbitmq/health", { NAME: NAMES[0], NAMES_RABBITMQ: NAMES[0] });
  });
});
