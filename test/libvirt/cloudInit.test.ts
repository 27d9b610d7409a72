import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { metaData, networkConfig, renderSeed, userData } from "../../providers/libvirt/cloudInit";
import { isLibvirtSpecError } from "../../providers/libvirt/errors";
import { hostileSpec, keystoneSpec, SSH_KEY } from "./fixtures";
import { ok, run, scratch } from "./tools";

/** `cloud-init schema` validates cloud-config (user-data) against cloud-init's own JSON schema. */
function schema(userDataText: string) {
  const file = join(scratch("ci"), "user-data");
  writeFileSync(file, userDataText);
  return run("cloud-init", ["schema", "-c", file]);
}

/**
 * cloud-init 22.4 (Debian 12) has no network-config schema (`--schema-type` came in 23.x), so the
 * network config goes through two real consumers instead: cloud-init's own v2 parser and renderers
 * (`cloud-init devel net-convert`, what a Debian guest runs at boot) and netplan (what an Ubuntu guest
 * hands v2 config to unchanged), whose `generate` rejects unknown keys and bad values.
 */
function netConvert(text: string, kind: "networkd" | "netplan" | "eni"): Record<string, string> {
  const dir = scratch("netconv");
  writeFileSync(join(dir, "network-config"), text);
  ok("cloud-init", ["devel", "net-convert", "-p", join(dir, "network-config"), "-k", "yaml", "-d", join(dir, "out"), "-D", "debian", "-O", kind]);
  const files: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files[p.slice(join(dir, "out").length)] = readFileSync(p, "utf8");
    }
  };
  walk(join(dir, "out"));
  return files;
}

function netplanGenerate(text: string) {
  const root = scratch("netplan");
  mkdirSync(join(root, "etc", "netplan"), { recursive: true });
  const file = join(root, "etc", "netplan", "50-cloud-init.yaml");
  // cloud-init writes a v2 config to netplan as `network: <config>`.
  writeFileSync(file, "network:\n" + text.replace(/^/gm, "  "));
  chmodSync(file, 0o600);
  return { ...run("netplan", ["generate", "--root-dir", root]), root };
}

describe("cloud-init NoCloud seed", () => {
  it("meta-data: instance-id is the endpoint uuid, local-hostname its name", () => {
    const vm = keystoneSpec();
    assert.deepEqual(parse(metaData(vm)), { "instance-id": vm.uuid, "local-hostname": vm.name });
  });

  it("user-data: host name, root's SSH key and the machine's host key, nothing else, and valid for `cloud-init schema`", () => {
    const vm = keystoneSpec();
    const text = userData(vm);
    assert.ok(text.startsWith("#cloud-config\n"));
    assert.ok(vm.hostKey);
    assert.deepEqual(parse(text), {
      hostname: vm.name,
      disable_root: false,
      users: [{ name: "root", ssh_authorized_keys: [SSH_KEY] }],
      ssh_deletekeys: true,
      ssh_keys: { ed25519_private: vm.hostKey.privateKey, ed25519_public: vm.hostKey.publicKey },
    });
    const r = schema(text);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Valid cloud-config/);
  });

  it("user-data: the host key is the one ssh-keygen reads back from the private half", () => {
    const vm = keystoneSpec();
    const doc = parse(userData(vm)) as { ssh_keys: { ed25519_private: string; ed25519_public: string } };
    const file = join(scratch("hostkey"), "ssh_host_ed25519_key");
    writeFileSync(file, doc.ssh_keys.ed25519_private, { mode: 0o600 });
    const derived = ok("ssh-keygen", ["-y", "-f", file]).stdout.trim().split(" ").slice(0, 2).join(" ");
    assert.equal(derived, doc.ssh_keys.ed25519_public.split(" ").slice(0, 2).join(" "));
  });

  it("user-data refuses a host key that is not one, without echoing the private half", () => {
    const vm = keystoneSpec();
    vm.hostKey = { publicKey: "ssh-rsa AAAA x\nssh-ed25519 AAAA injected", privateKey: "SECRET-MATERIAL-NOT-A-KEY" };
    assert.throws(
      () => userData(vm),
      (e: unknown) => isLibvirtSpecError(e) && e.problems.map((p) => p.propertyPath).join() === "hostKey.publicKey,hostKey.privateKey" && !e.message.includes("SECRET-MATERIAL"),
    );
  });

  it("user-data without a host key (plan --emit-domains) has no ssh_keys", () => {
    const vm = { ...keystoneSpec(), hostKey: undefined };
    assert.equal(parse(userData(vm)).ssh_keys, undefined);
  });

  it("`cloud-init schema` really validates: a wrong type is refused", () => {
    const r = schema("#cloud-config\ndisable_root: maybe\nusers: 5\n");
    assert.notEqual(r.status, 0, r.stdout);
  });

  it("user-data keeps hostile key comments as data (YAML quoting)", () => {
    const vm = hostileSpec();
    vm.sshAuthorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 x: {y} # not a comment ' \" &"];
    assert.deepEqual(parse(userData(vm)).users[0].ssh_authorized_keys, vm.sshAuthorizedKeys);
    assert.equal(schema(userData(vm)).status, 0);
  });

  it("user-data refuses a key that would add lines to authorized_keys, or no key", () => {
    const vm = keystoneSpec();
    vm.sshAuthorizedKeys = ["ssh-ed25519 AAAA k\nssh-rsa AAAA injected", "not a key"];
    assert.throws(() => userData(vm), (e: unknown) => isLibvirtSpecError(e) && e.problems.map((p) => p.propertyPath).join() === "sshAuthorizedKeys.0,sshAuthorizedKeys.1");
    vm.sshAuthorizedKeys = [];
    assert.throws(() => userData(vm), /no key/);
  });

  it("network-config: cloud-init renders the management NIC matched by MAC with address, route and DNS", () => {
    const vm = keystoneSpec();
    const mac = vm.networks.find((n) => n.name === "management")?.mac;
    const files = netConvert(networkConfig(vm), "networkd");
    const network = Object.entries(files).find(([p]) => p.endsWith(".network"));
    assert.ok(network, Object.keys(files).join(", "));
    const text = network[1];
    assert.match(text, new RegExp(`MACAddress=${mac}`));
    assert.match(text, /Name=ens3/);
    assert.match(text, /Address=10\.100\.0\.20\/22/);
    assert.match(text, /\[Route\]\s+Gateway=10\.100\.0\.1/);
    assert.match(text, /DNS=10\.100\.0\.10 10\.100\.0\.11/);
    // Only the management NIC: the others belong to the networking formula.
    assert.equal(Object.keys(files).filter((p) => p.endsWith(".network")).length, 1);
    const eni = Object.values(netConvert(networkConfig(vm), "eni")).join("\n");
    assert.match(eni, /iface ens3 inet static\s+address 10\.100\.0\.20\/22/);
    // ifupdown's own `gateway`: a v2 `routes` entry became `post-up route add ... || true`, which
    // needs net-tools' route(8), absent from Debian's cloud images: no default route, silently.
    assert.match(eni, /^\s+gateway 10\.100\.0\.1$/m);
    assert.doesNotMatch(eni, /\broute (add|del)\b/);
  });

  it("network-config: netplan (Ubuntu guests) accepts it and renders the same", () => {
    const r = netplanGenerate(networkConfig(keystoneSpec()));
    assert.equal(r.status, 0, r.stderr);
    const network = readFileSync(join(r.root, "run", "systemd", "network", "10-netplan-ens3.network"), "utf8");
    assert.match(network, /Address=10\.100\.0\.20\/22/);
    assert.match(network, /Gateway=10\.100\.0\.1/);
  });

  it("netplan really validates: an unknown key is refused", () => {
    assert.notEqual(netplanGenerate("version: 2\nethernets:\n  ens3:\n    bogus: 1\n").status, 0);
  });

  it("network-config: IPv6 management, no gateway and no resolvers", () => {
    const vm = keystoneSpec();
    vm.management = { interface: "ens3", address: "fd00::20", prefixLength: 64, gateway: "fd00::1", nameservers: [] };
    const v6 = networkConfig(vm);
    assert.equal(parse(v6).ethernets.ens3.gateway6, "fd00::1");
    assert.equal(parse(v6).ethernets.ens3.gateway4, undefined);
    assert.equal(netplanGenerate(v6).status, 0);
    assert.match(Object.values(netConvert(v6, "networkd")).join("\n"), /Gateway=fd00::1/);
    const eni6 = Object.values(netConvert(v6, "eni")).join("\n");
    assert.match(eni6, /iface ens3 inet6 static\s+address fd00::20\/64\s+[\s\S]*^\s+gateway fd00::1$/m);
    assert.doesNotMatch(eni6, /\broute (add|del)\b/);
    vm.management = { interface: "ens3", address: "10.100.0.20", prefixLength: 22, nameservers: [] };
    const bare = parse(networkConfig(vm)).ethernets.ens3;
    assert.equal(bare.routes, undefined);
    assert.equal(bare.gateway4, undefined);
    assert.equal(bare.nameservers, undefined);
  });

  it("refuses a management address, prefix or resolver that is not one, listing all", () => {
    const vm = keystoneSpec();
    vm.management = { interface: "ens9", address: "10.100.0.300", prefixLength: 40, gateway: "gw", nameservers: ["dns"] };
    try {
      networkConfig(vm);
      assert.fail("expected an error");
    } catch (e) {
      assert.ok(isLibvirtSpecError(e));
      assert.deepEqual(e.problems.map((p) => p.propertyPath), ["management.address", "management.prefixLength", "management.gateway", "management.nameservers.0", "management.interface"]);
    }
  });

  it("renderSeed gives the three files", () => {
    assert.deepEqual(Object.keys(renderSeed(keystoneSpec())).sort(), ["meta-data", "network-config", "user-data"]);
  });
});
