/*
 * store.c - the mailbox on disk: its folders and their listings, Maildir
 * names, and the Maildir way of changing a file (tmp/ -> fsync -> rename
 * -> fsync of the directory).  A Maildir (with Maildir++ subfolders) or a
 * tree of .eml files.
 *
 * It reads and changes the source and reports what changed (folder->
 * unsynced); it calls nothing above it: the caches and the kernel hear of a
 * change through sync.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "mapifs.h"

#define TMP_SUFFIX ".mapifs-tmp"

/* ---- message names (maildir(5)) ------------------------------------------ */

/* A message name must be usable as a Maildir unique name (maildir(5): no
 * "/" or ":"; a leading dot hides it) and as an .eml stem. */
bool store_valid_name(const char *name)
{
	if (!*name || name[0] == '.' || strchr(name, ':') || strchr(name, '/') || strlen(name) > 200)
		return false;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		if (*c < 32 || *c == 127)
			return false;
	return true;
}

char *store_eml_stem(const char *file)
{
	size_t n = strlen(file);
	return n > 4 && g_ascii_strcasecmp(file + n - 4, ".eml") == 0 ? g_strndup(file, n - 4) : NULL;
}

/* The length of the message name at the start of Maildir file name @file,
 * which ends at ":2," or at the end: without Dovecot's size fields
 * (",S=<size>", ",W=<size>" last in the base name), which change with the
 * content (issue 13: a rewrite updates them, and the message keeps its
 * name in the mount). */
static size_t maildir_name_len(const char *file)
{
	const char *info = strstr(file, ":2,");
	size_t n = info ? (size_t)(info - file) : strlen(file);
	for (;;) {
		/* one trailing ",S=digits" or ",W=digits" */
		size_t d = n;
		while (d > 0 && g_ascii_isdigit(file[d - 1]))
			d--;
		if (d == n || d < 4 || file[d - 1] != '=' || (file[d - 2] != 'S' && file[d - 2] != 'W') ||
		    file[d - 3] != ',' || d - 3 == 0)
			return n;
		n = d - 3;
	}
}

char *store_message_name(folder_type type, const char *file, const char **flags)
{
	if (flags)
		*flags = "";
	/* maildir(5): names starting with a dot are not messages */
	if (file[0] == '.')
		return NULL;
	if (type == FOLDER_EML)
		return store_eml_stem(file);
	if (type != FOLDER_MAILDIR)
		return NULL;
	const char *info = strstr(file, ":2,");
	if (info && flags)
		*flags = info + 3;
	return g_strndup(file, maildir_name_len(file));
}

/* The backing file of message @name in folder @f with Dovecot size fields
 * @sizes ("" or ",S=1234,W=1260") and @flags: the inverse of
 * store_message_name(). */
static char *target_rel(folder *f, const char *name, const char *sizes, const char *flags,
                        bool in_new)
{
	if (f->type == FOLDER_EML) {
		char *file = g_strconcat(name, ".eml", NULL);
		char *rel = path_join(f->srcdir, file);
		g_free(file);
		return rel;
	}
	/* maildir(5): new/ holds messages without info; flags mean cur/ */
	char *file = in_new ? g_strconcat(name, sizes, NULL) : g_strconcat(name, sizes, ":2,", flags, NULL);
	char *dir = path_join(f->srcdir, in_new ? "new" : "cur");
	char *rel = path_join(dir, file);
	g_free(dir);
	g_free(file);
	return rel;
}

/* Flag letters: the ones mapper computes for "DFPRST", the others kept. */
void store_merge_flags(const char *old, const char *computed, char out[64])
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

/* ---- folders ------------------------------------------------------------- */

/* One block for the entry and its three strings. */
static msgfile *msgfile_new(const char *name, const char *relpath, const char *flags, bool in_new)
{
	flags = flags ? flags : "";
	size_t n = strlen(name) + 1, r = strlen(relpath) + 1, fl = strlen(flags) + 1;
	msgfile *mf = g_atomic_rc_box_alloc0(sizeof *mf + n + r + fl);
	char *text = (char *)(mf + 1);
	mf->name = memcpy(text, name, n);
	mf->relpath = memcpy(text + n, relpath, r);
	mf->flags = memcpy(text + n + r, flags, fl);
	mf->in_new = in_new;
	return mf;
}

msgfile *msgfile_ref(msgfile *mf)
{
	return g_atomic_rc_box_acquire(mf);
}

void msgfile_unref(msgfile *mf)
{
	if (mf)
		g_atomic_rc_box_release(mf);
}

/* The flags of a Maildir file name's suffix (maildir(5): after ":2,"). */
static const char *suffix_flags(const folder *f, const char *suffix)
{
	const char *info = f->type != FOLDER_EML ? strstr(suffix, ":2,") : NULL;
	return info ? info + 3 : "";
}

/* The Dovecot size fields at the start of @suffix (what follows a message
 * name in its file name), up to ":2,".  Caller frees. */
static char *suffix_sizes(const char *suffix)
{
	const char *info = strstr(suffix, ":2,");
	return info ? g_strndup(suffix, (gsize)(info - suffix)) : g_strdup(suffix);
}

/* What follows message @name in the last component of @relpath. */
static const char *rel_suffix(const char *relpath, const char *name)
{
	const char *base = strrchr(relpath, '/');
	base = base ? base + 1 : relpath;
	size_t n = strlen(name);
	/* always so: target_rel() and the scan make the file name from the name */
	return strncmp(base, name, n) == 0 ? base + n : "";
}

char *folder_entry_relpath(const folder *f, const msgent *e)
{
	/* path_join()'s form: "dir/file", or "file" in the root; in one
	 * allocation, since every request for a message makes one */
	const char *sub = f->type == FOLDER_EML ? "" : e->in_new ? "new/" : "cur/";
	return g_strconcat(f->srcdir, *f->srcdir ? "/" : "", sub, e->name, e->suffix, NULL);
}

static bool eat(const char **p, const char *s)
{
	size_t n = strlen(s);
	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

bool folder_lists_file(const folder *f, const char *name, const char *relpath)
{
	msgent e;
	if (!msgtab_get(f->messages, name, &e))
		return false;
	/* folder_entry_relpath(), compared piece by piece without a copy */
	const char *p = relpath;
	if (*f->srcdir && !(eat(&p, f->srcdir) && eat(&p, "/")))
		return false;
	if (f->type != FOLDER_EML && !eat(&p, e.in_new ? "new/" : "cur/"))
		return false;
	return eat(&p, e.name) && eat(&p, e.suffix) && !*p;
}

static msgfile *msgfile_from(const folder *f, const msgent *e)
{
	char *rel = folder_entry_relpath(f, e);
	msgfile *mf = msgfile_new(e->name, rel, suffix_flags(f, e->suffix), e->in_new);
	g_free(rel);
	return mf;
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
	f->messages = msgtab_new();
	f->subfolders = g_hash_table_new(g_str_hash, g_str_equal);
	f->wd[0] = f->wd[1] = -1;
	g_hash_table_insert(mnt->folders, f->path, f);
	return f;
}

static void folder_free(gpointer p)
{
	folder *f = p;
	msgtab_free(f->messages);
	g_hash_table_unref(f->subfolders);
	folder_diff_free(f->unsynced);
	g_mutex_clear(&f->wlock);
	g_free(f->path);
	g_free(f->srcdir);
	g_free(f);
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
	msgtab *messages;        /* the new listing */
	GPtrArray *subdirs;      /* subdirectories that are folders: a kind letter
	                          * (M Maildir, H holds Maildirs, E .eml files)
	                          * and the directory name */
	GPtrArray *symlinks;     /* source paths skipped as symlinks */
	const char *sub;         /* "cur" or "new" */
	const char *dir;         /* source directory being read */
	bool missing;            /* the folder's directory is gone */
	bool size_hint;          /* size the listing from the directories' sizes */
} scan_state;

/* Call @fn for every entry of source directory @rel. */
static int each_entry(mount *mnt, const char *rel, void (*fn)(scan_state *, struct dirent *),
                      scan_state *s)
{
	int fd;
	int err = source_open_listing(mnt, rel, &fd);
	if (err)
		return err;
	DIR *d = fdopendir(fd);
	if (!d) {
		err = errno;
		close(fd);
		return err;
	}
	s->dir = rel;
	/* room for the directory's entries at once, not by doubling (issue 11
	 * row 5): on a first scan from the directory's size (ext4 and xfs
	 * take some 60-75 bytes an entry, btrfs more, tmpfs 20), later from
	 * the listing it replaces (folder_refresh) */
	struct stat st;
	if (s->size_hint && fstat(fd, &st) == 0 && st.st_size > 0)
		msgtab_reserve(s->messages, msgtab_count(s->messages) + (size_t)st.st_size / 64);
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
	char *p = path_join(s->dir, e->d_name);
	unsigned char t = DT_UNKNOWN;
	if (fstatat(s->mnt->srcfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0)
		t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
		  : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
	g_free(p);
	return t;
}

static void skip_symlink(scan_state *s, struct dirent *e)
{
	g_ptr_array_add(s->symlinks, path_join(s->dir, e->d_name));
}

/* The message of file @file of the directory being read, named by its
 * first @name_len bytes. */
static void add_message(scan_state *s, const char *file, size_t name_len, bool in_new)
{
	if (in_new) {
		/* cur/ is read first; the same unique name in cur/ and new/
		 * should not happen, and then cur/ wins */
		char *name = g_strndup(file, name_len);
		msgent old;
		bool in_cur = msgtab_get(s->messages, name, &old) && !old.in_new;
		g_free(name);
		if (in_cur)
			return;
	}
	msgtab_put_file(s->messages, file, name_len, in_new);
}

static void scan_maildir_entry(scan_state *s, struct dirent *e)
{
	/* store_message_name() without a copy: a folder may hold a million */
	if (e->d_name[0] == '.')
		return;
	size_t name_len = maildir_name_len(e->d_name);
	unsigned char t = entry_type(s, e);
	if (t == DT_LNK)
		skip_symlink(s, e);
	if (t == DT_REG && name_len)
		add_message(s, e->d_name, name_len, strcmp(s->sub, "new") == 0);
}

/* ---- which directories are folders ---------------------------------------- */

/* maildir(5): a Maildir is a directory with cur/ and new/ (tmp/ is only
 * for deliveries); one of them, a real directory, is enough to read it. */
static bool is_maildir(mount *mnt, const char *rel)
{
	static const char *const subs[] = { "cur", "new" };
	for (int i = 0; i < 2; i++) {
		char *p = path_join(rel, subs[i]);
		struct stat st;
		bool yes = source_stat(mnt, p, &st) == 0 && S_ISDIR(st.st_mode);
		g_free(p);
		if (yes)
			return true;
	}
	return false;
}

static bool is_maildir_part(const char *name)
{
	return !strcmp(name, "cur") || !strcmp(name, "new") || !strcmp(name, "tmp");
}

/* How deep, and through how many entries in all, holds_maildirs() looks for
 * a Maildir below a plain directory: mbsync and offlineimap nest folders a
 * few levels ("lists/linux/kernel"); a tree such as .notmuch/xapian/ or a
 * hostile one costs a bounded look, not a walk of everything. */
#define MAILDIR_SEARCH_DEPTH 4
#define MAILDIR_SEARCH_ENTRIES 4096

/* Whether a Maildir (or, with @eml, a .eml file) lies below plain
 * directory @rel (itself not one), within @depth more levels and *@budget
 * more entries.  Without @eml, hidden entries and Maildir parts are passed
 * over, as they hold no folder. */
static bool search_below(mount *mnt, const char *rel, int depth, size_t *budget, bool eml)
{
	int fd;
	if (depth <= 0 || source_open_listing(mnt, rel, &fd) != 0)
		return false;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	bool found = false;
	struct dirent *e;
	while (!found && *budget && (e = readdir(d))) {
		(*budget)--;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (eml && e->d_type != DT_DIR && g_str_has_suffix(e->d_name, ".eml")) {
			found = true;
			break;
		}
		if ((!eml && (e->d_name[0] == '.' || is_maildir_part(e->d_name))) ||
		    (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		char *p = path_join(rel, e->d_name);
		struct stat st;
		if (source_stat(mnt, p, &st) == 0 && S_ISDIR(st.st_mode))
			found = is_maildir(mnt, p) || search_below(mnt, p, depth - 1, budget, eml);
		g_free(p);
	}
	closedir(d);
	return found;
}

static bool holds_maildirs(mount *mnt, const char *rel, int depth, size_t *budget)
{
	return search_below(mnt, rel, depth, budget, false);
}

bool mount_source_holds_mail(mount *mnt)
{
	size_t budget = MAILDIR_SEARCH_ENTRIES;
	return mnt->maildir || search_below(mnt, "", MAILDIR_SEARCH_DEPTH, &budget, true);
}

/* Subdirectory @name of the directory being read becomes a folder when it
 * is a Maildir ("M" + name in s->subdirs) or, unless @maildir_only, holds
 * Maildirs below it ("H"); anything else (.notmuch, an attachment store)
 * is not mail and stays hidden. */
static void add_maildir_subdir(scan_state *s, const char *name, bool maildir_only)
{
	char *rel = path_join(s->dir, name);
	size_t budget = MAILDIR_SEARCH_ENTRIES;
	char kind = is_maildir(s->mnt, rel) ? 'M'
	            : !maildir_only && holds_maildirs(s->mnt, rel, MAILDIR_SEARCH_DEPTH, &budget) ? 'H'
	            : 0;
	g_free(rel);
	if (kind)
		g_ptr_array_add(s->subdirs, g_strdup_printf("%c%s", kind, name));
}

static void scan_root_entry(scan_state *s, struct dirent *e)
{
	/* Maildir++: subfolders are ".Name" Maildirs beside cur/ new/ tmp/;
	 * mbsync, offlineimap and notmuch users have plain "name/" ones too */
	const char *n = e->d_name;
	if (!strcmp(n, ".") || !strcmp(n, "..") || is_maildir_part(n))
		return;
	unsigned char t = entry_type(s, e);
	if (t == DT_LNK)
		skip_symlink(s, e);
	if (t == DT_DIR)
		add_maildir_subdir(s, n, n[0] == '.');
}

/* An entry of a plain directory that is a Maildir or holds some: only
 * the Maildirs below it are folders. */
static void scan_plain_entry(scan_state *s, struct dirent *e)
{
	const char *n = e->d_name;
	if (n[0] == '.' || is_maildir_part(n))
		return;
	unsigned char t = entry_type(s, e);
	if (t == DT_LNK)
		skip_symlink(s, e);
	if (t == DT_DIR)
		add_maildir_subdir(s, n, false);
}

static void scan_eml_entry(scan_state *s, struct dirent *e)
{
	if (e->d_name[0] == '.')
		return;
	unsigned char t = entry_type(s, e);
	if (t == DT_DIR) {
		/* a Maildir in a tree of .eml files (a notmuch root) is one */
		char *rel = path_join(s->dir, e->d_name);
		char kind = is_maildir(s->mnt, rel) ? 'M' : 'E';
		g_free(rel);
		g_ptr_array_add(s->subdirs, g_strdup_printf("%c%s", kind, e->d_name));
		return;
	}
	if (t == DT_LNK) {
		skip_symlink(s, e);
		return;
	}
	char *name = t == DT_REG ? store_message_name(FOLDER_EML, e->d_name, NULL) : NULL;
	if (name) {
		add_message(s, e->d_name, strlen(name), false);
		g_free(name);
	}
}

/* Read the folder's directories (mount->lock released). */
static void scan(mount *mnt, const folder *f, scan_state *s)
{
	if (f->type == FOLDER_MAILDIR) {
		static const char *const subs[] = { "cur", "new" };
		for (int i = 0; i < 2; i++) {
			char *rel = path_join(f->srcdir, subs[i]);
			s->sub = subs[i];
			int err = each_entry(mnt, rel, scan_maildir_entry, s);
			if (err == ELOOP || err == EXDEV)
				g_ptr_array_add(s->symlinks, g_strdup(rel));
			g_free(rel);
		}
		/* a Maildir in a plain directory may hold more below it (not the
		 * root's INBOX, nor a Maildir++ folder: theirs are at the root) */
		if (f->srcdir[0] && f->srcdir[0] != '.')
			each_entry(mnt, f->srcdir, scan_plain_entry, s);
	} else if (f->type == FOLDER_MAILDIR_ROOT) {
		each_entry(mnt, "", scan_root_entry, s);
	} else if (f->type == FOLDER_MAILDIR_DIR) {
		if (each_entry(mnt, f->srcdir, scan_plain_entry, s) == ENOENT)
			s->missing = true;
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
		char *rel = f->type == FOLDER_MAILDIR ? path_join(f->srcdir, subs[i]) : g_strdup(f->srcdir);
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

static void diff_listings(const msgtab *old, const msgtab *new, folder_diff *diff)
{
	size_t pos = 0;
	msgent e, o;
	while (msgtab_next(new, &pos, &e)) {
		if (!msgtab_get(old, e.name, &o))
			g_ptr_array_add(diff->added, g_strdup(e.name));
		else if (o.in_new != e.in_new || strcmp(o.suffix, e.suffix) != 0)
			g_ptr_array_add(diff->changed, g_strdup(e.name));   /* another file */
	}
	pos = 0;
	while (msgtab_next(old, &pos, &o))
		if (!msgtab_get(new, o.name, NULL))
			g_ptr_array_add(diff->removed, g_strdup(o.name));
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

static void scan_state_init(scan_state *s, mount *mnt, const folder *f)
{
	*s = (scan_state){ .mnt = mnt, .f = f, .messages = msgtab_new(),
	                   .subdirs = g_ptr_array_new_with_free_func(g_free),
	                   .symlinks = g_ptr_array_new_with_free_func(g_free) };
}

static void scan_state_release(scan_state *s)
{
	msgtab_free(s->messages);
	g_ptr_array_unref(s->subdirs);
	g_ptr_array_unref(s->symlinks);
}

/*
 * readdir(3) may miss a file renamed while it runs (POSIX leaves it
 * unspecified), and a mail client renames for every flag change: a message
 * of the old listing that seems gone from the new one @s is looked for
 * again before it is dropped, so a rename never makes it vanish for a
 * moment.  Bounded: at most two more reads of the directories, and only
 * when something went.  mount->lock held, released while reading.
 */
static void refind_gone(mount *mnt, folder *f, scan_state *s)
{
	for (int again = 0; again < 2 && f->type == FOLDER_MAILDIR; again++) {
		GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
		size_t pos = 0;
		msgent e;
		while (msgtab_next(f->messages, &pos, &e))
			if (!msgtab_get(s->messages, e.name, NULL))
				g_ptr_array_add(gone, g_strdup(e.name));
		if (!gone->len) {
			g_ptr_array_unref(gone);
			break;
		}
		scan_state s2;
		scan_state_init(&s2, mnt, f);
		pthread_mutex_unlock(&mnt->lock);
		scan(mnt, f, &s2);
		pthread_mutex_lock(&mnt->lock);
		bool found = false;
		for (guint i = 0; i < gone->len; i++) {
			if (msgtab_get(s2.messages, gone->pdata[i], &e) && !msgtab_get(s->messages, e.name, NULL)) {
				msgtab_put(s->messages, e.name, e.suffix, e.in_new);
				found = true;
			}
		}
		scan_state_release(&s2);
		g_ptr_array_unref(gone);
		if (!found)
			break;
	}
}

static gint subdir_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a + 1, *(const char *const *)b + 1);
}

/* The subfolders the scan @s found, as a new table of @f's subfolders:
 * mount name -> folder* (lock held). */
static GHashTable *subfolders_found(mount *mnt, folder *f, scan_state *s)
{
	/* sorted by name for stable listings (after the kind letter) */
	g_ptr_array_sort(s->subdirs, subdir_cmp);
	GHashTable *subs = g_hash_table_new(g_str_hash, g_str_equal);
	if (f->type == FOLDER_MAILDIR_ROOT) {
		folder *inbox = folder_new(mnt, "INBOX", "", FOLDER_MAILDIR);
		g_hash_table_insert(subs, (char *)"INBOX", inbox);
	}
	for (guint i = 0; i < s->subdirs->len; i++) {
		const char *entry = s->subdirs->pdata[i];
		char kind = entry[0];
		const char *d = entry + 1;
		/* ".Archive.2024" (Maildir++) is shown as "Archive.2024" */
		const char *name = f->type == FOLDER_MAILDIR_ROOT && d[0] == '.' ? d + 1 : d;
		/* "INBOX" stays the Maildir itself; a message "x.eml" beside a
		 * folder "x" gives way to it; of ".x" and "x", the first stays */
		if ((f->type == FOLDER_MAILDIR_ROOT && !strcmp(name, "INBOX")) ||
		    g_hash_table_contains(subs, name))
			continue;
		if (kind == 'E' && msgtab_get(s->messages, name, NULL))
			continue;
		folder_type type = kind == 'E' ? FOLDER_EML : kind == 'H' ? FOLDER_MAILDIR_DIR : FOLDER_MAILDIR;
		char *path = path_join(f->path, name), *src = path_join(f->srcdir, d);
		folder *sub = folder_new(mnt, path, src, type);
		g_free(path);
		g_free(src);
		g_hash_table_insert(subs, sub->path + (*f->path ? strlen(f->path) + 1 : 0), sub);
	}
	return subs;
}

/* Folders are reported like messages: added or removed names. */
static void diff_subfolders(GHashTable *old, GHashTable *new, folder_diff *diff)
{
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, new);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!g_hash_table_contains(old, k))
			g_ptr_array_add(diff->added, g_strdup(k));
	g_hash_table_iter_init(&it, old);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!g_hash_table_contains(new, k)) {
			g_ptr_array_add(diff->removed, g_strdup(k));
			((folder *)v)->gone = true;
		}
}

static void diff_append(folder_diff *to, const folder_diff *from)
{
	GPtrArray *const src[] = { from->added, from->removed, from->changed };
	GPtrArray *const dst[] = { to->added, to->removed, to->changed };
	for (int l = 0; l < 3; l++)
		for (guint i = 0; i < src[l]->len; i++)
			g_ptr_array_add(dst[l], g_strdup(src[l]->pdata[i]));
}

static void clean_leftovers(mount *mnt, folder *f);

/* Tell whoever listens on mnt->wake_pipe (the watcher thread, which passes
 * the changes on through sync.c) that a rescan left changes in a folder's
 * unsynced list: a rescan made inside a read must reach the kernel as soon
 * as one made by the watcher. */
static void announce_unsynced(mount *mnt)
{
	char x = 1;
	/* a full pipe already says so; no pipe (no watcher): sync_folder()
	 * passes them on at the next look at the folder */
	if (mnt->wake_pipe[1] >= 0 && write(mnt->wake_pipe[1], &x, 1) < 0 && errno != EAGAIN)
		mapifs_error("cannot wake the watcher: %s", g_strerror(errno));
}

/* Whether @f must be read again (lock held); waits for a rescan that runs. */
static bool needs_scan(mount *mnt, folder *f)
{
	/* one rescan of a folder at a time; a caller that finds one running
	 * waits for it, then looks again (the watcher may have marked the
	 * folder dirty meanwhile) */
	while (f->scanning)
		pthread_cond_wait(&mnt->scan_cond, &mnt->lock);
	bool unwatched = f->wd[0] < 0;
	if (f->scanned && !f->dirty && !(unwatched && dirs_changed(mnt, f)))
		return false;
	if (!f->scanned && unwatched)
		dirs_changed(mnt, f); /* remember the directory times */
	return true;
}

void folder_refresh(mount *mnt, folder *f, folder_diff *diff)
{
	if (!needs_scan(mnt, f))
		return;
	bool first = !f->scanned;
	f->scanning = true;
	f->dirty = false;

	scan_state s;
	scan_state_init(&s, mnt, f);
	s.size_hint = first;
	msgtab_reserve(s.messages, msgtab_count(f->messages));
	pthread_mutex_unlock(&mnt->lock);
	if (first)
		clean_leftovers(mnt, f);
	scan(mnt, f, &s);
	pthread_mutex_lock(&mnt->lock);
	refind_gone(mnt, f, &s);
	f->scanning = false;
	pthread_cond_broadcast(&mnt->scan_cond);

	log_symlinks(mnt, s.symlinks);
	if (s.missing)
		f->gone = true;

	GHashTable *subs = subfolders_found(mnt, f, &s);
	/* what a first scan finds is new to nobody (and not worth a copy of
	 * every name of a big folder); later changes wait in unsynced for
	 * sync.c to tell the caches and the kernel */
	folder_diff d;
	folder_diff_init(&d);
	diff_subfolders(f->subfolders, subs, &d);   /* marks vanished ones gone */
	if (!first || diff) {
		diff_listings(f->messages, s.messages, &d);
		if (diff)
			diff_append(diff, &d);
		if (!first && (d.added->len || d.removed->len || d.changed->len))
			mnt->changes++;   /* what examine.c worked out is stale */
		if (!first) {
			if (!f->unsynced) {
				f->unsynced = g_new(folder_diff, 1);
				folder_diff_init(f->unsynced);
			}
			diff_append(f->unsynced, &d);
			announce_unsynced(mnt);
		}
	}
	folder_diff_release(&d);
	g_hash_table_unref(f->subfolders);
	f->subfolders = subs;
	msgtab_free(f->messages);
	f->messages = s.messages;
	s.messages = NULL;
	scan_state_release(&s);
	f->scanned = true;
}

msgfile *folder_peek_ref(folder *f, const char *name)
{
	msgent e;
	return msgtab_get(f->messages, name, &e) ? msgfile_from(f, &e) : NULL;
}

folder_diff *folder_take_unsynced(folder *f)
{
	folder_diff *d = f->unsynced;
	f->unsynced = NULL;
	return d;
}

void folder_diff_free(folder_diff *d)
{
	if (!d)
		return;
	folder_diff_release(d);
	g_free(d);
}

static void folder_rescan(mount *mnt, folder *f)
{
	f->dirty = true;
	folder_refresh(mnt, f, NULL);
}

static msgfile *folder_message_ref(mount *mnt, folder *f, const char *name)
{
	folder_refresh(mnt, f, NULL);
	return folder_peek_ref(f, name);
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
	err = source_read_fd(fd, level, data, len, st);
	close(fd);
	if (err) {
		msgfile_unref(*mf);
		*mf = NULL;
	}
	return err;
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
		char *rel = path_join(f->srcdir, file);
		g_free(file);
		return rel;
	}
	/* maildir(5) unique-name shape, marked as ours for the cleanup */
	char *file = g_strdup_printf("%ld.M%ldP%ldQ%u%s", (long)tv.tv_sec, (long)tv.tv_usec,
	                             (long)getpid(), n, TMP_SUFFIX);
	char *dir = path_join(f->srcdir, "tmp");
	char *rel = path_join(dir, file);
	g_free(dir);
	g_free(file);
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
/* Write all @len bytes of @data to @fd. */
static int write_all(int fd, const void *data, size_t len)
{
	const char *c = data;
	while (len) {
		ssize_t w = write(fd, c, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno;
		c += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copy @src from byte @from to its end onto the end of @fd: in the
 * kernel (copy_file_range) where the file systems allow, else through a
 * buffer. */
static int copy_tail(int src, off_t from, int fd)
{
	loff_t in = from;
	for (;;) {
		ssize_t n = copy_file_range(src, &in, fd, NULL, 1 << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return errno;
		break;   /* not between these two: copy it ourselves */
	}
	char *buf = g_malloc(1 << 16);
	int err = 0;
	for (;;) {
		ssize_t n = pread(src, buf, 1 << 16, in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			break;
		}
		in += n;
		err = write_all(fd, buf, (size_t)n);
		if (err)
			break;
	}
	g_free(buf);
	return err;
}

/* A new file in @f's tmp/ holding @data and then, when @src >= 0, @src
 * from byte @from on; fsync'ed.  *@rel is its path. */
static int write_tmp_from(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                          int src, off_t from, mode_t mode, char **rel)
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
	if (!err)
		err = write_all(fd, data, len);
	if (!err && src >= 0)
		err = copy_tail(src, from, fd);
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

static int write_tmp(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                     mode_t mode, char **rel)
{
	return write_tmp_from(mnt, f, name, data, len, -1, 0, mode, rel);
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

bool store_same_version(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* ---- the listing after our own changes ------------------------------------ */

/* Record in f->unsynced that @name was added, removed or changed (lock held). */
static void note_change(mount *mnt, folder *f, int what, const char *name)
{
	if (!f->unsynced) {
		f->unsynced = g_new(folder_diff, 1);
		folder_diff_init(f->unsynced);
	}
	GPtrArray *list = what > 0 ? f->unsynced->added : what < 0 ? f->unsynced->removed
	                                                         : f->unsynced->changed;
	g_ptr_array_add(list, g_strdup(name));
	mnt->changes++;
}

/*
 * A change we made is put into @f's listing at once, as a rescan would
 * have found it (issue 11: an edit must not read the whole folder again).
 * @relpath NULL: @name is gone.  A rescan running meanwhile may have read
 * the directory before the change: the folder is then read again at the
 * next look.
 */
static void listing_update(mount *mnt, folder *f, const char *name, const char *relpath,
                           bool in_new)
{
	pthread_mutex_lock(&mnt->lock);
	bool had = msgtab_get(f->messages, name, NULL);
	if (!relpath) {
		if (had) {
			note_change(mnt, f, -1, name);
			msgtab_remove(f->messages, name);
		}
	} else if (!had || !folder_lists_file(f, name, relpath)) {
		note_change(mnt, f, had ? 0 : 1, name);
		msgtab_put(f->messages, name, rel_suffix(relpath, name), in_new);
	}
	if (f->scanning)
		f->dirty = true;
	pthread_mutex_unlock(&mnt->lock);
}

/*
 * Replace message @mf of @f: new content @data (NULL: keep the bytes) and
 * flags @flags (NULL: keep them).  The rename for the flags comes first, so
 * a crash in between leaves the old content under the new flags, complete.
 * The folder's wlock is held; @mf is a reference of the caller's.
 */
int store_replace(mount *mnt, folder *f, const msgfile *mf, const void *data, size_t len,
                  const char *flags, mode_t mode)
{
	return store_replace_from(mnt, f, mf, data, len, -1, 0, flags, mode);
}

/* Count the line feeds of @d that no carriage return precedes; *@cr says
 * whether the byte before @d was one, and is left so for the next piece. */
static uint64_t bare_lfs(const char *d, size_t n, bool *cr)
{
	uint64_t count = 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\n' && !*cr)
			count++;
		*cr = d[i] == '\r';
	}
	return count;
}

/* The Dovecot size fields for a file made of @data and then @src from
 * @from on, in the form of @old (",S=...,W=..." or ""): S= its size, W= its
 * size with CRLF line ends (Dovecot's "virtual size").  Caller frees. */
static char *new_sizes(const char *old, const char *data, size_t len, int src, off_t from)
{
	if (!*old)
		return g_strdup("");
	uint64_t size = len, lfs = 0;
	bool cr = false, want_w = strstr(old, ",W=") != NULL;
	if (want_w)
		lfs = bare_lfs(data, len, &cr);
	if (src >= 0) {
		struct stat st;
		if (fstat(src, &st) == 0 && st.st_size > from)
			size += (uint64_t)(st.st_size - from);
		char buf[65536];
		ssize_t n;
		for (off_t at = from; want_w && (n = pread(src, buf, sizeof buf, at)) > 0; at += n)
			lfs += bare_lfs(buf, (size_t)n, &cr);
	}
	GString *out = g_string_new(NULL);
	/* the fields in the order the old name had them */
	for (const char *c = strchr(old, ','); c; c = strchr(c + 1, ','))
		if (c[1] == 'S' || c[1] == 'W')
			g_string_append_printf(out, ",%c=%" G_GUINT64_FORMAT, c[1],
			                       c[1] == 'S' ? size : size + lfs);
	return g_string_free(out, FALSE);
}

int store_replace_from(mount *mnt, folder *f, const msgfile *mf, const void *data, size_t len,
                       int src, off_t from, const char *flags, mode_t mode)
{
	bool in_new = mf->in_new;
	char *rel = g_strdup(mf->relpath);
	int err = 0;
	char *tmp = NULL;
	if (data)
		err = write_tmp_from(mnt, f, mf->name, data, len, src, from, mode, &tmp);
	/* issue 13: Dovecot's ,S= and ,W= say the new size; the message keeps
	 * its name, which is the file's without them */
	char *old_sizes = suffix_sizes(rel_suffix(rel, mf->name));
	char *sizes = data && f->type != FOLDER_EML ? new_sizes(old_sizes, data, len, src, from)
	              : g_strdup(old_sizes);
	if (!flags)
		flags = mf->flags;
	if (!err && f->type != FOLDER_EML &&
	    (strcmp(flags, mf->flags) != 0 || strcmp(sizes, old_sizes) != 0)) {
		/* a message with flags has been seen: it lives in cur/ */
		in_new = in_new && !*flags;
		char *to = target_rel(f, mf->name, sizes, flags, in_new);
		err = move_file(mnt, rel, to, false);
		g_free(rel);
		rel = to;
		if (!err)
			listing_update(mnt, f, mf->name, rel, in_new);
	}
	if (!err && tmp)
		err = move_file(mnt, tmp, rel, false);
	if (err && tmp)
		unlink_rel(mnt, tmp);
	g_free(tmp);
	g_free(sizes);
	g_free(old_sizes);
	g_free(rel);
	return err;
}

/* Make new message @name of @f from @data: through a temporary file, then
 * renamed to its place without replacing anything (maildir(5) delivery).
 * The folder's wlock is held. */
char *store_unique_name(mount *mnt)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int64_t us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	/* two names made in one microsecond would be the same: the time of
	 * each name is at least a microsecond after the last one's */
	pthread_mutex_lock(&mnt->lock);
	if (us <= mnt->last_unique_us)
		us = mnt->last_unique_us + 1;
	mnt->last_unique_us = us;
	pthread_mutex_unlock(&mnt->lock);
	char host[HOST_NAME_MAX + 1];
	if (gethostname(host, sizeof host) != 0)
		host[0] = '\0';
	host[HOST_NAME_MAX] = '\0';
	/* maildir(5): '/' and ':' of the host name are written \057 and \072 */
	GString *h = g_string_new(NULL);
	for (const unsigned char *c = (const unsigned char *)host; *c; c++) {
		if (*c == '/' || *c == ':')
			g_string_append_printf(h, "\\%03o", *c);
		else if (*c > ' ' && *c < 0x7f)
			g_string_append_c(h, (char)*c);
	}
	if (!h->len)
		g_string_append(h, "localhost");
	char *name = g_strdup_printf("%" G_GINT64_FORMAT ".M%" G_GINT64_FORMAT "P%ld.%s",
	                             us / 1000000, us % 1000000, (long)getpid(), h->str);
	g_string_free(h, TRUE);
	return name;
}

int store_create(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                 const char *flags, bool in_new)
{
	char *tmp = NULL;
	int err = write_tmp(mnt, f, name, data, len, 0600, &tmp);
	if (!err) {
		char *to = target_rel(f, name, "", flags, in_new);
		err = move_file(mnt, tmp, to, true);
		if (err)
			unlink_rel(mnt, tmp);
		else
			listing_update(mnt, f, name, to, in_new);
		g_free(to);
	}
	g_free(tmp);
	return err;
}

int store_delete(mount *mnt, folder *f, const msgfile *mf)
{
	int err = unlink_rel(mnt, mf->relpath);
	if (err)
		mapifs_error("%s: cannot delete: %s", mf->relpath, g_strerror(err));
	else
		listing_update(mnt, f, mf->name, NULL, false);
	return err;
}

int store_move(mount *mnt, folder *from, const msgfile *mf, folder *to, const char *newname)
{
	bool in_new = mf->in_new && from->type != FOLDER_EML;
	/* the same content: its Dovecot size fields stay */
	char *sizes = suffix_sizes(rel_suffix(mf->relpath, mf->name));
	char *newrel = target_rel(to, newname, sizes, mf->flags, in_new);
	g_free(sizes);
	int err = move_file(mnt, mf->relpath, newrel, true);
	if (err) {
		mapifs_error("%s: cannot move to %s: %s", mf->relpath, newrel, g_strerror(err));
	} else {
		listing_update(mnt, from, mf->name, NULL, false);
		listing_update(mnt, to, newname, newrel, in_new);
	}
	g_free(newrel);
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
		char *p = path_join(rel, e->d_name);
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
static void clean_leftovers(mount *mnt, folder *f)
{
	if (mnt->readonly)
		return;
	if (f->type == FOLDER_MAILDIR) {
		char *tmp = path_join(f->srcdir, "tmp");
		clean_dir(mnt, tmp, false);
		g_free(tmp);
	} else if (f->type == FOLDER_EML) {
		clean_dir(mnt, f->srcdir, true);
	}
}

