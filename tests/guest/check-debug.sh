#!/bin/bash
# Usage: check-debug.sh [FLAVOUR...]      (make check-debug [DEBUG=...])
# The debug-kernel runs of issues 5 and 14, on each FLAVOUR in turn (default
# kasan kcsan; debug-kernel.sh builds each once, cached):
#   kasan    the newest Debian kernel with KASAN, KMEMLEAK, PROVE_LOCKING,
#            DEBUG_VM, DEBUG_OBJECTS, UBSAN, GCOV_KERNEL and fault injection;
#            mempin.ko built with gcov.  Three guests: the Check suite, the
#            long fuzz (1 000 000 ioctls, 10 min storm, limits, budget, OOM
#            and memcg), and the failnth phase (every fault-injection site
#            of every operation failing in turn: tests/fuzz/failnth.c); each
#            with a kmemleak scan.  Then line and branch coverage of
#            module/*.c by the three together (coverage.sh), the lines never
#            reached listed, an HTML report in build/coverage-kasan/.
#   kcsan    the newest Debian kernel with KCSAN reporting every race: the
#            Check suite, then the storm and limits phases of the fuzz.  A
#            data-race report naming mempin fails the run; the rest of the
#            kernel's are counted.
#   kasan61  the first debug kernel (linux-source-6.1): Check and the long
#            fuzz, coverage as kasan (no fault injection in its config).
# Exit status: 0 when every guest passed and coverage reached
# MEMPIN_COVERAGE_MIN (percent, default 90); else that of the first failure
# (as check.sh).
# Environment: MEMPIN_TEST_FUZZ_* override the fuzz sizes; MEMPIN_CACHE;
# MEMPIN_DEBUG_SKIP: a comma list of runs to skip (check, fuzz, failnth);
# MEMPIN_DEBUG_PARALLEL=1: a flavour's guests all at once.
set -euo pipefail
. "$(dirname "$0")/debug-kernel.sh"

skip() { [[ ,${MEMPIN_DEBUG_SKIP:-}, == *",$1,"* ]]; }

# One flavour (in a process of its own, see below).
# shellcheck disable=SC2030,SC2031 # the fuzz runs' exports stay in theirs
check_flavour() {
	local flavour=$1 rc=0 frc config gcov=0 faults=0
	local -a logs=()
	debug_kernel_prepare "$flavour"
	log "$flavour debug kernel $KVER (built in ${BUILD_SECONDS:-?} s, cached in $DK)"
	config=$BUILD_ROOT$KDIR/.config
	grep -qx 'CONFIG_GCOV_KERNEL=y' "$config" && gcov=1
	grep -qx 'CONFIG_FAULT_INJECTION_DEBUG_FS=y' "$config" && faults=1
	run_begin "$flavour" check-debug

	# gcov for mempin's own objects only; the probes stay uninstrumented.
	# shellcheck disable=SC2034 # build_module's (lib.sh)
	[[ $gcov == 0 ]] || MODULE_MAKE_ARGS=(GCOV_PROFILE=y 'GCOV_PROFILE_compat_probed.o=n')
	build_module
	make -C "$REPO/lib"
	make -C "$REPO/tests"
	make -C "$REPO/tests/fuzz"
	# As check.sh: mempinctl, which the observe suite (and failnth) runs.
	make -C "$REPO/tools" mempinctl
	guest_add_program "$REPO/tools/mempinctl/mempinctl" /bin/mempinctl

	case $flavour in
	kcsan) export MEMPIN_TEST_KCSAN=1 ;;
	*) export MEMPIN_TEST_KMEMLEAK=1 ;;
	esac
	[[ $gcov == 0 ]] || export MEMPIN_TEST_GCOV=1

	# Each guest in a subshell with a run directory of its own (its
	# initramfs), one after the other, or all at once with
	# MEMPIN_DEBUG_PARALLEL=1 (a machine with cores to spare).
	local -a names=() pids=()
	skip check || names+=(check)
	skip fuzz || names+=(fuzz)
	[[ $faults == 0 ]] || skip failnth || names+=(failnth)
	local name i
	for name in "${names[@]}"; do
		if [[ ${MEMPIN_DEBUG_PARALLEL:-} == 1 ]]; then
			debug_guest "$flavour" "$name" &
			pids+=($!)
		else
			frc=0
			debug_guest "$flavour" "$name" || frc=$?
			[[ $rc != 0 ]] || rc=$frc
		fi
		logs+=("$CACHE/logs/check-debug-$flavour-$name.log")
	done
	for i in "${pids[@]}"; do
		frc=0
		wait "$i" || frc=$?
		[[ $rc != 0 ]] || rc=$frc
	done
	[[ $faults == 0 ]] || skip failnth ||
		grep -a 'failnth: .*runs,\|failnth: .* pairs run' \
			"$CACHE/logs/check-debug-$flavour-failnth.log" >&2 || true

	# --- coverage -----------------------------------------------------
	if [[ $gcov == 1 && ${#logs[@]} -gt 0 ]]; then
		local cov_rc=0 report=$CACHE/logs/check-debug-$flavour-coverage.txt
		MEMPIN_COVERAGE_REPORT=$report MEMPIN_COVERAGE_ROOT=$BUILD_ROOT \
			MEMPIN_COVERAGE_HTML=$REPO/build/coverage-$flavour \
			bash "$GUEST_DIR/coverage.sh" "$RUN/build/module" "${logs[@]}" || cov_rc=$?
		log "coverage report: $report"
		[[ $rc != 0 ]] || rc=$cov_rc
	fi
	if [[ $rc == 0 ]]; then
		log "check-debug $flavour: PASS"
	else
		log "check-debug $flavour: FAIL ($rc)"
	fi
	return "$rc"
}

# One guest run NAME (check, fuzz, failnth) of FLAVOUR, in a subshell.
# shellcheck disable=SC2030,SC2031 # its exports are meant to stay in it
debug_guest() (
	local flavour=$1 name=$2
	RUN_NAME=check-debug-$flavour-$name
	RUN=$RUN/$name
	mkdir -p "$RUN"
	case $name in
	check)
		# The suite's timeouts are for stock kernels: a KASAN or KCSAN
		# kernel under TCG, beside the other guests of a parallel
		# run, is several times slower (compaction_keeps_pinned_pfns
		# ran past its 600 s with five guests on two cores).
		export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
		guest_run "$REPO/tests/mempin-tests" 5400
		;;
	fuzz)
		if [[ $flavour == kcsan ]]; then
			# The issue's phases: races between pins and memory
			# changes, and at the limits.
			export MEMPIN_TEST_FUZZ_PHASES=${MEMPIN_TEST_FUZZ_PHASES:-storm,limits}
			export MEMPIN_TEST_FUZZ_STORM_SECS=${MEMPIN_TEST_FUZZ_STORM_SECS:-120}
			export MEMPIN_TEST_FUZZ_LIMIT_SECS=${MEMPIN_TEST_FUZZ_LIMIT_SECS:-30}
		else
			# The issue 5 figures, unless the caller said otherwise.
			export MEMPIN_TEST_FUZZ_IOCTLS=${MEMPIN_TEST_FUZZ_IOCTLS:-1000000}
			export MEMPIN_TEST_FUZZ_IOCTL_SECS=${MEMPIN_TEST_FUZZ_IOCTL_SECS:-5400}
			export MEMPIN_TEST_FUZZ_STORM_SECS=${MEMPIN_TEST_FUZZ_STORM_SECS:-600}
			export MEMPIN_TEST_FUZZ_LIMIT_SECS=${MEMPIN_TEST_FUZZ_LIMIT_SECS:-60}
			# With the opt-in memcg phase: the module's allocations failing.
			export MEMPIN_TEST_FUZZ_PHASES=${MEMPIN_TEST_FUZZ_PHASES:-ioctl,storm,limits,budget,oom,memcg}
			export MEMPIN_TEST_ALLOW_OOM=1
		fi
		guest_run "$REPO/tests/fuzz/mempin-fuzz" 10800
		;;
	failnth)
		export MEMPIN_TEST_FUZZ_PHASES=failnth
		GUEST_FILES+=("$REPO/tests/fuzz/failnth-preload.so:/lib/failnth-preload.so")
		GUEST_ENV+=(MEMPIN_TEST_FAILNTH_PRELOAD=/lib/failnth-preload.so)
		# Each mempinctl command is some 400 runs of an exec of it,
		# 1 to 2 s each under TCG: the operations take some 15 min,
		# the 15 commands 2 h or more on a loaded host.
		guest_run "$REPO/tests/fuzz/mempin-fuzz" 21600
		;;
	esac
)

# Each flavour in a process of its own: its run directory, its exports,
# and set -e still in force (not in a subshell on the left of ||).
if [[ ${1:-} == --flavour ]]; then
	check_flavour "$2"
	exit
fi
rc=0
results=()
# shellcheck disable=SC2068 # DEBUG="kasan kcsan" is two words
for f in ${@:-kasan kcsan}; do
	frc=0
	bash "$0" --flavour "$f" || frc=$?
	results+=("$f: $([[ $frc == 0 ]] && echo PASS || echo "FAIL ($frc)")")
	[[ $rc != 0 ]] || rc=$frc
done
log "check-debug: ${results[*]}"
exit "$rc"
