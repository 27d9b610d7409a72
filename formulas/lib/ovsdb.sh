# shellcheck shell=bash
# What formulas/ovsdb/configure, health and leave share: the pillar's members, OVN's two RAFT
# databases, and what they ask of a member. Included after lib/kinetic.sh:
#   # kinetic-include: lib/ovsdb.sh
# Each database is its own RAFT cluster: northbound (clients on 6641, RAFT on 6643) and southbound
# (6642, 6644), the ports ovn-ctl uses; this member's files and control sockets are ovn-ctl's too.

# One word per database, in the order the formulas go through them.
OVSDB_DBS=(nb sb)

# ovsdb_db KEY: sets DB_NAME, DB_FILE, DB_CTL, DB_CLIENT_PORT, DB_RAFT_PORT for `nb` or `sb`.
ovsdb_db() {
  case $1 in
    nb) DB_NAME=OVN_Northbound DB_CLIENT_PORT=6641 DB_RAFT_PORT=6643 ;;
    sb) DB_NAME=OVN_Southbound DB_CLIENT_PORT=6642 DB_RAFT_PORT=6644 ;;
    *) die "no OVN database $1" ;;
  esac
  # shellcheck disable=SC2034 # configure's (health and leave ask the running server)
  DB_FILE=/var/lib/ovn/ovn$1_db.db
  DB_CTL=/var/run/ovn/ovn$1_db.ctl
}

# ovsdb_check_members: OVSDB_ADDRS (the pillar's members, validated, in index order; this member
# alone when the pillar lists none) and OVSDB_OTHERS (every member but ADDRESS).
ovsdb_check_members() {
  local a
  mapfile -t OVSDB_ADDRS < <(words "${KINETIC_ADDRESSES_OVSDB-}")
  [ "${#OVSDB_ADDRS[@]}" -gt 0 ] || OVSDB_ADDRS=("${KINETIC_ADDRESS:?}")
  OVSDB_OTHERS=()
  for a in "${OVSDB_ADDRS[@]}"; do
    need_valid is_ipv4 ADDRESSES_OVSDB "$a"
    [ "$a" = "${KINETIC_ADDRESS:?}" ] || OVSDB_OTHERS+=("$a")
  done
  [[ " ${OVSDB_ADDRS[*]} " == *" $KINETIC_ADDRESS "* ]] || die "KINETIC_ADDRESS $KINETIC_ADDRESS is not in KINETIC_ADDRESSES_OVSDB"
}

# ovsdb_remote_state ADDRESS: what the member at ADDRESS says of the current database (ovsdb_db),
# from its _Server database over the client port: `connected` (a member of a cluster that has a
# majority), `member` (of a known cluster, without a majority now), `joining` (cluster not known
# yet: a member that started to join and is not in yet), or `none` (no answer, or no such database).
ovsdb_remote_state() {
  local out
  out=$(timeout 10 ovsdb-client --timeout=5 transact "tcp:$1:$DB_CLIENT_PORT" \
    "[\"_Server\",{\"op\":\"select\",\"table\":\"Database\",\"where\":[[\"name\",\"==\",\"$DB_NAME\"]],\"columns\":[\"connected\",\"cid\"]}]" 2> /dev/null) || {
    printf 'none\n'
    return 0
  }
  python3 -c 'import json, sys
try:
    rows = json.loads(sys.stdin.read())[0]["rows"]
except (ValueError, KeyError, IndexError, TypeError):
    rows = []
if not rows:
    print("none")
else:
    cid = rows[0].get("cid")
    known = isinstance(cid, list) and cid[0] == "uuid" and cid[1].strip("0-") != ""
    print("connected" if known and rows[0].get("connected") is True else "member" if known else "joining")' <<< "$out"
}

# ovsdb_status: this member's `cluster/status` of the current database (ovsdb_db), or fails.
ovsdb_status() {
  timeout 20 ovs-appctl -t "$DB_CTL" cluster/status "$DB_NAME" 2>&1
}

# ovsdb_member: this server is a member of the current database's cluster (joined, not leaving).
ovsdb_member() {
  local status
  status=$(ovsdb_status) && [ "$(ovsdb_field "$status" Status)" = "cluster member" ]
}

# ovsdb_servers STATUS: the servers a cluster/status lists, one line each: "<sid> <address>" with
# the RAFT address as given to create-cluster or join-cluster (tcp:A:PORT), this member's first.
ovsdb_servers() {
  python3 -c 'import re, sys
lines = sys.stdin.read().split("\n")
try:
    at = lines.index("Servers:")
except ValueError:
    sys.exit(0)
out = []
for l in lines[at + 1:]:
    m = re.match(r"^\s+(\S+) \((\S+) at (\S+)\)(.*)$", l)
    if not m:
        break
    out.append((0 if "(self)" in m.group(4) else 1, m.group(1), m.group(3)))
for _, sid, addr in sorted(out):
    print(sid, addr)' <<< "$1"
}

# ovsdb_field STATUS NAME: the value of the line "NAME: value" of a cluster/status.
ovsdb_field() {
  sed -n "s/^$2: //p" <<< "$1" | head -n 1
}
