// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl doctor: why the current user could not open the device or pin,
 * one check after the other (installed, dkms, headers, signature, loaded,
 * device, access, rlimit, cap), each with its fix.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libkmod.h>
#include <linux/capability.h>
#include <linux/mempin.h>

#include "mempinctl.h"

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
		char s[256];
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
		/* Truncated to fit, as before the split (said, for gcc). */
		snprintf(k->extra[k->nextra++].s, sizeof(k->extra[0].s), "%.*s",
			 (int)sizeof(k->extra[0].s) - 1, s);
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

/* What DKMS knows of mempin (dkms status -m mempin). */
struct dkms {
	bool have;			/* the dkms command exists */
	bool registered;		/* some version is added */
	char version[64];		/* one registered version */
	char state[32];			/* for this kernel: built, installed... */
	char others[256];		/* "KVER state, ..." of the other kernels */
};

/*
 * The kernel field of a dkms status line, the one after the version:
 * "mempin/0.1.0, 6.1.0-26-amd64, x86_64: installed" (dkms 3),
 * "mempin, 0.1.0, 6.1.0-26-amd64, x86_64: built" (dkms 2).  False for
 * "mempin/0.1.0: added", which names no kernel.
 */
static bool dkms_line_kernel(const char *line, char *out, size_t len)
{
	const char *p = line + strlen(MOD_NAME);
	size_t n;

	if (*p == ',') {		/* dkms 2: skip ", VERSION" */
		p = strchr(p + 1, ',');
		if (!p)
			return false;
	} else if (*p == '/') {
		p += strcspn(p, ",:");
		if (*p != ',')
			return false;
	} else {
		return false;
	}
	p++;
	while (*p == ' ')
		p++;
	n = strcspn(p, ",:");
	if (!n || p[n] != ',')
		return false;
	snprintf(out, len, "%.*s", (int)n, p);
	return true;
}

static bool dkms_line_kernel_is(const char *line, const char *kver)
{
	char k[128];

	return dkms_line_kernel(line, k, sizeof(k)) && !strcmp(k, kver);
}

static void dkms_read(const struct ctl *c, struct dkms *d)
{
	char prog[PATH_MAX], line[512], kver[128];
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
		v = colon + 1;
		while (*v == ' ')
			v++;
		if (dkms_line_kernel_is(line, c->uts.release)) {
			snprintf(d->state, sizeof(d->state), "%.*s",
				 (int)strcspn(v, " \n("), v);
		} else if (dkms_line_kernel(line, kver, sizeof(kver))) {
			size_t len = strlen(d->others);

			snprintf(d->others + len, sizeof(d->others) - len, "%s%s %.*s",
				 len ? ", " : "", kver, (int)strcspn(v, " \n("), v);
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
			     const struct dkms *dk, struct check *k)
{
	const char *kv = c->uts.release;
	char build[PATH_MAX];
	struct dkms d = *dk;

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

static void doctor_loaded_state(const struct modinfo *m, struct check *k);

/* Whether DKMS has mempin for the running kernel, and for which others. */
static void doctor_dkms(const struct ctl *c, const struct modinfo *m,
			const struct dkms *d, bool headers, struct check *k)
{
	const char *kv = c->uts.release;

	if (!d->have || !d->registered) {
		if (*m->path && !m->dkms) {
			check_set(k, RES_WARN, d->have ? "not-registered" : "no-dkms",
				  "mempin is installed without DKMS (%s): a new kernel will not "
				  "have it", d->have ? "not registered" : "no dkms command");
			check_fix(k, "install the mempin-dkms package, or sudo make install "
				  "in the source tree (both register it with DKMS)");
		} else {
			check_set(k, RES_SKIP, d->have ? "not-registered" : "no-dkms",
				  d->have ? "mempin is not registered with DKMS" :
				  "no dkms command");
		}
		return;
	}
	check_str(k, "version", d->version);
	check_str(k, "state", *d->state ? d->state : "none");
	if (*d->others)
		check_str(k, "other_kernels", d->others);
	if (!strcmp(d->state, "installed")) {
		check_set(k, RES_OK, "installed",
			  "DKMS installed mempin %s for Linux %s%s%s", d->version, kv,
			  *d->others ? "; other kernels: " : "", d->others);
		return;
	}
	check_set(k, RES_FAIL, *d->state ? d->state : "not-built",
		  "DKMS has mempin %s but %s for Linux %s, the running kernel%s%s",
		  d->version, !strcmp(d->state, "built") ? "did not install it" :
		  "did not build it", kv, *d->others ? "; other kernels: " : "",
		  d->others);
	if (!strcmp(d->state, "built"))
		check_fix(k, "sudo dkms install mempin/%s -k %s", d->version, kv);
	else if (!headers)
		check_fix(k, "sudo apt install linux-headers-%s: DKMS builds mempin "
			  "when the headers are installed", kv);
	else
		check_fix(k, "sudo dkms autoinstall -k %s; if it fails, the build log is "
			  "/var/lib/dkms/mempin/%s/build/make.log", kv, d->version);
}

/*
 * The running kernel's headers, without which DKMS cannot build mempin: the
 * problem when DKMS has mempin but not for this kernel; a warning when it
 * has it (no rebuild at mempin's next upgrade); moot without DKMS.
 */
static void doctor_headers(const struct ctl *c, const struct dkms *d,
			   bool headers, struct check *k)
{
	const char *kv = c->uts.release;
	char build[PATH_MAX];

	snprintf(build, sizeof(build), "/lib/modules/%s/build", kv);
	check_str(k, "path", build);
	if (headers) {
		check_set(k, RES_OK, "present", "the headers of Linux %s are installed (%s)",
			  kv, build);
		return;
	}
	if (!d->have || !d->registered) {
		check_set(k, RES_SKIP, "missing",
			  "the headers of Linux %s are not installed; only a DKMS build "
			  "needs them", kv);
		return;
	}
	if (!strcmp(d->state, "installed")) {
		check_set(k, RES_WARN, "missing",
			  "the headers of Linux %s are not installed (no %s/Makefile): DKMS "
			  "cannot rebuild mempin for it when mempin is upgraded", kv, build);
	} else {
		check_set(k, RES_FAIL, "missing",
			  "the headers of Linux %s are not installed (no %s/Makefile): DKMS "
			  "cannot build mempin for it", kv, build);
	}
	check_fix(k, "sudo apt install linux-headers-%s (DKMS then builds mempin for it)",
		  kv);
}

/* Whether the kernel holds a key whose description is "SIGNER: ..."
 * (/proc/keys: asymmetric keys of the keyrings this process may view). */
static int kernel_has_key(const char *signer)
{
	FILE *f = fopen("/proc/keys", "re");
	char line[512];
	size_t n = strlen(signer);
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/*
		 * "ID FLAGS USAGE TIMEOUT PERM UID GID TYPE DESCRIPTION: ...",
		 * TYPE cut to 9 characters: "asymmetri".
		 */
		char *p = strstr(line, " asymmetri ");

		if (!p)
			continue;
		p += strlen(" asymmetri ");
		while (*p == ' ')
			p++;
		if (!strncmp(p, signer, n) && p[n] == ':') {
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

/* The installed module's signature, from its file (libkmod). */
struct modsig {
	bool signed_;
	char signer[160], key[160];
};

static void modsig_read(const struct ctl *c, const char *path, struct modsig *sig)
{
	struct kmod_list *info = NULL, *l;
	struct kmod_module *mod;

	memset(sig, 0, sizeof(*sig));
	if (kmod_module_new_from_path(c->kmod, path, &mod))
		return;
	if (kmod_module_get_info(mod, &info) >= 0) {
		kmod_list_foreach(l, info) {
			const char *key = kmod_module_info_get_key(l);
			const char *v = kmod_module_info_get_value(l);

			if (!key || !v)
				continue;
			if (!strcmp(key, "sig_id") || !strcmp(key, "signer"))
				sig->signed_ = true;
			if (!strcmp(key, "signer"))
				snprintf(sig->signer, sizeof(sig->signer), "%s", v);
			else if (!strcmp(key, "sig_key"))
				snprintf(sig->key, sizeof(sig->key), "%s", v);
		}
		kmod_module_info_free_list(info);
	}
	kmod_module_unref(mod);
}

/* Secure Boot, lockdown, module.sig_enforce: what makes the kernel refuse a
 * module that is not signed by a key it trusts. */
struct sigpolicy {
	int secure_boot;		/* 1 on, 0 off, -1 not UEFI or unknown */
	char lockdown[32];		/* none, integrity, confidentiality, "" */
	bool sig_enforce;
};

#define EFI_SECURE_BOOT "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

static void sigpolicy_read(struct sigpolicy *p)
{
	unsigned char v[5];
	char buf[128], *b, *e;
	int fd;

	memset(p, 0, sizeof(*p));
	p->secure_boot = -1;
	/* 4 bytes of attributes, then the value. */
	fd = open(EFI_SECURE_BOOT, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, v, sizeof(v)) == sizeof(v))
			p->secure_boot = v[4] == 1;
		close(fd);
	} else if (!access("/sys/firmware/efi", F_OK)) {
		p->secure_boot = 0;
	}
	/* "none [integrity] confidentiality": the bracketed one is in force. */
	if (read_text("/sys/kernel/security/lockdown", buf, sizeof(buf)) > 0 &&
	    (b = strchr(buf, '[')) && (e = strchr(b, ']')))
		snprintf(p->lockdown, sizeof(p->lockdown), "%.*s", (int)(e - b - 1), b + 1);
	p->sig_enforce = read_text("/sys/module/module/parameters/sig_enforce", buf,
				   sizeof(buf)) > 0 && buf[0] == 'Y';
}

static bool sigpolicy_enforced(const struct sigpolicy *p)
{
	return p->sig_enforce || (*p->lockdown && strcmp(p->lockdown, "none"));
}

#define DKMS_MOK_PUB "/var/lib/dkms/mok.pub"

static void doctor_signature(const struct ctl *c, const struct modinfo *m,
			     const struct sigpolicy *p, struct check *k)
{
	char why[128];
	struct modsig sig;
	int has;

	check_str(k, "secure_boot", p->secure_boot < 0 ? "unknown" :
		  p->secure_boot ? "on" : "off");
	check_str(k, "lockdown", *p->lockdown ? p->lockdown : "unknown");
	check_str(k, "sig_enforce", p->sig_enforce ? "Y" : "N");
	snprintf(why, sizeof(why), "%s%s%s%s%s", p->secure_boot > 0 ? "Secure Boot on, " : "",
		 *p->lockdown && strcmp(p->lockdown, "none") ? "lockdown " : "",
		 *p->lockdown && strcmp(p->lockdown, "none") ? p->lockdown : "",
		 *p->lockdown && strcmp(p->lockdown, "none") && p->sig_enforce ? ", " : "",
		 p->sig_enforce ? "module.sig_enforce" : "");
	if (!*m->path) {
		check_set(k, RES_SKIP, "not-installed", "no installed module to check");
		return;
	}
	modsig_read(c, m->path, &sig);
	if (*sig.signer)
		check_str(k, "signer", sig.signer);
	if (!sigpolicy_enforced(p)) {
		check_set(k, RES_OK, "not-enforced",
			  "Secure Boot %s, lockdown %s: the kernel loads mempin.ko %s",
			  p->secure_boot < 0 ? "unknown" : p->secure_boot ? "on" : "off",
			  *p->lockdown ? p->lockdown : "unknown", sig.signed_ ?
			  "(signed) whoever signed it" : "unsigned (it taints itself)");
		return;
	}
	if (!sig.signed_) {
		check_set(k, RES_FAIL, "unsigned",
			  "%s: the kernel loads only modules signed by a key it trusts, "
			  "and %s is not signed", why, m->path);
		check_fix(k, "build it with DKMS, which signs it with its key "
			  "(the mempin-dkms package, or sudo make install); then enroll that "
			  "key: sudo mokutil --import %s, reboot, and in MokManager choose "
			  "Enroll MOK", DKMS_MOK_PUB);
		return;
	}
	has = *sig.signer ? kernel_has_key(sig.signer) : 0;
	if (has > 0) {
		check_set(k, RES_OK, "trusted",
			  "%s: mempin.ko is signed by '%s', a key the kernel holds", why,
			  sig.signer);
		return;
	}
	if (geteuid()) {
		check_set(k, RES_WARN, "unknown",
			  "%s: mempin.ko is signed by '%s'; only root sees whether the "
			  "kernel trusts that key", why, *sig.signer ? sig.signer : "?");
		check_fix(k, "sudo mempinctl doctor");
		return;
	}
	check_set(k, RES_FAIL, "untrusted-key",
		  "%s: the kernel loads only modules signed by a key it trusts, and "
		  "mempin.ko is signed by '%s', a key it does not hold", why,
		  *sig.signer ? sig.signer : "?");
	if (!access(DKMS_MOK_PUB, R_OK))
		check_fix(k, "enroll DKMS's key: sudo mokutil --import %s (choose a "
			  "password), reboot, and in MokManager: Enroll MOK, Continue, Yes, "
			  "the password, Reboot", DKMS_MOK_PUB);
	else
		check_fix(k, "enroll the certificate of '%s' with sudo mokutil --import "
			  "CERT.der, reboot, and in MokManager choose Enroll MOK",
			  *sig.signer ? sig.signer : "the signing key");
}

/*
 * Why the kernel last refused to load a module, from its log: lockdown's
 * "Lockdown: modprobe: unsigned module loading is restricted; ..." and
 * module signature checking's "Loading of module with unavailable key is
 * rejected" name no module; the caller ties them to mempin.  0 if found,
 * -errno if the log cannot be read (dmesg_restrict: root only).
 */
static int kernel_refusal(char *out, size_t len)
{
	static const char *const what[] = {
		"module loading is restricted", "Loading of unsigned module",
		"Loading of module with unavailable key", "PKCS#7 signature not signed",
		"mempin: ",
	};
	char rec[1024];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int e = -ENOENT;
	ssize_t n;
	size_t i;

	if (fd < 0)
		return -errno;
	*out = 0;
	for (;;) {
		char *msg;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		/* "PRIO,SEQ,USEC,FLAGS;MESSAGE\n continuation..." */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = 0;
		for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
			if (strstr(msg, what[i])) {
				snprintf(out, len, "%s", msg);
				e = 0;
			}
	}
	close(fd);
	return e;
}

static void doctor_loaded(const struct ctl *c, const struct modinfo *m,
			  const struct sigpolicy *p, const struct check *signature,
			  struct check *k)
{
	char why[256];
	int e;

	if (!mod_loaded(m) && !mod_unknown(m) && *m->path) {
		e = kernel_refusal(why, sizeof(why));
		if (!e && sigpolicy_enforced(p) && signature->result == RES_FAIL) {
			check_str(k, "kernel_log", why);
			check_set(k, RES_FAIL, "refused",
				  "mempin is not loaded: the kernel refuses it (%s), "
				  "its log says: %s", signature->reason, why);
			check_fix(k, "%s", signature->fix);
			return;
		}
		if (!e) {
			check_str(k, "kernel_log", why);
		} else if (e == -EPERM || e == -EACCES) {
			check_str(k, "kernel_log", "unreadable (dmesg_restrict): run as root");
		}
	}
	(void)c;
	doctor_loaded_state(m, k);
}

static void doctor_loaded_state(const struct modinfo *m, struct check *k)
{
	if (mod_live(m)) {
		char refcnt[16];

		check_set(k, RES_OK, "loaded", "loaded, version %s, refcount %s",
			  *m->version ? m->version : "?", mod_refcnt(m, refcnt, sizeof(refcnt)));
	} else if (mod_loaded(m)) {
		check_set(k, RES_FAIL, kmod_module_initstate_str(m->initstate),
			  "the module is %s (being %s)",
			  kmod_module_initstate_str(m->initstate),
			  m->initstate == KMOD_MODULE_COMING ? "loaded" : "unloaded");
		check_fix(k, "wait a moment and run mempinctl doctor again");
	} else if (mod_unknown(m)) {
		check_set(k, RES_FAIL, "unknown", "cannot tell whether mempin is loaded (%s/"
			  "initstate: %s)", SYS_MODULE, sys_error(mod_unknown(m)));
		check_fix(k, "run mempinctl doctor again; if it persists, see why "
			  "%s/initstate cannot be read", SYS_MODULE);
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
		check_set(k, RES_SKIP, mod_unknown(m) ? "unknown" : "not-loaded",
			  "no device without the module");
		return;
	}
	check_str(k, "path", d->path);
	if (d->reg_err) {
		check_set(k, RES_FAIL, "unknown", "cannot tell whether mempin registered its "
			  "device (%s/dev: %s)", SYS_MISC, sys_error(d->reg_err));
		return;
	}
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
			have = (strtoull(line + 7, NULL, 16) >> CAP_IPC_LOCK) & 1;
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

	if (!mod_live(m)) {
		check_set(ck, RES_SKIP, mod_unknown(m) ? "unknown" : "not-loaded",
			  "no cap without the module");
		return;
	}
	if (!cap_read(&cap)) {
		check_set(ck, RES_FAIL, "unknown", "cannot read the cap (%s)", PARAM_CAP);
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

enum {
	CK_INSTALLED, CK_DKMS, CK_HEADERS, CK_SIGNATURE, CK_LOADED, CK_DEVICE,
	CK_ACCESS, CK_RLIMIT, CK_CAP, CK_NR
};

int cmd_doctor(const struct ctl *c, const char *size)
{
	struct check ck[CK_NR] = {
		{ .name = "installed" }, { .name = "dkms" }, { .name = "headers" },
		{ .name = "signature" }, { .name = "loaded" }, { .name = "device" },
		{ .name = "access" }, { .name = "rlimit" }, { .name = "cap" },
	};
	char build[PATH_MAX];
	uint64_t need = c->page_size;
	struct sigpolicy pol;
	struct counters k;
	struct modinfo m;
	struct devinfo d;
	struct dkms dk;
	bool headers;
	char user[64], group[64] = "mempin", b[32];
	int i, e, problems = 0;

	if (size && (!parse_size(size, c->page_size, &need) || !need)) {
		usage_error("doctor: bad size '%s' (bytes, with K, KiB, KB...; pages with p)",
			    size);
	}
	user_name(geteuid(), user, sizeof(user));
	mod_read(c, &m);
	dev_read(c, &d);
	counters_read(&k);
	if (!d.stat_err && d.st.st_gid)
		group_name(d.st.st_gid, group, sizeof(group));

	dkms_read(c, &dk);
	sigpolicy_read(&pol);
	snprintf(build, sizeof(build), "/lib/modules/%s/build/Makefile", c->uts.release);
	headers = !access(build, F_OK);

	doctor_installed(c, &m, &dk, &ck[CK_INSTALLED]);
	doctor_dkms(c, &m, &dk, headers, &ck[CK_DKMS]);
	doctor_headers(c, &dk, headers, &ck[CK_HEADERS]);
	doctor_signature(c, &m, &pol, &ck[CK_SIGNATURE]);
	doctor_loaded(c, &m, &pol, &ck[CK_SIGNATURE], &ck[CK_LOADED]);
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
