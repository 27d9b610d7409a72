#!/usr/bin/env bash
# Create (or converge) one virtual endpoint on its controller: disk, cloud-init seed, persistent
# libvirt domain, running and autostarted, then wait until the guest answers SSH.
# Runs inside the formula envelope (components/formulaEnvelope.ts): every value below arrives as an
# environment variable KINETIC_<NAME>, never as shell text. Idempotent: a second run converges.
# kinetic-uses: NAME CONTROLLER OS DISK KVM_ROOT LOG_DIR VIRSH_URI DOMAIN_XML
# kinetic-uses: USER_DATA META_DATA NETWORK_CONFIG SSH_ADDRESS SSH_PORT SSH_TIMEOUT POLL_INTERVAL
# kinetic-uses: HOST_KEY
set -euo pipefail

name=$KINETIC_NAME
controller=$KINETIC_CONTROLLER
fail() { printf 'kinetic libvirt create %s on %s: %s\n' "$name" "$controller" "$*" >&2; exit 1; }

# The name becomes a path; refuse anything that is not a plain host name (the renderer checks too).
[[ $name =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || fail "unsafe machine name"
[[ $KINETIC_KVM_ROOT == /* ]] || fail "KVM_ROOT must be absolute"
[[ $KINETIC_OS != */* && $KINETIC_OS != .* ]] || fail "unsafe os name"
[[ $KINETIC_SSH_TIMEOUT =~ ^[0-9]+$ && $KINETIC_SSH_PORT =~ ^[0-9]+$ ]] || fail "SSH_TIMEOUT and SSH_PORT must be whole numbers"
read -r want_type want_blob _ <<< "$KINETIC_HOST_KEY"
[[ $want_type == ssh-ed25519 && $want_blob =~ ^[A-Za-z0-9+/]+=*$ ]] || fail "HOST_KEY is not an ssh-ed25519 public key line"
[[ $KINETIC_POLL_INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ && $KINETIC_POLL_INTERVAL != 0 ]] || fail "POLL_INTERVAL must be a positive number of seconds"

virsh_() { virsh -q -c "$KINETIC_VIRSH_URI" "$@"; }

dir=$KINETIC_KVM_ROOT/vms/$name
base=$KINETIC_KVM_ROOT/images/$KINETIC_OS-latest
# The seed holds the machine's SSH host private key and the disk its data: nothing here is for any
# other user. Files are made under umask 077 (0600, root's); libvirt's QEMU driver (dynamic_ownership,
# on by default) hands each disk and the seed ISO to the QEMU user when it starts the domain, and
# that user only needs to traverse the directories: 0711, not listable. Earlier versions made them
# 0755 and the files 0644: a re-run closes them (only permissions: the owner libvirt set is kept).
umask 077
mkdir -p -- "$KINETIC_LOG_DIR"
for d in "$KINETIC_KVM_ROOT" "$KINETIC_KVM_ROOT/vms" "$dir"; do
  [[ ! -L $d ]] || fail "$d is a symlink"
  mkdir -p -- "$d"
  chmod 0711 -- "$d"
done

# The disk is made once: on a re-run it already holds the guest's data. It is built under a temporary
# name and renamed, so an interrupted copy is never mistaken for a finished disk.
fresh=0
if [[ ! -e $dir/disk0.raw ]]; then
  fresh=1
  [[ -r $base ]] || fail "base image $base is missing"
  rm -f -- "$dir/disk0.raw.part"
  qemu-img convert -O raw -- "$base" "$dir/disk0.raw.part" || fail "cannot copy $base"
  qemu-img resize -q -f raw -- "$dir/disk0.raw.part" "$KINETIC_DISK" || fail "cannot resize the disk to $KINETIC_DISK"
  mv -- "$dir/disk0.raw.part" "$dir/disk0.raw"
fi
chmod go= -- "$dir/disk0.raw"

# Seed and definition are rewritten on every run; cloud-init only acts on a new instance-id.
# The envelope's command substitution drops a value's trailing newlines; each file ends with one.
# The plain seed files exist only while the ISO is built, in a private directory removed right after
# (and plain files an earlier version left beside the disk are removed).
printf '%s\n' "$KINETIC_DOMAIN_XML" > "$dir/domain.xml"
chmod 0600 -- "$dir/domain.xml"
rm -f -- "$dir/user-data" "$dir/meta-data" "$dir/network-config" "$dir/config.iso.part"
seed=$(mktemp -d -- "$dir/.seed.XXXXXX")
trap 'rm -rf -- "$seed"' EXIT
printf '%s\n' "$KINETIC_USER_DATA" > "$seed/user-data"
printf '%s\n' "$KINETIC_META_DATA" > "$seed/meta-data"
printf '%s\n' "$KINETIC_NETWORK_CONFIG" > "$seed/network-config"
if command -v cloud-localds > /dev/null; then
  cloud-localds --network-config="$seed/network-config" "$dir/config.iso.part" "$seed/user-data" "$seed/meta-data" \
    || fail "cloud-localds failed"
else
  # What cloud-localds does: an ISO 9660 volume labelled cidata holding the three files.
  genisoimage -quiet -output "$dir/config.iso.part" -volid cidata -joliet -rock \
    -graft-points "user-data=$seed/user-data" "meta-data=$seed/meta-data" "network-config=$seed/network-config" \
    || fail "genisoimage failed"
fi
rm -rf -- "$seed"
chmod 0600 -- "$dir/config.iso.part"
mv -- "$dir/config.iso.part" "$dir/config.iso"

# A persistent domain (the original used transient `virsh create`, lost on a controller reboot).
virsh_ define "$dir/domain.xml" > /dev/null || fail "virsh define failed"
state=$(virsh_ domstate "$name") || fail "cannot read the domain state"
case $state in
  running) ;;
  paused) virsh_ resume "$name" > /dev/null || fail "virsh resume failed" ;;
  *) virsh_ start "$name" > /dev/null || fail "virsh start failed (state was: $state)" ;;
esac
virsh_ autostart "$name" > /dev/null || fail "virsh autostart failed"

# Wait for sshd's banner on the management address: a listening port is not enough, the banner
# proves sshd itself is up. Then the host key: the guest must present the key its seed carries
# (ssh-keyscan completes the key exchange, whose signature proves the holder of the private half).
# Bounded by SSH_TIMEOUT; each probe is bounded too.
[[ $KINETIC_SSH_TIMEOUT -gt 0 ]] || exit 0
address=$KINETIC_SSH_ADDRESS
port=$KINETIC_SSH_PORT
deadline=$((SECONDS + KINETIC_SSH_TIMEOUT))
probe() {
  # shellcheck disable=SC2016 # the inner script expands $0/$1 itself: address and port are its arguments.
  # Runs in its own bash so the /dev/tcp descriptor dies with it; `timeout` bounds connect and read.
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t 4 banner <&3 && [[ $banner == SSH-* ]]' "$address" "$port" 2> /dev/null
}
presented=''
fp() { ssh-keygen -lf - <<< "ssh-ed25519 $1" 2> /dev/null | awk '{print $2}'; }
keyed() {
  presented=$(timeout 10 ssh-keyscan -T 5 -t ed25519 -p "$port" "$address" 2> /dev/null | awk '$2 == "ssh-ed25519" {print $3; exit}') || true
  [[ $presented == "$want_blob" ]]
}
until probe && keyed; do
  if ((SECONDS >= deadline)); then
    why="timed out after ${KINETIC_SSH_TIMEOUT}s waiting for SSH on $address port $port"
    # Someone answers on the address with another key: whatever it is, it is not this machine.
    [[ -z $presented ]] || why="SSH on $address port $port presents host key $(fp "$presented"), not this machine's $(fp "$want_blob") (waited ${KINETIC_SSH_TIMEOUT}s; nothing was sent to it)"
    # A failed create is not recorded in the Pulumi state, so `destroy` would never zeroize it:
    # a machine this run made is removed again (its serial log is kept for diagnosis). A machine
    # that already existed, with its data, is left alone.
    if ((fresh)); then
      virsh_ destroy "$name" > /dev/null 2>&1 || true
      virsh_ undefine --nvram "$name" > /dev/null 2>&1 || virsh_ undefine "$name" > /dev/null 2>&1 || true
      rm -rf -- "$dir"
      fail "$why; the new machine was removed, nothing is left half-made (serial log kept: $KINETIC_LOG_DIR/$name.log)"
    fi
    fail "$why; the existing machine is left running (serial log: $KINETIC_LOG_DIR/$name.log)"
  fi
  sleep "$KINETIC_POLL_INTERVAL"
done
printf 'kinetic libvirt create %s on %s: up, SSH answers on %s with host key %s\n' "$name" "$controller" "$address" "$(fp "$want_blob")"
