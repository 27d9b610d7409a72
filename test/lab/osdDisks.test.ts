/**
 * A storage server's data disks in the lab (lab/osdDisks.ts, lab/bootedHost.ts `devices`): the
 * pillar's osd_disks paths are block devices inside the booted host, backed by sparse files of this
 * machine; what the host writes on them outlives a reboot and a reinstall of its OS disk, and
 * detaching leaves no loop device behind.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BootedHost, bootHost } from "../../lab/bootedHost";
import { debianRootUnavailable, ensureDebianRoot } from "../../lab/debianRoot";
import { labLayout } from "../../lab/layout";
import { attachOsdDisks, detachOsdDisks, hostDevices, OSD_DISK_BYTES } from "../../lab/osdDisks";
import { requirePrerequisite } from "../support/prerequisite";

describe("lab: a storage server's data disks (loop devices named by the pillar's osd_disks)", function () {
  this.timeout(10 * 60_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-osd-disks-"));
  const layout = labLayout({ KINETIC_LAB_DIR: tmp });
  const server = "srv-osd-disks-test";
  const paths = ["/dev/disk/by-id/lab-osd-0", "/dev/disk/by-id/lab-osd-1"];
  let host: BootedHost | undefined;
  const loops = () => spawnSync("losetup", ["-j", path.join(tmp, "disks", server, "disk-0.img"), "-n", "-O", "NAME"], { encoding: "utf8" }).stdout.trim();

  before(function () {
    requirePrerequisite(this, debianRootUnavailable(), "the lab's data disks");
  });

  after(async () => {
    await host?.stop({ wipe: true });
    detachOsdDisks(layout, server);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const boot = async (): Promise<BootedHost> => {
    const root = ensureDebianRoot(() => undefined);
    const disks = attachOsdDisks(layout, server, paths);
    return bootHost({ name: server, lowerdir: root.lowerdir, dir: path.join(layout.hostsDir, server), devices: hostDevices(disks) });
  };

  it("each path is a block device of the pillar's size inside the host, linked to its loop node", async () => {
    host = await boot();
    for (const p of paths) {
      const target = host.exec(["readlink", "-f", p]).trim();
      assert.match(target, /^\/dev\/loop\d+$/, `${p} resolves to a loop device`);
      assert.equal(host.tryExec(["test", "-b", p]).code, 0, `${p} is a block device`);
      assert.equal(host.exec(["blockdev", "--getsize64", p]).trim(), String(OSD_DISK_BYTES));
    }
    // Sparse: a fresh disk takes no room on this machine.
    const st = fs.statSync(path.join(tmp, "disks", server, "disk-0.img"));
    assert.ok(st.blocks * 512 < 1024 * 1024, `the file is sparse (${st.blocks} blocks)`);
  });

  it("data written on a disk survives a reboot on a wiped OS disk (a reinstall), on the same loop device", async () => {
    const before = loops();
    host!.exec(["sh", "-c", `printf kinetic-osd | dd of=${paths[0]} bs=512 seek=2048 conv=notrunc status=none`]);
    await host!.stop({ wipe: true });
    host = await boot();
    assert.equal(loops(), before, "the attached file keeps its loop device");
    assert.equal(host.exec(["sh", "-c", `dd if=${paths[0]} bs=512 skip=2048 count=1 status=none | head -c 11`]), "kinetic-osd");
  });

  it("detaching leaves no loop device on the file", async () => {
    await host!.stop({ wipe: true });
    host = undefined;
    detachOsdDisks(layout, server);
    assert.equal(loops(), "");
  });
});
