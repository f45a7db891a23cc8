// SPDX-License-Identifier: GPL-2.0
/* mempin-fuzz: reporting, the kernel log, module reload, end-of-phase checks. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

struct fuzz_cfg cfg;
int phase_kmsg_fd = -1;

/* ---- reporting ---- */

struct fail_area {
	volatile int flag;
	char msg[4096];
};
static struct fail_area local_fail, *fa = &local_fail;

void fail_init(void)
{
	void *p = mmap(NULL, sizeof(*fa), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		fa = p;
}

void say(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line: lines of several processes do not mix. */
	if (write(1, buf, n) < 0)
		return;
}

void fail(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("FUZZ-FAIL: %s", buf);
	if (__sync_bool_compare_and_swap(&fa->flag, 0, 1))
		snprintf(fa->msg, sizeof(fa->msg), "%s", buf);
}

void fail_reset(void)
{
	fa->flag = 0;
}

bool failed(void)
{
	return fa->flag;
}

const char *fail_msg(void)
{
	return fa->msg;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- kernel views ---- */

int64_t pins_held(uint64_t *acq, uint64_t *rel)
{
	struct kv_pins p;

	if (kv_pins_get(&p))
		return INT64_MIN;
	if (acq)
		*acq = p.acquired;
	if (rel)
		*rel = p.released;
	return (int64_t)(p.acquired - p.released);
}

/* ---- kernel log ---- */

static const char *bad_re =
	"WARNING|BUG|Oops|Call Trace|general protection|KASAN|UBSAN|"
	"lockdep|kmemleak|refcount_t|list_add|list_del|mempin|"
	"INFO: (possible|task)|inconsistent lock|circular locking";
static const char *ok_re =
	"mempin: (loading out-of-tree module taints kernel|module verification "
	"failed: signature and/or required key missing - tainting kernel)|"
	/* CONFIG_DEBUG_STACK_USAGE (debug kernel): names the process. */
	"^[^ ]+ \\([0-9]+\\) used greatest stack depth: [0-9]+ bytes left$";

/*
 * One OOM report runs from "invoked oom-killer" to "Out of memory: Killed
 * process"; in it, only its own stack dump and task list (which name our
 * processes, and on a debug kernel lockdep's functions) are forgiven, never
 * a WARNING, BUG or sanitizer line.  The
 * reaper's line after it names the victim too.
 */
static struct kv_kcsan kcsan;	/* a KCSAN report may span two calls */

/* After a phase on a KCSAN kernel: how many reports, how many mempin's. */
static void kcsan_say(const char *phase)
{
	static unsigned long mine, other;

	if (kcsan.mine != mine || kcsan.other != other)
		say("phase %s: KCSAN: %lu data-race reports naming mempin, %lu of "
		    "the rest of the kernel (skipped)", phase, kcsan.mine - mine,
		    kcsan.other - other);
	mine = kcsan.mine;
	other = kcsan.other;
}

int kmsg_bad(int fd, bool allow_oom)
{
	static regex_t bad, ok, oom_start, oom_end, oom_line, oom_forgive;
	static bool compiled;
	static bool in_oom;	/* an OOM report may span two calls */
	char rec[8192];
	int nbad = 0;
	ssize_t n;

	if (!compiled) {
		regcomp(&bad, bad_re, REG_EXTENDED | REG_NOSUB);
		regcomp(&ok, ok_re, REG_EXTENDED | REG_NOSUB);
		regcomp(&oom_start, "invoked oom-killer:", REG_EXTENDED | REG_NOSUB);
		regcomp(&oom_end, "(Out of memory|Memory cgroup out of memory): Killed process|"
			"Out of memory and no killable processes",
			REG_EXTENDED | REG_NOSUB);
		regcomp(&oom_line, "^oom_reaper: reaped process|^oom-kill:",
			REG_EXTENDED | REG_NOSUB);
		/* Not "lockdep": a debug kernel's OOM stack dump has frames
		 * like lockdep_hardirqs_on_prepare; a lockdep report always
		 * starts with a WARNING line. */
		regcomp(&oom_forgive, "WARNING|BUG|Oops|KASAN|UBSAN|kmemleak|"
			"general protection|refcount_t",
			REG_EXTENDED | REG_NOSUB);
		compiled = true;
	}
	for (;;) {
		char *msg;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE) {
			/* Overwritten before we read them: unchecked. */
			say("kernel log: records lost (the log wrapped)");
			if (!allow_oom)
				nbad++;
			in_oom = false;
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;	/* continuation lines: dropped */
		switch (kv_kcsan_line(&kcsan, msg)) {
		case 1:
			continue;
		case 2:
			if (nbad++ < 40)
				say("kernel log: KCSAN report naming mempin: %s", kcsan.title);
			continue;
		}
		if (allow_oom) {
			if (!regexec(&oom_start, msg, 0, NULL, 0))
				in_oom = true;
			if (in_oom || !regexec(&oom_line, msg, 0, NULL, 0)) {
				if (!regexec(&oom_end, msg, 0, NULL, 0))
					in_oom = false;
				if (regexec(&oom_forgive, msg, 0, NULL, 0))
					continue;
			}
		}
		if (regexec(&bad, msg, 0, NULL, 0) || !regexec(&ok, msg, 0, NULL, 0))
			continue;
		if (nbad++ < 40)
			say("kernel log: %s", msg);
	}
	return nbad;
}

/* ---- module ---- */

int module_unload(void)
{
	if (syscall(SYS_delete_module, "mempin", O_NONBLOCK)) {
		int r = -errno;

		fail("rmmod mempin: %s (refcnt %ld)", strerror(errno), kv_refcnt());
		return r;
	}
	return 0;
}

int module_load(void)
{
	const char *path = getenv("MEMPIN_MODULE");
	int fd, r;

	if (!path || !*path) {
		fail("MEMPIN_MODULE is not set: cannot load mempin");
		return -ENOENT;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
		r = -errno;
		fail("insmod %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	/* As the udev rule would: the test group's device. */
	if (chown(MEMPIN_DEV, 0, 1000) || chmod(MEMPIN_DEV, 0660)) {
		fail("chown/chmod %s: %s", MEMPIN_DEV, strerror(errno));
		return -errno;
	}
	return 0;
}

int module_reload(void)
{
	int r = module_unload();

	return r ? r : module_load();
}

int cap_counter_zero(void)
{
	enum { N = 256 };
	char *m = mmap(NULL, (N + 1) * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	int fd = mp_open(), r1 = -1, r2 = -1, bad = 0;
	uint64_t h;

	if (fd < 0 || m == MAP_FAILED) {
		fail("cap check: open %s / mmap: %s", MEMPIN_DEV, strerror(-fd));
		return -1;
	}
	kv_param_set("max_pinned_pages", N);
	r1 = mp_pin(fd, m, N * PG, 0, &h, NULL);
	if (!r1)
		r2 = mp_pin(fd, m + N * PG, PG, 0, &h, NULL);
	kv_param_set("max_pinned_pages", 0);
	if (r1) {
		fail("global pinned counter not zero: with max_pinned_pages=%d, "
		     "a pin of %d pages failed: %s", N, N, strerror(-r1));
		bad = 1;
	} else if (r2 != -ENOMEM) {
		fail("max_pinned_pages=%d: pin of page %d gave %s, not ENOMEM",
		     N, N + 1, r2 ? strerror(-r2) : "success");
		bad = 1;
	}
	close(fd);
	munmap(m, (N + 1) * PG);
	return bad ? -1 : 0;
}

/*
 * The module's own system-wide counters (sysfs, where the module has
 * them): all zero once every container is closed.
 */
static void sysfs_totals_zero(const char *phase)
{
	static const char *const names[] = { "containers", "pins", "pinned_pages",
					     "charged_pages" };
	char path[128];

	for (unsigned int i = 0; i < 4; i++) {
		long v;

		snprintf(path, sizeof(path), "/sys/class/misc/mempin/stats/%s", names[i]);
		v = kv_read_long(path);
		if (v > 0)
			fail("%s: %s is %ld with every container closed", phase, path, v);
	}
}

int phase_end_checks(const char *phase, int kmsg_fd, bool allow_oom,
		     int64_t pins_before)
{
	uint64_t a = 0, r = 0;
	int64_t held;
	long rc;
	int nbad, bad0 = failed();

	/* Releases run at the last fput, maybe a little after exit. */
	for (int i = 0; i < 100 && (rc = kv_refcnt()) > 0; i++)
		usleep(100000);
	if (rc != 0)
		fail("%s: module refcnt %ld after the phase", phase, rc);
	if (kv_vmpin_kb(0) != 0)
		fail("%s: the fuzzer's own VmPin is %ld kB", phase, kv_vmpin_kb(0));
	sysfs_totals_zero(phase);
	cap_counter_zero();
	held = pins_held(&a, &r);
	if (held != pins_before)
		fail("%s: pins held %lld (acquired %llu, released %llu), %lld before",
		     phase, (long long)held, (unsigned long long)a,
		     (unsigned long long)r, (long long)pins_before);
	module_reload();
	nbad = kmsg_bad(kmsg_fd, allow_oom);
	kcsan_say(phase);
	if (nbad)
		fail("%s: %d bad kernel log lines", phase, nbad);
	say("phase %s: end checks: refcnt 0, VmPin 0, cap counter 0, pins held %lld "
	    "(acquired %llu released %llu), rmmod+insmod, kernel log: %d bad: %s",
	    phase, (long long)held, (unsigned long long)a, (unsigned long long)r,
	    nbad, failed() && !bad0 ? "FAILED" : "ok");
	return failed() && !bad0 ? -1 : 0;
}
