// SPDX-License-Identifier: GPL-2.0
/*
 * Phase "budget": the per-user budget (charge_mode "user", issue 10) against
 * processes that come and go.  Worker processes of two uids (1000, 1001,
 * RLIMIT_MEMLOCK 1 MiB each) fork, clone(CLONE_FILES), exec the fuzzer
 * again keeping container fds, exit, pass container fds over SCM_RIGHTS to
 * a root collector that keeps them, open, close, pin and unpin.
 *
 * The parent (root) drives them: it draws every step from the seed and
 * tells one process what to do over its control socket, so a run replays
 * exactly, and between steps nothing moves.  After each step it checks an
 * exact model against what the kernel shows, independently of what mempin
 * says about itself where it can:
 *  - VmPin of every live process; per uid their sum <= the uid's budget;
 *  - page references pinned system-wide (nr_foll_pin_*) <= both budgets;
 *  - fdinfo of every container fd in every fd table, including those whose
 *    address space has gone (0 pins, "gone"), and sysfs totals;
 *  - every ioctl's errno (EPERM on any container not the caller's own).
 * Workers live in three sibling cgroups under /sys/fs/cgroup/mpf, which has
 * a budget of its own and one for each child; the driver moves workers
 * between them (forks inherit theirs) and changes both budgets as it goes,
 * below what is pinned too.  Each pin must be refused exactly when its
 * cgroup's, the parent's or the uid's budget would be exceeded, and every
 * cgroup's usage in sysfs must be what its pins add up to, wherever their
 * processes went since.
 * At the end, with every process gone: nothing pinned, no container, and
 * each uid can pin its whole budget again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define NUIDS		2
#define BUDGET		256		/* pages: RLIMIT_MEMLOCK of 1 MiB */
#define REGION		320		/* pages a worker pins from: > BUDGET */
#define MAXPROC		5		/* live workers per uid */
#define MAXFD		8		/* containers per fd table */
#define MAXCOLL		16		/* containers the collector keeps */
#define NPROCS		64
#define NTABS		64
#define MAXPINS		(NUIDS * BUDGET)	/* each pin is at least a page */
#define TIMEOUT_MS	10000
#define COLL_NAME	"mempin-fuzz-budget"	/* abstract unix socket */
#define NCG		3		/* sibling cgroups the workers live in */
#define CGROOT		"/sys/fs/cgroup"
#define CGP		CGROOT "/mpf"
#define CGCTL		"/sys/class/misc/mempin/cgroup"

static const uid_t uids[NUIDS] = { 1000, 1001 };

/* ---- the workers: do what they are told, answer what happened ---- */

enum op { B_OPEN, B_CLOSE, B_PIN, B_UNPIN, B_STATS, B_FORK, B_CLONE, B_EXEC,
	  B_EXIT, B_SEND, B_RECV, B_MOVE, B_RULE, B_NR };
static const char *const op_name[B_NR] = { "open", "close", "pin", "unpin",
	"stats", "fork", "clone(CLONE_FILES)", "exec", "exit", "send (SCM_RIGHTS)",
	"collector recv", "move to a cgroup", "cgroup budget change" };

struct breq {
	int op, fd;
	uint64_t a, b;		/* pin: first page, pages; unpin: handle */
	int nkeep, keep[MAXFD];	/* exec: the container fds kept */
};

struct brep {
	int ret, fd;
	pid_t pid;		/* fork, clone, exec: the new (or same) process */
	uint64_t h, pins, pages, charged;
};

static int send_fd(int s, const void *buf, size_t len, int fd,
		   const struct sockaddr_un *to)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (to) {
		m.msg_name = (void *)to;
		m.msg_namelen = offsetof(struct sockaddr_un, sun_path) + 1 +
				strlen(COLL_NAME);
	}
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(s, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* One message of len bytes (and the fd passed with it, else -1). */
static int recv_fd(int s, void *buf, size_t len, int *fd, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { s, POLLIN, 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (fd)
		*fd = -1;
	if (timeout_ms >= 0 && poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    fd)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n == (ssize_t)len ? 0 : -EPROTO;
}

static struct sockaddr_un coll_addr(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memcpy(a.sun_path + 1, COLL_NAME, strlen(COLL_NAME));
	return a;
}

/* Above any fd a worker opens (the fuzzer keeps its tables small). */
#define MAXFD_SCAN	1024

static int coll_sock = -1;	/* the collector's: where fds arrive */

static void do_exec(int ctl, const struct breq *q, struct brep *p)
{
	char cs[16];
	char *argv[] = { (char *)"mempin-fuzz", (char *)"--budget-exec", cs, NULL };

	snprintf(cs, sizeof(cs), "%d", ctl);
	/*
	 * Exactly the kept containers (and the control socket) survive.  Not
	 * close_range(CLOSE_RANGE_CLOEXEC): 5.10 lacks the flag (EINVAL).
	 */
	for (int fd = 3; fd < MAXFD_SCAN; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	for (int i = 0; i < q->nkeep; i++)
		fcntl(q->keep[i], F_SETFD, 0);
	fcntl(ctl, F_SETFD, 0);
	execv(cfg.self, argv);
	p->ret = -errno;
	fcntl(ctl, F_SETFD, FD_CLOEXEC);
}

static void __attribute__((noreturn)) serve(int ctl, uint8_t *mem)
{
	for (;;) {
		struct breq q;
		struct brep p;
		int pass = -1, r;

		memset(&p, 0, sizeof(p));
		r = recv_fd(ctl, &q, sizeof(q), NULL, -1);
		if (r)
			_exit(r == -EPROTO ? 0 : 40);	/* the driver went away */
		p.pid = getpid();
		switch (q.op) {
		case B_OPEN:
			p.fd = mp_open();
			p.ret = p.fd < 0 ? p.fd : 0;
			break;
		case B_CLOSE:
			p.ret = close(q.fd) ? -errno : 0;
			break;
		case B_PIN:
			p.ret = mp_pin(q.fd, mem + q.a * PG, q.b * PG, 0, &p.h, NULL);
			break;
		case B_UNPIN:
			p.ret = mp_unpin(q.fd, q.a);
			break;
		case B_STATS: {
			struct mempin_stats_arg st;

			p.ret = mp_stats(q.fd, &st);
			p.pins = st.pins;
			p.pages = st.pages;
			p.charged = st.charged_pages;
			break;
		}
		case B_FORK:
		case B_CLONE: {
			int sv[2];
			pid_t pid;

			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
				p.ret = -errno;
				break;
			}
			/* The new process answers on sv[0]; the driver gets sv[1]. */
			pid = q.op == B_FORK ? fork() :
			      syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
			if (pid == 0) {
				if (q.op == B_FORK) {	/* its own copies */
					close(ctl);
					close(sv[1]);
				}
				ctl = sv[0];
				continue;
			}
			p.ret = pid < 0 ? -errno : 0;
			p.pid = pid;
			pass = sv[1];
			if (q.op == B_FORK || pid < 0)	/* shared: the child's */
				close(sv[0]);
			break;
		}
		case B_EXEC:
			do_exec(ctl, &q, &p);
			break;		/* failed: the new image answers otherwise */
		case B_EXIT:
			_exit(0);
		case B_SEND: {
			struct sockaddr_un a = coll_addr();
			int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

			p.ret = s < 0 ? -errno : send_fd(s, &p, sizeof(p), q.fd, &a);
			if (s >= 0)
				close(s);
			break;
		}
		case B_RECV: {
			struct brep dummy;

			p.ret = recv_fd(coll_sock, &dummy, sizeof(dummy), &p.fd, 0);
			if (!p.ret && p.fd < 0)
				p.ret = -ENOMSG;
			break;
		}
		default:
			p.ret = -EINVAL;
		}
		if (send_fd(ctl, &p, sizeof(p), pass, NULL))
			_exit(41);
		if (pass >= 0)
			close(pass);
	}
}

static uint8_t *worker_mem(void)
{
	uint8_t *m = mmap(NULL, REGION * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

/* The exec'd worker: same process, same uid, a new address space. */
int budget_exec_child(int argc, char **argv)
{
	static char self[4096];
	struct brep p = { 0 };
	uint8_t *mem;
	int ctl;

	if (argc < 3)
		return 30;
	ctl = atoi(argv[2]);
	fcntl(ctl, F_SETFD, FD_CLOEXEC);
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) > 0)
		cfg.self = self;
	mem = worker_mem();
	p.ret = mem ? 0 : -ENOMEM;
	p.pid = getpid();
	if (send_fd(ctl, &p, sizeof(p), -1, NULL) || !mem)
		return 31;
	serve(ctl, mem);
}

/* ---- the driver's model ---- */

struct mm_m {
	bool live;
};
struct ctr {			/* a container: one open() */
	bool open;
	int mm, uid;		/* bound to; charged to (index into uids) */
	unsigned int refs;	/* fd table entries */
	uint64_t npins, pages, kid;	/* kid: fdinfo's mempin-id, 0: unseen */
};
struct pin_m {
	int ctr;
	uint64_t h, pages;
	int cg;			/* the cgroup charged: its process's then */
};
struct ftab {
	unsigned int refs;	/* processes */
	int n;
	struct { int fd, ctr; } f[MAXCOLL];
};
struct proc {
	bool live;
	pid_t pid;
	int uid;		/* index into uids; -1: the collector */
	int mm, ft, ctl, pidfd;
	int cg;			/* the cgroup it is in (-1: the collector's) */
};

static struct mm_m *mms;
static struct ctr *ctrs;
static int nmms, nctrs;
static struct pin_m pins[MAXPINS];
static int npins;
static struct ftab tabs[NTABS];
static struct proc procs[NPROCS];
static int coll = -1;			/* procs[] index of the collector */
static int64_t held_before;
static uint64_t step, ops[B_NR], enomem, eperm, eperm_gone, gone_seen[2];
static uint64_t max_uid, max_held;
static char ring[32][160];		/* the last steps, for a failure */
/* The budgets, in pages (-1: max): each child's, and the parent's own. */
static long cg_each = -1, cg_own = -1;
static unsigned int nspawn;
static uint64_t enomem_cg;		/* refusals only a cgroup budget made */

static int new_mm(void)
{
	if (!(nmms & 255))
		mms = realloc(mms, (nmms + 256) * sizeof(*mms));
	mms[nmms].live = true;
	return nmms++;
}

static int new_tab(void)
{
	for (int i = 0; i < NTABS; i++)
		if (!tabs[i].refs) {
			tabs[i].refs = 1;
			tabs[i].n = 0;
			return i;
		}
	return -1;
}

static void pins_of_ctr_drop(int c)
{
	for (int i = 0; i < npins; i++)
		if (pins[i].ctr == c)
			pins[i--] = pins[--npins];
	ctrs[c].npins = ctrs[c].pages = 0;
}

static void ctr_unref(int c)
{
	if (--ctrs[c].refs)
		return;
	ctrs[c].open = false;		/* the last close unpins what is left */
	pins_of_ctr_drop(c);
}

static void tab_del(int t, int i)
{
	ctr_unref(tabs[t].f[i].ctr);
	tabs[t].f[i] = tabs[t].f[--tabs[t].n];
}

static void tab_unref(int t)
{
	if (--tabs[t].refs)
		return;
	while (tabs[t].n)
		tab_del(t, 0);
}

static int tab_copy(int t)
{
	int n = new_tab();

	if (n < 0)
		return -1;
	tabs[n].n = tabs[t].n;
	memcpy(tabs[n].f, tabs[t].f, sizeof(tabs[t].f));
	for (int i = 0; i < tabs[n].n; i++)
		ctrs[tabs[n].f[i].ctr].refs++;
	return n;
}

/* Its pins go with the address space (exit, exec). */
static void mm_dies(int m)
{
	mms[m].live = false;
	for (int c = 0; c < nctrs; c++)
		if (ctrs[c].mm == m)
			pins_of_ctr_drop(c);
}

static uint64_t uid_charged(int u)
{
	uint64_t n = 0;

	for (int i = 0; i < npins; i++)
		if (ctrs[pins[i].ctr].uid == u)
			n += pins[i].pages;
	return n;
}

/* Pages charged to cgroup leaf @g (-1: all of them, the parent). */
static uint64_t cg_pages(int g)
{
	uint64_t n = 0;

	for (int i = 0; i < npins; i++)
		if (g < 0 || pins[i].cg == g)
			n += pins[i].pages;
	return n;
}

static uint64_t mm_pages(int m)
{
	uint64_t n = 0;

	for (int i = 0; i < npins; i++)
		if (ctrs[pins[i].ctr].mm == m)
			n += pins[i].pages;
	return n;
}

/* The uid of process i: 0 for the collector. */
static int uid_of(int i)
{
	return procs[i].uid < 0 ? 0 : (int)uids[procs[i].uid];
}

static int nlive(int u)
{
	int n = 0;

	for (int i = 0; i < NPROCS; i++)
		n += procs[i].live && procs[i].uid == u;
	return n;
}

/* ---- reporting ---- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ring[step % 32], sizeof(ring[0]), fmt, ap);
	va_end(ap);
	if (cfg.verbose)
		say("budget step %llu: %s", (unsigned long long)step, ring[step % 32]);
}

static void bfail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bfail(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	bool first = !failed();

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fail("budget: seed %llu step %llu (%s): %s", (unsigned long long)cfg.seed,
	     (unsigned long long)step, ring[step % 32], buf);
	if (!first)
		return;
	say("REPRODUCER: MEMPIN_TEST_FUZZ_PHASES=budget MEMPIN_TEST_FUZZ_SEED=%llu "
	    "MEMPIN_TEST_FUZZ_BUDGET_STEPS=%llu make fuzz", (unsigned long long)cfg.seed,
	    (unsigned long long)step + 1);
	say("budget: the last steps:");
	for (uint64_t s = step >= 31 ? step - 31 : 0; s <= step; s++)
		say("  step %llu: %s", (unsigned long long)s, ring[s % 32]);
}

static const char *en(int r)
{
	return r ? strerrorname_np(-r) : "ok";
}

/* ---- talking to the processes ---- */

static int pidfd_of(pid_t pid)
{
	return syscall(SYS_pidfd_open, pid, 0);
}

static int add_proc(pid_t pid, int uid, int mm, int ft, int ctl)
{
	for (int i = 0; i < NPROCS; i++)
		if (!procs[i].live) {
			procs[i] = (struct proc){ true, pid, uid, mm, ft, ctl,
						  pidfd_of(pid), -1 };
			if (procs[i].pidfd < 0)
				bfail("pidfd_open %d: %s", pid, strerror(errno));
			return i;
		}
	bfail("out of process slots");
	return -1;
}

/* Sends q to process i, waits for its answer (and the fd passed with it). */
static int ask(int i, struct breq *q, struct brep *p, int *fd)
{
	int r = send_fd(procs[i].ctl, q, sizeof(*q), -1, NULL);

	memset(p, 0, sizeof(*p));
	if (!r)
		r = recv_fd(procs[i].ctl, p, sizeof(*p), fd, TIMEOUT_MS);
	if (r)
		bfail("process %d (uid %d) did not answer: %s", procs[i].pid,
		      uid_of(i), strerror(-r));
	return r;
}

/* The process is gone, its exit (address space, files) all done. */
static void wait_gone(int i)
{
	struct pollfd p = { procs[i].pidfd, POLLIN, 0 };

	if (poll(&p, 1, TIMEOUT_MS) != 1)
		bfail("process %d did not exit", procs[i].pid);
	close(procs[i].pidfd);
	close(procs[i].ctl);
	procs[i].live = false;
}

/* The process dies: its address space, then its files. */
static void proc_gone(int i)
{
	mm_dies(procs[i].mm);
	tab_unref(procs[i].ft);
	wait_gone(i);
}

static void cg_path(int g, char *buf, size_t len)
{
	if (g < 0)
		snprintf(buf, len, CGP);
	else
		snprintf(buf, len, CGP "/c%d", g);
}

/*
 * A new process of uid index u (-1: the collector, root), from the driver;
 * workers go to the cgroups in turn.
 */
static int spawn(int u)
{
	int sv[2], i, g = u < 0 ? -1 : (int)(nspawn++ % NCG);
	char procs_file[96];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		bfail("socketpair: %s", strerror(errno));
		return -1;
	}
	cg_path(g, procs_file, sizeof(procs_file) - 16);
	strcat(procs_file, "/cgroup.procs");
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un a = coll_addr();
		uint8_t *mem;

		if (g >= 0 && kv_write_file(procs_file, "0"))
			_exit(41);
		/* Nothing of the driver's but the control socket, as fd 3. */
		if (dup2(sv[1], 3) != 3 ||
		    syscall(SYS_close_range, 4, ~0U, 0) ||
		    fcntl(3, F_SETFD, FD_CLOEXEC))
			_exit(42);
		/* Group 1000 may open /dev/mempin (guest-init.sh), uid 1001 too. */
		if (u >= 0 && drop_root(uids[u], 1000, BUDGET * PG))
			_exit(43);
		if (u < 0) {
			coll_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (coll_sock < 0 ||
			    bind(coll_sock, (struct sockaddr *)&a,
				 offsetof(struct sockaddr_un, sun_path) + 1 +
				 strlen(COLL_NAME)))
				_exit(44);
		}
		mem = worker_mem();
		if (!mem)
			_exit(45);
		serve(3, mem);
	}
	close(sv[1]);
	if (pid < 0) {
		bfail("fork: %s", strerror(errno));
		close(sv[0]);
		return -1;
	}
	i = add_proc(pid, u, new_mm(), new_tab(), sv[0]);
	if (i >= 0 && procs[i].ft < 0)
		bfail("out of fd tables");
	if (i >= 0)
		procs[i].cg = g;
	return i;
}

/* ---- the checks: the model against what the kernel shows ---- */

static long fdinfo_num(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void check_fdinfo(int i, int fd, int c)
{
	static const char as_key[] = "mempin-address-space:\t";
	static char buf[65536];		/* up to 256 pins listed */
	char path[64], want_as[16];
	const char *as;
	ssize_t n = 0, got;
	long id;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", procs[i].pid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	while (f >= 0 && (got = read(f, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += got;
	if (f >= 0)
		close(f);
	if (n <= 0) {
		bfail("%s: %s", path, strerror(errno));
		return;
	}
	buf[n] = 0;
	as = strstr(buf, as_key);
	snprintf(want_as, sizeof(want_as), "%s\n", mms[ctrs[c].mm].live ? "live" : "gone");
	id = fdinfo_num(buf, "mempin-id:\t");
	if (fdinfo_num(buf, "mempin-pins:\t") != (long)ctrs[c].npins ||
	    fdinfo_num(buf, "mempin-pinned-pages:\t") != (long)ctrs[c].pages ||
	    fdinfo_num(buf, "mempin-charged-pages:\t") != (long)ctrs[c].pages ||
	    fdinfo_num(buf, "mempin-charged-uid:\t") != (long)uids[ctrs[c].uid] ||
	    !as || strncmp(as + strlen(as_key), want_as, strlen(want_as)) ||
	    !strstr(buf, "mempin-charge-mode:\tuser\n") ||
	    (ctrs[c].kid && id != (long)ctrs[c].kid)) {
		bfail("%s (process uid %d) shows\n%s-- expected: id %llu, %llu pins, "
		      "%llu pages (charged as many), uid %d, address space %s",
		      path, uid_of(i), buf,
		      (unsigned long long)ctrs[c].kid,
		      (unsigned long long)ctrs[c].npins,
		      (unsigned long long)ctrs[c].pages, (int)uids[ctrs[c].uid],
		      mms[ctrs[c].mm].live ? "live" : "gone");
		return;
	}
	ctrs[c].kid = id;
	if (!mms[ctrs[c].mm].live)
		gone_seen[procs[i].uid < 0]++;
}

static long sysfs_stat(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/misc/mempin/stats/%s", name);
	return kv_read_long(path);
}

/* A value of cgroup leaf g's (-1: the parent's) node in sysfs, -1: none. */
static long long cg_node(int g, const char *file)
{
	char path[160];
	struct stat st;
	long long v;

	cg_path(g, path, sizeof(path));
	if (stat(path, &st))
		return -2;
	snprintf(path, sizeof(path), CGCTL "/%llu/%s",
		 (unsigned long long)st.st_ino, file);
	v = kv_read_long(path);
	return v < 0 && access(path, F_OK) ? -1 : v;
}

/* Each cgroup's usage is what its pins add up to, wherever they went. */
static void check_cgroups(void)
{
	for (int g = -1; g < NCG && !failed(); g++) {
		long long usage = cg_node(g, "usage");
		uint64_t want = cg_pages(g) * PG;

		if (usage == -1 && (g < 0 || want))
			bfail("no sysfs node for cgroup %d holding %llu bytes", g,
			      (unsigned long long)want);
		else if (usage >= 0 && (uint64_t)usage != want)
			bfail("cgroup %d: usage %lld, expected %llu", g, usage,
			      (unsigned long long)want);
	}
}

static void check_all(void)
{
	uint64_t total = 0, sum[NUIDS] = { 0 }, a = 0, r = 0;
	long ncont = 0;
	int64_t held;
	bool seen[NTABS] = { false };

	for (int i = 0; i < npins; i++)
		total += pins[i].pages;
	for (int c = 0; c < nctrs; c++)
		ncont += ctrs[c].open;
	/* What the kernel shows, process by process: VmPin. */
	for (int i = 0; i < NPROCS && !failed(); i++) {
		long kb, want;

		if (!procs[i].live)
			continue;
		kb = kv_vmpin_kb(procs[i].pid);
		want = mm_pages(procs[i].mm) * (PG / 1024);
		if (kb != want)
			bfail("process %d (uid %d): VmPin %ld kB, expected %ld kB",
			      procs[i].pid, uid_of(i), kb, want);
		if (procs[i].uid >= 0 && kb > 0)
			sum[procs[i].uid] += kb / (PG / 1024);
		/* Every container fd of every fd table, once per table. */
		if (!seen[procs[i].ft]) {
			seen[procs[i].ft] = true;
			for (int k = 0; k < tabs[procs[i].ft].n && !failed(); k++)
				check_fdinfo(i, tabs[procs[i].ft].f[k].fd,
					     tabs[procs[i].ft].f[k].ctr);
		}
	}
	for (int u = 0; u < NUIDS; u++) {
		if (sum[u] > BUDGET)
			bfail("uid %d's processes have VmPin %llu pages in all, over "
			      "its budget of %d (RLIMIT_MEMLOCK)", (int)uids[u],
			      (unsigned long long)sum[u], BUDGET);
		else if (sum[u] != uid_charged(u))
			bfail("uid %d's processes have VmPin %llu pages in all, "
			      "expected %llu", (int)uids[u], (unsigned long long)sum[u],
			      (unsigned long long)uid_charged(u));
		if (sum[u] > max_uid)
			max_uid = sum[u];
	}
	if (kv_vmpin_kb(0) != 0)
		bfail("the driver (root) has VmPin %ld kB", kv_vmpin_kb(0));
	/* System-wide: page references pinned (FOLL_PIN), whoever pinned. */
	held = pins_held(&a, &r) - held_before;
	if (held > NUIDS * BUDGET)
		bfail("%lld page references pinned (nr_foll_pin_acquired %llu - "
		      "released %llu), over both budgets (%d pages)", (long long)held,
		      (unsigned long long)a, (unsigned long long)r, NUIDS * BUDGET);
	else if (held != (int64_t)total)
		bfail("%lld page references pinned (nr_foll_pin_acquired %llu - "
		      "released %llu), expected %llu", (long long)held,
		      (unsigned long long)a, (unsigned long long)r,
		      (unsigned long long)total);
	if (held > (int64_t)max_held)
		max_held = held;
	if (sysfs_stat("pins") != npins || sysfs_stat("containers") != ncont ||
	    sysfs_stat("pinned_pages") != (long)total ||
	    sysfs_stat("charged_pages") != (long)total)
		bfail("sysfs stats: pins %ld containers %ld pinned_pages %ld "
		      "charged_pages %ld; expected %d, %ld, %llu, %llu",
		      sysfs_stat("pins"), sysfs_stat("containers"),
		      sysfs_stat("pinned_pages"), sysfs_stat("charged_pages"),
		      npins, ncont, (unsigned long long)total,
		      (unsigned long long)total);
	check_cgroups();
}

/* ---- the steps ---- */

/* A random live process of uid index u (-2: any worker), or -1. */
static int pick_proc(struct rng *r, int u)
{
	int idx[NPROCS], n = 0;

	for (int i = 0; i < NPROCS; i++)
		if (procs[i].live && procs[i].uid >= 0 && (u == -2 || procs[i].uid == u))
			idx[n++] = i;
	return n ? idx[below(r, n)] : -1;
}

/* c: the container the call was on, or -1. */
static void expect_on(int c, int got, int want, const char *what)
{
	if (got == -ENOMEM)
		enomem++;
	if (got == -EPERM)
		eperm++;
	if (got == -EPERM && c >= 0 && !mms[ctrs[c].mm].live)
		eperm_gone++;
	if (got != want)
		bfail("%s gave %s, expected %s", what, en(got), en(want));
}

static void expect(int got, int want, const char *what)
{
	expect_on(-1, got, want, what);
}

/* Whether container c is process i's own: its ioctls work, or EPERM. */
static bool own(int i, int c)
{
	return ctrs[c].mm == procs[i].mm && mms[ctrs[c].mm].live;
}

static void op_pin(struct rng *r, int i, int k)
{
	int c = tabs[procs[i].ft].f[k].ctr, want = 0;
	uint64_t n = 1 + below(r, chance(r, 70) ? 16 : 128);
	uint64_t first = below(r, REGION - n + 1);
	struct breq q = { .op = B_PIN, .fd = tabs[procs[i].ft].f[k].fd, .a = first, .b = n };
	struct brep p;

	note("pid %d uid %d: pin fd %d (container %d) pages %llu+%llu", procs[i].pid,
	     uid_of(i), q.fd, c, (unsigned long long)first,
	     (unsigned long long)n);
	if (!own(i, c))
		want = -EPERM;
	else if (uid_charged(procs[i].uid) + n > BUDGET)
		want = -ENOMEM;
	else if ((cg_each >= 0 && cg_pages(procs[i].cg) + n > (uint64_t)cg_each) ||
		 (cg_own >= 0 && cg_pages(-1) + n > (uint64_t)cg_own))
		want = -ENOMEM, enomem_cg++;
	if (ask(i, &q, &p, NULL))
		return;
	expect_on(c, p.ret, want, "pin");
	if (p.ret || want)
		return;
	pins[npins++] = (struct pin_m){ c, p.h, n, procs[i].cg };
	ctrs[c].npins++;
	ctrs[c].pages += n;
}

static void op_unpin(struct rng *r, int i, int k)
{
	int c = tabs[procs[i].ft].f[k].ctr, cand[MAXPINS], nc = 0, pi = -1, want;
	struct breq q = { .op = B_UNPIN, .fd = tabs[procs[i].ft].f[k].fd };
	struct brep p;

	for (int j = 0; j < npins; j++)
		if (pins[j].ctr == c)
			cand[nc++] = j;
	if (nc && chance(r, 90)) {
		pi = cand[below(r, nc)];
		q.a = pins[pi].h;
	} else {
		q.a = 1000000 + below(r, 1000);	/* no such handle */
	}
	want = !own(i, c) ? -EPERM : pi < 0 ? -ENOENT : 0;
	note("pid %d: unpin fd %d (container %d) handle %llu", procs[i].pid, q.fd, c,
	     (unsigned long long)q.a);
	if (ask(i, &q, &p, NULL))
		return;
	expect_on(c, p.ret, want, "unpin");
	if (p.ret || want)
		return;
	ctrs[c].npins--;
	ctrs[c].pages -= pins[pi].pages;
	pins[pi] = pins[--npins];
}

static void op_stats(int i, int k)
{
	int c = tabs[procs[i].ft].f[k].ctr;
	struct breq q = { .op = B_STATS, .fd = tabs[procs[i].ft].f[k].fd };
	struct brep p;

	note("pid %d: stats fd %d (container %d)", procs[i].pid, q.fd, c);
	if (ask(i, &q, &p, NULL))
		return;
	expect_on(c, p.ret, own(i, c) ? 0 : -EPERM, "stats");
	if (!p.ret && (p.pins != ctrs[c].npins || p.pages != ctrs[c].pages ||
		       p.charged != p.pages))
		bfail("stats: %llu pins %llu pages %llu charged, expected %llu pins "
		      "%llu pages (charged as many)", (unsigned long long)p.pins,
		      (unsigned long long)p.pages, (unsigned long long)p.charged,
		      (unsigned long long)ctrs[c].npins,
		      (unsigned long long)ctrs[c].pages);
}

static void op_close(int i, int k)
{
	struct breq q = { .op = B_CLOSE, .fd = tabs[procs[i].ft].f[k].fd };
	struct brep p;

	note("pid %d: close fd %d (container %d)", procs[i].pid, q.fd,
	     tabs[procs[i].ft].f[k].ctr);
	if (ask(i, &q, &p, NULL))
		return;
	expect(p.ret, 0, "close");
	tab_del(procs[i].ft, k);
}

static void op_open(int i)
{
	struct breq q = { .op = B_OPEN };
	struct brep p;
	struct ftab *t = &tabs[procs[i].ft];

	note("pid %d uid %d: open", procs[i].pid, uid_of(i));
	if (ask(i, &q, &p, NULL))
		return;
	expect(p.ret, 0, "open");
	if (p.ret)
		return;
	if (!(nctrs & 255))
		ctrs = realloc(ctrs, (nctrs + 256) * sizeof(*ctrs));
	ctrs[nctrs] = (struct ctr){ true, procs[i].mm, procs[i].uid, 1, 0, 0, 0 };
	t->f[t->n].fd = p.fd;
	t->f[t->n++].ctr = nctrs++;
}

/* fork (a copy of the fd table) or clone(CLONE_FILES) (the same one). */
static void op_fork(int i, bool files)
{
	struct breq q = { .op = files ? B_CLONE : B_FORK };
	struct brep p;
	int ctl, ft;

	note("pid %d: %s", procs[i].pid, files ? "clone(CLONE_FILES)" : "fork");
	if (ask(i, &q, &p, &ctl))
		return;
	expect(p.ret, 0, op_name[q.op]);
	if (p.ret || ctl < 0) {
		if (!p.ret)
			bfail("no control socket from the new process");
		return;
	}
	ft = procs[i].ft;
	if (files)
		tabs[ft].refs++;
	else
		ft = tab_copy(ft);
	if (ft < 0)
		bfail("out of fd tables");
	else if ((ft = add_proc(p.pid, procs[i].uid, new_mm(), ft, ctl)) >= 0)
		procs[ft].cg = procs[i].cg;
}

static void op_exec(struct rng *r, int i)
{
	struct breq q = { .op = B_EXEC };
	struct brep p;
	struct ftab *t;
	int ft = procs[i].ft;
	char kept[80] = "";
	size_t o = 0;

	/* exec unshares the fd table, then closes what is close-on-exec. */
	if (tabs[ft].refs > 1) {
		int n = tab_copy(ft);

		if (n < 0) {
			bfail("out of fd tables");
			return;
		}
		tabs[ft].refs--;
		ft = procs[i].ft = n;
	}
	t = &tabs[ft];
	for (int k = 0; k < t->n; k++) {
		if (chance(r, 70)) {
			q.keep[q.nkeep++] = t->f[k].fd;
			o += snprintf(kept + o, sizeof(kept) - o, " %d", t->f[k].fd);
		} else {
			tab_del(ft, k--);
		}
	}
	note("pid %d: exec keeping fds%s", procs[i].pid, *kept ? kept : " none");
	mm_dies(procs[i].mm);
	procs[i].mm = new_mm();
	if (ask(i, &q, &p, NULL))
		return;
	expect(p.ret, 0, "exec");
	if (p.pid != procs[i].pid)
		bfail("exec: answer from pid %d", p.pid);
}

static void op_exit(int i)
{
	note("pid %d: exit", procs[i].pid);
	if (send_fd(procs[i].ctl, &(struct breq){ .op = B_EXIT }, sizeof(struct breq),
		    -1, NULL))
		bfail("exit: %s", strerror(errno));
	proc_gone(i);
}

/* To the collector, which keeps it (its own fd table, its own fd). */
static void op_send(int i, int k)
{
	int c = tabs[procs[i].ft].f[k].ctr, fd;
	struct breq q = { .op = B_SEND, .fd = tabs[procs[i].ft].f[k].fd };
	struct brep p;
	struct ftab *t = &tabs[procs[coll].ft];

	note("pid %d: send fd %d (container %d) to the collector", procs[i].pid,
	     q.fd, c);
	if (ask(i, &q, &p, NULL))
		return;
	expect(p.ret, 0, "send");
	if (p.ret)
		return;
	q = (struct breq){ .op = B_RECV };
	if (ask(coll, &q, &p, NULL))
		return;
	expect(p.ret, 0, "collector recv");
	fd = p.fd;
	if (p.ret || fd < 0)
		return;
	t->f[t->n].fd = fd;
	t->f[t->n++].ctr = c;
	ctrs[c].refs++;
}

/*
 * An fd of process i's table: mostly one of its own containers, so that
 * pins meet the budget; else any (EPERM unless its own).  -1 if none.
 */
static int pick_fd(struct rng *r, int i)
{
	struct ftab *t = &tabs[procs[i].ft];
	int mine[MAXCOLL], n = 0;

	for (int k = 0; k < t->n; k++)
		if (own(i, t->f[k].ctr))
			mine[n++] = k;
	if (n && chance(r, 80))
		return mine[below(r, n)];
	return t->n ? (int)below(r, t->n) : -1;
}

/* The driver moves worker i to another cgroup; its pins stay charged. */
static void op_move(struct rng *r, int i)
{
	int g = (procs[i].cg + 1 + (int)below(r, NCG - 1)) % NCG;
	char path[96], pid[16];

	note("pid %d: moved from cgroup c%d to c%d", procs[i].pid, procs[i].cg, g);
	cg_path(g, path, sizeof(path) - 16);
	strcat(path, "/cgroup.procs");
	snprintf(pid, sizeof(pid), "%d", (int)procs[i].pid);
	expect(kv_write_file(path, pid), 0, "move");
	procs[i].cg = g;
}

/* Writes a rule to cgroup/set: 0 or -errno. */
static int cg_rule(long pages, bool each)
{
	char line[96];

	if (pages < 0)
		snprintf(line, sizeof(line), "/mpf max%s", each ? " each-child" : "");
	else
		snprintf(line, sizeof(line), "/mpf %ld%s", pages * PG,
			 each ? " each-child" : "");
	return kv_write_file(CGCTL "/set", line);
}

/* The driver changes a budget, maybe below what is pinned under it. */
static void op_rule(struct rng *r)
{
	static const long each[] = { 24, 64, 128, -1 }, own[] = { 96, 200, 320, -1 };
	bool is_each = chance(r, 50);
	long v = is_each ? each[below(r, 4)] : own[below(r, 4)];

	note("budget %s of %s: %ld pages", is_each ? "each-child" : "own", CGP, v);
	expect(cg_rule(v, is_each), 0, "budget change");
	if (is_each)
		cg_each = v;
	else
		cg_own = v;
}

static void one_step(struct rng *r)
{
	int u = below(r, NUIDS), i, k, n;
	unsigned int w = below(r, 100);
	struct ftab *ct = &tabs[procs[coll].ft];

	/* The collector: probes (EPERM: never its own) and closes. */
	if (w < 8 && ct->n) {
		k = below(r, ct->n);
		if (w < 4)
			op_close(coll, k);
		else if (w < 6)
			op_stats(coll, k);
		else
			op_pin(r, coll, k);
		return;
	}
	i = pick_proc(r, u);
	if (i < 0 || (w < 12 && nlive(u) < MAXPROC)) {
		note("spawn a process of uid %d", (int)uids[u]);
		spawn(u);
		ops[B_FORK]++;
		return;
	}
	n = tabs[procs[i].ft].n;
	k = pick_fd(r, i);
	if (w < 12 || (w >= 96 && n < MAXFD))
		w = 67;			/* open */
	/* What cannot be done here (no fd, too many): a pin or an open. */
	if (k < 0 && w < 82)
		w = 67;
	if ((w >= 67 && w < 73 && n >= MAXFD) || (w >= 82 && w < 88 &&
	    nlive(u) >= MAXPROC) || (w >= 77 && w < 82 && ct->n >= MAXCOLL) ||
	    w >= 96)
		w = k >= 0 ? 12 : 67;
	if (w < 46)
		ops[B_PIN]++, op_pin(r, i, k);
	else if (w < 48)
		ops[B_MOVE]++, op_move(r, i);
	else if (w < 50)
		ops[B_RULE]++, op_rule(r);
	else if (w < 64)
		ops[B_UNPIN]++, op_unpin(r, i, k);
	else if (w < 67)
		ops[B_STATS]++, op_stats(i, k);
	else if (w < 73)
		ops[B_OPEN]++, op_open(i);
	else if (w < 77)
		ops[B_CLOSE]++, op_close(i, k);
	else if (w < 82)
		ops[B_SEND]++, op_send(i, k);
	else if (w < 85)
		ops[B_FORK]++, op_fork(i, false);
	else if (w < 88)
		ops[B_CLONE]++, op_fork(i, true);
	else if (w < 92)
		ops[B_EXEC]++, op_exec(r, i);
	else
		ops[B_EXIT]++, op_exit(i);
}

/* With every process gone: the full budget of each uid pins, not a page more. */
static void full_budget(void)
{
	int w[NUIDS];

	for (int u = 0; u < NUIDS && !failed(); u++) {
		struct breq q = { .op = B_OPEN };
		struct brep p;

		step++;
		note("uid %d: a new process pins its whole budget, then a page more",
		     (int)uids[u]);
		w[u] = spawn(u);
		if (w[u] < 0)
			return;
		op_open(w[u]);
		if (failed())
			return;
		q = (struct breq){ .op = B_PIN, .fd = tabs[procs[w[u]].ft].f[0].fd,
				   .a = 0, .b = BUDGET };
		if (ask(w[u], &q, &p, NULL))
			return;
		expect(p.ret, 0, "pin of the whole budget");
		if (p.ret)
			return;
		pins[npins++] = (struct pin_m){ tabs[procs[w[u]].ft].f[0].ctr, p.h,
						BUDGET, procs[w[u]].cg };
		ctrs[tabs[procs[w[u]].ft].f[0].ctr].npins++;
		ctrs[tabs[procs[w[u]].ft].f[0].ctr].pages += BUDGET;
		q.a = BUDGET;
		q.b = 1;
		if (!ask(w[u], &q, &p, NULL))
			expect(p.ret, -ENOMEM, "pin of a page past the budget");
		check_all();
	}
	for (int u = 0; u < NUIDS && !failed(); u++)
		op_exit(w[u]);
}

static void end_all(void)
{
	for (int i = 0; i < NPROCS; i++) {
		if (!procs[i].live)
			continue;
		kill(procs[i].pid, SIGKILL);
		proc_gone(i);
	}
}

static int driver(void)
{
	struct rng r = { mix64(cfg.seed ^ 0xb0d6e7b0d6e7ULL) };
	double t0 = now_s(), deadline = t0 + cfg.budget_secs;
	uint64_t a = 0, rel = 0;
	int64_t held;

	/* Orphans come here, and nobody leaves zombies: exits are seen by pidfd. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGCHLD, SIG_IGN);
	held_before = pins_held(NULL, NULL);
	{
		char mode[16] = "";
		int f = open("/sys/module/mempin/parameters/charge_mode", O_RDONLY);

		if (f < 0 || read(f, mode, sizeof(mode) - 1) <= 0 || strcmp(mode, "user\n"))
			bfail("charge_mode is not \"user\": %s", mode);
		if (f >= 0)
			close(f);
	}
	note("make %s with %d children, budgets max", CGP, NCG);
	if (access(CGROOT "/cgroup.controllers", F_OK) &&
	    mount("cgroup2", CGROOT, "cgroup2", 0, NULL))
		bfail("mount cgroup2: %s", strerror(errno));
	for (int g = -1; g < NCG; g++) {
		char path[96];

		cg_path(g, path, sizeof(path));
		if (mkdir(path, 0755) && errno != EEXIST)
			bfail("mkdir %s: %s", path, strerror(errno));
	}
	if (cg_rule(-1, false) || cg_rule(-1, true))
		bfail("cannot set the budgets of %s", CGP);
	note("spawn the collector and a process of each uid");
	coll = spawn(-1);
	for (int u = 0; u < NUIDS && !failed(); u++)
		spawn(u);
	if (!failed())
		check_all();
	while (!failed() && now_s() < deadline &&
	       (!cfg.budget_steps || step + 1 < cfg.budget_steps)) {
		step++;
		one_step(&r);
		if (!failed())
			check_all();
	}
	say("budget: %llu steps in %.1f s: pin %llu, unpin %llu, stats %llu, open %llu, "
	    "close %llu, send %llu, fork/spawn %llu, clone %llu, exec %llu, exit %llu, "
	    "cgroup move %llu, budget change %llu; ENOMEM from a cgroup budget %llu, "
	    "ENOMEM %llu, EPERM %llu (%llu on a gone address space); fdinfo of a gone address space seen %llu times in "
	    "workers, %llu in the collector; max VmPin of a uid %llu pages of %d, "
	    "max pinned %llu of %d", (unsigned long long)step, now_s() - t0,
	    (unsigned long long)ops[B_PIN], (unsigned long long)ops[B_UNPIN],
	    (unsigned long long)ops[B_STATS], (unsigned long long)ops[B_OPEN],
	    (unsigned long long)ops[B_CLOSE], (unsigned long long)ops[B_SEND],
	    (unsigned long long)ops[B_FORK], (unsigned long long)ops[B_CLONE],
	    (unsigned long long)ops[B_EXEC], (unsigned long long)ops[B_EXIT],
	    (unsigned long long)ops[B_MOVE], (unsigned long long)ops[B_RULE],
	    (unsigned long long)enomem_cg,
	    (unsigned long long)enomem, (unsigned long long)eperm,
	    (unsigned long long)eperm_gone,
	    (unsigned long long)gone_seen[0], (unsigned long long)gone_seen[1],
	    (unsigned long long)max_uid, BUDGET, (unsigned long long)max_held,
	    NUIDS * BUDGET);
	/* A long enough run that never met the budget or a gone address space
	 * proved nothing. */
	if (!failed() && step >= 1000 &&
	    (!enomem || !enomem_cg || !eperm_gone || !gone_seen[0] ||
	     !gone_seen[1]))
		bfail("a run of %llu steps never saw ENOMEM (of a uid's and of a "
		      "cgroup's budget), EPERM from a gone address "
		      "space, or one in fdinfo of a worker and of the collector",
		      (unsigned long long)step);
	end_all();
	step++;
	note("every process gone");
	if (!failed()) {
		check_all();
		held = pins_held(&a, &rel);
		if (held != held_before || sysfs_stat("pins") != 0 ||
		    sysfs_stat("containers") != 0)
			bfail("with every process gone: nr_foll_pin_acquired %llu released "
			      "%llu (%lld held before), sysfs pins %ld containers %ld",
			      (unsigned long long)a, (unsigned long long)rel,
			      (long long)held_before, sysfs_stat("pins"),
			      sysfs_stat("containers"));
	}
	/* The uid's budget alone, now. */
	if (!failed() && (cg_rule(-1, false) || cg_rule(-1, true)))
		bfail("cannot lift the budgets of %s", CGP);
	cg_each = cg_own = -1;
	if (!failed())
		full_budget();
	end_all();
	if (!failed())
		check_all();
	kv_write_file(CGCTL "/unset", "/mpf");
	kv_write_file(CGCTL "/unset", "/mpf each-child");
	for (int g = NCG - 1; g >= -1; g--) {
		char path[96];

		cg_path(g, path, sizeof(path));
		if (rmdir(path) && !failed())
			bfail("rmdir %s: %s", path, strerror(errno));
	}
	held = pins_held(&a, &rel);
	if (!failed())
		say("budget: with every process gone: pins held %lld (acquired %llu, "
		    "released %llu), no container; each uid pinned its %d pages again",
		    (long long)held, (unsigned long long)a, (unsigned long long)rel,
		    BUDGET);
	return failed();
}

int phase_budget(void)
{
	int st;
	pid_t pid;

	say("budget: seed %llu, uids %d and %d with %d pages each, %u s%s",
	    (unsigned long long)cfg.seed, (int)uids[0], (int)uids[1], BUDGET,
	    cfg.budget_secs, cfg.budget_steps ? " (or the steps asked)" : "");
	/* The driver is a process of its own: a subreaper ignoring SIGCHLD. */
	pid = fork();
	if (pid == 0)
		_exit(driver());
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		fail("budget: fork/wait: %s", strerror(errno));
		return -1;
	}
	if ((!WIFEXITED(st) || WEXITSTATUS(st)) && !failed())
		fail("budget: the driver ended with status %#x", st);
	return failed() ? -1 : 0;
}
