// SPDX-License-Identifier: GPL-2.0
/* Before 6.5: pin_user_pages() (mmap_lock held) also takes a vmas array. */
#include <linux/mm.h>
#include <linux/module.h>

long probe(unsigned long start, struct page **pages);
long probe(unsigned long start, struct page **pages)
{
	return pin_user_pages(start, 1, FOLL_LONGTERM, pages, NULL);
}
MODULE_LICENSE("GPL");
