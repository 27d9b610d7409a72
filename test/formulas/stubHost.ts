/**
 * A chroot test host made to look like a booted server whose install phases ran and whose peers
 * all answer, so that a configure formula runs to its end in about a second: systemd "runs"
 * (/run/systemd/system exists), every service account exists, and each command that needs a real
 * service, device or the kernel (test/formulas/stubCommand.sh: mysql, ceph, rabbitmqctl,
 * systemctl, ip, sysctl, ...) is a stub that records its argv, environment and input and succeeds.
 * Used by evil.test.ts, which needs the formulas to reach every use of a value, not to configure
 * anything real. The stubs also keep a formula from touching the test machine: the chroot shares
 * its kernel, UTS and network namespace (hostname, sysctl and ip would change them).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DebianHost } from "../support/debianHost";

/** Where the stub writes its records, inside the host. */
export const STUB_DIR = "/kinetic-stub";

/**
 * Commands a formula calls that need what a chroot lacks. Those that exist in the Debian base are
 * shadowed from /usr/local/sbin (first on root's PATH); the others are put in /usr/bin, where a
 * service user's clean PATH (`os_as`: env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin) finds them too.
 * python3 and timeout are wrapped (recorded, then the real one runs), see stubCommand.sh.
 */
export const STUBBED = [
  // systemd, packages, the kernel, devices, the network
  "systemctl", "systemd-detect-virt", "dpkg-query", "apt-get", "ss", "ip", "sysctl", "hostname", "hostnamectl",
  "modprobe", "mount", "umount", "blockdev", "blkid", "lsblk", "wipefs", "sgdisk", "losetup", "udevadm",
  "networkctl", "timedatectl", "python3", "timeout",
  // services and their clients
  "mysql", "mysqladmin", "galera_new_cluster", "rabbitmqctl", "rabbitmq-plugins", "rabbitmq-diagnostics",
  "keystone-manage", "glance-manage", "nova-manage", "neutron-db-manage", "placement-manage", "cinder-manage",
  "heat-manage", "barbican-manage", "designate-manage", "magnum-db-manage", "manila-manage", "sahara-db-manage",
  "zun-db-manage", "ceph", "ceph-mon", "ceph-authtool", "monmaptool", "ceph-volume", "radosgw-admin", "rbd",
  "ovs-vsctl", "ovn-nbctl", "ovn-sbctl", "ovs-appctl", "ovn-appctl", "etcdctl", "docker", "docker-compose",
  "virsh", "qemu-img", "a2ensite", "a2dissite", "a2enmod", "a2enconf", "apache2ctl", "named-checkconf",
  "named-checkzone", "rndc", "curl", "haproxy",
];

/** Service accounts the install phases make (package maintainer scripts), which configures chown to. */
const ACCOUNTS = [
  "keystone", "glance", "nova", "neutron", "placement", "cinder", "heat", "barbican", "designate", "magnum",
  "manila", "sahara", "zun", "ceph", "rabbitmq", "mysql", "bind", "etcd", "horizon", "haproxy", "memcache",
  "opensearch", "swift", "libvirt-qemu", "_kea", "tftp", "docker",
];
const GROUPS = ["libvirt", "kvm"];

export interface StubWorld {
  /** Every IPv4 address the pillar gives the formulas: the `ss` stub says each listens on every port asked. */
  addresses: string[];
  /** What a command answers: `"<command>~<priority>~<words>"` -> output, when `<words>` occur in its arguments. */
  answers: Record<string, string>;
  /** Disk paths (OSD_DISKS) to exist as block devices that cannot be opened (RAM disk minors never made: ENXIO). */
  disks: string[];
}

/** Prepares a started chroot host. */
export function installStubs(host: DebianHost, world: StubWorld): void {
  const { addresses } = world;
  if (host.boot !== "chroot") throw new Error("the stubs are for a chroot host (a booted one runs the real services)");
  const stub = fs.readFileSync(path.join(__dirname, "stubCommand.sh"), "utf8");
  fs.writeFileSync(host.path("/usr/local/lib/kinetic-stub"), stub, { mode: 0o755 });
  for (const name of STUBBED) {
    const exists = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"].some((d) => fs.existsSync(host.path(`${d}/${name}`)));
    const link = host.path(`${exists ? "/usr/local/sbin" : "/usr/bin"}/${name}`);
    fs.rmSync(link, { force: true });
    fs.symlinkSync("/usr/local/lib/kinetic-stub", link);
  }
  fs.mkdirSync(host.path(`${STUB_DIR}/calls`), { recursive: true });
  // Service users' stubs (os_as) record here too; sticky, like /tmp.
  fs.chmodSync(host.path(`${STUB_DIR}/calls`), 0o1777);
  fs.writeFileSync(host.path(`${STUB_DIR}/addresses`), ["0.0.0.0", "127.0.0.1", ...addresses].join("\n") + "\n");
  fs.mkdirSync(host.path("/run/systemd/system"), { recursive: true });
  fs.mkdirSync(host.path(`${STUB_DIR}/answers`), { recursive: true });
  for (const [k, v] of Object.entries(world.answers)) fs.writeFileSync(host.path(`${STUB_DIR}/answers/${k}`), v);
  world.disks.forEach((d, i) => {
    if (!/^\/dev\/[a-z0-9]+$/.test(d)) throw new Error(`not a disk path: ${d}`);
    fs.rmSync(host.path(d), { force: true });
    host.exec(["mknod", d, "b", "1", String(200 + i)]);
  });
  // What the install phases leave that configures read or edit: the packages' own files, from the
  // .debs the test host has cached (configuration only, no program: those are the stubs).
  host.exec(["bash", "-c", EXTRACT]);
  for (const p of ["/opt/zun/venv/bin/zun-db-manage", "/opt/zun/venv/bin/zun-api"]) {
    fs.mkdirSync(path.dirname(host.path(p)), { recursive: true });
    fs.symlinkSync("/usr/local/lib/kinetic-stub", host.path(p));
  }
  for (const g of GROUPS) host.tryExec(["groupadd", "--system", g]);
  for (const u of ACCOUNTS) host.tryExec(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", u]);
}

/** Package files configures need, from /var/cache/apt/archives (the test host's package layer). */
const EXTRACT = `set -euo pipefail
cd /var/cache/apt/archives
for p in keystone cinder-api glance-api heat-api heat-api-cfn nova-api placement-api bind9 apache2 openstack-dashboard openstack-dashboard-apache nginx-common; do
  dpkg-deb --fsys-tarfile "$(ls "$p"_*.deb | head -n 1)" | tar -x -C / --wildcards './etc/*'
done
dpkg-deb --fsys-tarfile "$(ls ipxe_*.deb | head -n 1)" | tar -x -C / ./boot/ipxe.efi ./usr/lib/ipxe/ipxe.efi ./usr/lib/ipxe/undionly.kpxe
# What apache2's postinst enables.
ln -sfn ../sites-available/000-default.conf /etc/apache2/sites-enabled/000-default.conf
for c in /etc/apache2/conf-available/*.conf; do ln -sfn "../conf-available/\${c##*/}" "/etc/apache2/conf-enabled/\${c##*/}"; done
`;

/** One recorded call of a stub (or wrapped command). */
export interface StubCall {
  argv: string[];
  env: Record<string, string>;
  stdin: string;
}

/** The calls recorded since the last `clearStubCalls`, in the order they were made. */
export function stubCalls(host: DebianHost): StubCall[] {
  const dir = host.path(`${STUB_DIR}/calls`);
  const ids = [...new Set(fs.readdirSync(dir).map((f) => f.replace(/\.(argv|env|stdin)$/, "")))].sort();
  return ids.map((id) => {
    const read = (ext: string) => (fs.existsSync(path.join(dir, `${id}.${ext}`)) ? fs.readFileSync(path.join(dir, `${id}.${ext}`), "utf8") : "");
    const argv = read("argv").split("\0").slice(0, -1);
    const env: Record<string, string> = {};
    for (const kv of read("env").split("\0").filter(Boolean)) {
      const i = kv.indexOf("=");
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return { argv, env, stdin: read("stdin") };
  });
}

export function clearStubCalls(host: DebianHost): void {
  const dir = host.path(`${STUB_DIR}/calls`);
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true });
}
