/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mempin: long-term pinning of user memory through /dev/mempin.
 *
 * Every ioctl argument starts with __u32 size and __u32 flags.  The caller
 * sets size to sizeof() the struct it was compiled with; the kernel accepts
 * smaller (down to the first published version, else EINVAL) and larger
 * structs (E2BIG unless the bytes it does not know are zero), so structs can
 * grow at the end.  Ioctl numbers are frozen at the first published struct
 * size: a grown struct keeps its number.  Unknown flags or non-zero reserved
 * fields give EOPNOTSUPP.  See mempin(4).
 */
#ifndef _UAPI_LINUX_MEMPIN_H
#define _UAPI_LINUX_MEMPIN_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define MEMPIN_ABI_VERSION	1

/* Feature bits reported by MEMPIN_IOC_INFO. */
#define MEMPIN_FEATURE_READONLY		_BITULL(0) /* MEMPIN_PIN_READONLY */
#define MEMPIN_FEATURE_BATCH		_BITULL(1) /* PIN_BATCH, UNPIN_BATCH */
#define MEMPIN_FEATURE_UNPIN_RANGE	_BITULL(2) /* MEMPIN_UNPIN_BY_RANGE */
/* Read-only pins of private (copy-on-write) mappings stay coherent. */
#define MEMPIN_FEATURE_READONLY_COW	_BITULL(3)
/* Budgets per cgroup v2 (/sys/class/misc/mempin/cgroup/, mempin(4)). */
#define MEMPIN_FEATURE_CGROUP_BUDGETS	_BITULL(4)

/* MEMPIN_IOC_INFO: ABI version, features and limits.  Out only. */
struct mempin_info_arg {
	__u32 size;
	__u32 flags;			/* in: 0 */
	__u32 abi_version;		/* out: MEMPIN_ABI_VERSION */
	__u32 page_size;		/* out: bytes per page */
	__aligned_u64 features;		/* out: MEMPIN_FEATURE_* */
	__aligned_u64 max_pin_pages;	/* out: largest single pin, pages */
	__aligned_u64 max_overlap;	/* out: pins one new pin may overlap */
	__aligned_u64 cap_pages;	/* out: system-wide cap, 0 = none */
};

/* Flags of struct mempin_pin_arg and struct mempin_pin_entry. */
#define MEMPIN_PIN_READONLY	_BITUL(0) /* pin without write access */

/* MEMPIN_IOC_PIN: pin [addr, addr + len) of the caller's memory. */
struct mempin_pin_arg {
	__u32 size;
	__u32 flags;			/* in: MEMPIN_PIN_* */
	__aligned_u64 addr;		/* in: any byte address */
	__aligned_u64 len;		/* in: bytes, > 0 */
	__aligned_u64 handle;		/* out: never reused in this fd */
	__aligned_u64 pages;		/* out: pages the range touches */
};

/* Flags of struct mempin_unpin_arg. */
#define MEMPIN_UNPIN_BY_RANGE	_BITUL(0) /* match (addr, len), not handle */

/* MEMPIN_IOC_UNPIN: unpin one pin, by handle or by its exact range. */
struct mempin_unpin_arg {
	__u32 size;
	__u32 flags;			/* in: MEMPIN_UNPIN_* */
	__aligned_u64 handle;		/* in: without MEMPIN_UNPIN_BY_RANGE */
	__aligned_u64 addr;		/* in: with MEMPIN_UNPIN_BY_RANGE */
	__aligned_u64 len;		/* in: with MEMPIN_UNPIN_BY_RANGE */
};

/* MEMPIN_IOC_STATS: this container's totals.  Out only. */
struct mempin_stats_arg {
	__u32 size;
	__u32 flags;			/* in: 0 */
	__aligned_u64 pins;		/* pins held */
	__aligned_u64 pages;		/* page references held by all pins */
	__aligned_u64 charged_pages;	/* pages charged: equals pages (ABI) */
};

/* One entry of a batch pin (in: addr, len, flags; out: handle). */
struct mempin_pin_entry {
	__aligned_u64 addr;
	__aligned_u64 len;
	__u32 flags;			/* MEMPIN_PIN_* */
	__u32 reserved;			/* must be 0 */
	__aligned_u64 handle;		/* out */
};

/*
 * MEMPIN_IOC_PIN_BATCH and MEMPIN_IOC_UNPIN_BATCH.  Entries are processed in
 * order and each is all or nothing; processing stops at the first entry that
 * fails.  'done' is always written back: entries [0, done) took effect (their
 * handles are written for a pin), entry 'done' failed with the ioctl's errno,
 * the rest were not looked at.  Retry from 'done' after fixing the cause.
 * Pin entries are struct mempin_pin_entry; unpin entries are __u64 handles.
 */
struct mempin_batch_arg {
	__u32 size;
	__u32 flags;			/* in: 0 */
	__aligned_u64 entries;		/* in: user pointer to the array */
	__u32 count;			/* in: entries in the array */
	__u32 entry_size;		/* in: sizeof one entry */
	__u32 done;			/* out: entries that took effect */
	__u32 reserved;			/* must be 0 */
};

#define MEMPIN_IOC_MAGIC	0xB9

#define MEMPIN_IOC_INFO		_IOWR(MEMPIN_IOC_MAGIC, 0x00, struct mempin_info_arg)
#define MEMPIN_IOC_PIN		_IOWR(MEMPIN_IOC_MAGIC, 0x01, struct mempin_pin_arg)
#define MEMPIN_IOC_UNPIN	_IOW(MEMPIN_IOC_MAGIC, 0x02, struct mempin_unpin_arg)
#define MEMPIN_IOC_STATS	_IOWR(MEMPIN_IOC_MAGIC, 0x03, struct mempin_stats_arg)
#define MEMPIN_IOC_PIN_BATCH	_IOWR(MEMPIN_IOC_MAGIC, 0x04, struct mempin_batch_arg)
#define MEMPIN_IOC_UNPIN_BATCH	_IOWR(MEMPIN_IOC_MAGIC, 0x05, struct mempin_batch_arg)

#endif /* _UAPI_LINUX_MEMPIN_H */
