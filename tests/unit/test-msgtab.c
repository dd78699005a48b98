/*
 * test-msgtab.c - the packed folder listing (fs/msgtab.c) answers like a
 * plain hash table through any sequence of changes, and stays small.
 *
 * A random sequence of puts (new names and replacements), removals and
 * lookups runs on a msgtab and on a GHashTable side by side; twenty times
 * during it the two are compared entry by entry, both ways, so the
 * tombstones, index rebuilds and arena compactions are all crossed many
 * times.  Then: a table emptied and refilled again and again stays bounded
 * (removed entries do not pile up), and a million Maildir-like names take
 * under 64 bytes each beyond their own characters, all allocation included
 * (a GHashTable of refcounted blocks took some 230 bytes in all; issue 11,
 * bench --million).
 */
#include <glib.h>

#include "tap.h"
#include "msgtab.h"

typedef struct {
	char *suffix;
	bool in_new;
} model_ent;

static void model_free(gpointer p)
{
	model_ent *m = p;
	g_free(m->suffix);
	g_free(m);
}

/* Names with long shared prefixes, as Maildir names have, and some short. */
static char *name_of(GRand *r, unsigned space)
{
	unsigned k = (unsigned)g_rand_int_range(r, 0, (gint32)space);
	if (k % 7 == 0)
		return g_strdup_printf("%u", k);
	return g_strdup_printf("1700000000.M%06uP%u.host.example", k, k * 31u % 30000u);
}

static const char *const suffixes[] = { ":2,S", ":2,RS", ":2,", "", ".eml", ":2,FS" };

/* Whether @t and @model hold the same entries. */
static bool same(const msgtab *t, GHashTable *model, char **why)
{
	if (msgtab_count(t) != g_hash_table_size(model)) {
		*why = g_strdup_printf("%zu entries, model %u", msgtab_count(t), g_hash_table_size(model));
		return false;
	}
	size_t pos = 0, seen = 0;
	msgent e;
	while (msgtab_next(t, &pos, &e)) {
		model_ent *m = g_hash_table_lookup(model, e.name);
		if (!m || strcmp(m->suffix, e.suffix) != 0 || m->in_new != e.in_new) {
			*why = g_strdup_printf("iterated %s%s: not so in the model", e.name, e.suffix);
			return false;
		}
		seen++;
	}
	if (seen != g_hash_table_size(model)) {
		*why = g_strdup_printf("iterated %zu entries, model %u", seen, g_hash_table_size(model));
		return false;
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, model);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		model_ent *m = v;
		if (!msgtab_get(t, k, &e) || strcmp(e.name, k) != 0 || strcmp(e.suffix, m->suffix) != 0 ||
		    e.in_new != m->in_new) {
			*why = g_strdup_printf("%s: not found as in the model", (char *)k);
			return false;
		}
	}
	return true;
}

static void random_changes(unsigned space, int steps, const char *what)
{
	GRand *r = g_rand_new_with_seed(space);
	msgtab *t = msgtab_new();
	GHashTable *model = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, model_free);
	char *why = NULL;
	bool good = true;
	for (int i = 1; i <= steps && good; i++) {
		char *name = name_of(r, space);
		int op = g_rand_int_range(r, 0, 10);
		if (op < 5) {
			const char *suf = suffixes[g_rand_int_range(r, 0, G_N_ELEMENTS(suffixes))];
			bool in_new = g_rand_int_range(r, 0, 4) == 0;
			msgtab_put(t, name, suf, in_new);
			model_ent *m = g_new(model_ent, 1);
			*m = (model_ent){ g_strdup(suf), in_new };
			g_hash_table_replace(model, g_strdup(name), m);
		} else if (op < 8) {
			bool had = g_hash_table_remove(model, name);
			if (msgtab_remove(t, name) != had) {
				why = g_strdup_printf("step %d: remove %s said %s", i, name, had ? "no" : "yes");
				good = false;
			}
		} else if (msgtab_get(t, name, NULL) != g_hash_table_contains(model, name)) {
			why = g_strdup_printf("step %d: lookup of %s disagrees", i, name);
			good = false;
		}
		g_free(name);
		if (i == steps / 2)
			msgtab_reserve(t, space);   /* a bigger index midway keeps every entry */
		if (good && i % (steps / 20) == 0)
			good = same(t, model, &why);
	}
	ok(good && same(t, model, &why), "%s: %d random changes over %u names agree with a hash table%s%s",
	   what, steps, space, why ? ": " : "", why ? why : "");
	g_free(why);
	g_hash_table_unref(model);
	msgtab_free(t);
	g_rand_free(r);
}

int main(void)
{
	random_changes(50, 20000, "few names, many replacements");
	random_changes(3, 2000, "three names");
	random_changes(5000, 200000, "some names");
	random_changes(200000, 300000, "many names");

	/* a name longer than a file name can be is refused, not truncated */
	msgtab *lt = msgtab_new();
	char *longname = g_strnfill(256, 'x');
	ok(!msgtab_put(lt, longname, "", false) && !msgtab_get(lt, longname, NULL) &&
	   msgtab_put(lt, longname + 1, ":2,S", false) && msgtab_get(lt, longname + 1, NULL),
	   "a 256-byte name is refused, a 255-byte one kept");
	g_free(longname);
	msgtab_free(lt);

	/* a table filled and emptied over and over keeps its size bounded */
	msgtab *t = msgtab_new();
	size_t most = 0;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 10000; i++) {
			char name[64];
			snprintf(name, sizeof name, "r%d.m%d", round, i);
			msgtab_put(t, name, ":2,S", false);
		}
		for (int i = 0; i < 10000; i++) {
			char name[64];
			snprintf(name, sizeof name, "r%d.m%d", round, i);
			msgtab_remove(t, name);
		}
		if (msgtab_bytes(t) > most)
			most = msgtab_bytes(t);
	}
	is_int((long long)msgtab_count(t), 0, "filled and emptied 50 times: empty");
	ok(most < 1024 * 1024, "and never more than 1 MiB for 10,000 names at a time (%zu bytes)", most);
	msgtab_free(t);

	/* a million Maildir names, as bench --million has them */
	t = msgtab_new();
	size_t chars = 0;
	for (int i = 0; i < 1000000; i++) {
		char name[64];
		int n = snprintf(name, sizeof name, "%d.M%06dP%d.bench-host", 1600000000 + 37 * i, i % 999983,
		                 1000 + i % 30000);
		chars += (size_t)n;
		msgtab_put(t, name, i % 50 ? ":2,S" : "", i % 50 == 0);
	}
	double per = (double)(msgtab_bytes(t) - chars) / 1e6;
	diag("a million names of %.1f bytes on average: %.1f bytes each in all", (double)chars / 1e6,
	     (double)msgtab_bytes(t) / 1e6);
	/* the arena may be up to twice what it holds: count what is in use */
	ok(per < 64, "a million names: %.1f bytes each beyond the name itself (allocated, arena slack included)",
	   per);
	msgent e;
	ok(msgtab_get(t, "1600000000.M000000P1000.bench-host", &e) && !strcmp(e.suffix, "") && e.in_new,
	   "the first of them is found, in new/");
	msgtab_free(t);
	return done_testing();
}
