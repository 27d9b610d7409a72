/**
 * `kinetic lab ssh`: the host key it accepts is the one the stack's state pinned for the address
 * (cli/cloudAccess.ts pinnedHostKey, read from the state's recorded connections, secrets unwrapped as
 * `pulumi stack export --show-secrets` gives them), and the ssh it runs (cli/labAccess.ts sshWithPin)
 * logs in with the orchestrator's key over exactly that key: against a real sshd on loopback, the
 * pinned key runs the command; any other key ends the connection before the command runs. No key
 * file is left behind.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { endpointNamed, pinnedHostKey } from "../../cli/cloudAccess";
import { sshWithPin } from "../../cli/labAccess";
import type { Cloud } from "../../pillar";
import { requirePrerequisite } from "../support/prerequisite";
import { sshdUnavailable, startSshd, TestSshd } from "../support/sshd";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const ADDRESS = "127.0.31.7";

function keyPair(dir: string, name: string): { privateKey: string; publicKey: string } {
  const file = path.join(dir, name);
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** A stack whose state holds what `export --show-secrets` shows for formula steps: secret connections. */
function stackWithState(resources: object[]): Stack {
  return { exportStack: async () => ({ version: 3, deployment: { resources } }) } as unknown as Stack;
}

const secret = (v: unknown) => ({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(v) });

function capture(argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? 1, out }));
  });
}

describe("lab ssh: the orchestrator's key over the host key the state pinned", function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-labssh-"));
  let sshd: TestSshd | undefined;
  let host: { privateKey: string; publicKey: string };
  let other: { privateKey: string; publicKey: string };
  let client: { privateKey: string; publicKey: string };

  before(async function () {
    requirePrerequisite(this, sshdUnavailable(), "the lab ssh test");
    host = keyPair(dir, "host");
    other = keyPair(dir, "other");
    client = keyPair(dir, "orchestrator");
    sshd = await startSshd(host.privateKey, ADDRESS, undefined, { authorizedKey: client.publicKey });
  });
  after(async () => {
    await sshd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads the pin of an address from the state's connections (secret or not); none for an address never reached", async () => {
    const stack = stackWithState([
      { urn: "urn:pulumi:lab::kinetic::kinetic:index:Cloud$pulumi:providers:command::default", inputs: {} },
      { urn: "urn:pulumi:lab::kinetic::command:remote:Command::mysql-x-base", inputs: { connection: secret({ host: "10.77.0.9", user: "root", privateKey: "K", hostKey: other.publicKey }) } },
      { urn: "urn:pulumi:lab::kinetic::command:remote:Command::keystone-x-base", inputs: { connection: secret({ host: ADDRESS, user: "root", privateKey: "K", hostKey: host.publicKey }) } },
      { urn: "urn:pulumi:lab::kinetic::command:remote:Command::pxe-base", inputs: { connection: { host: "10.77.0.2", hostKey: secret("ssh-ed25519 AAAApxe") } } },
    ]);
    assert.equal(await pinnedHostKey(stack, ADDRESS), host.publicKey);
    assert.equal(await pinnedHostKey(stack, "10.77.0.2"), "ssh-ed25519 AAAApxe");
    assert.equal(await pinnedHostKey(stack, "10.77.0.99"), undefined);
  });

  it("names: an endpoint, a type with one endpoint, type/N; a type with several must be told which", () => {
    const cloud = { endpoints: [
      { name: "keystone-a", type: "keystone", index: 0 }, { name: "keystone-b", type: "keystone", index: 1 }, { name: "mysql-a", type: "mysql", index: 0 },
    ] } as unknown as Cloud;
    assert.equal(endpointNamed(cloud, "mysql").name, "mysql-a");
    assert.equal(endpointNamed(cloud, "keystone-b").name, "keystone-b");
    assert.equal(endpointNamed(cloud, "keystone/1").name, "keystone-b");
    assert.throws(() => endpointNamed(cloud, "keystone"), /keystone has 2 endpoints: name one \(keystone-a, keystone-b\) or say keystone\/N/);
    assert.throws(() => endpointNamed(cloud, "nova"), /nova is neither an endpoint nor a type of the pillar \(types: keystone, mysql\)/);
  });

  it("the pinned key: the command runs as root; another key: refused before anything runs; no key file left", async () => {
    const seen: string[][] = [];
    const run = (argv: string[]) => (seen.push(argv), capture(argv).then((r) => ((last = r), r.code)));
    let last = { code: -1, out: "" };
    const marker = path.join(dir, "ran");
    const ok = await sshWithPin({ address: ADDRESS, port: sshd!.port, user: "root", privateKey: client.privateKey, hostKey: host.publicKey, command: [`id -un; touch ${marker}`] }, run);
    assert.equal(ok, 0, `${last.out}\n--- sshd\n${sshd!.log()}`);
    assert.match(last.out, /^root$/m);
    assert.ok(fs.existsSync(marker));
    fs.rmSync(marker);

    const refused = await sshWithPin({ address: ADDRESS, port: sshd!.port, user: "root", privateKey: client.privateKey, hostKey: other.publicKey, command: ["touch", marker] }, run);
    assert.equal(refused, 255);
    assert.match(last.out, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    assert.equal(fs.existsSync(marker), false, "the command did not run");
    // The private key never in argv, only a path to a file that no longer exists.
    for (const argv of seen) {
      assert.ok(!argv.join(" ").includes(client.privateKey.split("\n")[1]), "the key is not in argv");
      const identity = argv[argv.indexOf("-i") + 1];
      assert.equal(fs.existsSync(path.dirname(identity)), false, "the scratch directory is gone");
      assert.ok(argv.includes("StrictHostKeyChecking=yes") && argv.includes("GlobalKnownHostsFile=/dev/null"));
    }
  });
});
