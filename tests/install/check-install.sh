#!/bin/bash
# Usage: check-install.sh            (make check-install)
# Proves the administrator's path in a real booted Debian bookworm (systemd,
# udev, DKMS, the stock kernel and its headers) under QEMU, never on the host:
#   1. make deb: the packages of this tree (version V, lintian-checked) and
#      of a copy bumped to V' (for the upgrade);
#   2. the guest disk image (mmdebstrap; cached in $CACHE/install, rebuilt
#      when its package list or boot files change);
#   3. the newer kernel's packages (bookworm-backports), and for Secure
#      Boot: Debian's signed shim and grub, mokutil, virt-fw-vars;
#   4. boots it (a qcow2 overlay: the image stays pristine) with a payload
#      disk holding the packages, the source tree, guest.sh and
#      pin-check.c; guest.sh checks make install / make uninstall, then the
#      packages, a new kernel without and with headers, reboots into it,
#      upgrades to V', removes the old kernel, lockdown, purges;
#   5. boots a fresh copy through UEFI with Secure Boot (OVMF, shim, grub):
#      the DKMS-signed module refused, then, its key enrolled, loaded
#      (see guest.sh).
# Exit status: 0 pass, 1 a check failed, 2 setup error, 3 kernel panic,
# 4 guest stopped without a verdict, 124 timeout.
# Environment: MEMPIN_CACHE, MEMPIN_INSTALL_TIMEOUT (s, default 7200, for
# each of the two runs), MEMPIN_INSTALL_RUNS (default "install secureboot";
# one of them to run only that), MEMPIN_INSTALL_SKIP_SOURCE=1 (no make
# install path: the packages only), MEMPIN_GUEST_VERBOSE=1 (whole console,
# not only the checks).
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/../guest/lib.sh"
log() { printf 'check-install: %s\n' "$*" >&2; }

HERE=$REPO/tests/install
SUITE=bookworm
IMG=$CACHE/install/$SUITE
# What the guest needs besides Priority: important (systemd, udev, apt...):
# DKMS with the kernel and its headers, a compiler and pkg-config for users'
# programs, libkmod-dev and libsmartcols-dev for make install's mempinctl,
# man, sudo; openssl, with which DKMS signs the modules it builds, as on
# most installations.
IMAGE_PACKAGES=(systemd-sysv udev kmod dkms linux-image-amd64 linux-headers-amd64
	initramfs-tools build-essential pkg-config libkmod-dev libsmartcols-dev
	man-db sudo e2fsprogs openssl)
IMAGE_OPTS=(--variant=important --include="$(
	IFS=,
	echo "${IMAGE_PACKAGES[*]}"
)")
T_START=$(now_us)

command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 missing: sudo make deps"
{ command -v dpkg-buildpackage && command -v dh_dkms && command -v lintian; } >/dev/null ||
	die "debhelper, dh-dkms or lintian missing: sudo make deps"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: sudo make deps"
command -v qemu-img >/dev/null || die "qemu-img missing: sudo make deps"

# --- the guest image -----------------------------------------------------------

image_key() {
	{
		echo "format 1 $SUITE ${IMAGE_OPTS[*]}"
		cat "$HERE"/image/*
	} | sha256sum | cut -d' ' -f1
}

image_prepare() {
	local lock key tmp t0
	mkdir -p "$CACHE/install"
	exec {lock}>"$CACHE/install/$SUITE.lock"
	flock -n "$lock" || {
		log "waiting for another run preparing the $SUITE image"
		flock "$lock"
	}
	key=$(image_key)
	if [[ -f $IMG/key && $(cat "$IMG/key") == "$key" && -f $IMG/root.img ]]; then
		log "guest image: $IMG (cached)"
		exec {lock}>&-
		return 0
	fi
	t0=$(now_us)
	log "building the $SUITE guest image in $IMG (mmdebstrap downloads about 400 MB)"
	tmp=$(mktemp -d "$CACHE/install/$SUITE.tmp.XXXXXX")
	# As root: root mode; else unshare mode (needs /etc/subuid ranges).  The
	# hook makes the ext4 image inside, so ownership is right either way;
	# the tarball mmdebstrap would write is not needed.
	if ! mmdebstrap "${IMAGE_OPTS[@]}" \
		--customize-hook="$(sh_quote "$HERE/image/customize.sh") \"\$1\" $(sh_quote "$tmp")" \
		"$SUITE" /dev/null >&2; then
		rm -rf "$tmp"
		die "mmdebstrap $SUITE failed (without root it needs ranges in" \
			"/etc/subuid; or run once as root with the same MEMPIN_CACHE)"
	fi
	echo "$key" >"$tmp/key"
	rm -rf "$IMG"
	mv "$tmp" "$IMG"
	log "guest image built in $(secs $(($(now_us) - t0))) s:" \
		"$(du -sh --apparent-size "$IMG/root.img" | cut -f1) ext4," \
		"kernel $(cat "$IMG/kver")"
	exec {lock}>&-
}

# --- the newer kernel ------------------------------------------------------------

# The guest has no network: the newer kernel's packages come on the payload
# disk.  Bookworm-backports' kernel, with exactly the packages the guest
# image lacks for it, fetched by apt with an apt-only bookworm chroot whose
# sources gain bookworm-backports (the bookworm line of mmdebstrap's
# default mirror, renamed), cached in $CACHE/install.
NEW_SUITE=bookworm-backports
kernel_debs_prepare() {
	local apt=$CACHE/install/$NEW_SUITE-apt dep dir status f
	local -a aptq=(-q -o "Dir=$apt" -o APT::Sandbox::User=root)
	if [[ ! -f $apt/.mempin-ready ]]; then
		log "creating an apt-only bookworm chroot with $NEW_SUITE in $apt"
		rm -rf "$apt"
		# shellcheck disable=SC2016 # $1 is mmdebstrap's, for the hook
		mmdebstrap --variant=apt --skip=cleanup/apt/lists \
			--setup-hook='sed -n "s/ bookworm main/ bookworm-backports main/p" \
				"$1/etc/apt/sources.list" >"$1/etc/apt/sources.list.d/backports.list"' \
			bookworm "$apt" >&2 || die "mmdebstrap of the apt chroot failed"
		touch "$apt/.mempin-ready"
	fi
	# "linux-image-6.12.95+deb12-amd64 (= 6.12.95-1~bpo12+1)"
	dep=$(apt-cache "${aptq[@]}" show "linux-image-amd64/$NEW_SUITE" |
		sed -n 's/^Depends: linux-image-\([^ ]*\) .*/\1/p' | head -n 1)
	[[ -n $dep ]] || die "no linux-image-amd64 in $NEW_SUITE (rm -rf $apt?)"
	NEW_KVER=$dep
	dir=$CACHE/install/kernel-$NEW_KVER
	if [[ ! -f $dir/.mempin-ready ]]; then
		log "downloading Linux $NEW_KVER ($NEW_SUITE) for the upgrade scenarios"
		rm -rf "$dir"
		mkdir -p "$dir/image" "$dir/headers"
		# What the image lacks: apt against the image's own dpkg status,
		# without Recommends, as the guest installs.
		status=$(image_status)
		debs_fetch "$dir/image" "$status" "linux-image-$NEW_KVER"
		debs_fetch "$dir/headers" "$status" "linux-image-$NEW_KVER" \
			"linux-headers-$NEW_KVER"
		# The headers' set less the image's.
		for f in "$dir"/image/*.deb; do rm -f "$dir/headers/${f##*/}"; done
		touch "$dir/.mempin-ready"
	fi
	mkdir -p "$RUN/payload/kernel-image" "$RUN/payload/kernel-headers"
	cp "$dir"/image/*.deb "$RUN/payload/kernel-image/"
	cp "$dir"/headers/*.deb "$RUN/payload/kernel-headers/"
	log "Linux $NEW_KVER: image" "$(cd "$dir/image" && echo *.deb)," \
		"headers" "$(cd "$dir/headers" && echo *.deb)"
}

# The image's dpkg status file (debugfs reads it from the ext4 image); prints
# its path.
image_status() {
	debugfs -R 'cat /var/lib/dpkg/status' "$IMG/root.img" >"$RUN/image-status" 2>/dev/null
	grep -q '^Package: linux-image-amd64$' "$RUN/image-status" ||
		die "cannot read the image's dpkg status with debugfs"
	echo "$RUN/image-status"
}

# debs_fetch DIR STATUS PACKAGE...: downloads into DIR what installing
# PACKAGEs on a system with dpkg STATUS would (STATUS /dev/null: PACKAGEs
# alone).
debs_fetch() {
	local dir=$1 status=$2 apt=$CACHE/install/$NEW_SUITE-apt
	shift 2
	local -a aptq=(-q -o "Dir=$apt" -o APT::Sandbox::User=root
		-o "Dir::State::status=$status" -o Debug::NoLocking=1
		-o APT::Install-Recommends=false)
	local -a pkgs
	# 'URI' NAME_VERSION_ARCH.deb SIZE HASH; the version's ':' is %3a.
	mapfile -t pkgs < <(apt-get "${aptq[@]}" install --print-uris -qq "$@" |
		awk '{ print $2 }' | sed 's/%3a/:/; s/^\([^_]*\)_\([^_]*\)_.*/\1=\2/')
	[[ $status != /dev/null ]] || pkgs=("$@")
	((${#pkgs[@]})) || die "apt found nothing to download for $*"
	(cd "$dir" && apt-get download "${aptq[@]}" "${pkgs[@]}" >&2) ||
		die "apt-get download ${pkgs[*]} failed"
}

# --- Secure Boot ---------------------------------------------------------------

# Debian's ovmf: the Secure Boot firmware (it needs SMM) and its variables
# with Microsoft's keys enrolled and Secure Boot on, as on a PC.
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.ms.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
# shim's GUID, owner of the MokList entries MokManager enrolls.
SHIM_LOCK_GUID=605dab50-e046-4300-abb6-3dd810dd8b23

# The EFI system partition (a directory QEMU shows as a FAT disk): Debian's
# signed shim as the removable-media boot path, its MokManager, Debian's
# signed grub, whose grub.cfg boots the image's kernel (Debian's, signed)
# through /vmlinuz.  mokutil for the guest (payload), and virt-fw-vars
# (python3-virt-firmware, bookworm-backports) to enroll DKMS's key in the
# firmware's MokList between two boots, in place of MokManager's keyboard.
secureboot_prepare() {
	local dir=$CACHE/install/secureboot d esp=$RUN/esp
	[[ -f $OVMF_CODE && -f $OVMF_VARS ]] || die "$OVMF_CODE missing: sudo make deps"
	if [[ ! -f $dir/.mempin-ready ]]; then
		log "downloading shim, grub, mokutil and virt-firmware for the Secure Boot run"
		rm -rf "$dir"
		mkdir -p "$dir/boot" "$dir/mokutil" "$dir/tools"
		debs_fetch "$dir/boot" /dev/null shim-signed shim-helpers-amd64-signed \
			grub-efi-amd64-signed
		debs_fetch "$dir/mokutil" "$(image_status)" mokutil
		debs_fetch "$dir/tools" /dev/null python3-virt-firmware python3-pefile
		for d in "$dir"/boot/*.deb; do dpkg-deb -x "$d" "$dir/boot/root"; done
		for d in "$dir"/tools/*.deb; do dpkg-deb -x "$d" "$dir/tools/root"; done
		touch "$dir/.mempin-ready"
	fi
	VIRT_FW_PATH=$dir/tools/root/usr/lib/python3/dist-packages
	mkdir -p "$esp/EFI/BOOT" "$esp/EFI/debian" "$RUN/payload/mokutil"
	cp "$dir/boot/root/usr/lib/shim/shimx64.efi.signed" "$esp/EFI/BOOT/BOOTX64.EFI"
	cp "$dir/boot/root/usr/lib/shim/mmx64.efi.signed" "$esp/EFI/BOOT/mmx64.efi"
	cp "$dir/boot/root/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" \
		"$esp/EFI/BOOT/grubx64.efi"
	# Signed grub reads grub.cfg from its own directory or /EFI/debian.
	cat >"$esp/EFI/BOOT/grub.cfg" <<-EOF
		set timeout=0
		search --no-floppy --label mempin-root --set=root
		linux /vmlinuz $BASE_APPEND mempin_check=secureboot
		initrd /initrd.img
		boot
	EOF
	cp "$esp/EFI/BOOT/grub.cfg" "$esp/EFI/debian/"
	cp "$dir"/mokutil/*.deb "$RUN/payload/mokutil/"
}

# Adds the DER certificate CERT to the MokList of firmware variables VARS.
mok_enroll() {
	openssl x509 -inform DER -in "$2" -out "$RUN/mok.pem" || return 1
	PYTHONPATH=$VIRT_FW_PATH python3 -m virt.firmware.vars --input "$1" \
		--output "$1.new" --add-mok "$SHIM_LOCK_GUID" "$RUN/mok.pem" >&2 &&
		mv "$1.new" "$1"
}

# --- packages ------------------------------------------------------------------

module_version() {
	sed -n 's/^MODULE_VERSION("\([^"]*\)");.*/\1/p' "$1/module/main.c"
}

# The tree's packages into $RUN/payload/debs-a; a copy of the tree one patch
# version up into $RUN/payload/debs-b, for the upgrade.
build_debs() {
	local b=$RUN/tree-b
	VERSION_A=$(module_version "$REPO")
	[[ -n $VERSION_A ]] || die "no MODULE_VERSION in module/main.c"
	VERSION_B=$(awk -F. -v OFS=. '{ $NF = $NF + 1; print }' <<<"$VERSION_A")
	log "make deb: $VERSION_A (lintian), and $VERSION_B for the upgrade"
	make -C "$REPO" --no-print-directory deb DEB_OUT="$RUN/payload/debs-a" \
		>"$RUN/deb-a.log" 2>&1 || {
		tail -40 "$RUN/deb-a.log" >&2
		die "make deb failed (log above)"
	}
	sed -n '/^lintian --fail-on/,/^lintian:/p' "$RUN/deb-a.log" >&2
	mkdir -p "$b"
	git -C "$REPO" ls-files -z -co --exclude-standard |
		tar -C "$REPO" --null -T - -cf - | tar -C "$b" -xf -
	sed -i "s/^MODULE_VERSION(\"$VERSION_A\");/MODULE_VERSION(\"$VERSION_B\");/" \
		"$b/module/main.c"
	{
		printf 'mempin (%s) unstable; urgency=medium\n\n' "$VERSION_B"
		printf '  * Version bump made by make check-install to test upgrades.\n\n'
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$b/debian/changelog" -S Maintainer)" \
			"$(date -R)"
		cat "$b/debian/changelog"
	} >"$b/debian/changelog.new"
	mv "$b/debian/changelog.new" "$b/debian/changelog"
	make -C "$b" --no-print-directory deb DEB_OUT="$RUN/payload/debs-b" LINTIAN= \
		>"$RUN/deb-b.log" 2>&1 || {
		tail -40 "$RUN/deb-b.log" >&2
		die "make deb of $VERSION_B failed (log above)"
	}
	rm -rf "$b"
	# Users install the packages, not the debug symbols.
	rm -f "$RUN"/payload/debs-?/*-dbgsym_*.deb
}

# --- the run -------------------------------------------------------------------

payload_build() {
	local p=$RUN/payload mb
	cp "$HERE/guest.sh" "$HERE/pin-check.c" "$p/"
	printf 'VERSION_A=%q\nVERSION_B=%q\nNEW_KVER=%q\nSKIP_SOURCE=%q\n' "$VERSION_A" \
		"$VERSION_B" "$NEW_KVER" "${MEMPIN_INSTALL_SKIP_SOURCE:-0}" >"$p/versions.env"
	# make install runs from the git-visible tree, as from a fresh clone.
	git -C "$REPO" ls-files -z -co --exclude-standard |
		tar -C "$REPO" --null -T - -cf "$p/src.tar"
	mb=$(du -sm "$p" | cut -f1)
	truncate -s $((mb * 2 + 32))M "$RUN/payload.img"
	mkfs.ext4 -q -F -L mempin-payload -d "$p" "$RUN/payload.img"
}

# QEMU boots a kernel directly (-kernel): the host is the boot loader.
# Before a reboot, guest.sh writes the kernel to boot next (the newest, as
# Debian's grub would, unless it names one, as grub-reboot), its initrd and
# extra command-line arguments, as a tar on the raw boot-exchange disk
# (serial mempin-boot); QEMU stops at the reboot (-no-reboot) and the host
# boots that.  The root disk is a qcow2 overlay of the image in $RUN: it
# keeps the guest's writes from boot to boot; the image stays pristine.
BASE_APPEND="root=LABEL=mempin-root rw console=ttyS0 panic=0 quiet"

# Boots the guest, again at each reboot it asks for, for at most TIMEOUT
# seconds in all; relays the checks (or everything with
# MEMPIN_GUEST_VERBOSE) and keeps the console of every boot in LOG.
guest_boot() {
	local timeout=$1 log=$2 deadline rc boot=1
	local kernel=$IMG/vmlinuz initrd=$IMG/initrd.img extra=
	deadline=$((SECONDS + timeout))
	qemu-img create -q -f qcow2 -F raw -b "$IMG/root.img" "$RUN/root.qcow2"
	: >"$log"
	while :; do
		rc=0
		guest_boot_once $((deadline - SECONDS)) "$log" "$RUN/root.qcow2" \
			-kernel "$kernel" -initrd "$initrd" \
			-append "$BASE_APPEND${extra:+ $extra}" || rc=$?
		((rc == 5)) || return "$rc"
		boot=$((boot + 1))
		kernel=$(compgen -G "$RUN/next/vmlinuz-*") &&
			initrd=$(compgen -G "$RUN/next/initrd.img-*") || return 4
		extra=$(cat "$RUN/next/cmdline")
		log "boot $boot: ${kernel##*/vmlinuz-}${extra:+ with $extra}"
	done
}

# The same through UEFI with Secure Boot on: OVMF, shim, grub, a fresh copy
# of the image.  When the guest hands over DKMS's key (mok.pub), the host
# enrolls it in the firmware's MokList before the next boot.
secureboot_boot() {
	local timeout=$1 log=$2 deadline rc boot=1
	deadline=$((SECONDS + timeout))
	cp "$OVMF_VARS" "$RUN/vars.fd"
	qemu-img create -q -f qcow2 -F raw -b "$IMG/root.img" "$RUN/sb-root.qcow2"
	: >"$log"
	while :; do
		rc=0
		# shellcheck disable=SC2054 # QEMU's options have commas
		guest_boot_once $((deadline - SECONDS)) "$log" "$RUN/sb-root.qcow2" \
			-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
			-drive "if=pflash,format=raw,unit=0,file=$OVMF_CODE,readonly=on" \
			-drive "if=pflash,format=raw,unit=1,file=$RUN/vars.fd" \
			-drive "file=fat:ro:$RUN/esp,format=raw,if=none,id=esp,readonly=on" \
			-device virtio-blk-pci,drive=esp,bootindex=0 || rc=$?
		((rc == 5)) || return "$rc"
		boot=$((boot + 1))
		if [[ -f $RUN/next/mok.pub ]]; then
			mok_enroll "$RUN/vars.fd" "$RUN/next/mok.pub" || return 2
			log "enrolled the guest's $(openssl x509 -inform DER -in "$RUN/next/mok.pub" \
				-noout -subject) in the firmware's MokList (virt-fw-vars --add-mok)"
		fi
		log "boot $boot: UEFI, Secure Boot"
	done
}

# guest_boot_once TIMEOUT LOG ROOT BOOT-ARGS...: one boot of root disk ROOT
# (with the payload and boot-exchange disks); QEMU boots as BOOT-ARGS say.
# Returns 5 when the guest asked for a reboot (what it handed over is in
# $RUN/next), else 0 pass, 1 fail, 3 panic, 4 no verdict, 124 timeout.
guest_boot_once() {
	local timeout=$1 log=$2 root=$3 qpid line rc=0 panic=0
	shift 3
	((timeout > 0)) || return 124
	rm -f "$RUN/boot.img"
	truncate -s 512M "$RUN/boot.img"
	# shellcheck disable=SC2054 # QEMU's options have commas
	local -a qemu=(
		qemu-system-x86_64 -accel tcg -m 2G -smp 2
		-nodefaults -display none -serial stdio -no-reboot "$@"
		-drive "file=$root,format=qcow2,if=none,id=root"
		-device virtio-blk-pci,drive=root,bootindex=1
		-drive "file=$RUN/payload.img,format=raw,if=virtio,readonly=on"
		-drive "file=$RUN/boot.img,format=raw,if=none,id=boot"
		-device virtio-blk-pci,drive=boot,serial=mempin-boot
		-device virtio-rng-pci
	)
	: >"$RUN/boot.log"
	rm -f "$RUN/console"
	mkfifo "$RUN/console"
	timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$RUN/console" 2>&1 &
	qpid=$!
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$RUN/boot.log"
		if [[ -n ${MEMPIN_GUEST_VERBOSE:-} || $line == mempin-install:* ||
			$line == MEMPIN-INSTALL:* || $line == "  failed: "* ||
			$line == "    | "* ]]; then
			printf '%s\n' "$line"
		fi
		if [[ $line == *"Kernel panic - not syncing"* ]]; then
			panic=1
			printf '%s\n' "$line"
			kill "$qpid" 2>/dev/null || true
		fi
	done <"$RUN/console"
	wait "$qpid" || rc=$?
	cat "$RUN/boot.log" >>"$log"
	if ((panic)); then
		return 3
	elif [[ $rc == 124 || $rc == 137 ]]; then
		return 124
	elif grep -qx 'MEMPIN-INSTALL: PASS' "$RUN/boot.log"; then
		return 0
	elif grep -q '^MEMPIN-INSTALL: FAIL' "$RUN/boot.log"; then
		return 1
	elif grep -qx 'MEMPIN-INSTALL: REBOOT' "$RUN/boot.log"; then
		rm -rf "$RUN/next"
		mkdir "$RUN/next"
		tar -C "$RUN/next" -xf "$RUN/boot.img" || return 4
		return 5
	fi
	return 4
}

# verdict RC: the words for guest_boot's status.
verdict() {
	case $1 in
	0) echo "PASS" ;;
	1) echo "FAIL (see the failed checks above)" ;;
	2) echo "SETUP ERROR" ;;
	3) echo "KERNEL PANIC" ;;
	124) echo "TIMEOUT after ${MEMPIN_INSTALL_TIMEOUT:-7200} s (MEMPIN_INSTALL_TIMEOUT)" ;;
	*) echo "NO VERDICT: the guest stopped early" ;;
	esac
}

main() {
	local rc=0 rc_sb=0 t0 runs=${MEMPIN_INSTALL_RUNS:-install secureboot}
	run_begin "$SUITE" check-install
	mkdir -p "$RUN/payload"
	t0=$(now_us)
	build_debs
	log "packages built in $(secs $(($(now_us) - t0))) s"
	t0=$(now_us)
	image_prepare
	log "guest image ready in $(secs $(($(now_us) - t0))) s"
	kernel_debs_prepare
	secureboot_prepare
	payload_build
	mkdir -p "$CACHE/logs"
	if [[ " $runs " == *" install "* ]]; then
		t0=$(now_us)
		log "booting the guest (TCG; six boots, two kernels, six DKMS builds)"
		guest_boot "${MEMPIN_INSTALL_TIMEOUT:-7200}" "$CACHE/logs/check-install.log" || rc=$?
		log "guest: $(secs $(($(now_us) - t0))) s: $(verdict "$rc");" \
			"console log: $CACHE/logs/check-install.log"
		if ((rc != 0)); then
			log "last console lines:"
			tail -25 "$CACHE/logs/check-install.log" >&2
		fi
	fi
	if [[ " $runs " == *" secureboot "* ]]; then
		t0=$(now_us)
		log "booting a fresh guest with Secure Boot (UEFI: OVMF, shim, grub; two boots)"
		secureboot_boot "${MEMPIN_INSTALL_TIMEOUT:-7200}" \
			"$CACHE/logs/check-install-secureboot.log" || rc_sb=$?
		log "Secure Boot guest: $(secs $(($(now_us) - t0))) s: $(verdict "$rc_sb");" \
			"console log: $CACHE/logs/check-install-secureboot.log"
		if ((rc_sb != 0)); then
			log "last console lines:"
			tail -25 "$CACHE/logs/check-install-secureboot.log" >&2
		fi
	fi
	((rc != 0)) || rc=$rc_sb
	log "RESULT: $(verdict "$rc"), $(secs $(($(now_us) - T_START))) s in all"
	return "$rc"
}

main "$@"
