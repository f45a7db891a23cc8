// SPDX-License-Identifier: GPL-2.0
/*
 * Budgets per cgroup (issue 13): rules through /sys/class/misc/mempin/
 * cgroup/{set,unset}, charged up the cgroup v2 hierarchy.  Each test makes
 * its cgroups under /sys/fs/cgroup/mpt, moves its child processes there
 * (they write 0 to cgroup.procs) and asserts what the kernel shows: pins
 * refused with ENOMEM, VmPin, the FOLL_PIN references of /proc/vmstat, the
 * node directories of sysfs, fdinfo, the refused event, a clean log.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checked.h"
#include "suites.h"

#define CGROOT	"/sys/fs/cgroup"
#define T	CGROOT "/mpt"
#define CTL	"/sys/class/misc/mempin/cgroup"

/* ------------------------------------------------------------ helpers */

/* Writes @line to cgroup/set or cgroup/unset: 0 or -errno. */
static int ctl_write(const char *file, const char *line)
{
	char path[128];
	int fd, r = 0;

	snprintf(path, sizeof(path), CTL "/%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, strlen(line)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int rule_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rule_set(const char *fmt, ...)
{
	char line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return ctl_write("set", line);
}

static int rule_unset(const char *line)
{
	return ctl_write("unset", line);
}

static unsigned long long cg_id(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return (unsigned long long)st.st_ino;
}

/* The node directory of cgroup @path (an absolute cgroupfs path). */
static void node_dir(const char *path, char *dir, size_t len)
{
	snprintf(dir, len, CTL "/%llu", cg_id(path));
}

/* The node's @file as text into @buf; its length, or -1 if absent. */
static ssize_t node_read_text(const char *path, const char *file, char *buf,
			      size_t len)
{
	char dir[128], p[192];
	ssize_t n;
	int fd;

	node_dir(path, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	ck_assert_msg(n >= 0, "%s: %s", p, strerror(errno));
	close(fd);
	buf[n] = 0;
	return n;
}

/* A value of the node's @file: bytes, UINT64_MAX for "max", -1 if absent. */
static long long node_read(const char *path, const char *file)
{
	char buf[64];
	ssize_t n = node_read_text(path, file, buf, sizeof(buf));

	if (n < 0)
		return -1;
	ck_assert_int_gt(n, 0);
	if (!strcmp(buf, "max\n"))
		return (long long)UINT64_MAX;
	return strtoll(buf, NULL, 10);
}

static int node_exists(const char *path)
{
	char dir[128];
	struct stat st;

	node_dir(path, dir, sizeof(dir));
	return stat(dir, &st) == 0;
}

/* Mounts cgroup2 if needed; a fresh, empty /sys/fs/cgroup/mpt. */
static void cg_setup(void)
{
	struct mempin_info_arg in;
	int fd = xmp_open();

	xinfo(fd, &in);
	xclose(fd);
	ck_assert_msg(in.features & MEMPIN_FEATURE_CGROUP_BUDGETS,
		      "no cgroup budgets on this kernel");
	if (access(CGROOT "/cgroup.controllers", F_OK))
		ck_assert_int_eq(mount("cgroup2", CGROOT, "cgroup2", 0, NULL), 0);
	ck_assert(mkdir(T, 0755) == 0 || errno == EEXIST);
}

static void cg_mk(const char *path)
{
	ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "%s: %s",
		      path, strerror(errno));
}

/* Moves the calling process into @path: 0 or -errno. */
static int cg_enter(const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/cgroup.procs", path);
	return kv_write_file(p, "0");
}

/* Removes the rules and cgroups a test made, deepest first (unchecked). */
static void cg_teardown_dir(const char *path)
{
	char sub[512], line[600];
	struct dirent *e;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		cg_teardown_dir(sub);
	}
	closedir(d);
	snprintf(line, sizeof(line), "%s", path + strlen(CGROOT));
	rule_unset(line);
	snprintf(line, sizeof(line), "%s each-child", path + strlen(CGROOT));
	rule_unset(line);
	if (strcmp(path, T))
		rmdir(path);
}

static void cg_teardown(void)
{
	cg_teardown_dir(T);
}


/* A child's job: enter a cgroup, pin some pages, report, hold, unpin. */
struct job {
	const char *cg;		/* cgroup to enter, or NULL */
	size_t pages;		/* pin this many pages at once... */
	int want;		/* ...expecting this (0 or -errno) */
	size_t more;		/* then this many one page at a time */
	size_t more_ok;		/* of which the first more_ok succeed */
	uid_t uid;		/* drop root to this uid (0: stay root) */
	long memlock;		/* its RLIMIT_MEMLOCK, bytes */
};

static void job_run(struct chan *ch, void *arg)
{
	const struct job *j = arg;
	char *mem = touched(j->pages + j->more + 1);
	int fd;

	CREQ(ch, mem != NULL);
	if (j->cg)
		CREQ_EQ(ch, cg_enter(j->cg), 0);
	if (j->uid) {
		CREQ_EQ(ch, drop_root(j->uid, 1000, j->memlock), 0);
		CREQ_EQ(ch, kv_capeff(), 0);
	}
	fd = mp_open();
	CREQ(ch, fd >= 0);
	if (j->pages)
		CREQ_EQ(ch, mp_pin(fd, mem, j->pages * PG, 0, NULL, NULL),
			j->want);
	for (size_t i = 0; i < j->more; i++)
		CREQ_EQ(ch, mp_pin(fd, mem + (j->pages + i) * PG, PG, 0, NULL,
				   NULL), i < j->more_ok ? 0 : -ENOMEM);
	ch_sync(ch);	/* holding: the parent looks */
	ch_sync(ch);	/* then exit, which unpins */
}

/* Starts @j in a child and waits until it holds its pins. */
static void job_start(struct child *c, struct job *j)
{
	child_start(c, job_run, j);
	ck_assert_int_eq(child_await(c), 0);
}

static void job_end(struct child *c)
{
	child_go(c);
	ck_assert_int_eq(child_await(c), 0);
	child_go(c);
	CHILD_OK(c);
}

/* ------------------------------------------------------------- tests */

/* A parent's budget binds its two children together. */
START_TEST(hierarchy_parent_limit)
{
	struct job a = { T "/p/a", 40, 0, 0, 0, 0, 0 };
	struct job b = { T "/p/b", 30, -ENOMEM, 24, 24, 0, 0 };
	uint64_t refused = stats_counter(C_CGROUP);
	struct child ca, cb;

	cg_mk(T "/p");
	cg_mk(T "/p/a");
	cg_mk(T "/p/b");
	ck_assert_int_eq(rule_set("/mpt/p %zu", 64 * PG), 0);
	ck_assert_int_eq(node_read(T "/p", "limit"), 64 * PG);
	job_start(&ca, &a);
	ck_assert_int_eq(node_read(T "/p", "usage"), 40 * PG);
	/* 30 do not fit beside 40; 24 do, one by one, and the 25th not. */
	b.more = 25;
	job_start(&cb, &b);
	ck_assert_int_eq(kv_vmpin_kb(ca.pid), 40 * PG / 1024);
	ck_assert_int_eq(kv_vmpin_kb(cb.pid), 24 * PG / 1024);
	ck_assert_int_eq(node_read(T "/p", "usage"), 64 * PG);
	ck_assert_int_eq(node_read(T "/p", "peak"), 64 * PG);
	ck_assert_int_eq(node_read(T "/p", "refused"), 2);
	ck_assert_uint_eq(stats_counter(C_CGROUP), refused + 2);
	/* No rule on the children: no directory, but usage counted. */
	ck_assert(!node_exists(T "/p/a"));
	job_end(&ca);
	job_end(&cb);
	ck_assert_int_eq(node_read(T "/p", "usage"), 0);
	ck_assert_int_eq(node_read(T "/p", "peak"), 64 * PG);
}
END_TEST

/* An each-child rule gives each of three children its own budget. */
START_TEST(each_child_rule)
{
	static const char *const kids[3] = { T "/pods/a", T "/pods/b", T "/pods/c" };
	struct job j[3];
	struct child c[3];
	char text[128], want[128];

	cg_mk(T "/pods");
	ck_assert_int_eq(rule_set("/mpt/pods %zu each-child", 16 * PG), 0);
	for (int i = 0; i < 3; i++) {
		cg_mk(kids[i]);
		j[i] = (struct job){ kids[i], 16, 0, 1, 0, 0, 0 };
		job_start(&c[i], &j[i]);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(kv_vmpin_kb(c[i].pid), 16 * PG / 1024);
		ck_assert_int_eq(node_read(kids[i], "limit"), 16 * PG);
		ck_assert_int_eq(node_read(kids[i], "usage"), 16 * PG);
		ck_assert_int_eq(node_read(kids[i], "refused"), 1);
		ck_assert_int_gt(node_read_text(kids[i], "rules", text,
						sizeof(text)), 0);
		snprintf(want, sizeof(want), "from-parent %zu\n", 16 * PG);
		ck_assert_str_eq(text, want);
		ck_assert_int_gt(node_read_text(kids[i], "path", text,
						sizeof(text)), 0);
		snprintf(want, sizeof(want), "%s\n", kids[i] + strlen(CGROOT));
		ck_assert_str_eq(text, want);
	}
	/* The parent has no budget of its own, but counts all three. */
	ck_assert_int_eq(node_read(T "/pods", "limit"), (long long)UINT64_MAX);
	ck_assert_int_eq(node_read(T "/pods", "usage"), 48 * PG);
	for (int i = 0; i < 3; i++)
		job_end(&c[i]);
	/* Nothing pinned there any more: the children's nodes go. */
	for (int i = 0; i < 3; i++)
		ck_assert(!node_exists(kids[i]));
}
END_TEST

static void move_and_pin(struct chan *ch, void *arg)
{
	char *mem = touched(14);
	uint64_t h1, h2;
	char key[64];
	int fd;

	(void)arg;
	CREQ(ch, mem != NULL);
	CREQ_EQ(ch, cg_enter(T "/x"), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, mem, 8 * PG, 0, &h1, NULL), 0);
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-cgroup", key, sizeof(key)), 0);
	CREQ(ch, !strcmp(key, "/mpt/x"));
	CREQ_EQ(ch, cg_enter(T "/y"), 0);
	/* Past /mpt/y's budget: refused there, and nothing moves. */
	CREQ_EQ(ch, mp_pin(fd, mem + 8 * PG, 6 * PG, 0, &h2, NULL), -ENOMEM);
	CREQ_EQ(ch, mp_pin(fd, mem + 8 * PG, 4 * PG, 0, &h2, NULL), 0);
	/* The container stays where it has pins. */
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-cgroup", key, sizeof(key)), 0);
	CREQ(ch, !strcmp(key, "/mpt/x"));
	ch_sync(ch);
	CREQ_EQ(ch, mp_unpin(fd, h1), 0);
	/* None left in /mpt/x: the next pin takes the container along. */
	CREQ_EQ(ch, mp_pin(fd, mem, PG, 0, &h1, NULL), 0);
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-cgroup", key, sizeof(key)), 0);
	CREQ(ch, !strcmp(key, "/mpt/y"));
	CREQ_EQ(ch, mp_unpin(fd, h1), 0);
	/*
	 * Back in the root cgroup: charged to none, and the container, with
	 * no pin of its own in /mpt/y (the 4 pages hold theirs), follows.
	 */
	CREQ_EQ(ch, cg_enter(CGROOT), 0);
	CREQ_EQ(ch, mp_pin(fd, mem, 2 * PG, 0, &h1, NULL), 0);
	CREQ_EQ(ch, fdinfo_value(fd, "mempin-cgroup", key, sizeof(key)), 0);
	CREQ(ch, !strcmp(key, "/"));
	ch_sync(ch);
	CREQ_EQ(ch, mp_unpin(fd, h2), 0);
	CREQ_EQ(ch, mp_unpin(fd, h1), 0);
}

/*
 * A moved task's pins stay charged where they were; new ones go with it,
 * and its new cgroup's budget refuses them as any other.
 */
START_TEST(moved_task_keeps_charges)
{
	char rules[64];
	struct child c;

	cg_mk(T "/x");
	cg_mk(T "/y");
	ck_assert_int_eq(rule_set("/mpt/x max"), 0);
	ck_assert_int_eq(rule_set("/mpt/y %zu", 5 * PG), 0);
	ck_assert_int_gt(node_read_text(T "/x", "rules", rules, sizeof(rules)), 0);
	ck_assert_str_eq(rules, "own max\n");
	child_start(&c, move_and_pin, NULL);
	ck_assert_int_eq(child_await(&c), 0);
	ck_assert_int_eq(node_read(T "/x", "usage"), 8 * PG);
	ck_assert_int_eq(node_read(T "/y", "usage"), 4 * PG);
	ck_assert_int_eq(node_read(T "/y", "refused"), 1);
	ck_assert_int_eq(node_read(T "/x", "refused"), 0);
	child_go(&c);
	ck_assert_int_eq(child_await(&c), 0);
	ck_assert_int_eq(node_read(T "/x", "usage"), 0);
	ck_assert_int_eq(node_read(T "/y", "usage"), 4 * PG);
	ck_assert_int_eq(kv_vmpin_kb(c.pid), 6 * PG / 1024);
	child_go(&c);
	CHILD_OK(&c);
	ck_assert_int_eq(node_read(T "/y", "usage"), 0);
}
END_TEST

static void pin_then_leave(struct chan *ch, void *arg)
{
	char *mem = touched(8);
	uint64_t h;
	int fd;

	(void)arg;
	CREQ(ch, mem != NULL);
	CREQ_EQ(ch, cg_enter(T "/gone"), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, mem, 8 * PG, 0, &h, NULL), 0);
	CREQ_EQ(ch, cg_enter(T), 0);
	ch_sync(ch);	/* the parent removes the cgroup */
	CREQ_EQ(ch, mp_unpin(fd, h), 0);
}

/* rmdir of a cgroup with live pins; then the unpin: no leak, no warning. */
START_TEST(rmdir_with_live_pins)
{
	struct kv_pins a, b;
	char dir[128];
	int kmsg = kv_kmsg_open();
	struct child c;
	struct stat st;

	ck_assert_int_ge(kmsg, 0);
	cg_mk(T "/gone");
	ck_assert_int_eq(rule_set("/mpt/gone %zu", 8 * PG), 0);
	node_dir(T "/gone", dir, sizeof(dir));
	kv_pins_read(&a);
	child_start(&c, pin_then_leave, NULL);
	ck_assert_int_eq(child_await(&c), 0);
	ck_assert_int_eq(rmdir(T "/gone"), 0);
	/* The charge stays with the removed cgroup, which says so. */
	{
		char p[160];

		snprintf(p, sizeof(p), "%s/removed", dir);
		ck_assert_int_eq(kv_read_long(p), 1);
		snprintf(p, sizeof(p), "%s/usage", dir);
		ck_assert_int_eq(kv_read_long(p), 8 * PG);
	}
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_HELD(a, b), 8);
	child_go(&c);
	CHILD_OK(&c);
	kv_pins_read(&b);
	ck_assert_uint_eq(KV_HELD(a, b), 0);
	/* The next rule change drops the removed cgroup's rule, and its node. */
	ck_assert_int_eq(rule_unset("/mpt/gone"), -ENOENT);
	ck_assert_int_eq(stat(dir, &st), -1);
	{
		char first[512] = "";

		ck_assert_msg(kv_kmsg_scan(kmsg, first, sizeof(first)) == 0,
			      "kernel log: %s", first);
	}
	close(kmsg);
}
END_TEST

/*
 * A rule with rlimit stands in for RLIMIT_MEMLOCK: uid 65534 with 64 KiB
 * pins up to its cgroup's budget, and no further.  Without the option,
 * both apply.
 */
START_TEST(budget_as_rlimit)
{
	struct job with = { T "/r", 0, 0, 65, 64, 65534, 16 * PG };
	struct job without = { T "/n", 0, 0, 17, 16, 65534, 16 * PG };
	uint64_t rl = stats_counter(C_RLIMIT), cgr = stats_counter(C_CGROUP);
	struct child c;

	cg_mk(T "/r");
	cg_mk(T "/n");
	ck_assert_int_eq(rule_set("/mpt/r %zu rlimit", 64 * PG), 0);
	ck_assert_int_eq(rule_set("/mpt/n %zu", 64 * PG), 0);
	job_start(&c, &with);
	ck_assert_int_eq(kv_vmpin_kb(c.pid), 64 * PG / 1024);
	job_end(&c);
	ck_assert_uint_eq(stats_counter(C_CGROUP), cgr + 1);
	job_start(&c, &without);
	ck_assert_int_eq(kv_vmpin_kb(c.pid), 16 * PG / 1024);
	job_end(&c);
	ck_assert_uint_eq(stats_counter(C_RLIMIT), rl + 1);
	ck_assert_uint_eq(stats_counter(C_CGROUP), cgr + 1);
}
END_TEST

/* Root, with CAP_IPC_LOCK, is bounded by a cgroup budget like anyone. */
START_TEST(root_is_bounded)
{
	struct job j = { T "/root", 16, 0, 1, 0, 0, 0 };
	struct child c;

	cg_mk(T "/root");
	ck_assert_int_eq(rule_set("/mpt/root %zu", 16 * PG), 0);
	ck_assert(kv_capeff() & (1ULL << 14));	/* CAP_IPC_LOCK */
	job_start(&c, &j);
	ck_assert_int_eq(kv_vmpin_kb(c.pid), 16 * PG / 1024);
	job_end(&c);
}
END_TEST

#define STORM_KIDS	4
#define STORM_LIMIT	64

/* Pins and unpins random sizes in a sibling cgroup until killed. */
static void storm_worker(struct chan *ch, void *arg)
{
	const char *cg = arg;
	char *mem = touched(64);
	uint64_t h[8] = { 0 };
	unsigned int seed = (unsigned int)getpid();
	int fd;

	CREQ(ch, mem != NULL);
	CREQ_EQ(ch, cg_enter(cg), 0);
	fd = mp_open();
	CREQ(ch, fd >= 0);
	ch_sync(ch);
	for (;;) {
		int i = rand_r(&seed) % 8;
		int r;

		if (h[i]) {
			CREQ_EQ(ch, mp_unpin(fd, h[i]), 0);
			h[i] = 0;
			continue;
		}
		r = mp_pin(fd, mem + i * 8 * PG, (1 + rand_r(&seed) % 8) * PG,
			   0, &h[i], NULL);
		CREQ(ch, r == 0 || r == -ENOMEM);
		if (r)
			h[i] = 0;
	}
}

/*
 * Pins racing in four sibling cgroups never overshoot their parent's
 * budget, which is less than they would hold together.
 */
START_TEST(sibling_storm_never_overshoots)
{
	static const char *const kids[STORM_KIDS] = {
		T "/storm/a", T "/storm/b", T "/storm/c", T "/storm/d" };
	struct child c[STORM_KIDS];
	struct timespec end, now;
	long most = 0, samples = 0;

	cg_mk(T "/storm");
	ck_assert_int_eq(rule_set("/mpt/storm %zu", STORM_LIMIT * PG), 0);
	for (int i = 0; i < STORM_KIDS; i++) {
		cg_mk(kids[i]);
		child_start(&c[i], storm_worker, (void *)kids[i]);
		ck_assert_int_eq(child_await(&c[i]), 0);
	}
	for (int i = 0; i < STORM_KIDS; i++)
		child_go(&c[i]);
	/* At least 50 looks and one refusal; a minute at most. */
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 60;
	do {
		long sum = 0, usage;

		/*
		 * Stopped, every worker is out of the kernel: their VmPin
		 * are one moment's, and their sum is what the cgroup holds.
		 */
		for (int i = 0; i < STORM_KIDS; i++) {
			int st;

			ck_assert_int_eq(kill(c[i].pid, SIGSTOP), 0);
			ck_assert_int_eq(waitpid(c[i].pid, &st, WUNTRACED), c[i].pid);
			ck_assert(WIFSTOPPED(st));
		}
		usage = node_read(T "/storm", "usage");
		for (int i = 0; i < STORM_KIDS; i++)
			sum += kv_vmpin_kb(c[i].pid);
		ck_assert_int_eq(usage, sum * 1024);
		for (int i = 0; i < STORM_KIDS; i++)
			ck_assert_int_eq(kill(c[i].pid, SIGCONT), 0);
		ck_assert_int_le(sum, STORM_LIMIT * PG / 1024);
		ck_assert_int_le(usage, STORM_LIMIT * PG);
		most = sum > most ? sum : most;
		samples++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ck_assert_msg(now.tv_sec < end.tv_sec,
			      "no refusal in a minute (%ld looks)", samples);
		usleep(20000);
	} while (samples < 50 || node_read(T "/storm", "refused") == 0);
	for (int i = 0; i < STORM_KIDS; i++) {
		char m[256];

		kill(c[i].pid, SIGKILL);
		ck_assert_int_ne(child_finish(&c[i], m, sizeof(m)), 0);
		ck_assert_msg(WIFSIGNALED(c[i].status), "worker: %s", m);
	}
	ck_assert_int_le(node_read(T "/storm", "peak"), STORM_LIMIT * PG);
	ck_assert_int_gt(node_read(T "/storm", "refused"), 0);
	ck_assert_int_eq(node_read(T "/storm", "usage"), 0);
	printf("storm: %ld samples, most pinned %ld KiB of %ld\n", samples, most,
	       (long)(STORM_LIMIT * PG / 1024));
}
END_TEST

/* Bad input: a clear errno, nothing changed, no log line. */
START_TEST(bad_input)
{
	static const struct { const char *line; int err; } cases[] = {
		{ " ", -EINVAL },
		{ "mpt 4096", -EINVAL },		/* relative */
		{ "/mpt/ 4096", -EINVAL },		/* trailing / */
		{ "/mpt//b 4096", -EINVAL },
		{ "/mpt/../mpt 4096", -EINVAL },
		{ "/mpt/. 4096", -EINVAL },
		{ "/mpt", -EINVAL },			/* no size */
		{ "/mpt 4097", -EINVAL },		/* not a page multiple */
		{ "/mpt 1Z", -EINVAL },
		{ "/mpt -4096", -EINVAL },
		{ "/mpt +4096", -EINVAL },
		{ "/mpt 4096 each-child each-child", -EINVAL },
		{ "/mpt 4096 sometimes", -EINVAL },
		{ "/mpt 99999999999999999999", -ERANGE },
		{ "/mpt 17179869184T", -ERANGE },
		{ "/mpt 9223372036854775807K", -ERANGE },
		/* Longer than the parser's 23 characters, whatever the value. */
		{ "/mpt 000000000000000000004096", -ERANGE },
		{ "/ 4096", -EINVAL },			/* max_pinned_pages */
		{ "/no-such-cgroup 4096", -ENOENT },
		{ "/mpt/cgroup.procs 4096", -ENOTDIR },
	};
	int kmsg = kv_kmsg_open(), fd = xmp_open();
	char first[512] = "", key[64];

	/* The suite runs in the root cgroup, which has no node. */
	ck_assert_int_eq(fdinfo_value(fd, "mempin-cgroup", key, sizeof(key)), 0);
	ck_assert_str_eq(key, "/");
	xclose(fd);
	ck_assert_int_ge(kmsg, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(rule_set("%s", cases[i].line) == cases[i].err,
			      "'%s': %d, not %d", cases[i].line,
			      rule_set("%s", cases[i].line), cases[i].err);
	ck_assert_int_eq(rule_unset("/mpt"), -ENOENT);
	ck_assert_int_eq(rule_unset("/mpt each-child"), -ENOENT);
	/* 23 characters: still a size. */
	ck_assert_int_eq(rule_set("/mpt 00000000000000000004096"), 0);
	ck_assert_int_eq(node_read(T, "limit"), 4096);
	ck_assert_int_eq(rule_unset("/mpt"), 0);
	/* Blanks between words are blanks, however many. */
	ck_assert_int_eq(rule_set("/mpt  4096 \t each-child"), 0);
	ck_assert_int_eq(rule_unset("/mpt   each-child"), 0);
	ck_assert_int_eq(rule_unset("/mpt rlimit"), -EINVAL);
	ck_assert_int_eq(rule_unset("/no-such-cgroup"), -ENOENT);
	ck_assert_int_eq(rule_unset("/"), -EINVAL);
	ck_assert(!node_exists(T));
	ck_assert_msg(kv_kmsg_scan(kmsg, first, sizeof(first)) == 0,
		      "kernel log: %s", first);
	close(kmsg);
}
END_TEST

static void unprivileged_writer(struct chan *ch, void *arg)
{
	(void)arg;
	CREQ_EQ(ch, drop_root(1000, 1000, 0), 0);
	CREQ_EQ(ch, ctl_write("set", "/mpt 4096"), -EACCES);
	CREQ_EQ(ch, ctl_write("unset", "/mpt"), -EACCES);
}

#define DEPTH	100

/* A budget binds pins made a hundred levels below it. */
START_TEST(deep_hierarchy)
{
	char path[DEPTH * 2 + 64];
	size_t len;
	struct job j = { path, 8, 0, 1, 0, 0, 0 };
	struct child c;

	len = (size_t)snprintf(path, sizeof(path), T);
	for (int i = 0; i < DEPTH; i++) {
		len += (size_t)snprintf(path + len, sizeof(path) - len, "/d");
		cg_mk(path);
	}
	ck_assert_int_eq(rule_set("/mpt/d %zu", 8 * PG), 0);
	job_start(&c, &j);
	ck_assert_int_eq(kv_vmpin_kb(c.pid), 8 * PG / 1024);
	ck_assert_int_eq(node_read(T "/d", "usage"), 8 * PG);
	ck_assert_int_eq(node_read(T "/d", "refused"), 1);
	job_end(&c);
	ck_assert_int_eq(node_read(T "/d", "usage"), 0);
}
END_TEST

static void namespaced_writer(struct chan *ch, void *arg)
{
	(void)arg;
	CREQ_EQ(ch, cg_enter(T "/ns"), 0);
	CREQ_EQ(ch, unshare(CLONE_NEWCGROUP), 0);
	CREQ_EQ(ch, ctl_write("set", "/ 4096"), -EACCES);
	CREQ_EQ(ch, ctl_write("unset", "/"), -EACCES);
}

/*
 * Root in a cgroup namespace would name cgroups from its own root on 6.x
 * and from the hierarchy's on 5.10: it may set no rule at all.
 */
START_TEST(cgroup_namespace_writer)
{
	struct child c;

	cg_mk(T "/ns");
	child_start(&c, namespaced_writer, NULL);
	CHILD_OK(&c);
	ck_assert(!node_exists(T "/ns"));
}
END_TEST

/* Only root sets rules, and only root reads the budgets. */
START_TEST(root_only)
{
	struct stat st;
	char dir[128], p[160];
	struct child c;

	ck_assert_int_eq(stat(CTL "/set", &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0200);
	ck_assert_int_eq(stat(CTL "/unset", &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0200);
	ck_assert_int_eq(rule_set("/mpt %zu", 4 * PG), 0);
	node_dir(T, dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/usage", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0400);
	child_start(&c, unprivileged_writer, NULL);
	CHILD_OK(&c);
}
END_TEST

/* No more than 1024 rules: ENOSPC, and every one may be removed again. */
START_TEST(rule_count_bounded)
{
	char path[64];
	int i;

	for (i = 0; i < 512; i++) {
		snprintf(path, sizeof(path), T "/n%d", i);
		cg_mk(path);
		ck_assert_int_eq(rule_set("/mpt/n%d 4096", i), 0);
		ck_assert_int_eq(rule_set("/mpt/n%d 4096 each-child", i), 0);
	}
	/* Replacing a rule is no new rule. */
	ck_assert_int_eq(rule_set("/mpt/n0 8192"), 0);
	ck_assert_int_eq(rule_set("/mpt 4096"), -ENOSPC);
	ck_assert_int_eq(rule_unset("/mpt/n0"), 0);
	ck_assert_int_eq(rule_set("/mpt 4096"), 0);
}
END_TEST

/* The refused event names the budget and the cgroup that refused. */
START_TEST(refused_event_names_cgroup)
{
	struct job j = { T "/ev", 4, -ENOMEM, 0, 0, 0, 0 };
	char want[96];
	const char *ev;
	struct child c;
	char *trace;

	cg_mk(T "/ev");
	ck_assert_int_eq(rule_set("/mpt/ev %zu", 2 * PG), 0);
	tracefs_mount();
	trace_start();
	job_start(&c, &j);
	job_end(&c);
	trace = trace_stop();
	ev = trace_find(trace, "refused", c.pid, 0);
	ck_assert_msg(ev != NULL, "no refused event in:\n%s", trace);
	snprintf(want, sizeof(want), "budget=cgroup pages=4 cgroup_id=%llu",
		 cg_id(T "/ev"));
	ck_assert_msg(!strncmp(ev, want, strlen(want)), "'%s' is not '%s'", ev,
		      want);
	free(trace);
}
END_TEST

Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = TCASE("budgets");

	tcase_add_checked_fixture(tc, cg_setup, cg_teardown);
	tcase_add_test(tc, hierarchy_parent_limit);
	tcase_add_test(tc, each_child_rule);
	tcase_add_test(tc, moved_task_keeps_charges);
	tcase_add_test(tc, rmdir_with_live_pins);
	tcase_add_test(tc, budget_as_rlimit);
	tcase_add_test(tc, root_is_bounded);
	tcase_add_test(tc, sibling_storm_never_overshoots);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, deep_hierarchy);
	tcase_add_test(tc, root_only);
	tcase_add_test(tc, cgroup_namespace_writer);
	tcase_add_test(tc, rule_count_bounded);
	tcase_add_test(tc, refused_event_names_cgroup);
	suite_add_tcase(s, tc);
	return s;
}
