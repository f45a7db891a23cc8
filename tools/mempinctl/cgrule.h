/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempinctl: cgroup budget rules as text (cgrule.c): sizes, paths, lines of
 * /etc/mempin/cgroup-budgets.conf, /proc/self/mountinfo, and the lines the
 * module's sysfs files take and give.  No sysfs, no libsmartcols: the unit
 * tests (make -C tools check) link it.  cgroup.c has the commands.
 */
#ifndef MEMPINCTL_CGRULE_H
#define MEMPINCTL_CGRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The module takes paths shorter than this (mempin(4), CGROUP BUDGETS). */
#define CG_PATH_MAX	4096
#define CG_CONF_DEFAULT	"/etc/mempin/cgroup-budgets.conf"

struct cg_rule {
	char path[CG_PATH_MAX];	/* as written, cleaned (cg_path_clean) */
	uint64_t bytes;		/* the budget, unless max */
	bool max;		/* no limit */
	bool each_child;	/* for each direct child of path */
	bool rlimit;		/* stands in for RLIMIT_MEMLOCK */
};

/*
 * SIZE of a rule: "max", or a size as parse_size() takes it, a whole number
 * of pages.  NULL, or why not ("invalid size", "not a multiple of ...").
 */
const char *cg_parse_size(const char *s, uint64_t page_size, uint64_t *bytes, bool *max,
			  char *why, size_t whylen);

/*
 * An absolute path as a user wrote it, cleaned: "//" as "/", no trailing
 * "/" (but "/" itself); refused: relative, "." or ".." components, blanks
 * or control characters (the module's lines are split on blanks), CG_PATH_MAX
 * bytes or more.  NULL, or why not.
 */
const char *cg_path_clean(const char *in, char *out, size_t len);

/* The cgroup file systems mounted (/proc/self/mountinfo). */
struct cg_mount {
	char *point;		/* where, unescaped */
	char *root;		/* the directory of the file system mounted there */
	bool v2;		/* cgroup2, else cgroup (v1) */
};

struct cg_mounts {
	struct cg_mount *m;
	size_t n;
};

/* Reads mountinfo lines from f: the cgroup and cgroup2 mounts.  0 or -errno. */
int cg_mounts_read(FILE *f, struct cg_mounts *ms);
void cg_mounts_free(struct cg_mounts *ms);

/*
 * If the clean path lies on a mounted cgroup file system (the mount point
 * itself or below it; the deepest such mount): that mount, and in cgpath
 * the path in its hierarchy (the mount's root joined with the rest).
 * NULL otherwise.
 */
const struct cg_mount *cg_mount_of(const struct cg_mounts *ms, const char *path,
				   char *cgpath, size_t len);

/*
 * Where cgroup v2 path cgpath is in the file system: a cgroup2 mount whose
 * root holds it (the one with the shortest mount point), dir its directory
 * there.  NULL if there is none.
 */
const struct cg_mount *cg_dir_of(const struct cg_mounts *ms, const char *cgpath,
				 char *dir, size_t len);

/*
 * One line of the configuration file: "PATH SIZE [each-child] [rlimit]",
 * blanks between; "#" starts a comment (a line of its own, or a word of its
 * own after the rule).  CG_LINE_BLANK: nothing; CG_LINE_RULE: r; CG_LINE_BAD:
 * why, in err.
 */
enum cg_line { CG_LINE_BLANK, CG_LINE_RULE, CG_LINE_BAD };
enum cg_line cg_parse_line(const char *line, uint64_t page_size, struct cg_rule *r,
			   char *err, size_t errlen);

/* The lines the module's cgroup/set and cgroup/unset take (r->path must be
 * the cgroup path by then).  The length, or -1 if it does not fit. */
int cg_set_line(const struct cg_rule *r, char *buf, size_t len);
int cg_unset_line(const char *cgpath, bool each_child, char *buf, size_t len);

/*
 * The module's cgroup/ID/rules ("own SIZE", "each-child SIZE", "from-parent
 * SIZE", each maybe followed by " rlimit"; one a line) on one line, ", "
 * between, sizes as fmt_size() prints them unless bytes.  Unknown lines are
 * copied as they are.
 */
void cg_rules_fmt(const char *rules, bool bytes, char *out, size_t len);

#endif
