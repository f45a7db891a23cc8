// SPDX-License-Identifier: GPL-2.0
/* Paths into jansson values for the tests (json.h). */
#include <check.h>
#include <stdlib.h>

#include "json.h"

const json_t *jv_get(const json_t *v, const char *path)
{
	while (v && *path) {
		if (*path == '.') {
			path++;
		} else if (*path == '[') {
			char *end;
			unsigned long i = strtoul(path + 1, &end, 10);

			if (*end != ']')
				return NULL;
			v = json_array_get(v, i);	/* NULL if no array */
			path = end + 1;
		} else {
			size_t n = strcspn(path, ".[");
			char key[128];

			if (n >= sizeof(key))
				return NULL;
			memcpy(key, path, n);
			key[n] = 0;
			v = json_object_get(v, key);	/* NULL if no object */
			path += n;
		}
	}
	return v;
}

const json_t *jv_need(const json_t *root, const char *path)
{
	const json_t *v = jv_get(root, path);

	if (!v)
		ck_abort_msg("JSON has no %s", path);
	return v;
}

size_t jv_len(const json_t *v)
{
	return json_is_array(v) ? json_array_size(v) :
	       json_is_object(v) ? json_object_size(v) : 0;
}

bool jv_u64(const json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

bool jv_i64(const json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}
