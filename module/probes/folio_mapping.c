// SPDX-License-Identifier: GPL-2.0
/* 5.16+: the address_space of a folio (page_mapping() goes away later). */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>

struct address_space *probe(struct page *page);
struct address_space *probe(struct page *page)
{
	return folio_mapping(page_folio(page));
}
MODULE_LICENSE("GPL");
