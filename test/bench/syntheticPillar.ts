/** A pillar of exactly `total` endpoints shaped like the sample (physical majority on top, 30 virtual types). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { uuidv5 } from "../../pillar/uuid";

const VIRTUAL_TYPES = [
  "cache", "haproxy", "cephmon", "etcd", "mysql", "rabbitmq", "memcached", "bind", "mds", "opensearch", "ovsdb", "guacamole",
  "horizon", "keystone", "glance", "nova", "neutron", "network", "heat", "cinder", "volume", "designate", "swift", "zun",
  "placement", "barbican", "magnum", "sahara", "manila", "share",
];

/**
 * `racks`: the same endpoints as `racks` rack stacks (README "Stacks per site and per rack"): the
 * site holds the pxe server; rack r a controller type of its own, its share of the storage and
 * compute servers, and every racks-th virtual type, on its controllers. Needs within a rack only
 * (the defaults would join racks): virtual types need their rack's controller, physical ones pxe.
 */
export function syntheticPillar(total: number, opts: { racks?: number } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kinetic-synthetic-${total}-`));
  const physical = Math.floor((total - 1) / 2);
  const virtual = total - 1 - physical;
  const uuids = (type: string, n: number) => Array.from({ length: n }, (_, i) => uuidv5(`synthetic/${type}/${i}`).toUpperCase());
  const controllers = Math.max(1, Math.round(physical / 50));
  const storage = Math.round((physical - controllers) / 2);
  const compute = physical - controllers - storage;
  const mgmt = { management: { interfaces: ["ens1f0"] } };
  const hosts: Record<string, unknown> = {
    // A foundation host's SSH host key is pinned in the pillar (the program refuses an unknown one); the sample's.
    pxe: { style: "foundation", addresses: ["10.0.0.2"], host_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEoO2Y8zAIhp1f4TUjWOUu0P4E1oEZJJQO3qs9erZsdY"], networks: mgmt },
    controller: { style: "physical", role: "controller", uuids: uuids("controller", controllers), interface: "ens1f0", disk: "SSD", os: "ubuntu2204", networks: { management: { interfaces: ["ens1f0"], bridge: true } } },
    storage: { style: "physical", role: "storage", uuids: uuids("storage", storage), interface: "ens1f0", disk: "SSD", os: "ubuntu2204", networks: mgmt },
    compute: { style: "physical", role: "compute", uuids: uuids("compute", compute), interface: "ens1f0", disk: "SSD", os: "ubuntu2204", networks: mgmt },
  };
  VIRTUAL_TYPES.forEach((t, i) => {
    const count = Math.floor(virtual / VIRTUAL_TYPES.length) + (i < virtual % VIRTUAL_TYPES.length ? 1 : 0);
    hosts[t] = { style: "virtual", count, ram: 4194304, cpu: 2, disk: "32G", os: "ubuntu", networks: { management: { interfaces: ["ens3"] } } };
  });
  if (opts.racks) rack(hosts, opts.racks);
  const doc = {
    ...(opts.racks ? { stacks: Array.from({ length: opts.racks }, (_, r) => `rack${r}`) } : {}),
    networking: { subnets: { management: "10.0.0.0/16", oob: "10.1.0.0/22" }, gateway: "10.0.0.1" },
    images: { ubuntu: { url: "https://images.example/ubuntu.img", type: "qcow2" } },
    // Physical types need the BMC account (the validator refuses them without it); its password is a stack secret.
    bmc: { api_user: "kinetic" },
    hosts,
  };
  fs.writeFileSync(path.join(dir, "pillar.yaml"), stringify(doc));
  return dir;
}

/** Splits the one-stack hosts into racks, in place (see syntheticPillar). */
function rack(hosts: Record<string, unknown>, racks: number): void {
  const share = <T>(list: T[], r: number) => list.filter((_, i) => i % racks === r);
  const physical = ["controller", "storage", "compute"].map((t) => [t, hosts[t] as { uuids: string[] }] as const);
  if (physical[0][1].uuids.length < racks) throw new Error(`${racks} racks need a controller each; this pillar has ${physical[0][1].uuids.length} (about one per 100 endpoints)`);
  for (const [t] of physical) delete hosts[t];
  for (let r = 0; r < racks; r++) {
    for (const [t, h] of physical) {
      const uuids = share(h.uuids, r);
      if (uuids.length) hosts[`${t}r${r}`] = { ...h, role: t, uuids, stack: `rack${r}`, needs: { configure: { pxe: "configure" } } };
    }
  }
  VIRTUAL_TYPES.forEach((t, i) => {
    const r = i % racks;
    hosts[t] = { ...(hosts[t] as object), stack: `rack${r}`, needs: { base: null, networking: null, install: null, configure: { [`controllerr${r}`]: "configure" } } };
  });
}
