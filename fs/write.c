/*
 * write.c - the write path (design.md section 4).
 *
 * Every change ends in a complete message file that replaces the old one
 * atomically: the new bytes go to a temporary file (the Maildir's tmp/, or
 * a hidden file beside an .eml), are fsync'ed, renamed over the old name,
 * and the directory is fsync'ed (the maildir(5) delivery steps, and
 * Dovecot's maildir-save.c).  A crash at any point leaves the old or the new
 * message, plus at most a temporary file that the next writable mount
 * removes.
 *
 * A property edit is buffered per open file and applied on flush (close):
 * the daemon reads the backing file again, refuses with ESTALE if it is not
 * the version that was open (another writer got there first), applies the
 * value to a freshly loaded object, and converts the object back with
 * mapper_message_export().  Each change holds its folder's wlock (two for a
 * move), so two changes of one message never interleave, while readers and
 * writers of other folders go on (mapifs.h: the lock order).
 *
 * Every file is reached through a directory opened without following
 * symlinks (source_open_dir), so a tmp/ or cur/ that is a symlink never
 * makes us write outside the mailbox.  When storing fails (no space, no
 * permission, tmp/ missing or not a directory) the errno reaches close(),
 * the temporary file is removed and the message is as it was.
 *
 * Kernel caches: after a change the attributes of every inode under the
 * message are invalidated (offset -1: no page locks are taken, so this is
 * safe inside a request); their new mtime then drops cached pages
 * (FUSE_CAP_AUTO_INVAL_DATA) and cached listings.  Entry notifications go
 * through the watcher thread (notify_folder_diff).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "mapifs.h"

/* Largest file accepted through the mount: a message or a property. */
#define WRITE_MAX_BYTES ((size_t)256 << 20)

#define TMP_SUFFIX ".mapifs-tmp"

/* ---- names ------------------------------------------------------------- */

/* A message name must be usable as a Maildir unique name (maildir(5): no
 * "/" or ":"; a leading dot hides it) and as an .eml stem. */
static bool valid_message_name(const char *name)
{
	if (!*name || name[0] == '.' || strchr(name, ':') || strchr(name, '/') || strlen(name) > 200)
		return false;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 32 || *c == 127)
			return false;
	return true;
}

static char *child_path(const char *dir, const char *name)
{
	return *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
}

/* The backing file of message @name in folder @f with @flags. */
static char *target_rel(folder *f, const char *name, const char *flags, bool in_new)
{
	if (f->type == FOLDER_EML) {
		char *file = g_strconcat(name, ".eml", NULL);
		char *rel = child_path(f->srcdir, file);
		g_free(file);
		return rel;
	}
	/* maildir(5): new/ holds messages without info; flags mean cur/ */
	char *file = in_new ? g_strdup(name) : g_strconcat(name, ":2,", flags, NULL);
	char *rel = g_build_filename(*f->srcdir ? f->srcdir : ".", in_new ? "new" : "cur", file, NULL);
	g_free(file);
	if (g_str_has_prefix(rel, "./")) {
		char *r = g_strdup(rel + 2);
		g_free(rel);
		rel = r;
	}
	return rel;
}

/* Flag letters: the ones mapper computes for "DFPRST", the others kept. */
static void merge_flags(const char *old, const char *computed, char out[64])
{
	GString *s = g_string_new(computed);
	for (const char *c = old; *c; c++)
		if (!strchr("DFPRST", *c) && !strchr(s->str, *c))
			g_string_append_c(s, *c);
	/* maildir(5): flags in ASCII order */
	char *sorted = g_strdup(s->str);
	size_t n = strlen(sorted);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			char t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	g_strlcpy(out, sorted, 64);
	g_free(sorted);
	g_string_free(s, TRUE);
}

/* ---- files --------------------------------------------------------------- */

/* A file named by its directory, opened without following symlinks, and its
 * base name: every change below goes through one. */
typedef struct {
	int dfd;
	char *base;
} place;

static int place_open(mount *mnt, const char *rel, place *p)
{
	char *dir = g_path_get_dirname(rel);
	p->base = g_path_get_basename(rel);
	int err = source_open_dir(mnt, strcmp(dir, ".") == 0 ? "" : dir, &p->dfd);
	g_free(dir);
	if (err) {
		g_free(p->base);
		p->base = NULL;
		p->dfd = -1;
	}
	return err;
}

static void place_close(place *p)
{
	if (p->dfd >= 0)
		close(p->dfd);
	g_free(p->base);
	p->dfd = -1;
	p->base = NULL;
}

/* Where temporary files for folder @f go, and a fresh name there. */
static char *tmp_rel(mount *mnt, folder *f, const char *name)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	pthread_mutex_lock(&mnt->lock);
	unsigned n = ++mnt->tmp_counter;
	pthread_mutex_unlock(&mnt->lock);
	if (f->type == FOLDER_EML) {
		/* hidden beside the .eml (the scanner skips dot files) */
		char *file = g_strdup_printf(".%s.%ld.%u%s", name, (long)getpid(), n, TMP_SUFFIX);
		char *rel = child_path(f->srcdir, file);
		g_free(file);
		return rel;
	}
	/* maildir(5) unique-name shape, marked as ours for the cleanup */
	char *file = g_strdup_printf("%ld.M%ldP%ldQ%u%s", (long)tv.tv_sec, (long)tv.tv_usec,
	                             (long)getpid(), n, TMP_SUFFIX);
	char *rel = g_build_filename(*f->srcdir ? f->srcdir : ".", "tmp", file, NULL);
	g_free(file);
	if (g_str_has_prefix(rel, "./")) {
		char *r = g_strdup(rel + 2);
		g_free(rel);
		rel = r;
	}
	return rel;
}

static int unlink_rel(mount *mnt, const char *rel)
{
	place p;
	int err = place_open(mnt, rel, &p);
	if (!err && unlinkat(p.dfd, p.base, 0) != 0)
		err = errno;
	if (!err && fsync(p.dfd) != 0)
		err = errno;
	place_close(&p);
	return err;
}

/* Write @data to a new temporary file and fsync it; *@rel names it. */
static int write_tmp(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                     mode_t mode, char **rel)
{
	*rel = tmp_rel(mnt, f, name);
	place p;
	int err = place_open(mnt, *rel, &p);
	int fd = -1;
	if (!err) {
		fd = openat(p.dfd, p.base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0)
			err = errno;
	}
	const char *c = data;
	size_t left = len;
	while (!err && left) {
		ssize_t w = write(fd, c, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		c += w;
		left -= (size_t)w;
	}
	if (fd >= 0) {
		if (!err && fsync(fd) != 0)
			err = errno;
		if (close(fd) != 0 && !err)
			err = errno;
		if (err)
			unlinkat(p.dfd, p.base, 0);
	}
	place_close(&p);
	if (err) {
		g_free(*rel);
		*rel = NULL;
	}
	return err;
}

/* Move @from to @to (relative paths) and make both directories durable. */
static int move_file(mount *mnt, const char *from, const char *to, bool noreplace)
{
	place a, b;
	int err = place_open(mnt, from, &a);
	if (err)
		return err;
	err = place_open(mnt, to, &b);
	if (err) {
		place_close(&a);
		return err;
	}
	if (renameat2(a.dfd, a.base, b.dfd, b.base, noreplace ? RENAME_NOREPLACE : 0) != 0)
		err = errno;
	if (!err && fsync(b.dfd) != 0)
		err = errno;
	struct stat sa, sb;
	if (!err && fstat(a.dfd, &sa) == 0 && fstat(b.dfd, &sb) == 0 &&
	    (sa.st_dev != sb.st_dev || sa.st_ino != sb.st_ino) && fsync(a.dfd) != 0)
		err = errno;
	place_close(&a);
	place_close(&b);
	return err;
}

/* ---- after a change ------------------------------------------------------ */

static void invalidate_folder(mount *mnt, folder *f)
{
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_find_path(mnt, f->path);
	fuse_ino_t ino = n ? n->ino : 0;
	pthread_mutex_unlock(&mnt->lock);
	if (ino) {
		int r = fuse_lowlevel_notify_inval_inode(mnt->se, ino, -1, 0);
		if (r < 0 && r != -ENOENT)
			mapifs_error("kernel cache invalidation failed: %s", g_strerror(-r));
	}
}

/* Forget what the daemon and the kernel know about message @name (the
 * folder's wlock held, mount->lock not). */
static void changed(mount *mnt, folder *f, const char *name)
{
	pthread_mutex_lock(&mnt->lock);
	folder_rescan(mnt, f);
	cache_drop(mnt, f, name);
	pthread_mutex_unlock(&mnt->lock);
	char *p = child_path(f->path, name);
	notify_attrs_under(mnt, p);
	g_free(p);
	invalidate_folder(mnt, f);
}

/* Message @name of @f with a reference (msgfile_unref), or NULL. */
static msgfile *find_message(mount *mnt, folder *f, const char *name)
{
	pthread_mutex_lock(&mnt->lock);
	msgfile *mf = folder_message_ref(mnt, f, name);
	pthread_mutex_unlock(&mnt->lock);
	return mf;
}

static bool message_exists(mount *mnt, folder *f, const char *name)
{
	msgfile *mf = find_message(mnt, f, name);
	msgfile_unref(mf);
	return mf != NULL;
}

static bool subfolder_exists(mount *mnt, folder *f, const char *name)
{
	pthread_mutex_lock(&mnt->lock);
	folder_refresh(mnt, f, NULL);
	bool yes = g_hash_table_lookup(f->subfolders, name) != NULL;
	pthread_mutex_unlock(&mnt->lock);
	return yes;
}

static bool same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Replace message @mf of @f: new content @data (NULL: keep the bytes) and
 * flags @flags (NULL: keep them).  The rename for the flags comes first, so
 * a crash in between leaves the old content under the new flags, complete.
 * The folder's wlock is held; @mf is a reference of the caller's.
 */
static int store(mount *mnt, folder *f, const msgfile *mf, const void *data, size_t len,
                 const char *flags, mode_t mode)
{
	bool in_new = mf->in_new;
	char *rel = g_strdup(mf->relpath);
	int err = 0;

	if (flags && f->type != FOLDER_EML && strcmp(flags, mf->flags) != 0) {
		/* a message with flags has been seen: it lives in cur/ */
		in_new = in_new && !*flags;
		char *to = target_rel(f, mf->name, flags, in_new);
		err = move_file(mnt, rel, to, false);
		g_free(rel);
		rel = to;
	}
	if (!err && data) {
		char *tmp = NULL;
		err = write_tmp(mnt, f, mf->name, data, len, mode, &tmp);
		if (!err) {
			err = move_file(mnt, tmp, rel, false);
			if (err)
				unlink_rel(mnt, tmp);
		}
		g_free(tmp);
	}
	changed(mnt, f, mf->name);
	g_free(rel);
	return err;
}

/* ---- applying an edit ------------------------------------------------------ */

typedef mapper_status (*edit_fn)(mapper_message *m, const void *arg, char **why);

typedef struct {
	const char *path;
	const void *data;
	size_t len;
} set_args;

static mapper_status edit_set(mapper_message *m, const void *arg, char **why)
{
	const set_args *a = arg;
	return mapper_message_set(m, a->path, a->data, a->len, why);
}

static mapper_status edit_mkdir(mapper_message *m, const void *arg, char **why)
{
	return mapper_message_mkdir(m, arg, why);
}

static mapper_status edit_rmdir(mapper_message *m, const void *arg, char **why)
{
	return mapper_message_rmdir(m, arg, why);
}

/*
 * Load message @name of @f, check it is still version @base (when given),
 * apply @fn and store the result; *@now (may be NULL) receives the stat of
 * the file stored.  @what names the change for the log.  The folder's
 * wlock is held.
 */
static int update_message(mount *mnt, folder *f, const char *name, const struct stat *base,
                          edit_fn fn, const void *arg, bool flags_only, const char *what,
                          struct stat *now)
{
	if (flags_only && f->type == FOLDER_EML) {
		mapifs_log("%s/%s: %s: an .eml file has no Maildir flags to keep it", f->path, name, what);
		return EPERM;
	}
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	msgfile *mf = NULL;
	int err = message_read(mnt, f, name, MAPPER_LOAD_FULL, &data, &len, &st, &mf);
	if (err) {
		if (err != ENOENT)
			mapifs_error("%s/%s: cannot read the message file: %s", f->path, name, g_strerror(err));
		return err;
	}
	if (base && !same_version(base, &st)) {
		mapifs_log("%s: %s: the message changed since it was opened; not overwritten",
		           mf->relpath, what);
		g_free(data);
		msgfile_unref(mf);
		return ESTALE;
	}
	mapper_source src = { .maildir_flags = mf->flags, .maildir_new = mf->in_new,
	                      .mtime = st.st_mtim.tv_sec };
	mapper_message *m = mapper_message_load(data, len, &src, MAPPER_LOAD_FULL);
	if (!m) {
		g_free(data);
		msgfile_unref(mf);
		return ENOMEM;
	}
	mapper_message_set_crypto(m, mnt->crypto);
	char *why = NULL;
	mapper_status s = fn(m, arg, &why);
	char *out = NULL;
	size_t outlen = 0;
	char flags[64];
	if (s == MAPPER_OK && flags_only) {
		char computed[8];
		mapper_message_maildir_flags(m, computed);
		merge_flags(mf->flags, computed, flags);
	} else if (s == MAPPER_OK) {
		g_strlcpy(flags, mf->flags, sizeof flags);
		s = mapper_message_export(m, data, len, &out, &outlen, &why);
	}
	mapper_message_free(m);
	if (s != MAPPER_OK) {
		mapifs_log("%s: %s: %s", mf->relpath, what, why ? why : mapper_status_to_string(s));
		free(why);
		g_free(data);
		msgfile_unref(mf);
		return mapper_errno(s);
	}
	/* nothing to do when the bytes and flags come out the same */
	bool same_bytes = out && outlen == len && memcmp(out, data, len) == 0;
	if (same_bytes || flags_only) {
		free(out);
		out = NULL;
	}
	if (out || strcmp(flags, mf->flags) != 0)
		err = store(mnt, f, mf, out, outlen, flags, st.st_mode & 0777);
	if (err)
		mapifs_error("%s: %s: cannot store the changed message: %s", mf->relpath, what,
		             g_strerror(err));
	if (!err && now && message_stat(mnt, f, name, now) != 0)
		memset(now, 0, sizeof *now);
	free(out);
	g_free(data);
	msgfile_unref(mf);
	return err;
}

/* ---- open files ------------------------------------------------------------- */

/* One file open for writing.  The fields above lock never change; the
 * others are under lock; size and done are also read atomically, without
 * it, by stat (write_pending_size). */
struct whandle {
	wh_kind kind;
	char *path;          /* mount path of the file */
	folder *folder;
	char *msgname;       /* the message (WH_DELIVERY: the one to create) */
	char *inner;         /* WH_PROP: path inside the message */
	GMutex lock;
	GByteArray *buf;
	size_t size;         /* buf->len, for stat */
	bool dirty;          /* holds a change not yet applied */
	bool written;        /* write(2) or ftruncate(2) since open or the last apply */
	int idle_flushes;    /* flushes with nothing written */
	bool done;           /* WH_DELIVERY: delivered */
	struct stat base;    /* the backing file when opened */
};

static whandle *handle_new(mount *mnt, wh_kind kind, const char *path, folder *f,
                           const char *msgname, const char *inner)
{
	whandle *h = g_new0(whandle, 1);
	h->kind = kind;
	h->path = g_strdup(path);
	h->folder = f;
	h->msgname = g_strdup(msgname);
	h->inner = g_strdup(inner);
	g_mutex_init(&h->lock);
	h->buf = g_byte_array_new();
	pthread_mutex_lock(&mnt->lock);
	g_hash_table_replace(mnt->open_writes, h->path, h);
	g_hash_table_add(mnt->open_handles, h);
	pthread_mutex_unlock(&mnt->lock);
	return h;
}

static void set_size(whandle *h)
{
	__atomic_store_n(&h->size, (size_t)h->buf->len, __ATOMIC_RELAXED);
}

bool write_pending_size(mount *mnt, const char *path, size_t *size)
{
	whandle *h = g_hash_table_lookup(mnt->open_writes, path);
	if (!h || __atomic_load_n(&h->done, __ATOMIC_RELAXED))
		return false;
	*size = __atomic_load_n(&h->size, __ATOMIC_RELAXED);
	return true;
}

/* Open @n (a property file or message.eml) for writing. */
int write_open(mount *mnt, const node_ref *n, int flags, whandle **out)
{
	*out = NULL;
	if (mnt->readonly)
		return EROFS;
	if (n->kind == NODE_CERT)
		return EPERM;   /* the map is learnt from signatures (design.md 5) */
	if (n->kind != NODE_INNER && n->kind != NODE_EML)
		return n->kind == NODE_NEWFILE ? EBUSY : EISDIR;
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	msgfile *mf = NULL;
	int err = message_read(mnt, n->folder, n->msgname, MAPPER_LOAD_FULL, &data, &len, &st, &mf);
	if (err)
		return err;

	whandle *h = NULL;
	if (n->kind == NODE_EML) {
		h = handle_new(mnt, WH_EML, n->path, n->folder, n->msgname, NULL);
		if (!(flags & O_TRUNC))
			g_byte_array_append(h->buf, (const guint8 *)data, (guint)len);
	} else {
		mapper_source src = { .maildir_flags = mf->flags, .maildir_new = mf->in_new,
		                      .mtime = st.st_mtim.tv_sec };
		mapper_message *m = mapper_message_load(data, len, &src, MAPPER_LOAD_FULL);
		char *why = NULL;
		mapper_status s = m ? mapper_message_can_set(m, n->inner, &why) : MAPPER_NO_MEMORY;
		const void *cur = NULL;
		size_t curlen = 0;
		if (s == MAPPER_OK && !(flags & O_TRUNC))
			s = mapper_message_read(m, n->inner, &cur, &curlen);
		if (s == MAPPER_OK) {
			h = handle_new(mnt, WH_PROP, n->path, n->folder, n->msgname, n->inner);
			if (cur)
				g_byte_array_append(h->buf, cur, (guint)curlen);
		} else {
			mapifs_log("%s: cannot write %s: %s", mf->relpath, n->inner,
			           why ? why : mapper_status_to_string(s));
		}
		free(why);
		mapper_message_free(m);
		if (s != MAPPER_OK) {
			g_free(data);
			msgfile_unref(mf);
			return mapper_errno(s);
		}
	}
	g_free(data);
	msgfile_unref(mf);
	set_size(h);
	h->base = st;
	h->dirty = (flags & O_TRUNC) != 0;
	*out = h;
	return 0;
}

/* Create file @name in @parent: a delivery into a folder, or a property. */
int write_create(mount *mnt, const node_ref *parent, const char *name, whandle **out, node_kind *kind)
{
	*out = NULL;
	if (mnt->readonly)
		return EROFS;
	char *path = child_path(parent->path, name);
	int err = 0;
	if (parent->kind == NODE_FOLDER) {
		/* design.md 4: cp x.eml MOUNT/INBOX/ delivers message "x" */
		folder *f = parent->folder;
		size_t n = strlen(name);
		char *msgname = n > 4 && g_ascii_strcasecmp(name + n - 4, ".eml") == 0
		                ? g_strndup(name, n - 4) : g_strdup(name);
		if (f->type == FOLDER_MAILDIR_ROOT) {
			err = EPERM;
		} else if (!valid_message_name(msgname) || name[0] == '.') {
			err = EINVAL;
		} else {
			size_t size;
			pthread_mutex_lock(&mnt->lock);
			bool pending = write_pending_size(mnt, path, &size);
			pthread_mutex_unlock(&mnt->lock);
			if (pending || message_exists(mnt, f, msgname) || subfolder_exists(mnt, f, msgname))
				err = EEXIST;
		}
		if (err) {
			mapifs_log("%s: cannot deliver here: %s", path, g_strerror(err));
		} else {
			*out = handle_new(mnt, WH_DELIVERY, path, f, msgname, NULL);
			(*out)->dirty = true;
			*kind = NODE_NEWFILE;
		}
		g_free(msgname);
	} else if (parent->kind == NODE_MESSAGE || parent->kind == NODE_INNER) {
		char *inner = parent->kind == NODE_MESSAGE ? g_strdup(name)
		              : g_strconcat(parent->inner, "/", name, NULL);
		if (parent->kind == NODE_MESSAGE && strcmp(name, "message.eml") == 0) {
			err = EEXIST;
		} else {
			struct stat st;
			cached *c = cache_get(mnt, parent->folder, parent->msgname, MAPPER_LOAD_FULL, &st, &err);
			if (c) {
				char *why = NULL;
				mapper_message *m = cache_lock(c);
				mapper_status s = mapper_message_can_set(m, inner, &why);
				cache_unlock(c);
				cache_put(mnt, c);
				if (s != MAPPER_OK) {
					mapifs_log("%s/%s: cannot create %s: %s", parent->folder->path,
					           parent->msgname, inner, why ? why : mapper_status_to_string(s));
					err = mapper_errno(s);
				}
				free(why);
				if (!err)
					err = message_stat(mnt, parent->folder, parent->msgname, &st);
				if (!err) {
					*out = handle_new(mnt, WH_PROP, path, parent->folder, parent->msgname, inner);
					(*out)->base = st;
					(*out)->dirty = true;
					*kind = NODE_INNER;
				}
			}
		}
		g_free(inner);
	} else {
		err = parent->kind == NODE_CERTS ? EPERM : ENOTDIR;
	}
	g_free(path);
	return err;
}

int write_data(whandle *h, const char *data, size_t size, off_t off)
{
	int err = 0;
	g_mutex_lock(&h->lock);
	if (h->done)
		err = EBADF;
	else if (off < 0 || (size_t)off > WRITE_MAX_BYTES || size > WRITE_MAX_BYTES - (size_t)off)
		err = EFBIG;
	if (!err) {
		size_t end = (size_t)off + size;
		if (end > h->buf->len) {
			size_t old = h->buf->len;
			g_byte_array_set_size(h->buf, (guint)end);
			memset(h->buf->data + old, 0, end - old);
		}
		memcpy(h->buf->data + off, data, size);
		h->dirty = h->written = true;
		set_size(h);
	}
	g_mutex_unlock(&h->lock);
	return err;
}

int write_truncate(whandle *h, off_t size)
{
	if (size < 0 || (size_t)size > WRITE_MAX_BYTES)
		return EFBIG;
	g_mutex_lock(&h->lock);
	size_t old = h->buf->len;
	g_byte_array_set_size(h->buf, (guint)size);
	if ((size_t)size > old)
		memset(h->buf->data + old, 0, (size_t)size - old);
	h->dirty = h->written = true;
	set_size(h);
	g_mutex_unlock(&h->lock);
	return 0;
}

/* Make new message @name of @f from @data: through a temporary file, then
 * renamed to its place without replacing anything (maildir(5) delivery).
 * The folder's wlock is held. */
static int create_message(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                          const char *flags, bool in_new)
{
	char *tmp = NULL;
	int err = write_tmp(mnt, f, name, data, len, 0600, &tmp);
	if (!err) {
		char *to = target_rel(f, name, flags, in_new);
		err = move_file(mnt, tmp, to, true);
		if (err)
			unlink_rel(mnt, tmp);
		g_free(to);
	}
	g_free(tmp);
	return err;
}

/* The folder's wlock is held. */
static int deliver(mount *mnt, whandle *h)
{
	folder *f = h->folder;
	if (message_exists(mnt, f, h->msgname)) {
		mapifs_log("%s: a message %s already exists", h->path, h->msgname);
		return EEXIST;
	}
	/* maildir(5): a delivered message goes from tmp/ to new/ */
	int err = create_message(mnt, f, h->msgname, h->buf->data, h->buf->len, "", true);
	if (err)
		mapifs_error("%s: cannot deliver: %s", h->path, g_strerror(err));
	changed(mnt, f, h->msgname);
	notify_attrs_under(mnt, h->path);
	return err;
}

/*
 * Apply what @h holds; the result is what close() returns (design.md 4).
 * A flush comes with every close(2) of a descriptor, and a shell's
 * "echo x > file" closes a copy of the new descriptor before anything is
 * written to it: a handle that is dirty only because it was opened with
 * O_TRUNC waits for its writes, for a second flush (the shell closing the
 * redirection: ": > file" removes at once), or for release.
 */
int write_flush(mount *mnt, whandle *h)
{
	g_mutex_lock(&h->lock);
	bool apply = h->dirty && !h->done && (h->written || ++h->idle_flushes >= 2);
	g_mutex_unlock(&h->lock);
	return apply ? write_apply(mnt, h) : 0;
}

/* Apply a pending change: the folder's wlock, then the handle's. */
int write_apply(mount *mnt, whandle *h)
{
	g_mutex_lock(&h->folder->wlock);
	g_mutex_lock(&h->lock);
	int err = 0;
	if (!h->dirty || h->done)
		goto out;
	h->dirty = h->written = false;
	h->idle_flushes = 0;
	switch (h->kind) {
	case WH_DELIVERY:
		err = deliver(mnt, h);
		__atomic_store_n(&h->done, true, __ATOMIC_RELAXED);
		break;
	case WH_EML: {
		struct stat st;
		msgfile *mf = NULL;
		int fd;
		err = message_open(mnt, h->folder, h->msgname, &fd, &mf);
		if (!err) {
			if (fstat(fd, &st) != 0)
				err = errno;
			close(fd);
		}
		if (!err && !same_version(&h->base, &st)) {
			mapifs_log("%s: message.eml: the message changed since it was opened; not overwritten",
			           mf->relpath);
			err = ESTALE;
		}
		if (!err) {
			err = store(mnt, h->folder, mf, h->buf->data, h->buf->len, NULL, st.st_mode & 0777);
			if (err)
				mapifs_error("%s: message.eml: cannot store the new message: %s", mf->relpath,
				             g_strerror(err));
		}
		msgfile_unref(mf);
		/* later flushes compare against what this one wrote */
		if (!err && message_stat(mnt, h->folder, h->msgname, &st) == 0)
			h->base = st;
		break;
	}
	case WH_PROP: {
		set_args a = { h->inner, h->buf->data, h->buf->len };
		bool flags_only = mapper_path_is_flag_property(h->inner);
		/* sealing encrypts to certificates/: it must know all of it */
		if (strcmp(h->inner, "0x6E010003") == 0)
			certificates_learn(mnt);
		char *what = g_strdup_printf("writing %s", h->inner);
		struct stat now;
		err = update_message(mnt, h->folder, h->msgname, &h->base, edit_set, &a, flags_only,
		                     what, &now);
		g_free(what);
		/* later flushes compare against what this one wrote */
		if (!err && now.st_ino)
			h->base = now;
		break;
	}
	}
out:
	g_mutex_unlock(&h->lock);
	g_mutex_unlock(&h->folder->wlock);
	return err;
}

static void handle_free(whandle *h)
{
	g_byte_array_unref(h->buf);
	g_mutex_clear(&h->lock);
	g_free(h->path);
	g_free(h->msgname);
	g_free(h->inner);
	g_free(h);
}

void write_release(mount *mnt, whandle *h)
{
	pthread_mutex_lock(&mnt->lock);
	if (g_hash_table_lookup(mnt->open_writes, h->path) == h)
		g_hash_table_remove(mnt->open_writes, h->path);
	g_hash_table_remove(mnt->open_handles, h);
	pthread_mutex_unlock(&mnt->lock);
	if (h->kind == WH_DELIVERY || h->kind == WH_PROP)
		notify_attrs_under(mnt, h->path);
	handle_free(h);
}

void write_free_leftover_handles(mount *mnt)
{
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, mnt->open_handles);
	while (g_hash_table_iter_next(&it, &k, &v))
		handle_free(k);
	g_hash_table_remove_all(mnt->open_handles);
	g_hash_table_remove_all(mnt->open_writes);
}

/* truncate(2) on a property file that is not open: set its value at once. */
int write_setsize(mount *mnt, const node_ref *n, off_t size)
{
	/* write_open refuses what is not a property file or message.eml */
	whandle *h = NULL;
	int err = write_open(mnt, n, size == 0 ? O_TRUNC : 0, &h);
	if (err)
		return err;
	err = write_truncate(h, size);
	if (!err)
		err = write_apply(mnt, h);
	write_release(mnt, h);
	return err;
}

/* ---- directories ------------------------------------------------------------- */

/* mkdir/rmdir of a row "recipients/N" or "attachments/N" under @parent. */
static int update_row(mount *mnt, const node_ref *parent, const char *name, edit_fn fn,
                      const char *verb)
{
	char *inner = g_strconcat(parent->inner, "/", name, NULL);
	char *what = g_strdup_printf("%s %s", verb, inner);
	g_mutex_lock(&parent->folder->wlock);
	int err = update_message(mnt, parent->folder, parent->msgname, NULL, fn, inner, false, what,
	                         NULL);
	g_mutex_unlock(&parent->folder->wlock);
	g_free(what);
	g_free(inner);
	return err;
}

/* A new empty message @name in folder @f (its wlock held). */
static int new_message(mount *mnt, folder *f, const char *name)
{
	if (message_exists(mnt, f, name) || subfolder_exists(mnt, f, name))
		return EEXIST;
	/* design.md 4: an empty message at once, written by the mapper's
	 * writer from an empty object so it is a valid message */
	mapper_message *m = mapper_message_load("", 0, NULL, MAPPER_LOAD_FULL);
	char *out = NULL, *why = NULL;
	size_t outlen = 0;
	mapper_status s = m ? mapper_message_export(m, NULL, 0, &out, &outlen, &why) : MAPPER_NO_MEMORY;
	mapper_message_free(m);
	if (s != MAPPER_OK) {
		mapifs_error("%s/%s: cannot make a new message: %s", f->path, name,
		             why ? why : mapper_status_to_string(s));
		free(why);
		return mapper_errno(s);
	}
	/* made by the user, so already seen */
	int err = create_message(mnt, f, name, out, outlen, "S", false);
	free(out);
	if (err)
		mapifs_error("%s/%s: cannot make a new message: %s", f->path, name, g_strerror(err));
	changed(mnt, f, name);
	return err;
}

/* mkdir: a new message in a folder, or a row under recipients/attachments. */
int write_mkdir(mount *mnt, const node_ref *parent, const char *name)
{
	if (mnt->readonly)
		return EROFS;
	if (parent->kind == NODE_FOLDER) {
		folder *f = parent->folder;
		if (f->type == FOLDER_MAILDIR_ROOT)
			return EPERM;   /* new Maildir++ folders are not made through the mount */
		if (!valid_message_name(name)) {
			mapifs_log("%s/%s: not a usable message name", f->path, name);
			return EINVAL;
		}
		g_mutex_lock(&f->wlock);
		int err = new_message(mnt, f, name);
		g_mutex_unlock(&f->wlock);
		return err;
	}
	if (parent->kind == NODE_INNER)
		return update_row(mnt, parent, name, edit_mkdir, "mkdir");
	return EPERM;
}

/* Delete message @name of @f (its wlock held). */
static int delete_message(mount *mnt, folder *f, const char *name)
{
	if (subfolder_exists(mnt, f, name))
		return EPERM;   /* folders are not removed through the mount */
	msgfile *mf = find_message(mnt, f, name);
	if (!mf)
		return ENOENT;
	int err = unlink_rel(mnt, mf->relpath);
	if (err)
		mapifs_error("%s: cannot delete: %s", mf->relpath, g_strerror(err));
	msgfile_unref(mf);
	changed(mnt, f, name);
	return err;
}

int write_rmdir(mount *mnt, const node_ref *parent, const char *name)
{
	if (mnt->readonly)
		return EROFS;
	if (parent->kind == NODE_FOLDER) {
		g_mutex_lock(&parent->folder->wlock);
		int err = delete_message(mnt, parent->folder, name);
		g_mutex_unlock(&parent->folder->wlock);
		return err;
	}
	if (parent->kind == NODE_INNER)
		return update_row(mnt, parent, name, edit_rmdir, "rmdir");
	return EPERM;
}

/* Move message @name of @from to @to as @newname (both wlocks held). */
static int move_message(mount *mnt, folder *from, const char *name, folder *to, const char *newname)
{
	msgfile *mf = find_message(mnt, from, name);
	if (!mf)
		return subfolder_exists(mnt, from, name) ? EPERM : ENOENT;
	if (!valid_message_name(newname)) {
		mapifs_log("%s/%s: not a usable message name", to->path, newname);
		msgfile_unref(mf);
		return EINVAL;
	}
	if (from == to && strcmp(name, newname) == 0) {
		msgfile_unref(mf);
		return 0;
	}
	if (message_exists(mnt, to, newname) || subfolder_exists(mnt, to, newname)) {
		msgfile_unref(mf);
		return EEXIST;
	}
	char *newrel = target_rel(to, newname, mf->flags, mf->in_new && from->type != FOLDER_EML);
	int err = move_file(mnt, mf->relpath, newrel, true);
	if (err)
		mapifs_error("%s: cannot move to %s: %s", mf->relpath, newrel, g_strerror(err));
	char *oldpath = child_path(from->path, name), *newpath = child_path(to->path, newname);
	pthread_mutex_lock(&mnt->lock);
	if (!err)
		inode_rename(mnt, oldpath, newpath, to, newname);
	cache_drop(mnt, from, name);
	pthread_mutex_unlock(&mnt->lock);
	changed(mnt, from, name);
	changed(mnt, to, newname);
	g_free(oldpath);
	g_free(newpath);
	g_free(newrel);
	msgfile_unref(mf);
	return err;
}

/* mv of a message directory: to another folder, or to another name. */
int write_rename(mount *mnt, const node_ref *parent, const char *name, const node_ref *newparent,
                 const char *newname, unsigned int flags)
{
	if (mnt->readonly)
		return EROFS;
	if (flags & RENAME_EXCHANGE)
		return EINVAL;
	if (parent->kind != NODE_FOLDER || newparent->kind != NODE_FOLDER)
		return EPERM;   /* property files, rows and message.eml keep their names */
	folder *from = parent->folder, *to = newparent->folder;
	if (to->type == FOLDER_MAILDIR_ROOT)
		return EPERM;
	/* two folders' locks in address order (mapifs.h) */
	folder *first = from < to ? from : to, *second = from < to ? to : from;
	g_mutex_lock(&first->wlock);
	if (second != first)
		g_mutex_lock(&second->wlock);
	int err = move_message(mnt, from, name, to, newname);
	if (second != first)
		g_mutex_unlock(&second->wlock);
	g_mutex_unlock(&first->wlock);
	return err;
}

/* ---- crash leftovers ------------------------------------------------------------ */

static void clean_dir(mount *mnt, const char *rel, bool hidden_only)
{
	int dfd;
	if (source_open_dir(mnt, rel, &dfd) != 0)
		return;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		close(dfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!g_str_has_suffix(e->d_name, TMP_SUFFIX) || (hidden_only && e->d_name[0] != '.'))
			continue;
		char *p = child_path(rel, e->d_name);
		if (unlinkat(dfd, e->d_name, 0) == 0)
			mapifs_log("%s: removed a temporary file left by an interrupted write", p);
		g_free(p);
	}
	closedir(d);
	close(dfd);
}

/* Remove the temporary files of writes a crash interrupted: ours only
 * (the TMP_SUFFIX), never another program's delivery in progress.  Called
 * before the folder's first scan, without mount->lock. */
void write_clean_leftovers(mount *mnt, folder *f)
{
	if (mnt->readonly)
		return;
	if (f->type == FOLDER_MAILDIR) {
		char *tmp = *f->srcdir ? g_build_filename(f->srcdir, "tmp", NULL) : g_strdup("tmp");
		clean_dir(mnt, tmp, false);
		g_free(tmp);
	} else if (f->type == FOLDER_EML) {
		clean_dir(mnt, f->srcdir, true);
	}
}

/* read(2) on a handle open for writing: what it holds so far. */
int write_read(whandle *h, size_t size, off_t off, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	g_mutex_lock(&h->lock);
	if (off >= 0 && (size_t)off < h->buf->len) {
		*outlen = MIN(size, h->buf->len - (size_t)off);
		*out = g_memdup2(h->buf->data + off, *outlen);
	}
	g_mutex_unlock(&h->lock);
	return 0;
}
