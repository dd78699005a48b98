/*
 * ops.c - the FUSE low-level operations.
 *
 * Each handler takes the mount lock, calls a do_* worker that returns 0 or a
 * positive errno, releases the lock and replies exactly once (libfuse
 * passthrough_ll's lo_lookup -> lo_do_lookup shape).  Mapper statuses become
 * errnos in mapper_errno() only.
 *
 * Caching (docs/perf-notes.md): entries and attributes are valid for a day
 * and file pages are kept, because the watcher invalidates them when the
 * source changes; folder listings are cached by the kernel (cache_readdir).
 *
 * Writes (design.md 4) are carried out by write.c; a mount with -o ro
 * refuses every one of them with EROFS and opens nothing for writing
 * (design.md 6).  Files opened for writing are not kept in the page cache:
 * their content is the open handle's until close.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapifs.h"

#define CACHE_TIMEOUT 86400.0

static mount *mnt_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

int mapper_errno(mapper_status st)
{
	switch (st) {
	case MAPPER_OK: return 0;
	case MAPPER_NOT_FOUND: return ENOENT;
	case MAPPER_NOT_A_DIRECTORY: return ENOTDIR;
	case MAPPER_IS_A_DIRECTORY: return EISDIR;
	case MAPPER_INVALID: return EINVAL;
	case MAPPER_INCOMPLETE: return EIO;
	case MAPPER_NO_MEMORY: return ENOMEM;
	case MAPPER_READ_ONLY: return EPERM;
	case MAPPER_EXISTS: return EEXIST;
	}
	return EIO;
}

/* ---- resolving nodes to message objects --------------------------------- */

/* The first component of an inner path decides whether headers suffice. */
static mapper_load_level level_for(const char *inner)
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

/* The backing file of a message node, or NULL (ENOENT: it went away). */
static msgfile *node_msgfile(mount *mnt, node *n)
{
	if (!n->folder || !n->msgname)
		return NULL;
	return folder_message(mnt, n->folder, n->msgname);
}

static mapper_message *node_message(mount *mnt, node *n, mapper_load_level level,
                                    struct stat *st, int *err)
{
	msgfile *mf = node_msgfile(mnt, n);
	if (!mf) {
		*err = ENOENT;
		return NULL;
	}
	return cache_message(mnt, n->folder, mf, level, st, err);
}

/* The message object that answers for @n (a NODE_INNER) and what its path
 * is: header-derived names are served from a header-only object, anything
 * else, or a miss the header pass cannot rule out, from the full one. */
static int inner_node(mount *mnt, node *n, mapper_message **out, mapper_node *mn, struct stat *src)
{
	int err = 0;
	mapper_message *m = node_message(mnt, n, level_for(n->inner), src, &err);
	if (!m)
		return err;
	mapper_status s = mapper_message_stat(m, n->inner, mn);
	if (s == MAPPER_INCOMPLETE) {
		m = node_message(mnt, n, MAPPER_LOAD_FULL, src, &err);
		if (!m)
			return err;
		s = mapper_message_stat(m, n->inner, mn);
	}
	if (s != MAPPER_OK)
		return mapper_errno(s);
	*out = m;
	return 0;
}

/* ---- attributes ---------------------------------------------------------- */

static void fill_dir(mount *mnt, struct stat *st, fuse_ino_t ino)
{
	st->st_ino = ino;
	st->st_mode = S_IFDIR | (mnt->readonly ? 0555 : 0755);
	st->st_nlink = 2;
	st->st_uid = mnt->uid;
	st->st_gid = mnt->gid;
}

static void fill_file(mount *mnt, struct stat *st, fuse_ino_t ino, off_t size)
{
	st->st_ino = ino;
	st->st_mode = S_IFREG | (mnt->readonly ? 0444 : 0644);
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
	st->st_uid = mnt->uid;
	st->st_gid = mnt->gid;
}

static void copy_times(struct stat *st, const struct stat *src)
{
	st->st_atim = src->st_atim;
	st->st_mtim = src->st_mtim;
	st->st_ctim = src->st_ctim;
}

/* A folder's times are its directory's; for a Maildir the later of cur/
 * and new/, so a delivery to new/ changes them too (and with them the
 * kernel's cached listing, FUSE_CAP_AUTO_INVAL_DATA). */
static int folder_times(mount *mnt, folder *f, struct stat *st)
{
	static const char *const subs[] = { "cur", "new" };
	bool have = false;
	for (int i = 0; i < (f->type == FOLDER_MAILDIR ? 2 : 1); i++) {
		struct stat src;
		char *rel = f->type == FOLDER_MAILDIR
		            ? (*f->srcdir ? g_build_filename(f->srcdir, subs[i], NULL) : g_strdup(subs[i]))
		            : g_strdup(f->srcdir);
		int r = source_stat(mnt, rel, &src);
		g_free(rel);
		if (r == 0 && (!have || src.st_mtim.tv_sec > st->st_mtim.tv_sec ||
		               (src.st_mtim.tv_sec == st->st_mtim.tv_sec &&
		                src.st_mtim.tv_nsec > st->st_mtim.tv_nsec))) {
			copy_times(st, &src);
			have = true;
		}
	}
	return 0;
}

/* certificates/<address>.pem: the PEM text, or NULL. */
static bool cert_of(mount *mnt, const char *name, const void **pem, size_t *len)
{
	size_t n = strlen(name);
	if (n <= 4 || strcmp(name + n - 4, ".pem") != 0)
		return false;
	char *addr = g_strndup(name, n - 4);
	bool ok = mapper_crypto_map_get(mnt->crypto, addr, pem, len);
	g_free(addr);
	return ok;
}

/* Nodes whose content can change without a file of the source changing:
 * the kernel must ask again every time. */
static bool volatile_node(const node *n)
{
	return n->kind == NODE_CERTS || n->kind == NODE_CERT;
}

static int do_getattr(mount *mnt, node *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	switch (n->kind) {
	case NODE_CERTS:
		fill_dir(mnt, st, n->ino);
		st->st_mode = S_IFDIR | 0555;
		return folder_times(mnt, mnt->root, st);
	case NODE_CERT: {
		const void *pem;
		size_t len;
		if (!cert_of(mnt, strrchr(n->path, '/') + 1, &pem, &len))
			return ENOENT;
		fill_file(mnt, st, n->ino, (off_t)len);
		st->st_mode = S_IFREG | 0444;
		return folder_times(mnt, mnt->root, st);
	}
	case NODE_FOLDER:
		if (n->folder->gone)
			return ENOENT;
		fill_dir(mnt, st, n->ino);
		return folder_times(mnt, n->folder, st);
	case NODE_MESSAGE: {
		msgfile *mf = node_msgfile(mnt, n);
		struct stat src;
		if (!mf || source_stat(mnt, mf->relpath, &src) != 0)
			return ENOENT;
		fill_dir(mnt, st, n->ino);
		copy_times(st, &src);
		return 0;
	}
	case NODE_EML: {
		msgfile *mf = node_msgfile(mnt, n);
		struct stat src;
		if (!mf || source_stat(mnt, mf->relpath, &src) != 0)
			return ENOENT;
		whandle *h = write_handle_for(mnt, n->path);
		fill_file(mnt, st, n->ino, h ? (off_t)write_handle_size(h) : src.st_size);
		copy_times(st, &src);
		return 0;
	}
	case NODE_NEWFILE: {
		whandle *h = write_handle_for(mnt, n->path);
		if (!h)
			return ENOENT;
		fill_file(mnt, st, n->ino, (off_t)write_handle_size(h));
		return 0;
	}
	case NODE_INNER: {
		struct stat src;
		mapper_message *m;
		mapper_node mn;
		int err = inner_node(mnt, n, &m, &mn, &src);
		/* a file open for writing shows what the writer has so far,
		 * also before a new property exists */
		whandle *h = write_handle_for(mnt, n->path);
		if (h && (err == 0 || err == ENOENT)) {
			fill_file(mnt, st, n->ino, (off_t)write_handle_size(h));
			if (!err)
				copy_times(st, &src);
			return 0;
		}
		if (err)
			return err;
		if (mn.kind == MAPPER_NODE_DIR)
			fill_dir(mnt, st, n->ino);
		else
			fill_file(mnt, st, n->ino, (off_t)mn.size);
		copy_times(st, &src);
		return 0;
	}
	}
	return EIO;
}

static void mfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	struct stat st;
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	int err = n ? do_getattr(mnt, n, &st) : ESTALE;
	double timeout = n && volatile_node(n) ? 0.0 : CACHE_TIMEOUT;
	pthread_mutex_unlock(&mnt->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* ---- lookup and forget ---------------------------------------------------- */

static int do_lookup(mount *mnt, node *parent, const char *name, struct fuse_entry_param *e)
{
	node_kind kind;
	folder *f = parent->folder;

	memset(e, 0, sizeof *e);
	if (parent->kind == NODE_FOLDER && parent->folder == mnt->root &&
	    strcmp(name, CERTIFICATES_DIR) == 0) {
		kind = NODE_CERTS;
	} else if (parent->kind == NODE_CERTS) {
		/* the map must know all signed mail before a name is ruled out */
		certificates_learn(mnt);
		kind = NODE_CERT;
	} else if (parent->kind == NODE_FOLDER) {
		folder_refresh(mnt, parent->folder, NULL);
		folder *sub = g_hash_table_lookup(parent->folder->subfolders, name);
		if (sub) {
			kind = NODE_FOLDER;
			f = sub;
		} else if (g_hash_table_contains(parent->folder->messages, name)) {
			kind = NODE_MESSAGE;
		} else {
			char *p = *parent->path ? g_strconcat(parent->path, "/", name, NULL) : g_strdup(name);
			bool pending = write_handle_for(mnt, p) != NULL;
			g_free(p);
			if (!pending)
				return ENOENT;
			kind = NODE_NEWFILE;
		}
	} else if (parent->kind == NODE_MESSAGE && strcmp(name, "message.eml") == 0) {
		kind = NODE_EML;
	} else if (parent->kind == NODE_MESSAGE || parent->kind == NODE_INNER) {
		kind = NODE_INNER;
	} else {
		return ENOTDIR;
	}

	node *n = inode_child(mnt, parent, name, kind, f);
	int err = do_getattr(mnt, n, &e->attr);
	if (err) {
		inode_forget(mnt, n->ino, 1);
		return err;
	}
	e->ino = n->ino;
	e->attr_timeout = volatile_node(n) ? 0.0 : CACHE_TIMEOUT;
	e->entry_timeout = volatile_node(n) ? 0.0 : CACHE_TIMEOUT;
	return 0;
}

static void mfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mount *mnt = mnt_of(req);
	struct fuse_entry_param e;
	pthread_mutex_lock(&mnt->lock);
	node *p = inode_get(mnt, parent);
	int err = p ? do_lookup(mnt, p, name, &e) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void mfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mount *mnt = mnt_of(req);
	pthread_mutex_lock(&mnt->lock);
	inode_forget(mnt, ino, nlookup);
	pthread_mutex_unlock(&mnt->lock);
	fuse_reply_none(req);
}

static void mfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	mount *mnt = mnt_of(req);
	pthread_mutex_lock(&mnt->lock);
	for (size_t i = 0; i < count; i++)
		inode_forget(mnt, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&mnt->lock);
	fuse_reply_none(req);
}

/* ---- directories --------------------------------------------------------- */

typedef struct {
	char **names;      /* sorted */
	size_t count;
	unsigned char *is_dir;
	fuse_ino_t *inos;  /* d_ino of each entry (never 0: readdir(3) skips those) */
	fuse_ino_t self;
} listing;

/* d_ino of an entry: its inode number, or the one it will get. */
static fuse_ino_t entry_ino(mount *mnt, const char *dir, const char *name)
{
	char *p = *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
	node *n = inode_find_path(mnt, p);
	fuse_ino_t ino = n ? n->ino : inode_number(p);
	g_free(p);
	return ino;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_list(mount *mnt, node *n, listing *out)
{
	GPtrArray *names = g_ptr_array_new();
	GArray *dirs = g_array_new(FALSE, FALSE, 1);

	if (n->kind == NODE_FOLDER) {
		folder_refresh(mnt, n->folder, NULL);
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init(&it, n->folder->subfolders);
		while (g_hash_table_iter_next(&it, &k, &v))
			g_ptr_array_add(names, g_strdup(k));
		g_hash_table_iter_init(&it, n->folder->messages);
		while (g_hash_table_iter_next(&it, &k, &v))
			g_ptr_array_add(names, g_strdup(k));
		if (n->folder == mnt->root && !g_hash_table_contains(n->folder->subfolders, CERTIFICATES_DIR) &&
		    !g_hash_table_contains(n->folder->messages, CERTIFICATES_DIR))
			g_ptr_array_add(names, g_strdup(CERTIFICATES_DIR));
		/* every entry of a folder is a directory; no message is opened */
		if (names->len)
			qsort(names->pdata, names->len, sizeof(char *), str_cmp);
		for (guint i = 0; i < names->len; i++) {
			unsigned char d = 1;
			g_array_append_val(dirs, d);
		}
	} else if (n->kind == NODE_MESSAGE || n->kind == NODE_INNER) {
		const char *inner = n->kind == NODE_INNER ? n->inner : "";
		int err = 0;
		mapper_message *m = NULL;
		mapper_node mn;
		if (n->kind == NODE_INNER)
			err = inner_node(mnt, n, &m, &mn, NULL);
		else
			m = node_message(mnt, n, MAPPER_LOAD_FULL, NULL, &err);
		if (!m) {
			g_ptr_array_unref(names);
			g_array_unref(dirs);
			return err;
		}
		char **list;
		size_t count;
		mapper_status s = mapper_message_list(m, inner, &list, &count);
		if (s != MAPPER_OK) {
			g_ptr_array_unref(names);
			g_array_unref(dirs);
			return mapper_errno(s);
		}
		for (size_t i = 0; i < count; i++)
			g_ptr_array_add(names, g_strdup(list[i]));
		mapper_names_free(list);
		if (n->kind == NODE_MESSAGE)
			g_ptr_array_add(names, g_strdup("message.eml"));
		if (names->len)
			qsort(names->pdata, names->len, sizeof(char *), str_cmp);
		for (guint i = 0; i < names->len; i++) {
			char *p = *inner ? g_strconcat(inner, "/", names->pdata[i], NULL)
			                 : g_strdup(names->pdata[i]);
			/* the top message.eml is the daemon's, not the mapper's */
			mapper_node child;
			unsigned char d = strcmp(names->pdata[i], "message.eml") != 0 || *inner
			                  ? (mapper_message_stat(m, p, &child) == MAPPER_OK && child.kind == MAPPER_NODE_DIR)
			                  : 0;
			g_array_append_val(dirs, d);
			g_free(p);
		}
	} else if (n->kind == NODE_CERTS) {
		certificates_learn(mnt);
		size_t count;
		char **list = mapper_crypto_map_addresses(mnt->crypto, &count);
		for (size_t i = 0; i < count; i++) {
			unsigned char d = 0;
			g_ptr_array_add(names, g_strdup(list[i]));
			g_array_append_val(dirs, d);
		}
		mapper_names_free(list);
	} else {
		g_ptr_array_unref(names);
		g_array_unref(dirs);
		return ENOTDIR;
	}
	out->count = names->len;
	out->inos = g_new(fuse_ino_t, names->len + 1);
	for (guint i = 0; i < names->len; i++)
		out->inos[i] = entry_ino(mnt, n->path, names->pdata[i]);
	out->self = n->ino;
	out->names = (char **)g_ptr_array_free(names, FALSE);
	out->is_dir = (unsigned char *)g_array_free(dirs, FALSE);
	return 0;
}

static void listing_free(listing *l)
{
	for (size_t i = 0; i < l->count; i++)
		g_free(l->names[i]);
	g_free(l->names);
	g_free(l->is_dir);
	g_free(l->inos);
	g_free(l);
}

static void mfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	listing *l = g_new0(listing, 1);
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	int err = n ? do_list(mnt, n, l) : ESTALE;
	bool vol = n && volatile_node(n);
	pthread_mutex_unlock(&mnt->lock);
	if (err) {
		g_free(l);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)l;
	/* the watcher invalidates folder listings; message trees never change
	 * without their backing file changing; the certificate map does */
	fi->cache_readdir = !vol;
	fi->keep_cache = !vol;
	fuse_reply_open(req, fi);
}

static void mfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
	listing *l = (listing *)(uintptr_t)fi->fh;
	char *buf = g_malloc(size);
	size_t used = 0;
	/* offsets: 1 = after ".", 2 = after "..", 3+i = after names[i] */
	for (off_t i = off; i < (off_t)l->count + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		if (i == 0 || i == 1) {
			name = i == 0 ? "." : "..";
			st.st_mode = S_IFDIR;
			st.st_ino = l->self;
		} else {
			name = l->names[i - 2];
			st.st_mode = l->is_dir[i - 2] ? S_IFDIR : S_IFREG;
			st.st_ino = l->inos[i - 2];
		}
		size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	g_free(buf);
}

static void mfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	listing_free((listing *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- files ------------------------------------------------------------------- */

static void mfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	if ((fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC)) {
		pthread_mutex_lock(&mnt->lock);
		node *n = inode_get(mnt, ino);
		bool vol = n && volatile_node(n);
		pthread_mutex_unlock(&mnt->lock);
		fi->fh = 0;
		fi->keep_cache = !vol;
		fi->direct_io = vol;
		fuse_reply_open(req, fi);
		return;
	}
	/* design.md 6: no write-open succeeds on a read-only mount */
	if (mnt->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	whandle *h = NULL;
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	int err = n ? write_open(mnt, n, fi->flags, &h) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static whandle *handle_of(struct fuse_file_info *fi)
{
	return fi ? (whandle *)(uintptr_t)fi->fh : NULL;
}

static void mfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	whandle *h = handle_of(fi);
	if (!h) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&mnt->lock);
	int err = write_data(h, buf, size, off);
	pthread_mutex_unlock(&mnt->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

/* Run @fn on the write handle of @fi (if any) and reply with its result. */
static void reply_handle_op(fuse_req_t req, struct fuse_file_info *fi, int (*fn)(mount *, whandle *))
{
	mount *mnt = mnt_of(req);
	whandle *h = handle_of(fi);
	int err = 0;
	if (h) {
		pthread_mutex_lock(&mnt->lock);
		err = fn(mnt, h);
		pthread_mutex_unlock(&mnt->lock);
	}
	fuse_reply_err(req, err);
}

static void mfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_handle_op(req, fi, write_flush);
}

static void mfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	/* a change is durable once applied: apply it now */
	reply_handle_op(req, fi, write_apply);
}

static void mfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	whandle *h = handle_of(fi);
	if (h) {
		pthread_mutex_lock(&mnt->lock);
		/* what no flush applied: a truncation without writes (": > f"),
		 * an empty new file; errors can only be logged here */
		int err = write_apply(mnt, h);
		if (err)
			mapifs_log("a write was not applied when its file was released: %s",
			           g_strerror(err));
		write_release(mnt, h);
		pthread_mutex_unlock(&mnt->lock);
	}
	fuse_reply_err(req, 0);
}

static int do_read(mount *mnt, node *n, size_t size, off_t off, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (n->kind == NODE_CERT) {
		const void *pem;
		size_t len;
		if (!cert_of(mnt, strrchr(n->path, '/') + 1, &pem, &len))
			return ENOENT;
		if ((size_t)off < len) {
			*outlen = MIN(size, len - (size_t)off);
			*out = g_memdup2((const char *)pem + off, *outlen);
		}
		return 0;
	}
	if (n->kind == NODE_EML) {
		msgfile *mf = node_msgfile(mnt, n);
		if (!mf)
			return ENOENT;
		int fd = source_open(mnt, mf->relpath);
		if (fd < 0)
			return -fd;
		char *buf = g_malloc(size ? size : 1);
		ssize_t r = pread(fd, buf, size, off);
		int err = r < 0 ? errno : 0;
		close(fd);
		if (err) {
			g_free(buf);
			return err;
		}
		*out = buf;
		*outlen = (size_t)r;
		return 0;
	}
	if (n->kind != NODE_INNER)
		return EISDIR;
	mapper_message *m;
	mapper_node mn;
	int err = inner_node(mnt, n, &m, &mn, NULL);
	if (err)
		return err;
	const void *data;
	size_t len;
	mapper_status s = mapper_message_read(m, n->inner, &data, &len);
	if (s != MAPPER_OK)
		return mapper_errno(s);
	if ((size_t)off < len) {
		*outlen = MIN(size, len - (size_t)off);
		*out = g_memdup2((const char *)data + off, *outlen);
	}
	return 0;
}

static void mfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	char *data;
	size_t len;
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	whandle *h = handle_of(fi);
	int err = h ? write_read(h, size, off, &data, &len)
	        : n ? do_read(mnt, n, size, off, &data, &len) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_buf(req, data, len);
	g_free(data);
}

/* ---- extended attributes (design.md 2) -------------------------------------- */

static int do_xattrs(mount *mnt, node *n, GString *names, const char *want, GString *value)
{
#define XATTR(name, ...) do { \
		if (names) g_string_append_len(names, name, sizeof name); \
		if (want && strcmp(want, name) == 0) { g_string_printf(value, __VA_ARGS__); return 0; } \
	} while (0)

	if (n->kind == NODE_MESSAGE) {
		msgfile *mf = node_msgfile(mnt, n);
		if (!mf)
			return ENOENT;
		XATTR("user.mapifs.source", "%s", mf->relpath);
		if (names)
			g_string_append_len(names, "user.mapifs.sha256", sizeof "user.mapifs.sha256");
		if (want && strcmp(want, "user.mapifs.sha256") == 0) {
			char hex[65];
			int err = source_sha256(mnt, mf->relpath, hex);
			if (err)
				return err;
			g_string_assign(value, hex);
			return 0;
		}
	} else if (n->kind == NODE_INNER) {
		mapper_message *m;
		mapper_node mn;
		int err = inner_node(mnt, n, &m, &mn, NULL);
		if (err)
			return err;
		if (mn.type_name) {
			XATTR("user.mapi.tag", "0x%08X", mn.tag);
			XATTR("user.mapi.type", "%s", mn.type_name);
			if (mn.set_guid)
				XATTR("user.mapi.guid", "%s", mn.set_guid);
		}
	}
	return want ? ENODATA : 0;
#undef XATTR
}

static void reply_xattr(fuse_req_t req, size_t size, int err, GString *v)
{
	if (err)
		fuse_reply_err(req, err);
	else if (size == 0)
		fuse_reply_xattr(req, v->len);
	else if (size < v->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v->str, v->len);
}

static void mfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	mount *mnt = mnt_of(req);
	GString *v = g_string_new(NULL);
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	int err = n ? do_xattrs(mnt, n, NULL, name, v) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	reply_xattr(req, size, err, v);
	g_string_free(v, TRUE);
}

static void mfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	mount *mnt = mnt_of(req);
	GString *v = g_string_new(NULL);
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	int err = n ? do_xattrs(mnt, n, v, NULL, NULL) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	reply_xattr(req, size, err, v);
	g_string_free(v, TRUE);
}

/* ---- changes (design.md 4); EROFS on a read-only mount (design.md 6) ---------- */

static void mfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	fuse_reply_err(req, (mask & W_OK) && mnt_of(req)->readonly ? EROFS : 0);
}

/* Reply with a node's entry after a change made it. */
static void reply_new_entry(fuse_req_t req, mount *mnt, node *parent, const char *name, int err)
{
	struct fuse_entry_param e;
	if (!err)
		err = do_lookup(mnt, parent, name, &e);
	pthread_mutex_unlock(&mnt->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void mfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                        struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	if (mnt->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct stat st;
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	int err = n ? 0 : ESTALE;
	if (!err && (to_set & FUSE_SET_ATTR_SIZE)) {
		whandle *h = handle_of(fi);
		err = h ? write_truncate(h, attr->st_size) : write_setsize(mnt, n, attr->st_size);
	}
	/* modes, owners and times are the mount's and the source's: a request
	 * to change them (cp -p, touch) is accepted and changes nothing */
	if (!err)
		err = do_getattr(mnt, n, &st);
	pthread_mutex_unlock(&mnt->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, CACHE_TIMEOUT);
}

static void mfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	mount *mnt = mnt_of(req);
	if (mnt->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&mnt->lock);
	node *p = inode_get(mnt, parent);
	int err = p ? write_mkdir(mnt, p, name) : ESTALE;
	reply_new_entry(req, mnt, p, name, err);
}

static void mfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mount *mnt = mnt_of(req);
	if (mnt->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&mnt->lock);
	node *p = inode_get(mnt, parent);
	int err = p ? write_rmdir(mnt, p, name) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	fuse_reply_err(req, err);
}

static void mfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	/* design.md 4: property files cannot be unlinked, so rm -r never
	 * strips half a message; truncating a file removes its property */
	fuse_reply_err(req, mnt_of(req)->readonly ? EROFS : EPERM);
}

static void mfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	mount *mnt = mnt_of(req);
	if (mnt->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	pthread_mutex_lock(&mnt->lock);
	node *p = inode_get(mnt, parent), *np = inode_get(mnt, newparent);
	int err = p && np ? write_rename(mnt, p, name, np, newname, flags) : ESTALE;
	pthread_mutex_unlock(&mnt->lock);
	fuse_reply_err(req, err);
}

static void mfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                       struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	if (mnt->readonly) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	whandle *h = NULL;
	node_kind kind = NODE_INNER;
	pthread_mutex_lock(&mnt->lock);
	node *p = inode_get(mnt, parent);
	int err = p ? write_create(mnt, p, name, &h, &kind) : ESTALE;
	if (!err) {
		node *n = inode_child(mnt, p, name, kind, p->folder);
		err = do_getattr(mnt, n, &e.attr);
		if (err) {
			inode_forget(mnt, n->ino, 1);
			write_release(mnt, h);
		} else {
			e.ino = n->ino;
			e.attr_timeout = CACHE_TIMEOUT;
			e.entry_timeout = CACHE_TIMEOUT;
		}
	}
	pthread_mutex_unlock(&mnt->lock);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	fuse_reply_create(req, &e, fi);
}

static void refuse(fuse_req_t req)
{
	fuse_reply_err(req, mnt_of(req)->readonly ? EROFS : EPERM);
}

static void mfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	refuse(req);
}

static void mfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	refuse(req);
}

static void mfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	refuse(req);
}

/* xattrs are the mapifs's own, computed; ENOTSUP lets cp -a go on */
static void mfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                         size_t size, int flags)
{
	fuse_reply_err(req, mnt_of(req)->readonly ? EROFS : ENOTSUP);
}

static void mfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, mnt_of(req)->readonly ? EROFS : ENOTSUP);
}

/* ---- session ----------------------------------------------------------------- */

static void mfs_init(void *userdata, struct fuse_conn_info *conn)
{
	/* folder listings must not stat every message (plain readdir, no plus) */
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* the kernel keeps pages as long as size and mtime stay */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* open(O_TRUNC) arrives as one request, not a truncate before the
	 * open, so "echo x > file" is one change and not two */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
}

const struct fuse_lowlevel_ops mapifs_ops = {
	.init = mfs_init,
	.lookup = mfs_lookup,
	.forget = mfs_forget,
	.forget_multi = mfs_forget_multi,
	.getattr = mfs_getattr,
	.opendir = mfs_opendir,
	.readdir = mfs_readdir,
	.releasedir = mfs_releasedir,
	.open = mfs_open,
	.read = mfs_read,
	.getxattr = mfs_getxattr,
	.listxattr = mfs_listxattr,
	.access = mfs_access,
	.write = mfs_write,
	.flush = mfs_flush,
	.fsync = mfs_fsync,
	.release = mfs_release,
	.setattr = mfs_setattr,
	.mknod = mfs_mknod,
	.mkdir = mfs_mkdir,
	.unlink = mfs_unlink,
	.rmdir = mfs_rmdir,
	.symlink = mfs_symlink,
	.rename = mfs_rename,
	.link = mfs_link,
	.create = mfs_create,
	.setxattr = mfs_setxattr,
	.removexattr = mfs_removexattr,
};
