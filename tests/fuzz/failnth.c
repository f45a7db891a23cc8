// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "failnth": every error path made to fail on purpose, as syzkaller
 * does.  For each operation (open, close, exit, each ioctl on each kind of
 * mapping, each mempinctl command that talks to the module), run it with
 * the Nth fault-injection site of the calling task failing (failslab,
 * fail_page_alloc, fail_usercopy; /proc/thread-self/fail-nth), for
 * N = 1, 2, ... until a run completes with no fault injected.  Each run, in
 * a fresh process (so that open() also registers the mmu notifier):
 *
 *   setup (not armed)  mappings, containers, pins the operation needs
 *   armed              the one system call; then fail-nth is read (0: the
 *                      fault fired) and disarmed
 *   result             0 or an errno mempin(4) documents for it
 *   state              container stats, VmPin, the module's totals (sysfs:
 *                      pins, pinned_pages = the cap counter, containers),
 *                      nr_foll_pin_acquired - released (after stat_refresh)
 *                      and the user's budget (locked_vm, or VmPin in
 *                      charge_mode process: of a budget of LIMIT pages,
 *                      LIMIT - charged pages pin and one more does not) are
 *                      what the result says: unchanged on an error, the
 *                      operation's effect on success
 *   teardown           close everything; then all of the above at zero
 *   kernel log         not one new line (verbose=0: the injection itself
 *                      prints nothing)
 *
 * Cgroup budgets (module/cgroup.c), where the module has them: open and
 * pins in a fresh child /mpfn/c of /mpfn, whose each-child rule gives the
 * child a budget, so that its node and node directory are made in the
 * armed call; and the rule writes (set, unset; own, each-child) on a fresh
 * /mpfr/g and below.  The state then also covers the node directories
 * (cgroup/<id>/: path, limit, usage, removed, rules): unchanged on an
 * error, the call's effect on success (the rules': what a run with nothing
 * injected left).  A node directory that could not be made at the pin is
 * made at the next rule change (module/cgroup.c): then it must be.  After
 * each run the fresh cgroups are removed, and none may stay dying (a node
 * that leaked holds its cgroup).
 *
 * The process runs as root without CAP_IPC_LOCK, so RLIMIT_MEMLOCK applies;
 * both charge modes.  mempinctl runs under LD_PRELOAD=failnth-preload.so,
 * whose constructor arms fail-nth after the dynamic loader is done: every
 * fault site of the command itself, N = 1, 2, ...; it must end with a
 * status of 0 or 1 (failed, with a message), never a signal or 3 (module
 * not loaded: it is), and change nothing; the cgroup commands (list, set, unset,
 * apply) run with fresh /mpfc/s and /mpfc/e, and leave what writing their
 * rules to the module directly leaves on success, no more than part of it
 * on a failure (apply sets the rules it can).  Last, mempinctl unload (no
 * container open): a success leaves the module gone without a trace, a
 * failure loaded and working.
 *
 * Opt-in (MEMPIN_TEST_FUZZ_PHASES=failnth): it needs a kernel with
 * CONFIG_FAULT_INJECTION (make check-debug DEBUG=kasan).  On any kernel,
 * MEMPIN_TEST_FAILNTH_DRY=1 runs each operation once, nothing injected:
 * the harness and the state checks themselves.  MEMPIN_TEST_FAILNTH_ONLY
 * ('|' list of substrings of operation names) and _MODES (user, process)
 * narrow the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "fuzz.h"

#define LIMIT	2048UL			/* RLIMIT_MEMLOCK, pages */
#define HPAGE	(2UL << 20)
#define SCATTER	1024UL			/* pages of the scattered pin: 8 KiB of runs */
#define MAX_N	20000			/* N never gets here: a loop bound */
#define DBG	"/sys/kernel/debug/"
#define STATS	"/sys/class/misc/mempin/stats/"
#define CGROOT	"/sys/fs/cgroup"
#define CGCTL	"/sys/class/misc/mempin/cgroup"
/* The each-child budget of /mpfn: above LIMIT, so that RLIMIT_MEMLOCK still
 * binds first, as check_budget() expects. */
#define EACH	(16UL << 20)
#define SNAP	2048			/* a snapshot of the cgroup directories */

/* What one run of an operation left, for its checks. */
struct run {
	int fd, fd2;			/* containers; -1 if none */
	char *anon, *fault, *thp, *huge, *memfd, *ext4, *scat, *probe;
	uint64_t h[3];			/* pins made by the setup */
	struct mempin_pin_entry ent[3];
	/* What the setup holds, and what a success adds. */
	long pins, pages, containers;
	long dpins, dpages, dcontainers;
	int ret;			/* the armed call: 0 or -errno */
	int cgfd;			/* cgroup/set or unset, for a rule op */
	const char *line;		/* what the armed call writes there */
	char snap[SNAP];		/* the cgroup directories before the call */
};

struct op {
	const char *name;
	unsigned int needs;		/* NEED_* */
	int (*setup)(struct run *r);
	int (*armed)(struct run *r);
	/* Errnos this operation may return when a fault is injected. */
	const int *errnos;
	int plain;			/* its result with no fault: 0 or -errno */
};

/*
 * NEED_CG: pins in a fresh child /mpfn/c of /mpfn, which has an each-child
 * rule; NEED_CGRULE: rules on a fresh /mpfr/g and below.  Both need cgroup
 * budgets and a cgroup2 mount.
 */
enum { NEED_EXT4 = 1, NEED_HUGETLB = 2, NEED_CG = 4, NEED_CGRULE = 8 };

/* Outcomes per operation, shared with the run processes. */
struct tally {
	unsigned long runs, injected, ok, err[8];
	int errs[8];
	unsigned int n_last;
	unsigned long late;		/* cgroup directories made late */
};

static struct shared {
	struct tally t[64];
	int fails;			/* failures so far, of all processes */
	int injected;			/* the last run's */
	int ret;
	char ref[64][SNAP];		/* per op: the cgroup directories after a
					 * run with no fault (rule ops) */
} *sh;

/* fail(), counted: one operation's failure stops its N, not the others. */
#define FAIL(...) do {						\
		if (sh)						\
			__sync_fetch_and_add(&sh->fails, 1);	\
		fail(__VA_ARGS__);				\
	} while (0)

static const char *ext4_dir;
static int fail_fd = -1;
/* No fail-nth (MEMPIN_TEST_FAILNTH_DRY=1): each operation once, unarmed. */
static bool dry;
/* MEMPIN_FEATURE_READONLY_COW: else a read-only pin of a private mapping
 * is refused (EFAULT, before 6.2). */
static bool readonly_cow;

/* ---- fail-nth ---- */

static int arm(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (dry)
		return 0;
	return pwrite(fail_fd, b, len, 0) == len ? 0 : -errno;
}

/*
 * 1 if the armed fault fired.  Reading copies out (a fail_usercopy site):
 * with one site left that read fails, which says the call did not use it.
 */
static int disarm(void)
{
	char b[16] = "";
	ssize_t n = dry ? 0 : pread(fail_fd, b, sizeof(b) - 1, 0);
	int fired = n > 0 && b[0] == '0';

	if (dry)
		return 0;
	if (pwrite(fail_fd, "0", 1, 0) != 1 && errno != EFAULT)
		FAIL("failnth: cannot disarm fail-nth: %s", strerror(errno));
	return fired;
}

static int fault_setup(void)
{
	static const char *const dirs[] = { "failslab", "fail_page_alloc",
					    "fail_usercopy" };
	/*
	 * task-filter first, probability last: in between, with the defaults
	 * (no filter, times 1), any task of the system would fail; init did,
	 * and the kernel panicked.
	 */
	static const char *const files[][2] = {
		{ "task-filter", "Y" }, { "verbose", "0" }, { "interval", "1" },
		{ "space", "0" }, { "times", "-1" }, { "probability", "100" },
	};
	char path[128];
	int bad = 0;

	/* As syzkaller: also GFP_KERNEL allocations, user pages, order 0. */
	bad |= kv_write_file(DBG "failslab/ignore-gfp-wait", "N") != 0;
	bad |= kv_write_file(DBG "fail_page_alloc/ignore-gfp-wait", "N") != 0;
	bad |= kv_write_file(DBG "fail_page_alloc/ignore-gfp-highmem", "N") != 0;
	bad |= kv_write_file(DBG "fail_page_alloc/min-order", "0") != 0;
	for (unsigned int d = 0; d < 3; d++) {
		for (unsigned int f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			snprintf(path, sizeof(path), DBG "%s/%s", dirs[d], files[f][0]);
			bad |= kv_write_file(path, files[f][1]) != 0;
		}
	}
	if (bad) {
		FAIL("failnth: cannot configure fault injection in " DBG
		     " (CONFIG_FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_USERCOPY,"
		     " FAULT_INJECTION_DEBUG_FS?)");
		return -1;
	}
	return 0;
}

/* ---- what the kernel shows ---- */

static long sysfs(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), STATS "%s", name);
	return kv_read_long(path);
}

static int64_t held(void)
{
	return pins_held(NULL, NULL);
}

/* Checks the module's totals, VmPin, and the container's stats if fd. */
static void check_state(const char *op, unsigned int n, const char *when, int fd,
			long pins, long pages, long containers, int64_t held0)
{
	struct mempin_stats_arg st = { .size = sizeof(st) };
	long v;

	if (fd >= 0) {
		if (ioctl(fd, MEMPIN_IOC_STATS, &st))
			FAIL("failnth %s N=%u %s: STATS: %s", op, n, when, strerror(errno));
		else if ((long)st.pins != pins || (long)st.pages != pages ||
			 st.charged_pages != st.pages)
			FAIL("failnth %s N=%u %s: container has %llu pins %llu pages "
			     "%llu charged, expected %ld pins %ld pages", op, n, when,
			     (unsigned long long)st.pins, (unsigned long long)st.pages,
			     (unsigned long long)st.charged_pages, pins, pages);
	}
	v = kv_vmpin_kb(0);
	if (v != pages * (long)(PG / 1024))
		FAIL("failnth %s N=%u %s: VmPin %ld kB, expected %ld", op, n, when, v,
		     pages * (long)(PG / 1024));
	if (sysfs("pins") != pins || sysfs("pinned_pages") != pages ||
	    sysfs("charged_pages") != pages || sysfs("containers") != containers)
		FAIL("failnth %s N=%u %s: module totals: %ld pins %ld pinned_pages "
		     "%ld charged_pages %ld containers, expected %ld %ld %ld %ld",
		     op, n, when, sysfs("pins"), sysfs("pinned_pages"),
		     sysfs("charged_pages"), sysfs("containers"), pins, pages, pages,
		     containers);
	if (held() - held0 != pages)
		FAIL("failnth %s N=%u %s: nr_foll_pin held %lld more than before, "
		     "expected %ld", op, n, when, (long long)(held() - held0), pages);
}

/*
 * The budget: with @charged pages charged, LIMIT - charged more pin and one
 * more does not (ENOMEM).  In a container of its own, closed again.
 */
static void check_budget(const char *op, unsigned int n, char *probe, long charged)
{
	long room = (long)LIMIT - charged;
	uint64_t h;
	int fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC), r1 = 0, r2;

	if (fd < 0) {
		FAIL("failnth %s N=%u: budget probe: open: %s", op, n, strerror(errno));
		return;
	}
	if (room > 0)
		r1 = mp_pin(fd, probe, room * PG, 0, &h, NULL);
	if (!r1 && room > 0)
		mp_unpin(fd, h);
	r2 = mp_pin(fd, probe, (room + 1) * PG, 0, &h, NULL);
	if (r1 || r2 != -ENOMEM)
		FAIL("failnth %s N=%u: budget: %ld pages charged, but a pin of the "
		     "%ld left gave %s and of one more %s", op, n, charged, room,
		     strerror(-r1), r2 ? strerror(-r2) : "success");
	close(fd);
}

/* ---- mappings ---- */

static char *map_anon(size_t len, bool populate)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0),
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static char *map_thp(void)
{
	char *p = map_anon(2 * HPAGE, false);

	if (!p)
		return NULL;
	p = (char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
	madvise(p, HPAGE, MADV_HUGEPAGE);
	memset(p, 1, HPAGE);
	return p;
}

static char *map_hugetlb(void)
{
	char *p = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, HPAGE);
	return p;
}

static char *map_memfd(void)
{
	int fd = memfd_create("failnth", MFD_CLOEXEC);
	char *p;

	if (fd < 0 || ftruncate(fd, 16 * PG))
		return NULL;
	p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static char *map_ext4(int prot)
{
	char path[256];
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/failnth.%d", ext4_dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	unlink(path);
	if (ftruncate(fd, 16 * PG)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, 16 * PG, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Pages faulted in backwards: physically scattered, one run each. */
static char *map_scattered(void)
{
	char *p = map_anon(SCATTER * PG, false);

	if (!p)
		return NULL;
	madvise(p, SCATTER * PG, MADV_NOHUGEPAGE);
	for (long i = SCATTER - 1; i >= 0; i--)
		p[i * PG] = 1;
	return p;
}

/* ---- cgroups (module/cgroup.c) ---- */

/* Cgroup budgets and a cgroup2 mount: the NEED_CG* operations run. */
static bool cgroups;
/* The cgroup directories with only the phase's own rules. */
static char cg_base[SNAP];

/* Writes @line to cgroup/@file (set, unset): 0 or -errno. */
static int cg_rule(const char *file, const char *line)
{
	char path[128];

	snprintf(path, sizeof(path), CGCTL "/%s", file);
	return kv_write_file(path, line);
}

/* The node directory of cgroup @path (under CGROOT) in @dir; 0 if none. */
static int cg_dir(const char *path, char *dir, size_t len)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), CGROOT "%s", path);
	if (stat(p, &st))
		return 0;
	snprintf(dir, len, CGCTL "/%llu", (unsigned long long)st.st_ino);
	return !access(dir, F_OK);
}

/* A file of a node directory, without its last newline; "" if unreadable. */
static void cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every node directory, "path limit usage removed rules" each, sorted by
 * path: what a rule or a charge changes (peak and refused only grow).
 */
static void cg_snap(char *out, size_t len)
{
	char *lines[32], dir[300], v[5][256];
	unsigned int n = 0;
	struct dirent *e;
	size_t o = 0;
	DIR *d = opendir(CGCTL);

	*out = 0;
	while (d && (e = readdir(d)) && n < 32) {
		static const char *const files[] = { "path", "limit", "usage",
						     "removed", "rules" };

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), CGCTL "/%s", e->d_name);
		for (unsigned int k = 0; k < 5; k++)
			cg_read(dir, files[k], v[k], sizeof(v[k]));
		for (char *c = v[4]; *c; c++)
			*c = *c == '\n' ? ',' : *c;
		if (asprintf(&lines[n], "%s %s %s %s [%s]", v[0], v[1], v[2], v[3],
			     v[4]) > 0)
			n++;
	}
	if (d)
		closedir(d);
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	for (unsigned int k = 0; k < n; k++) {
		o += snprintf(out + o, len - o, "%s%s", k ? "; " : "", lines[k]);
		if (o >= len)
			o = len - 1;
		free(lines[k]);
	}
}

/* The cgroups an operation makes afresh for each run, parents first. */
static const char *const cg_pin_dirs[] = { "/mpfn/c", NULL };
static const char *const cg_rule_dirs[] = { "/mpfr/g", "/mpfr/g/r", "/mpfr/g/e",
					    "/mpfr/g/e/k", NULL };
static const char *const cg_ctl_dirs[] = { "/mpfc/s", "/mpfc/e", NULL };

static const char *const *cg_dirs(unsigned int needs)
{
	return needs & NEED_CG ? cg_pin_dirs : needs & NEED_CGRULE ? cg_rule_dirs :
	       cg_ctl_dirs;
}

static void cg_make(const char *const *dirs)
{
	char p[256];

	for (; *dirs; dirs++) {
		snprintf(p, sizeof(p), CGROOT "%s", *dirs);
		if (mkdir(p, 0755) && errno != EEXIST)
			FAIL("failnth: mkdir %s: %s", p, strerror(errno));
	}
}

/* nr_dying_descendants of cgroup @path. */
static long cg_dying(const char *path)
{
	char p[256], line[128];
	long v = -1;
	FILE *f;

	snprintf(p, sizeof(p), CGROOT "%s/cgroup.stat", path);
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nr_dying_descendants %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

/*
 * Removes @dirs' rules and the cgroups, children first.  A node holds its
 * cgroup (cgroup_get()): one that leaked keeps it dying for ever, which
 * nr_dying_descendants of the parent shows.  Then only the phase's rules
 * may be left.
 */
static void cg_clean(const char *what, unsigned int n, const char *const *dirs)
{
	char p[256], top[64], snap[SNAP];
	int k = 0, i;

	while (dirs[k])
		k++;
	for (i = k - 1; i >= 0; i--) {
		snprintf(p, sizeof(p), "%s each-child", dirs[i]);
		cg_rule("unset", dirs[i]);
		cg_rule("unset", p);
		snprintf(p, sizeof(p), CGROOT "%s", dirs[i]);
		for (int t = 0; t < 100 && rmdir(p) && errno == EBUSY; t++)
			usleep(10000);
		if (!access(p, F_OK))
			FAIL("failnth %s N=%u: cannot remove cgroup %s: %s", what, n, p,
			     strerror(errno));
	}
	snprintf(top, sizeof(top), "%.*s", (int)strcspn(dirs[0] + 1, "/") + 1, dirs[0]);
	for (i = 0; i < 1000 && cg_dying(top) > 0; i++)
		usleep(10000);
	if (cg_dying(top))
		FAIL("failnth %s N=%u: %ld cgroups under %s still dying 10 s after their "
		     "removal: a node of mempin's holds them", what, n, cg_dying(top), top);
	cg_snap(snap, sizeof(snap));
	if (strcmp(snap, cg_base))
		FAIL("failnth %s N=%u: after the cleanup the cgroup directories are {%s}, "
		     "expected {%s}", what, n, snap, cg_base);
}

/* Moves the calling process into cgroup @path: 0 or -errno. */
static int cg_enter(const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), CGROOT "%s/cgroup.procs", path);
	return kv_write_file(p, "0");
}

/*
 * The pin operations' cgroups: @pages charged to the fresh child and to
 * /mpfn.  The child's directory holds the usage if it exists; it must if
 * the container is there (@node) and something is charged, except that a
 * directory the node could not make at once (a fault injected in it) is
 * made at the next rule change: made so, and counted.
 */
static void cg_check_pins(const char *name, unsigned int i, unsigned int n,
			  const char *when, long pages, bool node, bool fired)
{
	char dir[300], v[3][128], want[3][128];
	long long usage;

	if (!cg_dir("/mpfn", dir, sizeof(dir)))
		FAIL("failnth %s N=%u %s: /mpfn has no node directory", name, n, when);
	cg_read(dir, "usage", v[0], sizeof(v[0]));
	usage = strtoll(v[0], NULL, 10);
	if (usage != pages * (long long)PG)
		FAIL("failnth %s N=%u %s: /mpfn's usage %s, expected %lld", name, n,
		     when, v[0], pages * (long long)PG);
	if (!cg_dir("/mpfn/c", dir, sizeof(dir))) {
		if (!node)
			return;
		if (!fired) {
			FAIL("failnth %s N=%u %s: /mpfn/c has no node directory", name,
			     n, when);
			return;
		}
		/* The same rule again: the children's budgets synced. */
		snprintf(v[0], sizeof(v[0]), "/mpfn %lu each-child", EACH);
		if (cg_rule("set", v[0]) || !cg_dir("/mpfn/c", dir, sizeof(dir))) {
			FAIL("failnth %s N=%u %s: /mpfn/c has no node directory, even "
			     "after a rule change", name, n, when);
			return;
		}
		sh->t[i].late++;
	}
	snprintf(want[0], sizeof(want[0]), "%lld", pages * (long long)PG);
	snprintf(want[1], sizeof(want[1]), "%lu", EACH);
	snprintf(want[2], sizeof(want[2]), "from-parent %lu", EACH);
	cg_read(dir, "usage", v[0], sizeof(v[0]));
	cg_read(dir, "limit", v[1], sizeof(v[1]));
	cg_read(dir, "rules", v[2], sizeof(v[2]));
	for (int k = 0; k < 3; k++)
		if (strcmp(v[k], want[k]))
			FAIL("failnth %s N=%u %s: /mpfn/c's %s is \"%s\", expected \"%s\"",
			     name, n, when, (const char *[]){ "usage", "limit",
			     "rules" }[k], v[k], want[k]);
}

/*
 * Phase start: cgroup2 mounted, /mpfn with an each-child rule, /mpfr and
 * /mpfc with none.  false if there are no budgets here.
 */
static bool cg_setup(bool have_budgets)
{
	char line[64];

	if (!have_budgets) {
		say("failnth: no cgroup budgets in this module: cgroup operations skipped");
		return false;
	}
	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL)) {
		say("failnth: no cgroup v2 (%s): cgroup operations skipped", strerror(errno));
		return false;
	}
	cg_make((const char *const[]){ "/mpfn", "/mpfr", "/mpfc", NULL });
	snprintf(line, sizeof(line), "/mpfn %lu each-child", EACH);
	if (cg_rule("set", line)) {
		FAIL("failnth: cannot set the rule %s", line);
		return false;
	}
	cg_snap(cg_base, sizeof(cg_base));
	return true;
}

static void cg_teardown(void)
{
	static const char *const dirs[] = { "/mpfn", "/mpfr", "/mpfc", NULL };
	long dying0 = cg_dying("");

	cg_clean("cgroup teardown", 0, cg_ctl_dirs);
	cg_rule("unset", "/mpfn each-child");
	for (int k = 2; k >= 0; k--) {
		char p[64];

		snprintf(p, sizeof(p), CGROOT "%s", dirs[k]);
		rmdir(p);
	}
	/* The root's count may include others': back to where it was. */
	for (int i = 0; i < 500 && cg_dying("") > dying0; i++)
		usleep(10000);
	if (!access(CGCTL "/", F_OK)) {
		char snap[SNAP];

		cg_snap(snap, sizeof(snap));
		if (*snap)
			FAIL("failnth: cgroup directories left at the end: {%s}", snap);
	}
}

/* ---- operations: setup (not armed) and the armed call ---- */

static int pin_setup(struct run *r, const void *addr, size_t len, int i)
{
	int ret = mp_pin(r->fd, addr, len, 0, &r->h[i], NULL);

	if (ret)
		return ret;
	r->pins++;
	r->pages += len / PG;
	return 0;
}

static int open_fd(struct run *r)
{
	r->fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->containers++;
	return 0;
}

static int s_none(struct run *r)
{
	(void)r;
	return 0;
}

static int s_open(struct run *r)
{
	return open_fd(r);
}

static int s_pinned2(struct run *r)
{
	int ret = open_fd(r);

	if (!ret)
		ret = pin_setup(r, r->anon, 4 * PG, 0);
	if (!ret)
		ret = pin_setup(r, r->scat, SCATTER * PG / 2, 1);
	return ret;
}

static int s_pinned3(struct run *r)
{
	int ret = open_fd(r);

	for (int i = 0; !ret && i < 3; i++)
		ret = pin_setup(r, r->anon + i * 2 * PG, 2 * PG, i);
	return ret;
}

static int a_open(struct run *r)
{
	int fd = open(MEMPIN_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	r->fd2 = fd;
	r->dcontainers = 1;
	return 0;
}

static int a_close(struct run *r)
{
	/* The release runs before close() returns (task_work), armed too. */
	close(r->fd);
	r->fd = -1;
	r->dcontainers = -1;
	r->dpins = -r->pins;
	r->dpages = -r->pages;
	return 0;
}

static int a_info(struct run *r)
{
	struct mempin_info_arg a = { .size = sizeof(a) };

	return ioctl(r->fd, MEMPIN_IOC_INFO, &a) ? -errno : 0;
}

static int a_stats(struct run *r)
{
	struct mempin_stats_arg a = { .size = sizeof(a) };

	return ioctl(r->fd, MEMPIN_IOC_STATS, &a) ? -errno : 0;
}

static int pin(struct run *r, void *addr, size_t len, unsigned int flags)
{
	struct mempin_pin_arg a = { .size = sizeof(a), .flags = flags,
				    .addr = (uintptr_t)addr, .len = len };

	if (ioctl(r->fd, MEMPIN_IOC_PIN, &a))
		return -errno;
	r->dpins = 1;
	r->dpages = a.pages;
	return 0;
}

static int a_pin_anon(struct run *r) { return pin(r, r->anon, 8 * PG, 0); }
static int a_pin_fault(struct run *r) { return pin(r, r->fault, 8 * PG, 0); }
static int a_pin_thp(struct run *r) { return pin(r, r->thp, HPAGE, 0); }
static int a_pin_huge(struct run *r) { return pin(r, r->huge, HPAGE, 0); }
static int a_pin_memfd(struct run *r) { return pin(r, r->memfd, 16 * PG, 0); }
static int a_pin_ro(struct run *r) { return pin(r, r->anon, 8 * PG, MEMPIN_PIN_READONLY); }
static int a_pin_scat(struct run *r) { return pin(r, r->scat, SCATTER * PG, 0); }
static int a_pin_over(struct run *r) { return pin(r, r->anon, 8 * PG, 0); }

static int a_pin_ext4_ro(struct run *r)
{
	return pin(r, r->ext4, 16 * PG, MEMPIN_PIN_READONLY);
}

static int a_pin_ext4_rw(struct run *r)
{
	return pin(r, r->ext4, 16 * PG, 0);
}

static int a_unpin(struct run *r)
{
	struct mempin_unpin_arg a = { .size = sizeof(a), .handle = r->h[0] };

	if (ioctl(r->fd, MEMPIN_IOC_UNPIN, &a))
		return -errno;
	r->dpins = -1;
	r->dpages = -4;
	return 0;
}

static int a_unpin_range(struct run *r)
{
	struct mempin_unpin_arg a = { .size = sizeof(a), .flags = MEMPIN_UNPIN_BY_RANGE,
				      .addr = (uintptr_t)r->anon, .len = 4 * PG };

	if (ioctl(r->fd, MEMPIN_IOC_UNPIN, &a))
		return -errno;
	r->dpins = -1;
	r->dpages = -4;
	return 0;
}

/*
 * Entries [0, done) took effect.  If even done could not be written back
 * (the final copy failed), the handles written say which did.
 */
static int a_pin_batch(struct run *r)
{
	struct mempin_batch_arg a = { .size = sizeof(a), .entries = (uintptr_t)r->ent,
				      .count = 3, .entry_size = sizeof(r->ent[0]),
				      .done = ~0U };
	int ret = ioctl(r->fd, MEMPIN_IOC_PIN_BATCH, &a) ? -errno : 0;
	unsigned int done = 0;

	while (done < 3 && r->ent[done].handle)
		done++;
	if (a.done != ~0U && a.done != done)
		FAIL("failnth pin_batch: done %u, but %u handles written", a.done, done);
	r->dpins = done;
	r->dpages = 2 * done;
	return ret;
}

static int a_unpin_batch(struct run *r)
{
	struct mempin_batch_arg a = { .size = sizeof(a), .entries = (uintptr_t)r->h,
				      .count = 3, .entry_size = 8, .done = ~0U };
	int ret = ioctl(r->fd, MEMPIN_IOC_UNPIN_BATCH, &a) ? -errno : 0;

	/* done unknown (not written back): the stats will tell. */
	if (a.done == ~0U) {
		struct mempin_stats_arg st = { .size = sizeof(st) };

		ioctl(r->fd, MEMPIN_IOC_STATS, &st);
		a.done = 3 - st.pins;
	}
	r->dpins = -(long)a.done;
	r->dpages = -2 * (long)a.done;
	return ret;
}

/* Cgroups: the node of a fresh child made at the open or at the pin. */
static int s_cg_enter(struct run *r)
{
	(void)r;
	return cg_enter("/mpfn/c");
}

static int s_cg_open(struct run *r)
{
	int ret = cg_enter("/mpfn/c");

	return ret ? ret : open_fd(r);
}

/* Opened in the root cgroup, then moved: the pin makes the node. */
static int s_open_cg_enter(struct run *r)
{
	int ret = open_fd(r);

	return ret ? ret : cg_enter("/mpfn/c");
}

static int s_cg_pinned2(struct run *r)
{
	int ret = cg_enter("/mpfn/c");

	return ret ? ret : s_pinned2(r);
}

/* Rules: the armed call is the write of r->line to cgroup/set or unset. */
static int rule_fd(struct run *r, const char *file, const char *line)
{
	char path[128];

	snprintf(path, sizeof(path), CGCTL "/%s", file);
	r->cgfd = open(path, O_WRONLY | O_CLOEXEC);
	r->line = line;
	return r->cgfd < 0 ? -errno : 0;
}

/* New nodes for /mpfr/g and /mpfr/g/r, then the rule's directory. */
static int s_set_own(struct run *r)
{
	return rule_fd(r, "set", "/mpfr/g/r 8M");
}

static int s_set_own_again(struct run *r)
{
	int ret = cg_rule("set", "/mpfr/g/r 8M");

	return ret ? ret : rule_fd(r, "set", "/mpfr/g/r 16M rlimit");
}

static int s_unset_own(struct run *r)
{
	int ret = cg_rule("set", "/mpfr/g/r 8M");

	return ret ? ret : rule_fd(r, "unset", "/mpfr/g/r");
}

/* A container in /mpfr/g/e/k: the rule gives that node a directory too. */
static int s_set_each(struct run *r)
{
	int ret = cg_enter("/mpfr/g/e/k");

	if (!ret)
		ret = open_fd(r);
	return ret ? ret : rule_fd(r, "set", "/mpfr/g/e 16M each-child");
}

static int s_unset_each(struct run *r)
{
	int ret = cg_enter("/mpfr/g/e/k");

	if (!ret)
		ret = open_fd(r);
	if (!ret)
		ret = cg_rule("set", "/mpfr/g/e 16M each-child");
	return ret ? ret : rule_fd(r, "unset", "/mpfr/g/e each-child");
}

static int a_rule(struct run *r)
{
	return write(r->cgfd, r->line, strlen(r->line)) < 0 ? -errno : 0;
}

static const int e_mem_fault[] = { ENOMEM, EFAULT, 0 };
static const int e_fault[] = { EFAULT, 0 };
static const int e_none[] = { 0 };

static const struct op ops[] = {
	/* A fresh process: the first open registers the mmu notifier. */
	{ "open", 0, s_none, a_open, e_mem_fault, 0 },
	{ "open (second)", 0, s_open, a_open, e_mem_fault, 0 },
	{ "close (2 pins)", 0, s_pinned2, a_close, e_none, 0 },
	{ "info", 0, s_open, a_info, e_fault, 0 },
	{ "stats", 0, s_open, a_stats, e_fault, 0 },
	{ "pin anon", 0, s_open, a_pin_anon, e_mem_fault, 0 },
	{ "pin anon, not faulted in", 0, s_open, a_pin_fault, e_mem_fault, 0 },
	{ "pin THP", 0, s_open, a_pin_thp, e_mem_fault, 0 },
	{ "pin hugetlb", NEED_HUGETLB, s_open, a_pin_huge, e_mem_fault, 0 },
	{ "pin memfd", 0, s_open, a_pin_memfd, e_mem_fault, 0 },
	{ "pin read-only private", 0, s_open, a_pin_ro, e_mem_fault, 0 },
	{ "pin ext4 shared read-only", NEED_EXT4, s_open, a_pin_ext4_ro, e_mem_fault, 0 },
	{ "pin ext4 shared writable", NEED_EXT4, s_open, a_pin_ext4_rw, e_fault, -EFAULT },
	{ "pin 1024 scattered pages", 0, s_open, a_pin_scat, e_mem_fault, 0 },
	{ "pin over 3 pins", 0, s_pinned3, a_pin_over, e_mem_fault, 0 },
	{ "unpin by handle", 0, s_pinned2, a_unpin, e_fault, 0 },
	{ "unpin by range", 0, s_pinned2, a_unpin_range, e_fault, 0 },
	{ "pin batch of 3", 0, s_open, a_pin_batch, e_mem_fault, 0 },
	{ "unpin batch of 3", 0, s_pinned3, a_unpin_batch, e_fault, 0 },
	/* Exit with pins: the mmu notifier's release, armed. */
	{ "exit (2 pins)", 0, s_pinned2, NULL, e_none, 0 },
	/* Cgroup budgets: nodes made and charged in a fresh child of /mpfn. */
	{ "cgroup: open in a new child", NEED_CG, s_cg_enter, a_open, e_mem_fault, 0 },
	{ "cgroup: pin anon, new child", NEED_CG, s_open_cg_enter, a_pin_anon,
	  e_mem_fault, 0 },
	{ "cgroup: pin batch, new child", NEED_CG, s_open_cg_enter, a_pin_batch,
	  e_mem_fault, 0 },
	{ "cgroup: pin anon in a child", NEED_CG, s_cg_open, a_pin_anon, e_mem_fault, 0 },
	{ "cgroup: close (2 pins)", NEED_CG, s_cg_pinned2, a_close, e_none, 0 },
	/* Rules (a write to cgroup/set or unset, which copies it in). */
	{ "cgroup rule: set own", NEED_CGRULE, s_set_own, a_rule, e_mem_fault, 0 },
	{ "cgroup rule: set own again", NEED_CGRULE, s_set_own_again, a_rule,
	  e_mem_fault, 0 },
	{ "cgroup rule: set each-child", NEED_CGRULE, s_set_each, a_rule, e_mem_fault, 0 },
	{ "cgroup rule: unset own", NEED_CGRULE, s_unset_own, a_rule, e_mem_fault, 0 },
	{ "cgroup rule: unset each-child", NEED_CGRULE, s_unset_each, a_rule,
	  e_mem_fault, 0 },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* The operation's result with no fault injected, on this kernel. */
static int plain(const struct op *op)
{
	if (op->armed == a_pin_ro && !readonly_cow)
		return -EFAULT;
	return op->plain;
}

static bool errno_ok(const struct op *op, int ret)
{
	if (ret == plain(op))
		return true;
	for (const int *e = op->errnos; *e; e++)
		if (ret == -*e)
			return true;
	return false;
}

static void tally(unsigned int i, int ret, bool injected)
{
	struct tally *t = &sh->t[i];
	unsigned int k;

	t->runs++;
	t->injected += injected;
	if (!ret) {
		t->ok++;
		return;
	}
	for (k = 0; k < 8 && t->errs[k] && t->errs[k] != -ret; k++)
		;
	if (k < 8) {
		t->errs[k] = -ret;
		t->err[k]++;
	}
}

/* Drops CAP_IPC_LOCK (RLIMIT_MEMLOCK then applies), keeps root. */
static int no_ipc_lock(void)
{
	struct __user_cap_header_struct hd = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	struct rlimit rl = { LIMIT * PG, LIMIT * PG };

	if (syscall(SYS_capget, &hd, d))
		return -errno;
	d[0].effective &= ~(1U << CAP_IPC_LOCK);
	d[0].permitted &= ~(1U << CAP_IPC_LOCK);
	d[0].inheritable &= ~(1U << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hd, d) || setrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	return 0;
}

/* The run process of one (operation, N).  Exits 0, or 1 on a setup error. */
static void __attribute__((noreturn)) run_child(unsigned int i, unsigned int n,
						int64_t held0)
{
	const struct op *op = &ops[i];
	struct run r = { .fd = -1, .fd2 = -1, .cgfd = -1 };
	int ret, fired = 0;

	if (no_ipc_lock())
		_exit(1);
	fail_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	r.anon = map_anon(16 * PG, true);
	r.fault = map_anon(8 * PG, false);
	r.thp = map_thp();
	r.memfd = map_memfd();
	r.scat = map_scattered();
	r.probe = map_anon((LIMIT + 1) * PG, true);
	if (op->needs & NEED_HUGETLB)
		r.huge = map_hugetlb();
	if (op->needs & NEED_EXT4)
		r.ext4 = map_ext4(op->armed == a_pin_ext4_rw ? PROT_READ | PROT_WRITE :
				  PROT_READ);
	for (int k = 0; k < 3; k++)
		r.ent[k] = (struct mempin_pin_entry){ .addr = (uintptr_t)(r.anon + 8 * PG + k * 2 * PG),
						      .len = 2 * PG };
	if ((fail_fd < 0 && !dry) || !r.anon || !r.fault || !r.thp || !r.memfd || !r.scat ||
	    !r.probe || ((op->needs & NEED_HUGETLB) && !r.huge) ||
	    ((op->needs & NEED_EXT4) && !r.ext4)) {
		FAIL("failnth %s: setup: a mapping or fail-nth failed: %s", op->name,
		     strerror(errno));
		_exit(1);
	}
	ret = op->setup(&r);
	if (ret) {
		FAIL("failnth %s: setup: %s", op->name, strerror(-ret));
		_exit(1);
	}
	if (!op->armed) {
		/* exit: the parent reads our fail-nth once we are a zombie. */
		if (arm(n))
			_exit(1);
		_exit(0);
	}
	if (op->needs & NEED_CGRULE)
		cg_snap(r.snap, sizeof(r.snap));
	/* N = 0: the reference run, nothing armed. */
	if (n && arm(n)) {
		FAIL("failnth: cannot arm fail-nth: %s", strerror(errno));
		_exit(1);
	}
	ret = op->armed(&r);
	if (n)
		fired = disarm();
	sh->injected = fired;
	sh->ret = ret;
	if (!errno_ok(op, ret))
		FAIL("failnth %s N=%u: %s (fault %s)", op->name, n,
		     ret ? strerror(-ret) : "success", fired ? "injected" : "not injected");
	if (!fired && ret != plain(op))
		FAIL("failnth %s N=%u: with no fault injected: %s, expected %s", op->name,
		     n, ret ? strerror(-ret) : "success",
		     plain(op) ? strerror(-plain(op)) : "success");
	/* A batch says itself what took effect, error or not. */
	if (ret && op->armed != a_pin_batch && op->armed != a_unpin_batch)
		r.dpins = r.dpages = r.dcontainers = 0;
	check_state(op->name, n, "after the call", r.fd >= 0 ? r.fd : -1,
		    r.pins + r.dpins, r.pages + r.dpages, r.containers + r.dcontainers,
		    held0);
	if (op->needs & NEED_CG) {
		long pages = r.pages + r.dpages;

		/* A container or a charge there keeps the child's node. */
		cg_check_pins(op->name, i, n, "after the call", pages,
			      op->armed != a_close &&
			      (!ret || pages || op->setup == s_cg_open ||
			       op->setup == s_cg_pinned2), fired);
	}
	if (op->needs & NEED_CGRULE) {
		char snap[SNAP];

		cg_snap(snap, sizeof(snap));
		if (!n)
			memcpy(sh->ref[i], snap, SNAP);
		else if (ret ? strcmp(snap, r.snap) : strcmp(snap, sh->ref[i]))
			FAIL("failnth %s N=%u: %s, the cgroup directories are {%s}, "
			     "expected {%s}", op->name, n, ret ? strerror(-ret) : "success",
			     snap, ret ? r.snap : sh->ref[i]);
	}
	check_budget(op->name, n, r.probe, r.pages + r.dpages);
	if (r.fd2 >= 0)
		close(r.fd2);
	if (r.fd >= 0)
		close(r.fd);
	if (r.cgfd >= 0)
		close(r.cgfd);
	check_state(op->name, n, "after close", -1, 0, 0, 0, held0);
	if (op->needs & NEED_CG) {
		char dir[300];

		cg_check_pins(op->name, i, n, "after close", 0, false, false);
		/* Nothing holds the child's node now: it and its directory go. */
		if (cg_dir("/mpfn/c", dir, sizeof(dir)))
			FAIL("failnth %s N=%u after close: /mpfn/c's node directory %s "
			     "is still there", op->name, n, dir);
	}
	_exit(0);
}

/*
 * Any new kernel log line fails: the injection itself prints nothing
 * (verbose=0).  A debug kernel's note of a new deepest stack
 * (CONFIG_DEBUG_STACK_USAGE) is forgiven, as everywhere in the suite.  Only for a program armed for its whole run (mempinctl,
 * KM_USER): a page allocation failing in its own page fault makes the
 * fault handler say so and retry, an inode allocation failing in its
 * socket() makes net/socket.c say so; those lines are the injection's.
 * Where cgroup nodes are made (KM_KOBJ), the kobject core names the
 * directory (cgroup/<id>) it could not add or name: its words on the
 * injected ENOMEM, not the module's.
 */
enum { KM_USER = 1, KM_KOBJ = 2 };

static int kmsg_new_lines(int fd, const char *what, unsigned int n, int forgive)
{
	/* CONFIG_DEBUG_STACK_USAGE (debug kernels): a new deepest stack. */
	static regex_t stack, kobj;
	static bool compiled;
	char rec[8192];
	int lines = 0;
	ssize_t len;

	while ((len = read(fd, rec, sizeof(rec) - 1)) != 0) {
		char *msg;

		if (len < 0 && errno == EAGAIN)
			break;
		if (len < 0) {
			FAIL("failnth %s N=%u: kernel log: records lost", what, n);
			lines++;
			continue;
		}
		rec[len] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		if ((forgive & KM_USER) &&
		    (!strcmp(msg, "Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF") ||
		     !strcmp(msg, "socket: no more sockets")))
			continue;
		if (!compiled)
			compiled = !regcomp(&stack, "^[^ ]+ \\([0-9]+\\) used greatest stack "
					    "depth: [0-9]+ bytes left$", REG_EXTENDED | REG_NOSUB) &&
				   !regcomp(&kobj, "^kobject: (kobject_add_internal failed for [0-9]+ "
					    "\\(error: -12 parent: cgroup\\)|can not set name "
					    "properly!)$", REG_EXTENDED | REG_NOSUB);
		if (compiled && !regexec(&stack, msg, 0, NULL, 0))
			continue;
		if (compiled && (forgive & KM_KOBJ) && !regexec(&kobj, msg, 0, NULL, 0))
			continue;
		if (lines++ < 20)
			say("failnth %s N=%u: kernel log: %s", what, n, msg);
	}
	if (lines)
		FAIL("failnth %s N=%u: %d new kernel log lines", what, n, lines);
	return lines;
}

/* Runs op i with fail-nth N in a fresh process; 1 if a fault was injected. */
static int run_one(unsigned int i, unsigned int n, int kfd)
{
	int64_t held0 = held();
	siginfo_t si = { 0 };
	pid_t pid;
	int fired = 0;

	sh->injected = 0;
	sh->ret = 0;
	if (ops[i].needs & (NEED_CG | NEED_CGRULE))
		cg_make(cg_dirs(ops[i].needs));
	pid = fork();
	if (pid < 0) {
		FAIL("failnth: fork: %s", strerror(errno));
		return 0;
	}
	if (!pid)
		run_child(i, n, held0);
	/* Dry, fail-nth reads 0 as well: it was never armed. */
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0 && !ops[i].armed && !dry) {
		char path[64], b[16] = "";
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/fail-nth", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, b, sizeof(b) - 1) > 0)
			sh->injected = b[0] == '0';
		if (fd >= 0)
			close(fd);
	}
	waitpid(pid, NULL, 0);
	if (si.si_code != CLD_EXITED || si.si_status != 0)
		FAIL("failnth %s N=%u: the run process ended with %s %d", ops[i].name, n,
		     si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
	fired = sh->injected;
	if (n) {
		tally(i, ops[i].armed ? sh->ret : 0, fired);
		sh->t[i].n_last = n;
	}
	/* Releases at exit may run a little later (the last fput). */
	for (int k = 0; k < 50 && sysfs("containers") > 0; k++)
		usleep(20000);
	if (sysfs("pins") || sysfs("pinned_pages") || sysfs("containers") ||
	    held() != held0)
		FAIL("failnth %s N=%u: after the run process: %ld pins %ld pages %ld "
		     "containers, pins held %lld (%lld before)", ops[i].name, n,
		     sysfs("pins"), sysfs("pinned_pages"), sysfs("containers"),
		     (long long)held(), (long long)held0);
	if (ops[i].needs & (NEED_CG | NEED_CGRULE))
		cg_clean(ops[i].name, n, cg_dirs(ops[i].needs));
	kmsg_new_lines(kfd, ops[i].name, n, ops[i].needs & (NEED_CG | NEED_CGRULE) ?
		       KM_KOBJ : 0);
	return fired;
}

/* ---- mempinctl ---- */

#define CONF	"/tmp/failnth-budgets.conf"

/*
 * The commands.  Those of cgroups run with /mpfc/s and /mpfc/e made afresh
 * and the rule @pre set; each of @effect ("+LINE" written to cgroup/set,
 * "-LINE" to unset) is what a success does, all of them, and a failure
 * some of them at most: apply sets the rules it can, the others none.
 */
static const struct ctl_cmd {
	const char *argv[5];
	const char *pre;
	const char *effect[3];
} ctl_cmds[] = {
#define CMD(...) { .argv = { __VA_ARGS__ } }
	CMD("status"), CMD("-J", "status"), CMD("ps"), CMD("pins"), CMD("-J", "ps"),
	CMD("doctor"), CMD("cap"), CMD("cap", "64M"), CMD("reset-high-water"),
	CMD("cgroup", "list"), CMD("-J", "cgroup", "list"),
#undef CMD
	{ .argv = { "cgroup", "set", "/mpfc/s", "8M" }, .effect = { "+/mpfc/s 8M" } },
	{ .argv = { "cgroup", "unset", "/mpfc/s" }, .pre = "/mpfc/s 8M",
	  .effect = { "-/mpfc/s" } },
	{ .argv = { "cgroup", "apply", CONF },
	  .effect = { "+/mpfc/s 8M", "+/mpfc/e 16M each-child" } },
};
static const char conf_text[] = "# failnth\n/mpfc/s 8M\n\n"
				"/mpfc/e 16M each-child   # pods\n";
#define NCTL (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const char *ctl_path(void)
{
	const char *p = getenv("MEMPIN_TEST_MEMPINCTL");

	return p && *p ? p : "/bin/mempinctl";
}

static bool ctl_cgroup(const struct ctl_cmd *cmd)
{
	for (unsigned int k = 0; cmd->argv[k]; k++)
		if (!strcmp(cmd->argv[k], "cgroup"))
			return true;
	return false;
}

static void ctl_name(const struct ctl_cmd *cmd, char *name, size_t len)
{
	size_t o = snprintf(name, len, "mempinctl");

	for (unsigned int k = 0; cmd->argv[k] && o < len; k++)
		o += snprintf(name + o, len - o, " %s", cmd->argv[k]);
}

/* Fresh /mpfc/s and /mpfc/e, with the command's @pre rule. */
static void ctl_cg_prepare(const struct ctl_cmd *cmd)
{
	cg_make(cg_ctl_dirs);
	if (cmd->pre && cg_rule("set", cmd->pre))
		FAIL("failnth: cannot set the rule %s", cmd->pre);
}

/*
 * The cgroup directories once the effects in @mask are done, each written
 * to the module directly: what mempinctl must leave.
 */
static void ctl_cg_state(const struct ctl_cmd *cmd, unsigned int mask, char *out)
{
	ctl_cg_prepare(cmd);
	for (unsigned int k = 0; cmd->effect[k]; k++) {
		const char *e = cmd->effect[k];

		if ((mask & (1U << k)) && cg_rule(*e == '+' ? "set" : "unset", e + 1))
			FAIL("failnth: %s %s failed", *e == '+' ? "set" : "unset", e + 1);
	}
	cg_snap(out, SNAP);
	cg_clean("mempinctl reference", 0, cg_ctl_dirs);
}

/* What each subset of a command's effects leaves; [all] is its success. */
static char ctl_states[8][SNAP];

static unsigned int ctl_effects(const struct ctl_cmd *cmd)
{
	unsigned int k = 0;

	while (k < 3 && cmd->effect[k])
		k++;
	return k;
}

/*
 * Runs mempinctl @argv (after argv[0]) with the Nth fault site after its
 * start failing (none in a dry run), its standard output to @out (or
 * discarded: -1), its errors discarded; fails on an end it must never
 * have.  Its end in @si; 1 if the fault fired.
 */
static int ctl_exec(const char *const *argv, const char *name, unsigned int n,
		    const char *preload, int out, siginfo_t *si)
{
	char env_n[32], env_pre[300];
	char b[16] = "";
	int fired = 0;
	pid_t pid;

	memset(si, 0, sizeof(*si));
	snprintf(env_n, sizeof(env_n), "MEMPIN_FAILNTH=%.0u", dry ? 0 : n);
	snprintf(env_pre, sizeof(env_pre), "LD_PRELOAD=%s", preload);
	pid = fork();
	if (pid < 0)
		return 0;
	if (!pid) {
		char *envp[] = { env_n, env_pre, "PATH=/bin:/sbin", NULL };
		char *args[7] = { (char *)ctl_path() };
		int null = open("/dev/null", O_WRONLY);

		for (unsigned int k = 0; k < 5 && argv[k]; k++)
			args[k + 1] = (char *)argv[k];
		dup2(out >= 0 ? out : null, 1);
		dup2(null, 2);
		execve(ctl_path(), args, envp);
		_exit(127);
	}
	if (waitid(P_PID, pid, si, WEXITED | WNOWAIT) == 0 && !dry) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/fail-nth", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, b, sizeof(b) - 1) > 0)
			fired = b[0] == '0';
		if (fd >= 0)
			close(fd);
	}
	waitpid(pid, NULL, 0);
	/* 3 says the module is not loaded: every caller has it loaded. */
	if (si->si_code != CLD_EXITED || (si->si_status != 0 && si->si_status != 1))
		FAIL("failnth %s N=%u: ended with %s %d (fault %s)", name, n,
		     si->si_code == CLD_EXITED ? "status" : "signal", si->si_status,
		     fired ? "injected" : "not injected");
	if (!fired && (si->si_code != CLD_EXITED || si->si_status != 0))
		FAIL("failnth %s N=%u: with no fault injected: status %d", name, n,
		     si->si_status);
	return fired;
}

/*
 * status (-J status) printed to @out: the module is loaded, so what ends
 * with 0 must say so, and what ends with 1 must not say it is not (when
 * it could not read whether it is, it says "unknown": null in JSON).
 */
static void ctl_status_claims(const char *name, unsigned int n, int out,
			      const siginfo_t *si)
{
	static const char *const not_loaded[] = { "module      not loaded",
						   "\"loaded\": false" };
	static const char *const loaded[] = { "module      loaded (live)",
					       "\"loaded\": true" };
	bool json = strstr(name, "-J");
	char buf[8192];
	ssize_t r;

	if (si->si_code != CLD_EXITED || si->si_status > 1)
		return;
	r = pread(out, buf, sizeof(buf) - 1, 0);
	buf[r > 0 ? r : 0] = '\0';
	if (strstr(buf, not_loaded[json]))
		FAIL("failnth %s N=%u: status %d, and it says \"%s\"", name, n,
		     si->si_status, not_loaded[json]);
	if (!si->si_status && !strstr(buf, loaded[json]))
		FAIL("failnth %s N=%u: status 0, but no \"%s\" in what it printed", name,
		     n, loaded[json]);
}

/*
 * mempinctl ARGS with the Nth fault site after its start failing; while a
 * container of ours holds a pin (ps and pins list it).  Returns 1 if the
 * fault fired.
 */
static int ctl_one(unsigned int c, unsigned int n, int kfd, const char *preload)
{
	const struct ctl_cmd *cmd = &ctl_cmds[c];
	unsigned int all = (1U << ctl_effects(cmd)) - 1, m;
	char name[96], snap[SNAP];
	siginfo_t si;
	int fired;

	ctl_name(cmd, name, sizeof(name));
	if (cgroups && ctl_cgroup(cmd))
		ctl_cg_prepare(cmd);
	int64_t held0 = held();
	bool status = strstr(name, " status");
	int out = status ? memfd_create("status", MFD_CLOEXEC) : -1;

	if (status && out < 0)
		FAIL("failnth %s: memfd_create: %s", name, strerror(errno));
	fired = ctl_exec(cmd->argv, name, n, preload, out, &si);
	if (out >= 0) {
		ctl_status_claims(name, n, out, &si);
		close(out);
	}
	/* Ours is the only container: one pin of 4 pages, whatever ran. */
	if (sysfs("pins") != 1 || sysfs("pinned_pages") != 4 || sysfs("containers") != 1 ||
	    held() != held0)
		FAIL("failnth %s N=%u: the module's totals changed: %ld pins %ld pages "
		     "%ld containers, pins held %lld (%lld before)", name, n, sysfs("pins"),
		     sysfs("pinned_pages"), sysfs("containers"), (long long)held(),
		     (long long)held0);
	/* The rules: all of the effects on success, a part at most else. */
	if (cgroups) {
		bool ok = si.si_code == CLD_EXITED && si.si_status == 0;

		cg_snap(snap, sizeof(snap));
		if (!ctl_cgroup(cmd)) {
			if (strcmp(snap, cg_base))
				FAIL("failnth %s N=%u: the cgroup directories changed: {%s}, "
				     "expected {%s}", name, n, snap, cg_base);
		} else {
			for (m = ok ? all : 0; m <= all; m++)
				if (!strcmp(snap, ctl_states[m]) && (ok || m != all || !all))
					break;
			if (m > all)
				FAIL("failnth %s N=%u: status %d, and the cgroup directories "
				     "are {%s}; with all its effects {%s}, with none {%s}",
				     name, n, si.si_status, snap, ctl_states[all],
				     ctl_states[0]);
			cg_clean(name, n, cg_ctl_dirs);
		}
	}
	tally(NOPS + c, si.si_code == CLD_EXITED && si.si_status ? -si.si_status : 0,
	      fired);
	sh->t[NOPS + c].n_last = n;
	kmsg_new_lines(kfd, name, n, KM_USER | KM_KOBJ);
	return fired;
}

static void report(const char *name, unsigned int i, const char *mode);

/* ---- mempinctl unload ---- */

/*
 * The module loaded and in working order: live, its device opens and
 * answers INFO, and its cgroup/ directory is there exactly when INFO says
 * it has budgets.  NULL, or what is wrong.
 */
static const char *mod_working(void)
{
	struct mempin_info_arg info = { .size = sizeof(info) };
	char state[16] = "";
	bool budgets;
	int fd, r;

	fd = open("/sys/module/mempin/initstate", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "not loaded";
	r = read(fd, state, sizeof(state) - 1);
	close(fd);
	if (r <= 0 || strcmp(state, "live\n"))
		return "not live";
	fd = mp_open();
	if (fd < 0)
		return "/dev/mempin does not open";
	r = mp_info(fd, &info);
	close(fd);
	if (r)
		return "INFO fails";
	budgets = info.features & MEMPIN_FEATURE_CGROUP_BUDGETS;
	if (budgets != !access(CGCTL "/set", F_OK) ||
	    budgets != !access(CGCTL "/unset", F_OK))
		return "INFO and the cgroup/ directory disagree";
	return NULL;
}

/* What is left of the module that must not be, or NULL. */
static const char *mod_remnant(void)
{
	static const char *const paths[] = { "/sys/module/mempin",
		"/sys/class/misc/mempin", MEMPIN_DEV, NULL };

	for (unsigned int k = 0; paths[k]; k++)
		if (!access(paths[k], F_OK))
			return paths[k];
	return NULL;
}

/*
 * mempinctl unload, no container open, with the Nth fault site failing:
 * a success leaves the module gone without a trace, a failure loaded and
 * working.  Loads it again for the next run; 1 if the fault fired.
 * (mempinctl load is not run armed: 7.2's module loader WARNs on an
 * allocation failure of its own, in jump_label_module_notify() and
 * event_define_fields(), before mempin's init runs; see tests/guest/README.md.)
 */
#define UNLOAD	"mempinctl unload"
#define T_UNLOAD (NOPS + NCTL)

static int unload_one(unsigned int n, int kfd, const char *preload)
{
	static const char *const argv[] = { "unload", NULL };
	int64_t held0 = held();
	const char *bad;
	bool loaded;
	siginfo_t si;
	int fired;

	fired = ctl_exec(argv, UNLOAD, n, preload, -1, &si);
	loaded = !access("/sys/module/mempin", F_OK);
	bad = loaded ? mod_working() : mod_remnant();
	if (si.si_code == CLD_EXITED && (si.si_status == 0) == loaded)
		FAIL("failnth " UNLOAD " N=%u: status %d, and the module is %s", n,
		     si.si_status, loaded ? "still loaded" : "gone");
	if (bad)
		FAIL("failnth " UNLOAD " N=%u: %s, but %s%s", n,
		     loaded ? "loaded" : "unloaded", bad, loaded ? "" : " is left");
	if (held() != held0)
		FAIL("failnth " UNLOAD " N=%u: pins held %lld (%lld before)", n,
		     (long long)held(), (long long)held0);
	tally(T_UNLOAD, si.si_code == CLD_EXITED && si.si_status ? -si.si_status : 0,
	      fired);
	sh->t[T_UNLOAD].n_last = n;
	kmsg_new_lines(kfd, UNLOAD, n, KM_USER);
	if (!loaded && module_load())
		return 0;
	return fired;
}

static void unload_all(int kfd, const char *preload)
{
	int fails0 = sh->fails;
	unsigned int n;

	const char *why = mod_working();

	if (why)
		FAIL("failnth " UNLOAD ": the module is not whole before: %s", why);
	for (n = 1; n < MAX_N && sh->fails == fails0; n++)
		if (!unload_one(n, kfd, preload))
			break;
	if (n == MAX_N)
		FAIL("failnth " UNLOAD ": still injecting at N=%u", n);
	report(UNLOAD, T_UNLOAD, "");
}

static void report(const char *name, unsigned int i, const char *mode)
{
	struct tally *t = &sh->t[i];
	char errs[256] = "";
	size_t o = 0;

	for (unsigned int k = 0; k < 8 && t->errs[k]; k++)
		o += i < NOPS ? snprintf(errs + o, sizeof(errs) - o, ", %s %lu",
					 strerrorname_np(t->errs[k]), t->err[k]) :
				snprintf(errs + o, sizeof(errs) - o, ", exit %d: %lu",
					 t->errs[k], t->err[k]);
	if (t->late)
		o += snprintf(errs + o, sizeof(errs) - o, ", %lu node directories made late",
			      t->late);
	say("failnth: %-30s %-7s N=1..%u: %lu runs, %lu injected, %lu succeeded%s",
	    name, mode, t->n_last, t->runs, t->injected, t->ok, errs);
}

/* MEMPIN_TEST_FAILNTH_ONLY: a '|' list of substrings of the names to run. */
static bool wanted(const char *name)
{
	const char *only = getenv("MEMPIN_TEST_FAILNTH_ONLY");
	char buf[256], *tok, *save;

	if (!only || !*only)
		return true;
	snprintf(buf, sizeof(buf), "%s", only);
	for (tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save))
		if (strstr(name, tok))
			return true;
	return false;
}

int phase_failnth(void)
{
	static const char *const modes[] = { "user", "process" };
	const char *want_modes = getenv("MEMPIN_TEST_FAILNTH_MODES");
	const char *preload = getenv("MEMPIN_TEST_FAILNTH_PRELOAD");
	const char *dry_env;
	unsigned long pairs = 0, injected = 0;
	int kfd = phase_kmsg_fd;
	bool huge = kv_read_long("/proc/sys/vm/nr_hugepages") > 0;

	ext4_dir = getenv("MEMPIN_EXT4_DIR");
	dry_env = getenv("MEMPIN_TEST_FAILNTH_DRY");
	if (dry_env && !strcmp(dry_env, "1")) {
		/* Also on a fault-injection kernel: the harness, quickly. */
		say("failnth: MEMPIN_TEST_FAILNTH_DRY=1: a dry run, nothing injected");
		dry = true;
	} else if (access("/proc/thread-self/fail-nth", F_OK)) {
		FAIL("failnth: no /proc/thread-self/fail-nth: a kernel without "
		     "CONFIG_FAULT_INJECTION");
		return -1;
	} else if (fault_setup()) {
		return -1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	{
		struct mempin_info_arg info = { .size = sizeof(info) };
		int fd = mp_open();

		if (fd < 0 || mp_info(fd, &info)) {
			FAIL("failnth: open or INFO: %s", strerror(errno));
			return -1;
		}
		readonly_cow = info.features & MEMPIN_FEATURE_READONLY_COW;
		close(fd);
		cgroups = cg_setup(info.features & MEMPIN_FEATURE_CGROUP_BUDGETS);
	}
	for (unsigned int m = 0; m < 2; m++) {
		if (want_modes && *want_modes && !strstr(want_modes, modes[m]))
			continue;
		if (kv_write_file("/sys/module/mempin/parameters/charge_mode", modes[m])) {
			FAIL("failnth: cannot set charge_mode %s", modes[m]);
			return -1;
		}
		memset(sh->t, 0, sizeof(sh->t));
		for (unsigned int i = 0; i < NOPS; i++) {
			int fails0 = sh->fails;
			unsigned int n;

			if (!wanted(ops[i].name))
				continue;
			if (((ops[i].needs & NEED_EXT4) && !ext4_dir) ||
			    ((ops[i].needs & NEED_HUGETLB) && !huge)) {
				say("failnth: %s: skipped (no %s)", ops[i].name,
				    ops[i].needs & NEED_EXT4 ? "ext4" : "hugetlb pages");
				continue;
			}
			if ((ops[i].needs & (NEED_CG | NEED_CGRULE)) && !cgroups)
				continue;
			/* Rules charge nothing: one charge mode is enough. */
			if ((ops[i].needs & NEED_CGRULE) && m)
				continue;
			/* What a success leaves, for the runs to compare with. */
			if (ops[i].needs & NEED_CGRULE)
				run_one(i, 0, kfd);
			for (n = 1; n < MAX_N && sh->fails == fails0; n++)
				if (!run_one(i, n, kfd))
					break;
			if (n == MAX_N)
				FAIL("failnth %s: still injecting at N=%u", ops[i].name, n);
			report(ops[i].name, i, modes[m]);
			pairs += sh->t[i].runs;
			injected += sh->t[i].injected;
		}
	}
	kv_write_file("/sys/module/mempin/parameters/charge_mode", "user");

	if (!preload || !*preload || access(ctl_path(), X_OK)) {
		say("failnth: mempinctl commands skipped (no %s or preload library)",
		    ctl_path());
	} else {
		struct run r = { .fd = -1 };
		uint64_t h;
		int ret;

		/* A container with one pin, for ps and pins to show. */
		r.anon = map_anon(4 * PG, true);
		ret = open_fd(&r);
		if (!ret)
			ret = mp_pin(r.fd, r.anon, 4 * PG, 0, &h, NULL);
		if (ret)
			FAIL("failnth: mempinctl setup: %s", strerror(-ret));
		/*
		 * mempinctl's own page faults: a user page that cannot be
		 * allocated is only retried (the "Huh VM_FAULT_OOM" line), so
		 * those sites, most of a command's, test nothing of it or of
		 * the module, and each is a whole run (under TCG, seconds).
		 * Its system calls' allocations and copies all stay armed.
		 */
		if (!dry && kv_write_file(DBG "fail_page_alloc/ignore-gfp-highmem", "Y"))
			FAIL("failnth: cannot set fail_page_alloc/ignore-gfp-highmem");
		if (cgroups && kv_write_file(CONF, conf_text) &&
		    (close(open(CONF, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)),
		     kv_write_file(CONF, conf_text)))
			FAIL("failnth: cannot write " CONF);
		for (unsigned int c = 0; c < NCTL; c++) {
			const struct ctl_cmd *cmd = &ctl_cmds[c];
			int fails0 = sh->fails;
			unsigned int n;
			char name[96];

			ctl_name(cmd, name, sizeof(name));
			if (!wanted(name) || (ctl_cgroup(cmd) && !cgroups))
				continue;
			for (unsigned int m = 0; ctl_cgroup(cmd) &&
			     m < 1U << ctl_effects(cmd); m++)
				ctl_cg_state(cmd, m, ctl_states[m]);
			for (n = 1; n < MAX_N && sh->fails == fails0; n++) {
				long cap = kv_param_get("max_pinned_pages");

				if (!ctl_one(c, n, kfd, preload))
					break;
				kv_param_set("max_pinned_pages", cap);
			}
			kv_param_set("max_pinned_pages", 0);
			report(name, NOPS + c, "");
			pairs += sh->t[NOPS + c].runs;
			injected += sh->t[NOPS + c].injected;
		}
		close(r.fd);
		if (!dry)
			kv_write_file(DBG "fail_page_alloc/ignore-gfp-highmem", "N");
	}
	if (cgroups)
		cg_teardown();
	if (preload && *preload && !access(ctl_path(), X_OK)) {
		/* As for the commands above: mempinctl's own page faults. */
		if (!dry && kv_write_file(DBG "fail_page_alloc/ignore-gfp-highmem", "Y"))
			FAIL("failnth: cannot set fail_page_alloc/ignore-gfp-highmem");
		if (wanted(UNLOAD)) {
			unload_all(kfd, preload);
			pairs += sh->t[T_UNLOAD].runs;
			injected += sh->t[T_UNLOAD].injected;
		}
		if (!dry)
			kv_write_file(DBG "fail_page_alloc/ignore-gfp-highmem", "N");
	}
	say("failnth: %lu (operation, N) pairs run, %lu with a fault injected, "
	    "%d failures", pairs, injected, sh->fails);
	return failed() ? -1 : 0;
}
