/**
 * lab/inotifyLimit.ts against a file standing in for the sysctl (the machine's own setting is
 * not lowered by a test: other test files boot hosts at the same time).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureInotifyInstances, INOTIFY_INSTANCES_FLOOR } from "../../lab/inotifyLimit";

describe("lab: inotify instances for every host's systemd", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinetic-inotify-"));
  const file = path.join(dir, "max_user_instances");
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("raises the kernel's default (128) to the floor and says from what; then leaves it", () => {
    fs.writeFileSync(file, "128\n");
    assert.equal(ensureInotifyInstances(file), 128);
    assert.equal(fs.readFileSync(file, "utf8"), `${INOTIFY_INSTANCES_FLOOR}\n`);
    assert.equal(ensureInotifyInstances(file), undefined);
  });

  it("never lowers an operator's higher value", () => {
    fs.writeFileSync(file, "65536\n");
    assert.equal(ensureInotifyInstances(file), undefined);
    assert.equal(fs.readFileSync(file, "utf8"), "65536\n");
  });

  it("a low value it cannot raise is an error naming the setting and the command", () => {
    fs.writeFileSync(file, "128\n");
    // /dev/full refuses every write (ENOSPC), as /proc/sys does for a user who is not root.
    assert.throws(() => ensureInotifyInstances(file, "/dev/full"), /fs\.inotify\.max_user_instances is 128.*sysctl -w fs\.inotify\.max_user_instances=8192/);
  });
});
