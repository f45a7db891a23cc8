// SPDX-License-Identifier: GPL-2.0
/*
 * libmempin (lib/mempin.h): every function returns 0 or a negative errno
 * and leaves errno alone; $MEMPIN_DEVICE; O_CLOEXEC; batch calls across
 * the library's internal chunks; one container shared by threads; and
 * what the kernel shows for what the library did.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mempin.h"	/* libmempin's, from lib/ */
#include "checked.h"
#include "suites.h"

#define SENTINEL 4242

/* Calls expr with errno = SENTINEL; asserts its value and errno. */
#define LIB_EQ(expr, want) do { \
	int _r; errno = SENTINEL; _r = (expr); \
	ck_assert_msg(errno == SENTINEL, "%s changed errno to %d", #expr, errno); \
	ck_assert_msg(_r == (want), "%s: %d (%s), want %d", #expr, _r, \
		      _r < 0 ? strerror(-_r) : "", (int)(want)); } while (0)

static struct mempin *xlib_open(void)
{
	struct mempin *mp = NULL;

	LIB_EQ(mempin_open(&mp, 0), 0);
	ck_assert_ptr_nonnull(mp);
	return mp;
}

static void lib_stats_eq(struct mempin *mp, uint64_t pins, uint64_t pages,
			 uint64_t charged)
{
	struct mempin_stats st;

	LIB_EQ(mempin_stats(mp, &st), 0);
	ck_assert_uint_eq(st.pins, pins);
	ck_assert_uint_eq(st.pages, pages);
	ck_assert_uint_eq(st.charged_pages, charged);
}

START_TEST(lib_open_cloexec_close)
{
	long ref0 = kv_refcnt();
	int nfd = kv_count_fds();
	struct mempin *mp = xlib_open();
	int fd, fl;

	errno = SENTINEL;
	fd = mempin_fd(mp);
	ck_assert_int_eq(errno, SENTINEL);
	ck_assert_int_ge(fd, 0);
	fl = fcntl(fd, F_GETFD);
	ck_assert_msg(fl >= 0 && (fl & FD_CLOEXEC), "fd %d flags %#x: no FD_CLOEXEC",
		      fd, fl);
	ck_assert_int_eq((fcntl(fd, F_GETFL) & O_ACCMODE), O_RDWR);
	ck_assert_int_eq(kv_refcnt(), ref0 + 1);
	ck_assert_int_eq(kv_count_fds(), nfd + 1);
	errno = SENTINEL;
	mempin_close(mp);
	ck_assert_int_eq(errno, SENTINEL);
	ck_assert_int_eq(kv_refcnt(), ref0);
	ck_assert_int_eq(kv_count_fds(), nfd);
	errno = SENTINEL;
	mempin_close(NULL);
	ck_assert_int_eq(errno, SENTINEL);
	LIB_EQ(mempin_fd(NULL) < 0, 1);
}
END_TEST

START_TEST(lib_open_bad_flags)
{
	struct mempin *mp = (struct mempin *)&mp;
	int nfd = kv_count_fds();

	LIB_EQ(mempin_open(&mp, 1), -EINVAL);
	ck_assert_ptr_null(mp);
	mp = (struct mempin *)&mp;
	LIB_EQ(mempin_open(&mp, ~0U), -EINVAL);
	ck_assert_ptr_null(mp);
	ck_assert_int_eq(kv_count_fds(), nfd);
}
END_TEST

START_TEST(lib_device_env)
{
	struct mempin *mp = (struct mempin *)&mp;
	int nfd = kv_count_fds();
	char link[64];

	ck_assert_int_eq(setenv("MEMPIN_DEVICE", "/nonexistent/mempin", 1), 0);
	LIB_EQ(mempin_open(&mp, 0), -ENOENT);
	ck_assert_ptr_null(mp);
	/* Not a mempin device: refused, and no fd left behind. */
	ck_assert_int_eq(setenv("MEMPIN_DEVICE", "/dev/null", 1), 0);
	LIB_EQ(mempin_open(&mp, 0), -ENOTTY);
	ck_assert_ptr_null(mp);
	ck_assert_int_eq(kv_count_fds(), nfd);
	/* Another path to the real device is honoured. */
	snprintf(link, sizeof(link), "/tmp/mempin-link.%d", (int)getpid());
	unlink(link);
	ck_assert_int_eq(symlink("/dev/mempin", link), 0);
	ck_assert_int_eq(setenv("MEMPIN_DEVICE", link, 1), 0);
	LIB_EQ(mempin_open(&mp, 0), 0);
	mempin_close(mp);
	unlink(link);
	LIB_EQ(mempin_open(&mp, 0), -ENOENT);	/* the link is gone */
	/* Empty: the default. */
	ck_assert_int_eq(setenv("MEMPIN_DEVICE", "", 1), 0);
	LIB_EQ(mempin_open(&mp, 0), 0);
	mempin_close(mp);
	unsetenv("MEMPIN_DEVICE");
	ck_assert_int_eq(kv_count_fds(), nfd);
}
END_TEST

START_TEST(lib_errors_negative_errno_unchanged)
{
	struct mempin *mp = xlib_open();
	char *mem = xmap(4 * PG);
	char *hole = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mempin_info info;
	struct mempin_range_req r[2];
	uint64_t h = 0, hs[2];
	unsigned int done = 99;

	ck_assert(hole != MAP_FAILED);
	LIB_EQ(mempin_pin(mp, mem, 0, 0, &h), -EINVAL);
	LIB_EQ(mempin_pin(mp, hole, PG, 0, &h), -EFAULT);
	LIB_EQ(mempin_pin(mp, (void *)0xffffffff81000000ULL, PG, 0, &h), -EFAULT);
	LIB_EQ(mempin_pin(mp, mem, PG, 1U << 7, &h), -EOPNOTSUPP);
	LIB_EQ(mempin_info(mp, &info), 0);
	{
		/* Inside user space (else EFAULT comes first): a reservation. */
		size_t len = (info.max_pin_pages + 1) * PG;
		char *res = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
				 MAP_NORESERVE, -1, 0);

		ck_assert(res != MAP_FAILED);
		LIB_EQ(mempin_pin(mp, res, len, 0, &h), -ENOMEM);
		munmap(res, len);
	}
	ck_assert_uint_eq(h, 0);	/* not written on failure */
	LIB_EQ(mempin_unpin(mp, 999999), -ENOENT);
	LIB_EQ(mempin_unpin_range(mp, mem, PG), -ENOENT);
	LIB_EQ(mempin_unpin_range(mp, mem, 0), -EINVAL);
	memset(r, 0, sizeof(r));
	r[0].addr = mem;
	r[0].len = PG;
	r[1].addr = hole;
	r[1].len = PG;
	LIB_EQ(mempin_pin_batch(mp, r, 2, &done), -EFAULT);
	ck_assert_uint_eq(done, 1);
	hs[0] = r[0].handle;
	hs[1] = r[0].handle;
	LIB_EQ(mempin_unpin_batch(mp, hs, 2, &done), -ENOENT);
	ck_assert_uint_eq(done, 1);
	/* Successes leave errno alone too. */
	LIB_EQ(mempin_pin(mp, mem, PG, 0, &h), 0);
	ck_assert_uint_gt(h, r[0].handle);
	LIB_EQ(mempin_pin(mp, mem, PG, 0, NULL), 0);
	lib_stats_eq(mp, 2, 2, 2);	/* the same page, charged by each pin */
	LIB_EQ(mempin_unpin(mp, h), 0);
	LIB_EQ(mempin_unpin_range(mp, mem, PG), 0);
	lib_stats_eq(mp, 0, 0, 0);
	/* NULL containers. */
	LIB_EQ(mempin_pin(NULL, mem, PG, 0, &h) < 0, 1);
	LIB_EQ(mempin_unpin(NULL, h) < 0, 1);
	LIB_EQ(mempin_stats(NULL, NULL) < 0, 1);
	LIB_EQ(mempin_info(NULL, &info) < 0, 1);
	mempin_close(mp);
}
END_TEST

START_TEST(lib_info_and_stats_match_kernel)
{
	struct mempin *mp = xlib_open();
	char *mem = xmap(16 * PG);
	struct mempin_info info;
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	uint64_t h;

	LIB_EQ(mempin_info(mp, &info), 0);
	ck_assert_uint_eq(info.abi_version, 1);
	ck_assert_uint_eq(info.page_size, PG);
	ck_assert(info.features & MEMPIN_FEATURE_BATCH);
	ck_assert_uint_eq(info.cap_pages, (uint64_t)kv_param_get("max_pinned_pages"));
	kv_pins_read(&a);
	LIB_EQ(mempin_pin(mp, mem, 10 * PG, 0, &h), 0);
	LIB_EQ(mempin_pin(mp, mem + 5 * PG + 1, 10 * PG, 0, NULL), 0);	/* 5-15 */
	kv_pins_read(&b);
	/* Pages 5-9 are in both pins: each charges them. */
	lib_stats_eq(mp, 2, 21, 21);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0 + 21 * 4);
	ck_assert_uint_eq(KV_ACQ(a, b), 21);
	LIB_EQ(mempin_unpin(mp, h), 0);
	lib_stats_eq(mp, 1, 11, 11);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0 + 44);
	mempin_close(mp);
	kv_pins_read(&b);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0);
	ck_assert_uint_eq(KV_REL(a, b), 21);
}
END_TEST

/* More entries than the library converts per ioctl: one result. */
START_TEST(lib_pin_batch_large_partial)
{
	enum { N = 300, BAD = 200 };
	struct mempin *mp = xlib_open();
	char *mem = xmap(N * PG);
	char *hole = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mempin_range_req *r = calloc(N, sizeof(*r));
	uint64_t *hs = calloc(N, sizeof(*hs));
	long vm0 = kv_vmpin_kb(0);
	unsigned int done = 0;

	ck_assert(r && hs && hole != MAP_FAILED);
	for (int i = 0; i < N; i++) {
		r[i].addr = mem + i * PG;
		r[i].len = PG;
		r[i].handle = 7;
	}
	r[BAD].addr = hole;
	LIB_EQ(mempin_pin_batch(mp, r, N, &done), -EFAULT);
	ck_assert_uint_eq(done, BAD);
	for (int i = 0; i < N; i++) {
		if (i < BAD)
			ck_assert_uint_gt(r[i].handle, i ? r[i - 1].handle : 0);
		else
			ck_assert_uint_eq(r[i].handle, 7);
	}
	lib_stats_eq(mp, BAD, BAD, BAD);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0 + BAD * 4);
	r[BAD].addr = mem + BAD * PG;
	LIB_EQ(mempin_pin_batch(mp, r + BAD, N - BAD, &done), 0);
	ck_assert_uint_eq(done, N - BAD);
	lib_stats_eq(mp, N, N, N);
	for (int i = 0; i < N; i++)
		hs[i] = r[i].handle;
	hs[250] = 0;	/* unknown */
	LIB_EQ(mempin_unpin_batch(mp, hs, N, &done), -ENOENT);
	ck_assert_uint_eq(done, 250);
	lib_stats_eq(mp, 50, 50, 50);
	hs[250] = r[250].handle;
	LIB_EQ(mempin_unpin_batch(mp, hs + 250, N - 250, &done), 0);
	ck_assert_uint_eq(done, 50);
	lib_stats_eq(mp, 0, 0, 0);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0);
	LIB_EQ(mempin_pin_batch(mp, r, 0, &done), 0);
	ck_assert_uint_eq(done, 0);
	mempin_close(mp);
	free(r);
	free(hs);
}
END_TEST

static void child_lib_eperm(struct chan *ch, void *arg)
{
	struct mempin *mp = arg;
	struct mempin_stats st;
	struct mempin_info info;
	char *mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t h = 1;
	unsigned int done;
	struct mempin_range_req r = { .addr = mem, .len = PG };

	CREQ(ch, mem != MAP_FAILED);
	mem[0] = 1;
	errno = SENTINEL;
	CREQ_EQ(ch, mempin_pin(mp, mem, PG, 0, &h), -EPERM);
	CREQ_EQ(ch, mempin_unpin(mp, 1), -EPERM);
	CREQ_EQ(ch, mempin_unpin_range(mp, mem, PG), -EPERM);
	CREQ_EQ(ch, mempin_stats(mp, &st), -EPERM);
	CREQ_EQ(ch, mempin_info(mp, &info), -EPERM);
	CREQ_EQ(ch, mempin_pin_batch(mp, &r, 1, &done), -EPERM);
	CREQ_EQ(ch, done, 0);
	CREQ_EQ(ch, mempin_unpin_batch(mp, &h, 1, &done), -EPERM);
	CREQ_EQ(ch, mempin_pin_batch(mp, &r, 0, &done), -EPERM);
	CREQ_EQ(ch, errno, SENTINEL);
}

START_TEST(lib_eperm_after_fork)
{
	struct mempin *mp = xlib_open();
	char *mem = xmap(PG);
	struct child c;

	LIB_EQ(mempin_pin(mp, mem, PG, 0, NULL), 0);
	child_start(&c, child_lib_eperm, mp);
	CHILD_OK(&c);
	lib_stats_eq(mp, 1, 1, 1);
	mempin_close(mp);
}
END_TEST

static void child_lib_nonroot(struct chan *ch, void *arg)
{
	struct mempin *mp = NULL;
	char *mem = mmap(NULL, 32 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	CREQ(ch, mem != MAP_FAILED);
	CREQ_EQ(ch, drop_root(1000, 1000, 64 * 1024), 0);
	errno = SENTINEL;
	CREQ_EQ(ch, mempin_open(&mp, 0), 0);
	CREQ_EQ(ch, mempin_pin(mp, mem, 32 * PG, 0, NULL), -ENOMEM);
	CREQ_EQ(ch, mempin_pin(mp, mem, 16 * PG, 0, NULL), 0);
	CREQ_EQ(ch, kv_vmpin_kb(0), 64);
	CREQ_EQ(ch, errno, SENTINEL);
	mempin_close(mp);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
}

START_TEST(lib_rlimit_nonroot)
{
	struct child c;

	child_start(&c, child_lib_nonroot, NULL);
	CHILD_OK(&c);
}
END_TEST

static void child_lib_eacces(struct chan *ch, void *arg)
{
	struct mempin *mp = (struct mempin *)&mp;

	(void)arg;
	CREQ_EQ(ch, drop_root(1001, 1001, -1), 0);
	errno = SENTINEL;
	CREQ_EQ(ch, mempin_open(&mp, 0), -EACCES);
	CREQ(ch, mp == NULL);
	CREQ_EQ(ch, errno, SENTINEL);
}

START_TEST(lib_eacces_uid1001)
{
	struct child c;

	child_start(&c, child_lib_eacces, NULL);
	CHILD_OK(&c);
}
END_TEST

/* One container shared by threads (the library keeps no mutable state). */
struct lib_thr {
	struct mempin *mp;
	char *own, *shared;
	int err;
};

static void *lib_thr_fn(void *arg)
{
	struct lib_thr *t = arg;

	for (int i = 0; i < 200 && !t->err; i++) {
		struct mempin_range_req r[2] = {
			{ .addr = t->own, .len = 3 * PG },
			{ .addr = t->shared, .len = PG },
		};
		uint64_t hs[2];
		unsigned int done;

		t->err = mempin_pin_batch(t->mp, r, 2, &done);
		if (t->err)
			break;
		hs[0] = r[0].handle;
		hs[1] = r[1].handle;
		t->err = mempin_unpin_batch(t->mp, hs, 2, &done);
	}
	return NULL;
}

START_TEST(lib_threads_shared_container)
{
	struct mempin *mp = xlib_open();
	char *mem = xmap(13 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct lib_thr t[4];
	pthread_t tid[4];
	struct kv_pins a, b;

	kv_pins_read(&a);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct lib_thr){ mp, mem + i * 3 * PG, mem + 12 * PG, 0 };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, lib_thr_fn, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(t[i].err == 0, "thread %d: %s", i, strerror(-t[i].err));
	kv_pins_read(&b);
	lib_stats_eq(mp, 0, 0, 0);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0);
	ck_assert_uint_eq(KV_ACQ(a, b), 4 * 200 * 4);
	ck_assert_uint_eq(KV_REL(a, b), 4 * 200 * 4);
	mempin_close(mp);
}
END_TEST

START_TEST(lib_close_unpins_everything)
{
	struct mempin *mp = xlib_open();
	char *mem = xmap(64 * PG);
	long vm0 = kv_vmpin_kb(0), ref0 = kv_refcnt();
	struct kv_pins a, b;

	kv_pins_read(&a);
	for (int i = 0; i < 8; i++)
		LIB_EQ(mempin_pin(mp, mem + i * 4 * PG, 8 * PG, 0, NULL), 0);
	/* Half of each pin overlaps the next: all 64 pages charged. */
	lib_stats_eq(mp, 8, 64, 64);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0 + 64 * 4);
	mempin_close(mp);
	kv_pins_read(&b);
	ck_assert_int_eq(kv_vmpin_kb(0), vm0);
	ck_assert_uint_eq(KV_ACQ(a, b), 64);
	ck_assert_uint_eq(KV_REL(a, b), 64);
	ck_assert_int_eq(kv_refcnt(), ref0 - 1);
}
END_TEST

Suite *lib_suite(void)
{
	Suite *s = suite_create("lib");
	TCase *tc;

	tc = TCASE("lib_open");
	tcase_add_test(tc, lib_open_cloexec_close);
	tcase_add_test(tc, lib_open_bad_flags);
	tcase_add_test(tc, lib_device_env);
	tcase_add_test(tc, lib_eacces_uid1001);
	suite_add_tcase(s, tc);

	tc = TCASE("lib_calls");
	tcase_add_test(tc, lib_errors_negative_errno_unchanged);
	tcase_add_test(tc, lib_info_and_stats_match_kernel);
	tcase_add_test(tc, lib_pin_batch_large_partial);
	tcase_add_test(tc, lib_eperm_after_fork);
	tcase_add_test(tc, lib_rlimit_nonroot);
	tcase_add_test(tc, lib_close_unpins_everything);
	suite_add_tcase(s, tc);

	tc = tcase_slow("lib_threads", 600);
	tcase_add_test(tc, lib_threads_shared_container);
	suite_add_tcase(s, tc);
	return s;
}
