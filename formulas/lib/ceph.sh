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
  # Only the founding monitor (INDEX 0, formulas/cephmon/configure): the initial members are the
  # quorum a new cluster's first map waits for, and the others' stores are made only once INDEX 0
  # answers (they join with its map). Naming them all left INDEX 0 probing for a majority that
  # could not exist, so no cluster of two or more monitors ever formed.
  printf 'mon_initial_members = %s\n' "${MON_NAMES[0]}"
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

# OpenStack's Ceph clients. Each service's client has a key derived from its own secret
# (SECRET_CEPH_GLANCE for client.glance, SECRET_CEPH_VOLUME for client.volume, SECRET_CEPH_COMPUTE
# for client.compute): cephmon's INDEX 0 (which holds the admin key) puts that key and these caps
# in the cluster and makes the pools; the service's own formula derives the same key for its
# keyring, so no key is copied between hosts and no client ever sees the admin key.
# ceph_client_caps NAME: the caps of client.NAME, one "service=caps" pair a line (the rbd profiles
# Ceph documents for OpenStack: glance owns images; cinder-volume and nova-compute own volumes and
# vms and read images, which their copy-on-write clones of images need).
ceph_client_caps() {
  case $1 in
    glance) printf '%s\n' 'mgr=profile rbd pool=images' 'mon=profile rbd' 'osd=profile rbd pool=images' ;;
    volume | compute)
      printf '%s\n' 'mgr=profile rbd pool=volumes, profile rbd pool=vms' 'mon=profile rbd' \
        'osd=profile rbd pool=volumes, profile rbd pool=vms, profile rbd-read-only pool=images' ;;
    *) die "no Ceph client named $1" ;;
  esac
}

# ceph_client_key NAME: the key of client.NAME, from KINETIC_SECRET_CEPH_<NAME> (the caller declares it).
ceph_client_key() {
  local var="KINETIC_SECRET_CEPH_${1^^}"
  [ -n "${!var-}" ] || die "$var is not set: client.$1's key is derived from it"
  ceph_key "${!var}" "client.$1"
}

# ceph_client_files NAME GROUP: /etc/ceph/ceph.conf (as every Ceph endpoint has it) and
# /etc/ceph/ceph.client.NAME.keyring (0640 root:GROUP) on a client host. ceph_check_members first.
ceph_client_files() {
  local fsid key
  fsid=$(ceph_fsid "${KINETIC_SECRET_CEPH_FSID:?}")
  is_uuid "$fsid" || die "could not derive the cluster fsid"
  # Derived here, not inside the renderer: a failure in a process substitution cannot stop the write.
  key=$(ceph_client_key "$1")
  ceph_refuse_foreign_conf "$fsid"
  ensure_dir /etc/ceph 0755 root:root
  put_file /etc/ceph/ceph.conf 0644 root:root < <(ceph_conf_global "$fsid")
  put_file "/etc/ceph/ceph.client.$1.keyring" 0640 "root:$2" < <(ceph_keyring_entry "client.$1" "$key")
}
