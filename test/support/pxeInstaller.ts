/**
 * The engine tests' physical server: a pillar of one pxe host and one physical storage server, and
 * the test's stand-in for the network install. The stub `pxe/configure` keeps the host keys it was
 * given (PXE_HOST_KEYS) in a file; on each PXE boot the BMC simulator records, the installer starts
 * the server's sshd with the key that file holds for its UUID, as the real install's cloud-init
 * would. No data for the UUID: the server never comes up, as in life.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { SystemSnapshot } from "../../simulator/types";
import { startSshd, TestSshd } from "./sshd";

export interface ServerPillar {
  /** The first three octets of the management network (`127.0.76`: a /24). */
  management: string;
  /** The BMCs' network (e.g. `127.20.0.56/29`). */
  oob: string;
  pxeAddress: string;
  pxeKey: string;
  uuid: string;
  clientKey: string;
  /** `stacks: [<rack>]` and the server in it. */
  rack?: string;
}

export function writeServerPillar(dir: string, p: ServerPillar): void {
  fs.writeFileSync(
    path.join(dir, "environment.yaml"),
    `networking:
  subnets:
    management: ${p.management}.0/24
    oob: ${p.oob}
  gateway: ${p.management}.1
  nameservers: [${p.management}.1]
bmc:
  api_user: admin
authorized_keys:
  - ${p.clientKey}
timezone: UTC
ntp:
  ntp_server: ${p.management}.1
${p.rack ? `stacks: [${p.rack}]\n` : ""}`,
  );
  fs.writeFileSync(
    path.join(dir, "hosts.yaml"),
    `hosts:
  pxe:
    style: foundation
    addresses: [${p.pxeAddress}]
    host_keys: [${p.pxeKey}]
    networks:
      management:
        interfaces: [eth0]
  storage:
    style: physical
${p.rack ? `    stack: ${p.rack}\n` : ""}    uuids: [${p.uuid}]
    interface: eno1
    disk: QEMU HARDDISK
    os: ubuntu2204
    networks:
      management:
        interfaces: [eno1]
`,
  );
}

/** The stub `pxe/configure` that keeps PXE_HOST_KEYS in `hostKeysFile` (mode 0600). */
export function keepingPxeConfigure(hostKeysFile: string): string {
  return `#!/usr/bin/env bash\n# kinetic-uses: NAME PXE_HOST_KEYS\nset -euo pipefail\numask 077; printf '%s\\n' "$KINETIC_PXE_HOST_KEYS" > ${hostKeysFile}\n`;
}

export interface Installer {
  /** The public key given to the server at each install, in order. */
  readonly installed: string[];
  /** Its sshd now (undefined before the first install or after `stopServer`). */
  server(): TestSshd | undefined;
  /** The server goes down (its sshd stops); the next PXE boot installs it again. */
  stopServer(): Promise<void>;
  /** A BMC started anew counts its boots from zero again. */
  newBmc(): void;
  stop(): Promise<void>;
}

export function startInstaller(o: { system: () => SystemSnapshot | undefined; uuid: string; hostKeysFile: string; address: string; port: number; authorizedKey: string }): Installer {
  let seen = 0;
  let server: TestSshd | undefined;
  const installed: string[] = [];
  const timer = setInterval(() => {
    const boots = o.system()?.boots.filter((b) => b.target === "Pxe");
    if (!boots || boots.length <= seen || !fs.existsSync(o.hostKeysFile)) return;
    seen = boots.length;
    const line = fs.readFileSync(o.hostKeysFile, "utf8").split("\n").find((l) => l.toLowerCase().startsWith(o.uuid));
    if (!line) return;
    const [, publicKey, privateB64] = line.split("\t");
    void (async () => {
      await server?.stop();
      server = await startSshd(Buffer.from(privateB64, "base64").toString("utf8"), o.address, o.port, { authorizedKey: o.authorizedKey });
      installed.push(publicKey);
    })();
  }, 200);
  return {
    installed,
    server: () => server,
    async stopServer() {
      await server?.stop();
      server = undefined;
    },
    newBmc() {
      seen = 0;
    },
    async stop() {
      clearInterval(timer);
      await server?.stop();
    },
  };
}
