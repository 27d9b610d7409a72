/**
 * The booted Debian host (lab/bootedHost.ts through test/support/debianHost.ts): systemd really
 * runs as PID 1, services enabled by a formula start, ssh answers inside the host's own network,
 * and stopping it leaves no process, mount or cgroup behind.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BootedHost, bootHost, mountsUnder, processesIn } from "../../lab/bootedHost";
import { withHost } from "../formulas/hostSuite";
import { ensureRootfs, unavailable } from "../support/debianHost";
import { requirePrerequisite } from "../support/prerequisite";

describe("a Debian host booted with systemd", function () {
  this.timeout(20 * 60_000);
  const { host } = withHost({ boot: "systemd" });

  it("runs systemd as PID 1, in a network of its own", () => {
    const h = host();
    assert.equal(h.exec(["cat", "/proc/1/comm"]).trim(), "systemd");
    assert.match(h.exec(["systemctl", "is-system-running"]).trim(), /^(running|degraded)$/);
    const links = h.exec(["ip", "-o", "link"]).split("\n").filter(Boolean).map((l) => l.split(": ")[1]);
    assert.deepEqual(links, ["lo"], "no interface of the machine is visible");
  });

  it("a formula over SSH sees a booted host, and a unit it enables really starts", async () => {
    const h = host();
    const r = await h.script("probe", '#!/usr/bin/env bash\nset -eu\n[ -d /run/systemd/system ] && echo booted\nsystemctl enable --now systemd-networkd.service >/dev/null 2>&1\nsystemctl is-active systemd-networkd.service\n', {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "booted\nactive");
  });

  it("stop leaves no process, mount or cgroup behind", async () => {
    const h = host();
    const work = h.root.replace(/\/host\/root$/, "");
    assert.ok(h.cgroup && fs.existsSync(h.cgroup), `the host's cgroup ${h.cgroup} exists while it runs`);
    await h.stop();
    assert.deepEqual(processesIn(work), []);
    assert.deepEqual(mountsUnder(work), []);
    assert.equal(fs.existsSync(work), false);
    // Its own cgroup, not a count of them: other test files run hosts at the same time.
    assert.equal(fs.existsSync(h.cgroup), false);
  });
});

describe("two labs whose pillars name a host alike", function () {
  this.timeout(10 * 60_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-twolabs-"));
  const hosts: BootedHost[] = [];
  before(function () {
    requirePrerequisite(this, unavailable(), "a booted Debian host");
  });
  after(async () => {
    for (const h of hosts) await h.stop({ wipe: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  // The cloud lab and the bench's cloud boot the same pillar, so the same host names: by name
  // alone their hosts shared a cgroup, and one lab's stop removed cgroups the other's systemd ran in.
  it("boot hosts with cgroups of their own; stopping one leaves the other's cgroup and its services", async () => {
    const lower = ensureRootfs();
    for (const lab of ["lab-a", "lab-b"]) hosts.push(await bootHost({ name: "srv-same", lowerdir: lower, dir: path.join(work, lab, "hosts", "srv-same") }));
    const [a, b] = hosts;
    assert.notEqual(a.cgroup, b.cgroup);
    await a.waitBooted(120_000);
    await b.waitBooted(120_000);
    a.exec(["systemd-run", "--unit=kinetic-probe", "sleep", "600"]);
    await b.stop({ wipe: true });
    assert.equal(fs.existsSync(b.cgroup), false, "the stopped host's cgroup is removed");
    assert.ok(fs.existsSync(path.join(a.cgroup, "system.slice", "kinetic-probe.service")), "the other host's unit cgroup is still there");
    assert.equal(a.tryExec(["systemctl", "is-active", "kinetic-probe"]).stdout.trim(), "active");
  });
});
