#!/bin/bash
# Usage: kernel.sh SUITE
# Prepares (once; cached outside the repo) Debian SUITE's stock kernel for
# the test guest and prints shell assignments for it:
#   VERSION KVER KDIR VMLINUZ MODROOT CC BUILD_ROOT
# (KDIR is inside BUILD_ROOT, the chroot of a suite other than the host's)
# e.g. eval "$(tests/guest/kernel.sh bookworm)".  Progress goes to stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 SUITE ($SUITES)"
kernel_prepare "$1" >&2
cat "$CACHE/kernels/$1/env"
