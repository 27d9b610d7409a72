/**
 * What a rack relies on the site for (components/siteStack.ts siteDigest): a rack's new endpoint
 * changes the facts the site's steps read (addresses, names), so the site must run first; a change
 * inside a rack's own endpoints does not. partDigest of the site alone would miss the first.
 */
import * as assert from "node:assert/strict";
import { siteDigest } from "../components/siteStack";
import { loadCloud, partDigest, SITE } from "../pillar";
import { NETWORKING, pillarDir } from "./support/pillars";

const host = (type: string, addresses: string[], extra = "", nic = "eth0") => `  ${type}:
    style: foundation
    addresses: [${addresses.join(", ")}]
    networks:
      management:
        interfaces: [${nic}]
${extra}`;

function cloud(rackAddresses: string[], rackNic = "eth0") {
  const dir = pillarDir({ "net.yaml": `${NETWORKING}stacks: [rack1]\n`, "hosts.yaml": `hosts:\n${host("alpha", ["10.0.0.5"])}${host("beta", rackAddresses, "    stack: rack1\n", rackNic)}` });
  return loadCloud(dir, { stack: "t" });
}

describe("site digest", () => {
  it("a rack's new endpoint changes it (the site's steps read its address), though the site's own part is unchanged", () => {
    const before = cloud(["10.0.0.6"]);
    const after = cloud(["10.0.0.6", "10.0.0.7"]);
    assert.equal(partDigest(after, SITE), partDigest(before, SITE));
    assert.notEqual(siteDigest(after), siteDigest(before));
  });

  it("a change inside a rack's own endpoints (a NIC) leaves it as it was", () => {
    assert.equal(siteDigest(cloud(["10.0.0.6"], "eth1")), siteDigest(cloud(["10.0.0.6"])));
  });
});
