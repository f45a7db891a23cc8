#!/usr/bin/env bash
# make lint: checkpatch --strict, sparse, W=1, the uapi layout check, and
# every shell script through shellcheck.
# Kernel tools come from Debian's packages (make deps); checkpatch is taken
# out of the linux-source tarball once and cached.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${MEMPIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mempin}
# shellcheck disable=SC2012 # Debian's package directories: plain names
kdir=${KDIR:-$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n1)}
fail=0

step() { printf '== %s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }

checkpatch=$cache/checkpatch/scripts/checkpatch.pl
if [ ! -x "$checkpatch" ]; then
	# shellcheck disable=SC2012 # Debian's package files: plain names
	src=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -n1)
	mkdir -p "$cache/checkpatch"
	tar -xJf "$src" -C "$cache/checkpatch" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
fi

step "checkpatch --strict"
mapfile -t ksrc < <(cd "$top" && git ls-files -co --exclude-standard "module/*.[ch]" | sed "s|^|$top/|")
if ! "$checkpatch" --strict --no-tree --quiet --show-types \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
	-f "${ksrc[@]}" "$top"/uapi/linux/mempin.h; then
	bad checkpatch
fi

# Build in scratch copies so lint never leaves objects in the tree; a clean
# MAKEFLAGS so "make -s lint" cannot silence the CHECK lines counted below.
# The W=1 and the sparse build run side by side, each in its own copy: run
# one after the other they were most of lint's time.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for b in w1 sparse; do
	mkdir "$work/$b"
	cp -r "$top/module" "$top/uapi" "$work/$b/"
done
MAKEFLAGS='' make -s -C "$kdir" M="$work/w1/module" W=1 modules >"$work/w1.log" 2>&1 &
w1=$!
MAKEFLAGS='' make -C "$kdir" M="$work/sparse/module" C=2 modules >"$work/sparse.log" 2>&1 &
sparse=$!
step "W=1 build ($kdir)"
if ! wait "$w1" || grep -E 'warning:|error:' "$work/w1.log"; then
	cat "$work/w1.log"
	bad "W=1 build"
fi
step "sparse (C=2)"
if ! wait "$sparse" || grep -E 'warning:|error:' "$work/sparse.log"; then
	cat "$work/sparse.log"
	bad sparse
fi
# Headers without scripts/checker-valid.sh skip sparse and still exit 0.
grep -q 'CHECK ' "$work/sparse.log" || bad "sparse did not run"

step "uapi: no holes or padding in any struct (pahole)"
structs=$(sed -n 's/^struct \(mempin_[a-z_]*\) {$/\1/p' "$top/uapi/linux/mempin.h")
printf '#include <linux/mempin.h>\n' >"$work/uapi.c"
for s in $structs; do printf 'struct %s u_%s;\n' "$s" "$s" >>"$work/uapi.c"; done
for bits in 64 32; do
	if [ "$bits" = 32 ] && ! gcc -m32 -E -x c /dev/null >/dev/null 2>&1; then
		echo "  (no -m32 toolchain: 32-bit layout not checked)"
		continue
	fi
	gcc -m$bits -g -c -I"$top/uapi" -o "$work/uapi$bits.o" "$work/uapi.c"
	for s in $structs; do
		layout=$(pahole -C "$s" "$work/uapi$bits.o")
		if grep -qE 'XXX|hole|padding' <<<"$layout"; then
			printf '%s\n' "$layout"
			bad "$s has a hole or padding ($bits-bit)"
		fi
		sizes+=("$bits $s $(sed -n 's/.*size: \([0-9]*\),.*/\1/p' <<<"$layout")")
	done
done
# The same layout for 32- and 64-bit callers is what lets compat_ioctl
# share the handler.
if [ "$(printf '%s\n' "${sizes[@]}" | awk '{print $2, $3}' | sort | uniq | awk '{print $1}' | uniq -d)" ]; then
	printf '%s\n' "${sizes[@]}"
	bad "struct sizes differ between 32- and 64-bit"
fi

step "shellcheck"
# Every shell script git knows: *.sh, and the others by their #! line
# (.ci/run, the maintainer scripts in debian/, the install image's payload).
# Sourced files are followed (-x), found next to the script that sources them.
mapfile -t scripts < <(cd "$top" && git ls-files -co --exclude-standard |
	while IFS= read -r f; do
		[[ -f $f && ! -L $f ]] || continue
		case $f in
		*.sh) echo "$f" ;;
		*) head -n1 "$f" | grep -qE '^#!.*[/ ](ba|da)?sh( |$)' && echo "$f" ;;
		esac
	done)
echo "  ${#scripts[@]} scripts"
(cd "$top" && shellcheck -x -P SCRIPTDIR "${scripts[@]}") || bad shellcheck

if [ "$fail" -ne 0 ]; then
	echo "lint: FAILED"
	exit 1
fi
echo "lint: clean"
