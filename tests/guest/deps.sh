#!/bin/bash
# Installs every build and test dependency of mempin from Debian's archive.
# Run as root (`sudo make deps`); CI runs it with CI=true and no stdin.
# Idempotent: installed packages are left alone, or upgraded when the archive
# has a newer version (which keeps linux-headers-amd64 in step with the
# linux-image package that tests/guest/kernel.sh downloads).
set -euo pipefail

pkgs=(
	build-essential pkg-config python3
	check libsubunit-dev libkmod-dev	# Check suite, mempinctl
	libsmartcols-dev			# mempinctl's tables
	libjansson-dev				# t_mempinctl.c: strict JSON (static)
	linux-headers-amd64 dwarves		# module build (pahole for BTF)
	sparse linux-source-6.1 shellcheck	# make lint (checkpatch.pl)
	gcc-multilib				# make lint: 32-bit uapi layout
	qemu-system-x86 busybox-static cpio kmod e2fsprogs xz-utils # guest
	mmdebstrap				# other suites' kernels
	liburing-dev python3-matplotlib		# make bench: io_uring peer, plot
	flex bison bc libelf-dev libssl-dev	# make check-debug: kernel build
	lcov					# make check-debug: coverage HTML
	debhelper dh-dkms lintian		# make deb, make check-install
	qemu-utils ovmf				# make check-install: qemu-img, UEFI
	abigail-tools				# make -C lib check: ABI baseline
)

if [[ $EUID -ne 0 ]]; then
	echo "deps.sh: run as root: sudo make deps" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: apt-get update, then install: ${pkgs[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${pkgs[@]}" </dev/null
echo "deps.sh: done"
