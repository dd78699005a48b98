/*
 * cache.c - a bounded LRU cache of parsed message objects.
 *
 * Each message may hold a header-only object (enough for every property a
 * header supplies) and a full one; the full one replaces the other.  Weight
 * is the number of source bytes parsed, so a few huge messages cannot push
 * memory past CACHE_MAX_BYTES; an evicted message is parsed again on demand
 * and gives the same tree.
 */
#include <string.h>

#include "mapifs.h"

typedef struct cached {
	char *key;
	mapper_message *msg;
	mapper_load_level level;
	size_t weight;
	struct stat st;     /* of the backing file when parsed */
	GList *link;        /* in mnt->lru */
} cached;

static void cached_free(gpointer p)
{
	cached *c = p;
	mapper_message_free(c->msg);
	g_free(c->key);
	g_free(c);
}

void cache_init(mount *mnt)
{
	mnt->cache = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, cached_free);
	g_queue_init(&mnt->lru);
	mnt->cache_weight = 0;
}

void cache_free(mount *mnt)
{
	g_queue_clear(&mnt->lru);
	if (mnt->cache)
		g_hash_table_unref(mnt->cache);
	mnt->cache = NULL;
}

static char *cache_key(folder *f, const char *name)
{
	return g_strconcat(f->path, "\n", name, NULL);
}

static void evict(mount *mnt, cached *c)
{
	g_queue_delete_link(&mnt->lru, c->link);
	mnt->cache_weight -= c->weight;
	g_hash_table_remove(mnt->cache, c->key);
}

void cache_drop(mount *mnt, folder *f, const char *name)
{
	char *key = cache_key(f, name);
	cached *c = g_hash_table_lookup(mnt->cache, key);
	g_free(key);
	if (c)
		evict(mnt, c);
}

mapper_message *cache_message(mount *mnt, folder *f, msgfile *mf,
                              mapper_load_level level, struct stat *st, int *err)
{
	char *key = cache_key(f, mf->name);
	cached *c = g_hash_table_lookup(mnt->cache, key);
	if (c && (c->level == MAPPER_LOAD_FULL || level == MAPPER_LOAD_HEADERS)) {
		g_free(key);
		g_queue_unlink(&mnt->lru, c->link);
		g_queue_push_head_link(&mnt->lru, c->link);
		if (st)
			*st = c->st;
		return c->msg;
	}
	if (c)
		evict(mnt, c);

	char *data = NULL;
	size_t len = 0;
	struct stat fst;
	*err = source_read(mnt, mf->relpath, level, &data, &len, &fst);
	if (*err) {
		g_free(key);
		mapifs_log("%s: cannot read: %s", mf->relpath, g_strerror(*err));
		return NULL;
	}
	mapper_source src = {
		.maildir_flags = mf->flags,
		.maildir_new = mf->in_new,
		.mtime = fst.st_mtim.tv_sec,
	};
	mapper_message *m = mapper_message_load(data, len, &src, level);
	g_free(data);
	if (!m) {
		g_free(key);
		*err = ENOMEM;
		return NULL;
	}
	mapper_message_set_crypto(m, mnt->crypto);
	/* design.md 7: one clear line per message that did not convert cleanly,
	 * logged when the whole message is parsed (the header pass would repeat it) */
	if (level == MAPPER_LOAD_FULL && mapper_message_warning(m))
		mapifs_log("%s: %s", mf->relpath, mapper_message_warning(m));

	c = g_new0(cached, 1);
	c->key = key;
	c->msg = m;
	c->level = level;
	c->weight = len;
	c->st = fst;
	g_hash_table_insert(mnt->cache, c->key, c);
	g_queue_push_head(&mnt->lru, c);
	c->link = mnt->lru.head;
	mnt->cache_weight += len;

	/* evict from the tail, but never the object just made */
	while ((mnt->cache_weight > CACHE_MAX_BYTES || g_queue_get_length(&mnt->lru) > CACHE_MAX_ENTRIES) &&
	       mnt->lru.tail && mnt->lru.tail->data != c)
		evict(mnt, mnt->lru.tail->data);
	if (st)
		*st = fst;
	return m;
}
