// SPDX-License-Identifier: GPL-2.0
/* 5.6+: unpin one page; the fallback when ranges cannot be unpinned. */
#include <linux/mm.h>
#include <linux/module.h>

void probe(struct page *page);
void probe(struct page *page)
{
	unpin_user_page(page);
}
MODULE_LICENSE("GPL");
