import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { allocate, readLock, writeLock } from "../pillar/addresses";
import { loadCloud } from "../pillar";
import { parseCidr } from "../pillar/net";
import { pillarDir } from "./support/pillars";

const ROOT = path.join(__dirname, "..");
const copy = (dir: string, edit: (files: Record<string, string>) => Record<string, string>) => {
  const files = Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
  return pillarDir(edit(files));
};
const addresses = (dir: string) => new Map(loadCloud(dir, { stack: "dev" }).endpoints.map((e) => [e.name, e.address]));
const NEW_TYPE = `  newtype:\n    style: virtual\n    count: 5\n    ram: 1048576\n    cpu: 1\n    disk: 8G\n    os: ubuntu2204\n    networks:\n      management:\n        interfaces: [ens3]\n`;

describe("management addresses", () => {
  it("are unique, inside the management subnet and never the gateway or a resolver", () => {
    const cloud = loadCloud(path.join(ROOT, "pillar/sample"), { stack: "dev" });
    const list = cloud.endpoints.map((e) => e.address);
    assert.equal(new Set(list).size, list.length);
    for (const a of list) assert.match(a, /^10\.100\.\d+\.\d+$/);
    assert.ok(!list.includes("10.100.0.1"));
    assert.equal(cloud.endpoints.find((e) => e.type === "pxe")!.address, "10.100.0.2", "pinned");
  });

  it("stay put when a type is removed or added and counts change, without a lock (sample pillar)", () => {
    const before = addresses(path.join(ROOT, "pillar/sample"));
    const changed = copy(path.join(ROOT, "pillar/sample"), (f) => ({
      ...f,
      "hosts.yaml": f["hosts.yaml"].replace(/  glance:\n(    .*\n|      .*\n|        .*\n)*/, "").replace("hosts:\n", `hosts:\n${NEW_TYPE}`).replace(/(  nova:\n    style: virtual\n    count:) 3/, "$1 9"),
    }));
    const after = addresses(changed);
    let kept = 0;
    for (const [name, address] of before) {
      if (name.startsWith("glance-")) continue;
      assert.equal(after.get(name), address, name);
      kept++;
    }
    assert.equal(kept, 104);
    assert.equal(after.size, 104 + 5 + 6);
  });

  it("never move once locked, even in a small subnet where first choices collide", () => {
    const dir = copy(path.join(ROOT, "pillar/dev"), (f) => f);
    const cloud = loadCloud(dir, { stack: "dev" });
    writeLock(dir, cloud.lock);
    assert.deepEqual(readLock(dir), cloud.lock);
    const before = addresses(dir);
    // Six more types of five in a /24 of 245 usable addresses: first choices will collide.
    const grown = path.join(dir, "more.yaml");
    fs.writeFileSync(grown, `hosts:\n${[1, 2, 3, 4, 5, 6].map((i) => NEW_TYPE.replace("newtype", `extra${i}`)).join("")}`);
    fs.writeFileSync(path.join(dir, "environment.yaml"), fs.readFileSync(path.join(dir, "environment.yaml"), "utf8").replace("images:\n", "images:\n  ubuntu2204x:\n    url: http://x/y\n    type: raw\n"));
    const after = addresses(dir);
    for (const [name, address] of before) assert.equal(after.get(name), address, name);
    assert.equal(new Set(after.values()).size, after.size, "unique");
  });

  it("reports two endpoints pinning one address, and an exhausted subnet", () => {
    const subnet = parseCidr("10.0.0.0/29")!;
    const r = allocate(subnet, [{ key: "a/0", pinned: "10.0.0.2" }, { key: "b/0", pinned: "10.0.0.2" }, ...[0, 1, 2, 3, 4, 5].map((i) => ({ key: `c/${i}` }))], {});
    // .1-.6 usable, .1 kept in reserve, .2 pinned: four left for six requests.
    assert.deepEqual(r.problems, [
      "b/0: pinned address 10.0.0.2 is also used by a/0",
      "c/4: the management subnet 10.0.0.0/29 has no free address left",
      "c/5: the management subnet 10.0.0.0/29 has no free address left",
    ]);
    assert.deepEqual([...r.addresses.values()].sort(), ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
  });
});
