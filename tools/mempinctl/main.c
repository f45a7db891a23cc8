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
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <libkmod.h>

#include "mempinctl.h"

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
