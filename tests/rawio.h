/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rawio: the mempin ioctls issued directly (no libmempin), each returning
 * 0 or -errno.
 */
#ifndef MEMPIN_TESTS_RAWIO_H
#define MEMPIN_TESTS_RAWIO_H

#include <stddef.h>
#include <stdint.h>
#include <linux/mempin.h>

#include "kview.h"

#define MEMPIN_DEV "/dev/mempin"

/* Opens /dev/mempin read-write, O_CLOEXEC: fd or -errno. */
int mp_open(void);
/* ck_asserts success. */
int xmp_open(void);
void xclose(int fd);

int mp_ioctl(int fd, unsigned long cmd, void *arg);
int mp_pin(int fd, const void *addr, size_t len, unsigned int flags,
	   uint64_t *handle, uint64_t *pages);
int mp_unpin(int fd, uint64_t handle);
int mp_unpin_range(int fd, const void *addr, size_t len);
int mp_stats(int fd, struct mempin_stats_arg *st);
int mp_info(int fd, struct mempin_info_arg *info);
int mp_pin_batch(int fd, struct mempin_pin_entry *r, unsigned int count,
		 unsigned int *done);
int mp_unpin_batch(int fd, uint64_t *h, unsigned int count,
		   unsigned int *done);

/* Test-process conveniences (ck_assert on failure). */
uint64_t xpin(int fd, const void *addr, size_t len, unsigned int flags);
void xunpin(int fd, uint64_t handle);
void xstats(int fd, struct mempin_stats_arg *st);
void xinfo(int fd, struct mempin_info_arg *info);

/* Asserts the container's pins / pages / charged_pages. */
#define ASSERT_STATS(fd, p, n, c) do { \
	struct mempin_stats_arg _st; xstats((fd), &_st); \
	ck_assert_uint_eq(_st.pins, (p)); \
	ck_assert_uint_eq(_st.pages, (n)); \
	ck_assert_uint_eq(_st.charged_pages, (c)); } while (0)

/* Asserts VmPin == base + pages * 4 kB. */
#define ASSERT_VMPIN(base, pages) \
	ck_assert_int_eq(kv_vmpin_kb(0), (long)(base) + (long)(pages) * (long)(PG / 1024))

#endif
