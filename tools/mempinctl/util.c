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
#include <stdarg.h>
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

/*
 * Sizes as util-linux's tables show them (lsblk, findmnt): 1024-based, one
 * letter, one decimal unless it is 0: "512B", "4K", "1.5M", "16E".
 */
const char *fmt_size(uint64_t b, char *buf, size_t len)
{
	static const char unit[] = "KMGTPE";
	double v = (double)b;
	size_t dot;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", b);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f", v);
	dot = strcspn(buf, ".,");
	if (!strcmp(buf + dot + (buf[dot] != 0), "0"))
		buf[dot] = 0;
	snprintf(buf + strlen(buf), len - strlen(buf), "%c", unit[u]);
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
 * SIZE as util-linux parses sizes (lsblk, fallocate): a whole number of
 * bytes, optionally followed by K, M, G, T, P or E (either case), alone or
 * with iB for powers of 1024 (K = KiB = 1024) or with B for powers of 1000
 * (KB = 1000); or a number of pages, with p or pages (mempin's own).  No
 * sign, no blanks, no fractions; false also on overflow.
 */
bool parse_size(const char *s, uint64_t page_size, uint64_t *bytes)
{
	static const char units[] = "KMGTPE";
	uint64_t v, mult = 1, base;
	const char *u;
	char *end;
	int i;

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
		end++;
		if (!*end || !strcmp(end, "iB") || !strcmp(end, "ib"))
			base = 1024;
		else if (!strcmp(end, "B") || !strcmp(end, "b"))
			base = 1000;
		else
			return false;
		for (i = 0; i <= u - units; i++)
			mult *= base;
	}
	if (v && mult > UINT64_MAX / v)
		return false;
	*bytes = v * mult;
	return true;
}

/* A usage error: what is wrong, where to look, exit status 2. */
void usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vwarnx(fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "Try '%s --help' for more information.\n",
		program_invocation_short_name);
	exit(EXIT_USAGE);
}

void *xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p)
		errx(EXIT_FAIL, "out of memory");
	return p;
}
