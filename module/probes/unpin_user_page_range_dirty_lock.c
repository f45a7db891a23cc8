// SPDX-License-Identifier: GPL-2.0
/* 5.12+: unpin a physically contiguous range, folio by folio. */
#include <linux/mm.h>
#include <linux/module.h>

void probe(struct page *page);
void probe(struct page *page)
{
	unpin_user_page_range_dirty_lock(page, 1, true);
}
MODULE_LICENSE("GPL");
