/* SPDX-License-Identifier: GPL-2.0 */
/* mempinctl: the JSON writer (json.c).  No libkmod, no sysfs: unit-tested. */
#ifndef MEMPINCTL_JSON_H
#define MEMPINCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A streaming writer: two-space indented, keys in the order written.
 * Strings are escaped and always valid UTF-8, whatever the bytes (a
 * process's command line may be any bytes).
 */
struct json {
	FILE *f;
	int depth;
	bool first;		/* nothing written yet in the open container */
};

size_t utf8_seq(const unsigned char *p, size_t *bad);
void json_string(FILE *f, const char *s);
char *utf8_valid_dup(const char *s);
void json_open(struct json *j, const char *key, char c);
void json_close(struct json *j, char c);
void json_str(struct json *j, const char *key, const char *s);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

#endif
