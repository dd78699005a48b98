/*
 * sync.c - bring the caches and the kernel in step with a change of the
 * source: the one place that turns what store.c found changed into cache
 * drops and kernel notifications, for the watcher (another program changed
 * the mailbox) and for the write path (we did) alike.  Instead of short
 * cache timeouts (libfuse example/notify_inval_entry.c).
 *
 * Kernel notifications that name a directory entry are queued here and
 * sent by the watcher thread only (sync_send_pending): the kernel may hold
 * the very directory lock an entry notification needs while it waits for
 * one of our requests (libfuse: "must not be called in the execution path
 * of a related filesystem operation").  Attribute-only invalidations
 * (sync_attrs_under) take no kernel lock and are sent at once.  No
 * notification is ever sent with mount->lock held.
 */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "mapifs.h"

/* IN_DONT_FOLLOW: a symlinked cur/ is not a folder (design.md 8);
 * IN_MOVE_SELF: a cur/ moved away (and perhaps replaced) is read again */
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                    IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
                    IN_DONT_FOLLOW)

/* A queued kernel notification. */
typedef struct {
	bool entry;        /* inval_entry(parent, name) vs inval_inode(ino) */
	fuse_ino_t ino;
	char *name;
} inval;

void sync_init(mount *mnt)
{
	mnt->watches = g_hash_table_new(g_direct_hash, g_direct_equal);
	mnt->pending = g_array_new(FALSE, FALSE, sizeof(inval));
}

void sync_free(mount *mnt)
{
	if (mnt->watches)
		g_hash_table_unref(mnt->watches);
	mnt->watches = NULL;
	if (mnt->pending) {
		for (guint i = 0; i < mnt->pending->len; i++)
			g_free(g_array_index(mnt->pending, inval, i).name);
		g_array_unref(mnt->pending);
	}
	mnt->pending = NULL;
}

/* ---- watching what was read ------------------------------------------------ */

static int add_watch(mount *mnt, const char *rel, folder *f)
{
	if (mnt->inotify_fd < 0)
		return -1;
	char *abs = *rel ? g_build_filename(mnt->source, rel, NULL) : g_strdup(mnt->source);
	/* inotify never changes the watched files or their times */
	int wd = inotify_add_watch(mnt->inotify_fd, abs, WATCH_MASK);
	/* ENOTDIR: not a directory, or a symlink to one, which is skipped */
	if (wd < 0 && errno != ENOENT && errno != ENOTDIR)
		mapifs_log("cannot watch %s: %s", abs, g_strerror(errno));
	g_free(abs);
	if (wd >= 0)
		g_hash_table_insert(mnt->watches, GINT_TO_POINTER(wd), f);
	return wd;
}

void sync_watch(mount *mnt, folder *f)
{
	if (f->wd[0] >= 0 || mnt->inotify_fd < 0)
		return;
	if (f->type == FOLDER_MAILDIR) {
		char *cur = path_join(f->srcdir, "cur");
		char *new = path_join(f->srcdir, "new");
		f->wd[0] = add_watch(mnt, cur, f);
		f->wd[1] = add_watch(mnt, new, f);
		if (f->wd[0] < 0 && f->wd[1] >= 0) {
			f->wd[0] = f->wd[1];
			f->wd[1] = -1;
		}
		g_free(cur);
		g_free(new);
	} else {
		f->wd[0] = add_watch(mnt, f->srcdir, f);
	}
}

void sync_unwatch(mount *mnt, folder *f, int wd, bool remove)
{
	if (remove)
		inotify_rm_watch(mnt->inotify_fd, wd);
	g_hash_table_remove(mnt->watches, GINT_TO_POINTER(wd));
	if (f) {
		if (f->wd[0] == wd) f->wd[0] = -1;
		if (f->wd[1] == wd) f->wd[1] = -1;
	}
}

/* ---- the notification queue ------------------------------------------------- */

static void wake(mount *mnt)
{
	char x = 1;
	/* a full pipe already means "wake up" */
	if (mnt->wake_pipe[1] >= 0 && write(mnt->wake_pipe[1], &x, 1) < 0 && errno != EAGAIN)
		mapifs_error("cannot wake the watcher: %s", g_strerror(errno));
}

static void queue_entry(mount *mnt, fuse_ino_t parent, const char *name)
{
	inval iv = { true, parent, g_strdup(name) };
	g_array_append_val(mnt->pending, iv);
}

static void queue_inode(mount *mnt, fuse_ino_t ino)
{
	inval iv = { false, ino, NULL };
	g_array_append_val(mnt->pending, iv);
}

/* Queue the kernel notifications for what @d changed in @f (lock held). */
static void queue_diff(mount *mnt, folder *f, const folder_diff *d)
{
	node *fn = inode_find_path(mnt, f->path);
	if (!fn)
		return;   /* the kernel knows nothing of this folder */
	GPtrArray *lists[] = { d->added, d->removed, d->changed };
	for (int l = 0; l < 3; l++)
		for (guint i = 0; i < lists[l]->len; i++)
			queue_entry(mnt, fn->ino, lists[l]->pdata[i]);
	/* the files under a message whose backing file was replaced or
	 * renamed (flags) must be read again */
	for (guint i = 0; i < d->changed->len; i++) {
		char *p = path_join(f->path, d->changed->pdata[i]);
		GArray *inos = inodes_under(mnt, p);
		for (guint k = 0; k < inos->len; k++)
			queue_inode(mnt, g_array_index(inos, fuse_ino_t, k));
		g_array_unref(inos);
		g_free(p);
	}
	if (d->added->len || d->removed->len)
		queue_inode(mnt, fn->ino); /* its cached listing */
	if (mnt->pending->len)
		wake(mnt);
}

void sync_send_pending(mount *mnt)
{
	pthread_mutex_lock(&mnt->lock);
	GArray *q = mnt->pending;
	mnt->pending = g_array_new(FALSE, FALSE, sizeof(inval));
	bool trimmed = mnt->trimmed;
	mnt->trimmed = false;
	pthread_mutex_unlock(&mnt->lock);
	for (guint i = 0; i < q->len; i++) {
		inval *iv = &g_array_index(q, inval, i);
		int r = iv->entry
		        ? fuse_lowlevel_notify_inval_entry(mnt->se, iv->ino, iv->name, strlen(iv->name))
		        : fuse_lowlevel_notify_inval_inode(mnt->se, iv->ino, 0, 0);
		/* ENOENT: the kernel had nothing cached for it, which is fine */
		if (r < 0 && r != -ENOENT)
			mapifs_error("kernel cache invalidation failed: %s", g_strerror(-r));
		g_free(iv->name);
	}
	g_array_unref(q);
	/* the kernel forgets the trimmed entries now: give the memory of the
	 * nodes, and of the objects evicted meanwhile, back to the system */
	if (trimmed)
		malloc_trim(0);
}

/* Invalidate the attributes of inode @ino, at once (lock NOT held). */
static void inval_attrs(mount *mnt, fuse_ino_t ino)
{
	/* offset -1: attributes only, no page locks, so this is safe inside a
	 * request (libfuse fuse_lowlevel_notify_inval_inode) */
	int r = fuse_lowlevel_notify_inval_inode(mnt->se, ino, -1, 0);
	if (r < 0 && r != -ENOENT)
		mapifs_error("kernel cache invalidation failed: %s", g_strerror(-r));
}

void sync_trim_inodes(mount *mnt)
{
	GArray *entries = g_array_new(FALSE, FALSE, sizeof(trim_entry));
	inode_trim_candidates(mnt, entries);
	for (guint i = 0; i < entries->len; i++) {
		trim_entry *e = &g_array_index(entries, trim_entry, i);
		inval iv = { true, e->parent, e->name };   /* the name moves to the queue */
		g_array_append_val(mnt->pending, iv);
	}
	if (entries->len) {
		mnt->trimmed = true;
		wake(mnt);
	}
	g_array_unref(entries);
}

void sync_attrs_under(mount *mnt, const char *path)
{
	pthread_mutex_lock(&mnt->lock);
	GArray *inos = inodes_under(mnt, path);
	pthread_mutex_unlock(&mnt->lock);
	for (guint i = 0; i < inos->len; i++)
		inval_attrs(mnt, g_array_index(inos, fuse_ino_t, i));
	g_array_unref(inos);
}

/* ---- applying changes -------------------------------------------------------- */

/* Objects of replaced or vanished files must not be served again, and the
 * kernel hears of every change, whoever rescanned (lock held). */
static void apply_unsynced(mount *mnt, folder *f)
{
	folder_diff *d = folder_take_unsynced(f);
	if (!d)
		return;
	for (guint i = 0; i < d->changed->len; i++)
		cache_drop(mnt, f, d->changed->pdata[i]);
	for (guint i = 0; i < d->removed->len; i++)
		cache_drop(mnt, f, d->removed->pdata[i]);
	queue_diff(mnt, f, d);
	folder_diff_free(d);
}

void sync_unsynced(mount *mnt)
{
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, mnt->folders);
	while (g_hash_table_iter_next(&it, &k, &v))
		apply_unsynced(mnt, v);
}

void sync_folder(mount *mnt, folder *f, folder_diff *diff)
{
	folder_refresh(mnt, f, diff);
	apply_unsynced(mnt, f);
	sync_watch(mnt, f);
}

void sync_rewritten(mount *mnt, folder *f, GPtrArray *names)
{
	if (!names->len)
		return;
	folder_diff d;
	folder_diff_init(&d);
	for (guint i = 0; i < names->len; i++) {
		cache_drop(mnt, f, names->pdata[i]);
		g_ptr_array_add(d.changed, g_strdup(names->pdata[i]));
	}
	queue_diff(mnt, f, &d);
	folder_diff_release(&d);
}

void sync_message_changed(mount *mnt, folder *f, const char *name)
{
	pthread_mutex_lock(&mnt->lock);
	/* store.c put the change into the listing itself: no rescan */
	apply_unsynced(mnt, f);
	cache_drop(mnt, f, name);
	node *n = inode_find_path(mnt, f->path);
	fuse_ino_t folder_ino = n ? n->ino : 0;
	pthread_mutex_unlock(&mnt->lock);
	char *p = path_join(f->path, name);
	sync_attrs_under(mnt, p);
	g_free(p);
	/* the folder's own attributes (its times, its listing) */
	if (folder_ino)
		inval_attrs(mnt, folder_ino);
}

msgfile *sync_message_ref(mount *mnt, folder *f, const char *name)
{
	sync_folder(mnt, f, NULL);
	return folder_peek_ref(f, name);
}
