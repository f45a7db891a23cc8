#!/bin/bash
# Usage: coverage.sh MODULE_BUILD_DIR CONSOLE_LOG...   (run by check-debug.sh)
# Line and branch coverage of the module's own sources (MODULE_BUILD_DIR/*.c,
# built with GCOV_PROFILE=y: the .gcno files are there) over the guest runs
# whose console logs carry the guest's .gcda files (guest-init.sh with
# MEMPIN_TEST_GCOV=1: a base64 tar between MEMPIN-GCOV-BEGIN and -END; the
# paths are the guest's /sys/kernel/debug/gcov, which mirrors the path the
# compiler saw).  The runs' profiles are merged (gcov-tool), gcov annotates
# each file, and the report lists every line never reached; lcov adds the
# branch figures and genhtml an HTML report.  gcov must be the one of the
# gcc that built the module: the host's (gcc-12, the 6.1 debug kernel), or,
# with MEMPIN_COVERAGE_ROOT set, the one of that chroot (the sid debug
# kernels: the module was built there, MODULE_BUILD_DIR's parent bound at
# /build, as lib.sh's build_module does), where gcov and lcov then run.
# Environment: MEMPIN_COVERAGE_REPORT (also write the report there),
# MEMPIN_COVERAGE_HTML (directory of the HTML report), MEMPIN_COVERAGE_MIN.
# Writes the report to stdout.  Exit status 1 if the line total is below
# MEMPIN_COVERAGE_MIN percent (default 90) or there is no data.
set -euo pipefail

mod=$(cd "$1" && pwd)
shift
base=${mod%/*}
root=${MEMPIN_COVERAGE_ROOT:-}
# Working files next to the module build, so the chroot sees them too.
work=$base/coverage
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
if [[ -n $root ]]; then
	# The paths the compiler (and so the guest's debugfs) saw.
	cmod=/build/${mod##*/} cwork=/build/coverage
	gcov=gcov gcov_tool=gcov-tool
else
	cmod=$mod cwork=$work
	# The host's gcc is the kernel's (gcc-12 on bookworm): its gcov reads them.
	gcov='gcov-12' gcov_tool='gcov-tool-12'
	command -v "$gcov" >/dev/null || gcov='gcov'
	command -v "$gcov_tool" >/dev/null || gcov_tool='gcov-tool'
fi

# Runs COMMAND... in DIR (a path as the compiler saw it): here, or in the
# chroot with $base bound at /build.
cov() {
	local dir=$1
	shift
	if [[ -z $root ]]; then
		(cd "$dir" && "$@")
		return
	fi
	# shellcheck disable=SC2016 # expanded by those shells
	unshare -r -m -p -f sh -c 'mount --bind "$1" "$2/build" &&
		mount -t proc proc "$2/proc" && r=$2 && shift 2 &&
		exec chroot "$r" sh -c '\''cd "$0" && exec "$@"'\'' "$@"' \
		sh "$base" "$root" "$dir" "$@"
}

merged=
i=0
for log in "$@"; do
	i=$((i + 1))
	mkdir -p "$work/run$i"
	sed -n '/^MEMPIN-GCOV-BEGIN$/,/^MEMPIN-GCOV-END$/p' "$log" | sed '1d;$d' |
		base64 -d 2>/dev/null | tar -C "$work/run$i" -xzf - 2>/dev/null || {
		echo "coverage: no gcov data in $log" >&2
		continue
	}
	src=run$i/sys/kernel/debug/gcov$cmod
	[[ -d $work/$src ]] || {
		echo "coverage: $log has no data for $cmod" >&2
		continue
	}
	if [[ -z $merged ]]; then
		merged=merged
		cp -r "$work/$src" "$work/$merged"
	else
		cov "$cwork" "$gcov_tool" merge -o merged.new merged "$src" >/dev/null
		rm -rf "$work/merged"
		mv "$work/merged.new" "$work/merged"
	fi
done
if [[ -z $merged ]]; then
	echo "coverage: no gcov data came out of the guest" >&2
	exit 1
fi
cp "$work/merged"/*.gcda "$mod/"

# The module's own sources: not mempin.mod.c, not the probes.
srcs=()
for f in "$mod"/*.c; do
	[[ $f == *.mod.c ]] || srcs+=("${f##*/}")
done
cov "$cmod" "$gcov" -o . "${srcs[@]}" >/dev/null 2>&1 || true

# lcov: the same data with branches, and the HTML report.  lcov 2.x (sid)
# names the option branch_coverage, 1.x (bookworm) lcov_branch_coverage.
branches=
if cov "$cmod" lcov --version >/dev/null 2>&1; then
	rc=(--rc lcov_branch_coverage=1)
	# shellcheck disable=SC2054 # the commas are lcov's
	cov "$cmod" lcov --version | grep -q 'version 1\.' || rc=(--rc branch_coverage=1
		--ignore-errors inconsistent,mismatch,unused,negative,gcov,source)
	if cov "$cmod" lcov "${rc[@]}" --gcov-tool "$gcov" --capture --directory . \
		--output-file "$cwork/all.info" >"$work/lcov.log" 2>&1 &&
		cov "$cmod" lcov "${rc[@]}" --extract "$cwork/all.info" "$cmod/*.c" \
			--exclude "$cmod/*.mod.c" --output-file "$cwork/mempin.info" \
			>>"$work/lcov.log" 2>&1; then
		branches=$(cov "$cmod" lcov "${rc[@]}" --summary "$cwork/mempin.info" 2>&1 |
			sed -n 's/^ *branches\.*: *\(.*\)$/\1/p')
		if [[ -n ${MEMPIN_COVERAGE_HTML:-} ]] &&
			cov "$cmod" genhtml "${rc[@]}" --branch-coverage --legend \
				--output-directory "$cwork/html" "$cwork/mempin.info" \
				>>"$work/lcov.log" 2>&1; then
			rm -rf "$MEMPIN_COVERAGE_HTML"
			mkdir -p "${MEMPIN_COVERAGE_HTML%/*}"
			cp -r "$work/html" "$MEMPIN_COVERAGE_HTML"
		fi
	else
		echo "coverage: lcov failed:" >&2
		tail -5 "$work/lcov.log" >&2
	fi
else
	echo "coverage: no lcov: branch figures and HTML skipped (sudo make deps)" >&2
fi

report() {
	local f g n h total=0 hit=0
	echo "Line coverage of module/*.c ($# guest runs merged):"
	for f in "${srcs[@]}"; do
		g=$mod/$f.gcov
		[[ -f $g ]] || { echo "  $f: no gcov output"; continue; }
		# "   count:  line: source"; '-' = no code, '#####' = never run.
		read -r n h < <(awk -F: '$1 !~ /^ *-$/ && $2 + 0 > 0 {
			n++; if ($1 !~ /#####|=====/) h++ } END { print n + 0, h + 0 }' "$g")
		total=$((total + n)) hit=$((hit + h))
		printf '  %-12s %4d of %4d lines  %5s%%\n' "$f" "$h" "$n" \
			"$(awk -v h="$h" -v n="$n" 'BEGIN { printf "%.1f", n ? 100 * h / n : 0 }')"
	done
	printf '  %-12s %4d of %4d lines  %5s%%\n' total "$hit" "$total" \
		"$(awk -v h="$hit" -v n="$total" 'BEGIN { printf "%.1f", n ? 100 * h / n : 0 }')"
	[[ -z $branches ]] || echo "Branch coverage (lcov): $branches"
	[[ -z ${MEMPIN_COVERAGE_HTML:-} || ! -f ${MEMPIN_COVERAGE_HTML:-}/index.html ]] ||
		echo "HTML report: $MEMPIN_COVERAGE_HTML/index.html"
	echo "Lines never reached:"
	for f in "${srcs[@]}"; do
		[[ -f $mod/$f.gcov ]] || continue
		awk -F: -v f="$f" '$1 ~ /#####|=====/ {
			line = $0; sub(/^[^:]*:[^:]*:/, "", line)
			printf "  module/%s:%d:%s\n", f, $2 + 0, line }' "$mod/$f.gcov"
	done
}
report "$@" | tee "${MEMPIN_COVERAGE_REPORT:-/dev/null}"
pct=$(report "$@" | sed -n 's/^  total .* \([0-9.]*\)%$/\1/p')
if awk -v p="${pct:-0}" -v m="${MEMPIN_COVERAGE_MIN:-90}" 'BEGIN { exit !(p < m) }'; then
	echo "coverage: ${pct:-0}% is below ${MEMPIN_COVERAGE_MIN:-90}%" >&2
	exit 1
fi
