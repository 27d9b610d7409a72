# shellcheck shell=bash
# What formulas/pxe/configure and pxe/installed share: what the pxe host serves for one physical
# server. Included after lib/kinetic.sh:
#   # kinetic-include: lib/pxe.sh
#
# An assignment's install (boot.ipxe that starts the installer with `autoinstall`, the user-data with
# the server's host private key) is served only until the server is installed. A server whose
# firmware tries the network first (common where servers are provisioned by PXE) would otherwise be
# wiped and reinstalled by its next reboot, and its host key handed out again. Once installed, its
# boot.ipxe is `exit`: iPXE hands back to the firmware, which boots the next device, its disk.
#
# "Installed" is recorded per server with the host key it was installed with (pxe/installed, run by
# the program once the server's base phase has connected with that key). `kinetic rebuild` gives a
# rebuilt server a new key (kinetic:hostKeyGenerations), so the record no longer matches and the
# install is served again, until the reinstalled server's base phase has run: a rebuild needs no
# other step, and nothing but a rebuild serves an installed server's install again.

PXE_WWW=/var/www/kinetic
# Every assignment as pxe/configure made it, root only (the user-data holds a private key).
PXE_STAGE=/var/lib/kinetic/pxe/assignments
# <uuid>: the host key line the server was installed with.
PXE_INSTALLED=/var/lib/kinetic/pxe/installed

# pxe_is_installed UUID: installed with the host key it is pinned to now.
pxe_is_installed() {
  [ -f "$PXE_INSTALLED/$1" ] && [ -f "$PXE_STAGE/$1/host_key.pub" ] && cmp -s -- "$PXE_INSTALLED/$1" "$PXE_STAGE/$1/host_key.pub"
}

# pxe_publish UUID: serve the server's install from its staged assignment, or, once it is
# installed, only the boot script that sends it to its own disk.
pxe_publish() {
  local u=$1 staged=$PXE_STAGE/$1 served=$PXE_WWW/assignments/$1 f
  ensure_dir "$served"
  if pxe_is_installed "$u"; then
    # shellcheck disable=SC2016 # ${uuid} is iPXE's, not the shell's
    put_file "$served/boot.ipxe" < <(printf '%s\n' '#!ipxe' '# kinetic: managed by formulas/pxe; installed: its own disk boots, until kinetic rebuild names it' \
      'echo kinetic: ${uuid} is installed: booting the next device (its disk)' 'exit')
    for f in meta-data user-data vendor-data; do remove_file "$served/$f"; done
    return 0
  fi
  put_file "$served/boot.ipxe" < "$staged/boot.ipxe"
  put_file "$served/meta-data" < "$staged/meta-data"
  put_file "$served/user-data" 0640 root:www-data < "$staged/user-data"
  put_file "$served/vendor-data" < "$staged/vendor-data"
}
