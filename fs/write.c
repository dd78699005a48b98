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
 * mapper_message_export().  Everything runs under mount->lock, so two edits
 * of one message never interleave.
 *
 * Kernel caches: after a change the attributes of every inode under the
 * message are invalidated (offset -1: no page locks are taken, so this is
 * safe inside a request); their new mtime then drops cached pages
 * (FUSE_CAP_AUTO_INVAL_DATA) and cached listings.
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

static int fsync_dir(mount *mnt, const char *rel)
{
	int fd = openat(mnt->srcfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int err = fsync(fd) == 0 ? 0 : errno;
	close(fd);
	return err;
}

static char *dir_of(const char *rel)
{
	char *d = g_path_get_dirname(rel);
	if (strcmp(d, ".") == 0) {
		g_free(d);
		d = g_strdup("");
	}
	return d;
}

/* Where temporary files for folder @f go, and a fresh name there. */
static char *tmp_rel(mount *mnt, folder *f, const char *name)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	unsigned n = ++mnt->tmp_counter;
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

/* Write @data to a new temporary file and fsync it; *@rel names it. */
static int write_tmp(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                     mode_t mode, char **rel)
{
	*rel = tmp_rel(mnt, f, name);
	int fd = openat(mnt->srcfd, *rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int err = errno;
		g_free(*rel);
		*rel = NULL;
		return err;
	}
	const char *p = data;
	size_t left = len;
	int err = 0;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		p += w;
		left -= (size_t)w;
	}
	if (!err && fsync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && !err)
		err = errno;
	if (err) {
		unlinkat(mnt->srcfd, *rel, 0);
		g_free(*rel);
		*rel = NULL;
	}
	return err;
}

/* Move @from to @to (relative paths) and make both directories durable. */
static int move_file(mount *mnt, const char *from, const char *to, bool noreplace)
{
	int r = noreplace ? renameat2(mnt->srcfd, from, mnt->srcfd, to, RENAME_NOREPLACE)
	                  : renameat(mnt->srcfd, from, mnt->srcfd, to);
	if (r != 0)
		return errno;
	char *d1 = dir_of(from), *d2 = dir_of(to);
	int err = fsync_dir(mnt, d2);
	if (!err && strcmp(d1, d2) != 0)
		err = fsync_dir(mnt, d1);
	g_free(d1);
	g_free(d2);
	return err;
}

/* ---- after a change ------------------------------------------------------ */

/* Attributes of every inode at or under @path are stale. */
static void invalidate_path(mount *mnt, const char *path)
{
	GArray *inos = inodes_under(mnt, path);
	for (guint i = 0; i < inos->len; i++) {
		int r = fuse_lowlevel_notify_inval_inode(mnt->se, g_array_index(inos, fuse_ino_t, i), -1, 0);
		if (r < 0 && r != -ENOENT)
			mapifs_log("kernel cache invalidation failed: %s", g_strerror(-r));
	}
	g_array_unref(inos);
}

static void invalidate_folder(mount *mnt, folder *f)
{
	node *n = inode_find_path(mnt, f->path);
	if (n) {
		int r = fuse_lowlevel_notify_inval_inode(mnt->se, n->ino, -1, 0);
		if (r < 0 && r != -ENOENT)
			mapifs_log("kernel cache invalidation failed: %s", g_strerror(-r));
	}
}

/* Forget what the daemon and the kernel know about message @name. */
static void changed(mount *mnt, folder *f, const char *name)
{
	f->dirty = true;
	folder_refresh(mnt, f, NULL);
	cache_drop(mnt, f, name);
	char *p = child_path(f->path, name);
	invalidate_path(mnt, p);
	g_free(p);
	invalidate_folder(mnt, f);
}

/* The message's backing file, looking again if another program renamed it
 * (a flag change) since the last scan. */
static msgfile *find_message(mount *mnt, folder *f, const char *name)
{
	msgfile *mf = folder_message(mnt, f, name);
	struct stat st;
	if (mf && source_stat(mnt, mf->relpath, &st) == 0)
		return mf;
	f->dirty = true;
	return folder_message(mnt, f, name);
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
 */
static int store(mount *mnt, folder *f, msgfile *mf, const void *data, size_t len,
                 const char *flags, mode_t mode)
{
	char *name = g_strdup(mf->name);
	bool in_new = mf->in_new;
	char *rel = g_strdup(mf->relpath);
	int err = 0;

	if (flags && f->type != FOLDER_EML && strcmp(flags, mf->flags) != 0) {
		/* a message with flags has been seen: it lives in cur/ */
		in_new = in_new && !*flags;
		char *to = target_rel(f, name, flags, in_new);
		err = move_file(mnt, rel, to, false);
		g_free(rel);
		rel = to;
	}
	if (!err && data) {
		char *tmp = NULL;
		err = write_tmp(mnt, f, name, data, len, mode, &tmp);
		if (!err) {
			err = move_file(mnt, tmp, rel, false);
			if (err)
				unlinkat(mnt->srcfd, tmp, 0);
		}
		g_free(tmp);
	}
	changed(mnt, f, name);
	g_free(rel);
	g_free(name);
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
 * apply @fn and store the result.  @what names the change for the log.
 */
static int update_message(mount *mnt, folder *f, const char *name, const struct stat *base,
                          edit_fn fn, const void *arg, bool flags_only, const char *what)
{
	msgfile *mf = find_message(mnt, f, name);
	if (!mf)
		return ENOENT;
	if (flags_only && f->type == FOLDER_EML) {
		mapifs_log("%s: %s: an .eml file has no Maildir flags to keep it", mf->relpath, what);
		return EPERM;
	}
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int err = source_read(mnt, mf->relpath, MAPPER_LOAD_FULL, &data, &len, &st);
	if (err) {
		mapifs_log("%s: cannot read: %s", mf->relpath, g_strerror(err));
		return err;
	}
	if (base && !same_version(base, &st)) {
		mapifs_log("%s: %s: the message changed since it was opened; not overwritten",
		           mf->relpath, what);
		g_free(data);
		return ESTALE;
	}
	mapper_source src = { .maildir_flags = mf->flags, .maildir_new = mf->in_new,
	                      .mtime = st.st_mtim.tv_sec };
	mapper_message *m = mapper_message_load(data, len, &src, MAPPER_LOAD_FULL);
	if (!m) {
		g_free(data);
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
		mapifs_log("%s: %s: cannot store: %s", mf->relpath, what, g_strerror(err));
	free(out);
	g_free(data);
	return err;
}

/* ---- open files ------------------------------------------------------------- */

struct whandle {
	wh_kind kind;
	char *path;          /* mount path of the file */
	folder *folder;
	char *msgname;       /* the message (WH_DELIVERY: the one to create) */
	char *inner;         /* WH_PROP: path inside the message */
	GByteArray *buf;
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
	h->buf = g_byte_array_new();
	g_hash_table_replace(mnt->open_writes, h->path, h);
	return h;
}

whandle *write_handle_for(mount *mnt, const char *path)
{
	whandle *h = g_hash_table_lookup(mnt->open_writes, path);
	return h && !h->done ? h : NULL;
}

size_t write_handle_size(const whandle *h)
{
	return h->buf->len;
}

/* Open @n (a property file or message.eml) for writing. */
int write_open(mount *mnt, node *n, int flags, whandle **out)
{
	*out = NULL;
	if (mnt->readonly)
		return EROFS;
	if (n->kind == NODE_CERT)
		return EPERM;   /* the map is learnt from signatures (design.md 5) */
	if (n->kind != NODE_INNER && n->kind != NODE_EML)
		return n->kind == NODE_NEWFILE ? EBUSY : EISDIR;
	msgfile *mf = find_message(mnt, n->folder, n->msgname);
	if (!mf)
		return ENOENT;
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int err = source_read(mnt, mf->relpath, MAPPER_LOAD_FULL, &data, &len, &st);
	if (err)
		return err;

	whandle *h;
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
		if (s == MAPPER_OK && !(flags & O_TRUNC)) {
			const void *cur;
			size_t curlen;
			s = mapper_message_read(m, n->inner, &cur, &curlen);
			if (s == MAPPER_OK) {
				h = handle_new(mnt, WH_PROP, n->path, n->folder, n->msgname, n->inner);
				g_byte_array_append(h->buf, cur, (guint)curlen);
			}
		} else if (s == MAPPER_OK) {
			h = handle_new(mnt, WH_PROP, n->path, n->folder, n->msgname, n->inner);
		}
		if (s != MAPPER_OK) {
			mapifs_log("%s: cannot write %s: %s", mf->relpath, n->inner,
			           why ? why : mapper_status_to_string(s));
			free(why);
			mapper_message_free(m);
			g_free(data);
			return mapper_errno(s);
		}
		mapper_message_free(m);
	}
	g_free(data);
	h->base = st;
	h->dirty = (flags & O_TRUNC) != 0;
	*out = h;
	return 0;
}

/* Create file @name in @parent: a delivery into a folder, or a property. */
int write_create(mount *mnt, node *parent, const char *name, whandle **out, node_kind *kind)
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
		if (f->type == FOLDER_MAILDIR_ROOT)
			err = EPERM;
		else if (!valid_message_name(msgname) || name[0] == '.')
			err = EINVAL;
		else if (folder_message(mnt, f, msgname) || g_hash_table_lookup(f->subfolders, msgname) ||
		         write_handle_for(mnt, path))
			err = EEXIST;
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
			msgfile *mf = find_message(mnt, parent->folder, parent->msgname);
			int e2 = 0;
			mapper_message *m = mf ? cache_message(mnt, parent->folder, mf, MAPPER_LOAD_FULL, NULL, &e2) : NULL;
			if (!m) {
				err = mf ? e2 : ENOENT;
			} else {
				char *why = NULL;
				mapper_status s = mapper_message_can_set(m, inner, &why);
				if (s != MAPPER_OK) {
					mapifs_log("%s: cannot create %s: %s", mf->relpath, inner,
					           why ? why : mapper_status_to_string(s));
					err = mapper_errno(s);
				}
				free(why);
				if (!err) {
					struct stat st;
					err = source_stat(mnt, mf->relpath, &st) ? ENOENT : 0;
					if (!err) {
						*out = handle_new(mnt, WH_PROP, path, parent->folder, parent->msgname, inner);
						(*out)->base = st;
						(*out)->dirty = true;
						*kind = NODE_INNER;
					}
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
	if (h->done)
		return EBADF;
	if (off < 0 || (size_t)off > WRITE_MAX_BYTES || size > WRITE_MAX_BYTES - (size_t)off)
		return EFBIG;
	size_t end = (size_t)off + size;
	if (end > h->buf->len) {
		size_t old = h->buf->len;
		g_byte_array_set_size(h->buf, (guint)end);
		memset(h->buf->data + old, 0, end - old);
	}
	memcpy(h->buf->data + off, data, size);
	h->dirty = h->written = true;
	return 0;
}

int write_truncate(whandle *h, off_t size)
{
	if (size < 0 || (size_t)size > WRITE_MAX_BYTES)
		return EFBIG;
	size_t old = h->buf->len;
	g_byte_array_set_size(h->buf, (guint)size);
	if ((size_t)size > old)
		memset(h->buf->data + old, 0, (size_t)size - old);
	h->dirty = h->written = true;
	return 0;
}

/* Make new message @name of @f from @data: through a temporary file, then
 * renamed to its place without replacing anything (maildir(5) delivery). */
static int create_message(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                          const char *flags, bool in_new)
{
	char *tmp = NULL;
	int err = write_tmp(mnt, f, name, data, len, 0600, &tmp);
	if (!err) {
		char *to = target_rel(f, name, flags, in_new);
		err = move_file(mnt, tmp, to, true);
		if (err)
			unlinkat(mnt->srcfd, tmp, 0);
		g_free(to);
	}
	g_free(tmp);
	return err;
}

static int deliver(mount *mnt, whandle *h)
{
	folder *f = h->folder;
	if (folder_message(mnt, f, h->msgname)) {
		mapifs_log("%s: a message %s already exists", h->path, h->msgname);
		return EEXIST;
	}
	/* maildir(5): a delivered message goes from tmp/ to new/ */
	int err = create_message(mnt, f, h->msgname, h->buf->data, h->buf->len, "", true);
	if (err)
		mapifs_log("%s: cannot deliver: %s", h->path, g_strerror(err));
	changed(mnt, f, h->msgname);
	invalidate_path(mnt, h->path);
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
	if (!h->dirty || h->done)
		return 0;
	if (!h->written && ++h->idle_flushes < 2)
		return 0;
	return write_apply(mnt, h);
}

int write_apply(mount *mnt, whandle *h)
{
	if (!h->dirty || h->done)
		return 0;
	h->dirty = h->written = false;
	h->idle_flushes = 0;
	int err = 0;
	switch (h->kind) {
	case WH_DELIVERY:
		err = deliver(mnt, h);
		h->done = true;
		break;
	case WH_EML: {
		msgfile *mf = find_message(mnt, h->folder, h->msgname);
		char *data = NULL;
		size_t len = 0;
		struct stat st;
		err = mf ? source_read(mnt, mf->relpath, MAPPER_LOAD_HEADERS, &data, &len, &st) : ENOENT;
		g_free(data);
		if (!err && !same_version(&h->base, &st)) {
			mapifs_log("%s: message.eml: the message changed since it was opened; not overwritten",
			           mf->relpath);
			err = ESTALE;
		}
		if (!err)
			err = store(mnt, h->folder, mf, h->buf->data, h->buf->len, NULL, st.st_mode & 0777);
		if (!err) {
			/* later flushes compare against what this one wrote */
			msgfile *now = find_message(mnt, h->folder, h->msgname);
			if (now)
				source_stat(mnt, now->relpath, &h->base);
		}
		break;
	}
	case WH_PROP: {
		set_args a = { h->inner, h->buf->data, h->buf->len };
		bool flags_only = mapper_path_is_flag_property(h->inner);
		/* sealing encrypts to certificates/: it must know all of it */
		if (strcmp(h->inner, "0x6E010003") == 0)
			certificates_learn(mnt);
		char *what = g_strdup_printf("writing %s", h->inner);
		err = update_message(mnt, h->folder, h->msgname, &h->base, edit_set, &a, flags_only, what);
		g_free(what);
		if (!err) {
			msgfile *now = find_message(mnt, h->folder, h->msgname);
			if (now)
				source_stat(mnt, now->relpath, &h->base);
		}
		break;
	}
	}
	return err;
}

void write_release(mount *mnt, whandle *h)
{
	if (g_hash_table_lookup(mnt->open_writes, h->path) == h)
		g_hash_table_remove(mnt->open_writes, h->path);
	if (h->kind == WH_DELIVERY || h->kind == WH_PROP)
		invalidate_path(mnt, h->path);
	g_byte_array_unref(h->buf);
	g_free(h->path);
	g_free(h->msgname);
	g_free(h->inner);
	g_free(h);
}

/* truncate(2) on a property file that is not open: set its value at once. */
int write_setsize(mount *mnt, node *n, off_t size)
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
static int update_row(mount *mnt, node *parent, const char *name, edit_fn fn, const char *verb)
{
	char *inner = g_strconcat(parent->inner, "/", name, NULL);
	char *what = g_strdup_printf("%s %s", verb, inner);
	int err = update_message(mnt, parent->folder, parent->msgname, NULL, fn, inner, false, what);
	g_free(what);
	g_free(inner);
	return err;
}

/* mkdir: a new message in a folder, or a row under recipients/attachments. */
int write_mkdir(mount *mnt, node *parent, const char *name)
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
		if (folder_message(mnt, f, name) || g_hash_table_lookup(f->subfolders, name))
			return EEXIST;
		/* design.md 4: an empty message at once, written by the mapper's
		 * writer from an empty object so it is a valid message */
		mapper_message *m = mapper_message_load("", 0, NULL, MAPPER_LOAD_FULL);
		char *out = NULL, *why = NULL;
		size_t outlen = 0;
		mapper_status s = m ? mapper_message_export(m, NULL, 0, &out, &outlen, &why) : MAPPER_NO_MEMORY;
		mapper_message_free(m);
		if (s != MAPPER_OK) {
			mapifs_log("%s/%s: cannot make a new message: %s", f->path, name,
			           why ? why : mapper_status_to_string(s));
			free(why);
			return mapper_errno(s);
		}
		/* made by the user, so already seen */
		int err = create_message(mnt, f, name, out, outlen, "S", false);
		free(out);
		if (err)
			mapifs_log("%s/%s: cannot make a new message: %s", f->path, name, g_strerror(err));
		changed(mnt, f, name);
		return err;
	}
	if (parent->kind == NODE_INNER)
		return update_row(mnt, parent, name, edit_mkdir, "mkdir");
	return EPERM;
}

int write_rmdir(mount *mnt, node *parent, const char *name)
{
	if (mnt->readonly)
		return EROFS;
	if (parent->kind == NODE_FOLDER) {
		folder *f = parent->folder;
		if (g_hash_table_lookup(f->subfolders, name))
			return EPERM;   /* folders are not removed through the mount */
		msgfile *mf = find_message(mnt, f, name);
		if (!mf)
			return ENOENT;
		int err = unlinkat(mnt->srcfd, mf->relpath, 0) == 0 ? 0 : errno;
		if (!err) {
			char *d = dir_of(mf->relpath);
			err = fsync_dir(mnt, d);
			g_free(d);
		}
		if (err)
			mapifs_log("%s: cannot delete: %s", mf->relpath, g_strerror(err));
		changed(mnt, f, name);
		return err;
	}
	if (parent->kind == NODE_INNER)
		return update_row(mnt, parent, name, edit_rmdir, "rmdir");
	return EPERM;
}

/* mv of a message directory: to another folder, or to another name. */
int write_rename(mount *mnt, node *parent, const char *name, node *newparent,
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
	msgfile *mf = find_message(mnt, from, name);
	if (!mf)
		return g_hash_table_lookup(from->subfolders, name) ? EPERM : ENOENT;
	if (!valid_message_name(newname)) {
		mapifs_log("%s/%s: not a usable message name", to->path, newname);
		return EINVAL;
	}
	if (from == to && strcmp(name, newname) == 0)
		return 0;
	if (folder_message(mnt, to, newname) || g_hash_table_lookup(to->subfolders, newname))
		return EEXIST;
	char *oldrel = g_strdup(mf->relpath);
	char *mflags = g_strdup(mf->flags);
	char *newrel = target_rel(to, newname, mflags, mf->in_new && from->type != FOLDER_EML);
	int err = move_file(mnt, oldrel, newrel, true);
	if (err)
		mapifs_log("%s: cannot move to %s: %s", oldrel, newrel, g_strerror(err));
	char *oldpath = child_path(from->path, name), *newpath = child_path(to->path, newname);
	if (!err)
		inode_rename(mnt, oldpath, newpath, to, newname);
	cache_drop(mnt, from, name);
	changed(mnt, from, name);
	changed(mnt, to, newname);
	g_free(oldpath);
	g_free(newpath);
	g_free(oldrel);
	g_free(newrel);
	g_free(mflags);
	return err;
}

/* ---- crash leftovers ------------------------------------------------------------ */

static void clean_dir(mount *mnt, const char *rel, bool hidden_only)
{
	int fd = openat(mnt->srcfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!g_str_has_suffix(e->d_name, TMP_SUFFIX) || (hidden_only && e->d_name[0] != '.'))
			continue;
		char *p = child_path(rel, e->d_name);
		if (unlinkat(mnt->srcfd, p, 0) == 0)
			mapifs_log("%s: removed a temporary file left by an interrupted write", p);
		g_free(p);
	}
	closedir(d);
}

/* Remove the temporary files of writes a crash interrupted: ours only
 * (the TMP_SUFFIX), never another program's delivery in progress. */
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
	if (off >= 0 && (size_t)off < h->buf->len) {
		*outlen = MIN(size, h->buf->len - (size_t)off);
		*out = g_memdup2(h->buf->data + off, *outlen);
	}
	return 0;
}
