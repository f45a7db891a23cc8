#!/bin/bash
# Usage: check-debug.sh      (make check-debug)
# The debug-kernel run of issue 5: builds (once, cached: debug-kernel.sh)
# linux-source-6.1 with KASAN, KMEMLEAK, PROVE_LOCKING, DEBUG_VM,
# DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS, UBSAN and GCOV_KERNEL; builds mempin.ko
# against it with gcov profiling (the module only); boots it twice: the
# Check suite, then the long fuzz (1 000 000 ioctls, 10 min storm, limits,
# budget, OOM and the memcg phase); both with a kmemleak scan.  Then prints the
# line coverage of module/*.c by both runs together (coverage.sh: gcov,
# from the guest's /sys/kernel/debug/gcov sent through the console), and
# lists the lines never reached.
# Exit status: 0 when both guests passed and coverage reached
# MEMPIN_COVERAGE_MIN (percent, default 90); else as check.sh.
# Environment: MEMPIN_TEST_FUZZ_* override the fuzz sizes; MEMPIN_CACHE;
# MEMPIN_DEBUG_SKIP=check or fuzz skips that guest run.
set -euo pipefail
. "$(dirname "$0")/debug-kernel.sh"

debug_kernel_prepare
log "debug kernel $KVER (built in ${BUILD_SECONDS:-?} s, cached in $DK)"
run_begin debug check-debug

# gcov for mempin's own objects only; the probes stay uninstrumented.
# shellcheck disable=SC2317 # called by build_module
make() {
	if [[ ${1:-} == -C && ${2:-} == "$KDIR" ]]; then
		command make "$@" GCOV_PROFILE=y 'GCOV_PROFILE_compat_probed.o=n'
	else
		command make "$@"
	fi
}
build_module
unset -f make
make -C "$REPO/lib"
make -C "$REPO/tests"
make -C "$REPO/tests/fuzz"
# As check.sh: mempinctl, which the observe suite runs, as /bin/mempinctl.
if declare -F guest_add_program >/dev/null; then
	make -C "$REPO/tools" mempinctl
	guest_add_program "$REPO/tools/mempinctl/mempinctl" /bin/mempinctl
fi

export MEMPIN_TEST_KMEMLEAK=1 MEMPIN_TEST_GCOV=1
rc=0
logs=()
if [[ ${MEMPIN_DEBUG_SKIP:-} != check ]]; then
	RUN_NAME=check-debug-check
	guest_run "$REPO/tests/mempin-tests" 5400 || rc=$?
	logs+=("$CACHE/logs/$RUN_NAME.log")
fi
if [[ ${MEMPIN_DEBUG_SKIP:-} != fuzz ]]; then
	RUN_NAME=check-debug-fuzz
	# The issue's figures, unless the caller said otherwise.
	export MEMPIN_TEST_FUZZ_IOCTLS=${MEMPIN_TEST_FUZZ_IOCTLS:-1000000}
	export MEMPIN_TEST_FUZZ_IOCTL_SECS=${MEMPIN_TEST_FUZZ_IOCTL_SECS:-5400}
	export MEMPIN_TEST_FUZZ_STORM_SECS=${MEMPIN_TEST_FUZZ_STORM_SECS:-600}
	export MEMPIN_TEST_FUZZ_LIMIT_SECS=${MEMPIN_TEST_FUZZ_LIMIT_SECS:-60}
	# With the opt-in memcg phase: the module's allocations failing.
	export MEMPIN_TEST_FUZZ_PHASES=${MEMPIN_TEST_FUZZ_PHASES:-ioctl,storm,limits,budget,oom,memcg}
	export MEMPIN_TEST_ALLOW_OOM=1
	frc=0
	guest_run "$REPO/tests/fuzz/mempin-fuzz" 10800 || frc=$?
	[[ $rc != 0 ]] || rc=$frc
	logs+=("$CACHE/logs/$RUN_NAME.log")
fi

# --- coverage -----------------------------------------------------------------
cov_rc=0
MEMPIN_COVERAGE_REPORT=$CACHE/logs/check-debug-coverage.txt \
	bash "$GUEST_DIR/coverage.sh" "$RUN/build/module" "${logs[@]}" || cov_rc=$?
log "coverage report: $CACHE/logs/check-debug-coverage.txt"
[[ $rc != 0 ]] || rc=$cov_rc
if [[ $rc == 0 ]]; then
	log "check-debug: PASS"
else
	log "check-debug: FAIL ($rc)"
fi
exit "$rc"
