#!/usr/bin/env bash
# Zeroize one virtual endpoint: stop and undefine its domain, remove its disk, seed and console log.
# Runs inside the formula envelope (components/formulaEnvelope.ts). Idempotent: whatever is already
# gone is skipped, so a second run (or a run after a half-finished one) succeeds.
# kinetic-uses: NAME CONTROLLER KVM_ROOT LOG_DIR VIRSH_URI
set -euo pipefail

name=$KINETIC_NAME
controller=$KINETIC_CONTROLLER
fail() { printf 'kinetic libvirt zeroize %s on %s: %s\n' "$name" "$controller" "$*" >&2; exit 1; }

# This name goes into `rm -rf`: refuse anything but a plain host name.
[[ $name =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || fail "unsafe machine name"
[[ $KINETIC_KVM_ROOT == /* && $KINETIC_LOG_DIR == /* ]] || fail "KVM_ROOT and LOG_DIR must be absolute"

virsh_() { virsh -q -c "$KINETIC_VIRSH_URI" "$@"; }

# Ask for the list rather than probing the domain: a failing `virsh domstate` could be a dead
# libvirtd as well as a missing domain, and only the latter may be skipped.
domains=$(virsh_ list --all --name) || fail "cannot list the domains"
if grep -Fxq -- "$name" <<< "$domains"; then
  state=$(virsh_ domstate "$name") || fail "cannot read the domain state"
  if [[ $state != "shut off" ]]; then
    # Zeroize is a power cut, not a shutdown. Another actor may stop it in between: tolerate that.
    if ! out=$(virsh_ destroy "$name" 2>&1); then
      [[ $out == *"not running"* || $out == *"ot found"* ]] || fail "virsh destroy failed: $out"
    fi
  fi
  if ! out=$(virsh_ undefine --nvram "$name" 2>&1); then
    if [[ $out == *"unsupported flags"* ]]; then
      # Drivers without NVRAM support (libvirt's test driver) reject the flag; BIOS guests have none.
      out=$(virsh_ undefine "$name" 2>&1) || [[ $out == *"ot found"* ]] || fail "virsh undefine failed: $out"
    elif [[ $out != *"ot found"* && $out != *"failed to get domain"* ]]; then
      fail "virsh undefine failed: $out"
    fi
  fi
fi

rm -rf -- "$KINETIC_KVM_ROOT/vms/$name" "$KINETIC_LOG_DIR/$name.log"
printf 'kinetic libvirt zeroize %s on %s: gone\n' "$name" "$controller"
