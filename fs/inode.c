/*
 * inode.c - the inode table: one node per mount path the kernel knows,
 * with lookup counts (libfuse passthrough_ll's lo_find/unref_inode idea).
 *
 * Nodes are keyed by their mount path, which is built from stable names (the
 * Maildir unique name, not the file name with its flags), so a message keeps
 * its inode number while other programs change its flags.
 */
#include <string.h>

#include "mapifs.h"

/* Inode numbers are a hash of the mount path (FNV-1a, 63 bits), so a path
 * gets the same number again after the kernel forgot it, and from mount to
 * mount; a live collision moves to the next free number. */
/* FNV-1a of @len bytes, continuing from @h. */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	for (const unsigned char *c = p; len--; c++) {
		h ^= *c;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t fnv_more(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s));
}

static fuse_ino_t fnv_ino(uint64_t h)
{
	h &= 0x7fffffffffffffffULL;
	return h <= FUSE_ROOT_ID ? h + 2 : h;
}

fuse_ino_t inode_number(const char *path)
{
	return fnv_ino(fnv_more(0xcbf29ce484222325ULL, path));
}

fuse_ino_t inode_entry_number(mount *mnt, const char *dir, const char *name)
{
	if (mnt->ino_moved) {
		/* a number was moved by a collision: the table knows which */
		char *p = path_join(dir, name);
		node *n = inode_find_path(mnt, p);
		fuse_ino_t ino = n ? n->ino : inode_number(p);
		g_free(p);
		return ino;
	}
	/* no number ever moved: every path has its hash, known or not
	 * (path_join's "dir/name", or "name" at the root) */
	uint64_t h = 0xcbf29ce484222325ULL;
	if (*dir)
		h = fnv_more(fnv_more(h, dir), "/");
	return fnv_ino(fnv_more(h, name));
}

static void node_free(gpointer p)
{
	node *n = p;
	g_free(n->path);
	g_free(n->msgname);
	g_free(n->memo_text);
	g_free(n);
}

/*
 * The path index: nodes_by_path (a hash, for lookups) and nodes_sorted (a
 * balanced tree in strcmp order, for the nodes at or under a path: they
 * are one range of it, found in O(log n), so invalidating or moving one
 * message never walks the inodes of all others).  Both always hold the
 * same (path, node) pairs: change them only here.
 */
static gint path_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	return strcmp(a, b);
}

static void index_add(mount *mnt, node *n)
{
	g_hash_table_insert(mnt->nodes_by_path, n->path, n);
	g_tree_insert(mnt->nodes_sorted, n->path, n);
}

/* Take @n out of the path index, if it is the node indexed at its path. */
static void index_remove(mount *mnt, node *n)
{
	if (g_hash_table_lookup(mnt->nodes_by_path, n->path) != n)
		return;
	g_hash_table_steal(mnt->nodes_by_path, n->path);
	g_tree_remove(mnt->nodes_sorted, n->path);
}

/* The nodes at mount path @prefix or under it, in path order. */
static GPtrArray *nodes_under(mount *mnt, const char *prefix)
{
	GPtrArray *out = g_ptr_array_new();
	size_t pl = strlen(prefix);
	for (GTreeNode *t = g_tree_lower_bound(mnt->nodes_sorted, prefix); t; t = g_tree_node_next(t)) {
		node *n = g_tree_node_value(t);
		/* every path that starts with @prefix lies in one range */
		if (strncmp(n->path, prefix, pl) != 0)
			break;
		if (pl == 0 || n->path[pl] == '\0' || n->path[pl] == '/')
			g_ptr_array_add(out, n);
	}
	return out;
}

void inodes_init(mount *mnt)
{
	mnt->nodes_by_path = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, node_free);
	mnt->nodes_sorted = g_tree_new_full(path_cmp, NULL, NULL, NULL);
	mnt->nodes_by_ino = g_hash_table_new(g_int64_hash, g_int64_equal);

	node *root = g_new0(node, 1);
	root->ino = FUSE_ROOT_ID;
	root->kind = NODE_FOLDER;
	root->path = g_strdup("");
	root->folder = mnt->root;
	root->nlookup = 1; /* the root is never forgotten */
	index_add(mnt, root);
	g_hash_table_insert(mnt->nodes_by_ino, &root->ino, root);
}

void inodes_free(mount *mnt)
{
	if (mnt->nodes_sorted)
		g_tree_destroy(mnt->nodes_sorted);
	mnt->nodes_sorted = NULL;
	if (mnt->nodes_by_ino)
		g_hash_table_unref(mnt->nodes_by_ino);
	if (mnt->nodes_by_path)
		g_hash_table_unref(mnt->nodes_by_path);
	mnt->nodes_by_ino = mnt->nodes_by_path = NULL;
}

node *inode_get(mount *mnt, fuse_ino_t ino)
{
	gint64 key = (gint64)ino;
	return g_hash_table_lookup(mnt->nodes_by_ino, &key);
}

node *inode_find_path(mount *mnt, const char *path)
{
	return g_hash_table_lookup(mnt->nodes_by_path, path);
}

/* Nodes the kernel may be asked to forget: not folders (few, and the
 * watcher needs their numbers), not the certificates, not a delivery. */
static bool trimmable(const node *n)
{
	return n->kind == NODE_MESSAGE || n->kind == NODE_INNER || n->kind == NODE_EML ||
	       n->kind == NODE_HASHES;
}

bool inode_over_budget(mount *mnt)
{
	return mnt->max_inodes &&
	       mnt->node_lru.length > mnt->max_inodes + mnt->max_inodes / 16 + 16;
}

void inode_trim_candidates(mount *mnt, GArray *out)
{
	guint excess = mnt->node_lru.length > mnt->max_inodes
	               ? mnt->node_lru.length - mnt->max_inodes : 0;
	for (guint i = 0; i < excess && mnt->node_lru.tail; i++) {
		GList *l = mnt->node_lru.tail;
		node *n = l->data;
		g_queue_unlink(&mnt->node_lru, l);
		g_queue_push_head_link(&mnt->node_lru, l);
		const char *slash = strrchr(n->path, '/');
		char *parent_path = slash ? g_strndup(n->path, (gsize)(slash - n->path)) : g_strdup("");
		node *p = g_hash_table_lookup(mnt->nodes_by_path, parent_path);
		g_free(parent_path);
		if (!p)
			continue;
		trim_entry e = { p->ino, g_strdup(slash ? slash + 1 : n->path) };
		g_array_append_val(out, e);
	}
}

node *inode_child(mount *mnt, node *parent, const char *name, node_kind kind, folder *f)
{
	char *path = path_join(parent->path, name);
	node *n = g_hash_table_lookup(mnt->nodes_by_path, path);
	if (n && n->kind == kind) {
		g_free(path);
		n->nlookup++;
		if (n->lru.data) {
			g_queue_unlink(&mnt->node_lru, &n->lru);
			g_queue_push_head_link(&mnt->node_lru, &n->lru);
		}
		return n;
	}
	if (n) {
		/* the name now means something else (a folder became a message):
		 * the old node lives on under its inode number until forgotten */
		index_remove(mnt, n);
	}
	n = g_new0(node, 1);
	n->ino = inode_number(path);
	while (inode_get(mnt, n->ino)) {
		n->ino = n->ino == 0x7fffffffffffffffULL ? FUSE_ROOT_ID + 1 : n->ino + 1;
		mnt->ino_moved = true;
	}
	n->kind = kind;
	n->path = path;
	n->folder = f;
	n->nlookup = 1;
	if (kind == NODE_MESSAGE) {
		n->msgname = g_strdup(name);
	} else if (kind == NODE_INNER || kind == NODE_EML || kind == NODE_HASHES) {
		n->msgname = g_strdup(parent->msgname);
		if (kind == NODE_INNER)
			n->inner = parent->kind == NODE_INNER
			           ? n->path + (parent->inner - parent->path)
			           : n->path + strlen(parent->path) + 1;
		/* the hashes of an attachment: inner names its row */
		if (kind == NODE_HASHES && parent->kind == NODE_INNER)
			n->inner = n->path + (parent->inner - parent->path);
	}
	index_add(mnt, n);
	g_hash_table_insert(mnt->nodes_by_ino, &n->ino, n);
	if (trimmable(n)) {
		n->lru.data = n;
		g_queue_push_head_link(&mnt->node_lru, &n->lru);
	}
	return n;
}

void inode_forget(mount *mnt, fuse_ino_t ino, uint64_t count)
{
	node *n = inode_get(mnt, ino);
	if (!n || n->ino == FUSE_ROOT_ID)
		return;
	n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
	if (n->nlookup)
		return;
	g_hash_table_remove(mnt->nodes_by_ino, &n->ino);
	index_remove(mnt, n);
	if (n->lru.data)
		g_queue_unlink(&mnt->node_lru, &n->lru);
	node_free(n);
}

GArray *inodes_under(mount *mnt, const char *prefix)
{
	GPtrArray *nodes = nodes_under(mnt, prefix);
	GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(fuse_ino_t), nodes->len);
	for (guint i = 0; i < nodes->len; i++)
		g_array_append_val(out, ((node *)nodes->pdata[i])->ino);
	g_ptr_array_unref(nodes);
	return out;
}

void inode_rename(mount *mnt, const char *from, const char *to, folder *f, const char *msgname)
{
	size_t fl = strlen(from);
	GPtrArray *moved = nodes_under(mnt, from);
	for (guint i = 0; i < moved->len; i++)
		index_remove(mnt, moved->pdata[i]);
	for (guint i = 0; i < moved->len; i++) {
		node *n = moved->pdata[i];
		size_t inner_off = n->inner ? (size_t)(n->inner - n->path) - fl : 0;
		char *path = g_strconcat(to, n->path + fl, NULL);
		/* a stale node at the new path lives on under its number until forgotten */
		node *old = g_hash_table_lookup(mnt->nodes_by_path, path);
		if (old)
			index_remove(mnt, old);
		g_free(n->path);
		n->path = path;
		if (n->inner)
			n->inner = n->path + strlen(to) + inner_off;
		n->folder = f;
		g_free(n->msgname);
		n->msgname = g_strdup(msgname);
		index_add(mnt, n);
	}
	g_ptr_array_unref(moved);
}

/* A key of one version of a message file, as far as anything shown from
 * it goes: its identity, size, times, mode and owner, and its name (the
 * Maildir flags).  Never 0. */
static uint64_t memo_key(const struct stat *st, const char *relpath)
{
	const struct {
		uint64_t dev, ino, size, mtime_s, mtime_ns, ctime_s, ctime_ns, mode, uid, gid;
	} id = {
		st->st_dev, st->st_ino, (uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
		(uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_ctim.tv_sec,
		(uint64_t)st->st_ctim.tv_nsec, st->st_mode, st->st_uid, st->st_gid,
	};
	uint64_t h = fnv(0xcbf29ce484222325ULL, &id, sizeof id);
	h = fnv_more(h, relpath);
	return h ? h : 1;
}

bool inode_has_memo(mount *mnt, const char *path)
{
	node *n = g_hash_table_lookup(mnt->nodes_by_path, path);
	return n && n->memo_key;
}

bool inode_memo_get(mount *mnt, const char *path, const struct stat *src, const char *relpath,
                    inner_memo *memo)
{
	node *n = g_hash_table_lookup(mnt->nodes_by_path, path);
	if (!n || !n->memo_key || n->memo_key != memo_key(src, relpath))
		return false;
	memo->size = n->memo_size;
	memo->dir = n->memo_dir;
	memo->private = n->memo_private;
	memo->has_text = n->memo_text != NULL;
	if (n->memo_text)
		memcpy(memo->text, n->memo_text, n->memo_size);
	return true;
}

void inode_memo_set(mount *mnt, const char *path, const struct stat *src, const char *relpath,
                    const inner_memo *memo)
{
	node *n = g_hash_table_lookup(mnt->nodes_by_path, path);
	if (!n || n->kind != NODE_INNER)
		return;
	n->memo_key = memo_key(src, relpath);
	n->memo_size = memo->size;
	n->memo_dir = memo->dir;
	n->memo_private = memo->private;
	g_free(n->memo_text);
	n->memo_text = memo->has_text && memo->size <= MEMO_TEXT_MAX
	               ? g_memdup2(memo->text, MAX(memo->size, 1)) : NULL;
}

void node_ref_set(node_ref *r, const node *n)
{
	r->ino = n->ino;
	r->kind = n->kind;
	r->path = g_strdup(n->path);
	r->folder = n->folder;
	r->msgname = g_strdup(n->msgname);
	r->inner = g_strdup(n->inner);
}

void node_ref_clear(node_ref *r)
{
	g_free(r->path);
	g_free(r->msgname);
	g_free(r->inner);
	memset(r, 0, sizeof *r);
}
