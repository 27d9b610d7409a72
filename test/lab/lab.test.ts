/**
 * The lab end to end, through the real engine: pillar/lab (pxe foundation host, one physical
 * controller behind a simulated BMC, mysql, memcached and keystone as VMs on it) with mysql made a
 * Galera cluster of three behind haproxy (issue 21's rolling rebuild needs one), on a lab of its
 * own (its own directory and network namespace, so an operator's lab is left alone), with the real
 * formulas. Each step reads what really happened: SSH to every endpoint, the controller's libvirt,
 * the BMC's power, and the steps the engine reported.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { rebuildResourceNames } from "../../cli/rebuild";
import { deriveSecretAt, epochOf, SecretEpochs } from "../../components/secretEpochs";
import type { ProbeResult } from "./tokenProbe";
import { makeGaleraPillar, TABLE_DIGEST } from "./galeraPillar";
import { assertOneMemberAtATime, changedResources } from "./rebuildChecks";
import { readStatus } from "../../lab/control";
import { debianRootUnavailable } from "../../lab/debianRoot";
import { requirePrerequisite } from "../support/prerequisite";
import { LAB_LIBVIRT_URI } from "../../lab/supervisor";
import { loadCloud } from "../../pillar";
import type { EngineResult } from "./engineRun";
import { LabHarness, startLabHarness } from "./labHarness";

describe("the lab, end to end through the engine", function () {
  this.timeout(60 * 60_000);
  let lab: LabHarness;
  const layout = () => lab.layout;
  const run: LabHarness["run"] = (op, extra, opts) => lab.run(op, extra, opts);
  const ssh: LabHarness["ssh"] = (address, command, input) => lab.ssh(address, command, input);
  const pillarDir = () => lab.pillarDir;
  const formulasDir = () => lab.formulasDir;
  const ok = (r: EngineResult, what: string) => lab.ok(r, what);
  const cloud = () => loadCloud(pillarDir(), { stack: lab.stack });
  // Every table of every database but the server's own, on one mysql member: name, rows, checksum.
  const digest = (address: string) => ssh(address, TABLE_DIGEST);
  const changed = changedResources;

  before(async function () {
    requirePrerequisite(this, debianRootUnavailable(), "the lab");
    lab = await startLabHarness("e2e", (m) => console.log(`      [lab] ${m}`));
    makeGaleraPillar(pillarDir());
    assert.equal(cloud().endpoints.filter((e) => e.type === "mysql").length, 3);
    assert.ok(cloud().endpoints.some((e) => e.type === "haproxy"));
  });

  after(async function () {
    if (!lab) return;
    const netns = lab.layout.netns;
    await lab.dispose();
    assert.equal(fs.existsSync(`/run/netns/${netns}`), false, "down removes the lab's network namespace");
  });

  it("up: every endpoint answers SSH at its address with its name; each VM runs on its planned controller", async () => {
    ok(await run("up"), "up");
    const status = readStatus(layout())!;
    for (const e of cloud().endpoints) {
      assert.equal(ssh(e.address, "hostname").trim(), e.name, `${e.name} at ${e.address}`);
      if (e.style !== "virtual") continue;
      const host = status.hosts.find((h) => h.name === e.name);
      assert.equal(host?.state, "running", `${e.name} runs in the lab`);
      const controller = cloud().endpoints.find((c) => c.name === e.controller)!;
      assert.match(ssh(controller.address, `virsh -q -c '${LAB_LIBVIRT_URI}' domstate ${e.name}`), /running/, `${e.name} runs on ${controller.name}`);
    }
    // Each physical server installed over the network (lab/pxeBoot.ts): its lease from the pxe host's
    // Kea was its own address, and every link of the chain answered (lab status, as an operator reads it).
    for (const e of cloud().endpoints.filter((x) => x.style === "physical")) {
      const install = status.hosts.find((h) => h.kind === "physical" && h.address === e.address)?.install;
      assert.ok(install, `${e.name}: no network install in the lab's status`);
      assert.deepEqual(install.steps.filter((s) => !s.ok), [], `${e.name}: ${install.summary}`);
      assert.deepEqual(install.steps.map((s) => s.step), ["DHCP lease", "boot script", "server's boot script", "kernel", "initrd", "installer", "installer network", "autoinstall data"]);
      assert.match(install.steps[0].detail, new RegExp(`^${e.address.replace(/\./g, "\\.")} for 52:54:00:`), `${e.name}: the lease is its reserved address`);
      console.log(`      [lab] ${e.name}: network install ${install.seconds} s`);
      // Installed, so the pxe host serves it its install no more (components/pxeInstalled.ts): asked
      // from the server's own address, the only one nginx ever served it to, its boot script boots
      // the disk and its user-data (with its host private key) is gone.
      const pxe = cloud().endpoints.find((p) => p.role === "pxe")!;
      const fetch = (file: string) => ssh(e.address, `python3 -c 'import sys, urllib.request, urllib.error
try: r = urllib.request.urlopen(sys.argv[1]); print(r.status); print(r.read().decode())
except urllib.error.HTTPError as x: print(x.code)' http://${pxe.address}/assignments/${e.uuid}/${file}`);
      assert.equal(fetch("user-data").trim(), "404", `${e.name}: its user-data is still served`);
      assert.match(fetch("boot.ipxe"), /^200\n#!ipxe\n[^]*^exit$/m, `${e.name}: its boot script still installs`);
    }
    // keystone answers, set up by the formulas against the mysql VM.
    const keystone = cloud().endpoints.find((e) => e.role === "keystone")!;
    assert.match(ssh(keystone.address, `python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:5000/v3").read().decode())'`), /"version"/);
  });

  it("a second up changes nothing", async () => {
    const r = await run("up");
    ok(r, "second up");
    assert.deepEqual(changed(r), []);
    assert.deepEqual(Object.keys(r.changes).filter((k) => k !== "same"), []);
  });

  it("editing one formula re-runs exactly that phase on exactly the endpoints of that role", async () => {
    fs.appendFileSync(path.join(formulasDir(), "memcached/configure"), "# edited by the lab test\n");
    const r = await run("up");
    ok(r, "up after the edit");
    const memcached = cloud().endpoints.filter((e) => e.role === "memcached").map((e) => `${e.name}-configure`);
    assert.deepEqual(changed(r), memcached.sort());
  });

  // Issue 22: `kinetic rotate --class service --yes` (cli/rotate.ts) with the real formulas, while
  // the Galera cluster is whole; every later case runs at the new epoch (lab.admin, the formulas).
  // Its first run (2026-12-07) found rotate refusing (65) here: the preview also planned an update
  // of the provider `default` (the new config) and of every VM's provision-domain (DomainState's
  // `starts` unknown); cli/rotate.ts and providers/domainState.ts since.
  it("rotate --class service: the old admin and keystone database passwords are refused and the new ones work; only the phases reading them re-ran, no machine replaced, nothing made before lost", async () => {
    const t0 = Date.now();
    const c = cloud();
    const members = c.endpoints.filter((e) => e.type === "mysql");
    const keystone = c.endpoints.find((e) => e.role === "keystone")!;
    const haproxy = c.endpoints.find((e) => e.type === "haproxy")!;
    const secretAt = (name: string, epochs: SecretEpochs) => deriveSecretAt(lab.serviceSecret, name, epochOf(name, epochs));
    const tokens = (auths: ReturnType<LabHarness["admin"]>[]) => lab.inLab<number[]>(path.join(__dirname, "tokenStatus.ts"), [], { auths });
    // A MariaDB login as keystone makes it (through haproxy), the password in a 0600 file from stdin
    // (--defaults-file: root's .my.cnf is not read): "1", or the server's refusal.
    const dbLogin = (user: string, password: string) =>
      ssh(members[0].address, `f=$(mktemp) && cat > "$f" && { mysql --defaults-file="$f" -h ${haproxy.address} -N -B -e 'SELECT 1' 2>&1; rm -f -- "$f"; }`, `[client]\nuser = ${user}\npassword = "${password}"\n`).trim();
    // What nobody can re-derive: rows and an account of our own, keystone's projects.
    const PROBE_PASSWORD = "rotation-probe-password";
    ssh(members[1].address, "mysql", `CREATE DATABASE rotation_probe; USE rotation_probe; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO t SELECT seq, SHA2(seq, 256) FROM seq_1_to_1000; CREATE USER 'rotation_probe'@'%' IDENTIFIED BY '${PROBE_PASSWORD}'; GRANT SELECT ON rotation_probe.* TO 'rotation_probe'@'%';\n`);
    // Rows and checksums of the probe's table and keystone's projects, on one member.
    const kept = (address: string) => ssh(address, `mysql -N -B -e "SELECT COUNT(*) FROM rotation_probe.t; CHECKSUM TABLE rotation_probe.t; SELECT COUNT(*) FROM keystone.project; CHECKSUM TABLE keystone.project"`).trim();
    // Galera applies a commit on the other members just after it returns: wait until all agree.
    let before = "";
    for (const deadline = Date.now() + 60_000; ; await new Promise((done) => setTimeout(done, 1000))) {
      const seen = members.map((m) => kept(m.address));
      if (/^1000\n/.test(seen[0]) && seen.every((x) => x === seen[0])) {
        before = seen[0];
        break;
      }
      if (Date.now() > deadline) assert.fail(`the rows written on member 1 did not reach every member in 60 s: ${JSON.stringify(seen)}`);
    }
    const machines = c.endpoints.filter((e) => e.style === "virtual");
    for (const m of machines) ssh(m.address, "touch /root/before-rotation");
    const mariadbPid = (address: string) => ssh(address, "systemctl show -p MainPID --value mariadb").trim();
    const pids = members.map((m) => mariadbPid(m.address));

    // The old credentials work before: the checks after the rotation can fail.
    const epochsBefore = lab.epochs();
    const oldAdmin = lab.admin(c);
    const oldDb = secretAt("SECRET_KEYSTONE_DB", epochsBefore);
    assert.deepEqual(await tokens([oldAdmin]), [201], "the admin logs in before the rotation");
    assert.equal(dbLogin("keystone", oldDb), "1", "keystone's database account takes its password before the rotation");

    const r = await run("rotate", { targets: ["service"] });
    const rotateSeconds = Math.round((r.endedAt - r.startedAt) / 1000);
    ok(r, "rotate");
    const epochsAfter = lab.epochs();
    assert.deepEqual(epochsAfter, { ...epochsBefore, service: (epochsBefore.service ?? 0) + 1 }, "the service class went up by one in the stack's config");
    const newAdmin = lab.admin(c);
    const newDb = secretAt("SECRET_KEYSTONE_DB", epochsAfter);
    assert.notEqual(newAdmin.password, oldAdmin.password);
    assert.notEqual(newDb, oldDb);
    // Written out, not asked of rotationPhases: the lab's readers of service secrets are mysql's
    // configure (every member: the accounts on INDEX 0, root's client file on each) and keystone's.
    const phases = [...members.map((m) => `${m.name}-configure`), `${keystone.name}-configure`].sort();
    assert.deepEqual(changed(r), phases, "only the phases that read a service secret re-ran: no machine (provision-*) changed");
    assert.match((r.said ?? []).join("\n"), new RegExp(`^rotated: ${phases.length} of ${phases.length} phases re-ran; nothing else changed$`, "m"), (r.said ?? []).join("\n"));

    assert.deepEqual(await tokens([oldAdmin, newAdmin]), [401, 201], "keystone refuses the old admin password and takes the new one");
    assert.match(dbLogin("keystone", oldDb), /^ERROR 1045 /, "MariaDB refuses keystone's old password");
    assert.equal(dbLogin("keystone", newDb), "1", "MariaDB takes keystone's new password");
    assert.equal(dbLogin("rotation_probe", PROBE_PASSWORD), "1", "an account made before the rotation keeps its password");
    for (const m of members) assert.equal(kept(m.address), before, `the probe's rows and keystone's projects, on ${m.name}`);
    assert.deepEqual(members.map((m) => mariadbPid(m.address)), pids, "no Galera member restarted");
    for (const m of machines) assert.equal(ssh(m.address, "test -e /root/before-rotation && echo kept || echo fresh").trim(), "kept", `${m.name} kept its disk`);

    const again = await run("up");
    ok(again, "up after the rotation");
    assert.deepEqual(changed(again), [], "an up after the rotation changes nothing");
    assert.deepEqual(await tokens([newAdmin]), [201]);
    console.log(`      [lab] rotate --class service: ${rotateSeconds} s (${phases.length} phases); the case ${Math.round((Date.now() - t0) / 1000)} s`);
  });

  it("rebuild mysql: one member at a time, each back in the Galera cluster before the next; no row lost; keystone answers through haproxy meanwhile", async () => {
    const c = cloud();
    const members = c.endpoints.filter((e) => e.type === "mysql");
    const keystone = c.endpoints.find((e) => e.role === "keystone")!;
    // Data nobody can re-derive: rows of our own (written on member 1), and keystone's (the admin, its project, roles).
    ssh(members[1].address, `mysql -e "CREATE DATABASE probe; USE probe; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO t SELECT seq, SHA2(seq, 256) FROM seq_1_to_5000"`);
    const before = digest(members[0].address);
    assert.match(before, /^probe\.t 5000 \d+$/m, "the rows written on member 1 reached member 0");
    assert.match(before, /^keystone\.project [1-9]\d* \d+$/m);
    for (const m of members) ssh(m.address, "touch /root/before-rebuild");
    // Keystone asked for a token every 0.5 s through haproxy, during the whole rebuild.
    const stopFile = path.join(lab.tmp, "probe-stop");
    const probe = lab.inLab<ProbeResult>(path.join(__dirname, "tokenProbe.ts"), [], { auth: lab.admin(c), stopFile, intervalMs: 500 });
    let r: EngineResult;
    try {
      r = await run("rebuild", { targets: ["mysql"] });
    } finally {
      fs.writeFileSync(stopFile, "");
    }
    const probed = await probe;
    const asked = probed.ok + probed.failed;
    console.log(`      [lab] rebuild mysql: ${Math.round((r.endedAt - r.startedAt) / 1000)} s; keystone answered ${probed.ok} of ${asked} token requests, longest gap ${probed.longestGapMs} ms${probed.failures.length ? `; first failures: ${JSON.stringify(probed.failures.slice(0, 5))}` : ""}`);
    ok(r, "rebuild");
    // Expected, written out here rather than asked of the code under test: each member's machine
    // and phases, then keystone's and haproxy's configure (both need mysql's: haproxy checks each
    // member's health endpoint, which mysql's configure makes), and nothing else.
    const haproxy = c.endpoints.find((e) => e.role === "haproxy")!;
    const own = (e: { name: string }) => ["provision-domain", "base", "networking", "install", "configure"].map((p) => `${e.name}-${p}`);
    assert.deepEqual(changed(r), [...members.flatMap(own), `${keystone.name}-configure`, `${haproxy.name}-configure`].sort());
    // One at a time: a member's machine goes only after the previous member's configure (which
    // waits until it is Synced) ended; the rebuild saw the cluster whole before and after each.
    assertOneMemberAtATime(r, members);
    const said = (r.said ?? []).join("\n");
    assert.equal((said.match(/ok {3}mysql-\S+: galera: \S+ Synced, Primary, 3 of 3 members/g) ?? []).length, 3 * (1 + members.length + 1), said);
    for (const m of members) assert.match(said, new RegExp(`^  left ${m.name}: galera: ${m.name} left the cluster \\(mariadb stopped cleanly\\)$`, "m"), "each member left cleanly before its machine went");
    for (const m of members) assert.equal(ssh(m.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", `${m.name} has a new disk`);
    for (const m of members) assert.equal(digest(m.address), before, `every row, on ${m.name}`);
    assert.ok(asked > 100, `the probe ran through the rebuild (${asked} requests)`);
    assert.ok(probed.ok / asked >= 0.99, `keystone answered ${probed.ok} of ${asked}: ${JSON.stringify(probed.failures)}`);
  });

  it("kinetic backup, a loss, kinetic restore latest: every table back as it was; an altered backup is refused before anything changes", async () => {
    const members = cloud().endpoints.filter((e) => e.type === "mysql");
    const before = digest(members[0].address);
    const taken = await run("backup");
    ok(taken, "backup");
    const dir = path.join(lab.tmp, "backups", lab.stack);
    const [id] = fs.readdirSync(dir);
    const part = path.join(dir, id, "mysql.enc");
    assert.equal((fs.statSync(part).mode & 0o777).toString(8), "600");
    assert.equal((fs.statSync(path.join(dir, id)).mode & 0o777).toString(8), "700");
    const sealed = fs.readFileSync(part);
    assert.ok(sealed.length > 100_000, `the dump holds the probe's 5000 rows and keystone's (${sealed.length} bytes)`);
    assert.ok(!sealed.includes("INSERT INTO") && !sealed.includes("CREATE TABLE"), "nothing of the dump is readable on disk");
    // The loss: a database dropped, a keystone table changed, on another member than the restore's.
    ssh(members[2].address, `mysql -e "DROP DATABASE probe; UPDATE keystone.project SET description = 'lost'"`);
    const lost = digest(members[0].address);
    assert.notEqual(lost, before);
    // One byte altered: the restore refuses before a byte reaches the database.
    const altered = Buffer.from(sealed);
    altered[altered.length >> 1] ^= 0x01;
    fs.writeFileSync(part, altered);
    const refused = await run("restore", { targets: ["latest"] });
    assert.match(refused.error ?? "", /does not decrypt with this stack's kinetic:backupSecret/, refused.error);
    assert.equal(digest(members[0].address), lost, "nothing was restored from the altered backup");
    fs.writeFileSync(part, sealed);
    const restored = await run("restore", { targets: ["latest"] });
    ok(restored, "restore");
    console.log(`      [lab] ${(taken.said ?? []).concat(restored.said ?? []).filter((l) => /^(backup|restore) mysql/.test(l)).join("; ")}`);
    for (const m of members) assert.equal(digest(m.address), before, `every table as before the loss, on ${m.name}`);
  });

  it("kinetic rebuild mysql --restore-from latest: every member at once on a new disk, then the backup: every table as it was taken", async () => {
    const members = cloud().endpoints.filter((e) => e.type === "mysql");
    const keystone = cloud().endpoints.find((e) => e.role === "keystone")!;
    // The previous case left the cluster exactly as its backup (the latest) holds it.
    const backedUp = digest(members[0].address);
    // What the backup does not hold: gone with the old disks, not brought back.
    ssh(members[1].address, `mysql -e "CREATE DATABASE after_backup"`);
    for (const m of members) ssh(m.address, "touch /root/before-rebuild");
    // A backup that is not there stops the rebuild before anything changes.
    const refused = await run("rebuild", { targets: ["mysql"], restoreFrom: "20990101T000000Z" });
    assert.match(refused.error ?? "", /rebuild ended with 64: rebuild: refused: backup 20990101T000000Z: .*\nnothing was changed/, refused.error);
    assert.deepEqual(changed(refused), []);
    const r = await run("rebuild", { targets: ["mysql"], restoreFrom: "latest" });
    ok(r, "rebuild --restore-from latest");
    const haproxy = cloud().endpoints.find((e) => e.role === "haproxy")!;
    const own = (e: { name: string }) => ["provision-domain", "base", "networking", "install", "configure"].map((p) => `${e.name}-${p}`);
    assert.deepEqual(changed(r), [...members.flatMap(own), `${keystone.name}-configure`, `${haproxy.name}-configure`].sort());
    // Together: every member's machine went before any member's new configure ended (a rolling
    // rebuild would copy the data being replaced onto each new member). The old configures' deletes
    // end first of all (a machine replaced delete-first takes what runs on it along): not counted.
    const configured = r.steps.filter((s) => members.some((m) => s.name === `${m.name}-configure`) && s.end !== undefined && ["create", "create-replacement"].includes(s.op));
    assert.equal(configured.length, members.length, "each member's configure ran once");
    const firstConfigured = Math.min(...configured.map((s) => s.end!));
    for (const m of members) {
      const down = Math.min(...r.steps.filter((s) => s.name === `${m.name}-provision-domain`).map((s) => s.start));
      assert.ok(down < firstConfigured, `${m.name} was replaced in the same up as the others`);
    }
    const said = (r.said ?? []).join("\n");
    assert.match(said, /^restore mysql: \d+ bytes of backup \S+ into mysql-\S+ in [\d.]+ s$/m, said);
    assert.doesNotMatch(said, /^ {2}left /m, "nobody leaves a cluster that goes whole");
    console.log(`      [lab] rebuild mysql --restore-from latest: ${Math.round((r.endedAt - r.startedAt) / 1000)} s; ${said.split("\n").filter((l) => /^restore mysql/.test(l)).join("")}`);
    for (const m of members) {
      assert.equal(ssh(m.address, "test -e /root/before-rebuild && echo kept || echo fresh").trim(), "fresh", `${m.name} has a new disk`);
      assert.equal(digest(m.address), backedUp, `every table as the backup holds it, on ${m.name}`);
      assert.equal(ssh(m.address, `mysql -N -B -e "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'after_backup'"`).trim(), "0", `${m.name}: what the backup does not hold is gone`);
    }
  });

  it("raising memcached's count by one creates only the new endpoint's resources", async () => {
    const before = new Set(cloud().endpoints.map((e) => e.name));
    const hosts = path.join(pillarDir(), "hosts.yaml");
    fs.writeFileSync(hosts, fs.readFileSync(hosts, "utf8").replace(/(  memcached:\n    style: virtual\n    count: )1/, "$12"));
    const added = cloud().endpoints.filter((e) => !before.has(e.name));
    assert.equal(added.length, 1);
    const r = await run("up");
    ok(r, "up with one more memcached");
    const created = r.steps.filter((s) => s.op === "create").map((s) => s.name);
    assert.ok(created.length > 0);
    for (const n of created) assert.ok(n.startsWith(added[0].name), `only ${added[0].name}'s resources are created, not ${n}`);
    const others = changed(r).filter((n) => !n.startsWith(added[0].name));
    // The only other changes allowed: configure phases re-run because a value they declare (the
    // list of memcached addresses, ADDRESSES_*) changed; no other machine is touched.
    for (const n of others) assert.match(n, /-configure$/, `unexpected change ${n}`);
    assert.ok(!r.steps.some((s) => s.op !== "create" && !s.name.startsWith(added[0].name) && /-provision/.test(s.name)), "no other machine changes");
    assert.equal(ssh(added[0].address, "hostname").trim(), added[0].name);
  });

  // `virsh destroy` is a power cut: the domain is shut off, not gone. Issue 21: its disk holds the
  // machine's data, so the next up starts it again (an update of the domain's command), never a
  // replacement (zeroize and create); only a domain found missing is re-created.
  it("drift: a VM stopped behind the program's back (virsh destroy) shows in refresh, and the next up starts it again without replacing it", async () => {
    const controller = cloud().endpoints.find((e) => e.style === "physical")!;
    const vm = cloud().endpoints.find((e) => e.role === "memcached")!;
    ssh(controller.address, `virsh -q -c '${LAB_LIBVIRT_URI}' destroy ${vm.name}`);
    await waitFor(() => readStatus(layout())!.hosts.find((h) => h.name === vm.name)?.state !== "running", 30_000);
    ok(await run("refresh"), "refresh");
    // What refresh recorded (the engine's summary counts no output-only change of a dynamic resource).
    const state = JSON.parse(fs.readFileSync(path.join(lab.tmp, "state/.pulumi/stacks/kinetic", `${lab.stack}.json`), "utf8")) as { checkpoint: { latest: { resources: { urn: string; outputs?: { observed?: string; generation?: number; starts?: number } }[] } } };
    const seen = state.checkpoint.latest.resources.find((r) => r.urn.endsWith(`::${vm.name}-provision-state`))?.outputs;
    assert.equal(seen?.observed, "shut off", `refresh saw the domain stopped: ${JSON.stringify(seen)}`);
    assert.equal(seen?.generation, 0, "a stopped domain raised the generation (the next up would wipe its disk)");
    assert.equal(seen?.starts, 1);
    const r = await run("up");
    ok(r, "up after the drift");
    const domain = r.steps.filter((s) => s.name === `${vm.name}-provision-domain`).map((s) => s.op);
    assert.deepEqual(domain, ["update"], `up starts the domain again in place: ${changed(r).join(", ")}`);
    assert.equal(ssh(vm.address, "hostname").trim(), vm.name);
  });

  it("drift: a server powered off at its BMC shows in refresh, and the next up repairs it", async () => {
    const controller = cloud().endpoints.find((e) => e.style === "physical")!;
    const bmcStatus = () => readStatus(layout())!.hosts.find((h) => h.kind === "physical")!.bmc!;
    const bmc = bmcStatus().address;
    const sessionsBefore = bmcStatus().sessionsCreated;
    const curl = (args: string[]) =>
      execFileSync("nsenter", [`--net=/run/netns/${layout().netns}`, "curl", "-fsS", "--cacert", layout().caPath, "-u", "admin:password", ...args], { encoding: "utf8" });
    const systems = JSON.parse(curl([`https://${bmc}/redfish/v1/Systems`])) as { Members: { "@odata.id": string }[] };
    curl(["-X", "POST", "-H", "content-type: application/json", "-d", '{"ResetType":"ForceOff"}', `https://${bmc}${systems.Members[0]["@odata.id"]}/Actions/ComputerSystem.Reset`]);
    await waitFor(() => readStatus(layout())!.hosts.find((h) => h.kind === "physical")!.state !== "running", 30_000);
    const refreshed = await run("refresh");
    ok(refreshed, "refresh");
    assert.ok((refreshed.changes.update ?? 0) >= 1, `refresh sees the drift: ${JSON.stringify(refreshed.changes)}`);
    const r = await run("up");
    ok(r, "up after the drift");
    assert.ok(changed(r).includes(`${controller.name}-provision-power-cycle`), `up powers the server on again: ${changed(r).join(", ")}`);
    await waitFor(() => readStatus(layout())!.hosts.filter((h) => h.kind === "virtual").every((h) => h.state === "running"), 120_000);
    for (const e of cloud().endpoints) assert.equal(ssh(e.address, "hostname").trim(), e.name);
    // The refresh and the repair logged in to the BMC (Redfish sessions), and every session was
    // ended: the lab's status is rewritten every 5 s.
    await waitFor(() => bmcStatus().sessionsCreated > sessionsBefore && bmcStatus().sessionsOpen === 0, 15_000);
    assert.ok(bmcStatus().sessionsCreated > sessionsBefore, `the refresh and the up opened BMC sessions (${sessionsBefore} -> ${bmcStatus().sessionsCreated}): the check below could fail`);
    assert.equal(bmcStatus().sessionsOpen, 0, "no BMC session left open");
  });

  // Ctrl-C while rebuilding one memcached, the moment its install formula prints its first step
  // (it runs on the VM): the engine lets that formula finish, records it and stops; the next up
  // does what is left. Not at the step's start: then the plugin may still be dialling the new VM,
  // and a Ctrl-C there ends the step at once ("canceled before anything was sent", update failed),
  // which is right but not what this test is about (seen under load in CI).
  it("interruption: an up stopped with SIGINT midway, then up again, does exactly what was left and converges: no duplicate VM", async () => {
    const vm = cloud().endpoints.find((e) => e.role === "memcached")!;
    const controller = cloud().endpoints.find((e) => e.style === "physical")!;
    const keystone = cloud().endpoints.find((e) => e.role === "keystone")!;
    // Written out, not asked of rebuildResourceNames: the VM's machine and phases, keystone's
    // configure (it needs memcached's) and the other memcached's (endpoint 0's configure comes first).
    assert.equal(vm.index, 0);
    const others = cloud().endpoints.filter((e) => e.role === "memcached" && e.index > 0).map((e) => `${e.name}-configure`);
    const names = new Set([...["provision-domain", "base", "networking", "install", "configure"].map((p) => `${vm.name}-${p}`), `${keystone.name}-configure`, ...others]);
    assert.deepEqual([...rebuildResourceNames(cloud(), [vm.name]).names].sort(), [...names].sort(), "what kinetic rebuild would replace");
    const interrupted = await run("up", { replaceNames: [...names] }, { interruptAt: new RegExp(`${vm.name}-install creating.* step: `) });
    // What happened, for a failure here: when the SIGINT went, what the up did and how it ended.
    const seen = `SIGINT ${interrupted.interrupted ? `${interrupted.interrupted.afterMs} ms in, at "${interrupted.interrupted.line}"` : "never sent"}; ` +
      `replaced ${names.size} names; changed: ${changed(interrupted).join(", ") || "nothing"}; ended: ${interrupted.error ? interrupted.error.slice(0, 600) : "without error"}`;
    assert.ok(interrupted.interrupted, `the engine's output showed ${vm.name}'s install starting: ${seen}`);
    assert.match(interrupted.error ?? "", /update canceled/, `the interrupted up reports that it did not finish: ${seen}`);
    // Created again, that is (the rebuild first deletes the old phases, and those steps finish too).
    const remade = new Set(interrupted.steps.filter((s) => s.end !== undefined && !s.failed && ["create", "create-replacement", "replace", "update"].includes(s.op)).map((s) => s.name));
    assert.ok(remade.has(`${vm.name}-install`), "the formula running at the interruption ran to its end");
    const left = [...names].filter((n) => !remade.has(n));
    assert.ok(left.includes(`${vm.name}-configure`), `the interruption left part of the rebuild undone: ${left.join(", ")}`);
    const r = await run("up");
    ok(r, "up after the interruption");
    assert.deepEqual(changed(r), [...left].sort(), "the next up does what was left, and nothing else");
    const again = await run("up");
    ok(again, "a further up");
    assert.deepEqual(changed(again), [], "converged: nothing left to do");
    const domains = ssh(controller.address, `virsh -q -c '${LAB_LIBVIRT_URI}' list --all --name`).split("\n").map((d) => d.trim()).filter((d) => d && d !== "test");
    assert.deepEqual(domains.sort(), cloud().endpoints.filter((e) => e.style === "virtual").map((e) => e.name).sort(), "each VM defined once");
    assert.equal(ssh(vm.address, "hostname").trim(), vm.name);
    assert.equal(ssh(vm.address, "systemctl is-active memcached").trim(), "active", "memcached runs on the rebuilt VM");
  });

  it("destroy removes every domain and its files; the physical server stays on without zeroizePhysical", async () => {
    const controller = cloud().endpoints.find((e) => e.style === "physical")!;
    const r = await run("destroy");
    ok(r, "destroy");
    assert.equal(ssh(controller.address, `virsh -q -c '${LAB_LIBVIRT_URI}' list --all --name | grep -v '^test$' || true`).trim(), "");
    assert.equal(ssh(controller.address, "ls -A /kvm/vms").trim(), "");
    await waitFor(() => readStatus(layout())!.hosts.filter((h) => h.kind === "virtual").every((h) => h.state !== "running"), 60_000);
    const physical = readStatus(layout())!.hosts.find((h) => h.kind === "physical")!;
    assert.equal(physical.bmc?.power, "On");
    assert.equal(physical.state, "running");
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(`condition not met within ${ms / 1000} s`);
}
