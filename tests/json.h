/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON reader for the tests of mempinctl --json: parses a document
 * into a tree and looks values up by path ("module.version",
 * "processes[0].fds[1].pins").  Strict enough to catch malformed output:
 * anything but one well-formed value (and white space) fails to parse.
 */
#ifndef MEMPIN_TESTS_JSON_H
#define MEMPIN_TESTS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	char *key;		/* member name, inside an object */
	char *str;		/* J_STR: the string; J_NUM: the number's text */
	bool b;
	struct jv *child;	/* J_ARR, J_OBJ: first element or member */
	struct jv *next;
	size_t n;		/* J_ARR, J_OBJ: number of children */
};

/* The document's tree, or NULL (and where it failed in *err). */
struct jv *json_parse(const char *text, char *err, size_t errlen);
void json_free(struct jv *v);

/* The value at path under v, or NULL. */
const struct jv *json_get(const struct jv *v, const char *path);
/* J_NUM as an unsigned / signed integer; false if not such a number. */
bool json_u64(const struct jv *v, uint64_t *out);
bool json_i64(const struct jv *v, int64_t *out);

/* Check assertions on the value at path of root. */
/* The value at path, or the test fails. */
const struct jv *json_need(const struct jv *root, const char *path);
#define JV(root, path) json_need((root), (path))
#define ck_json_u64(root, path, want) do { uint64_t _u; \
	ck_assert_msg(json_u64(JV(root, path), &_u), "%s is not a number", (path)); \
	ck_assert_msg(_u == (uint64_t)(want), "%s: %llu, expected %llu", (path), \
		      (unsigned long long)_u, (unsigned long long)(want)); } while (0)
#define ck_json_i64(root, path, want) do { int64_t _i; \
	ck_assert_msg(json_i64(JV(root, path), &_i), "%s is not a number", (path)); \
	ck_assert_msg(_i == (int64_t)(want), "%s: %lld, expected %lld", (path), \
		      (long long)_i, (long long)(want)); } while (0)
#define ck_json_str(root, path, want) do { const struct jv *_s = JV(root, path); \
	ck_assert_msg(_s->type == J_STR, "%s is not a string", (path)); \
	ck_assert_msg(!strcmp(_s->str, (want)), "%s: \"%s\", expected \"%s\"", \
		      (path), _s->str, (want)); } while (0)
#define ck_json_bool(root, path, want) do { const struct jv *_b = JV(root, path); \
	ck_assert_msg(_b->type == J_BOOL, "%s is not a boolean", (path)); \
	ck_assert_msg(_b->b == (bool)(want), "%s: %d, expected %d", (path), \
		      _b->b, (int)(want)); } while (0)
#define ck_json_null(root, path) \
	ck_assert_msg(JV(root, path)->type == J_NULL, "%s is not null", (path))

#endif
