/*
 * cache.c - a bounded LRU cache of parsed message objects, shared by the
 * request threads.
 *
 * Each message may hold a header-only object (enough for every property a
 * header supplies) and a full one; the full one replaces the other.  Weight
 * is the memory an object holds, estimated when it is made (weigh()), so
 * a few huge messages cannot push memory past mount->cache_max_bytes
 * (-o cache_mb), while the small header-only objects of a folder stay; an
 * evicted message is parsed again on demand and gives the same tree.
 *
 * Threads (mapifs.h): the table is under mount->lock, but a load (reading
 * the file, parsing it) runs with the lock released, so one big message
 * never stalls readers of other messages.  While a message loads, its entry
 * is a placeholder: other readers of the same message wait for it instead
 * of parsing it a second time.  Entries are reference counted: an object
 * evicted or dropped while a request still uses it lives until that request
 * puts it back.  Each entry has its own lock for the mapper calls on it.
 */
#include <errno.h>
#include <string.h>

#include "mapifs.h"

struct cached {
	char *key;
	mapper_message *msg;      /* NULL while loading */
	mapper_load_level level;
	size_t weight;
	struct stat st;           /* of the backing file when parsed */
	char *relpath;            /* that file, as the folder listing named it */
	GList *link;              /* in mnt->lru; NULL when not in the table */
	int refs;                 /* under mount->lock; the table holds one */
	bool loading;             /* a placeholder: one thread is loading it */
	bool stale;               /* dropped while loading: do not keep the result */
	GMutex use;               /* see mapifs.h */
};

static cached *cached_new(char *key)
{
	cached *c = g_new0(cached, 1);
	c->key = key;
	c->refs = 1;
	g_mutex_init(&c->use);
	return c;
}

static void cached_free(cached *c)
{
	mapper_message_free(c->msg);
	g_mutex_clear(&c->use);
	g_free(c->key);
	g_free(c->relpath);
	g_free(c);
}

/* Drop one reference; the last one frees.  Lock held. */
static void unref_locked(cached *c)
{
	if (--c->refs == 0)
		cached_free(c);
}

void cache_init(mount *mnt)
{
	mnt->cache = g_hash_table_new(g_str_hash, g_str_equal);
	g_queue_init(&mnt->lru);
	mnt->cache_weight = 0;
	pthread_cond_init(&mnt->cache_cond, NULL);
}

void cache_free(mount *mnt)
{
	if (!mnt->cache)
		return;
	/* the request threads have ended: only the table's references remain */
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, mnt->cache);
	while (g_hash_table_iter_next(&it, &k, &v))
		unref_locked(v);
	g_queue_clear(&mnt->lru);
	g_hash_table_unref(mnt->cache);
	mnt->cache = NULL;
	pthread_cond_destroy(&mnt->cache_cond);
}

static char *cache_key(const folder *f, const char *name)
{
	return g_strconcat(f->path, "\n", name, NULL);
}

/* Take @c out of the table (lock held). */
static void evict(mount *mnt, cached *c)
{
	if (c->link) {
		g_queue_delete_link(&mnt->lru, c->link);
		c->link = NULL;
		mnt->cache_weight -= c->weight;
	}
	if (g_hash_table_lookup(mnt->cache, c->key) == c)
		g_hash_table_remove(mnt->cache, c->key);
	unref_locked(c);
}

void cache_drop(mount *mnt, folder *f, const char *name)
{
	char *key = cache_key(f, name);
	cached *c = g_hash_table_lookup(mnt->cache, key);
	g_free(key);
	if (!c)
		return;
	if (c->loading)
		c->stale = true;   /* its loader will not keep what it read */
	else
		evict(mnt, c);
}

/* Whether @c was loaded from the file the listing of @f now has for
 * @name (lock held). */
static bool current(const folder *f, const char *name, const cached *c)
{
	return c->relpath && folder_lists_file(f, name, c->relpath);
}

/* The weight of a new object @m parsed from @len bytes: what it holds now,
 * plus room for what reads add later (the file text of properties read,
 * and for a full object its smime/ tree, whose decrypted content is about
 * as big as the message). */
static size_t weigh(const mapper_message *m, mapper_load_level level, size_t len)
{
	size_t now = mapper_message_footprint(m);
	return now + now / 4 + (level == MAPPER_LOAD_FULL ? len : 0);
}

/*
 * A message file this big is parsed from the file instead of being read
 * into memory first, and its attachment parts of DEFER_MIN encoded bytes
 * or more stay in the file, decoded when read (mapper_message_load_file;
 * issue 11: a 100 MiB attachment took 240 MB of memory to read).
 */
#define FILE_LOAD_MIN ((off_t)4 << 20)
#define DEFER_MIN ((size_t)1 << 20)

/* Read and parse @name of @f (lock NOT held). */
static mapper_message *load(mount *mnt, folder *f, const char *name, mapper_load_level level,
                            size_t *weight, struct stat *st, char **relpath, int *err)
{
	char *data = NULL;
	size_t len = 0;
	msgfile *mf = NULL;
	int fd = -1;
	*err = message_open(mnt, f, name, &fd, &mf);
	mapper_message *m = NULL;
	/* a header load (most of them) reads the file at once; only a full
	 * one asks its size first, to choose how */
	bool from_file = false;
	if (!*err && level == MAPPER_LOAD_FULL) {
		if (fstat(fd, st) != 0)
			*err = errno;
		else if (!S_ISREG(st->st_mode))
			*err = EIO;
		else
			from_file = st->st_size >= FILE_LOAD_MIN;
	}
	if (!*err && !from_file)
		*err = source_read_fd(fd, level, &data, &len, st);
	mapper_source src = {
		.maildir_flags = mf ? mf->flags : NULL,
		.maildir_new = mf && mf->in_new,
		.mtime = *err ? 0 : st->st_mtim.tv_sec,
	};
	if (!*err && from_file) {
		errno = 0;
		m = mapper_message_load_file(fd, &src, DEFER_MIN);
		if (!m)
			*err = errno ? errno : ENOMEM;
		/* what stays in the file weighs nothing here */
		len = m && mapper_message_has_deferred(m) ? 0 : (size_t)st->st_size;
	} else if (!*err) {
		m = mapper_message_load(data, len, &src, level);
		g_free(data);
		if (!m)
			*err = ENOMEM;
	}
	if (fd >= 0)
		close(fd);
	if (*err) {
		if (*err != ENOENT)
			mapifs_error("%s/%s: cannot read the message file: %s", f->path, name,
			             g_strerror(*err));
		msgfile_unref(mf);
		return NULL;
	}
	mapper_message_set_crypto(m, mnt->crypto);
	/* design.md 7: one clear line per message that did not convert cleanly,
	 * logged when the whole message is parsed (the header pass would repeat it) */
	if (level == MAPPER_LOAD_FULL && mapper_message_warning(m))
		mapifs_log("%s: %s", mf->relpath, mapper_message_warning(m));
	*relpath = g_strdup(mf->relpath);
	msgfile_unref(mf);
	*weight = weigh(m, level, len);
	return m;
}

/* The first component of an inner path decides whether headers suffice. */
mapper_load_level cache_level_for(const char *inner)
{
	if (!inner || !*inner)
		return MAPPER_LOAD_FULL;
	size_t n = strcspn(inner, "/");
	char first[256];
	if (n >= sizeof first)
		return MAPPER_LOAD_FULL;
	memcpy(first, inner, n);
	first[n] = '\0';
	return mapper_name_needs_body(first) ? MAPPER_LOAD_FULL : MAPPER_LOAD_HEADERS;
}

cached *cache_get(mount *mnt, folder *f, const char *name, mapper_load_level level,
                  struct stat *st, int *err)
{
	*err = 0;
	char *key = cache_key(f, name);
	pthread_mutex_lock(&mnt->lock);
	cached *c;
	for (;;) {
		c = g_hash_table_lookup(mnt->cache, key);
		if (!c || !c->loading)
			break;
		pthread_cond_wait(&mnt->cache_cond, &mnt->lock);
	}
	/* a rescan (store.c, or another program's rename seen by a reader)
	 * may have given the name another file before sync.c dropped it */
	if (c && !current(f, name, c)) {
		evict(mnt, c);
		c = NULL;
	}
	if (c && (c->level == MAPPER_LOAD_FULL || level == MAPPER_LOAD_HEADERS)) {
		g_free(key);
		c->refs++;
		g_queue_unlink(&mnt->lru, c->link);
		g_queue_push_head_link(&mnt->lru, c->link);
		if (st)
			*st = c->st;
		pthread_mutex_unlock(&mnt->lock);
		return c;
	}
	if (c)
		evict(mnt, c);   /* a header-only object, to be replaced by a full one */

	/* a placeholder that others wait on; refs: the table's and ours */
	c = cached_new(key);
	c->loading = true;
	c->level = level;
	c->refs = 2;
	g_hash_table_insert(mnt->cache, c->key, c);
	pthread_mutex_unlock(&mnt->lock);

	struct stat fst;
	size_t weight = 0;
	char *relpath = NULL;
	mapper_message *m = load(mnt, f, name, level, &weight, &fst, &relpath, err);

	pthread_mutex_lock(&mnt->lock);
	c->loading = false;
	pthread_cond_broadcast(&mnt->cache_cond);
	if (!m) {
		evict(mnt, c);
		unref_locked(c);
		pthread_mutex_unlock(&mnt->lock);
		return NULL;
	}
	c->msg = m;
	c->relpath = relpath;
	c->weight = weight;
	c->st = fst;
	if (c->stale) {
		/* the file changed while it was read: serve this request from
		 * what was read, but let the next one read it again */
		evict(mnt, c);
	} else {
		g_queue_push_head(&mnt->lru, c);
		c->link = mnt->lru.head;
		mnt->cache_weight += weight;
		/* evict from the tail, but never the object just made */
		while ((mnt->cache_weight > mnt->cache_max_bytes ||
		        g_queue_get_length(&mnt->lru) > CACHE_MAX_ENTRIES) &&
		       mnt->lru.tail && mnt->lru.tail->data != c)
			evict(mnt, mnt->lru.tail->data);
	}
	pthread_mutex_unlock(&mnt->lock);
	if (st)
		*st = fst;
	return c;
}

void cache_put(mount *mnt, cached *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&mnt->lock);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&mnt->lock);
	/* freeing a big object is not done under the table lock */
	if (last)
		cached_free(c);
}

const char *cache_source(const cached *c)
{
	return c->relpath;
}

mapper_message *cache_lock(cached *c)
{
	g_mutex_lock(&c->use);
	return c->msg;
}

void cache_unlock(cached *c)
{
	g_mutex_unlock(&c->use);
}

/* Whether the open file @fd is still the file @c was loaded from: a
 * rewrite of a message is a new file (store.c renames it over). */
static bool same_file(const cached *c, int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == c->st.st_dev && st.st_ino == c->st.st_ino &&
	       st.st_size == c->st.st_size && st.st_mtim.tv_sec == c->st.st_mtim.tv_sec &&
	       st.st_mtim.tv_nsec == c->st.st_mtim.tv_nsec;
}

int cache_read_deferred(mount *mnt, folder *f, const char *name, cached *c, const char *inner,
                        size_t size, off_t off, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	mapper_deferred *d = NULL;
	mapper_status s = mapper_message_deferred(cache_lock(c), inner, &d);
	cache_unlock(c);
	if (s != MAPPER_OK)
		return mapper_errno(s);
	int fd = -1;
	msgfile *mf;
	int err = message_open(mnt, f, name, &fd, &mf);
	if (!err) {
		msgfile_unref(mf);
		if (!same_file(c, fd)) {
			/* the object is of a file that is gone: the next request loads anew */
			pthread_mutex_lock(&mnt->lock);
			if (g_hash_table_lookup(mnt->cache, c->key) == c)
				evict(mnt, c);
			pthread_mutex_unlock(&mnt->lock);
			err = ESTALE;
		}
	}
	if (!err) {
		char *buf = g_malloc(size ? size : 1);
		ssize_t n = mapper_deferred_pread(d, fd, buf, size, (uint64_t)off);
		if (n < 0) {
			err = (int)-n;
			g_free(buf);
			mapifs_error("%s: %s: cannot read it from the message file: %s", c->relpath, inner,
			             g_strerror(err));
		} else {
			*out = buf;
			*outlen = (size_t)n;
		}
	}
	if (fd >= 0)
		close(fd);
	mapper_deferred_unref(d);
	return err;
}
