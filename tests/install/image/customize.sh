#!/bin/sh
# mmdebstrap --customize-hook of the check-install guest image (run by
# tests/install/check-install.sh, as root or in mmdebstrap's user namespace).
# Usage: customize.sh ROOTDIR OUTDIR
# Makes the booted system run the payload service, then writes OUTDIR/root.img
# (ext4, label mempin-root), OUTDIR/vmlinuz and OUTDIR/initrd.img.
set -eu
root=$1 out=$2 here=$(dirname "$0")
PATH=$PATH:/usr/sbin:/sbin

install -m 0755 "$here/mempin-payload" "$root/usr/local/sbin/mempin-payload"
install -m 0644 "$here/mempin-payload.service" "$root/etc/systemd/system/"
chroot "$root" systemctl enable mempin-payload.service
# The console belongs to the payload; no first-boot questions; nothing to
# wait for on a machine without network.
chroot "$root" systemctl mask serial-getty@ttyS0.service systemd-firstboot.service \
	apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer
chroot "$root" systemd-machine-id-setup
echo mempin-guest >"$root/etc/hostname"
echo "LABEL=mempin-root / ext4 defaults,errors=remount-ro 0 1" >"$root/etc/fstab"

kver=$(basename "$root"/boot/vmlinuz-*)
echo "${kver#vmlinuz-}" >"$out/kver"
cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
chmod 0644 "$out/vmlinuz" "$out/initrd.img"
# mkfs.ext4 -d copies everything, mmdebstrap's /proc, /sys and /dev mounts
# too: give it a copy of the root file system alone.
stage=$out/rootfs
cp -ax "$root/." "$stage/"
for d in dev proc sys run tmp; do mkdir -p "$stage/$d"; done
chmod 1777 "$stage/tmp"
# Room for three DKMS builds, make install and the packages.
mb=$(du -sm "$stage" | cut -f1)
truncate -s $((mb + 2048))M "$out/root.img"
mkfs.ext4 -q -F -L mempin-root -d "$stage" "$out/root.img"
rm -rf "$stage"
