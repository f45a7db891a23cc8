// SPDX-License-Identifier: GPL-2.0
/*
 * mempinctl: tables through libsmartcols, the library behind lsblk,
 * findmnt, lsns and lsfd.  It aligns the columns, truncates to the
 * terminal's width, and encodes what a terminal would act on (control
 * characters, and bytes that are not characters of the locale) as \xNN.
 * Its JSON writer escapes quotes and control characters but passes other
 * bytes through: text cells are made well-formed UTF-8 first (U+FFFD).
 */
#define _GNU_SOURCE
#include <err.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libsmartcols.h>

#include "mempinctl.h"
#include "table.h"

static int column_find(const struct tabledef *def, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < def->ncols; i++)
		if (strlen(def->cols[i].name) == len &&
		    !strncasecmp(def->cols[i].name, name, len))
			return (int)i;
	return -1;
}

/* Adds the comma-separated columns of list to t (usage error if unknown). */
static void columns_add(struct table *t, const char *list)
{
	const char *p = list;

	if (!*p)
		usage_error("no columns given");
	for (;;) {
		size_t len = strcspn(p, ",");
		int i = column_find(t->def, p, len);

		if (i < 0)
			usage_error("unknown column: %.*s", (int)len, p);
		if (t->n >= TABLE_MAX_COLS)
			usage_error("too many columns");
		t->col[t->n++] = i;
		if (!p[len])
			break;
		p += len + 1;
	}
}

static int json_type(const struct ctl *c, enum col_type type)
{
	switch (type) {
	case CT_NUMBER:
		return SCOLS_JSON_NUMBER;
	case CT_SIZE:
		return c->bytes ? SCOLS_JSON_NUMBER : SCOLS_JSON_STRING;
	case CT_BOOL:
		return SCOLS_JSON_BOOLEAN;
	default:
		return SCOLS_JSON_STRING;
	}
}

static struct libscols_table *table_new(const struct ctl *c, const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		errx(EXIT_FAIL, "cannot allocate the output table");
	scols_table_enable_json(tb, c->json);
	scols_table_set_name(tb, name);
	scols_table_enable_raw(tb, c->raw);
	scols_table_enable_noheadings(tb, c->noheadings);
	return tb;
}

void table_init(struct table *t, const struct ctl *c, const struct tabledef *def)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->c = c;
	t->def = def;
	if (c->output_all) {
		for (i = 0; i < def->ncols; i++)
			t->col[t->n++] = (int)i;
	} else if (c->output && c->output[0] == '+') {
		columns_add(t, def->defaults);	/* -o +COL: the defaults and COL */
		columns_add(t, c->output + 1);
	} else {
		columns_add(t, c->output ? c->output : def->defaults);
	}
	t->tb = table_new(c, def->name);
	for (i = 0; i < t->n; i++) {
		const struct colinfo *ci = &def->cols[t->col[i]];
		struct libscols_column *cl;

		cl = scols_table_new_column(t->tb, ci->name, ci->whint, ci->flags);
		if (!cl)
			errx(EXIT_FAIL, "cannot allocate the output table");
		scols_column_set_json_type(cl, json_type(c, ci->type));
	}
}

struct libscols_line *table_line(struct table *t)
{
	struct libscols_line *ln = scols_table_new_line(t->tb, NULL);

	if (!ln)
		errx(EXIT_FAIL, "cannot allocate the output table");
	return ln;
}

void table_str(struct table *t, struct libscols_line *ln, size_t i, const char *s)
{
	char *v = t->c->json ? utf8_valid_dup(s) : strdup(s);

	if (!v || scols_line_refer_data(ln, i, v))
		errx(EXIT_FAIL, "cannot allocate the output table");
}

void table_u64(struct table *t, struct libscols_line *ln, size_t i, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	table_str(t, ln, i, buf);
}

void table_i64(struct table *t, struct libscols_line *ln, size_t i, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	table_str(t, ln, i, buf);
}

void table_size(struct table *t, struct libscols_line *ln, size_t i, uint64_t bytes)
{
	char buf[32];

	if (t->c->bytes)
		table_u64(t, ln, i, bytes);
	else
		table_str(t, ln, i, fmt_size(bytes, buf, sizeof(buf)));
}

void table_bool(struct table *t, struct libscols_line *ln, size_t i, bool v)
{
	/* libsmartcols' JSON: "1" is true, anything else false. */
	table_str(t, ln, i, t->c->json ? (v ? "1" : "0") : (v ? "yes" : "no"));
}

void table_free(struct table *t)
{
	scols_unref_table(t->tb);
	t->tb = NULL;
}

int table_print(struct table *t)
{
	int r = scols_print_table(t->tb);

	table_free(t);
	if (r) {
		warnx("cannot print the table");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int table_list_columns(const struct ctl *c, const struct tabledef *def)
{
	static const char *const type_name[] = {
		[CT_STRING] = "string", [CT_NUMBER] = "number",
		[CT_SIZE] = "size", [CT_BOOL] = "boolean",
	};
	struct table t = { .c = c, .def = def };
	size_t i;

	t.tb = table_new(c, "columns");
	if (!scols_table_new_column(t.tb, "NAME", 0, 0) ||
	    !scols_table_new_column(t.tb, "TYPE", 0, 0) ||
	    !scols_table_new_column(t.tb, "DESCRIPTION", 0, SCOLS_FL_TRUNC))
		errx(EXIT_FAIL, "cannot allocate the output table");
	for (i = 0; i < def->ncols; i++) {
		struct libscols_line *ln = table_line(&t);

		table_str(&t, ln, 0, def->cols[i].name);
		table_str(&t, ln, 1, type_name[def->cols[i].type]);
		table_str(&t, ln, 2, def->cols[i].help);
	}
	return table_print(&t);
}
