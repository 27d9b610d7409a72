/**
 * `kinetic lab status` as an operator reads it: each physical server's last network install, link
 * by link, and where it stopped (lab/control.ts renderStatus, from the supervisor's status file).
 */
import * as assert from "node:assert/strict";
import { renderStatus } from "../../lab/control";
import type { LabStatus } from "../../lab/supervisor";

describe("kinetic lab status", () => {
  it("lists a server's network install link by link, the failed link marked", () => {
    const status: LabStatus = {
      pid: 42,
      started: "2026-12-07T18:00:00Z",
      netns: "kinetic-lab",
      pillar: "/work/pillar/lab",
      hosts: [
        {
          name: "srv-8d3f5b1e",
          kind: "physical",
          role: "controller",
          address: "",
          state: "failed",
          detail: "PXE install failed: stopped at server's boot script: /assignments/8d3f5b1e/boot.ipxe: 403",
          install: {
            at: "2026-12-07T18:01:00Z",
            seconds: 31,
            summary: "stopped at server's boot script: /assignments/8d3f5b1e/boot.ipxe: 403",
            steps: [
              { step: "DHCP lease", ok: true, detail: "10.77.0.11 for 52:54:00:aa:bb:cc (Kea)" },
              { step: "boot script", ok: true, detail: "/boot.ipxe: 200" },
              { step: "server's boot script", ok: false, detail: "/assignments/8d3f5b1e/boot.ipxe: 403" },
            ],
          },
        },
      ],
    };
    const text = renderStatus(status);
    assert.match(text, /^srv-8d3f5b1e +controller +physical +- +failed: PXE install failed: stopped at server's boot script/m);
    assert.match(text, /^network installs:\nsrv-8d3f5b1e: last network install 2026-12-07T18:01:00Z \(31 s\): stopped at server's boot script: \/assignments\/8d3f5b1e\/boot\.ipxe: 403$/m);
    assert.match(text, /^ {4}ok {5}DHCP lease: 10\.77\.0\.11 for 52:54:00:aa:bb:cc \(Kea\)$/m);
    assert.match(text, /^ {4}FAILED server's boot script: \/assignments\/8d3f5b1e\/boot\.ipxe: 403$/m);
  });

  it("says nothing of installs when no server has made one", () => {
    assert.doesNotMatch(renderStatus({ pid: 1, started: "", netns: "n", pillar: "p", hosts: [] }), /network installs/);
  });
});
