// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl cgroup set|unset|list|apply: pin budgets on cgroup v2 cgroups,
 * through /sys/class/misc/mempin/cgroup/ (mempin(4), CGROUP BUDGETS).  The
 * text of rules (sizes, paths, the configuration file) is cgrule.c's.
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
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/mempin.h>
#include <libsmartcols.h>

#include "mempinctl.h"
#include "cgrule.h"
#include "table.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

/*
 * The module's directory; MEMPINCTL_TEST_SYS_CGROUP replaces it, for tests
 * on a host without the module only (a directory of plain files).
 */
static const char *sys_cgroup(void)
{
	const char *dir = getenv("MEMPINCTL_TEST_SYS_CGROUP");

	return dir && *dir ? dir : SYS_MISC "/cgroup";
}

/*
 * Whether the module has cgroup budgets: EXIT_OK, or says why not (not
 * loaded: EXIT_NOT_LOADED; loaded without them: EXIT_FAIL).
 */
static int cg_available(const struct ctl *c)
{
	struct mempin_info_arg info = { .size = sizeof(info) };
	char version[64] = "";
	int fd, r = -1;

	if (!access(sys_cgroup(), F_OK))
		return EXIT_OK;
	/*
	 * The module makes cgroup/ just after the device, whose uevent
	 * starts "cgroup apply" (the unit): give it a moment.
	 */
	for (int i = 0; i < 100 && !access(SYS_MISC, F_OK); i++) {
		struct timespec ms20 = { 0, 20 * 1000 * 1000 };

		nanosleep(&ms20, NULL);
		if (!access(sys_cgroup(), F_OK))
			return EXIT_OK;
	}
	if (access(SYS_MISC, F_OK) && errno == ENOENT &&
	    access(SYS_MODULE, F_OK) && errno == ENOENT) {
		warnx("mempin is not loaded: no cgroup budgets (sudo modprobe mempin)");
		return EXIT_NOT_LOADED;
	}
	read_text(SYS_MODULE "/version", version, sizeof(version));
	fd = open(c->device, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = ioctl(fd, MEMPIN_IOC_INFO, &info);
		close(fd);
	}
	if (r == 0 && !(info.features & MEMPIN_FEATURE_CGROUP_BUDGETS))
		warnx("the loaded mempin %s has no cgroup budgets (MEMPIN_IOC_INFO does not "
		      "report them): a module older than 0.2, or a kernel without what they need",
		      *version ? version : "(version unknown)");
	else
		warnx("the loaded mempin %s has no cgroup budgets (no %s)",
		      *version ? version : "(version unknown)", sys_cgroup());
	return EXIT_FAIL;
}

/* What an errno of the module's set or unset means. */
static const char *cg_write_error(int e, bool set, bool each_child)
{
	switch (e) {
	case ENOENT:
		if (set)
			return "no such cgroup";
		return each_child ? "no such cgroup, or no each-child rule on it" :
				    "no such cgroup, or no budget of its own on it";
	case ENOTDIR:
		return "not a cgroup directory";
	case ERANGE:
		return "size too large";
	case ENOSPC:
		return "too many rules (mempin keeps 1024 at most)";
	case EACCES:
	case EPERM:
		return "must be root";
	case EINVAL:
		return "the module refused the rule as invalid";
	default:
		return strerror(e);
	}
}

/*
 * PATH (a cgroup path, or a directory on the cgroup2 mount) as the path in
 * the v2 hierarchy, checked to be a cgroup v2 directory here: 0, or -errno
 * with *why set (-ENOENT: no such cgroup, which apply only warns about).
 */
static int cg_resolve(const struct cg_mounts *ms, const char *clean, char *cgpath,
		      size_t len, const char **why)
{
	char dir[CG_PATH_MAX + 64];
	const struct cg_mount *m;
	struct statfs sfs;
	struct stat st;

	m = cg_mount_of(ms, clean, cgpath, len);
	if (m && !m->v2) {
		*why = "not a cgroup v2 directory (a cgroup v1 hierarchy is mounted there)";
		return -EINVAL;
	}
	if (m) {
		snprintf(dir, sizeof(dir), "%s", clean);
	} else {
		/* A cgroup path: where is it? */
		if (snprintf(cgpath, len, "%s", clean) >= (int)len) {
			*why = "path too long";
			return -ENAMETOOLONG;
		}
		if (!cg_dir_of(ms, cgpath, dir, sizeof(dir))) {
			*why = !access(clean, F_OK) ? "not a cgroup v2 directory" :
			       "no cgroup v2 hierarchy is mounted (mount -t cgroup2 none /sys/fs/cgroup)";
			return -ENOENT;
		}
		if (stat(dir, &st) && errno == ENOENT && strcmp(clean, "/") &&
		    !access(clean, F_OK)) {
			/* Not a cgroup, but a file or directory elsewhere. */
			*why = "not a cgroup v2 directory";
			return -EINVAL;
		}
	}
	if (stat(dir, &st)) {
		int e = errno;

		*why = e == ENOENT ? "no such cgroup" : strerror(e);
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a cgroup directory";
		return -ENOTDIR;
	}
	if (statfs(dir, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		*why = "not a cgroup v2 directory";
		return -EINVAL;
	}
	return 0;
}

static int cg_mounts_load(struct cg_mounts *ms)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int r;

	if (!f) {
		warn("/proc/self/mountinfo");
		return -1;
	}
	r = cg_mounts_read(f, ms);
	fclose(f);
	if (r) {
		warnx("/proc/self/mountinfo: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* Writes line to the module's cgroup/set or cgroup/unset: 0 or an errno. */
static int cg_write(bool set, const char *line)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/%s", sys_cgroup(), set ? "set" : "unset");
	r = write_text(path, line);
	return r < 0 ? -r : 0;
}

/* PATH on the command line, cleaned, or a usage error. */
static void cg_arg_path(const char *arg, char *out, size_t len)
{
	const char *bad = cg_path_clean(arg, out, len);

	if (bad)
		usage_error("%s: %s", arg, bad);
}

static int cg_set(const struct ctl *c, const char *path, const char *size)
{
	struct cg_rule r = { .each_child = c->each_child, .rlimit = c->rlimit };
	char clean[CG_PATH_MAX], why[160], line[CG_PATH_MAX + 64];
	struct cg_mounts ms;
	const char *bad;
	int e;

	cg_arg_path(path, clean, sizeof(clean));
	bad = cg_parse_size(size, c->page_size, &r.bytes, &r.max, why, sizeof(why));
	if (bad)
		usage_error("%s", bad);
	e = cg_available(c);
	if (e)
		return e;
	if (cg_mounts_load(&ms))
		return EXIT_FAIL;
	e = cg_resolve(&ms, clean, r.path, sizeof(r.path), &bad);
	cg_mounts_free(&ms);
	if (e) {
		warnx("%s: %s", path, bad);
		return EXIT_FAIL;
	}
	if (cg_set_line(&r, line, sizeof(line)) < 0) {
		warnx("%s: path too long", path);
		return EXIT_FAIL;
	}
	e = cg_write(true, line);
	if (e) {
		if (e == EACCES || e == EPERM)
			warnx("setting a cgroup budget: must be root");
		else
			warnx("%s: %s", path, cg_write_error(e, true, r.each_child));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cg_unset(const struct ctl *c, const char *path)
{
	char clean[CG_PATH_MAX], cgpath[CG_PATH_MAX], line[CG_PATH_MAX + 64];
	struct cg_mounts ms;
	const char *bad;
	int e;

	cg_arg_path(path, clean, sizeof(clean));
	e = cg_available(c);
	if (e)
		return e;
	if (cg_mounts_load(&ms))
		return EXIT_FAIL;
	e = cg_resolve(&ms, clean, cgpath, sizeof(cgpath), &bad);
	cg_mounts_free(&ms);
	if (e) {
		warnx("%s: %s", path, bad);
		return EXIT_FAIL;
	}
	if (cg_unset_line(cgpath, c->each_child, line, sizeof(line)) < 0) {
		warnx("%s: path too long", path);
		return EXIT_FAIL;
	}
	e = cg_write(false, line);
	if (e) {
		if (e == EACCES || e == EPERM)
			warnx("removing a cgroup budget: must be root");
		else
			warnx("%s: %s", path, cg_write_error(e, false, c->each_child));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/*
 * apply: every rule of the file, in order.  A bad line, a cgroup that does
 * not exist (yet) or a rule the module refuses is one line on stderr, and
 * the others are still applied.  Removes nothing.  EXIT_TRY_LATER when the
 * only rules not applied are of cgroups that do not exist yet.
 */
static int cg_apply(const struct ctl *c, const char *file)
{
	unsigned int lineno = 0, rules = 0, failed = 0, missing = 0;
	char *line = NULL, err[CG_PATH_MAX + 64], kline[CG_PATH_MAX + 64];
	char cgpath[CG_PATH_MAX];
	struct cg_mounts ms = { NULL, 0 };
	struct cg_rule *r;
	bool avail = false;
	size_t cap = 0;
	FILE *f;
	int e = EXIT_OK;

	if (!file)
		file = CG_CONF_DEFAULT;
	f = fopen(file, "re");
	if (!f) {
		warn("%s", file);
		return EXIT_FAIL;
	}
	r = malloc(sizeof(*r));
	if (!r)
		errx(EXIT_FAIL, "out of memory");
	while (getline(&line, &cap, f) > 0) {
		const char *why;

		lineno++;
		switch (cg_parse_line(line, c->page_size, r, err, sizeof(err))) {
		case CG_LINE_BLANK:
			continue;
		case CG_LINE_BAD:
			warnx("%s:%u: %s", file, lineno, err);
			rules++;
			failed++;
			continue;
		case CG_LINE_RULE:
			break;
		}
		rules++;
		if (!avail) {
			/* Once, at the first rule: an empty file needs no module. */
			e = cg_available(c);
			if (e || cg_mounts_load(&ms)) {
				e = e ? e : EXIT_FAIL;
				goto out;
			}
			avail = true;
		}
		if (cg_resolve(&ms, r->path, cgpath, sizeof(cgpath), &why)) {
			warnx("%s:%u: %s: %s%s", file, lineno, r->path, why,
			      !strcmp(why, "no such cgroup") ? " (yet): rule not applied" : "");
			missing += !strcmp(why, "no such cgroup");
			failed++;
			continue;
		}
		memcpy(r->path, cgpath, sizeof(cgpath));
		if (cg_set_line(r, kline, sizeof(kline)) < 0) {
			warnx("%s:%u: path too long", file, lineno);
			failed++;
			continue;
		}
		e = cg_write(true, kline);
		if (e == EACCES || e == EPERM) {
			warnx("applying cgroup budgets: must be root");
			e = EXIT_FAIL;
			goto out;
		}
		if (e) {
			warnx("%s:%u: %s: %s", file, lineno, r->path,
			      cg_write_error(e, true, r->each_child));
			failed++;
		}
		e = EXIT_OK;
	}
	if (ferror(f)) {
		warn("%s", file);
		e = EXIT_FAIL;
	}
	if (failed) {
		warnx("%s: %u of %u rule%s not applied", file, failed, rules, plural(rules));
		/* Only cgroups made later (kubelet's): the unit tries again. */
		e = failed == missing ? EXIT_TRY_LATER : EXIT_FAIL;
	}
out:
	cg_mounts_free(&ms);
	free(r);
	free(line);
	fclose(f);
	return e;
}

/* ------------------------------------------------------------------ list */

struct cg_entry {
	uint64_t id, usage, peak, refused, limit;
	bool max, removed;
	char *path, *rules;
};

enum { CG_PATH, CG_ID, CG_LIMIT, CG_USAGE, CG_PEAK, CG_REFUSED, CG_RULES, CG_REMOVED };

static const struct colinfo cg_cols[] = {
	[CG_PATH] = { "PATH", 0, 0, CT_STRING, "cgroup path in the v2 hierarchy" },
	[CG_ID] = { "ID", 0, SCOLS_FL_RIGHT, CT_NUMBER,
		    "cgroup ID (the inode number of its directory)" },
	[CG_LIMIT] = { "LIMIT", 0, SCOLS_FL_RIGHT, CT_SIZE,
		       "effective budget: the lowest of the rules that apply (max: none)" },
	[CG_USAGE] = { "USAGE", 0, SCOLS_FL_RIGHT, CT_SIZE,
		       "pinned memory charged to it and its descendants" },
	[CG_PEAK] = { "PEAK", 0, SCOLS_FL_RIGHT, CT_SIZE, "high-water mark of USAGE" },
	[CG_REFUSED] = { "REFUSED", 0, SCOLS_FL_RIGHT, CT_NUMBER,
			 "pins refused because its budget would be exceeded" },
	[CG_RULES] = { "RULES", 0, SCOLS_FL_TRUNC, CT_STRING,
		       "rules that apply: own, each-child, from-parent; rlimit" },
	[CG_REMOVED] = { "REMOVED", 0, 0, CT_BOOL,
			 "the cgroup is gone; its charges stay until unpinned" },
};

static const struct tabledef cg_table = {
	"cgroups", cg_cols, sizeof(cg_cols) / sizeof(cg_cols[0]),
	"PATH,LIMIT,USAGE,PEAK,REFUSED,RULES",
};

static int cg_entry_cmp(const void *a, const void *b)
{
	const struct cg_entry *x = a, *y = b;
	int r = strcmp(x->path, y->path);

	return r ? r : (x->id > y->id) - (x->id < y->id);
}

/* One cgroup/ID/ directory: 0, or -errno (-ENOENT: it went meanwhile). */
static int cg_entry_read(const char *id, struct cg_entry *e)
{
	char path[PATH_MAX + 256 + 16], buf[CG_PATH_MAX + 8];
	uint64_t v;
	int r;

#define FILE_OF(name) (snprintf(path, sizeof(path), "%s/%s/" name, sys_cgroup(), id), path)
	memset(e, 0, sizeof(*e));
	if (!parse_u64(id, &e->id))
		return -EINVAL;
	r = read_text(FILE_OF("path"), buf, sizeof(buf));
	if (r < 0)
		return r;
	e->path = strdup(buf);
	r = read_text(FILE_OF("limit"), buf, sizeof(buf));
	if (r < 0)
		return r;
	e->max = !strcmp(buf, "max");
	if (!e->max && !parse_u64(buf, &e->limit))
		return -EINVAL;
	if ((r = read_u64(FILE_OF("usage"), &e->usage)) ||
	    (r = read_u64(FILE_OF("peak"), &e->peak)) ||
	    (r = read_u64(FILE_OF("refused"), &e->refused)))
		return r;
	r = read_u64(FILE_OF("removed"), &v);
	if (r)
		return r;
	e->removed = v != 0;
	r = read_text(FILE_OF("rules"), buf, sizeof(buf));
	if (r < 0)
		return r;
	e->rules = strdup(buf);
	if (!e->path || !e->rules)
		errx(EXIT_FAIL, "out of memory");
	return 0;
#undef FILE_OF
}

static void cg_rows(struct table *t, const struct cg_entry *v, size_t n)
{
	char buf[1024];
	size_t i, k;

	for (i = 0; i < n; i++) {
		const struct cg_entry *e = &v[i];
		struct libscols_line *ln = table_line(t);

		for (k = 0; k < t->n; k++) {
			switch (t->col[k]) {
			case CG_PATH:
				table_str(t, ln, k, e->path);
				break;
			case CG_ID:
				table_u64(t, ln, k, e->id);
				break;
			case CG_LIMIT:
				if (!e->max)
					table_size(t, ln, k, e->limit);
				else	/* JSON: null */
					table_str(t, ln, k, t->c->json ? "" : "max");
				break;
			case CG_USAGE:
				table_size(t, ln, k, e->usage);
				break;
			case CG_PEAK:
				table_size(t, ln, k, e->peak);
				break;
			case CG_REFUSED:
				table_u64(t, ln, k, e->refused);
				break;
			case CG_RULES:
				cg_rules_fmt(e->rules, t->c->bytes, buf, sizeof(buf));
				table_str(t, ln, k, buf);
				break;
			case CG_REMOVED:
				table_bool(t, ln, k, e->removed);
				break;
			}
		}
	}
}

static int cg_list(const struct ctl *c)
{
	struct ctl jc = *c;
	struct cg_entry *v = NULL;
	struct dirent *d;
	struct table t;
	size_t n = 0, i;
	int ret, avail, denied = 0;
	DIR *dir;

	/* JSON: sizes are numbers of bytes, whatever -b says. */
	if (jc.json)
		jc.bytes = true;
	if (c->list_columns)
		return table_list_columns(c, &cg_table);
	table_init(&t, &jc, &cg_table);	/* usage errors before any work */
	avail = cg_available(c);
	dir = avail ? NULL : opendir(sys_cgroup());
	if (!avail && !dir) {
		if (errno == EACCES || errno == EPERM)
			denied = 1;
		else
			warn("%s", sys_cgroup());
		avail = EXIT_FAIL;
	}
	while (dir && (d = readdir(dir))) {
		struct cg_entry e;
		int r;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		r = cg_entry_read(d->d_name, &e);
		if (r == -EACCES || r == -EPERM) {
			denied = 1;
			free(e.path);
			break;
		}
		if (r) {
			/*
			 * Gone meanwhile (its last pin went): not listed.
			 * kernfs says ENODEV for a file removed while open.
			 */
			if (r != -ENOENT && r != -ENODEV) {
				/* A row lost otherwise: the list is not whole. */
				warnx("%s/%s: %s", sys_cgroup(), d->d_name, strerror(-r));
				avail = EXIT_FAIL;
			}
			free(e.path);
			free(e.rules);
			continue;
		}
		v = xrealloc(v, n + 1, sizeof(*v));
		v[n++] = e;
	}
	if (dir)
		closedir(dir);
	if (denied) {
		warnx("listing cgroup budgets: must be root");
		avail = EXIT_FAIL;
		for (i = 0; i < n; i++) {
			free(v[i].path);
			free(v[i].rules);
		}
		n = 0;
	}
	qsort(v, n, sizeof(*v), cg_entry_cmp);
	cg_rows(&t, v, n);
	ret = table_print(&t);
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].rules);
	}
	free(v);
	return avail ? avail : ret;
}

/* --------------------------------------------------------------- command */

int cmd_cgroup(const struct ctl *c, int argc, char *const *argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;
	int want_min, want_max;

	if (!sub)
		usage_error("cgroup: no subcommand given (set, unset, list or apply)");
	if (!strcmp(sub, "set")) {
		want_min = want_max = 3;
	} else if (!strcmp(sub, "unset")) {
		want_min = want_max = 2;
	} else if (!strcmp(sub, "list")) {
		want_min = want_max = 1;
	} else if (!strcmp(sub, "apply")) {
		want_min = 1;
		want_max = 2;
	} else {
		usage_error("cgroup: unknown subcommand '%s' (set, unset, list or apply)", sub);
	}
	if (argc < want_min)
		usage_error("cgroup %s: %s", sub, !strcmp(sub, "set") ?
			    (argc == 1 ? "no path given" : "no size given") : "no path given");
	if (argc > want_max)
		usage_error("cgroup %s: too many arguments", sub);
	if (c->pins)
		usage_error("--pins is an option of ps");
	if (c->table_opt && strcmp(sub, "list"))
		usage_error("%s is an option of ps and pins, and of cgroup list", c->table_opt);
	if (c->rlimit && strcmp(sub, "set"))
		usage_error("--rlimit is an option of cgroup set");
	if (c->each_child && strcmp(sub, "set") && strcmp(sub, "unset"))
		usage_error("--each-child is an option of cgroup set and unset");
	if (!strcmp(sub, "set"))
		return cg_set(c, argv[1], argv[2]);
	if (!strcmp(sub, "unset"))
		return cg_unset(c, argv[1]);
	if (!strcmp(sub, "apply"))
		return cg_apply(c, argc > 1 ? argv[1] : NULL);
	return cg_list(c);
}
