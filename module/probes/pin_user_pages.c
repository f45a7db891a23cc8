// SPDX-License-Identifier: GPL-2.0
/* 6.5+: pin_user_pages() (mmap_lock held) without the vmas array. */
#include <linux/mm.h>
#include <linux/module.h>

long probe(unsigned long start, struct page **pages);
long probe(unsigned long start, struct page **pages)
{
	return pin_user_pages(start, 1, FOLL_LONGTERM, pages);
}
MODULE_LICENSE("GPL");
