/**
 * The taps of the lab's QEMU machines (lab/pxeBoot.ts pxeTapName): one per server, within Linux's
 * 15-character interface names, for every server of the bundled lab pillars. Named by UUID prefix
 * they collided for pillar/cloud (its servers' UUIDs differ only in their last digits), and each
 * machine's set-up deleted the tap of the one before: two of its three servers never installed.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { labSpec } from "../../lab/labSpec";
import { pxeTapName } from "../../lab/pxeBoot";

const ROOT = path.resolve(__dirname, "../..");

describe("lab/pxeBoot pxeTapName: one tap per server", () => {
  for (const [pillar, stack] of [["pillar/cloud", "lab-cloud"], ["pillar/lab", "lab"]]) {
    it(`${pillar}: every physical server's tap is its own and a valid interface name`, () => {
      const servers = labSpec(path.join(ROOT, pillar), stack).physicals;
      assert.ok(servers.length >= 1);
      const taps = servers.map((s) => pxeTapName(s.mac));
      assert.equal(new Set(taps).size, taps.length, taps.join(" "));
      for (const t of taps) assert.match(t, /^[a-z0-9]{1,15}$/);
    });
  }

  it("pillar/cloud's servers share their UUIDs' first 12 hex digits (what the old name was made of)", () => {
    const servers = labSpec(path.join(ROOT, "pillar/cloud"), "lab-cloud").physicals;
    const old = servers.map((s) => `kt${s.uuid.replace(/-/g, "").slice(0, 12)}`);
    assert.ok(servers.length >= 3);
    assert.equal(new Set(old).size, 1);
  });

  it("refuses what is not a MAC", () => {
    assert.equal(pxeTapName("52:54:00:0E:0E:60"), "kt5254000e0e60");
    assert.throws(() => pxeTapName("52:54:00:0e:0e"), /not a MAC address/);
  });
});
