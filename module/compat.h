/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels mempin supports.  API differences come
 * from compile probes (compat_probed.h); the two behaviour differences below
 * cannot be probed and use the version that introduced them, in the safe
 * direction: a backport only makes mempin check something twice.
 */
#ifndef MEMPIN_COMPAT_H
#define MEMPIN_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>
#include "compat_probed.h"

/*
 * Before 6.5 the kernel lets a writable long-term pin reach pages of a
 * dirty-tracked shared file mapping; mempin refuses them itself.
 */
#define MEMPIN_KERNEL_REFUSES_DIRTY_TRACKED \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0))

/*
 * From 6.2 a read-only long-term pin of a private (COW) mapping unshares the
 * page first (gup_must_unshare), so the pin stays coherent with later
 * writes.  Before, mempin refuses such pins.
 */
#define MEMPIN_HAVE_READONLY_COW \
	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0))

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

#ifndef MEMPIN_HAVE_VMA_IS_FSDAX
#error "mempin: vma_is_fsdax() not found (see module/probes)"
#endif

#endif /* MEMPIN_COMPAT_H */
