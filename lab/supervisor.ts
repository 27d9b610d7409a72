/**
 * The lab's long-running process, started by `kinetic lab up` inside the lab's network namespace.
 * It plays the datacenter around the program:
 * - the **foundation hosts**, installed once as an operator would (address, the stack's public key);
 * - a **BMC** (the Redfish simulator) per physical server on the oob network; when a BMC boots its
 *   server with the one-time PXE override, the server network-boots for real (lab/pxeBoot.ts: a
 *   QEMU machine with its UUID and MAC, iPXE, the pxe host's Kea and nginx, the lab's installer)
 *   and its host comes up from the user-data that installer fetched; without the override it boots
 *   the previous disk; powered off, the server's host (or its network boot) stops;
 * - for every controller whose libvirt runs, a watcher of libvirt's domain events: a started domain
 *   boots a host from its own cloud-init seed (the config.iso the create script made), a destroyed
 *   one stops, an undefined one is wiped;
 * - an HTTP mirror on the management gateway (the base images the controller formula downloads).
 * It writes `status.json` on every change and stops everything on SIGTERM.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { parse } from "yaml";
import { createTestPki, readTestPki } from "../simulator/pki";
import { startSimulator, type PowerEvent, type Simulator } from "../simulator";
import { BootedHost, bootHost, sweep, sweepHosts } from "./bootedHost";
import { ensureInotifyInstances, INOTIFY_INSTANCES_FLOOR } from "./inotifyLimit";
import { DebianRoot, ensureDebianRoot, run } from "./debianRoot";
import { buildInstallerImage } from "../image/guestImage";
import { applyPlan, InstallPlan, planFromAutoinstall, planFromSeed } from "./installPlan";
import { labLayout, LabLayout } from "./layout";
import { LabSpec, labSpec, PhysicalSpec } from "./labSpec";
import { bridgeName, ensureLabNetwork, plugNic } from "./network";
import { ChainStep, chainSummary, describeChain, logMarks, PxeMachine, pxeTapName } from "./pxeBoot";
import { attachOsdDisks, detachAllOsdDisks, hostDevices } from "./osdDisks";

/** The libvirt connection the lab's controllers serve: libvirtd's own test driver (no KVM here). */
export const LAB_LIBVIRT_URI = "test+unix:///default";
/** Port of the lab's HTTP mirror on the management gateway. */
export const MIRROR_PORT = 8080;

export type HostKind = "foundation" | "physical" | "virtual";

export interface HostStatus {
  name: string;
  kind: HostKind;
  role: string;
  address: string;
  state: "running" | "stopped" | "off" | "no-os" | "failed";
  detail?: string;
  /** sessionsOpen/sessionsCreated: the BMC's Redfish sessions now open, and ever made (a test of "none left open" needs proof some were). */
  bmc?: { address: string; power: string; sessionsOpen: number; sessionsCreated: number };
  controller?: string;
  /** physical: how its last network install went, link by link (lab/pxeBoot.ts describeChain). */
  install?: InstallReport;
}

export interface InstallReport {
  at: string;
  seconds: number;
  summary: string;
  steps: ChainStep[];
}

export interface LabStatus {
  pid: number;
  started: string;
  netns: string;
  pillar: string;
  hosts: HostStatus[];
}

interface HostRecord {
  name: string;
  kind: HostKind;
  role: string;
  address: string;
  nics: { ifname: string; mac?: string; network: string }[];
  /** Set once an OS is on the disk (the installer or cloud-init finished). */
  installed: boolean;
  /** physical: powered on when the lab last stopped (restored at the next start, "LastState" policy). */
  poweredOn?: boolean;
  controller?: string;
}

const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

class Lab {
  private readonly hosts = new Map<string, BootedHost>();
  private readonly records = new Map<string, HostRecord>();
  private readonly failures = new Map<string, string>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly watchers = new Map<string, ChildProcess>();
  /** Physical servers network-booting now: a BMC power event pulls their power. */
  private readonly booting = new Map<string, PxeMachine>();
  private readonly installs = new Map<string, InstallReport>();
  /**
   * Each running host's own hostname, read in the background. The status file is written after
   * every boot and domain event; reading 20 hostnames there with spawnSync blocked the event loop
   * seconds at a time while 17 VMs booted, so their init checks ran late and the lab gave up on
   * hosts that were booting (the cloud lab's up: 8 of 17 VMs "did not start within 60 s").
   */
  private readonly hostnames = new Map<string, string>();
  private sim: Simulator | undefined;
  private mirror: http.Server | undefined;
  private poll: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly layout: LabLayout,
    private readonly spec: LabSpec,
    private readonly root: DebianRoot,
    private readonly stackPublicKey: string,
  ) {}

  /** Runs `fn` after every earlier operation on the same host (power events arrive in bursts). */
  private serial(name: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(name) ?? Promise.resolve()).then(fn).catch((e) => {
      this.failures.set(name, String(e instanceof Error ? e.message : e));
      log(`${name}: ${e instanceof Error ? e.message : e}`);
    });
    this.queues.set(name, next.finally(() => this.writeStatus()));
    return next;
  }

  private recordFile(name: string): string {
    return path.join(this.layout.hostsDir, name, "lab-host.json");
  }

  private readRecord(name: string): HostRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.recordFile(name), "utf8")) as HostRecord;
    } catch {
      return undefined;
    }
  }

  private saveRecord(r: HostRecord): void {
    fs.mkdirSync(path.dirname(this.recordFile(r.name)), { recursive: true });
    fs.writeFileSync(this.recordFile(r.name), JSON.stringify(r, null, 2));
    this.records.set(r.name, r);
  }

  /** Boots a host: a fresh disk with `plan` written on it, or (no plan) the disk it has. */
  private async boot(record: HostRecord, plan?: InstallPlan): Promise<void> {
    await this.halt(record.name, { wipe: plan !== undefined });
    const dir = path.join(this.layout.hostsDir, record.name);
    this.failures.delete(record.name);
    if (plan) this.saveRecord({ ...record, installed: false });
    // A storage server's data disks are cabled whatever is on its OS disk.
    const physical = record.kind === "physical" ? this.spec.physicals.find((p) => p.name === record.name) : undefined;
    const devices = physical?.osdDisks.length ? hostDevices(attachOsdDisks(this.layout, physical.name, physical.osdDisks)) : [];
    const host = await bootHost({
      name: record.name,
      lowerdir: this.root.lowerdir,
      dir,
      devices,
      prepare: (root) => {
        if (plan) applyPlan(root, plan);
      },
    });
    this.hosts.set(record.name, host);
    for (const nic of record.nics) plugNic(this.layout.netns, host.pid, nic);
    this.saveRecord({ ...record, installed: true });
    log(`${record.name}: booted${plan ? " from a fresh disk" : ""} (init pid ${host.pid})`);
    this.writeStatus();
  }

  /** Stops a host (its disk stays unless `wipe`), and the VMs of a controller with it. */
  private async halt(name: string, opts: { wipe?: boolean } = {}): Promise<void> {
    const watcher = this.watchers.get(name);
    if (watcher) {
      this.watchers.delete(name);
      watcher.kill("SIGKILL");
      for (const r of this.records.values()) if (r.controller === name) await this.halt(r.name);
    }
    const host = this.hosts.get(name);
    this.hosts.delete(name);
    if (host) {
      await host.stop();
      log(`${name}: stopped`);
    }
    const dir = path.join(this.layout.hostsDir, name);
    if (opts.wipe && fs.existsSync(dir)) {
      sweep(dir);
      fs.rmSync(dir, { recursive: true, force: true });
      this.records.delete(name);
      log(`${name}: disk wiped`);
    }
  }

  async start(): Promise<void> {
    const inotify = ensureInotifyInstances();
    if (inotify !== undefined) log(`raised fs.inotify.max_user_instances from ${inotify} to ${INOTIFY_INSTANCES_FLOOR}: every host runs its own systemd`);
    ensureLabNetwork(this.layout.netns, this.spec.bridges);
    await this.startMirror();
    for (const f of this.spec.foundations) {
      const existing = this.readRecord(f.name);
      const record: HostRecord = { name: f.name, kind: "foundation", role: f.role, address: f.address, nics: [{ ifname: f.ifname, network: "management" }], installed: existing?.installed ?? false };
      this.records.set(f.name, record);
      await this.serial(f.name, () => this.boot(record, record.installed ? undefined : this.foundationPlan(f)));
    }
    for (const p of this.spec.physicals) {
      const existing = this.readRecord(p.name);
      this.records.set(p.name, { name: p.name, kind: "physical", role: p.role, address: "", nics: [{ ifname: p.ifname, network: "management" }], installed: false, ...existing });
    }
    const pki = fs.existsSync(this.layout.caPath) ? readTestPki(this.layout.pkiDir) : createTestPki(this.layout.pkiDir);
    this.sim = await startSimulator({
      tls: pki,
      bmcs: this.spec.physicals.map((p) => ({
        address: p.bmcAddress,
        uuids: [p.uuid],
        initialPowerState: "Off" as const,
        powerDelayMs: 500,
        onPower: (e: PowerEvent) => {
          // Any power event ends a network boot in progress at once (a queued one would wait for it).
          this.booting.get(p.name)?.stop();
          void this.serial(p.name, () => this.power(p, e));
        },
      })),
    });
    // The BMCs' power restore policy is LastState: a server that was on when the lab stopped boots
    // its disk again (the simulator itself starts with every server off).
    for (const p of this.spec.physicals) {
      const r = this.records.get(p.name)!;
      if (!r.poweredOn) continue;
      this.sim.bmc(p.bmcAddress).setPowerState("On");
      if (r.installed) void this.serial(p.name, () => this.boot(r));
    }
    let ticks = 0;
    this.poll = setInterval(() => {
      this.watchControllers();
      if (ticks++ % 5 === 0) this.refreshHostnames();
    }, 1000);
    this.writeStatus();
    log(`lab up: ${this.spec.foundations.length} foundation host(s), ${this.spec.physicals.length} BMC(s) on ${this.spec.physicals.map((p) => p.bmcAddress).join(", ") || "-"}`);
  }

  /** What the operator installed on a foundation host before Kinetic: its address and the stack's key. */
  private foundationPlan(f: LabSpec["foundations"][number]): InstallPlan {
    const tmp = fs.mkdtempSync(path.join(this.layout.dir, ".key-"));
    try {
      run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${f.name}`, "-f", path.join(tmp, "key")]);
      const gateway = this.spec.bridges[0].gateway?.split("/")[0];
      return {
        hostname: f.name,
        authorizedKeys: [this.stackPublicKey],
        hostKey: { privateKey: fs.readFileSync(path.join(tmp, "key"), "utf8"), publicKey: fs.readFileSync(path.join(tmp, "key.pub"), "utf8").trim() },
        nics: [{ ifname: f.ifname, network: "management", address: `${f.address}/${f.prefixLength}`, gateway, nameservers: [] }],
      };
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** A BMC event: install over PXE, boot the disk, or stop. */
  private async power(p: PhysicalSpec, e: PowerEvent): Promise<void> {
    if (this.stopping) return;
    const stored = this.readRecord(p.name) ?? this.records.get(p.name)!;
    if (e.kind === "off") {
      log(`${p.name}: powered off at its BMC`);
      await this.halt(p.name);
      this.saveRecord({ ...stored, poweredOn: false });
      return;
    }
    const record: HostRecord = { ...stored, poweredOn: true };
    this.saveRecord(record);
    if (e.target === "Pxe") {
      log(`${p.name}: PXE boot (${e.resetType})`);
      await this.halt(p.name, { wipe: true });
      const plan = await this.networkInstall(p);
      if (!plan) {
        this.saveRecord({ ...record, installed: false });
        return;
      }
      const address = plan.nics[0].address.split("/")[0];
      await this.boot({ ...record, address, installed: false, nics: [{ ifname: plan.nics[0].ifname, mac: p.mac, network: "management" }] }, plan);
      return;
    }
    log(`${p.name}: boot from disk (${e.resetType})`);
    if (!record.installed) {
      await this.halt(p.name);
      this.failures.set(p.name, "no operating system on the disk: it boots nothing");
      log(`${p.name}: no operating system on its disk`);
      return;
    }
    await this.boot(record);
  }

  /**
   * The server boots from its NIC (lab/pxeBoot.ts) and the lab's installer hands back what it
   * fetched; undefined (and where the chain stopped, in the status) when it got nothing.
   */
  private async networkInstall(p: PhysicalSpec): Promise<InstallPlan | undefined> {
    const pxe = this.spec.foundations.find((f) => f.role === "pxe");
    const pxeHost = pxe ? this.hosts.get(pxe.name) : undefined;
    const fail = (why: string) => {
      this.failures.set(p.name, `PXE install failed: ${why}`);
      log(`${p.name}: PXE install failed: ${why}`);
      return undefined;
    };
    if (!pxe || !pxeHost?.running()) return fail("no pxe host is running");
    const pxeRoot = `/proc/${pxeHost.pid}/root`;
    try {
      this.provideInstaller(pxeRoot, p.os);
    } catch (e) {
      return fail(`the lab's installer could not be put on the pxe host: ${e instanceof Error ? e.message : e}`);
    }
    const marks = logMarks(pxeRoot);
    const machine = new PxeMachine({
      uuid: p.uuid,
      mac: p.mac,
      bridge: bridgeName("management"),
      tap: pxeTapName(p.mac),
      workDir: path.join(this.layout.dir, "pxe", p.name),
    });
    this.booting.set(p.name, machine);
    const result = await machine.done.finally(() => this.booting.delete(p.name));
    const steps = describeChain(pxeRoot, marks, { mac: p.mac, uuid: p.uuid }, result);
    const summary = result.end === "stopped" ? `power pulled by its BMC during the network boot (${chainSummary(steps)})` : chainSummary(steps);
    this.installs.set(p.name, { at: new Date().toISOString(), seconds: Math.round(result.seconds), summary, steps });
    log(`${p.name}: network boot: ${summary} (${result.seconds.toFixed(1)} s)`);
    if (result.end === "stopped") return undefined;
    if (result.userData === undefined) return fail(result.qemuError ? `${summary}; QEMU: ${result.qemuError}` : summary);
    try {
      return planFromAutoinstall(result.userData, { network: "management", mac: p.mac }, `server ${p.uuid}`);
    } catch (e) {
      return fail(e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * The operator's part of a PXE setup: the installer's kernel and initrd where the pxe formula's
   * boot scripts name them (images/<os>/). Here that is the lab's installer (image/installer).
   */
  private provideInstaller(pxeRoot: string, os: string): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(os)) throw new Error(`the pillar gives the server no usable os (${JSON.stringify(os)})`);
    const image = buildInstallerImage({ log: (m) => log(`installer image: ${m}`) });
    const dir = path.join(pxeRoot, "var/www/kinetic/images", os);
    fs.mkdirSync(dir, { recursive: true });
    for (const [from, to] of [[image.kernel, "vmlinuz"], [image.ramdisk, "initrd"]]) {
      const target = path.join(dir, to);
      // Compared whole (some 10 MB, once per network boot): a rebuilt installer may keep its size.
      if (fs.existsSync(target) && fs.readFileSync(target).equals(fs.readFileSync(from))) continue;
      fs.copyFileSync(from, `${target}.tmp`);
      fs.chmodSync(`${target}.tmp`, 0o644);
      fs.renameSync(`${target}.tmp`, target);
    }
  }

  /** Starts a libvirt event watcher for every running host whose libvirtd socket exists. */
  private watchControllers(): void {
    if (this.stopping) return;
    for (const [name, host] of this.hosts) {
      if (this.watchers.has(name) || !host.running()) continue;
      // /run is the host's own tmpfs: seen through its init's root, not through the overlay.
      if (!fs.existsSync(`/proc/${host.pid}/root/run/libvirt/libvirt-sock`)) continue;
      this.startWatcher(name, host);
    }
  }

  private virsh(host: BootedHost, args: string[]): string {
    return host.exec(["virsh", "-q", "-c", LAB_LIBVIRT_URI, ...args], { timeoutMs: 30_000 });
  }

  private startWatcher(controller: string, host: BootedHost): void {
    const [cmd, ...args] = [...host.enter(), "virsh", "-c", LAB_LIBVIRT_URI, "event", "--all", "--loop"];
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.watchers.set(controller, child);
    log(`${controller}: watching libvirt's domain events`);
    let buffer = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^event 'lifecycle' for domain '?([^':]+)'?: (\w+)/.exec(line.trim());
        if (m) void this.serial(m[1], () => this.domainEvent(controller, m[1], m[2]));
      }
    });
    child.stderr!.on("data", (d: Buffer) => log(`${controller}: virsh event: ${d.toString().trim()}`));
    child.once("exit", () => {
      if (this.watchers.get(controller) === child) this.watchers.delete(controller);
    });
    // The connection is up once virsh prints nothing for a moment; then bring back the domains the
    // controller had defined (libvirt's qemu driver keeps them across a restart; the test driver
    // keeps nothing once its last connection closes).
    setTimeout(() => void this.restoreDomains(controller, host), 1500);
  }

  private async restoreDomains(controller: string, host: BootedHost): Promise<void> {
    const vms = `/proc/${host.pid}/root/kvm/vms`;
    if (!fs.existsSync(vms)) return;
    let defined: string[] = [];
    try {
      defined = this.virsh(host, ["list", "--all", "--name"]).split("\n").map((s) => s.trim()).filter(Boolean);
    } catch (e) {
      log(`${controller}: cannot list domains: ${e instanceof Error ? e.message : e}`);
      return;
    }
    for (const name of fs.readdirSync(vms)) {
      if (defined.includes(name) || !fs.existsSync(path.join(vms, name, "domain.xml"))) continue;
      try {
        this.virsh(host, ["define", `/kvm/vms/${name}/domain.xml`]);
        this.virsh(host, ["start", name]);
        log(`${controller}: restored domain ${name} (autostart)`);
      } catch (e) {
        log(`${controller}: cannot restore ${name}: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  private async domainEvent(controller: string, name: string, event: string): Promise<void> {
    if (this.stopping) return;
    const host = this.hosts.get(controller);
    if (!host) return;
    log(`${controller}: domain ${name} ${event}`);
    if (event === "Stopped" || event === "Shutdown" || event === "Crashed") return this.halt(name);
    if (event === "Undefined") return this.halt(name, { wipe: true });
    if (event !== "Started" && event !== "Resumed") return;
    if (this.hosts.get(name)?.running()) return;
    const xml = this.virsh(host, ["dumpxml", name]);
    const macs = new Map<string, string>();
    for (const m of xml.matchAll(/<interface type='bridge'>([\s\S]*?)<\/interface>/g)) {
      const mac = /<mac address='([^']+)'/.exec(m[1])?.[1];
      const bridge = /<source bridge='([^']+)'/.exec(m[1])?.[1];
      if (mac && bridge) macs.set(mac.toLowerCase(), bridge.replace(/_br$/, ""));
    }
    const iso = /<disk type='file' device='cdrom'>[\s\S]*?<source file='([^']+)'/.exec(xml)?.[1];
    const existing = this.readRecord(name);
    if (existing?.installed) return this.boot(existing);
    if (!iso) throw new Error(`domain ${name} on ${controller} has no seed CD-ROM: nothing to boot from`);
    const isoPath = `/proc/${host.pid}/root${iso}`;
    const file = (f: string) => run("isoinfo", ["-R", "-i", isoPath, "-x", `/${f}`]);
    const plan = planFromSeed({ userData: file("user-data"), networkConfig: file("network-config") }, macs, `domain ${name}`);
    const nics = plan.nics.map((n) => ({ ifname: n.ifname, mac: n.mac, network: n.network }));
    const record: HostRecord = { name, kind: "virtual", role: this.spec.virtualRoles.get(name) ?? "?", address: plan.nics[0].address.split("/")[0], nics, installed: false, controller };
    await this.boot(record, plan);
  }

  private async startMirror(): Promise<void> {
    const gateway = this.spec.bridges[0].gateway?.split("/")[0];
    if (!gateway) return;
    const images = path.join(this.layout.mirrorDir, "images");
    fs.mkdirSync(images, { recursive: true });
    // One small raw disk per pillar image name: what the create script converts and copies.
    for (const [name, image] of Object.entries(this.spec.images)) {
      const file = path.join(images, path.basename(new URL(image.url).pathname));
      if (!fs.existsSync(file)) fs.writeFileSync(file, Buffer.alloc(1024 * 1024));
      log(`mirror: image ${name} at ${image.url}`);
    }
    this.mirror = http.createServer((req, res) => {
      const rel = path.normalize(decodeURIComponent((req.url ?? "/").split("?")[0])).replace(/^(\.\.(\/|$))+/, "");
      const file = path.join(this.layout.mirrorDir, rel);
      if (!file.startsWith(this.layout.mirrorDir + "/") || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": fs.statSync(file).size, "content-type": "application/octet-stream" });
      if (req.method === "HEAD") res.end();
      else fs.createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve, reject) => {
      this.mirror!.once("error", reject);
      this.mirror!.listen(MIRROR_PORT, gateway, () => resolve());
    });
  }

  status(): LabStatus {
    const hosts: HostStatus[] = [];
    const physical = new Map(this.spec.physicals.map((p) => [p.name, p]));
    for (const r of this.records.values()) {
      const host = this.hosts.get(r.name);
      const p = physical.get(r.name);
      const snap = p && this.sim ? this.sim.bmc(p.bmcAddress).system() : undefined;
      const failure = this.failures.get(r.name);
      let state: HostStatus["state"] = host?.running() ? "running" : "stopped";
      if (!host && failure) state = failure.startsWith("no operating system") ? "no-os" : "failed";
      else if (!host && snap && snap.powerState === "Off") state = "off";
      hosts.push({
        name: host?.running() ? this.hostnames.get(r.name) ?? r.name : r.name,
        kind: r.kind,
        role: r.role,
        address: r.address,
        state,
        ...(failure ? { detail: failure } : {}),
        ...(p && snap && this.sim
          ? { bmc: { address: p.bmcAddress, power: snap.powerState, sessionsOpen: this.sim.bmc(p.bmcAddress).openSessions(), sessionsCreated: this.sim.bmc(p.bmcAddress).sessionsCreated() } }
          : {}),
        ...(r.controller ? { controller: r.controller } : {}),
        ...(this.installs.has(r.name) ? { install: this.installs.get(r.name) } : {}),
      });
    }
    const order: Record<HostKind, number> = { foundation: 0, physical: 1, virtual: 2 };
    hosts.sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name));
    return { pid: process.pid, started: STARTED, netns: this.layout.netns, pillar: this.spec.pillarDir, hosts };
  }

  /** Reads every running host's hostname without blocking; the status file is rewritten once they are in. */
  private refreshHostnames(): void {
    const running = [...this.hosts].filter(([, h]) => h.running());
    void Promise.all(running.map(([name, h]) => hostnameOf(h).then((n) => (n ? this.hostnames.set(name, n) : this.hostnames.delete(name))))).then(() => {
      if (!this.stopping) this.writeStatus();
    });
  }

  writeStatus(): void {
    const tmp = `${this.layout.statusFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.status(), null, 2));
    fs.renameSync(tmp, this.layout.statusFile);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.poll) clearInterval(this.poll);
    for (const m of this.booting.values()) m.stop();
    for (const w of this.watchers.values()) w.kill("SIGKILL");
    this.watchers.clear();
    await Promise.allSettled([...this.hosts.values()].map((h) => h.stop()));
    this.hosts.clear();
    await this.sim?.stop();
    await new Promise<void>((r) => (this.mirror ? this.mirror.close(() => r()) : r()));
    sweepHosts(this.layout.hostsDir);
    detachAllOsdDisks(this.layout);
    fs.rmSync(this.layout.statusFile, { force: true });
  }
}

const STARTED = new Date().toISOString();

/** The running host's own hostname (what the formulas set), read inside its UTS namespace. */
function hostnameOf(host: BootedHost): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("nsenter", ["-t", String(host.pid), "--uts", "hostname"], { encoding: "utf8", timeout: 10_000 }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

/** The stack's `kinetic:sshPublicKey` (what the operator authorized on the foundation hosts). */
export function stackPublicKey(stackFile: string): string {
  const doc = parse(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
  const key = doc.config?.["kinetic:sshPublicKey"];
  if (typeof key !== "string") throw new Error(`${stackFile}: no kinetic:sshPublicKey`);
  return key;
}

async function main(): Promise<void> {
  const [pillarDir, stackFile, stack] = process.argv.slice(2);
  if (!pillarDir || !stackFile || !stack) throw new Error("usage: supervisor.ts PILLAR_DIR STACK_FILE STACK");
  const layout = labLayout();
  fs.mkdirSync(layout.hostsDir, { recursive: true });
  // Whatever a killed supervisor left: hosts still running, mounts.
  for (const line of sweepHosts(layout.hostsDir)) log(`${line} (an earlier run)`);
  const root = ensureDebianRoot(log);
  const lab = new Lab(layout, labSpec(pillarDir, stack), root, stackPublicKey(stackFile));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log("stopping");
    await lab.stop();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  await lab.start();
  fs.writeFileSync(path.join(layout.dir, "ready"), `${process.pid}\n`);
}

if (require.main === module) {
  main().catch((e) => {
    log(`lab supervisor failed: ${e instanceof Error ? e.stack : e}`);
    process.exit(1);
  });
}

