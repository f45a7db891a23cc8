// SPDX-License-Identifier: GPL-2.0
/* mempinctl: the JSON writer.  See json.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/*
 * The length of the well-formed UTF-8 sequence at p (Unicode 15, Table 3-7:
 * no overlongs, no surrogates D800..DFFF, nothing above U+10FFFF), or 0 if
 * it is ill-formed; then *bad is the length of its maximal subpart (at least
 * 1), the bytes that one U+FFFD replaces (Unicode 3.9, "U+FFFD Substitution
 * of Maximal Subparts", as Python, ICU and the WHATWG decoder do).  p is
 * NUL-terminated: a NUL is never a continuation byte.
 */
size_t utf8_seq(const unsigned char *p, size_t *bad)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	*bad = 1;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;	/* 80..C1 (continuation, overlong lead), F5..FF */
	/* The second byte's range depends on the first. */
	if (c == 0xe0)
		lo = 0xa0;	/* overlong below U+0800 */
	else if (c == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (c == 0xf0)
		lo = 0x90;	/* overlong below U+10000 */
	else if (c == 0xf4)
		hi = 0x8f;	/* above U+10FFFF */
	for (i = 1; i < n; i++) {
		if (p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/*
 * A JSON string (RFC 8259) of the C string s: '"' and '\\' escaped, control
 * characters (C0 and DEL) as \b \f \n \r \t or \u00XX, well-formed UTF-8
 * as is, and every maximal subpart of an ill-formed sequence as \ufffd
 * (REPLACEMENT CHARACTER), so a strict parser always accepts the output.
 */
void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, bad;

	fputc('"', f);
	while (*p) {
		unsigned char c = *p;

		n = utf8_seq(p, &bad);
		if (!n) {
			fputs("\\ufffd", f);
			p += bad;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\b')
			fputs("\\b", f);
		else if (c == '\f')
			fputs("\\f", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

/*
 * A copy of s (malloc) that is well-formed UTF-8: every maximal subpart of
 * an ill-formed sequence becomes U+FFFD, as in json_string().  For writers
 * that pass bytes through (libsmartcols' JSON output does).  NULL if out
 * of memory.
 */
char *utf8_valid_dup(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, bad, o = 0;
	char *out = malloc(3 * strlen(s) + 1);	/* one byte: 3 at most */

	if (!out)
		return NULL;
	while (*p) {
		n = utf8_seq(p, &bad);
		if (!n) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			p += bad;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = 0;
	return out;
}

static void json_item(struct json *j, const char *key)
{
	if (j->depth)
		fputs(j->first ? "\n" : ",\n", j->f);
	fprintf(j->f, "%*s", 2 * j->depth, "");
	if (key) {
		json_string(j->f, key);
		fputs(": ", j->f);
	}
	j->first = false;
}

void json_open(struct json *j, const char *key, char c)
{
	json_item(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first = true;
}

void json_close(struct json *j, char c)
{
	j->depth--;
	if (!j->first)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
	j->first = false;
	if (!j->depth)
		fputc('\n', j->f);
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_item(j, key);
	if (s)
		json_string(j->f, s);
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_item(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	json_item(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_item(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_item(j, key);
	fputs("null", j->f);
}
