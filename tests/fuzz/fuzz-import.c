/*
 * fuzz-import.c - mapper_message_load() at both levels (issue 9, fuzzing
 * point a): the reader must take any bytes, return an object with a class
 * and never crash, leak or hang.  The root files a headers-only object has
 * must be the same as the full object's (mapper.h, mapper_message_needs_body).
 * The same bytes loaded from a file with every attachment left there
 * (mapper_message_load_file, issue 11) must give the same tree, sizes and
 * bytes as the load from memory.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "fuzz.h"

FUZZ_PLAIN_INIT

/* Every root file of @full that does not need the body is in @head, same
 * size and bytes. */
static void same_root(mapper_message *full, mapper_message *head)
{
	char **names = NULL;
	size_t count = 0;
	if (mapper_message_list(full, "", &names, &count) != MAPPER_OK)
		fuzz_fail("the root of a full object does not list");
	for (size_t i = 0; i < count; i++) {
		mapper_node a, b;
		if (mapper_message_needs_body(head, names[i]))
			continue;
		if (mapper_message_stat(full, names[i], &a) != MAPPER_OK)
			fuzz_fail("listed root entry '%s' does not stat", names[i]);
		mapper_status st = mapper_message_stat(head, names[i], &b);
		if (st != MAPPER_OK)
			fuzz_fail("root entry '%s': %s in the headers-only object", names[i],
			          mapper_status_to_string(st));
		if (a.kind != b.kind || (a.kind == MAPPER_NODE_FILE && a.size != b.size))
			fuzz_fail("root entry '%s' differs between the levels (size %llu / %llu)", names[i],
			          (unsigned long long)a.size, (unsigned long long)b.size);
		if (a.kind == MAPPER_NODE_FILE) {
			const void *x, *y;
			size_t xl, yl;
			if (mapper_message_read(full, names[i], &x, &xl) != MAPPER_OK ||
			    mapper_message_read(head, names[i], &y, &yl) != MAPPER_OK || xl != yl ||
			    memcmp(x, y, xl) != 0)
				fuzz_fail("root file '%s' differs between the levels", names[i]);
		}
	}
	mapper_names_free(names);
}

/* The subtree @path is the same in @mm and @fm (loaded from @fd). */
static void same_tree(mapper_message *mm, mapper_message *fm, int fd, const char *path, int depth)
{
	mapper_node a, b;
	mapper_status sa = mapper_message_stat(mm, path, &a), sb = mapper_message_stat(fm, path, &b);
	if (sa != sb || (sa == MAPPER_OK && (a.kind != b.kind || a.size != b.size)))
		fuzz_fail("'%s' stats differently from the file (%d/%d)", path, sa, sb);
	if (sa != MAPPER_OK || depth > 8)
		return;
	if (a.kind == MAPPER_NODE_FILE) {
		const void *x, *y;
		size_t xl, yl;
		sa = mapper_message_read(mm, path, &x, &xl);
		sb = mapper_message_read(fm, path, &y, &yl);
		if (sb == MAPPER_DEFERRED) {
			mapper_deferred *d = NULL;
			if (mapper_message_deferred(fm, path, &d) != MAPPER_OK)
				fuzz_fail("'%s' is deferred without content", path);
			char *buf = malloc(xl + 1);
			ssize_t n = mapper_deferred_pread(d, fd, buf, xl + 1, 0);
			bool same = sa == MAPPER_OK && n == (ssize_t)xl && memcmp(buf, x, xl) == 0;
			/* and from the middle on, as a second read starts */
			if (same && xl > 2) {
				n = mapper_deferred_pread(d, fd, buf, xl, xl / 2);
				same = n == (ssize_t)(xl - xl / 2) && memcmp(buf, (const char *)x + xl / 2, (size_t)n) == 0;
			}
			free(buf);
			mapper_deferred_unref(d);
			if (!same)
				fuzz_fail("'%s' reads differently from the file", path);
		} else if (sa != sb || (sa == MAPPER_OK && (xl != yl || memcmp(x, y, xl) != 0))) {
			fuzz_fail("'%s' reads differently from the file", path);
		}
		return;
	}
	char **na = NULL, **nb = NULL;
	size_t ca = 0, cb = 0;
	sa = mapper_message_list(mm, path, &na, &ca);
	sb = mapper_message_list(fm, path, &nb, &cb);
	if (sa != sb || ca != cb)
		fuzz_fail("'%s' lists differently from the file", path);
	for (size_t i = 0; i < ca; i++) {
		if (strcmp(na[i], nb[i]) != 0)
			fuzz_fail("'%s' lists differently from the file", path);
		if (!*path && strcmp(na[i], "smime") == 0)
			continue;   /* S/MIME messages are loaded from memory both ways */
		char *sub = *path ? g_strconcat(path, "/", na[i], NULL) : g_strdup(na[i]);
		same_tree(mm, fm, fd, sub, depth + 1);
		g_free(sub);
	}
	mapper_names_free(na);
	mapper_names_free(nb);
}

static void same_from_file(mapper_message *full, const uint8_t *data, size_t size,
                           const mapper_source *src)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-import", 0)) < 0)
		fuzz_fail("memfd_create");
	if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		fuzz_fail("cannot write the memfd");
	mapper_message *fm = mapper_message_load_file(fd, src, 0);
	if (!fm)
		fuzz_fail("mapper_message_load_file returned NULL");
	if (strcmp(mapper_message_class(full), mapper_message_class(fm)) != 0)
		fuzz_fail("the class differs from the file");
	same_tree(full, fm, fd, "", 0);
	mapper_message_free(fm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mapper_source src = fuzz_source(size ? data[size - 1] : 0);
	mapper_message *head = mapper_message_load(data, size, &src, MAPPER_LOAD_HEADERS);
	mapper_message *full = mapper_message_load(data, size, &src, MAPPER_LOAD_FULL);
	if (!head || !full)
		fuzz_fail("mapper_message_load returned NULL");
	if (mapper_message_level(head) != MAPPER_LOAD_HEADERS || mapper_message_level(full) != MAPPER_LOAD_FULL)
		fuzz_fail("wrong level");
	const char *hc = mapper_message_class(head), *fc = mapper_message_class(full);
	/* every class is IPM.* or, for reports (MS-OXCMAIL 2.2.3.7.1.1), REPORT.IPM.* */
	if (!hc || !fc || (strncmp(fc, "IPM.", 4) != 0 && strncmp(fc, "REPORT.IPM.", 11) != 0))
		fuzz_fail("no class: '%s'", fc ? fc : "(null)");
	char flags[8];
	mapper_message_maildir_flags(full, flags);
	mapper_message_maildir_flags(head, flags);
	(void)mapper_message_warning(full);
	same_root(full, head);
	same_from_file(full, data, size, &src);
	mapper_message_free(head);
	mapper_message_free(full);
	return 0;
}
