import * as assert from "node:assert/strict";
import * as path from "node:path";
import { declaredUses, selectValues } from "../../formulas/envelope";
import { cloudFacts, endpointFacts, SECRET_FACTS } from "../../components/formulaFacts";
import { listFormulas, loadFormula } from "../../formulas/load";
import { loadCloud } from "../../pillar";

/**
 * The formulas against the program's real value catalogue: for every endpoint of the sample and dev
 * pillars, every formula that applies to it can select its declared values (an unknown name would
 * stop `pulumi up`), and the values have the shapes the formulas validate.
 */
describe("formulas: declared values exist in the program's catalogue", () => {
  const formulas = new Set(listFormulas());
  for (const dir of ["sample", "dev"]) {
    it(`pillar/${dir}: every applicable formula selects its values for every endpoint`, () => {
      const cloud = loadCloud(path.join(__dirname, "..", "..", "pillar", dir), { stack: "dev" });
      const shared = cloudFacts(cloud);
      let checked = 0;
      for (const e of cloud.endpoints) {
        const facts = endpointFacts(cloud, shared, e);
        const labels = ["common/base", "common/networking", `${e.role}/install`, `${e.role}/configure`].filter((l) => formulas.has(l));
        for (const label of labels) {
          const { text } = loadFormula(label);
          // The program supplies every declared SECRET_* itself (derived from the stack's seed), and the secret facts.
          const secrets = Object.fromEntries([...declaredUses(text).filter((u) => u.startsWith("SECRET_")), ...SECRET_FACTS].map((u) => [u, "x"]));
          const picked = selectValues(label, text, { ...facts, ...secrets });
          if (label === "common/networking") assert.ok(picked.NETWORKS.split(" ").includes("management"), `${e.name}: management is managed`);
          checked++;
        }
        for (const net of facts.NETWORKS.split(" ").filter(Boolean)) assert.match(net, /^[a-z][a-z0-9]{0,9}$/, `network name ${net}`);
      }
      assert.ok(checked > 0);
    });
  }
});
