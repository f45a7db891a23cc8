// SPDX-License-Identifier: GPL-2.0
/*
 * Charging: VmPin (/proc/self/status) and the FOLL_PIN counters of
 * /proc/vmstat against what was pinned, every pin charging all its pages
 * (overlapping pins each charge theirs: references cost budget), unaligned
 * ranges, RLIMIT_MEMLOCK for non-root callers, the opener's CAP_IPC_LOCK, the
 * administrator cap (max_pinned_pages), device permissions.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

#define CAP_IPC_LOCK_BIT 14

/* ------------------------------------------------------------- VmPin */

START_TEST(vmpin_pin_unpin)
{
	int fd = xmp_open();
	char *mem = xmap(16 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b, c;
	uint64_t h, pages = 0;

	ck_assert_int_ge(vm0, 0);
	kv_pins_read(&a);
	ck_assert_int_eq(mp_pin(fd, mem, 16 * PG, 0, &h, &pages), 0);
	kv_pins_read(&b);
	ck_assert_uint_eq(pages, 16);
	ASSERT_VMPIN(vm0, 16);
	ASSERT_STATS(fd, 1, 16, 16);
	ck_assert_uint_eq(KV_ACQ(a, b), 16);
	ck_assert_uint_eq(KV_REL(a, b), 0);
	xunpin(fd, h);
	kv_pins_read(&c);
	ASSERT_VMPIN(vm0, 0);
	ASSERT_STATS(fd, 0, 0, 0);
	ck_assert_uint_eq(KV_ACQ(a, c), 16);
	ck_assert_uint_eq(KV_REL(a, c), 16);
	xclose(fd);
}
END_TEST

START_TEST(vmpin_close_releases)
{
	int fd = xmp_open();
	char *mem = xmap(32 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;

	kv_pins_read(&a);
	xpin(fd, mem, 8 * PG, 0);
	xpin(fd, mem + 16 * PG, 4 * PG, 0);
	xpin(fd, mem + 16 * PG, 4 * PG, 0);
	ASSERT_VMPIN(vm0, 16);
	ASSERT_STATS(fd, 3, 16, 16);
	xclose(fd);
	kv_pins_read(&b);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_uint_eq(KV_ACQ(a, b), 16);
	ck_assert_uint_eq(KV_REL(a, b), 16);
}
END_TEST

/*
 * The same range pinned twice is charged twice: a reference costs budget
 * as a page does, so pinning one page over and over is bounded too.
 */
START_TEST(overlap_identical_charges_each)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	uint64_t h1, h2;

	kv_pins_read(&a);
	h1 = xpin(fd, mem, 8 * PG, 0);
	h2 = xpin(fd, mem, 8 * PG, 0);
	kv_pins_read(&b);
	ck_assert_uint_ne(h1, h2);
	ASSERT_STATS(fd, 2, 16, 16);
	ASSERT_VMPIN(vm0, 16);
	ck_assert_uint_eq(KV_ACQ(a, b), 16);
	xunpin(fd, h1);
	ASSERT_STATS(fd, 1, 8, 8);
	ASSERT_VMPIN(vm0, 8);
	xunpin(fd, h2);
	kv_pins_read(&b);
	ASSERT_STATS(fd, 0, 0, 0);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_uint_eq(KV_REL(a, b), 16);
	xclose(fd);
}
END_TEST

/* Partly overlapping pins: each charges all its pages, not the union. */
START_TEST(overlap_partial_charges_both)
{
	int fd = xmp_open();
	char *mem = xmap(16 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	uint64_t ha, hb;

	kv_pins_read(&a);
	ha = xpin(fd, mem, 8 * PG, 0);			/* pages 0-7 */
	hb = xpin(fd, mem + 4 * PG, 8 * PG, 0);		/* pages 4-11 */
	kv_pins_read(&b);
	ASSERT_STATS(fd, 2, 16, 16);
	ASSERT_VMPIN(vm0, 16);
	ck_assert_uint_eq(KV_ACQ(a, b), 16);
	xunpin(fd, ha);
	ASSERT_STATS(fd, 1, 8, 8);
	ASSERT_VMPIN(vm0, 8);
	xunpin(fd, hb);
	kv_pins_read(&b);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_uint_eq(KV_REL(a, b), 16);
	xclose(fd);
}
END_TEST

START_TEST(overlap_contained_and_chain)
{
	int fd = xmp_open();
	char *mem = xmap(16 * PG);
	long vm0 = kv_vmpin_kb(0);
	uint64_t ha, hb, hc;

	ha = xpin(fd, mem, 16 * PG, 0);			/* 0-15 */
	hb = xpin(fd, mem + 4 * PG, 4 * PG, 0);		/* 4-7 inside */
	hc = xpin(fd, mem + 6 * PG, 4 * PG, 0);		/* 6-9 overlaps both */
	ASSERT_STATS(fd, 3, 24, 24);	/* each pin its own pages */
	ASSERT_VMPIN(vm0, 24);
	xunpin(fd, ha);
	ASSERT_STATS(fd, 2, 8, 8);
	ASSERT_VMPIN(vm0, 8);
	xunpin(fd, hc);
	ASSERT_STATS(fd, 1, 4, 4);
	ASSERT_VMPIN(vm0, 4);
	xunpin(fd, hb);
	ASSERT_VMPIN(vm0, 0);
	xclose(fd);
}
END_TEST

/* Unaligned start/end: every page the byte range touches. */
START_TEST(unaligned_ranges)
{
	static const struct { size_t off, len, pages; } t[] = {
		{ 100, PG, 2 }, { PG - 1, 2, 2 }, { 0, 1, 1 }, { 1, PG - 2, 1 },
		{ PG - 1, 1, 1 }, { 4000, 2 * PG + 200, 4 }, { 0, PG + 1, 2 },
		{ 17, 3 * PG - 17, 3 }, { 17, 3 * PG - 16, 4 },
	};
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	long vm0 = kv_vmpin_kb(0);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct kv_pins a, b;
		uint64_t h, pages = 0;

		kv_pins_read(&a);
		ck_assert_int_eq(mp_pin(fd, mem + t[i].off, t[i].len, 0, &h, &pages), 0);
		kv_pins_read(&b);
		ck_assert_msg(pages == t[i].pages, "off %zu len %zu: %llu pages, want %zu",
			      t[i].off, t[i].len, (unsigned long long)pages, t[i].pages);
		ASSERT_STATS(fd, 1, t[i].pages, t[i].pages);
		ASSERT_VMPIN(vm0, t[i].pages);
		ck_assert_uint_eq(KV_ACQ(a, b), t[i].pages);
		xunpin(fd, h);
		ASSERT_VMPIN(vm0, 0);
	}
	xclose(fd);
}
END_TEST

/* Two unaligned pins sharing a page: each charges it. */
START_TEST(unaligned_shared_page_charged_twice)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	long vm0 = kv_vmpin_kb(0);
	uint64_t h1, h2;

	h1 = xpin(fd, mem, PG + 100, 0);		/* pages 0, 1 */
	h2 = xpin(fd, mem + PG + 200, PG, 0);		/* pages 1, 2 */
	ASSERT_STATS(fd, 2, 4, 4);
	ASSERT_VMPIN(vm0, 4);
	xunpin(fd, h1);
	ASSERT_STATS(fd, 1, 2, 2);
	ASSERT_VMPIN(vm0, 2);
	xunpin(fd, h2);
	ASSERT_VMPIN(vm0, 0);
	xclose(fd);
}
END_TEST

/* Charging is per container: the same page in two containers counts twice. */
START_TEST(two_containers_charge_each)
{
	int fd1 = xmp_open(), fd2 = xmp_open();
	char *mem = xmap(4 * PG);
	long vm0 = kv_vmpin_kb(0);

	xpin(fd1, mem, 4 * PG, 0);
	xpin(fd2, mem, 4 * PG, 0);
	ASSERT_STATS(fd1, 1, 4, 4);
	ASSERT_STATS(fd2, 1, 4, 4);
	ASSERT_VMPIN(vm0, 8);
	xclose(fd1);
	ASSERT_VMPIN(vm0, 4);
	xclose(fd2);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

START_TEST(unpin_by_range_releases)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;

	kv_pins_read(&a);
	xpin(fd, mem + 10, 3 * PG, 0);
	xpin(fd, mem + 10, 3 * PG, 0);
	ASSERT_VMPIN(vm0, 8);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 10, 3 * PG), 0);
	ASSERT_STATS(fd, 1, 4, 4);
	ASSERT_VMPIN(vm0, 4);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 10, 3 * PG), 0);
	ASSERT_STATS(fd, 0, 0, 0);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 10, 3 * PG), -ENOENT);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 8);
	ck_assert_uint_eq(KV_REL(a, b), 8);
	xclose(fd);
}
END_TEST

/*
 * A random sequence of pins and unpins over 48 pages against a model:
 * after every step stats.pages, stats.charged_pages, VmPin and the vmstat
 * deltas match what the model says: each pin charges all its pages, so
 * charged == pages however the pins overlap.
 */
START_TEST(random_pins_match_model)
{
	enum { NPG = 48, MAXP = 64 };
	int fd = xmp_open();
	char *mem = xmap(NPG * PG);
	long vm0 = kv_vmpin_kb(0);
	struct { uint64_t h; int first, last; } pins[MAXP];
	int npins = 0;
	uint64_t acq = 0, rel = 0, pages = 0;
	struct kv_pins a, b;
	unsigned int seed = 12345;

	kv_pins_read(&a);
	for (int step = 0; step < 300; step++) {
		int r = rand_r(&seed);

		if (npins < MAXP && (npins == 0 || r % 3)) {
			int first = rand_r(&seed) % NPG;
			int last = first + rand_r(&seed) % 8;
			int off = rand_r(&seed) % (int)PG;
			size_t len;

			if (last >= NPG)
				last = NPG - 1;
			/* byte range starting inside page first, ending in last */
			len = (size_t)(last - first) * PG + 1 + (size_t)(rand_r(&seed) % (int)(PG - off));
			if (last == first && (size_t)off + len > PG)
				len = PG - off;
			pins[npins].h = xpin(fd, mem + first * PG + off, len, 0);
			pins[npins].first = first;
			pins[npins].last = last;
			pages += last - first + 1;
			acq += last - first + 1;
			npins++;
		} else {
			int i = rand_r(&seed) % npins;

			xunpin(fd, pins[i].h);
			pages -= pins[i].last - pins[i].first + 1;
			rel += pins[i].last - pins[i].first + 1;
			pins[i] = pins[--npins];
		}
		ASSERT_STATS(fd, npins, pages, pages);
		ASSERT_VMPIN(vm0, pages);
	}
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), acq);
	ck_assert_uint_eq(KV_REL(a, b), rel);
	xclose(fd);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_REL(a, b), acq);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

/* ------------------------------------------------------ RLIMIT_MEMLOCK */

/* In a child: no root, RLIMIT_MEMLOCK 64 KiB (16 pages), a container. */
static int child_setup(struct chan *ch, uid_t uid, long memlock)
{
	int fd, r = drop_root(uid, uid, memlock);

	CREQ_EQ(ch, r, 0);
	CREQ(ch, (kv_capeff() & (1ULL << CAP_IPC_LOCK_BIT)) == 0);
	CREQ_EQ(ch, kv_capeff(), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	return fd;
}

static char *child_map(struct chan *ch, size_t pages)
{
	char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CREQ(ch, p != MAP_FAILED);
	memset(p, 1, pages * PG);
	return p;
}

static void child_stats(struct chan *ch, int fd, uint64_t pins, uint64_t pages,
			uint64_t charged)
{
	struct mempin_stats_arg st;

	CREQ_EQ(ch, mp_stats(fd, &st), 0);
	CREQ_EQ(ch, st.pins, pins);
	CREQ_EQ(ch, st.pages, pages);
	CREQ_EQ(ch, st.charged_pages, charged);
}

/*
 * Up to the limit and not a page past it, and pages already pinned cost
 * budget again: a re-pin of them is refused once the budget is used (it
 * used to be free, which let one user hold unbounded page references).
 * uid 1000's budget is shared by all its processes: no other one runs.
 */
static void child_rlimit_boundary(struct chan *ch, void *arg)
{
	int fd = child_setup(ch, 1000, 64 * 1024);
	char *mem = child_map(ch, 32);
	long vm0 = kv_vmpin_kb(0);
	uint64_t h = 0;

	(void)arg;
	CREQ_EQ(ch, mp_pin(fd, mem, 8 * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 32);
	/* Exactly at the limit: allowed. */
	CREQ_EQ(ch, mp_pin(fd, mem + 8 * PG, 8 * PG, 0, &h, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 64);
	/* One page more: ENOMEM, also partly overlapping. */
	CREQ_EQ(ch, mp_pin(fd, mem + 16 * PG, PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem + 12 * PG, 5 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem + 15 * PG + 1, PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 64);
	child_stats(ch, fd, 2, 16, 16);
	/* Pages already pinned are charged again: identical re-pins refused. */
	CREQ_EQ(ch, mp_pin(fd, mem, 8 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem, 16 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem + 3 * PG, PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 64);
	child_stats(ch, fd, 2, 16, 16);
	/* With half the budget back, the first pin's pages pin again. */
	CREQ_EQ(ch, mp_unpin(fd, h), 0);
	CREQ_EQ(ch, mp_pin(fd, mem, 8 * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 64);
	child_stats(ch, fd, 2, 16, 16);
	ch_sync(ch);	/* parent reads vmstat */
	close(fd);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0);
}

START_TEST(rlimit_nonroot_boundary_overlap_costs)
{
	struct kv_pins a, b;
	struct child c;

	kv_pins_read(&a);
	child_start(&c, child_rlimit_boundary, NULL);
	if (child_await(&c) == 0) {
		kv_pins_read(&b);
		/* 8 + 8 + 8 pinned, 8 unpinned; the refused pins took nothing. */
		ck_assert_uint_eq(KV_ACQ(a, b), 24);
		ck_assert_uint_eq(KV_REL(a, b), 8);
		child_go(&c);
	}
	CHILD_OK(&c);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_REL(a, b), KV_ACQ(a, b));
}
END_TEST

static void child_rlimit_nothing(struct chan *ch, void *arg)
{
	int fd = child_setup(ch, 1000, 64 * 1024);
	char *mem = child_map(ch, 64);
	long vm0 = kv_vmpin_kb(0);

	(void)arg;
	CREQ_EQ(ch, mp_pin(fd, mem, 64 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem, 17 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem + 1, 16 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0);
	child_stats(ch, fd, 0, 0, 0);
	ch_sync(ch);
	close(fd);
}

START_TEST(rlimit_nonroot_enomem_nothing_pinned)
{
	struct kv_pins a, b;
	struct child c;

	kv_pins_read(&a);
	child_start(&c, child_rlimit_nothing, NULL);
	if (child_await(&c) == 0) {
		kv_pins_read(&b);
		ck_assert_uint_eq(KV_ACQ(a, b), KV_REL(a, b));
		child_go(&c);
	}
	CHILD_OK(&c);
}
END_TEST

/* RLIMIT_MEMLOCK bounds all the user's pins, whatever the container, and
 * VmPin shows them all; each container charges its own pins. */
static void child_rlimit_two_containers(struct chan *ch, void *arg)
{
	int fd1 = child_setup(ch, 1000, 64 * 1024);
	int fd2 = mp_open();
	char *mem = child_map(ch, 32);
	long vm0 = kv_vmpin_kb(0);

	(void)arg;
	CREQ(ch, fd2 >= 0);
	CREQ_EQ(ch, mp_pin(fd1, mem, 12 * PG, 0, NULL, NULL), 0);
	/* The same pages in another container: charged again, 20 > 16. */
	CREQ_EQ(ch, mp_pin(fd2, mem, 8 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd2, mem + 16 * PG, 8 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd2, mem, 4 * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 64);
	child_stats(ch, fd2, 1, 4, 4);
	close(fd1);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0 + 16);
	CREQ_EQ(ch, mp_pin(fd2, mem + 16 * PG, 12 * PG, 0, NULL, NULL), 0);
	close(fd2);
	CREQ_EQ(ch, kv_vmpin_kb(0), vm0);
}

START_TEST(rlimit_nonroot_two_containers)
{
	struct child c;
	struct kv_pins a, b;

	kv_pins_read(&a);
	child_start(&c, child_rlimit_two_containers, NULL);
	CHILD_OK(&c);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 28);
	ck_assert_uint_eq(KV_REL(a, b), 28);
}
END_TEST

/* Root has CAP_IPC_LOCK: RLIMIT_MEMLOCK does not apply. */
START_TEST(rlimit_root_cap_ipc_lock)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	int fd;
	char *mem = xmap(256 * PG);
	long vm0 = kv_vmpin_kb(0);

	ck_assert_msg(kv_capeff() & (1ULL << CAP_IPC_LOCK_BIT), "no CAP_IPC_LOCK");
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	fd = xmp_open();
	xpin(fd, mem, 256 * PG, 0);
	ASSERT_VMPIN(vm0, 256);
	ASSERT_STATS(fd, 1, 256, 256);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

/* Raises or lowers CAP_IPC_LOCK in the effective set (kept permitted). */
static int ipc_lock_effective(int on)
{
	struct __user_cap_header_struct hd = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hd, d))
		return -errno;
	if (on)
		d[0].effective |= 1U << CAP_IPC_LOCK_BIT;
	else
		d[0].effective &= ~(1U << CAP_IPC_LOCK_BIT);
	return syscall(SYS_capset, &hd, d) ? -errno : 0;
}

/*
 * The opener's CAP_IPC_LOCK lifts the limit, not the pinning task's: the
 * opener's user is the one charged.  A opened without it, B with it.
 */
static void child_opener_cap(struct chan *ch, void *arg)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	char *mem = child_map(ch, 32);
	int a, b;

	(void)arg;
	CREQ_EQ(ch, setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	CREQ_EQ(ch, ipc_lock_effective(0), 0);
	CREQ(ch, (kv_capeff() & (1ULL << CAP_IPC_LOCK_BIT)) == 0);
	a = mp_open();
	CREQ(ch, a >= 0);
	CREQ_EQ(ch, ipc_lock_effective(1), 0);
	b = mp_open();
	CREQ(ch, b >= 0);
	/* Raised now, but A's opener had not: the rlimit applies. */
	CREQ_EQ(ch, mp_pin(a, mem, 32 * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
	/* Dropped now, but B's opener had it. */
	CREQ_EQ(ch, ipc_lock_effective(0), 0);
	CREQ_EQ(ch, mp_pin(b, mem, 32 * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), 32 * PG / 1024);
	close(b);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
	close(a);
}

START_TEST(rlimit_opener_cap_decides)
{
	struct child c;
	struct kv_pins a, b;

	kv_pins_read(&a);
	child_start(&c, child_opener_cap, NULL);
	CHILD_OK(&c);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 32);
	ck_assert_uint_eq(KV_REL(a, b), 32);
}
END_TEST

static void child_uid1000_open(struct chan *ch, void *arg)
{
	int fd = child_setup(ch, 1000, 1 << 20);
	char *mem = child_map(ch, 4);
	uint64_t h = 0;

	(void)arg;
	CREQ_EQ(ch, mp_pin(fd, mem, 4 * PG, 0, &h, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), 16);
	CREQ_EQ(ch, mp_unpin(fd, h), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
	close(fd);
}

START_TEST(perm_uid1000_opens)
{
	struct child c;

	child_start(&c, child_uid1000_open, NULL);
	CHILD_OK(&c);
}
END_TEST

static void child_uid1001_open(struct chan *ch, void *arg)
{
	(void)arg;
	CREQ_EQ(ch, drop_root(1001, 1001, -1), 0);
	CREQ_EQ(ch, mp_open(), -EACCES);
	CREQ_EQ(ch, open(MEMPIN_DEV, O_RDONLY) < 0 ? -errno : 0, -EACCES);
}

START_TEST(perm_uid1001_eacces)
{
	struct child c;
	long ref0 = kv_refcnt();

	child_start(&c, child_uid1001_open, NULL);
	CHILD_OK(&c);
	ck_assert_int_eq(kv_refcnt(), ref0);
}
END_TEST

/* --------------------------------------------------- administrator cap */

#define CAP_PARAM "max_pinned_pages"

static void cap_reset(void)
{
	kv_param_set(CAP_PARAM, 0);
}

static void set_cap(long pages)
{
	int r = kv_param_set(CAP_PARAM, pages);

	ck_assert_msg(r == 0, "write %s: %s", CAP_PARAM, strerror(-r));
	ck_assert_int_eq(kv_param_get(CAP_PARAM), pages);
}

START_TEST(cap_root)
{
	int fd = xmp_open();
	char *mem = xmap(32 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct mempin_info_arg in;
	struct kv_pins a, b;
	uint64_t h;

	set_cap(16);
	xinfo(fd, &in);
	ck_assert_uint_eq(in.cap_pages, 16);
	kv_pins_read(&a);
	ck_assert_int_eq(mp_pin(fd, mem, 17 * PG, 0, NULL, NULL), -ENOMEM);
	h = xpin(fd, mem, 12 * PG, 0);
	xpin(fd, mem + 12 * PG, 4 * PG, 0);		/* exactly 16 */
	ck_assert_int_eq(mp_pin(fd, mem + 16 * PG, PG, 0, NULL, NULL), -ENOMEM);
	ck_assert_int_eq(mp_pin(fd, mem + 15 * PG, 2 * PG, 0, NULL, NULL), -ENOMEM);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 16);
	ASSERT_STATS(fd, 2, 16, 16);
	ASSERT_VMPIN(vm0, 16);
	xunpin(fd, h);
	xpin(fd, mem + 16 * PG, 12 * PG, 0);
	/* Lifting the cap (0 = none) lets more through. */
	set_cap(0);
	xinfo(fd, &in);
	ck_assert_uint_eq(in.cap_pages, 0);
	xpin(fd, mem, 32 * PG, 0);
	xclose(fd);
}
END_TEST

/* The cap counts page references: a page pinned twice counts twice. */
START_TEST(cap_counts_references)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);

	set_cap(16);
	xpin(fd, mem, 8 * PG, 0);
	xpin(fd, mem, 8 * PG, 0);
	ASSERT_STATS(fd, 2, 16, 16);
	ck_assert_int_eq(mp_pin(fd, mem, PG, 0, NULL, NULL), -ENOMEM);
	ASSERT_STATS(fd, 2, 16, 16);
	xclose(fd);
}
END_TEST

/* The cap is system-wide: across containers (and processes). */
START_TEST(cap_across_containers)
{
	int fd1 = xmp_open(), fd2 = xmp_open();
	char *mem = xmap(16 * PG);

	set_cap(16);
	xpin(fd1, mem, 10 * PG, 0);
	ck_assert_int_eq(mp_pin(fd2, mem + 8 * PG, 7 * PG, 0, NULL, NULL), -ENOMEM);
	xpin(fd2, mem + 8 * PG, 6 * PG, 0);
	ck_assert_int_eq(mp_pin(fd1, mem, PG, 0, NULL, NULL), -ENOMEM);
	xclose(fd1);
	xpin(fd2, mem, 10 * PG, 0);
	xclose(fd2);
}
END_TEST

static void child_cap_nonroot(struct chan *ch, void *arg)
{
	int fd = child_setup(ch, 1000, 1 << 20);	/* rlimit 256 pages */
	char *mem = child_map(ch, 32);

	(void)arg;
	CREQ_EQ(ch, mp_pin(fd, mem, 16 * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, mp_pin(fd, mem + 16 * PG, PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, kv_vmpin_kb(0), 64);
	child_stats(ch, fd, 1, 16, 16);
	close(fd);
}

START_TEST(cap_nonroot)
{
	struct child c;

	set_cap(16);
	child_start(&c, child_cap_nonroot, NULL);
	CHILD_OK(&c);
}
END_TEST

/* Lowering the cap below what is pinned keeps the pins, refuses new ones. */
START_TEST(cap_lowered_below_usage)
{
	int fd = xmp_open();
	char *mem = xmap(16 * PG);
	uint64_t h;

	h = xpin(fd, mem, 16 * PG, 0);
	set_cap(8);
	ASSERT_STATS(fd, 1, 16, 16);
	ck_assert_int_eq(mp_pin(fd, mem, PG, 0, NULL, NULL), -ENOMEM);
	xunpin(fd, h);
	xpin(fd, mem, 8 * PG, 0);
	xclose(fd);
}
END_TEST

Suite *charge_suite(void)
{
	Suite *s = suite_create("charge");
	TCase *tc;

	tc = TCASE("vmpin");
	tcase_add_test(tc, vmpin_pin_unpin);
	tcase_add_test(tc, vmpin_close_releases);
	tcase_add_test(tc, overlap_identical_charges_each);
	tcase_add_test(tc, overlap_partial_charges_both);
	tcase_add_test(tc, overlap_contained_and_chain);
	tcase_add_test(tc, unaligned_ranges);
	tcase_add_test(tc, unaligned_shared_page_charged_twice);
	tcase_add_test(tc, two_containers_charge_each);
	tcase_add_test(tc, unpin_by_range_releases);
	tcase_add_test(tc, random_pins_match_model);
	suite_add_tcase(s, tc);

	tc = TCASE("rlimit");
	tcase_add_test(tc, rlimit_nonroot_boundary_overlap_costs);
	tcase_add_test(tc, rlimit_nonroot_enomem_nothing_pinned);
	tcase_add_test(tc, rlimit_nonroot_two_containers);
	tcase_add_test(tc, rlimit_root_cap_ipc_lock);
	tcase_add_test(tc, rlimit_opener_cap_decides);
	tcase_add_test(tc, perm_uid1000_opens);
	tcase_add_test(tc, perm_uid1001_eacces);
	suite_add_tcase(s, tc);

	tc = TCASE("cap");
	/* Unchecked: runs in the runner even when a test fails midway. */
	tcase_add_unchecked_fixture(tc, cap_reset, cap_reset);
	tcase_add_checked_fixture(tc, cap_reset, cap_reset);
	tcase_add_test(tc, cap_root);
	tcase_add_test(tc, cap_counts_references);
	tcase_add_test(tc, cap_across_containers);
	tcase_add_test(tc, cap_nonroot);
	tcase_add_test(tc, cap_lowered_below_usage);
	suite_add_tcase(s, tc);
	return s;
}
