/**
 * What the lab builds for a pillar: the lab's networks, the foundation hosts it installs itself
 * (as an operator would have), the physical servers behind simulated BMCs, and nothing for the
 * virtual endpoints (they appear when a controller's libvirt starts their domains).
 */
import { addressesOf } from "../simulator/pki";
import { loadCloud } from "../pillar";
import { LabBridge } from "./network";
import { labServerMac } from "./pxeBoot";

export interface FoundationSpec {
  name: string;
  role: string;
  address: string;
  prefixLength: number;
  ifname: string;
}

export interface PhysicalSpec {
  /** The lab's name for the server before anything is installed on it: `srv-<uuid>`. */
  name: string;
  uuid: string;
  role: string;
  /** The pillar endpoint name (what its hostname becomes once installed). */
  endpoint: string;
  bmcAddress: string;
  /** NIC cabled to the management network (the pillar's PXE interface), and its MAC (labServerMac). */
  ifname: string;
  mac: string;
  /** The pillar's `os`: the pxe host serves its installer under images/<os>/ (the lab's, here). */
  os: string;
  /** The pillar's `osd_disks`: data disks the lab attaches to the server (lab/osdDisks.ts). */
  osdDisks: string[];
}

export interface LabSpec {
  pillarDir: string;
  bridges: LabBridge[];
  foundations: FoundationSpec[];
  physicals: PhysicalSpec[];
  /** pxe foundation host's address: where the installer fetches autoinstall data. */
  pxeAddress?: string;
  /** Role of each virtual endpoint by name, for the status table. */
  virtualRoles: Map<string, string>;
  /** The pillar's base images: the lab's mirror serves one per name. */
  images: Record<string, { url: string }>;
}

export function labSpec(pillarDir: string, stack: string): LabSpec {
  const cloud = loadCloud(pillarDir, { stack });
  const { pillar } = cloud;
  const mgmt = pillar.subnets.management;
  if (!mgmt) throw new Error(`${pillarDir}: the lab needs networking.subnets.management`);
  const prefix = Number(mgmt.split("/")[1]);
  const bridges: LabBridge[] = [{ network: "management", ...(pillar.gateway ? { gateway: `${pillar.gateway}/${prefix}` } : {}) }];
  for (const t of Object.values(pillar.hosts)) {
    for (const net of Object.keys(t.networks)) if (!bridges.some((b) => b.network === net)) bridges.push({ network: net });
  }
  const oob = pillar.subnets.oob;
  const physicalEndpoints = cloud.endpoints.filter((e) => e.style === "physical");
  const bmcAddresses = oob ? addressesOf(oob).slice(1, -1) : [];
  if (physicalEndpoints.length && !oob) throw new Error(`${pillarDir}: physical hosts need networking.subnets.oob for their BMCs`);
  if (physicalEndpoints.length > bmcAddresses.length) throw new Error(`${pillarDir}: ${physicalEndpoints.length} physical servers but only ${bmcAddresses.length} addresses in oob ${oob}`);
  for (const a of bmcAddresses.slice(0, physicalEndpoints.length)) {
    if (!a.startsWith("127.")) throw new Error(`${pillarDir}: the lab's BMCs listen on the lab namespace's loopback: oob must be a 127.x subnet, got ${oob}`);
  }
  const foundations = cloud.endpoints
    .filter((e) => e.style === "foundation")
    .map((e) => {
      const t = pillar.hosts[e.type];
      return { name: e.name, role: e.role, address: e.address, prefixLength: e.prefixLength, ifname: t.networks.management?.interfaces[0] ?? "eth0" };
    });
  const physicals = physicalEndpoints.map((e, i) => ({
    name: `srv-${e.uuid}`,
    uuid: e.uuid,
    role: e.role,
    endpoint: e.name,
    bmcAddress: bmcAddresses[i],
    ifname: pillar.hosts[e.type].interface ?? "eno1",
    mac: labServerMac(e.uuid),
    os: pillar.hosts[e.type].os ?? "",
    osdDisks: pillar.hosts[e.type].osdDisks ?? [],
  }));
  return {
    pillarDir,
    bridges,
    foundations,
    physicals,
    pxeAddress: foundations.find((f) => f.role === "pxe")?.address,
    virtualRoles: new Map(cloud.endpoints.filter((e) => e.style === "virtual").map((e) => [e.name, e.role])),
    images: pillar.images,
  };
}
