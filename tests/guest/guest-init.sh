#!/bin/sh
# /init of the mempin test guest (busybox sh, packed by lib.sh).  Sets up the
# guest promised in SPEC.md "Test guest", runs $PAYLOAD (the Check suite or
# the demo), checks the kernel stayed clean, prints "MEMPIN-GUEST: PASS" or
# "MEMPIN-GUEST: FAIL (reasons)" and powers off.  No set -e: if init exits,
# the kernel panics and the host sees no marker.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
echo "MEMPIN-GUEST: init started, uptime $(cut -d' ' -f1 /proc/uptime) s"

say() { echo "MEMPIN-GUEST: $*"; }
reasons=
fail() {
	say "not ok: $*"
	reasons="$reasons${reasons:+; }$*"
}
# check OK-TEXT FAIL-TEXT COMMAND...: reports whether COMMAND succeeds.
check() {
	ok=$1 not=$2
	shift 2
	if "$@"; then say "ok: $ok"; else fail "$not"; fi
}

mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm /dev/hugepages /mnt/ext4
mount -t tmpfs tmp /tmp
mount -t tmpfs shm /dev/shm
mount -t hugetlbfs hugetlbfs /dev/hugepages
# shellcheck source=/dev/null # written by lib.sh initramfs_build
. /etc/mempin-guest.env

# Users the suite switches to: 1000 may open /dev/mempin, 1001 may not.
printf '%s\n' root:x:0:0:root:/root:/bin/sh \
	pinuser:x:1000:1000:pinuser:/tmp:/bin/sh \
	other:x:1001:1001:other:/tmp:/bin/sh >/etc/passwd
printf '%s\n' root:x:0: pinuser:x:1000: other:x:1001: >/etc/group

if [ -d /sys/devices/system/node/node1 ]; then
	say "ok: NUMA: node0 cpus $(cat /sys/devices/system/node/node0/cpulist)," \
		"node1 cpus $(cat /sys/devices/system/node/node1/cpulist)"
elif [ "${MEMPIN_GUEST_NODES:-2}" = 1 ]; then
	say "ok: one NUMA node, as asked (MEMPIN_GUEST_NODES=1)"
else
	fail "one NUMA node only"
fi
echo 64 >/proc/sys/vm/nr_hugepages
n=$(cat /proc/sys/vm/nr_hugepages)
check "hugetlb: 64 pages of 2 MiB" "hugetlb: $n of 64 pages" [ "$n" = 64 ]
say "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"

# ext4 for the shared-file-mapping tests; optional, so only reported.
failed=
while read -r m; do
	insmod "$m" 2>/dev/null || failed="$failed ${m##*/}"
done </etc/mempin-ext4-modules
[ -z "$failed" ] || say "modules that did not load:$failed"
if mount -t ext4 -o loop /ext4.img /mnt/ext4; then
	chmod 1777 /mnt/ext4 # the suite's unprivileged children write there too
	export MEMPIN_EXT4_DIR=/mnt/ext4
	say "ext4: mounted at $MEMPIN_EXT4_DIR"
else
	say "ext4: NOT mounted, MEMPIN_EXT4_DIR unset (file mapping tests skip)"
fi

# Pins held before the payload (none expected), so the leak check is exact.
# Writing stat_refresh folds the per-cpu deltas that would hide a small leak.
pins_held() {
	echo 1 >/proc/sys/vm/stat_refresh
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { printf "%d (acquired %d, released %d)", a - r, a, r }' /proc/vmstat
}
pins0=$(pins_held)
say "pins held: $pins0"

# make check-debug: kmemleak on (debug kernel), gcov of the module.
KMEMLEAK=/sys/kernel/debug/kmemleak
# make check-debug DEBUG=kcsan (MEMPIN_TEST_KCSAN): KCSAN's counters;
# DEBUG=kasan's failnth run: the fault-injection knobs.
if [ -n "${MEMPIN_TEST_KMEMLEAK:-}${MEMPIN_TEST_GCOV:-}${MEMPIN_TEST_KCSAN:-}" ]; then
	mount -t debugfs debugfs /sys/kernel/debug
fi
if [ -n "${MEMPIN_TEST_KMEMLEAK:-}" ]; then
	# What the kernel leaked before the payload is not the payload's.
	if echo scan >$KMEMLEAK && echo clear >$KMEMLEAK; then
		say "kmemleak: baseline taken"
	else
		fail "kmemleak: no $KMEMLEAK (CONFIG_DEBUG_KMEMLEAK?)"
	fi
fi

export MEMPIN_MODULE=/lib/mempin.ko
if insmod "$MEMPIN_MODULE"; then
	check "/dev/mempin root:1000 0660" "cannot set owner and mode of /dev/mempin" \
		eval "chown root:1000 /dev/mempin && chmod 0660 /dev/mempin"
	say "$(ls -l /dev/mempin)"
	# A caller's setup before the payload (make bench: its helper module).
	if [ -n "${MEMPIN_GUEST_PRE:-}" ]; then
		say "running $MEMPIN_GUEST_PRE"
		# shellcheck source=/dev/null # the caller's, known at run time
		. "$MEMPIN_GUEST_PRE" || fail "$MEMPIN_GUEST_PRE"
	fi
	say "running $PAYLOAD"
	cd /tmp && "$PAYLOAD"
	status=$?
	cd /
	say "payload exit status $status"
	[ "$status" = 0 ] || fail "$PAYLOAD exited with status $status"
else
	fail "insmod $MEMPIN_MODULE"
fi

# Processes the payload left behind would hold fds and pins: end them, so
# that what follows checks the module, not the payload's hygiene.  Builtins
# only, so the loop does not see itself; kernel threads have no cmdline.
left=
for p in /proc/[0-9]*; do
	cmd=
	[ "${p#/proc/}" = 1 ] || read -r cmd <"$p/cmdline" 2>/dev/null
	[ -z "$cmd" ] || left="$left ${p#/proc/}:$cmd"
done
if [ -n "$left" ]; then
	say "note: killing what the payload left running:$left"
	kill -9 -1
	sleep 2
fi

# Leaks: two scans (an object is reported once it is older than 5 s and
# unreferenced in both).  A leak is mempin's when its backtrace names
# mempin or an address in a module that is gone (the payload may have
# reloaded it); others are only counted: the kernel has a few of its own.
if [ -n "${MEMPIN_TEST_KMEMLEAK:-}" ]; then
	sleep 6
	echo scan >$KMEMLEAK
	sleep 1
	echo scan >$KMEMLEAK
	cat $KMEMLEAK >/tmp/kmemleak.txt
	total=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	# A frame in mempin, or in an unloaded module: not the comm
	# (mempinctl, mempin-tests), which names who ran, not whose code.
	ours=$(awk '/^unreferenced object/ { if (r ~ /\[mempin\]|mempin_|\] 0xffffffffc/) n++; r = "" }
		{ r = r $0 "\n" }
		END { if (r ~ /\[mempin\]|mempin_|\] 0xffffffffc/) n++; print n + 0 }' /tmp/kmemleak.txt)
	if [ "$ours" = 0 ]; then
		say "ok: kmemleak: no leak of mempin's ($total other unreferenced objects)"
	else
		fail "kmemleak: $ours leaks of mempin's"
		cat /tmp/kmemleak.txt
	fi
fi

# After the payload: no open fd left, the module unloads, no pin leaked,
# and the kernel log is clean.  The suite may have reloaded the module.
if [ -d /sys/module/mempin ]; then
	refcnt=$(cat /sys/module/mempin/refcnt)
	check "refcnt 0" "refcnt $refcnt" [ "$refcnt" = 0 ]
	check "rmmod mempin" "rmmod mempin" rmmod mempin
else
	say "module no longer loaded (the payload unloaded it)"
fi
pins=$(pins_held)
check "no pin leaked: pins held $pins" \
	"pins leaked: pins held went from $pins0 to $pins" [ "${pins%% *}" = "${pins0%% *}" ]

# Loading an unsigned out-of-tree module is logged once; anything else
# about mempin, or any warning, is a failure.  The debug kernel of make
# check-debug adds three harmless lines that would match: its banner (its
# release is 6.1.x-mempin-debug), lockdep's and CONFIG_DEBUG_STACK_USAGE's
# notes (which name the process, mempin-tests).
# make fuzz's OOM phase makes the OOM killer report (MEMPIN_TEST_ALLOW_OOM):
# from "invoked oom-killer" to "Out of memory: Killed process" (or, in a
# memory cgroup with nothing to kill, "... and no killable processes"), and the
# oom_reaper / oom-kill lines.  Its stack dump and task list (which name
# mempin-fuzz, and on the debug kernel lockdep_* functions) are forgiven; a
# WARNING (every lockdep report starts with one), BUG or sanitizer line
# never is.
kernel_log() {
	if [ -n "${MEMPIN_TEST_ALLOW_OOM:-}" ]; then
		dmesg | awk '
			/invoked oom-killer:/ { oom = 1 }
			oom || /oom_reaper: reaped process|oom-kill:/ {
				if ($0 ~ /(Out of memory|Memory cgroup out of memory): Killed process|Out of memory and no killable processes/)
					oom = 0
				if ($0 !~ /WARNING|BUG|Oops|KASAN|UBSAN|kmemleak|general protection/)
					next
			}
			{ print }'
	else
		dmesg
	fi
}
# KCSAN (make check-debug DEBUG=kcsan) reports every data race of the whole
# kernel, from "BUG: KCSAN:" to its closing ===== line.  One where a racing
# access is in mempin or in what it called (a mempin_ function in the title,
# "[mempin]" in an access's first two frames; as tests/kview.h) stays in the
# log checked below; the rest are the kernel's own: dropped here and counted
# in /tmp/kcsan-other.
kcsan_filter() {
	awk '!inr && /BUG: KCSAN: / { inr = 1; fr = 0; ours = /mempin_|\[mempin\]/; blk = $0 "\n"; next }
		inr { blk = blk $0 "\n"; l = $0; sub(/^\[[^]]*\]/, "", l)
			if (/ by (task|interrupt) /) fr = 2
			else if (fr && l ~ /[^ ]/) { if (/\[mempin\]/) ours = 1; fr-- }
			if (/(^|\] )=====+$/) { inr = 0
				if (ours) printf "%s", blk
				else { other++; printf "%s", blk >"/tmp/kcsan-other.log" } }
			next }
		{ print }
		END { if (inr) printf "%s", blk	# cut short: kept, as ours
			print other + 0 >"/tmp/kcsan-other" }'
}
bad=$(kernel_log | kcsan_filter | grep -E 'WARNING|BUG|Oops|Call Trace|general protection|KASAN|UBSAN|lockdep|mempin' |
	grep -vE 'mempin: (loading out-of-tree module taints kernel|module verification failed: signature and/or required key missing - tainting kernel)' |
	grep -vE '\] (Linux version |rcu:[[:space:]]+RCU lockdep checking is enabled|[^ ]+ \([0-9]+\) used greatest stack depth: [0-9]+ bytes left$)')
if [ -n "${MEMPIN_TEST_KCSAN:-}" ]; then
	say "KCSAN: $(dmesg | grep -c 'BUG: KCSAN: ') reports in the log," \
		"$(cat /tmp/kcsan-other) of them not naming mempin (skipped);" \
		"$(grep -E 'data_races|races_unknown_origin' /sys/kernel/debug/kcsan 2>/dev/null | tr -s ' \n' ' ')"
	# The kernel's own, in full: what they were is worth knowing.
	[ ! -s /tmp/kcsan-other.log ] || sed 's/^/MEMPIN-GUEST: kernel KCSAN: /' /tmp/kcsan-other.log
fi
if [ -n "$bad" ]; then
	fail "kernel log: $(echo "$bad" | wc -l) bad lines"
	echo "$bad"
	say "full kernel log follows"
	dmesg
else
	say "ok: kernel log clean"
fi
# Taint flags outlive a log that wrapped: bad page, oops, warning, lockup.
taint=$(cat /proc/sys/kernel/tainted)
check "tainted=$taint" "kernel tainted=$taint (bad page, die, warn or soft lockup)" \
	[ $((taint & (32 | 128 | 512 | 16384))) = 0 ]

# The module's gcov data (kept by the kernel after rmmod) out through the
# console, for check-debug.sh: a base64 tar between two markers.
if [ -n "${MEMPIN_TEST_GCOV:-}" ]; then
	rm -rf /tmp/gcov
	n=0
	find /sys/kernel/debug/gcov -name '*.gcda' >/tmp/gcda.list
	while read -r f; do
		mkdir -p "/tmp/gcov${f%/*}"
		cat "$f" >"/tmp/gcov$f" && n=$((n + 1))
	done </tmp/gcda.list
	say "gcov: $n .gcda files"
	echo "MEMPIN-GCOV-BEGIN"
	(cd /tmp/gcov 2>/dev/null && tar czf - .) | base64
	echo "MEMPIN-GCOV-END"
fi

if [ -z "$reasons" ]; then
	say PASS
else
	say "FAIL ($reasons)"
fi
sync
poweroff -f
sleep 10
