/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libmempin: long-term pinning of user memory through /dev/mempin.
 * See libmempin(3) and mempin(4).
 *
 * Conventions, for every function below:
 *  - the return value is 0 (or a count where stated) on success and a
 *    negative errno value on failure;
 *  - errno is never changed, whether the call succeeds or fails;
 *  - no global state: distinct containers may be used from distinct threads
 *    freely, and one container may be used from several threads at once (the
 *    kernel serializes the operations; the library keeps no mutable state).
 *
 * Structure growth: the structures below may gain fields at their end in a
 * later release.  When one does, the functions taking it get a new symbol
 * version (LIBMEMPIN_2, ...) and the LIBMEMPIN_1 versions stay, still reading
 * and writing exactly the layout documented here, so programs linked against
 * libmempin.so.1 keep working unchanged.  Programs never need to set a size.
 *
 * This header and the kernel ABI header <mempin/linux/mempin.h> both define a
 * struct mempin_stats and struct mempin_info (with different layouts): use
 * one of them per translation unit.
 */
#ifndef LIBMEMPIN_MEMPIN_H
#define LIBMEMPIN_MEMPIN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The kernel ABI: MEMPIN_PIN_READONLY and the MEMPIN_FEATURE_* bits.
 * Installed in mempin's own directory ($includedir/mempin/linux/mempin.h),
 * not in the kernel's uapi headers (linux-libc-dev); in the source tree
 * lib/mempin/linux is a link to uapi/linux.
 */
#include <mempin/linux/mempin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One pin container: an open file description of the mempin device. */
struct mempin;

/*
 * Flags of mempin_pin() and struct mempin_range_req: MEMPIN_PIN_READONLY.
 * Bits of mempin_info.features: MEMPIN_FEATURE_*.  Both from the kernel ABI.
 */

/* A container's totals, from mempin_stats().  May grow at the end. */
struct mempin_stats {
	uint64_t pins;		/* pins held */
	uint64_t pages;		/* page references held by all pins */
	uint64_t charged_pages;	/* pages charged: equals pages (kept for ABI) */
};

/* The device's ABI version, features and limits, from mempin_info(). */
struct mempin_info {
	uint32_t abi_version;	/* MEMPIN ABI version, 1 */
	uint32_t page_size;	/* bytes per page */
	uint64_t features;	/* MEMPIN_FEATURE_* */
	uint64_t max_pin_pages;	/* most pages one pin may touch */
	uint64_t max_overlap;	/* most existing pins one new pin may overlap */
	uint64_t cap_pages;	/* system-wide cap on pinned pages, 0 = none */
};

/* One range of mempin_pin_batch().  May grow at the end. */
struct mempin_range_req {
	const void *addr;	/* in: first byte */
	size_t len;		/* in: bytes, > 0 */
	unsigned int flags;	/* in: MEMPIN_PIN_* */
	uint64_t handle;	/* out: the pin's handle, once pinned */
};

/*
 * Opens a container on $MEMPIN_DEVICE (ignored in secure-execution mode) or
 * /dev/mempin.  flags must be 0.  On failure *mp is set to NULL.
 */
int mempin_open(struct mempin **mp, unsigned int flags);

/* Closes the container: unpins and uncharges everything.  NULL is a no-op. */
void mempin_close(struct mempin *mp);

/* The container's file descriptor (owned by mp; do not close it). */
int mempin_fd(const struct mempin *mp);

/*
 * Pins every page that [addr, addr + len) touches, all or nothing.  The pin's
 * handle, never reused within the container, is stored in *handle unless
 * handle is NULL.
 */
int mempin_pin(struct mempin *mp, const void *addr, size_t len,
	       unsigned int flags, uint64_t *handle);

/* Removes the pin with this handle. */
int mempin_unpin(struct mempin *mp, uint64_t handle);

/* Removes one pin made with exactly this (addr, len). */
int mempin_unpin_range(struct mempin *mp, const void *addr, size_t len);

/* Stores the container's totals in *st. */
int mempin_stats(struct mempin *mp, struct mempin_stats *st);

/* Stores the device's ABI version, features and limits in *info. */
int mempin_info(struct mempin *mp, struct mempin_info *info);

/*
 * Pins ranges[0..count) in order, each all or nothing, stopping at the first
 * failure.  Returns 0 when all are pinned, else the errno of the entry that
 * failed.  *done (unless done is NULL) is always set to the number of entries
 * pinned: ranges[0..*done) hold their handles; ranges[*done] failed.
 */
int mempin_pin_batch(struct mempin *mp, struct mempin_range_req *ranges,
		     unsigned int count, unsigned int *done);

/* Unpins handles[0..count) in the same way; *done counts the unpinned ones. */
int mempin_unpin_batch(struct mempin *mp, const uint64_t *handles,
		       unsigned int count, unsigned int *done);

#ifdef __cplusplus
}
#endif

#endif /* LIBMEMPIN_MEMPIN_H */
