/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels mempin supports, found by compile probes
 * (compat_probed.h, see Kbuild).  Each shim names every variant it knows and
 * fails the build when none compiled, rather than guessing.
 */
#ifndef MEMPIN_COMPAT_H
#define MEMPIN_COMPAT_H

#include <linux/mm.h>
#include <linux/pagemap.h>
#include "compat_probed.h"

#ifndef MEMPIN_HAVE_BASELINE
#error "mempin: probes/baseline.c failed: the probe command is broken (see module/Kbuild)"
#endif

/* Set by Kbuild from the kernel version: behaviour no probe can see. */
#ifdef MEMPIN_READONLY_COW
#define MEMPIN_HAVE_READONLY_COW true
#else
#define MEMPIN_HAVE_READONLY_COW false
#endif
#ifdef MEMPIN_GUP_REFUSES_DIRTY_TRACKED
#define MEMPIN_CHECK_PINNED_PAGES false
#else
#define MEMPIN_CHECK_PINNED_PAGES true
#endif

#if defined(MEMPIN_HAVE_FOLIO_MAPPING)
static inline struct address_space *mempin_page_mapping(struct page *page)
{
	return folio_mapping(page_folio(page));
}
#elif defined(MEMPIN_HAVE_PAGE_MAPPING)
static inline struct address_space *mempin_page_mapping(struct page *page)
{
	return page_mapping(page);
}
#else
#error "mempin: no way to find a page's mapping on this kernel (see module/probes)"
#endif

#if defined(MEMPIN_HAVE_UNPIN_USER_PAGE_RANGE_DIRTY_LOCK)
static inline void mempin_unpin_contig(struct page *page, unsigned long n,
				       bool dirty)
{
	unpin_user_page_range_dirty_lock(page, n, dirty);
}
#elif defined(MEMPIN_HAVE_UNPIN_USER_PAGE)
/* 5.10: page by page, marking dirty as unpin_user_pages_dirty_lock does. */
static inline void mempin_unpin_contig(struct page *page, unsigned long n,
				       bool dirty)
{
	unsigned long pfn = page_to_pfn(page);
	unsigned long i;

	for (i = 0; i < n; i++) {
		struct page *p = pfn_to_page(pfn + i);

		if (dirty && !PageDirty(compound_head(p)))
			set_page_dirty_lock(compound_head(p));
		unpin_user_page(p);
	}
}
#else
#error "mempin: no way to unpin user pages on this kernel (see module/probes)"
#endif

#ifdef MEMPIN_HAVE_IS_COW_MAPPING
static inline bool mempin_is_cow_mapping(vm_flags_t flags)
{
	return is_cow_mapping(flags);
}
#else
/* 5.10 keeps it in mm/internal.h: the same definition. */
static inline bool mempin_is_cow_mapping(vm_flags_t flags)
{
	return (flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE;
}
#endif

/* Slow GUP, under the caller's mmap_read_lock(). */
#if defined(MEMPIN_HAVE_PIN_USER_PAGES_VMAS)
static inline long mempin_pin_user_pages_locked(unsigned long start,
						unsigned long n,
						unsigned int gup_flags,
						struct page **pages)
{
	return pin_user_pages(start, n, gup_flags, pages, NULL);
}
#elif defined(MEMPIN_HAVE_PIN_USER_PAGES)
static inline long mempin_pin_user_pages_locked(unsigned long start,
						unsigned long n,
						unsigned int gup_flags,
						struct page **pages)
{
	return pin_user_pages(start, n, gup_flags, pages);
}
#else
#error "mempin: no pin_user_pages() on this kernel (see module/probes)"
#endif

#ifndef MEMPIN_HAVE_VMA_IS_FSDAX
#error "mempin: vma_is_fsdax() not found (see module/probes)"
#endif

#endif /* MEMPIN_COMPAT_H */
