/**
 * The resolved pillar: what the loader and validator hand to the rest of the program.
 * Vocabulary follows the original Kinetic pillar (gacybercenter/kinetic), see README.
 */

/** Ordered formula phases. A type "reaches" a phase when that phase's formula has finished. */
export const PHASES = ["base", "networking", "install", "configure"] as const;
export type Phase = (typeof PHASES)[number];

/** How an endpoint comes to run an OS before the formula phases. */
export const STYLES = ["physical", "virtual", "foundation"] as const;
export type Style = (typeof STYLES)[number];

/** Networks the original knows; `oob` is the BMC network scanned by Redfish discovery. */
export const SUBNETS = ["management", "public", "private", "sfe", "sbe", "oob"] as const;
export type SubnetName = (typeof SUBNETS)[number];

/** `needs.<phase>.<dependency type>: <phase the dependency must have reached or passed>` */
export type Needs = Partial<Record<Phase, Record<string, Phase>>>;

/** `hosts.<type>.networks.<net>`; see systemd.network(5) for what the formulas render. */
export interface NetworkSpec {
  /** NIC names; more than one means an 802.3ad bond. For virtual types `ensN` fixes PCI slot N. */
  interfaces: string[];
  /** Put a bridge `<net>_br` on top of the interface or bond. Default false. */
  bridge: boolean;
  /** Whether the networking formula writes files for this network. Default true. */
  managed: boolean;
  /** Static `address/prefix` per endpoint index; unset entries use DHCP (none on `public`). */
  addresses: string[];
}

export interface HostType {
  /** The key under `hosts`. */
  name: string;
  style: Style;
  enabled: boolean;
  /** Formulas applied: `formulas/<role>/{install,configure}`. Virtual types: defaults to the type name. */
  role: string;
  /** physical: SMBIOS UUIDs, lower case, in pillar order. */
  uuids: string[];
  /** physical: PXE NIC. */
  interface?: string;
  /** physical: disk model for the OS install; virtual: size such as `32G`. */
  disk?: string;
  /** virtual: number of endpoints. physical/foundation: derived from uuids/addresses. */
  count: number;
  /** virtual: memory in KiB. */
  ram?: number;
  /** virtual: vCPUs. */
  cpu?: number;
  /** virtual and physical: OS image name, base image `/kvm/images/<os>-latest` for virtual. */
  os?: string;
  /** physical: the disks that become Ceph OSDs (`osd_disks`, role storage), /dev paths. */
  osdDisks?: string[];
  /** physical: `BootSourceOverrideMode` to request; unset leaves the BMC's mode alone. */
  bootMode?: "UEFI" | "Legacy";
  /**
   * Management addresses pinned by the pillar, by endpoint index. For foundation hosts (which
   * already run an OS) these are required and there is one endpoint per address.
   */
  addresses: string[];
  /**
   * foundation: SSH host public key per address (same index), `""` where the pillar gives none.
   * Absent when the pillar gives no key at all.
   */
  hostKeys?: string[];
  networks: Record<string, NetworkSpec>;
  /**
   * `stack`: the rack stack this type's endpoints live in (pillar/stacks.ts); absent: the site stack.
   * A virtual type's VMs run on controllers of the same stack.
   */
  stack?: string;
  /** Effective needs: defaults merged with the pillar's, already validated. */
  needs: Needs;
}

export interface Pillar {
  /** Directory the pillar was read from. */
  dir: string;
  hosts: Record<string, HostType>;
  /** `stacks`: the rack stacks the pillar names, in order; empty: everything in the one site stack. */
  stacks?: string[];
  subnets: Partial<Record<SubnetName, string>>;
  bmc: { user: string };
  authorizedKeys: string[];
  timezone: string;
  ntp: { servers: string[]; fallback: string[] };
  images: Record<string, { url: string; type: string }>;
  /** Default route and resolvers handed to virtual endpoints' cloud-init and to formulas. */
  gateway?: string;
  nameservers: string[];
  domain?: string;
  /** rsyslog forwarding target, e.g. `udp://192.0.2.10:514`; absent: no forwarding. */
  syslog?: string;
  /** Notes for the operator that are not errors (e.g. a default need dropped because its type is absent). */
  notes: string[];
}

/** One machine the program manages. */
export interface Endpoint {
  /** `<type>-<uuid>`: the Pulumi component name and the host name. */
  name: string;
  type: string;
  role: string;
  style: Style;
  /** Position within its type; endpoint 0 runs one-time cluster initialisation ("spawning 0"). */
  index: number;
  /** Lower-case UUID: SMBIOS (physical), derived UUIDv5 (virtual and foundation). */
  uuid: string;
  /** virtual: name of the controller endpoint that hosts it. */
  controller?: string;
  /** Management address without prefix length. */
  address: string;
  /** Prefix length of the management subnet. */
  prefixLength: number;
}
