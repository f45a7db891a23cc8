#!/bin/bash
# Usage: check-install.sh            (make check-install)
# Proves the administrator's path in a real booted Debian bookworm (systemd,
# udev, DKMS, the stock kernel and its headers) under QEMU, never on the host:
#   1. make deb: the packages of this tree (version V, lintian-checked) and
#      of a copy bumped to V' (for the upgrade);
#   2. the guest disk image (mmdebstrap; cached in $CACHE/install, rebuilt
#      when its package list or boot files change);
#   3. boots it (-snapshot: the image stays pristine) with a payload disk
#      holding the packages, the source tree, guest.sh and pin-check.c;
#      guest.sh checks make install / make uninstall, then the packages,
#      reboots, upgrades to V', purges (see guest.sh).
# Exit status: 0 pass, 1 a check failed, 2 setup error, 3 kernel panic,
# 4 guest stopped without a verdict, 124 timeout.
# Environment: MEMPIN_CACHE, MEMPIN_INSTALL_TIMEOUT (s, default 3600),
# MEMPIN_GUEST_VERBOSE=1 (whole console, not only the checks).
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
	printf 'VERSION_A=%q\nVERSION_B=%q\n' "$VERSION_A" "$VERSION_B" >"$p/versions.env"
	# make install runs from the git-visible tree, as from a fresh clone.
	git -C "$REPO" ls-files -z -co --exclude-standard |
		tar -C "$REPO" --null -T - -cf "$p/src.tar"
	mb=$(du -sm "$p" | cut -f1)
	truncate -s $((mb * 2 + 32))M "$RUN/payload.img"
	mkfs.ext4 -q -F -L mempin-payload -d "$p" "$RUN/payload.img"
}

# Boots the image with the payload for at most TIMEOUT seconds; relays the
# checks (or everything with MEMPIN_GUEST_VERBOSE) and keeps the console in
# LOG.  The guest reboots once by itself; -snapshot keeps its writes in
# QEMU's memory until QEMU exits, across that reboot.
guest_boot() {
	local timeout=$1 log=$2 qpid line rc=0 panic=0
	# shellcheck disable=SC2054 # QEMU's options have commas
	local -a qemu=(
		qemu-system-x86_64 -accel tcg -m 2G -smp 2
		-nodefaults -display none -serial stdio -snapshot
		-kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img"
		-append "root=LABEL=mempin-root rw console=ttyS0 panic=0 quiet"
		-drive "file=$IMG/root.img,format=raw,if=virtio"
		-drive "file=$RUN/payload.img,format=raw,if=virtio"
		-device virtio-rng-pci
	)
	: >"$log"
	mkfifo "$RUN/console"
	timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$RUN/console" 2>&1 &
	qpid=$!
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$log"
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
	if ((panic)); then
		return 3
	elif [[ $rc == 124 || $rc == 137 ]]; then
		return 124
	elif grep -qx 'MEMPIN-INSTALL: PASS' "$log"; then
		return 0
	elif grep -q '^MEMPIN-INSTALL: FAIL' "$log"; then
		return 1
	fi
	return 4
}

main() {
	local rc=0 t0 verdict
	run_begin "$SUITE" check-install
	mkdir -p "$RUN/payload"
	t0=$(now_us)
	build_debs
	log "packages built in $(secs $(($(now_us) - t0))) s"
	t0=$(now_us)
	image_prepare
	log "guest image ready in $(secs $(($(now_us) - t0))) s"
	payload_build
	mkdir -p "$CACHE/logs"
	t0=$(now_us)
	log "booting the guest (TCG; two boots, three DKMS builds)"
	guest_boot "${MEMPIN_INSTALL_TIMEOUT:-3600}" "$CACHE/logs/check-install.log" || rc=$?
	log "guest: $(secs $(($(now_us) - t0))) s; console log: $CACHE/logs/check-install.log"
	case $rc in
	0) verdict="PASS" ;;
	1) verdict="FAIL (see the failed checks above)" ;;
	3) verdict="KERNEL PANIC" ;;
	124) verdict="TIMEOUT after ${MEMPIN_INSTALL_TIMEOUT:-3600} s (MEMPIN_INSTALL_TIMEOUT)" ;;
	*) verdict="NO VERDICT: the guest stopped early" ;;
	esac
	if ((rc != 0)); then
		log "last console lines:"
		tail -25 "$CACHE/logs/check-install.log" >&2
	fi
	log "RESULT: $verdict, $(secs $(($(now_us) - T_START))) s in all"
	return "$rc"
}

main "$@"
