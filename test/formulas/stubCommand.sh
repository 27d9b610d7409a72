#!/bin/bash
# A recording stand-in for a command a formula calls that needs a real service, device or kernel
# (test/formulas/stubHost.ts links it under each such name). It records its argv (NUL-separated),
# its environment and, for commands that read standard input, that input, under
# /kinetic-stub/calls/; then answers what lets the formula go on. It never evaluates anything it
# was given: arguments are only compared and printed, so a value a formula hands it unsafely shows
# in the record (split argv, an unescaped fragment), and a value the formula evaluated itself has
# already run before the stub sees it.
set -u
# A reader that stops early (`| grep -q`) must not fail the caller's pipeline through this stub.
trap '' PIPE
name=${0##*/}
calls=/kinetic-stub/calls
# Builtins only (a formula like mysql/configure makes a hundred calls): no date, no env.
rec=$calls/${EPOCHREALTIME/./}-$$
printf '%s\0' "$name" "$@" > "$rec.argv"
for v in $(compgen -e); do printf '%s=%s\0' "$v" "${!v}"; done > "$rec.env"
case $name in
  mysql | rabbitmqctl | python3) cat > "$rec.stdin" ;;
esac
args=" $* "

# Canned answers the test wrote: /kinetic-stub/answers/<command>~<priority>~<words>, the first
# (by priority) whose words occur in the arguments is printed.
for f in /kinetic-stub/answers/"$name"~*; do
  [ -f "$f" ] || continue
  if [[ $args == *" ${f##*~} "* ]]; then
    printf '%s' "$(< "$f")"
    exit 0
  fi
done

case $name in
  python3)
    # Wrapped, not replaced (the formulas derive keys and parse JSON with it), except the keystone
    # client of os_register (lib/openstack.sh), whose passwords the record shows in its environment.
    if [ "${1-}" = - ] && [[ ${2-} == http://*:5000/v3 ]]; then exit 0; fi
    exec /usr/bin/python3 "$@" < "$rec.stdin"
    ;;
  timeout)
    # tcp_open HOST PORT (lib/kinetic.sh): every peer and service of the pillar answers.
    if [ "${2-}" = bash ] && [ "${5-}" = tcp_open ]; then exit 0; fi
    exec /usr/bin/timeout "$@"
    ;;
  systemctl)
    case ${1-} in
      is-enabled) printf 'enabled\n' ;;
      list-unit-files) printf '%s enabled enabled\n' "${!#}" ;;
      show) printf 'active\n' ;;
    esac
    ;;
  ss)
    # listening_on PORT [ADDRESS]: every address of the test pillar listens on every port asked.
    # One write: `| grep -q` stops reading at the first match, and a later write would fail the pipe.
    port=${args##*sport = :}
    port=${port%% *}
    out=''
    while IFS= read -r a; do out+="LISTEN 0 4096 $a:$port 0.0.0.0:*"$'\n'; done < /kinetic-stub/addresses
    printf '%s' "$out"
    ;;
  dpkg-query)
    # shellcheck disable=SC2016 # dpkg-query's own format fields, matched literally
    case $args in
      *'${Status}'*) printf 'install ok installed' ;;
      *'${Version}'*) printf '1:0-kinetic-stub' ;;
    esac
    ;;
  systemd-detect-virt) exit 1 ;; # a machine, not a container: the formulas take their fuller path
  curl | qemu-img)
    # A download or conversion: the file it writes exists afterwards (the last argument of
    # qemu-img convert, curl's -o unless /dev/null).
    out=''
    if [ "$name" = curl ]; then
      prev=''
      for a in "$@"; do [ "$prev" != -o ] || out=$a; prev=$a; done
    elif [ "${1-}" = convert ]; then
      out=${!#}
    fi
    if [ -n "$out" ] && [ "$out" != /dev/null ]; then printf 'stub image\n' > "$out"; fi
    ;;
  mysql)
    case $args in
      *'SHOW STATUS WHERE'*) printf 'wsrep_local_state_comment\tSynced\nwsrep_cluster_status\tPrimary\nwsrep_cluster_size\t3\nwsrep_incoming_addresses\t%s\n' - ;;
      *wsrep_local_state_comment*) printf 'wsrep_local_state_comment\tSynced\n' ;;
      *wsrep_cluster_status*) printf 'wsrep_cluster_status\tPrimary\n' ;;
      *wsrep_cluster_size*) printf 'wsrep_cluster_size\t3\n' ;;
    esac
    if grep -q 'COUNT(\*)' "$rec.stdin"; then printf '0\n'; fi
    ;;
esac
exit 0
