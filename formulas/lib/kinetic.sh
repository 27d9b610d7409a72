# shellcheck shell=bash
# Shared helpers for every formula. A formula pulls this file in with the line
#   # kinetic-include: lib/kinetic.sh
# which formulas/load.ts replaces with this text before the script is sent (one self-contained
# script per phase). Nothing here evaluates a value as shell: values are only ever expanded in
# double quotes and written with printf '%s'.

set -Eeuo pipefail
shopt -s inherit_errexit
export LC_ALL=C
export DEBIAN_FRONTEND=noninteractive
umask 022

# The runner hands the values over exported (KINETIC_<NAME>); from here on they are plain shell
# variables: no command a formula runs inherits them, above all none dropped to a service user
# (runuser, su, rabbitmqctl's own su), whose /proc/<pid>/environ that user can read. A command that
# needs a value is given it explicitly: `NAME=$value command`, or `export` inside a subshell.
for kinetic_var in "${!KINETIC_@}"; do export -n "${kinetic_var?}"; done
unset kinetic_var

KINETIC_FORMULA=${KINETIC_FORMULA:-${0##*/}}
KINETIC_STEP=start
KINETIC_CHANGES=0

# A failure names the formula and the step it happened in. Only the command's first line: a
# here-document's whole text is part of it, and buried the error above it (a 100-line Python client).
kinetic_on_error() {
  local rc=$1 line=$2 cmd=${3%%$'\n'*}
  [ "$cmd" = "$3" ] || cmd="$cmd ..."
  printf 'kinetic: %s: step "%s" failed (exit %s at line %s: %s)\n' \
    "$KINETIC_FORMULA" "$KINETIC_STEP" "$rc" "$line" "$cmd" >&2
  exit "$rc"
}
trap 'kinetic_on_error "$?" "$LINENO" "$BASH_COMMAND"' ERR

# One formula at a time on a host. A run the orchestrator stopped waiting for (Ctrl-C, a dropped
# connection) goes on here until it ends (seen in the lab: its apt-get still held dpkg's lock when
# the next up's formula started); the next run waits for it instead of colliding with it.
# The lock lives in a directory only root can enter (/run/lock is world-writable: any local user could
# hold the lock there and stall every formula, or plant a symlink for root to truncate through).
# /run itself is root's, so nobody else can have made /run/kinetic; a symlink or a directory that is
# not root's 0700 one is refused rather than used.
if [ -L /run/kinetic ] || { [ -e /run/kinetic ] && [ ! -d /run/kinetic ]; }; then
  printf 'kinetic: %s: /run/kinetic is not a directory (a symlink?): refusing to take the formula lock there\n' "$KINETIC_FORMULA" >&2
  exit 75
fi
[ -d /run/kinetic ] || mkdir -m 0700 /run/kinetic
if [ "$(stat -c '%u %a' /run/kinetic)" != "0 700" ]; then
  printf 'kinetic: %s: /run/kinetic is not root'"'"'s 0700 directory (%s): refusing to take the formula lock there\n' "$KINETIC_FORMULA" "$(stat -c '%U %a' /run/kinetic)" >&2
  exit 75
fi
exec 9> /run/kinetic/formula.lock
if ! flock -w 1800 9; then
  printf 'kinetic: %s: another formula has held this host for 30 minutes; giving up\n' "$KINETIC_FORMULA" >&2
  exit 75
fi

# step NAME: announce the step a failure will be reported against.
step() {
  KINETIC_STEP=$1
  printf 'step: %s\n' "$1"
}

# die MESSAGE: fail the current step with a message (exit 1).
die() {
  printf 'kinetic: %s: step "%s" failed: %s\n' "$KINETIC_FORMULA" "$KINETIC_STEP" "$1" >&2
  exit 1
}

# refuse MESSAGE: decline to do something destructive (a cluster member asked to leave when that
# would break its majority): the step fails as with die, with exit 77, which callers tell apart from
# a failure to reach or run (kinetic rebuild stops there instead of replacing the machine anyway).
refuse() {
  printf 'kinetic: %s: step "%s" failed: %s\n' "$KINETIC_FORMULA" "$KINETIC_STEP" "$1" >&2
  exit 77
}

# warn MESSAGE
warn() {
  printf 'warning: %s\n' "$1" >&2
}

# changed WHAT: record and print one change.
changed() {
  KINETIC_CHANGES=$((KINETIC_CHANGES + 1))
  printf 'changed: %s\n' "$1"
}

# finish: the last line of every formula.
finish() {
  KINETIC_STEP=finish
  if [ "$KINETIC_CHANGES" -eq 0 ]; then
    printf 'kinetic: %s: nothing changed\n' "$KINETIC_FORMULA"
  else
    printf 'kinetic: %s: %s change(s)\n' "$KINETIC_FORMULA" "$KINETIC_CHANGES"
  fi
}

# put_file PATH [MODE] [OWNER:GROUP] < content
# Replaces PATH with stdin only when content, mode or owner differ; prints `changed: PATH` then.
put_file() {
  local path=$1 mode=${2:-0644} owner=${3:-root:root} dir tmp want
  dir=$(dirname -- "$path")
  ensure_dir "$dir"
  tmp=$(mktemp "$dir/.kinetic.XXXXXX")
  cat > "$tmp"
  chmod "$mode" "$tmp"
  chown "$owner" "$tmp"
  want=$(printf '%o %s' "$((8#$mode))" "$owner")
  if [ -f "$path" ] && [ ! -L "$path" ] && cmp -s -- "$tmp" "$path" \
    && [ "$(stat -c '%a %U:%G' -- "$path")" = "$want" ]; then
    rm -f -- "$tmp"
    return 0
  fi
  mv -f -- "$tmp" "$path"
  changed "$path"
}

# ensure_dir PATH [MODE] [OWNER:GROUP]
ensure_dir() {
  local path=$1 mode=${2:-} owner=${3:-}
  if [ ! -d "$path" ]; then
    mkdir -p -- "$path"
    changed "$path/"
  fi
  if [ -n "$mode" ] && [ "$(stat -c '%a' -- "$path")" != "$(printf '%o' "$((8#$mode))")" ]; then
    chmod "$mode" "$path"
    changed "$path/ (mode $mode)"
  fi
  if [ -n "$owner" ] && [ "$(stat -c '%U:%G' -- "$path")" != "$owner" ]; then
    chown "$owner" "$path"
    changed "$path/ (owner $owner)"
  fi
}

# remove_file PATH: delete PATH if it exists.
remove_file() {
  if [ -e "$1" ] || [ -L "$1" ]; then
    rm -f -- "$1"
    changed "removed $1"
  fi
}

# ensure_symlink TARGET LINK
ensure_symlink() {
  if [ -L "$2" ] && [ "$(readlink -- "$2")" = "$1" ]; then return 0; fi
  ln -sfn -- "$1" "$2"
  changed "$2 -> $1"
}

# installed PACKAGE: true when dpkg has it fully installed.
installed() {
  [ "$(dpkg-query -W -f='${Status}' -- "$1" 2>/dev/null || true)" = "install ok installed" ]
}

KINETIC_APT_OPTS=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# pkg_install PACKAGE...: install the missing ones (without recommends). Refreshes the package
# lists first when there are none, and once more when an install fails (stale lists).
pkg_install() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  # An install cut short (the engine killed, the link or the power lost) leaves dpkg's journal
  # behind, and apt refuses to run until it is replayed.
  if compgen -G '/var/lib/dpkg/updates/[0-9]*' > /dev/null || [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    printf 'an earlier package run was interrupted: finishing it (dpkg --configure -a)\n'
    dpkg --configure -a --force-confdef --force-confold
    changed "interrupted package run finished"
  fi
  if ! compgen -G '/var/lib/apt/lists/*_Packages' > /dev/null; then
    apt-get update -q
  fi
  if ! apt-get install "${KINETIC_APT_OPTS[@]}" "${missing[@]}"; then
    apt-get update -q
    apt-get install "${KINETIC_APT_OPTS[@]}" "${missing[@]}"
  fi
  for p in "${missing[@]}"; do changed "package $p installed"; done
}

# pkg_purge PACKAGE...: purge the installed ones.
pkg_purge() {
  local present=() p
  for p in "$@"; do installed "$p" && present+=("$p"); done
  [ "${#present[@]}" -gt 0 ] || return 0
  apt-get purge -y -q "${present[@]}"
  for p in "${present[@]}"; do changed "package $p purged"; done
}

# unit_exists UNIT
unit_exists() {
  [ -n "$(systemctl list-unit-files --no-legend --no-pager -- "$1" 2>/dev/null)" ]
}

# enable_unit UNIT...: `systemctl enable` (works without a running systemd).
enable_unit() {
  local u
  for u in "$@"; do
    if [ "$(systemctl is-enabled -- "$u" 2>/dev/null || true)" != enabled ]; then
      systemctl enable --quiet -- "$u"
      changed "unit $u enabled"
    fi
  done
}

# disable_unit UNIT...: disable (and mask nothing) when the unit exists and is enabled.
disable_unit() {
  local u state
  for u in "$@"; do
    state=$(systemctl is-enabled -- "$u" 2>/dev/null || true)
    case $state in
      enabled | enabled-runtime | alias | static | indirect | linked)
        if [ "$state" != static ]; then
          systemctl disable --quiet -- "$u"
          changed "unit $u disabled"
        fi
        ;;
    esac
  done
}

# systemd_running: true on a host booted with systemd (false in a chroot or container build).
systemd_running() {
  [ -d /run/systemd/system ]
}

# in_container: true in a container (systemd says so; the lab's hosts are containers).
in_container() {
  systemd-detect-virt --quiet --container 2> /dev/null
}

# restart_if_running UNIT: restart a service after its configuration changed, when systemd runs.
restart_if_running() {
  if systemd_running; then
    systemctl restart -- "$1"
    printf 'restarted: %s\n' "$1"
  fi
}

# A phase never succeeds half-way. What a formula cannot do yet (a service it needs does not answer,
# systemd is not running) is waited for up to a deadline and then fails the step, naming what it
# waited for: a phase reported as done with a step left undone looks unchanged to every later `up`,
# which would never repair it. Only a test host that runs formulas where such services cannot run
# (a chroot: no systemd, no peers) asks otherwise, with the value TEST_PARTIAL=1, which no formula
# declares and so the program never sends; the run then prints `skipped: WHAT (WHY)` and goes on.
# WAIT_SECONDS (also never sent by the program) shortens the deadline for tests of the failure.
KINETIC_WAIT_SECONDS=${KINETIC_WAIT_SECONDS:-300}

# partial_or_die WHAT WHY: on a test host that asked for partial runs, print `skipped: WHAT (WHY)`
# and return 1; anywhere else fail the step with "WHAT: WHY".
partial_or_die() {
  if [ "${KINETIC_TEST_PARTIAL:-}" = 1 ]; then
    printf 'skipped: %s (%s)\n' "$1" "$2"
    return 1
  fi
  die "$1: $2"
}

# wait_until WHAT WHY COMMAND...: return 0 as soon as COMMAND succeeds, trying every 2 s for
# KINETIC_WAIT_SECONDS (once only on a test host that asked for partial runs); then
# partial_or_die WHAT "WHY (waited N s)". Use as: if wait_until ...; then <the work>; fi
wait_until() {
  local what=$1 why=$2 deadline
  shift 2
  "$@" && return 0
  if [ "${KINETIC_TEST_PARTIAL:-}" = 1 ]; then
    partial_or_die "$what" "$why"
    return 1
  fi
  printf 'waiting: %s (%s; up to %s s)\n' "$what" "$why" "$KINETIC_WAIT_SECONDS"
  deadline=$((SECONDS + KINETIC_WAIT_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    sleep 2
    "$@" && return 0
  done
  partial_or_die "$what" "$why (waited $KINETIC_WAIT_SECONDS s)"
}

# listening_on PORT [ADDRESS]: something on this host listens on TCP PORT (on ADDRESS, if given).
listening_on() {
  if [ -n "${2-}" ]; then
    ss -Hltn "sport = :$1" | awk '{print $4}' | grep -qxF "$2:$1"
  else
    ss -Hltn "sport = :$1" | grep -q .
  fi
}

# need_listening UNIT PORT LOG: UNIT's service listens on PORT within the deadline, else the step
# fails naming its log. systemd says "active" of a service that crashes and restarts in a loop (an
# import error, a missing key): listening is what a client sees. Also checked when nothing changed,
# so that the next `up` finds a service left broken.
need_listening() {
  need_systemd "$1 listening on :$2" || return 0
  wait_until "$1 listening on :$2" "nothing listens there; its log: $3" listening_on "$2" || true
}

# ovs_answers: the Open vSwitch database answers. docker_answers: the Docker engine answers.
ovs_answers() { ovs-vsctl --timeout=5 --no-wait show > /dev/null 2>&1; }
docker_answers() { docker info > /dev/null 2>&1; }

# need_systemd WHAT: 0 on a host booted with systemd; else partial_or_die WHAT (every real server
# and VM boots systemd, so its absence is a defect there, not a reason to leave WHAT undone).
need_systemd() {
  systemd_running && return 0
  partial_or_die "$1" "systemd is not running here"
}

# words VALUE: print the whitespace-separated words of VALUE one per line (no globbing).
words() {
  local w arr
  read -r -d '' -a arr < <(printf '%s\0' "$1") || true
  for w in "${arr[@]}"; do printf '%s\n' "$w"; done
}

# Validators: a value that must be a token is checked, never repaired.
is_ipv4() {
  local re='^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
  [[ $1 =~ $re ]]
}
is_cidr4() {
  local re='^([0-9.]+)/([0-9]|[12][0-9]|3[0-2])$'
  [[ $1 =~ $re ]] && is_ipv4 "${BASH_REMATCH[1]}"
}
is_hostname() {
  local re='^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$'
  [[ ${#1} -le 253 && $1 =~ $re ]]
}
is_ifname() {
  local re='^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$'
  [[ $1 =~ $re ]]
}
is_uuid() {
  local re='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
  [[ $1 =~ $re ]]
}
# need_valid CHECK NAME VALUE: fail the step naming the value (not echoing a secret: callers never pass one).
need_valid() {
  "$1" "$3" || die "KINETIC_$2 is not a valid ${1#is_}: $(printf '%q' "$3")"
}

# json_str VALUE: VALUE as a JSON (and YAML double-quoted) string literal.
json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=${s//[$'\001'-$'\037'$'\177']/}
  printf '"%s"' "$s"
}

# sql_str VALUE: VALUE as a single-quoted SQL string literal (MariaDB escaping).
sql_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\'/\\\'}
  s=${s//$'\n'/\\n}
  printf "'%s'" "$s"
}

# url_encode VALUE: percent-encode everything but unreserved characters (RFC 3986).
url_encode() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# tcp_open HOST PORT: true when a TCP connection to HOST:PORT succeeds within 3 seconds.
tcp_open() {
  # shellcheck disable=SC2016 # $1 and $2 are expanded by the inner bash, as arguments
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' tcp_open "$1" "$2" 2> /dev/null
}

# split_tabs LINE: FIELDS=(the tab-separated fields of LINE), empty fields kept.
FIELDS=()
split_tabs() {
  local rest=$1
  FIELDS=()
  while [[ $rest == *$'\t'* ]]; do
    FIELDS+=("${rest%%$'\t'*}")
    rest=${rest#*$'\t'}
  done
  FIELDS+=("$rest")
}

# hosts_block NAME < lines: make the lines between `# BEGIN kinetic NAME` and `# END kinetic NAME`
# in /etc/hosts equal stdin. An existing block is replaced where it stands (so formulas owning
# different blocks never reorder each other's); a new one is appended. Other lines are kept.
hosts_block() {
  local begin="# BEGIN kinetic $1" end="# END kinetic $1" body line state=before tmp
  body=$(cat)
  tmp=$(mktemp /etc/.kinetic-hosts.XXXXXX)
  {
    if [ -f /etc/hosts ]; then
      while IFS= read -r line || [ -n "$line" ]; do
        if [ "$state" = before ] && [ "$line" = "$begin" ]; then
          state=inside
          printf '%s\n' "$begin" "$body" "$end"
        elif [ "$state" = inside ]; then
          [ "$line" != "$end" ] || state=after
        else
          printf '%s\n' "$line"
        fi
      done < /etc/hosts
    fi
    if [ "$state" = before ]; then printf '%s\n' "$begin" "$body" "$end"; fi
  } > "$tmp"
  if [ "$state" = inside ]; then
    rm -f -- "$tmp"
    die "/etc/hosts: '$begin' has no '$end'"
  fi
  put_file /etc/hosts 0644 root:root < "$tmp"
  rm -f -- "$tmp"
}
