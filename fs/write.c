/*
 * write.c - edit transactions (design.md section 4): what a write, create,
 * mkdir, rmdir, rename or truncate through the mount does to a message.
 *
 * A property edit is buffered per open file and applied on flush (close):
 * the daemon reads the backing file again, refuses with ESTALE if it is not
 * the version that was open (another writer got there first), applies the
 * value to a freshly loaded object, converts the object back with
 * mapper_message_export(), and has store.c replace the file atomically
 * (tmp/ -> fsync -> rename: a crash leaves the old or the new message).
 * Each change holds its folder's wlock (two for a move), so two changes of
 * one message never interleave, while readers and writers of other folders
 * go on (mapifs.h: the lock order).  When storing fails (no space, no
 * permission, tmp/ missing or not a directory) the errno reaches close(),
 * and the message is as it was.
 *
 * After every change, sync_message_changed() has the caches and the
 * kernel forget what they held of the message (sync.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapifs.h"

/* Largest file accepted through the mount: a message or a property. */
#define WRITE_MAX_BYTES ((size_t)256 << 20)
/* Values judged at each write(2): single-line ones are far shorter; a
 * larger file is judged at close(2) only (no copy per write of a big one). */
#define JUDGE_MAX_BYTES ((size_t)64 << 10)

/* ---- after a change ------------------------------------------------------ */

/* Message @name of @f with a reference (msgfile_unref), or NULL. */
static msgfile *find_message(mount *mnt, folder *f, const char *name)
{
	pthread_mutex_lock(&mnt->lock);
	msgfile *mf = sync_message_ref(mnt, f, name);
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
	sync_folder(mnt, f, NULL);
	bool yes = g_hash_table_lookup(f->subfolders, name) != NULL;
	pthread_mutex_unlock(&mnt->lock);
	return yes;
}

/* ---- applying an edit ------------------------------------------------------ */

/* ---- the last error of each message (issue 13) ------------------------------ */

/* How many messages' last errors are kept, and how long each may be. */
#define ERRORS_MAX 10000
#define ERROR_TEXT_MAX 1024

/* Log a failed change of message @name of @f and keep it as the message's
 * last error (user.mapifs.error): a shell's echo ignores the error of
 * close(), and a daemon started without syslog has no log to read. */
static void note_error(mount *mnt, folder *f, const char *name, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void note_error(mount *mnt, folder *f, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	mapifs_log("%s/%s: %s", f->path, name, text);
	/* bounded, whatever a script does to how many messages: a value
	 * quoted in the text is cut (at a character), and the oldest
	 * messages' errors are not all kept */
	if (strlen(text) > ERROR_TEXT_MAX) {
		const char *cut = g_utf8_find_prev_char(text, text + ERROR_TEXT_MAX + 1);
		strcpy(cut ? (char *)cut : text + ERROR_TEXT_MAX, "...");
	}
	pthread_mutex_lock(&mnt->lock);
	char *key = path_join(f->path, name);
	if (g_hash_table_size(mnt->errors) >= ERRORS_MAX && !g_hash_table_contains(mnt->errors, key)) {
		GHashTableIter it;
		gpointer victim;
		g_hash_table_iter_init(&it, mnt->errors);
		if (g_hash_table_iter_next(&it, &victim, NULL))
			g_hash_table_iter_remove(&it);
	}
	g_hash_table_replace(mnt->errors, key, text);
	pthread_mutex_unlock(&mnt->lock);
}

/* A change of the message went through: its last error is history. */
static void clear_error(mount *mnt, folder *f, const char *name)
{
	char *key = path_join(f->path, name);
	pthread_mutex_lock(&mnt->lock);
	g_hash_table_remove(mnt->errors, key);
	pthread_mutex_unlock(&mnt->lock);
	g_free(key);
}

char *write_last_error(mount *mnt, const char *msgpath)
{
	pthread_mutex_lock(&mnt->lock);
	char *text = g_strdup(g_hash_table_lookup(mnt->errors, msgpath));
	pthread_mutex_unlock(&mnt->lock);
	return text;
}

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

/* Load the whole message @data, apply @fn and write it out: *@out, or
 * with @flags_only the Maildir flags it implies in @computed. */
static mapper_status edit_at(mount *mnt, const char *data, size_t len, const mapper_source *src,
                             edit_fn fn, const void *arg, bool flags_only,
                             char computed[8], char **out, size_t *outlen, char **why)
{
	mapper_message *m = mapper_message_load(data, len, src, MAPPER_LOAD_FULL);
	if (!m)
		return MAPPER_NO_MEMORY;
	mapper_message_set_crypto(m, mnt->crypto);
	mapper_status s = fn(m, arg, why);
	if (s == MAPPER_OK && flags_only)
		mapper_message_maildir_flags(m, computed);
	else if (s == MAPPER_OK)
		s = mapper_message_export(m, data, len, out, outlen, why);
	mapper_message_free(m);
	return s;
}

/* Whether a change of property file @path may be tried on the header
 * block alone: a property of the message itself (not of a row or of
 * smime/), which the mapper takes there only when a header field is all
 * it changes (MAPPER_INCOMPLETE otherwise). */
static bool header_path(const char *path)
{
	static const char *const rows[] = { "recipients/", "attachments/", "smime/" };
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
		if (g_str_has_prefix(path, rows[i]))
			return false;
	return true;
}

static bool header_edit(edit_fn fn, const void *arg)
{
	return fn == edit_set && header_path(((const set_args *)arg)->path);
}

/* The most of a header block read before the whole message is taken. */
#define HEAD_MAX (1 << 20)

/* The start of the open message file @fd, through its header block (and
 * a little more); NULL if the block is not complete within HEAD_MAX. */
static GByteArray *read_head(int fd, size_t *block)
{
	GByteArray *head = g_byte_array_new();
	for (;;) {
		size_t have = head->len, want = have ? have : 1 << 14;
		if (have + want > HEAD_MAX)
			break;
		g_byte_array_set_size(head, (guint)(have + want));
		ssize_t n;
		do
			n = pread(fd, head->data + have, want, (off_t)have);
		while (n < 0 && errno == EINTR);
		g_byte_array_set_size(head, (guint)(have + (n > 0 ? (size_t)n : 0)));
		if (n <= 0)
			break;
		*block = mapper_header_block_length(head->data, head->len);
		if (*block < head->len)
			return head;   /* the empty line is in */
	}
	g_byte_array_free(head, TRUE);
	return NULL;
}

/* EINVAL (noted as the message's last error) when the rewritten draft
 * @out of @name (Maildir flags @flags) would be stored without a From:
 * field, which RFC 5322 3.6 requires (issue 13: mail composed through the
 * mount, a draft until sent, must not be stored without one); 0 when it
 * has one or is not a draft.  Mail received without a From: stays
 * editable: it is what it is. */
static int no_originator(mount *mnt, folder *f, const char *name, const char *flags,
                         const char *what, const char *out, size_t outlen)
{
	char *why = NULL;
	if (!strchr(flags, 'D') || mapper_check_originator(out, outlen, &why) == MAPPER_OK)
		return 0;
	char *who = NULL, *address = NULL;
	bool identity = mapper_crypto_identity_mailbox(mnt->crypto, &who, &address);
	g_free(who);
	g_free(address);
	note_error(mnt, f, name, "%s: %s%s", what, why,
	           identity ? "" : " (or mount with key= and cert=: new messages then have your address)");
	free(why);
	return EINVAL;
}

/*
 * update_message() for a change of header fields only (header_edit): the
 * header block is read, changed and written, and the body copied from the
 * same open file by the kernel (copy_file_range), never read into memory:
 * an edit of a 13.7 MB message costs about what copying the file does.
 * -1 when this way does not apply (the mapper needs the whole message, or
 * anything went wrong): update_message() then does it all again the
 * whole way, and reports what fails there.
 */
static int update_header(mount *mnt, folder *f, const char *name, const struct stat *base,
                         edit_fn fn, const void *arg, const char *what, struct stat *now)
{
	int fd;
	msgfile *mf;
	if (message_open(mnt, f, name, &fd, &mf) != 0)
		return -1;
	int ret = -1;
	struct stat st;
	size_t block = 0;
	GByteArray *head = NULL;
	mapper_message *m = NULL;
	char *out = NULL;
	if (fstat(fd, &st) != 0 || (base && !store_same_version(base, &st)))
		goto out;
	head = read_head(fd, &block);
	if (!head)
		goto out;
	mapper_source src = { .maildir_flags = mf->flags, .maildir_new = mf->in_new,
	                      .mtime = st.st_mtim.tv_sec };
	m = mapper_message_load(head->data, block, &src, MAPPER_LOAD_HEADERS);
	if (!m || fn(m, arg, NULL) != MAPPER_OK)
		goto out;
	size_t outlen = 0, keep = 0;
	if (mapper_message_export_header(m, head->data, head->len, &out, &outlen, &keep, NULL) !=
	    MAPPER_OK)
		goto out;
	ret = 0;
	/* nothing to do when the header block comes out the same */
	if (outlen == keep && memcmp(out, head->data, keep) == 0)
		goto out;
	ret = no_originator(mnt, f, name, mf->flags, what, out, outlen);
	if (ret)
		goto out;
	ret = store_replace_from(mnt, f, mf, out, outlen, fd, (off_t)keep, mf->flags,
	                         st.st_mode & 0777);
	sync_message_changed(mnt, f, mf->name);
	if (ret)
		mapifs_error("%s: %s: cannot store the changed message: %s", mf->relpath, what,
		             g_strerror(ret));
out:
	if (ret == 0)
		clear_error(mnt, f, name);
	if (ret == 0 && now && message_stat(mnt, f, name, now) != 0)
		memset(now, 0, sizeof *now);
	free(out);
	mapper_message_free(m);
	if (head)
		g_byte_array_free(head, TRUE);
	close(fd);
	msgfile_unref(mf);
	return ret;
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
	if (!flags_only && header_edit(fn, arg)) {
		int r = update_header(mnt, f, name, base, fn, arg, what, now);
		if (r >= 0)
			return r;
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
	if (base && !store_same_version(base, &st)) {
		note_error(mnt, f, name, "%s: the message changed since it was opened; not overwritten", what);
		g_free(data);
		msgfile_unref(mf);
		return ESTALE;
	}
	mapper_source src = { .maildir_flags = mf->flags, .maildir_new = mf->in_new,
	                      .mtime = st.st_mtim.tv_sec };
	char *why = NULL;
	char *out = NULL;
	size_t outlen = 0;
	char computed[8];
	mapper_status s = edit_at(mnt, data, len, &src, fn, arg, flags_only, computed, &out,
	                          &outlen, &why);
	if (s != MAPPER_OK) {
		note_error(mnt, f, name, "%s: %s", what, why ? why : mapper_status_to_string(s));
		free(why);
		g_free(data);
		msgfile_unref(mf);
		return mapper_errno(s);
	}
	char flags[64];
	if (flags_only)
		store_merge_flags(mf->flags, computed, flags);
	else
		g_strlcpy(flags, mf->flags, sizeof flags);
	/* nothing to do when the bytes and flags come out the same */
	bool same_bytes = out && outlen == len && memcmp(out, data, len) == 0;
	if (same_bytes || flags_only) {
		free(out);
		out = NULL;
	}
	if (out)
		err = no_originator(mnt, f, name, flags, what, out, outlen);
	if (err) {
		free(out);
		g_free(data);
		msgfile_unref(mf);
		return err;
	}
	if (out || strcmp(flags, mf->flags) != 0) {
		err = store_replace(mnt, f, mf, out, outlen, flags, st.st_mode & 0777);
		sync_message_changed(mnt, f, mf->name);
	}
	if (err) {
		mapifs_error("%s: %s: cannot store the changed message: %s", mf->relpath, what,
		             g_strerror(err));
		note_error(mnt, f, name, "%s: cannot store the changed message: %s", what, g_strerror(err));
	} else {
		clear_error(mnt, f, name);
	}
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
	int failed;          /* WH_PROP: a write was refused (this errno): the
	                      * handle changes nothing any more */
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

/* Open property file @n for writing: check that it can be set and start
 * from its current text.  The message object is the cache's (read only
 * here), so opening costs no parse when the message was read before, and
 * the one it costs is not lost: the close's edit has its own copy. */
static int open_property(mount *mnt, const node_ref *n, int flags, whandle **out)
{
	struct stat st;
	int err = 0;
	/* a property that only a header field holds is checked on the header
	 * block (edit.c says when the whole message is needed) */
	mapper_load_level level = header_path(n->inner) ? MAPPER_LOAD_HEADERS : MAPPER_LOAD_FULL;
	cached *c;
	mapper_message *m;
	char *why = NULL;
	mapper_status s;
	const void *cur = NULL;
	size_t curlen = 0;
	for (;;) {
		c = cache_get(mnt, n->folder, n->msgname, level, &st, &err);
		if (!c)
			return err;
		m = cache_lock(c);
		s = mapper_message_can_set(m, n->inner, &why);
		if (s == MAPPER_OK && !(flags & O_TRUNC))
			s = mapper_message_read(m, n->inner, &cur, &curlen);
		if (s != MAPPER_INCOMPLETE || mapper_message_level(m) == MAPPER_LOAD_FULL)
			break;
		cache_unlock(c);
		cache_put(mnt, c);
		free(why);
		why = NULL;
		cur = NULL;
		curlen = 0;
		level = MAPPER_LOAD_FULL;
	}
	whandle *h = NULL;
	if (s == MAPPER_DEFERRED) {
		/* a large attachment left in the file: its bytes are what is edited */
		mapper_node mn;
		bool sized = mapper_message_stat(m, n->inner, &mn) == MAPPER_OK;
		cache_unlock(c);
		char *bytes = NULL;
		size_t got = 0;
		err = sized ? cache_read_deferred(mnt, n->folder, n->msgname, c, n->inner,
		                                  (size_t)mn.size, 0, &bytes, &got)
		            : EIO;
		cache_lock(c);
		if (err) {
			cache_unlock(c);
			cache_put(mnt, c);
			free(why);
			return err;
		}
		s = MAPPER_OK;
		h = handle_new(mnt, WH_PROP, n->path, n->folder, n->msgname, n->inner);
		g_byte_array_append(h->buf, (const guint8 *)bytes, (guint)got);
		g_free(bytes);
	} else if (s == MAPPER_OK) {
		h = handle_new(mnt, WH_PROP, n->path, n->folder, n->msgname, n->inner);
		if (cur)
			g_byte_array_append(h->buf, cur, (guint)curlen);
	} else {
		note_error(mnt, n->folder, n->msgname, "cannot write %s: %s", n->inner,
		           why ? why : mapper_status_to_string(s));
	}
	cache_unlock(c);
	cache_put(mnt, c);
	free(why);
	if (s != MAPPER_OK)
		return mapper_errno(s);
	set_size(h);
	h->base = st;
	h->dirty = (flags & O_TRUNC) != 0;
	*out = h;
	return 0;
}

/* Open @n (a property file or message.eml) for writing. */
int write_open(mount *mnt, const node_ref *n, int flags, whandle **out)
{
	*out = NULL;
	if (mnt->readonly)
		return EROFS;
	if (n->kind == NODE_CERT)
		return EPERM;   /* the map is learnt from signatures (design.md 5) */
	if (n->kind == NODE_HASHES || n->kind == NODE_EXAMINE)
		return EPERM;   /* computed from the mailbox (design.md 9) */
	if (n->kind != NODE_INNER && n->kind != NODE_EML)
		return n->kind == NODE_NEWFILE ? EBUSY : EISDIR;
	if (n->kind == NODE_INNER)
		return open_property(mnt, n, flags, out);
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	msgfile *mf = NULL;
	int err = message_read(mnt, n->folder, n->msgname, MAPPER_LOAD_FULL, &data, &len, &st, &mf);
	if (err)
		return err;
	whandle *h = handle_new(mnt, WH_EML, n->path, n->folder, n->msgname, NULL);
	if (!(flags & O_TRUNC))
		g_byte_array_append(h->buf, (const guint8 *)data, (guint)len);
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
	char *path = path_join(parent->path, name);
	int err = 0;
	if (parent->kind == NODE_FOLDER) {
		/* design.md 4: cp x.eml MOUNT/INBOX/ delivers a new message, every
		 * copy another one (issue 13): under a fresh unique name in a
		 * Maildir, under "x" in a tree of .eml files while that is free
		 * (deliver()).  Dot files are editors' and tools' own, not mail. */
		folder *f = parent->folder;
		char *msgname = store_eml_stem(name);
		if (!msgname)
			msgname = g_strdup(name);
		if (!folder_type_holds_messages(f->type)) {
			err = EPERM;
		} else if (name[0] == '.') {
			err = EINVAL;
		} else {
			size_t size;
			pthread_mutex_lock(&mnt->lock);
			bool pending = write_pending_size(mnt, path, &size);
			pthread_mutex_unlock(&mnt->lock);
			if (pending)
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
					note_error(mnt, parent->folder, parent->msgname, "cannot create %s: %s", inner,
					           why ? why : mapper_status_to_string(s));
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
		err = parent->kind == NODE_CERTS || parent->kind == NODE_EXAMINE ? EPERM : ENOTDIR;
	}
	g_free(path);
	return err;
}

/* Whether the @len bytes written so far to property file @h can still make
 * a value (mapper_message_check_partial), on the message as the cache has
 * it; 0, or the errno of the refusal (noted as the message's last error). */
static int judge_partial(mount *mnt, whandle *h, const guint8 *bytes, size_t len)
{
	mapper_load_level level = header_path(h->inner) ? MAPPER_LOAD_HEADERS : MAPPER_LOAD_FULL;
	for (;;) {
		struct stat st;
		int err = 0;
		cached *c = cache_get(mnt, h->folder, h->msgname, level, &st, &err);
		if (!c)
			return 0;   /* the close will say what is wrong */
		mapper_message *m = cache_lock(c);
		char *why = NULL;
		mapper_status s = mapper_message_check_partial(m, h->inner, bytes, len, &why);
		bool retry = s == MAPPER_INCOMPLETE && mapper_message_level(m) != MAPPER_LOAD_FULL;
		cache_unlock(c);
		cache_put(mnt, c);
		if (retry) {
			free(why);
			level = MAPPER_LOAD_FULL;
			continue;
		}
		if (s != MAPPER_OK)
			note_error(mnt, h->folder, h->msgname, "writing %s: %s", h->inner,
			           why ? why : mapper_status_to_string(s));
		free(why);
		return s == MAPPER_OK || s == MAPPER_INCOMPLETE ? 0 : mapper_errno(s);
	}
}

int write_data(mount *mnt, whandle *h, const char *data, size_t size, off_t off)
{
	int err = 0;
	GByteArray *judge = NULL;
	g_mutex_lock(&h->lock);
	if (h->done)
		err = EBADF;
	else if (h->failed)
		err = h->failed;
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
		/* issue 13: refuse at write(2) what can already be judged, as a
		 * shell reports that error and not the one of close(2); judged on a
		 * copy, without the handle's lock, as it may parse the message */
		if (h->kind == WH_PROP && h->buf->len <= JUDGE_MAX_BYTES)
			judge = g_byte_array_new_take(g_memdup2(h->buf->data, h->buf->len), h->buf->len);
	}
	g_mutex_unlock(&h->lock);
	if (judge) {
		err = judge_partial(mnt, h, judge->data, judge->len);
		g_byte_array_unref(judge);
		if (err) {
			/* nothing of this handle is applied: the old value stays */
			g_mutex_lock(&h->lock);
			h->failed = err;
			h->dirty = false;
			g_mutex_unlock(&h->lock);
		}
	}
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

/* The folder's wlock is held. */
static int deliver(mount *mnt, whandle *h)
{
	folder *f = h->folder;
	char *name = NULL;
	if (f->type == FOLDER_EML && store_valid_name(h->msgname) &&
	    !message_exists(mnt, f, h->msgname) && !subfolder_exists(mnt, f, h->msgname))
		name = g_strdup(h->msgname);
	else
		name = store_unique_name(mnt);
	/* maildir(5): a delivered message goes from tmp/ to new/ */
	int err = store_create(mnt, f, name, h->buf->data, h->buf->len, "", true);
	if (err)
		mapifs_error("%s: cannot deliver: %s", h->path, g_strerror(err));
	else
		mapifs_log("%s: delivered as %s/%s", h->path, f->path, name);
	sync_message_changed(mnt, f, name);
	sync_attrs_under(mnt, h->path);
	g_free(name);
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
	int failed = h->failed;
	g_mutex_unlock(&h->lock);
	if (failed)
		return failed;   /* close(2) reports the refused write too */
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
		if (!err && !store_same_version(&h->base, &st)) {
			mapifs_log("%s: message.eml: the message changed since it was opened; not overwritten",
			           mf->relpath);
			err = ESTALE;
		}
		if (!err) {
			err = store_replace(mnt, h->folder, mf, h->buf->data, h->buf->len, NULL,
			                    st.st_mode & 0777);
			sync_message_changed(mnt, h->folder, mf->name);
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
		sync_attrs_under(mnt, h->path);
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
	 * writer from an empty object so it is a valid message; RFC 5322
	 * 3.6.2 wants a From:, the local identity's when there is one (issue
	 * 13), else the user writes one before anything else (no_originator) */
	mapper_message *m = mapper_message_load("", 0, NULL, MAPPER_LOAD_FULL);
	char *out = NULL, *why = NULL, *who = NULL, *address = NULL;
	size_t outlen = 0;
	mapper_status s = m ? MAPPER_OK : MAPPER_NO_MEMORY;
	if (s == MAPPER_OK && mapper_crypto_identity_mailbox(mnt->crypto, &who, &address)) {
		/* what the header cannot carry is left out, and the draft is
		 * made all the same: the user can still write a From: */
		if (mapper_message_set(m, "PidTagSentRepresentingEmailAddress", address, strlen(address),
		                       NULL) != MAPPER_OK)
			mapifs_log("%s/%s: the address in the certificate (%s) is not used in From:", f->path,
			           name, address);
		else if (who && mapper_message_set(m, "PidTagSentRepresentingName", who, strlen(who),
		                                   NULL) != MAPPER_OK)
			mapifs_log("%s/%s: the name in the certificate is not used in From:", f->path, name);
	}
	if (s == MAPPER_OK)
		s = mapper_message_export(m, NULL, 0, &out, &outlen, &why);
	mapper_message_free(m);
	g_free(who);
	g_free(address);
	if (s != MAPPER_OK) {
		mapifs_error("%s/%s: cannot make a new message: %s", f->path, name,
		             why ? why : mapper_status_to_string(s));
		free(why);
		free(out);
		return mapper_errno(s);
	}
	/* a draft (D: mfUnsent, oxcmail-mapping.md 7.2), not seen yet (no S,
	 * issue 13), in cur/ as it is not delivered mail */
	int err = store_create(mnt, f, name, out, outlen, f->type == FOLDER_EML ? "" : "D", false);
	free(out);
	if (err)
		mapifs_error("%s/%s: cannot make a new message: %s", f->path, name, g_strerror(err));
	sync_message_changed(mnt, f, name);
	return err;
}

/* mkdir: a new message in a folder, or a row under recipients/attachments. */
int write_mkdir(mount *mnt, const node_ref *parent, const char *name)
{
	if (mnt->readonly)
		return EROFS;
	if (parent->kind == NODE_FOLDER) {
		folder *f = parent->folder;
		if (!folder_type_holds_messages(f->type))
			return EPERM;   /* new folders are not made through the mount */
		if (!store_valid_name(name)) {
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
	int err = store_delete(mnt, f, mf);
	msgfile_unref(mf);
	sync_message_changed(mnt, f, name);
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
	if (!store_valid_name(newname)) {
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
	int err = store_move(mnt, from, mf, to, newname);
	char *oldpath = path_join(from->path, name), *newpath = path_join(to->path, newname);
	pthread_mutex_lock(&mnt->lock);
	if (!err)
		inode_rename(mnt, oldpath, newpath, to, newname);
	cache_drop(mnt, from, name);
	pthread_mutex_unlock(&mnt->lock);
	sync_message_changed(mnt, from, name);
	sync_message_changed(mnt, to, newname);
	g_free(oldpath);
	g_free(newpath);
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
	if (!folder_type_holds_messages(to->type))
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
