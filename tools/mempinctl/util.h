/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mempinctl: small helpers (util.c): files, numbers, sizes, names.  No
 * libkmod: unit-tested on the build host (make -C tools check).
 */
#ifndef MEMPINCTL_UTIL_H
#define MEMPINCTL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int read_text(const char *path, char *buf, size_t size);
int write_text(const char *path, const char *s);
const char *write_error(int r);
bool parse_u64(const char *s, uint64_t *v);
int read_u64(const char *path, uint64_t *v);
bool parse_size(const char *s, uint64_t page_size, uint64_t *bytes);
const char *fmt_bytes(uint64_t b, char *buf, size_t len);
const char *fmt_size(uint64_t b, char *buf, size_t len);
const char *plural(uint64_t n);
const char *user_name(uid_t uid, char *buf, size_t len);
const char *group_name(gid_t gid, char *buf, size_t len);
void *xrealloc(void *p, size_t n, size_t size);
/* Prints "mempinctl: WHAT" (unless fmt is NULL), then where help is; exit 2. */
void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...);

#endif
