/*
 * examine.c - for examiners, at the mount root (issue 14, design.md 9):
 *
 *   timeline.body                a Sleuth Kit body file (TSK 3 format,
 *                                `mactime -b` reads it) of every message's
 *                                events: sent (Date), each Received hop,
 *                                the delivery into the Maildir, and the
 *                                times of its file
 *   duplicates/message-id/<id>/  messages sharing a Message-ID, and
 *   duplicates/sha256/<hex>/     messages with the same bytes, across all
 *                                folders: one symbolic link per message,
 *                                named by its mount path ("/" as %2F),
 *                                pointing at its directory
 *
 * Both are read-only and lazy: nothing is read until someone looks, and
 * what was worked out is kept until the mailbox changes (mount->changes).
 * Working them out reads the header of every message (the timeline) or
 * every message whole (the duplicates): the examine lock is held across
 * that walk, so two lookers wait for one walk, but no reader of a message
 * waits for it, and mount->lock is taken for the listings only.
 *
 * The timeline is kept in an unlinked temporary file, not in memory: a
 * million messages make some 300 MB of lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapifs.h"

/* ---- walking every message ------------------------------------------------- */

/* What every walk keeps: the newest change it saw (a message file's mtime
 * or ctime, a folder directory's mtime), which is the time shown for what
 * it made: the same from mount to mount of the same mailbox (design.md 6:
 * listings are identical), and new whenever the mailbox changed, so that
 * the kernel drops pages it kept of the old content. */
typedef struct walk {
	mount *mnt;
	struct timespec newest;
} walk;

static void saw(walk *w, const struct timespec *t)
{
	if (t->tv_sec > w->newest.tv_sec ||
	    (t->tv_sec == w->newest.tv_sec && t->tv_nsec > w->newest.tv_nsec))
		w->newest = *t;
}

/* The directories of @f that a message added or removed changes. */
static void saw_folder(folder *f, walk *w)
{
	static const char *const maildir[] = { "cur", "new" };
	for (int i = 0; i < (f->type == FOLDER_MAILDIR ? 2 : 1); i++) {
		char *rel = f->type == FOLDER_MAILDIR ? path_join(f->srcdir, maildir[i]) : g_strdup(f->srcdir);
		struct stat st;
		if (source_stat(w->mnt, rel, &st) == 0)
			saw(w, &st.st_mtim);
		g_free(rel);
	}
}

/* One message of a walk: its header-only object, its file's stat, birth
 * time (0 where the file system keeps none) and source path. */
typedef struct walked {
	folder *f;
	const char *name;
	mapper_message *m;
	struct stat st;
	int64_t btime;
	char *relpath;
} walked;

typedef void (*message_fn)(const walked *msg, walk *w);

static bool load_head(mount *mnt, walked *msg);

static int name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int folder_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp((*(folder *const *)a)->path, (*(folder *const *)b)->path);
}

/* Call @fn for every message of @f and its subfolders, in name order, so
 * that what is made of them is the same from mount to mount (design.md 6).
 * mount->lock is taken for the listing only. */
static void each_message(folder *f, int depth, message_fn fn, walk *w)
{
	mount *mnt = w->mnt;
	if (depth > 64)
		return;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *subs = g_ptr_array_new();
	pthread_mutex_lock(&mnt->lock);
	sync_folder(mnt, f, NULL);
	size_t pos = 0;
	msgent e;
	while (msgtab_next(f->messages, &pos, &e))
		g_ptr_array_add(names, g_strndup(e.name, e.name_len));
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, f->subfolders);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(subs, v);
	pthread_mutex_unlock(&mnt->lock);

	g_ptr_array_sort(names, name_cmp);
	g_ptr_array_sort(subs, folder_cmp);
	saw_folder(f, w);
	for (guint i = 0; i < names->len; i++) {
		walked msg = { .f = f, .name = names->pdata[i] };
		/* one gone since the listing: nothing to say of it */
		if (!load_head(mnt, &msg))
			continue;
		saw(w, &msg.st.st_mtim);
		saw(w, &msg.st.st_ctim);
		fn(&msg, w);
		mapper_message_free(msg.m);
		g_free(msg.relpath);
	}
	g_ptr_array_unref(names);
	for (guint i = 0; i < subs->len; i++)
		each_message(subs->pdata[i], depth + 1, fn, w);
	g_ptr_array_unref(subs);
}

/* The change count once every folder's listing is current: the stamp of
 * what is worked out now (lock NOT held). */
static uint64_t changes_now(mount *mnt)
{
	pthread_mutex_lock(&mnt->lock);
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, mnt->folders);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_ptr_array_add(all, v);
	/* folders are never freed before unmount (mapifs.h) */
	for (guint i = 0; i < all->len; i++)
		sync_folder(mnt, all->pdata[i], NULL);
	uint64_t n = mnt->changes;
	pthread_mutex_unlock(&mnt->lock);
	g_ptr_array_unref(all);
	return n;
}

/* Fill @msg (its f and name set) from the message file: false if it is
 * gone or cannot be read. */
static bool load_head(mount *mnt, walked *msg)
{
	char *data = NULL;
	size_t len = 0;
	msgfile *mf = NULL;
	int fd;
	if (message_open(mnt, msg->f, msg->name, &fd, &mf) != 0)
		return false;
	struct statx stx;
	msg->btime = statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 &&
	             (stx.stx_mask & STATX_BTIME) ? stx.stx_btime.tv_sec : 0;
	int err = source_read_fd(fd, MAPPER_LOAD_HEADERS, &data, &len, &msg->st);
	close(fd);
	if (!err) {
		mapper_source src = { .maildir_flags = mf->flags, .maildir_new = mf->in_new,
		                      .mtime = msg->st.st_mtime };
		msg->m = mapper_message_load(data, len, &src, MAPPER_LOAD_HEADERS);
		msg->relpath = g_strdup(mf->relpath);
	}
	msgfile_unref(mf);
	g_free(data);
	return msg->m != NULL;
}

/* The text of file @path of @m without its final newline, or NULL. */
static char *text_of(mapper_message *m, const char *path)
{
	const void *d;
	size_t n;
	if (mapper_message_read(m, path, &d, &n) != MAPPER_OK)
		return NULL;
	if (n && ((const char *)d)[n - 1] == '\n')
		n--;
	return g_strndup(d, n);
}

/* A time file of @m (ISO 8601, design.md 3) as Unix seconds. */
static bool time_of(mapper_message *m, const char *path, int64_t *out)
{
	char *t = text_of(m, path);
	GDateTime *dt = t ? g_date_time_new_from_iso8601(t, NULL) : NULL;
	g_free(t);
	if (!dt)
		return false;
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

/* @s percent-encoded where a body-file field, a link or a directory name
 * cannot hold it: '%', '|' (the field separator), '/', control bytes and
 * every byte outside ASCII (names stay plain ASCII, whatever a header
 * holds).  Appended to @out. */
static void append_escaped(GString *out, const char *s, const char *also)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c < 0x20 || *c >= 0x7f || *c == '%' || *c == '|' || strchr(also, *c))
			g_string_append_printf(out, "%%%02X", *c);
		else
			g_string_append_c(out, (char)*c);
	}
}

/* ---- timeline.body -------------------------------------------------------- */

typedef struct {
	walk base;
	FILE *out;
	size_t events;
} timeline_walk;

/* TSK's mode string: the type, then the type and permissions as ls shows
 * them ("r/rrw-r--r--"). */
static void mode_string(mode_t mode, char out[13])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = out[2] = 'r';
	out[1] = '/';
	for (int i = 0; i < 9; i++)
		out[3 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	out[12] = '\0';
}

/* One line of the body file (TSK 3: MD5|name|inode|mode|UID|GID|size|
 * atime|mtime|ctime|crtime): the MD5 is left 0, as fls leaves it. */
static void body_line(timeline_walk *w, const char *name, const struct stat *st,
                      int64_t a, int64_t m, int64_t c, int64_t b)
{
	char mode[13];
	mode_string(st->st_mode, mode);
	fprintf(w->out, "0|%s|%ju|%s|%ju|%ju|%jd|%jd|%jd|%jd|%jd\n", name, (uintmax_t)st->st_ino, mode,
	        (uintmax_t)st->st_uid, (uintmax_t)st->st_gid, (intmax_t)st->st_size, (intmax_t)a,
	        (intmax_t)m, (intmax_t)c, (intmax_t)b);
	w->events++;
}

/* An event of message @where at @when: one line with all four times set,
 * so that mactime shows it once, as "macb" (Plaso writes events so). */
static void event_line(timeline_walk *w, const char *where, const struct stat *st, int64_t when,
                       const char *what, const char *subject)
{
	if (when <= 0)
		return;
	GString *name = g_string_new(where);
	g_string_append(name, " (");
	append_escaped(name, what, "");
	g_string_append(name, ")");
	if (subject && *subject) {
		g_string_append(name, " ");
		append_escaped(name, subject, "");
	}
	body_line(w, name->str, st, when, when, when, when);
	g_string_free(name, TRUE);
}

/* maildir(5): a unique name starts with the delivery time in seconds. */
static bool delivery_time(const char *name, int64_t *out)
{
	size_t n = strspn(name, "0123456789");
	if (n < 9 || n > 11 || name[n] != '.')
		return false;
	*out = g_ascii_strtoll(name, NULL, 10);
	return true;
}

/* The events of the Received hops of @m (received/N/, 0 the first hop). */
static void hop_lines(timeline_walk *w, mapper_message *m, const char *where,
                      const struct stat *st, const char *subject)
{
	char **hops;
	size_t count;
	if (mapper_message_list(m, "received", &hops, &count) != MAPPER_OK)
		return;
	for (size_t i = 0; i < count; i++) {
		char *date = g_strconcat("received/", hops[i], "/date", NULL);
		char *by_path = g_strconcat("received/", hops[i], "/by", NULL);
		int64_t when;
		if (time_of(m, date, &when)) {
			char *by = text_of(m, by_path);
			/* the host only, not the comment after it */
			if (by)
				by[strcspn(by, " \t(")] = '\0';
			char *what = by && *by ? g_strdup_printf("received, hop %s, by %s", hops[i], by)
			                       : g_strdup_printf("received, hop %s", hops[i]);
			event_line(w, where, st, when, what, subject);
			g_free(what);
			g_free(by);
		}
		g_free(date);
		g_free(by_path);
	}
	mapper_names_free(hops);
}

static void timeline_message(const walked *msg, walk *base)
{
	timeline_walk *w = (timeline_walk *)base;
	folder *f = msg->f;
	const char *name = msg->name;
	mapper_message *m = msg->m;
	const struct stat *st = &msg->st;
	GString *where = g_string_new(NULL);
	append_escaped(where, f->path, "");
	if (where->len)
		g_string_append_c(where, '/');
	append_escaped(where, name, "");
	char *subject = text_of(m, "PidTagSubject");
	int64_t when;
	if (time_of(m, "PidTagClientSubmitTime", &when))
		event_line(w, where->str, st, when, "sent, Date", subject);
	hop_lines(w, m, where->str, st, subject);
	if (f->type == FOLDER_MAILDIR && delivery_time(name, &when))
		event_line(w, where->str, st, when, "delivered, Maildir name", subject);
	/* the file itself, with the times the source's file system keeps */
	g_string_append(where, "/message.eml (");
	append_escaped(where, msg->relpath, "");
	g_string_append_c(where, ')');
	body_line(w, where->str, st, st->st_atime, st->st_mtime, st->st_ctime, msg->btime);
	g_free(subject);
	g_string_free(where, TRUE);
}

/* A temporary file nobody else can open: unlinked from the start. */
static int temp_file(void)
{
	int fd = open(g_get_tmp_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT))
		return fd;
	char *path = NULL;
	fd = g_file_open_tmp("mapifs-timeline-XXXXXX", &path, NULL);
	if (fd >= 0)
		unlink(path);
	g_free(path);
	return fd;
}

/* Make the timeline anew (examine lock held). */
static int timeline_make(mount *mnt, examine_state *x, uint64_t stamp)
{
	int fd = temp_file();
	if (fd < 0)
		return errno;
	int dupfd = dup(fd);
	FILE *out = dupfd >= 0 ? fdopen(dupfd, "w") : NULL;
	if (!out) {
		int err = errno;
		if (dupfd >= 0)
			close(dupfd);
		close(fd);
		return err;
	}
	timeline_walk w = { { mnt, { 0, 0 } }, out, 0 };
	each_message(mnt->root, 0, timeline_message, &w.base);
	int err = fflush(out) == 0 && !ferror(out) ? 0 : errno ? errno : EIO;
	off_t size = ftello(out);
	fclose(out);
	if (err) {
		close(fd);
		mapifs_error("the timeline could not be written to %s: %s", g_get_tmp_dir(),
		             g_strerror(err));
		return err;
	}
	if (x->timeline_fd >= 0)
		close(x->timeline_fd);
	x->timeline_fd = fd;
	x->timeline_size = (uint64_t)size;
	x->timeline_stamp = stamp;
	x->timeline_made = w.base.newest;
	return 0;
}

/* ---- duplicates/ ---------------------------------------------------------- */

/* While the mailbox is walked, every message is one record per kind in a
 * temporary file, and its strings go to another: a million messages make
 * some 80 MB of them, which the page cache holds rather than the heap
 * (the groups of two or more, all that is kept, are few).  The records
 * are then sorted in place, mapped, and read in runs of one key. */
typedef struct dup_rec {
	guint8 key[32];   /* SHA-256 of the bytes, or of the group's name */
	guint64 text;     /* offset in the text file of "GROUP\0PATH\0" */
} dup_rec;

typedef struct {
	walk base;
	FILE *recs[2];    /* by Message-ID, by SHA-256 */
	FILE *text;
	guint64 text_len;
} dups_walk;

/* Record message @path in group @group (its directory name) under @key. */
static void add_record(dups_walk *w, int kind, const guint8 key[32], const char *group,
                       const char *path)
{
	dup_rec r;
	memcpy(r.key, key, sizeof r.key);
	r.text = w->text_len;
	size_t g = strlen(group) + 1, p = strlen(path) + 1;
	fwrite(group, 1, g, w->text);
	fwrite(path, 1, p, w->text);
	w->text_len += g + p;
	fwrite(&r, sizeof r, 1, w->recs[kind]);
}

/* The directory name of Message-ID @id: without its angle brackets,
 * escaped, and shortened with a hash when it would be too long a name. */
static char *id_dir_name(const char *id)
{
	size_t n = strlen(id);
	if (n >= 2 && id[0] == '<' && id[n - 1] == '>')
		id++, n -= 2;
	char *bare = g_strndup(id, n);
	GString *s = g_string_new(NULL);
	append_escaped(s, bare, "/");
	if (s->str[0] == '.')
		g_string_overwrite(s, 0, "%2E");
	if (s->len > 200) {
		char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, bare, -1);
		g_string_truncate(s, 120);
		/* no half escape at the cut */
		for (int i = 1; i <= 2 && s->len >= (gsize)i; i++)
			if (s->str[s->len - i] == '%')
				g_string_truncate(s, s->len - i);
		g_string_append_printf(s, "...%.16s", h);
		g_free(h);
	}
	g_free(bare);
	return g_string_free(s, FALSE);
}

static void dups_message(const walked *msg, walk *base)
{
	dups_walk *w = (dups_walk *)base;
	char *path = path_join(msg->f->path, msg->name);
	char *id = text_of(msg->m, "PidTagInternetMessageId");
	guint8 key[32];
	gsize n = sizeof key;
	if (id && *id) {
		char *dir = id_dir_name(id);
		GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
		g_checksum_update(c, (const guchar *)dir, (gssize)strlen(dir));
		g_checksum_get_digest(c, key, &n);
		g_checksum_free(c);
		add_record(w, 0, key, dir, path);
		g_free(dir);
	}
	digest_hex h;
	if (source_digests(base->mnt, msg->relpath, &h) == 0) {
		for (int i = 0; i < 32; i++)
			key[i] = (guint8)(g_ascii_xdigit_value(h.sha256[2 * i]) << 4 |
			                  g_ascii_xdigit_value(h.sha256[2 * i + 1]));
		add_record(w, 1, key, h.sha256, path);
	}
	g_free(id);
	g_free(path);
}

static int rec_cmp(const void *a, const void *b)
{
	return memcmp(((const dup_rec *)a)->key, ((const dup_rec *)b)->key, 32);
}

/* The groups of two or more of the records in @recs (names and paths in
 * @text): group name -> GPtrArray of mount paths. */
static GHashTable *groups_of(FILE *recs, const char *text)
{
	GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                      (GDestroyNotify)g_ptr_array_unref);
	off_t size = ftello(recs);
	size_t n = size > 0 ? (size_t)size / sizeof(dup_rec) : 0;
	dup_rec *r = n ? mmap(NULL, n * sizeof(dup_rec), PROT_READ | PROT_WRITE, MAP_SHARED,
	                      fileno(recs), 0)
	               : NULL;
	if (r == MAP_FAILED) {
		mapifs_error("duplicates/: the records cannot be mapped: %s", g_strerror(errno));
		return t;
	}
	if (n)
		qsort(r, n, sizeof *r, rec_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && rec_cmp(&r[i], &r[j]) == 0)
			j++;
		if (j - i > 1) {
			GPtrArray *members = g_ptr_array_new_with_free_func(g_free);
			for (size_t k = i; k < j; k++) {
				const char *group = text + r[k].text;
				g_ptr_array_add(members, g_strdup(group + strlen(group) + 1));
			}
			g_hash_table_insert(t, g_strdup(text + r[i].text), members);
		}
		i = j;
	}
	if (n)
		munmap(r, n * sizeof(dup_rec));
	return t;
}

static void dups_release(examine_state *x)
{
	for (int i = 0; i < 2; i++) {
		if (x->dups[i])
			g_hash_table_unref(x->dups[i]);
		x->dups[i] = NULL;
	}
}

/* A temporary file as a stream, or NULL. */
static FILE *temp_stream(void)
{
	int fd = temp_file();
	FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
	if (!f && fd >= 0)
		close(fd);
	return f;
}

static void dups_make(mount *mnt, examine_state *x, uint64_t stamp)
{
	dups_walk w = { { mnt, { 0, 0 } }, { temp_stream(), temp_stream() }, temp_stream(), 0 };
	bool ok = w.recs[0] && w.recs[1] && w.text;
	if (ok)
		each_message(mnt->root, 0, dups_message, &w.base);
	char *text = NULL;
	ok = ok && fflush(w.recs[0]) == 0 && fflush(w.recs[1]) == 0 && fflush(w.text) == 0 &&
	     !ferror(w.recs[0]) && !ferror(w.recs[1]) && !ferror(w.text);
	if (ok && w.text_len) {
		text = mmap(NULL, w.text_len, PROT_READ, MAP_SHARED, fileno(w.text), 0);
		ok = text != MAP_FAILED;
	}
	if (!ok)
		mapifs_error("duplicates/ could not be worked out in %s: %s", g_get_tmp_dir(),
		             g_strerror(errno ? errno : EIO));
	dups_release(x);
	for (int i = 0; i < 2; i++)
		x->dups[i] = ok ? groups_of(w.recs[i], text)
		                : g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
		                                        (GDestroyNotify)g_ptr_array_unref);
	if (ok && w.text_len)
		munmap(text, w.text_len);
	for (int i = 0; i < 2; i++)
		if (w.recs[i])
			fclose(w.recs[i]);
	if (w.text)
		fclose(w.text);
	x->dups_stamp = stamp;
	x->dups_made = true;
	x->dups_time = w.base.newest;
}

/* ---- the entries ---------------------------------------------------------- */

static const char *const kinds[2] = { "message-id", "sha256" };

bool examine_root_entry(const char *name)
{
	return strcmp(name, TIMELINE_FILE) == 0 || strcmp(name, DUPLICATES_DIR) == 0;
}

void examine_init(examine_state *x)
{
	memset(x, 0, sizeof *x);
	g_mutex_init(&x->lock);
	x->timeline_fd = -1;
}

void examine_free(examine_state *x)
{
	if (x->timeline_fd >= 0)
		close(x->timeline_fd);
	dups_release(x);
	g_mutex_clear(&x->lock);
}

/* The groups of kind @k, worked out again if the mailbox changed (examine
 * lock held). */
static GHashTable *groups(mount *mnt, examine_state *x, int k)
{
	uint64_t stamp = changes_now(mnt);
	if (!x->dups_made || x->dups_stamp != stamp)
		dups_make(mnt, x, stamp);
	return x->dups[k];
}

static int kind_index(const char *name)
{
	for (int k = 0; k < 2; k++)
		if (strcmp(name, kinds[k]) == 0)
			return k;
	return -1;
}

/* The link name of the message at mount path @path, and back. */
static char *link_name(const char *path)
{
	GString *s = g_string_new(NULL);
	append_escaped(s, path, "/");
	return g_string_free(s, FALSE);
}

/* Split @path below duplicates/ into its kind, group and member: how many
 * components there are (0: duplicates/ itself), or -1 if it cannot be
 * one of ours. */
static int split(const char *path, int *k, char **group, char **member)
{
	*k = -1;
	*group = *member = NULL;
	if (strcmp(path, DUPLICATES_DIR) == 0)
		return 0;
	if (strncmp(path, DUPLICATES_DIR "/", sizeof DUPLICATES_DIR) != 0)
		return -1;
	char **parts = g_strsplit(path + sizeof DUPLICATES_DIR, "/", 4);
	int n = (int)g_strv_length(parts);
	*k = n >= 1 ? kind_index(parts[0]) : -1;
	if (*k < 0 || n > 3) {
		g_strfreev(parts);
		return -1;
	}
	if (n >= 2)
		*group = g_strdup(parts[1]);
	if (n >= 3)
		*member = g_strdup(parts[2]);
	g_strfreev(parts);
	return n;
}

int examine_lookup(mount *mnt, const char *path, examine_entry *e)
{
	examine_state *x = &mnt->examine;
	memset(e, 0, sizeof *e);
	g_mutex_lock(&x->lock);
	int err = 0;
	if (strcmp(path, TIMELINE_FILE) == 0) {
		uint64_t stamp = changes_now(mnt);
		if (x->timeline_fd < 0 || x->timeline_stamp != stamp)
			err = timeline_make(mnt, x, stamp);
		e->type = S_IFREG;
		e->size = x->timeline_size;
		e->mtime = x->timeline_made;
		g_mutex_unlock(&x->lock);
		return err;
	}
	int k;
	char *group, *member;
	int depth = split(path, &k, &group, &member);
	e->type = depth >= 0 && depth < 3 ? S_IFDIR : S_IFLNK;
	if (depth < 0) {
		err = ENOENT;
	} else if (depth >= 2) {
		GPtrArray *members = g_hash_table_lookup(groups(mnt, x, k), group);
		err = members ? 0 : ENOENT;
		for (guint i = 0; depth == 3 && members && i < members->len; i++) {
			char *n = link_name(members->pdata[i]);
			if (strcmp(n, member) == 0)
				e->target = g_strconcat("../../../", (char *)members->pdata[i], NULL);
			g_free(n);
		}
		if (depth == 3 && !e->target)
			err = ENOENT;
		e->size = e->target ? strlen(e->target) : 0;
	}
	e->mtime = x->dups_time;
	g_mutex_unlock(&x->lock);
	g_free(group);
	g_free(member);
	return err;
}

int examine_list(mount *mnt, const char *path, GPtrArray *names, GArray *types)
{
	examine_state *x = &mnt->examine;
	int k;
	char *group, *member;
	int depth = split(path, &k, &group, &member);
	int err = 0;
	g_mutex_lock(&x->lock);
	if (depth == 0) {
		for (int i = 0; i < 2; i++)
			g_ptr_array_add(names, g_strdup(kinds[i]));
	} else if (depth == 1) {
		GHashTableIter it;
		gpointer key, v;
		g_hash_table_iter_init(&it, groups(mnt, x, k));
		while (g_hash_table_iter_next(&it, &key, &v))
			g_ptr_array_add(names, g_strdup(key));
	} else if (depth == 2) {
		GPtrArray *members = g_hash_table_lookup(groups(mnt, x, k), group);
		for (guint i = 0; members && i < members->len; i++)
			g_ptr_array_add(names, link_name(members->pdata[i]));
		err = members ? 0 : ENOENT;
	} else {
		err = depth < 0 ? ENOENT : ENOTDIR;
	}
	g_mutex_unlock(&x->lock);
	g_ptr_array_sort(names, name_cmp);
	unsigned char t = depth == 2 ? 2 : 1;   /* links, or directories */
	for (guint i = 0; i < names->len; i++)
		g_array_append_val(types, t);
	g_free(group);
	g_free(member);
	return err;
}

int examine_read(mount *mnt, const char *path, size_t size, off_t off, char **out,
                 size_t *outlen)
{
	examine_state *x = &mnt->examine;
	*out = NULL;
	*outlen = 0;
	if (strcmp(path, TIMELINE_FILE) != 0)
		return EISDIR;
	g_mutex_lock(&x->lock);
	/* what the last stat showed: the kernel reads up to that size */
	int err = 0;
	if (x->timeline_fd < 0) {
		uint64_t stamp = changes_now(mnt);
		err = timeline_make(mnt, x, stamp);
	}
	if (!err && (uint64_t)off < x->timeline_size) {
		size_t want = (size_t)MIN((uint64_t)size, x->timeline_size - (uint64_t)off);
		char *buf = g_malloc(want ? want : 1);
		ssize_t n;
		do
			n = pread(x->timeline_fd, buf, want, off);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			err = errno;
			g_free(buf);
		} else {
			*out = buf;
			*outlen = (size_t)n;
		}
	}
	g_mutex_unlock(&x->lock);
	return err;
}
