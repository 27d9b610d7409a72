/**
 * A lab server's network boot, as a datacenter's servers do it: a QEMU machine (TCG; KVM guests hang
 * on this machine kind) with the server's SMBIOS UUID and PXE NIC MAC, cabled to the management
 * bridge by a tap. Its NIC's option ROM is iPXE (Debian's ipxe-qemu): it asks DHCP (the pxe host's
 * Kea) for a lease and a boot file, chains the scripts the pxe formula serves over HTTP, and boots
 * the kernel and initrd the server's script names. What answers there is the lab's own installer
 * (image/installer/init), which reports each step on the serial port, hands over the autoinstall
 * user-data it fetched, and powers the machine off.
 *
 * Nothing here knows what the pxe host should serve: a wrong DHCP option, boot file, script or URL
 * means no user-data, and `describeChain` says where it stopped from what the pxe host itself
 * recorded (Kea's lease file, nginx's access log) and what the installer said.
 */
import { ChildProcess, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnTied } from "./tiedProcess";
import { uuidForms } from "../providers/redfish/uuid";

export interface PxeBootOptions {
  /** SMBIOS UUID of the server (what iPXE sends as DHCP option 97 and expands as ${uuid}). */
  uuid: string;
  /** MAC of the server's PXE NIC. */
  mac: string;
  /** The Linux bridge the NIC is cabled to (in this process's network namespace). */
  bridge: string;
  /** Name of the tap device (15 characters at most). */
  tap: string;
  /** A private directory for the serial log (it carries the user-data, a host private key among it). */
  workDir: string;
  /** Default 240 s: under TCG the whole chain takes 20 to 60 s on 2 busy cores. */
  timeoutMs?: number;
  memoryMiB?: number;
  /**
   * "bios" (default): SeaBIOS runs the NIC's iPXE ROM, which asks DHCP as iPXE at once. "uefi":
   * OVMF's own PXE (no iPXE ROM), as most servers' firmware: DHCP as a UEFI client, ipxe.efi over
   * TFTP from the pxe host, then iPXE's own DHCP and the same chain.
   */
  firmware?: "bios" | "uefi";
}

/** OVMF (Debian's ovmf): the UEFI firmware of the "uefi" boots. */
export const OVMF = "/usr/share/ovmf/OVMF.fd";

export interface PxeBootResult {
  /** The installer's "kinetic-installer:" lines, in order, without the prefix. */
  said: string[];
  /** The user-data the installer fetched and handed over; undefined when it did not get that far. */
  userData?: string;
  /** How the machine ended: it powered itself off, was stopped (its BMC), or ran out of time. */
  end: "poweroff" | "stopped" | "timeout" | "failed";
  /** QEMU's own last words when it failed to start or run. */
  qemuError?: string;
  seconds: number;
}

/** A stable MAC for a lab server's PXE NIC (QEMU's locally administered 52:54:00 prefix). */
export function labServerMac(uuid: string): string {
  const h = createHash("sha256").update(`pxe-nic/${uuid.toLowerCase()}`).digest("hex");
  return `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

/**
 * The tap that cables a server's QEMU machine to the lab's bridge, named by the server's MAC (12
 * hex digits: "kt" + 12 = 14 characters, within Linux's 15). Unique as the MACs on one bridge
 * are. It was the UUID's first 12 hex digits, which servers of one vendor share (the cloud
 * pillar's three differ only in their last): each machine's set-up deleted the tap of the one
 * before, which then never got a lease.
 */
export function pxeTapName(mac: string): string {
  const hex = mac.toLowerCase().replace(/[:-]/g, "");
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new Error(`not a MAC address: ${mac}`);
  return `kt${hex}`;
}

const PREFIX = "kinetic-installer: ";

/** The installer's report out of a serial log: its lines, and the user-data between begin and end. */
export function parseInstallerLog(text: string): { said: string[]; userData?: string } {
  const said: string[] = [];
  let b64: string[] | undefined;
  let userData: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\r/g, "");
    const at = line.indexOf(PREFIX);
    if (at >= 0) {
      const msg = line.slice(at + PREFIX.length).trim();
      if (msg === "user-data begin") b64 = [];
      else if (msg === "user-data end" && b64) {
        userData = Buffer.from(b64.join(""), "base64").toString("utf8");
        b64 = undefined;
      } else said.push(msg);
      continue;
    }
    if (b64 && /^[A-Za-z0-9+/=]+$/.test(line.trim())) b64.push(line.trim());
  }
  return { said, ...(userData !== undefined ? { userData } : {}) };
}

/** One network boot of a server; `stop()` is its BMC pulling the power. */
export class PxeMachine {
  private child: ChildProcess | undefined;
  private stopped = false;
  readonly done: Promise<PxeBootResult>;

  constructor(private readonly o: PxeBootOptions) {
    this.done = this.run();
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill("SIGKILL");
  }

  private async run(): Promise<PxeBootResult> {
    const started = Date.now();
    const o = this.o;
    fs.mkdirSync(o.workDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(o.workDir, 0o700);
    const serial = path.join(o.workDir, "serial.log");
    fs.rmSync(serial, { force: true });
    fs.writeFileSync(serial, "", { mode: 0o600 });
    const ip = (args: string[]) => spawnSync("ip", args, { encoding: "utf8" });
    ip(["link", "del", o.tap]);
    for (const args of [["tuntap", "add", "dev", o.tap, "mode", "tap"], ["link", "set", o.tap, "master", o.bridge], ["link", "set", o.tap, "up"]]) {
      const r = ip(args);
      if (r.status !== 0) return { said: [], end: "failed", qemuError: `ip ${args.join(" ")}: ${r.stderr.trim()}`, seconds: 0 };
    }
    let qemuOut = "";
    try {
      const end = await new Promise<PxeBootResult["end"]>((resolve) => {
        const uefi = o.firmware === "uefi";
        // Tied to the supervisor: a supervisor killed with SIGKILL leaves no machine behind.
        const child = spawnTied("qemu-system-x86_64", [
          "-machine", "pc,accel=tcg", "-m", String(o.memoryMiB ?? 512), "-smp", "1",
          "-uuid", o.uuid, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
          ...(uefi ? ["-bios", OVMF] : []),
          "-serial", `file:${serial}`,
          "-netdev", `tap,id=pxe,ifname=${o.tap},script=no,downscript=no`,
          // romfile= (none): the firmware's own network stack does the PXE, not an iPXE ROM.
          "-device", `virtio-net-pci,netdev=pxe,mac=${o.mac},bootindex=1${uefi ? ",romfile=" : ""}`,
          "-boot", "order=n",
        ], { stdio: ["ignore", "pipe", "pipe"] });
        this.child = child;
        if (this.stopped) child.kill("SIGKILL");
        const keep = (d: Buffer) => (qemuOut = (qemuOut + d.toString()).slice(-4000));
        child.stdout!.on("data", keep);
        child.stderr!.on("data", keep);
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve("timeout");
        }, o.timeoutMs ?? 240_000);
        child.on("error", (e) => {
          clearTimeout(timer);
          qemuOut += e.message;
          resolve("failed");
        });
        child.on("exit", (code) => {
          clearTimeout(timer);
          resolve(this.stopped ? "stopped" : code === 0 ? "poweroff" : "failed");
        });
      });
      const report = parseInstallerLog(fs.readFileSync(serial, "utf8"));
      return { ...report, end, ...(end === "failed" ? { qemuError: qemuOut.trim().split("\n").slice(-3).join(" | ") } : {}), seconds: (Date.now() - started) / 1000 };
    } finally {
      ip(["link", "del", o.tap]);
      fs.rmSync(serial, { force: true });
    }
  }
}

/** Where a file of the pxe host ends now: read only what is added after, in `describeChain`. */
export function logMarks(pxeRoot: string): ChainMarks {
  const size = (f: string) => {
    try {
      return fs.statSync(path.join(pxeRoot, f)).size;
    } catch {
      return 0;
    }
  };
  return { leases: size(KEA_LEASES), access: size(NGINX_ACCESS) };
}

export interface ChainMarks {
  leases: number;
  access: number;
}

const KEA_LEASES = "var/lib/kea/kea-leases4.csv";
const NGINX_ACCESS = "var/log/nginx/access.log";

function readFrom(file: string, from: number): string {
  try {
    const buf = fs.readFileSync(file);
    // A file rotated or rewritten (Kea's lease file cleanup) since the mark: all of it is new.
    return buf.subarray(buf.length >= from ? from : 0).toString("utf8");
  } catch {
    return "";
  }
}

export interface ChainStep {
  step: string;
  ok: boolean;
  detail: string;
}

/**
 * The chain of one install, link by link, from the pxe host's own records since `marks` and the
 * installer's report: the lease (Kea's lease file, by MAC), each HTTP fetch from the server's
 * address (nginx's access log: path and status), then the installer's network and fetches. The
 * first link that is missing or failed is where the install stopped.
 */
export function describeChain(pxeRoot: string, marks: ChainMarks, server: { mac: string; uuid: string }, result: PxeBootResult): ChainStep[] {
  const steps: ChainStep[] = [];
  const mac = server.mac.toLowerCase();
  // Kea's memfile: address,hwaddr,client_id,valid_lifetime,expire,subnet_id,... one line per change.
  const leases = readFrom(path.join(pxeRoot, KEA_LEASES), marks.leases)
    .split("\n")
    .map((l) => l.split(","))
    .filter((f) => f.length > 2 && f[1].toLowerCase() === mac && Number(f[3]) > 0);
  const address = leases.at(-1)?.[0];
  steps.push({ step: "DHCP lease", ok: !!address, detail: address ? `${address} for ${mac} (Kea)` : `Kea gave ${mac} no lease` });
  if (!address) return steps;
  const fetches = readFrom(path.join(pxeRoot, NGINX_ACCESS), marks.access)
    .split("\n")
    .map((l) => /^(\S+) \S+ \S+ \[[^\]]*\] "(?:GET|HEAD) (\S+)[^"]*" (\d{3}) /.exec(l))
    .filter((m): m is RegExpExecArray => !!m && m[1] === address)
    .map((m) => ({ path: m[2], status: Number(m[3]) }));
  const fetched = (what: string, test: (p: string) => boolean) => {
    const f = fetches.filter((x) => test(x.path)).at(-1);
    steps.push({ step: what, ok: f?.status === 200, detail: f ? `${f.path}: ${f.status}` : "never asked for" });
    return f?.status === 200;
  };
  // Either byte order of the UUID: iPXE's ${uuid} may be the one the pxe formula links.
  const assignment = (p: string) => uuidForms(server.uuid).some((u) => p.startsWith(`/assignments/${u}/`));
  if (!fetched("boot script", (p) => p === "/boot.ipxe")) return steps;
  if (!fetched("server's boot script", (p) => assignment(p) && p.endsWith("/boot.ipxe"))) return steps;
  if (!fetched("kernel", (p) => p.startsWith("/images/") && p.endsWith("/vmlinuz"))) return steps;
  if (!fetched("initrd", (p) => p.startsWith("/images/") && p.endsWith("/initrd"))) return steps;
  const booted = result.said.find((s) => s.startsWith("booted"));
  steps.push({ step: "installer", ok: !!booted, detail: booted ?? `it said nothing (the machine ${result.end === "timeout" ? "timed out" : result.end})` });
  if (!booted) return steps;
  const net = result.said.find((s) => s.startsWith("network:") || s.startsWith("no NIC"));
  const netOk = !!net && /^network: (static|DHCP lease) /.test(net);
  steps.push({ step: "installer network", ok: netOk, detail: net ?? "not configured" });
  if (!netOk) return steps;
  const ud = result.said.find((s) => s.startsWith("fetch ") && s.includes("user-data"));
  const md = result.said.find((s) => s.startsWith("fetch ") && s.includes("meta-data"));
  const failedFetch = [md, ud].find((s) => s && !/: 200 /.test(s));
  const okData = !!ud && !failedFetch && result.userData !== undefined;
  steps.push({ step: "autoinstall data", ok: okData, detail: failedFetch ?? ud ?? md ?? "never asked for" });
  return steps;
}

/** One line: every link up to the first that failed, e.g. "DHCP lease ok; boot script: /boot.ipxe: 404". */
export function chainSummary(steps: ChainStep[]): string {
  const failed = steps.find((s) => !s.ok);
  if (!failed) return `installed over the network: ${steps.map((s) => s.step).join(", ")}`;
  return `stopped at ${failed.step}: ${failed.detail}`;
}
