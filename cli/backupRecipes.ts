/**
 * What `kinetic backup` takes and how `kinetic restore` puts it back (issue 21): one recipe per
 * part, each a pair of bash scripts run as root on a member of its role (the first that takes it).
 * A part is named for what it holds, not for its role: one role may hold several.
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
 *
 * Not taken, and why:
 * - OVN's southbound database: ovn-northd derives it from the northbound, and the chassis register
 *   themselves in it again; an old copy put back over live chassis would bring back port bindings
 *   and chassis that are gone.
 * - etcd (the container role): a snapshot can only be restored by stopping every member and
 *   starting a new cluster from it, which `kinetic restore` does not do yet.
 */

export interface BackupRecipe {
  /** The part's name in a backup (its file `<part>.enc`). */
  part: string;
  /** The role whose members hold it. */
  role: string;
  what: string;
  /** Bash, run as root on a member; writes the backup on standard output. */
  dump: string;
  /** Bash, run as root on a member; reads the backup on standard input. */
  restore: string;
}

/** Where ovn-ctl (Debian's and Ubuntu's ovn-central) puts the northbound server's control socket. */
const OVN_NB_SOCKET = "unix:/var/run/ovn/ovnnb_db.sock";

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
    restore: ["set -euo pipefail", "exec mysql --protocol=socket -uroot"].join("\n"),
  },
  {
    part: "ovn-northbound",
    role: "ovsdb",
    what: "OVN's northbound database: every tenant network, router, port and ACL (ovsdb-client backup of a RAFT member)",
    dump: ["set -euo pipefail", `exec ovsdb-client --timeout=600 backup ${OVN_NB_SOCKET} OVN_Northbound`].join("\n"),
    restore: ["set -euo pipefail", `exec ovsdb-client --timeout=600 --force restore ${OVN_NB_SOCKET} OVN_Northbound`].join("\n"),
  },
];

/** The recipe of a part, or undefined when this version cannot put it back. */
export function recipeOf(part: string): BackupRecipe | undefined {
  return BACKUP_RECIPES.find((r) => r.part === part);
}
