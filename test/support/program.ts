/**
 * Runs the Pulumi program under Pulumi's own mocks and records what it declares: every resource's
 * type, name, parent, `dependsOn` (captured with a stack transformation, because the mocks never see
 * it) and the serialized inputs exactly as they would reach the engine (secrets still wrapped).
 */
import * as pulumi from "@pulumi/pulumi";
import { EndpointOutput, kineticProgram, ProgramOptions } from "../../components/program";

export interface Captured {
  type: string;
  name: string;
  parent?: string;
  /** Names of the resources in `dependsOn`. */
  dependsOn: string[];
  /** Inputs as plain values (secrets unwrapped) as `newResource` received them. */
  inputs: Record<string, unknown>;
  /** Inputs as serialized for the engine: secrets are `{ "4dabf18193072939515e22adb298388d": "1b47...", value }`. */
  wire: Record<string, unknown>;
}

export const SECRETS = {
  sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-TEST-PRIVATE-KEY-MATERIAL\n-----END OPENSSH PRIVATE KEY-----\n",
  bmcPassword: "bmc-Pa55word-TEST",
  serviceSecret: "service-seed-TEST-9f8e7d",
};

export const BASE_CONFIG: Record<string, string> = {
  "kinetic:pillar": "pillar/sample",
  "kinetic:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITESTPUBLICKEY kinetic@test",
  "kinetic:sshPrivateKey": SECRETS.sshPrivateKey,
  "kinetic:bmcPassword": SECRETS.bmcPassword,
  "kinetic:serviceSecret": SECRETS.serviceSecret,
  // Set, as for every new stack, to the service secret's value: the keys of a stack migrated from
  // the fallback (README "SSH host keys"), so no test's keys changed when the fallback got a warning.
  "kinetic:hostKeySecret": SECRETS.serviceSecret,
};
const SECRET_KEYS = ["kinetic:sshPrivateKey", "kinetic:bmcPassword", "kinetic:serviceSecret", "kinetic:hostKeySecret"];

export interface RunOptions {
  config?: Record<string, string>;
  /** Keys of BASE_CONFIG to leave unset (e.g. a stack from before `kinetic:hostKeySecret`). */
  unset?: string[];
  dryRun?: boolean;
  stack?: string;
  program?: ProgramOptions;
  /** Run this module (the Pulumi entry point, `index.ts`) instead of calling `kineticProgram`. */
  entry?: string;
  /** Keep names and edges only (the benchmark): inputs are not retained, the mocks return no state. */
  light?: boolean;
}

export interface Run {
  resources: Captured[];
  byName: Map<string, Captured>;
  outputs: { endpoints: EndpointOutput[] };
  logs: { severity: string; message: string }[];
}

export async function runProgram(opts: RunOptions = {}): Promise<Run> {
  const byName = new Map<string, Captured>();
  const wires = new Map<string, Record<string, unknown>>();
  const inputs = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        if (opts.light) return { id: `${args.name}-id`, state: {} };
        inputs.set(args.name, args.inputs);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "kinetic",
    opts.stack ?? "dev",
    opts.dryRun ?? false,
  );
  const monitor = (pulumi.runtime as unknown as { getMonitor(): { registerResource: Function } }).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: { getName(): string; getObject(): { toJavaScript(): Record<string, unknown> } | undefined }, cb: unknown) => {
    if (!opts.light) wires.set(req.getName(), req.getObject()?.toJavaScript() ?? {});
    return register(req, cb);
  };
  const config: Record<string, string> = { ...BASE_CONFIG, ...opts.config };
  for (const k of opts.unset ?? []) delete config[k];
  pulumi.runtime.setAllConfig(config, SECRET_KEYS);

  const logs: Run["logs"] = [];
  const restore = captureLogs(logs);
  const pending: Promise<void>[] = [];
  let outputs: Run["outputs"] | undefined;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((t) => {
        const deps = t.opts.dependsOn;
        const record: Captured = { type: t.type, name: t.name, parent: t.opts.parent ? nameOf(t.opts.parent) : undefined, dependsOn: [], inputs: {}, wire: {} };
        byName.set(t.name, record);
        // dependsOn is an array of already-declared resources (the program never passes promises).
        pending.push(
          Promise.resolve(deps as pulumi.Input<pulumi.Input<pulumi.Resource>[]>).then(async (list) => {
            const arr = Array.isArray(list) ? list : list ? [list] : [];
            for (const r of arr) record.dependsOn.push(nameOf((await Promise.resolve(r)) as pulumi.Resource));
          }),
        );
        return undefined;
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      outputs = opts.entry ? { endpoints: require(opts.entry).endpoints } : kineticProgram(opts.program);
      return {};
    });
    await Promise.all(pending);
    // Registrations are asynchronous: drain the SDK's RPC queue so every resource reached the mocks.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  } finally {
    restore();
  }
  for (const [name, rec] of byName) {
    rec.inputs = inputs.get(name) ?? {};
    rec.wire = wires.get(name) ?? {};
  }
  return { resources: [...byName.values()], byName, outputs: outputs!, logs };
}

function captureLogs(into: Run["logs"]): () => void {
  const log = pulumi.log as unknown as Record<string, (m: string) => Promise<void>>;
  const saved = { info: log.info, warn: log.warn, error: log.error };
  for (const severity of ["info", "warn", "error"] as const) {
    log[severity] = (message: string) => {
      into.push({ severity, message });
      return Promise.resolve();
    };
  }
  return () => Object.assign(log, saved);
}

/** The logical name the SDK keeps on every resource (internal, but stable across SDK versions). */
function nameOf(r: pulumi.Resource): string {
  return (r as unknown as { __name: string }).__name;
}
