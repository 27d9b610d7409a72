# shellcheck shell=bash
# The pattern every OpenStack service formula shares (documented in formulas/README.md, "OpenStack
# services"). A configure formula includes it after lib/kinetic.sh:
#   # kinetic-include: lib/kinetic.sh
#   # kinetic-include: lib/openstack.sh
# and reads as a list of its own facts:
#   os_values <type>                      validate the common values, set the OS_* globals below
#   os_secret SECRET_<X>                  refuse a secret that cannot go into a URL or an oslo file
#   os_conf PATH GROUP < <(renderer)      write a managed config file (0640 root:GROUP)
#   os_ini_* ...                          print the usual oslo sections (database, keystone_authtoken, ...)
#   os_db_sync <label> <package> <func>   INDEX 0 only, database reachable, once per package version
#   os_register ...                       service user, service and endpoints in keystone (INDEX 0, idempotent)
#   os_restart_if_changed <since> unit... restart on a booted host when the config changed
# Nothing here evaluates a value: values are validated tokens or URL-safe secrets before any
# renderer runs, and the keystone client (Python) reads passwords from the environment.

# Globals set by os_values (read by the formulas that include this file).
# shellcheck disable=SC2034
OS_ADDRESS='' OS_INDEX='' OS_DB_HOST='' OS_API_HOST='' OS_KEYSTONE_HOST='' OS_KEYSTONE_URL=''
OS_MEMCACHE='' OS_TRANSPORT_URL=''
OS_HAPROXY=() OS_MYSQL=() OS_MEMCACHED=() OS_RABBITMQ=() OS_KEYSTONE=() OS_SELF=()

# os_list ARRAY TYPE: ARRAY=(the addresses of ADDRESSES_<TYPE>), each validated as IPv4 (empty when
# the type is not enabled). Runs in the calling shell, so a bad address stops the formula.
os_list() {
  local -n os_list_out=$1
  local var="KINETIC_ADDRESSES_${2^^}" a
  mapfile -t os_list_out < <(words "${!var-}")
  for a in "${os_list_out[@]}"; do need_valid is_ipv4 "ADDRESSES_${2^^}" "$a"; done
}

# os_values TYPE: validates ADDRESS, INDEX and the ADDRESSES_* of haproxy, mysql, memcached, rabbitmq,
# keystone and TYPE, then sets
#   OS_ADDRESS OS_INDEX            this endpoint
#   OS_DB_HOST                     haproxy[0], else mysql[0] (the database clients connect to)
#   OS_API_HOST                    haproxy[0], else TYPE[0], else ADDRESS (host of the endpoint URLs)
#   OS_KEYSTONE_HOST/_URL          haproxy[0], else keystone[0]; http://<host>:5000
#   OS_MEMCACHE                    "a:11211,b:11211" (empty without memcached)
#   OS_TRANSPORT_URL               rabbit://openstack:<SECRET_RABBITMQ>@a:5672,.../ (empty without rabbitmq)
# The caller declares `ADDRESS INDEX ADDRESSES_*` (and SECRET_RABBITMQ when rabbitmq is used).
# shellcheck disable=SC2034 # the OS_* globals are read by the formulas
os_values() {
  local type=$1 a pw
  OS_ADDRESS=${KINETIC_ADDRESS:?}
  OS_INDEX=${KINETIC_INDEX:?}
  need_valid is_ipv4 ADDRESS "$OS_ADDRESS"
  [[ $OS_INDEX =~ ^[0-9]+$ ]] || die "KINETIC_INDEX is not a number: $(printf '%q' "$OS_INDEX")"
  os_list OS_HAPROXY haproxy
  os_list OS_MYSQL mysql
  os_list OS_MEMCACHED memcached
  os_list OS_RABBITMQ rabbitmq
  os_list OS_KEYSTONE keystone
  os_list OS_SELF "$type"
  if [ "${#OS_HAPROXY[@]}" -gt 0 ]; then OS_DB_HOST=${OS_HAPROXY[0]}
  elif [ "${#OS_MYSQL[@]}" -gt 0 ]; then OS_DB_HOST=${OS_MYSQL[0]}
  else die "no database: neither ADDRESSES_HAPROXY nor ADDRESSES_MYSQL is set"
  fi
  if [ "${#OS_HAPROXY[@]}" -gt 0 ]; then OS_API_HOST=${OS_HAPROXY[0]}
  elif [ "${#OS_SELF[@]}" -gt 0 ]; then OS_API_HOST=${OS_SELF[0]}
  else OS_API_HOST=$OS_ADDRESS
  fi
  if [ "${#OS_HAPROXY[@]}" -gt 0 ]; then OS_KEYSTONE_HOST=${OS_HAPROXY[0]}
  elif [ "${#OS_KEYSTONE[@]}" -gt 0 ]; then OS_KEYSTONE_HOST=${OS_KEYSTONE[0]}
  else die "no keystone: neither ADDRESSES_HAPROXY nor ADDRESSES_KEYSTONE is set"
  fi
  OS_KEYSTONE_URL="http://$OS_KEYSTONE_HOST:5000"
  OS_MEMCACHE=''
  for a in "${OS_MEMCACHED[@]}"; do OS_MEMCACHE+="${OS_MEMCACHE:+,}$a:11211"; done
  OS_TRANSPORT_URL=''
  if [ "${#OS_RABBITMQ[@]}" -gt 0 ]; then
    pw=$(url_encode "${KINETIC_SECRET_RABBITMQ:?}")
    OS_TRANSPORT_URL='rabbit://'
    for a in "${OS_RABBITMQ[@]}"; do OS_TRANSPORT_URL+="openstack:$pw@$a:5672,"; done
    OS_TRANSPORT_URL="${OS_TRANSPORT_URL%,}/"
  fi
}

# os_secret NAME: KINETIC_<NAME> must be set and URL-safe ([A-Za-z0-9._~-], as the program's derived
# secrets are). Such a value needs no escaping in a database URL (where alembic's ConfigParser
# breaks on '%'), in an oslo.config file (where '$' is interpolation) or in a Python settings file.
os_secret() {
  local var="KINETIC_$1" re='^[A-Za-z0-9._~-]+$'
  [ -n "${!var-}" ] || die "KINETIC_$1 is not set"
  [[ ${!var} =~ $re ]] || die "KINETIC_$1 must be URL-safe ([A-Za-z0-9._~-]); the program's derived secrets are"
}

# os_conf PATH GROUP < content: a managed config file, mode 0640, owner root:GROUP, whose first line
# names the formula. Changes print `changed: PATH` (put_file).
os_conf() {
  put_file "$1" 0640 "root:$2" < <(printf '# kinetic: managed by formulas/%s\n' "$KINETIC_FORMULA"; cat)
}

# Renderers: print INI lines (never fail; every value was validated by os_values / os_secret).
# os_ini_database USER DB PASSWORD [SECTION]
os_ini_database() {
  printf '\n[%s]\nconnection = mysql+pymysql://%s:%s@%s/%s\nmax_retries = -1\n' "${4:-database}" "$1" "$3" "$OS_DB_HOST" "$2"
}

# os_ini_auth SECTION USER PASSWORD: the keystoneauth password plugin options of a service client
# section ([placement], [neutron], [nova], [service_user], ...); region_name where the section is a
# client of an endpoint (not in the credentials-only sections service_user, trustee, keystone_auth).
os_ini_auth() {
  printf '\n[%s]\n' "$1"
  printf '%s\n' 'auth_type = password' 'project_domain_name = Default' 'user_domain_name = Default' 'project_name = service'
  case $1 in service_user | trustee | keystone_auth) ;; *) printf 'region_name = RegionOne\n' ;; esac
  printf 'auth_url = %s\nusername = %s\npassword = %s\n' "$OS_KEYSTONE_URL/v3" "$2" "$3"
}

# os_ini_authtoken USER PASSWORD: [keystone_authtoken] of an API service (token cache on memcached).
os_ini_authtoken() {
  os_ini_auth keystone_authtoken "$1" "$2"
  printf 'www_authenticate_uri = %s\n' "$OS_KEYSTONE_URL"
  if [ -n "$OS_MEMCACHE" ]; then printf 'memcached_servers = %s\n' "$OS_MEMCACHE"; fi
  printf '%s\n' 'service_token_roles_required = true'
}

# os_ini_default: the [DEFAULT] lines every service shares (its own keys may follow).
os_ini_default() {
  printf '[DEFAULT]\n'
  if [ -n "$OS_TRANSPORT_URL" ]; then printf 'transport_url = %s\n' "$OS_TRANSPORT_URL"; fi
}

# os_ini_common SERVICE: locks, notifications and the cache, the sections every service shares.
# Notifications are off (noop): no role consumes them (no telemetry, no designate-sink), and in
# bookworm's cinder (21.3) with its oslo.messaging every volume create failed sending one: the
# notifier's copy of the context has no read_deleted ("read_deleted can only be one of 'no', 'yes'
# or 'only', not None"), so the volume was rescheduled three times and ended in ERROR (Tempest's
# five block-storage failures). Cinder sends none when the driver is noop.
os_ini_common() {
  printf '\n[oslo_concurrency]\nlock_path = /var/lock/%s\n' "$1"
  printf '\n[oslo_messaging_notifications]\ndriver = noop\n'
  if [ -n "$OS_MEMCACHE" ]; then
    printf '\n[cache]\nenabled = true\nbackend = oslo_cache.memcache_pool\nmemcache_servers = %s\n' "$OS_MEMCACHE"
  fi
}

# os_as USER COMMAND...: run COMMAND (no shell) as USER, with a clean environment: the service user
# can read its processes' /proc/<pid>/environ, so nothing of the formula's (its values, secrets
# included) is passed on; the command reads its configuration files.
os_as() {
  local user=$1
  shift
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C runuser -u "$user" -- "$@"
}

# os_db_sync LABEL PACKAGE FUNCTION: the endpoint-0 rule for one-time database work. Runs FUNCTION
# (the formula's own, e.g. `os_as glance glance-manage db_sync`) on INDEX 0 only, when the database
# answers on OS_DB_HOST:3306, and once per version of PACKAGE (an upgrade syncs again): the marker
# /var/lib/kinetic/openstack/LABEL-db holds the version synchronised. Prints why it did nothing.
os_db_sync() {
  local label=$1 package=$2 func=$3 marker version
  marker=/var/lib/kinetic/openstack/$label-db
  version=$(dpkg-query -W -f='${Version}' -- "$package" 2> /dev/null || true)
  [ -n "$version" ] || version=unpackaged
  if [ "$OS_INDEX" -ne 0 ]; then
    printf '%s: INDEX %s: database initialisation is done by INDEX 0\n' "$label" "$OS_INDEX"
  elif [ -f "$marker" ] && [ "$(cat -- "$marker")" = "$version" ]; then
    printf '%s: database already synchronised (%s %s)\n' "$label" "$package" "$version"
  elif ! wait_until "$label database sync" "database $OS_DB_HOST:3306 is not reachable" tcp_open "$OS_DB_HOST" 3306; then
    : # a test host that asked for partial runs
  else
    "$func"
    ensure_dir /var/lib/kinetic 0700 root:root
    ensure_dir /var/lib/kinetic/openstack 0700 root:root
    put_file "$marker" 0600 root:root < <(printf '%s' "$version")
    changed "$label database synchronised"
  fi
}

# os_register [user NAME SECRET_<X>] [service NAME TYPE URL] [role NAME] [domain NAME ADMIN SECRET_<X>] ...
# The endpoint-0 rule for keystone: on INDEX 0, when keystone answers on OS_KEYSTONE_HOST:5000,
# makes sure (as admin, password SECRET_KEYSTONE_ADMIN, which the caller declares) that
#   user NAME SECRET_X      user NAME (domain Default) with password KINETIC_SECRET_X and the admin
#                           role on project `service` (created if missing); a changed secret updates it
#   service NAME TYPE URL   service NAME of TYPE with public, internal and admin endpoints = URL
#                           (RegionOne); a different URL is updated in place
#   role NAME               a role NAME exists
#   domain NAME ADMIN SECRET_X  domain NAME with user ADMIN (password KINETIC_SECRET_X) holding admin on it
# Each creation or update prints one `changed:` line; a second run prints none. A request keystone
# leaves unanswered (timeout, refused or reset, 502-504 from haproxy) starts the registration over
# after 5 s, until KINETIC_WAIT_SECONDS; any other refusal fails at once. Passwords are read
# by the client from the environment, never passed as arguments or printed. Example (swift):
#   os_register user swift SECRET_SWIFT service swift object-store "http://$OS_API_HOST:8080/v1/AUTH_%(project_id)s"
os_register() {
  local out line
  if [ "$OS_INDEX" -ne 0 ]; then
    printf 'keystone registration: INDEX %s: done by INDEX 0\n' "$OS_INDEX"
    return 0
  fi
  if ! wait_until "keystone registration" "keystone $OS_KEYSTONE_HOST:5000 is not reachable" tcp_open "$OS_KEYSTONE_HOST" 5000; then
    return 0 # a test host that asked for partial runs
  fi
  # The client (root's, short-lived) reads the passwords from its environment: only it gets them.
  out=$(
    for v in "${!KINETIC_SECRET_@}"; do export "${v?}"; done
    python3 - "$OS_KEYSTONE_URL/v3" "$KINETIC_WAIT_SECONDS" "$@" <<'PY'
import http.client, json, os, sys, time, urllib.error, urllib.parse, urllib.request

base, wait, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def secret(name):
    v = os.environ.get("KINETIC_" + name)
    if not v:
        sys.exit("os_register: KINETIC_%s is not set" % name)
    return v

class Unanswered(Exception):
    """keystone (or haproxy before it) did not answer: a timeout, a refused or reset connection, 502-504."""

def call(method, path, body=None, token=None, expect=(200, 201, 204)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    what = "%s %s" % (method, path.split("?")[0])
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else {}), r.headers
    except urllib.error.HTTPError as e:
        if e.code in expect:
            return e.code, {}, e.headers
        if e.code in (502, 503, 504):
            raise Unanswered("%s: HTTP %s" % (what, e.code))
        sys.exit("os_register: %s: HTTP %s %s" % (what, e.code, e.read()[:300].decode(errors="replace")))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        raise Unanswered("%s: %s" % (what, getattr(e, "reason", None) or e))

def auth(user, password, domain="default", project=None):
    ident = {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": domain}, "password": password}}}
    body = {"auth": {"identity": ident}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    code, _, headers = call("POST", "/auth/tokens", body, expect=(201, 401))
    return headers.get("X-Subject-Token") if code == 201 else None


def find(collection, key, **query):
    _, body, _ = call("GET", "/%s?%s" % (collection, urllib.parse.urlencode(query)), token=token)
    return body[key]

def ensure(collection, key, body, **query):
    found = find(collection, collection, **query)
    if found:
        return found[0]["id"]
    # 409: another formula running at the same time made it first (every service's configure
    # ensures the shared roles and project at once); theirs is the one.
    code, made, _ = call("POST", "/" + collection, {key: body}, token=token, expect=(201, 409))
    if code == 409:
        found = find(collection, collection, **query)
        if not found:
            sys.exit("os_register: POST /%s: HTTP 409, and no %s %s to be found" % (collection, key, body.get("name", "")))
        return found[0]["id"]
    print("keystone %s %s" % (key, body.get("name", "")))
    return made[key]["id"]

def grant(target, target_id, user_id, role_id, label):
    path = "/%s/%s/users/%s/roles/%s" % (target, target_id, user_id, role_id)
    code, _, _ = call("HEAD", path, token=token, expect=(200, 204, 404))
    if code == 404:
        call("PUT", path, token=token)
        print("keystone grant %s" % label)

def user(name, secret_name, domain_id="default"):
    password = secret(secret_name)
    uid = ensure("users", "user", {"name": name, "domain_id": domain_id, "password": password, "enabled": True}, name=name, domain_id=domain_id)
    if not auth(name, password, domain=domain_id):
        call("PATCH", "/users/" + uid, {"user": {"password": password}}, token=token)
        print("keystone password of user %s" % name)
    return uid

def register():
    global token
    token = auth("admin", secret("SECRET_KEYSTONE_ADMIN"), project="admin")
    if not token:
        sys.exit("os_register: keystone refused the admin credentials")
    admin_role = ensure("roles", "role", {"name": "admin"}, name="admin")
    # The `service` role on project service as well: every service's keystone_authtoken says
    # service_token_roles_required, so a service token (nova's, sent with the user's to neutron, cinder
    # and glance) without it is refused with 401; the full cloud's Tempest found nova's servers refused so.
    service_role = ensure("roles", "role", {"name": "service"}, name="service")
    i = 0
    while i < len(args):
        op = args[i]
        if op == "user":
            name, sec = args[i + 1:i + 3]
            project = ensure("projects", "project", {"name": "service", "domain_id": "default", "description": "OpenStack services"}, name="service", domain_id="default")
            uid = user(name, sec)
            grant("projects", project, uid, admin_role, "admin on project service to %s" % name)
            grant("projects", project, uid, service_role, "service on project service to %s" % name)
            i += 3
        elif op == "service":
            name, stype, url = args[i + 1:i + 4]
            sid = None
            for s in find("services", "services", type=stype):
                if s["name"] == name:
                    sid = s["id"]
            if sid is None:
                sid = ensure("services", "service", {"name": name, "type": stype, "enabled": True}, name=name, type=stype)
            for interface in ("public", "internal", "admin"):
                found = find("endpoints", "endpoints", service_id=sid, interface=interface, region_id="RegionOne")
                if not found:
                    call("POST", "/endpoints", {"endpoint": {"service_id": sid, "interface": interface, "region_id": "RegionOne", "url": url, "enabled": True}}, token=token)
                    print("keystone endpoint %s %s" % (name, interface))
                elif found[0]["url"] != url:
                    call("PATCH", "/endpoints/" + found[0]["id"], {"endpoint": {"url": url}}, token=token)
                    print("keystone endpoint %s %s (url)" % (name, interface))
            i += 4
        elif op == "role":
            ensure("roles", "role", {"name": args[i + 1]}, name=args[i + 1])
            i += 2
        elif op == "domain":
            name, admin, sec = args[i + 1:i + 4]
            did = ensure("domains", "domain", {"name": name, "enabled": True}, name=name)
            grant("domains", did, user(admin, sec, domain_id=did), admin_role, "admin on domain %s to %s" % (name, admin))
            i += 4
        else:
            sys.exit("os_register: unknown operation %r" % op)

# keystone busy (every service's configure registers at once, seen in the full cloud: a read timed
# out at 30 s) is waited for, up to KINETIC_WAIT_SECONDS as every other wait: everything above finds
# before it makes, so running it again after a request that went unanswered makes nothing twice.
token = None
deadline = time.monotonic() + wait
while True:
    try:
        register()
        break
    except Unanswered as e:
        if time.monotonic() > deadline:
            sys.exit("os_register: keystone at %s did not answer within %s s (last: %s)" % (base, wait, e))
        print("waiting: keystone at %s: %s; trying again" % (base, e), file=sys.stderr)
        time.sleep(5)
PY
  )
  while IFS= read -r line; do
    [ -z "$line" ] || changed "$line"
  done <<< "$out"
}

# os_restart_if_changed SINCE UNIT...: on a booted host, restart the units when KINETIC_CHANGES grew
# past SINCE (the value taken before the config files were written).
os_restart_if_changed() {
  local since=$1 u
  shift
  [ "$KINETIC_CHANGES" -gt "$since" ] || return 0
  for u in "$@"; do restart_if_running "$u"; done
}

# os_ovn_chassis SYSTEM_ID ENCAP_IP SB_REMOTE [KEY=VALUE...]: make this host an OVN chassis by
# setting Open vSwitch's external_ids (system-id, ovn-remote, ovn-encap-type geneve, ovn-encap-ip and
# any extra KEY=VALUE, e.g. ovn-cms-options=enable-chassis-as-gw), each only when it differs. They
# live in the Open vSwitch database: it waits for ovsdb-server (wait_until), then fails.
os_ovn_chassis() {
  local id=$1 ip=$2 remote=$3 kv key want have
  shift 3
  if ! wait_until "OVN chassis settings" "the Open vSwitch database is not running" ovs_answers; then
    return 0 # a test host that asked for partial runs
  fi
  for kv in "system-id=$id" "ovn-remote=$remote" "ovn-encap-type=geneve" "ovn-encap-ip=$ip" "$@"; do
    key=${kv%%=*}
    want=${kv#*=}
    have=$(ovs-vsctl --timeout=5 --no-wait --if-exists get open_vswitch . "external_ids:$key" 2> /dev/null || true)
    have=${have#\"}
    have=${have%\"}
    if [ "$have" != "$want" ]; then
      ovs-vsctl --timeout=5 --no-wait set open_vswitch . "external_ids:$key=\"$want\""
      changed "ovs external_ids:$key"
    fi
  done
}

# os_ovs_datapath: prints the Open vSwitch datapath this machine can run: `system` (the kernel's)
# when the openvswitch module is loaded or loadable, else `netdev`, the userspace datapath, which
# needs only /dev/net/tun (a kernel built without the module, a container such as the lab's hosts).
# Every bridge of a chassis must use the same one: OVN's br-int (ovn-bridge-datapath-type) and the
# provider bridges alike.
os_ovs_datapath() {
  if [ -d /sys/module/openvswitch ] || modprobe -n -q openvswitch 2> /dev/null; then
    printf 'system'
  else
    printf 'netdev'
  fi
}

# os_public_device: the device that carries the `public` network, as common/networking names it
# (public_br when bridged, public_bond with several interfaces, else the interface); empty when the
# endpoint has no public network. Reads NET_PUBLIC_* (the caller declares NET_*).
os_public_device() {
  local -a ifs
  mapfile -t ifs < <(words "${KINETIC_NET_PUBLIC_INTERFACES-}")
  if [ "${#ifs[@]}" -eq 0 ]; then return 0; fi
  if [ "${KINETIC_NET_PUBLIC_BRIDGE-}" = true ]; then printf 'public_br'
  elif [ "${#ifs[@]}" -gt 1 ]; then printf 'public_bond'
  else printf '%s' "${ifs[0]}"
  fi
}

# os_derive_key VALUE: standard base64 of sha256(VALUE) (44 characters): a 32-byte key every
# endpoint derives alike from one secret (barbican's KEK, designate's rndc key = the bind role's).
os_derive_key() {
  KINETIC_DERIVE_SECRET=$1 python3 -c 'import base64, hashlib, os
print(base64.b64encode(hashlib.sha256(os.environb[b"KINETIC_DERIVE_SECRET"]).digest()).decode(), end="")'
}

# os_workers: API workers for this host: one per CPU, at least 2, at most 8.
os_workers() {
  local n
  n=$(nproc)
  [ "$n" -ge 2 ] || n=2
  [ "$n" -le 8 ] || n=8
  printf '%s\n' "$n"
}

# os_uwsgi_ini INI...: how Debian's API units run uwsgi, mended for this host.
# - `processes = 8` (and 32 threads each) whatever the machine: about 8 x 100 MB per API, most of a
#   small VM's memory (found sizing the lab's full cloud, every API on one machine). Set to this
#   endpoint's CPU count, 2 to 8.
# - `add-header = Connection: close`: uwsgi's http-socket closes the connection after every reply
#   but answers HTTP/1.1 without saying so. A client that keeps connections alive (Tempest, every
#   keystoneauth session, haproxy) then sends its next request on a socket uwsgi is closing and reads
#   "Connection reset by peer": 41 of 2000 DELETE (204) + GET pairs here, none with the header.
# The caller restarts the service when this changed (os_restart_if_changed after `since`).
os_uwsgi_ini() {
  local ini n
  n=$(os_workers)
  for ini in "$@"; do
    [ -f "$ini" ] || die "$ini is missing (the install phase installs it with the service's package)"
    if ! grep -q '^processes[[:space:]]*=' "$ini" || ! grep -q '^\[uwsgi\][[:space:]]*$' "$ini"; then
      die "$ini has no [uwsgi] section with a processes line: not the uwsgi configuration this formula knows"
    fi
    put_file "$ini" 0644 root:root < <(
      sed -E -e "s/^processes[[:space:]]*=.*/processes = $n/" -e '/^add-header[[:space:]]*=[[:space:]]*Connection:/d' "$ini" |
        sed -E '0,/^\[uwsgi\][[:space:]]*$/s//[uwsgi]\nadd-header = Connection: close/')
  done
}
