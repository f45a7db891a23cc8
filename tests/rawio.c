// SPDX-License-Identifier: GPL-2.0
/* rawio: the mempin ioctls issued directly.  See rawio.h.  No Check: the fuzzer links it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rawio.h"

int mp_open(void)
{
	int fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int mp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

int mp_pin(int fd, const void *addr, size_t len, unsigned int flags,
	   uint64_t *handle, uint64_t *pages)
{
	struct mempin_pin_arg p;
	int r;

	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.flags = flags;
	p.addr = (uintptr_t)addr;
	p.len = len;
	r = mp_ioctl(fd, MEMPIN_IOC_PIN, &p);
	if (!r && handle)
		*handle = p.handle;
	if (!r && pages)
		*pages = p.pages;
	return r;
}

int mp_unpin(int fd, uint64_t handle)
{
	struct mempin_unpin_arg u;

	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.handle = handle;
	return mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u);
}

int mp_unpin_range(int fd, const void *addr, size_t len)
{
	struct mempin_unpin_arg u;

	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.flags = MEMPIN_UNPIN_BY_RANGE;
	u.addr = (uintptr_t)addr;
	u.len = len;
	return mp_ioctl(fd, MEMPIN_IOC_UNPIN, &u);
}

int mp_stats(int fd, struct mempin_stats_arg *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return mp_ioctl(fd, MEMPIN_IOC_STATS, st);
}

int mp_info(int fd, struct mempin_info_arg *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return mp_ioctl(fd, MEMPIN_IOC_INFO, info);
}

/* A batch ioctl; *done as the kernel left it (0xdeadbeef if untouched). */
static int mp_batch(int fd, unsigned long cmd, void *entries, unsigned int count,
		    unsigned int entry_size, unsigned int *done)
{
	struct mempin_batch_arg b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.entries = (uintptr_t)entries;
	b.count = count;
	b.entry_size = entry_size;
	b.done = 0xdeadbeef;
	ret = mp_ioctl(fd, cmd, &b);
	if (done)
		*done = b.done;
	return ret;
}

int mp_pin_batch(int fd, struct mempin_pin_entry *r, unsigned int count,
		 unsigned int *done)
{
	return mp_batch(fd, MEMPIN_IOC_PIN_BATCH, r, count, sizeof(*r), done);
}

int mp_unpin_batch(int fd, uint64_t *h, unsigned int count, unsigned int *done)
{
	return mp_batch(fd, MEMPIN_IOC_UNPIN_BATCH, h, count, sizeof(*h), done);
}
