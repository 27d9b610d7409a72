import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.join(__dirname, "..");

describe("offline plan (npm run plan)", function () {
  this.timeout(120_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-plan-"));
  let stdout = "";
  before(() => {
    stdout = execFileSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "cli/plan.ts", "pillar/sample", "--out", out], { cwd: ROOT }).toString();
  });

  it("prints endpoints, waves, the critical path and the dependencies of the sample pillar", () => {
    assert.match(stdout, /^Pillar .*pillar\/sample: 106 endpoints \(33 physical, 72 virtual, 1 foundation\), 529 steps$/m);
    assert.match(stdout, /^Waves \(\d+; steps in one wave run in parallel\):\n +1: pxe\.base\[0\]\n/m);
    assert.match(stdout, /^ +\d+: .*mysql\.configure\[1-2\]/m, "spawning 0: endpoints 1-2 configure one wave after endpoint 0");
    assert.match(stdout, /^Critical path \(\d+ steps, ~\d+ min at nominal step times\):\n {2}pxe\.base\[0\] -> /m);
    assert.match(stdout, /^ {2}keystone\.configure <- controller\.configure, haproxy\.configure, memcached\.configure, mysql\.configure, rabbitmq\.configure$/m);
    assert.match(stdout, /^ {2}storage\.provision <- pxe\.configure$/m);
    // haproxy checks each mysql member by the health endpoint mysql's configure sets up: never before it exists.
    assert.match(stdout, /^ {2}haproxy\.configure <- controller\.configure, mysql\.configure$/m);
  });

  it("writes the graph as Mermaid and DOT, and SVG where Graphviz is installed", () => {
    const mmd = fs.readFileSync(path.join(out, "needs.mmd"), "utf8");
    assert.match(mmd, /^flowchart LR\n/);
    assert.match(mmd, /mysql_configure -\.-> keystone_configure/);
    const dot = fs.readFileSync(path.join(out, "needs.dot"), "utf8");
    assert.match(dot, /"mysql\.configure" -> "keystone\.configure" \[style=dashed, label="needs"\];/);
    if (spawnSync("dot", ["-V"]).status === 0) {
      assert.match(fs.readFileSync(path.join(out, "needs.svg"), "utf8"), /<svg/);
      assert.match(execFileSync("dot", ["-Tplain", path.join(out, "needs.dot")]).toString(), /^graph /, "Graphviz parses our DOT");
    }
  });

  it("exits 1 and prints every pillar problem for an invalid pillar", () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-bad-"));
    fs.writeFileSync(path.join(bad, "p.yaml"), "hosts:\n  x:\n    style: physcial\n");
    const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "cli/plan.ts", bad, "--out", out], { cwd: ROOT });
    assert.equal(r.status, 1);
    assert.match(r.stderr.toString(), /p\.yaml:3:12: hosts\.x\.style: must be one of physical, virtual, foundation, got "physcial"/);
    assert.match(r.stderr.toString(), /networking: is required/);
  });
});

describe("offline plan --emit-domains", function () {
  this.timeout(120_000);
  it("writes the domain XML and seed of every virtual endpoint of the pillar", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-domains-"));
    const out = execFileSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "cli/plan.ts", "pillar/dev", "--out", dir, "--emit-domains", path.join(dir, "d")], { cwd: ROOT }).toString();
    assert.match(out, /Wrote 36 files \(domain\.xml, user-data, meta-data, network-config per virtual endpoint\)/);
    const vms = fs.readdirSync(path.join(dir, "d")).sort();
    assert.equal(vms.length, 9);
    for (const vm of vms) {
      assert.deepEqual(fs.readdirSync(path.join(dir, "d", vm)).sort(), ["domain.xml", "meta-data", "network-config", "user-data"]);
      assert.match(fs.readFileSync(path.join(dir, "d", vm, "domain.xml"), "utf8"), new RegExp(`<name>${vm}</name>`));
    }
  });
});
