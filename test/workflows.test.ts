/**
 * The GitHub workflows pass actionlint (built by .ci/install at a pinned version: the test lanes
 * have no network), with the self-hosted runner labels of .github/actionlint.yaml; actionlint also
 * runs shellcheck on every `run:` script. And the apply path keeps its shape: preview and up on
 * the site's runner, the PostgreSQL backend and the passphrase from the repository's settings.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { DEV_STACKS } from "../engine/devPassphrase";
import { actionlintPath, actionlintUnavailable } from "./support/actionlint";
import { requirePrerequisite } from "./support/prerequisite";

const ROOT = path.join(__dirname, "..");

describe("GitHub workflows", () => {
  it("pass actionlint", function () {
    requirePrerequisite(this, actionlintUnavailable(), "actionlint on .github/workflows");
    const r = spawnSync(actionlintPath()!, ["-no-color"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, `actionlint:\n${r.stdout}${r.stderr}`);
  });

  it("actionlint reports a broken workflow (the check can fail)", function () {
    requirePrerequisite(this, actionlintUnavailable(), "actionlint on .github/workflows");
    const broken = "on: push\njobs:\n  x:\n    runs-on: [self-hosted, no-such-label]\n    steps:\n      - run: echo ${{ secrets }}\n";
    const r = spawnSync(actionlintPath()!, ["-no-color", "-config-file", path.join(ROOT, ".github", "actionlint.yaml"), "-"], { cwd: ROOT, input: broken, encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /no-such-label/);
  });

  it("runs preview and up on the site's runner with the PostgreSQL backend and the stack's passphrase", () => {
    const wf = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "pulumi.yml"), "utf8")) as {
      jobs: Record<string, { "runs-on": string[]; env?: Record<string, string>; if?: string; steps: { run?: string }[] }>;
    };
    for (const job of ["preview", "up"]) {
      const j = wf.jobs[job];
      assert.deepEqual(j["runs-on"], ["self-hosted", "linux", "kinetic-site"], job);
      assert.match(j.env?.KINETIC_BACKEND ?? "", /vars\.KINETIC_BACKEND/, job);
      assert.match(j.env?.PGPASSWORD ?? "", /secrets\./, `${job}: the database password from a secret, in the environment`);
      assert.match(j.env?.PULUMI_CONFIG_PASSPHRASE ?? "", /secrets\./, job);
      assert.ok(j.steps.some((s) => s.run?.includes("npm run -s engine")), `${job} builds or finds the engine`);
    }
    assert.match(wf.jobs.preview.if ?? "", /head\.repo\.full_name == github\.repository/, "no fork's code on the site's runner");
  });

  it("preview and up refuse every stack whose passphrase is the public dev one, and take a site's (cloud included)", () => {
    const wf = parse(fs.readFileSync(path.join(ROOT, ".github", "workflows", "pulumi.yml"), "utf8")) as { jobs: Record<string, { steps: { name?: string; run?: string }[] }> };
    for (const job of ["preview", "up"]) {
      const guard = wf.jobs[job].steps.find((s) => s.name === "stack and passphrase are set")?.run;
      assert.ok(guard, `${job} has its guard step`);
      const run = (stack: string) => spawnSync("bash", ["-c", guard], { env: { PATH: process.env.PATH, KINETIC_STACK: stack, PULUMI_CONFIG_PASSPHRASE: "a-site-passphrase" }, encoding: "utf8" });
      for (const stack of DEV_STACKS) {
        const r = run(stack);
        assert.equal(r.status, 1, `${job} takes ${stack}`);
        assert.match(r.stdout, new RegExp(`KINETIC_STACK is ${stack}, whose passphrase is public`));
      }
      for (const stack of ["cloud", "site"]) {
        const r = run(stack);
        assert.equal(r.status, 0, `${job} refuses ${stack}: ${r.stdout}`);
      }
    }
  });
});
