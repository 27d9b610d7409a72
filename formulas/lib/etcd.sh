# shellcheck shell=bash
# What formulas/etcd/configure, health and leave share: the pillar's members, and what they ask of
# a running etcd cluster. Included after lib/kinetic.sh:
#   # kinetic-include: lib/etcd.sh

# etcd_check_members: the pillar's members, validated: ETCD_NAMES and ETCD_ADDRS (arrays, in index
# order) and ETCD_CLIENT_URLS (every member's client URL, comma-separated, as etcdctl takes them).
etcd_check_members() {
  local n a urls=()
  mapfile -t ETCD_NAMES < <(words "${KINETIC_NAMES_ETCD-}")
  mapfile -t ETCD_ADDRS < <(words "${KINETIC_ADDRESSES_ETCD-}")
  [ "${#ETCD_NAMES[@]}" -eq "${#ETCD_ADDRS[@]}" ] || die "KINETIC_NAMES_ETCD and KINETIC_ADDRESSES_ETCD differ in length"
  for n in "${ETCD_NAMES[@]}"; do need_valid is_hostname NAMES_ETCD "$n"; done
  for a in "${ETCD_ADDRS[@]}"; do
    need_valid is_ipv4 ADDRESSES_ETCD "$a"
    urls+=("http://$a:2379")
  done
  # shellcheck disable=SC2034 # read by the formulas that include this (configure does not)
  ETCD_CLIENT_URLS=$(IFS=,; printf '%s' "${urls[*]}")
}

# etcd_serving URLS: how many of the members at URLS (client URLs, comma-separated) serve.
# `endpoint health` is a quorum read on each; etcdctl exits non-zero when any of them fails and
# still prints every answer, so its status is not what counts.
etcd_serving() {
  local json
  json=$(timeout 60 etcdctl --endpoints "$1" --dial-timeout 3s --command-timeout 10s endpoint health -w json 2> /dev/null || true)
  python3 -c 'import json, sys
try:
    print(sum(1 for e in json.loads(sys.stdin.read()) if e.get("health")))
except ValueError:
    print(0)' <<< "$json"
}

# etcd_reconfigure ARGS...: `etcdctl ARGS...` (a member add or remove), tried again for up to a
# minute while etcd answers "unhealthy cluster": its strict reconfiguration check refuses while a
# member has been connected for less than 5 s (one just started, resumed, added or removed).
# Prints etcdctl's output; its status is the last try's.
etcd_reconfigure() {
  local out i
  for i in $(seq 1 12); do
    if out=$(timeout 60 etcdctl --dial-timeout 3s --command-timeout 30s "$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    [[ $out == *"unhealthy cluster"* && $i -lt 12 ]] || break
    sleep 5
  done
  printf '%s\n' "$out"
  return 1
}
