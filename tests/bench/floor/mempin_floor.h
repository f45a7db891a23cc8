/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mempin_floor: a bench-only helper module (tests/bench/floor), the floor any
 * long-term pin design can reach on a kernel.  Its device /dev/mempin-floor
 * has one ioctl that pins [addr, addr + len) with pin_user_pages_fast(
 * FOLL_WRITE | FOLL_LONGTERM) in 512-page chunks into one kvmalloc'd array,
 * then unpin_user_pages() the lot: no accounting, no bookkeeping, no checks.
 * Never for production: it charges nothing to RLIMIT_MEMLOCK.
 */
#ifndef MEMPIN_FLOOR_H
#define MEMPIN_FLOOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct mempin_floor_arg {
	__u64 addr;	/* in: any byte address */
	__u64 len;	/* in: bytes, > 0 */
	__u64 pages;	/* out: pages pinned and unpinned */
};

#define MEMPIN_FLOOR_PIN_UNPIN	_IOWR(0xBA, 0x00, struct mempin_floor_arg)

#endif /* MEMPIN_FLOOR_H */
