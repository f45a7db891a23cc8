// SPDX-License-Identifier: GPL-2.0
/* checked: the Check suite's asserting conveniences.  See checked.h. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checked.h"

/* ---- raw ioctls ---- */

int xmp_open(void)
{
	int fd = mp_open();

	ck_assert_msg(fd >= 0, "open %s: %s", MEMPIN_DEV, strerror(-fd));
	return fd;
}

void xclose(int fd)
{
	ck_assert_msg(close(fd) == 0, "close: %s", strerror(errno));
}

uint64_t xpin(int fd, const void *addr, size_t len, unsigned int flags)
{
	uint64_t h = 0;
	int r = mp_pin(fd, addr, len, flags, &h, NULL);

	ck_assert_msg(r == 0, "pin %p+%zu flags %#x: %s", addr, len, flags,
		      strerror(-r));
	ck_assert_uint_ne(h, 0);
	return h;
}

void xunpin(int fd, uint64_t handle)
{
	int r = mp_unpin(fd, handle);

	ck_assert_msg(r == 0, "unpin %llu: %s", (unsigned long long)handle,
		      strerror(-r));
}

void xstats(int fd, struct mempin_stats_arg *st)
{
	int r = mp_stats(fd, st);

	ck_assert_msg(r == 0, "stats: %s", strerror(-r));
}

void xinfo(int fd, struct mempin_info_arg *info)
{
	int r = mp_info(fd, info);

	ck_assert_msg(r == 0, "info: %s", strerror(-r));
}

/* ---- kernel views ---- */

void kv_pins_read(struct kv_pins *p)
{
	int r = kv_pins_get(p);

	ck_assert_msg(r == 0, "nr_foll_pin_* from /proc/vmstat: %s", strerror(-r));
}

/* ---- tracefs ---- */

char *xread_all(const char *path, size_t max)
{
	char *buf = malloc(max + 1);
	size_t off = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert(buf);
	while (off < max && (n = read(fd, buf + off, max - off)) > 0)
		off += (size_t)n;
	close(fd);
	buf[off] = 0;
	return buf;
}

void tracefs_mount(void)
{
	if (access(TRACEFS "/events", F_OK)) {
		int r = mount("tracefs", TRACEFS, "tracefs", 0, NULL);

		ck_assert_msg(r == 0, "mount tracefs on %s: %s", TRACEFS, strerror(errno));
	}
	ck_assert_msg(access(TRACEFS "/events/mempin", F_OK) == 0,
		      "no %s/events/mempin", TRACEFS);
}

void trace_start(void)
{
	int fd;

	tracefs_mount();
	ck_assert_int_eq(kv_write_file(TRACEFS "/tracing_on", "1"), 0);
	ck_assert_int_eq(kv_write_file(TRACEFS "/events/mempin/enable", "1"), 0);
	fd = open(TRACEFS "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "truncate trace: %s", strerror(errno));
	close(fd);
}

char *trace_stop(void)
{
	ck_assert_int_eq(kv_write_file(TRACEFS "/events/mempin/enable", "0"), 0);
	return xread_all(TRACEFS "/trace", 1 << 20);
}

void trace_off(void)
{
	if (!access(TRACEFS "/events/mempin/enable", F_OK))
		kv_write_file(TRACEFS "/events/mempin/enable", "0");
}

const char *trace_find(const char *trace, const char *ev, pid_t pid, int n)
{
	char want[32];
	const char *p = trace;

	snprintf(want, sizeof(want), " %s: pid=%d ", ev, (int)pid);
	while ((p = strstr(p, want))) {
		if (!n--)
			return p + strlen(want);
		p++;
	}
	return NULL;
}

/* ---- processes ---- */

void child_start(struct child *c, child_fn fn, void *arg)
{
	int up[2], down[2], res[2];

	ck_assert(pipe2(up, O_CLOEXEC) == 0);
	ck_assert(pipe2(down, O_CLOEXEC) == 0);
	ck_assert(pipe2(res, O_CLOEXEC) == 0);
	c->pid = fork();
	ck_assert_msg(c->pid >= 0, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		struct chan ch = { up[1], down[0], res[1] };

		/* A test that fails midway leaves no child holding pins. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);

		close(up[0]);
		close(down[1]);
		close(res[0]);
		fn(&ch, arg);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	close(res[1]);
	c->up_r = up[0];
	c->down_w = down[1];
	c->res_r = res[0];
	c->status = -1;
}

int child_await(struct child *c)
{
	char b;
	ssize_t n;

	do
		n = read(c->up_r, &b, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

void child_go(struct child *c)
{
	char b = 'g';

	if (write(c->down_w, &b, 1) != 1)
		return;	/* the child is gone: child_finish() reports it */
}

int child_finish(struct child *c, char *msg, size_t len)
{
	int st;
	ssize_t n, off = 0;

	close(c->down_w);	/* a child still in ch_sync() fails there */
	while (waitpid(c->pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(msg, len, "waitpid: %s", strerror(errno));
			return -1;
		}
	c->status = st;
	while (off < (ssize_t)len - 1 &&
	       (n = read(c->res_r, msg + off, len - 1 - off)) > 0)
		off += n;
	msg[off] = 0;
	close(c->up_r);
	close(c->res_r);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && off == 0)
		return 0;
	if (!off) {
		if (WIFSIGNALED(st))
			snprintf(msg, len, "killed by signal %d", WTERMSIG(st));
		else
			snprintf(msg, len, "exit status %d", WEXITSTATUS(st));
	}
	return -1;
}

void ch_sync(struct chan *ch)
{
	char b = 'r';
	ssize_t n;

	if (write(ch->up_w, &b, 1) != 1)
		_exit(3);
	do
		n = read(ch->down_r, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(4);	/* parent gave up */
}

void ch_fail(struct chan *ch, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	int n;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "%s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	if (write(ch->res_w, buf, n) != n)
		_exit(2);
	_exit(1);
}

void *xmap(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_msg(p != MAP_FAILED, "mmap %zu: %s", len, strerror(errno));
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0x5a, len);
	return p;
}

void xunmap(void *p, size_t len)
{
	ck_assert(munmap(p, len) == 0);
}

/* ---- fd passing ---- */

int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char b = 'f';
	struct iovec iov = { &b, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	char b;
	struct iovec iov = { &b, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* ---- teardown of the suites that reload the module ---- */

int mempin_dev_fix(void)
{
	if (chown(MEMPIN_DEV, 0, 1000) || chmod(MEMPIN_DEV, 0660))
		return -errno;
	return 0;
}

void suite_restore(void)
{
	const char *path = getenv("MEMPIN_MODULE");

	trace_off();
	if (!path)
		return;		/* not in the test guest */
	if (!kv_module_loaded()) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			syscall(SYS_finit_module, fd, "", 0);
			close(fd);
		}
	}
	kv_param_set("max_pinned_pages", 0);
	mempin_dev_fix();
}

/* A "mempin-KEY:\tVALUE" line of this process's fdinfo for @fd. */
int fdinfo_value(int fd, const char *key, char *val, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			snprintf(val, len, "%s", line + klen + 1 + strspn(line + klen + 1, "\t "));
			val[strcspn(val, "\n")] = 0;
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

/*
 * Small pages: io_uring charges a whole THP for any part of it registered,
 * which would make its share of the budget depend on the memory's layout.
 */
char *touched(size_t pages)
{
	char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || madvise(p, pages * PG, MADV_NOHUGEPAGE))
		return NULL;
	memset(p, 1, pages * PG);
	return p;
}

/* ---- sysfs counters ---- */

const char *const counter_names[C_NR] = {
	"containers", "pins", "pinned_pages", "pinned_pages_max", "charged_pages",
	"refused_rlimit", "refused_cap", "refused_mapping", "refused_limit",
	"refused_gup", "refused_cgroup",
};

uint64_t stats_counter(int i)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), STATS_DIR "%s", counter_names[i]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}
