/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempinctl: tables through libsmartcols (table.c), as lsblk, findmnt and
 * lsns print theirs: -o/--output, --output-all, -n, -r, -J, -b and
 * --list-columns.
 */
#ifndef MEMPINCTL_TABLE_H
#define MEMPINCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;
struct libscols_table;
struct libscols_line;

enum col_type { CT_STRING, CT_NUMBER, CT_SIZE, CT_BOOL };

struct colinfo {
	const char *name;
	double whint;		/* libsmartcols' width hint */
	int flags;		/* SCOLS_FL_* */
	enum col_type type;
	const char *help;	/* one line, for --list-columns */
};

struct tabledef {
	const char *name;	/* JSON: the key of the array of rows */
	const struct colinfo *cols;
	size_t ncols;
	const char *defaults;	/* the columns without -o, "PID,USER,..." */
};

#define TABLE_MAX_COLS 64

struct table {
	const struct ctl *c;
	const struct tabledef *def;
	struct libscols_table *tb;
	size_t n;			/* output columns */
	int col[TABLE_MAX_COLS];	/* their index in def->cols */
};

/* The output columns from c (-o, --output-all) or the defaults; a bad
 * column name is a usage error.  Exits if out of memory. */
void table_init(struct table *t, const struct ctl *c, const struct tabledef *def);
struct libscols_line *table_line(struct table *t);
/* Cell i (an output column) of ln: text, a number, a size in bytes
 * (human units unless --bytes), a boolean. */
void table_str(struct table *t, struct libscols_line *ln, size_t i, const char *s);
void table_u64(struct table *t, struct libscols_line *ln, size_t i, uint64_t v);
void table_i64(struct table *t, struct libscols_line *ln, size_t i, int64_t v);
void table_size(struct table *t, struct libscols_line *ln, size_t i, uint64_t bytes);
void table_bool(struct table *t, struct libscols_line *ln, size_t i, bool v);
/* Prints the table and frees it: an exit status (EXIT_*). */
int table_print(struct table *t);
/* Drops the table unprinted. */
void table_free(struct table *t);
/* --list-columns: every column of def, its type and what it shows. */
int table_list_columns(const struct ctl *c, const struct tabledef *def);

#endif
