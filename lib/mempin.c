// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libmempin: a thin wrapper around the /dev/mempin ioctls.  See libmempin(3).
 *
 * The only state is the container's file descriptor, which never changes
 * between mempin_open() and mempin_close(), so every call may run
 * concurrently with any other on the same container.  Every exported
 * function leaves errno as it found it.
 */
#define _GNU_SOURCE		/* secure_getenv() */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mempin.h"

/* The first published (v1) sizes: what this library sends. */
_Static_assert(sizeof(struct mempin_info_arg) == 48, "mempin_info v1");
_Static_assert(sizeof(struct mempin_pin_arg) == 40, "mempin_pin v1");
_Static_assert(sizeof(struct mempin_unpin_arg) == 32, "mempin_unpin v1");
_Static_assert(sizeof(struct mempin_stats_arg) == 32, "mempin_stats v1");
_Static_assert(sizeof(struct mempin_pin_entry) == 32, "mempin_range v1");
_Static_assert(sizeof(struct mempin_batch_arg) == 32, "mempin_batch v1");
_Static_assert(sizeof(uint64_t) == sizeof(__u64), "unpin batch entry");

#define MEMPIN_EXPORT __attribute__((visibility("default")))

#define MEMPIN_DEFAULT_DEVICE	"/dev/mempin"
/* Entries converted on the stack per PIN_BATCH ioctl (4 KiB). */
#define PIN_CHUNK		128U
/* Most entries the kernel takes in one batch ioctl (see mempin(4)). */
#define UNPIN_CHUNK		65536U

struct mempin {
	int fd;			/* set once by mempin_open() */
};

/* ioctl() returning 0 or -errno, leaving errno alone. */
static int mp_ioctl(int fd, unsigned long req, void *arg)
{
	int saved = errno;
	int ret = 0;

	if (ioctl(fd, req, arg) < 0)
		ret = errno > 0 ? -errno : -EIO;
	errno = saved;
	return ret;
}

MEMPIN_EXPORT int mempin_open(struct mempin **mpp, unsigned int flags)
{
	struct mempin_info_arg ki;
	struct mempin *mp;
	const char *path;
	int saved = errno;
	int ret;

	if (!mpp)
		return -EINVAL;
	*mpp = NULL;
	if (flags)
		return -EINVAL;

	path = secure_getenv("MEMPIN_DEVICE");
	if (!path || !*path)
		path = MEMPIN_DEFAULT_DEVICE;

	mp = malloc(sizeof(*mp));
	if (!mp) {
		errno = saved;
		return -ENOMEM;
	}
	mp->fd = open(path, O_RDWR | O_CLOEXEC);
	if (mp->fd < 0) {
		ret = errno > 0 ? -errno : -EIO;
		goto fail;
	}

	/* Fails with ENOTTY if the file is not a mempin device. */
	memset(&ki, 0, sizeof(ki));
	ki.size = sizeof(ki);
	ret = mp_ioctl(mp->fd, MEMPIN_IOC_INFO, &ki);
	if (ret) {
		close(mp->fd);
		goto fail;
	}

	*mpp = mp;
	errno = saved;
	return 0;
fail:
	free(mp);
	errno = saved;
	return ret;
}

MEMPIN_EXPORT void mempin_close(struct mempin *mp)
{
	int saved = errno;

	if (!mp)
		return;
	/* The last reference going unpins and uncharges everything. */
	close(mp->fd);
	free(mp);
	errno = saved;
}

MEMPIN_EXPORT int mempin_fd(const struct mempin *mp)
{
	return mp ? mp->fd : -EINVAL;
}

MEMPIN_EXPORT int mempin_pin(struct mempin *mp, const void *addr, size_t len,
			     unsigned int flags, uint64_t *handle)
{
	struct mempin_pin_arg p;
	int ret;

	if (!mp)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	p.size = sizeof(p);
	p.flags = flags;
	p.addr = (uintptr_t)addr;
	p.len = len;
	ret = mp_ioctl(mp->fd, MEMPIN_IOC_PIN, &p);
	if (!ret && handle)
		*handle = p.handle;
	return ret;
}

MEMPIN_EXPORT int mempin_unpin(struct mempin *mp, uint64_t handle)
{
	struct mempin_unpin_arg u;

	if (!mp)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.handle = handle;
	return mp_ioctl(mp->fd, MEMPIN_IOC_UNPIN, &u);
}

MEMPIN_EXPORT int mempin_unpin_range(struct mempin *mp, const void *addr,
				     size_t len)
{
	struct mempin_unpin_arg u;

	if (!mp)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.flags = MEMPIN_UNPIN_BY_RANGE;
	u.addr = (uintptr_t)addr;
	u.len = len;
	return mp_ioctl(mp->fd, MEMPIN_IOC_UNPIN, &u);
}

MEMPIN_EXPORT int mempin_stats(struct mempin *mp, struct mempin_stats *st)
{
	struct mempin_stats_arg ks;
	int ret;

	if (!mp)
		return -EINVAL;
	if (!st)
		return -EFAULT;
	memset(&ks, 0, sizeof(ks));
	ks.size = sizeof(ks);
	ret = mp_ioctl(mp->fd, MEMPIN_IOC_STATS, &ks);
	if (ret)
		return ret;
	st->pins = ks.pins;
	st->pages = ks.pages;
	st->charged_pages = ks.charged_pages;
	return 0;
}

MEMPIN_EXPORT int mempin_info(struct mempin *mp, struct mempin_info *info)
{
	struct mempin_info_arg ki;
	int ret;

	if (!mp)
		return -EINVAL;
	if (!info)
		return -EFAULT;
	memset(&ki, 0, sizeof(ki));
	ki.size = sizeof(ki);
	ret = mp_ioctl(mp->fd, MEMPIN_IOC_INFO, &ki);
	if (ret)
		return ret;
	info->abi_version = ki.abi_version;
	info->page_size = ki.page_size;
	info->features = ki.features;
	info->max_pin_pages = ki.max_pin_pages;
	info->max_overlap = ki.max_overlap;
	info->cap_pages = ki.cap_pages;
	return 0;
}

/*
 * Both batch calls issue one ioctl per chunk and stop at the first failing
 * one; the kernel stops at the first failing entry of a chunk.  So entries
 * are taken in order and [0, *done) took effect, exactly as one ioctl would
 * report.  A call with count 0 still issues one ioctl, so it reports the
 * same errors (EPERM, ENOTTY) as one with entries.
 */
MEMPIN_EXPORT int mempin_pin_batch(struct mempin *mp,
				   struct mempin_range_req *ranges,
				   unsigned int count, unsigned int *done)
{
	struct mempin_pin_entry buf[PIN_CHUNK];
	struct mempin_batch_arg b;
	unsigned int total = 0, n, i, ok;
	int ret;

	if (done)
		*done = 0;
	if (!mp)
		return -EINVAL;
	if (!ranges && count)
		return -EFAULT;

	do {
		n = count - total < PIN_CHUNK ? count - total : PIN_CHUNK;
		memset(buf, 0, n * sizeof(buf[0]));
		for (i = 0; i < n; i++) {
			const struct mempin_range_req *r = &ranges[total + i];

			buf[i].addr = (uintptr_t)r->addr;
			buf[i].len = r->len;
			buf[i].flags = r->flags;
		}
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.entries = (uintptr_t)buf;
		b.count = n;
		b.entry_size = sizeof(buf[0]);
		ret = mp_ioctl(mp->fd, MEMPIN_IOC_PIN_BATCH, &b);
		ok = ret ? (b.done < n ? b.done : n) : n;
		for (i = 0; i < ok; i++)
			ranges[total + i].handle = buf[i].handle;
		total += ok;
		if (done)
			*done = total;
	} while (!ret && total < count);
	return ret;
}

MEMPIN_EXPORT int mempin_unpin_batch(struct mempin *mp, const uint64_t *handles,
				     unsigned int count, unsigned int *done)
{
	struct mempin_batch_arg b;
	unsigned int total = 0, n, ok;
	int ret;

	if (done)
		*done = 0;
	if (!mp)
		return -EINVAL;
	if (!handles && count)
		return -EFAULT;

	do {
		n = count - total < UNPIN_CHUNK ? count - total : UNPIN_CHUNK;
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.entries = (uintptr_t)handles + (uint64_t)total * sizeof(handles[0]);
		b.count = n;
		b.entry_size = sizeof(handles[0]);
		ret = mp_ioctl(mp->fd, MEMPIN_IOC_UNPIN_BATCH, &b);
		ok = ret ? (b.done < n ? b.done : n) : n;
		total += ok;
		if (done)
			*done = total;
	} while (!ret && total < count);
	return ret;
}
