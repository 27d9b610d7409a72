/**
 * What `kinetic backup` takes and how `kinetic restore` puts it back (issue 21): one recipe per
 * part, bash scripts run as root on members of its role: the dump on the first that gives it; the
 * restore through one member (the cluster carries it to the others) or, for a store that restores
 * only as a new cluster, on every member together (cli/backupEveryMember.ts). A part is named for
 * what it holds, not for its role: one role may hold several.
 *
 * - mysql: every database but the server's own (`mariadb-dump --single-transaction`: one consistent
 *   snapshot of InnoDB, with routines, events and triggers; `--add-drop-database`, so a restore
 *   makes each database exactly what it was). Accounts are not in it: formulas/mysql makes them from
 *   the stack's secrets at every configure. Restored through one member; Galera copies it to the
 *   others.
 * - ovn-northbound: OVN's northbound database (every tenant network, router, port and ACL that
 *   neutron wrote), `ovsdb-client backup` of one RAFT member: a consistent snapshot of the
 *   committed log. Restored with `ovsdb-client restore`, which replaces the database's contents in
 *   one transaction through any member (RAFT carries it to the others). `--force`: a rebuilt
 *   cluster has a new database UUID, and putting this backup there is what the operator asked for.
 * - etcd: the container role's keyspace (every key, value and lease, with their revisions),
 *   `etcdctl snapshot save` of a member that passes `endpoint health` (a quorum read: a member cut
 *   off from its cluster would hand out a stale copy), checked by restoring it once on the member
 *   before it leaves (restore verifies the SHA-256 that save appended). Put back the way etcd's
 *   disaster recovery documents (etcd.io/docs/v3.4/op-guide/recovery): every member restores the
 *   same snapshot into a new data directory as a member of a new cluster (the pillar's members, a
 *   new cluster token, so no member of the old cluster can join it), then starts from it. So it goes
 *   on every member (cli/backupEveryMember.ts): each stages it beside its live data first, and only
 *   when all did is each stopped, its data kept aside (/var/lib/etcd/kinetic.before-restore-<token>)
 *   and started from the snapshot; a member that cannot stage stops it before anything changed.
 *   Why this and not keys written back through the live cluster: it needs no live cluster (a cluster
 *   that lost its majority is why one restores), it gives back exactly what was taken (leases,
 *   every key's create/mod revision and version) rather than a copy made in batches of
 *   etcd's 128-operation transactions, and it is etcd's own documented procedure. The revision
 *   story: the cluster's revision is the snapshot's again, so what was written after it is gone
 *   with its revisions; a client watching from a later revision must list again (etcd 3.4, Debian's,
 *   has no `--bump-revision`).
 * - ceph-monitors: what only the monitors' store holds and neither the formulas (the fsid and the
 *   keys of formulas/cephmon and the OpenStack clients, derived from the stack's secrets) nor the
 *   documented rebuild from the OSDs give back (which brings back the maps and the OSDs' keys, and
 *   loses every other auth entity, the MDS keys, config-keys and the full ratios): every auth
 *   entity with its key and caps, the central config and the config-key store, as one JSON document
 *   from a monitor in quorum; the pools, full ratios and file systems are in it to compare. Put back
 *   through the live monitors as a merge: what they lack is added (keys imported from a file, never
 *   on a command line), nothing they hold is overwritten or deleted, only named when it differs: a
 *   key rotated after the backup (after a compromise) must not come back. A pool of the backup that
 *   the monitors lack, or has another id, is named, not made. A backup of another fsid is refused.
 *   Not the whole of the role's data (`wholeData: false`): `rebuild cephmon --restore-from` keeps
 *   the monitors' rolling rebuild and never replaces them at once on the strength of this part.
 *
 * Not taken, and why:
 * - OVN's southbound database: ovn-northd derives it from the northbound, and the chassis register
 *   themselves in it again; an old copy put back over live chassis would bring back port bindings
 *   and chassis that are gone.
 * - The Ceph monitors' maps (osdmap, CRUSH, pools, PGs) in the ceph-monitors part, on purpose: Red
 *   Hat's Ceph troubleshooting guide ("Recovering the monitor store") says never to restore a monitor
 *   store from an old backup; the OSDs hold newer maps
 *   than any copy, and the documented recovery when every monitor is lost rebuilds the store from
 *   the OSDs (ceph-objectstore-tool --op update-mon-db, then ceph-monstore-tool rebuild). A pool
 *   made anew from a backup would get a new id and not find its objects.
 */

interface RecipeBase {
  /** The part's name in a backup (its file `<part>.enc`). */
  part: string;
  /** The role whose members hold it. */
  role: string;
  what: string;
  /**
   * Whether putting it back gives the role's members everything they hold that the pillar cannot
   * re-derive, so that `rebuild --restore-from` may replace every member at once and restore it
   * (cli/rebuildPlan.ts). False when part of it can only come from elsewhere (the Ceph maps, from
   * the OSDs): such a role keeps its rolling rebuild, and the part goes back only by kinetic restore.
   */
  wholeData: boolean;
  /** Bash, run as root on a member; writes the backup on standard output. */
  dump: string;
}

/** Put back through one member (the first that takes it); the cluster carries it to the others. */
export interface OneMemberRecipe extends RecipeBase {
  restoreOn: "one member";
  /** Bash, run as root on a member; reads the backup on standard input. */
  restore: string;
}

/**
 * Put back on every member of the role together (cli/backupEveryMember.ts): `stage` on each, then,
 * only once every member staged it, `swap` on each, then `settle` on one. The scripts get the
 * member's pillar values named in `uses` as `KINETIC_<NAME>` (the formulas' values) and
 * `KINETIC_RESTORE_TOKEN`, one fresh word per restore, the same on every member.
 */
export interface EveryMemberRecipe extends RecipeBase {
  restoreOn: "every member";
  /** The member's values the scripts read (components/formulaFacts.ts). */
  uses: readonly string[];
  /** Bash; reads the backup on standard input and prepares it beside what serves, changing nothing that serves. */
  stage: string;
  /** Bash; throws away what `stage` left (a restore given up before any swap). */
  discard: string;
  /** Bash; puts the staged copy in place of the member's data (the old data kept aside) and starts it. */
  swap: string;
  /** Bash, on one member after every swap: waits until the cluster serves again; one line on stdout. */
  settle: string;
}

export type BackupRecipe = OneMemberRecipe | EveryMemberRecipe;

/** Where ovn-ctl (Debian's and Ubuntu's ovn-central) puts the northbound server's control socket. */
const OVN_NB_SOCKET = "unix:/var/run/ovn/ovnnb_db.sock";

/** formulas/etcd/configure's data directory, and where a restore prepares the next one beside it. */
const ETCD_DATA = "/var/lib/etcd/kinetic";
const ETCD_STAGED = "/var/lib/etcd/kinetic-restore";

/** etcdctl (3.4: the v3 API is its default) on this member's own client URL. */
const ETCD_CTL = `ctl() { ETCDCTL_API=3 timeout 900 etcdctl --endpoints http://127.0.0.1:2379 --dial-timeout 3s --command-timeout 600s "$@"; }`;

const ETCD_DUMP = [
  "set -euo pipefail",
  "umask 077",
  ETCD_CTL,
  // A quorum read: a member cut off from its cluster still answers a snapshot, with stale data.
  `if ! health=$(timeout 60 etcdctl --endpoints http://127.0.0.1:2379 --dial-timeout 3s --command-timeout 10s endpoint health 2>&1); then`,
  `  printf 'this member does not serve with a quorum: its copy could be stale (%s)\\n' "$(grep -m 1 'is unhealthy' <<< "$health" || tail -n 1 <<< "$health")" >&2`,
  "  exit 1",
  "fi",
  "tmp=$(mktemp -d /var/lib/etcd/kinetic-backup.XXXXXX)",
  `trap 'rm -rf "$tmp"' EXIT`,
  `ctl snapshot save "$tmp/snapshot.db" >&2`,
  // snapshot save appends the copy's SHA-256 and restore checks it: restored once here, the copy
  // that leaves is known whole (and readable by the restore that will need it).
  `ctl snapshot status -w table "$tmp/snapshot.db" >&2`,
  `ctl snapshot restore "$tmp/snapshot.db" --data-dir "$tmp/check" > "$tmp/check.log" 2>&1 || { cat "$tmp/check.log" >&2; exit 1; }`,
  `cat "$tmp/snapshot.db"`,
].join("\n");

/**
 * The pillar's members (KINETIC_NAMES_ETCD, KINETIC_ADDRESSES_ETCD) checked: `peers` (each
 * `name=peer URL`, as formulas/etcd/configure writes its initial cluster) and `urls` (client URLs).
 */
const ETCD_MEMBERS = [
  `fail() { printf '%s\\n' "$1" >&2; exit 1; }`,
  `name=\${KINETIC_NAME:?}`,
  `read -ra names <<< "\${KINETIC_NAMES_ETCD:?}"`,
  `read -ra addrs <<< "\${KINETIC_ADDRESSES_ETCD:?}"`,
  `[ "\${#names[@]}" -eq "\${#addrs[@]}" ] || fail "KINETIC_NAMES_ETCD and KINETIC_ADDRESSES_ETCD differ in length"`,
  `[[ " \${names[*]} " == *" $name "* ]] || fail "$name is not in KINETIC_NAMES_ETCD"`,
  "peers=()",
  "urls=()",
  `for i in "\${!names[@]}"; do`,
  `  [[ \${names[$i]} =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ && \${addrs[$i]} =~ ^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$ ]] || fail "member \${names[$i]} at \${addrs[$i]} is not a name and an IPv4 address"`,
  `  peers+=("\${names[$i]}=http://\${addrs[$i]}:2380")`,
  `  urls+=("http://\${addrs[$i]}:2379")`,
  "done",
  `token=\${KINETIC_RESTORE_TOKEN:?}`,
  `[[ $token =~ ^[a-z0-9-]+$ ]] || fail "KINETIC_RESTORE_TOKEN is not a restore token"`,
].join("\n");

/**
 * The etcd disaster recovery of etcd's documentation, member by member: the snapshot restored into a
 * new data directory beside the live one, as a member of a new cluster (the pillar's members, a new
 * token: the old members cannot join it by mistake). etcd is not touched.
 */
const ETCD_STAGE = [
  "set -euo pipefail",
  "umask 077",
  ETCD_MEMBERS,
  `address=\${KINETIC_ADDRESS:?}`,
  `[[ $address =~ ^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$ ]] || fail "KINETIC_ADDRESS is not an IPv4 address"`,
  `initial=$(IFS=,; printf '%s' "\${peers[*]}")`,
  `staged=${ETCD_STAGED}`,
  `rm -rf "$staged"`,
  `mkdir -p "$staged"`,
  `cat > "$staged/snapshot.db"`,
  `[ -s "$staged/snapshot.db" ] || fail "no snapshot on standard input"`,
  `ETCDCTL_API=3 etcdctl snapshot status -w json "$staged/snapshot.db" > "$staged/status.json" 2> "$staged/restore.log" || fail "not an etcd snapshot: $(tail -n 1 "$staged/restore.log")"`,
  // restore checks the SHA-256 that snapshot save appended: a copy damaged on the way stops here.
  `ETCDCTL_API=3 etcdctl snapshot restore "$staged/snapshot.db" --name "$name" --data-dir "$staged/data" --initial-cluster "$initial" --initial-cluster-token "$token" --initial-advertise-peer-urls "http://$address:2380" > "$staged/restore.log" 2>&1 || fail "etcdctl snapshot restore: $(tail -n 1 "$staged/restore.log")"`,
  `rm -f "$staged/snapshot.db"`,
  `chown -R etcd:etcd "$staged/data"`,
  `printf '%s\\n' "$token" > "$staged/token"`,
  `python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
print("etcd: %s staged the snapshot (revision %s, %s keys)" % (sys.argv[2], s["revision"], s["totalKey"]))' "$staged/status.json" "$name"`,
].join("\n");

const ETCD_DISCARD = ["set -euo pipefail", `rm -rf ${ETCD_STAGED}`].join("\n");

/**
 * The staged data directory in place of the live one; the live one kept aside (the operator
 * deletes it once the restore is trusted). /etc/default/etcd is left as it is: etcd reads its
 * initial cluster only when its data directory is empty.
 */
const ETCD_SWAP = [
  "set -euo pipefail",
  `token=\${KINETIC_RESTORE_TOKEN:?}`,
  `[[ $token =~ ^[a-z0-9-]+$ ]] || { echo "KINETIC_RESTORE_TOKEN is not a restore token" >&2; exit 1; }`,
  `staged=${ETCD_STAGED}`,
  `data=${ETCD_DATA}`,
  // Only what this restore staged: never a copy left by another one.
  `if [ "$(cat "$staged/token" 2> /dev/null)" != "$token" ] || [ ! -d "$staged/data/member" ]; then echo "nothing staged here for this restore" >&2; exit 1; fi`,
  "systemctl stop etcd.service",
  `aside=$data.before-restore-$token`,
  `if [ -e "$data" ]; then mv "$data" "$aside"; fi`,
  `mv "$staged/data" "$data"`,
  `chmod 0700 "$data"`,
  `rm -rf "$staged"`,
  // etcd waits for a quorum of the new cluster: the other members start in the same moment.
  "systemctl start --no-block etcd.service",
  `printf 'etcd: %s started from the snapshot; its former data kept in %s\\n' "\${KINETIC_NAME:?}" "$aside"`,
].join("\n");

/** Up to 5 minutes for every member of the new cluster to serve; its revision. */
const ETCD_SETTLE = [
  "set -euo pipefail",
  ETCD_MEMBERS,
  `clients=$(IFS=,; printf '%s' "\${urls[*]}")`,
  "for _ in $(seq 1 100); do",
  `  if timeout 30 etcdctl --endpoints "$clients" --dial-timeout 3s --command-timeout 10s endpoint health > /dev/null 2>&1; then`,
  `    rev=$(timeout 30 etcdctl --endpoints "http://\${addrs[0]}:2379" --dial-timeout 3s --command-timeout 10s endpoint status -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')`,
  `    printf 'etcd: every member (%s) serves the restored keyspace, at revision %s\\n' "\${#names[@]}" "$rev"`,
  "    exit 0",
  "  fi",
  "  sleep 3",
  "done",
  `fail "the restored cluster does not serve on every member after 5 minutes: $(timeout 30 etcdctl --endpoints "$clients" --dial-timeout 3s endpoint health 2>&1 | grep -v 'is healthy' | head -n 1)"`,
].join("\n");

/** `ceph` as root on a monitor host (client.admin's keyring, which formulas/cephmon/configure writes). */
const CEPH = `c() { timeout 120 ceph --connect-timeout 20 "$@"; }`;

/**
 * What lives only in the monitors' store and is neither derived from the stack's secrets by the
 * formulas nor rebuilt from the OSDs by Ceph's own recovery (ceph-objectstore-tool --op
 * update-mon-db): one JSON document (format 1) of the cluster's fsid, every auth entity (key and
 * caps), the central config, the config-key store (but the config, which is above, and its history)
 * and, to compare only, the pools, the full ratios and the file systems.
 */
const CEPHMON_DUMP = [
  "set -euo pipefail",
  "umask 077",
  CEPH,
  `c quorum_status --format json > /dev/null || { echo "no monitor quorum answers here: the monitors' store cannot be read" >&2; exit 1; }`,
  "tmp=$(mktemp -d)",
  `trap 'rm -rf "$tmp"' EXIT`,
  `c fsid --format json > "$tmp/fsid"`,
  `c auth ls --format json > "$tmp/auth" 2> /dev/null`,
  `c config dump --format json > "$tmp/config"`,
  `c config-key dump > "$tmp/config-key"`,
  `c osd dump --format json > "$tmp/osd"`,
  `c fs dump --format json > "$tmp/fs" 2> /dev/null`,
  `python3 -c 'import json, sys
d = sys.argv[1]
def load(n):
    with open(f"{d}/{n}") as f:
        return json.load(f)
osd = load("osd")
print(json.dumps({
    "format": 1,
    "fsid": load("fsid")["fsid"],
    "auth": [{"entity": e["entity"], "key": e["key"], "caps": e.get("caps", {})} for e in load("auth")["auth_dump"]],
    "config": [{"section": o["section"], "mask": o.get("mask", ""), "name": o["name"], "value": o["value"]} for o in load("config")],
    "config_key": {k: v for k, v in load("config-key").items() if not k.startswith(("config/", "config-history/"))},
    "pools": [{"pool": p["pool"], "name": p["pool_name"], "size": p["size"], "pg_num": p["pg_num"], "crush_rule": p["crush_rule"], "application": sorted(p.get("application_metadata", {}))} for p in osd["pools"]],
    "full_ratio": osd.get("full_ratio"), "nearfull_ratio": osd.get("nearfull_ratio"), "backfillfull_ratio": osd.get("backfillfull_ratio"),
    "filesystems": [f["mdsmap"]["fs_name"] for f in load("fs").get("filesystems", [])],
}, sort_keys=True))' "$tmp"`,
].join("\n");

/**
 * Puts back through the live monitors what the backup has and they lack: auth entities (imported
 * from a keyring file: no key on a command line), config options, config-keys (each value from a
 * file). What the monitors hold already is never overwritten nor deleted, only named when it
 * differs: a key rotated after the backup (after a compromise) must not come back, and an OSD's key
 * lives on its disk. Pools, CRUSH, ratios and file systems are compared, not made: a pool made anew
 * has a new id and would not find its objects; they come back with the maps rebuilt from the OSDs.
 * A backup of another cluster (another fsid) is refused before anything changes.
 */
const CEPHMON_RESTORE = [
  "set -euo pipefail",
  "umask 077",
  "tmp=$(mktemp -d)",
  `trap 'rm -rf "$tmp"' EXIT`,
  `cat > "$tmp/backup.json"`,
  `cat > "$tmp/restore.py" << 'PY'
import json, os, subprocess, sys
tmp = sys.argv[1]
def ceph(*args):
    r = subprocess.run(["timeout", "120", "ceph", "--connect-timeout", "20", *args], capture_output=True, text=True)
    if r.returncode:
        lines = r.stderr.strip().splitlines()
        sys.exit(f"ceph {' '.join(args[:2])}: {lines[-1] if lines else 'exit %d' % r.returncode}")
    return r.stdout
with open(f"{tmp}/backup.json") as f:
    b = json.load(f)
if b.get("format") != 1:
    sys.exit("not a backup of the Ceph monitors' store this version reads")
live = json.loads(ceph("fsid", "--format", "json"))["fsid"]
if b["fsid"] != live:
    sys.exit(f"this backup is of Ceph cluster {b['fsid']}, these monitors serve {live}: refusing, nothing was changed")
said = []
auth = {e["entity"]: e for e in json.loads(ceph("auth", "ls", "--format", "json"))["auth_dump"]}
missing = [e for e in b["auth"] if e["entity"] not in auth]
differ = [e["entity"] for e in b["auth"] if e["entity"] in auth and (auth[e["entity"]]["key"], auth[e["entity"]].get("caps", {})) != (e["key"], e["caps"])]
if missing:
    path = f"{tmp}/import.keyring"
    with open(path, "w") as f:
        for e in missing:
            f.write(f"[{e['entity']}]\\n\\tkey = {e['key']}\\n")
            for svc, cap in sorted(e["caps"].items()):
                f.write(f"\\tcaps {svc} = {json.dumps(cap)}\\n")
    ceph("auth", "import", "-i", path)
said.append(f"auth entities put back: {' '.join(e['entity'] for e in missing) or 'none'}")
if differ:
    said.append(f"kept as the monitors have them (they differ from the backup): {' '.join(differ)}")
who = lambda o: f"{o['section']}/{o['mask']}" if o.get("mask") else o["section"]
have = {(who(o), o["name"]) for o in json.loads(ceph("config", "dump", "--format", "json"))}
options = [o for o in b["config"] if (who(o), o["name"]) not in have]
for o in options:
    ceph("config", "set", who(o), o["name"], o["value"])
said.append(f"config options put back: {' '.join(who(o) + ' ' + o['name'] for o in options) or 'none'}")
keys = json.loads(ceph("config-key", "dump"))
put = [k for k in sorted(b["config_key"]) if k not in keys]
for i, k in enumerate(put):
    path = f"{tmp}/value-{i}"
    with open(path, "w") as f:
        f.write(b["config_key"][k])
    ceph("config-key", "set", k, "-i", path)
said.append(f"config-keys put back: {len(put)}")
pools = {p["pool_name"]: p["pool"] for p in json.loads(ceph("osd", "dump", "--format", "json"))["pools"]}
gone = [f"{p['name']} (id {p['pool']})" for p in b["pools"] if p["name"] not in pools]
moved = [f"{p['name']} (id {p['pool']}, now {pools[p['name']]})" for p in b["pools"] if p["name"] in pools and pools[p["name"]] != p["pool"]]
if gone or moved:
    said.append("pools not made again (their objects are found by pool id: rebuild the maps from the OSDs, ceph-objectstore-tool --op update-mon-db): " + ", ".join(gone + moved))
print("cephmon: " + "; ".join(said))
PY`,
  `python3 "$tmp/restore.py" "$tmp"`,
].join("\n");

export const BACKUP_RECIPES: readonly BackupRecipe[] = [
  {
    part: "mysql",
    role: "mysql",
    wholeData: true,
    what: "every database of the Galera cluster but the server's own (mariadb-dump --single-transaction)",
    dump: [
      "set -euo pipefail",
      `dbs=$(mysql -N -B -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1")`,
      `[ -n "$dbs" ] || { echo 'no database to back up' >&2; exit 1; }`,
      "dump=$(command -v mariadb-dump || command -v mysqldump)",
      `# shellcheck disable=SC2086 # one word per database name`,
      `exec "$dump" --single-transaction --routines --events --triggers --add-drop-database --databases $dbs`,
    ].join("\n"),
    restoreOn: "one member",
    restore: ["set -euo pipefail", "exec mysql --protocol=socket -uroot"].join("\n"),
  },
  {
    part: "ovn-northbound",
    role: "ovsdb",
    wholeData: true,
    what: "OVN's northbound database: every tenant network, router, port and ACL (ovsdb-client backup of a RAFT member)",
    dump: ["set -euo pipefail", `exec ovsdb-client --timeout=600 backup ${OVN_NB_SOCKET} OVN_Northbound`].join("\n"),
    restoreOn: "one member",
    // ovsdb-client restore seeks in its input, and a backup arrives on a pipe (SSH): a private copy first.
    restore: [
      "set -euo pipefail",
      "copy=$(mktemp)",
      `trap 'rm -f -- "$copy"' EXIT`,
      `cat > "$copy"`,
      `ovsdb-client --timeout=600 --force restore ${OVN_NB_SOCKET} OVN_Northbound < "$copy"`,
    ].join("\n"),
  },
  {
    part: "etcd",
    role: "etcd",
    wholeData: true,
    what: "etcd's keyspace: every key, value, lease and revision (etcdctl snapshot save of a member that serves with a quorum)",
    dump: ETCD_DUMP,
    restoreOn: "every member",
    uses: ["NAME", "ADDRESS", "NAMES_ETCD", "ADDRESSES_ETCD"],
    stage: ETCD_STAGE,
    discard: ETCD_DISCARD,
    swap: ETCD_SWAP,
    settle: ETCD_SETTLE,
  },
  {
    part: "ceph-monitors",
    role: "cephmon",
    wholeData: false,
    what: "what only the Ceph monitors' store holds and the OSDs cannot give back: auth entities, central config, config-keys (pools and ratios, to compare)",
    dump: CEPHMON_DUMP,
    restoreOn: "one member",
    restore: CEPHMON_RESTORE,
  },
];

/** The recipe of a part, or undefined when this version cannot put it back. */
export function recipeOf(part: string): BackupRecipe | undefined {
  return BACKUP_RECIPES.find((r) => r.part === part);
}

/**
 * The roles whose data the parts `parts` replace whole (`wholeData`): those a rebuild
 * --restore-from may replace at once (cli/rebuildPlan.ts).
 */
export function rolesRestoredWhole(parts: readonly string[]): Set<string> {
  return new Set(parts.map((p) => recipeOf(p)).filter((r): r is BackupRecipe => r?.wholeData === true).map((r) => r.role));
}
