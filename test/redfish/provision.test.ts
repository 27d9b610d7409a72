/**
 * `provisionPhysical` under Pulumi mocks: three dynamic resources named from the endpoint, parented
 * and ordered discovery -> boot-once -> power cycle, with the password secret and listed in
 * `additionalSecretOutputs`, and boot mode sent only when asked.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { provisionPhysical } from "../../providers";
import { BOOT_ONCE_VERSION } from "../../providers/bootOnce";
import { POWER_CYCLE_VERSION } from "../../providers/powerCycle";
import { REDFISH_DISCOVERY_VERSION } from "../../providers/redfishDiscovery";

interface Seen {
  type: string;
  name: string;
  parent?: string;
  dependsOn: string[];
  secretOutputs: string[];
  inputs: Record<string, unknown>;
  wire: Record<string, unknown>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const nameOf = (r: pulumi.Resource): string => (r as unknown as { __name: string }).__name;

async function declare(build: (parent: pulumi.ComponentResource) => void): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  const inputs = new Map<string, Record<string, unknown>>();
  const wires = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => {
        inputs.set(a.name, a.inputs);
        return { id: `${a.name}-id`, state: { ...a.inputs, bmcAddress: "10.0.0.5", systemUri: "/redfish/v1/Systems/1" } };
      },
      call: () => ({}),
    },
    "kinetic",
    "test",
    false,
  );
  const monitor = (pulumi.runtime as unknown as { getMonitor(): { registerResource: Function } }).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: { getName(): string; getObject(): { toJavaScript(): Record<string, unknown> } | undefined }, cb: unknown) => {
    wires.set(req.getName(), req.getObject()?.toJavaScript() ?? {});
    return register(req, cb);
  };
  const pending: Promise<void>[] = [];
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((t) => {
      const s: Seen = { type: t.type, name: t.name, parent: t.opts.parent ? nameOf(t.opts.parent) : undefined, dependsOn: [], secretOutputs: (t.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [], inputs: {}, wire: {} };
      seen.set(t.name, s);
      pending.push(
        new Promise<void>((resolve) =>
          pulumi.output(t.opts.dependsOn as pulumi.Input<pulumi.Resource[]>).apply((d) => {
            for (const r of Array.isArray(d) ? d : d ? [d] : []) s.dependsOn.push(nameOf(r));
            resolve();
          }),
        ),
      );
      return undefined;
    });
    const parent = new pulumi.ComponentResource("kinetic:endpoint:Physical", "compute-4c4c4544", {});
    build(parent);
    return {};
  });
  await Promise.all(pending);
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  for (const [n, s] of seen) {
    s.inputs = inputs.get(n) ?? {};
    s.wire = wires.get(n) ?? {};
  }
  return seen;
}

describe("provisionPhysical (mocks)", () => {
  const args = {
    uuid: "4C4C4544-0031-4B10-8035-B7C04F4D4B32",
    type: "compute",
    cidrs: ["10.0.0.0/24"],
    user: "admin",
    password: pulumi.secret("bmc-Pa55word-TEST"),
    caBundle: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    allowZeroize: false,
  };

  it("declares discovery -> boot-once -> power cycle, parented and ordered, with the password secret", async () => {
    const seen = await declare((parent) => provisionPhysical("compute-4c4c4544", args, { parent }));
    const d = seen.get("compute-4c4c4544-discovery")!;
    const b = seen.get("compute-4c4c4544-boot-once")!;
    const p = seen.get("compute-4c4c4544-power-cycle")!;
    assert.deepEqual([d.type, b.type, p.type], ["pulumi-nodejs:dynamic/redfish:Discovery", "pulumi-nodejs:dynamic/redfish:BootOnce", "pulumi-nodejs:dynamic/redfish:PowerCycle"]);
    for (const r of [d, b, p]) {
      assert.equal(r.parent, "compute-4c4c4544");
      assert.ok(r.secretOutputs.includes("password"), `${r.name} lists password in additionalSecretOutputs`);
      const wirePassword = r.wire.password as Record<string, unknown>;
      assert.equal(wirePassword?.[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", `${r.name}: password is sent as a secret`);
      assert.equal(typeof r.wire.__provider, "string");
      assert.equal(r.inputs.providerVersion, r === d ? REDFISH_DISCOVERY_VERSION : r === b ? BOOT_ONCE_VERSION : POWER_CYCLE_VERSION);
    }
    assert.deepEqual(b.dependsOn, ["compute-4c4c4544-discovery"]);
    assert.deepEqual(p.dependsOn, ["compute-4c4c4544-boot-once"]);
    assert.equal(b.inputs.target, "Pxe");
    assert.equal("mode" in b.inputs, false, "no boot mode unless the pillar asks");
    assert.equal(p.inputs.method, "ForceOffOn");
    assert.equal(b.inputs.allowZeroize, false);
    assert.equal(d.inputs.endpointType, "compute");
  });

  it("keeps the caller's dependsOn on every step", async () => {
    const seen = await declare((parent) => {
      const pxe = new (class extends pulumi.CustomResource {})("test:index:Pxe", "pxe", {}, { parent });
      provisionPhysical("d", args, { parent, dependsOn: [pxe] });
    });
    assert.deepEqual(seen.get("d-discovery")!.dependsOn, ["pxe"]);
    assert.deepEqual(seen.get("d-boot-once")!.dependsOn, ["pxe", "d-discovery"]);
    assert.deepEqual(seen.get("d-power-cycle")!.dependsOn, ["pxe", "d-boot-once"]);
  });

  it("passes boot mode, reset type and zeroize permission through", async () => {
    const seen = await declare((parent) => provisionPhysical("c", { ...args, bootMode: "UEFI", bootTarget: "UefiHttp", resetType: "GracefulRestart", allowZeroize: true }, { parent }));
    assert.equal(seen.get("c-boot-once")!.inputs.mode, "UEFI");
    assert.equal(seen.get("c-boot-once")!.inputs.target, "UefiHttp");
    assert.equal(seen.get("c-power-cycle")!.inputs.method, "GracefulRestart");
    assert.equal(seen.get("c-power-cycle")!.inputs.allowZeroize, true);
  });
});
