// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl load, unload (libkmod), cap (the max_pinned_pages parameter)
 * and reset-high-water (the stats/pinned_pages_max counter).
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <libkmod.h>

#include "mempinctl.h"

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

int cmd_load(const struct ctl *c, const char *file)
{
	struct kmod_module *mod = NULL;
	struct kmod_list *list = NULL;
	struct modinfo m;
	int r;

	mod_read(c, &m);
	if (mod_unknown(&m))
		return mod_unknown_fail(&m);
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

int cmd_unload(const struct ctl *c)
{
	struct kmod_module *mod;
	struct counters k;
	struct modinfo m;
	int r;

	mod_read(c, &m);
	if (mod_unknown(&m))
		return mod_unknown_fail(&m);
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
	int r = read_u64(PARAM_CAP, &cap);

	if (r && r != -ENOENT) {
		warnx("cannot read the cap (%s): %s", PARAM_CAP, strerror(-r));
		return EXIT_FAIL;
	}
	if (r) {
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

int cmd_cap(const struct ctl *c, const char *size)
{
	uint64_t bytes, pages, now;
	char buf[32];
	int r;

	if (!size)
		return cap_show(c);
	if (!strcmp(size, "none") || !strcmp(size, "off") || !strcmp(size, "unlimited")) {
		bytes = 0;
	} else if (!parse_size(size, c->page_size, &bytes)) {
		usage_error("cap: bad size '%s' (bytes, with K, KiB, KB...; pages with p; "
			    "0 or none)", size);
	}
	pages = bytes / c->page_size;
	if (bytes && !pages) {
		usage_error("cap: %s is less than a page (%" PRIu64 " bytes); 0 means no cap",
			    size, c->page_size);
	}
	if (pages > ULONG_MAX) {
		usage_error("cap: %s is too large", size);
	}
	r = read_u64(PARAM_CAP, &now);
	if (r && r != -ENOENT) {
		warnx("cannot read the cap (%s): %s", PARAM_CAP, strerror(-r));
		return EXIT_FAIL;
	}
	if (r) {
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
int cmd_reset_high_water(const struct ctl *c)
{
	struct json j = { stdout, 0, true };
	uint64_t max;
	char b1[32];
	int r;

	r = read_u64(STAT_PAGES_MAX, &max);
	if (r && r != -ENOENT) {
		warnx("cannot read the high-water mark (%s): %s", STAT_PAGES_MAX,
		    strerror(-r));
		return EXIT_FAIL;
	}
	if (r) {
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
