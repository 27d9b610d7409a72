import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { deriveHostKey, generatedHostKey } from "../../components/hostKeys";
import { definitionHash, replacingHash, VirtualMachine } from "../../components/virtualMachine";
import { createCommand, CREATE_SCRIPT, zeroizeCommand, ZEROIZE_SCRIPT } from "../../providers/libvirt/scripts";
import { VirtualMachineSpec } from "../../providers/libvirt/spec";
import { keystoneSpec } from "./fixtures";

interface Seen {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const output = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply((v) => resolve(v)));
/** A secret input as the mocks receive it: `{ <secret signature>: "1b47061264138c4ac30d75fd1eb44270", value }`. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const secretValue = (v: unknown): string => {
  assert.ok(v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG], `expected a secret, got ${typeof v}`);
  return (v as { value: string }).value;
};
const decodeStdin = (stdin: unknown): Record<string, string> =>
  Object.fromEntries(secretValue(stdin).split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), Buffer.from(l.slice(l.indexOf("=") + 1), "base64").toString("utf8")]));
/** The script a command line carries: envelope runner (base64) -> script (base64). */
const scriptOf = (cmd: string): string => {
  const runner = Buffer.from(/printf %s '([A-Za-z0-9+/=]+)'/.exec(cmd)?.[1] ?? "", "base64").toString("utf8");
  return Buffer.from(/printf %s '([A-Za-z0-9+/=]+)' \| base64 -d > "\$work\/script"/.exec(runner)?.[1] ?? "", "base64").toString("utf8");
};

const HOST_KEY_SECRET = "host-key-secret-TEST";

describe("VirtualMachine component (kinetic:libvirt:Domain) under Pulumi mocks", () => {
  const seen: Seen[] = [];
  const transformed: pulumi.ResourceTransformationArgs[] = [];

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          seen.push({ type: args.type, name: args.name, inputs: args.inputs });
          return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "up" } };
        },
        call: () => ({}),
      },
      "kinetic",
      "dev",
      false,
    );
  });

  async function declare(name: string, spec: VirtualMachineSpec, extra: Partial<ConstructorParameters<typeof VirtualMachine>[1]> = {}) {
    const vm = new VirtualMachine(
      name,
      {
        spec,
        hostKey: generatedHostKey(pulumi.secret(HOST_KEY_SECRET), spec.name, definitionHash(spec)),
        connection: { host: "10.100.0.2", user: "root", privateKey: pulumi.secret("KEY") },
        controller: "controller-1",
        ...extra,
      },
      { transformations: [(a) => void transformed.push(a)] },
    );
    const ready = await output(vm.ready);
    await output(vm.domain.urn);
    return { vm, ready, command: seen.find((s) => s.name === `${name}-domain`) };
  }

  it("declares one remote.Command child that creates with the create script and deletes with zeroize", async () => {
    const spec = keystoneSpec();
    const { ready, command } = await declare("vm-a", spec);
    assert.equal(ready, spec.name);
    assert.ok(seen.some((s) => s.type === "kinetic:libvirt:Domain" && s.name === "vm-a"), JSON.stringify(seen.map((s) => s.type)));
    assert.ok(command, "the command was registered");
    assert.equal(command.type, "command:remote:Command");
    assert.equal(command.inputs.create, createCommand());
    assert.equal(command.inputs.delete, zeroizeCommand());
    assert.equal(scriptOf(command.inputs.create as string), CREATE_SCRIPT);
    assert.equal(scriptOf(command.inputs.delete as string), ZEROIZE_SCRIPT);
    const key = deriveHostKey(HOST_KEY_SECRET, spec.name, definitionHash(spec));
    // The public key is in the trigger: whatever changes the key makes a new machine.
    assert.deepEqual(command.inputs.triggers, [definitionHash(spec), key.publicKey]);
    const values = decodeStdin(command.inputs.stdin);
    assert.equal(values.HOST_KEY, key.publicKey);
    assert.ok(values.USER_DATA.includes("ssh_keys:") && values.USER_DATA.includes(key.publicKey), "the seed carries the host key");
    assert.equal(values.NAME, spec.name);
    assert.equal(values.CONTROLLER, "controller-1");
    assert.equal(values.KVM_ROOT, "/kvm");
    assert.equal(values.LOG_DIR, "/var/log/libvirt");
    assert.equal(values.VIRSH_URI, "qemu:///system");
    assert.equal(values.SSH_ADDRESS, spec.management.address);
    assert.equal(values.SSH_TIMEOUT, "600");
    assert.match(values.DOMAIN_XML, new RegExp(`<name>${spec.name}</name>`));
    assert.match(values.USER_DATA, /^#cloud-config\n/);
  });

  it("the child is parented to the component and replaced delete-first (the name must stay)", async () => {
    const { vm } = await declare("vm-b", keystoneSpec());
    const child = transformed.find((t) => t.name === "vm-b-domain");
    assert.ok(child);
    assert.equal(child.type, "command:remote:Command");
    assert.equal((child.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true);
    assert.equal(child.opts.parent, vm);
  });

  it("sudo and the SSH timeout reach the command", async () => {
    const { command } = await declare("vm-c", keystoneSpec(), { sudo: true, sshTimeoutSeconds: 900 });
    assert.ok(command);
    assert.match(command.inputs.create as string, /^sudo -n bash -c /);
    assert.match(command.inputs.delete as string, /^sudo -n bash -c /);
    assert.equal(decodeStdin(command.inputs.stdin).SSH_TIMEOUT, "900");
  });

  it("a changed definition changes the trigger (replace); a new SSH key or timeout does not", () => {
    const base = definitionHash(keystoneSpec());
    const changed = (edit: (vm: VirtualMachineSpec) => void) => {
      const vm = keystoneSpec();
      edit(vm);
      return definitionHash(vm);
    };
    for (const [what, edit] of Object.entries<(vm: VirtualMachineSpec) => void>({
      ram: (vm) => (vm.ramKiB *= 2),
      cpu: (vm) => (vm.vcpus += 1),
      disk: (vm) => (vm.disk = "64G"),
      os: (vm) => (vm.os = "ubuntu2404"),
      image: (vm) => (vm.image = { url: "https://example.invalid/new.img", type: "url" }),
      network: (vm) => vm.networks.pop(),
      interface: (vm) => (vm.networks[1].interface = "ens9"),
      mac: (vm) => (vm.networks[0].mac = "0a:00:00:00:00:01"),
      address: (vm) => (vm.management.address = "10.100.0.99"),
    })) {
      assert.notEqual(changed(edit), base, `${what} must replace the machine`);
    }
    assert.equal(changed((vm) => (vm.sshAuthorizedKeys = ["ssh-ed25519 AAAA other"])), base);
    assert.equal(changed((vm) => (vm.controller = "controller-2")), base);
    assert.equal(definitionHash(keystoneSpec()), base, "stable across calls");
  });

  it("definitionHash is the value every earlier version computed (recorded generations of existing stacks start from it)", () => {
    // Computed by the code of commit b19c1e7 for this fixture: a change here would give every VM of
    // every existing stack a new generation, host key and machine on its next up (issue 21).
    assert.equal(definitionHash(keystoneSpec()), "35f2ba352c9021e8ac94faac37e7bab1094ff9cfab6e2249a464675367274a3e");
  });

  it("replacingHash: what a running guest cannot take replaces it; gateway and nameservers do not (issue 21)", () => {
    const base = replacingHash(keystoneSpec());
    const changed = (edit: (vm: VirtualMachineSpec) => void) => {
      const vm = keystoneSpec();
      edit(vm);
      return replacingHash(vm);
    };
    for (const [what, edit] of Object.entries<(vm: VirtualMachineSpec) => void>({
      ram: (vm) => (vm.ramKiB *= 2),
      cpu: (vm) => (vm.vcpus += 1),
      disk: (vm) => (vm.disk = "64G"),
      os: (vm) => (vm.os = "ubuntu2404"),
      image: (vm) => (vm.image = { url: "https://example.invalid/new.img", type: "url" }),
      network: (vm) => vm.networks.pop(),
      mac: (vm) => (vm.networks[0].mac = "0a:00:00:00:00:01"),
      address: (vm) => (vm.management.address = "10.100.0.99"),
      controller: (vm) => (vm.controller = "controller-2"),
    })) {
      assert.notEqual(changed(edit), base, `${what} must replace the machine`);
    }
    assert.equal(changed((vm) => (vm.management.nameservers = [...vm.management.nameservers, "10.100.0.12"])), base, "a nameserver replaced the machine");
    assert.equal(changed((vm) => (vm.management.gateway = "10.100.0.254")), base, "the gateway replaced the machine");
    assert.equal(changed((vm) => delete vm.management.gateway), base);
  });
});
