// SPDX-License-Identifier: GPL-2.0
/* mempinctl: files, numbers, sizes, names.  See util.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mempinctl.h"

/* Reads a small file, without its trailing newline: length or -errno. */
int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	return (int)n;
}

/* Writes s to a sysfs file: 0 or -errno. */
int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Why root-only sysfs writes failed, in words. */
const char *write_error(int r)
{
	return r == -EACCES || r == -EPERM ? "it needs root" : strerror(-r);
}

/* A whole decimal number (no sign, no trailing text). */
bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	int n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	return parse_u64(buf, v) ? 0 : -EINVAL;
}

/* "s" unless n is 1. */
const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* "4.0 KiB", "1.5 GiB", "512 B". */
const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", b);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned int)uid);
	return buf;
}

const char *group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned int)gid);
	return buf;
}

/*
 * SIZE: bytes, with an optional binary suffix K, M, G, T (KiB... and KB...
 * mean the same), or pages with the suffix p.  0 stays 0.
 */
bool parse_size(const char *s, uint64_t page_size, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	uint64_t v, mult = 1;
	const char *u;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (!strcmp(end, "p") || !strcmp(end, "pages")) {
		mult = page_size;
	} else if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return false;
		mult = 1ULL << (10 * (u - units + 1));
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return false;
	}
	if (v && mult > UINT64_MAX / v)
		return false;
	*bytes = v * mult;
	return true;
}

void *xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p)
		errx(EXIT_FAIL, "out of memory");
	return p;
}
