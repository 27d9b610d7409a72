/**
 * Operator CLI over the same client the providers use:
 *
 *   npm run kinetic -- redfish discover <cidr>... [--port N] [--concurrency N] [--probe-timeout MS]
 *   npm run kinetic -- redfish boot-once <address> [--target Pxe] [--mode UEFI|Legacy] [--system ID]
 *   npm run kinetic -- redfish power-cycle <address> [--method ForceOffOn|ForceRestart|GracefulRestart] [--system ID]
 *   npm run kinetic -- redfish status <address>
 *
 * Common flags: --json (default: a table), --ca FILE (PEM bundle), --insecure, --legacy-ciphers,
 * --auth auto|session|basic, --timeout MS, --verbose. Credentials come from the environment only
 * (KINETIC_BMC_USER, KINETIC_BMC_PASSWORD): argv is visible to every user of the host via `ps`.
 */
import * as fs from "node:fs";
import { readBootOverride, setBootOnce } from "./boot";
import { AUTH_MODES, AuthMode, RedfishClient, RedfishClientOptions, withSession } from "./client";
import { discover } from "./discovery";
import { REDFISH_ERROR_CODES, RedfishError } from "./errors";
import { stderrLogger } from "./log";
import { describeService } from "./oem/vendor";
import { POWER_CYCLE_METHODS, PowerCycleMethod, powerCycle, powerState } from "./power";
import { listNics, listSystems, SystemSummary } from "./systems";
import { sameUuid } from "./uuid";

const USAGE = `usage: kinetic redfish <command> [flags]
  discover <cidr>...          scan ranges for BMCs; print UUID -> BMC, system, vendor
  boot-once <address>         set a one-time boot override (--target Pxe, --mode UEFI|Legacy)
  power-cycle <address>       reset and wait (--method ${POWER_CYCLE_METHODS.join("|")})
  status <address>            systems, power state and boot override of one BMC
flags: --json --ca FILE --ca-only --tofu --pin SHA256 --http --insecure --legacy-ciphers --auth ${AUTH_MODES.join("|")} --timeout MS
       --system ID|URI|UUID --port N --concurrency N --probe-timeout MS --verbose
credentials: KINETIC_BMC_USER and KINETIC_BMC_PASSWORD in the environment (never on the command line)`;

const BOOLEAN_FLAGS = new Set(["json", "insecure", "legacy-ciphers", "verbose", "help", "ca-only", "tofu", "http"]);
const VALUE_FLAGS = new Set(["ca", "pin", "auth", "timeout", "system", "port", "concurrency", "probe-timeout", "target", "mode", "method"]);

export interface ParsedArgs {
  command: string;
  positional: string[];
  flags: Record<string, string | true>;
}

function usage(message: string): RedfishError {
  return new RedfishError(REDFISH_ERROR_CODES.usage, `${message}\n${USAGE}`);
}

export function parseArgs(argv: string[]): ParsedArgs {
  const args = argv[0] === "redfish" ? argv.slice(1) : argv;
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (name === "password" || name === "user" || name === "token") {
      throw usage(`--${name} is not accepted: pass credentials in KINETIC_BMC_USER / KINETIC_BMC_PASSWORD`);
    }
    if (BOOLEAN_FLAGS.has(name)) flags[name] = true;
    else if (VALUE_FLAGS.has(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) throw usage(`--${name} needs a value`);
      flags[name] = v;
    } else throw usage(`unknown flag --${name}`);
  }
  const [command = "", ...rest] = positional;
  return { command, positional: rest, flags };
}

function num(flags: ParsedArgs["flags"], name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw usage(`--${name} must be a positive number`);
  return n;
}

function str(flags: ParsedArgs["flags"], name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

function connection(p: ParsedArgs, env: NodeJS.ProcessEnv): Omit<RedfishClientOptions, "address"> {
  const user = env.KINETIC_BMC_USER;
  const password = env.KINETIC_BMC_PASSWORD;
  if (!user || password === undefined) throw usage("set KINETIC_BMC_USER and KINETIC_BMC_PASSWORD");
  const auth = str(p.flags, "auth") ?? "auto";
  if (!AUTH_MODES.includes(auth as AuthMode)) throw usage(`--auth must be one of ${AUTH_MODES.join(", ")}`);
  const ca = str(p.flags, "ca");
  const timeout = num(p.flags, "timeout");
  return {
    user,
    password,
    auth: auth as AuthMode,
    allowHttp: p.flags.http === true,
    tls: {
      ...(ca ? { caBundle: fs.readFileSync(ca, "utf8") } : {}),
      insecure: p.flags.insecure === true,
      legacyCiphers: p.flags["legacy-ciphers"] === true,
      ...(p.flags["ca-only"] === true ? { verifyName: false } : {}),
      ...(p.flags.tofu === true ? { trustOnFirstUse: true } : {}),
      ...(str(p.flags, "pin") ? { pinSha256: str(p.flags, "pin")! } : {}),
    },
    ...(timeout ? { requestTimeoutMs: timeout } : {}),
    log: stderrLogger(p.flags.verbose === true),
  };
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

async function pickSystem(client: RedfishClient, selector: string | undefined): Promise<SystemSummary> {
  const systems = await listSystems(client);
  if (selector === undefined) {
    if (systems.length === 1) return systems[0];
    throw usage(`${client.bmc} manages ${systems.length} systems (${systems.map((s) => s.id).join(", ")}); choose one with --system`);
  }
  const hit = systems.find((s) => s.id === selector || s.uri === selector || sameUuid(s.uuid, selector));
  if (!hit) throw usage(`${client.bmc} has no system "${selector}"; it has ${systems.map((s) => `${s.id} (${s.uuid})`).join(", ")}`);
  return hit;
}

/** Run one CLI invocation; returns the exit code. Output goes to `out`, diagnostics to stderr. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<number> {
  const p = parseArgs(argv);
  const json = p.flags.json === true;
  const print = (value: unknown, text: () => string): void => out(json ? JSON.stringify(value, null, 2) + "\n" : text());
  switch (p.command) {
    case "discover": {
      if (p.positional.length === 0) throw usage("discover needs at least one CIDR");
      const c = connection(p, env);
      const port = num(p.flags, "port");
      const concurrency = num(p.flags, "concurrency");
      const probe = num(p.flags, "probe-timeout");
      const r = await discover({
        cidrs: p.positional,
        user: c.user!,
        password: c.password!,
        ...(c.tls ? { tls: c.tls } : {}),
        ...(p.flags.http === true ? { scheme: "http" as const } : {}),
        ...(p.flags.auth !== undefined ? { auth: c.auth! } : {}),
        ...(port ? { port } : {}),
        ...(concurrency ? { concurrency } : {}),
        ...(probe ? { probeTimeoutMs: probe } : {}),
        ...(c.requestTimeoutMs ? { requestTimeoutMs: c.requestTimeoutMs } : {}),
        ...(c.log ? { log: c.log } : {}),
      });
      print(r, () => {
        let s = table(
          ["UUID", "BMC", "SYSTEM", "VENDOR", "MODEL", "SERIAL", "POWER", "CERT SHA-256"],
          r.systems.map((x) => [x.uuid || "(no UUID)", x.address + (x.aliases?.length ? ` (also ${x.aliases.join(", ")})` : ""), x.systemUri, [x.vendor, x.product].filter(Boolean).join(" "), x.model, x.serialNumber, x.powerState, x.certSha256 ?? "(plain HTTP)"]),
        );
        if (r.credentialsProbablyWrong) s += `${r.credentialsRefused.length} of ${r.answered} BMCs refused the credentials: the password is probably wrong (KINETIC_BMC_USER / KINETIC_BMC_PASSWORD); the scan stopped sending them\n`;
        for (const a of r.ambiguous) s += `ambiguous ${a.reason} UUID ${a.uuid}: ${a.locations.map((l) => l.address + l.systemUri).join(", ")}\n`;
        for (const u of r.withoutUuid) {
          s += `no UUID: ${u.address}${u.systemUri} (${[u.manufacturer, u.model].filter(Boolean).join(" ") || "unknown model"}${u.serialNumber ? `, serial ${u.serialNumber}` : ""}): reports no SMBIOS UUID, so the pillar cannot name it\n`;
        }
        for (const f of r.failures) s += `failed ${f.address}: ${f.message}\n`;
        s += `${r.scanned} addresses in ${r.ranges.join(", ")}: ${r.systems.length} systems${r.withoutUuid.length ? ` (+${r.withoutUuid.length} without a UUID)` : ""}, ${r.failures.length} failed, ${r.refused} refused, ${r.silent} silent, ${(r.durationMs / 1000).toFixed(2)} s\n`;
        return s;
      });
      return r.failures.length > 0 || r.ambiguous.length > 0 || r.withoutUuid.length > 0 ? 2 : 0;
    }
    case "status": {
      const address = p.positional[0];
      if (!address) throw usage("status needs a BMC address");
      const result = await withSession({ ...connection(p, env), address }, async (client) => {
        const service = describeService(await client.serviceRoot());
        const systems = await listSystems(client);
        const withBoot = await Promise.all(
          systems.map(async (s) => ({
            ...s,
            boot: await readBootOverride(client, s.uri).catch((e: Error) => ({ target: "", enabled: `(${e.message})`, mode: "", readFrom: s.uri })),
            nics: await listNics(client, s).catch(() => []),
          })),
        );
        return { address: client.bmc, ...service, authentication: client.authentication, certSha256: client.certificateSha256 ?? "", systems: withBoot };
      });
      print(result, () =>
        `${result.address}: ${[result.vendor, result.product].filter(Boolean).join(" ") || "unknown vendor"} (${result.authentication} auth)` +
        `${result.certSha256 ? `, certificate SHA-256 ${result.certSha256}` : ", plain HTTP"}\n` +
        table(
          ["SYSTEM", "UUID", "MODEL", "SERIAL", "BIOS", "CPU", "MEMORY", "POWER", "OVERRIDE", "TARGET", "MODE", "MACS"],
          result.systems.map((s) => [
            s.uri, s.uuid || "(no UUID)", [s.manufacturer, s.model].filter(Boolean).join(" "), s.serialNumber, s.biosVersion,
            s.processors.count ? `${s.processors.count}x ${s.processors.model}`.trim() : "", s.memoryGiB ? `${s.memoryGiB} GiB` : "",
            s.powerState, s.boot.enabled, s.boot.target, s.boot.mode, s.nics.map((n) => `${n.id}=${n.mac}`).join(" "),
          ]),
        ),
      );
      return 0;
    }
    case "boot-once": {
      const address = p.positional[0];
      if (!address) throw usage("boot-once needs a BMC address");
      const target = str(p.flags, "target") ?? "Pxe";
      const mode = str(p.flags, "mode");
      const result = await withSession({ ...connection(p, env), address }, async (client) => {
        const system = await pickSystem(client, str(p.flags, "system"));
        const after = await setBootOnce(client, system.uri, { target, uuid: system.uuid, ...(mode ? { mode } : {}) });
        return { address: client.bmc, system: system.uri, uuid: system.uuid, ...after };
      });
      print(result, () =>
        `${result.address}${result.system} (${result.uuid}): next boot ${result.enabled} from ${result.target}${result.mode ? ` in ${result.mode} mode` : ""}\n` +
        (result.continuous ? `this BMC keeps no one-time override: every boot goes to ${result.target} until it is cleared (kinetic's power cycle clears it after the boot; by hand: boot-once --target Hdd)\n` : ""),
      );
      return 0;
    }
    case "power-cycle": {
      const address = p.positional[0];
      if (!address) throw usage("power-cycle needs a BMC address");
      const method = str(p.flags, "method") ?? "ForceOffOn";
      if (!POWER_CYCLE_METHODS.includes(method as PowerCycleMethod)) throw usage(`--method must be one of ${POWER_CYCLE_METHODS.join(", ")}`);
      const timeoutMs = num(p.flags, "timeout") ?? 600000;
      const result = await withSession({ ...connection(p, env), address }, async (client) => {
        const system = await pickSystem(client, str(p.flags, "system"));
        const resets = await powerCycle(client, system.uri, { method: method as PowerCycleMethod, uuid: system.uuid, timeoutMs, pollMs: 2000 });
        return { address: client.bmc, system: system.uri, uuid: system.uuid, resets, powerState: await powerState(client, system.uri) };
      });
      // A restart of a running server leaves PowerState "On" throughout: say what was sent and what is
      // seen, not that a reset has happened.
      print(result, () => `${result.address}${result.system} (${result.uuid}): sent ${result.resets.join(" -> ")}; PowerState ${result.powerState || "(not reported)"}\n`);
      return 0;
    }
    case "":
    case "help":
      out(USAGE + "\n");
      return p.command === "help" || p.flags.help === true ? 0 : 1;
    default:
      throw usage(`unknown command "${p.command}"`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = (e as { code?: string }).code === REDFISH_ERROR_CODES.usage ? 64 : 1;
    },
  );
}
