# shellcheck shell=bash
# Shared by check.sh, demo.sh and kernel.sh: fetch a Debian kernel, build the
# module for it, pack a busybox initramfs and boot it in QEMU.  Sourced only.
#
# Everything downloaded or built lives in $CACHE, outside the repository:
#   kernels/SUITE/env          KVER KDIR ... (kernel.sh output)
#   kernels/SUITE/root/        the extracted linux-image package(s)
#   chroots/SUITE/             headers and gcc of a suite not the host's
#   run/MODE-SUITE.XXXXXX/     one run's module build and initramfs, removed
#                              at exit: concurrent runs share only the above
#   logs/MODE-SUITE.log        console log of the last guest run

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$GUEST_DIR/../.." && pwd)
CACHE=${MEMPIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mempin}
# Every build of a guest run (make check, demo, fuzz, bench) treats warnings
# as errors, unless WERROR=0 is given; a plain make does not.
export WERROR=${WERROR:-1}
# depmod and mkfs.ext4 live in sbin, which a user's PATH lacks on Debian.
PATH=$PATH:/usr/sbin:/sbin
SUITES="bullseye bookworm trixie sid"
# Not supported, watched: the newest kernel Debian has anywhere, sid's or
# experimental's, whichever is newer (make check-matrix: "early warning").
EARLY_SUITES="experimental"

log() { printf 'mempin-guest: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 2
}

host_codename() { (. /etc/os-release && echo "${VERSION_CODENAME:-}"); }

# --- kernel ---------------------------------------------------------------

# Sets KVER and VERSION from the Depends of the linux-headers-amd64
# metapackage in dpkg database DIR: it names the current kernel, unlike any
# linux-headers-* lying around.
kernel_resolve() {
	local dep
	dep=$(dpkg-query --admindir="$1" -W -f='${Depends}' linux-headers-amd64 2>/dev/null) ||
		die "linux-headers-amd64 is not installed: run sudo make deps"
	# "[linux-base-amd64 (= 7.2.13-1), ]linux-headers-KVER (= VERSION)"
	[[ $dep =~ (^|, )linux-headers-([^ ]+)\ \(=\ ([^\)]+)\) ]] ||
		die "cannot parse linux-headers-amd64 Depends: '$dep'"
	KVER=${BASH_REMATCH[2]} VERSION=${BASH_REMATCH[3]}
	KDIR=/usr/src/linux-headers-$KVER
}

# The host's own suite: its installed headers and compiler, its apt.
kernel_resolve_host() {
	BUILD_ROOT=''
	APT_OPTS=()
	kernel_resolve /var/lib/dpkg
	[[ -f $KDIR/Makefile ]] || die "$KDIR missing: run sudo make deps"
}

# Other suites: their headers and the gcc their kernel was built with live
# in an mmdebstrap chroot of the suite, made once into $CACHE/chroots/SUITE
# (rm -rf it to move to a newer kernel).  Its apt lists stay, so that the
# host's apt can fetch the matching image with the chroot's sources.
kernel_resolve_chroot() {
	BUILD_ROOT=$CACHE/chroots/$1
	APT_OPTS=(-o "Dir=$BUILD_ROOT")
	if [[ ! -f $BUILD_ROOT/.mempin-ready ]]; then
		log "creating a $1 chroot with its kernel headers and gcc" \
			"in $BUILD_ROOT (mmdebstrap downloads about 150 MB)"
		rm -rf "$BUILD_ROOT"
		mkdir -p "${BUILD_ROOT%/*}"
		local suite=$1
		local -a early=()
		if [[ $1 == experimental ]]; then
			# sid, plus experimental's linux-* at sid's priority: apt then
			# takes the higher version of the two.  The experimental line
			# is sid's own (mmdebstrap's default mirror), renamed.
			suite=sid
			# shellcheck disable=SC2016 # $1 is mmdebstrap's, for the hook
			early=(--setup-hook='sed -n "s/ sid / experimental /p" "$1/etc/apt/sources.list" \
				>"$1/etc/apt/sources.list.d/experimental.list" &&
				printf "Package: linux-*\nPin: release a=experimental\nPin-Priority: 500\n" \
				>"$1/etc/apt/preferences.d/experimental-linux"')
		fi
		# Valid-Until off: mirrors of sid lag behind its Release expiry.
		# shellcheck disable=SC2016 # $1 is mmdebstrap's, for the hook
		mmdebstrap --variant=apt --include=linux-headers-amd64,gcc,make \
			--aptopt='Acquire::Check-Valid-Until "false"' "${early[@]}" \
			--skip=cleanup/apt/lists --customize-hook='mkdir "$1/build"' \
			"$suite" "$BUILD_ROOT" >&2 ||
			die "mmdebstrap $1 failed (without root it needs ranges in" \
				"/etc/subuid; or run once as root with the same MEMPIN_CACHE)"
		touch "$BUILD_ROOT/.mempin-ready"
	fi
	kernel_resolve "$BUILD_ROOT/var/lib/dpkg"
}

# Downloads linux-image-KVER=VERSION and extracts it into DIR/root; from 7.x
# (sid) that package only depends on linux-binary-KVER (vmlinuz) and
# linux-modules-KVER, which come too.
kernel_fetch_image() {
	local dir=$1 tmp deb
	local -a apt_opts=(-q "${APT_OPTS[@]}") pkgs split
	# As root apt warns that _apt cannot write into our private directory.
	[[ $EUID -ne 0 ]] || apt_opts+=(-o APT::Sandbox::User=root)
	mapfile -t split < <(apt-cache "${apt_opts[@]}" depends "linux-image-$KVER=$VERSION" |
		sed -n "s/^ *Depends: \(linux-\(binary\|modules\)-$KVER\)$/\1/p")
	pkgs=("linux-image-$KVER" "${split[@]}")
	tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
	log "downloading ${pkgs[*]} $VERSION (apt-get download)"
	(cd "$tmp" && apt-get download "${apt_opts[@]}" "${pkgs[@]/%/=$VERSION}" >&2) ||
		die "cannot download ${pkgs[*]} $VERSION; if the archive moved" \
			"on, sudo make deps upgrades linux-headers-amd64"
	rm -rf "$dir/root"
	for deb in "$tmp"/*.deb; do
		log "extracting ${deb##*/} into $dir/root"
		dpkg-deb -x "$deb" "$dir/root"
	done
	rm -rf "$tmp"
}

# Prints the compiler KDIR's kernel was built with (e.g. gcc-12).
kernel_cc() {
	sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$BUILD_ROOT$KDIR/.config"
}

# Sets KVER KDIR VMLINUZ MODROOT CC BUILD_ROOT for SUITE, preparing and
# caching them.  KDIR is the headers' path for a build in BUILD_ROOT (a
# chroot; empty for the host).  One run at a time prepares a suite.
kernel_prepare() {
	local lock
	mkdir -p "$CACHE/kernels"
	exec {lock}>"$CACHE/kernels/$1.lock"
	flock -n "$lock" || {
		log "waiting for another run preparing the $1 kernel"
		flock "$lock"
	}
	kernel_prepare_locked "$1"
	exec {lock}>&-
}

kernel_prepare_locked() {
	local suite=$1 dir=$CACHE/kernels/$1 mods
	[[ " $SUITES $EARLY_SUITES " == *" $suite "* ]] ||
		die "unknown suite '$suite' ($SUITES; early warning: $EARLY_SUITES)"
	if [[ $suite == "$(host_codename)" ]]; then
		kernel_resolve_host
	else
		kernel_resolve_chroot "$suite"
	fi
	mkdir -p "$dir"
	# Reuse the cache when it holds this very kernel.
	if [[ -f $dir/env ]] && grep -qx "VERSION=$VERSION" "$dir/env" &&
		grep -qx "KVER=$KVER" "$dir/env"; then
		# shellcheck source=/dev/null
		. "$dir/env"
		[[ ! -f $VMLINUZ ]] || return 0
	fi
	kernel_fetch_image "$dir"
	# Merged-/usr packages (trixie on) ship usr/lib/modules; 7.x puts
	# vmlinuz there too.
	MODROOT=
	for mods in "$dir/root/lib/modules/$KVER" "$dir/root/usr/lib/modules/$KVER"; do
		[[ -d $mods ]] && MODROOT=$mods
	done
	VMLINUZ=$dir/root/boot/vmlinuz-$KVER
	[[ -f $VMLINUZ ]] || VMLINUZ=$MODROOT/vmlinuz
	[[ -f $VMLINUZ && -n $MODROOT ]] || die "no vmlinuz or modules in the package"
	# The package leaves modules.dep to its postinst; modprobe -d needs it.
	depmod -b "${MODROOT%/lib/modules/*}" "$KVER"
	CC=$(kernel_cc)
	printf '%s=%q\n' VERSION "$VERSION" KVER "$KVER" KDIR "$KDIR" \
		VMLINUZ "$VMLINUZ" MODROOT "$MODROOT" CC "$CC" \
		BUILD_ROOT "$BUILD_ROOT" >"$dir/env"
	log "kernel $KVER ready in $dir"
}

# --- builds -----------------------------------------------------------------

# Makes RUN, this run's private directory under $CACHE/run (removed at
# exit), for MODE (check, demo) on SUITE.
run_begin() {
	mkdir -p "$CACHE/run"
	RUN_NAME=$2-$1
	RUN=$(mktemp -d "$CACHE/run/$RUN_NAME.XXXXXX")
	trap 'rm -rf "$RUN"' EXIT
}

# Builds module/ for the prepared kernel in $RUN/build; sets KO.  A fresh
# copy every time: no objects of another kernel survive, and the source tree
# stays clean.  Only files git would track are copied.  MODULE_MAKE_ARGS
# (array) go to Kbuild's make (check-debug.sh: GCOV_PROFILE=y).
MODULE_MAKE_ARGS=()
build_module() {
	local b=$RUN/build
	[[ -f $REPO/module/Kbuild || -f $REPO/module/Makefile ]] ||
		die "module/ has no Kbuild or Makefile yet"
	[[ -n $BUILD_ROOT ]] || command -v "$CC" >/dev/null ||
		die "$KVER was built with $CC: install it"
	rm -rf "$b"
	mkdir -p "$b"
	if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$REPO" ls-files -z -co --exclude-standard -- module uapi |
			tar -C "$REPO" --null -T - -cf - | tar -C "$b" -xf -
	else
		cp -a "$REPO/module" "$REPO/uapi" "$b/"
	fi
	log "building mempin.ko for $KVER with $CC"
	if [[ -z $BUILD_ROOT ]]; then
		make -C "$KDIR" M="$b/module" CC="$CC" -j"$(nproc)" "${MODULE_MAKE_ARGS[@]}" modules
	else
		# Private namespaces (no root needed) show $b as /build, and a
		# /proc (objtool of 7.x reads it).
		# shellcheck disable=SC2016 # expanded by that sh
		# A /tmp of its own: make, PID 1 there, names its jobserver fifo
		# /tmp/GMfifo1, as does a kernel build in the same chroot.
		unshare -r -m -p -f sh -c 'mount --bind "$1" "$2/build" &&
			mount -t proc proc "$2/proc" && mount -t tmpfs tmp "$2/tmp" &&
			root=$2 kdir=$3 cc=$4 jobs=$5 &&
			shift 5 &&
			exec chroot "$root" make -C "$kdir" M=/build/module CC="$cc" -j"$jobs" "$@" modules' \
			sh "$b" "$BUILD_ROOT" "$KDIR" "$CC" "$(nproc)" "${MODULE_MAKE_ARGS[@]}"
	fi
	KO=$b/module/mempin.ko
	[[ -f $KO ]] || die "the module build made no mempin.ko"
}

# Builds the Kbuild directory SRC (a helper module outside module/, or a
# private copy of module/) for the prepared kernel as $RUN/build/NAME, next
# to the uapi/ that build_module copied there; prints the directory.
build_extra_module() {
	local src=$1 name=$2 b=$RUN/build
	[[ -d $b/uapi ]] || die "build_extra_module: run build_module first"
	rm -rf "${b:?}/$name"
	cp -a "$src" "$b/$name"
	log "building $name for $KVER with $CC"
	if [[ -z $BUILD_ROOT ]]; then
		make -C "$KDIR" M="$b/$name" CC="$CC" -j"$(nproc)" modules >&2
	else
		# shellcheck disable=SC2016 # expanded by that sh
		unshare -r -m -p -f sh -c 'mount --bind "$1" "$2/build" &&
			mount -t proc proc "$2/proc" && mount -t tmpfs tmp "$2/tmp" &&
			exec chroot "$2" make -C "$3" M=/build/"$6" CC="$4" -j"$5" modules' \
			sh "$b" "$BUILD_ROOT" "$KDIR" "$CC" "$(nproc)" "$name" >&2
	fi
	echo "$b/$name"
}

# Dies unless FILE is a static executable (the guest has no libc).
need_static() {
	[[ -x $1 ]] || die "$1 was not built"
	if LC_ALL=C readelf -l "$1" | grep -q INTERP; then
		die "$1 is dynamically linked; the guest needs it static"
	fi
}

# Adds program BIN to the next initramfs as DST (GUEST_FILES), with the
# shared libraries and dynamic loader it needs when it is not static: the
# guest has no libc of its own, and its ld.so finds them where ldd found
# them here (/lib/x86_64-linux-gnu: a default path, no ld.so.cache needed).
# For mempinctl: Debian ships no static libkmod.
guest_add_program() {
	local bin=$1 dst=$2 lib
	[[ -x $bin ]] || die "$bin was not built"
	GUEST_FILES+=("$bin:$dst")
	LC_ALL=C readelf -l "$bin" | grep -q INTERP || return 0
	while read -r lib; do
		GUEST_FILES+=("$lib:$lib")
	done < <(ldd "$bin" | sed -n 's|.* => \(/[^ ]*\) (.*|\1|p; s|^[[:space:]]*\(/[^ ]*\) (.*|\1|p')
}

# --- initramfs ----------------------------------------------------------------

# Quotes $1 for the guest's busybox sh.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Packs the busybox initramfs: /init (guest-init.sh), /lib/mempin.ko, the
# payload program BIN as /bin/NAME, the loop+ext4 modules of KVER and an
# ext4 image.  Writes DIR/initrd.gz.  A caller may add files (GUEST_FILES,
# an array of SRC:DST) and guest variables (GUEST_ENV, NAME=VALUE...).
GUEST_FILES=()
GUEST_ENV=()
initramfs_build() {
	local dir=$1 bin=$2 s=$1/root base m dst var
	rm -rf "$s"
	mkdir -p "$s"/{bin,sbin,usr/bin,usr/sbin,etc,lib,proc,sys,dev,tmp,mnt,root}
	cp /bin/busybox "$s/bin/busybox"
	for m in $(/bin/busybox --list-full); do
		[[ -e $s/$m ]] || ln -s /bin/busybox "$s/$m"
	done
	install -m 755 "$GUEST_DIR/guest-init.sh" "$s/init"
	cp "$KO" "$s/lib/mempin.ko"
	cp "$bin" "$s/bin/"
	# Extra files, SRC:DST (make bench: its helper module and hook).
	for m in "${GUEST_FILES[@]}"; do
		mkdir -p "$s$(dirname "${m#*:}")"
		cp "${m%%:*}" "$s${m#*:}"
	done

	# loop, ext4 and their dependencies in load order, uncompressed for
	# busybox insmod; the guest tries each (crc32c-intel fails under TCG).
	base=${MODROOT%/lib/modules/*}
	modprobe -d "$base" -S "$KVER" --show-depends -a loop ext4 |
		while read -r _ m _; do
			[[ $m == /* ]] || continue # "builtin NAME"
			dst=/lib/modules/$KVER/${m#"$MODROOT"/}
			mkdir -p "$s${dst%/*}"
			case $m in
			*.xz) xz -dc "$m" >"$s${dst%.xz}" && dst=${dst%.xz} ;;
			*.zst) zstd -qdc "$m" >"$s${dst%.zst}" && dst=${dst%.zst} ;;
			*) cp "$m" "$s$dst" ;;
			esac
			echo "$dst" >>"$s/etc/mempin-ext4-modules"
		done
	truncate -s 32M "$s/ext4.img"
	mkfs.ext4 -q -F -L mempin "$s/ext4.img"

	# What the guest runs, plus Check's CK_* and MEMPIN_TEST_* variables
	# passed through from the host (CK_RUN_CASE=... make check).
	{
		echo "PAYLOAD=/bin/$(basename "$bin")"
		while read -r var; do
			echo "export $var=$(sh_quote "${!var}")"
		done < <(compgen -e | grep -E '^(CK_|MEMPIN_TEST_)' || true)
		for var in "${GUEST_ENV[@]}"; do
			echo "export ${var%%=*}=$(sh_quote "${var#*=}")"
		done
	} >"$s/etc/mempin-guest.env"

	# -R 0:0: owned by root in the guest without being root here.
	(cd "$s" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$dir/initrd.gz"
}

# --- QEMU -----------------------------------------------------------------------

now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }
secs() { printf '%d.%01d' $(($1 / 1000000)) $(($1 % 1000000 / 100000)); }

QEMU_MACHINE=()

# Boots the prepared kernel with DIR/initrd.gz for at most TIMEOUT seconds,
# relaying the console live and into LOG.  Returns 0 when the guest printed
# "MEMPIN-GUEST: PASS"; 1 on its FAIL marker, 3 on a kernel panic, 4 when
# the guest stopped without a marker, 124 on timeout.
qemu_boot() {
	local dir=$1 timeout=$2 log=$3 t0 boot=0 line rc
	# no_timer_check: under TCG on a loaded host the boot-time check that
	# the 8254 timer reaches the IO-APIC can time out and panic the guest
	# ("IO-APIC + timer doesn't work!"); the timer works, the check is slow.
	# log_buf_len: the init checks the whole kernel log, so none of it may
	# be overwritten; the fuzz's OOM phases log an OOM report per refused
	# charge, and on the debug kernels (a 256 KiB buffer) those
	# wrapped it: a report's start was lost and its middle judged alone.
	local append="console=ttyS0 panic=-1 no_timer_check log_buf_len=16M"
	# quiet unless asked: the init checks the whole dmesg itself.
	[[ -n ${MEMPIN_GUEST_VERBOSE:-} ]] || append+=" quiet"
	# shellcheck disable=SC2054 # QEMU's options have commas
	# Two NUMA nodes, one vCPU each, for move_pages and migration; a
	# caller may set QEMU_MACHINE instead (make bench: one vCPU, icount).
	local -a machine=(
		-m 3G -smp 2,sockets=2
		-object memory-backend-ram,id=m0,size=1536M
		-object memory-backend-ram,id=m1,size=1536M
		-numa node,nodeid=0,cpus=0,memdev=m0
		-numa node,nodeid=1,cpus=1,memdev=m1
	)
	[[ ${#QEMU_MACHINE[@]} -eq 0 ]] || machine=("${QEMU_MACHINE[@]}")
	local -a qemu=(
		qemu-system-x86_64 -accel tcg "${machine[@]}"
		-nodefaults -display none -serial stdio -no-reboot
		-kernel "$VMLINUZ" -initrd "$dir/initrd.gz"
		-append "$append"
	)
	: >"$log"
	log "booting $KVER (timeout ${timeout}s)"
	t0=$(now_us)
	shopt -s lastpipe # the loop below runs in this shell and sets $boot
	set +e
	# --foreground: Ctrl-C reaches QEMU; it has no children to time out.
	timeout --foreground -k 10 "$timeout" "${qemu[@]}" </dev/null 2>&1 |
		while IFS= read -r line || [[ -n $line ]]; do
			line=${line%$'\r'}
			printf '%s\n' "$line"
			printf '%s\n' "$line" >>"$log"
			if [[ $boot == 0 && $line == "MEMPIN-GUEST: init"* ]]; then
				boot=$(($(now_us) - t0))
			fi
		done
	rc=${PIPESTATUS[0]}
	set -e
	log "guest boot (QEMU start to init): $(secs "$boot") s," \
		"total: $(secs $(($(now_us) - t0))) s"
	if [[ $rc == 124 || $rc == 137 ]]; then
		log "RESULT: TIMEOUT after ${timeout}s (MEMPIN_GUEST_TIMEOUT)"
		return 124
	elif grep -q 'Kernel panic - not syncing' "$log"; then
		log "RESULT: KERNEL PANIC"
		return 3
	elif grep -qx 'MEMPIN-GUEST: PASS' "$log" &&
		grep -qx 'MEMPIN-GUEST: payload exit status 0' "$log"; then
		log "RESULT: PASS"
		return 0
	elif line=$(grep -m1 '^MEMPIN-GUEST: FAIL' "$log"); then
		log "RESULT: ${line#MEMPIN-GUEST: }"
		return 1
	fi
	log "RESULT: NO MARKER: the guest stopped early (QEMU exit status $rc)"
	return 4
}

# Boots the guest of run_begin with the static payload BIN for at most
# TIMEOUT seconds (or $MEMPIN_GUEST_TIMEOUT); keeps its console log.
guest_run() {
	local bin=$1 timeout=$2 rc=0
	need_static "$bin"
	initramfs_build "$RUN" "$bin"
	qemu_boot "$RUN" "${MEMPIN_GUEST_TIMEOUT:-$timeout}" "$RUN/console.log" || rc=$?
	mkdir -p "$CACHE/logs"
	mv "$RUN/console.log" "$CACHE/logs/$RUN_NAME.log"
	log "console log: $CACHE/logs/$RUN_NAME.log"
	return "$rc"
}
