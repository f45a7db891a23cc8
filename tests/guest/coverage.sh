#!/bin/bash
# Usage: coverage.sh MODULE_BUILD_DIR CONSOLE_LOG...   (run by check-debug.sh)
# Line coverage of the module's own sources (MODULE_BUILD_DIR/*.c, built
# with GCOV_PROFILE=y: the .gcno files are there) over the guest runs whose
# console logs carry the guest's .gcda files (guest-init.sh with
# MEMPIN_TEST_GCOV=1: a base64 tar between MEMPIN-GCOV-BEGIN and -END; the
# paths are the guest's /sys/kernel/debug/gcov, which mirrors the build's).
# The runs' profiles are merged (gcov-tool), gcov annotates each file, and
# the report lists every line never reached.  Writes the report to stdout
# and to $MEMPIN_COVERAGE_REPORT if set.  Exit status 1 if the total is
# below MEMPIN_COVERAGE_MIN percent (default 90) or there is no data.
set -euo pipefail

mod=$(cd "$1" && pwd)
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The host's gcc is the kernel's (gcc-12 on bookworm): its gcov reads them.
gcov='gcov-12' gcov_tool='gcov-tool-12'
command -v "$gcov" >/dev/null || gcov='gcov'
command -v "$gcov_tool" >/dev/null || gcov_tool='gcov-tool'


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
	src=$work/run$i/sys/kernel/debug/gcov$mod
	[[ -d $src ]] || {
		echo "coverage: $log has no data for $mod" >&2
		continue
	}
	if [[ -z $merged ]]; then
		merged=$work/merged
		cp -r "$src" "$merged"
	else
		"$gcov_tool" merge -o "$work/merged.new" "$merged" "$src" >/dev/null
		rm -rf "$merged"
		mv "$work/merged.new" "$merged"
	fi
done
if [[ -z $merged ]]; then
	echo "coverage: no gcov data came out of the guest" >&2
	exit 1
fi
cp "$merged"/*.gcda "$mod/"

# The module's own sources: not mempin.mod.c, not the probes.
srcs=()
for f in "$mod"/*.c; do
	[[ $f == *.mod.c ]] || srcs+=("${f##*/}")
done
(cd "$mod" && "$gcov" -o . "${srcs[@]}" >/dev/null 2>&1)

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
