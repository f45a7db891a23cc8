// SPDX-License-Identifier: GPL-2.0
/* A small JSON reader for the tests.  See json.h. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct parser {
	const char *s;
	const char *start;
	char *err;
	size_t errlen;
	int depth;
};

static struct jv *parse_fail(struct parser *p, const char *what)
{
	if (p->err && !*p->err)
		snprintf(p->err, p->errlen, "%s at offset %td", what, p->s - p->start);
	return NULL;
}

static void skip_ws(struct parser *p)
{
	while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
		p->s++;
}

static struct jv *node(enum jtype t)
{
	struct jv *v = calloc(1, sizeof(*v));

	if (!v)
		abort();
	v->type = t;
	return v;
}

static void put_utf8(char **o, unsigned int cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | cp >> 6);
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | cp >> 12);
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | cp >> 18);
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

/* A string literal at p->s (the opening quote); NULL on error. */
static char *parse_string(struct parser *p)
{
	const char *s = p->s + 1;
	char *out = malloc(strlen(s) + 1), *o = out;

	if (!out)
		abort();
	for (;;) {
		unsigned char c = (unsigned char)*s++;

		if (c == '"')
			break;
		if (c < 0x20) {
			free(out);
			p->s = s - 1;
			parse_fail(p, c ? "control character in string" : "unterminated string");
			return NULL;
		}
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)*s++;
		switch (c) {
		case '"': case '\\': case '/':
			*o++ = (char)c;
			break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned int cp;

			if (sscanf(s, "%4x", &cp) != 1 || !isxdigit((unsigned char)s[3])) {
				free(out);
				p->s = s;
				parse_fail(p, "bad \\u escape");
				return NULL;
			}
			s += 4;
			put_utf8(&o, cp);
			break;
		}
		default:
			free(out);
			p->s = s - 1;
			parse_fail(p, "bad escape");
			return NULL;
		}
	}
	*o = 0;
	p->s = s;
	return out;
}

static struct jv *parse_value(struct parser *p);

static struct jv *parse_container(struct parser *p, bool obj)
{
	struct jv *v = node(obj ? J_OBJ : J_ARR), **tail = &v->child;
	char close = obj ? '}' : ']';

	if (++p->depth > 64)
		goto bad;
	p->s++;
	skip_ws(p);
	if (*p->s == close) {
		p->s++;
		p->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jv *c;

		skip_ws(p);
		if (obj) {
			if (*p->s != '"') {
				parse_fail(p, "expected a member name");
				goto bad;
			}
			key = parse_string(p);
			if (!key)
				goto bad;
			skip_ws(p);
			if (*p->s != ':') {
				free(key);
				parse_fail(p, "expected ':'");
				goto bad;
			}
			p->s++;
		}
		c = parse_value(p);
		if (!c) {
			free(key);
			goto bad;
		}
		c->key = key;
		*tail = c;
		tail = &c->next;
		v->n++;
		skip_ws(p);
		if (*p->s == ',') {
			p->s++;
			continue;
		}
		if (*p->s == close) {
			p->s++;
			p->depth--;
			return v;
		}
		parse_fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
bad:
	parse_fail(p, "too deep");
	json_free(v);
	return NULL;
}

static struct jv *parse_value(struct parser *p)
{
	struct jv *v;

	skip_ws(p);
	switch (*p->s) {
	case '{':
		return parse_container(p, true);
	case '[':
		return parse_container(p, false);
	case '"': {
		char *s = parse_string(p);

		if (!s)
			return NULL;
		v = node(J_STR);
		v->str = s;
		return v;
	}
	case 't':
		if (strncmp(p->s, "true", 4))
			break;
		p->s += 4;
		v = node(J_BOOL);
		v->b = true;
		return v;
	case 'f':
		if (strncmp(p->s, "false", 5))
			break;
		p->s += 5;
		return node(J_BOOL);
	case 'n':
		if (strncmp(p->s, "null", 4))
			break;
		p->s += 4;
		return node(J_NULL);
	default:
		if (*p->s == '-' || isdigit((unsigned char)*p->s)) {
			const char *b = p->s;

			if (*p->s == '-')
				p->s++;
			if (!isdigit((unsigned char)*p->s))
				break;
			if (*p->s == '0' && isdigit((unsigned char)p->s[1]))
				break;	/* no leading zeros */
			while (isdigit((unsigned char)*p->s))
				p->s++;
			if (*p->s == '.') {
				p->s++;
				if (!isdigit((unsigned char)*p->s))
					break;
				while (isdigit((unsigned char)*p->s))
					p->s++;
			}
			if (*p->s == 'e' || *p->s == 'E') {
				p->s++;
				if (*p->s == '+' || *p->s == '-')
					p->s++;
				if (!isdigit((unsigned char)*p->s))
					break;
				while (isdigit((unsigned char)*p->s))
					p->s++;
			}
			v = node(J_NUM);
			v->str = strndup(b, (size_t)(p->s - b));
			return v;
		}
	}
	return parse_fail(p, "expected a value");
}

struct jv *json_parse(const char *text, char *err, size_t errlen)
{
	struct parser p = { text, text, err, errlen, 0 };
	struct jv *v;

	if (err && errlen)
		*err = 0;
	v = parse_value(&p);
	if (!v)
		return NULL;
	skip_ws(&p);
	if (*p.s) {
		parse_fail(&p, "text after the value");
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct jv *v)
{
	while (v) {
		struct jv *next = v->next;

		json_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
		v = next;
	}
}

const struct jv *json_get(const struct jv *v, const char *path)
{
	while (v && *path) {
		if (*path == '.') {
			path++;
			continue;
		}
		if (*path == '[') {
			char *end;
			unsigned long i = strtoul(path + 1, &end, 10);
			const struct jv *c;

			if (v->type != J_ARR || *end != ']')
				return NULL;
			for (c = v->child; c && i; c = c->next)
				i--;
			v = c;
			path = end + 1;
			continue;
		}
		{
			size_t n = strcspn(path, ".[");
			const struct jv *c;

			if (v->type != J_OBJ)
				return NULL;
			for (c = v->child; c; c = c->next)
				if (strlen(c->key) == n && !strncmp(c->key, path, n))
					break;
			v = c;
			path += n;
		}
	}
	return v;
}

const struct jv *json_need(const struct jv *root, const char *path)
{
	const struct jv *v = json_get(root, path);

	if (!v)
		ck_abort_msg("JSON has no %s", path);
	return v;
}

bool json_u64(const struct jv *v, uint64_t *out)
{
	char *end;

	if (!v || v->type != J_NUM || v->str[0] == '-')
		return false;
	errno = 0;
	*out = strtoull(v->str, &end, 10);
	return !errno && !*end;
}

bool json_i64(const struct jv *v, int64_t *out)
{
	char *end;

	if (!v || v->type != J_NUM)
		return false;
	errno = 0;
	*out = strtoll(v->str, &end, 10);
	return !errno && !*end;
}
