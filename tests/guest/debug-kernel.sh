#!/bin/bash
# Usage: debug-kernel.sh        (also sourced by check-debug.sh)
# Builds, once, the debug kernel of make check-debug from Debian's
# linux-source-6.1 package (the default kernel's version, installed by
# make deps): x86_64_defconfig + debug-kernel.config (KASAN, KMEMLEAK,
# PROVE_LOCKING, DEBUG_VM, DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS, UBSAN,
# GCOV_KERNEL; NUMA, THP, hugetlbfs, loop+ext4 built in...).  Cached in
# $CACHE/debug-kernel/ (~/.cache/mempin/debug-kernel), keyed on the package
# version and the config fragment; the build runs under nice -n 19.
# Sets (sourced) or prints: KVER KDIR VMLINUZ MODROOT CC BUILD_ROOT, the
# variables lib.sh's build_module and guest_run use.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DK=$CACHE/debug-kernel
DK_TARBALL=/usr/src/linux-source-6.1.tar.xz

debug_kernel_prepare() {
	local lock
	mkdir -p "$DK"
	exec {lock}>"$DK/lock"
	flock -n "$lock" || {
		log "waiting for another run building the debug kernel"
		flock "$lock"
	}
	debug_kernel_prepare_locked
	exec {lock}>&-
}

debug_kernel_prepare_locked() {
	local pkgver key t0 src=$DK/src out=$DK/build cc=gcc-12
	pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
		die "linux-source-6.1 is not installed: run sudo make deps"
	[[ -f $DK_TARBALL ]] || die "$DK_TARBALL missing: run sudo make deps"
	command -v "$cc" >/dev/null || die "$cc missing: run sudo make deps"
	key="$pkgver $(sha256sum <"$GUEST_DIR/debug-kernel.config" | cut -c1-16)"
	if [[ -f $DK/env ]] && grep -qxF "$(printf 'KEY=%q' "$key")" "$DK/env"; then
		# shellcheck source=/dev/null
		. "$DK/env"
		[[ ! -f $VMLINUZ ]] || return 0
	fi
	log "building the debug kernel (linux-source-6.1 $pkgver) in $DK:" \
		"once, about an hour on 2 cores"
	t0=$(now_us)
	rm -rf "$DK/env" "$src" "$out" "$DK/root"
	mkdir -p "$src" "$out"
	tar -C "$src" --strip-components=1 -xJf "$DK_TARBALL"
	make -C "$src" O="$out" CC="$cc" -s x86_64_defconfig >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$GUEST_DIR/debug-kernel.config" >&2
	make -C "$src" O="$out" CC="$cc" -s olddefconfig >&2
	# Every option the fragment asks for must have survived olddefconfig.
	local missing
	missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$GUEST_DIR/debug-kernel.config" |
		while IFS= read -r opt; do
			grep -qxF "$opt" "$out/.config" || echo "$opt"
		done)
	[[ -z $missing ]] || die "debug kernel config lacks: ${missing//$'\n'/ }"
	nice -n 19 make -C "$src" O="$out" CC="$cc" -j"$(nproc)" bzImage modules >&2
	nice -n 19 make -C "$src" O="$out" CC="$cc" -s INSTALL_MOD_PATH="$DK/root" \
		modules_install >&2
	KVER=$(make -s -C "$src" O="$out" CC="$cc" kernelrelease 2>/dev/null | tail -1)
	MODROOT=$DK/root/lib/modules/$KVER
	rm -f "$MODROOT/build" "$MODROOT/source"
	depmod -b "$DK/root" "$KVER"
	VMLINUZ=$DK/vmlinuz-$KVER
	cp "$out/arch/x86/boot/bzImage" "$VMLINUZ"
	KDIR=$out CC=$cc BUILD_ROOT=
	printf '%s=%q\n' KEY "$key" VERSION "$pkgver" KVER "$KVER" KDIR "$KDIR" \
		VMLINUZ "$VMLINUZ" MODROOT "$MODROOT" CC "$CC" \
		BUILD_ROOT "$BUILD_ROOT" BUILD_SECONDS $((($(now_us) - t0) / 1000000)) >"$DK/env"
	log "debug kernel $KVER ready in $DK after $(secs $(($(now_us) - t0))) s"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	debug_kernel_prepare
	cat "$DK/env"
fi
