/**
 * `TrustedHostKey`: trust on first use for a foundation host whose pillar entry gives no host key
 * (only with the stack's explicit `kinetic:trustOnFirstUse: true`).
 *
 * `create` runs `ssh-keyscan` from the orchestrator once and records the key the host presents
 * (ed25519 preferred, then ECDSA, then RSA) in the resource's state; nothing else ever rescans:
 * `update` keeps the recorded key, and there is no `read`, so `pulumi refresh` keeps it too. Every
 * connection to the host pins the recorded key, so a later run against a host presenting another
 * key fails with the command provider's mismatch error before anything is sent. A changed address
 * is a different destination: it replaces the resource, i.e. a first use there.
 */
import * as pulumi from "@pulumi/pulumi";

/** Bump when the provider's behaviour changes so existing resources are updated by the new code. */
export const TRUSTED_HOST_KEY_VERSION = "1";

export interface TrustedHostKeyArgs {
  /** Endpoint name, for messages. */
  endpoint: pulumi.Input<string>;
  /** Address ssh-keyscan asks (the endpoint's management address). */
  host: pulumi.Input<string>;
  /** SSH port. Default 22. */
  port?: pulumi.Input<number>;
  /** Seconds ssh-keyscan may wait for the host. Default 10. */
  timeoutSeconds?: pulumi.Input<number>;
}

interface TrustedHostKeyInputs {
  endpoint: string;
  host: string;
  port: number;
  timeoutSeconds: number;
  providerVersion: string;
}

interface TrustedHostKeyOutputs extends TrustedHostKeyInputs {
  /** The recorded key, one `<type> <base64>` line. */
  hostKey: string;
  /** Its `SHA256:` fingerprint. */
  fingerprint: string;
  /** When it was first seen (ISO 8601). */
  recordedAt: string;
}

class TrustedHostKeyProvider implements pulumi.dynamic.ResourceProvider<TrustedHostKeyInputs, TrustedHostKeyOutputs> {
  async check(_olds: TrustedHostKeyInputs, news: TrustedHostKeyInputs): Promise<pulumi.dynamic.CheckResult<TrustedHostKeyInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    // The host goes on ssh-keyscan's command line (no shell): still refuse anything but an address or name.
    if (!/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(news.host)) failures.push({ property: "host", reason: `${JSON.stringify(news.host)} is not an address or host name` });
    if (!Number.isInteger(news.port) || news.port < 1 || news.port > 65535) failures.push({ property: "port", reason: `${news.port} is not a TCP port` });
    if (!Number.isInteger(news.timeoutSeconds) || news.timeoutSeconds < 1) failures.push({ property: "timeoutSeconds", reason: "must be a whole number of seconds, at least 1" });
    return { inputs: news, failures };
  }

  async diff(_id: string, olds: TrustedHostKeyOutputs, news: TrustedHostKeyInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = (["host", "port"] as const).filter((k) => olds[k] !== news[k]);
    const updates = (["endpoint", "timeoutSeconds", "providerVersion"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length + updates.length > 0, replaces };
  }

  async create(inputs: TrustedHostKeyInputs): Promise<pulumi.dynamic.CreateResult<TrustedHostKeyOutputs>> {
    // Serialized and run in the dynamic provider host: everything is required here (STYLE.md).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execFile } = require("node:child_process") as typeof import("node:child_process");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createHash } = require("node:crypto") as typeof import("node:crypto");
    const where = `${inputs.endpoint} at ${inputs.host} port ${inputs.port}`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "ssh-keyscan",
        ["-T", String(inputs.timeoutSeconds), "-p", String(inputs.port), "-t", "ed25519,ecdsa,rsa", "--", inputs.host],
        { timeout: (inputs.timeoutSeconds + 5) * 1000 * 3 },
        (err, stdout, stderr) => (err && !stdout ? reject(new Error(`trust on first use: ssh-keyscan ${where} failed: ${err.message} ${stderr}`.trim())) : resolve(stdout)),
      ),
    );
    const keys = out
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 3 && !f[0].startsWith("#"))
      .map((f) => `${f[1]} ${f[2]}`);
    const rank = (k: string) => ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"].indexOf(k.split(" ")[0]);
    const chosen = keys.filter((k) => rank(k) >= 0).sort((a, b) => rank(a) - rank(b))[0];
    if (!chosen) throw new Error(`trust on first use: ${where} presented no SSH host key (is sshd running there?)`);
    const fingerprint = `SHA256:${createHash("sha256").update(Buffer.from(chosen.split(" ")[1], "base64")).digest("base64").replace(/=+$/, "")}`;
    const outs: TrustedHostKeyOutputs = { ...inputs, hostKey: chosen, fingerprint, recordedAt: new Date().toISOString() };
    return { id: `${inputs.endpoint}/host-key`, outs };
  }

  /** Never rescans: the key recorded at first use stays the only one accepted. */
  async update(_id: string, olds: TrustedHostKeyOutputs, news: TrustedHostKeyInputs): Promise<pulumi.dynamic.UpdateResult<TrustedHostKeyOutputs>> {
    return { outs: { ...news, hostKey: olds.hostKey, fingerprint: olds.fingerprint, recordedAt: olds.recordedAt } };
  }
}

export class TrustedHostKey extends pulumi.dynamic.Resource {
  /** The key recorded at first use: pin it as `connection.hostKey`. */
  declare readonly hostKey: pulumi.Output<string>;
  declare readonly fingerprint: pulumi.Output<string>;
  declare readonly recordedAt: pulumi.Output<string>;

  constructor(name: string, args: TrustedHostKeyArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      trustedHostKeyProvider(),
      name,
      {
        endpoint: args.endpoint,
        host: args.host,
        port: args.port ?? 22,
        timeoutSeconds: args.timeoutSeconds ?? 10,
        providerVersion: TRUSTED_HOST_KEY_VERSION,
        hostKey: undefined,
        fingerprint: undefined,
        recordedAt: undefined,
      },
      opts,
      "ssh",
      "TrustedHostKey",
    );
  }
}

/** For tests: the provider object, as Pulumi serializes it (one instance, see powerCycle.ts). */
export function trustedHostKeyProvider(): pulumi.dynamic.ResourceProvider<TrustedHostKeyInputs, TrustedHostKeyOutputs> {
  return (cached ??= new TrustedHostKeyProvider());
}
let cached: TrustedHostKeyProvider | undefined;
