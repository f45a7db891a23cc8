// SPDX-License-Identifier: GPL-2.0
/* mempinctl: cgroup budget rules as text.  See cgrule.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrule.h"
#include "util.h"

const char *cg_parse_size(const char *s, uint64_t page_size, uint64_t *bytes, bool *max,
			  char *why, size_t whylen)
{
	*max = false;
	*bytes = 0;
	if (!strcmp(s, "max")) {
		*max = true;
		return NULL;
	}
	if (!parse_size(s, page_size, bytes)) {
		snprintf(why, whylen, "invalid size '%s' (1G, 512M, 4096, 256p or max)", s);
		return why;
	}
	if (*bytes % page_size) {
		snprintf(why, whylen, "size '%s' is not a multiple of the page size "
			 "(%" PRIu64 " bytes)", s, page_size);
		return why;
	}
	return NULL;
}

const char *cg_path_clean(const char *in, char *out, size_t len)
{
	const char *p = in;
	size_t o = 0;

	if (*p != '/')
		return *p ? "not an absolute path (it must start with /)" : "empty path";
	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "'.' and '..' are not allowed in a path";
		if (o + 1 + n + 1 > len || o + 1 + n >= CG_PATH_MAX)
			return "path too long";
		out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	if (!o) {
		if (len < 2)
			return "path too long";
		out[o++] = '/';
	}
	out[o] = 0;
	for (p = out; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "blanks and control characters are not allowed in a path";
	return NULL;
}

/* mountinfo's escapes: \040 (space), \011, \012, \134 (backslash). */
static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

/*
 * "ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER"
 * (proc(5)).
 */
int cg_mounts_read(FILE *f, struct cg_mounts *ms)
{
	char *line = NULL, *save, *tok, *field[5];
	size_t cap = 0;
	int r = 0;

	ms->m = NULL;
	ms->n = 0;
	while (getline(&line, &cap, f) > 0) {
		const char *fstype = NULL;
		struct cg_mount m, *nm;
		int i = 0;

		line[strcspn(line, "\n")] = 0;
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (i < 5) {
				field[i++] = tok;
			} else if (!strcmp(tok, "-")) {
				fstype = strtok_r(NULL, " ", &save);
				break;
			}
		}
		if (i < 5 || !fstype || (strcmp(fstype, "cgroup2") && strcmp(fstype, "cgroup")))
			continue;
		m.v2 = !strcmp(fstype, "cgroup2");
		m.root = unescape(field[3]);
		m.point = unescape(field[4]);
		nm = reallocarray(ms->m, ms->n + 1, sizeof(*ms->m));
		if (!m.root || !m.point || !nm) {
			free(m.root);
			free(m.point);
			if (nm)
				ms->m = nm;
			r = -ENOMEM;
			break;
		}
		ms->m = nm;
		ms->m[ms->n++] = m;
	}
	free(line);
	if (!r && ferror(f))
		r = -EIO;
	return r;
}

void cg_mounts_free(struct cg_mounts *ms)
{
	size_t i;

	for (i = 0; i < ms->n; i++) {
		free(ms->m[i].root);
		free(ms->m[i].point);
	}
	free(ms->m);
	ms->m = NULL;
	ms->n = 0;
}

/* If path is dir or below it: what follows dir ("" or "/..."); else NULL. */
static const char *below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return strcmp(path, "/") ? path : "";
	if (strncmp(path, dir, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

/* base joined with rest ("" or "/..."), "/" for nothing. */
static bool join(const char *base, const char *rest, char *out, size_t len)
{
	int n;

	if (!strcmp(base, "/"))
		base = "";
	n = snprintf(out, len, "%s%s", base, rest);
	if (n == 0)
		n = snprintf(out, len, "/");
	return n > 0 && (size_t)n < len;
}

const struct cg_mount *cg_mount_of(const struct cg_mounts *ms, const char *path,
				   char *cgpath, size_t len)
{
	const struct cg_mount *best = NULL;
	const char *rest = NULL;
	size_t i;

	for (i = 0; i < ms->n; i++) {
		const char *r = below(path, ms->m[i].point);

		if (r && (!best || strlen(ms->m[i].point) > strlen(best->point))) {
			best = &ms->m[i];
			rest = r;
		}
	}
	if (best && !join(best->root, rest, cgpath, len))
		return NULL;
	return best;
}

const struct cg_mount *cg_dir_of(const struct cg_mounts *ms, const char *cgpath,
				 char *dir, size_t len)
{
	const struct cg_mount *best = NULL;
	const char *rest = NULL;
	size_t i;

	for (i = 0; i < ms->n; i++) {
		const char *r = ms->m[i].v2 ? below(cgpath, ms->m[i].root) : NULL;

		if (r && (!best || strlen(ms->m[i].point) < strlen(best->point))) {
			best = &ms->m[i];
			rest = r;
		}
	}
	if (best && !join(best->point, rest, dir, len))
		return NULL;
	return best;
}

enum cg_line cg_parse_line(const char *line, uint64_t page_size, struct cg_rule *r,
			   char *err, size_t errlen)
{
	char *copy = strdup(line), *save, *tok, *path = NULL, *size = NULL;
	char why[160];
	const char *bad;
	enum cg_line ret = CG_LINE_BAD;

	memset(r, 0, sizeof(*r));
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return CG_LINE_BAD;
	}
	for (tok = strtok_r(copy, " \t\r\n", &save); tok && *tok != '#';
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (!path) {
			path = tok;
		} else if (!size) {
			size = tok;
		} else if (!strcmp(tok, "each-child") || !strcmp(tok, "rlimit")) {
			bool *opt = tok[0] == 'e' ? &r->each_child : &r->rlimit;

			if (*opt) {
				snprintf(err, errlen, "'%s' given twice", tok);
				goto out;
			}
			*opt = true;
		} else {
			snprintf(err, errlen, "unknown option '%s' (each-child or rlimit)", tok);
			goto out;
		}
	}
	if (!path) {
		ret = CG_LINE_BLANK;
		goto out;
	}
	bad = cg_path_clean(path, r->path, sizeof(r->path));
	if (bad) {
		snprintf(err, errlen, "%.256s: %s", path, bad);
		goto out;
	}
	if (!size) {
		snprintf(err, errlen, "%.256s: no size (PATH SIZE [each-child] [rlimit])", path);
		goto out;
	}
	bad = cg_parse_size(size, page_size, &r->bytes, &r->max, why, sizeof(why));
	if (bad) {
		snprintf(err, errlen, "%s", bad);
		goto out;
	}
	ret = CG_LINE_RULE;
out:
	free(copy);
	return ret;
}

int cg_set_line(const struct cg_rule *r, char *buf, size_t len)
{
	char size[24];
	int n;

	if (r->max)
		snprintf(size, sizeof(size), "max");
	else
		snprintf(size, sizeof(size), "%" PRIu64, r->bytes);
	n = snprintf(buf, len, "%s %s%s%s\n", r->path, size,
		     r->each_child ? " each-child" : "", r->rlimit ? " rlimit" : "");
	return n > 0 && (size_t)n < len ? n : -1;
}

int cg_unset_line(const char *cgpath, bool each_child, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s\n", cgpath, each_child ? " each-child" : "");

	return n > 0 && (size_t)n < len ? n : -1;
}

void cg_rules_fmt(const char *rules, bool bytes, char *out, size_t len)
{
	const char *p = rules;
	size_t o = 0;

	out[0] = 0;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char kind[32], size[32], rest[64], human[32];
		char line[256];
		uint64_t v;
		int k;

		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		if (!*line)
			continue;
		rest[0] = 0;
		k = sscanf(line, "%31s %31s %63[^\n]", kind, size, rest);
		if (k >= 2 && !bytes && parse_u64(size, &v))
			snprintf(line, sizeof(line), "%s %s%s%s", kind,
				 fmt_size(v, human, sizeof(human)), *rest ? " " : "", rest);
		k = snprintf(out + o, len - o, "%s%s", o ? ", " : "", line);
		if (k < 0 || (size_t)k >= len - o)
			break;
		o += (size_t)k;
	}
}
