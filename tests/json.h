/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading mempinctl's JSON in the tests: jansson parses, strictly (no
 * hand-written parser that could accept what a strict consumer refuses);
 * these only walk to a value by a path such as "checks.rlimit.fix" or
 * "processes[2].pid" and assert on it.
 */
#ifndef MEMPIN_TESTS_JSON_H
#define MEMPIN_TESTS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The value at path, or NULL. */
const json_t *jv_get(const json_t *v, const char *path);
/* The same, failing the test if there is none. */
const json_t *jv_need(const json_t *root, const char *path);
/* Elements of an array, members of an object; 0 for anything else. */
size_t jv_len(const json_t *v);
bool jv_u64(const json_t *v, uint64_t *out);
bool jv_i64(const json_t *v, int64_t *out);

#define JV(root, path) jv_need((root), (path))
#define ck_json_u64(root, path, want) do { uint64_t _u; \
	ck_assert_msg(jv_u64(JV(root, path), &_u), "%s is not a number", (path)); \
	ck_assert_msg(_u == (uint64_t)(want), "%s: %llu, expected %llu", (path), \
		      (unsigned long long)_u, (unsigned long long)(want)); } while (0)
#define ck_json_i64(root, path, want) do { int64_t _i; \
	ck_assert_msg(jv_i64(JV(root, path), &_i), "%s is not a number", (path)); \
	ck_assert_msg(_i == (int64_t)(want), "%s: %lld, expected %lld", (path), \
		      (long long)_i, (long long)(want)); } while (0)
#define ck_json_str(root, path, want) do { const json_t *_s = JV(root, path); \
	ck_assert_msg(json_is_string(_s), "%s is not a string", (path)); \
	ck_assert_msg(!strcmp(json_string_value(_s), (want)), \
		      "%s: \"%s\", expected \"%s\"", (path), \
		      json_string_value(_s), (want)); } while (0)
#define ck_json_bool(root, path, want) do { const json_t *_b = JV(root, path); \
	ck_assert_msg(json_is_boolean(_b), "%s is not a boolean", (path)); \
	ck_assert_msg(json_is_true(_b) == (bool)(want), "%s: %d, expected %d", \
		      (path), json_is_true(_b), (int)(want)); } while (0)
#define ck_json_null(root, path) \
	ck_assert_msg(json_is_null(JV(root, path)), "%s is not null", (path))

#endif
