// SPDX-License-Identifier: GPL-2.0
/* kview: what the kernel shows.  See kview.h.  No Check: the fuzzer links it. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kview.h"

#define MPOL_MF_MOVE_ (1 << 1)

long kv_status_num(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *p = line + klen + 1;

			while (*p && !isdigit((unsigned char)*p))
				p++;
			if (isdigit((unsigned char)*p))
				val = strtol(p, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

long kv_vmpin_kb(pid_t pid)
{
	return kv_status_num(pid, "VmPin");
}

uint64_t kv_capeff(void)
{
	char line[256];
	uint64_t v = UINT64_MAX;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7)) {
			v = strtoull(line + 7, NULL, 16);
			break;
		}
	fclose(f);
	return v;
}

static uint64_t vmstat_get(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	const char *p = buf;

	while ((p = strstr(p, key))) {
		if ((p == buf || p[-1] == '\n') && p[klen] == ' ')
			return strtoull(p + klen + 1, NULL, 10);
		p += klen;
	}
	return UINT64_MAX;
}

int kv_pins_get(struct kv_pins *p)
{
	static char buf[32768];
	ssize_t n, off = 0;
	int fd;

	/* Fold the per-cpu vmstat differentials into the global counters. */
	if (geteuid() == 0)
		kv_write_file("/proc/sys/vm/stat_refresh", "1");
	fd = open("/proc/vmstat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
		off += n;
	close(fd);
	buf[off] = 0;
	p->acquired = vmstat_get(buf, "nr_foll_pin_acquired");
	p->released = vmstat_get(buf, "nr_foll_pin_released");
	return p->acquired == UINT64_MAX || p->released == UINT64_MAX ? -ENOENT : 0;
}

uint64_t kv_pfn(const void *addr)
{
	uint64_t ent;
	off_t off = (off_t)((uintptr_t)addr / PG) * 8;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return UINT64_MAX;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent)) {
		close(fd);
		return UINT64_MAX;
	}
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return ent & ((1ULL << 55) - 1);
}

int kv_nr_nodes(void)
{
	char path[64];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

int kv_node(const void *addr)
{
	void *pages[1] = { (void *)((uintptr_t)addr & ~(PG - 1)) };
	int status[1] = { -12345 };

	if (syscall(SYS_move_pages, 0, 1UL, pages, NULL, status, 0) < 0)
		return -errno;
	return status[0];
}

long kv_move_n(const void *addr, size_t n, int node, int *status)
{
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes));
	long r = -ENOMEM;

	if (!pages || !nodes)
		goto out;
	for (size_t i = 0; i < n; i++) {
		pages[i] = (char *)((uintptr_t)addr & ~(PG - 1)) + i * PG;
		nodes[i] = node;
		status[i] = -12345;
	}
	r = syscall(SYS_move_pages, 0, (unsigned long)n, pages, nodes, status,
		    MPOL_MF_MOVE_);
	if (r < 0)
		r = -errno;
out:
	free(pages);
	free(nodes);
	return r;
}

int kv_move(const void *addr, int node)
{
	int status;
	long r = kv_move_n(addr, 1, node, &status);

	return r < 0 ? (int)r : status;
}

long kv_read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

long kv_refcnt(void)
{
	return kv_read_long("/sys/module/mempin/refcnt");
}

int kv_module_loaded(void)
{
	return access("/sys/module/mempin", F_OK) == 0;
}

long kv_param_get(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/mempin/parameters/%s", name);
	return kv_read_long(path);
}

int kv_param_set(const char *name, long value)
{
	char path[256], v[32];

	snprintf(path, sizeof(path), "/sys/module/mempin/parameters/%s", name);
	snprintf(v, sizeof(v), "%ld\n", value);
	return kv_write_file(path, v);
}

int kv_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

long kv_anon_huge_kb(const void *addr)
{
	char line[512];
	uintptr_t a = (uintptr_t)addr;
	int in = 0;
	long val = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];

		/* "lo-hi perms offset dev inode [path]" starts an entry;
		 * field lines ("AnonHugePages:") never parse as "x-x perms". */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && !strncmp(line, "AnonHugePages:", 14)) {
			val = strtol(line + 14, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

int kv_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (lseek(fd, 0, SEEK_END) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int kv_kcsan_line(struct kv_kcsan *k, const char *msg)
{
	/* A report whose closing line was lost: that one counts as ours. */
	if (k->in && strstr(msg, "BUG: KCSAN: ")) {
		k->in = 0;
		k->mine++;
		return 2;
	}
	if (!k->in) {
		if (!strstr(msg, "BUG: KCSAN: "))
			return 0;
		k->in = 1;
		k->frames = 0;
		/* "data-race in A / B": A or B a function of mempin's. */
		k->ours = strstr(msg, "mempin_") || strstr(msg, "[mempin]");
		snprintf(k->title, sizeof(k->title), "%s", msg);
		return 1;
	}
	if (strstr(msg, " by task ") || strstr(msg, " by interrupt ")) {
		k->frames = 2;		/* an access: its function, its caller */
	} else if (k->frames && msg[strspn(msg, " \t\n")]) {
		if (strstr(msg, "[mempin]"))
			k->ours = 1;
		k->frames--;
	}
	if (strncmp(msg, "=====", 5))
		return 1;
	k->in = 0;
	if (!k->ours) {
		k->other++;
		return 1;
	}
	k->mine++;
	return 2;
}

int kv_kmsg_scan(int fd, char *first, size_t len)
{
	static struct kv_kcsan kcsan;
	static const char *const bad[] = {
		"mempin", "WARNING", "BUG", "Call Trace", "refcount_t",
		"page dumped", "Bad page", "general protection",
	};
	char rec[8192];
	int found = 0;

	if (len)
		first[0] = 0;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n < 0) {
			if (errno == EPIPE)	/* overwritten records */
				continue;
			if (errno == EINTR)
				continue;
			break;		/* EAGAIN: no more */
		}
		if (n == 0)
			break;
		rec[n] = 0;
		switch (kv_kcsan_line(&kcsan, strchr(rec, ';') ? strchr(rec, ';') + 1 : rec)) {
		case 1:
			continue;
		case 2:
			if (!found && len)
				snprintf(first, len, "%s", kcsan.title);
			found++;
			continue;
		}
		/*
		 * DEBUG_STACK_USAGE's note of a new deepest stack names the
		 * task, which may be mempin-tests: no report (guest-init.sh
		 * and the fuzzer skip it too).
		 */
		if (strstr(rec, ") used greatest stack depth: "))
			continue;
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (strstr(rec, bad[i])) {
				if (!found && len)
					snprintf(first, len, "%s", rec);
				found++;
				break;
			}
		}
	}
	return found;
}

unsigned int kv_kernel_version(void)
{
	struct utsname u;
	unsigned int maj = 0, min = 0;

	if (uname(&u))
		return 0;
	sscanf(u.release, "%u.%u", &maj, &min);
	return maj * 65536 + min * 256;
}

int kv_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

int drop_root(uid_t uid, gid_t gid, long memlock)
{
	struct rlimit rl = { (rlim_t)memlock, (rlim_t)memlock };

	if (memlock >= 0 && setrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	if (setgroups(0, NULL))
		return -errno;
	if (setresgid(gid, gid, gid))
		return -errno;
	if (setresuid(uid, uid, uid))
		return -errno;
	return 0;
}
