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

#endif
