#!/bin/bash
# Usage: check.sh SUITE      (make check KERNEL=SUITE)
# Builds mempin.ko for Debian SUITE's kernel, lib/ and the static Check suite
# tests/mempin-tests, and runs the suite as root in a QEMU guest of that
# kernel.  Exit status: 0 pass, 1 fail, 2 build or setup error, 3 kernel
# panic, 4 guest stopped without a result, 124 timeout.
# Environment: MEMPIN_CACHE, MEMPIN_GUEST_TIMEOUT (s, default 1800),
# MEMPIN_GUEST_VERBOSE=1 (full boot log), CK_* (passed to Check in the guest).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 SUITE ($SUITES)"
# mempinctl's host-side unit tests first: no guest needed to fail on them.
make -C "$REPO/tools" check WERROR=1
kernel_prepare "$1"
run_begin "$1" check
build_module
make -C "$REPO/lib"
[[ -f $REPO/tests/Makefile ]] || die "tests/Makefile does not exist yet"
make -C "$REPO/tests"
# mempinctl, which the observe suite runs, as /bin/mempinctl.
make -C "$REPO/tools" mempinctl WERROR=1
guest_add_program "$REPO/tools/mempinctl/mempinctl" /bin/mempinctl
guest_run "$REPO/tests/mempin-tests" 1800
