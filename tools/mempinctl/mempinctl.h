/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempinctl: what the command files share.  Where things are:
 *
 *   main.c      command table, options, usage, libkmod set-up
 *   state.c     what the commands read: module (libkmod), device, counters
 *   status.c    status
 *   ps.c        ps and pins (/proc/PID/fd and fdinfo)
 *   table.c     their tables, through libsmartcols (table.h)
 *   module.c    load, unload, cap, reset-high-water
 *   doctor.c    doctor
 *   cgroup.c    cgroup set, unset, list, apply (cgroup budgets)
 *   cgrule.c    their text: sizes, paths, mountinfo, the config file (cgrule.h)
 *   json.c      the JSON writer (json.h)
 *   util.c      files, numbers, sizes, names (util.h)
 *   unit-tests.c  host-side tests of json.c, util.c and cgrule.c
 *                 (make -C tools check)
 */
#ifndef MEMPINCTL_H
#define MEMPINCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include "json.h"
#include "util.h"

struct kmod_ctx;

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

/* Exit status (mempinctl(8), EXIT STATUS). */
enum {
	EXIT_OK = 0,		/* done; doctor: nothing stands in the way */
	EXIT_FAIL = 1,		/* the command failed; doctor: a problem */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_NOT_LOADED = 3,	/* the command needs the module loaded */
	/* cgroup apply: only cgroups that do not exist yet (EX_TEMPFAIL) */
	EXIT_TRY_LATER = 75,
};

struct ctl {
	struct kmod_ctx *kmod;
	const char *device;	/* $MEMPIN_DEVICE or /dev/mempin */
	struct utsname uts;
	uint64_t page_size;
	bool json;
	bool verbose;		/* libkmod's own messages */
	bool pins;		/* ps: list every pin (the pins command) */
	/* The tables of ps and pins (table.c). */
	const char *output;	/* -o: "COL,COL", "+COL" adds to the defaults */
	bool output_all;
	bool noheadings;
	bool raw;
	bool bytes;
	bool list_columns;
	const char *table_opt;	/* the last table option given, for errors */
	/* cgroup set and unset. */
	bool each_child;	/* --each-child */
	bool rlimit;		/* --rlimit */
};

/* The module: loaded (its sysfs directory) and installed (libkmod's lookup). */
struct modinfo {
	int initstate;		/* KMOD_MODULE_*, or -errno: -ENOENT if not loaded */
	int refcnt;
	char version[64], srcversion[64];
	char path[PATH_MAX];	/* installed module file, "" if none */
	char inst_version[64], inst_srcversion[64];
	char vermagic[160], signer[160];
	bool dkms;		/* path is DKMS's (updates/dkms/) */
};

/* The misc device: its number in sysfs, and the node. */
struct devinfo {
	const char *path;
	bool registered;	/* SYS_MISC/dev read, major:minor */
	int reg_err;		/* why it could not be read but may exist, or 0 */
	unsigned int major, minor;
	int stat_err;		/* errno of stat(path), 0 */
	struct stat st;
};

/* The system-wide counters, SYS_STATS. */
enum {
	ST_CONTAINERS, ST_PINS, ST_PAGES, ST_PAGES_MAX, ST_CHARGED,
	ST_REF_RLIMIT, ST_REF_CAP, ST_REF_MAPPING, ST_REF_LIMIT, ST_REF_GUP,
	ST_REF_CGROUP,		/* modules with cgroup budgets only */
	ST_NR
};

struct counters {
	bool any;		/* the directory exists */
	bool have[ST_NR];
	uint64_t v[ST_NR];
};

extern const char *const stat_name[ST_NR];

/* state.c */
bool mod_loaded(const struct modinfo *m);
bool mod_live(const struct modinfo *m);
int mod_unknown(const struct modinfo *m);
int mod_unknown_fail(const struct modinfo *m);
int dev_unknown_fail(const struct devinfo *d);
const char *sys_error(int e);
const char *mod_refcnt(const struct modinfo *m, char *buf, size_t len);
void mod_read(const struct ctl *c, struct modinfo *m);
void dev_read(const struct ctl *c, struct devinfo *d);
bool dev_is_mempin(const struct devinfo *d);
void counters_read(struct counters *k);
bool cap_read(uint64_t *pages);
const char *charge_mode(char *buf, size_t len);

/* The commands: an exit status (EXIT_*). */
int cmd_status(const struct ctl *c);
int cmd_ps(const struct ctl *c);
int cmd_load(const struct ctl *c, const char *file);
int cmd_unload(const struct ctl *c);
int cmd_cap(const struct ctl *c, const char *size);
int cmd_reset_high_water(const struct ctl *c);
int cmd_doctor(const struct ctl *c, const char *size);
/* argv: the subcommand and its arguments. */
int cmd_cgroup(const struct ctl *c, int argc, char *const *argv);

#endif
