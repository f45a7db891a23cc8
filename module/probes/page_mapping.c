// SPDX-License-Identifier: GPL-2.0
/* Before folios: the address_space of a page. */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>

struct address_space *probe(struct page *page);
struct address_space *probe(struct page *page)
{
	return page_mapping(page);
}
MODULE_LICENSE("GPL");
