// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl ps and pins: the processes holding mempin containers, and
 * their pins, from /proc/PID/fd and /proc/PID/fdinfo; tables through
 * libsmartcols (table.c).
 */
#define _GNU_SOURCE
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
#include <libsmartcols.h>

#include "mempinctl.h"
#include "table.h"

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
	char charge_mode[16];		/* mempin-charge-mode: user, process */
	long charged_uid;		/* mempin-charged-uid, -1 if not shown */
	char aspace[16];		/* mempin-address-space: live, gone */
	char *cgroup;			/* mempin-cgroup (malloc), NULL if not shown */
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
	unsigned int unscanned;		/* fds or processes that failed to read */
};

/* A process or fd that went away while we looked: not an error. */
static bool gone(int e)
{
	return e == ENOENT || e == ESRCH;
}

/*
 * Parses /proc/PID/fdinfo/FD; false if it shows no mempin container, or
 * could not be read (counted in @unscanned: a container may hide there).  Whole
 * lines, however long: a cgroup path may be 4095 bytes, and a piece of one
 * must never be read as a line of its own (a cgroup named to look like
 * "mempin-pins:\t0").
 */
static bool fdinfo_read(struct cfd *f, unsigned int *unscanned)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool mine = false;
	FILE *in;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)f->pid, f->fd);
	in = fopen(path, "re");
	if (!in) {
		*unscanned += !gone(errno);
		return false;
	}
	while (getline(&line, &cap, in) > 0) {
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
		} else if (!strcmp(line, "mempin-charge-mode")) {
			sscanf(v, "%15s", f->charge_mode);
		} else if (!strcmp(line, "mempin-charged-uid")) {
			f->charged_uid = strtol(v, NULL, 10);
		} else if (!strcmp(line, "mempin-address-space")) {
			sscanf(v, "%15s", f->aspace);
		} else if (!strcmp(line, "mempin-pins-unlisted")) {
			f->unlisted = strtoull(v, NULL, 10);
		} else if (!strcmp(line, "mempin-cgroup")) {
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			free(f->cgroup);
			f->cgroup = strdup(v);
			if (!f->cgroup)
				errx(EXIT_FAIL, "out of memory");
		} else if (sscanf(line, "mempin-pin-%" SCNu64, &h) == 1 &&
			   sscanf(v, " 0x%" SCNx64 " %" SCNu64 " %" SCNu64 " %3s",
				  &p.addr, &p.len, &p.pages, mode) == 4) {
			p.handle = h;
			p.writable = !strcmp(mode, "rw");
			f->pin = xrealloc(f->pin, f->npin + 1, sizeof(*f->pin));
			f->pin[f->npin++] = p;
		}
	}
	if (ferror(in) && !gone(errno)) {
		++*unscanned;
		mine = false;
	}
	free(line);
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
		else if (!gone(errno))
			ps->unscanned++;
		return;
	}
	while ((e = readdir(dir))) {
		struct cfd f = { .pid = pid, .owner = -1, .charged_uid = -1 };
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
		if (!fdinfo_read(&f, &ps->unscanned) ||
		    fstatat(dirfd(dir), e->d_name, &st, 0) || !S_ISCHR(st.st_mode) ||
		    st.st_rdev != dev) {
			free(f.pin);
			free(f.cgroup);
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

	for (i = 0; i < ps->nfd; i++) {
		free(ps->fd[i].pin);
		free(ps->fd[i].cgroup);
	}
	free(ps->fd);
	free(ps->proc);
}

/* ps: one row a process. */
enum { PS_PID, PS_USER, PS_UID, PS_CONTAINERS, PS_SHARED, PS_PINS, PS_PAGES,
	PS_CHARGED, PS_VMPIN, PS_CGROUP, PS_COMMAND };

static const struct colinfo ps_cols[] = {
	[PS_PID] = { "PID", 5, SCOLS_FL_RIGHT, CT_NUMBER, "process ID" },
	[PS_USER] = { "USER", 0, 0, CT_STRING, "owner of the process" },
	[PS_UID] = { "UID", 0, SCOLS_FL_RIGHT, CT_NUMBER, "user ID of the process" },
	[PS_CONTAINERS] = { "CONTAINERS", 0, SCOLS_FL_RIGHT, CT_NUMBER,
			    "containers it holds open (each once, whatever its fds)" },
	[PS_SHARED] = { "SHARED", 0, SCOLS_FL_RIGHT, CT_NUMBER,
			"of them, held by another process too" },
	[PS_PINS] = { "PINS", 0, SCOLS_FL_RIGHT, CT_NUMBER, "pins in its containers" },
	[PS_PAGES] = { "PAGES", 0, SCOLS_FL_RIGHT, CT_NUMBER, "pages pinned by them" },
	[PS_CHARGED] = { "CHARGED", 0, SCOLS_FL_RIGHT, CT_SIZE,
			 "memory charged to RLIMIT_MEMLOCK for them" },
	[PS_VMPIN] = { "VMPIN", 0, SCOLS_FL_RIGHT, CT_SIZE,
		       "VmPin of /proc/PID/status (the kernel's pinned_vm)" },
	[PS_CGROUP] = { "CGROUP", 0, SCOLS_FL_TRUNC, CT_STRING,
			"cgroups its containers charge (their latest pin's), comma-separated" },
	[PS_COMMAND] = { "COMMAND", 0, SCOLS_FL_TRUNC, CT_STRING, "command line" },
};

static const struct tabledef ps_table = {
	"processes", ps_cols, sizeof(ps_cols) / sizeof(ps_cols[0]),
	"PID,USER,CONTAINERS,PINS,PAGES,CHARGED,COMMAND",
};

/* pins: one row a pin. */
enum { PN_PID, PN_USER, PN_COMMAND, PN_FD, PN_ID, PN_OWNER, PN_SHARED,
	PN_HANDLE, PN_ADDR, PN_LEN, PN_PAGES, PN_MODE, PN_CHARGE_MODE,
	PN_CHARGE_UID, PN_ASPACE, PN_CGROUP };

static const struct colinfo pin_cols[] = {
	[PN_PID] = { "PID", 5, SCOLS_FL_RIGHT, CT_NUMBER, "process holding the container" },
	[PN_USER] = { "USER", 0, 0, CT_STRING, "owner of the process" },
	[PN_COMMAND] = { "COMMAND", 0, SCOLS_FL_TRUNC, CT_STRING,
			 "command line of the process" },
	[PN_FD] = { "FD", 0, SCOLS_FL_RIGHT, CT_NUMBER, "its file descriptor of the container" },
	[PN_ID] = { "ID", 0, SCOLS_FL_RIGHT, CT_NUMBER,
		    "container ID (the same through dup, fork, SCM_RIGHTS)" },
	[PN_OWNER] = { "OWNER", 0, SCOLS_FL_RIGHT, CT_NUMBER,
		       "PID that opened the container, 0 once it is gone" },
	[PN_SHARED] = { "SHARED", 0, 0, CT_BOOL, "another process holds the container too" },
	[PN_HANDLE] = { "HANDLE", 0, SCOLS_FL_RIGHT, CT_NUMBER, "pin handle" },
	[PN_ADDR] = { "ADDR", 0, SCOLS_FL_RIGHT, CT_STRING, "start address of the pinned range" },
	[PN_LEN] = { "LEN", 0, SCOLS_FL_RIGHT, CT_SIZE, "length of the pinned range" },
	[PN_PAGES] = { "PAGES", 0, SCOLS_FL_RIGHT, CT_NUMBER, "pages pinned (and charged)" },
	[PN_MODE] = { "MODE", 0, 0, CT_STRING, "rw (writable) or ro" },
	[PN_CHARGE_MODE] = { "CHARGE-MODE", 0, 0, CT_STRING,
			     "whose budget the container charges: user or process" },
	[PN_CHARGE_UID] = { "CHARGE-UID", 0, SCOLS_FL_RIGHT, CT_NUMBER,
			    "user ID charged for the container's pins" },
	[PN_ASPACE] = { "ASPACE", 0, 0, CT_STRING,
			"the container's address space: live or gone" },
	[PN_CGROUP] = { "CGROUP", 0, SCOLS_FL_TRUNC, CT_STRING,
			"cgroup the container's latest pin was charged to (before any: "
			"its opener's)" },
};

static const struct tabledef pin_table = {
	"pins", pin_cols, sizeof(pin_cols) / sizeof(pin_cols[0]),
	"PID,FD,ID,HANDLE,ADDR,LEN,PAGES,MODE",
};

/*
 * The cgroups of a process's containers, each once, comma-separated; empty
 * (JSON: null) if the module shows none (before cgroup budgets).
 */
static void ps_cgroups(struct table *t, struct libscols_line *ln, size_t k,
		       const struct psdata *ps, const struct proc *p)
{
	char *buf = NULL;
	size_t len = 0, i, j;
	FILE *out = open_memstream(&buf, &len);

	if (!out)
		errx(EXIT_FAIL, "out of memory");
	for (i = p->first; i < p->first + p->n; i++) {
		const char *cg = ps->fd[i].cgroup;
		bool seen = false;

		if (!cg || !*cg)
			continue;
		for (j = p->first; j < i && !seen; j++)
			seen = ps->fd[j].cgroup && !strcmp(ps->fd[j].cgroup, cg);
		if (!seen)
			fprintf(out, "%s%s", ftell(out) ? "," : "", cg);
	}
	if (fclose(out) || !buf)
		errx(EXIT_FAIL, "out of memory");
	table_str(t, ln, k, buf);
	free(buf);
}

static void ps_rows(struct table *t, const struct psdata *ps)
{
	char buf[64];
	size_t i, k;

	for (i = 0; i < ps->nproc; i++) {
		const struct proc *p = &ps->proc[i];
		struct libscols_line *ln = table_line(t);

		for (k = 0; k < t->n; k++) {
			switch (t->col[k]) {
			case PS_PID:
				table_i64(t, ln, k, p->pid);
				break;
			case PS_USER:
				table_str(t, ln, k, user_name(p->uid, buf, sizeof(buf)));
				break;
			case PS_UID:
				table_i64(t, ln, k, p->uid == (uid_t)-1 ? -1 : (int64_t)p->uid);
				break;
			case PS_CONTAINERS:
				table_u64(t, ln, k, p->containers);
				break;
			case PS_SHARED:
				table_u64(t, ln, k, p->shared);
				break;
			case PS_PINS:
				table_u64(t, ln, k, p->pins);
				break;
			case PS_PAGES:
				table_u64(t, ln, k, p->pages);
				break;
			case PS_CHARGED:
				table_size(t, ln, k, p->charged_bytes);
				break;
			case PS_VMPIN:
				table_size(t, ln, k, p->vmpin_kb < 0 ? 0 :
					   (uint64_t)p->vmpin_kb * 1024);
				break;
			case PS_CGROUP:
				ps_cgroups(t, ln, k, ps, p);
				break;
			case PS_COMMAND:
				table_str(t, ln, k, p->cmd);
				break;
			}
		}
	}
}

static void pin_row(struct table *t, const struct proc *p, const struct cfd *f,
		    const struct pin *pn)
{
	struct libscols_line *ln = table_line(t);
	char buf[64];
	size_t k;

	for (k = 0; k < t->n; k++) {
		switch (t->col[k]) {
		case PN_PID:
			table_i64(t, ln, k, p->pid);
			break;
		case PN_USER:
			table_str(t, ln, k, user_name(p->uid, buf, sizeof(buf)));
			break;
		case PN_COMMAND:
			table_str(t, ln, k, p->cmd);
			break;
		case PN_FD:
			table_i64(t, ln, k, f->fd);
			break;
		case PN_ID:
			table_u64(t, ln, k, f->id);
			break;
		case PN_OWNER:
			table_i64(t, ln, k, f->owner);
			break;
		case PN_SHARED:
			table_bool(t, ln, k, f->shared);
			break;
		case PN_HANDLE:
			table_u64(t, ln, k, pn->handle);
			break;
		case PN_ADDR:
			snprintf(buf, sizeof(buf), "0x%" PRIx64, pn->addr);
			table_str(t, ln, k, buf);
			break;
		case PN_LEN:
			table_size(t, ln, k, pn->len);
			break;
		case PN_PAGES:
			table_u64(t, ln, k, pn->pages);
			break;
		case PN_MODE:
			table_str(t, ln, k, pn->writable ? "rw" : "ro");
			break;
		case PN_CHARGE_MODE:
			table_str(t, ln, k, f->charge_mode);
			break;
		case PN_CHARGE_UID:
			table_i64(t, ln, k, f->charged_uid);
			break;
		case PN_ASPACE:
			table_str(t, ln, k, f->aspace);
			break;
		case PN_CGROUP:
			table_str(t, ln, k, f->cgroup ? f->cgroup : "");
			break;
		}
	}
}

/* Every pin of every container, once a process (not again for its dup()s). */
static void pin_rows(struct table *t, const struct psdata *ps)
{
	size_t i, k, l;

	for (i = 0; i < ps->nproc; i++) {
		const struct proc *p = &ps->proc[i];

		for (k = p->first; k < p->first + p->n; k++) {
			const struct cfd *f = &ps->fd[k];

			if (f->dup)
				continue;
			for (l = 0; l < f->npin; l++)
				pin_row(t, p, f, &f->pin[l]);
			if (f->unlisted)
				warnx("PID %d, fd %d: %" PRIu64 " pin%s not listed (fdinfo lists "
				      "%s)", (int)p->pid, f->fd, f->unlisted, plural(f->unlisted),
				      f->npin ? "256 at most" : "none while a pin is in progress");
		}
	}
}

int cmd_ps(const struct ctl *c)
{
	const struct tabledef *def = c->pins ? &pin_table : &ps_table;
	struct psdata ps = { 0 };
	struct devinfo d;
	struct table t;
	struct dirent *e;
	pid_t self = getpid();
	DIR *dir;
	int ret;

	if (c->list_columns)
		return table_list_columns(c, def);
	table_init(&t, c, def);	/* usage errors before any work */
	dev_read(c, &d);
	if (d.reg_err) {
		/* An empty list would say no one pins: a guess. */
		table_free(&t);
		return dev_unknown_fail(&d);
	}
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
	} else {
		warnx("mempin is not loaded: no containers");
	}
	if (c->pins)
		pin_rows(&t, &ps);
	else
		ps_rows(&t, &ps);
	ret = table_print(&t);
	if (ps.unreadable)
		warnx("%u process%s of other users not inspected: run as root to see all",
		      ps.unreadable, ps.unreadable == 1 ? "" : "es");
	if (ps.unscanned) {
		/* As cgroup list: what is printed is not the whole list. */
		warnx("%u of /proc's fd directories or fdinfo files could not be read: "
		      "containers may be missing from the list", ps.unscanned);
		ret = EXIT_FAIL;
	}
	ps_free(&ps);
	return ret;
}
