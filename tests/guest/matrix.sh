#!/bin/bash
# Usage: matrix.sh [SUITE...]   (make check-matrix)
# Runs check.sh on every supported Debian kernel (default: all four, then
# the early-warning one: the newest Debian has anywhere, see EARLY_SUITES in
# lib.sh) and prints one table: kernel, module build, Check's counts, guest
# boot time.  Exit status 0 only if every supported suite passed; an
# early-warning row is reported, never failing: an API break shows up
# there before it reaches sid's users.
set -uo pipefail
# shellcheck source=tests/guest/lib.sh
. "$(dirname "$0")/lib.sh"

suites=("$@")
# shellcheck disable=SC2153 # SUITES comes from lib.sh
[[ ${#suites[@]} -gt 0 ]] || read -ra suites <<<"$SUITES $EARLY_SUITES"
rows=()
fail=0
for suite in "${suites[@]}"; do
	out=$CACHE/logs/matrix-$suite.out
	mkdir -p "$CACHE/logs"
	t0=$SECONDS
	bash "$GUEST_DIR/check.sh" "$suite" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	kver=$(sed -n 's/^mempin-guest: building mempin.ko for \([^ ]*\) with \(.*\)$/\1 (\2)/p' "$out" | tail -n1)
	if grep -q '^mempin-guest: .*mempin.ko' "$out" && [[ -n $kver ]] &&
		! grep -q 'the module build made no mempin.ko' "$out"; then
		build=ok
	else
		build=FAILED
	fi
	checks=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\)$/\1 run, \2 failed, \3 errors/p' "$out" | tail -n1)
	boot=$(sed -n 's/^mempin-guest: guest boot (QEMU start to init): \([0-9.]*\) s.*/\1 s/p' "$out" | tail -n1)
	result=PASS
	[[ $rc -eq 0 ]] || result="FAIL (exit $rc)"
	if [[ " $EARLY_SUITES " == *" $suite "* ]]; then
		result="early warning: $result"
	elif [[ $rc -ne 0 ]]; then
		fail=1
	fi
	rows+=("| $suite | ${kver:-?} | $build | ${checks:-none} | ${boot:-?} | $((SECONDS - t0)) s | $result |")
done
echo
echo "| suite | kernel (compiler) | module build | checks | guest boot | wall | result |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
exit $fail
