/**
 * A cached overlay layer holding what some formulas' install steps leave on a fresh test host, for
 * the test files whose subject is another role. Every OpenStack service file (and Tempest's, and
 * radosgw's) needs MariaDB and keystone before its own role: installing them took about 150 s of
 * dpkg and py3compile per file on 2 cores, six times in a suite that is bound by its CPU.
 *
 * Where those formulas are the subject (mysql.test.ts, keystone.test.ts, the lab), hosts are fresh
 * and nothing here is used. A file given the layer still runs the same install formulas first: on
 * the layer they find their packages and change nothing, and anything the layer lacks they install.
 *
 * Keyed by the Debian root's layers, the package layer's contents and the formulas' text (includes
 * inlined): a change to any of them makes a new layer. Built once per machine under a lock, in a
 * chroot test host like the tests' own, by running the formulas over SSH; that host's upper
 * directory, without what the harness itself wrote, becomes the layer.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadFormula } from "../../formulas/load";
import { debianCacheDir, lockExclusive, pruneStale, run } from "../../lab/debianRoot";
import type { DebianHost } from "./debianHost";

/** Raise when what goes into a layer changes (its key then changes). */
const LAYER_VERSION = "1";

/** What the harness writes into a host, never part of a layer: each host writes its own. */
const HARNESS_PATHS = ["etc/hosts", "usr/sbin/policy-rc.d", "run", "tmp", "proc"];
const HARNESS_SSH = /^(ssh_host_|kinetic-test-)/;

export function installedLayerKey(lowerdir: string, labels: string[]): string {
  const requested = lowerdir.split(":").map((d) => path.join(d, ".requested")).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, "utf8"));
  const formulas = labels.map((l) => loadFormula(l).text);
  return createHash("sha256").update(JSON.stringify({ LAYER_VERSION, lowerdir, requested, labels, formulas })).digest("hex").slice(0, 16);
}

/**
 * The layer's directory (to put before `lowerdir`), built when missing. `start` makes a plain
 * chroot test host on `lowerdir`; it is only called when the layer has to be built.
 */
export async function ensureInstalledLayer(lowerdir: string, labels: string[], start: () => Promise<DebianHost>, log: (m: string) => void): Promise<string> {
  const cache = debianCacheDir();
  const layer = path.join(cache, `installed-${installedLayerKey(lowerdir, labels)}`);
  const complete = path.join(layer, ".kinetic-complete");
  if (fs.existsSync(complete)) return touched(layer, complete);
  // Two lanes needing the same layer build it once: the second waits and reuses it.
  const unlock = lockExclusive(path.join(cache, ".installed.lock"), 30 * 60);
  try {
    if (fs.existsSync(complete)) return touched(layer, complete);
    const started = Date.now();
    log(`building the installed layer of ${labels.join(", ")}: ${layer}`);
    const host = await start();
    const tmp = `${layer}.build`;
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      for (const label of labels) {
        const r = await host.formula(label, { NAME: "installed-layer" });
        if (r.code !== 0) throw new Error(`${label} failed while building the installed layer (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
      }
      if (!host.upper) throw new Error("the installed layer is built in a chroot test host, which has an upper directory");
      // cp -a keeps overlay whiteouts (character devices 0/0) and opaque directories (xattrs).
      run("cp", ["-a", host.upper, tmp]);
      for (const p of HARNESS_PATHS) fs.rmSync(path.join(tmp, p), { recursive: true, force: true });
      const ssh = path.join(tmp, "etc/ssh");
      if (fs.existsSync(ssh)) for (const f of fs.readdirSync(ssh)) if (HARNESS_SSH.test(f)) fs.rmSync(path.join(ssh, f));
      fs.writeFileSync(path.join(tmp, ".kinetic-complete"), `${labels.join("\n")}\n`);
      fs.renameSync(tmp, layer);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    } finally {
      await host.stop();
    }
    log(`installed layer ready in ${Math.round((Date.now() - started) / 1000)} s`);
    pruneStale(cache, [layer], /^installed-[0-9a-f]{16}$/, (p) => path.join(p, ".kinetic-complete"));
    return layer;
  } finally {
    unlock();
  }
}

function touched(layer: string, marker: string): string {
  const now = new Date();
  fs.utimesSync(marker, now, now);
  return layer;
}
