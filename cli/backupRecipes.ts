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
 *
 * Not taken, and why:
 * - OVN's southbound database: ovn-northd derives it from the northbound, and the chassis register
 *   themselves in it again; an old copy put back over live chassis would bring back port bindings
 *   and chassis that are gone.
 * - The Ceph monitors' store (cephmon): not yet. The fsid and the keys the formulas make come from
 *   the stack's secrets and are made again; the maps (OSDs, CRUSH, pools), auth entries made since
 *   and the monitors' config live only in the store.
 */

interface RecipeBase {
  /** The part's name in a backup (its file `<part>.enc`). */
  part: string;
  /** The role whose members hold it. */
  role: string;
  what: string;
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

export const BACKUP_RECIPES: readonly BackupRecipe[] = [
  {
    part: "mysql",
    role: "mysql",
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
    what: "OVN's northbound database: every tenant network, router, port and ACL (ovsdb-client backup of a RAFT member)",
    dump: ["set -euo pipefail", `exec ovsdb-client --timeout=600 backup ${OVN_NB_SOCKET} OVN_Northbound`].join("\n"),
    restoreOn: "one member",
    restore: ["set -euo pipefail", `exec ovsdb-client --timeout=600 --force restore ${OVN_NB_SOCKET} OVN_Northbound`].join("\n"),
  },
  {
    part: "etcd",
    role: "etcd",
    what: "etcd's keyspace: every key, value, lease and revision (etcdctl snapshot save of a member that serves with a quorum)",
    dump: ETCD_DUMP,
    restoreOn: "every member",
    uses: ["NAME", "ADDRESS", "NAMES_ETCD", "ADDRESSES_ETCD"],
    stage: ETCD_STAGE,
    discard: ETCD_DISCARD,
    swap: ETCD_SWAP,
    settle: ETCD_SETTLE,
  },
];

/** The recipe of a part, or undefined when this version cannot put it back. */
export function recipeOf(part: string): BackupRecipe | undefined {
  return BACKUP_RECIPES.find((r) => r.part === part);
}
