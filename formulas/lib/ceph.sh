# shellcheck shell=bash
# Shared by the Ceph formulas (cephmon, storage, mds, swift). Included after lib/kinetic.sh:
#   # kinetic-include: lib/kinetic.sh
#   # kinetic-include: lib/ceph.sh
# The cluster's identity is derived, never stored in the pillar and never printed:
# - fsid = a UUID made of sha256("<SECRET_CEPH_FSID>:fsid");
# - the key of entity E = a Ceph secret (AES, 16 bytes) made of sha256("<secret>:<E>"), where the
#   secret is the one the entity's class declares (SECRET_CEPH_MON for mon., SECRET_CEPH_ADMIN for
#   client.admin, SECRET_CEPH_MGR for mgr.<name>, SECRET_CEPH_BOOTSTRAP_OSD|MDS|RGW for
#   client.bootstrap-osd|mds|rgw). Every formula that derives the same entity gets the same key, so
#   a storage server only needs SECRET_CEPH_FSID and SECRET_CEPH_BOOTSTRAP_OSD, never the admin key.

# ceph_fsid SECRET: print the cluster's fsid.
ceph_fsid() {
  KINETIC_DERIVE_SECRET=$1 python3 -c 'import hashlib, os, uuid
d = bytearray(hashlib.sha256((os.environ["KINETIC_DERIVE_SECRET"] + ":fsid").encode()).digest()[:16])
d[6] = (d[6] & 0x0F) | 0x40
d[8] = (d[8] & 0x3F) | 0x80
print(uuid.UUID(bytes=bytes(d)), end="")'
}

# ceph_key SECRET ENTITY: print the base64 Ceph key of ENTITY (type AES, created 0, 16 bytes).
ceph_key() {
  KINETIC_DERIVE_SECRET=$1 python3 -c 'import base64, hashlib, os, struct, sys
s = hashlib.sha256((os.environ["KINETIC_DERIVE_SECRET"] + ":" + sys.argv[1]).encode()).digest()[:16]
print(base64.b64encode(struct.pack("<HIIH", 1, 0, 0, 16) + s).decode(), end="")' "$2"
}

# ceph_keyring_entry ENTITY KEY [CAPS...]: one keyring section; CAPS are "service=caps" pairs.
ceph_keyring_entry() {
  local entity=$1 key=$2 cap
  shift 2
  printf '[%s]\n\tkey = %s\n' "$entity" "$key"
  for cap in "$@"; do printf '\tcaps %s = "%s"\n' "${cap%%=*}" "${cap#*=}"; done
}

# ceph_check_members: validate NAMES_CEPHMON / ADDRESSES_CEPHMON into MON_NAMES / MON_ADDRS.
MON_NAMES=()
MON_ADDRS=()
ceph_check_members() {
  local n a
  mapfile -t MON_NAMES < <(words "${KINETIC_NAMES_CEPHMON-}")
  mapfile -t MON_ADDRS < <(words "${KINETIC_ADDRESSES_CEPHMON-}")
  [ "${#MON_ADDRS[@]}" -gt 0 ] || die "KINETIC_ADDRESSES_CEPHMON is empty: a Ceph cluster needs monitors"
  [ "${#MON_NAMES[@]}" -eq "${#MON_ADDRS[@]}" ] || die "KINETIC_NAMES_CEPHMON and KINETIC_ADDRESSES_CEPHMON differ in length"
  for n in "${MON_NAMES[@]}"; do need_valid is_hostname NAMES_CEPHMON "$n"; done
  for a in "${MON_ADDRS[@]}"; do need_valid is_ipv4 ADDRESSES_CEPHMON "$a"; done
  [ -z "${KINETIC_SUBNET_MANAGEMENT-}" ] || need_valid is_cidr4 SUBNET_MANAGEMENT "$KINETIC_SUBNET_MANAGEMENT"
  [ -z "${KINETIC_SUBNET_SBE-}" ] || need_valid is_cidr4 SUBNET_SBE "$KINETIC_SUBNET_SBE"
}

# ceph_conf_global FSID: the [global] and [mon.<name>] sections every Ceph formula writes the same
# way (monitors on their management addresses; public network = management subnet; the
# cluster (replication) network = the sbe subnet when the pillar has one).
ceph_conf_global() {
  local fsid=$1 i
  printf '%s\n' '# kinetic: managed by the Ceph formulas (formulas/lib/ceph.sh)' '[global]'
  printf 'fsid = %s\n' "$fsid"
  printf 'mon_initial_members = %s\n' "$(IFS=,; printf '%s' "${MON_NAMES[*]}")"
  printf 'mon_host = %s\n' "$(IFS=,; printf '%s' "${MON_ADDRS[*]}")"
  [ -z "${KINETIC_SUBNET_MANAGEMENT-}" ] || printf 'public_network = %s\n' "$KINETIC_SUBNET_MANAGEMENT"
  [ -z "${KINETIC_SUBNET_SBE-}" ] || printf 'cluster_network = %s\n' "$KINETIC_SUBNET_SBE"
  printf '%s\n' 'auth_cluster_required = cephx' 'auth_service_required = cephx' 'auth_client_required = cephx'
  printf '%s\n' 'auth_allow_insecure_global_id_reclaim = false'
  for i in "${!MON_NAMES[@]}"; do
    printf '\n[mon.%s]\npublic_addr = %s\n' "${MON_NAMES[$i]}" "${MON_ADDRS[$i]}"
  done
}

# ceph_refuse_foreign_conf FSID: an /etc/ceph/ceph.conf this program did not write, naming another
# fsid, belongs to another cluster: never overwritten.
ceph_refuse_foreign_conf() {
  local want=$1 have
  [ -f /etc/ceph/ceph.conf ] || return 0
  if head -n 1 /etc/ceph/ceph.conf | grep -q '^# kinetic: managed by'; then return 0; fi
  have=$(sed -n 's/^[[:space:]]*fsid[[:space:]]*=[[:space:]]*//p' /etc/ceph/ceph.conf | head -n 1)
  if [ -n "$have" ] && [ "$have" != "$want" ]; then
    die "/etc/ceph/ceph.conf belongs to another Ceph cluster (fsid $have): refusing to overwrite it"
  fi
}

# ceph_answers ARGS...: true when a monitor answers `ceph ARGS... mon getmap` within 10 seconds
# (every bootstrap profile may read the monitor map).
ceph_answers() {
  timeout 20 ceph --connect-timeout 10 "$@" mon getmap -o /dev/null > /dev/null 2>&1
}
