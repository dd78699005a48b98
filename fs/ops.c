/*
 * ops.c - the FUSE low-level operations.
 *
 * Each handler copies what it needs of its node under mount->lock
 * (node_ref), releases the lock, does its work in a do_* worker that
 * returns 0 or a positive errno, and replies exactly once (libfuse
 * passthrough_ll's lo_lookup -> lo_do_lookup shape).  Requests run in
 * several threads at once (mapifs.h says which lock protects what): a
 * worker reads message files and calls the mapper with no table lock held,
 * so one slow message, verification or listing never stalls the others.
 * Mapper statuses become errnos in mapper_errno() (base.c) only.
 *
 * Caching (docs/perf-notes.md): entries and attributes are valid for a day
 * and file pages are kept, because the watcher invalidates them when the
 * source changes; listings are not cached by the kernel (see opendir).
 *
 * Access (design.md 8): modes and owners follow the source file or folder
 * (access_mode), or -o uid=,gid=,umask=; decrypted content is the mounting
 * user's alone; only the mounting user (or root) changes anything.
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

/* Copy node @ino into @r; ESTALE when the kernel's inode is unknown. */
static int get_ref(mount *mnt, fuse_ino_t ino, node_ref *r)
{
	pthread_mutex_lock(&mnt->lock);
	node *n = inode_get(mnt, ino);
	if (n)
		node_ref_set(r, n);
	pthread_mutex_unlock(&mnt->lock);
	return n ? 0 : ESTALE;
}

/* design.md 8: changes come from the mounting user (or root) only, whatever
 * modes a caller of an allow_other mount sees. */
static int may_change(fuse_req_t req)
{
	mount *mnt = mnt_of(req);
	if (mnt->readonly)
		return EROFS;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	return ctx->uid == mnt->uid || ctx->uid == 0 ? 0 : EACCES;
}

/* @err, after recording a refusal of a forensic mount in its custody log
 * (-o audit=FILE, issue 14): the operation @op on entry @name of @ino
 * (@name NULL: on @ino itself), by whom. */
static int audited(fuse_req_t req, int err, const char *op, fuse_ino_t ino, const char *name)
{
	if (err != EROFS || !audit_on())
		return err;
	mount *mnt = mnt_of(req);
	node_ref r = { 0 };
	char *path = get_ref(mnt, ino, &r) == 0 ? (name ? path_join(r.path, name) : g_strdup(r.path))
	                                        : g_strdup_printf("(inode %ju)/%s", (uintmax_t)ino,
	                                                          name ? name : "");
	node_ref_clear(&r);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	audit_refused(op, path, ctx->uid, ctx->pid, err);
	g_free(path);
	return err;
}

/* ---- resolving nodes to message objects --------------------------------- */

/*
 * Whether @inner lies in content decrypted with a local key: below the
 * smime/content/ of a layer that has an smime/cipher (an encrypted layer,
 * design.md 5).  Message lock held.
 */
static bool decrypted_path(mapper_message *m, const char *inner)
{
	const char *p = inner;
	while ((p = strstr(p, "smime/content"))) {
		bool starts = p == inner || p[-1] == '/';
		bool ends = p[13] == '\0' || p[13] == '/';
		if (starts && ends) {
			char *cipher = g_strdup_printf("%.*ssmime/cipher", (int)(p - inner), inner);
			mapper_node mn;
			bool enc = mapper_message_stat(m, cipher, &mn) == MAPPER_OK;
			g_free(cipher);
			if (enc)
				return true;
		}
		p += 13;
	}
	return false;
}

/* What a request learns of an inner node. */
typedef struct {
	mapper_node_kind kind;
	uint64_t size;
	bool private;       /* decrypted content */
	/* the mapper's, valid while the caller holds the cached reference */
	uint32_t tag;
	const char *type_name, *set_guid;
} inner_info;

/*
 * The message object that answers for @r (a NODE_INNER), with a reference
 * the caller puts back, and what its path is: header-derived names are
 * served from a header-only object, anything else, or a miss the header
 * pass cannot rule out, from the full one.
 */
static int inner_node(mount *mnt, const node_ref *r, cached **out, inner_info *info,
                      struct stat *src)
{
	int err = 0;
	mapper_load_level level = cache_level_for(r->inner);
	for (;;) {
		cached *c = cache_get(mnt, r->folder, r->msgname, level, src, &err);
		if (!c)
			return err;
		mapper_message *m = cache_lock(c);
		mapper_node mn;
		mapper_status s = mapper_message_stat(m, r->inner, &mn);
		if (s == MAPPER_OK && info) {
			info->kind = mn.kind;
			info->size = mn.size;
			info->tag = mn.tag;
			info->type_name = mn.type_name;
			info->set_guid = mn.set_guid;
			info->private = decrypted_path(m, r->inner);
		}
		cache_unlock(c);
		if (s == MAPPER_INCOMPLETE && level == MAPPER_LOAD_HEADERS) {
			cache_put(mnt, c);
			level = MAPPER_LOAD_FULL;
			continue;
		}
		if (s != MAPPER_OK) {
			cache_put(mnt, c);
			return mapper_errno(s);
		}
		*out = c;
		return 0;
	}
}

/* ---- attributes ---------------------------------------------------------- */

/*
 * design.md 8: the mode and owner of a node.  @src is the stat of its
 * source (the message file for everything in a message, the directory for
 * a folder).  Without -o umask the permission bits follow the source,
 * group and other never get write (changes are the owner's), and a
 * directory made from a file gets x where the file has r; -o ro takes
 * every write bit away; decrypted content is the mounting user's alone.
 */
static void set_access(mount *mnt, struct stat *st, const struct stat *src, bool dir,
                       bool src_is_dir, bool private)
{
	const access_opts *a = &mnt->access;
	mode_t m;
	if (a->set_umask) {
		m = (dir ? 0777 : 0666) & ~a->umask;
	} else {
		m = src->st_mode & 0777 & ~(mode_t)022;
		if (dir && !src_is_dir)
			m = (m & 0666) | ((m & 0444) >> 2);
		else if (!dir)
			m &= 0666;
	}
	if (mnt->readonly)
		m &= ~(mode_t)0222;
	st->st_uid = a->set_uid ? a->uid : src->st_uid;
	st->st_gid = a->set_gid ? a->gid : src->st_gid;
	if (private && !a->share_decrypted) {
		m &= 0700;
		st->st_uid = mnt->uid;
		st->st_gid = mnt->gid;
	}
	st->st_mode = (dir ? S_IFDIR : S_IFREG) | m;
}

static void fill_dir(mount *mnt, struct stat *st, const struct stat *src, bool src_is_dir,
                     bool private)
{
	st->st_nlink = 2;
	set_access(mnt, st, src, true, src_is_dir, private);
}

static void fill_file(mount *mnt, struct stat *st, const struct stat *src, off_t size, bool private)
{
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blksize = 4096;
	st->st_blocks = (size + 511) / 512;
	set_access(mnt, st, src, false, false, private);
}

static void copy_times(struct stat *st, const struct stat *src)
{
	st->st_atim = src->st_atim;
	st->st_mtim = src->st_mtim;
	st->st_ctim = src->st_ctim;
}

/* A folder's times are its directory's; for a Maildir the later of cur/
 * and new/, so a delivery to new/ changes them too (and with them the
 * kernel's cached listing, FUSE_CAP_AUTO_INVAL_DATA).  Its owner and mode
 * are those of its own directory. */
static int folder_stat(mount *mnt, folder *f, struct stat *st)
{
	static const char *const subs[] = { "cur", "new" };
	struct stat dir;
	int err = source_stat(mnt, f->srcdir, &dir);
	if (err)
		return err == ELOOP || err == EXDEV ? ENOENT : err;
	fill_dir(mnt, st, &dir, true, false);
	copy_times(st, &dir);
	bool have = false;
	for (int i = 0; f->type == FOLDER_MAILDIR && i < 2; i++) {
		struct stat src;
		char *rel = path_join(f->srcdir, subs[i]);
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

/* certificates/<address>.pem: a copy of the PEM text (caller frees). */
static bool cert_of(mount *mnt, const char *path, char **pem, size_t *len)
{
	const char *name = strrchr(path, '/');
	name = name ? name + 1 : path;
	size_t n = strlen(name);
	if (n <= 4 || strcmp(name + n - 4, ".pem") != 0)
		return false;
	char *addr = g_strndup(name, n - 4);
	bool ok = mapper_crypto_map_copy(mnt->crypto, addr, pem, len);
	g_free(addr);
	return ok;
}

/* Nodes whose content can change without a file of the source changing:
 * the kernel must ask again every time. */
static bool volatile_kind(node_kind k)
{
	return k == NODE_CERTS || k == NODE_CERT || k == NODE_EXAMINE;
}

/* The attributes of a node inside a message: from its message file @src
 * and what the object says of it. */
static void inner_attrs(mount *mnt, struct stat *st, const struct stat *src, const inner_memo *m)
{
	ino_t ino = st->st_ino;
	if (m->dir)
		fill_dir(mnt, st, src, false, m->private);
	else
		fill_file(mnt, st, src, (off_t)m->size, m->private);
	copy_times(st, src);
	st->st_ino = ino;
}

/* The attributes remembered for @r, if its message file is still the one
 * they were worked out from (issue 11: a second pass of stat() or open()
 * costs no parse).  The file is the one the listing names now: a rename
 * not seen yet is left to the rescan that tells the kernel about it, so
 * that every file of a message changes at once. */
static bool memo_of(mount *mnt, const node_ref *r, struct stat *src, inner_memo *memo)
{
	/* no memo (a node a LOOKUP is making, say): no stat either */
	pthread_mutex_lock(&mnt->lock);
	msgfile *mf = inode_has_memo(mnt, r->path) ? folder_peek_ref(r->folder, r->msgname) : NULL;
	pthread_mutex_unlock(&mnt->lock);
	if (!mf)
		return false;
	bool hit = false;
	if (source_stat(mnt, mf->relpath, src) == 0) {
		pthread_mutex_lock(&mnt->lock);
		hit = inode_memo_get(mnt, r->path, src, mf->relpath, memo);
		pthread_mutex_unlock(&mnt->lock);
	}
	msgfile_unref(mf);
	return hit;
}

static bool memo_hit(mount *mnt, const node_ref *r, struct stat *st)
{
	struct stat src;
	inner_memo memo;
	if (!memo_of(mnt, r, &src, &memo))
		return false;
	inner_attrs(mnt, st, &src, &memo);
	return true;
}

/* The text of a small property file @r, as remembered with its attributes
 * (inner_getattr), if the message file is still that version. */
static bool memo_text_hit(mount *mnt, const node_ref *r, size_t size, off_t off, char **out,
                          size_t *outlen)
{
	struct stat src;
	inner_memo memo;
	if (!memo_of(mnt, r, &src, &memo) || !memo.has_text)
		return false;
	if ((uint64_t)off < memo.size) {
		*outlen = MIN(size, memo.size - (size_t)off);
		*out = g_memdup2(memo.text + off, *outlen);
	}
	return true;
}

/* Fill @memo's text from @c when the file @inner is small enough to keep
 * on its node.  Decrypted text is left to the cache, whose entries go with
 * the keys' rules (design.md 7). */
static void memo_take_text(cached *c, const char *inner, inner_memo *memo)
{
	if (memo->dir || memo->private || memo->size > MEMO_TEXT_MAX)
		return;
	mapper_message *m = cache_lock(c);
	const void *data;
	size_t len;
	if (mapper_message_read(m, inner, &data, &len) == MAPPER_OK && len == memo->size) {
		memcpy(memo->text, data, len);
		memo->has_text = true;
	}
	cache_unlock(c);
}

/* A memo worked out before its node exists (a LOOKUP): set once it does. */
typedef struct new_memo {
	char *relpath;      /* NULL: none */
	struct stat src;
	inner_memo memo;
} new_memo;

/* Set @nm on the node at @path, if there is one to set (lock held). */
static void remember_locked(mount *mnt, const char *path, new_memo *nm)
{
	if (!nm->relpath)
		return;
	inode_memo_set(mnt, path, &nm->src, nm->relpath, &nm->memo);
	g_free(nm->relpath);
	nm->relpath = NULL;
}

static void remember(mount *mnt, const char *path, new_memo *nm)
{
	pthread_mutex_lock(&mnt->lock);
	remember_locked(mnt, path, nm);
	pthread_mutex_unlock(&mnt->lock);
}

/* The attributes of property node @r; what they were worked out from is
 * remembered on its node, or given to @later when the node is yet to be
 * made (LOOKUP). */
static int inner_getattr(mount *mnt, const node_ref *r, struct stat *st, new_memo *later)
{
	/* a file open for writing shows what the writer has so far, also
	 * before a new property exists */
	size_t pending;
	pthread_mutex_lock(&mnt->lock);
	bool open = write_pending_size(mnt, r->path, &pending);
	pthread_mutex_unlock(&mnt->lock);
	if (!open && memo_hit(mnt, r, st))
		return 0;
	struct stat src;
	cached *c = NULL;
	inner_info info = { 0 };
	int err = inner_node(mnt, r, &c, &info, &src);
	char *relpath = c ? g_strdup(cache_source(c)) : NULL;
	inner_memo memo = { info.size, info.kind == MAPPER_NODE_DIR, info.private, false, { 0 } };
	if (c && !err && !open)
		memo_take_text(c, r->inner, &memo);
	cache_put(mnt, c);
	if (open && (err == 0 || err == ENOENT)) {
		g_free(relpath);
		if (err && message_stat(mnt, r->folder, r->msgname, &src) != 0)
			return ENOENT;
		fill_file(mnt, st, &src, (off_t)pending, info.private);
		copy_times(st, &src);
		return 0;
	}
	if (err) {
		g_free(relpath);
		return err;
	}
	inner_attrs(mnt, st, &src, &memo);
	new_memo nm = { relpath, src, memo };
	if (later)
		*later = nm;
	else
		remember(mnt, r->path, &nm);
	return 0;
}

/* ---- hashes (issue 14; design.md 9) ----------------------------------------- */

#define HASHES_FILE "hashes"

/* Whether @inner is the row of an attachment ("attachments/N"), of the
 * top message or of a message embedded in it at any depth
 * (".../PidTagAttachDataObject/attachments/N"): the directory an
 * attachment's hashes file is in. */
static bool attachment_row(const char *inner)
{
	static const char rows[] = "attachments/";
	static const char nested[] = "/PidTagAttachDataObject/attachments/";
	if (!inner)
		return false;
	const char *digits = strrchr(inner, '/');
	if (!digits || !digits[1])
		return false;
	for (const char *c = digits + 1; *c; c++)
		if (!g_ascii_isdigit(*c))
			return false;
	size_t head = (size_t)(digits + 1 - inner);
	if (head == sizeof rows - 1)
		return strncmp(inner, rows, head) == 0;
	return head > sizeof nested - 1 &&
	       strncmp(inner + head - (sizeof nested - 1), nested, sizeof nested - 1) == 0;
}

/* The row of the hashes node @r ("attachments/N"), or NULL for the
 * message's own; caller frees. */
static char *hashes_row(const node_ref *r)
{
	return r->inner ? g_strndup(r->inner, strlen(r->inner) - strlen("/" HASHES_FILE)) : NULL;
}

/* What an attachment row's hashes are of, as the lines name it (relative
 * to the row, so that `cksum -c hashes` finds it): its data, or, for an
 * embedded message (attach method 5), that message's bytes. */
#define SUBJECT_DATA "PidTagAttachDataBinary"
#define SUBJECT_EMBEDDED "PidTagAttachDataObject/message.eml"

/* The subject of the hashes of attachment row @row of @m (locked), or NULL
 * when the row holds neither data nor an embedded message. */
static const char *row_subject_of(mapper_message *m, const char *row)
{
	static const char *const subjects[] = { SUBJECT_DATA, SUBJECT_EMBEDDED };
	for (size_t i = 0; i < G_N_ELEMENTS(subjects); i++) {
		char *p = g_strconcat(row, "/", subjects[i], NULL);
		mapper_node dn;
		bool there = mapper_message_stat(m, p, &dn) == MAPPER_OK && dn.kind == MAPPER_NODE_FILE;
		g_free(p);
		if (there)
			return subjects[i];
	}
	return NULL;
}

/* The subject of attachment row @row of message @r (ENOENT: none). */
static int row_subject(mount *mnt, const node_ref *r, const char *row, const char **subject)
{
	int err = 0;
	cached *c = cache_get(mnt, r->folder, r->msgname, MAPPER_LOAD_FULL, NULL, &err);
	if (!c)
		return err;
	*subject = row_subject_of(cache_lock(c), row);
	cache_unlock(c);
	cache_put(mnt, c);
	return *subject ? 0 : ENOENT;
}

/* The size of a hashes file naming @subject: fixed, so that stat costs
 * no hashing. */
static size_t hashes_size(const char *subject)
{
	digest_hex zero;
	memset(&zero, '0', sizeof zero);
	zero.md5[32] = zero.sha1[40] = zero.sha256[64] = '\0';
	char *text = digests_text(&zero, subject);
	size_t n = strlen(text);
	g_free(text);
	return n;
}

/* The digests of what attachment @row holds, and what that is
 * (*@subject, row_subject_of), read in pieces: a large attachment stays in
 * the message file (cache.c) and is streamed, not held. */
static int row_digests(mount *mnt, const node_ref *r, const char *row, digest_hex *out,
                       const char **subject)
{
	int err = 0;
	cached *c = cache_get(mnt, r->folder, r->msgname, MAPPER_LOAD_FULL, NULL, &err);
	if (!c)
		return err;
	digests d;
	digests_init(&d);
	mapper_message *m = cache_lock(c);
	*subject = row_subject_of(m, row);
	char *data = g_strconcat(row, "/", *subject ? *subject : SUBJECT_DATA, NULL);
	const void *bytes;
	size_t len;
	mapper_status s = mapper_message_read(m, data, &bytes, &len);
	if (s == MAPPER_OK)
		digests_update(&d, bytes, len);
	cache_unlock(c);
	if (s == MAPPER_DEFERRED) {
		enum { PIECE = 1 << 20 };
		for (off_t off = 0;; off += PIECE) {
			char *piece = NULL;
			size_t n = 0;
			err = cache_read_deferred(mnt, r->folder, r->msgname, c, data, PIECE, off, &piece, &n);
			if (!err)
				digests_update(&d, piece, n);
			g_free(piece);
			if (err || n < PIECE)
				break;
		}
	} else if (s != MAPPER_OK) {
		err = mapper_errno(s);
	}
	digest_hex h;
	digests_final(&d, &h);
	if (!err)
		*out = h;
	cache_put(mnt, c);
	g_free(data);
	return err;
}

/* The digests the hashes node @r shows, and the file they are of, as its
 * lines name it (*@subject, static). */
static int node_digests(mount *mnt, const node_ref *r, digest_hex *out, const char **subject)
{
	char *row = hashes_row(r);
	int err;
	*subject = "message.eml";
	if (row) {
		err = row_digests(mnt, r, row, out, subject);
	} else {
		msgfile *mf = NULL;
		pthread_mutex_lock(&mnt->lock);
		mf = sync_message_ref(mnt, r->folder, r->msgname);
		pthread_mutex_unlock(&mnt->lock);
		err = mf ? source_digests(mnt, mf->relpath, out) : ENOENT;
		msgfile_unref(mf);
	}
	g_free(row);
	return err;
}

/* timeline.body and duplicates/ (examine.c): read-only, owned and
 * readable as the root is; *@target (may be NULL) a link's target. */
static int examine_getattr(mount *mnt, const node_ref *r, struct stat *st, char **target)
{
	examine_entry e;
	int err = examine_lookup(mnt, r->path, &e);
	struct stat dir;
	if (!err)
		err = folder_stat(mnt, mnt->root, &dir);
	if (err) {
		g_free(e.target);
		return err;
	}
	/* modes follow the root, as those of the hashes files follow their
	 * message's; a write is refused (EPERM) */
	if (e.type == S_IFDIR)
		fill_dir(mnt, st, &dir, false, false);
	else
		fill_file(mnt, st, &dir, (off_t)e.size, false);
	if (e.type == S_IFLNK)
		st->st_mode = S_IFLNK | 0777;
	copy_times(st, &dir);
	if (e.mtime.tv_sec)
		st->st_mtim = st->st_ctim = e.mtime;
	if (target)
		*target = e.target;
	else
		g_free(e.target);
	return 0;
}

static int do_getattr(mount *mnt, const node_ref *r, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = r->ino;
	switch (r->kind) {
	case NODE_CERTS:
		return folder_stat(mnt, mnt->root, st);
	case NODE_CERT: {
		char *pem;
		size_t len;
		if (!cert_of(mnt, r->path, &pem, &len))
			return ENOENT;
		free(pem);
		struct stat dir;
		int err = folder_stat(mnt, mnt->root, &dir);
		if (err)
			return err;
		/* a public certificate, readable wherever the root is */
		fill_file(mnt, st, &dir, (off_t)len, false);
		st->st_mode &= ~(mode_t)0222;
		copy_times(st, &dir);
		return 0;
	}
	case NODE_FOLDER: {
		pthread_mutex_lock(&mnt->lock);
		bool gone = r->folder->gone;
		pthread_mutex_unlock(&mnt->lock);
		if (gone)
			return ENOENT;
		return folder_stat(mnt, r->folder, st);
	}
	case NODE_MESSAGE: {
		struct stat src;
		int err = message_stat(mnt, r->folder, r->msgname, &src);
		if (err)
			return err;
		fill_dir(mnt, st, &src, false, false);
		copy_times(st, &src);
		return 0;
	}
	case NODE_EML: {
		struct stat src;
		int err = message_stat(mnt, r->folder, r->msgname, &src);
		if (err)
			return err;
		size_t pending;
		pthread_mutex_lock(&mnt->lock);
		bool open = write_pending_size(mnt, r->path, &pending);
		pthread_mutex_unlock(&mnt->lock);
		fill_file(mnt, st, &src, open ? (off_t)pending : src.st_size, false);
		copy_times(st, &src);
		return 0;
	}
	case NODE_NEWFILE: {
		size_t pending;
		pthread_mutex_lock(&mnt->lock);
		bool open = write_pending_size(mnt, r->path, &pending);
		pthread_mutex_unlock(&mnt->lock);
		if (!open)
			return ENOENT;
		struct stat mine = { .st_mode = S_IFREG | 0600, .st_uid = mnt->uid, .st_gid = mnt->gid };
		fill_file(mnt, st, &mine, (off_t)pending, false);
		return 0;
	}
	case NODE_INNER:
		return inner_getattr(mnt, r, st, NULL);
	case NODE_EXAMINE:
		return examine_getattr(mnt, r, st, NULL);
	case NODE_HASHES: {
		struct stat src;
		int err = message_stat(mnt, r->folder, r->msgname, &src);
		char *row = hashes_row(r);
		const char *subject = "message.eml";
		if (!err && row)
			err = row_subject(mnt, r, row, &subject);
		g_free(row);
		if (err)
			return err;
		/* modes follow the source, as for info and the derived
		 * properties; a write is refused (EPERM) */
		fill_file(mnt, st, &src, (off_t)hashes_size(subject), false);
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
	node_ref r = { 0 };
	int err = get_ref(mnt, ino, &r);
	if (!err)
		err = do_getattr(mnt, &r, &st);
	double timeout = volatile_kind(r.kind) ? 0.0 : CACHE_TIMEOUT;
	node_ref_clear(&r);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* ---- lookup and forget ---------------------------------------------------- */

/* Whether root entry @name is one of the mount's own (certificates/,
 * duplicates/, timeline.body): not when a folder or message of the
 * mailbox has that name, which the root's listing shows instead. */
static bool root_special(mount *mnt, const char *name)
{
	if (strcmp(name, CERTIFICATES_DIR) != 0 && !examine_root_entry(name))
		return false;
	pthread_mutex_lock(&mnt->lock);
	sync_folder(mnt, mnt->root, NULL);
	bool taken = g_hash_table_contains(mnt->root->subfolders, name) ||
	             msgtab_get(mnt->root->messages, name, NULL);
	pthread_mutex_unlock(&mnt->lock);
	return !taken;
}

static int do_lookup(mount *mnt, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	node_ref p = { 0 };
	int err = get_ref(mnt, parent, &p);
	if (err)
		return err;
	node_kind kind;
	folder *f = p.folder;
	bool special = p.kind == NODE_FOLDER && p.folder == mnt->root && root_special(mnt, name);
	if (special && strcmp(name, CERTIFICATES_DIR) == 0) {
		kind = NODE_CERTS;
	} else if (special || p.kind == NODE_EXAMINE) {
		kind = NODE_EXAMINE;   /* design.md 9 */
	} else if (p.kind == NODE_CERTS) {
		/* the map must know all signed mail before a name is ruled out */
		certificates_learn(mnt);
		kind = NODE_CERT;
	} else if (p.kind == NODE_FOLDER) {
		pthread_mutex_lock(&mnt->lock);
		sync_folder(mnt, p.folder, NULL);
		folder *sub = g_hash_table_lookup(p.folder->subfolders, name);
		if (sub) {
			kind = NODE_FOLDER;
			f = sub;
		} else if (msgtab_get(p.folder->messages, name, NULL)) {
			kind = NODE_MESSAGE;
		} else {
			char *path = path_join(p.path, name);
			size_t size;
			bool pending = write_pending_size(mnt, path, &size);
			g_free(path);
			kind = NODE_NEWFILE;
			if (!pending)
				err = ENOENT;
		}
		pthread_mutex_unlock(&mnt->lock);
	} else if (p.kind == NODE_MESSAGE && strcmp(name, "message.eml") == 0) {
		kind = NODE_EML;
	} else if (strcmp(name, HASHES_FILE) == 0 &&
	           (p.kind == NODE_MESSAGE || (p.kind == NODE_INNER && attachment_row(p.inner)))) {
		kind = NODE_HASHES;
	} else if (p.kind == NODE_MESSAGE || p.kind == NODE_INNER) {
		kind = NODE_INNER;
	} else {
		err = ENOTDIR;
	}
	if (err) {
		node_ref_clear(&p);
		return err;
	}

	/* the child as it will be, to ask for its attributes first */
	node_ref c = { 0 };
	c.kind = kind;
	c.folder = f;
	c.path = path_join(p.path, name);
	c.msgname = kind == NODE_MESSAGE ? g_strdup(name) : g_strdup(p.msgname);
	if (kind == NODE_INNER || (kind == NODE_HASHES && p.kind == NODE_INNER))
		c.inner = p.kind == NODE_INNER ? g_strconcat(p.inner, "/", name, NULL) : g_strdup(name);
	new_memo nm = { NULL };
	if (kind == NODE_INNER) {
		memset(&e->attr, 0, sizeof e->attr);
		err = inner_getattr(mnt, &c, &e->attr, &nm);
	} else {
		err = do_getattr(mnt, &c, &e->attr);
	}
	if (!err) {
		pthread_mutex_lock(&mnt->lock);
		node *pn = inode_get(mnt, parent);
		if (pn) {
			node *n = inode_child(mnt, pn, name, kind, f);
			e->ino = n->ino;
			e->attr.st_ino = n->ino;
			remember_locked(mnt, n->path, &nm);
			/* -o max_inodes: memory must not grow with all that was
			 * ever looked up */
			if (inode_over_budget(mnt))
				sync_trim_inodes(mnt);
		} else {
			err = ESTALE;
		}
		pthread_mutex_unlock(&mnt->lock);
	}
	g_free(nm.relpath);
	if (!err && kind == NODE_INNER)
		prefetch_looked_into(mnt, f, c.msgname, c.inner);
	e->attr_timeout = volatile_kind(kind) ? 0.0 : CACHE_TIMEOUT;
	e->entry_timeout = volatile_kind(kind) ? 0.0 : CACHE_TIMEOUT;
	node_ref_clear(&c);
	node_ref_clear(&p);
	return err;
}

/* Whether the kernel may remember that @name is absent under @parent.
 * Inside a message object the set of names changes only with the message
 * file, and a changed message's directory entry is invalidated with all
 * below it (sync.c queue_diff: d_invalidate drops negative children too);
 * without this, a grep over every PidTagBody asks again for each message
 * that has no plain-text body, on every pass.  Folder entries stay
 * uncached when absent: a message may be delivered at any time. */
static bool negative_cacheable(mount *mnt, fuse_ino_t parent)
{
	pthread_mutex_lock(&mnt->lock);
	node *pn = inode_get(mnt, parent);
	bool ok = pn && (pn->kind == NODE_MESSAGE || pn->kind == NODE_INNER);
	pthread_mutex_unlock(&mnt->lock);
	return ok;
}

static void mfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mount *mnt = mnt_of(req);
	struct fuse_entry_param e;
	int err = do_lookup(mnt, parent, name, &e);
	if (err == ENOENT && negative_cacheable(mnt, parent)) {
		/* ino 0: a negative entry, kept for entry_timeout (fuse_lowlevel.h) */
		memset(&e, 0, sizeof e);
		e.entry_timeout = CACHE_TIMEOUT;
		fuse_reply_entry(req, &e);
	} else if (err) {
		fuse_reply_err(req, err);
	} else {
		fuse_reply_entry(req, &e);
	}
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
	name_order *order; /* a folder's: owns names, shared with prefetch.c */
} listing;


static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name with its first 24 bytes as three big-endian integers (zero after
 * its end): integer order on them is strcmp order on those bytes. */
typedef struct sort_key {
	uint64_t k[3];
	const char *name;
	fuse_ino_t ino;
} sort_key;

#define KEY_BYTES 24

static int key_cmp(const void *a, const void *b)
{
	const sort_key *x = a, *y = b;
	for (int i = 0; i < 3; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	/* the same first bytes: a shorter name ended within them, and so did
	 * the other, at the same place */
	return strnlen(x->name, KEY_BYTES) < KEY_BYTES
	       ? 0 : strcmp(x->name + KEY_BYTES, y->name + KEY_BYTES);
}

/*
 * Add @name of folder @dir with its key and inode number (mount->lock
 * held).  Maildir names begin with a timestamp, so they share long
 * prefixes, and each sits in its own block, out of cache: sorting 100,000
 * of them through strcmp, then touching each again for its number, was
 * most of the first `ls -f` of such a folder (issue 11 row 5).  Here a
 * name is read once, while its block is in cache, and most comparisons
 * are settled by the integers.
 */
static void add_key(mount *mnt, GArray *keys, const char *dir, const char *name)
{
	unsigned char b[KEY_BYTES] = { 0 };
	memcpy(b, name, strnlen(name, KEY_BYTES));
	sort_key key = { .name = name, .ino = inode_entry_number(mnt, dir, name) };
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 8; j++)
			key.k[i] = key.k[i] << 8 | b[8 * i + j];
	g_array_append_val(keys, key);
}

/* The names of a message object's directory @r (message lock taken here). */
static int list_message(mount *mnt, const node_ref *r, GPtrArray *names, GArray *dirs)
{
	const char *inner = r->kind == NODE_INNER ? r->inner : "";
	int err = 0;
	cached *c = NULL;
	if (r->kind == NODE_INNER) {
		inner_info info;
		err = inner_node(mnt, r, &c, &info, NULL);
	} else {
		c = cache_get(mnt, r->folder, r->msgname, MAPPER_LOAD_FULL, NULL, &err);
	}
	if (!c)
		return err;
	mapper_message *m = cache_lock(c);
	char **list;
	size_t count;
	mapper_status s = mapper_message_list(m, inner, &list, &count);
	if (s == MAPPER_OK) {
		for (size_t i = 0; i < count; i++)
			g_ptr_array_add(names, g_strdup(list[i]));
		mapper_names_free(list);
		if (r->kind == NODE_MESSAGE)
			g_ptr_array_add(names, g_strdup("message.eml"));
		/* issue 14: the message's hashes, and those of an attachment's data */
		if (r->kind == NODE_MESSAGE || (attachment_row(inner) && row_subject_of(m, inner)))
			g_ptr_array_add(names, g_strdup(HASHES_FILE));
		if (names->len)
			qsort(names->pdata, names->len, sizeof(char *), str_cmp);
		for (guint i = 0; i < names->len; i++) {
			char *p = path_join(inner, names->pdata[i]);
			/* the top message.eml is the daemon's, not the mapper's */
			mapper_node child;
			unsigned char d = (strcmp(names->pdata[i], "message.eml") != 0 || *inner) &&
			                  strcmp(names->pdata[i], HASHES_FILE) != 0
			                  ? (mapper_message_stat(m, p, &child) == MAPPER_OK && child.kind == MAPPER_NODE_DIR)
			                  : 0;
			g_array_append_val(dirs, d);
			g_free(p);
		}
	}
	cache_unlock(c);
	cache_put(mnt, c);
	return mapper_errno(s);
}

static int do_list(mount *mnt, const node_ref *r, listing *out)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GArray *dirs = g_array_new(FALSE, FALSE, 1);
	int err = 0;

	GPtrArray *strings = NULL, *block = NULL;
	if (r->kind == NODE_FOLDER) {
		/* the names of messages are copied into one block, not one
		 * allocation each: a folder may hold a million */
		g_ptr_array_set_free_func(names, NULL);
		strings = g_ptr_array_new_with_free_func(g_free);
		block = g_ptr_array_new_with_free_func(g_free);
		pthread_mutex_lock(&mnt->lock);
		sync_folder(mnt, r->folder, NULL);
		const msgtab *t = r->folder->messages;
		GArray *keys = g_array_sized_new(FALSE, FALSE, sizeof(sort_key),
		                                 msgtab_count(t) +
		                                 g_hash_table_size(r->folder->subfolders) + 1);
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init(&it, r->folder->subfolders);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			g_ptr_array_add(strings, g_strdup(k));
			add_key(mnt, keys, r->path, g_ptr_array_index(strings, strings->len - 1));
		}
		size_t pos = 0, bytes = 0;
		msgent e;
		while (msgtab_next(t, &pos, &e))
			bytes += e.name_len + 1;
		char *at = g_malloc(bytes + 1);
		g_ptr_array_add(block, at);
		pos = 0;
		while (msgtab_next(t, &pos, &e)) {
			size_t n = e.name_len + 1;
			add_key(mnt, keys, r->path, memcpy(at, e.name, n));
			at += n;
		}
		static const char *const specials[] = { CERTIFICATES_DIR, DUPLICATES_DIR, TIMELINE_FILE };
		/* the one entry that is a file, told by its pointer: an entry of the
		 * mailbox may have the same name */
		const char *timeline = NULL;
		for (size_t i = 0; r->folder == mnt->root && i < G_N_ELEMENTS(specials); i++) {
			if (g_hash_table_contains(r->folder->subfolders, specials[i]) ||
			    msgtab_get(t, specials[i], NULL))
				continue;
			g_ptr_array_add(strings, g_strdup(specials[i]));
			add_key(mnt, keys, r->path, g_ptr_array_index(strings, strings->len - 1));
			if (i == G_N_ELEMENTS(specials) - 1)
				timeline = g_ptr_array_index(strings, strings->len - 1);
		}
		pthread_mutex_unlock(&mnt->lock);
		if (keys->len)   /* qsort's array may not be NULL even when empty */
			qsort(keys->data, keys->len, sizeof(sort_key), key_cmp);
		out->inos = g_new(fuse_ino_t, keys->len + 1);
		g_ptr_array_set_size(names, (gint)keys->len);
		for (guint i = 0; i < keys->len; i++) {
			sort_key *key = &g_array_index(keys, sort_key, i);
			names->pdata[i] = (char *)key->name;
			out->inos[i] = key->ino;
		}
		g_array_unref(keys);
		/* every entry of a folder is a directory; no message is opened */
		g_array_set_size(dirs, names->len);
		for (guint i = 0; i < names->len; i++)
			dirs->data[i] = names->pdata[i] != timeline;
	} else if (r->kind == NODE_MESSAGE || r->kind == NODE_INNER) {
		err = list_message(mnt, r, names, dirs);
	} else if (r->kind == NODE_EXAMINE) {
		err = examine_list(mnt, r->path, names, dirs);
	} else if (r->kind == NODE_CERTS) {
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
		err = ENOTDIR;
	}
	if (err) {
		g_ptr_array_unref(names);
		g_array_unref(dirs);
		return err;   /* only message listings fail: strings and block are NULL */
	}
	out->count = names->len;
	if (!out->inos) {
		out->inos = g_new(fuse_ino_t, names->len + 1);
		pthread_mutex_lock(&mnt->lock);
		for (guint i = 0; i < names->len; i++)
			out->inos[i] = inode_entry_number(mnt, r->path, names->pdata[i]);
		pthread_mutex_unlock(&mnt->lock);
	}
	out->self = r->ino;
	g_ptr_array_set_free_func(names, NULL);
	out->names = (char **)g_ptr_array_free(names, FALSE);
	out->is_dir = (unsigned char *)g_array_free(dirs, FALSE);
	if (r->kind == NODE_FOLDER) {
		out->order = order_new(out->names, out->count, strings, block);
		prefetch_set_order(mnt, r->folder, out->order);
	}
	return 0;
}

static void listing_free(listing *l)
{
	if (l->order) {
		order_unref(l->order);
	} else {
		for (size_t i = 0; i < l->count; i++)
			g_free(l->names[i]);
		g_free(l->names);
	}
	g_free(l->is_dir);
	g_free(l->inos);
	g_free(l);
}

void ops_free_leftover_listings(mount *mnt)
{
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, mnt->open_dirs);
	while (g_hash_table_iter_next(&it, &k, &v))
		listing_free(k);
	g_hash_table_remove_all(mnt->open_dirs);
}

static void mfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	listing *l = g_new0(listing, 1);
	node_ref r = { 0 };
	int err = get_ref(mnt, ino, &r);
	if (!err)
		err = do_list(mnt, &r, l);
	node_ref_clear(&r);
	if (err) {
		g_free(l);
		fuse_reply_err(req, err);
		return;
	}
	pthread_mutex_lock(&mnt->lock);
	g_hash_table_add(mnt->open_dirs, l);
	pthread_mutex_unlock(&mnt->lock);
	fi->fh = (uint64_t)(uintptr_t)l;
	/* No kernel readdir cache: a listing made just before a rescan can
	 * reach the kernel just after the watcher's invalidation and would then
	 * be served for a day (the kernel's cache keys on the directory mtime,
	 * which a concurrent getattr may already show as the new one).  The
	 * daemon answers READDIR from memory, so this costs little. */
	fi->cache_readdir = 0;
	fi->keep_cache = 0;
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
			/* is_dir: 0 a file, 1 a directory, 2 a symbolic link */
			st.st_mode = l->is_dir[i - 2] == 2 ? S_IFLNK : l->is_dir[i - 2] ? S_IFDIR : S_IFREG;
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
	mount *mnt = mnt_of(req);
	listing *l = (listing *)(uintptr_t)fi->fh;
	pthread_mutex_lock(&mnt->lock);
	g_hash_table_remove(mnt->open_dirs, l);
	pthread_mutex_unlock(&mnt->lock);
	listing_free(l);
	fuse_reply_err(req, 0);
}

/* ---- files ------------------------------------------------------------------- */

/* fi->fh of an open file: 0, a whandle* (open for writing), or a source
 * descriptor of a read-only message.eml, told apart by the low bit (a
 * whandle* is aligned). */
static uint64_t read_fh(int fd)
{
	return ((uint64_t)fd << 1) | 1;
}

static int read_fd_of(struct fuse_file_info *fi)
{
	return fi && (fi->fh & 1) ? (int)(fi->fh >> 1) : -1;
}

static whandle *handle_of(struct fuse_file_info *fi)
{
	return fi && !(fi->fh & 1) ? (whandle *)(uintptr_t)fi->fh : NULL;
}

/* design.md 8: decrypted content opens for the mounting user (or root)
 * only, even where modes were widened with -o umask or share nothing. */
static int may_read(fuse_req_t req, const node_ref *r)
{
	mount *mnt = mnt_of(req);
	if (r->kind != NODE_INNER || mnt->access.share_decrypted || !strstr(r->inner, "smime/content"))
		return 0;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	if (ctx->uid == mnt->uid || ctx->uid == 0)
		return 0;
	cached *c = NULL;
	inner_info info = { 0 };
	int err = inner_node(mnt, r, &c, &info, NULL);
	cache_put(mnt, c);
	return err ? err : info.private ? EACCES : 0;
}

/*
 * On a read-only mount that only the mounting user can enter, an open has
 * nothing to check or set up: the first one answers ENOSYS, after which
 * the kernel opens every file itself, keeping its pages (libfuse
 * FUSE_CAP_NO_OPEN_SUPPORT), and sends no OPEN and RELEASE at all; a FLUSH
 * likewise (perf-notes: two round trips a file).  The kernel refuses every
 * write open of a read-only mount before it reaches us.
 */
static bool open_free(const mount *mnt)
{
	/* a mount with a custody log lets write opens reach us, to record them */
	return mnt->readonly && !mnt->access.allow_other && !audit_on();
}

static void mfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	if (open_free(mnt) && (fi->flags & O_ACCMODE) == O_RDONLY) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	node_ref r = { 0 };
	int err = get_ref(mnt, ino, &r);
	if (!err && (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC)) {
		err = may_read(req, &r);
		bool vol = volatile_kind(r.kind);
		/* message.eml is read from one descriptor for the whole open
		 * (the version that was opened, as with a file on disk) */
		int fd = -1;
		if (r.kind == NODE_EML) {
			msgfile *mf;
			err = message_open(mnt, r.folder, r.msgname, &fd, &mf);
			msgfile_unref(mf);
		}
		node_ref_clear(&r);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
		fi->fh = fd >= 0 ? read_fh(fd) : 0;
		fi->keep_cache = !vol;
		fi->direct_io = vol;
		/* nothing to apply at close: spare the kernel a FLUSH per close */
		fi->noflush = 1;
		if (fuse_reply_open(req, fi) != 0 && fd >= 0)
			close(fd);   /* the open was interrupted: no release will come */
		return;
	}
	/* design.md 6: no write-open succeeds on a read-only mount */
	whandle *h = NULL;
	if (!err)
		err = audited(req, may_change(req), "open-write", ino, NULL);
	if (!err)
		err = write_open(mnt, &r, fi->flags, &h);
	node_ref_clear(&r);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void mfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
	whandle *h = handle_of(fi);
	int err = h ? write_data(mnt_of(req), h, buf, size, off) : EBADF;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

static void mfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	whandle *h = handle_of(fi);
	if (!h && open_free(mnt_of(req))) {
		fuse_reply_err(req, ENOSYS);   /* no more FLUSH (see open_free) */
		return;
	}
	fuse_reply_err(req, h ? write_flush(mnt_of(req), h) : 0);
}

static void mfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	/* a change is durable once applied: apply it now */
	whandle *h = handle_of(fi);
	fuse_reply_err(req, h ? write_apply(mnt_of(req), h) : 0);
}

static void mfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	whandle *h = handle_of(fi);
	if (read_fd_of(fi) >= 0)
		close(read_fd_of(fi));
	if (h) {
		/* what no flush applied: a truncation without writes (": > f"),
		 * an empty new file; errors can only be logged here */
		int err = write_apply(mnt, h);
		if (err)
			mapifs_log("a write was not applied when its file was released: %s",
			           g_strerror(err));
		write_release(mnt, h);
	}
	fuse_reply_err(req, 0);
}

/* Read @size bytes at @off of @fd (a message file). */
static int pread_all(int fd, size_t size, off_t off, char **out, size_t *outlen)
{
	char *buf = g_malloc(size ? size : 1);
	ssize_t n;
	do
		n = pread(fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = errno;
		g_free(buf);
		return err;
	}
	*out = buf;
	*outlen = (size_t)n;
	return 0;
}

static int read_inner(mount *mnt, const node_ref *r, size_t size, off_t off, char **out,
                      size_t *outlen);

/* @fd: the source descriptor of an open message.eml, or -1. */
static int do_read(mount *mnt, const node_ref *r, int fd, size_t size, off_t off, char **out,
                   size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (r->kind == NODE_CERT) {
		char *pem;
		size_t len;
		if (!cert_of(mnt, r->path, &pem, &len))
			return ENOENT;
		if ((size_t)off < len) {
			*outlen = MIN(size, len - (size_t)off);
			*out = g_memdup2(pem + off, *outlen);
		}
		free(pem);
		return 0;
	}
	if (r->kind == NODE_EXAMINE)
		return examine_read(mnt, r->path, size, off, out, outlen);
	if (r->kind == NODE_EML && fd >= 0)
		return pread_all(fd, size, off, out, outlen);
	if (r->kind == NODE_EML) {
		msgfile *mf;
		int err = message_open(mnt, r->folder, r->msgname, &fd, &mf);
		if (err)
			return err;
		msgfile_unref(mf);
		err = pread_all(fd, size, off, out, outlen);
		close(fd);
		return err;
	}
	if (r->kind == NODE_HASHES) {
		/* hashed when read (design.md 9: lazy), the whole data each time:
		 * the file is one read of some 200 bytes */
		digest_hex h;
		const char *subject;
		int err = node_digests(mnt, r, &h, &subject);
		if (err)
			return err;
		char *text = digests_text(&h, subject);
		size_t len = strlen(text);
		if ((size_t)off < len) {
			*outlen = MIN(size, len - (size_t)off);
			*out = g_memdup2(text + off, *outlen);
		}
		g_free(text);
		return 0;
	}
	if (r->kind != NODE_INNER)
		return EISDIR;
	int err = read_inner(mnt, r, size, off, out, outlen);
	/* once more for an object of a file replaced since it was parsed */
	return err == ESTALE ? read_inner(mnt, r, size, off, out, outlen) : err;
}

static int read_inner(mount *mnt, const node_ref *r, size_t size, off_t off, char **out,
                      size_t *outlen)
{
	if (memo_text_hit(mnt, r, size, off, out, outlen))
		return 0;
	/* reading the files of one message after another is a walk too */
	if (off == 0)
		prefetch_looked_into(mnt, r->folder, r->msgname, r->inner);
	cached *c = NULL;
	int err = inner_node(mnt, r, &c, NULL, NULL);
	if (err)
		return err;
	mapper_message *m = cache_lock(c);
	const void *data;
	size_t len;
	mapper_status s = mapper_message_read(m, r->inner, &data, &len);
	if (s == MAPPER_DEFERRED) {
		cache_unlock(c);
		/* a large attachment stays in the message file (cache.c); if the
		 * file was replaced since, the object is dropped (ESTALE) and the
		 * caller loads it again */
		err = cache_read_deferred(mnt, r->folder, r->msgname, c, r->inner, size, off, out, outlen);
		cache_put(mnt, c);
		return err;
	}
	if (s == MAPPER_OK && (size_t)off < len) {
		*outlen = MIN(size, len - (size_t)off);
		*out = g_memdup2((const char *)data + off, *outlen);
	}
	cache_unlock(c);
	cache_put(mnt, c);
	return mapper_errno(s);
}

static void mfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	char *data = NULL;
	size_t len = 0;
	whandle *h = handle_of(fi);
	int err;
	if (h) {
		err = write_read(h, size, off, &data, &len);
	} else {
		node_ref r = { 0 };
		err = get_ref(mnt, ino, &r);
		if (!err)
			err = do_read(mnt, &r, read_fd_of(fi), size, off, &data, &len);
		node_ref_clear(&r);
	}
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_buf(req, data, len);
	g_free(data);
}

/* ---- extended attributes (design.md 2) -------------------------------------- */

/* Offer attribute @name with value @text: listed into @names, or copied to
 * @value when it is the one @want'ed (then true). */
static bool offer(GString *names, const char *want, GString *value, const char *name,
                  const char *text)
{
	if (names)
		g_string_append_len(names, name, (gssize)strlen(name) + 1);
	if (!want || strcmp(want, name) != 0)
		return false;
	g_string_assign(value, text);
	return true;
}

/* The xattrs user.mapifs.md5, .sha1 and .sha256 of message @r (@row NULL)
 * or of its attachment @row's data: listed in @names, or the one @want
 * in @value, hashed only when asked for (design.md 9: lazy).  Whether
 * @want was one of them; *@err on a failure to hash. */
static bool offer_sums(mount *mnt, const node_ref *r, const char *row, GString *names,
                       const char *want, GString *value, int *err)
{
	static const char *const sums[] = { "user.mapifs.md5", "user.mapifs.sha1", "user.mapifs.sha256" };
	for (size_t i = 0; i < G_N_ELEMENTS(sums); i++) {
		if (want && strcmp(want, sums[i]) == 0) {
			node_ref h = *r;
			h.inner = row ? g_strconcat(row, "/" HASHES_FILE, NULL) : NULL;
			digest_hex d;
			const char *subject;
			*err = node_digests(mnt, &h, &d, &subject);
			g_free(h.inner);
			const char *hex[] = { d.md5, d.sha1, d.sha256 };
			if (!*err)
				g_string_assign(value, hex[i]);
			return true;
		}
		if (names)
			offer(names, NULL, NULL, sums[i], NULL);
	}
	return false;
}

static int do_xattrs(mount *mnt, const node_ref *r, GString *names, const char *want, GString *value)
{
	if (r->kind == NODE_MESSAGE) {
		pthread_mutex_lock(&mnt->lock);
		msgfile *mf = sync_message_ref(mnt, r->folder, r->msgname);
		pthread_mutex_unlock(&mnt->lock);
		if (!mf)
			return ENOENT;
		bool hit = offer(names, want, value, "user.mapifs.source", mf->relpath);
		int err = 0;
		/* the last change that failed, for scripts whose shell ignores the
		 * error of close() (issue 13) */
		char *msgpath = path_join(r->folder->path, r->msgname);
		char *last = write_last_error(mnt, msgpath);
		g_free(msgpath);
		if (last)
			hit = hit || offer(names, want, value, "user.mapifs.error", last);
		g_free(last);
		if (!hit)
			hit = offer_sums(mnt, r, NULL, names, want, value, &err);
		msgfile_unref(mf);
		return hit || !want ? err : ENODATA;
	}
	if (r->kind == NODE_INNER) {
		cached *c = NULL;
		inner_info info = { 0 };
		int err = inner_node(mnt, r, &c, &info, NULL);
		if (err)
			return err;
		bool hit = false;
		if (info.type_name) {
			char tag[16];
			g_snprintf(tag, sizeof tag, "0x%08X", info.tag);
			hit = offer(names, want, value, "user.mapi.tag", tag) ||
			      offer(names, want, value, "user.mapi.type", info.type_name) ||
			      (info.set_guid && offer(names, want, value, "user.mapi.guid", info.set_guid));
		}
		cache_put(mnt, c);
		/* an attachment row: the hashes of its data, as its hashes file */
		const char *subject;
		if (!hit && attachment_row(r->inner) && row_subject(mnt, r, r->inner, &subject) == 0)
			hit = offer_sums(mnt, r, r->inner, names, want, value, &err);
		return hit || !want ? err : ENODATA;
	}
	return want ? ENODATA : 0;
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

static void xattr_request(fuse_req_t req, fuse_ino_t ino, size_t size, const char *name)
{
	mount *mnt = mnt_of(req);
	GString *v = g_string_new(NULL);
	node_ref r = { 0 };
	int err = get_ref(mnt, ino, &r);
	if (!err)
		err = name ? do_xattrs(mnt, &r, NULL, name, v) : do_xattrs(mnt, &r, v, NULL, NULL);
	node_ref_clear(&r);
	reply_xattr(req, size, err, v);
	g_string_free(v, TRUE);
}

static void mfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	xattr_request(req, ino, size, name);
}

static void mfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_request(req, ino, size, NULL);
}

/* ---- changes (design.md 4); EROFS on a read-only mount (design.md 6) ---------- */

static void mfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	/* without default_permissions only the mounting user reaches here */
	fuse_reply_err(req, (mask & W_OK) ? may_change(req) : 0);
}

/* Reply with a node's entry after a change made it. */
static void reply_new_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int err)
{
	struct fuse_entry_param e;
	if (!err)
		err = do_lookup(mnt_of(req), parent, name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void mfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                        struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	int err = audited(req, may_change(req), "setattr", ino, NULL);
	node_ref r = { 0 };
	if (!err)
		err = get_ref(mnt, ino, &r);
	if (!err && (to_set & FUSE_SET_ATTR_SIZE)) {
		whandle *h = handle_of(fi);
		err = h ? write_truncate(h, attr->st_size) : write_setsize(mnt, &r, attr->st_size);
	}
	/* modes, owners and times are the mount's and the source's: a request
	 * to change them (cp -p, touch) is accepted and changes nothing */
	struct stat st;
	if (!err)
		err = do_getattr(mnt, &r, &st);
	node_ref_clear(&r);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, CACHE_TIMEOUT);
}

static void mfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	mount *mnt = mnt_of(req);
	node_ref p = { 0 };
	int err = audited(req, may_change(req), "mkdir", parent, name);
	if (!err)
		err = get_ref(mnt, parent, &p);
	if (!err)
		err = write_mkdir(mnt, &p, name);
	node_ref_clear(&p);
	reply_new_entry(req, parent, name, err);
}

static void mfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	mount *mnt = mnt_of(req);
	node_ref p = { 0 };
	int err = audited(req, may_change(req), "rmdir", parent, name);
	if (!err)
		err = get_ref(mnt, parent, &p);
	if (!err)
		err = write_rmdir(mnt, &p, name);
	node_ref_clear(&p);
	fuse_reply_err(req, err);
}

static void mfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	/* design.md 4: property files cannot be unlinked, so rm -r never
	 * strips half a message; truncating a file removes its property */
	int err = audited(req, may_change(req), "unlink", parent, name);
	fuse_reply_err(req, err ? err : EPERM);
}

static void mfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	mount *mnt = mnt_of(req);
	node_ref p = { 0 }, np = { 0 };
	int err = audited(req, may_change(req), "rename", parent, name);
	if (!err)
		err = get_ref(mnt, parent, &p);
	if (!err)
		err = get_ref(mnt, newparent, &np);
	if (!err)
		err = write_rename(mnt, &p, name, &np, newname, flags);
	node_ref_clear(&p);
	node_ref_clear(&np);
	fuse_reply_err(req, err);
}

static void mfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                       struct fuse_file_info *fi)
{
	mount *mnt = mnt_of(req);
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	whandle *h = NULL;
	node_kind kind = NODE_INNER;
	node_ref p = { 0 };
	int err = audited(req, may_change(req), "create", parent, name);
	if (!err)
		err = get_ref(mnt, parent, &p);
	if (!err)
		err = write_create(mnt, &p, name, &h, &kind);
	if (!err) {
		node_ref c = { 0 };
		c.kind = kind;
		c.folder = p.folder;
		c.path = path_join(p.path, name);
		c.msgname = g_strdup(p.msgname);
		if (kind == NODE_INNER)
			c.inner = p.kind == NODE_INNER ? g_strconcat(p.inner, "/", name, NULL) : g_strdup(name);
		err = do_getattr(mnt, &c, &e.attr);
		node_ref_clear(&c);
		if (!err) {
			pthread_mutex_lock(&mnt->lock);
			node *pn = inode_get(mnt, parent);
			node *n = pn ? inode_child(mnt, pn, name, kind, p.folder) : NULL;
			if (n) {
				e.ino = n->ino;
				e.attr.st_ino = n->ino;
			}
			pthread_mutex_unlock(&mnt->lock);
			err = n ? 0 : ESTALE;
		}
		if (err) {
			write_release(mnt, h);
		} else {
			e.attr_timeout = CACHE_TIMEOUT;
			e.entry_timeout = CACHE_TIMEOUT;
		}
	}
	node_ref_clear(&p);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 0;
	fuse_reply_create(req, &e, fi);
}

static void mfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	mount *mnt = mnt_of(req);
	node_ref r = { 0 };
	int err = get_ref(mnt, ino, &r);
	char *target = NULL;
	struct stat st;
	if (!err)
		err = r.kind == NODE_EXAMINE ? examine_getattr(mnt, &r, &st, &target) : EINVAL;
	if (!err && !target)
		err = EINVAL;
	node_ref_clear(&r);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_readlink(req, target);
	g_free(target);
}

static void refuse(fuse_req_t req, const char *op, fuse_ino_t parent, const char *name)
{
	int err = audited(req, may_change(req), op, parent, name);
	fuse_reply_err(req, err ? err : EPERM);
}

static void mfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	refuse(req, "mknod", parent, name);
}

static void mfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	refuse(req, "symlink", parent, name);
}

static void mfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	refuse(req, "link", newparent, newname);
}

/* xattrs are the mapifs's own, computed; ENOTSUP lets cp -a go on */
static void mfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                         size_t size, int flags)
{
	fuse_reply_err(req, mnt_of(req)->readonly ? audited(req, EROFS, "setxattr", ino, NULL) : ENOTSUP);
}

static void mfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, mnt_of(req)->readonly ? audited(req, EROFS, "removexattr", ino, NULL) : ENOTSUP);
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
	.readlink = mfs_readlink,
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
