/*
 * corpus-walk.h - the unit tests that run over every message of the corpus
 * beside the project (../shared/corpus; CORPUS_DIR overrides it, as for
 * the bats tests): unit-header-edit, unit-deferred.
 *
 * corpus_run(fn) calls fn(name, bytes, length) for each file below the
 * corpus in a stable order (names sorted; *.md and files of 16 MiB or more
 * left out) and returns how many it read.  A missing corpus is a skip with
 * a diagnostic, and a failure under CI=true (DEVELOPERS.md).
 */
#ifndef CORPUS_WALK_H
#define CORPUS_WALK_H

#include <sys/stat.h>

#include <glib.h>

#include "tap.h"

typedef void (*corpus_fn)(const char *name, const char *data, size_t len);

static inline int corpus_walk(const char *dir, const char *rel, corpus_fn fn)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return 0;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	for (const char *n; (n = g_dir_read_name(d));)
		g_ptr_array_add(names, g_strdup(n));
	g_dir_close(d);
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);   /* a stable order */
	int files = 0;
	for (guint i = 0; i < names->len; i++) {
		const char *n = names->pdata[i];
		char *path = g_build_filename(dir, n, NULL);
		char *r = *rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			files += corpus_walk(path, r, fn);
		} else if (S_ISREG(st.st_mode) && !g_str_has_suffix(n, ".md") &&
		           st.st_size < 16 * 1024 * 1024) {
			gchar *data;
			gsize len;
			if (g_file_get_contents(path, &data, &len, NULL)) {
				fn(r, data, len);
				files++;
				g_free(data);
			}
		}
		g_free(r);
		g_free(path);
	}
	g_ptr_array_unref(names);
	return files;
}

static inline int corpus_run(corpus_fn fn)
{
	const char *corpus = g_getenv("CORPUS_DIR");
	if (!corpus)
		corpus = g_getenv("DEFAULT_CORPUS_DIR");
	struct stat st;
	if (corpus && stat(corpus, &st) == 0 && S_ISDIR(st.st_mode)) {
		int files = corpus_walk(corpus, "", fn);
		ok(files > 100, "the corpus gave %d messages", files);
		return files;
	}
	if (g_getenv("CI"))
		ok(0, "CI: the corpus %s is missing", corpus ? corpus : "(CORPUS_DIR unset)");
	else
		diag("SKIP corpus part: %s is missing (the built-in messages were checked)",
		     corpus ? corpus : "CORPUS_DIR");
	return 0;
}

#endif /* CORPUS_WALK_H */
