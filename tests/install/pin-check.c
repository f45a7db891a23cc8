// SPDX-License-Identifier: GPL-2.0
/*
 * pin-check: what a user gets from an installed mempin.  make check-install
 * compiles it inside the guest exactly as a user would:
 *     cc pin-check.c $(pkg-config --cflags --libs libmempin)
 *
 *   pin-check limit KIB   RLIMIT_MEMLOCK must be KIB (set by limits.d);
 *                         pinning up to it works, one page more is ENOMEM
 *   pin-check eacces      mempin_open() must fail with EACCES
 *
 * Exit status 0 when everything is as expected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mempin.h>

static int failed;

#define expect(cond, ...)                                         \
	do {                                                      \
		if (cond) {                                       \
			printf("pin-check: ok   ");               \
		} else {                                          \
			printf("pin-check: FAIL ");               \
			failed = 1;                               \
		}                                                 \
		printf(__VA_ARGS__);                              \
		putchar('\n');                                    \
	} while (0)

static long vm_pin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int check_eacces(void)
{
	struct mempin *mp;
	int ret = mempin_open(&mp, 0);

	expect(ret == -EACCES, "uid %d: mempin_open() = %d (%s), want -EACCES",
	       (int)getuid(), ret, ret < 0 ? strerror(-ret) : "opened");
	if (ret == 0)
		mempin_close(mp);
	return failed;
}

static int check_limit(unsigned long want_kb)
{
	struct mempin_stats st;
	struct rlimit rl;
	struct mempin *mp;
	uint64_t h1 = 0, h2 = 0, h3 = 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), lim, half;
	char *buf;
	int ret;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
		return perror("getrlimit"), 1;
	expect(rl.rlim_cur == want_kb * 1024,
	       "RLIMIT_MEMLOCK = %llu KiB (limits.d), want %lu KiB",
	       (unsigned long long)rl.rlim_cur / 1024, want_kb);
	if (failed)
		return 1;
	lim = rl.rlim_cur;
	half = lim / 2 / page * page;

	ret = mempin_open(&mp, 0);
	expect(ret == 0, "uid %d (group mempin): mempin_open() = %d", (int)getuid(), ret);
	if (ret)
		return 1;
	buf = mmap(NULL, lim + 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return perror("mmap"), 1;
	memset(buf, 0x5a, lim + 2 * page);

	ret = mempin_pin(mp, buf, half, 0, &h1);
	expect(ret == 0, "pin %zu KiB (half the limit) = %d", half / 1024, ret);
	ret = mempin_pin(mp, buf + half, lim - half, 0, &h2);
	expect(ret == 0, "pin %zu KiB more (up to the limit) = %d", (lim - half) / 1024, ret);
	expect(vm_pin_kb() == (long)(lim / 1024), "VmPin = %ld kB, want %zu",
	       vm_pin_kb(), lim / 1024);
	ret = mempin_pin(mp, buf + lim, page, 0, &h3);
	expect(ret == -ENOMEM, "one page past RLIMIT_MEMLOCK = %d (%s), want -ENOMEM",
	       ret, ret < 0 ? strerror(-ret) : "pinned");
	ret = mempin_stats(mp, &st);
	expect(ret == 0 && st.pins == 2 && st.charged_pages == lim / page,
	       "stats: %llu pins, %llu charged pages, want 2 and %zu",
	       (unsigned long long)st.pins, (unsigned long long)st.charged_pages,
	       lim / page);
	expect(mempin_unpin(mp, h1) == 0 && mempin_unpin(mp, h2) == 0, "unpin both");
	expect(vm_pin_kb() == 0, "VmPin = %ld kB after unpinning", vm_pin_kb());
	mempin_close(mp);
	munmap(buf, lim + 2 * page);
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "limit") == 0)
		return check_limit(strtoul(argv[2], NULL, 0));
	if (argc == 2 && strcmp(argv[1], "eacces") == 0)
		return check_eacces();
	fprintf(stderr, "usage: %s limit KIB | eacces\n", argv[0]);
	return 2;
}
