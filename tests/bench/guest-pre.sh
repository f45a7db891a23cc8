# shellcheck shell=sh
# Sourced by the guest's /init (MEMPIN_GUEST_PRE) before make bench's
# payload: loads the floor module, reserves hugetlb pages for the 1 GiB
# ranges, and keeps khugepaged from waking in the middle of a figure.
if insmod /lib/mempin_floor.ko; then
	say "ok: $(ls -l /dev/mempin-floor)"
else
	fail "insmod /lib/mempin_floor.ko"
fi
echo 520 >/proc/sys/vm/nr_hugepages
n=$(cat /proc/sys/vm/nr_hugepages)
check "hugetlb: $n pages of 2 MiB" "hugetlb: only $n of 520 pages" [ "$n" = 520 ]
echo 86400000 >/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs
echo 86400000 >/sys/kernel/mm/transparent_hugepage/khugepaged/alloc_sleep_millisecs
say "THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled)," \
	"defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
# A memory cgroup for the payload (this shell's children): memory.stat then
# counts the kernel objects charged to it, mempin's bookkeeping among them
# (GFP_KERNEL_ACCOUNT), to the byte.
mkdir -p /sys/fs/cgroup
if [ "${MEMPIN_BENCH_MEMCG:-1}" = 0 ]; then
	say "no memory cgroup, as asked (MEMPIN_BENCH_MEMCG=0)"
elif mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control &&
	mkdir /sys/fs/cgroup/bench && echo $$ >/sys/fs/cgroup/bench/cgroup.procs; then
	say "ok: payload in memory cgroup /bench"
else
	say "no memory cgroup: kernel memory from /proc/meminfo only"
fi
