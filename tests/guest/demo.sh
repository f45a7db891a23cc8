#!/bin/bash
# Usage: demo.sh SUITE       (make demo KERNEL=SUITE)
# Boots a throwaway guest of Debian SUITE's kernel with mempin loaded and
# runs the static tools/mempin-demo in it: a pinned and an mlocked buffer
# put through move_pages across the guest's two NUMA nodes.  No root needed.
# Exit status and environment as check.sh (default timeout 600 s).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 SUITE ($SUITES)"
kernel_prepare "$1"
run_begin "$1" demo
build_module
make -C "$REPO/tools" mempin-demo
guest_run "$REPO/tools/mempin-demo" 600
