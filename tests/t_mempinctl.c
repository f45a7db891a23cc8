// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl, the administrator's tool, run as the administrator runs it:
 * --json in every state (loaded, ps, no permission (uid 1001),
 * RLIMIT_MEMLOCK too low, cap reached, loaded but not readable, not
 * loaded: unload and load again),
 * and ps against processes whose names are hostile (invalid UTF-8, control
 * characters, quotes, longer than ps reads); cgroup set, unset, list and
 * apply against pods made under /sys/fs/cgroup/mpctl (issue 13).  Every JSON output must also
 * pass jansson, a strict parser: well-formed UTF-8 only, no malformed
 * escapes, no duplicate keys.  Runs after the observe suite, before rmmod.
 *
 * mempinctl is $MEMPIN_TEST_MEMPINCTL or /bin/mempinctl (the guest has it);
 * MEMPIN_TEST_SHOW_CTL=1 prints every output it checks.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include <jansson.h>

#include "json.h"
#include "checked.h"
#include "suites.h"



/* ----------------------------------------------------------- mempinctl */

static const char *ctl_path(void)
{
	const char *p = getenv("MEMPIN_TEST_MEMPINCTL");

	return p && *p ? p : "/bin/mempinctl";
}

struct ctl_out {
	int status;		/* exit status, or -1 */
	char out[1 << 17];
	char err[4096];
	json_t *json;	/* stdout parsed, with --json */
};

static void read_memfd(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

/*
 * jansson, strict: the whole output one JSON value (JSON_DISABLE_EOF_CHECK
 * off), well-formed UTF-8 (jansson refuses overlongs, surrogates, code
 * points above U+10FFFF), valid escapes, no duplicate keys.  Returns the
 * value (json_decref it).
 */
static json_t *strict_json(const char *out, const char *cmdline)
{
	json_error_t e;
	json_t *v = json_loadb(out, strlen(out), JSON_REJECT_DUPLICATES, &e);

	ck_assert_msg(v, "mempinctl%s: jansson refuses the output: %s (line %d, "
		      "column %d, byte %d):\n%s", cmdline, e.text, e.line, e.column,
		      e.position, out);
	return v;
}

/*
 * Runs mempinctl ARGS (NULL-terminated) as uid (0: as is; else with gid
 * and RLIMIT_MEMLOCK memlock, -1: unchanged).  With --json first in args,
 * stdout must parse.
 */
static struct ctl_out *ctl_run_as(uid_t uid, gid_t gid, long memlock, const char *const *args)
{
	struct ctl_out *o = calloc(1, sizeof(*o));
	int ofd = memfd_create("ctl-out", MFD_CLOEXEC);
	int efd = memfd_create("ctl-err", MFD_CLOEXEC);
	const char *argv[8] = { ctl_path() };
	char cmdline[256] = "";
	pid_t pid;
	int st, n;

	ck_assert(o && ofd >= 0 && efd >= 0);
	ck_assert_msg(access(argv[0], X_OK) == 0, "%s: %s (the guest packs tools/mempinctl/mempinctl)",
		      argv[0], strerror(errno));
	for (n = 0; args[n] && n < 6; n++) {
		argv[n + 1] = args[n];
		strncat(cmdline, " ", sizeof(cmdline) - strlen(cmdline) - 1);
		strncat(cmdline, args[n], sizeof(cmdline) - strlen(cmdline) - 1);
	}
	fflush(stdout);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (uid && drop_root(uid, gid, memlock))
			_exit(126);
		if (dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	read_memfd(ofd, o->out, sizeof(o->out));
	read_memfd(efd, o->err, sizeof(o->err));
	if (getenv("MEMPIN_TEST_SHOW_CTL"))
		printf("---- mempinctl%s (uid %u) exit %d\n%s%s%s", cmdline,
		       (unsigned int)uid, o->status, o->out,
		       *o->err ? "---- stderr\n" : "", o->err);
	if (args[0] && (!strcmp(args[0], "--json") || !strcmp(args[0], "-J")))
		o->json = strict_json(o->out, cmdline);
	return o;
}

#define CTL(...) ctl_run_as(0, 0, -1, (const char *const[]){ __VA_ARGS__, NULL })
#define CTL_AS(uid, gid, memlock, ...) \
	ctl_run_as((uid), (gid), (memlock), (const char *const[]){ __VA_ARGS__, NULL })

static void ctl_free(struct ctl_out *o)
{
	json_decref(o->json);
	free(o);
}

#define ASSERT_EXIT(o, want) \
	ck_assert_msg((o)->status == (want), "mempinctl exited %d, not %d; stderr: %s\nstdout: %s", \
		      (o)->status, (want), (o)->err, (o)->out)

static void sysfs_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	n = read(fd, buf, len - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
}


START_TEST(ctl_status_loaded)
{
	char *mem = xmap(8 * PG);
	char version[64], srcversion[64], dev[32];
	unsigned int maj, min;
	struct utsname u;
	struct ctl_out *o;
	int fd = xmp_open();

	xpin(fd, mem, 8 * PG, 0);
	xpin(fd, mem, 2 * PG, 0);
	sysfs_text("/sys/module/mempin/version", version, sizeof(version));
	sysfs_text("/sys/module/mempin/srcversion", srcversion, sizeof(srcversion));
	sysfs_text("/sys/class/misc/mempin/dev", dev, sizeof(dev));
	ck_assert_int_eq(sscanf(dev, "%u:%u", &maj, &min), 2);
	ck_assert_int_eq(uname(&u), 0);

	o = CTL("--json", "status");
	ASSERT_EXIT(o, 0);
	ck_json_str(o->json, "kernel", u.release);
	ck_json_u64(o->json, "page_size", PG);
	ck_json_str(o->json, "module.name", "mempin");
	ck_json_bool(o->json, "module.loaded", true);
	ck_json_str(o->json, "module.state", "live");
	ck_json_str(o->json, "module.version", version);
	ck_json_str(o->json, "module.srcversion", srcversion);
	ck_json_i64(o->json, "module.refcount", kv_refcnt());
	ck_json_i64(o->json, "module.refcount", 1);
	ck_json_u64(o->json, "module.parameters.max_pinned_pages", 0);
	/* The guest loads it from /lib/mempin.ko: not installed, no DKMS. */
	ck_json_bool(o->json, "module.installed", false);
	ck_json_null(o->json, "module.path");
	ck_json_bool(o->json, "module.dkms", false);
	ck_json_str(o->json, "device.path", MEMPIN_DEV);
	ck_json_bool(o->json, "device.registered", true);
	ck_json_u64(o->json, "device.major", maj);
	ck_json_u64(o->json, "device.minor", min);
	ck_json_bool(o->json, "device.present", true);
	ck_json_bool(o->json, "device.matches", true);
	ck_json_u64(o->json, "device.uid", 0);
	ck_json_str(o->json, "device.owner", "root");
	ck_json_u64(o->json, "device.gid", 1000);
	ck_json_str(o->json, "device.group", "pinuser");
	ck_json_str(o->json, "device.mode", "0660");
	ck_json_u64(o->json, "cap.max_pinned_pages", 0);
	ck_json_u64(o->json, "cap.max_pinned_bytes", 0);
	for (int i = 0; i < C_NR; i++) {
		char path[64];

		snprintf(path, sizeof(path), "stats.%s", counter_names[i]);
		ck_json_u64(o->json, path, stats_counter(i));
	}
	ck_json_u64(o->json, "stats.containers", 1);
	ck_json_u64(o->json, "stats.pins", 2);
	ck_json_u64(o->json, "stats.pinned_pages", 10);
	ck_json_u64(o->json, "stats.charged_pages", 10);	/* each pin its own */
	ctl_free(o);

	o = CTL("status");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, "loaded (live)") && strstr(o->out, version) &&
		      strstr(o->out, "1 open, 2 pins"), "status:\n%s", o->out);
	ctl_free(o);
	xclose(fd);
}
END_TEST

struct ps_kid {
	int shared_fd;		/* inherited from the parent, or -1 */
	size_t pages;		/* of its own container */
	bool overlap;		/* a second, overlapping pin */
};

static void child_ps(struct chan *ch, void *arg)
{
	struct ps_kid *k = arg;
	char *mem = mmap(NULL, k->pages * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd = mp_open();

	CREQ(ch, mem != MAP_FAILED && fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, mem, k->pages * PG, 0, NULL, NULL), 0);
	if (k->overlap)
		CREQ_EQ(ch, mp_pin(fd, mem, PG, 0, NULL, NULL), 0);
	ch_sync(ch);
}

static const json_t *ps_proc(const json_t *root, pid_t pid, int *index)
{
	const json_t *procs = jv_get(root, "processes"), *p;
	size_t i;

	ck_assert(json_is_array(procs));
	json_array_foreach(procs, i, p) {
		int64_t v;

		if (jv_i64(jv_get(p, "pid"), &v) && v == pid) {
			*index = (int)i;
			return p;
		}
	}
	ck_abort_msg("pid %d not in mempinctl ps", (int)pid);
	return NULL;
}

static json_int_t jint(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static const char *jstr(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	ck_assert_msg(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

/*
 * pins -J -b --output-all: the parent's one pin (fd, handle h at mem, 8
 * pages) in the container big inherited; big's own 24-page pin; small's two.
 * Counted once a container, the rows are what the module's counters say.
 */
static void pins_check(const json_t *root, pid_t self, int fd, uint64_t h, void *mem,
		       pid_t big, pid_t small)
{
	const json_t *rows = json_object_get(root, "pins"), *r, *r2;
	unsigned int nself = 0, nbig = 0, nsmall = 0;
	uint64_t containers = 0, pins = 0, pages = 0;
	char addr[32];
	size_t i, j;

	ck_assert(json_is_array(rows));
	snprintf(addr, sizeof(addr), "%#lx", (unsigned long)(uintptr_t)mem);
	json_array_foreach(rows, i, r) {
		json_int_t id = jint(r, "id");
		bool seen = false, seen_id = false;

		ck_assert_str_eq(jstr(r, "mode"), "rw");
		ck_assert_str_eq(jstr(r, "charge-mode"), "user");
		ck_assert_str_eq(jstr(r, "aspace"), "live");
		ck_assert_int_eq(jint(r, "charge-uid"), 0);
		ck_assert_int_eq(jint(r, "len"), jint(r, "pages") * (json_int_t)PG);
		for (j = 0; j < i; j++) {
			r2 = json_array_get(rows, j);
			seen_id |= jint(r2, "id") == id;
			seen |= jint(r2, "id") == id && jint(r2, "handle") == jint(r, "handle");
		}
		containers += !seen_id;
		pins += !seen;
		pages += seen ? 0 : (uint64_t)jint(r, "pages");
		if (jint(r, "pid") == self) {
			nself++;
			ck_assert_int_eq(jint(r, "fd"), fd);
			ck_assert_int_eq(jint(r, "owner"), self);
			ck_assert(json_is_true(json_object_get(r, "shared")));
			ck_assert_int_eq(jint(r, "handle"), (json_int_t)h);
			ck_assert_str_eq(jstr(r, "addr"), addr);
			ck_assert_int_eq(jint(r, "pages"), 8);
		} else if (jint(r, "pid") == big) {
			nbig++;
			ck_assert(json_is_true(json_object_get(r, "shared")) ==
				  (jint(r, "owner") == self));
		} else if (jint(r, "pid") == small) {
			nsmall++;
			ck_assert(json_is_false(json_object_get(r, "shared")));
		}
	}
	ck_assert_uint_eq(nself, 1);
	ck_assert_uint_eq(nbig, 2);
	ck_assert_uint_eq(nsmall, 2);
	ck_assert_uint_eq(containers, stats_counter(C_CONTAINERS));
	ck_assert_uint_eq(pins, stats_counter(C_PINS));
	ck_assert_uint_eq(pages, stats_counter(C_PAGES));
	ck_assert_uint_eq(pages, 8 + 24 + 5);
}

START_TEST(ctl_ps_who_pins_how_much)
{
	struct ps_kid small = { -1, 4, true }, big = { -1, 24, false };
	struct child cs, cb;
	const json_t *p;
	struct ctl_out *o;
	char *mem = xmap(8 * PG), addr[32], want[128];
	int fd, ip, is, ib;
	json_t *root;
	uint64_t h;

	/* small: its own container only; then the parent's container, which
	 * big inherits (shared) besides its own. */
	child_start(&cs, child_ps, &small);
	ck_assert_int_eq(child_await(&cs), 0);
	fd = xmp_open();
	h = xpin(fd, mem, 8 * PG, 0);
	big.shared_fd = fd;
	child_start(&cb, child_ps, &big);
	ck_assert_int_eq(child_await(&cb), 0);
	snprintf(addr, sizeof(addr), "%#lx", (unsigned long)(uintptr_t)mem);

	/* libsmartcols' JSON, every column, sizes in bytes. */
	o = CTL("--json", "--bytes", "--output-all", "ps");
	ASSERT_EXIT(o, 0);
	ck_assert_uint_eq(jv_len(JV(o->json, "processes")), 3);

	/* Sorted by charged bytes: big (8 + 24 pages), parent (8), small (5). */
	p = ps_proc(o->json, cb.pid, &ib);
	ck_json_u64(p, "containers", 2);
	ck_json_u64(p, "shared", 1);
	ck_json_u64(p, "pins", 2);
	ck_json_u64(p, "pages", 32);
	ck_json_u64(p, "charged", 32 * PG);
	ck_json_u64(p, "uid", 0);
	ck_json_str(p, "user", "root");

	p = ps_proc(o->json, getpid(), &ip);
	ck_json_u64(p, "containers", 1);
	ck_json_u64(p, "shared", 1);
	ck_json_u64(p, "pins", 1);
	ck_json_u64(p, "pages", 8);
	ck_json_u64(p, "charged", 8 * PG);
	ck_json_u64(p, "vmpin", (uint64_t)kv_vmpin_kb(0) * 1024);

	p = ps_proc(o->json, cs.pid, &is);
	ck_json_u64(p, "containers", 1);
	ck_json_u64(p, "shared", 0);
	ck_json_u64(p, "pins", 2);
	ck_json_u64(p, "pages", 5);
	ck_json_u64(p, "charged", 5 * PG);	/* the overlapping page twice */
	ck_assert_msg(ib < ip && ip < is, "order: big %d, parent %d, small %d", ib, ip, is);
	ctl_free(o);

	/* Without -b, sizes as lsblk shows them. */
	o = CTL("--json", "ps");
	ASSERT_EXIT(o, 0);
	p = ps_proc(o->json, getpid(), &ip);
	if (PG == 4096)
		ck_json_str(p, "charged", "32K");
	ck_assert_msg(!jv_get(p, "vmpin"), "vmpin is not a default column");
	ctl_free(o);

	/* Exactly the columns asked for, no header, raw: one process a line. */
	o = CTL("ps", "-o", "PID,PINS,PAGES", "-n", "-r");
	ASSERT_EXIT(o, 0);
	snprintf(want, sizeof(want), "%d 2 32\n%d 1 8\n%d 2 5\n", (int)cb.pid,
		 (int)getpid(), (int)cs.pid);
	ck_assert_msg(!strcmp(o->out, want), "ps -o PID,PINS,PAGES -n -r:\n%s\nwant:\n%s",
		      o->out, want);
	ctl_free(o);
	o = CTL("ps", "-o", "+UID", "-r");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(!strncmp(o->out, "PID USER CONTAINERS PINS PAGES CHARGED COMMAND UID\n",
			       strlen("PID USER CONTAINERS PINS PAGES CHARGED COMMAND UID\n")),
		      "ps -o +UID -r:\n%s", o->out);
	ctl_free(o);

	o = CTL("ps");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strspn(o->out, " ") < 8 &&
		      !strncmp(o->out + strspn(o->out, " "), "PID USER", 8) &&
		      strstr(o->out, "CONTAINERS") && strstr(o->out, "COMMAND\n"),
		      "ps:\n%s", o->out);
	ctl_free(o);

	/* pins: one row a pin; each container's pins once a process. */
	o = CTL("--json", "--bytes", "--output-all", "pins");
	ASSERT_EXIT(o, 0);
	root = strict_json(o->out, " --json --bytes --output-all pins");
	pins_check(root, getpid(), fd, h, mem, cb.pid, cs.pid);
	json_decref(root);
	ctl_free(o);
	o = CTL("pins");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, "HANDLE") && strstr(o->out, addr), "pins:\n%s", o->out);
	ctl_free(o);
	o = CTL("--pins", "ps");		/* the same, as before pins was a command */
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, "HANDLE") && strstr(o->out, addr), "ps --pins:\n%s", o->out);
	ctl_free(o);

	child_go(&cs);
	child_go(&cb);
	CHILD_OK(&cs);
	CHILD_OK(&cb);
	xclose(fd);
	o = CTL("--json", "ps");
	ASSERT_EXIT(o, 0);
	ck_assert_uint_eq(jv_len(JV(o->json, "processes")), 0);
	ctl_free(o);
	o = CTL("ps", "-n");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(!*o->out, "ps -n, nothing pinned:\n%s", o->out);
	ctl_free(o);
}
END_TEST

/* ps finds containers by device number, whatever node they were opened by. */
START_TEST(ctl_ps_any_node_path)
{
	const char *alt = "/tmp/mempin-alt";
	char *mem = xmap(PG), dev[32];
	unsigned int maj, min;
	const json_t *p;
	struct ctl_out *o;
	int fd, i;

	sysfs_text("/sys/class/misc/mempin/dev", dev, sizeof(dev));
	ck_assert_int_eq(sscanf(dev, "%u:%u", &maj, &min), 2);
	unlink(alt);
	ck_assert_int_eq(mknod(alt, S_IFCHR | 0600, makedev(maj, min)), 0);
	fd = open(alt, O_RDWR | O_CLOEXEC);
	unlink(alt);
	ck_assert_int_ge(fd, 0);
	xpin(fd, mem, PG, 0);
	o = CTL("--json", "ps");
	ASSERT_EXIT(o, 0);
	ck_assert_uint_eq(jv_len(JV(o->json, "processes")), 1);
	p = ps_proc(o->json, getpid(), &i);
	ck_json_u64(p, "containers", 1);
	ck_json_u64(p, "pins", 1);
	ctl_free(o);
	o = CTL("--json", "-o", "PID,FD", "pins");
	ASSERT_EXIT(o, 0);
	ck_json_u64(o->json, "pins[0].pid", getpid());
	ck_json_u64(o->json, "pins[0].fd", fd);
	ck_assert_uint_eq(jv_len(JV(o->json, "pins")), 1);
	ctl_free(o);
	xclose(fd);
}
END_TEST

/* --list-columns, and the table options' usage errors. */
START_TEST(ctl_list_columns)
{
	static const char *const ps_names[] = {
		"PID", "USER", "UID", "CONTAINERS", "SHARED", "PINS", "PAGES",
		"CHARGED", "VMPIN", "CGROUP", "COMMAND",
	};
	static const char *const pin_names[] = {
		"PID", "FD", "ID", "HANDLE", "ADDR", "LEN", "PAGES", "MODE",
		"CHARGE-MODE", "CHARGE-UID", "ASPACE", "OWNER", "SHARED", "COMMAND",
		"CGROUP",
	};
	const json_t *cols, *col;
	struct ctl_out *o;
	json_t *root;
	size_t i;

	o = CTL("-J", "--list-columns", "ps");
	ASSERT_EXIT(o, 0);
	root = strict_json(o->out, " -J --list-columns ps");
	cols = json_object_get(root, "columns");
	ck_assert(json_is_array(cols));
	ck_assert_uint_eq(json_array_size(cols), sizeof(ps_names) / sizeof(ps_names[0]));
	json_array_foreach(cols, i, col) {
		ck_assert_str_eq(jstr(col, "name"), ps_names[i]);
		ck_assert_msg(*jstr(col, "description"), "%s: no description", ps_names[i]);
		ck_assert_msg(strstr("string number size boolean", jstr(col, "type")),
			      "%s: type %s", ps_names[i], jstr(col, "type"));
	}
	json_decref(root);
	ctl_free(o);

	o = CTL("pins", "--list-columns", "-n");
	ASSERT_EXIT(o, 0);
	for (i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		char want[32];

		snprintf(want, sizeof(want), "\n%s ", pin_names[i]);
		ck_assert_msg(!strncmp(o->out, want + 1, strlen(want) - 1) || strstr(o->out, want),
			      "pins --list-columns: no %s:\n%s", pin_names[i], o->out);
	}
	ck_assert_msg(!strstr(o->out, "DESCRIPTION"), "-n prints headings:\n%s", o->out);
	ctl_free(o);

	/* --help names each table option on a line of its own. */
	o = CTL("--help");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, "\n -o, --output <list> ") &&
		      strstr(o->out, "\n     --output-all ") &&
		      strstr(o->out, "\n -n, --noheadings ") &&
		      strstr(o->out, "\n -r, --raw ") &&
		      strstr(o->out, "\n -b, --bytes ") &&
		      strstr(o->out, "\n     --list-columns ") &&
		      strstr(o->out, "\n pins "), "--help:\n%s", o->out);
	ctl_free(o);

	o = CTL("ps", "-o", "PID,NOPE");
	ASSERT_EXIT(o, 2);
	ck_assert_str_eq(o->err, "mempinctl: unknown column: NOPE\n"
			 "Try 'mempinctl --help' for more information.\n");
	ctl_free(o);
	o = CTL("status", "-r");
	ASSERT_EXIT(o, 2);
	ck_assert_msg(strstr(o->err, "--raw is an option of ps and pins"), "%s", o->err);
	ctl_free(o);
	o = CTL("ps", "-o", "PID", "--output-all");
	ASSERT_EXIT(o, 2);
	ctl_free(o);
	o = CTL("ps", "-r", "-J");
	ASSERT_EXIT(o, 2);
	ctl_free(o);
}
END_TEST

/* ------------------------------------------------------ cgroup budgets */

#define CGROOT	"/sys/fs/cgroup"
#define CGT	CGROOT "/mpctl"		/* the lead's t_cgroup.c uses /mpt */
#define CGPODS	CGT "/pods"

static bool cg_feature(void)
{
	struct mempin_info_arg in;
	int fd = xmp_open();

	xinfo(fd, &in);
	xclose(fd);
	return in.features & MEMPIN_FEATURE_CGROUP_BUDGETS;
}

/* A pod's process: enter the cgroup, pin pages, then one page more (want:
 * 0 or -errno), hold until told. */
struct cg_kid {
	const char *cg;
	size_t pages;
	int more;
};

static void child_cg(struct chan *ch, void *arg)
{
	const struct cg_kid *k = arg;
	char *mem = mmap(NULL, (k->pages + 1) * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	char procs[256];
	int fd;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", k->cg);
	CREQ_EQ(ch, kv_write_file(procs, "0"), 0);
	fd = mp_open();
	CREQ(ch, mem != MAP_FAILED && fd >= 0);
	CREQ_EQ(ch, mp_pin(fd, mem, k->pages * PG, 0, NULL, NULL), 0);
	CREQ_EQ(ch, mp_pin(fd, mem + k->pages * PG, PG, 0, NULL, NULL), k->more);
	ch_sync(ch);
}

/* The row of cgroup path in cgroup list -J, or NULL. */
static const json_t *cg_row(const json_t *root, const char *path)
{
	const json_t *rows = JV(root, "cgroups"), *row;
	size_t i;

	json_array_foreach(rows, i, row)
		if (!strcmp(jstr(row, "path"), path))
			return row;
	return NULL;
}

static void cg_cleanup(void)
{
	static const char *const dirs[] = {
		CGPODS "/pod1", CGPODS "/pod2", CGPODS "/pod3", CGPODS, CGT "/later", CGT,
	};
	size_t i;

	kv_write_file("/sys/class/misc/mempin/cgroup/unset", "/mpctl/pods each-child");
	kv_write_file("/sys/class/misc/mempin/cgroup/unset", "/mpctl");
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		rmdir(dirs[i]);
}

/*
 * The Kubernetes shape of the README: an own budget on the parent, an
 * each-child rlimit rule on pods/, three pods of which one goes past its
 * budget; list, ps, status; bad input; apply.
 */
START_TEST(ctl_cgroup_budgets)
{
	struct cg_kid k1 = { CGPODS "/pod1", 16, -ENOMEM }, k2 = { CGPODS "/pod2", 8, 0 },
		      k3 = { CGPODS "/pod3", 4, 0 };
	char conf[] = "/tmp/mpctl-conf-XXXXXX", line[256], want[256];
	const json_t *row, *r;
	struct child c1, c2, c3;
	struct ctl_out *o;
	int kmsg = kv_kmsg_open(), cfd, idx;
	struct stat st;
	size_t i;

	if (!cg_feature()) {
		/* Said so, with the reason, and no table rows. */
		o = CTL("-J", "cgroup", "list");
		ASSERT_EXIT(o, 1);
		ck_assert_msg(strstr(o->err, "has no cgroup budgets"), "%s", o->err);
		ck_assert_uint_eq(jv_len(JV(o->json, "cgroups")), 0);
		ctl_free(o);
		return;
	}
	if (access(CGROOT "/cgroup.controllers", F_OK))
		ck_assert_int_eq(mount("cgroup2", CGROOT, "cgroup2", 0, NULL), 0);
	cg_cleanup();
	ck_assert_int_eq(mkdir(CGT, 0755), 0);
	ck_assert_int_eq(mkdir(CGPODS, 0755), 0);
	for (i = 1; i <= 3; i++) {
		snprintf(line, sizeof(line), CGPODS "/pod%zu", i);
		ck_assert_int_eq(mkdir(line, 0755), 0);
	}

	/* Rules: by cgroup path, and by directory (trailing slash, //). */
	o = CTL("cgroup", "set", "/mpctl", "1G");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(!*o->out && !*o->err, "set: %s%s", o->out, o->err);
	ctl_free(o);
	snprintf(line, sizeof(line), "%zu", 16 * (size_t)PG);
	o = CTL("cgroup", "set", CGROOT "//mpctl/pods/", line, "--each-child", "--rlimit");
	ASSERT_EXIT(o, 0);
	ctl_free(o);

	child_start(&c1, child_cg, &k1);
	ck_assert_int_eq(child_await(&c1), 0);
	child_start(&c2, child_cg, &k2);
	ck_assert_int_eq(child_await(&c2), 0);
	child_start(&c3, child_cg, &k3);
	ck_assert_int_eq(child_await(&c3), 0);

	o = CTL("-J", "cgroup", "list", "--output-all");
	ASSERT_EXIT(o, 0);
	row = cg_row(o->json, "/mpctl");
	ck_assert_msg(row, "no /mpctl:\n%s", o->out);
	ck_json_u64(row, "limit", 1ULL << 30);
	ck_json_u64(row, "usage", 30 * PG);	/* 16 + 9 + 5 */
	ck_json_u64(row, "refused", 0);
	ck_json_str(row, "rules", "own 1073741824");
	ck_json_bool(row, "removed", false);
	row = cg_row(o->json, "/mpctl/pods");
	ck_assert_msg(row, "no /mpctl/pods:\n%s", o->out);
	ck_json_null(row, "limit");
	ck_json_u64(row, "usage", 30 * PG);	/* 16 + 9 + 5 */
	snprintf(want, sizeof(want), "each-child %zu rlimit", 16 * (size_t)PG);
	ck_json_str(row, "rules", want);
	row = cg_row(o->json, "/mpctl/pods/pod1");
	ck_assert_msg(row, "no pod1:\n%s", o->out);
	ck_json_u64(row, "limit", 16 * PG);
	ck_json_u64(row, "usage", 16 * PG);
	ck_json_u64(row, "peak", 16 * PG);
	ck_json_u64(row, "refused", 1);
	snprintf(want, sizeof(want), "from-parent %zu rlimit", 16 * (size_t)PG);
	ck_json_str(row, "rules", want);
	ck_assert_int_eq(stat(CGPODS "/pod1", &st), 0);
	ck_json_u64(row, "id", st.st_ino);		/* the directory's inode */
	row = cg_row(o->json, "/mpctl/pods/pod2");
	ck_assert_msg(row, "no pod2:\n%s", o->out);
	ck_json_u64(row, "usage", 9 * PG);
	ck_json_u64(row, "refused", 0);
	ck_assert_msg(cg_row(o->json, "/mpctl/pods/pod3"), "no pod3:\n%s", o->out);
	ctl_free(o);

	/* The table: human sizes, max, the rules in one cell. */
	o = CTL("cgroup", "list");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(!strncmp(o->out, "PATH ", 5) && strstr(o->out, " LIMIT USAGE PEAK REFUSED RULES\n") &&
		      strstr(o->out, " max ") && strstr(o->out, "own 1G") &&
		      strstr(o->out, "/mpctl/pods/pod1"), "cgroup list:\n%s", o->out);
	if (getenv("MEMPIN_TEST_SHOW_CGROUP_LIST"))
		printf("---- mempinctl cgroup list\n%s", o->out);
	ctl_free(o);
	o = CTL("cgroup", "list", "-o", "PATH,REFUSED", "-n", "-r");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, "/mpctl/pods/pod1 1\n") && strstr(o->out, "/mpctl/pods/pod2 0\n"),
		      "cgroup list -o PATH,REFUSED -n -r:\n%s", o->out);
	ctl_free(o);

	/* ps: each pod's process in its cgroup. */
	o = CTL("-J", "ps", "-o", "PID,CGROUP");
	ASSERT_EXIT(o, 0);
	row = ps_proc(o->json, c2.pid, &idx);
	ck_json_str(row, "cgroup", "/mpctl/pods/pod2");
	ctl_free(o);

	/* status: the refusal, in JSON and text. */
	o = CTL("-J", "status");
	ASSERT_EXIT(o, 0);
	r = jv_get(o->json, "stats.refused_cgroup");
	ck_assert_msg(r && json_is_integer(r) && json_integer_value(r) >= 1,
		      "stats.refused_cgroup:\n%s", o->out);
	ctl_free(o);
	o = CTL("status");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, ", cgroup "), "status:\n%s", o->out);
	ctl_free(o);

	/* Bad input: one line each, the module never asked. */
	o = CTL("cgroup", "set", "/mpctl/nope", "1G");
	ASSERT_EXIT(o, 1);
	ck_assert_str_eq(o->err, "mempinctl: /mpctl/nope: no such cgroup\n");
	ctl_free(o);
	o = CTL("cgroup", "set", "/tmp", "1G");
	ASSERT_EXIT(o, 1);
	ck_assert_str_eq(o->err, "mempinctl: /tmp: not a cgroup v2 directory\n");
	ctl_free(o);
	o = CTL("cgroup", "set", CGT "/cgroup.procs", "1G");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "not a cgroup directory"), "%s", o->err);
	ctl_free(o);
	o = CTL("cgroup", "set", "/mpctl", "4097");
	ASSERT_EXIT(o, 2);
	ck_assert_msg(strstr(o->err, "not a multiple of the page size"), "%s", o->err);
	ctl_free(o);
	o = CTL("cgroup", "set", "/mpctl/../x", "1G");
	ASSERT_EXIT(o, 2);
	ctl_free(o);
	o = CTL("cgroup", "set", "/mpctl", "16E");
	ASSERT_EXIT(o, 2);
	ctl_free(o);
	o = CTL("cgroup", "unset", "/mpctl/pods/pod1", "--each-child");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "no each-child rule on it"), "%s", o->err);
	ctl_free(o);
	/* A cgroup v1 hierarchy. */
	ck_assert(mkdir("/tmp/mpctl-v1", 0755) == 0 || errno == EEXIST);
	if (mount("cgroup", "/tmp/mpctl-v1", "cgroup", 0, "none,name=mpctl") == 0) {
		o = CTL("cgroup", "set", "/tmp/mpctl-v1", "1G");
		ASSERT_EXIT(o, 1);
		ck_assert_msg(strstr(o->err, "not a cgroup v2 directory"), "%s", o->err);
		ctl_free(o);
		umount("/tmp/mpctl-v1");
	}
	rmdir("/tmp/mpctl-v1");
	/* Only root. */
	o = CTL_AS(1001, 1001, -1, "cgroup", "set", "/mpctl", "2G");
	ASSERT_EXIT(o, 1);
	ck_assert_str_eq(o->err, "mempinctl: setting a cgroup budget: must be root\n");
	ctl_free(o);
	o = CTL_AS(1001, 1001, -1, "cgroup", "list");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "must be root"), "%s", o->err);
	ctl_free(o);

	/* apply: good, missing-cgroup and bad lines; the good ones set. */
	cfd = mkstemp(conf);
	ck_assert_int_ge(cfd, 0);
	dprintf(cfd, "# budgets\n\n/mpctl 2G   # own\n/mpctl/later 1G each-child\n"
		"/mpctl/pods 1.5G\n/mpctl/pods %zu each-child rlimit\n", 16 * (size_t)PG);
	close(cfd);
	o = CTL("cgroup", "apply", conf);
	ASSERT_EXIT(o, 1);	/* not 75: a bad line too */
	snprintf(want, sizeof(want),
		 "mempinctl: %s:4: /mpctl/later: no such cgroup (yet): rule not applied\n"
		 "mempinctl: %s:5: invalid size '1.5G' (1G, 512M, 4096, 256p or max)\n"
		 "mempinctl: %s: 2 of 4 rules not applied\n", conf, conf, conf);
	ck_assert_str_eq(o->err, want);
	ctl_free(o);
	o = CTL("-J", "cgroup", "list");
	ASSERT_EXIT(o, 0);
	ck_json_u64(cg_row(o->json, "/mpctl"), "limit", 2ULL << 30);
	ctl_free(o);
	/* Only a cgroup not made yet: 75, try again later (the unit does). */
	cfd = open(conf, O_WRONLY | O_TRUNC);
	dprintf(cfd, "/mpctl 2G\n/mpctl/later 1G each-child\n");
	close(cfd);
	o = CTL("cgroup", "apply", conf);
	ASSERT_EXIT(o, 75);
	ctl_free(o);
	/* Once the cgroup exists, everything applies. */
	ck_assert_int_eq(mkdir(CGT "/later", 0755), 0);
	o = CTL("cgroup", "apply", conf);
	ASSERT_EXIT(o, 0);
	ck_assert_msg(!*o->err && !*o->out, "apply: %s%s", o->out, o->err);
	ctl_free(o);
	o = CTL("cgroup", "unset", "/mpctl/later", "--each-child");
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	unlink(conf);

	child_go(&c1);
	child_go(&c2);
	child_go(&c3);
	CHILD_OK(&c1);
	CHILD_OK(&c2);
	CHILD_OK(&c3);
	o = CTL("cgroup", "unset", "/mpctl/pods", "--each-child");
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	o = CTL("cgroup", "unset", CGT);
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	cg_cleanup();
	if (kmsg >= 0) {
		char first[256] = "";
		int n = kv_kmsg_scan(kmsg, first, sizeof(first));

		close(kmsg);
		ck_assert_msg(n == 0, "%d kernel log lines, the first: %s", n, first);
	}
}
END_TEST

/* doctor's check NAME has result and reason. */
#define ASSERT_CHECK(o, name, result, reason) do { \
	ck_json_str((o)->json, "checks." name ".result", (result)); \
	ck_json_str((o)->json, "checks." name ".reason", (reason)); } while (0)

START_TEST(ctl_doctor_root_all_fine)
{
	struct ctl_out *o = CTL("--json", "doctor");

	ASSERT_EXIT(o, 0);
	ck_json_str(o->json, "user", "root");
	ck_json_u64(o->json, "uid", 0);
	ck_json_str(o->json, "device", MEMPIN_DEV);
	ck_json_u64(o->json, "need_bytes", PG);
	ck_json_bool(o->json, "ok", true);
	/* No DKMS in the guest: loaded from elsewhere, a warning only. */
	ASSERT_CHECK(o, "installed", "warn", "loaded-elsewhere");
	ASSERT_CHECK(o, "loaded", "ok", "loaded");
	ASSERT_CHECK(o, "device", "ok", "ok");
	ASSERT_CHECK(o, "access", "ok", "ok");
	ck_json_u64(o->json, "checks.access.abi_version", MEMPIN_ABI_VERSION);
	ASSERT_CHECK(o, "rlimit", "ok", "cap-ipc-lock");
	ASSERT_CHECK(o, "cap", "ok", "none");
	ck_assert_uint_eq(jv_len(JV(o->json, "problems")), 0);
	ctl_free(o);

	o = CTL("doctor");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(strstr(o->out, "all fine"), "doctor:\n%s", o->out);
	ctl_free(o);
}
END_TEST

/* $MEMPIN_DEVICE, as libmempin: a missing node, and one that is not ours. */
START_TEST(ctl_doctor_node)
{
	struct ctl_out *o;

	setenv("MEMPIN_DEVICE", "/tmp/no-such-node", 1);
	o = CTL("--json", "doctor");
	ASSERT_EXIT(o, 1);
	ck_json_str(o->json, "device", "/tmp/no-such-node");
	ASSERT_CHECK(o, "device", "fail", "no-node");
	ASSERT_CHECK(o, "access", "skip", "no-device");
	ck_assert_msg(strstr(json_string_value(JV(o->json, "checks.device.fix")), "udevadm trigger"),
		      "fix: %s", json_string_value(JV(o->json, "checks.device.fix")));
	ctl_free(o);
	setenv("MEMPIN_DEVICE", "/dev/null", 1);
	o = CTL("--json", "doctor");
	ASSERT_EXIT(o, 1);
	ASSERT_CHECK(o, "device", "fail", "wrong-node");
	ctl_free(o);
	o = CTL("--json", "status");
	ASSERT_EXIT(o, 0);
	ck_json_str(o->json, "device.path", "/dev/null");
	ck_json_bool(o->json, "device.present", true);
	ck_json_bool(o->json, "device.matches", false);
	ctl_free(o);
	unsetenv("MEMPIN_DEVICE");
}
END_TEST

START_TEST(ctl_doctor_wrong_group)
{
	struct ctl_out *o = CTL_AS(1001, 1001, 64 << 20, "--json", "doctor");

	ASSERT_EXIT(o, 1);
	ck_json_str(o->json, "user", "other");
	ck_json_u64(o->json, "uid", 1001);
	ck_json_bool(o->json, "ok", false);
	ASSERT_CHECK(o, "loaded", "ok", "loaded");
	ASSERT_CHECK(o, "device", "ok", "ok");
	ASSERT_CHECK(o, "access", "fail", "not-in-group");
	ck_json_str(o->json, "checks.access.group", "pinuser");
	ck_json_str(o->json, "checks.access.fix", "sudo usermod -aG pinuser other, then log in again");
	ASSERT_CHECK(o, "rlimit", "ok", "ok");
	ck_json_u64(o->json, "checks.rlimit.soft", 64 << 20);
	ASSERT_CHECK(o, "cap", "ok", "none");
	ck_assert_uint_eq(jv_len(JV(o->json, "problems")), 1);
	ck_json_str(o->json, "problems[0]", "not-in-group");
	ctl_free(o);

	o = CTL_AS(1001, 1001, 64 << 20, "doctor");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->out, "usermod -aG pinuser other"), "doctor:\n%s", o->out);
	ctl_free(o);
}
END_TEST

START_TEST(ctl_doctor_rlimit_too_low)
{
	struct ctl_out *o = CTL_AS(1000, 1000, 0, "--json", "doctor");

	ASSERT_EXIT(o, 1);
	ck_json_str(o->json, "user", "pinuser");
	ck_json_bool(o->json, "ok", false);
	ASSERT_CHECK(o, "access", "ok", "ok");
	ASSERT_CHECK(o, "rlimit", "fail", "too-low");
	ck_json_u64(o->json, "checks.rlimit.soft", 0);
	ck_json_u64(o->json, "checks.rlimit.hard", 0);
	ck_assert_msg(strstr(json_string_value(JV(o->json, "checks.rlimit.fix")),
			     "/etc/security/limits.d/mempin.conf"), "fix: %s",
		      json_string_value(JV(o->json, "checks.rlimit.fix")));
	ck_assert_uint_eq(jv_len(JV(o->json, "problems")), 1);
	ck_json_str(o->json, "problems[0]", "too-low");
	ctl_free(o);

	/* Enough for one page, not for two: doctor SIZE asks for more. */
	o = CTL_AS(1000, 1000, PG, "--json", "doctor", "4K");
	ASSERT_EXIT(o, 0);
	ASSERT_CHECK(o, "rlimit", "ok", "ok");
	ck_json_u64(o->json, "need_bytes", PG);
	ctl_free(o);
	o = CTL_AS(1000, 1000, PG, "--json", "doctor", "2p");
	ASSERT_EXIT(o, 1);
	ASSERT_CHECK(o, "rlimit", "fail", "too-low");
	ck_json_u64(o->json, "need_bytes", 2 * PG);
	ctl_free(o);
	o = CTL_AS(1000, 1000, 0, "doctor");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->out, "RLIMIT_MEMLOCK"), "doctor:\n%s", o->out);
	ctl_free(o);
}
END_TEST

START_TEST(ctl_cap_reached)
{
	char *mem = xmap(4 * PG);
	struct ctl_out *o;
	int fd = xmp_open();

	o = CTL("--json", "cap");
	ASSERT_EXIT(o, 0);
	ck_json_bool(o->json, "loaded", true);
	ck_json_u64(o->json, "max_pinned_pages", 0);
	ck_json_u64(o->json, "pinned_pages", 0);
	ctl_free(o);

	xpin(fd, mem, 4 * PG, 0);
	o = CTL("cap", "4p");
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), 4);
	ck_assert_int_eq(mp_pin(fd, mem, PG, 0, NULL, NULL), -ENOMEM);

	o = CTL("--json", "doctor");
	ASSERT_EXIT(o, 1);
	ck_json_bool(o->json, "ok", false);
	ASSERT_CHECK(o, "cap", "fail", "reached");
	ck_json_u64(o->json, "checks.cap.max_pinned_pages", 4);
	ck_json_u64(o->json, "checks.cap.pinned_pages", 4);
	ASSERT_CHECK(o, "access", "ok", "ok");
	ck_assert_uint_eq(jv_len(JV(o->json, "problems")), 1);
	ck_json_str(o->json, "problems[0]", "reached");
	ctl_free(o);
	o = CTL("--json", "status");
	ASSERT_EXIT(o, 0);
	ck_json_u64(o->json, "cap.max_pinned_pages", 4);
	ck_json_u64(o->json, "cap.max_pinned_bytes", 4 * PG);
	ck_json_u64(o->json, "module.parameters.max_pinned_pages", 4);
	ctl_free(o);
	o = CTL("doctor");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->out, "mempinctl cap"), "doctor:\n%s", o->out);
	ctl_free(o);

	/* Sizes: bytes with a suffix, pages with p; 0 or none: no cap. */
	o = CTL("--json", "cap", "1G");
	ASSERT_EXIT(o, 0);
	ck_json_u64(o->json, "max_pinned_pages", (1UL << 30) / PG);
	ctl_free(o);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), (1L << 30) / (long)PG);
	o = CTL("cap", "6K");		/* rounded down to whole pages */
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), 1);
	o = CTL("cap", "100");		/* less than a page */
	ASSERT_EXIT(o, 2);
	ctl_free(o);
	o = CTL("cap", "12Q");
	ASSERT_EXIT(o, 2);
	ctl_free(o);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), 1);
	/* Only root sets it. */
	o = CTL_AS(1000, 1000, -1, "cap", "0");
	ASSERT_EXIT(o, 1);
	ctl_free(o);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), 1);
	o = CTL("cap", "none");
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), 0);
	xpin(fd, mem, PG, 0);
	xclose(fd);
}
END_TEST

/* reset-high-water: root only; the mark is then what is pinned now. */
START_TEST(ctl_reset_high_water)
{
	char *mem = xmap(32 * PG);
	int fd = xmp_open();
	uint64_t base = stats_counter(C_PAGES), h;
	struct ctl_out *o;
	char want[128];

	h = xpin(fd, mem, 32 * PG, 0);
	xpin(fd, mem, 8 * PG, 0);
	xunpin(fd, h);
	ck_assert_uint_eq(stats_counter(C_PAGES), base + 8);
	ck_assert_uint_ge(stats_counter(C_PAGES_MAX), base + 40);

	o = CTL_AS(1001, 1001, -1, "reset-high-water");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "it needs root"), "stderr: %s", o->err);
	ctl_free(o);
	ck_assert_uint_ge(stats_counter(C_PAGES_MAX), base + 40);

	o = CTL("--json", "reset-high-water");
	ASSERT_EXIT(o, 0);
	ck_json_bool(o->json, "loaded", true);
	ck_json_u64(o->json, "pinned_pages_max", base + 8);
	ctl_free(o);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base + 8);

	xclose(fd);
	o = CTL("reset-high-water");
	ASSERT_EXIT(o, 0);
	snprintf(want, sizeof(want), "reset to what is pinned now: %llu page",
		 (unsigned long long)base);
	ck_assert_msg(strstr(o->out, want), "stdout: %s", o->out);
	ctl_free(o);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), base);

	o = CTL("reset-high-water", "now");
	ASSERT_EXIT(o, 2);
	ctl_free(o);
	xunmap(mem, 32 * PG);
}
END_TEST
/*
 * @over bound over @path, in this test's own mount namespace (made by
 * ctl_cannot_tell).  /dev/null: a sysfs file that reads empty, which
 * mempinctl refuses as it would a read error.
 */
static void sysfs_cover(const char *path, const char *over)
{
	ck_assert_msg(mount(over, path, NULL, MS_BIND, NULL) == 0,
		      "bind %s over %s: %s", over, path, strerror(errno));
}

static void sysfs_blank(const char *path)
{
	sysfs_cover(path, "/dev/null");
}

static void sysfs_unblank(const char *path)
{
	ck_assert_msg(umount(path) == 0, "umount %s: %s", path, strerror(errno));
}

#define INITSTATE	"/sys/module/mempin/initstate"
#define CAP_PARAM	"/sys/module/mempin/parameters/max_pinned_pages"
#define PAGES_MAX	STATS_DIR "pinned_pages_max"
#define NOREAD		"/tmp/mpctl-noread"
#define MISC_DEV	"/sys/class/misc/mempin/dev"

/*
 * When what tells whether mempin is loaded, or its cap or high-water mark,
 * cannot be read (ENOMEM in the kernel, say), mempinctl must not guess:
 * exit 1, "unknown" rather than "not loaded", and nothing changed.
 */
/*
 * mempinctl ARGS as root, which must exit 1 with @why (NULL: anything) on
 * its standard error.  Returns its output (ctl_free it).
 */
static struct ctl_out *ctl_fails(const char *why, const char *const *args)
{
	struct ctl_out *o = ctl_run_as(0, 0, -1, args);

	ASSERT_EXIT(o, 1);
	ck_assert_msg(!why || strstr(o->err, why), "mempinctl %s: stderr: %s", args[0],
		      o->err);
	return o;
}

#define CTL_FAILS(why, ...) ctl_fails((why), (const char *const[]){ __VA_ARGS__, NULL })
#define NO_STATE	"cannot tell whether mempin is loaded"

/*
 * A container of uid 1000's whose fdinfo uid 1000's ps cannot read (a
 * file it may not read, bound over it): the list would miss it, so ps
 * must say so and exit 1, not print a list that looks whole.
 */
static void ctl_ps_unreadable_fdinfo(int fd)
{
	char path[64], c;
	int go[2], um;
	pid_t pid;
	struct ctl_out *o;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		/* Holds @fd, inherited, as uid 1000 until the pipe closes. */
		close(go[1]);
		/* Dumpable again, or /proc/PID/fd is root's after setuid. */
		if (drop_root(1000, 1000, -1) || prctl(PR_SET_DUMPABLE, 1))
			_exit(1);
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	ck_assert_int_eq(close(open(NOREAD, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0)), 0);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	if (mount(NOREAD, path, NULL, MS_BIND, NULL)) {
		int e = errno, there = !access(path, F_OK);

		/* Still there: the kernel refuses mounts on it (7.2 does). */
		close(go[1]);
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
		unlink(NOREAD);
		ck_assert_msg(there, "%s is gone: the child holding the container died", path);
		printf("ctl_cannot_tell: ps with an unreadable fdinfo not tried: "
		       "bind over %s: %s\n", path, strerror(e));
		return;
	}
	o = CTL_AS(1000, 1000, -1, "ps");
	/*
	 * Unmounted while the path still names it, then the child gone before
	 * any assertion: a failed test must not leave it holding @fd.
	 */
	um = umount(path) ? errno : 0;
	close(go[1]);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	unlink(NOREAD);
	ck_assert_msg(!um, "umount %s: %s", path, strerror(um));
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "containers may be missing from the list"), "stderr: %s",
		      o->err);
	ctl_free(o);
}

START_TEST(ctl_cannot_tell)
{
	char *mem = xmap(8 * PG);
	int fd = xmp_open();
	long cap = kv_param_get("max_pinned_pages");
	uint64_t max;
	struct ctl_out *o;

	/* A high-water mark above what is pinned: a reset would show. */
	xunpin(fd, xpin(fd, mem, 8 * PG, 0));
	max = stats_counter(C_PAGES_MAX);
	ck_assert_uint_gt(max, stats_counter(C_PAGES));
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);

	sysfs_blank(INITSTATE);
	o = CTL_FAILS(NO_STATE, "status");
	ck_assert_msg(strstr(o->out, "module      unknown: " INITSTATE ": ") &&
		      !strstr(o->out, "not loaded"), "status:\n%s", o->out);
	ctl_free(o);
	o = CTL_FAILS(NO_STATE, "--json", "status");
	ck_json_null(o->json, "module.loaded");
	ck_json_null(o->json, "module.state");
	ctl_free(o);
	ctl_free(CTL_FAILS(NO_STATE, "load"));
	ctl_free(CTL_FAILS(NO_STATE, "unload"));
	o = CTL_FAILS(NULL, "--json", "doctor");
	ASSERT_CHECK(o, "loaded", "fail", "unknown");
	ctl_free(o);
	sysfs_unblank(INITSTATE);

	/*
	 * initstate that does not open (a file uid 1001 may not read): not
	 * "loaded (coming)", which is what libkmod makes of it while
	 * /sys/module/mempin is there.
	 */
	ck_assert_int_eq(close(open(NOREAD, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0)), 0);
	sysfs_cover(INITSTATE, NOREAD);
	o = CTL_AS(1001, 1001, -1, "status");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->out, "module      unknown: " INITSTATE ": Permission denied"),
		      "status:\n%s", o->out);
	ctl_free(o);
	sysfs_unblank(INITSTATE);
	unlink(NOREAD);
	ck_assert(kv_module_loaded());
	ck_assert_int_eq(kv_refcnt(), 1);

	sysfs_blank(CAP_PARAM);
	ctl_free(CTL_FAILS("cannot read the cap", "cap"));
	ctl_free(CTL_FAILS("cannot read the cap", "cap", "64M"));
	o = CTL_FAILS(NULL, "--json", "doctor");
	ASSERT_CHECK(o, "cap", "fail", "unknown");
	ctl_free(o);
	sysfs_unblank(CAP_PARAM);
	ck_assert_int_eq(kv_param_get("max_pinned_pages"), cap);

	sysfs_blank(PAGES_MAX);
	ctl_free(CTL_FAILS("cannot read the high-water mark", "reset-high-water"));
	sysfs_unblank(PAGES_MAX);
	ck_assert_uint_eq(stats_counter(C_PAGES_MAX), max);

	/* The device's number: ps cannot find containers without it. */
	sysfs_blank(MISC_DEV);
	o = CTL_FAILS("cannot tell whether mempin's device is registered", "ps");
	ck_assert_msg(!*o->out, "ps printed a list:\n%s", o->out);
	ctl_free(o);
	o = CTL_FAILS(NULL, "--json", "status");
	ck_json_bool(o->json, "module.loaded", true);
	ck_json_null(o->json, "device.registered");
	ctl_free(o);
	o = CTL_FAILS(NULL, "--json", "doctor");
	ASSERT_CHECK(o, "device", "fail", "unknown");
	ctl_free(o);
	sysfs_unblank(MISC_DEV);

	ctl_ps_unreadable_fdinfo(fd);

	xclose(fd);
	xunmap(mem, 8 * PG);
}
END_TEST


/*
 * Last of the suite: mempinctl unload, every command with the module gone,
 * mempinctl load FILE, unload refused while a container is open.
 */
START_TEST(ctl_not_loaded_then_load)
{
	const char *ko = getenv("MEMPIN_MODULE");
	struct ctl_out *o;
	struct stat st;
	int fd;

	ck_assert_msg(ko, "MEMPIN_MODULE is not set: cannot load the module again");
	ck_assert_int_eq(kv_refcnt(), 0);
	o = CTL("unload");
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	ck_assert(!kv_module_loaded());

	o = CTL("--json", "status");
	ASSERT_EXIT(o, 3);
	ck_json_bool(o->json, "module.loaded", false);
	ck_json_null(o->json, "module.state");
	ck_json_null(o->json, "module.version");
	ck_json_null(o->json, "module.srcversion");
	ck_json_null(o->json, "module.refcount");
	ck_json_null(o->json, "module.parameters");
	ck_json_bool(o->json, "module.installed", false);
	ck_json_bool(o->json, "device.registered", false);
	ck_json_null(o->json, "device.major");
	ck_json_bool(o->json, "device.present", false);
	ck_json_bool(o->json, "device.matches", false);
	ck_json_null(o->json, "cap");
	ck_json_null(o->json, "stats");
	ctl_free(o);
	o = CTL("status");
	ASSERT_EXIT(o, 3);
	ck_assert_msg(strstr(o->out, "not loaded"), "status:\n%s", o->out);
	ctl_free(o);
	o = CTL("--json", "reset-high-water");
	ASSERT_EXIT(o, 3);
	ck_json_bool(o->json, "loaded", false);
	ck_json_null(o->json, "pinned_pages_max");
	ctl_free(o);

	o = CTL("--json", "doctor");
	ASSERT_EXIT(o, 1);
	ck_json_bool(o->json, "ok", false);
	/* No DKMS in the guest: said so, gracefully. */
	ASSERT_CHECK(o, "installed", "fail", "not-installed");
	ASSERT_CHECK(o, "loaded", "fail", "not-loaded");
	ASSERT_CHECK(o, "device", "skip", "not-loaded");
	ASSERT_CHECK(o, "access", "skip", "no-device");
	ASSERT_CHECK(o, "rlimit", "ok", "cap-ipc-lock");
	ASSERT_CHECK(o, "cap", "skip", "not-loaded");
	ck_assert_uint_eq(jv_len(JV(o->json, "problems")), 2);
	ck_json_str(o->json, "problems[0]", "not-installed");
	ck_json_str(o->json, "problems[1]", "not-loaded");
	ctl_free(o);
	o = CTL("doctor");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->out, "mempin is not loaded"), "doctor:\n%s", o->out);
	ctl_free(o);

	o = CTL("--json", "ps");
	ASSERT_EXIT(o, 0);
	ck_assert_uint_eq(jv_len(JV(o->json, "processes")), 0);
	ck_assert_msg(strstr(o->err, "not loaded"), "ps: %s", o->err);
	ctl_free(o);
	o = CTL("--json", "cap");
	ASSERT_EXIT(o, 3);
	ck_json_bool(o->json, "loaded", false);
	ck_json_null(o->json, "max_pinned_pages");
	ctl_free(o);
	o = CTL("cap", "1G");
	ASSERT_EXIT(o, 3);
	ctl_free(o);
	o = CTL("unload");
	ASSERT_EXIT(o, 3);
	ctl_free(o);
	o = CTL("-J", "cgroup", "list");
	ASSERT_EXIT(o, 3);
	ck_assert_msg(strstr(o->err, "mempin is not loaded"), "cgroup list: %s", o->err);
	ck_assert_uint_eq(jv_len(JV(o->json, "cgroups")), 0);
	ctl_free(o);
	o = CTL("cgroup", "set", "/", "1G");
	ASSERT_EXIT(o, 3);
	ctl_free(o);
	/* Not in /lib/modules: load by name fails, saying so. */
	o = CTL("load");
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "not installed"), "load: %s", o->err);
	ctl_free(o);
	ck_assert(!kv_module_loaded());
	/* Only root loads it. */
	o = CTL_AS(1000, 1000, -1, "load", ko);
	ASSERT_EXIT(o, 1);
	ctl_free(o);
	ck_assert(!kv_module_loaded());

	o = CTL("load", ko);
	ASSERT_EXIT(o, 0);
	ctl_free(o);
	ck_assert(kv_module_loaded());
	ck_assert_int_eq(mempin_dev_fix(), 0);
	ck_assert_int_eq(stat(MEMPIN_DEV, &st), 0);
	ck_assert_uint_eq(st.st_gid, 1000);
	o = CTL("load", ko);		/* already: fine */
	ASSERT_EXIT(o, 0);
	ctl_free(o);

	/* The new module has no rules; apply (what mempin-cgroup-budgets.service
	 * runs when udev sees the device again) puts them back. */
	if (cg_feature()) {
		char conf[] = "/tmp/mpctl-reload-XXXXXX";
		int cfd = mkstemp(conf);

		ck_assert_int_ge(cfd, 0);
		dprintf(cfd, "/mpctl 1G\n");
		close(cfd);
		if (access(CGROOT "/cgroup.controllers", F_OK))
			ck_assert_int_eq(mount("cgroup2", CGROOT, "cgroup2", 0, NULL), 0);
		ck_assert(mkdir(CGT, 0755) == 0 || errno == EEXIST);
		o = CTL("-J", "cgroup", "list");
		ASSERT_EXIT(o, 0);
		ck_assert_msg(!cg_row(o->json, "/mpctl"), "a rule survived the reload:\n%s", o->out);
		ctl_free(o);
		o = CTL("cgroup", "apply", conf);
		ASSERT_EXIT(o, 0);
		ctl_free(o);
		o = CTL("-J", "cgroup", "list");
		ASSERT_EXIT(o, 0);
		ck_assert_msg(cg_row(o->json, "/mpctl"), "not applied:\n%s", o->out);
		ck_json_u64(cg_row(o->json, "/mpctl"), "limit", 1ULL << 30);
		ctl_free(o);
		unlink(conf);
		cg_cleanup();
	}

	fd = xmp_open();
	o = CTL("unload");		/* in use */
	ASSERT_EXIT(o, 1);
	ck_assert_msg(strstr(o->err, "in use"), "unload: %s", o->err);
	ctl_free(o);
	ck_assert(kv_module_loaded());
	o = CTL("--json", "status");
	ASSERT_EXIT(o, 0);
	ck_json_str(o->json, "module.state", "live");
	ck_json_i64(o->json, "module.refcount", 1);
	ck_json_u64(o->json, "stats.containers", 1);
	ck_json_u64(o->json, "stats.pinned_pages_max", 0);	/* a new module */
	ctl_free(o);
	xclose(fd);
}
END_TEST


/* ------------------------------------------------------ hostile names */

/*
 * The holder: re-executed as mempin-tests with hostile argv (the suite's
 * own options cannot be in argv, so $MEMPIN_TEST_CTL_HOLDER, the fd of a
 * pipe, says what to do): opens the device, pins a page, says so on the
 * pipe and waits to be killed.  prctl(PR_SET_NAME) makes its comm hostile
 * too.
 */
int ctl_holder_main(const char *pipefd)
{
	char *mem = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd = mp_open(), w = atoi(pipefd);
	char ok = 'y';

	prctl(PR_SET_NAME, "\xff\x01\"comm\\", 0, 0, 0);
	if (mem == MAP_FAILED || fd < 0 || mp_pin(fd, mem, PG, 0, NULL, NULL))
		ok = 'n';
	if (write(w, &ok, 1) != 1)
		return 1;
	close(w);
	for (;;)
		pause();
}

struct holder {
	const char *name;		/* what the test calls it */
	const char *argv0;		/* its whole command line */
	const char *want;		/* "command" as a strict parser decodes it */
	pid_t pid;
};

static pid_t holder_start(const char *argv0)
{
	char *argv[] = { (char *)argv0, NULL };
	int p[2];
	char env[64], ok = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	snprintf(env, sizeof(env), "MEMPIN_TEST_CTL_HOLDER=%d", p[1]);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *envp[] = { env, NULL };

		close(p[0]);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &ok, 1), 1);
	close(p[0]);
	ck_assert_msg(ok == 'y', "the holder could not pin");
	return pid;
}

static const json_t *jproc(const json_t *root, pid_t pid)
{
	const json_t *procs = json_object_get(root, "processes"), *p;
	size_t i;

	ck_assert(json_is_array(procs));
	json_array_foreach(procs, i, p)
		if (json_integer_value(json_object_get(p, "pid")) == pid)
			return p;
	ck_abort_msg("pid %d not in mempinctl ps -J", (int)pid);
	return NULL;
}

/* The first byte a terminal could act on, or NULL. */
static const char *terminal_unsafe(const char *out)
{
	const unsigned char *p = (const unsigned char *)out;

	while (*p) {
		if (*p == '\n' || (*p >= 0x20 && *p < 0x7f)) {
			p++;
		} else if (*p >= 0xc2 && *p <= 0xdf && (p[1] & 0xc0) == 0x80) {
			if (*p == 0xc2 && p[1] < 0xa0)
				return (const char *)p;		/* C1 */
			p += 2;
		} else if (*p >= 0xe0 && *p <= 0xef && (p[1] & 0xc0) == 0x80 &&
			   (p[2] & 0xc0) == 0x80 && !(*p == 0xe0 && p[1] < 0xa0) &&
			   !(*p == 0xed && p[1] > 0x9f)) {
			p += 3;
		} else if (*p >= 0xf0 && *p <= 0xf4 && (p[1] & 0xc0) == 0x80 &&
			   (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 &&
			   !(*p == 0xf0 && p[1] < 0x90) && !(*p == 0xf4 && p[1] > 0x8f)) {
			p += 4;
		} else {
			return (const char *)p;
		}
	}
	return NULL;
}

/* A line of out starts with pid (after blanks), then a blank. */
static bool line_of_pid(const char *out, pid_t pid)
{
	const char *l;

	for (l = out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char *end;
		long v = strtol(l, &end, 10);

		if (v == pid && end != l && *end == ' ')
			return true;
	}
	return false;
}

START_TEST(ctl_ps_hostile_names)
{
	/* ps reads 255 bytes of a command line: the last euro sign is cut. */
	static char longname[4096], longwant[512];
	static const char euro[] = "\xe2\x82\xac";
	static const char fffd[] = "\xef\xbf\xbd";
	struct holder h[] = {
		{ "invalid UTF-8",
		  "\xc0\xaf|\xe0\x80\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xff|\xe2\x82",
		  "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd", 0 },
		{ "control characters", "ctl\x01\x1b[31m\n\t\r\x7f\x1f end",
		  "ctl\x01\x1b[31m\n\t\r\x7f\x1f end", 0 },
		{ "quotes", "q\"uo\\te' \\u0000 \\\"", "q\"uo\\te' \\u0000 \\\"", 0 },
		{ "valid UTF-8", "caf\xc3\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
		  "caf\xc3\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", 0 },
		{ "very long", longname, longwant, 0 },
	};
	size_t i, k, n = sizeof(h) / sizeof(h[0]);
	struct ctl_out *o;
	json_t *root;
	int st;

	strcpy(longname, "x");
	for (k = 0; k < 1300; k++)
		strcat(longname, euro);
	strcpy(longwant, "x");
	for (k = 0; k < 84; k++)		/* 1 + 84 * 3 = 253 bytes */
		strcat(longwant, euro);
	strcat(longwant, fffd);			/* and 2 of the next 3 */

	for (i = 0; i < n; i++)
		h[i].pid = holder_start(h[i].argv0);

	o = CTL("-J", "ps");
	ASSERT_EXIT(o, 0);
	root = strict_json(o->out, " -J ps");
	for (i = 0; i < n; i++) {
		const json_t *p = jproc(root, h[i].pid);
		const char *cmd = json_string_value(json_object_get(p, "command"));

		ck_assert_msg(cmd, "%s: no command", h[i].name);
		ck_assert_msg(!strcmp(cmd, h[i].want), "%s: command \"%s\", want \"%s\"",
			      h[i].name, cmd, h[i].want);
		ck_assert_int_eq(json_integer_value(json_object_get(p, "pins")), 1);
	}
	json_decref(root);
	ctl_free(o);

	/*
	 * For people: one line each, nothing a terminal would act on: only
	 * well-formed UTF-8 (characters of the locale pass), no C0, DEL or C1
	 * control characters but the newlines.  Raw output: printable ASCII.
	 */
	o = CTL("ps");
	ASSERT_EXIT(o, 0);
	ck_assert_msg(!terminal_unsafe(o->out), "ps prints byte 0x%02x at %zu:\n%s",
		      (unsigned char)*terminal_unsafe(o->out),
		      (size_t)(terminal_unsafe(o->out) - o->out), o->out);
	for (i = 0; i < n; i++)
		ck_assert_msg(line_of_pid(o->out, h[i].pid), "%s: pid %d not on a line of its own:\n%s",
			      h[i].name, (int)h[i].pid, o->out);
	ctl_free(o);
	o = CTL("ps", "-r", "-n", "-o", "PID,COMMAND");
	ASSERT_EXIT(o, 0);
	for (i = 0; o->out[i]; i++) {
		unsigned char c = (unsigned char)o->out[i];

		ck_assert_msg(c == '\n' || (c >= 0x20 && c < 0x7f),
			      "ps -r prints byte 0x%02x at %zu:\n%s", c, i, o->out);
	}
	for (i = 0; i < n; i++)
		ck_assert_msg(line_of_pid(o->out, h[i].pid), "%s: pid %d not on a line of its own:\n%s",
			      h[i].name, (int)h[i].pid, o->out);
	ctl_free(o);

	for (i = 0; i < n; i++) {
		kill(h[i].pid, SIGKILL);
		ck_assert_int_eq(waitpid(h[i].pid, &st, 0), h[i].pid);
	}
}
END_TEST

Suite *mempinctl_suite(void)
{
	Suite *s = suite_create("mempinctl");
	TCase *tc;

	/*
	 * Before any JSON is parsed: otherwise jansson seeds its hash tables
	 * from /dev/urandom, which early in the guest's boot makes 5.10 log
	 * "uninitialized urandom read" (and the log must stay clean).
	 */
	json_object_seed(0x6d656d70);
	tc = TCASE("mempinctl");
	tcase_add_unchecked_fixture(tc, NULL, suite_restore);
	tcase_add_test(tc, ctl_status_loaded);
	tcase_add_test(tc, ctl_ps_who_pins_how_much);
	tcase_add_test(tc, ctl_ps_any_node_path);
	tcase_add_test(tc, ctl_ps_hostile_names);
	tcase_add_test(tc, ctl_list_columns);
	tcase_add_test(tc, ctl_doctor_root_all_fine);
	tcase_add_test(tc, ctl_doctor_node);
	tcase_add_test(tc, ctl_doctor_wrong_group);
	tcase_add_test(tc, ctl_doctor_rlimit_too_low);
	tcase_add_test(tc, ctl_cap_reached);
	tcase_add_test(tc, ctl_reset_high_water);
	tcase_add_test(tc, ctl_cgroup_budgets);
	tcase_add_test(tc, ctl_cannot_tell);
	tcase_add_test(tc, ctl_not_loaded_then_load);	/* unloads: last */
	suite_add_tcase(s, tc);
	return s;
}
