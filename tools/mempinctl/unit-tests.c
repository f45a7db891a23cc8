// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of mempinctl's helpers that need no module, no guest
 * and no libkmod: the JSON string writer (hostile UTF-8 above all), size
 * parsing and formatting, and cgroup budget rules (cgrule.c): sizes, paths,
 * mountinfo, the configuration file's lines.  make -C tools check; ends with "N passed, N
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

#include "cgrule.h"
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


/* ------------------------------------------------------- cgroup rules */

static void check_cg_size(struct tally *t, int line, const char *s, bool ok, uint64_t want,
			  bool want_max)
{
	uint64_t got = 1;
	bool max = true;
	char why[160];
	const char *bad = cg_parse_size(s, 4096, &got, &max, why, sizeof(why));

	expect(t, ok ? !bad && got == want && max == want_max : bad && *bad, line,
	       "cg_parse_size(\"%s\"): %s %" PRIu64 "%s", s, bad ? bad : "ok", got,
	       max ? " (max)" : "");
}
#define CGSIZE_OK(t, s, v) check_cg_size((t), __LINE__, (s), true, (v), false)
#define CGSIZE_BAD(t, s) check_cg_size((t), __LINE__, (s), false, 0, false)

static void test_cg_size(struct tally *t)
{
	char why[160];
	uint64_t b;
	bool max;

	CGSIZE_OK(t, "0", 0);
	CGSIZE_OK(t, "4096", 4096);
	CGSIZE_OK(t, "4K", 4096);
	CGSIZE_OK(t, "512M", 512ULL << 20);
	CGSIZE_OK(t, "1G", 1ULL << 30);
	CGSIZE_OK(t, "1GiB", 1ULL << 30);
	CGSIZE_OK(t, "64G", 64ULL << 30);
	CGSIZE_OK(t, "2T", 2ULL << 40);
	CGSIZE_OK(t, "256p", 256 * 4096);
	CGSIZE_OK(t, "4096000", 4096000);	/* 1000 pages */
	check_cg_size(t, __LINE__, "max", true, 0, true);
	CGSIZE_BAD(t, "");
	CGSIZE_BAD(t, "MAX");
	CGSIZE_BAD(t, "none");
	CGSIZE_BAD(t, "-1G");
	CGSIZE_BAD(t, "1.5G");
	CGSIZE_BAD(t, "1Q");
	CGSIZE_BAD(t, "18446744073709551616");
	CGSIZE_BAD(t, "16E");
	/* Whole pages only. */
	CGSIZE_BAD(t, "1");
	CGSIZE_BAD(t, "4095");
	CGSIZE_BAD(t, "4097");
	CGSIZE_BAD(t, "1KB");		/* 1000 */
	CGSIZE_BAD(t, "1MB");		/* 1000000 */
	CGSIZE_BAD(t, "1K");
	EXPECT(t, cg_parse_size("4097", 4096, &b, &max, why, sizeof(why)) &&
	       strstr(why, "multiple of the page size"), "non-multiple: %s", why);
	EXPECT(t, cg_parse_size("1.5G", 4096, &b, &max, why, sizeof(why)) &&
	       strstr(why, "invalid size '1.5G'"), "invalid: %s", why);
	/* Another page size: 64 KiB. */
	EXPECT(t, !cg_parse_size("64K", 65536, &b, &max, why, sizeof(why)) && b == 65536,
	       "64K with 64 KiB pages");
	EXPECT(t, cg_parse_size("4K", 65536, &b, &max, why, sizeof(why)) != NULL,
	       "4K with 64 KiB pages");
}

static void check_clean(struct tally *t, int line, const char *in, const char *want)
{
	char out[CG_PATH_MAX];
	const char *bad = cg_path_clean(in, out, sizeof(out));

	if (want)
		expect(t, !bad && !strcmp(out, want), line, "cg_path_clean(\"%s\"): %s, want %s",
		       in, bad ? bad : out, want);
	else
		expect(t, bad && *bad, line, "cg_path_clean(\"%s\"): \"%s\", want refused",
		       in, out);
}
#define CLEAN(t, in, want) check_clean((t), __LINE__, (in), (want))

static void test_cg_path_clean(struct tally *t)
{
	char big[CG_PATH_MAX + 8], out[CG_PATH_MAX];

	CLEAN(t, "/", "/");
	CLEAN(t, "//", "/");
	CLEAN(t, "///", "/");
	CLEAN(t, "/kubepods.slice", "/kubepods.slice");
	CLEAN(t, "/kubepods.slice/", "/kubepods.slice");
	CLEAN(t, "/kubepods.slice//", "/kubepods.slice");
	CLEAN(t, "//kubepods.slice///kubepods-burstable.slice/",
	      "/kubepods.slice/kubepods-burstable.slice");
	CLEAN(t, "/a/.b/..c/c..", "/a/.b/..c/c..");	/* dots inside names are names */
	CLEAN(t, "/a/...", "/a/...");
	CLEAN(t, "/sys/fs/cgroup/x", "/sys/fs/cgroup/x");
	CLEAN(t, "", NULL);
	CLEAN(t, "kubepods.slice", NULL);
	CLEAN(t, "./kubepods.slice", NULL);
	CLEAN(t, "/.", NULL);
	CLEAN(t, "/./a", NULL);
	CLEAN(t, "/a/.", NULL);
	CLEAN(t, "/a/./b", NULL);
	CLEAN(t, "/..", NULL);
	CLEAN(t, "/a/..", NULL);
	CLEAN(t, "/a/../b", NULL);
	CLEAN(t, "/a//..//b", NULL);
	CLEAN(t, "/a b", NULL);
	CLEAN(t, "/a\tb", NULL);
	CLEAN(t, "/a\nb", NULL);
	CLEAN(t, "/a\x7f", NULL);
	/* Length: the module takes < 4096 bytes. */
	big[0] = '/';
	memset(big + 1, 'x', CG_PATH_MAX - 2);
	big[CG_PATH_MAX - 1] = 0;		/* 4095 bytes */
	CLEAN(t, big, big);
	big[CG_PATH_MAX - 1] = 'x';
	big[CG_PATH_MAX] = 0;			/* 4096 */
	CLEAN(t, big, NULL);
	EXPECT(t, cg_path_clean("/abc", out, 4) != NULL, "short buffer");
}

/* A mountinfo of a hybrid host: v2 at /sys/fs/cgroup, a v1 hierarchy, a
 * bind mount of a sub-cgroup, a mount point with a blank (\040). */
static const char mountinfo[] =
	"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"25 22 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
	"30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	"31 25 0:27 / /sys/fs/cgroup-v1/memory rw shared:10 - cgroup cgroup rw,memory\n"
	"40 22 0:26 /kubepods.slice /run/k\\040pods rw shared:9 - cgroup2 cgroup2 rw\n"
	"41 22 0:28 / /tmp rw - tmpfs tmpfs rw\n"
	"garbage\n"
	"42 22 0:29 / /mnt/opt rw master:3 unbindable - cgroup2 none rw\n";

static void read_mounts(struct tally *t, struct cg_mounts *ms)
{
	FILE *f = fmemopen((void *)mountinfo, sizeof(mountinfo) - 1, "r");

	EXPECT(t, f && cg_mounts_read(f, ms) == 0, "cg_mounts_read");
	if (f)
		fclose(f);
}

static void check_mount_of(struct tally *t, int line, const struct cg_mounts *ms,
			   const char *path, const char *want_cg, int want_v2)
{
	char cg[CG_PATH_MAX] = "";
	const struct cg_mount *m = cg_mount_of(ms, path, cg, sizeof(cg));

	if (!want_cg)
		expect(t, !m, line, "cg_mount_of(%s): %s, want none", path, cg);
	else
		expect(t, m && !strcmp(cg, want_cg) && m->v2 == want_v2, line,
		       "cg_mount_of(%s): %s (%s), want %s", path, m ? cg : "none",
		       m && m->v2 ? "v2" : "v1", want_cg);
}
#define MOUNT_OF(t, ms, path, cg, v2) check_mount_of((t), __LINE__, (ms), (path), (cg), (v2))

static void check_dir_of(struct tally *t, int line, const struct cg_mounts *ms,
			 const char *cg, const char *want)
{
	char dir[CG_PATH_MAX] = "";
	const struct cg_mount *m = cg_dir_of(ms, cg, dir, sizeof(dir));

	if (!want)
		expect(t, !m, line, "cg_dir_of(%s): %s, want none", cg, dir);
	else
		expect(t, m && !strcmp(dir, want), line, "cg_dir_of(%s): %s, want %s",
		       cg, m ? dir : "none", want);
}
#define DIR_OF(t, ms, cg, want) check_dir_of((t), __LINE__, (ms), (cg), (want))

static void test_cg_mounts(struct tally *t)
{
	struct cg_mounts ms, none = { NULL, 0 };

	read_mounts(t, &ms);
	EXPECT(t, ms.n == 4, "%zu cgroup mounts, want 4", ms.n);
	if (ms.n == 4) {
		EXPECT(t, !strcmp(ms.m[2].point, "/run/k pods") &&
		       !strcmp(ms.m[2].root, "/kubepods.slice"), "\\040: %s", ms.m[2].point);
		EXPECT(t, ms.m[0].v2 && !ms.m[1].v2, "fs types");
	}
	/* The mount prefix goes: the path in the hierarchy remains. */
	MOUNT_OF(t, &ms, "/sys/fs/cgroup", "/", 1);
	MOUNT_OF(t, &ms, "/sys/fs/cgroup/kubepods.slice", "/kubepods.slice", 1);
	MOUNT_OF(t, &ms, "/sys/fs/cgroup/a/b/c", "/a/b/c", 1);
	MOUNT_OF(t, &ms, "/sys/fs/cgroup-v1/memory/x", "/x", 0);
	MOUNT_OF(t, &ms, "/sys/fs/cgroup-v1/memory", "/", 0);
	/* A bind mount of a sub-cgroup: its root first. */
	MOUNT_OF(t, &ms, "/run/k pods", "/kubepods.slice", 1);
	MOUNT_OF(t, &ms, "/run/k pods/pod1", "/kubepods.slice/pod1", 1);
	MOUNT_OF(t, &ms, "/mnt/opt/x", "/x", 1);
	/* Not on a cgroup file system: whole components only. */
	MOUNT_OF(t, &ms, "/sys/fs/cgroupx", NULL, 0);
	MOUNT_OF(t, &ms, "/sys/fs/cgroup-v1", NULL, 0);
	MOUNT_OF(t, &ms, "/sys/fs", NULL, 0);
	MOUNT_OF(t, &ms, "/kubepods.slice", NULL, 0);
	MOUNT_OF(t, &ms, "/tmp/x", NULL, 0);
	MOUNT_OF(t, &ms, "/", NULL, 0);
	MOUNT_OF(t, &none, "/sys/fs/cgroup/x", NULL, 0);
	/* And back: the directory of a cgroup, on the v2 mount of the whole tree. */
	DIR_OF(t, &ms, "/", "/mnt/opt");
	DIR_OF(t, &ms, "/kubepods.slice", "/mnt/opt/kubepods.slice");
	DIR_OF(t, &none, "/", NULL);
	cg_mounts_free(&ms);

	{
		static const char std[] =
			"30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
			"40 22 0:26 /kubepods.slice /run/kp rw - cgroup2 cgroup2 rw\n"
			"31 25 0:27 / /sys/fs/cgroup/unified-v1 rw - cgroup cgroup rw,cpu\n";
		FILE *f = fmemopen((void *)std, sizeof(std) - 1, "r");

		EXPECT(t, f && cg_mounts_read(f, &ms) == 0 && ms.n == 3, "std mountinfo");
		if (f)
			fclose(f);
		DIR_OF(t, &ms, "/", "/sys/fs/cgroup");
		DIR_OF(t, &ms, "/kubepods.slice/pod1", "/run/kp/pod1");	/* shortest point */
		DIR_OF(t, &ms, "/system.slice", "/sys/fs/cgroup/system.slice");
		/* A v1 hierarchy mounted inside the v2 one: the deepest mount wins. */
		MOUNT_OF(t, &ms, "/sys/fs/cgroup/unified-v1/x", "/x", 0);
		MOUNT_OF(t, &ms, "/sys/fs/cgroup/unified-v1x", "/unified-v1x", 1);
		cg_mounts_free(&ms);
	}
}

static void check_line(struct tally *t, int line, const char *in, enum cg_line want,
		       const char *path, uint64_t bytes, bool max, bool each, bool rl,
		       const char *err_has)
{
	struct cg_rule r;
	char err[256] = "";
	enum cg_line got = cg_parse_line(in, 4096, &r, err, sizeof(err));
	bool ok = got == want;

	if (ok && want == CG_LINE_RULE)
		ok = !strcmp(r.path, path) && r.bytes == bytes && r.max == max &&
		     r.each_child == each && r.rlimit == rl;
	if (ok && want == CG_LINE_BAD)
		ok = strstr(err, err_has) != NULL;
	expect(t, ok, line, "cg_parse_line(\"%s\"): %d %s %" PRIu64 "%s%s%s [%s]", in, got,
	       got == CG_LINE_RULE ? r.path : "", r.bytes, r.max ? " max" : "",
	       r.each_child ? " each-child" : "", r.rlimit ? " rlimit" : "", err);
}
#define LINE_RULE(t, in, path, bytes, max, each, rl) \
	check_line((t), __LINE__, (in), CG_LINE_RULE, (path), (bytes), (max), (each), (rl), NULL)
#define LINE_BLANK(t, in) check_line((t), __LINE__, (in), CG_LINE_BLANK, NULL, 0, 0, 0, 0, NULL)
#define LINE_BAD(t, in, err) check_line((t), __LINE__, (in), CG_LINE_BAD, NULL, 0, 0, 0, 0, (err))

static void test_cg_lines(struct tally *t)
{
	LINE_BLANK(t, "");
	LINE_BLANK(t, "\n");
	LINE_BLANK(t, "   \t  \n");
	LINE_BLANK(t, "# a comment");
	LINE_BLANK(t, "   # indented comment /x 1G");
	LINE_BLANK(t, "#/kubepods.slice 64G");
	LINE_BLANK(t, "\r\n");
	LINE_RULE(t, "/kubepods.slice 64G", "/kubepods.slice", 64ULL << 30, false, false, false);
	LINE_RULE(t, "/kubepods.slice 64G\n", "/kubepods.slice", 64ULL << 30, false, false, false);
	LINE_RULE(t, "/kubepods.slice 64G\r\n", "/kubepods.slice", 64ULL << 30, false, false, false);
	LINE_RULE(t, "  /kubepods.slice\t64G  ", "/kubepods.slice", 64ULL << 30, false, false,
		  false);
	LINE_RULE(t, "/kubepods.slice/kubepods-burstable.slice 1G each-child rlimit",
		  "/kubepods.slice/kubepods-burstable.slice", 1ULL << 30, false, true, true);
	LINE_RULE(t, "/k 1G rlimit each-child", "/k", 1ULL << 30, false, true, true);
	LINE_RULE(t, "/k 1G rlimit", "/k", 1ULL << 30, false, false, true);
	LINE_RULE(t, "/k max each-child", "/k", 0, true, true, false);
	LINE_RULE(t, "/k 0", "/k", 0, false, false, false);
	LINE_RULE(t, "/k 256p", "/k", 256 * 4096, false, false, false);
	LINE_RULE(t, "//k// 4096", "/k", 4096, false, false, false);
	LINE_RULE(t, "/ 16G", "/", 16ULL << 30, false, false, false);
	LINE_RULE(t, "/sys/fs/cgroup/k 1G", "/sys/fs/cgroup/k", 1ULL << 30, false, false, false);
	LINE_RULE(t, "/k 1G each-child # pods", "/k", 1ULL << 30, false, true, false);
	LINE_RULE(t, "/k 1G #each-child", "/k", 1ULL << 30, false, false, false);
	LINE_BAD(t, "/k", "no size");
	LINE_BAD(t, "/k   # 1G", "no size");
	LINE_BAD(t, "k 1G", "absolute");
	LINE_BAD(t, "/a/../b 1G", "'..'");
	LINE_BAD(t, "/a/./b 1G", "'.'");
	LINE_BAD(t, "/k 1.5G", "invalid size '1.5G'");
	LINE_BAD(t, "/k lots", "invalid size 'lots'");
	LINE_BAD(t, "/k 1000", "multiple of the page size");
	LINE_BAD(t, "/k 1KB", "multiple of the page size");
	LINE_BAD(t, "/k 99999999999999999999", "invalid size");
	LINE_BAD(t, "/k 1G each_child", "unknown option 'each_child'");
	LINE_BAD(t, "/k 1G rlimit=1", "unknown option 'rlimit=1'");
	LINE_BAD(t, "/k 1G each-child 2G", "unknown option '2G'");
	LINE_BAD(t, "/k 1G each-child each-child", "'each-child' given twice");
	LINE_BAD(t, "/k 1G rlimit rlimit", "'rlimit' given twice");
	LINE_BAD(t, "/k 1G EACH-CHILD", "unknown option");
}

static void test_cg_kernel_lines(struct tally *t)
{
	struct cg_rule r = { .bytes = 1ULL << 30, .each_child = true, .rlimit = true };
	char buf[CG_PATH_MAX + 64];

	snprintf(r.path, sizeof(r.path), "/kubepods.slice");
	EXPECT(t, cg_set_line(&r, buf, sizeof(buf)) > 0 &&
	       !strcmp(buf, "/kubepods.slice 1073741824 each-child rlimit\n"), "set: %s", buf);
	r.each_child = r.rlimit = false;
	r.max = true;
	EXPECT(t, cg_set_line(&r, buf, sizeof(buf)) > 0 &&
	       !strcmp(buf, "/kubepods.slice max\n"), "set max: %s", buf);
	EXPECT(t, cg_set_line(&r, buf, 10) == -1, "set: short buffer");
	EXPECT(t, cg_unset_line("/a", true, buf, sizeof(buf)) > 0 &&
	       !strcmp(buf, "/a each-child\n"), "unset: %s", buf);
	EXPECT(t, cg_unset_line("/", false, buf, sizeof(buf)) > 0 && !strcmp(buf, "/\n"),
	       "unset /: %s", buf);
}

static void check_rules(struct tally *t, int line, const char *in, bool bytes, const char *want)
{
	char out[256];

	cg_rules_fmt(in, bytes, out, sizeof(out));
	expect(t, !strcmp(out, want), line, "cg_rules_fmt(\"%s\"): \"%s\", want \"%s\"",
	       in, out, want);
}
#define RULES(t, in, bytes, want) check_rules((t), __LINE__, (in), (bytes), (want))

static void test_cg_rules_fmt(struct tally *t)
{
	RULES(t, "", false, "");
	RULES(t, "own 68719476736\n", false, "own 64G");
	RULES(t, "own 68719476736\n", true, "own 68719476736");
	RULES(t, "own max\neach-child 1073741824 rlimit\n", false, "own max, each-child 1G rlimit");
	RULES(t, "from-parent 1073741824 rlimit\nown 536870912", false,
	      "from-parent 1G rlimit, own 512M");
	RULES(t, "from-parent 1073741824 rlimit\nown 536870912", true,
	      "from-parent 1073741824 rlimit, own 536870912");
	RULES(t, "something new\n", false, "something new");
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
	test_cg_size(&t);
	test_cg_path_clean(&t);
	test_cg_mounts(&t);
	test_cg_lines(&t);
	test_cg_kernel_lines(&t);
	test_cg_rules_fmt(&t);
	printf("mempinctl unit tests: %u passed, %u failed\n", t.passed, t.failed);
	return t.failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
