// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl ps: the processes holding mempin containers, from
 * /proc/PID/fd and /proc/PID/fdinfo, summed per process and container.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mempinctl.h"

struct pin {
	uint64_t handle, addr, len, pages;
	bool writable;
};

/* One fd referring to a container. */
struct cfd {
	pid_t pid;
	int fd;
	uint64_t id;			/* mempin-id: the container */
	long owner;			/* mempin-owner-pid, 0 once gone */
	uint64_t pins, pages, charged, charged_bytes, unlisted;
	struct pin *pin;
	size_t npin;
	size_t container;		/* index of the first cfd of its container */
	bool shared;			/* another process holds the container */
	bool dup;			/* an earlier fd of this process has it */
};

struct proc {
	pid_t pid;
	uid_t uid;
	char cmd[256];
	long vmpin_kb;
	size_t first, n;		/* its cfds */
	uint64_t containers, shared, pins, pages, charged, charged_bytes;
};

struct psdata {
	struct cfd *fd;
	size_t nfd;
	struct proc *proc;
	size_t nproc;
	unsigned int unreadable;	/* processes whose fds we may not see */
};

/* Parses /proc/PID/fdinfo/FD; false if it shows no mempin container. */
static bool fdinfo_read(struct cfd *f)
{
	char path[64], line[256];
	bool mine = false;
	FILE *in;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)f->pid, f->fd);
	in = fopen(path, "re");
	if (!in)
		return false;
	while (fgets(line, sizeof(line), in)) {
		char *v = strchr(line, ':');
		uint64_t h;
		struct pin p;
		char mode[4];

		if (strncmp(line, "mempin-", 7) || !v)
			continue;
		*v++ = 0;
		mine = true;
		if (!strcmp(line, "mempin-id")) {
			f->id = strtoull(v, NULL, 10);
		} else if (!strcmp(line, "mempin-owner-pid")) {
			f->owner = strtol(v, NULL, 10);
		} else if (!strcmp(line, "mempin-pins")) {
			f->pins = strtoull(v, NULL, 10);
		} else if (!strcmp(line, "mempin-pinned-pages")) {
			f->pages = strtoull(v, NULL, 10);
		} else if (!strcmp(line, "mempin-charged-pages")) {
			f->charged = strtoull(v, NULL, 10);
		} else if (!strcmp(line, "mempin-charged-bytes")) {
			f->charged_bytes = strtoull(v, NULL, 10);
		} else if (!strcmp(line, "mempin-pins-unlisted")) {
			f->unlisted = strtoull(v, NULL, 10);
		} else if (sscanf(line, "mempin-pin-%" SCNu64, &h) == 1 &&
			   sscanf(v, " 0x%" SCNx64 " %" SCNu64 " %" SCNu64 " %3s",
				  &p.addr, &p.len, &p.pages, mode) == 4) {
			p.handle = h;
			p.writable = !strcmp(mode, "rw");
			f->pin = xrealloc(f->pin, f->npin + 1, sizeof(*f->pin));
			f->pin[f->npin++] = p;
		}
	}
	fclose(in);
	return mine;
}

static void proc_describe(struct proc *p)
{
	char path[64], buf[sizeof(p->cmd)];
	struct stat st;
	ssize_t n = -1;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d", (int)p->pid);
	p->uid = stat(path, &st) ? (uid_t)-1 : st.st_uid;
	p->vmpin_kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n > 0) {
		while (n > 0 && !buf[n - 1])
			n--;
		for (i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[n] = 0;
		snprintf(p->cmd, sizeof(p->cmd), "%s", buf);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
		if (read_text(path, buf, sizeof(buf) - 2) < 0)
			snprintf(buf, sizeof(buf), "?");
		snprintf(p->cmd, sizeof(p->cmd), "[%.*s]", (int)sizeof(p->cmd) - 3, buf);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
	{
		FILE *f = fopen(path, "re");
		char line[128];

		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmPin:", 6)) {
				p->vmpin_kb = strtol(line + 6, NULL, 10);
				break;
			}
		if (f)
			fclose(f);
	}
}

/*
 * Every fd of PID that is a mempin container, into ps.  Cheap tests first,
 * and stat() only of what fdinfo showed to be mempin's (the device node):
 * stat() of another fd's file could wait on a hung network or FUSE mount.
 */
static void ps_scan_pid(struct psdata *ps, pid_t pid, dev_t dev)
{
	char path[64];
	struct dirent *e;
	size_t first = ps->nfd;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir) {
		if (errno == EACCES || errno == EPERM)
			ps->unreadable++;
		return;
	}
	while ((e = readdir(dir))) {
		struct cfd f = { .pid = pid, .owner = -1 };
		char target[16];
		struct stat st;
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		/* Sockets, pipes, anon inodes ("socket:[123]"): not a device. */
		n = readlinkat(dirfd(dir), e->d_name, target, sizeof(target));
		if (n <= 0 || target[0] != '/')
			continue;
		f.fd = atoi(e->d_name);
		/* The device number, whatever path the process opened. */
		if (!fdinfo_read(&f) ||
		    fstatat(dirfd(dir), e->d_name, &st, 0) || !S_ISCHR(st.st_mode) ||
		    st.st_rdev != dev) {
			free(f.pin);
			continue;
		}
		ps->fd = xrealloc(ps->fd, ps->nfd + 1, sizeof(*ps->fd));
		ps->fd[ps->nfd++] = f;
	}
	closedir(dir);
	if (ps->nfd > first) {
		struct proc p = { .pid = pid, .first = first, .n = ps->nfd - first };

		proc_describe(&p);
		ps->proc = xrealloc(ps->proc, ps->nproc + 1, sizeof(*ps->proc));
		ps->proc[ps->nproc++] = p;
	}
}

static int cfd_by_fd(const void *a, const void *b)
{
	const struct cfd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/*
 * Which fds are the same container (dup(), fork(), SCM_RIGHTS): those
 * whose fdinfo shows the same mempin-id.
 */
static void ps_group(struct psdata *ps)
{
	size_t i, j;

	for (i = 0; i < ps->nfd; i++) {
		struct cfd *f = &ps->fd[i];

		f->container = i;
		for (j = 0; j < i; j++) {
			if (ps->fd[j].container == j && ps->fd[j].id == f->id) {
				f->container = j;
				break;
			}
		}
	}
	for (i = 0; i < ps->nfd; i++)
		for (j = 0; j < ps->nfd; j++)
			if (ps->fd[i].container == ps->fd[j].container &&
			    ps->fd[i].pid != ps->fd[j].pid)
				ps->fd[i].shared = true;
}

static int proc_cmp(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	if (x->charged_bytes != y->charged_bytes)
		return x->charged_bytes < y->charged_bytes ? 1 : -1;
	if (x->pages != y->pages)
		return x->pages < y->pages ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Sums per process (each container once) and sorts by charged bytes. */
static void ps_sum(struct psdata *ps)
{
	size_t i, k, l;

	for (i = 0; i < ps->nproc; i++) {
		struct proc *p = &ps->proc[i];

		qsort(&ps->fd[p->first], p->n, sizeof(*ps->fd), cfd_by_fd);
	}
	ps_group(ps);
	for (i = 0; i < ps->nproc; i++) {
		struct proc *p = &ps->proc[i];

		for (k = p->first; k < p->first + p->n; k++) {
			struct cfd *f = &ps->fd[k];

			for (l = p->first; l < k; l++)
				if (ps->fd[l].container == f->container)
					f->dup = true;
			if (f->dup)
				continue;
			p->containers++;
			p->shared += f->shared;
			p->pins += f->pins;
			p->pages += f->pages;
			p->charged += f->charged;
			p->charged_bytes += f->charged_bytes;
		}
	}
	qsort(ps->proc, ps->nproc, sizeof(*ps->proc), proc_cmp);
}

static void ps_free(struct psdata *ps)
{
	size_t i;

	for (i = 0; i < ps->nfd; i++)
		free(ps->fd[i].pin);
	free(ps->fd);
	free(ps->proc);
}

static void ps_json(const struct ctl *c, const struct psdata *ps, bool loaded,
		    const uint64_t tot[5])
{
	struct json j = { stdout, 0, true };
	char buf[64];
	size_t i, k, l;

	json_open(&j, NULL, '{');
	json_bool(&j, "loaded", loaded);
	json_bool(&j, "complete", !ps->unreadable);
	json_u64(&j, "unreadable_processes", ps->unreadable);
	json_open(&j, "totals", '{');
	json_u64(&j, "processes", ps->nproc);
	json_u64(&j, "containers", tot[0]);
	json_u64(&j, "pins", tot[1]);
	json_u64(&j, "pinned_pages", tot[2]);
	json_u64(&j, "charged_pages", tot[3]);
	json_u64(&j, "charged_bytes", tot[4]);
	json_close(&j, '}');
	json_open(&j, "processes", '[');
	for (i = 0; i < ps->nproc; i++) {
		const struct proc *p = &ps->proc[i];

		json_open(&j, NULL, '{');
		json_i64(&j, "pid", p->pid);
		json_i64(&j, "uid", p->uid == (uid_t)-1 ? -1 : (int64_t)p->uid);
		json_str(&j, "user", user_name(p->uid, buf, sizeof(buf)));
		json_str(&j, "command", p->cmd);
		json_u64(&j, "containers", p->containers);
		json_u64(&j, "shared_containers", p->shared);
		json_u64(&j, "pins", p->pins);
		json_u64(&j, "pinned_pages", p->pages);
		json_u64(&j, "charged_pages", p->charged);
		json_u64(&j, "charged_bytes", p->charged_bytes);
		json_i64(&j, "vmpin_kb", p->vmpin_kb);
		json_open(&j, "fds", '[');
		for (k = p->first; k < p->first + p->n; k++) {
			const struct cfd *f = &ps->fd[k];

			json_open(&j, NULL, '{');
			json_i64(&j, "fd", f->fd);
			json_i64(&j, "owner_pid", f->owner);
			json_bool(&j, "shared", f->shared);
			json_bool(&j, "duplicate", f->dup);
			json_u64(&j, "pins", f->pins);
			json_u64(&j, "pinned_pages", f->pages);
			json_u64(&j, "charged_pages", f->charged);
			json_u64(&j, "charged_bytes", f->charged_bytes);
			json_u64(&j, "pins_unlisted", f->unlisted);
			json_open(&j, "pin_list", '[');
			for (l = 0; l < f->npin; l++) {
				const struct pin *pn = &f->pin[l];

				json_open(&j, NULL, '{');
				json_u64(&j, "handle", pn->handle);
				snprintf(buf, sizeof(buf), "0x%" PRIx64, pn->addr);
				json_str(&j, "addr", buf);
				json_u64(&j, "len", pn->len);
				json_u64(&j, "pages", pn->pages);
				json_str(&j, "mode", pn->writable ? "rw" : "ro");
				json_close(&j, '}');
			}
			json_close(&j, ']');
			json_close(&j, '}');
		}
		json_close(&j, ']');
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_close(&j, '}');
	(void)c;
}

static void ps_human(const struct ctl *c, const struct psdata *ps, bool loaded,
		     const uint64_t tot[5])
{
	char b[32], u[64];
	size_t i, k, l;
	bool any_shared = false;

	if (!loaded) {
		printf("mempin is not loaded: no containers\n");
		return;
	}
	if (ps->nproc)
		printf("%7s %-10s %10s %6s %9s %10s  %s\n", "PID", "USER",
		       "CONTAINERS", "PINS", "PAGES", "CHARGED", "COMMAND");
	for (i = 0; i < ps->nproc; i++) {
		const struct proc *p = &ps->proc[i];
		char cmd[sizeof(p->cmd)];

		any_shared |= p->shared;
		for (l = 0; p->cmd[l] && l < sizeof(cmd) - 1; l++)
			cmd[l] = isprint((unsigned char)p->cmd[l]) ? p->cmd[l] : '?';
		cmd[l] = 0;
		printf("%7d %-10s %9" PRIu64 "%c %6" PRIu64 " %9" PRIu64 " %10s  %.60s\n",
		       (int)p->pid, user_name(p->uid, u, sizeof(u)), p->containers,
		       p->shared ? '*' : ' ', p->pins,
		       p->pages, fmt_bytes(p->charged_bytes, b, sizeof(b)), cmd);
		if (!c->pins)
			continue;
		for (k = p->first; k < p->first + p->n; k++) {
			const struct cfd *f = &ps->fd[k];

			printf("        fd %d: owner %ld, %" PRIu64 " pin%s, %" PRIu64
			       " page%s, %" PRIu64 " charged%s%s\n", f->fd, f->owner,
			       f->pins, plural(f->pins), f->pages, plural(f->pages),
			       f->charged,
			       f->shared ? ", shared" : "",
			       f->dup ? ", same container as an fd above" : "");
			if (f->dup)
				continue;
			for (l = 0; l < f->npin; l++)
				printf("          pin %-6" PRIu64 " 0x%" PRIx64 " +%" PRIu64
				       " (%" PRIu64 " page%s, %s)\n", f->pin[l].handle,
				       f->pin[l].addr, f->pin[l].len, f->pin[l].pages,
				       plural(f->pin[l].pages),
				       f->pin[l].writable ? "rw" : "ro");
			if (f->unlisted)
				printf("          ... %" PRIu64 " more pins not listed\n",
				       f->unlisted);
		}
	}
	printf("%zu process%s, %" PRIu64 " container%s, %" PRIu64 " pin%s, %" PRIu64
	       " page%s pinned, %s charged\n", ps->nproc, ps->nproc == 1 ? "" : "es",
	       tot[0], plural(tot[0]), tot[1], plural(tot[1]), tot[2], plural(tot[2]),
	       fmt_bytes(tot[4], b, sizeof(b)));
	if (any_shared)
		printf("* shares a container with another process (counted once in the totals)\n");
	if (ps->unreadable)
		printf("%u processes of other users not inspected: run as root to see all\n",
		       ps->unreadable);
}

int cmd_ps(const struct ctl *c)
{
	struct psdata ps = { 0 };
	struct devinfo d;
	struct dirent *e;
	uint64_t tot[5] = { 0 };
	pid_t self = getpid();
	size_t i;
	DIR *dir;

	dev_read(c, &d);
	if (d.registered) {
		dir = opendir("/proc");
		if (!dir) {
			warn("/proc");
			return EXIT_FAIL;
		}
		while ((e = readdir(dir))) {
			uint64_t pid;

			if (!parse_u64(e->d_name, &pid) || (pid_t)pid == self)
				continue;
			ps_scan_pid(&ps, (pid_t)pid, makedev(d.major, d.minor));
		}
		closedir(dir);
		ps_sum(&ps);
	}
	for (i = 0; i < ps.nfd; i++) {
		const struct cfd *f = &ps.fd[i];

		if (f->container != i)
			continue;
		tot[0]++;
		tot[1] += f->pins;
		tot[2] += f->pages;
		tot[3] += f->charged;
		tot[4] += f->charged_bytes;
	}
	if (c->json)
		ps_json(c, &ps, d.registered, tot);
	else
		ps_human(c, &ps, d.registered, tot);
	ps_free(&ps);
	return EXIT_OK;
}
