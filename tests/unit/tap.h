/*
 * tap.h - a tiny Test Anything Protocol producer for the unit tests.
 *
 * Every assertion prints one "ok N - description" or "not ok N - description"
 * line on stdout; a failure adds "#" diagnostic lines (where, got, expected).
 * A test program ends with `return done_testing();`, which prints the plan
 * if plan() was not called and returns the exit status: 0 when every
 * assertion passed and the plan (if any) was met, 1 otherwise.
 *
 * Header-only and single-threaded: each test program is one translation unit,
 * so the counters below are that program's.
 *
 *   plan(n)                        announce n assertions up front (optional)
 *   ok(cond, fmt, ...)             cond is true
 *   is_int(got, expected, fmt, ...) integers are equal (long long)
 *   is_str(got, expected, fmt, ...) NUL-terminated strings are equal (NULL-safe)
 *   is_mem(got, got_len, expected, expected_len, fmt, ...) byte strings are equal
 *   diag(fmt, ...)                 a "# " comment line
 *   done_testing()                 finish; returns the exit status
 *
 * The assertion macros return whether the assertion passed.
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))

static inline void TAP_PRINTF(1, 2) diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Print the result line; the description must not hold a line break, since
 * TAP reads one line per result, so those are shown as spaces. */
static inline int tap_result_v(int pass, const char *file, int line, const char *fmt, va_list ap)
{
	char desc[512];
	vsnprintf(desc, sizeof desc, fmt, ap);
	for (char *c = desc; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '#')
			*c = *c == '#' ? '+' : ' ';
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - %s\n", pass ? "" : "not ", tap_run, desc);
	if (!pass)
		printf("#   Failed test at %s line %d.\n", file, line);
	fflush(stdout);
	return pass;
}

/* Print @len bytes of @s on one diagnostic line, escaping what is not
 * printable ASCII, and at most @max bytes of it. */
static inline void tap_put_escaped(const void *s, size_t len, size_t max)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = p[i];
		switch (c) {
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		case '"': fputs("\\\"", stdout); break;
		default:
			if (c < 0x20 || c >= 0x7F)
				printf("\\x%02X", c);
			else
				fputc(c, stdout);
		}
	}
	if (len > max)
		printf("...(%zu more bytes)", len - max);
}

static inline void tap_diag_value(const char *label, const char *s)
{
	printf("#   %10s: ", label);
	if (!s) {
		fputs("NULL\n", stdout);
		return;
	}
	fputc('"', stdout);
	tap_put_escaped(s, strlen(s), 400);
	fputs("\"\n", stdout);
}

static inline int TAP_PRINTF(4, 5)
tap_ok_at(const char *file, int line, int pass, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pass = tap_result_v(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

static inline int TAP_PRINTF(5, 6)
tap_is_int_at(const char *file, int line, long long got, long long expected, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int pass = tap_result_v(got == expected, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		printf("#          got: %lld (0x%llX)\n", got, (unsigned long long)got);
		printf("#     expected: %lld (0x%llX)\n", expected, (unsigned long long)expected);
	}
	return pass;
}

static inline int TAP_PRINTF(5, 6)
tap_is_str_at(const char *file, int line, const char *got, const char *expected, const char *fmt, ...)
{
	int same = (got == NULL && expected == NULL) ||
	           (got && expected && strcmp(got, expected) == 0);
	va_list ap;
	va_start(ap, fmt);
	int pass = tap_result_v(same, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		tap_diag_value("got", got);
		tap_diag_value("expected", expected);
	}
	return pass;
}

static inline int TAP_PRINTF(7, 8)
tap_is_mem_at(const char *file, int line, const void *got, size_t got_len,
              const void *expected, size_t expected_len, const char *fmt, ...)
{
	int same = got_len == expected_len &&
	           (got_len == 0 || (got && expected && memcmp(got, expected, got_len) == 0));
	if (!got && got_len == 0 && expected_len == 0)
		same = 1;
	va_list ap;
	va_start(ap, fmt);
	int pass = tap_result_v(same, file, line, fmt, ap);
	va_end(ap);
	if (!pass) {
		if (!got) {
			printf("#          got: NULL\n");
			printf("#     expected: %zu bytes\n", expected_len);
			return pass;
		}
		const unsigned char *g = got, *e = expected;
		size_t n = got_len < expected_len ? got_len : expected_len, at = 0;
		while (at < n && g[at] == e[at])
			at++;
		size_t from = at > 16 ? at - 16 : 0;
		printf("#     lengths: got %zu, expected %zu; first difference at byte %zu\n",
		       got_len, expected_len, at);
		printf("#          got[%zu..]: \"", from);
		tap_put_escaped(g + from, got_len - from, 80);
		printf("\"\n#     expected[%zu..]: \"", from);
		tap_put_escaped(e + from, expected_len - from, 80);
		printf("\"\n");
	}
	return pass;
}

#define ok(cond, ...) tap_ok_at(__FILE__, __LINE__, !!(cond), __VA_ARGS__)
#define is_int(got, expected, ...) \
	tap_is_int_at(__FILE__, __LINE__, (long long)(got), (long long)(expected), __VA_ARGS__)
#define is_str(got, expected, ...) tap_is_str_at(__FILE__, __LINE__, (got), (expected), __VA_ARGS__)
#define is_mem(got, got_len, expected, expected_len, ...) \
	tap_is_mem_at(__FILE__, __LINE__, (got), (got_len), (expected), (expected_len), __VA_ARGS__)

/* Finish: print the plan if there was none; the exit status for main(). */
static inline int done_testing(void)
{
	if (tap_planned < 0) {
		printf("1..%d\n", tap_run);
	} else if (tap_planned != tap_run) {
		diag("planned %d tests but ran %d", tap_planned, tap_run);
		tap_failed++;
	}
	if (tap_failed)
		diag("%d of %d assertions failed", tap_failed, tap_run);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif /* TAP_H */
