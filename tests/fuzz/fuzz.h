/*
 * fuzz.h - helpers shared by the libFuzzer targets of tests/fuzz/, on top of
 * the public API of mapper.h only.
 *
 * A target that finds a broken promise of mapper.h (a listed name that does
 * not stat, a file whose size differs from its stat size ...) calls
 * fuzz_fail(), which prints what and aborts, so that libFuzzer keeps the
 * input like any crash.
 */
#ifndef MAPIFS_FUZZ_H
#define MAPIFS_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper.h"

static inline void __attribute__((noreturn, format(printf, 1, 2))) fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: broken promise: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* Once per process, before the first input. */
static inline void fuzz_init(void)
{
	static bool done;
	if (!done) {
		mapper_init();
		done = true;
	}
}

/* "dir/name" or "name" at the root; caller frees. */
static inline char *fuzz_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (!p)
		abort();
	if (a) {
		memcpy(p, dir, a);
		p[a++] = '/';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

/* What a walk may cost: a message of 100,000 header fields or 3000
 * attachments is read in part, enough to reach every kind of entry. */
typedef struct fuzz_budget {
	long entries;        /* stat calls left */
	long bytes;          /* file bytes left to look at */
	int max_depth;       /* directory levels below the start */
} fuzz_budget;

static inline fuzz_budget fuzz_default_budget(void)
{
	return (fuzz_budget){ .entries = 20000, .bytes = 64L << 20, .max_depth = 200 };
}

/*
 * Walk the tree below @path as the daemon does (readdir, getattr of every
 * entry, read of every file) and check what mapper.h promises:
 *  - a listing is sorted, without duplicates, of non-empty names without '/';
 *  - every listed name stats (MAPPER_INCOMPLETE allowed when @headers_only);
 *  - a file reads exactly its stat size, a directory lists.
 * Returns the number of entries seen.
 */
static inline long fuzz_walk(mapper_message *m, const char *path, bool headers_only,
                             fuzz_budget *b, int depth)
{
	char **names = NULL;
	size_t count = 0;
	mapper_status st = mapper_message_list(m, path, &names, &count);
	if (st == MAPPER_INCOMPLETE && headers_only)
		return 0;
	if (st != MAPPER_OK)
		fuzz_fail("ls '%s' of a directory: %s", path, mapper_status_to_string(st));
	long seen = 0;
	for (size_t i = 0; i < count && b->entries > 0; i++) {
		const char *name = names[i];
		if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
			fuzz_fail("'%s': entry '%s' is no file name", path, name);
		if (i && strcmp(names[i - 1], name) >= 0)
			fuzz_fail("'%s': listing not sorted or duplicated at '%s'", path, name);
		char *p = fuzz_join(path, name);
		mapper_node node;
		b->entries--;
		seen++;
		st = mapper_message_stat(m, p, &node);
		if (st == MAPPER_INCOMPLETE && headers_only) {
			free(p);
			continue;
		}
		if (st != MAPPER_OK)
			fuzz_fail("stat of listed '%s': %s", p, mapper_status_to_string(st));
		if (node.kind == MAPPER_NODE_FILE) {
			const void *d = NULL;
			size_t len = 0;
			st = mapper_message_read(m, p, &d, &len);
			if (st != MAPPER_OK)
				fuzz_fail("read of file '%s': %s", p, mapper_status_to_string(st));
			if (len != node.size)
				fuzz_fail("'%s': stat size %llu, read %zu", p, (unsigned long long)node.size, len);
			if (len && (size_t)b->bytes > len) {
				/* touch every byte, so that ASan sees a short buffer */
				const volatile unsigned char *c = d;
				unsigned sum = 0;
				for (size_t k = 0; k < len; k += 61)
					sum += c[k];
				sum += c[len - 1];
				(void)sum;
				b->bytes -= (long)len;
			}
			if (mapper_message_list(m, p, &(char **){ NULL }, &(size_t){ 0 }) == MAPPER_OK)
				fuzz_fail("'%s' is a file and lists", p);
		} else if (depth < b->max_depth) {
			seen += fuzz_walk(m, p, headers_only, b, depth + 1);
		}
		free(p);
	}
	mapper_names_free(names);
	return seen;
}

/* The source facts of a Maildir file, chosen by one byte. */
static inline mapper_source fuzz_source(uint8_t sel)
{
	static const char *const flags[] = { "", "S", "FRS", "DFPRST", "T", "PS", "RS", "F" };
	return (mapper_source){
		.maildir_flags = sel & 0x80 ? NULL : flags[sel & 7],
		.maildir_new = (sel & 0x08) != 0,
		.mtime = sel & 0x10 ? 1700000000 + (int64_t)sel : 0,
	};
}

/* libFuzzer's entry points; a target without setup of its own takes
 * fuzz_init() as its initialiser with FUZZ_PLAIN_INIT. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#define FUZZ_PLAIN_INIT \
	int LLVMFuzzerInitialize(int *argc, char ***argv) \
	{ \
		(void)argc, (void)argv; \
		fuzz_init(); \
		return 0; \
	}

#endif /* MAPIFS_FUZZ_H */
