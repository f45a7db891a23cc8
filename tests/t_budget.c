// SPDX-License-Identifier: GPL-2.0
/*
 * Budgets under attack: a user's pins stay within RLIMIT_MEMLOCK however
 * the user keeps containers alive (clone(CLONE_FILES), exec without
 * close-on-exec, SCM_RIGHTS), however many processes pin at once, and
 * however often one page is mapped; and the budget is the one io_uring
 * charges.  Each attack runs as uid 1000 without capabilities; the root
 * test process measures what the kernel holds: the FOLL_PIN references of
 * /proc/vmstat while the attacker is alive and holds everything it could.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

#define ATTACKER_UID	1000
#define BUDGET		256		/* pages: RLIMIT_MEMLOCK 1 MiB */
#define NKIDS		8
#define MODE_PARAM	"/sys/module/mempin/parameters/charge_mode"
#define STATS		"/sys/class/misc/mempin/stats"

/*
 * An unprivileged process of uid 1000 with a budget of @pages.  Dumpable
 * again after the uid change, so it may read its own fdinfo on 5.10.
 */
static void become_attacker(struct chan *ch, uid_t uid, size_t pages)
{
	CREQ_EQ(ch, drop_root(uid, 1000, (long)(pages * PG)), 0);
	CREQ_EQ(ch, kv_capeff(), 0);
	CREQ_EQ(ch, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}


/*
 * Opens a container (without close-on-exec, as a plain open() gives) and
 * pins @pages fresh pages in it: 0 or -errno.
 */
static int open_and_pin(size_t pages, int *fdp)
{
	char *mem = touched(pages);
	int fd = open(MEMPIN_DEV, O_RDWR);

	*fdp = fd;
	if (!mem || fd < 0)
		return fd < 0 ? -errno : -ENOMEM;
	return mp_pin(fd, mem, pages * PG, 0, NULL, NULL);
}

/*
 * A container whose address space has gone: the kernel released its pins
 * (fdinfo says so; the parent's vmstat reading proves it), and every ioctl
 * is refused.
 */
static void creq_gone(struct chan *ch, int fd)
{
	struct mempin_stats_arg st;
	char v[64];

	CREQ_EQ(ch, mp_stats(fd, &st), -EPERM);
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-pins", v, sizeof(v)), 0);
	CREQ(ch, !strcmp(v, "0"));
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-pinned-pages", v, sizeof(v)), 0);
	CREQ(ch, !strcmp(v, "0"));
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-address-space", v, sizeof(v)), 0);
	CREQ(ch, !strcmp(v, "gone"));
}

/* The attacker's own budget is whole: BUDGET pages pin, one more does not. */
static void creq_budget_free(struct chan *ch)
{
	int fd, fd2;

	CREQ_EQ(ch, open_and_pin(BUDGET, &fd), 0);
	CREQ_EQ(ch, open_and_pin(1, &fd2), -ENOMEM);
	close(fd);
	close(fd2);
}

static void creq_exited_ok(struct chan *ch, pid_t pid)
{
	int st;

	CREQ_EQ(ch, waitpid(pid, &st, 0), pid);
	CREQ(ch, WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/*
 * The attacker's NKIDS children have exited; it holds their containers,
 * empty, and its whole budget; then root measures.
 */
static void creq_all_gone(struct chan *ch, const int *fds)
{
	int i;

	for (i = 0; i < NKIDS; i++)
		creq_gone(ch, fds[i]);
	creq_budget_free(ch);
	ch_sync(ch);
}

/* The attacker has gone: no reference held since @before, a clean log. */
static void assert_all_gone(const struct kv_pins *before, int kmsg)
{
	char first[512] = "";
	struct kv_pins now;

	kv_pins_read(&now);
	ck_assert_uint_eq(KV_HELD(*before, now), 0);
	ck_assert_msg(kv_kmsg_scan(kmsg, first, sizeof(first)) == 0,
		      "kernel log: %s", first);
	close(kmsg);
}

/*
 * Root's side: starts the attacker, and when it says it holds all it could,
 * asserts the references the kernel holds for it (between lo and hi); then
 * that all are gone, and a clean log.
 */
static void run_attack_within(child_fn fn, void *arg, uint64_t lo, uint64_t hi)
{
	struct kv_pins a, b;
	int kmsg = kv_kmsg_open();
	struct child c;

	ck_assert_int_ge(kmsg, 0);
	kv_pins_read(&a);
	child_start(&c, fn, arg);
	if (child_await(&c) == 0) {
		kv_pins_read(&b);
		ck_assert_uint_ge(KV_HELD(a, b), lo);
		ck_assert_uint_le(KV_HELD(a, b), hi);
		child_go(&c);
	}
	CHILD_OK(&c);
	assert_all_gone(&a, kmsg);
}

static void run_attack(child_fn fn, void *arg, uint64_t held)
{
	run_attack_within(fn, arg, held, held);
}

/* ------------------------------------------------- clone(CLONE_FILES) */

/*
 * Children sharing the fd table each open a container, pin their whole
 * budget and exit: the containers live on in the table, their pins not.
 */
static void attack_clone_files(struct chan *ch, void *arg)
{
	int i, fds[NKIDS], p[2];

	(void)arg;
	become_attacker(ch, ATTACKER_UID, BUDGET);
	CREQ_EQ(ch, pipe(p), 0);
	for (i = 0; i < NKIDS; i++) {
		long pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL,
				   NULL, 0);
		int r[2];

		CREQ(ch, pid >= 0);
		if (pid == 0) {
			r[1] = open_and_pin(BUDGET, &r[0]);
			_exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
		}
		creq_exited_ok(ch, pid);
		CREQ_EQ(ch, read(p[0], r, sizeof(r)), sizeof(r));
		/* Each could pin the whole budget: the last one's pins went. */
		CREQ_EQ(ch, r[1], 0);
		fds[i] = r[0];
	}
	creq_all_gone(ch, fds);
}

START_TEST(clone_files_children_exit)
{
	/* Before: 8 x 256 pages stayed pinned, charged to no one alive. */
	run_attack(attack_clone_files, NULL, 0);
}
END_TEST

/* ------------------------------------------ exec without close-on-exec */

/*
 * argv: --budget-exec LEFT UP_W DOWN_R: an exec'ed image of the chain.
 * Pins the budget in a new container (the previous image's pins went with
 * its address space), then execs on, keeping every container fd; the last
 * image checks the inherited ones and waits for the root parent.
 */
int budget_exec_main(int argc, char **argv)
{
	int left, up_w, down_r, fd, i;
	char arg[16], *args[8];
	char c = 'x';

	if (argc != 5)
		return 2;
	left = atoi(argv[2]);
	up_w = atoi(argv[3]);
	down_r = atoi(argv[4]);
	if (open_and_pin(BUDGET, &fd)) {
		fprintf(stderr, "exec chain: pin of the budget refused, %d left\n", left);
		return 1;
	}
	if (left > 0) {
		snprintf(arg, sizeof(arg), "%d", left - 1);
		memcpy(args, (char *[]){ argv[0], argv[1], arg, argv[3], argv[4], NULL },
		       6 * sizeof(char *));
		execv("/proc/self/exe", args);
		return 127;
	}
	/* Every other mempin fd is a container of an earlier image. */
	for (i = 3; i < 1024; i++) {
		char v[16];
		struct mempin_stats_arg st;

		if (i == fd || fdinfo_value(i, "mempin-id", v, sizeof(v)))
			continue;
		if (mp_stats(i, &st) != -EPERM ||
		    fdinfo_value(i, "mempin-pins", v, sizeof(v)) || strcmp(v, "0")) {
			fprintf(stderr, "exec chain: fd %d still holds pins\n", i);
			return 1;
		}
	}
	if (write(up_w, &c, 1) != 1 || read(down_r, &c, 1) != 1)
		return 1;
	return 0;
}

static void attack_exec_chain(struct chan *ch, void *arg)
{
	char left[16], up[16], down[16];

	(void)arg;
	become_attacker(ch, ATTACKER_UID, BUDGET);
	snprintf(left, sizeof(left), "%d", NKIDS);
	snprintf(up, sizeof(up), "%d", ch->up_w);
	snprintf(down, sizeof(down), "%d", ch->down_r);
	CREQ_EQ(ch, fcntl(ch->up_w, F_SETFD, 0), 0);
	CREQ_EQ(ch, fcntl(ch->down_r, F_SETFD, 0), 0);
	execl("/proc/self/exe", "mempin-tests", "--budget-exec", left, up, down,
	      (char *)NULL);
	ch_fail(ch, __FILE__, __LINE__, "exec: %s", strerror(errno));
}

START_TEST(exec_chain_keeps_fds)
{
	/* Only the last image's pins: before, all 9 images' were held. */
	run_attack(attack_exec_chain, NULL, BUDGET);
}
END_TEST

/* ---------------------------------------------------------- SCM_RIGHTS */

static void attack_scm_collector(struct chan *ch, void *arg)
{
	int i, fds[NKIDS], sv[2];

	(void)arg;
	become_attacker(ch, ATTACKER_UID, BUDGET);
	CREQ_EQ(ch, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (i = 0; i < NKIDS; i++) {
		pid_t pid = fork();

		CREQ(ch, pid >= 0);
		if (pid == 0) {
			int fd;

			if (open_and_pin(BUDGET, &fd) || send_fd(sv[1], fd))
				_exit(1);
			_exit(0);
		}
		creq_exited_ok(ch, pid);
		fds[i] = recv_fd(sv[0]);
		CREQ(ch, fds[i] >= 0);
	}
	creq_all_gone(ch, fds);
}

START_TEST(scm_rights_collector)
{
	run_attack(attack_scm_collector, NULL, 0);
}
END_TEST

/* --------------------------------------------- live processes, one uid */

struct siblings {
	int per_process;	/* charge_mode=process expected */
};

/*
 * The attacker holds its whole budget; a sibling of the same uid tries to
 * pin as well: refused when the budget is the user's, granted (a budget
 * of its own) when it is the process's.
 */
static void attack_siblings(struct chan *ch, void *arg)
{
	const struct siblings *s = arg;
	int fd, st, i, p[2];
	pid_t pids[3];
	char c;

	become_attacker(ch, ATTACKER_UID, BUDGET);
	CREQ_EQ(ch, pipe(p), 0);
	CREQ_EQ(ch, open_and_pin(BUDGET, &fd), 0);
	for (i = 0; i < 3; i++) {
		pids[i] = fork();
		CREQ(ch, pids[i] >= 0);
		if (pids[i] == 0) {
			int mine, r;

			/* Not the parent's channel: its failure must reach root. */
			close(ch->up_w);
			close(ch->res_w);
			r = open_and_pin(s->per_process ? BUDGET : 1, &mine);

			c = r == (s->per_process ? 0 : -ENOMEM) ? 'y' : 'n';
			/* Then hold it until the parent has been measured. */
			if (write(p[1], &c, 1) == 1)
				pause();
			_exit(1);
		}
	}
	for (i = 0; i < 3; i++) {
		CREQ_EQ(ch, read(p[0], &c, 1), 1);
		CREQ_EQ(ch, c, 'y');
	}
	ch_sync(ch);
	for (i = 0; i < 3; i++) {
		kill(pids[i], SIGKILL);
		CREQ_EQ(ch, waitpid(pids[i], &st, 0), pids[i]);
		CREQ(ch, WIFSIGNALED(st));
	}
	/* The budget comes back as pins go. */
	close(fd);
	creq_budget_free(ch);
}

START_TEST(user_budget_shared_by_processes)
{
	struct siblings s = { 0 };

	run_attack(attack_siblings, &s, BUDGET);
}
END_TEST

static void mode_set(const char *mode)
{
	ck_assert_int_eq(kv_write_file(MODE_PARAM, mode), 0);
}

static void mode_reset(void)
{
	kv_write_file(MODE_PARAM, "user");
}

static void root_over_the_limit(void)
{
	struct rlimit rl = { 16 * PG, 16 * PG };
	long vm0 = kv_vmpin_kb(0);
	int fd = xmp_open();
	char *mem = xmap(32 * PG), v[64];

	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	xpin(fd, mem, 32 * PG, 0);
	ASSERT_VMPIN(vm0, 32);
	ck_assert_int_eq(fdinfo_value(fd, "mempin-charge-mode", v, sizeof(v)), 0);
	ck_assert_str_eq(v, "process");
	xclose(fd);
	ASSERT_VMPIN(vm0, 0);
	xunmap(mem, 32 * PG);
}

START_TEST(process_mode_multiplies)
{
	struct siblings s = { 1 };
	char *v;
	int fd = xmp_open();

	/* Only while no container exists; bad values never. */
	ck_assert_int_eq(kv_write_file(MODE_PARAM, "process"), -EBUSY);
	xclose(fd);
	ck_assert_int_eq(kv_write_file(MODE_PARAM, "processes"), -EINVAL);
	v = xread_all(MODE_PARAM, 64);
	ck_assert_str_eq(v, "user\n");
	free(v);
	mode_set("process");
	v = xread_all(MODE_PARAM, 64);
	ck_assert_str_eq(v, "process\n");
	free(v);
	/* 4 processes of one uid, each its own budget. */
	run_attack(attack_siblings, &s, 4 * BUDGET);
	/* CAP_IPC_LOCK lifts the limit there too; VmPin still says it all. */
	root_over_the_limit();
	mode_set("user");
}
END_TEST

/* ------------------------------------------- one page, many addresses */

#define NMAPS	2048
#define REF_BUDGET 2048		/* pages: RLIMIT_MEMLOCK 8 MiB */

/*
 * One memfd page mapped at NMAPS addresses, each pinned twice: every pin is
 * charged, so the page gains exactly REF_BUDGET pins before ENOMEM (before,
 * a re-pin cost nothing and the page's refcount could be driven to
 * overflow, with a kernel WARNING).
 */
static void attack_many_mappings(struct chan *ch, void *arg)
{
	int mfd, fd, i, n = 0, r = 0;
	char **maps = calloc(NMAPS, sizeof(*maps));
	struct mempin_stats_arg st;

	(void)arg;
	become_attacker(ch, ATTACKER_UID, REF_BUDGET);
	CREQ(ch, maps != NULL);
	mfd = memfd_create("one-page", MFD_CLOEXEC);
	CREQ(ch, mfd >= 0);
	CREQ_EQ(ch, ftruncate(mfd, PG), 0);
	for (i = 0; i < NMAPS; i++) {
		maps[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		CREQ(ch, maps[i] != MAP_FAILED);
		maps[i][0] = 1;
	}
	fd = mp_open();
	CREQ(ch, fd >= 0);
	for (i = 0; i < NMAPS && !r; i++) {
		r = mp_pin(fd, maps[i], PG, 0, NULL, NULL);
		if (!r) {
			n++;
			r = mp_pin(fd, maps[i], PG, 0, NULL, NULL);
			n += !r;
		}
	}
	CREQ_EQ(ch, r, -ENOMEM);
	CREQ_EQ(ch, n, REF_BUDGET);
	CREQ_EQ(ch, mp_pin(fd, maps[0], PG, MEMPIN_PIN_READONLY, NULL, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_stats(fd, &st), 0);
	CREQ_EQ(ch, st.pages, REF_BUDGET);
	CREQ_EQ(ch, st.charged_pages, REF_BUDGET);
	CREQ_EQ(ch, kv_vmpin_kb(0), REF_BUDGET * (PG / 1024));
	ch_sync(ch);
	close(fd);
}

START_TEST(one_page_many_mappings)
{
	run_attack(attack_many_mappings, NULL, REF_BUDGET);
}
END_TEST

/*
 * Root (CAP_IPC_LOCK: no budget) pins one memfd page through two containers,
 * 1024 references a pin (1024 adjacent mappings of it): whoever pins, a page
 * past 2^30 references (2^20 pins of 1024) is refused with ENOMEM, far from
 * the overflow at 2^31 where GUP WARNs.
 */
START_TEST(one_page_refcount_ceiling)
{
	const size_t nmaps = 1024, per_pin = 1024;
	int mfd = memfd_create("one-page", MFD_CLOEXEC), fd[2], i, r = 0;
	long refused = kv_read_long(STATS "/refused_limit");
	char first[512] = "", *base;
	int kmsg = kv_kmsg_open();
	size_t n = 0, held[2] = { 0, 0 };
	struct kv_pins a, b;

	ck_assert_int_ge(kmsg, 0);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, PG), 0);
	base = mmap(NULL, nmaps * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(base != MAP_FAILED);
	for (i = 0; i < (int)nmaps; i++)
		ck_assert(mmap(base + i * PG, PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, mfd, 0) == base + i * PG);
	base[0] = 1;
	kv_pins_read(&a);
	fd[0] = xmp_open();
	fd[1] = xmp_open();
	/* 600 pins in the first container, then the second until refused. */
	for (i = 0; !r; i = n >= 600) {
		r = mp_pin(fd[i], base, nmaps * PG, 0, NULL, NULL);
		if (!r) {
			n++;
			held[i]++;
		}
	}
	ck_assert_int_eq(r, -ENOMEM);
	/* The 1024th pin crosses 2^30 within its second GUP chunk. */
	ck_assert_uint_eq(n, 1023);
	ck_assert_int_eq(kv_read_long(STATS "/refused_limit"), refused + 1);
	ASSERT_STATS(fd[0], held[0], held[0] * per_pin, held[0] * per_pin);
	ASSERT_STATS(fd[1], held[1], held[1] * per_pin, held[1] * per_pin);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_HELD(a, b), n * per_pin);
	xclose(fd[0]);
	xclose(fd[1]);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_HELD(a, b), 0);
	ck_assert_msg(kv_kmsg_scan(kmsg, first, sizeof(first)) == 0,
		      "kernel log: %s", first);
	close(kmsg);
	munmap(base, nmaps * PG);
	close(mfd);
}
END_TEST

/* ----------------------------------------------------------- io_uring */

static int ring_setup(void)
{
	struct io_uring_params p = { 0 };
	long fd = syscall(__NR_io_uring_setup, 1, &p);

	return fd < 0 ? -errno : (int)fd;
}

static int ring_register(int ring, void *mem, size_t pages)
{
	struct iovec iov = { mem, pages * PG };

	return syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		       &iov, 1) ? -errno : 0;
}

static int ring_unregister(int ring)
{
	return syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS,
		       NULL, 0) ? -errno : 0;
}

/* Pins one page at a time until refused: the budget left, in pages. */
static int budget_left(struct chan *ch, int fd, char *mem, size_t max)
{
	size_t n = 0;
	int r;

	while (n <= max && !(r = mp_pin(fd, mem + n * PG, PG, 0, NULL, NULL)))
		n++;
	CREQ_EQ(ch, r, -ENOMEM);
	return (int)n;
}

/*
 * io_uring's fixed buffers and mempin's pins charge one counter, the user's
 * locked_vm: what one holds, the other cannot have.  (5.10 also charges the
 * ring itself there, so the budget left is measured, not assumed.)
 */
static void attack_io_uring(struct chan *ch, void *arg)
{
	char *mem = touched(2 * BUDGET);
	int ring, fd, left;
	struct mempin_stats_arg st;

	(void)arg;
	become_attacker(ch, ATTACKER_UID, BUDGET);
	CREQ(ch, mem != NULL);
	ring = ring_setup();
	CREQ(ch, ring >= 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	left = budget_left(ch, fd, mem, BUDGET);
	CREQ(ch, left > BUDGET / 2);
	close(fd);
	/* io_uring may have what mempin had, and not a page more. */
	CREQ_EQ(ch, ring_register(ring, mem, left + 1), -ENOMEM);
	CREQ_EQ(ch, ring_register(ring, mem, left / 2), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	CREQ_EQ(ch, budget_left(ch, fd, mem + BUDGET * PG, BUDGET), left - left / 2);
	CREQ_EQ(ch, mp_stats(fd, &st), 0);
	CREQ_EQ(ch, st.pages, left - left / 2);
	ch_sync(ch);
	/* And back: without io_uring's buffers mempin has all of it again. */
	CREQ_EQ(ch, ring_unregister(ring), 0);
	CREQ_EQ(ch, budget_left(ch, fd, mem, BUDGET), left / 2);
	close(fd);
	close(ring);
}

START_TEST(io_uring_shares_the_budget)
{
	/* Together they hold what the budget left after the ring: all of it. */
	run_attack_within(attack_io_uring, NULL, BUDGET / 2 + 1, BUDGET);
}
END_TEST

/* ----------------------------------------------- unpin under pressure */

#define CGROOT	"/sys/fs/cgroup"
#define CG	CGROOT "/mempin-unpin"

/*
 * Unpin allocates nothing, so it succeeds in a memory cgroup that cannot
 * charge a single page more (before, unpinning one of two overlapping pins
 * allocated a bitmap there, and failed or woke the memcg OOM killer).  No
 * CREQ after root has closed the cgroup: reporting a failure would charge
 * a pipe page; the exit status says it.
 */
static void unpin_when_full(struct chan *ch, void *arg)
{
	char *mem = touched(16);
	uint64_t h1, h2;
	int fd = mp_open(), r;

	(void)arg;
	CREQ(ch, mem != NULL && fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, mem, 16 * PG, 0, &h1, NULL), 0);
	CREQ_EQ(ch, mp_pin(fd, mem + 4 * PG, 8 * PG, 0, &h2, NULL), 0);
	CREQ_EQ(ch, kv_write_file("/proc/self/oom_score_adj", "-1000"), 0);
	ch_sync(ch);	/* root moves us into a full cgroup */
	r = mp_unpin(fd, h2);
	if (!r)
		r = mp_unpin(fd, h1);
	_exit(r ? 100 - r : 0);
}

START_TEST(unpin_under_memory_pressure)
{
	char pid[16], *cur;
	int kmsg = kv_kmsg_open();
	struct kv_pins a;
	struct child c;

	ck_assert_int_ge(kmsg, 0);
	if (access(CGROOT "/cgroup.controllers", F_OK))
		ck_assert_int_eq(mount("cgroup2", CGROOT, "cgroup2", 0, NULL), 0);
	ck_assert_int_eq(kv_write_file(CGROOT "/cgroup.subtree_control", "+memory"), 0);
	ck_assert(mkdir(CG, 0755) == 0 || errno == EEXIST);
	kv_pins_read(&a);
	child_start(&c, unpin_when_full, NULL);
	ck_assert_int_eq(child_await(&c), 0);
	snprintf(pid, sizeof(pid), "%d", c.pid);
	ck_assert_int_eq(kv_write_file(CG "/cgroup.procs", pid), 0);
	/* memory.high drains the per-cpu precharge; then not a page more. */
	ck_assert_int_eq(kv_write_file(CG "/memory.high", "0"), 0);
	cur = xread_all(CG "/memory.current", 64);
	ck_assert_int_eq(kv_write_file(CG "/memory.max", cur), 0);
	free(cur);
	ck_assert_int_eq(kv_write_file(CG "/memory.high", "max"), 0);
	child_go(&c);
	CHILD_OK(&c);
	assert_all_gone(&a, kmsg);
	ck_assert_int_eq(rmdir(CG), 0);
}
END_TEST

/* ------------------------------------------------- read-only, O_RDONLY */

/*
 * MAP_SHARED of a file opened O_RDONLY: the kernel clears VM_SHARED, yet it
 * is no copy-on-write mapping (no VM_MAYWRITE): a read-only pin is
 * coherent on every kernel.  The private mapping of the same file is COW:
 * refused before 6.2.
 */
START_TEST(readonly_pin_of_rdonly_shared_file)
{
	int mfd = memfd_create("ro", MFD_CLOEXEC), rofd, fd = xmp_open();
	char path[64], *shared, *priv;
	int want = kv_kernel_version() >= 0x060200 ? 0 : -EFAULT;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 4 * PG), 0);
	ck_assert_int_eq(pwrite(mfd, "data", 4, 0), 4);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	rofd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(rofd, 0);
	shared = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, rofd, 0);
	priv = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, rofd, 0);
	ck_assert(shared != MAP_FAILED && priv != MAP_FAILED);
	ck_assert_int_eq(mp_pin(fd, shared, 4 * PG, MEMPIN_PIN_READONLY, NULL, NULL), 0);
	ck_assert_int_eq(mp_pin(fd, shared, 4 * PG, 0, NULL, NULL), -EFAULT);
	ck_assert_int_eq(mp_pin(fd, priv, 4 * PG, MEMPIN_PIN_READONLY, NULL, NULL), want);
	ASSERT_STATS(fd, want ? 1 : 2, want ? 4 : 8, want ? 4 : 8);
	xclose(fd);
	munmap(shared, 4 * PG);
	munmap(priv, 4 * PG);
	close(rofd);
	close(mfd);
}
END_TEST

Suite *budget_suite(void)
{
	Suite *s = suite_create("budget");
	TCase *tc = tcase_slow("attacks", 300);

	tcase_add_test(tc, clone_files_children_exit);
	tcase_add_test(tc, exec_chain_keeps_fds);
	tcase_add_test(tc, scm_rights_collector);
	tcase_add_test(tc, user_budget_shared_by_processes);
	tcase_add_test(tc, one_page_many_mappings);
	tcase_add_test(tc, one_page_refcount_ceiling);
	tcase_add_test(tc, io_uring_shares_the_budget);
	tcase_add_test(tc, unpin_under_memory_pressure);
	tcase_add_test(tc, readonly_pin_of_rdonly_shared_file);
	suite_add_tcase(s, tc);

	tc = TCASE("charge_mode");
	tcase_add_unchecked_fixture(tc, mode_reset, mode_reset);
	tcase_add_checked_fixture(tc, mode_reset, mode_reset);
	tcase_add_test(tc, process_mode_multiplies);
	suite_add_tcase(s, tc);
	return s;
}
