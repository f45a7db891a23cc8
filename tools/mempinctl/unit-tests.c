// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of mempinctl's helpers that need no module, no guest
 * and no libkmod: the JSON string writer (hostile UTF-8 above all), size
 * parsing and formatting.  make -C tools check; ends with "N passed, N
 * failed" and exits 1 if anything failed.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

struct tally {
	unsigned int passed, failed;
};

static void __attribute__((format(printf, 4, 5)))
expect(struct tally *t, bool ok, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		t->passed++;
		return;
	}
	t->failed++;
	fprintf(stderr, "unit-tests.c:%d: FAIL: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
#define EXPECT(t, ok, ...) expect((t), (ok), __LINE__, __VA_ARGS__)

/* json_string(s) into a malloc'd buffer. */
static char *jstr(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	json_string(f, s);
	fclose(f);
	return buf;
}

static void check_json(struct tally *t, int line, const char *in, const char *want)
{
	char *got = jstr(in);

	expect(t, !strcmp(got, want), line, "json_string: got %s, want %s", got, want);
	free(got);
}
#define JSON(t, in, want) check_json((t), __LINE__, (in), (want))

/*
 * An independent check of what json_string() wrote: decodes every
 * sequence to its code point and refuses overlongs, surrogates, code points
 * above U+10FFFF, raw control characters and unescaped quotes, by
 * arithmetic rather than by Table 3-7's byte ranges.
 */
static bool strict_json_string(const unsigned char *p)
{
	if (*p++ != '"')
		return false;
	while (*p && *p != '"') {
		uint32_t cp;
		int n, i;

		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return false;
				p += 5;
			} else if (*p && strchr("\"\\/bfnrt", *p)) {
				p++;
			} else {
				return false;
			}
			continue;
		}
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (!n)
			return false;
		cp = *p & (0x7f >> n);
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp > 0x10ffff)
			return false;
		p += n;
	}
	return p[0] == '"' && !p[1];
}

static void test_json_strings(struct tally *t)
{
	/* ASCII, JSON's own escapes, other controls. */
	JSON(t, "", "\"\"");
	JSON(t, "plain cmd --arg=1", "\"plain cmd --arg=1\"");
	JSON(t, "say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"");
	JSON(t, "a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
	JSON(t, "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	JSON(t, "\x1b[31mred", "\"\\u001b[31mred\"");
	/* Well-formed UTF-8 at each length and at the edges of Table 3-7. */
	JSON(t, "\xc2\x80", "\"\xc2\x80\"");			/* U+0080 */
	JSON(t, "caf\xc3\xa9", "\"caf\xc3\xa9\"");
	JSON(t, "\xdf\xbf", "\"\xdf\xbf\"");			/* U+07FF */
	JSON(t, "\xe0\xa0\x80", "\"\xe0\xa0\x80\"");		/* U+0800 */
	JSON(t, "\xe2\x82\xac", "\"\xe2\x82\xac\"");		/* EURO SIGN */
	JSON(t, "\xed\x9f\xbf", "\"\xed\x9f\xbf\"");		/* U+D7FF */
	JSON(t, "\xee\x80\x80", "\"\xee\x80\x80\"");		/* U+E000 */
	JSON(t, "\xef\xbf\xbf", "\"\xef\xbf\xbf\"");		/* U+FFFF */
	JSON(t, "\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"");	/* U+10000 */
	JSON(t, "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");	/* emoji */
	JSON(t, "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	/* Overlongs: one U+FFFD per byte (no lead byte admits them). */
	JSON(t, "\xc0\xaf", "\"\\ufffd\\ufffd\"");		/* '/' in 2 */
	JSON(t, "\xc1\xbf", "\"\\ufffd\\ufffd\"");
	JSON(t, "\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");	/* '/' in 3 */
	JSON(t, "\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\"");	/* U+07FF in 3 */
	JSON(t, "\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	JSON(t, "\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* UTF-16 surrogates, alone and paired (CESU-8). */
	JSON(t, "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* U+D800 */
	JSON(t, "\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");	/* U+DFFF */
	JSON(t, "\xed\xa0\xbd\xed\xb8\x80",
	     "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* Above U+10FFFF, and the leads that never occur. */
	JSON(t, "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	JSON(t, "\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	JSON(t, "\xf7\xbf\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	JSON(t, "\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	JSON(t, "\xfe\xff", "\"\\ufffd\\ufffd\"");
	/* Lone continuation bytes; truncated sequences: one U+FFFD each. */
	JSON(t, "\x80", "\"\\ufffd\"");
	JSON(t, "a\xbfz", "\"a\\ufffdz\"");
	JSON(t, "\xe2\x82", "\"\\ufffd\"");
	JSON(t, "\xe2\x82" "A", "\"\\ufffdA\"");
	JSON(t, "\xf0\x9f\x98", "\"\\ufffd\"");
	JSON(t, "\xf0\x9f\x98\xe2\x82\xac", "\"\\ufffd\xe2\x82\xac\"");
	JSON(t, "\xc3" "\"", "\"\\ufffd\\\"\"");		/* quote after a lead */
	JSON(t, "\xe2\x82\n", "\"\\ufffd\\n\"");
}

static void test_utf8_seq(struct tally *t)
{
	static const struct {
		const char *s;
		size_t len, bad;
	} v[] = {
		{ "A", 1, 1 }, { "\xc2\x80", 2, 1 }, { "\xc2", 0, 1 },
		{ "\xe0\xa0\x80", 3, 1 }, { "\xe0\x9f\x80", 0, 1 },
		{ "\xe1\x80", 0, 2 }, { "\xed\x9f\xbf", 3, 1 }, { "\xed\xa0\x80", 0, 1 },
		{ "\xf0\x90\x80\x80", 4, 1 }, { "\xf0\x90\x80", 0, 3 },
		{ "\xf4\x8f\xbf\xbf", 4, 1 }, { "\xf4\x90\x80\x80", 0, 1 },
		{ "\xf5\x80", 0, 1 }, { "\xff", 0, 1 }, { "\xbf", 0, 1 },
	};
	size_t i, bad, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = utf8_seq((const unsigned char *)v[i].s, &bad);
		EXPECT(t, n == v[i].len && (n || bad == v[i].bad),
		       "utf8_seq(case %zu): %zu (bad %zu), want %zu (bad %zu)",
		       i, n, bad, v[i].len, v[i].bad);
	}
}

/* Random bytes, weighted to UTF-8's interesting ones: always strict JSON. */
static void test_json_random(struct tally *t)
{
	static const unsigned char pick[] = {
		0x01, 0x0a, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f,
		0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef,
		0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff,
	};
	unsigned int seed = 12345, i, j, bad = 0;
	unsigned char s[24];
	char *out;

	for (i = 0; i < 200000; i++) {
		unsigned int n = rand_r(&seed) % (sizeof(s) - 1);

		for (j = 0; j < n; j++)
			s[j] = rand_r(&seed) % 4 ? pick[rand_r(&seed) % sizeof(pick)] :
			       (unsigned char)(1 + rand_r(&seed) % 255);
		s[n] = 0;
		out = jstr((const char *)s);
		if (!strict_json_string((const unsigned char *)out) && bad++ < 5)
			fprintf(stderr, "not strict JSON: %s\n", out);
		free(out);
	}
	EXPECT(t, !bad, "%u of 200000 random strings gave invalid JSON", bad);
}

static void check_size(struct tally *t, int line, const char *s, bool ok, uint64_t want)
{
	uint64_t got = 0xdeadbeef;
	bool r = parse_size(s, 4096, &got);

	expect(t, r == ok && (!ok || got == want), line,
	       "parse_size(\"%s\"): %s %" PRIu64 ", want %s %" PRIu64, s,
	       r ? "ok" : "refused", got, ok ? "ok" : "refused", want);
}
#define SIZE_OK(t, s, v) check_size((t), __LINE__, (s), true, (v))
#define SIZE_BAD(t, s) check_size((t), __LINE__, (s), false, 0)

static void test_parse_size(struct tally *t)
{
	SIZE_OK(t, "0", 0);
	SIZE_OK(t, "4096", 4096);
	SIZE_OK(t, "4K", 4096);
	SIZE_OK(t, "4k", 4096);
	SIZE_OK(t, "4KiB", 4096);
	SIZE_OK(t, "1M", 1048576);
	SIZE_OK(t, "1MiB", 1048576);
	SIZE_OK(t, "2G", 2147483648ULL);
	SIZE_OK(t, "1T", 1ULL << 40);
	SIZE_OK(t, "1KB", 1000);
	SIZE_OK(t, "1kB", 1000);
	SIZE_OK(t, "5MB", 5000000);
	SIZE_OK(t, "2GB", 2000000000ULL);
	SIZE_OK(t, "1TB", 1000000000000ULL);
	SIZE_OK(t, "1P", 1ULL << 50);
	SIZE_OK(t, "1PiB", 1ULL << 50);
	SIZE_OK(t, "15E", 15ULL << 60);
	SIZE_OK(t, "18EB", 18000000000000000000ULL);
	SIZE_OK(t, "3p", 3 * 4096);
	SIZE_OK(t, "3pages", 3 * 4096);
	SIZE_OK(t, "18446744073709551615", UINT64_MAX);
	SIZE_BAD(t, "");
	SIZE_BAD(t, "K");
	SIZE_BAD(t, "-1");
	SIZE_BAD(t, "+1");
	SIZE_BAD(t, " 1");
	SIZE_BAD(t, "1 ");
	SIZE_BAD(t, "1X");
	SIZE_BAD(t, "1KiBx");
	SIZE_BAD(t, "1Ki");
	SIZE_BAD(t, "18446744073709551616");
	SIZE_BAD(t, "17179869184G");
	SIZE_BAD(t, "16E");
	SIZE_BAD(t, "19EB");
	SIZE_BAD(t, "1Z");
	SIZE_BAD(t, "1iB");
	SIZE_BAD(t, "1KBB");
	SIZE_BAD(t, "1.5G");
}

/* fmt_bytes() and fmt_size() (util.h) share a shape: one check serves both. */
typedef const char *(*formatter)(uint64_t b, char *buf, size_t len);

static void check_format(struct tally *t, int line, formatter f, const char *name,
			 uint64_t b, const char *want)
{
	char buf[32];

	f(b, buf, sizeof(buf));
	expect(t, !strcmp(buf, want), line, "%s(%" PRIu64 "): \"%s\", want \"%s\"",
	       name, b, buf, want);
}
#define FMT(t, b, want) check_format((t), __LINE__, FMT_FN(fmt_bytes), (b), (want))
#define SIZE(t, b, want) check_format((t), __LINE__, FMT_FN(fmt_size), (b), (want))
#define FMT_FN(f) (f), #f

static void test_fmt_bytes(struct tally *t)
{
	FMT(t, 0, "0 B");
	FMT(t, 1023, "1023 B");
	FMT(t, 1024, "1.0 KiB");
	FMT(t, 1536, "1.5 KiB");
	FMT(t, 4096, "4.0 KiB");
	FMT(t, 1048575, "1024.0 KiB");
	FMT(t, 1048576, "1.0 MiB");
	FMT(t, 1ULL << 30, "1.0 GiB");
	FMT(t, 1ULL << 40, "1.0 TiB");
	FMT(t, UINT64_MAX, "16.0 EiB");
}

static void test_fmt_size(struct tally *t)
{
	SIZE(t, 0, "0B");
	SIZE(t, 1023, "1023B");
	SIZE(t, 1024, "1K");
	SIZE(t, 1536, "1.5K");
	SIZE(t, 32768, "32K");
	SIZE(t, 1048576, "1M");
	SIZE(t, 3ULL << 29, "1.5G");
	SIZE(t, 1ULL << 40, "1T");
	SIZE(t, UINT64_MAX, "16E");
}

/* What libsmartcols gets for its JSON: well-formed UTF-8, nothing else changed. */
static void check_valid_dup(struct tally *t, int line, const char *in, const char *want)
{
	char *got = utf8_valid_dup(in);

	expect(t, got && !strcmp(got, want), line, "utf8_valid_dup(\"%s\"): \"%s\", want \"%s\"",
	       in, got ? got : "(null)", want);
	free(got);
}
#define VDUP(t, in, want) check_valid_dup((t), __LINE__, (in), (want))

static void test_utf8_valid_dup(struct tally *t)
{
	VDUP(t, "", "");
	VDUP(t, "plain \"q\" \\ \x01\x7f", "plain \"q\" \\ \x01\x7f");
	VDUP(t, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
	     "caf\xc3\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
	/* Maximal subparts: C0 AF is two, E0 80 AF three, F4 90 80 80 four. */
	VDUP(t, "\xc0\xaf|\xe0\x80\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xff|\xe2\x82",
	     "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd");
	VDUP(t, "\xff\xff\xff", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_parse_u64(struct tally *t)
{
	uint64_t v = 0;

	EXPECT(t, parse_u64("0", &v) && v == 0, "parse_u64(0)");
	EXPECT(t, parse_u64("1234", &v) && v == 1234, "parse_u64(1234)");
	EXPECT(t, !parse_u64("", &v), "parse_u64(\"\")");
	EXPECT(t, !parse_u64("-1", &v), "parse_u64(-1)");
	EXPECT(t, !parse_u64("12a", &v), "parse_u64(12a)");
	EXPECT(t, !parse_u64("99999999999999999999", &v), "parse_u64(overflow)");
}

int main(void)
{
	struct tally t = { 0, 0 };

	test_json_strings(&t);
	test_utf8_seq(&t);
	test_json_random(&t);
	test_parse_u64(&t);
	test_parse_size(&t);
	test_fmt_bytes(&t);
	test_fmt_size(&t);
	test_utf8_valid_dup(&t);
	printf("mempinctl unit tests: %u passed, %u failed\n", t.passed, t.failed);
	return t.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
