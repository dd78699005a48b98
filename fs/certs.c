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

static void learn_folder(mount *mnt, folder *f, int depth)
{
	if (depth > 64)
		return;
	folder_refresh(mnt, f, NULL);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, f->messages);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(names, g_strdup(k));
	for (guint i = 0; i < names->len; i++) {
		/* a flag rename gives the file a new path: it is looked at again,
		 * which costs a header read */
		msgfile *mf = folder_message(mnt, f, names->pdata[i]);
		if (!mf || g_hash_table_contains(mnt->learned, mf->relpath))
			continue;
		g_hash_table_add(mnt->learned, g_strdup(mf->relpath));
		int err = 0;
		mapper_message *m = cache_message(mnt, f, mf, MAPPER_LOAD_HEADERS, NULL, &err);
		if (!m || !strstr(mapper_message_class(m), "SMIME"))
			continue;
		m = cache_message(mnt, f, mf, MAPPER_LOAD_FULL, NULL, &err);
		if (m)
			mapper_message_smime_evaluate(m);
	}
	g_ptr_array_unref(names);

	GPtrArray *subs = g_ptr_array_new();
	g_hash_table_iter_init(&it, f->subfolders);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(subs, v);
	for (guint i = 0; i < subs->len; i++)
		learn_folder(mnt, subs->pdata[i], depth + 1);
	g_ptr_array_unref(subs);
}

void certificates_learn(mount *mnt)
{
	if (!mnt->crypto || !mnt->root)
		return;
	learn_folder(mnt, mnt->root, 0);
}
