/** Realistic virtual endpoints for the libvirt tests, built through `virtualMachineSpec` like the program does. */
import { deriveHostKey } from "../../components/hostKeys";
import type { Endpoint, HostType, NetworkSpec, Pillar } from "../../pillar/model";
import { virtualMachineSpec, VirtualMachineSpec } from "../../providers/libvirt/spec";
import { hostType as baseHostType, pillarOf } from "../support/pillars";

/** Seed of the fixtures' generated SSH host keys (the program's is `kinetic:hostKeySecret`). */
export const HOST_KEY_SECRET = "fixture-host-key-secret";

/** The spec with the host key the program would set before rendering the seed. */
export function withHostKey(vm: VirtualMachineSpec): VirtualMachineSpec {
  return { ...vm, hostKey: deriveHostKey(HOST_KEY_SECRET, vm.name, "0") };
}

export const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkR0v8Gm1b7xJmUq2uT1cGx1nQ8f8cJ4m3vYt5bWZ2a kinetic@orchestrator";

const net = (iface: string): NetworkSpec => ({ interfaces: [iface], bridge: false, managed: true, addresses: [] });

export function hostType(name: string, networks: Record<string, string>, extra: Partial<HostType> = {}): HostType {
  return baseHostType(name, {
    count: 3,
    ram: 8388608,
    cpu: 4,
    disk: "32G",
    os: "ubuntu2204",
    networks: Object.fromEntries(Object.entries(networks).map(([n, i]) => [n, net(i)])),
    ...extra,
  });
}

export function pillar(types: HostType[]): Pillar {
  return pillarOf(types, {
    dir: "/nonexistent",
    subnets: { management: "10.100.0.0/22" },
    bmc: { user: "ADMIN" },
    images: { ubuntu2204: { url: "https://cloud-images.ubuntu.com/jammy/current/jammy-server-cloudimg-amd64.img", type: "url" } },
    gateway: "10.100.0.1",
    nameservers: ["10.100.0.10", "10.100.0.11"],
  });
}

export function endpoint(type: string, index: number, uuid: string, address: string): Endpoint {
  return { name: `${type}-${uuid}`, type, role: type, style: "virtual", index, uuid, controller: "controller-1f0c3a52-7d4e-4b8a-9c1d-2e3f4a5b6c7d", address, prefixLength: 22 };
}

/** keystone with four networks, as in the production pillar. */
export function keystoneSpec(stack = "dev", index = 0): VirtualMachineSpec {
  const t = hostType("keystone", { management: "ens3", public: "ens4", private: "ens5", sfe: "ens6" });
  const uuid = `6f1b2c3d-4e5f-5a6b-8c7d-8e9f0a1b2c${(0x3d + index).toString(16)}`;
  return withHostKey(virtualMachineSpec(endpoint("keystone", index, uuid, `10.100.0.${20 + index}`), t, pillar([t]), stack, [SSH_KEY]));
}

/**
 * A spec carrying hostile pillar strings where they reach the XML: the os name and the stack name
 * (both in the description). Network names become bridge names, which are validated instead.
 */
export function hostileSpec(networks: Record<string, string> = { management: "ens3", sbe: "ens9" }): VirtualMachineSpec {
  const t = hostType("mysql", networks, { os: "jammy<evil a='1'>&amp;\"]]>", disk: "16G" });
  return withHostKey(virtualMachineSpec(endpoint("mysql", 0, "0a1b2c3d-4e5f-5a6b-8c7d-8e9f0a1b2c3d", "10.100.0.30"), t, pillar([t]), "st'a<c>k", [SSH_KEY]));
}
