/*
 * mailbox.c - the source tree: a Maildir (with Maildir++ subfolders) or a
 * tree of .eml files, read without changing anything in it.
 *
 * Every file and directory is opened read-only with O_NOATIME where the
 * kernel allows it (design.md 6: a traversal leaves atimes as they were).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mapifs.h"

/* ---- opening files without touching them or leaving the mailbox ------ */

/*
 * Every path below the source root is opened with openat2(2)'s
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: a symlink in any component, or a
 * ".." out of the root, fails with ELOOP / EXDEV instead of being followed
 * (design.md 8: a message file or folder that is a symlink is not
 * followed; `ln -s /etc/shadow cur/x` must not show /etc/shadow).  On a
 * kernel without openat2 (before 5.6) the last component is still checked
 * with O_NOFOLLOW.
 */
static int safe_openat(int dirfd, const char *rel, int flags, mode_t mode)
{
	const char *p = *rel ? rel : ".";
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, p, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, p, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	return (int)fd;
}

static int open_noatime(int dirfd, const char *rel, int flags)
{
	int fd = safe_openat(dirfd, rel, flags | O_RDONLY | O_NOATIME, 0);
	/* O_NOATIME needs ownership or CAP_FOWNER; without it, open plainly */
	if (fd < 0 && errno == EPERM)
		fd = safe_openat(dirfd, rel, flags | O_RDONLY, 0);
	return fd;
}

int source_open(mount *mnt, const char *relpath, int *fd)
{
	*fd = open_noatime(mnt->srcfd, relpath, 0);
	return *fd < 0 ? errno : 0;
}

int source_open_dir(mount *mnt, const char *reldir, int *fd)
{
	*fd = safe_openat(mnt->srcfd, reldir, O_RDONLY | O_DIRECTORY, 0);
	return *fd < 0 ? errno : 0;
}

int source_stat(mount *mnt, const char *relpath, struct stat *st)
{
	int fd = safe_openat(mnt->srcfd, relpath, O_PATH, 0);
	if (fd < 0)
		return errno;
	int err = fstat(fd, st) == 0 ? 0 : errno;
	close(fd);
	return err;
}

/* Where the header block ends: the offset just past the empty line, or 0. */
static size_t header_block_end(const char *d, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n')
			return i + 2;
		if (d[i + 1] == '\r' && i + 2 < len && d[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static int read_fd(int fd, mapper_load_level level, char **data, size_t *len, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return errno;
	if (!S_ISREG(st->st_mode))
		return EIO;
	/* headers only: read in chunks until the empty line (speed by design:
	 * header properties never read the body) */
	size_t cap = level == MAPPER_LOAD_FULL ? (size_t)st->st_size + 1 : 16384;
	size_t n = 0;
	char *buf = g_malloc(cap);
	int err = 0;
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = g_realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		if (r == 0)
			break;
		size_t scan_from = n > 2 ? n - 2 : 0;
		n += (size_t)r;
		if (level == MAPPER_LOAD_HEADERS) {
			size_t end = header_block_end(buf + scan_from, n - scan_from);
			if (end) {
				n = scan_from + end;
				break;
			}
		}
	}
	if (err) {
		g_free(buf);
		return err;
	}
	*data = buf;
	*len = n;
	return 0;
}

int source_read(mount *mnt, const char *relpath, mapper_load_level level,
                char **data, size_t *len, struct stat *st)
{
	int fd;
	int err = source_open(mnt, relpath, &fd);
	if (err)
		return err;
	err = read_fd(fd, level, data, len, st);
	close(fd);
	return err;
}

int source_sha256(mount *mnt, const char *relpath, char hex[65])
{
	int fd;
	int err = source_open(mnt, relpath, &fd);
	if (err)
		return err;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)r);
	}
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (err)
		return err;
	for (unsigned i = 0; i < 32; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* How often a message is looked for again when its file vanished under us:
 * a mail client renaming it for a flag change makes the old name fail once;
 * a rename storm may make a rescan miss it (readdir during a rename). */
#define REFIND_TRIES 4

/* Whether a failure to open a listed file means "look again". */
static bool refind_errno(int err)
{
	return err == ENOENT || err == ELOOP || err == ENOTDIR || err == EXDEV;
}

int message_open(mount *mnt, folder *f, const char *name, int *fd, msgfile **out)
{
	*out = NULL;
	*fd = -1;
	int err = ENOENT;
	for (int i = 0; i < REFIND_TRIES; i++) {
		pthread_mutex_lock(&mnt->lock);
		if (i > 0)
			folder_rescan(mnt, f);
		msgfile *mf = folder_message_ref(mnt, f, name);
		pthread_mutex_unlock(&mnt->lock);
		if (!mf)
			return ENOENT;
		err = source_open(mnt, mf->relpath, fd);
		if (!err) {
			*out = mf;
			return 0;
		}
		msgfile_unref(mf);
		if (!refind_errno(err))
			break;
	}
	return err == ELOOP || err == EXDEV ? ENOENT : err;
}

int message_stat(mount *mnt, folder *f, const char *name, struct stat *st)
{
	int fd;
	msgfile *mf;
	int err = message_open(mnt, f, name, &fd, &mf);
	if (err)
		return err;
	err = fstat(fd, st) == 0 ? 0 : errno;
	close(fd);
	msgfile_unref(mf);
	return err;
}

int message_read(mount *mnt, folder *f, const char *name, mapper_load_level level,
                 char **data, size_t *len, struct stat *st, msgfile **mf)
{
	int fd;
	int err = message_open(mnt, f, name, &fd, mf);
	if (err)
		return err;
	err = read_fd(fd, level, data, len, st);
	close(fd);
	if (err) {
		msgfile_unref(*mf);
		*mf = NULL;
	}
	return err;
}

/* ---- folders ------------------------------------------------------------- */

static msgfile *msgfile_new(const char *name, const char *relpath, const char *flags, bool in_new)
{
	msgfile *mf = g_atomic_rc_box_new0(msgfile);
	mf->name = g_strdup(name);
	mf->relpath = g_strdup(relpath);
	mf->flags = g_strdup(flags ? flags : "");
	mf->in_new = in_new;
	return mf;
}

static void msgfile_clear(gpointer p)
{
	msgfile *mf = p;
	g_free(mf->name);
	g_free(mf->relpath);
	g_free(mf->flags);
}

msgfile *msgfile_ref(msgfile *mf)
{
	return g_atomic_rc_box_acquire(mf);
}

void msgfile_unref(msgfile *mf)
{
	if (mf)
		g_atomic_rc_box_release_full(mf, msgfile_clear);
}

static void msgfile_unref_cb(gpointer p)
{
	msgfile_unref(p);
}

static folder *folder_new(mount *mnt, const char *path, const char *srcdir, folder_type type)
{
	folder *f = g_hash_table_lookup(mnt->folders, path);
	if (f) {
		f->gone = false;
		f->dirty = true;
		return f;
	}
	f = g_new0(folder, 1);
	f->path = g_strdup(path);
	f->srcdir = g_strdup(srcdir);
	f->type = type;
	g_mutex_init(&f->wlock);
	f->messages = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, msgfile_unref_cb);
	f->subfolders = g_hash_table_new(g_str_hash, g_str_equal);
	f->wd[0] = f->wd[1] = -1;
	g_hash_table_insert(mnt->folders, f->path, f);
	return f;
}

static void folder_free(gpointer p)
{
	folder *f = p;
	g_hash_table_unref(f->messages);
	g_hash_table_unref(f->subfolders);
	g_mutex_clear(&f->wlock);
	g_free(f->path);
	g_free(f->srcdir);
	g_free(f);
}

static char *join(const char *a, const char *b)
{
	return *a ? g_strconcat(a, "/", b, NULL) : g_strdup(b);
}

int mount_open_source(mount *mnt, const char *source)
{
	char *abs = realpath(source, NULL);
	if (!abs)
		return errno;
	struct stat st;
	if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(abs);
		return ENOTDIR;
	}
	mnt->source = g_strdup(abs);
	free(abs);
	mnt->srcfd = open(mnt->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mnt->srcfd < 0)
		return errno;

	/* a Maildir has a cur/ or new/ directory (not a symlink to one) */
	struct stat sub;
	mnt->maildir = fstatat(mnt->srcfd, "cur", &sub, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sub.st_mode);
	if (!mnt->maildir)
		mnt->maildir = fstatat(mnt->srcfd, "new", &sub, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sub.st_mode);

	mnt->folders = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, folder_free);
	mnt->skipped = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	mnt->root = folder_new(mnt, "", "", mnt->maildir ? FOLDER_MAILDIR_ROOT : FOLDER_EML);
	return 0;
}

void mount_folders_free(mount *mnt)
{
	if (mnt->folders)
		g_hash_table_unref(mnt->folders);
	mnt->folders = NULL;
	if (mnt->skipped)
		g_hash_table_unref(mnt->skipped);
	mnt->skipped = NULL;
}

folder *folder_get(mount *mnt, const char *path)
{
	return g_hash_table_lookup(mnt->folders, path);
}

void folder_diff_init(folder_diff *d)
{
	d->added = g_ptr_array_new_with_free_func(g_free);
	d->removed = g_ptr_array_new_with_free_func(g_free);
	d->changed = g_ptr_array_new_with_free_func(g_free);
}

void folder_diff_release(folder_diff *d)
{
	g_ptr_array_unref(d->added);
	g_ptr_array_unref(d->removed);
	g_ptr_array_unref(d->changed);
}

/* What a scan found; built with mount->lock released, from the immutable
 * fields of the folder only. */
typedef struct {
	mount *mnt;
	const folder *f;
	GHashTable *messages;    /* new listing: name -> msgfile* */
	GPtrArray *subdirs;      /* names of subdirectories (eml) or Maildir++ folders */
	GPtrArray *symlinks;     /* source paths skipped as symlinks */
	const char *sub;         /* "cur" or "new" */
	const char *dir;         /* source directory being read */
	bool missing;            /* the folder's directory is gone */
} scan_state;

/* Call @fn for every entry of source directory @rel. */
static int each_entry(mount *mnt, const char *rel, void (*fn)(scan_state *, struct dirent *),
                      scan_state *s)
{
	int fd = open_noatime(mnt->srcfd, rel, O_DIRECTORY);
	if (fd < 0)
		return errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = errno;
		close(fd);
		return err;
	}
	s->dir = rel;
	struct dirent *e;
	while ((e = readdir(d)))
		fn(s, e);
	closedir(d);
	return 0;
}

/* The entry's file type, without following a symlink. */
static unsigned char entry_type(scan_state *s, struct dirent *e)
{
	if (e->d_type != DT_UNKNOWN)
		return e->d_type;
	struct stat st;
	char *p = join(s->dir, e->d_name);
	unsigned char t = DT_UNKNOWN;
	if (fstatat(s->mnt->srcfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0)
		t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
		  : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
	g_free(p);
	return t;
}

static void skip_symlink(scan_state *s, struct dirent *e)
{
	g_ptr_array_add(s->symlinks, join(s->dir, e->d_name));
}

static void add_message(scan_state *s, const char *name, const char *relpath,
                        const char *flags, bool in_new)
{
	msgfile *old = g_hash_table_lookup(s->messages, name);
	/* the same unique name in cur/ and new/ should not happen; cur/ wins */
	if (old && !old->in_new)
		return;
	msgfile *mf = msgfile_new(name, relpath, flags, in_new);
	g_hash_table_replace(s->messages, mf->name, mf);
}

static void scan_maildir_entry(scan_state *s, struct dirent *e)
{
	/* maildir(5): names starting with a dot are not messages */
	if (e->d_name[0] == '.')
		return;
	unsigned char t = entry_type(s, e);
	if (t == DT_LNK) {
		skip_symlink(s, e);
		return;
	}
	if (t != DT_REG)
		return;
	char *name = g_strdup(e->d_name);
	char *info = strstr(name, ":2,");
	const char *flags = "";
	if (info) {
		*info = '\0';
		flags = info + 3;
	}
	char *rel = join(s->dir, e->d_name);
	if (*name)
		add_message(s, name, rel, flags, strcmp(s->sub, "new") == 0);
	g_free(rel);
	g_free(name);
}

static void scan_root_entry(scan_state *s, struct dirent *e)
{
	/* Maildir++: subfolders are ".Name" directories beside cur/ new/ tmp/ */
	if (e->d_name[0] != '.' || !e->d_name[1] || !strcmp(e->d_name, ".."))
		return;
	unsigned char t = entry_type(s, e);
	if (t == DT_LNK)
		skip_symlink(s, e);
	if (t != DT_DIR)
		return;
	g_ptr_array_add(s->subdirs, g_strdup(e->d_name));
}

static void scan_eml_entry(scan_state *s, struct dirent *e)
{
	if (e->d_name[0] == '.')
		return;
	unsigned char t = entry_type(s, e);
	if (t == DT_DIR) {
		g_ptr_array_add(s->subdirs, g_strdup(e->d_name));
		return;
	}
	size_t n = strlen(e->d_name);
	bool eml = n > 4 && g_ascii_strcasecmp(e->d_name + n - 4, ".eml") == 0;
	if (t == DT_LNK) {
		skip_symlink(s, e);
		return;
	}
	if (eml && t == DT_REG) {
		char *name = g_strndup(e->d_name, n - 4);
		char *rel = join(s->dir, e->d_name);
		add_message(s, name, rel, "", false);
		g_free(rel);
		g_free(name);
	}
}

/* Read the folder's directories (mount->lock released). */
static void scan(mount *mnt, const folder *f, scan_state *s)
{
	if (f->type == FOLDER_MAILDIR) {
		static const char *const subs[] = { "cur", "new" };
		for (int i = 0; i < 2; i++) {
			char *rel = join(f->srcdir, subs[i]);
			s->sub = subs[i];
			int err = each_entry(mnt, rel, scan_maildir_entry, s);
			if (err == ELOOP || err == EXDEV)
				g_ptr_array_add(s->symlinks, g_strdup(rel));
			g_free(rel);
		}
	} else if (f->type == FOLDER_MAILDIR_ROOT) {
		each_entry(mnt, "", scan_root_entry, s);
	} else {
		int err = each_entry(mnt, f->srcdir, scan_eml_entry, s);
		if (err == ENOENT)
			s->missing = true;
		else if (err == ELOOP || err == EXDEV)
			g_ptr_array_add(s->symlinks, g_strdup(f->srcdir));
	}
}

/* Whether an unwatched folder changed since its last scan (lock held). */
static bool dirs_changed(mount *mnt, folder *f)
{
	const char *subs[2] = { "cur", "new" };
	int n = f->type == FOLDER_MAILDIR ? 2 : 1;
	bool changed = false;
	for (int i = 0; i < n; i++) {
		char *rel = f->type == FOLDER_MAILDIR ? join(f->srcdir, subs[i]) : g_strdup(f->srcdir);
		struct stat st;
		if (source_stat(mnt, rel, &st) == 0 &&
		    (st.st_mtim.tv_sec != f->dir_mtime[i].tv_sec ||
		     st.st_mtim.tv_nsec != f->dir_mtime[i].tv_nsec)) {
			f->dir_mtime[i] = st.st_mtim;
			changed = true;
		}
		g_free(rel);
	}
	return changed;
}

static void diff_listings(GHashTable *old, GHashTable *new, folder_diff *diff)
{
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, new);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		msgfile *o = g_hash_table_lookup(old, k);
		if (!o)
			g_ptr_array_add(diff->added, g_strdup(k));
		else if (strcmp(o->relpath, ((msgfile *)v)->relpath) != 0)
			g_ptr_array_add(diff->changed, g_strdup(k));
	}
	g_hash_table_iter_init(&it, old);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!g_hash_table_contains(new, k))
			g_ptr_array_add(diff->removed, g_strdup(k));
}

/* Log each symlink once per mount (design.md 8): it is skipped, not an error. */
static void log_symlinks(mount *mnt, GPtrArray *links)
{
	for (guint i = 0; i < links->len; i++) {
		const char *p = links->pdata[i];
		if (g_hash_table_contains(mnt->skipped, p))
			continue;
		if (g_hash_table_size(mnt->skipped) < 100000)
			g_hash_table_add(mnt->skipped, g_strdup(p));
		mapifs_log("%s: a symbolic link, not followed: skipped", p);
	}
}

void folder_refresh(mount *mnt, folder *f, folder_diff *diff)
{
	/* one rescan of a folder at a time; a caller that finds one running
	 * waits for it, then looks again (the watcher may have marked the
	 * folder dirty meanwhile) */
	for (;;) {
		if (f->scanning) {
			pthread_cond_wait(&mnt->scan_cond, &mnt->lock);
			continue;
		}
		bool unwatched = f->wd[0] < 0;
		if (f->scanned && !f->dirty && !(unwatched && dirs_changed(mnt, f)))
			return;
		if (!f->scanned && unwatched)
			dirs_changed(mnt, f); /* remember the directory times */
		break;
	}
	bool first = !f->scanned;
	f->scanning = true;
	f->dirty = false;

	scan_state s = { mnt, f, NULL, g_ptr_array_new_with_free_func(g_free),
	                 g_ptr_array_new_with_free_func(g_free), NULL, NULL, false };
	s.messages = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, msgfile_unref_cb);
	pthread_mutex_unlock(&mnt->lock);
	if (first)
		write_clean_leftovers(mnt, f);
	scan(mnt, f, &s);
	pthread_mutex_lock(&mnt->lock);
	/* readdir(3) may miss a file renamed while it runs (POSIX leaves it
	 * unspecified), and a mail client renames for every flag change: a
	 * message that seems gone is looked for again before it is dropped, so
	 * a rename never makes it vanish for a moment.  Bounded: at most two
	 * more reads of the directories, and only when something went. */
	for (int again = 0; again < 2 && f->type == FOLDER_MAILDIR; again++) {
		GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init(&it, f->messages);
		while (g_hash_table_iter_next(&it, &k, &v))
			if (!g_hash_table_contains(s.messages, k))
				g_ptr_array_add(gone, g_strdup(k));
		if (!gone->len) {
			g_ptr_array_unref(gone);
			break;
		}
		scan_state s2 = { mnt, f, NULL, g_ptr_array_new_with_free_func(g_free),
		                  g_ptr_array_new_with_free_func(g_free), NULL, NULL, false };
		s2.messages = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, msgfile_unref_cb);
		pthread_mutex_unlock(&mnt->lock);
		scan(mnt, f, &s2);
		pthread_mutex_lock(&mnt->lock);
		bool found = false;
		for (guint i = 0; i < gone->len; i++) {
			msgfile *mf = g_hash_table_lookup(s2.messages, gone->pdata[i]);
			if (mf && !g_hash_table_contains(s.messages, mf->name)) {
				g_hash_table_insert(s.messages, mf->name, msgfile_ref(mf));
				found = true;
			}
		}
		g_hash_table_unref(s2.messages);
		g_ptr_array_unref(s2.subdirs);
		g_ptr_array_unref(s2.symlinks);
		g_ptr_array_unref(gone);
		if (!found)
			break;
	}
	f->scanning = false;
	pthread_cond_broadcast(&mnt->scan_cond);

	log_symlinks(mnt, s.symlinks);
	if (s.missing)
		f->gone = true;

	/* subfolders: names in the mount, sorted for stable listings */
	g_ptr_array_sort(s.subdirs, (GCompareFunc)g_strcmp0);
	GHashTable *subs = g_hash_table_new(g_str_hash, g_str_equal);
	if (f->type == FOLDER_MAILDIR_ROOT) {
		folder *inbox = folder_new(mnt, "INBOX", "", FOLDER_MAILDIR);
		g_hash_table_insert(subs, (char *)"INBOX", inbox);
	}
	for (guint i = 0; i < s.subdirs->len; i++) {
		const char *d = s.subdirs->pdata[i];
		folder *sub;
		if (f->type == FOLDER_MAILDIR_ROOT) {
			/* ".Archive.2024" is shown as "Archive.2024"; "INBOX" stays the Maildir itself */
			if (!strcmp(d + 1, "INBOX"))
				continue;
			sub = folder_new(mnt, d + 1, d, FOLDER_MAILDIR);
		} else {
			if (g_hash_table_contains(s.messages, d))
				continue; /* a message "x.eml" beside a folder "x": the folder wins */
			char *path = join(f->path, d), *src = join(f->srcdir, d);
			sub = folder_new(mnt, path, src, FOLDER_EML);
			g_free(path);
			g_free(src);
		}
		g_hash_table_insert(subs, sub->path + (*f->path ? strlen(f->path) + 1 : 0), sub);
	}
	folder_diff local;
	if (!diff) {
		folder_diff_init(&local);
		diff = &local;
	}
	{
		/* folders are reported like messages: added or removed names */
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init(&it, subs);
		while (g_hash_table_iter_next(&it, &k, &v))
			if (!g_hash_table_contains(f->subfolders, k))
				g_ptr_array_add(diff->added, g_strdup(k));
		g_hash_table_iter_init(&it, f->subfolders);
		while (g_hash_table_iter_next(&it, &k, &v))
			if (!g_hash_table_contains(subs, k)) {
				g_ptr_array_add(diff->removed, g_strdup(k));
				((folder *)v)->gone = true;
			}
		diff_listings(f->messages, s.messages, diff);
	}
	/* objects of replaced or vanished files must not be served again */
	for (guint i = 0; i < diff->changed->len; i++)
		cache_drop(mnt, f, diff->changed->pdata[i]);
	for (guint i = 0; i < diff->removed->len; i++)
		cache_drop(mnt, f, diff->removed->pdata[i]);
	/* whoever rescanned, the kernel hears of it (through the watcher) */
	if (!first)
		notify_folder_diff(mnt, f, diff);
	if (diff == &local)
		folder_diff_release(&local);
	g_hash_table_unref(f->subfolders);
	f->subfolders = subs;
	g_hash_table_unref(f->messages);
	f->messages = s.messages;
	g_ptr_array_unref(s.subdirs);
	g_ptr_array_unref(s.symlinks);
	f->scanned = true;
	watch_folder(mnt, f);
}

void folder_rescan(mount *mnt, folder *f)
{
	f->dirty = true;
	folder_refresh(mnt, f, NULL);
}

msgfile *folder_message(mount *mnt, folder *f, const char *name)
{
	folder_refresh(mnt, f, NULL);
	return g_hash_table_lookup(f->messages, name);
}

msgfile *folder_message_ref(mount *mnt, folder *f, const char *name)
{
	msgfile *mf = folder_message(mnt, f, name);
	return mf ? msgfile_ref(mf) : NULL;
}
