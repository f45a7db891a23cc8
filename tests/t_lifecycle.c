// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle: fork (EPERM in the child, the parent keeps its pinned page),
 * exec and SCM_RIGHTS (EPERM), the last reference dropped in another
 * process, munmap of pinned memory, close, the module reference count,
 * handles, concurrent threads, SIGKILL in the middle of a pin.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

/* All six ioctls from another address space: EPERM, whatever the args. */
static int all_eperm(int fd, char *mem, uint64_t handle, char *why, size_t len)
{
	struct mempin_info_arg in;
	struct mempin_stats_arg st;
	struct mempin_pin_entry r = { .addr = (uintptr_t)mem, .len = PG };
	uint64_t h = handle;
	unsigned int done;
	int e;

#define EXPECT_EPERM(call) \
	do { e = (call); if (e != -EPERM) { \
		snprintf(why, len, "%s: %d, not -EPERM", #call, e); return -1; } } while (0)
	EXPECT_EPERM(mp_info(fd, &in));
	EXPECT_EPERM(mp_stats(fd, &st));
	EXPECT_EPERM(mp_pin(fd, mem, PG, 0, NULL, NULL));
	EXPECT_EPERM(mp_pin(fd, mem, PG, MEMPIN_PIN_READONLY, NULL, NULL));
	EXPECT_EPERM(mp_unpin(fd, handle));
	EXPECT_EPERM(mp_unpin_range(fd, mem, PG));
	EXPECT_EPERM(mp_pin_batch(fd, &r, 1, &done));
	EXPECT_EPERM(mp_unpin_batch(fd, &h, 1, &done));
	/* Even malformed arguments: EPERM is checked before the struct. */
	EXPECT_EPERM(mp_ioctl(fd, MEMPIN_IOC_PIN, NULL));
#undef EXPECT_EPERM
	return 0;
}

/* -------------------------------------------------------------- fork */

struct fork_arg {
	int fd;
	char *mem;
	uint64_t handle;
	uint64_t pfn;
};

static void child_after_fork(struct chan *ch, void *arg)
{
	struct fork_arg *a = arg;
	char why[256];

	if (all_eperm(a->fd, a->mem, a->handle, why, sizeof(why)))
		ch_fail(ch, __FILE__, __LINE__, "%s", why);
	/* The pinned page stayed with the parent: the child has a copy. */
	CREQ(ch, kv_pfn(a->mem) != a->pfn);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
	ch_sync(ch);	/* the parent writes 'B' now */
	CREQ_EQ(ch, a->mem[0], 'A');
	CREQ_EQ(ch, a->mem[PG], 'A');
	a->mem[1] = 'c';
}

START_TEST(fork_child_eperm_parent_keeps_page)
{
	struct fork_arg a;
	struct child c;
	long vm0 = kv_vmpin_kb(0);

	a.fd = xmp_open();
	a.mem = xmap(2 * PG);
	memset(a.mem, 'A', 2 * PG);
	a.handle = xpin(a.fd, a.mem, 2 * PG, 0);
	a.pfn = kv_pfn(a.mem);
	child_start(&c, child_after_fork, &a);
	if (child_await(&c) == 0) {
		/* Written after fork: the parent's (pinned) page takes it. */
		a.mem[0] = 'B';
		a.mem[PG] = 'B';
		ck_assert_uint_eq(kv_pfn(a.mem), a.pfn);
		child_go(&c);
	}
	CHILD_OK(&c);
	ck_assert_int_eq(a.mem[0], 'B');
	ck_assert_int_eq(a.mem[1], 'A');
	ck_assert_uint_eq(kv_pfn(a.mem), a.pfn);
	ASSERT_STATS(a.fd, 1, 2, 2);
	ASSERT_VMPIN(vm0, 2);
	xunpin(a.fd, a.handle);
	xclose(a.fd);
}
END_TEST

/* The child closing its copy of the fd changes nothing for the parent. */
static void child_close_fd(struct chan *ch, void *arg)
{
	CREQ_EQ(ch, close(*(int *)arg), 0);
}

START_TEST(fork_child_close_keeps_parent_pins)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	long vm0 = kv_vmpin_kb(0), ref0;
	struct child c;

	xpin(fd, mem, 4 * PG, 0);
	ref0 = kv_refcnt();
	child_start(&c, child_close_fd, &fd);
	CHILD_OK(&c);
	ASSERT_STATS(fd, 1, 4, 4);
	ASSERT_VMPIN(vm0, 4);
	ck_assert_int_eq(kv_refcnt(), ref0);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

/*
 * The parent closes first; the child, exiting, drops the last reference:
 * release runs in the child but must uncharge the parent's mm.
 */
static void child_hold_fd(struct chan *ch, void *arg)
{
	(void)arg;
	ch_sync(ch);
	CREQ_EQ(ch, kv_vmpin_kb(0), 0);
}

START_TEST(fork_last_reference_in_child)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG);
	long vm0 = kv_vmpin_kb(0), ref0 = kv_refcnt();
	struct kv_pins a, b;
	struct child c;

	kv_pins_read(&a);
	xpin(fd, mem, 8 * PG, 0);
	child_start(&c, child_hold_fd, NULL);
	xclose(fd);
	/* Still held by the child: pinned and charged to us. */
	ASSERT_VMPIN(vm0, 8);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 8);
	ck_assert_uint_eq(KV_REL(a, b), 0);
	ck_assert_int_eq(kv_refcnt(), ref0);
	if (child_await(&c) == 0)
		child_go(&c);
	CHILD_OK(&c);
	ASSERT_VMPIN(vm0, 0);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_REL(a, b), 8);
	ck_assert_int_eq(kv_refcnt(), ref0 - 1);
}
END_TEST

/* ------------------------------------------------------- exec / SCM */

/* Runs in a freshly exec'ed mempin-tests: the inherited fd is foreign. */
int exec_eperm_main(int fd)
{
	char *mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char why[256];

	if (mem == MAP_FAILED)
		return 2;
	memset(mem, 1, PG);
	if (all_eperm(fd, mem, 1, why, sizeof(why))) {
		fprintf(stderr, "exec helper: %s\n", why);
		return 1;
	}
	return 0;
}

START_TEST(exec_eperm)
{
	int fd = xmp_open();
	char *mem = xmap(PG);
	char fdstr[16];
	int st;
	pid_t pid;

	xpin(fd, mem, PG, 0);
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		fcntl(fd, F_SETFD, 0);	/* survive exec */
		execl("/proc/self/exe", "mempin-tests", "--exec-eperm", fdstr, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "exec'ed helper: status %#x (see its stderr)", st);
	ASSERT_STATS(fd, 1, 1, 1);
	xclose(fd);
}
END_TEST

static void child_scm(struct chan *ch, void *arg)
{
	int sock = *(int *)arg, fd;
	char *mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char why[256];

	CREQ(ch, mem != MAP_FAILED);
	memset(mem, 1, PG);
	fd = recv_fd(sock);
	CREQ(ch, fd >= 0);
	if (all_eperm(fd, mem, 1, why, sizeof(why)))
		ch_fail(ch, __FILE__, __LINE__, "%s", why);
	CREQ_EQ(ch, close(fd), 0);
}

START_TEST(scm_rights_eperm)
{
	int sv[2], fd;
	char *mem = xmap(2 * PG);
	struct child c;
	long vm0 = kv_vmpin_kb(0);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	child_start(&c, child_scm, &sv[1]);	/* forked before the open */
	fd = xmp_open();
	xpin(fd, mem, 2 * PG, 0);
	ck_assert_int_eq(send_fd(sv[0], fd), 0);
	CHILD_OK(&c);
	ASSERT_STATS(fd, 1, 2, 2);
	ASSERT_VMPIN(vm0, 2);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

/* ------------------------------------------------------------ munmap */

START_TEST(munmap_then_unpin)
{
	int fd = xmp_open();
	char *mem = xmap(16 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	uint64_t h1, h2;

	kv_pins_read(&a);
	h1 = xpin(fd, mem, 16 * PG, 0);
	h2 = xpin(fd, mem + 3 * PG, 2 * PG, 0);
	xunmap(mem, 16 * PG);
	/* Still pinned and charged, each pin its own pages. */
	ASSERT_STATS(fd, 2, 18, 18);
	ASSERT_VMPIN(vm0, 18);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_REL(a, b), 0);
	xunpin(fd, h1);
	ASSERT_VMPIN(vm0, 2);
	ck_assert_int_eq(mp_unpin_range(fd, mem + 3 * PG, 2 * PG), 0);
	ck_assert_int_eq(mp_unpin(fd, h2), -ENOENT);
	ASSERT_VMPIN(vm0, 0);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), 18);
	ck_assert_uint_eq(KV_REL(a, b), 18);
	xclose(fd);
}
END_TEST

START_TEST(munmap_then_close)
{
	int fd = xmp_open();
	char *mem = xmap(16 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;

	kv_pins_read(&a);
	xpin(fd, mem, 16 * PG, 0);
	xunmap(mem, 8 * PG);
	xpin(fd, mem + 8 * PG, 8 * PG, 0);
	xunmap(mem + 8 * PG, 8 * PG);
	ASSERT_VMPIN(vm0, 24);
	xclose(fd);
	kv_pins_read(&b);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_uint_eq(KV_ACQ(a, b), 24);
	ck_assert_uint_eq(KV_REL(a, b), 24);
}
END_TEST

/* New memory at the same address is other pages: charged again. */
START_TEST(munmap_remap_charges_again)
{
	int fd = xmp_open();
	char *mem = xmap(8 * PG), *again;
	long vm0 = kv_vmpin_kb(0);
	uint64_t pfn0, h1;

	h1 = xpin(fd, mem, 8 * PG, 0);
	pfn0 = kv_pfn(mem);
	again = mmap(mem, 8 * PG, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ck_assert(again == mem);
	memset(mem, 2, 8 * PG);
	ck_assert_uint_ne(kv_pfn(mem), pfn0);
	xpin(fd, mem, 8 * PG, 0);
	ASSERT_STATS(fd, 2, 16, 16);
	ASSERT_VMPIN(vm0, 16);
	xunpin(fd, h1);
	ASSERT_STATS(fd, 1, 8, 8);
	ASSERT_VMPIN(vm0, 8);
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
}
END_TEST

/* ------------------------------------------------------- close/refcnt */

START_TEST(refcnt_per_open_file)
{
	long ref0 = kv_refcnt();
	int fd1, fd2, fd3;

	ck_assert_int_ge(ref0, 0);
	fd1 = xmp_open();
	ck_assert_int_eq(kv_refcnt(), ref0 + 1);
	fd2 = xmp_open();
	ck_assert_int_eq(kv_refcnt(), ref0 + 2);
	fd3 = dup(fd1);		/* same open file: no new reference */
	ck_assert_int_eq(kv_refcnt(), ref0 + 2);
	xclose(fd1);
	ck_assert_int_eq(kv_refcnt(), ref0 + 2);
	xclose(fd3);
	ck_assert_int_eq(kv_refcnt(), ref0 + 1);
	xclose(fd2);
	ck_assert_int_eq(kv_refcnt(), ref0);
}
END_TEST

START_TEST(close_many_pins)
{
	enum { N = 500 };
	int fd = xmp_open();
	char *mem = xmap(64 * PG);
	long vm0 = kv_vmpin_kb(0);
	struct kv_pins a, b;
	uint64_t total = 0;

	kv_pins_read(&a);
	/* Overlapping pins: each charges all its pages. */
	for (int i = 0; i < N; i++) {
		size_t first = (size_t)(i * 7) % 60, n = 1 + (size_t)i % 4;

		xpin(fd, mem + first * PG, n * PG, 0);
		total += n;
	}
	ASSERT_STATS(fd, N, total, total);
	ASSERT_VMPIN(vm0, total);
	xclose(fd);
	kv_pins_read(&b);
	ASSERT_VMPIN(vm0, 0);
	ck_assert_uint_eq(KV_ACQ(a, b), total);
	ck_assert_uint_eq(KV_REL(a, b), total);
}
END_TEST

/* ----------------------------------------------------------- handles */

START_TEST(handles_increasing_never_reused)
{
	int fd = xmp_open();
	char *mem = xmap(4 * PG);
	uint64_t max = 0, live[8] = { 0 };
	struct mempin_pin_entry r[3];
	unsigned int done;

	for (int i = 0; i < 300; i++) {
		int slot = i % 8;
		uint64_t h;

		if (live[slot])
			xunpin(fd, live[slot]);
		/* Failed pins in between consume nothing visible. */
		if (i % 5 == 0)
			ck_assert_int_eq(mp_pin(fd, NULL, PG, 0, NULL, NULL), -EFAULT);
		h = xpin(fd, mem + (i % 4) * PG, PG, 0);
		ck_assert_msg(h > max, "handle %llu after %llu", (unsigned long long)h,
			      (unsigned long long)max);
		max = h;
		live[slot] = h;
	}
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		r[i].addr = (uintptr_t)mem;
		r[i].len = PG;
	}
	ck_assert_int_eq(mp_pin_batch(fd, r, 3, &done), 0);
	ck_assert_uint_gt(r[0].handle, max);
	ck_assert_uint_gt(r[1].handle, r[0].handle);
	ck_assert_uint_gt(r[2].handle, r[1].handle);
	/* Unpinned handles stay dead even though they were valid once. */
	ck_assert_int_eq(mp_unpin(fd, 1), -ENOENT);
	xclose(fd);
}
END_TEST

/* ----------------------------------------------------------- threads */

enum { NTHREADS = 4, ITERS = 200, OWN = 4, SHARED = 2 };

struct thr {
	int fd;
	char *own;
	char *shared;
	int errors;
	char why[128];
};

static void *thr_pinner(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < ITERS; i++) {
		uint64_t h1, h2;
		int e;

		e = mp_pin(t->fd, t->own, OWN * PG, 0, &h1, NULL);
		if (!e)
			e = mp_pin(t->fd, t->shared, SHARED * PG, 0, &h2, NULL);
		if (!e)
			e = mp_unpin(t->fd, h1);
		/* The shared range: several identical pins, one of them goes. */
		if (!e)
			e = mp_unpin_range(t->fd, t->shared, SHARED * PG);
		if (e) {
			if (!t->errors++)
				snprintf(t->why, sizeof(t->why), "iteration %d: %s", i,
					 strerror(-e));
			break;
		}
	}
	return NULL;
}

struct watcher {
	int fd;
	volatile int stop;
	int bad;
	char why[128];
};

static void *thr_watcher(void *arg)
{
	struct watcher *w = arg;

	while (!w->stop) {
		struct mempin_stats_arg st;

		/* Each pin charges its own pages: charged == pages, always. */
		if (mp_stats(w->fd, &st) ||
		    st.charged_pages != st.pages ||
		    st.pins > 2 * NTHREADS ||
		    st.pages > NTHREADS * (OWN + SHARED)) {
			if (!w->bad++)
				snprintf(w->why, sizeof(w->why),
					 "pins %llu pages %llu charged %llu",
					 (unsigned long long)st.pins,
					 (unsigned long long)st.pages,
					 (unsigned long long)st.charged_pages);
		}
	}
	return NULL;
}

START_TEST(threads_pin_unpin_consistent)
{
	int fd = xmp_open();
	char *mem = xmap((NTHREADS * OWN + SHARED) * PG);
	long vm0 = kv_vmpin_kb(0);
	struct thr t[NTHREADS];
	struct watcher w = { .fd = fd };
	pthread_t tid[NTHREADS], wt;
	struct kv_pins a, b;

	kv_pins_read(&a);
	ck_assert_int_eq(pthread_create(&wt, NULL, thr_watcher, &w), 0);
	for (int i = 0; i < NTHREADS; i++) {
		t[i] = (struct thr){ .fd = fd, .own = mem + i * OWN * PG,
				     .shared = mem + NTHREADS * OWN * PG };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, thr_pinner, &t[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	w.stop = 1;
	pthread_join(wt, NULL);
	for (int i = 0; i < NTHREADS; i++)
		ck_assert_msg(!t[i].errors, "thread %d: %s", i, t[i].why);
	ck_assert_msg(!w.bad, "inconsistent stats seen %d times, first: %s", w.bad, w.why);
	ASSERT_STATS(fd, 0, 0, 0);
	ASSERT_VMPIN(vm0, 0);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_ACQ(a, b), NTHREADS * ITERS * (OWN + SHARED));
	ck_assert_uint_eq(KV_REL(a, b), NTHREADS * ITERS * (OWN + SHARED));
	xclose(fd);
}
END_TEST

/* ------------------------------------------------------------- EINTR */

static void child_big_pin(struct chan *ch, void *arg)
{
	const size_t len = 1UL << 30;
	int fd = mp_open();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char b = 'd';

	(void)arg;
	CREQ(ch, fd >= 0 && p != MAP_FAILED);
	b = 'r';
	CREQ(ch, write(ch->up_w, &b, 1) == 1);
	mp_pin(fd, p, len, 0, NULL, NULL);	/* not pre-faulted: slow */
	b = 'd';
	CREQ(ch, write(ch->up_w, &b, 1) == 1);
	pause();
}

/*
 * A process killed while pinning 1 GiB.  A killed process cannot see its
 * EINTR, but the mempin:pin event records what the ioctl returned: EINTR,
 * no pages, no handle.  And the pin was rolled back (or, if the kill came
 * after the pin, released with the file): afterwards nr_foll_pin_acquired
 * and _released grew by the same amount and the module's reference count
 * is back.
 */
START_TEST(sigkill_mid_pin_rolls_back)
{
	struct kv_pins a, b;
	struct child c;
	long ref0 = kv_refcnt();
	unsigned long long pages, handle;
	const char *l;
	char m, *trace;
	int st, result, finished = 0;

	kv_pins_read(&a);
	trace_start();
	child_start(&c, child_big_pin, NULL);
	ck_assert_int_eq(read(c.up_r, &m, 1), 1);
	ck_assert_int_eq(m, 'r');
	fcntl(c.up_r, F_SETFL, O_NONBLOCK);
	/* Wait until the pin is under way: the charge comes first. */
	for (;;) {
		struct timespec ts = { 0, 1000000 };
		long vm = kv_vmpin_kb(c.pid);

		if (read(c.up_r, &m, 1) == 1) {
			finished = 1;	/* too late: the pin completed */
			break;
		}
		if (vm > 0 || vm < 0)
			break;
		nanosleep(&ts, NULL);
	}
	kill(c.pid, SIGKILL);
	ck_assert_int_eq(waitpid(c.pid, &st, 0), c.pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(c.up_r);
	close(c.down_w);
	close(c.res_r);
	kv_pins_read(&b);
	trace = trace_stop();
	l = trace_find(trace, "pin", c.pid, 0);
	ck_assert_msg(l, "no pin event of pid %d in:\n%s", (int)c.pid, trace);
	ck_assert_int_eq(sscanf(l, "addr=0x%*x len=%*u flags=0x%*x pages=%llu handle=%llu result=%d",
				&pages, &handle, &result), 3);
	if (finished) {
		printf("sigkill_mid_pin: the pin finished before the kill\n");
		ck_assert_int_eq(result, 0);
	} else {
		printf("sigkill_mid_pin: killed with %llu pages pinned, all released; "
		       "the ioctl returned %d\n", (unsigned long long)(KV_ACQ(a, b)), result);
		ck_assert_int_eq(result, -EINTR);
		ck_assert_uint_eq(pages, 0);
		ck_assert_uint_eq(handle, 0);
	}
	free(trace);
	ck_assert_uint_eq(KV_ACQ(a, b), KV_REL(a, b));
	ck_assert_int_eq(kv_refcnt(), ref0);
}
END_TEST

Suite *lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc;

	tc = TCASE("fork");
	tcase_add_test(tc, fork_child_eperm_parent_keeps_page);
	tcase_add_test(tc, fork_child_close_keeps_parent_pins);
	tcase_add_test(tc, fork_last_reference_in_child);
	tcase_add_test(tc, exec_eperm);
	tcase_add_test(tc, scm_rights_eperm);
	suite_add_tcase(s, tc);

	tc = TCASE("munmap");
	tcase_add_test(tc, munmap_then_unpin);
	tcase_add_test(tc, munmap_then_close);
	tcase_add_test(tc, munmap_remap_charges_again);
	suite_add_tcase(s, tc);

	tc = TCASE("close");
	tcase_add_test(tc, refcnt_per_open_file);
	tcase_add_test(tc, close_many_pins);
	tcase_add_test(tc, handles_increasing_never_reused);
	suite_add_tcase(s, tc);

	tc = tcase_slow("threads", 600);
	tcase_add_test(tc, threads_pin_unpin_consistent);
	suite_add_tcase(s, tc);

	tc = tcase_slow("eintr", 900);
	tcase_add_test(tc, sigkill_mid_pin_rolls_back);
	suite_add_tcase(s, tc);
	return s;
}
