// SPDX-License-Identifier: GPL-2.0
/*
 * The pin path: check the mappings, charge, pin with GUP in chunks, store
 * the pages as runs; and the reverse.  Callers hold ctx->lock.
 */
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/interval_tree_generic.h>
#include <linux/mm.h>
#include <linux/backing-dev.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"
#include "trace.h"

#define MEMPIN_START(reg) ((reg)->first)
#define MEMPIN_LAST(reg) ((reg)->last)
/*
 * Static, and account.c walks the tree through the two functions below:
 * from 7.x the macro also gives its helper mempin_itree_subtree_search()
 * the scope passed, and a non-static one would have no prototype.
 */
INTERVAL_TREE_DEFINE(struct mempin_region, va_node, unsigned long, subtree_last,
		     MEMPIN_START, MEMPIN_LAST, static inline, mempin_itree)

struct mempin_region *
mempin_it_iter_first(struct rb_root_cached *root, unsigned long first,
		     unsigned long last)
{
	return mempin_itree_iter_first(root, first, last);
}

struct mempin_region *
mempin_it_iter_next(struct mempin_region *reg, unsigned long first,
		    unsigned long last)
{
	return mempin_itree_iter_next(reg, first, last);
}

/*
 * Writes to such a mapping must go through the filesystem's dirty tracking
 * (page_mkwrite, writeback); a long-term writable pin bypasses it.  The same
 * test as the kernel's vma_needs_dirty_tracking() from 6.5 on.
 */
static bool mempin_vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	const struct vm_operations_struct *ops = vma->vm_ops;

	if (!(vma->vm_flags & VM_SHARED) || !vma->vm_file ||
	    is_vm_hugetlb_page(vma))
		return false;
	if (ops && (ops->page_mkwrite || ops->pfn_mkwrite))
		return true;
	return mapping_can_writeback(vma->vm_file->f_mapping);
}

/* The errno for a mapping a long-term pin must refuse, or 0. */
static int mempin_vma_refusal(struct vm_area_struct *vma, bool writable)
{
	vm_flags_t flags = vma->vm_flags;

	if (flags & (VM_IO | VM_PFNMAP))
		return -EFAULT;
	if (vma_is_fsdax(vma))
		return -EOPNOTSUPP;
	if (!(flags & (writable ? VM_WRITE : VM_READ)))
		return -EFAULT;
	if (writable && mempin_vma_needs_dirty_tracking(vma))
		return -EFAULT;
	/*
	 * Before 6.2 a read-only pin of a copy-on-write mapping may pin a page
	 * that a later write replaces.  By the kernel's own definition: a
	 * MAP_SHARED mapping of a file opened O_RDONLY has no VM_SHARED, but
	 * it is no COW mapping either (no VM_MAYWRITE).
	 */
	if (!writable && mempin_is_cow_mapping(flags) &&
	    !MEMPIN_HAVE_READONLY_COW)
		return -EFAULT;
	return 0;
}

/*
 * Every page of [start, end) must be mapped by a mapping that may be
 * long-term pinned.  GUP refuses most of these itself, but with errnos and
 * rules that vary by kernel; checking here makes them the same everywhere.
 * The caller holds mmap_lock.
 */
static int mempin_check_vmas(struct mm_struct *mm, unsigned long start,
			     unsigned long end, bool writable)
{
	struct vm_area_struct *vma;
	unsigned long addr = start;
	int ret = 0;

	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr)
			return -EFAULT;
		ret = mempin_vma_refusal(vma, writable);
		if (ret)
			return ret;
		addr = vma->vm_end;
	}
	return 0;
}

static int mempin_check_mappings(struct mm_struct *mm, unsigned long start,
				 unsigned long end, bool writable)
{
	int ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	ret = mempin_check_vmas(mm, start, end, writable);
	mmap_read_unlock(mm);
	return ret;
}

/*
 * Where the mapping itself decides whether a pin may be taken and the pinned
 * page cannot tell (a read-only pin before 6.2: a page cache page looks the
 * same in a shared and in a private mapping), the check and GUP must see the
 * same mappings: both run under one mmap_read_lock, chunk by chunk, so that
 * a racing munmap() + mmap() cannot slip a COW mapping in between.
 */
static int mempin_pin_checked(struct mm_struct *mm, unsigned long addr,
			      int nr, unsigned int gup_flags,
			      struct page **pages)
{
	long got;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	got = mempin_check_vmas(mm, addr, addr + ((unsigned long)nr << PAGE_SHIFT),
				gup_flags & FOLL_WRITE);
	if (!got)
		got = mempin_pin_user_pages_locked(addr, nr, gup_flags, pages);
	mmap_read_unlock(mm);
	return got;
}

/*
 * Before 6.5, GUP pins pages of a dirty-tracked shared file mapping without
 * complaint, and the mapping may have changed since mempin_check_mappings()
 * looked.  So there mempin also checks what was actually pinned, once per
 * compound page (a THP costs one check, not 512).  shmem (tmpfs, memfd,
 * SysV shm) passes as in mempin_vma_needs_dirty_tracking(): its superblock
 * keeps noop_backing_dev_info, which cannot write back (5.10 to 7.x; and
 * shmem_mapping() is not exported on 5.10).
 */
static bool mempin_page_needs_dirty_tracking(struct page *head)
{
	struct address_space *mapping;

	if (PageAnon(head) || PageHuge(head))
		return false;
	mapping = mempin_page_mapping(head);
	return mapping && mapping_can_writeback(mapping);
}

/* Struct pages [lo, hi) belong to a compound page already checked. */
struct mempin_checked {
	struct page *lo, *hi;
};

static void mempin_runs_free(struct mempin_region *pin)
{
	if (pin->runs != pin->runs_inline)
		kvfree(pin->runs);
}

/* Moves the runs to an array of @cap entries (>= nruns). */
static int mempin_runs_move(struct mempin_region *pin, unsigned int cap)
{
	u64 *runs = pin->runs_inline;

	/*
	 * The caller gets ENOMEM: no "vmalloc error" report in the log for
	 * a failure a user can cause (a memcg at its limit).
	 */
	if (cap > MEMPIN_INLINE_RUNS) {
		runs = kvmalloc_array(cap, sizeof(*runs),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!runs)
			return -ENOMEM;
	}
	memcpy(runs, pin->runs, pin->nruns * sizeof(*runs));
	mempin_runs_free(pin);
	pin->runs = runs;
	pin->runs_cap = cap;
	return 0;
}

static int mempin_runs_grow(struct mempin_region *pin)
{
	unsigned int cap = max_t(unsigned int, 2 * pin->runs_cap, 64);

	return mempin_runs_move(pin, min_t(unsigned long, cap, pin->npages));
}

/*
 * Appends @n freshly pinned pages (one GUP chunk) to @pin's runs.  On
 * failure the pages not appended are unpinned here; those appended go with
 * the runs.
 *
 * Where pinned pages need looking at, once per compound page (a THP costs
 * one look, not 512): for writable pins before 6.5 the mapping (-EFAULT);
 * when @watch, the reference count against MEMPIN_REF_CEILING (-EOVERFLOW;
 * a large folio's count is its head's).  Otherwise the pages GUP returned
 * are only compared with the expected struct page pointers: no pfn
 * arithmetic per page.
 */
static int mempin_add_pages(struct mempin_region *pin, struct page **pages,
			    unsigned long n, bool watch)
{
	bool check = MEMPIN_CHECK_PINNED_PAGES && pin->writable;
	/*
	 * Consecutive struct pages are consecutive pfns inside a compound
	 * page, and anywhere with a virtually contiguous memmap
	 * (SPARSEMEM_VMEMMAP, as x86-64 and arm64 have): there, with nothing
	 * to look at, a page costs one pointer compare.
	 */
	bool by_compound = check || watch ||
			   !IS_ENABLED(CONFIG_SPARSEMEM_VMEMMAP);
	u64 *run = pin->nruns ? &pin->runs[pin->nruns - 1] : NULL;
	struct page *next = run ? pfn_to_page(mempin_run_pfn(*run) +
					      mempin_run_pages(*run)) : NULL;
	struct mempin_checked ok = { NULL, NULL };
	unsigned long i = 0;
	int ret = 0;

	while (i < n) {
		struct page *page = pages[i];
		unsigned long j, limit = n - i;

		if (by_compound) {
			if (page < ok.lo || page >= ok.hi) {
				struct page *head = compound_head(page);

				if (watch && page_ref_count(head) >
					     MEMPIN_REF_CEILING) {
					ret = -EOVERFLOW;
					break;
				}
				if (check &&
				    mempin_page_needs_dirty_tracking(head)) {
					ret = -EFAULT;
					break;
				}
				ok.lo = head;
				ok.hi = head + compound_nr(head);
			}
			limit = min_t(unsigned long, limit, ok.hi - page);
		}
		/* pages[i, i + j) are page, page + 1, ... */
		for (j = 1; j < limit && pages[i + j] == page + j; j++)
			;
		if (run && (IS_ENABLED(CONFIG_SPARSEMEM_VMEMMAP) ? page == next :
			    page_to_pfn(page) == page_to_pfn(next)) &&
		    (*run & MEMPIN_RUN_LEN_MASK) + j <= MEMPIN_RUN_LEN_MASK) {
			*run += j;
		} else {
			if (pin->nruns == pin->runs_cap) {
				ret = mempin_runs_grow(pin);
				if (ret)
					break;
			}
			run = &pin->runs[pin->nruns++];
			*run = (u64)page_to_pfn(page) << MEMPIN_RUN_LEN_BITS |
			       (j - 1);
		}
		next = page + j;
		i += j;
	}
	if (ret)
		unpin_user_pages(pages + i, n - i);
	return ret;
}

/*
 * Unpins every run; @batch is a chunk of scratch page pointers.  A run of
 * one page (scattered small pages) goes into a batch for one call per 512
 * of them: per-call overhead would otherwise dominate its cost.
 */
static void mempin_unpin_runs(struct mempin_region *pin, bool dirty,
			      struct page **batch)
{
	unsigned long since_resched = 0;
	unsigned int i, n = 0;

	for (i = 0; i < pin->nruns; i++) {
		u64 run = pin->runs[i];
		struct page *page = pfn_to_page(mempin_run_pfn(run));

		since_resched += mempin_run_pages(run);
		if (since_resched >= MEMPIN_CHUNK_PAGES) {
			since_resched = 0;
			cond_resched();
		}
		if (mempin_run_pages(run) > 1) {
			mempin_unpin_contig(page, mempin_run_pages(run), dirty);
			continue;
		}
		batch[n++] = page;
		if (n == MEMPIN_CHUNK_PAGES) {
			unpin_user_pages_dirty_lock(batch, n, dirty);
			n = 0;
		}
	}
	if (n)
		unpin_user_pages_dirty_lock(batch, n, dirty);
}

/* Pins all of @pin's pages, or none (-EINTR on a fatal signal). */
static int mempin_gup(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	unsigned int gup_flags = FOLL_LONGTERM | (pin->writable ? FOLL_WRITE : 0);
	bool checked = !pin->writable && !MEMPIN_HAVE_READONLY_COW;
	unsigned long addr = pin->first << PAGE_SHIFT;
	unsigned long left = pin->npages;
	bool watch = mempin_refs_watched();
	int ret = 0;

	BUILD_BUG_ON(BITS_PER_LONG == 64 &&
		     MAX_PHYSMEM_BITS - PAGE_SHIFT > 64 - MEMPIN_RUN_LEN_BITS);
	while (left) {
		int nr = min_t(unsigned long, left, MEMPIN_CHUNK_PAGES);
		int got;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (checked)
			got = mempin_pin_checked(ctx->mm, addr, nr, gup_flags,
						 ctx->scratch);
		else
			got = pin_user_pages_fast(addr, nr, gup_flags,
						  ctx->scratch);
		if (got <= 0) {
			ret = got ? got : -EFAULT;
			break;
		}
		ret = mempin_add_pages(pin, ctx->scratch, got, watch);
		if (ret)
			break;
		addr += (unsigned long)got << PAGE_SHIFT;
		left -= got;
		cond_resched();
	}
	if (ret) {
		mempin_unpin_runs(pin, false, ctx->scratch);
		pin->nruns = 0;
	}
	return ret;
}

static void mempin_insert(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	struct rb_node **link = &ctx->handles.rb_node, *parent = NULL;

	/* Handles only grow, so the new pin always goes rightmost. */
	while (*link) {
		parent = *link;
		link = &parent->rb_right;
	}
	rb_link_node(&pin->handle_node, parent, link);
	rb_insert_color(&pin->handle_node, &ctx->handles);
	mempin_itree_insert(pin, &ctx->ranges);
}

/*
 * The container's counters change only here, under its lock; fdinfo reads
 * them without it.  The system-wide pin count follows.
 */
static void mempin_ctx_add(struct mempin_ctx *ctx, s64 pins, s64 pages)
{
	WRITE_ONCE(ctx->npins, ctx->npins + pins);
	WRITE_ONCE(ctx->npages, ctx->npages + pages);
	atomic64_add(pins, &mempin_totals.pins);
}

static void mempin_free(struct mempin_region *pin)
{
	mempin_runs_free(pin);
	kfree(pin);
}

/* A small runs array the spare region keeps: 64 runs, 512 bytes. */
#define MEMPIN_SPARE_RUNS	64

/*
 * A cleared region, its runs empty.  A pin+unpin loop reuses one region
 * (and a small runs array with it): no allocation, and no memcg charge and
 * uncharge, which cost as much as the rest of the bookkeeping.  The spare
 * stays charged meanwhile.
 */
static struct mempin_region *mempin_region_get(struct mempin_ctx *ctx)
{
	struct mempin_region *reg = ctx->spare;
	unsigned int cap;
	u64 *runs;

	if (!reg) {
		reg = kzalloc(sizeof(*reg), GFP_KERNEL_ACCOUNT);
		if (!reg)
			return NULL;
		reg->runs = reg->runs_inline;
		reg->runs_cap = MEMPIN_INLINE_RUNS;
		return reg;
	}
	ctx->spare = NULL;
	runs = reg->runs;
	cap = reg->runs_cap;
	memset(reg, 0, sizeof(*reg));
	reg->runs = runs == reg->runs_inline ? reg->runs_inline : runs;
	reg->runs_cap = cap;
	return reg;
}

static void mempin_region_put(struct mempin_ctx *ctx,
			      struct mempin_region *reg)
{
	if (!ctx->spare && reg->runs_cap <= MEMPIN_SPARE_RUNS)
		ctx->spare = reg;
	else
		mempin_free(reg);
}

/*
 * Pins every page that [addr, addr + len) touches (the range is valid user
 * memory: the caller checked), all or nothing.  The pin charges all its
 * pages, whatever other pins hold: references cost budget like memory.
 */
int mempin_pin_range(struct mempin_ctx *ctx, u64 addr, u64 len, bool readonly,
		     struct mempin_region **pinp)
{
	unsigned long first = addr >> PAGE_SHIFT;
	unsigned long last = (addr + len - 1) >> PAGE_SHIFT;
	unsigned long npages = last - first + 1;
	struct mempin_region *pin;
	int ret;

	/* The limits MEMPIN_IOC_INFO reports as max_pin_pages, max_overlap. */
	if (npages > MEMPIN_MAX_PIN_PAGES || npages > totalram_pages() ||
	    mempin_count_overlap(ctx, first, last) > MEMPIN_MAX_OVERLAP) {
		mempin_count_refusal(MEMPIN_REFUSED_LIMIT, npages, NULL);
		return -ENOMEM;
	}
	ret = mempin_check_mappings(ctx->mm, first << PAGE_SHIFT,
				    (last + 1) << PAGE_SHIFT, !readonly);
	if (ret) {
		if (ret != -EINTR)
			mempin_count_refusal(MEMPIN_REFUSED_MAPPING, npages,
					     NULL);
		return ret;
	}

	pin = mempin_region_get(ctx);
	if (!pin)
		return -ENOMEM;
	pin->first = first;
	pin->last = last;
	pin->addr = addr;
	pin->len = len;
	pin->npages = npages;
	pin->writable = !readonly;

	ret = mempin_cap_reserve(npages);
	if (ret)
		goto out_free;
	ret = mempin_charge(ctx, pin);
	if (ret)
		goto out_cap;
	ret = mempin_gup(ctx, pin);
	if (ret == -EOVERFLOW) {
		mempin_count_refusal(MEMPIN_REFUSED_LIMIT, npages, NULL);
		ret = -ENOMEM;
		goto out_uncharge;
	}
	if (ret) {
		if (ret != -EINTR)
			mempin_count_refusal(MEMPIN_REFUSED_GUP, npages, NULL);
		goto out_uncharge;
	}

	pin->handle = ++ctx->last_handle;
	mempin_insert(ctx, pin);
	mempin_ctx_add(ctx, 1, npages);
	*pinp = pin;
	return 0;

out_uncharge:
	mempin_uncharge(ctx, pin);
out_cap:
	mempin_cap_release(npages);
out_free:
	mempin_region_put(ctx, pin);
	return ret;
}

/* Never fails and never allocates: unpinning needs nothing new. */
void mempin_unpin(struct mempin_ctx *ctx, struct mempin_region *pin)
{
	rb_erase(&pin->handle_node, &ctx->handles);
	mempin_itree_remove(pin, &ctx->ranges);
	mempin_unpin_runs(pin, pin->writable, ctx->scratch);
	mempin_uncharge(ctx, pin);
	mempin_cap_release(pin->npages);
	mempin_ctx_add(ctx, -1, -(s64)pin->npages);
	mempin_region_put(ctx, pin);
}

struct mempin_region *mempin_find_handle(struct mempin_ctx *ctx, u64 handle)
{
	struct rb_node *node = ctx->handles.rb_node;

	while (node) {
		struct mempin_region *pin = rb_entry(node, struct mempin_region,
						  handle_node);

		if (handle < pin->handle)
			node = node->rb_left;
		else if (handle > pin->handle)
			node = node->rb_right;
		else
			return pin;
	}
	return NULL;
}

struct mempin_region *mempin_find_range(struct mempin_ctx *ctx, u64 addr, u64 len)
{
	unsigned long first = addr >> PAGE_SHIFT;
	struct mempin_region *pin;

	for (pin = mempin_it_iter_first(&ctx->ranges, first, first); pin;
	     pin = mempin_it_iter_next(pin, first, first))
		if (pin->addr == addr && pin->len == len)
			return pin;
	return NULL;
}

/*
 * Unpins and uncharges everything: at the last close, or when the address
 * space goes (mm.c).  Either way no ioctl can reach the container any more.
 */
void mempin_release_all(struct mempin_ctx *ctx)
{
	struct mempin_region *pin, *next;

	trace_release(pid_nr(ctx->owner), ctx->npins, ctx->npages,
		      ctx->npages);
	rbtree_postorder_for_each_entry_safe(pin, next, &ctx->handles,
					     handle_node) {
		mempin_unpin_runs(pin, pin->writable, ctx->scratch);
		mempin_uncharge_cgroup(ctx, pin);
		mempin_free(pin);
		cond_resched();
	}
	if (ctx->spare)
		mempin_free(ctx->spare);
	ctx->spare = NULL;
	mempin_uncharge_rlimit(ctx, ctx->npages);
	mempin_cap_release(ctx->npages);
	ctx->handles = RB_ROOT;
	ctx->ranges = RB_ROOT_CACHED;
	mempin_ctx_add(ctx, -(s64)ctx->npins, -(s64)ctx->npages);
}
