/*
 * mapper-test.h - helpers shared by the mapper unit tests, on top of tap.h.
 *
 * Only the public API of mapper.h is used.  Messages are C strings; the
 * helpers load them, read property files as NUL-terminated copies, and
 * assert on files, statuses and listings with a diagnostic that names the
 * path.
 */
#ifndef MAPPER_TEST_H
#define MAPPER_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mapper.h"
#include "tap.h"

/* ---- loading ------------------------------------------------------------ */

static inline mapper_message *load_level(const char *eml, mapper_load_level level)
{
	mapper_message *m = mapper_message_load(eml, strlen(eml), NULL, level);
	if (!m) {
		fprintf(stderr, "mapper_message_load returned NULL\n");
		abort();
	}
	return m;
}

static inline mapper_message *load(const char *eml)
{
	return load_level(eml, MAPPER_LOAD_FULL);
}

static inline mapper_message *load_flags(const char *eml, const char *maildir_flags)
{
	mapper_source src = { .maildir_flags = maildir_flags };
	mapper_message *m = mapper_message_load(eml, strlen(eml), &src, MAPPER_LOAD_FULL);
	if (!m)
		abort();
	return m;
}

/* ---- reading ------------------------------------------------------------ */

/* A NUL-terminated copy of file @path (caller frees), or NULL when the read
 * fails; *@len gets its size when @len is not NULL. */
static inline char *read_copy(mapper_message *m, const char *path, size_t *len)
{
	const void *d = NULL;
	size_t n = 0;
	if (mapper_message_read(m, path, &d, &n) != MAPPER_OK)
		return NULL;
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, d, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

/* The names in directory @path joined with ",", or a "<status>" text. */
static inline char *list_joined(mapper_message *m, const char *path)
{
	char **names = NULL;
	size_t count = 0;
	mapper_status st = mapper_message_list(m, path, &names, &count);
	if (st != MAPPER_OK) {
		const char *s = mapper_status_to_string(st);
		char *out = malloc(strlen(s) + 3);
		sprintf(out, "<%s>", s);
		return out;
	}
	size_t total = 1;
	for (size_t i = 0; i < count; i++)
		total += strlen(names[i]) + 1;
	char *out = malloc(total);
	out[0] = '\0';
	for (size_t i = 0; i < count; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, names[i]);
	}
	mapper_names_free(names);
	return out;
}

/* ---- assertions ----------------------------------------------------------- */

/* File @path holds exactly the bytes of @expected (a C string). */
static inline int test_is_file(const char *file, int line, mapper_message *m,
                               const char *path, const char *expected, const char *what)
{
	const void *d = NULL;
	size_t n = 0;
	mapper_status st = mapper_message_read(m, path, &d, &n);
	if (st != MAPPER_OK) {
		tap_ok_at(file, line, 0, "%s: %s", what, path);
		printf("#     read failed: %s\n", mapper_status_to_string(st));
		tap_diag_value("expected", expected);
		return 0;
	}
	return tap_is_mem_at(file, line, d, n, expected, strlen(expected), "%s: %s", what, path);
}
#define is_file(m, path, expected, what) test_is_file(__FILE__, __LINE__, (m), (path), (expected), (what))

/* File @path holds exactly @len bytes at @expected. */
static inline int test_is_file_mem(const char *file, int line, mapper_message *m, const char *path,
                                   const void *expected, size_t len, const char *what)
{
	const void *d = NULL;
	size_t n = 0;
	mapper_status st = mapper_message_read(m, path, &d, &n);
	if (st != MAPPER_OK) {
		tap_ok_at(file, line, 0, "%s: %s", what, path);
		printf("#     read failed: %s\n", mapper_status_to_string(st));
		return 0;
	}
	return tap_is_mem_at(file, line, d, n, expected, len, "%s: %s", what, path);
}
#define is_file_mem(m, path, expected, len, what) \
	test_is_file_mem(__FILE__, __LINE__, (m), (path), (expected), (len), (what))

/* mapper_message_stat(@path) returns @expected. */
static inline int test_is_stat(const char *file, int line, mapper_message *m, const char *path,
                               mapper_status expected, const char *what)
{
	mapper_node node;
	mapper_status st = mapper_message_stat(m, path, &node);
	return tap_is_str_at(file, line, mapper_status_to_string(st), mapper_status_to_string(expected),
	                     "%s: stat %s", what, path);
}
#define is_stat(m, path, expected, what) test_is_stat(__FILE__, __LINE__, (m), (path), (expected), (what))
#define is_absent(m, path, what) is_stat((m), (path), MAPPER_NOT_FOUND, (what))

/* The listing of @path, joined with ",", is @expected. */
static inline int test_is_list(const char *file, int line, mapper_message *m, const char *path,
                               const char *expected, const char *what)
{
	char *got = list_joined(m, path);
	int pass = tap_is_str_at(file, line, got, expected, "%s: ls '%s'", what, path);
	free(got);
	return pass;
}
#define is_list(m, path, expected, what) test_is_list(__FILE__, __LINE__, (m), (path), (expected), (what))

/* Integer file @path has bit @bit set. */
static inline int test_has_bit(const char *file, int line, mapper_message *m, const char *path,
                               long long bit, int want, const char *what)
{
	char *s = read_copy(m, path, NULL);
	long long v = s ? strtoll(s, NULL, 10) : 0;
	int pass = tap_ok_at(file, line, s && (((v & bit) != 0) == (want != 0)),
	                     "%s: %s bit 0x%llX %s", what, path, bit, want ? "set" : "clear");
	if (!pass)
		tap_diag_value("content", s);
	free(s);
	return pass;
}
#define has_bit(m, path, bit, what) test_has_bit(__FILE__, __LINE__, (m), (path), (bit), 1, (what))
#define lacks_bit(m, path, bit, what) test_has_bit(__FILE__, __LINE__, (m), (path), (bit), 0, (what))

/* ---- building inputs ------------------------------------------------------ */

/* @s with every "\n" not preceded by "\r" turned into "\r\n"; caller frees. */
static inline char *crlf(const char *s)
{
	size_t n = strlen(s), extra = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			extra++;
	char *out = malloc(n + extra + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			*o++ = '\r';
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/* A growing byte buffer for generated messages. */
typedef struct {
	char *data;
	size_t len, cap;
} buf;

static inline void buf_add_len(buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			abort();
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void buf_add(buf *b, const char *s)
{
	buf_add_len(b, s, strlen(s));
}

static inline void TAP_PRINTF(2, 3) buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *tmp = malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add_len(b, tmp, (size_t)n);
	free(tmp);
}

/* Base64 of @len bytes, lines of @width characters ended by @eol; caller frees. */
static inline char *base64_lines(const unsigned char *d, size_t len, int width, const char *eol)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	buf b = { 0 };
	int col = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)d[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		char q[4] = {
			abc[(v >> 18) & 63], abc[(v >> 12) & 63],
			i + 1 < len ? abc[(v >> 6) & 63] : '=',
			i + 2 < len ? abc[v & 63] : '=',
		};
		buf_add_len(&b, q, 4);
		col += 4;
		if (col >= width) {
			buf_add(&b, eol);
			col = 0;
		}
	}
	if (col)
		buf_add(&b, eol);
	if (!b.data)
		buf_add(&b, "");
	return b.data;
}

/* Whether @len bytes at @s are valid UTF-8 (RFC 3629: no overlongs,
 * surrogates or code points above U+10FFFF). */
static inline bool valid_utf8(const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1; cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2; cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

#endif /* MAPPER_TEST_H */
