/**
 * The real engine previews what the mocks declare: the same resources, types, parents and
 * dependsOn edges (read from the engine's update plan), and a broken pillar fails with the
 * validator's problems and no stack trace.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { realProvisioners } from "../../components/provisioners";
import { runProgram } from "../support/program";
import { baseConfig, nameOfUrn, scratchStack, testEngine, typeOfUrn } from "./scratch";

interface Declared {
  type: string;
  parent: string | undefined;
  dependsOn: string[];
}

/** What the engine would do, by resource name: from the preview's events and its update plan. */
async function enginePreview(pillar: string): Promise<Map<string, Declared>> {
  const s = await scratchStack({ config: baseConfig({ "kinetic:pillar": pillar }), env: { PULUMI_EXPERIMENTAL: "true", PULUMI_SKIP_CHECKPOINTS: "true" } });
  try {
    const events: EngineEvent[] = [];
    const planFile = path.join(s.dir, "plan.json");
    await s.stack.preview({ plan: planFile, onEvent: (e) => void events.push(e) });
    const plan = JSON.parse(fs.readFileSync(planFile, "utf8")) as { resourcePlans: Record<string, { goal?: { dependencies?: string[] } }> };
    const out = new Map<string, Declared>();
    for (const e of events) {
      const m = e.resourcePreEvent?.metadata;
      if (!m || m.type === "pulumi:pulumi:Stack" || m.type.startsWith("pulumi:providers:")) continue;
      const parentUrn = m.new?.parent;
      const parent = parentUrn && typeOfUrn(parentUrn) !== "pulumi:pulumi:Stack" ? nameOfUrn(parentUrn) : undefined;
      const deps = (plan.resourcePlans[m.urn]?.goal?.dependencies ?? []).map(nameOfUrn).sort();
      out.set(nameOfUrn(m.urn), { type: m.type, parent, dependsOn: deps });
    }
    return out;
  } finally {
    await s.dispose();
  }
}

async function mockDeclared(pillar: string): Promise<Map<string, Declared>> {
  const run = await runProgram({ config: { "kinetic:pillar": pillar }, dryRun: true, stack: "test", program: { provisioners: realProvisioners }, light: true });
  return new Map(run.resources.map((r) => [r.name, { type: r.type, parent: r.parent, dependsOn: [...r.dependsOn].sort() }]));
}

function isComponent(d: Declared): boolean {
  return d.type.startsWith("kinetic:");
}

function customDescendants(all: Map<string, Declared>, name: string): string[] {
  const out: string[] = [];
  for (const [child, d] of all) {
    if (d.parent !== name) continue;
    if (isComponent(d)) out.push(...customDescendants(all, child));
    else out.push(child);
  }
  return out;
}

describe("engine: preview through the real Pulumi CLI", function () {
  this.timeout(30 * 60_000);

  before(async function () {
    await testEngine();
  });

  for (const pillar of ["pillar/dev", "pillar/sample"]) {
    it(`${pillar}: the same resources, types, parents and dependsOn edges as under the mocks`, async function () {
      const [engine, mocks] = [await enginePreview(pillar), await mockDeclared(pillar)];
      assert.ok(mocks.size > 50, `the mocks declared only ${mocks.size} resources`);
      assert.deepEqual([...engine.keys()].sort(), [...mocks.keys()].sort(), "resource names");
      let edges = 0;
      for (const [name, m] of mocks) {
        const e = engine.get(name)!;
        assert.equal(e.type, m.type, `${name}: type`);
        assert.equal(e.parent, m.parent, `${name}: parent`);
        // dependsOn on a component reaches the engine as its custom descendants (the SDK expands it).
        for (const d of m.dependsOn) {
          const want = isComponent(mocks.get(d)!) ? customDescendants(mocks, d) : [d];
          assert.ok(want.length, `${name}: ${d} has no custom resource to wait for`);
          for (const w of want) assert.ok(e.dependsOn.includes(w), `${name}: the engine's plan lacks the dependency on ${w} (from ${d})`);
          edges += want.length;
        }
      }
      assert.ok(edges > mocks.size, `only ${edges} edges checked`);
    });
  }

  it("a broken pillar fails the preview with file:line problems and no stack trace", async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-broken-"));
    try {
      fs.cpSync(path.join(__dirname, "..", "..", "pillar", "dev"), dir, { recursive: true });
      const hosts = path.join(dir, "hosts.yaml");
      fs.writeFileSync(hosts, fs.readFileSync(hosts, "utf8").replace(/\bcount: (\d+)/, "count: lots"));
      const s = await scratchStack({ config: baseConfig({ "kinetic:pillar": dir }) });
      try {
        let output = "";
        await assert.rejects(s.stack.preview({ onOutput: (o) => void (output += o) }));
        assert.match(output, /hosts\.yaml:\d+:\d+: hosts\.\w+\.count: /, output);
        assert.doesNotMatch(output, /\n\s+at .*\(.*:\d+:\d+\)/, "a stack trace was printed");
      } finally {
        await s.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
