// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned pages stay put: their PFN (pagemap) and NUMA node (move_pages)
 * survive move_pages() to the other node and compaction, while unpinned
 * mlocked control pages do move.  The guest has two NUMA nodes.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

#define NPAGES 16

static void need_two_nodes(void)
{
	ck_assert_msg(kv_nr_nodes() >= 2, "the guest has %d NUMA node(s), need 2",
		      kv_nr_nodes());
}

/* Moves n pages to node (they are not pinned) and asserts they went. */
static void move_all(char *p, size_t n, int node)
{
	int *st = calloc(n, sizeof(*st));
	long r;

	ck_assert(st);
	r = kv_move_n(p, n, node, st);
	ck_assert_msg(r == 0, "move_pages to node %d: %ld", node, r);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(st[i] == node, "page %zu: status %d, want node %d", i,
			      st[i], node);
		ck_assert_int_eq(kv_node(p + i * PG), node);
	}
	free(st);
}

static void pfns(const char *p, size_t n, uint64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = kv_pfn(p + i * PG);
		ck_assert_msg(out[i] && out[i] != UINT64_MAX, "page %zu: no PFN", i);
	}
}

START_TEST(move_pages_pinned_stay_control_moves)
{
	int fd = xmp_open();
	char *pin = xmap(NPAGES * PG), *ctl = xmap(NPAGES * PG);
	uint64_t pf0[NPAGES], pf1[NPAGES], cf0[NPAGES], cf1[NPAGES];
	int st[NPAGES];
	long r;

	need_two_nodes();
	ck_assert_int_eq(mlock(ctl, NPAGES * PG), 0);
	move_all(pin, NPAGES, 0);
	move_all(ctl, NPAGES, 0);
	xpin(fd, pin, NPAGES * PG, 0);
	pfns(pin, NPAGES, pf0);
	pfns(ctl, NPAGES, cf0);

	r = kv_move_n(pin, NPAGES, 1, st);
	ck_assert_msg(r >= 0, "move_pages: %ld", r);
	pfns(pin, NPAGES, pf1);
	for (int i = 0; i < NPAGES; i++) {
		ck_assert_msg(kv_node(pin + i * PG) == 0, "pinned page %d moved to node %d",
			      i, kv_node(pin + i * PG));
		ck_assert_msg(pf1[i] == pf0[i], "pinned page %d: PFN %#llx -> %#llx", i,
			      (unsigned long long)pf0[i], (unsigned long long)pf1[i]);
		ck_assert_int_ne(st[i], 1);
	}

	r = kv_move_n(ctl, NPAGES, 1, st);
	ck_assert_msg(r == 0, "control move_pages: %ld", r);
	pfns(ctl, NPAGES, cf1);
	for (int i = 0; i < NPAGES; i++) {
		ck_assert_msg(st[i] == 1, "control page %d: status %d", i, st[i]);
		ck_assert_int_eq(kv_node(ctl + i * PG), 1);
		ck_assert_uint_ne(cf1[i], cf0[i]);
	}
	/* The contents are where they were. */
	for (int i = 0; i < NPAGES; i++)
		ck_assert_int_eq(pin[i * PG + 7], 0x5a);
	ASSERT_STATS(fd, 1, NPAGES, NPAGES);
	xclose(fd);
}
END_TEST

/* The same pages move once unpinned: it was the pin that held them. */
START_TEST(move_pages_after_unpin)
{
	int fd = xmp_open();
	char *pin = xmap(NPAGES * PG);
	uint64_t pf0[NPAGES], pf1[NPAGES];
	int st[NPAGES];
	uint64_t h;

	need_two_nodes();
	move_all(pin, NPAGES, 1);
	h = xpin(fd, pin, NPAGES * PG, 0);
	pfns(pin, NPAGES, pf0);
	ck_assert_int_ge(kv_move_n(pin, NPAGES, 0, st), 0);
	ck_assert_int_eq(kv_node(pin), 1);
	xunpin(fd, h);
	move_all(pin, NPAGES, 0);
	pfns(pin, NPAGES, pf1);
	for (int i = 0; i < NPAGES; i++)
		ck_assert_uint_ne(pf1[i], pf0[i]);
	xclose(fd);
}
END_TEST

/* Read-only pins of shared memory hold the pages too, and so does one pin
 * that covers only part of the buffer (the rest moves). */
START_TEST(move_pages_partial_and_readonly)
{
	int fd = xmp_open();
	int mfd = memfd_create("mempin-mig", MFD_CLOEXEC);
	char *shm, *anon = xmap(NPAGES * PG);
	uint64_t sf0[NPAGES], af0[NPAGES];
	int st[NPAGES];

	need_two_nodes();
	ck_assert(mfd >= 0);
	ck_assert_int_eq(ftruncate(mfd, NPAGES * PG), 0);
	shm = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert(shm != MAP_FAILED);
	memset(shm, 3, NPAGES * PG);
	move_all(shm, NPAGES, 0);
	move_all(anon, NPAGES, 0);
	xpin(fd, shm, NPAGES * PG, MEMPIN_PIN_READONLY);
	xpin(fd, anon + 4 * PG + 9, 4 * PG, 0);		/* pages 4-8 */
	pfns(shm, NPAGES, sf0);
	pfns(anon, NPAGES, af0);
	ck_assert_int_ge(kv_move_n(shm, NPAGES, 1, st), 0);
	for (int i = 0; i < NPAGES; i++) {
		ck_assert_int_eq(kv_node(shm + i * PG), 0);
		ck_assert_uint_eq(kv_pfn(shm + i * PG), sf0[i]);
	}
	/* One page at a time: a failure does not stop the others. */
	for (int i = 0; i < NPAGES; i++) {
		int pinned = i >= 4 && i <= 8;

		kv_move(anon + i * PG, 1);
		ck_assert_msg(kv_node(anon + i * PG) == (pinned ? 0 : 1),
			      "page %d (pinned %d) on node %d", i, pinned,
			      kv_node(anon + i * PG));
		if (pinned)
			ck_assert_uint_eq(kv_pfn(anon + i * PG), af0[i]);
		else
			ck_assert_uint_ne(kv_pfn(anon + i * PG), af0[i]);
	}
	xclose(fd);
	close(mfd);
}
END_TEST

/*
 * Compaction moves pages from the bottom of a zone into free pages found
 * from the top; a buffer that sits at the top is where pages are gathered,
 * and nothing in it moves.  Fresh allocations come from the top, so: fill
 * the top with a filler, allocate the buffer below it, free the filler.
 * Then keep every 8th page of the buffer and interleave pinned and control
 * pages: control pages that move prove compaction went over memory like
 * the pinned pages'.  All of it on one node, whatever CPU the task runs
 * on: a task the scheduler moved to the other node between the filler and
 * the buffer put the buffer at the top of that node, and compaction moved
 * nothing (seen once in 20 runs, on 7.2).
 */
START_TEST(compaction_keeps_pinned_pfns)
{
	enum { N = 131072, FILL = 131072, STRIDE = 8, K = N / STRIDE / 2,
	       TRIES = 3 };
	unsigned long node1 = 2;
	int fd, moved = 0, e;
	char *fill, *buf;
	uint64_t *pf, *cf;
	struct mempin_pin_entry *r;
	unsigned int done;

	/*
	 * Node 1 holds no kernel image: its memory is as the layout above
	 * assumes.  Preferred, not bound: a small node spills over instead
	 * of OOM-killing the test.  Check runs each test in its own process,
	 * so the policy ends with it.
	 */
	if (kv_nr_nodes() >= 2)
		ck_assert_int_eq(syscall(SYS_set_mempolicy, 1 /* MPOL_PREFERRED */,
					 &node1, 8 * sizeof(node1)), 0);
	fd = xmp_open();
	fill = xmap((size_t)FILL * PG);
	buf = xmap((size_t)N * PG);
	pf = calloc(K, sizeof(*pf));
	cf = calloc(K, sizeof(*cf));
	r = calloc(K, sizeof(*r));

	ck_assert(pf && cf && r);
	ck_assert_int_eq(madvise(fill, (size_t)FILL * PG, MADV_NOHUGEPAGE), 0);
	ck_assert_int_eq(madvise(buf, (size_t)N * PG, MADV_NOHUGEPAGE), 0);
	memset(fill, 1, (size_t)FILL * PG);
	memset(buf, 1, (size_t)N * PG);
	ck_assert_int_eq(munmap(fill, (size_t)FILL * PG), 0);
	for (size_t i = 0; i < N; i += STRIDE)
		ck_assert_int_eq(madvise(buf + (i + 1) * PG, (STRIDE - 1) * PG,
					 MADV_DONTNEED), 0);
#define PINNED(i) (buf + (size_t)(i) * 2 * STRIDE * PG)
#define CONTROL(i) (PINNED(i) + STRIDE * PG)
	for (int i = 0; i < K; i++) {
		PINNED(i)[0] = (char)i;
		r[i].addr = (uintptr_t)PINNED(i);
		r[i].len = PG;
	}
	ck_assert_int_eq(mp_pin_batch(fd, r, K, &done), 0);
	for (int i = 0; i < K; i++) {
		pf[i] = kv_pfn(PINNED(i));
		cf[i] = kv_pfn(CONTROL(i));
	}
	/* Where the scanners meet varies: allow a few passes. */
	for (int t = 0; t < TRIES && !moved; t++) {
		e = kv_write_file("/proc/sys/vm/compact_memory", "1");
		ck_assert_msg(e == 0, "compact_memory: %s", strerror(-e));
		for (int i = 0; i < K; i++) {
			ck_assert_msg(kv_pfn(PINNED(i)) == pf[i],
				      "pinned page %d moved by compaction", i);
			ck_assert_int_eq(PINNED(i)[0], (char)i);
			moved += kv_pfn(CONTROL(i)) != cf[i];
		}
		printf("compaction pass %d moved %d of %d unpinned control pages\n",
		       t + 1, moved, K);
	}
#undef PINNED
#undef CONTROL
	ck_assert_msg(moved > 0, "compaction moved no control page in %d passes",
		      TRIES);
	ASSERT_STATS(fd, K, K, K);
	xclose(fd);
	ck_assert_int_eq(munmap(buf, (size_t)N * PG), 0);
	free(pf);
	free(cf);
	free(r);
}
END_TEST

Suite *migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tc;

	tc = tcase_slow("move_pages", 300);
	tcase_add_test(tc, move_pages_pinned_stay_control_moves);
	tcase_add_test(tc, move_pages_after_unpin);
	tcase_add_test(tc, move_pages_partial_and_readonly);
	suite_add_tcase(s, tc);

	tc = tcase_slow("compaction", 600);
	tcase_add_test(tc, compaction_keeps_pinned_pfns);
	suite_add_tcase(s, tc);
	return s;
}
