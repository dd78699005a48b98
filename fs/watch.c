/*
 * watch.c - follow changes other programs make to the source tree and tell
 * the kernel, instead of relying on short cache timeouts (libfuse
 * example/notify_inval_entry.c).
 *
 * inotify reports a change in a folder's directory; the watcher rescans that
 * folder, then, with the lock released, invalidates the entries that
 * appeared, vanished or got another backing file, and the folder's cached
 * listing.  It also sends the notifications that rescans made by request
 * threads queued (notify_folder_diff): a request thread never sends one
 * that names an entry.  Without inotify (watch limit reached), folders
 * are rescanned when their directory mtime changes, and entries expire by
 * timeout only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "mapifs.h"

/* IN_DONT_FOLLOW: a symlinked cur/ is not a folder (design.md 8);
 * IN_MOVE_SELF: a cur/ moved away (and perhaps replaced) is read again */
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                    IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
                    IN_DONT_FOLLOW)

/* A kernel notification, queued under the lock and sent by the watcher
 * thread: never by a request thread, since the kernel may hold the very
 * directory lock an entry notification needs while it waits for that
 * request (libfuse: "must not be called in the execution path of a related
 * filesystem operation"). */
typedef struct {
	bool entry;        /* inval_entry(parent, name) vs inval_inode(ino) */
	fuse_ino_t ino;
	char *name;
} inval;

int watch_init(mount *mnt)
{
	mnt->watches = g_hash_table_new(g_direct_hash, g_direct_equal);
	mnt->pending = g_array_new(FALSE, FALSE, sizeof(inval));
	mnt->stop_pipe[0] = mnt->stop_pipe[1] = -1;
	mnt->wake_pipe[0] = mnt->wake_pipe[1] = -1;
	if (pipe2(mnt->stop_pipe, O_CLOEXEC) != 0 || pipe2(mnt->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return errno;
	mnt->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (mnt->inotify_fd < 0)
		mapifs_log("inotify unavailable (%s): changes are picked up by directory times only",
		           g_strerror(errno));
	return 0;
}

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

void watch_folder(mount *mnt, folder *f)
{
	if (f->wd[0] >= 0 || mnt->inotify_fd < 0)
		return;
	if (f->type == FOLDER_MAILDIR) {
		char *cur = *f->srcdir ? g_build_filename(f->srcdir, "cur", NULL) : g_strdup("cur");
		char *new = *f->srcdir ? g_build_filename(f->srcdir, "new", NULL) : g_strdup("new");
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

static char *child_path(const folder *f, const char *name)
{
	return *f->path ? g_strconcat(f->path, "/", name, NULL) : g_strdup(name);
}

void notify_entry(mount *mnt, fuse_ino_t parent, const char *name)
{
	queue_entry(mnt, parent, name);
	wake(mnt);
}

void notify_folder_diff(mount *mnt, folder *f, const folder_diff *d)
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
		char *p = child_path(f, d->changed->pdata[i]);
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

void notify_attrs_under(mount *mnt, const char *path)
{
	pthread_mutex_lock(&mnt->lock);
	GArray *inos = inodes_under(mnt, path);
	pthread_mutex_unlock(&mnt->lock);
	/* offset -1: attributes only, no page locks, so this is safe inside a
	 * request (libfuse fuse_lowlevel_notify_inval_inode) */
	for (guint i = 0; i < inos->len; i++) {
		int r = fuse_lowlevel_notify_inval_inode(mnt->se, g_array_index(inos, fuse_ino_t, i), -1, 0);
		if (r < 0 && r != -ENOENT)
			mapifs_error("kernel cache invalidation failed: %s", g_strerror(-r));
	}
	g_array_unref(inos);
}

/* The message name of file @file in folder @f: the Maildir unique name, or
 * the .eml stem; NULL for other files. */
static char *message_name_of(const folder *f, const char *file)
{
	if (file[0] == '.')
		return NULL;
	if (f->type == FOLDER_MAILDIR) {
		const char *info = strstr(file, ":2,");
		return info ? g_strndup(file, (gsize)(info - file)) : g_strdup(file);
	}
	size_t n = strlen(file);
	if (n > 4 && g_ascii_strcasecmp(file + n - 4, ".eml") == 0)
		return g_strndup(file, n - 4);
	return NULL;
}

static bool in_list(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0)
			return true;
	return false;
}

/* Rescan @f and queue what the kernel must forget. Lock held.  @rewritten
 * holds the names of files written or renamed onto (close-write, moved-to):
 * a message replaced under the same name is changed, though no name is. */
static void refresh_and_queue(mount *mnt, folder *f, GHashTable *rewritten)
{
	folder_diff d;
	folder_diff_init(&d);
	f->dirty = true;
	folder_refresh(mnt, f, &d);
	folder_diff again;
	folder_diff_init(&again);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, rewritten);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		char *name = message_name_of(f, k);
		if (name && g_hash_table_contains(f->messages, name) && !in_list(d.added, name) &&
		    !in_list(d.changed, name) && !in_list(again.changed, name)) {
			cache_drop(mnt, f, name);
			g_ptr_array_add(again.changed, name);
		} else {
			g_free(name);
		}
	}
	if (again.changed->len)
		notify_folder_diff(mnt, f, &again);
	folder_diff_release(&again);
	folder_diff_release(&d);
}

/* Send what is queued (lock NOT held). */
static void send_pending(mount *mnt)
{
	pthread_mutex_lock(&mnt->lock);
	GArray *q = mnt->pending;
	mnt->pending = g_array_new(FALSE, FALSE, sizeof(inval));
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
}

static gint64 now_us(void)
{
	return g_get_monotonic_time();
}

/* The longest a burst of events is gathered before the folders are
 * rescanned: a mail client renaming files without pause must not keep new
 * mail from showing (issue: 6.7 s under load).  Short enough for new mail
 * to appear well within a second, long enough to take a Maildir delivery
 * (tmp -> new) as one change. */
#define BURST_US 50000

static void read_events(mount *mnt, GHashTable *touched)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	gint64 deadline = now_us() + BURST_US;
	for (;;) {
		ssize_t n = read(mnt->inotify_fd, buf, sizeof buf);
		if (n <= 0) {
			/* drained: wait a little for the rest of a burst */
			if (now_us() >= deadline)
				break;
			struct pollfd p = { .fd = mnt->inotify_fd, .events = POLLIN };
			int ms = (int)((deadline - now_us()) / 1000);
			if (poll(&p, 1, ms > 0 ? ms : 0) <= 0)
				break;
			continue;
		}
		for (char *c = buf; c < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)c;
			pthread_mutex_lock(&mnt->lock);
			folder *f = g_hash_table_lookup(mnt->watches, GINT_TO_POINTER(ev->wd));
			if ((ev->mask & IN_MOVE_SELF) && f) {
				/* the watch would follow the directory to its new
				 * name: drop it, the rescan watches what is there now */
				inotify_rm_watch(mnt->inotify_fd, ev->wd);
				g_hash_table_remove(mnt->watches, GINT_TO_POINTER(ev->wd));
				if (f->wd[0] == ev->wd) f->wd[0] = -1;
				if (f->wd[1] == ev->wd) f->wd[1] = -1;
			}
			if (ev->mask & IN_IGNORED) {
				g_hash_table_remove(mnt->watches, GINT_TO_POINTER(ev->wd));
				if (f) {
					if (f->wd[0] == ev->wd) f->wd[0] = -1;
					if (f->wd[1] == ev->wd) f->wd[1] = -1;
				}
			}
			if (ev->mask & IN_Q_OVERFLOW) {
				/* events were lost: look at every folder */
				GHashTableIter it;
				gpointer k, v;
				g_hash_table_iter_init(&it, mnt->folders);
				while (g_hash_table_iter_next(&it, &k, &v))
					if (((folder *)v)->scanned && !g_hash_table_contains(touched, v))
						g_hash_table_insert(touched, v,
							g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL));
			}
			pthread_mutex_unlock(&mnt->lock);
			if (f) {
				GHashTable *names = g_hash_table_lookup(touched, f);
				if (!names) {
					names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
					g_hash_table_insert(touched, f, names);
				}
				if (ev->len && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
					g_hash_table_add(names, g_strdup(ev->name));
			}
			c += sizeof *ev + ev->len;
		}
		if (now_us() >= deadline)
			break;
	}
}

static void *watch_main(void *arg)
{
	mount *mnt = arg;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = mnt->stop_pipe[0], .events = POLLIN },
			{ .fd = mnt->wake_pipe[0], .events = POLLIN },
			{ .fd = mnt->inotify_fd, .events = POLLIN },
		};
		if (poll(p, mnt->inotify_fd >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			char drain[256];
			while (read(mnt->wake_pipe[0], drain, sizeof drain) > 0)
				;
		}
		if (mnt->inotify_fd >= 0 && p[2].revents) {
			/* gather a burst of events, then rescan each folder once */
			GHashTable *touched = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
			                                            (GDestroyNotify)g_hash_table_unref);
			read_events(mnt, touched);
			pthread_mutex_lock(&mnt->lock);
			GHashTableIter it;
			gpointer k, v;
			g_hash_table_iter_init(&it, touched);
			while (g_hash_table_iter_next(&it, &k, &v))
				refresh_and_queue(mnt, k, v);
			pthread_mutex_unlock(&mnt->lock);
			g_hash_table_unref(touched);
		}
		send_pending(mnt);
	}
	return NULL;
}

int watch_start(mount *mnt)
{
	/* the source root at once, so folders added before the first look show up */
	pthread_mutex_lock(&mnt->lock);
	watch_folder(mnt, mnt->root);
	pthread_mutex_unlock(&mnt->lock);
	int r = pthread_create(&mnt->watcher, NULL, watch_main, mnt);
	if (r)
		return r;
	mnt->watcher_running = true;
	return 0;
}

void watch_stop(mount *mnt)
{
	if (mnt->watcher_running) {
		char x = 1;
		if (write(mnt->stop_pipe[1], &x, 1) != 1)
			mapifs_error("cannot stop the watcher: %s", g_strerror(errno));
		pthread_join(mnt->watcher, NULL);
		mnt->watcher_running = false;
	}
	if (mnt->inotify_fd >= 0)
		close(mnt->inotify_fd);
	for (int i = 0; i < 2; i++) {
		if (mnt->stop_pipe[i] >= 0)
			close(mnt->stop_pipe[i]);
		if (mnt->wake_pipe[i] >= 0)
			close(mnt->wake_pipe[i]);
		mnt->stop_pipe[i] = mnt->wake_pipe[i] = -1;
	}
	if (mnt->watches)
		g_hash_table_unref(mnt->watches);
	mnt->watches = NULL;
	if (mnt->pending) {
		for (guint i = 0; i < mnt->pending->len; i++)
			g_free(g_array_index(mnt->pending, inval, i).name);
		g_array_unref(mnt->pending);
	}
	mnt->pending = NULL;
	mnt->inotify_fd = -1;
}
