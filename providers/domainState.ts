/**
 * `DomainState`: what `pulumi refresh` knows of a VM. The domain itself is a `remote.Command`
 * (components/virtualMachine.ts), which has nothing to read back; this resource's `read` asks the
 * controller (`virsh domstate` over SSH, the controller's host key pinned):
 *
 * - a domain that is **missing** raises `generation`: the domain's command carries it in its
 *   triggers, so the next `up` replaces it (zeroize what is left, create from the seed, every phase
 *   of the machine again);
 * - a domain that exists but is not running (shut off for maintenance, paused on an I/O error,
 *   crashed) raises `starts` instead: the domain's command carries that in its create command line,
 *   so the next `up` runs the create script again in place, which starts (or resumes) the domain
 *   and never touches its disk. Its disk holds the machine's data: only an operator's rebuild may
 *   replace it (issue 21).
 *
 * `create` and `update` never connect; nothing is done on `destroy`.
 *
 * The provider supports no preview: the engine previews an update with the checked inputs as its
 * outputs, and an output missing there is unknown. `generation` and `starts` are in the domain
 * command's triggers and create line, so an unknown one made the preview of any update of this
 * resource (a new orchestrator key, a re-pinned controller, a new provider version) predict
 * replacing every VM, and the up gate refused a change that replaces nothing (issue 22). So both are
 * inputs too: `check` carries them over from the recorded inputs and `read` records them there, as
 * machineGeneration.ts does for the generation, and a preview shows the values the up keeps.
 */
import * as pulumi from "@pulumi/pulumi";

/** Bump when the provider's behaviour changes so existing resources are updated by the new code. */
// 2: `starts` in every state, `generation` and `starts` among the inputs. Stacks made before had
// `starts` absent, unknown in every preview, so each VM's domain command showed as an update and
// `kinetic rotate` refused; the update this bump causes records it (and previews as no change to
// any machine, see the header).
export const DOMAIN_STATE_VERSION = "2";

export interface DomainStateArgs {
  domain: pulumi.Input<string>;
  /** The controller: SSH address, port, user, the orchestrator's key, the controller's pinned host key. */
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  user: pulumi.Input<string>;
  privateKey: pulumi.Input<string>;
  hostKey?: pulumi.Input<string>;
  virshUri: pulumi.Input<string>;
}

interface DomainStateInputs {
  domain: string;
  host: string;
  port: number;
  user: string;
  privateKey: string;
  hostKey?: string;
  virshUri: string;
  providerVersion: string;
  /** Not the program's: carried over by `check` from the recorded inputs (see the header). */
  generation?: number;
  starts?: number;
}

interface DomainStateOutputs extends DomainStateInputs {
  /** Raised by each refresh that finds the domain missing. */
  generation: number;
  /** Raised by each refresh that finds the domain defined but not running (absent before issue 21: 0). */
  starts?: number;
  /** What the last refresh saw: running, shut off, missing, unreachable... */
  observed: string;
}

/** What the program sets; `generation` and `starts` come from the state. */
const PROGRAM_KEYS = ["domain", "host", "port", "user", "privateKey", "hostKey", "virshUri", "providerVersion"] as const;

class DomainStateProvider implements pulumi.dynamic.ResourceProvider<DomainStateInputs, DomainStateOutputs> {
  async check(olds: DomainStateInputs | undefined, news: DomainStateInputs): Promise<pulumi.dynamic.CheckResult<DomainStateInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    // Both go on a command line (no shell on our side, a shell on the controller's): names only.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(news.domain)) failures.push({ property: "domain", reason: `${JSON.stringify(news.domain)} is not a domain name` });
    if (!/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(news.host)) failures.push({ property: "host", reason: `${JSON.stringify(news.host)} is not an address or host name` });
    if (!/^[a-z0-9+]+:\/\/[A-Za-z0-9._/?=&:-]*$/.test(news.virshUri)) failures.push({ property: "virshUri", reason: `${JSON.stringify(news.virshUri)} is not a libvirt URI` });
    // A stack recorded before version 2 has neither in its inputs: 0, what nearly all of its
    // machines have (a machine re-created after drift has 1 or more in its outputs only, and its
    // preview shows a replacement that the update, which keeps the outputs' value, does not make).
    const carried = { generation: Number(olds?.generation ?? 0), starts: Number(olds?.starts ?? 0) };
    return { inputs: { ...news, ...carried }, failures };
  }

  async diff(_id: string, olds: DomainStateOutputs, news: DomainStateInputs): Promise<pulumi.dynamic.DiffResult> {
    return { changes: PROGRAM_KEYS.some((k) => olds[k] !== news[k]), replaces: [], deleteBeforeReplace: false };
  }

  async create(inputs: DomainStateInputs): Promise<pulumi.dynamic.CreateResult<DomainStateOutputs>> {
    return { id: `${inputs.domain}/state`, outs: { ...inputs, generation: 0, starts: 0, observed: "created" } };
  }

  async update(_id: string, olds: DomainStateOutputs, news: DomainStateInputs): Promise<pulumi.dynamic.UpdateResult<DomainStateOutputs>> {
    return { outs: { ...news, generation: olds.generation, starts: olds.starts ?? 0, observed: olds.observed } };
  }

  async read(id: string, recorded?: DomainStateOutputs): Promise<pulumi.dynamic.ReadResult<DomainStateOutputs>> {
    if (!recorded) throw new Error(`DomainState ${id}: nothing to read without the recorded state (import is not supported)`);
    // On refresh the provider host hands over the recorded outputs as they are stored: secret
    // values still wrapped ({<secret signature>: ..., value}). Read the values; return them as given.
    const SECRET_SIG = "4dabf18193072939515e22adb298388d";
    const plain = (v: unknown): unknown => (v && typeof v === "object" && SECRET_SIG in (v as object) ? (v as { value: unknown }).value : v);
    const props = Object.fromEntries(Object.entries(recorded).map(([k, v]) => [k, plain(v)])) as unknown as DomainStateOutputs;
    // The inputs too, so the next check carries what this refresh saw (see the header).
    const keep = (changes: Partial<DomainStateOutputs>) => {
      const seen = { generation: Number(props.generation ?? 0), starts: Number(props.starts ?? 0), ...changes };
      const inputs = { ...Object.fromEntries(PROGRAM_KEYS.filter((k) => k in recorded).map((k) => [k, recorded[k]])), generation: seen.generation, starts: seen.starts };
      // The SDK types a read's inputs as its outputs; these are the inputs, as check returns them.
      return { id, props: { ...recorded, ...seen }, inputs: inputs as unknown as DomainStateOutputs };
    };
    // Serialized and run in the dynamic provider host: everything is required here (STYLE.md).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execFile } = require("node:child_process") as typeof import("node:child_process");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("node:fs") as typeof import("node:fs");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const os = require("node:os") as typeof import("node:os");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path = require("node:path") as typeof import("node:path");
    if (!props.hostKey) return keep({ observed: "not checked (the controller's host key is not pinned)" });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-domstate-"));
    try {
      const key = path.join(dir, "key");
      fs.writeFileSync(key, props.privateKey.endsWith("\n") ? props.privateKey : `${props.privateKey}\n`, { mode: 0o600 });
      const known = path.join(dir, "known_hosts");
      fs.writeFileSync(known, `${props.port === 22 ? props.host : `[${props.host}]:${props.port}`} ${props.hostKey}\n`);
      const sudo = props.user === "root" ? "" : "sudo -n ";
      const remote = `LC_ALL=C ${sudo}virsh -q -c '${props.virshUri}' domstate '${props.domain}' 2>&1; echo "exit=$?"`;
      const args = ["-i", key, "-p", String(props.port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${known}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", `${props.user}@${props.host}`, remote];
      const out = await new Promise<string | undefined>((resolve) => execFile("ssh", args, { timeout: 60_000 }, (err, stdout) => resolve(err && !stdout.includes("exit=") ? undefined : stdout)));
      // The controller cannot be asked (off, unreachable): say so, change nothing; its own power drift shows on its PowerCycle.
      if (out === undefined) return keep({ observed: "unreachable" });
      const status = Number(/exit=(\d+)/.exec(out)?.[1] ?? "1");
      const text = out.replace(/exit=\d+\s*$/, "").trim();
      const observed = status === 0 ? text : /failed to get domain|Domain not found/i.test(text) ? "missing" : `unknown (${text.slice(0, 200)})`;
      if (observed === "running" || observed.startsWith("unknown")) return keep({ observed });
      if (observed === "missing") return keep({ observed, generation: Number(props.generation) + 1 });
      // Shut off, paused, crashed, suspended...: the machine and its disk are there; start it again.
      return keep({ observed, starts: Number(props.starts ?? 0) + 1 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

export class DomainState extends pulumi.dynamic.Resource {
  declare readonly generation: pulumi.Output<number>;
  declare readonly starts: pulumi.Output<number | undefined>;
  declare readonly observed: pulumi.Output<string>;

  constructor(name: string, args: DomainStateArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(domainStateProvider(), name, { ...args, privateKey: pulumi.secret(args.privateKey), providerVersion: DOMAIN_STATE_VERSION, generation: undefined, starts: undefined, observed: undefined }, opts, "libvirt", "DomainState");
  }
}

/** The provider object, as Pulumi serializes it (one instance, see powerCycle.ts). */
export function domainStateProvider(): pulumi.dynamic.ResourceProvider<DomainStateInputs, DomainStateOutputs> {
  return (cached ??= new DomainStateProvider());
}
let cached: DomainStateProvider | undefined;
