/** A scratch `formulas/` tree with a trivial script for every role the test pillars use. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export function stubFormulas(roles: string[] = ALL_ROLES, extra: Record<string, string> = {}, configureUses = "NAME INDEX ADDRESSES_*"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-formulas-"));
  const write = (label: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, label)), { recursive: true });
    fs.writeFileSync(path.join(dir, label), text);
  };
  const script = (uses: string) => `#!/usr/bin/env bash\n# kinetic-uses: ${uses}\nset -euo pipefail\necho ok\n`;
  write("common/base", script("NAME TIMEZONE NTP_SERVERS AUTHORIZED_KEYS"));
  write("common/networking", script("NAME NETWORKS NET_*"));
  for (const r of roles) {
    write(`${r}/install`, script("NAME ROLE"));
    write(`${r}/configure`, script(configureUses));
  }
  // The pxe hosts' step after each physical server's install (components/pxeInstalled.ts).
  if (roles.includes("pxe")) write("pxe/installed", script("PXE_INSTALLED_UUID"));
  for (const [label, text] of Object.entries(extra)) write(label, text);
  return dir;
}

export const ALL_ROLES = [
  "pxe", "controller", "storage", "compute", "container", "cache", "haproxy", "cephmon", "etcd", "mysql", "rabbitmq",
  "memcached", "bind", "mds", "opensearch", "ovsdb", "guacamole", "horizon", "keystone", "glance", "nova", "neutron",
  "network", "heat", "cinder", "volume", "designate", "swift", "zun", "placement", "barbican", "magnum", "sahara",
  "manila", "share",
];
