/*
 * mapifs.h - the daemon's internal interfaces, file by file in layer
 * order: each file of fs/ uses only the files listed before it (a test,
 * tests/layers.py, checks this on the object files), and mapper/ below all.
 *
 *   base.c    the log, mapper status -> errno, path joins
 *   source.c  opening and reading files below the source root, no symlinks
 *   audit.c   -o audit=FILE: the custody log of a forensic mount
 *   store.c   folders, listings, Maildir names, tmp/ -> fsync -> rename
 *   inode.c   the inode table
 *   cache.c   parsed message objects, reference counted, LRU
 *   sync.c    a change of the source -> cache drops, kernel notifications
 *   watch.c   the inotify thread
 *   certs.c   certificates/: learning the map from every signed message
 *   examine.c timeline.body and duplicates/ at the root, for examiners
 *   write.c   edit transactions
 *   ops.c     the FUSE operations
 *   main.c    options, the mount, the session loop
 *
 * Errors are 0 or a positive errno in every function of fs/ that returns
 * an int, unless its comment says otherwise.
 *
 * Threads.  Requests are served by libfuse's multi-threaded loop (one
 * thread with -s); a watcher thread follows the source tree with inotify and
 * sends every kernel notification that names a directory entry; a
 * read-ahead thread (prefetch.c) parses messages into the cache.  The
 * read-ahead queue has its own lock, a leaf like mount->lock and never
 * taken together with it.
 *
 * Locks, and what each protects (take them in this order, never the other
 * way; mount->lock is a leaf: nothing else is taken while it is held):
 *
 *   folder->wlock   the changes to one folder's files: edits, deliveries,
 *                   deletions and moves of its messages (a move between two
 *                   folders takes both, lower address first).  Held across
 *                   the parse and export of the message being changed, so
 *                   it blocks writers of that folder only, never a reader.
 *   mount->certs_lock  certificates_learn(): one walk of the mailbox at a
 *                   time, so a listing of certificates/ sees all of it.
 *                   Readers of messages never take it.
 *   mount->examine.lock  examine.c: the timeline and the duplicates, and
 *                   the walk that works them out (held across parses of
 *                   every message: only lookers at those wait for it).
 *   whandle->lock   one open-for-write file's buffer and state.
 *   cached->use     one cached message object: mapper objects are not
 *                   thread-safe (mapper.h), so every mapper call on it, and
 *                   the copy of what it returns, happens under this lock.
 *                   A parse, verification or decryption holds only this.
 *   mount->lock     every table: folders and their listings, inodes, the
 *                   cache index and LRU, open_writes, learned, the pending
 *                   kernel notifications.  Held for table operations only:
 *                   never across reading a message file, a directory scan,
 *                   a parse, a verification, a decryption, or a kernel
 *                   notification (the kernel may wait on one of our
 *                   requests while it handles one).
 *
 * Lifetimes of pointers handed out (the rule of each is repeated where it
 * is declared):
 *   folder*     owned by the mount, never freed before unmount: may be kept
 *               anywhere, used under mount->lock.
 *   msgfile*    immutable and reference counted, made for the caller from
 *               the listing (folder_peek_ref, message_open): the caller's
 *               reference, dropped with msgfile_unref().
 *   msgent      points into folder->messages: valid only while mount->lock
 *               is held and no folder_refresh()/sync_folder() or change of
 *               the listing happened since.
 *   folder_diff* from folder_take_unsynced(): the caller's, freed with
 *               folder_diff_free().
 *   node*       owned by the inode table, valid while mount->lock is held;
 *               copy its fields (node_ref) before releasing the lock.
 *   cached*     reference counted (cache_get/cache_put); its message stays
 *               valid while a reference is held, even after eviction.
 */
#ifndef MAPIFS_H
#define MAPIFS_H

#define FUSE_USE_VERSION 312

#include <stdio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>
#include <glib.h>
#include <openssl/types.h>

#include "mapper.h"
#include "msgtab.h"

/* ---- base.c: the bottom of fs/ --------------------------------------------- */

/* Logging: one line to stderr, or syslog once daemonised.
 * mapifs_log is for what a user may want to know (a message that did not
 * convert cleanly, a refused edit, a skipped symlink); mapifs_error is for
 * a failure of the daemon or the system (a store that failed, a source
 * that cannot be read): "mapifs: error: ..." and LOG_ERR.  Control
 * characters in the text are shown as \xNN. */
void mapifs_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void mapifs_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
extern bool mapifs_use_syslog;
/* Log to syslog from now on (a daemon has no stderr). */
void mapifs_open_syslog(void);
/* -o log=FILE: append log lines, with time and pid, to @path (0 or an
 * errno); the log goes there rather than to stderr or syslog. */
int mapifs_open_logfile(const char *path);
extern FILE *mapifs_log_file;
/* The errno for a mapper status: the one translation in fs/. */
int mapper_errno(mapper_status st);
/* "dir/name", or "name" when @dir is "" (the root); caller frees. */
char *path_join(const char *dir, const char *name);

/* ---- the source tree (store.c) ---------------------------------------------- */

typedef enum {
	FOLDER_MAILDIR_ROOT, /* mount root of a Maildir: INBOX, Maildir++ folders
	                      * and Maildirs in plain subdirectories */
	FOLDER_MAILDIR,      /* a Maildir: messages from cur/ and new/ (and,
	                      * when a plain directory, the Maildirs below it) */
	FOLDER_MAILDIR_DIR,  /* a plain directory with Maildirs below it, no
	                      * messages of its own (mbsync's "lists/") */
	FOLDER_EML,          /* a directory of .eml files and subdirectories */
} folder_type;

/* Whether messages can be stored in a folder of type @t. */
static inline bool folder_type_holds_messages(folder_type t)
{
	return t == FOLDER_MAILDIR || t == FOLDER_EML;
}


/* One message file of a folder listing, as a request works with it: made
 * from the listing's entry when asked for (folder_peek_ref), immutable,
 * reference counted (msgfile_ref/msgfile_unref).  It names the file the
 * listing had when it was made, so it stays valid after the listing
 * changes. */
typedef struct msgfile {
	char *name;      /* directory name in the mount (the Maildir unique name) */
	char *relpath;   /* backing file relative to the source root */
	char *flags;     /* Maildir flag letters after ":2," ("" if none) */
	bool in_new;
} msgfile;

msgfile *msgfile_ref(msgfile *mf);
void msgfile_unref(msgfile *mf);

/* A folder of the mount; owned by the mount and never freed before unmount,
 * so a folder pointer may be kept anywhere.  Fields below wlock are
 * protected by mount->lock. */
typedef struct folder {
	char *path;             /* mount path: "" (root), "INBOX", "Archive.2024", "a/b" (immutable) */
	char *srcdir;           /* source directory relative to the source root ("" = root) (immutable) */
	folder_type type;       /* immutable */
	GMutex wlock;           /* serialises changes to this folder's files (see top) */
	bool scanned;
	bool scanning;          /* a rescan runs with mount->lock released */
	bool dirty;             /* set by the watcher; rescan before use */
	bool gone;              /* removed from the source */
	msgtab *messages;       /* the message files, packed */
	GHashTable *subfolders; /* name -> folder* (owned by the mount) */
	struct folder_diff *unsynced; /* changes found by rescans that sync.c has
	                               * not passed on yet (NULL if none), owned */
	int wd[2];              /* inotify watches (-1 if none) */
	struct timespec dir_mtime[2]; /* when unwatched: rescan when these change */
} folder;

/* What a rescan changed, for the kernel notifications. */
struct folder_diff {
	GPtrArray *added;    /* names (char*), owned */
	GPtrArray *removed;
	GPtrArray *changed;  /* same name, other backing file */
};
typedef struct folder_diff folder_diff;

/* ---- inodes (inode.c) ----------------------------------------------------- */

typedef enum {
	NODE_FOLDER,   /* a folder, including the root */
	NODE_MESSAGE,  /* a message object directory */
	NODE_INNER,    /* a path inside a message object */
	NODE_EML,      /* message.eml of a top-level message */
	NODE_NEWFILE,  /* a file being copied into a folder, until it is delivered */
	NODE_CERTS,    /* certificates/ at the mount root (design.md 5) */
	NODE_CERT,     /* certificates/<address>.pem */
	NODE_HASHES,   /* "hashes" of a top-level message (inner NULL) or of an
	                * attachment row of it (inner "attachments/N"; issue 14) */
	NODE_EXAMINE,  /* timeline.body, duplicates/ and below (examine.c) */
} node_kind;

/* An inode: owned by the inode table and freed when the kernel forgets it,
 * so a node* is valid only while mount->lock is held. */
typedef struct node {
	fuse_ino_t ino;
	uint64_t nlookup;
	node_kind kind;
	char *path;          /* mount path, "" for the root */
	folder *folder;      /* the folder, or the message's folder */
	char *msgname;       /* NODE_MESSAGE, NODE_INNER, NODE_EML */
	const char *inner;   /* NODE_INNER: path inside the message (points into path) */
	/* NODE_INNER: what getattr last worked out (its kind, size, whether
	 * decrypted) and a key of the message file it came from; answered
	 * again without the message object while the file is the same
	 * (inode_memo_get).  Small: a mount may hold millions of nodes. */
	uint64_t memo_key;   /* 0: nothing remembered */
	uint64_t memo_size;
	bool memo_dir, memo_private;
	/* the file's text too when it is at most MEMO_TEXT_MAX bytes (most
	 * property files: numbers, times, names, subjects), so that the READ
	 * which follows a LOOKUP needs no message object either */
	char *memo_text;
	/* in mount->node_lru (data == this node) unless a folder, the
	 * certificates or a file being delivered: those are never trimmed */
	GList lru;
} node;

/* ---- the mount ----------------------------------------------------------- */

/* How modes and owners are shown (design.md 8). */
typedef struct access_opts {
	bool set_uid, set_gid, set_umask;
	uid_t uid;
	gid_t gid;
	mode_t umask;
	bool share_decrypted;  /* decrypted content follows the others' rules */
	bool allow_other;
} access_opts;

/* examine.c: what was worked out for examiners, and when (design.md 9). */
typedef struct examine_state {
	GMutex lock;                /* see the top of this file */
	int timeline_fd;            /* unlinked temporary file, or -1 */
	uint64_t timeline_size;
	uint64_t timeline_stamp;    /* mount->changes it was made at */
	struct timespec timeline_made;
	bool dups_made;
	uint64_t dups_stamp;
	struct timespec dups_time;
	GHashTable *dups[2];        /* by Message-ID, by SHA-256: groups of 2+ */
} examine_state;

typedef struct mount {
	pthread_mutex_t lock;       /* the table lock (see the top of this file) */
	pthread_cond_t scan_cond;   /* a folder rescan ended (with lock) */
	char *source;               /* absolute path of SOURCE (immutable) */
	int srcfd;                  /* O_PATH descriptor of SOURCE (immutable) */
	bool maildir;               /* SOURCE is a Maildir, else a tree of .eml files */
	bool readonly;              /* -o ro / --forensic */
	struct fuse_session *se;
	uid_t uid;                  /* the mounting user (the daemon's) */
	gid_t gid;
	access_opts access;

	GHashTable *folders;        /* path -> folder*, owned */
	folder *root;

	GHashTable *nodes_by_path;  /* path -> node*, owned */
	GTree *nodes_sorted;        /* the same pairs in path order (inode.c) */
	GQueue node_lru;            /* nodes that may be trimmed, last looked up first */
	unsigned max_inodes;        /* -o max_inodes: trim beyond this many */
	size_t cache_max_bytes;     /* -o cache_mb: cache.c's budget in bytes */
	bool trimmed;               /* entries were queued to trim (sync.c) */
	GHashTable *nodes_by_ino;   /* ino -> node* */

	GHashTable *cache;          /* "folder\nname" -> cached* (one reference) */
	GQueue lru;                 /* of cached*, most recent at the head */
	size_t cache_weight;
	pthread_cond_t cache_cond;  /* a load finished (with lock) */

	GHashTable *open_writes;    /* mount path -> whandle* open for writing */
	GHashTable *errors;         /* message mount path -> its last failed change
	                             * (char*, user.mapifs.error), under lock */
	/* Every open handle, so that those the kernel never released (the
	 * daemon ended with a file or directory open) are freed at exit. */
	GHashTable *open_handles;   /* whandle* set */
	GHashTable *open_dirs;      /* listing* set (ops.c) */

	mapper_crypto *crypto;      /* keys, trust anchors, the certificate map (thread-safe) */
	GMutex certs_lock;          /* see the top of this file */
	GHashTable *learned;        /* backing paths whose S/MIME was evaluated */
	GHashTable *skipped;        /* source paths skipped as symlinks (logged once) */
	unsigned tmp_counter;       /* for unique temporary file names */
	int64_t last_unique_us;     /* the time in the last store_unique_name() */

	int inotify_fd;
	GHashTable *watches;        /* wd -> folder* */
	int stop_pipe[2];
	int wake_pipe[2];           /* wakes the watcher: notifications queued, or
	                             * changes left in a folder's unsynced list */
	GArray *pending;            /* of inval: notifications for the watcher to send */
	pthread_t watcher;
	bool watcher_running;
	struct prefetcher *prefetch; /* prefetch.c; NULL when not started */
	bool ino_moved;             /* an inode number was moved by a collision (inode.c) */
	uint64_t changes;           /* counts changes of listings (store.c, watch.c) */
	examine_state examine;
} mount;

/* Per-mount limits of the message cache: objects of evicted messages are
 * rebuilt on demand (identically, so inode numbers and names stay).  The
 * bytes (mount->cache_max_bytes, -o cache_mb) are memory the objects hold
 * (mapper_message_footprint): header-only objects (5-10 KB each) of some
 * 8,000 messages fit in the default 64 MiB, while a few big full ones
 * cannot push the daemon past its budget (issue 11: 256 MiB in all, with
 * the inodes of -o max_inodes). */
#define CACHE_MAX_ENTRIES 65536

/* source.c: files relative to the source root.  Never follow a symlink in
 * any component (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), never
 * change an atime (O_NOATIME where allowed).  No lock needed. */
int source_open(mount *mnt, const char *relpath, int *fd);
/* A directory, for the *at() calls that change files in it. */
int source_open_dir(mount *mnt, const char *reldir, int *fd);
/* A directory, for reading its entries (O_NOATIME). */
int source_open_listing(mount *mnt, const char *reldir, int *fd);
int source_stat(mount *mnt, const char *relpath, struct stat *st);
/* Read the whole file (level FULL) or its header block (HEADERS) from
 * @fd; *@data is the caller's (g_free). */
int source_read_fd(int fd, mapper_load_level level, char **data, size_t *len, struct stat *st);
/* MD5, SHA-1 and SHA-256 at once (design.md 9; issue 14), in hex. */
#define DIGEST_COUNT 3
typedef struct {
	char md5[33];
	char sha1[41];
	char sha256[65];
} digest_hex;
typedef struct {
	EVP_MD_CTX *ctx[DIGEST_COUNT];
} digests;
void digests_init(digests *d);
void digests_update(digests *d, const void *data, size_t len);
void digests_final(digests *d, digest_hex *out);
/* The "hashes" file of @name: md5sum/sha1sum/sha256sum --tag lines. */
char *digests_text(const digest_hex *h, const char *name);
/* The digests of the source file @relpath, read once. */
int source_digests(mount *mnt, const char *relpath, digest_hex *out);

/* audit.c: -o audit=FILE, the custody log of a forensic mount (issue 14).
 * Thread-safe; each record is one line, synced at once. */
int audit_open(const char *path);
bool audit_on(void);
void audit_close(void);
/* The mount: source, options, time and the hash of the source's listing. */
void audit_mount(mount *mnt, const char *mountpoint, const char *options);
/* A refused change: operation @op on mount path @path, by @uid / @pid. */
void audit_refused(const char *op, const char *path, uid_t uid, pid_t pid, int err);
void audit_unmount(void);

/* store.c: the mailbox on disk.  Calls nothing above it: a rescan records
 * what changed in folder->unsynced, for sync.c. */
int mount_open_source(mount *mnt, const char *source);
/* Whether the source is a Maildir or has a Maildir or .eml file within a
 * few levels (a bounded look, for the warning at start). */
bool mount_source_holds_mail(mount *mnt);
void mount_folders_free(mount *mnt);
/* Make sure @f's listing is current; appends to @diff (may be NULL) what
 * changed, and records it in f->unsynced too (except on the first scan).
 * Called with mount->lock held; releases it while it reads directories,
 * so every msgfile* taken before is void afterwards.  Use sync_folder()
 * above store.c, so that the caches and the kernel hear of it. */
void folder_refresh(mount *mnt, folder *f, folder_diff *diff);
/* Message @name as the listing has it now, without looking at the source
 * again; a reference the caller drops (lock held), or NULL. */
msgfile *folder_peek_ref(folder *f, const char *name);
/* The source path of listing entry @e of @f, allocated. */
char *folder_entry_relpath(const folder *f, const msgent *e);
/* Whether @relpath is the file the listing of @f now has for @name. */
bool folder_lists_file(const folder *f, const char *name, const char *relpath);
/* The changes not yet passed on, now the caller's (lock held); NULL if none. */
folder_diff *folder_take_unsynced(folder *f);
void folder_diff_init(folder_diff *d);
void folder_diff_release(folder_diff *d);
void folder_diff_free(folder_diff *d);
/* Open message @name of @f for reading, looking again when another program
 * renamed its file (a flag change) since the last scan.  Lock NOT held. On
 * success *@mf holds a reference to the file's listing entry. */
int message_open(mount *mnt, folder *f, const char *name, int *fd, msgfile **mf);
int message_stat(mount *mnt, folder *f, const char *name, struct stat *st);
/* message_open, then read the whole file or its header block. */
int message_read(mount *mnt, folder *f, const char *name, mapper_load_level level,
                 char **data, size_t *len, struct stat *st, msgfile **mf);

/* Maildir names (maildir(5)).  The message name of file @file in a folder
 * of @type: the Maildir unique name before ":2," (*@flags, may be NULL,
 * points at the letters after it in @file), or the .eml stem; NULL for a
 * file that is not a message.  Caller frees. */
char *store_message_name(folder_type type, const char *file, const char **flags);
/* "x" for "x.eml" (any case), else NULL.  Caller frees. */
char *store_eml_stem(const char *file);
/* Usable as a Maildir unique name and as an .eml stem. */
bool store_valid_name(const char *name);
/* Flag letters: @computed for "DFPRST", other letters of @old kept, in
 * ASCII order. */
void store_merge_flags(const char *old, const char *computed, char out[64]);
/* Whether two stats are the same version of a file. */
bool store_same_version(const struct stat *a, const struct stat *b);

/* Changing messages, each through tmp/ -> fsync -> rename -> fsync of the
 * directories (maildir(5); Dovecot's maildir-save.c), each file reached
 * through a directory opened without following symlinks.  The folder's
 * wlock is held; mount->lock is not.  The folder's listing is updated at
 * once (and the change recorded in its unsynced list, as a rescan would);
 * the caches and the kernel hear of it when the caller calls
 * sync_message_changed(). */
/* Replace message @mf: new content @data (NULL: keep the bytes) and flags
 * @flags (NULL: keep them); the rename for the flags comes first, so a
 * crash in between leaves the old content under the new flags. */
int store_replace(mount *mnt, folder *f, const msgfile *mf, const void *data, size_t len,
                  const char *flags, mode_t mode);
/* store_replace() of a message whose new text is @data followed by the
 * file @src (open on the version being replaced) from byte @from on. */
int store_replace_from(mount *mnt, folder *f, const msgfile *mf, const void *data, size_t len,
                       int src, off_t from, const char *flags, mode_t mode);
/* A fresh maildir(5) unique name for a new message: "time.MusecPpid.host",
 * never the same twice in this daemon. */
char *store_unique_name(mount *mnt);
/* A new message @name, never replacing one (maildir(5) delivery). */
int store_create(mount *mnt, folder *f, const char *name, const void *data, size_t len,
                 const char *flags, bool in_new);
int store_delete(mount *mnt, folder *f, const msgfile *mf);
/* Move @mf of @from to @to as @newname, never replacing one (both wlocks). */
int store_move(mount *mnt, folder *from, const msgfile *mf, folder *to, const char *newname);

/* inode.c (all with mount->lock held) */
fuse_ino_t inode_number(const char *path);
/* The inode number entry @name of directory @dir has, or will get (lock
 * held); no allocation while no number was ever moved by a collision. */
fuse_ino_t inode_entry_number(mount *mnt, const char *dir, const char *name);
void inodes_init(mount *mnt);
void inodes_free(mount *mnt);
node *inode_get(mount *mnt, fuse_ino_t ino);
node *inode_find_path(mount *mnt, const char *path);
/* Find or create the child node @name of @parent, taking one lookup. */
node *inode_child(mount *mnt, node *parent, const char *name, node_kind kind, folder *f);
void inode_forget(mount *mnt, fuse_ino_t ino, uint64_t n);
/* A message directory moved: nodes under @from now live under @to. */
void inode_rename(mount *mnt, const char *from, const char *to, folder *f, const char *msgname);
/* What getattr worked out for a property node, apart from what the
 * message file's own stat gives. */
#define MEMO_TEXT_MAX 160
typedef struct inner_memo {
	uint64_t size;
	bool dir, private;
	bool has_text;              /* text holds the file's size bytes */
	char text[MEMO_TEXT_MAX];
} inner_memo;
/* The memo of the node at @path, if it was worked out from the file @src,
 * named @relpath (the same inode, size, times, mode and owner, and the
 * same name: Maildir flags are part of it). */
bool inode_memo_get(mount *mnt, const char *path, const struct stat *src, const char *relpath,
                    inner_memo *memo);
/* Whether the node at @path has a memo of any version (a cheap test
 * before the stat that inode_memo_get needs). */
bool inode_has_memo(mount *mnt, const char *path);
/* Remember @memo for the node at @path (if the kernel knows it). */
void inode_memo_set(mount *mnt, const char *path, const struct stat *src, const char *relpath,
                    const inner_memo *memo);
/* One entry the kernel is asked to forget (to trim the inode table). */
typedef struct trim_entry {
	fuse_ino_t parent;
	char *name;           /* owned */
} trim_entry;
/* Whether the table holds so many trimmable nodes that some should go
 * (well past max_inodes, so that trimming comes in batches). */
bool inode_over_budget(mount *mnt);
/* The least recently looked up nodes beyond max_inodes, as entries for
 * the kernel to forget (appended to @out, of trim_entry); each is moved
 * to the front, so it is asked once per round.  The nodes go when the
 * kernel's FORGET comes. */
void inode_trim_candidates(mount *mnt, GArray *out);
/* Inodes at or under mount path @prefix (for invalidation). */
GArray *inodes_under(mount *mnt, const char *prefix);

/* A copy of what a request needs of a node, usable without the lock. */
typedef struct node_ref {
	fuse_ino_t ino;
	node_kind kind;
	char *path;
	folder *folder;
	char *msgname;
	char *inner;
} node_ref;
void node_ref_set(node_ref *r, const node *n);
void node_ref_clear(node_ref *r);

/* cache.c: reference-counted message objects.  Called WITHOUT mount->lock
 * (they take it for the table only; a load runs unlocked). */
typedef struct cached cached;
/* The message object of @name in @f at @level or better; NULL with *err
 * set.  *@st (may be NULL) receives the backing file's stat at load. */
cached *cache_get(mount *mnt, folder *f, const char *name, mapper_load_level level,
                  struct stat *st, int *err);
void cache_put(mount *mnt, cached *c);
/* The level an object must have to answer for path @inner of a message:
 * its first component decides whether the headers suffice. */
mapper_load_level cache_level_for(const char *inner);
/* The backing file the object was read from (relative to the source root),
 * as the folder listing named it; valid while the reference is held. */
const char *cache_source(const cached *c);
/* Lock the object for mapper calls (see the top); returns the message. */
mapper_message *cache_lock(cached *c);
void cache_unlock(cached *c);
void cache_init(mount *mnt);
void cache_free(mount *mnt);
/* Forget the object of @name (lock held). */
void cache_drop(mount *mnt, folder *f, const char *name);
/* @size bytes at @off of file @inner of @c, the object of @name in @f, when
 * mapper_message_read() gave MAPPER_DEFERRED for it: read from the message
 * file, which must still be the one @c was loaded from (else ESTALE, and
 * @c is forgotten, so that the next request loads the message anew). */
int cache_read_deferred(mount *mnt, folder *f, const char *name, cached *c, const char *inner,
                        size_t size, off_t off, char **out, size_t *outlen);

/* prefetch.c: parse the next messages of a folder walked in listing order.
 * A name_order is the sorted message names of a folder's listing, shared
 * (reference counted) by the listing and the prefetcher. */
typedef struct name_order name_order;
/* Takes @names (sorted by strcmp, a g_malloc'ed array) and the arrays
 * @keep1, @keep2 (may be NULL) holding what the names point into, which
 * it unrefs when it goes. */
name_order *order_new(char **names, size_t count, GPtrArray *keep1, GPtrArray *keep2);
name_order *order_ref(name_order *o);
void order_unref(gpointer o);
/* Start the worker (after fork); its error number, or 0. */
int prefetch_start(mount *mnt);
void prefetch_stop(mount *mnt);
/* @o is the order in which @f was last listed. */
void prefetch_set_order(mount *mnt, folder *f, name_order *o);
/* A lookup or first read of @inner inside message @name of @f. */
void prefetch_looked_into(mount *mnt, folder *f, const char *name, const char *inner);

/* sync.c: bring the caches and the kernel in step with the source. */
void sync_init(mount *mnt);
void sync_free(mount *mnt);
/* folder_refresh(), then pass what it and any earlier rescan changed on:
 * drop the cached objects of changed and removed messages, queue the
 * kernel notifications, and watch @f's directories (lock held; released
 * while reading, as folder_refresh). */
void sync_folder(mount *mnt, folder *f, folder_diff *diff);
/* Pass on what rescans left in every folder's unsynced list (lock held). */
void sync_unsynced(mount *mnt);
/* sync_folder(), then message @name with a reference, or NULL (lock held). */
msgfile *sync_message_ref(mount *mnt, folder *f, const char *name);
/* Files of @names in @f were replaced under the same names (lock held). */
void sync_rewritten(mount *mnt, folder *f, GPtrArray *names);
/* We changed message @name of @f (store.c updated the listing): drop its
 * object, pass the listing's changes on, invalidate the attributes under
 * it and of the folder (lock NOT held). */
void sync_message_changed(mount *mnt, folder *f, const char *name);
/* The inode table is over its budget: ask the kernel to forget the least
 * recently looked up entries (queued for the watcher; lock held). */
void sync_trim_inodes(mount *mnt);
/* Attributes of every inode at or under mount path @path are stale: sent
 * at once (attributes only, which takes no kernel lock; lock NOT held). */
void sync_attrs_under(mount *mnt, const char *path);
/* Add inotify watches for @f's directories, once (lock held). */
void sync_watch(mount *mnt, folder *f);
/* Forget watch @wd of @f (may be NULL); @remove: also tell inotify. */
void sync_unwatch(mount *mnt, folder *f, int wd, bool remove);
/* Send every queued notification (the watcher thread; lock NOT held). */
void sync_send_pending(mount *mnt);

/* watch.c: the watcher thread */
int watch_init(mount *mnt);
int watch_start(mount *mnt);
void watch_stop(mount *mnt);

/* certs.c: the certificate map at the mount root (design.md 5) */
#define CERTIFICATES_DIR "certificates"
/* Evaluate every S/MIME message not seen yet, so the map learns from all
 * signed mail in the mailbox; cheap once done (headers of new files only).
 * Lock NOT held. */
void certificates_learn(mount *mnt);

/* examine.c: for examiners at the mount root (design.md 9).  Lock NOT held. */
#define TIMELINE_FILE "timeline.body"
#define DUPLICATES_DIR "duplicates"
/* Whether @name at the root is one of examine.c's. */
bool examine_root_entry(const char *name);
void examine_init(examine_state *x);
void examine_free(examine_state *x);
typedef struct examine_entry {
	mode_t type;             /* S_IFREG, S_IFDIR or S_IFLNK */
	uint64_t size;
	char *target;            /* S_IFLNK: where it points (g_free) */
	struct timespec mtime;   /* the newest change of the mailbox it shows
	                          * (0: not worked out yet) */
} examine_entry;
/* The entry at mount path @path ("timeline.body", "duplicates/..."),
 * working out what it shows if the mailbox changed since. */
int examine_lookup(mount *mnt, const char *path, examine_entry *e);
/* The names in directory @path, sorted, and for each a type in @types
 * (1 a directory, 2 a symbolic link). */
int examine_list(mount *mnt, const char *path, GPtrArray *names, GArray *types);
/* @size bytes at @off of the timeline (as its last stat showed it). */
int examine_read(mount *mnt, const char *path, size_t size, off_t off, char **out,
                 size_t *outlen);

/* write.c: the write path (design.md 4).  Called WITHOUT mount->lock. */
typedef enum {
	WH_PROP,       /* a property file */
	WH_EML,        /* message.eml: the whole message */
	WH_DELIVERY,   /* a new file in a folder: a message being delivered */
} wh_kind;
typedef struct whandle whandle;
int write_open(mount *mnt, const node_ref *n, int flags, whandle **out);
int write_create(mount *mnt, const node_ref *parent, const char *name, whandle **out, node_kind *kind);
int write_data(mount *mnt, whandle *h, const char *data, size_t size, off_t off);
/* The last failed change of the message at mount path @msgpath, new
 * (g_free), or NULL (issue 13: readable without the log). */
char *write_last_error(mount *mnt, const char *msgpath);
int write_truncate(whandle *h, off_t size);
int write_flush(mount *mnt, whandle *h);
/* Apply a pending change whatever was written (release, fsync). */
int write_apply(mount *mnt, whandle *h);
void write_release(mount *mnt, whandle *h);
/* The size of the open handle writing @path, if any (what stat shows);
 * lock held. */
bool write_pending_size(mount *mnt, const char *path, size_t *size);
int write_read(whandle *h, size_t size, off_t off, char **out, size_t *outlen);
int write_setsize(mount *mnt, const node_ref *n, off_t size);
int write_mkdir(mount *mnt, const node_ref *parent, const char *name);
int write_rmdir(mount *mnt, const node_ref *parent, const char *name);
int write_rename(mount *mnt, const node_ref *parent, const char *name, const node_ref *newparent,
                 const char *newname, unsigned int flags);
/* Free the handles still open when the session ended (no lock, one thread). */
void write_free_leftover_handles(mount *mnt);

/* ops.c */
void ops_free_leftover_listings(mount *mnt);
extern const struct fuse_lowlevel_ops mapifs_ops;

#endif /* MAPIFS_H */
