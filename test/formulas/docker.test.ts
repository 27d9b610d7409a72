import * as assert from "node:assert/strict";
import { FormulaValues } from "../../formulas/envelope";
import { assertEnabled, assertIdempotent, assertInstalled, assertRejects, changes, describeRun, EVIL, runOk, withHost } from "./hostSuite";

/**
 * The roles that run on Docker: container (the engine itself), guacamole and opensearch (upstream
 * images under Docker Compose, as the original runs them). The images come from Docker Hub, which
 * the tests cannot reach: the compose projects are rendered, checked by `docker-compose config`
 * (inside the formula) and read back here; `docker-compose up` is only reached on a booted host.
 */
const SECRET = "Gq3Jd-9vX_0aZbKc7Lm2Np4Rs6Tu8Vw1";
const guac = (over: FormulaValues = {}): FormulaValues => ({
  ADDRESS: "127.0.50.1", ADDRESSES_HAPROXY: "127.0.99.1", ADDRESSES_MYSQL: "127.0.10.41", SECRET_GUACAMOLE_DB: SECRET, ...over,
});
const OS_NAMES = ["opensearch-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01", "opensearch-2b3c4d5e-6f7a-4b8c-9dae-1f2a3b4c5d02"];
const search = (over: FormulaValues = {}): FormulaValues => ({
  NAME: OS_NAMES[1], ADDRESS: "127.0.60.2", NAMES_OPENSEARCH: OS_NAMES.join(" "), ADDRESSES_OPENSEARCH: "127.0.60.1 127.0.60.2",
  SECRET_OPENSEARCH_ADMIN: SECRET, ...over,
});

describe("formulas/container, guacamole and opensearch on a Debian host (rendered and checked; images not pulled)", function () {
  this.timeout(15 * 60_000);
  const { host } = withHost();
  /** The project as docker-compose itself resolves it (YAML parsed, env file applied). */
  const resolved = (dir: string) => host().exec(["docker-compose", "--project-directory", dir, "-f", `${dir}/docker-compose.yml`, "config"]);

  it("install: docker.io (container) and docker-compose (guacamole, opensearch); engine enabled; idempotent", async () => {
    const h = host();
    for (const role of ["container", "guacamole", "opensearch"]) {
      await runOk(h, `${role}/install`, { NAME: `${role}-1` });
      await assertIdempotent(h, `${role}/install`, { NAME: `${role}-1` });
    }
    assertInstalled(h, ["docker.io", "containerd", "docker-compose"]);
    assertEnabled(h, ["docker.service", "containerd.service"]);
  });

  it("container: daemon.json (journald, live-restore, an address pool outside the management subnet); idempotent", async () => {
    const h = host();
    await runOk(h, "container/configure", { ADDRESS: "127.0.70.1", SUBNET_MANAGEMENT: "10.100.0.0/16" });
    assert.deepEqual(JSON.parse(h.read("/etc/docker/daemon.json")), { "log-driver": "journald", "live-restore": true, "default-address-pools": [{ base: "172.17.0.0/16", size: 24 }] });
    await assertIdempotent(h, "container/configure", { ADDRESS: "127.0.70.1", SUBNET_MANAGEMENT: "10.100.0.0/16" });
    await runOk(h, "container/configure", { ADDRESS: "127.0.70.1", SUBNET_MANAGEMENT: "172.16.0.0/12" });
    assert.equal(JSON.parse(h.read("/etc/docker/daemon.json"))["default-address-pools"][0].base, "10.254.0.0/16");
    // dockerd itself reads the file without complaint (it fails on unknown keys or bad JSON before anything else).
    const v = h.tryExec(["timeout", "5", "dockerd", "--config-file", "/etc/docker/daemon.json", "--validate"]);
    assert.ok(v.code === 0 || /unknown flag: --validate/.test(v.stderr), `dockerd rejected daemon.json: ${v.stderr}`);
    await assertRejects(h, "container/configure", { ADDRESS: EVIL, SUBNET_MANAGEMENT: "" }, "check values", /KINETIC_ADDRESS is not a valid ipv4/);
  });

  it("guacamole: guacd and the web application with MySQL through haproxy; the password only in the 0600 env file", async () => {
    const h = host();
    const r = await runOk(h, "guacamole/configure", guac());
    assert.match(r.stdout, /skipped: docker-compose up \(systemd is not running here\)/);
    const project = resolved("/opt/guacamole");
    assert.match(project, /image: docker\.io\/guacamole\/guacd:1\.5\.5/);
    assert.match(project, /image: docker\.io\/guacamole\/guacamole:1\.5\.5/);
    assert.match(project, /MYSQL_HOSTNAME: 127\.0\.99\.1/);
    assert.match(project, new RegExp(`MYSQL_PASSWORD: ${SECRET}`), "the env file reaches the service");
    assert.match(project, /published: 8080|127\.0\.50\.1:8080:8080/);
    assert.ok(!h.read("/opt/guacamole/docker-compose.yml").includes(SECRET));
    assert.equal(h.exec(["stat", "-c", "%a", "/opt/guacamole/guacamole.env"]).trim(), "600");
    assert.ok(!(r.stdout + r.stderr).includes(SECRET), "the password is never printed");
    await assertIdempotent(h, "guacamole/configure", guac());
    const noHaproxy = await runOk(h, "guacamole/configure", guac({ ADDRESSES_HAPROXY: "" }));
    assert.ok(changes(noHaproxy).includes("/opt/guacamole/docker-compose.yml"), describeRun(noHaproxy));
    assert.match(resolved("/opt/guacamole"), /MYSQL_HOSTNAME: 127\.0\.10\.41/);
    await assertRejects(h, "guacamole/configure", guac({ SECRET_GUACAMOLE_DB: `pw-${EVIL}` }), "check values", /KINETIC_SECRET_GUACAMOLE_DB must be URL-safe/);
    await assertRejects(h, "guacamole/configure", guac({ ADDRESSES_MYSQL: EVIL }), "check values", /KINETIC_ADDRESSES_MYSQL is not a valid ipv4/);
  });

  it("opensearch: one node of the cluster on the host network, seeded with every node; max_map_count set", async () => {
    const h = host();
    const r = await runOk(h, "opensearch/configure", search());
    assert.match(r.stdout, /skipped: docker-compose up/);
    const project = resolved("/opt/opensearch");
    assert.match(project, /image: docker\.io\/opensearchproject\/opensearch:2\.15\.0/);
    assert.match(project, /network_mode: host/);
    assert.match(project, new RegExp(`node\\.name: ${OS_NAMES[1]}`));
    assert.match(project, /network\.host: 127\.0\.60\.2/);
    assert.match(project, /discovery\.seed_hosts: 127\.0\.60\.1,127\.0\.60\.2/);
    assert.match(project, new RegExp(`cluster\\.initial_cluster_manager_nodes: ${OS_NAMES.join(",")}`));
    assert.match(project, new RegExp(`OPENSEARCH_INITIAL_ADMIN_PASSWORD: ${SECRET}`));
    assert.match(h.read("/etc/sysctl.d/60-kinetic-opensearch.conf"), /^vm\.max_map_count = 262144$/m);
    assert.equal(h.exec(["stat", "-c", "%u %a", "/var/lib/opensearch"]).trim(), "1000 750");
    await assertIdempotent(h, "opensearch/configure", search());
    await assertRejects(h, "opensearch/configure", search({ NAMES_OPENSEARCH: `${OS_NAMES[0]} ${EVIL}` }), "check values", /KINETIC_NAMES_OPENSEARCH/);
    await assertRejects(h, "opensearch/configure", search({ NAME: "opensearch-other" }), "check values", /is not in KINETIC_NAMES_OPENSEARCH/);
  });
});
