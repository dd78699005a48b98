/*
 * watch.c - the watcher thread: follows changes other programs make to the
 * source tree with inotify.
 *
 * inotify reports a change in a folder's directory; the watcher gathers a
 * burst of events, rescans each folder touched once (sync_folder, which
 * drops what the caches hold of changed messages and queues the kernel
 * notifications), and sends every queued notification with the lock
 * released (sync_send_pending), also those that rescans made by request
 * threads queued: a request thread never sends one that names an entry.
 * Without inotify (watch limit reached), folders are rescanned when their
 * directory mtime changes, and entries expire by timeout only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "mapifs.h"

int watch_init(mount *mnt)
{
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

/* Rescan @f and have the caches and the kernel forget what changed (lock
 * held).  @rewritten holds the names of files written or renamed onto
 * (close-write, moved-to): a message replaced under the same name is
 * changed, though no name is. */
static void refresh_and_queue(mount *mnt, folder *f, GHashTable *rewritten)
{
	folder_diff d;
	folder_diff_init(&d);
	f->dirty = true;
	/* a file rewritten under its name changes no listing, but the times
	 * and hashes examine.c showed */
	mnt->changes++;
	sync_folder(mnt, f, &d);
	/* names already passed on: added or changed by the rescan */
	GHashTable *told = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < d.added->len; i++)
		g_hash_table_add(told, d.added->pdata[i]);
	for (guint i = 0; i < d.changed->len; i++)
		g_hash_table_add(told, d.changed->pdata[i]);
	GPtrArray *again = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, rewritten);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		char *name = store_message_name(f->type, k, NULL);
		if (name && msgtab_get(f->messages, name, NULL) && !g_hash_table_contains(told, name)) {
			g_ptr_array_add(again, name);
			g_hash_table_add(told, name);
		} else {
			g_free(name);
		}
	}
	sync_rewritten(mnt, f, again);
	g_hash_table_unref(told);
	g_ptr_array_unref(again);
	folder_diff_release(&d);
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
			/* IN_MOVE_SELF: the watch would follow the directory to
			 * its new name: drop it, the rescan watches what is
			 * there now */
			if ((ev->mask & IN_MOVE_SELF) && f)
				sync_unwatch(mnt, f, ev->wd, true);
			if (ev->mask & IN_IGNORED)
				sync_unwatch(mnt, f, ev->wd, false);
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
			/* a rescan made by a request thread (store.c) */
			pthread_mutex_lock(&mnt->lock);
			sync_unsynced(mnt);
			pthread_mutex_unlock(&mnt->lock);
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
		sync_send_pending(mnt);
	}
	return NULL;
}

int watch_start(mount *mnt)
{
	/* the source root at once, so folders added before the first look show up */
	pthread_mutex_lock(&mnt->lock);
	sync_watch(mnt, mnt->root);
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
	mnt->inotify_fd = -1;
}
