// SPDX-License-Identifier: GPL-2.0
/*
 * Limits under contention (found by make fuzz, phase limits): a charge that
 * fails must never make the counter it is refused by visible above its
 * limit, not even for a moment, nor make a concurrent charge that fits
 * fail.  Threads keep trying pins that cannot fit while one holds nearly
 * the whole limit, and the test reads the counter as fast as it can:
 *  - VmPin (mm->pinned_vm) against RLIMIT_MEMLOCK, unprivileged;
 *  - /sys/class/misc/mempin/stats/pinned_pages against max_pinned_pages.
 * Charging first and undoing over the limit (as ib_umem_get does) shows up
 * here within a second; a compare-and-exchange against the limit never.
 * And a pin of replaced memory, charged like any other and refused before
 * GUP pins anything.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

#define LIMIT		600	/* pages */
#define HOLD		590	/* pinned for the whole test */
#define TRY		20	/* never fits */
#define SECONDS		3
#define PINNED_PAGES	"/sys/class/misc/mempin/stats/pinned_pages"

struct hammer {
	int fd;
	char *mem;
	size_t pages;
	volatile int *stop;
	long refused, other;
};

/* Pins that cannot fit, over and over: each one is charged and refused. */
static void *hammer_main(void *p)
{
	struct hammer *h = p;

	while (!*h->stop) {
		int r = mp_pin(h->fd, h->mem, h->pages * PG, 0, NULL, NULL);

		if (r == -ENOMEM)
			h->refused++;
		else
			h->other++;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long read_counter(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/*
 * Two hammers on a container holding HOLD pages; watch() reads the counter
 * for SECONDS; returns the largest value seen, *reads how often it looked.
 */
static long contend(struct chan *ch, int fd, char *hold, char *try1, char *try2,
		    long (*watch)(void *), void *arg, long *reads, long *refused)
{
	volatile int stop = 0;
	struct hammer h[2] = { { fd, try1, TRY, &stop, 0, 0 },
				{ fd, try2, TRY, &stop, 0, 0 } };
	pthread_t th[2];
	long max = 0, v;
	double end;

	CREQ_EQ(ch, mp_pin(fd, hold, HOLD * PG, 0, NULL, NULL), 0);
	for (int i = 0; i < 2; i++)
		CREQ_EQ(ch, pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	*reads = 0;
	for (end = now() + SECONDS; now() < end; (*reads)++) {
		v = watch(arg);
		if (v > max)
			max = v;
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	*refused = h[0].refused + h[1].refused;
	CREQ_EQ(ch, h[0].other + h[1].other, 0);
	return max;
}

/* One contention run: what is watched, against which limit, by whom. */
struct contention {
	const char *name;		/* of the run, for the summary line */
	const char *watched, *limit;	/* for the failure message */
	long (*watch)(void *arg);	/* pages, as the kernel shows them */
	int sysfs_fd;			/* watch_sysfs's file */
	bool unprivileged;		/* uid 1000, RLIMIT_MEMLOCK = LIMIT pages */
};

static long watch_vmpin(void *arg)
{
	(void)arg;
	return kv_vmpin_kb(0) / (long)(PG / 1024);
}

static long watch_sysfs(void *arg)
{
	return read_counter(((struct contention *)arg)->sysfs_fd);
}

static void child_contention(struct chan *ch, void *arg)
{
	struct contention *k = arg;
	char *mem = mmap(NULL, (HOLD + 2 * TRY) * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	long reads, refused, max;
	int fd;

	CREQ(ch, mem != MAP_FAILED);
	if (k->unprivileged)
		CREQ_EQ(ch, drop_root(1000, 1000, LIMIT * PG), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	max = contend(ch, fd, mem, mem + HOLD * PG, mem + (HOLD + TRY) * PG,
		      k->watch, k, &reads, &refused);
	printf("%s contention: %ld refused pins, %ld reads of %s, max %ld pages of %d\n",
	       k->name, refused, reads, k->watched, max, LIMIT);
	CREQ(ch, refused > 0);
	if (max > LIMIT)
		ch_fail(ch, __FILE__, __LINE__, "%s seen at %ld pages, %s is %d pages",
			k->watched, max, k->limit, LIMIT);
	close(fd);
}

START_TEST(vmpin_never_over_rlimit_under_contention)
{
	struct contention k = { "rlimit", "VmPin", "RLIMIT_MEMLOCK", watch_vmpin,
				-1, true };
	struct child c;

	child_start(&c, child_contention, &k);
	CHILD_OK(&c);
}
END_TEST

START_TEST(pinned_pages_never_over_cap_under_contention)
{
	struct contention k = { "cap", "stats/pinned_pages", "max_pinned_pages",
				watch_sysfs, -1, false };
	long cap0 = kv_param_get("max_pinned_pages");
	struct child c;

	k.sysfs_fd = open(PINNED_PAGES, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(k.sysfs_fd >= 0, "%s: %s", PINNED_PAGES, strerror(errno));
	ck_assert_int_eq(read_counter(k.sysfs_fd), 0);
	ck_assert_int_eq(kv_param_set("max_pinned_pages", LIMIT), 0);
	child_start(&c, child_contention, &k);
	{
		char m[1024];
		int r = child_finish(&c, m, sizeof(m));

		kv_param_set("max_pinned_pages", cap0 < 0 ? 0 : cap0);
		close(k.sysfs_fd);
		ck_assert_msg(r == 0, "child failed: %s", m);
	}
}
END_TEST

/*
 * The other face of it: a pin that fits must not be refused because a
 * concurrent one that does not was charged for a moment.
 */
static void child_rlimit_fits(struct chan *ch, void *arg)
{
	char *mem = mmap(NULL, LIMIT * 2 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	volatile int stop = 0;
	struct hammer h;
	pthread_t th;
	long ok = 0, refused = 0;
	uint64_t hd;
	double end;
	int fd;

	(void)arg;
	CREQ(ch, mem != MAP_FAILED);
	CREQ_EQ(ch, drop_root(1000, 1000, LIMIT * PG), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	/* Holds LIMIT - TRY; the hammer's 2 * TRY + 1 never fits. */
	CREQ_EQ(ch, mp_pin(fd, mem, (LIMIT - TRY) * PG, 0, NULL, NULL), 0);
	/* Its own container: pins of one container are serialized. */
	h = (struct hammer){ mp_open(), mem + LIMIT * PG, 2 * TRY + 1, &stop, 0, 0 };
	CREQ(ch, h.fd >= 0);
	CREQ_EQ(ch, pthread_create(&th, NULL, hammer_main, &h), 0);
	for (end = now() + SECONDS; now() < end;) {
		int r = mp_pin(fd, mem + (LIMIT - TRY) * PG, TRY * PG, 0, &hd, NULL);

		if (r == 0) {
			ok++;
			CREQ_EQ(ch, mp_unpin(fd, hd), 0);
		} else {
			refused++;
		}
	}
	stop = 1;
	pthread_join(th, NULL);
	printf("rlimit fits: %ld pins that fit made, %ld refused; hammer refused %ld\n",
	       ok, refused, h.refused);
	CREQ(ch, h.refused > 0 && h.other == 0);
	if (refused)
		ch_fail(ch, __FILE__, __LINE__, "%ld of %ld pins that fit under "
			"RLIMIT_MEMLOCK were refused", refused, ok + refused);
	close(h.fd);
	close(fd);
}

START_TEST(fitting_pin_not_refused_for_a_concurrent_one)
{
	struct child c;

	child_start(&c, child_rlimit_fits, NULL);
	CHILD_OK(&c);
}
END_TEST

/*
 * Memory replaced under a pin (munmap, mmap again) is new memory, and a pin
 * of it charges all its pages as every pin does.  RLIMIT_MEMLOCK refuses it
 * before GUP: nothing is pinned, nothing stays charged, the old pin stays.
 */
static void child_recharge_refused(struct chan *ch, void *arg)
{
	const size_t n = 8;
	char *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct mempin_stats_arg st;
	uint64_t h;
	int fd;

	(void)arg;
	CREQ(ch, p != MAP_FAILED);
	CREQ_EQ(ch, drop_root(1000, 1000, 12 * PG), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, p, n * PG, 0, &h, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), (long)(n * PG / 1024));
	/* Other pages at the same addresses: 8 + 8 > 12, refused. */
	CREQ(ch, mmap(p, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		      MAP_FIXED | MAP_POPULATE, -1, 0) == p);
	CREQ_EQ(ch, mp_pin(fd, p, n * PG, 0, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_stats(fd, &st), 0);
	CREQ_EQ(ch, st.pins, 1);
	CREQ_EQ(ch, st.pages, n);
	CREQ_EQ(ch, st.charged_pages, n);
	CREQ_EQ(ch, kv_vmpin_kb(0), (long)(n * PG / 1024));
	/* Once the old pages go, the new ones fit. */
	CREQ_EQ(ch, mp_unpin(fd, h), 0);
	CREQ_EQ(ch, mp_pin(fd, p, n * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), (long)(n * PG / 1024));
	close(fd);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
}

START_TEST(rlimit_refuses_recharge_of_replaced_memory)
{
	struct kv_pins a, b;
	struct child c;

	kv_pins_read(&a);
	child_start(&c, child_recharge_refused, NULL);
	CHILD_OK(&c);
	kv_pins_read(&b);
	/* 8 + 8: the refused pin never reached GUP. */
	ck_assert_uint_eq(KV_ACQ(a, b), 16);
	ck_assert_uint_eq(KV_REL(a, b), 16);
}
END_TEST

Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_slow("contention", 60);

	tcase_add_test(tc, vmpin_never_over_rlimit_under_contention);
	tcase_add_test(tc, pinned_pages_never_over_cap_under_contention);
	tcase_add_test(tc, fitting_pin_not_refused_for_a_concurrent_one);
	suite_add_tcase(s, tc);
	tc = TCASE("recharge");
	tcase_add_test(tc, rlimit_refuses_recharge_of_replaced_memory);
	suite_add_tcase(s, tc);
	return s;
}
