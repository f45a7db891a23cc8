// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl: what an administrator sees of mempin and controls.  See
 * mempinctl(8).
 *
 *   status          the module (libkmod), the device node, the counters
 *   ps              processes holding containers, from /proc/PID/fdinfo
 *   load, unload    through libkmod
 *   cap [SIZE]      the administrator cap (module parameter)
 *   doctor [SIZE]   why the current user could not open /dev/mempin or pin
 *
 * Human output by default, --json for programs.  Everything it reads is
 * world-readable except other users' fdinfo (ps as root sees everyone).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <libkmod.h>
#include <linux/mempin.h>

#ifndef MEMPIN_VERSION
#define MEMPIN_VERSION "unknown"
#endif

#define MOD_NAME	"mempin"
#define SYS_MODULE	"/sys/module/mempin"
#define SYS_PARAMS	SYS_MODULE "/parameters"
#define PARAM_CAP	SYS_PARAMS "/max_pinned_pages"
#define PARAM_MODE	SYS_PARAMS "/charge_mode"
#define SYS_MISC	"/sys/class/misc/mempin"
#define SYS_STATS	SYS_MISC "/stats"
#define DEFAULT_DEVICE	"/dev/mempin"
#define CAP_IPC_LOCK_BIT 14

/* Exit status (mempinctl(8), EXIT STATUS). */
enum {
	EXIT_OK = 0,		/* done; doctor: nothing stands in the way */
	EXIT_FAIL = 1,		/* the command failed; doctor: a problem */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NOT_LOADED = 3,	/* the command needs the module loaded */
};

struct ctl {
	struct kmod_ctx *kmod;
	const char *device;	/* $MEMPIN_DEVICE or /dev/mempin */
	struct utsname uts;
	uint64_t page_size;
	bool json;
	bool verbose;		/* libkmod's own messages */
	bool pins;		/* ps: list every pin */
};

/* ------------------------------------------------------------ helpers */

/* Reads a small file, without its trailing newline: length or -errno. */
static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	return (int)n;
}

/* Writes s to a sysfs file: 0 or -errno. */
static int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Why root-only sysfs writes failed, in words. */
static const char *write_error(int r)
{
	return r == -EACCES || r == -EPERM ? "it needs root" : strerror(-r);
}

/* A whole decimal number (no sign, no trailing text). */
static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	int n = read_text(path, buf, sizeof(buf));

	if (n < 0)
		return n;
	return parse_u64(buf, v) ? 0 : -EINVAL;
}

/*
 * What RLIMIT_MEMLOCK bounds (the module's charge_mode): "user" (all of a
 * user's processes together) or "process"; "" if it cannot be read.
 */
static const char *charge_mode(char *buf, size_t len)
{
	FILE *f = fopen(PARAM_MODE, "re");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	return buf;
}

/* "s" unless n is 1. */
static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* "4.0 KiB", "1.5 GiB", "512 B". */
static const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", b);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned int)uid);
	return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", (unsigned int)gid);
	return buf;
}

/*
 * SIZE: bytes, with an optional binary suffix K, M, G, T (KiB... and KB...
 * mean the same), or pages with the suffix p.  0 stays 0.
 */
static bool parse_size(const char *s, uint64_t page_size, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	uint64_t v, mult = 1;
	const char *u;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (!strcmp(end, "p") || !strcmp(end, "pages")) {
		mult = page_size;
	} else if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return false;
		mult = 1ULL << (10 * (u - units + 1));
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return false;
	}
	if (v && mult > UINT64_MAX / v)
		return false;
	*bytes = v * mult;
	return true;
}

/* --------------------------------------------------------------- JSON */

/*
 * A streaming writer: two-space indented, keys in the order written.
 * Strings are escaped and always valid UTF-8, whatever the bytes (a
 * process's command line may be any bytes).
 */
struct json {
	FILE *f;
	int depth;
	bool first;		/* nothing written yet in the open container */
};

/*
 * The length of the well-formed UTF-8 sequence at p (Unicode 15, Table 3-7:
 * no overlongs, no surrogates D800..DFFF, nothing above U+10FFFF), or 0 if
 * it is ill-formed; then *bad is the length of its maximal subpart (at least
 * 1), the bytes that one U+FFFD replaces (Unicode 3.9, "U+FFFD Substitution
 * of Maximal Subparts", as Python, ICU and the WHATWG decoder do).  p is
 * NUL-terminated: a NUL is never a continuation byte.
 */
static size_t utf8_seq(const unsigned char *p, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;	/* 80..C1 (continuation, overlong lead), F5..FF */
	/* The second byte's range depends on the first. */
	if (c == 0xe0)
		lo = 0xa0;	/* overlong below U+0800 */
	else if (c == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (c == 0xf0)
		lo = 0x90;	/* overlong below U+10000 */
	else if (c == 0xf4)
		hi = 0x8f;	/* above U+10FFFF */
	for (i = 1; i < n; i++) {
		if (p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/*
 * A JSON string (RFC 8259) of the C string s: '"' and '\\' escaped, control
 * characters (C0 and DEL) as \b \f \n \r \t or \u00XX, well-formed UTF-8
 * as is, and every maximal subpart of an ill-formed sequence as \ufffd
 * (REPLACEMENT CHARACTER), so a strict parser always accepts the output.
 */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, bad;

	fputc('"', f);
	while (*p) {
		unsigned char c = *p;

		n = utf8_seq(p, &bad);
		if (!n) {
			fputs("\\ufffd", f);
			p += bad;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\b')
			fputs("\\b", f);
		else if (c == '\f')
			fputs("\\f", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

static void json_item(struct json *j, const char *key)
{
	if (j->depth)
		fputs(j->first ? "\n" : ",\n", j->f);
	fprintf(j->f, "%*s", 2 * j->depth, "");
	if (key) {
		json_string(j->f, key);
		fputs(": ", j->f);
	}
	j->first = false;
}

static void json_open(struct json *j, const char *key, char c)
{
	json_item(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first = true;
}

static void json_close(struct json *j, char c)
{
	j->depth--;
	if (!j->first)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
	j->first = false;
	if (!j->depth)
		fputc('\n', j->f);
}

static void json_str(struct json *j, const char *key, const char *s)
{
	json_item(j, key);
	if (s)
		json_string(j->f, s);
	else
		fputs("null", j->f);
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_item(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

static void json_i64(struct json *j, const char *key, int64_t v)
{
	json_item(j, key);
	fprintf(j->f, "%" PRId64, v);
}

static void json_bool(struct json *j, const char *key, bool v)
{
	json_item(j, key);
	fputs(v ? "true" : "false", j->f);
}

static void json_null(struct json *j, const char *key)
{
	json_item(j, key);
	fputs("null", j->f);
}

/* ------------------------------------------------------ what we read */

/* The module: loaded (sysfs, through libkmod) and installed (lookup). */
struct modinfo {
	int initstate;		/* KMOD_MODULE_*, negative if not loaded */
	int refcnt;
	char version[64], srcversion[64];
	char path[PATH_MAX];	/* installed module file, "" if none */
	char inst_version[64], inst_srcversion[64];
	char vermagic[160], signer[160];
	bool dkms;		/* path is DKMS's (updates/dkms/) */
};

static bool mod_loaded(const struct modinfo *m)
{
	return m->initstate == KMOD_MODULE_LIVE ||
	       m->initstate == KMOD_MODULE_COMING ||
	       m->initstate == KMOD_MODULE_GOING;
}

static bool mod_live(const struct modinfo *m)
{
	return m->initstate == KMOD_MODULE_LIVE;
}

static void mod_copy_info(struct kmod_module *mod, struct modinfo *m)
{
	struct kmod_list *info = NULL, *l;

	if (kmod_module_get_info(mod, &info) < 0)
		return;
	kmod_list_foreach(l, info) {
		const char *k = kmod_module_info_get_key(l);
		const char *v = kmod_module_info_get_value(l);

		if (!k || !v)
			continue;
		if (!strcmp(k, "version"))
			snprintf(m->inst_version, sizeof(m->inst_version), "%s", v);
		else if (!strcmp(k, "srcversion"))
			snprintf(m->inst_srcversion, sizeof(m->inst_srcversion), "%s", v);
		else if (!strcmp(k, "vermagic"))
			snprintf(m->vermagic, sizeof(m->vermagic), "%s", v);
		else if (!strcmp(k, "signer"))
			snprintf(m->signer, sizeof(m->signer), "%s", v);
	}
	kmod_module_info_free_list(info);
}

static void mod_read(const struct ctl *c, struct modinfo *m)
{
	struct kmod_module *mod;
	struct kmod_list *list = NULL;

	memset(m, 0, sizeof(*m));
	m->initstate = -ENOENT;
	m->refcnt = -1;
	if (kmod_module_new_from_name(c->kmod, MOD_NAME, &mod) == 0) {
		m->initstate = kmod_module_get_initstate(mod);
		if (mod_loaded(m))
			m->refcnt = kmod_module_get_refcnt(mod);
		kmod_module_unref(mod);
	}
	if (mod_loaded(m)) {
		read_text(SYS_MODULE "/version", m->version, sizeof(m->version));
		read_text(SYS_MODULE "/srcversion", m->srcversion,
			  sizeof(m->srcversion));
	}
	/* What modprobe would load: /lib/modules/$(uname -r). */
	if (kmod_module_new_from_lookup(c->kmod, MOD_NAME, &list) == 0 && list) {
		const char *path;

		mod = kmod_module_get_module(list);
		path = kmod_module_get_path(mod);
		if (path && !strcmp(kmod_module_get_name(mod), MOD_NAME)) {
			snprintf(m->path, sizeof(m->path), "%s", path);
			m->dkms = strstr(path, "/updates/dkms/") != NULL;
			mod_copy_info(mod, m);
		}
		kmod_module_unref(mod);
		kmod_module_unref_list(list);
	}
}

/* The misc device: its number in sysfs, and the node. */
struct devinfo {
	const char *path;
	bool registered;	/* SYS_MISC/dev exists */
	unsigned int major, minor;
	int stat_err;		/* errno of stat(path), 0 */
	struct stat st;
};

static void dev_read(const struct ctl *c, struct devinfo *d)
{
	char buf[32];

	memset(d, 0, sizeof(*d));
	d->path = c->device;
	d->registered = read_text(SYS_MISC "/dev", buf, sizeof(buf)) > 0 &&
			sscanf(buf, "%u:%u", &d->major, &d->minor) == 2;
	d->stat_err = stat(d->path, &d->st) ? errno : 0;
}

static bool dev_is_mempin(const struct devinfo *d)
{
	return d->registered && !d->stat_err && S_ISCHR(d->st.st_mode) &&
	       major(d->st.st_rdev) == d->major &&
	       minor(d->st.st_rdev) == d->minor;
}

/* The system-wide counters, SYS_STATS. */
enum {
	ST_CONTAINERS, ST_PINS, ST_PAGES, ST_PAGES_MAX, ST_CHARGED,
	ST_REF_RLIMIT, ST_REF_CAP, ST_REF_MAPPING, ST_REF_LIMIT, ST_REF_GUP,
	ST_NR
};

static const char *const stat_name[ST_NR] = {
	"containers", "pins", "pinned_pages", "pinned_pages_max",
	"charged_pages", "refused_rlimit", "refused_cap", "refused_mapping",
	"refused_limit", "refused_gup",
};

struct counters {
	bool any;		/* the directory exists */
	bool have[ST_NR];
	uint64_t v[ST_NR];
};

static void counters_read(struct counters *k)
{
	char path[128];
	int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < ST_NR; i++) {
		snprintf(path, sizeof(path), SYS_STATS "/%s", stat_name[i]);
		k->have[i] = read_u64(path, &k->v[i]) == 0;
		k->any |= k->have[i];
	}
}

/* The cap: 0 = none; false if the module (parameter) is not there. */
static bool cap_read(uint64_t *pages)
{
	return read_u64(PARAM_CAP, pages) == 0;
}

/* -------------------------------------------------------------- status */

static void status_json(const struct ctl *c, const struct modinfo *m,
			const struct devinfo *d, const struct counters *k)
{
	char mode[32];
	struct json j = { stdout, 0, true };
	char name[64], buf[PATH_MAX];
	uint64_t cap;
	bool loaded = mod_loaded(m);
	DIR *dir;
	int i;

	json_open(&j, NULL, '{');
	json_str(&j, "kernel", c->uts.release);
	json_u64(&j, "page_size", c->page_size);

	json_open(&j, "module", '{');
	json_str(&j, "name", MOD_NAME);
	json_bool(&j, "loaded", loaded);
	json_str(&j, "state", loaded ? kmod_module_initstate_str(m->initstate) : NULL);
	json_str(&j, "version", loaded && *m->version ? m->version : NULL);
	json_str(&j, "srcversion", loaded && *m->srcversion ? m->srcversion : NULL);
	if (loaded && m->refcnt >= 0)
		json_i64(&j, "refcount", m->refcnt);
	else
		json_null(&j, "refcount");
	dir = loaded ? opendir(SYS_PARAMS) : NULL;
	if (dir) {
		struct dirent *e;

		json_open(&j, "parameters", '{');
		while ((e = readdir(dir))) {
			uint64_t v;

			if (e->d_name[0] == '.')
				continue;
			snprintf(buf, sizeof(buf), SYS_PARAMS "/%s", e->d_name);
			if (read_text(buf, name, sizeof(name)) < 0)
				continue;
			if (parse_u64(name, &v))
				json_u64(&j, e->d_name, v);
			else
				json_str(&j, e->d_name, name);
		}
		closedir(dir);
		json_close(&j, '}');
	} else {
		json_null(&j, "parameters");
	}
	json_bool(&j, "installed", *m->path);
	json_str(&j, "path", *m->path ? m->path : NULL);
	json_str(&j, "installed_version", *m->inst_version ? m->inst_version : NULL);
	json_str(&j, "installed_srcversion",
		 *m->inst_srcversion ? m->inst_srcversion : NULL);
	json_str(&j, "vermagic", *m->vermagic ? m->vermagic : NULL);
	json_str(&j, "signer", *m->signer ? m->signer : NULL);
	json_bool(&j, "dkms", m->dkms);
	json_close(&j, '}');

	json_open(&j, "device", '{');
	json_str(&j, "path", d->path);
	json_bool(&j, "registered", d->registered);
	if (d->registered) {
		json_u64(&j, "major", d->major);
		json_u64(&j, "minor", d->minor);
	} else {
		json_null(&j, "major");
		json_null(&j, "minor");
	}
	json_bool(&j, "present", !d->stat_err);
	json_bool(&j, "matches", dev_is_mempin(d));
	if (!d->stat_err) {
		json_u64(&j, "uid", d->st.st_uid);
		json_str(&j, "owner", user_name(d->st.st_uid, name, sizeof(name)));
		json_u64(&j, "gid", d->st.st_gid);
		json_str(&j, "group", group_name(d->st.st_gid, name, sizeof(name)));
		snprintf(name, sizeof(name), "%04o", (unsigned int)(d->st.st_mode & 07777));
		json_str(&j, "mode", name);
	} else {
		json_null(&j, "uid");
		json_null(&j, "owner");
		json_null(&j, "gid");
		json_null(&j, "group");
		json_null(&j, "mode");
	}
	json_close(&j, '}');

	if (loaded && *charge_mode(mode, sizeof(mode)))
		json_str(&j, "charge_mode", mode);
	else
		json_null(&j, "charge_mode");
	if (loaded && cap_read(&cap)) {
		json_open(&j, "cap", '{');
		json_u64(&j, "max_pinned_pages", cap);
		json_u64(&j, "max_pinned_bytes", cap * c->page_size);
		json_close(&j, '}');
	} else {
		json_null(&j, "cap");
	}
	if (k->any) {
		json_open(&j, "stats", '{');
		for (i = 0; i < ST_NR; i++)
			if (k->have[i])
				json_u64(&j, stat_name[i], k->v[i]);
		json_close(&j, '}');
	} else {
		json_null(&j, "stats");
	}
	json_close(&j, '}');
}

static void status_human(const struct ctl *c, const struct modinfo *m,
			 const struct devinfo *d, const struct counters *k)
{
	char mode[32];
	char b1[32], b2[32], u[64], g[64];
	uint64_t cap = 0;
	bool have_cap = mod_loaded(m) && cap_read(&cap);
	const uint64_t *v = k->v;

	printf("mempin on Linux %s\n", c->uts.release);
	if (mod_loaded(m)) {
		printf("  module      loaded (%s), version %s, srcversion %s, refcount %d\n",
		       kmod_module_initstate_str(m->initstate),
		       *m->version ? m->version : "?",
		       *m->srcversion ? m->srcversion : "?", m->refcnt);
	} else {
		printf("  module      not loaded\n");
	}
	if (*m->path) {
		printf("  installed   %s%s, version %s", m->path,
		       m->dkms ? " (DKMS)" : "",
		       *m->inst_version ? m->inst_version : "?");
		if (mod_loaded(m) && *m->srcversion && *m->inst_srcversion)
			printf(", %s", strcmp(m->srcversion, m->inst_srcversion) ?
			       "NOT the loaded build" : "the loaded build");
		printf("\n");
	} else {
		printf("  installed   no mempin in /lib/modules/%s%s\n", c->uts.release,
		       mod_loaded(m) ? " (the loaded one came from elsewhere)" : "");
	}
	if (have_cap) {
		if (cap)
			printf("  cap         max_pinned_pages %" PRIu64 " (%s)\n", cap,
			       fmt_bytes(cap * c->page_size, b1, sizeof(b1)));
		else
			printf("  cap         none (max_pinned_pages 0)\n");
	}
	if (d->stat_err) {
		printf("  device      %s: %s\n", d->path, strerror(d->stat_err));
	} else {
		printf("  device      %s %c %u:%u %s:%s %04o%s\n", d->path,
		       S_ISCHR(d->st.st_mode) ? 'c' : '?',
		       major(d->st.st_rdev), minor(d->st.st_rdev),
		       user_name(d->st.st_uid, u, sizeof(u)),
		       group_name(d->st.st_gid, g, sizeof(g)),
		       (unsigned int)(d->st.st_mode & 07777),
		       !d->registered ? " (stale: no mempin device registered)" :
		       dev_is_mempin(d) ? "" : " (NOT the mempin device)");
	}
	if (!k->any)
		return;
	printf("  containers  %" PRIu64 " open, %" PRIu64 " pin%s\n",
	       v[ST_CONTAINERS], v[ST_PINS], plural(v[ST_PINS]));
	printf("  pinned      %" PRIu64 " pages (%s), high-water %" PRIu64 " pages (%s)",
	       v[ST_PAGES], fmt_bytes(v[ST_PAGES] * c->page_size, b1, sizeof(b1)),
	       v[ST_PAGES_MAX], fmt_bytes(v[ST_PAGES_MAX] * c->page_size, b2, sizeof(b2)));
	if (cap)
		printf(", %.1f%% of the cap", 100.0 * (double)v[ST_PAGES] / (double)cap);
	charge_mode(mode, sizeof(mode));
	printf("\n  charged     %" PRIu64 " pages (%s) to RLIMIT_MEMLOCK, one budget per %s\n",
	       v[ST_CHARGED], fmt_bytes(v[ST_CHARGED] * c->page_size, b1, sizeof(b1)),
	       !strcmp(mode, "process") ? "process (charge_mode process)" :
	       "user (charge_mode user), shared with io_uring");
	printf("  refused     rlimit %" PRIu64 ", cap %" PRIu64 ", mapping %" PRIu64
	       ", limit %" PRIu64 ", gup %" PRIu64 "\n", v[ST_REF_RLIMIT],
	       v[ST_REF_CAP], v[ST_REF_MAPPING], v[ST_REF_LIMIT], v[ST_REF_GUP]);
}

static int cmd_status(const struct ctl *c)
{
	struct modinfo m;
	struct devinfo d;
	struct counters k;

	mod_read(c, &m);
	dev_read(c, &d);
	counters_read(&k);
	if (c->json)
		status_json(c, &m, &d, &k);
	else
		status_human(c, &m, &d, &k);
	return mod_loaded(&m) ? EXIT_OK : EXIT_NOT_LOADED;
}

/* ------------------------------------------------------------------ ps */

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

static void *xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p)
		errx(EXIT_FAIL, "out of memory");
	return p;
}

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

static int cmd_ps(const struct ctl *c)
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

/* ---------------------------------------------------- load, unload, cap */

static const char *insert_error(int e)
{
	switch (e) {
	case EPERM:
	case EACCES:
		return "permission denied: loading a module needs root (CAP_SYS_MODULE)";
	case EKEYREJECTED:
	case ENOKEY:
		return "the kernel rejected the module's signature (Secure Boot?): "
		       "enroll DKMS's key (mokutil --import /var/lib/dkms/mok.pub) and reboot";
	case ENOEXEC:
		return "not a module for this kernel: rebuild it (DKMS: dkms autoinstall)";
	case EINVAL:
		return "invalid module or parameters (the kernel log says which: dmesg)";
	default:
		return strerror(e);
	}
}

static int cmd_load(const struct ctl *c, const char *file)
{
	struct kmod_module *mod = NULL;
	struct kmod_list *list = NULL;
	struct modinfo m;
	int r;

	mod_read(c, &m);
	if (mod_loaded(&m)) {
		warnx("mempin is already loaded (%s)",
		    kmod_module_initstate_str(m.initstate));
		return EXIT_OK;
	}
	if (file) {
		/* As insmod, with the options modprobe.d gives mempin. */
		r = kmod_module_new_from_path(c->kmod, file, &mod);
		if (r < 0) {
			warnx("%s: %s", file, strerror(-r));
			return EXIT_FAIL;
		}
		r = kmod_module_insert_module(mod, 0, kmod_module_get_options(mod));
	} else {
		/* As modprobe: /lib/modules/$(uname -r), modprobe.d. */
		r = kmod_module_new_from_lookup(c->kmod, MOD_NAME, &list);
		if (r < 0 || !list) {
			warnx("mempin is not installed for Linux %s (nothing in /lib/modules/%s): "
			    "mempinctl doctor says why", c->uts.release, c->uts.release);
			return EXIT_FAIL;
		}
		mod = kmod_module_get_module(list);
		kmod_module_unref_list(list);
		r = kmod_module_probe_insert_module(mod, KMOD_PROBE_FAIL_ON_LOADED,
						    NULL, NULL, NULL, NULL);
	}
	kmod_module_unref(mod);
	if (r == -EEXIST) {
		warnx("mempin is already loaded");
		return EXIT_OK;
	}
	if (r < 0) {
		warnx("loading %s: %s", file ? file : MOD_NAME, insert_error(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_unload(const struct ctl *c)
{
	struct kmod_module *mod;
	struct counters k;
	struct modinfo m;
	int r;

	mod_read(c, &m);
	if (!mod_loaded(&m)) {
		warnx("mempin is not loaded");
		return EXIT_NOT_LOADED;
	}
	r = kmod_module_new_from_name(c->kmod, MOD_NAME, &mod);
	if (r < 0) {
		warnx("libkmod: %s", strerror(-r));
		return EXIT_FAIL;
	}
	r = kmod_module_remove_module(mod, 0);
	kmod_module_unref(mod);
	if (r == -EBUSY || r == -EAGAIN) {
		counters_read(&k);
		warnx("mempin is in use: %" PRIu64 " containers open (refcount %d); "
		    "mempinctl ps shows who holds them", k.v[ST_CONTAINERS], m.refcnt);
		return EXIT_FAIL;
	}
	if (r == -EPERM || r == -EACCES) {
		warnx("permission denied: unloading a module needs root (CAP_SYS_MODULE)");
		return EXIT_FAIL;
	}
	if (r < 0) {
		warnx("unloading mempin: %s", strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cap_show(const struct ctl *c)
{
	struct counters k;
	char b1[32];
	uint64_t cap;
	bool loaded = cap_read(&cap);

	if (!loaded) {
		warnx("mempin is not loaded (the cap is its parameter max_pinned_pages)");
		if (c->json) {
			struct json j = { stdout, 0, true };

			json_open(&j, NULL, '{');
			json_bool(&j, "loaded", false);
			json_null(&j, "max_pinned_pages");
			json_null(&j, "max_pinned_bytes");
			json_null(&j, "pinned_pages");
			json_close(&j, '}');
		}
		return EXIT_NOT_LOADED;
	}
	counters_read(&k);
	if (c->json) {
		struct json j = { stdout, 0, true };

		json_open(&j, NULL, '{');
		json_bool(&j, "loaded", true);
		json_u64(&j, "max_pinned_pages", cap);
		json_u64(&j, "max_pinned_bytes", cap * c->page_size);
		if (k.have[ST_PAGES])
			json_u64(&j, "pinned_pages", k.v[ST_PAGES]);
		else
			json_null(&j, "pinned_pages");
		json_close(&j, '}');
	} else if (cap) {
		printf("cap: %" PRIu64 " pages (%s), %" PRIu64 " pinned now\n", cap,
		       fmt_bytes(cap * c->page_size, b1, sizeof(b1)), k.v[ST_PAGES]);
	} else {
		printf("cap: none, %" PRIu64 " pages pinned now\n", k.v[ST_PAGES]);
	}
	return EXIT_OK;
}

static int cmd_cap(const struct ctl *c, const char *size)
{
	uint64_t bytes, pages, now;
	char buf[32];
	int r;

	if (!size)
		return cap_show(c);
	if (!strcmp(size, "none") || !strcmp(size, "off") || !strcmp(size, "unlimited")) {
		bytes = 0;
	} else if (!parse_size(size, c->page_size, &bytes)) {
		warnx("cap: bad SIZE '%s' (bytes with K, M, G or T; pages with p; 0 or none)",
		    size);
		return EXIT_USAGE;
	}
	pages = bytes / c->page_size;
	if (bytes && !pages) {
		warnx("cap: %s is less than a page (%" PRIu64 " bytes); 0 means no cap",
		    size, c->page_size);
		return EXIT_USAGE;
	}
	if (pages > ULONG_MAX) {
		warnx("cap: %s is too large", size);
		return EXIT_USAGE;
	}
	if (!cap_read(&now)) {
		warnx("mempin is not loaded: load it first (mempinctl load), or set the cap "
		    "at load time: options mempin max_pinned_pages=N in /etc/modprobe.d/");
		return EXIT_NOT_LOADED;
	}
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", pages);
	r = write_text(PARAM_CAP, buf);
	if (r < 0) {
		warnx("cannot set the cap (%s): %s", PARAM_CAP, write_error(r));
		return EXIT_FAIL;
	}
	return c->json ? cap_show(c) : EXIT_OK;
}

/* ---------------------------------------------------------- high-water */

#define STAT_PAGES_MAX	SYS_STATS "/pinned_pages_max"

/* Starts the high-water mark of pinned pages again from what is pinned. */
static int cmd_reset_high_water(const struct ctl *c)
{
	struct json j = { stdout, 0, true };
	uint64_t max;
	char b1[32];
	int r;

	if (read_u64(STAT_PAGES_MAX, &max)) {
		warnx("mempin is not loaded: there is no high-water mark to reset");
		if (c->json) {
			json_open(&j, NULL, '{');
			json_bool(&j, "loaded", false);
			json_null(&j, "pinned_pages_max");
			json_close(&j, '}');
		}
		return EXIT_NOT_LOADED;
	}
	r = write_text(STAT_PAGES_MAX, "0\n");
	if (r < 0) {
		warnx("cannot reset the high-water mark (%s): %s", STAT_PAGES_MAX,
		    write_error(r));
		return EXIT_FAIL;
	}
	r = read_u64(STAT_PAGES_MAX, &max);
	if (r < 0) {
		warnx("%s: %s", STAT_PAGES_MAX, strerror(-r));
		return EXIT_FAIL;
	}
	if (c->json) {
		json_open(&j, NULL, '{');
		json_bool(&j, "loaded", true);
		json_u64(&j, "pinned_pages_max", max);
		json_close(&j, '}');
	} else {
		printf("high-water mark reset to what is pinned now: %" PRIu64
		       " page%s (%s)\n", max, plural(max),
		       fmt_bytes(max * c->page_size, b1, sizeof(b1)));
	}
	return EXIT_OK;
}

/* -------------------------------------------------------------- doctor */

enum result { RES_OK, RES_WARN, RES_FAIL, RES_SKIP };
static const char *const result_name[] = { "ok", "warn", "fail", "skip" };

#define CHECK_EXTRA 6
struct check {
	const char *name;
	enum result result;
	const char *reason;		/* a stable word, for programs */
	char msg[512];
	char fix[512];
	struct {
		const char *key;
		bool num;
		uint64_t v;
		char s[64];
	} extra[CHECK_EXTRA];
	int nextra;
};

static void __attribute__((format(printf, 4, 5)))
check_set(struct check *k, enum result r, const char *reason, const char *fmt, ...)
{
	va_list ap;

	k->result = r;
	k->reason = reason;
	va_start(ap, fmt);
	vsnprintf(k->msg, sizeof(k->msg), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
check_fix(struct check *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->fix, sizeof(k->fix), fmt, ap);
	va_end(ap);
}

static void check_num(struct check *k, const char *key, uint64_t v)
{
	if (k->nextra < CHECK_EXTRA) {
		k->extra[k->nextra].key = key;
		k->extra[k->nextra].num = true;
		k->extra[k->nextra++].v = v;
	}
}

static void check_str(struct check *k, const char *key, const char *s)
{
	if (k->nextra < CHECK_EXTRA) {
		k->extra[k->nextra].key = key;
		k->extra[k->nextra].num = false;
		snprintf(k->extra[k->nextra++].s, sizeof(k->extra[0].s), "%s", s);
	}
}

/* Finds PROG in $PATH or the sbin directories a user's PATH may lack. */
static bool find_program(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[1024];
	char *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin:/bin",
		 path ? path : "");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, prog);
		if (*dir && access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* What DKMS knows of mempin for this kernel (dkms status -m mempin). */
struct dkms {
	bool have;			/* the dkms command exists */
	bool registered;		/* some version is added */
	char version[64];		/* one registered version */
	char state[32];			/* for this kernel: built, installed... */
};

static void dkms_read(const struct ctl *c, struct dkms *d)
{
	char prog[PATH_MAX], line[512];
	char *argv[] = { prog, "status", "-m", MOD_NAME, NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], st;
	pid_t pid;
	FILE *f;

	memset(d, 0, sizeof(*d));
	d->have = find_program("dkms", prog, sizeof(prog));
	if (!d->have || pipe2(pipefd, O_CLOEXEC))
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, prog, &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	/*
	 * "mempin/0.1.0, 6.1.0-26-amd64, x86_64: installed" (dkms 3),
	 * "mempin, 0.1.0, 6.1.0-26-amd64, x86_64: built" (dkms 2),
	 * "mempin/0.1.0: added".
	 */
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strrchr(line, ':'), *v;
		size_t n;

		if (strncmp(line, MOD_NAME, strlen(MOD_NAME)) || !colon)
			continue;
		d->registered = true;
		v = line + strlen(MOD_NAME) + 1;
		while (*v == ' ')
			v++;
		n = strcspn(v, ",:");
		snprintf(d->version, sizeof(d->version), "%.*s", (int)n, v);
		if (strstr(line, c->uts.release)) {
			v = colon + 1;
			while (*v == ' ')
				v++;
			snprintf(d->state, sizeof(d->state), "%.*s",
				 (int)strcspn(v, " \n("), v);
		}
	}
	if (f)
		fclose(f);
	else
		close(pipefd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static void doctor_installed(const struct ctl *c, const struct modinfo *m,
			     struct check *k)
{
	const char *kv = c->uts.release;
	char build[PATH_MAX];
	struct dkms d;

	if (*m->path) {
		check_str(k, "path", m->path);
		if (mod_loaded(m) && *m->srcversion && *m->inst_srcversion &&
		    strcmp(m->srcversion, m->inst_srcversion)) {
			check_set(k, RES_WARN, "differs-from-loaded",
				  "%s (version %s) is not the build that is loaded (version %s)",
				  m->path, m->inst_version, m->version);
			check_fix(k, "load the installed one when nothing uses mempin: "
				  "sudo mempinctl unload && sudo mempinctl load");
			return;
		}
		check_set(k, RES_OK, m->dkms ? "dkms" : "installed",
			  "mempin %s for Linux %s: %s%s", *m->inst_version ?
			  m->inst_version : "?", kv, m->path, m->dkms ? " (DKMS)" : "");
		return;
	}
	if (mod_loaded(m)) {
		check_set(k, RES_WARN, "loaded-elsewhere",
			  "no mempin in /lib/modules/%s: the loaded module came from "
			  "elsewhere (insmod of a file); it will not load at boot", kv);
		check_fix(k, "install it for this kernel: the mempin-dkms package, "
			  "or sudo make install in the source tree");
		return;
	}
	dkms_read(c, &d);
	snprintf(build, sizeof(build), "/lib/modules/%s/build/Makefile", kv);
	if (!d.have) {
		check_set(k, RES_FAIL, "not-installed",
			  "mempin is not installed for Linux %s (no mempin in /lib/modules/%s, no DKMS)",
			  kv, kv);
		check_fix(k, "install the mempin-dkms package (it needs dkms and the kernel "
			  "headers), or sudo make install in the source tree");
	} else if (!d.registered) {
		check_set(k, RES_FAIL, "dkms-not-registered",
			  "mempin is not registered with DKMS, and not installed for Linux %s", kv);
		check_fix(k, "install the mempin-dkms package, or sudo make install "
			  "in the source tree");
	} else if (!strcmp(d.state, "installed")) {
		check_set(k, RES_FAIL, "dkms-not-indexed",
			  "DKMS installed mempin %s for Linux %s, but the module index "
			  "does not list it", d.version, kv);
		check_fix(k, "sudo depmod %s", kv);
	} else if (!strcmp(d.state, "built")) {
		check_set(k, RES_FAIL, "dkms-built",
			  "DKMS built mempin %s for Linux %s but did not install it",
			  d.version, kv);
		check_fix(k, "sudo dkms install mempin/%s -k %s", d.version, kv);
	} else if (access(build, F_OK)) {
		check_set(k, RES_FAIL, "no-headers",
			  "mempin %s is registered with DKMS but not built for Linux %s: "
			  "its headers are not installed", d.version, kv);
		check_fix(k, "sudo apt install linux-headers-%s (DKMS then builds it; "
			  "or sudo dkms autoinstall -k %s)", kv, kv);
	} else {
		check_set(k, RES_FAIL, "dkms-not-built",
			  "mempin %s is registered with DKMS but not built for Linux %s",
			  d.version, kv);
		check_fix(k, "sudo dkms autoinstall -k %s; if it fails, the build log is "
			  "/var/lib/dkms/mempin/%s/build/make.log", kv, d.version);
	}
	if (d.registered)
		check_str(k, "dkms_version", d.version);
	if (*d.state)
		check_str(k, "dkms_state", d.state);
}

static void doctor_loaded(const struct modinfo *m, struct check *k)
{
	if (mod_live(m)) {
		check_set(k, RES_OK, "loaded", "loaded, version %s, refcount %d",
			  *m->version ? m->version : "?", m->refcnt);
	} else if (mod_loaded(m)) {
		check_set(k, RES_FAIL, kmod_module_initstate_str(m->initstate),
			  "the module is %s (being %s)",
			  kmod_module_initstate_str(m->initstate),
			  m->initstate == KMOD_MODULE_COMING ? "loaded" : "unloaded");
		check_fix(k, "wait a moment and run mempinctl doctor again");
	} else {
		check_set(k, RES_FAIL, "not-loaded", "mempin is not loaded");
		if (*m->path)
			check_fix(k, "sudo mempinctl load (or sudo modprobe mempin); at every "
				  "boot: copy the example modules-load.d/mempin.conf to "
				  "/etc/modules-load.d/");
		else
			check_fix(k, "install it (above), then sudo mempinctl load");
	}
}

static void doctor_device(const struct modinfo *m, const struct devinfo *d,
			  struct check *k)
{
	char u[64], g[64];

	if (!mod_live(m)) {
		check_set(k, RES_SKIP, "not-loaded", "no device without the module");
		return;
	}
	check_str(k, "path", d->path);
	if (!d->registered) {
		check_set(k, RES_FAIL, "not-registered",
			  "the module is loaded but registered no device (%s missing)",
			  SYS_MISC "/dev");
		check_fix(k, "the kernel log says why: dmesg | grep mempin");
		return;
	}
	if (d->stat_err == ENOENT) {
		check_set(k, RES_FAIL, "no-node", "%s does not exist (the device is c %u:%u)",
			  d->path, d->major, d->minor);
		check_fix(k, "udev makes it: is systemd-udevd running? sudo udevadm trigger "
			  "--action=add --subsystem-match=misc --sysname-match=mempin; without "
			  "udev: sudo mknod -m 0660 %s c %u %u && sudo chgrp mempin %s",
			  d->path, d->major, d->minor, d->path);
		return;
	}
	if (d->stat_err) {
		check_set(k, RES_FAIL, "no-node", "%s: %s", d->path, strerror(d->stat_err));
		return;
	}
	if (!dev_is_mempin(d)) {
		check_set(k, RES_FAIL, "wrong-node", "%s is not the mempin device (c %u:%u)",
			  d->path, d->major, d->minor);
		check_fix(k, "remove it; udev makes the right one: sudo udevadm trigger "
			  "--action=add --subsystem-match=misc --sysname-match=mempin");
		return;
	}
	check_set(k, RES_OK, "ok", "%s c %u:%u %s:%s %04o", d->path, d->major, d->minor,
		  user_name(d->st.st_uid, u, sizeof(u)),
		  group_name(d->st.st_gid, g, sizeof(g)),
		  (unsigned int)(d->st.st_mode & 07777));
}

static bool in_groups(gid_t gid, const gid_t *groups, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Why the open() as this user failed, from the node's owner, group, mode. */
static void doctor_why_denied(const struct devinfo *d, const char *user,
			      struct check *k)
{
	gid_t groups[NGROUPS_MAX + 1], member[NGROUPS_MAX + 1];
	int n = getgroups(NGROUPS_MAX, groups), nmember = NGROUPS_MAX + 1;
	mode_t mode = d->st.st_mode;
	struct passwd *pw = getpwuid(geteuid());
	gid_t gid = d->st.st_gid;
	char g[64];

	group_name(gid, g, sizeof(g));
	check_str(k, "group", g);
	if (n < 0)
		n = 0;
	groups[n++] = getegid();
	if (geteuid() != d->st.st_uid && (mode & 0060) == 0060 &&
	    !in_groups(gid, groups, n)) {
		if (pw && getgrouplist(pw->pw_name, pw->pw_gid, member, &nmember) >= 0 &&
		    in_groups(gid, member, nmember)) {
			check_set(k, RES_FAIL, "group-not-in-session",
				  "%s is in group %s, which may open %s, but this session "
				  "started before that", user, g, d->path);
			check_fix(k, "log in again (or run: newgrp %s)", g);
		} else {
			check_set(k, RES_FAIL, "not-in-group",
				  "%s is not in group %s, which may open %s (%04o)", user,
				  g, d->path, (unsigned int)(mode & 07777));
			check_fix(k, "sudo usermod -aG %s %s, then log in again", g, user);
		}
		return;
	}
	if ((mode & 0060) != 0060) {
		check_set(k, RES_FAIL, "mode",
			  "%s has mode %04o: its group %s may not open it", d->path,
			  (unsigned int)(mode & 07777), g);
		check_fix(k, "the udev rule 60-mempin.rules gives it to group mempin, "
			  "mode 0660: is it installed? then sudo udevadm trigger --action=add "
			  "--subsystem-match=misc --sysname-match=mempin");
		return;
	}
	check_set(k, RES_FAIL, "denied",
		  "%s may open %s by its mode and groups, yet was refused (a security "
		  "module? a read-only mount?)", user, d->path);
	check_fix(k, "look for AppArmor or SELinux denials in the kernel log");
}

static void doctor_access(const struct ctl *c, const struct check *device,
			  const struct devinfo *d, const char *user, struct check *k)
{
	struct mempin_info_arg info;
	int fd;

	if (device->result != RES_OK) {
		check_set(k, RES_SKIP, "no-device", "no device to open");
		return;
	}
	fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == EACCES || e == EPERM) {
			doctor_why_denied(d, user, k);
		} else {
			check_set(k, RES_FAIL, "open-failed", "opening %s: %s", d->path,
				  strerror(e));
			check_fix(k, "the kernel log may say why: dmesg | grep mempin");
		}
		return;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (ioctl(fd, MEMPIN_IOC_INFO, &info) == 0) {
		check_num(k, "abi_version", info.abi_version);
		check_set(k, RES_OK, "ok", "%s may open %s (ABI version %u)", user, d->path,
			  info.abi_version);
	} else {
		check_set(k, RES_OK, "ok", "%s may open %s", user, d->path);
	}
	close(fd);
	(void)c;
}

static bool have_cap_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	bool have = false;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7)) {
			have = (strtoull(line + 7, NULL, 16) >> CAP_IPC_LOCK_BIT) & 1;
			break;
		}
	if (f)
		fclose(f);
	return have;
}

static void fmt_limit(rlim_t v, char *buf, size_t len)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, len, "unlimited");
	else
		fmt_bytes(v, buf, len);
}

static void doctor_rlimit(const struct ctl *c, uint64_t need, const char *group,
			  struct check *k)
{
	char mode[32];
	uint64_t need_pages = (need + c->page_size - 1) / c->page_size;
	uint64_t kib;
	struct rlimit rl;
	char s[32], h[32], n[32];

	if (getrlimit(RLIMIT_MEMLOCK, &rl)) {
		check_set(k, RES_WARN, "unknown", "getrlimit: %s", strerror(errno));
		return;
	}
	fmt_limit(rl.rlim_cur, s, sizeof(s));
	fmt_limit(rl.rlim_max, h, sizeof(h));
	fmt_bytes(need_pages * c->page_size, n, sizeof(n));
	if (rl.rlim_cur == RLIM_INFINITY)
		check_str(k, "soft", "unlimited");
	else
		check_num(k, "soft", rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		check_str(k, "hard", "unlimited");
	else
		check_num(k, "hard", rl.rlim_max);
	if (have_cap_ipc_lock()) {
		check_set(k, RES_OK, "cap-ipc-lock",
			  "CAP_IPC_LOCK: RLIMIT_MEMLOCK (soft %s, hard %s) does not apply", s, h);
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / c->page_size >= need_pages) {
		check_set(k, RES_OK, "ok",
			  "RLIMIT_MEMLOCK soft %s, hard %s: room for %s (less what %s "
			  "pinned already)", s, h, n,
			  !strcmp(charge_mode(mode, sizeof(mode)), "process") ?
			  "this process has" :
			  "this user's processes have (mempin and io_uring)");
		return;
	}
	/* Suggest 1 GiB, as the shipped limits.d example, or what is needed. */
	kib = need_pages * c->page_size / 1024;
	kib = kib > 1048576 ? kib : 1048576;
	check_set(k, RES_FAIL, "too-low",
		  "RLIMIT_MEMLOCK soft %s, hard %s: pinning %s fails with ENOMEM "
		  "(pins are charged to it, as io_uring's buffers)", s, h, n);
	check_fix(k, "%sfor logins, in /etc/security/limits.d/mempin.conf: "
		  "'@%s soft memlock %" PRIu64 "' and '@%s hard memlock %" PRIu64 "' (KiB; "
		  "new login); for a systemd service: LimitMEMLOCK= in its unit",
		  rl.rlim_max == RLIM_INFINITY || rl.rlim_max / c->page_size >= need_pages ?
		  "in this shell: ulimit -l up to the hard limit; " : "",
		  group, kib, group, kib);
}

static void doctor_cap(const struct ctl *c, const struct modinfo *m,
		       const struct counters *k, uint64_t need, struct check *ck)
{
	uint64_t need_pages = (need + c->page_size - 1) / c->page_size;
	uint64_t cap, pinned = k->v[ST_PAGES];
	char b[32];

	if (!mod_live(m) || !cap_read(&cap)) {
		check_set(ck, RES_SKIP, "not-loaded", "no cap without the module");
		return;
	}
	check_num(ck, "max_pinned_pages", cap);
	check_num(ck, "pinned_pages", pinned);
	if (!cap) {
		check_set(ck, RES_OK, "none", "no cap (max_pinned_pages 0); %" PRIu64
			  " pages pinned system-wide", pinned);
		return;
	}
	fmt_bytes(cap * c->page_size, b, sizeof(b));
	if (pinned + need_pages > cap) {
		check_set(ck, RES_FAIL, "reached",
			  "%" PRIu64 " of the cap's %" PRIu64 " pages (%s) are pinned "
			  "system-wide: pinning %" PRIu64 " more fails with ENOMEM, "
			  "for root too", pinned, cap, b, need_pages);
		check_fix(ck, "raise the cap: sudo mempinctl cap SIZE (0: none); who pins "
			  "how much: sudo mempinctl ps");
	} else if (pinned * 10 >= cap * 9) {
		check_set(ck, RES_WARN, "nearly-reached",
			  "%" PRIu64 " of the cap's %" PRIu64 " pages (%s) are pinned "
			  "system-wide", pinned, cap, b);
		check_fix(ck, "raise the cap: sudo mempinctl cap SIZE; who pins: sudo mempinctl ps");
	} else {
		check_set(ck, RES_OK, "ok", "%" PRIu64 " of the cap's %" PRIu64
			  " pages (%s) are pinned system-wide", pinned, cap, b);
	}
}

enum { CK_INSTALLED, CK_LOADED, CK_DEVICE, CK_ACCESS, CK_RLIMIT, CK_CAP, CK_NR };

static int cmd_doctor(const struct ctl *c, const char *size)
{
	struct check ck[CK_NR] = {
		{ .name = "installed" }, { .name = "loaded" }, { .name = "device" },
		{ .name = "access" }, { .name = "rlimit" }, { .name = "cap" },
	};
	uint64_t need = c->page_size;
	struct counters k;
	struct modinfo m;
	struct devinfo d;
	char user[64], group[64] = "mempin", b[32];
	int i, e, problems = 0;

	if (size && (!parse_size(size, c->page_size, &need) || !need)) {
		warnx("doctor: bad SIZE '%s' (bytes with K, M, G or T; pages with p)", size);
		return EXIT_USAGE;
	}
	user_name(geteuid(), user, sizeof(user));
	mod_read(c, &m);
	dev_read(c, &d);
	counters_read(&k);
	if (!d.stat_err && d.st.st_gid)
		group_name(d.st.st_gid, group, sizeof(group));

	doctor_installed(c, &m, &ck[CK_INSTALLED]);
	doctor_loaded(&m, &ck[CK_LOADED]);
	doctor_device(&m, &d, &ck[CK_DEVICE]);
	doctor_access(c, &ck[CK_DEVICE], &d, user, &ck[CK_ACCESS]);
	doctor_rlimit(c, need, group, &ck[CK_RLIMIT]);
	doctor_cap(c, &m, &k, need, &ck[CK_CAP]);
	for (i = 0; i < CK_NR; i++)
		problems += ck[i].result == RES_FAIL;

	if (c->json) {
		struct json j = { stdout, 0, true };
		gid_t groups[NGROUPS_MAX];
		int n = getgroups(NGROUPS_MAX, groups);

		json_open(&j, NULL, '{');
		json_str(&j, "user", user);
		json_u64(&j, "uid", geteuid());
		json_u64(&j, "gid", getegid());
		json_open(&j, "groups", '[');
		for (e = 0; e < n; e++)
			json_u64(&j, NULL, groups[e]);
		json_close(&j, ']');
		json_str(&j, "kernel", c->uts.release);
		json_str(&j, "device", d.path);
		json_u64(&j, "need_bytes", need);
		json_bool(&j, "ok", !problems);
		json_open(&j, "checks", '{');
		for (i = 0; i < CK_NR; i++) {
			json_open(&j, ck[i].name, '{');
			json_str(&j, "result", result_name[ck[i].result]);
			json_str(&j, "reason", ck[i].reason);
			json_str(&j, "message", ck[i].msg);
			json_str(&j, "fix", *ck[i].fix ? ck[i].fix : NULL);
			for (e = 0; e < ck[i].nextra; e++) {
				if (ck[i].extra[e].num)
					json_u64(&j, ck[i].extra[e].key, ck[i].extra[e].v);
				else
					json_str(&j, ck[i].extra[e].key, ck[i].extra[e].s);
			}
			json_close(&j, '}');
		}
		json_close(&j, '}');
		json_open(&j, "problems", '[');
		for (i = 0; i < CK_NR; i++)
			if (ck[i].result == RES_FAIL)
				json_str(&j, NULL, ck[i].reason);
		json_close(&j, ']');
		json_close(&j, '}');
	} else {
		printf("mempin doctor: can %s (uid %u) open %s and pin %s on Linux %s?\n",
		       user, (unsigned int)geteuid(), d.path, fmt_bytes(need, b, sizeof(b)),
		       c->uts.release);
		for (i = 0; i < CK_NR; i++) {
			static const char *const tag[] = { "ok", "WARN", "FAIL", "-" };

			printf("  %-4s  %-9s  %s\n", tag[ck[i].result], ck[i].name, ck[i].msg);
			if (*ck[i].fix && ck[i].result != RES_OK)
				printf("        %-9s  fix: %s\n", "", ck[i].fix);
		}
		if (problems)
			printf("%d problem%s: fix %s above\n", problems,
			       problems > 1 ? "s" : "", problems > 1 ? "them" : "it");
		else
			printf("all fine: %s may open %s and pin %s\n", user, d.path, b);
	}
	return problems ? EXIT_FAIL : EXIT_OK;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mempinctl [--json] COMMAND [ARG]\n"
		"\n"
		"  status        module, device node, cap and system-wide counters\n"
		"  ps [--pins]   processes holding mempin containers, by charged bytes\n"
		"  doctor [SIZE] why the current user could not open %s or pin\n"
		"                SIZE (default: one page), and the fix\n"
		"  load [FILE]   load the module (as modprobe; FILE: as insmod)\n"
		"  unload        unload the module (only when no container is open)\n"
		"  cap [SIZE]    show or set the system-wide cap on pinned pages\n"
		"  reset-high-water\n"
		"                start the high-water mark of pinned pages again\n"
		"\n"
		"SIZE: bytes, with K, M, G or T (powers of 1024); pages with p (262144p);\n"
		"cap 0 or none: no cap.  Options: -j, --json  machine-readable output;\n"
		"-p, --pins  ps lists every pin; -v, --verbose  libkmod's messages;\n"
		"-h, --help; -V, --version.\n"
		"Exit status: 0 done (doctor: all fine), 1 failed (doctor: a problem),\n"
		"2 usage, 3 the module is not loaded.  See mempinctl(8).\n",
		DEFAULT_DEVICE);
}

static void kmod_log(void *data, int priority, const char *file, int line,
		     const char *fn, const char *format, va_list args)
{
	const struct ctl *c = data;

	(void)file;
	(void)line;
	(void)fn;
	if (!c->verbose || priority > LOG_NOTICE)
		return;
	fputs("mempinctl: libkmod: ", stderr);
	vfprintf(stderr, format, args);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pins", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl c = { 0 };
	const char *cmd, *arg;
	long page;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "jpvhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'p':
			c.pins = true;
			break;
		case 'v':
			c.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("mempinctl %s\n", MEMPIN_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (optind + 2 < argc) {
		warnx("%s: too many arguments", cmd);
		return EXIT_USAGE;
	}
	if (c.pins && strcmp(cmd, "ps")) {
		warnx("--pins is an option of ps");
		return EXIT_USAGE;
	}
	if (arg && (!strcmp(cmd, "status") || !strcmp(cmd, "ps") ||
		    !strcmp(cmd, "unload") || !strcmp(cmd, "reset-high-water"))) {
		warnx("%s takes no argument", cmd);
		return EXIT_USAGE;
	}

	c.device = getenv("MEMPIN_DEVICE");
	if (!c.device || !*c.device)
		c.device = DEFAULT_DEVICE;
	page = sysconf(_SC_PAGESIZE);
	c.page_size = page > 0 ? (uint64_t)page : 4096;
	uname(&c.uts);
	c.kmod = kmod_new(NULL, NULL);
	if (!c.kmod) {
		warnx("libkmod: cannot initialise");
		return EXIT_FAIL;
	}
	kmod_set_log_fn(c.kmod, kmod_log, &c);

	if (!strcmp(cmd, "status")) {
		ret = cmd_status(&c);
	} else if (!strcmp(cmd, "ps")) {
		ret = cmd_ps(&c);
	} else if (!strcmp(cmd, "doctor")) {
		ret = cmd_doctor(&c, arg);
	} else if (!strcmp(cmd, "load")) {
		ret = cmd_load(&c, arg);
	} else if (!strcmp(cmd, "unload")) {
		ret = cmd_unload(&c);
	} else if (!strcmp(cmd, "cap")) {
		ret = cmd_cap(&c, arg);
	} else if (!strcmp(cmd, "reset-high-water")) {
		ret = cmd_reset_high_water(&c);
	} else {
		warnx("unknown command '%s'", cmd);
		usage(stderr);
		ret = EXIT_USAGE;
	}
	kmod_unref(c.kmod);
	if (fflush(stdout) || ferror(stdout)) {
		warn("writing the output");
		return EXIT_FAIL;
	}
	return ret;
}
