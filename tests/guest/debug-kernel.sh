#!/bin/bash
# Usage: debug-kernel.sh [FLAVOUR]   (also sourced by check-debug.sh)
# Builds, once, a debug kernel of make check-debug and prints its
# KVER KDIR VMLINUZ MODROOT CC BUILD_ROOT, the variables lib.sh's
# build_module and guest_run use.  FLAVOUR (default kasan):
#   kasan    the newest Debian kernel source (linux-source of sid), built
#            with sid's own gcc in a sid chroot, x86_64_defconfig +
#            debug-kernel-guest.config + debug-kernel-kasan.config: KASAN,
#            KMEMLEAK, PROVE_LOCKING, DEBUG_VM, DEBUG_OBJECTS, UBSAN,
#            USERFAULTFD, GCOV_KERNEL and fault injection (failslab,
#            fail_page_alloc, fail_usercopy, per-task fail-nth)
#   kcsan    the same source, debug-kernel-kcsan.config: KCSAN
#   kasan61  Debian's linux-source-6.1 (installed by make deps) with the
#            host's gcc-12 and debug-kernel.config: the first debug kernel
# sid's source, not trixie-backports': backports are built from testing,
# which sid precedes, so sid's is never older.
# Cached in $CACHE/debug-kernel-FLAVOUR/ (kasan61: $CACHE/debug-kernel/),
# keyed on the package version, the compiler and the config fragments; the
# sid chroot with the source and the build tools is $CACHE/chroots/sid-debug
# (rm -rf it to move to sid's newest kernel).  Builds run under nice -n 19,
# with MEMPIN_DEBUG_JOBS jobs (default: the number of CPUs); an interrupted
# build resumes where it stopped.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEBUG_FLAVOURS="kasan kcsan kasan61"
# make -j of the kernel builds: nice -n 19 lets anyone else go first.
DEBUG_JOBS=${MEMPIN_DEBUG_JOBS:-$(nproc)}
# What the sid chroot of the debug kernels needs: the kernel source, its
# build tools, and lcov (gcov of sid's gcc reads the coverage data).
DEBUG_CHROOT_PKGS=gcc,make,bc,bison,flex,libelf-dev,libssl-dev,linux-source,xz-utils,python3,perl,kmod,cpio,lcov

# Runs COMMAND... in the sid chroot $DEBUG_ROOT as its root (no root needed:
# a user namespace), with a /proc (objtool reads it) and a /tmp of its own:
# make is PID 1 of its namespace in every build, and names its jobserver
# fifo /tmp/GMfifo1 after it.
debug_chroot() {
	# shellcheck disable=SC2016 # expanded by that sh
	unshare -r -m -p -f sh -c 'mount -t proc proc "$1/proc" &&
		mount -t tmpfs tmp "$1/tmp" && exec chroot "$@"' sh "$DEBUG_ROOT" "$@"
}

# Makes the sid chroot of the newest kernels' debug builds, once.
debug_chroot_make() {
	[[ ! -f $DEBUG_ROOT/.mempin-ready ]] || return 0
	log "creating a sid chroot with linux-source and its build tools" \
		"in $DEBUG_ROOT (mmdebstrap downloads about 400 MB)"
	rm -rf "$DEBUG_ROOT"
	mkdir -p "${DEBUG_ROOT%/*}"
	# shellcheck disable=SC2016 # $1 is mmdebstrap's, for the hook
	mmdebstrap --variant=apt --include="$DEBUG_CHROOT_PKGS" \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--skip=cleanup/apt/lists --customize-hook='mkdir "$1/build"' \
		sid "$DEBUG_ROOT" >&2 ||
		die "mmdebstrap sid failed (without root it needs ranges in /etc/subuid)"
	touch "$DEBUG_ROOT/.mempin-ready"
}

debug_kernel_prepare() {
	local lock
	DEBUG_FLAVOUR=${1:-${DEBUG_FLAVOUR:-kasan}}
	[[ " $DEBUG_FLAVOURS " == *" $DEBUG_FLAVOUR "* ]] ||
		die "unknown debug kernel '$DEBUG_FLAVOUR' ($DEBUG_FLAVOURS)"
	if [[ $DEBUG_FLAVOUR == kasan61 ]]; then
		DK=$CACHE/debug-kernel
	else
		DK=$CACHE/debug-kernel-$DEBUG_FLAVOUR
	fi
	mkdir -p "$DK"
	exec {lock}>"$DK/lock"
	flock -n "$lock" || {
		log "waiting for another run building the $DEBUG_FLAVOUR debug kernel"
		flock "$lock"
	}
	if [[ $DEBUG_FLAVOUR == kasan61 ]]; then
		debug_kernel_prepare_61
	else
		debug_kernel_prepare_sid
	fi
	exec {lock}>&-
}

# Every option FRAGMENT... asks for must have survived olddefconfig in CONFIG.
debug_config_check() {
	local config=$1 missing
	shift
	missing=$(cat "$@" | grep -E '^CONFIG_[A-Z0-9_]+=' |
		while IFS= read -r opt; do
			grep -qxF "$opt" "$config" || echo "$opt"
		done)
	[[ -z $missing ]] || die "debug kernel config lacks: ${missing//$'\n'/ }"
}

# Writes $DK/env: the variables this script prints.
debug_env_write() {
	printf '%s=%q\n' KEY "$1" VERSION "$2" KVER "$KVER" KDIR "$KDIR" \
		VMLINUZ "$VMLINUZ" MODROOT "$MODROOT" CC "$CC" \
		BUILD_ROOT "$BUILD_ROOT" BUILD_SECONDS "$3" >"$DK/env"
}

# Sources $DK/env if it was written for KEY and its kernel is there.
debug_env_cached() {
	[[ -f $DK/env ]] && grep -qxF "$(printf 'KEY=%q' "$1")" "$DK/env" || return 1
	# shellcheck source=/dev/null
	. "$DK/env"
	[[ -f $VMLINUZ ]]
}

# The newest kernel: sid's linux-source, built in the sid chroot with sid's
# gcc; source and build live in the chroot (/usr/src/mempin-debug), where
# the module is built against them too (BUILD_ROOT, as for make check
# KERNEL=sid).
debug_kernel_prepare_sid() {
	local pkgver srcpkg tarball key tree t0 cc frags
	local base=/usr/src/mempin-debug src out
	DEBUG_ROOT=$CACHE/chroots/sid-debug
	debug_chroot_make
	srcpkg=$(dpkg-query --admindir="$DEBUG_ROOT/var/lib/dpkg" -W -f='${Depends}' linux-source |
		grep -o 'linux-source-[0-9.]*') ||
		die "no linux-source in $DEBUG_ROOT: rm -rf it and run again"
	pkgver=$(dpkg-query --admindir="$DEBUG_ROOT/var/lib/dpkg" -W -f='${Version}' "$srcpkg")
	tarball=/usr/src/$srcpkg.tar.xz
	cc=gcc-$(debug_chroot gcc -dumpversion | cut -d. -f1)
	frags=("$GUEST_DIR/debug-kernel-guest.config" "$GUEST_DIR/debug-kernel-$DEBUG_FLAVOUR.config")
	# The tree: source and compiler; the key: the tree and the fragments.
	tree="$srcpkg $pkgver $(debug_chroot "$cc" --version | head -1)"
	key="$tree $(cat "${frags[@]}" | sha256sum | cut -c1-16)"
	if debug_env_cached "$key"; then
		return 0
	fi
	src=$base/src out=$base/$DEBUG_FLAVOUR
	rm -f "$DK/env"
	# An interrupted build of the same key goes on where it stopped.
	if [[ $(cat "$DEBUG_ROOT$out/.mempin-key" 2>/dev/null) == "$key" &&
		-f $DEBUG_ROOT$src.version ]]; then
		log "resuming the $DEBUG_FLAVOUR debug kernel build in $DEBUG_ROOT$out"
		t0=$(now_us)
		debug_kernel_make_sid
		return
	fi
	log "building the $DEBUG_FLAVOUR debug kernel ($srcpkg $pkgver, $cc) in" \
		"$DEBUG_ROOT$out: once, half an hour or more on 2 cores"
	t0=$(now_us)
	rm -rf "$DK/root"
	# Only the fragments changed: Kbuild rebuilds what the new config
	# touches.  Another source or compiler: from nothing.
	if [[ $(cat "$DEBUG_ROOT$out/.mempin-tree" 2>/dev/null) != "$tree" ]]; then
		rm -rf "$DEBUG_ROOT$out"
	fi
	rm -f "$DEBUG_ROOT$out/.mempin-key"
	mkdir -p "$DEBUG_ROOT$out"
	# One source tree for both flavours, extracted again if sid moved on.
	if [[ $(cat "$DEBUG_ROOT$src.version" 2>/dev/null) != "$srcpkg $pkgver" ]]; then
		rm -rf "$DEBUG_ROOT$src" "$DEBUG_ROOT$src.version"
		mkdir -p "$DEBUG_ROOT$src"
		tar -C "$DEBUG_ROOT$src" --strip-components=1 -xJf "$DEBUG_ROOT$tarball"
		echo "$srcpkg $pkgver" >"$DEBUG_ROOT$src.version"
	fi
	cat "${frags[@]}" >"$DEBUG_ROOT$out/fragment.config"
	debug_chroot make -C "$src" O="$out" CC="$cc" -s x86_64_defconfig >&2
	debug_chroot "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$out/fragment.config" >&2
	debug_chroot make -C "$src" O="$out" CC="$cc" -s olddefconfig >&2
	debug_config_check "$DEBUG_ROOT$out/.config" "${frags[@]}"
	echo "$tree" >"$DEBUG_ROOT$out/.mempin-tree"
	echo "$key" >"$DEBUG_ROOT$out/.mempin-key"
	debug_kernel_make_sid
}

# The build itself, from debug_kernel_prepare_sid (its variables), which
# may resume it.
debug_kernel_make_sid() {
	debug_chroot nice -n 19 make -C "$src" O="$out" CC="$cc" -j"$DEBUG_JOBS" bzImage modules >&2
	debug_chroot nice -n 19 make -C "$src" O="$out" CC="$cc" -s \
		INSTALL_MOD_PATH="$out/root" modules_install >&2
	KVER=$(debug_chroot make -s -C "$src" O="$out" CC="$cc" kernelrelease 2>/dev/null | tail -1)
	rm -rf "$DK/root"
	mv "$DEBUG_ROOT$out/root" "$DK/root"
	MODROOT=$DK/root/lib/modules/$KVER
	rm -f "$MODROOT/build" "$MODROOT/source"
	depmod -b "$DK/root" "$KVER"
	VMLINUZ=$DK/vmlinuz-$KVER
	cp "$DEBUG_ROOT$out/arch/x86/boot/bzImage" "$VMLINUZ"
	KDIR=$out CC=$cc BUILD_ROOT=$DEBUG_ROOT
	BUILD_SECONDS=$((($(now_us) - t0) / 1000000))
	debug_env_write "$key" "$pkgver" "$BUILD_SECONDS"
	log "$DEBUG_FLAVOUR debug kernel $KVER ready in $DK after $BUILD_SECONDS s"
}

# The first debug kernel: linux-source-6.1 with the host's gcc-12.
debug_kernel_prepare_61() {
	local pkgver key t0 src=$DK/src out=$DK/build cc=gcc-12
	local tarball=/usr/src/linux-source-6.1.tar.xz
	pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
		die "linux-source-6.1 is not installed: run sudo make deps"
	[[ -f $tarball ]] || die "$tarball missing: run sudo make deps"
	command -v "$cc" >/dev/null || die "$cc missing: run sudo make deps"
	key="$pkgver $(sha256sum <"$GUEST_DIR/debug-kernel.config" | cut -c1-16)"
	if debug_env_cached "$key"; then
		return 0
	fi
	log "building the debug kernel (linux-source-6.1 $pkgver) in $DK:" \
		"once, about 15 minutes on 2 cores"
	t0=$(now_us)
	rm -rf "$DK/env" "$src" "$out" "$DK/root"
	mkdir -p "$src" "$out"
	tar -C "$src" --strip-components=1 -xJf "$tarball"
	make -C "$src" O="$out" CC="$cc" -s x86_64_defconfig >&2
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$GUEST_DIR/debug-kernel.config" >&2
	make -C "$src" O="$out" CC="$cc" -s olddefconfig >&2
	debug_config_check "$out/.config" "$GUEST_DIR/debug-kernel.config"
	nice -n 19 make -C "$src" O="$out" CC="$cc" -j"$DEBUG_JOBS" bzImage modules >&2
	nice -n 19 make -C "$src" O="$out" CC="$cc" -s INSTALL_MOD_PATH="$DK/root" \
		modules_install >&2
	KVER=$(make -s -C "$src" O="$out" CC="$cc" kernelrelease 2>/dev/null | tail -1)
	MODROOT=$DK/root/lib/modules/$KVER
	rm -f "$MODROOT/build" "$MODROOT/source"
	depmod -b "$DK/root" "$KVER"
	VMLINUZ=$DK/vmlinuz-$KVER
	cp "$out/arch/x86/boot/bzImage" "$VMLINUZ"
	KDIR=$out CC=$cc BUILD_ROOT=
	BUILD_SECONDS=$((($(now_us) - t0) / 1000000))
	debug_env_write "$key" "$pkgver" "$BUILD_SECONDS"
	log "debug kernel $KVER ready in $DK after $BUILD_SECONDS s"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	debug_kernel_prepare "${1:-}"
	cat "$DK/env"
fi
