/**
 * The controller-side scripts of a virtual endpoint and the values they read.
 *
 * The scripts live in `scripts/*.sh` (readable and shellcheck-able as shell) and run through the
 * formula envelope ({@link formulaCommand}): the command line is constant text and base64, and every
 * value, the domain XML and the seed files included, travels on stdin and becomes `KINETIC_<NAME>`,
 * so no pillar string is ever parsed by a shell.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeValues, FormulaValues, formulaCommand } from "../../components/formulaEnvelope";
import { renderSeed } from "./cloudInit";
import { DEFAULT_PATHS, DomainPaths, renderDomainXml } from "./domainXml";
import { VirtualMachineSpec } from "./spec";

/** Create: disk, seed, `virsh define`/`start`/`autostart`, wait for SSH. */
export const CREATE_SCRIPT = readFileSync(join(__dirname, "scripts", "create.sh"), "utf8");
/** Zeroize: `virsh destroy`/`undefine --nvram`, remove `/kvm/vms/<name>/` and the console log. */
export const ZEROIZE_SCRIPT = readFileSync(join(__dirname, "scripts", "zeroize.sh"), "utf8");

/** Default bound of the SSH wait after `virsh start`, in seconds. */
export const DEFAULT_SSH_TIMEOUT_SECONDS = 600;

/** Where and how the scripts run; everything but `controller` has a production default. */
export interface ScriptOptions extends Partial<DomainPaths> {
  /** Controller endpoint name, for messages (a timeout names the endpoint and its controller). */
  controller: string;
  /** libvirt connection URI (https://libvirt.org/uri.html). Default `qemu:///system`. */
  virshUri?: string;
  /** Bound of the SSH wait in seconds; 0 skips the wait. Default {@link DEFAULT_SSH_TIMEOUT_SECONDS}. */
  sshTimeoutSeconds?: number;
  /** Address probed for the SSH banner. Default: the management address. */
  sshAddress?: string;
  /** Port probed for the SSH banner. Default 22. */
  sshPort?: number;
  /** Seconds between SSH probes. Default 2. */
  pollSeconds?: number;
}

/**
 * All values both scripts read (the zeroize script uses a subset). One set serves both because
 * `remote.Command` sends the same stdin to its create and delete commands.
 */
export function machineValues(vm: VirtualMachineSpec, opts: ScriptOptions): FormulaValues {
  const paths: DomainPaths = { kvmRoot: opts.kvmRoot ?? DEFAULT_PATHS.kvmRoot, logDir: opts.logDir ?? DEFAULT_PATHS.logDir };
  const seed = renderSeed(vm);
  return {
    NAME: vm.name,
    CONTROLLER: opts.controller,
    OS: vm.os,
    DISK: vm.disk,
    KVM_ROOT: paths.kvmRoot,
    LOG_DIR: paths.logDir,
    VIRSH_URI: opts.virshUri ?? "qemu:///system",
    DOMAIN_XML: renderDomainXml(vm, paths),
    USER_DATA: seed["user-data"],
    META_DATA: seed["meta-data"],
    NETWORK_CONFIG: seed["network-config"],
    SSH_ADDRESS: opts.sshAddress ?? vm.management.address,
    SSH_PORT: String(opts.sshPort ?? 22),
    SSH_TIMEOUT: String(opts.sshTimeoutSeconds ?? DEFAULT_SSH_TIMEOUT_SECONDS),
    POLL_INTERVAL: String(opts.pollSeconds ?? 2),
  };
}

/** The stdin of both commands. */
export function machineStdin(vm: VirtualMachineSpec, opts: ScriptOptions): string {
  return encodeValues(machineValues(vm, opts));
}

/** The create command line (constant text and base64 only). */
export function createCommand(opts: { sudo?: boolean } = {}): string {
  return formulaCommand("libvirt/create", CREATE_SCRIPT, opts);
}

/** The zeroize command line (constant text and base64 only). */
export function zeroizeCommand(opts: { sudo?: boolean } = {}): string {
  return formulaCommand("libvirt/zeroize", ZEROIZE_SCRIPT, opts);
}
