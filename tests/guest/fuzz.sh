#!/bin/bash
# Usage: fuzz.sh SUITE      (make fuzz [KERNEL=SUITE])
# Builds mempin.ko for Debian SUITE's kernel and tests/fuzz/mempin-fuzz, and
# runs the hostile-input phases (ioctl fuzzer, race storm, limits, OOM) as
# root in a QEMU guest of that kernel; see tests/fuzz/fuzz.h.  The guest
# forgives the OOM killer's report in the kernel log (the OOM phase causes
# it), nothing else.  Exit status as check.sh.
# Environment: MEMPIN_TEST_FUZZ_* (tests/fuzz/main.c: seed, phases, sizes;
# the defaults are CI's short run), MEMPIN_CACHE, MEMPIN_GUEST_TIMEOUT (s,
# default 3600), MEMPIN_GUEST_VERBOSE=1.
# The seed: MEMPIN_TEST_FUZZ_SEED if set, "random" for a new one each run,
# else one derived from the commit checked out, so that a commit fuzzes the
# same cases here as in CI (and a failure there replays here), while every
# commit still explores new ones.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 SUITE ($SUITES)"
kernel_prepare "$1"
run_begin "$1" fuzz
build_module
make -C "$REPO/tests/fuzz"
if [[ ${MEMPIN_TEST_FUZZ_SEED:-} == random ]]; then
	unset MEMPIN_TEST_FUZZ_SEED
elif [[ -z ${MEMPIN_TEST_FUZZ_SEED:-} ]] &&
	head=$(git -C "$REPO" rev-parse --short=15 HEAD 2>/dev/null); then
	export MEMPIN_TEST_FUZZ_SEED=$((16#$head))
	log "fuzz seed $MEMPIN_TEST_FUZZ_SEED from commit $head"
fi
export MEMPIN_TEST_ALLOW_OOM=1
guest_run "$REPO/tests/fuzz/mempin-fuzz" 3600
