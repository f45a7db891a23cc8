// SPDX-License-Identifier: GPL-2.0
/*
 * Charging pinned pages.
 *
 * A container charges mm->pinned_vm (VmPin) once for each distinct
 * (virtual page, physical page) pair its pins hold.  Keying on the physical
 * page too matters: after munmap() and a new mmap() at the same address, a
 * new pin there holds other pages and must be charged again, or a process
 * could pin unbounded memory for the price of one range.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "internal.h"

static unsigned long max_pinned_pages;
module_param(max_pinned_pages, ulong, 0644);
MODULE_PARM_DESC(max_pinned_pages,
		 "System-wide cap on page references pinned through mempin, for everyone (0: no cap)");

/* What all containers hold, for the cap and for sysfs (observe.c). */
struct mempin_totals mempin_totals;

unsigned long mempin_cap_pages(void)
{
	return READ_ONCE(max_pinned_pages);
}

/*
 * Adds @n to @counter only if the sum stays within @limit (< 0: none).  Never
 * over, even for an instant: a concurrent reader sees no overshoot, and a
 * concurrent pin that fits is never refused because of one.
 */
static bool mempin_add_within(atomic64_t *counter, s64 n, s64 limit)
{
	s64 cur = atomic64_read(counter);

	do {
		if (limit >= 0 && cur + n > limit)
			return false;
	} while (!atomic64_try_cmpxchg(counter, &cur, cur + n));
	return true;
}

/* Raises the high-water mark to the pages pinned now, if they are more. */
static void mempin_raise_pages_max(void)
{
	s64 total = atomic64_read(&mempin_totals.pages);
	s64 max = atomic64_read(&mempin_totals.pages_max);

	while (total > max &&
	       !atomic64_try_cmpxchg(&mempin_totals.pages_max, &max, total))
		;
}

/* Reserves page references against the cap, and keeps the high-water mark. */
int mempin_cap_reserve(unsigned long pages)
{
	unsigned long cap = mempin_cap_pages();

	if (!mempin_add_within(&mempin_totals.pages, pages, cap ? cap : -1)) {
		mempin_count_refusal(MEMPIN_REFUSED_CAP);
		return -ENOMEM;
	}
	mempin_raise_pages_max();
	return 0;
}

/*
 * Starts the high-water mark again from the pages pinned now.  The raise
 * after the store undoes a store of a total read before a concurrent pin
 * raised the mark past it: the mark is never left below what is pinned.
 */
void mempin_reset_pages_max(void)
{
	atomic64_set(&mempin_totals.pages_max,
		     atomic64_read(&mempin_totals.pages));
	mempin_raise_pages_max();
}

void mempin_cap_release(unsigned long pages)
{
	atomic64_sub(pages, &mempin_totals.pages);
}

void mempin_count_refusal(enum mempin_refusal why)
{
	atomic64_inc(&mempin_totals.refused[why]);
}

/*
 * Charges VmPin before pinning, as RDMA's ib_umem_get does, but never past
 * RLIMIT_MEMLOCK even for an instant (see mempin_add_within()).
 */
int mempin_charge(struct mempin_ctx *ctx, unsigned long pages)
{
	s64 limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

	if (!pages)
		return 0;
	/* _noaudit: a refusal here is ordinary, not a security event. */
	if (!mempin_add_within(&ctx->mm->pinned_vm, pages, limit) &&
	    (!ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK) ||
	     !mempin_add_within(&ctx->mm->pinned_vm, pages, -1))) {
		mempin_count_refusal(MEMPIN_REFUSED_RLIMIT);
		return -ENOMEM;
	}
	atomic64_add(pages, &mempin_totals.charged);
	return 0;
}

void mempin_uncharge(struct mempin_ctx *ctx, unsigned long pages)
{
	atomic64_sub(pages, &ctx->mm->pinned_vm);
	atomic64_sub(pages, &mempin_totals.charged);
}

/*
 * Pages of [first, last] covered by pins already in the container (their
 * union), and how many pins overlap it.  Overlapping pins come in order of
 * their first page, so one sweep merges them.
 */
unsigned long mempin_va_covered(struct mempin_ctx *ctx, unsigned long first,
				unsigned long last, unsigned int *noverlap)
{
	struct mempin_region *q;
	unsigned long next = first, covered = 0;
	unsigned int n = 0;

	for (q = mempin_it_iter_first(&ctx->ranges, first, last); q;
	     q = mempin_it_iter_next(q, first, last)) {
		unsigned long s = max(q->first, next);
		unsigned long e = min(q->last, last);

		if (++n > MEMPIN_MAX_OVERLAP)
			break;
		if (s <= e) {
			covered += e - s + 1;
			next = e + 1;
		}
	}
	*noverlap = n;
	return covered;
}

/* A position in a pin's runs: run index and the virtual page it starts at. */
struct mempin_cursor {
	const struct mempin_region *pin;
	unsigned int run;
	unsigned long start;
};

static void mempin_cursor_seek(struct mempin_cursor *c, unsigned long va)
{
	while (c->start + mempin_run_pages(c->pin->runs[c->run]) <= va) {
		c->start += mempin_run_pages(c->pin->runs[c->run]);
		c->run++;
	}
}

/*
 * Marks in @bitmap (indexed from p->first) the pages where q holds the same
 * physical page at the same virtual page as p.  Within a stretch where both
 * pins stay inside one run each, the pfn difference is constant, so each
 * stretch matches as a whole or not at all: the work is per run, not page.
 */
static void mempin_mark_same(struct mempin_cursor *pc,
			     const struct mempin_region *q, unsigned long *bitmap)
{
	const struct mempin_region *p = pc->pin;
	struct mempin_cursor qc = { .pin = q, .start = q->first };
	struct mempin_cursor w;
	unsigned long va = max(p->first, q->first);
	unsigned long end = min(p->last, q->last) + 1;

	/* Callers pass pins by first page: @pc only ever moves forward. */
	mempin_cursor_seek(pc, va);
	mempin_cursor_seek(&qc, va);
	w = *pc;
	while (va < end) {
		u64 pr = p->runs[w.run], qr = q->runs[qc.run];
		unsigned long pend = w.start + mempin_run_pages(pr);
		unsigned long qend = qc.start + mempin_run_pages(qr);
		unsigned long stop = min3(pend, qend, end);

		if (mempin_run_pfn(pr) + (va - w.start) ==
		    mempin_run_pfn(qr) + (va - qc.start))
			bitmap_set(bitmap, va - p->first, stop - va);
		va = stop;
		if (va == pend && va < end) {
			w.start = pend;
			w.run++;
		}
		if (va == qend && va < end) {
			qc.start = qend;
			qc.run++;
		}
	}
}

/*
 * How many pages of @pin some other pin of the container holds too (same
 * virtual and physical page): those are charged already.  Costs nothing
 * when no other pin overlaps @pin, the common case.
 */
long mempin_shared_pages(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	struct mempin_cursor pc = { .pin = pin, .start = pin->first };
	unsigned long *bitmap = NULL;
	struct mempin_region *q;
	long shared;

	for (q = mempin_it_iter_first(&ctx->ranges, pin->first, pin->last); q;
	     q = mempin_it_iter_next(q, pin->first, pin->last)) {
		if (q == pin)
			continue;
		if (!bitmap) {
			bitmap = kvcalloc(BITS_TO_LONGS(pin->npages),
					  sizeof(long), GFP_KERNEL_ACCOUNT);
			if (!bitmap)
				return -ENOMEM;
		}
		mempin_mark_same(&pc, q, bitmap);
		/* The common repeat, q covering all of @pin: often done here. */
		if (q->first <= pin->first && q->last >= pin->last &&
		    bitmap_full(bitmap, pin->npages))
			break;
		cond_resched();
	}
	if (!bitmap)
		return 0;
	shared = bitmap_weight(bitmap, pin->npages);
	kvfree(bitmap);
	return shared;
}
