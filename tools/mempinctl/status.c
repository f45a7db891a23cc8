// SPDX-License-Identifier: GPL-2.0
/* mempinctl status: the module, the device node, the cap, the counters. */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <libkmod.h>

#include "mempinctl.h"

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
	if (mod_unknown(m))
		json_null(&j, "loaded");
	else
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
	if (d->reg_err)
		json_null(&j, "registered");
	else
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
		printf("  module      loaded (%s), version %s, srcversion %s, refcount %s\n",
		       kmod_module_initstate_str(m->initstate),
		       *m->version ? m->version : "?",
		       *m->srcversion ? m->srcversion : "?", mod_refcnt(m, u, sizeof(u)));
	} else if (mod_unknown(m)) {
		/* Not "not loaded": that would be a guess (cmd_status exits 1). */
		printf("  module      unknown: %s/initstate: %s\n", SYS_MODULE,
		       sys_error(mod_unknown(m)));
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
		       d->reg_err ? " (cannot tell whether it is mempin's)" :
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
	       ", limit %" PRIu64 ", gup %" PRIu64, v[ST_REF_RLIMIT],
	       v[ST_REF_CAP], v[ST_REF_MAPPING], v[ST_REF_LIMIT], v[ST_REF_GUP]);
	/* Modules with cgroup budgets only. */
	if (k->have[ST_REF_CGROUP])
		printf(", cgroup %" PRIu64, v[ST_REF_CGROUP]);
	printf("\n");
}

int cmd_status(const struct ctl *c)
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
	if (mod_unknown(&m))
		return mod_unknown_fail(&m);
	if (d.reg_err)
		return dev_unknown_fail(&d);
	return mod_loaded(&m) ? EXIT_OK : EXIT_NOT_LOADED;
}
