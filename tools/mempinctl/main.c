// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl: what an administrator sees of mempin and controls.  See
 * mempinctl(8).
 *
 *   status          the module (libkmod), the device node, the counters
 *   ps, pins        processes holding containers, and their pins, from
 *                   /proc/PID/fdinfo: tables through libsmartcols
 *   load, unload    through libkmod
 *   cap [SIZE]      the administrator cap (module parameter)
 *   doctor [SIZE]   why the current user could not open /dev/mempin or pin
 *   cgroup ...      pin budgets of cgroups: set, unset, list, apply
 *
 * Human output by default, --json for programs (ps and pins: libsmartcols'
 * JSON, --raw and the other options of lsblk's tables).  Everything it reads is
 * world-readable except other users' fdinfo (ps as root sees everyone).
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <libkmod.h>

#include "mempinctl.h"
#include "cgrule.h"

static void __attribute__((noreturn)) usage(void)
{
	printf("Usage:\n"
	       " mempinctl [options] <command> [<argument>]\n"
	       "\n"
	       "See and control mempin, long-term pins of user memory.\n"
	       "\n"
	       "Commands:\n"
	       " status            module, device node, cap and system-wide counters\n"
	       " ps                processes holding mempin containers, by charged bytes\n"
	       " pins              every pin of every container, one a line\n"
	       " doctor [<size>]   why the current user could not open %s\n"
	       "                     or pin <size> (default: one page), and the fix\n"
	       " load [<file>]     load the module (as modprobe; <file>: as insmod)\n"
	       " unload            unload the module (only when no container is open)\n"
	       " cap [<size>]      show or set the system-wide cap on pinned pages\n"
	       " reset-high-water  start the high-water mark of pinned pages again\n"
	       " cgroup set <path> <size> [--each-child] [--rlimit]\n"
	       "                   set the pin budget of a cgroup v2 cgroup (<size>: or max)\n"
	       " cgroup unset <path> [--each-child]\n"
	       "                   remove it\n"
	       " cgroup list       cgroups with a budget: limit, usage, high-water, refusals\n"
	       " cgroup apply [<file>]\n"
	       "                   set the budgets of <file> (default %s)\n"
	       "\n"
	       "Options:\n"
	       " -J, -j, --json          use JSON output format\n"
	       " -v, --verbose           print libkmod's messages\n"
	       "\n"
	       "Options of cgroup set and unset:\n"
	       "     --each-child        the rule for each child cgroup of <path>\n"
	       "     --rlimit            set: the budget stands in for RLIMIT_MEMLOCK\n"
	       "\n"
	       "Options of ps, pins and cgroup list:\n"
	       " -b, --bytes             print sizes in bytes rather than in human units\n"
	       " -n, --noheadings        don't print headings\n"
	       " -o, --output <list>     output columns (+<list> adds to the defaults)\n"
	       "     --output-all        output all columns\n"
	       " -p, --pins              ps: the same as the pins command\n"
	       " -r, --raw               use raw output format\n"
	       "     --list-columns      list the available columns\n"
	       "\n"
	       " -h, --help              display this help\n"
	       " -V, --version           display version\n"
	       "\n"
	       "<size>: bytes, with the suffixes K, M, G, T, P, E (KiB = K = 1024,\n"
	       "KB = 1000, and so on), or pages with p (262144p); cap 0 or none: no cap.\n"
	       "\n"
	       "Exit status: 0 done (doctor: all fine), 1 failed (doctor: a problem),\n"
	       "2 usage, 3 the module is not loaded.\n"
	       "\n"
	       "For more details see mempinctl(8).\n", DEFAULT_DEVICE, CG_CONF_DEFAULT);
	exit(EXIT_OK);
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

/*
 * The commands: name, what they accept after the name, the function (fnv
 * for those with subcommands: all that follows the name).
 */
enum { ARG_NONE, ARG_OPTIONAL, ARG_SUBCOMMAND };
struct command {
	const char *name;
	int arg;
	int (*fn)(const struct ctl *c, const char *arg);
	int (*fnv)(const struct ctl *c, int argc, char *const *argv);
};

static int run_status(const struct ctl *c, const char *arg)
{
	(void)arg;
	return cmd_status(c);
}

static int run_ps(const struct ctl *c, const char *arg)
{
	(void)arg;
	return cmd_ps(c);
}

static int run_pins(const struct ctl *c, const char *arg)
{
	struct ctl p = *c;

	(void)arg;
	p.pins = true;
	return cmd_ps(&p);
}

static int run_unload(const struct ctl *c, const char *arg)
{
	(void)arg;
	return cmd_unload(c);
}

static int run_reset_high_water(const struct ctl *c, const char *arg)
{
	(void)arg;
	return cmd_reset_high_water(c);
}

static const struct command commands[] = {
	{ "status", ARG_NONE, run_status, NULL },
	{ "ps", ARG_NONE, run_ps, NULL },
	{ "pins", ARG_NONE, run_pins, NULL },
	{ "doctor", ARG_OPTIONAL, cmd_doctor, NULL },
	{ "load", ARG_OPTIONAL, cmd_load, NULL },
	{ "unload", ARG_NONE, run_unload, NULL },
	{ "cap", ARG_OPTIONAL, cmd_cap, NULL },
	{ "reset-high-water", ARG_NONE, run_reset_high_water, NULL },
	{ "cgroup", ARG_SUBCOMMAND, NULL, cmd_cgroup },
};

static const struct command *command_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	enum { OPT_OUTPUT_ALL = CHAR_MAX + 1, OPT_LIST_COLUMNS, OPT_EACH_CHILD, OPT_RLIMIT };
	static const struct option longopts[] = {
		{ "bytes", no_argument, NULL, 'b' },
		{ "each-child", no_argument, NULL, OPT_EACH_CHILD },
		{ "json", no_argument, NULL, 'J' },
		{ "list-columns", no_argument, NULL, OPT_LIST_COLUMNS },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "output-all", no_argument, NULL, OPT_OUTPUT_ALL },
		{ "pins", no_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		{ "rlimit", no_argument, NULL, OPT_RLIMIT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	struct ctl c = { 0 };
	const char *arg, *table_opt = NULL, *cgroup_opt = NULL;
	long page;
	int opt, ret;

	/* Options may come before or after the command (getopt permutes). */
	setlocale(LC_CTYPE, "");	/* libsmartcols: which bytes are characters */
	while ((opt = getopt_long(argc, argv, "bJjno:prvhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			c.bytes = true;
			table_opt = "--bytes";
			break;
		case 'J':
		case 'j':
			c.json = true;
			break;
		case OPT_LIST_COLUMNS:
			c.list_columns = true;
			table_opt = "--list-columns";
			break;
		case 'n':
			c.noheadings = true;
			table_opt = "--noheadings";
			break;
		case 'o':
			c.output = optarg;
			table_opt = "--output";
			break;
		case OPT_OUTPUT_ALL:
			c.output_all = true;
			table_opt = "--output-all";
			break;
		case 'p':
			c.pins = true;
			table_opt = "--pins";
			break;
		case 'r':
			c.raw = true;
			table_opt = "--raw";
			break;
		case OPT_EACH_CHILD:
			c.each_child = true;
			cgroup_opt = "--each-child";
			break;
		case OPT_RLIMIT:
			c.rlimit = true;
			cgroup_opt = "--rlimit";
			break;
		case 'v':
			c.verbose = true;
			break;
		case 'h':
			usage();
		case 'V':
			printf("mempinctl %s\n", MEMPIN_VERSION);
			return EXIT_OK;
		default:
			usage_error(NULL);	/* getopt said what */
		}
	}
	if (optind >= argc)
		usage_error("no command given");
	cmd = command_find(argv[optind]);
	if (!cmd)
		usage_error("unknown command '%s'", argv[optind]);
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (arg && cmd->arg == ARG_NONE)
		usage_error("%s takes no argument", cmd->name);
	if (optind + 2 < argc && cmd->arg != ARG_SUBCOMMAND)
		usage_error("%s: too many arguments", cmd->name);
	/* cgroup checks its own (table options with list only). */
	if (table_opt && cmd->fn != run_ps && cmd->fn != run_pins && !cmd->fnv)
		usage_error("%s is an option of ps and pins, and of cgroup list", table_opt);
	if (cgroup_opt && !cmd->fnv)
		usage_error("%s is an option of cgroup set and unset", cgroup_opt);
	c.table_opt = table_opt;
	if (c.output && c.output_all)
		usage_error("--output and --output-all are mutually exclusive");
	if (c.raw && c.json)
		usage_error("--raw and --json are mutually exclusive");

	c.device = getenv("MEMPIN_DEVICE");
	if (!c.device || !*c.device)
		c.device = DEFAULT_DEVICE;
	page = sysconf(_SC_PAGESIZE);
	c.page_size = page > 0 ? (uint64_t)page : 4096;
	uname(&c.uts);
	c.kmod = kmod_new(NULL, NULL);
	if (!c.kmod)
		errx(EXIT_FAIL, "libkmod: cannot initialise");
	kmod_set_log_fn(c.kmod, kmod_log, &c);

	if (cmd->fnv)
		ret = cmd->fnv(&c, argc - optind - 1, argv + optind + 1);
	else
		ret = cmd->fn(&c, arg);
	kmod_unref(c.kmod);
	if (fflush(stdout) || ferror(stdout)) {
		warn("writing the output");
		return EXIT_FAIL;
	}
	return ret;
}
