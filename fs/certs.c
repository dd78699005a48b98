/*
 * certs.c - the address -> certificate map at the mount root.
 *
 * design.md 5: certificates/<address>.pem is SMTP-ADDR-DC-CERT-MAP of the
 * DRS seeds, filled from every signature that verifies.  The map itself
 * lives in the mapper's crypto context and learns whenever a message's
 * smime/ is worked out; this file makes sure that has happened for every
 * S/MIME message of the mailbox before the map is shown or used, so that
 * `ls certificates/` does not depend on what was opened before.
 */
#include <string.h>

#include "mapifs.h"

/* Evaluate the S/MIME messages of @f not looked at yet (lock NOT held). */
static void learn_folder(mount *mnt, folder *f, int depth)
{
	if (depth > 64)
		return;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *subs = g_ptr_array_new();
	pthread_mutex_lock(&mnt->lock);
	sync_folder(mnt, f, NULL);
	size_t pos = 0;
	msgent e;
	while (msgtab_next(f->messages, &pos, &e)) {
		/* a flag rename gives the file a new path: it is looked at again,
		 * which costs a header read */
		char *rel = folder_entry_relpath(f, &e);
		if (g_hash_table_contains(mnt->learned, rel)) {
			g_free(rel);
			continue;
		}
		g_hash_table_add(mnt->learned, rel);
		g_ptr_array_add(names, g_strdup(e.name));
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, f->subfolders);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(subs, v);
	pthread_mutex_unlock(&mnt->lock);

	for (guint i = 0; i < names->len; i++) {
		int err = 0;
		cached *c = cache_get(mnt, f, names->pdata[i], MAPPER_LOAD_HEADERS, NULL, &err);
		if (!c)
			continue;
		bool smime = strstr(mapper_message_class(cache_lock(c)), "SMIME") != NULL;
		cache_unlock(c);
		cache_put(mnt, c);
		if (!smime)
			continue;
		c = cache_get(mnt, f, names->pdata[i], MAPPER_LOAD_FULL, NULL, &err);
		if (!c)
			continue;
		/* the verification holds this message's lock only */
		mapper_message_smime_evaluate(cache_lock(c));
		cache_unlock(c);
		cache_put(mnt, c);
	}
	g_ptr_array_unref(names);
	for (guint i = 0; i < subs->len; i++)
		learn_folder(mnt, subs->pdata[i], depth + 1);
	g_ptr_array_unref(subs);
}

void certificates_learn(mount *mnt)
{
	if (!mnt->crypto || !mnt->root)
		return;
	/* one walk at a time, so that a second caller waits for the first to
	 * finish instead of seeing a map half learnt (mapifs.h) */
	g_mutex_lock(&mnt->certs_lock);
	learn_folder(mnt, mnt->root, 0);
	g_mutex_unlock(&mnt->certs_lock);
}
