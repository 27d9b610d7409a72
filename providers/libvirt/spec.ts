/**
 * What one virtual endpoint's machine is made of, resolved from the pillar: the single input of the
 * domain XML, the cloud-init seed and the create/zeroize scripts. Everything a controller needs is in
 * here as plain values, so rendering is a pure function a test (or `plan --emit-domains`) can call.
 */
import type { Endpoint, HostType, Pillar } from "../../pillar/model";
import { LibvirtProblem, LibvirtSpecError } from "./errors";
import { deriveMac } from "./mac";

/** One NIC of the machine: a virtio interface on the controller's bridge for that network. */
export interface VirtualNic {
  /** Pillar network name (`hosts.<type>.networks.<name>`). */
  name: string;
  /** Guest interface name `ensN`; N is the PCI slot on bus 0 (see {@link interfaceSlot}). */
  interface: string;
  /** Controller bridge the NIC is plugged into: `<net>_br`. */
  bridge: string;
  /** Locally administered unicast MAC from {@link deriveMac}. */
  mac: string;
}

/** The machine definition of one virtual endpoint. */
export interface VirtualMachineSpec {
  /** `<type>-<uuid>`: libvirt domain name, directory under `/kvm/vms/` and guest host name. */
  name: string;
  /** libvirt domain UUID = the endpoint UUID = cloud-init instance-id. */
  uuid: string;
  /** Stack name; the MACs are derived from it. */
  stack: string;
  /** `<memory unit='KiB'>`, the pillar's `ram`. https://libvirt.org/formatdomain.html#memory-allocation */
  ramKiB: number;
  /** `<vcpu>`, the pillar's `cpu`. https://libvirt.org/formatdomain.html#cpu-allocation */
  vcpus: number;
  /** Size the disk is grown to, in `qemu-img resize` syntax (`32G`). */
  disk: string;
  /** Base image `/kvm/images/<os>-latest`. */
  os: string;
  /** One NIC per pillar network, in pillar order. */
  networks: VirtualNic[];
  /** How cloud-init configures the management NIC; the other NICs are the networking formula's. */
  management: { interface: string; address: string; prefixLength: number; gateway?: string; nameservers: string[] };
  /** The orchestrator's SSH public key(s), installed for root so the remote commands can log in. */
  sshAuthorizedKeys: string[];
  /**
   * The machine's SSH host key (ed25519, components/hostKeys.ts), written by cloud-init at first boot.
   * Set by the program just before the seed is rendered for the controller (the private half is a
   * secret there); absent in `plan --emit-domains`, whose seeds then carry no host key.
   */
  hostKey?: { publicKey: string; privateKey: string };
  /** Where the base image comes from (`images.<os>` of the pillar): only used to replace on change. */
  image?: { url: string; type: string };
  /** Controller endpoint that hosts the machine, for messages. */
  controller?: string;
}

/** Guest interface names a virtual type may use: `ensN`, N the decimal PCI slot without leading zero. */
const ENS = /^ens([1-9][0-9]?)$/;

/**
 * The PCI slot on bus 0 that makes the guest name a NIC `ensN`. With the i440fx machine every slot of
 * bus 0 is hot-pluggable and ACPI gives it a slot number (`_SUN`) equal to the slot, from which
 * systemd/udev build the name `ens<slot>`
 * (https://www.freedesktop.org/software/systemd/man/latest/systemd.net-naming-scheme.html).
 * Returns undefined when the name is not of that form.
 */
export function interfaceSlot(name: string): number | undefined {
  const m = ENS.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Build the spec of a virtual endpoint from the resolved pillar. The management interface is the
 * first interface of `networks.management`; its address is the endpoint's management address.
 * Throws {@link LibvirtSpecError} listing every problem.
 */
export function virtualMachineSpec(
  endpoint: Endpoint,
  hostType: HostType,
  pillar: Pillar,
  stack: string,
  sshPublicKeys: string[],
): VirtualMachineSpec {
  const problems: LibvirtProblem[] = [];
  const need = <T>(value: T | undefined, key: string): T | undefined => {
    if (value === undefined || value === null) problems.push({ propertyPath: `hosts.${hostType.name}.${key}`, reason: "is required for a virtual type" });
    return value;
  };
  if (endpoint.style !== "virtual") problems.push({ propertyPath: "style", reason: `is ${endpoint.style}, not virtual` });
  const ram = need(hostType.ram, "ram");
  const cpu = need(hostType.cpu, "cpu");
  const disk = need(hostType.disk, "disk");
  const os = need(hostType.os, "os");

  const networks: VirtualNic[] = [];
  for (const [net, spec] of Object.entries(hostType.networks)) {
    if (spec.interfaces.length !== 1) {
      // A bond of two virtio NICs on the same bridge buys nothing; the original never did it.
      problems.push({
        propertyPath: `hosts.${hostType.name}.networks.${net}.interfaces`,
        reason: `a virtual type needs exactly one interface per network, got ${spec.interfaces.length}`,
      });
      continue;
    }
    networks.push({ name: net, interface: spec.interfaces[0], bridge: `${net}_br`, mac: deriveMac(stack, endpoint.name, net) });
  }
  const mgmt = hostType.networks.management;
  if (!mgmt || mgmt.interfaces.length === 0) {
    problems.push({ propertyPath: `hosts.${hostType.name}.networks.management`, reason: "a virtual type needs a management interface" });
  }
  if (sshPublicKeys.length === 0) problems.push({ propertyPath: "sshAuthorizedKeys", reason: "the orchestrator needs at least one SSH public key to reach the machine" });
  if (problems.length) throw new LibvirtSpecError(endpoint.name, problems);

  return {
    name: endpoint.name,
    uuid: endpoint.uuid,
    stack,
    ramKiB: ram as number,
    vcpus: cpu as number,
    disk: disk as string,
    os: os as string,
    networks,
    management: {
      interface: mgmt.interfaces[0],
      address: endpoint.address,
      prefixLength: endpoint.prefixLength,
      ...(pillar.gateway ? { gateway: pillar.gateway } : {}),
      nameservers: [...pillar.nameservers],
    },
    sshAuthorizedKeys: [...sshPublicKeys],
    ...(pillar.images[os as string] ? { image: { ...pillar.images[os as string] } } : {}),
    ...(endpoint.controller ? { controller: endpoint.controller } : {}),
  };
}
