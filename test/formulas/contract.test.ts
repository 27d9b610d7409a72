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

/**
 * A changed password reaches a running service only through a restart: the OpenStack configures
 * restart their units when a file they wrote changed (os_restart_if_changed). Every unit the role's
 * install enables must be in that list, or a rotation (kinetic rotate --class service) leaves it on
 * the old database, RabbitMQ or metadata-proxy password until the machine reboots: nova's
 * nova-api-metadata.service was so.
 */
describe("formulas: a configure that restarts on change restarts every unit its install enables", () => {
  /** Units that read nothing the configure writes (Open vSwitch and OVN's controller: their settings live in OVS's database). */
  const READ_NO_CONFIG: Record<string, string[]> = { compute: ["openvswitch-switch.service", "ovn-host.service"] };
  const formulas = new Set(listFormulas());
  it("each enabled unit is restarted, or is listed above with why it need not be", () => {
    let checked = 0;
    for (const label of [...formulas].filter((l) => l.endsWith("/configure"))) {
      const role = label.split("/")[0];
      const configure = loadFormula(label).text.split("# <<< lib/openstack.sh")[1];
      if (!configure || !formulas.has(`${role}/install`) || !/^os_restart_if_changed /m.test(configure)) continue;
      const enabled = [...loadFormula(`${role}/install`).text.matchAll(/^enable_unit (.*)$/gm)].flatMap((m) => m[1].split(/\s+/)).filter((u) => u.endsWith(".service"));
      const restarted = [...configure.matchAll(/^\s*(?:os_restart_if_changed "\$[a-z_]+"|restart_if_running) (.*)$/gm)].flatMap((m) => m[1].split(/\s+/));
      for (const u of enabled) {
        assert.ok(restarted.includes(u) || READ_NO_CONFIG[role]?.includes(u), `${label} never restarts ${u}, which ${role}/install enables`);
        checked++;
      }
    }
    assert.ok(checked > 20, `only ${checked} units checked`);
  });
});
