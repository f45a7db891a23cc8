#!/bin/bash
# Usage: bench.sh SUITE      (make bench KERNEL=SUITE)
# Builds mempin.ko, the floor module (tests/bench/floor) and the static
# tools/bench/mempin-bench for Debian SUITE's kernel, runs the benchmark in a
# QEMU guest with one vCPU and -icount shift=0,sleep=off (the guest clock
# counts instructions, so figures repeat run to run), and writes raw.csv,
# results.csv, results.md and plot.png into the results directory.
# Environment:
#   MEMPIN_BENCH_OUT     results directory (default tests/bench/results/SUITE)
#   MEMPIN_BENCH_OPTS    mempin-bench options, e.g. "-q" (quick) or "-s batch"
#   MEMPIN_BENCH_MODULE  a directory to build and load instead of module/
#                        (a private, modified copy, to measure a change)
#   MEMPIN_BENCH_MEMCG=0 run the payload in the root cgroup, where kernel
#                        memory is not charged (default: a child memory
#                        cgroup, like a process under systemd)
#   MEMPIN_GUEST_TIMEOUT seconds (default 5400), MEMPIN_CACHE, PYTHON
set -euo pipefail
. "$(dirname "$0")/../guest/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 SUITE ($SUITES)"
suite=$1
out=${MEMPIN_BENCH_OUT:-$REPO/tests/bench/results/$suite}
# Debian's python3 has matplotlib; a python3 earlier in PATH may not.
py=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
"$py" -c 'import matplotlib' 2>/dev/null ||
	die "$py has no matplotlib: sudo make deps (python3-matplotlib)"

kernel_prepare "$suite"
run_begin "$suite" bench
# Private runs (a results dir or module of one's own) may run side by side:
# their console logs must not share a name.
[[ -z ${MEMPIN_BENCH_OUT:-}${MEMPIN_BENCH_MODULE:-} ]] ||
	RUN_NAME=bench-$suite-${RUN##*.}
build_module
if [[ -n ${MEMPIN_BENCH_MODULE:-} ]]; then
	KO=$(build_extra_module "$MEMPIN_BENCH_MODULE" module-private)/mempin.ko
	[[ -f $KO ]] || die "$MEMPIN_BENCH_MODULE built no mempin.ko"
fi
floor=$(build_extra_module "$REPO/tests/bench/floor" floor)/mempin_floor.ko
[[ -f $floor ]] || die "the floor build made no mempin_floor.ko"
make -C "$REPO/tools/bench"

GUEST_FILES=("$floor:/lib/mempin_floor.ko"
	"$REPO/tests/bench/guest-pre.sh:/etc/mempin-bench-pre.sh")
GUEST_ENV=(MEMPIN_GUEST_NODES=1 MEMPIN_GUEST_PRE=/etc/mempin-bench-pre.sh
	"MEMPIN_BENCH_OPTS=${MEMPIN_BENCH_OPTS:-}"
	"MEMPIN_BENCH_MEMCG=${MEMPIN_BENCH_MEMCG:-1}")
# One vCPU: under icount, io_uring's unregistration on 6.1 never finished
# with two (../shared/BENCH-NOTES.md).  4 GiB: 1 GiB ranges of each page
# kind one after the other, with 520 hugetlb pages reserved throughout.
# shellcheck disable=SC2054 # QEMU's options have commas
QEMU_MACHINE=(-m 4G -smp 1 -icount shift=0,sleep=off)
rc=0
guest_run "$REPO/tools/bench/mempin-bench" 5400 || rc=$?
logf=$CACHE/logs/$RUN_NAME.log
mkdir -p "$out"
{
	grep -E '^(#?info|#?time|#?mem),' "$logf" || true
	echo "info,clock,icount"
	echo "info,qemu,${QEMU_MACHINE[*]}"
} >"$out/raw.csv"
[[ $rc == 0 ]] || die "the bench guest failed (status $rc): see $logf"
"$py" "$REPO/tests/bench/report.py" "$out/raw.csv" "$out"
log "results in $out: results.md results.csv plot.png raw.csv"
