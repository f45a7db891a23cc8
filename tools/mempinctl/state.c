// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl: what the commands read: the module (loaded: its sysfs
 * directory; installed: the module index, through libkmod), the misc
 * device and its node, the system-wide counters and the cap.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <libkmod.h>

#include "mempinctl.h"

bool mod_loaded(const struct modinfo *m)
{
	return m->initstate == KMOD_MODULE_LIVE ||
	       m->initstate == KMOD_MODULE_COMING ||
	       m->initstate == KMOD_MODULE_GOING;
}

bool mod_live(const struct modinfo *m)
{
	return m->initstate == KMOD_MODULE_LIVE;
}

/*
 * Why mod_read() could not tell whether mempin is loaded (an errno), or 0:
 * only ENOENT means it is not.
 */
int mod_unknown(const struct modinfo *m)
{
	return m->initstate < 0 && m->initstate != -ENOENT ? -m->initstate : 0;
}

/* The reference count as text: "?" when it could not be read. */
const char *mod_refcnt(const struct modinfo *m, char *buf, size_t len)
{
	if (m->refcnt < 0)
		return "?";
	snprintf(buf, len, "%d", m->refcnt);
	return buf;
}

/* Why a sysfs file could not be read: EINVAL is what it held, not an errno. */
const char *sys_error(int e)
{
	return e == EINVAL ? "unexpected contents" : strerror(e);
}

/* Says so, for a command that must know: EXIT_FAIL. */
int mod_unknown_fail(const struct modinfo *m)
{
	warnx("cannot tell whether mempin is loaded (%s/initstate): %s", SYS_MODULE,
	    sys_error(mod_unknown(m)));
	return EXIT_FAIL;
}

/* As mod_unknown_fail(), for the device's number (devinfo.reg_err). */
int dev_unknown_fail(const struct devinfo *d)
{
	warnx("cannot tell whether mempin's device is registered (%s/dev): %s", SYS_MISC,
	    sys_error(d->reg_err));
	return EXIT_FAIL;
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

/*
 * /sys/module/mempin/initstate as a KMOD_MODULE_* state, or -errno.  Read
 * here rather than by kmod_module_get_initstate(), which takes a failure
 * to open the file while /sys/module/mempin exists for "coming": under
 * memory pressure a live module would show as still loading.
 */
static int initstate_read(void)
{
	static const struct {
		const char *name;
		int state;
	} states[] = { { "live", KMOD_MODULE_LIVE }, { "coming", KMOD_MODULE_COMING },
		       { "going", KMOD_MODULE_GOING } };
	char buf[16];
	int r = read_text(SYS_MODULE "/initstate", buf, sizeof(buf));

	/* ENODEV: kernfs, a file removed while rmmod runs. */
	if (r < 0)
		return r == -ENODEV ? -ENOENT : r;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(buf, states[i].name))
			return states[i].state;
	return -EINVAL;
}

void mod_read(const struct ctl *c, struct modinfo *m)
{
	struct kmod_module *mod;
	struct kmod_list *list = NULL;
	uint64_t refcnt;

	memset(m, 0, sizeof(*m));
	m->refcnt = -1;
	m->initstate = initstate_read();
	if (mod_loaded(m) && !read_u64(SYS_MODULE "/refcnt", &refcnt) && refcnt <= INT_MAX)
		m->refcnt = (int)refcnt;
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

void dev_read(const struct ctl *c, struct devinfo *d)
{
	char buf[32];
	int r;

	memset(d, 0, sizeof(*d));
	d->path = c->device;
	r = read_text(SYS_MISC "/dev", buf, sizeof(buf));
	d->registered = r > 0 && sscanf(buf, "%u:%u", &d->major, &d->minor) == 2;
	/* Only a missing file says there is no device (ENODEV: as initstate). */
	d->reg_err = d->registered || r == -ENOENT || r == -ENODEV ? 0 :
		     r < 0 ? -r : EINVAL;
	d->stat_err = stat(d->path, &d->st) ? errno : 0;
}

bool dev_is_mempin(const struct devinfo *d)
{
	return d->registered && !d->stat_err && S_ISCHR(d->st.st_mode) &&
	       major(d->st.st_rdev) == d->major &&
	       minor(d->st.st_rdev) == d->minor;
}

const char *const stat_name[ST_NR] = {
	"containers", "pins", "pinned_pages", "pinned_pages_max",
	"charged_pages", "refused_rlimit", "refused_cap", "refused_mapping",
	"refused_limit", "refused_gup", "refused_cgroup",
};

void counters_read(struct counters *k)
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
bool cap_read(uint64_t *pages)
{
	return read_u64(PARAM_CAP, pages) == 0;
}

/*
 * What RLIMIT_MEMLOCK bounds (the module's charge_mode): "user" (all of a
 * user's processes together) or "process"; "" if it cannot be read.
 */
const char *charge_mode(char *buf, size_t len)
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
