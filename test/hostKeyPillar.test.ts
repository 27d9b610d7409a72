/** `hosts.<foundation type>.host_keys`: one SSH public key line per address, errors with file and line. */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { deriveHostKey } from "../components/hostKeys";
import { isPillarError, loadCloud, PillarError } from "../pillar";
import { NETWORKING, pillarDir } from "./support/pillars";

const KEY_A = deriveHostKey("pillar-test", "a", "1").publicKey;
const KEY_B = deriveHostKey("pillar-test", "b", "1").publicKey.split(" ").slice(0, 2).join(" ");

const pillar = (pxe: string) => ({
  "net.yaml": NETWORKING,
  "hosts.yaml": `hosts:\n  pxe:\n    style: foundation\n    addresses: [10.0.0.2, 10.0.0.3, 10.0.0.4]\n${pxe}`,
});

function problems(pxe: string): string[] {
  const dir = pillarDir(pillar(pxe));
  try {
    loadCloud(dir, { stack: "test" });
  } catch (e) {
    assert.ok(isPillarError(e), String(e));
    return (e as PillarError).message.split("\n").slice(1).map((l) => l.trim().replace(dir + path.sep, ""));
  }
  assert.fail("expected the pillar to be rejected");
}

describe("pillar: foundation host keys", () => {
  it("reads one key per address, in address order; null or a short list means no key there", () => {
    const cloud = loadCloud(pillarDir(pillar(`    host_keys:\n      - ${KEY_A}\n      - null\n`)), { stack: "test" });
    assert.deepEqual(cloud.pillar.hosts.pxe.hostKeys, [KEY_A, ""]);
    const none = loadCloud(pillarDir(pillar("")), { stack: "test" });
    assert.equal(none.pillar.hosts.pxe.hostKeys, undefined);
  });

  it("reports every bad entry at its own file:line, without shifting the others", () => {
    const lines = problems(
      [
        "    host_keys:",
        "      - ssh-ed25519 AAAAnotbase64!",
        `      - 10.0.0.3 ${KEY_B}`,
        `      - "${KEY_B}\\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIinjected"`,
        "",
      ].join("\n"),
    );
    const expect = "must be one SSH public key line as `ssh-keyscan` prints it after the host name (type, base64, optional comment)";
    assert.deepEqual(lines, [
      `hosts.yaml:6:9: hosts.pxe.host_keys.0: ${expect}`,
      `hosts.yaml:7:9: hosts.pxe.host_keys.1: ${expect}`,
      `hosts.yaml:8:9: hosts.pxe.host_keys.2: ${expect}`,
    ]);
  });

  it("refuses more keys than addresses, a non-list, and host_keys on a type the program installs", () => {
    assert.match(problems(`    host_keys: [${KEY_B}, ${KEY_B}, ${KEY_B}, ${KEY_B}]\n`).join("\n"), /hosts\.yaml:\d+:\d+: hosts\.pxe\.host_keys: has 4 entries for 3 address\(es\): one key per address, in the same order/);
    assert.match(problems(`    host_keys: ${KEY_B}\n`).join("\n"), /hosts\.pxe\.host_keys: must be a list of SSH host public key lines, one per address/);
    const dir = pillarDir({
      "net.yaml": NETWORKING,
      "hosts.yaml": `hosts:\n  pxe:\n    style: foundation\n    addresses: [10.0.0.2]\n  web:\n    style: virtual\n    count: 1\n    host_keys: [${KEY_B}]\n`,
    });
    assert.throws(() => loadCloud(dir, { stack: "test" }), (e: unknown) => isPillarError(e) && /hosts\.web\.host_keys: applies to foundation types only, this type is virtual/.test(e.message));
  });
});
