/*
 * mapifs.h - the daemon's internal interfaces.
 *
 * Threads: the FUSE session loop runs in one thread and a watcher thread
 * follows the source tree with inotify.  Both take mount->lock around every
 * access to the folder table, the inode table and the message cache; kernel
 * notifications are sent only with the lock released, because the kernel may
 * wait on a request of ours while it handles them.
 *
 * Ownership: the mount owns its folders (never freed before unmount, so a
 * folder pointer held by an inode stays valid), its inodes (freed when the
 * kernel forgets them) and the cached message objects (evicted LRU).
 */
#ifndef MAPIFS_H
#define MAPIFS_H

#define FUSE_USE_VERSION 34

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <fuse_lowlevel.h>
#include <glib.h>

#include "mapper.h"

/* ---- source tree (mailbox.c) -------------------------------------------- */

typedef enum {
	FOLDER_MAILDIR_ROOT, /* mount root of a Maildir: INBOX + Maildir++ folders */
	FOLDER_MAILDIR,      /* a Maildir: messages from cur/ and new/ */
	FOLDER_EML,          /* a directory of .eml files and subdirectories */
} folder_type;

typedef struct msgfile {
	char *name;      /* directory name in the mount (the Maildir unique name) */
	char *relpath;   /* backing file relative to the source root */
	char *flags;     /* Maildir flag letters after ":2," ("" if none) */
	bool in_new;
} msgfile;

typedef struct folder {
	char *path;             /* mount path: "" (root), "INBOX", "Archive.2024", "a/b" */
	char *srcdir;           /* source directory relative to the source root ("" = root) */
	folder_type type;
	bool scanned;
	bool dirty;             /* set by the watcher; rescan before use */
	bool gone;              /* removed from the source */
	GHashTable *messages;   /* name -> msgfile*, owned */
	GHashTable *subfolders; /* name -> folder* (owned by the mount) */
	int wd[2];              /* inotify watches (-1 if none) */
	struct timespec dir_mtime[2]; /* when unwatched: rescan when these change */
} folder;

/* What a rescan changed, for the watcher's kernel notifications. */
typedef struct folder_diff {
	GPtrArray *added;    /* names (char*), owned */
	GPtrArray *removed;
	GPtrArray *changed;  /* same name, other backing file */
} folder_diff;

/* ---- inodes (inode.c) ----------------------------------------------------- */

typedef enum {
	NODE_FOLDER,   /* a folder, including the root */
	NODE_MESSAGE,  /* a message object directory */
	NODE_INNER,    /* a path inside a message object */
	NODE_EML,      /* message.eml of a top-level message */
	NODE_NEWFILE,  /* a file being copied into a folder, until it is delivered */
	NODE_CERTS,    /* certificates/ at the mount root (design.md 5) */
	NODE_CERT,     /* certificates/<address>.pem */
} node_kind;

typedef struct node {
	fuse_ino_t ino;
	uint64_t nlookup;
	node_kind kind;
	char *path;          /* mount path, "" for the root */
	folder *folder;      /* the folder, or the message's folder */
	char *msgname;       /* NODE_MESSAGE, NODE_INNER, NODE_EML */
	const char *inner;   /* NODE_INNER: path inside the message (points into path) */
} node;

/* ---- the mount ----------------------------------------------------------- */

typedef struct mount {
	pthread_mutex_t lock;
	char *source;               /* absolute path of SOURCE */
	int srcfd;                  /* O_PATH descriptor of SOURCE */
	bool maildir;               /* SOURCE is a Maildir, else a tree of .eml files */
	bool readonly;              /* -o ro / --forensic */
	struct fuse_session *se;
	uid_t uid;
	gid_t gid;

	GHashTable *folders;        /* path -> folder*, owned */
	folder *root;

	GHashTable *nodes_by_path;  /* path -> node*, owned */
	GHashTable *nodes_by_ino;   /* ino -> node* */

	GHashTable *cache;          /* "folder\nname" -> cached*, owned */
	GQueue lru;                 /* of cached*, most recent at the head */
	size_t cache_weight;

	GHashTable *open_writes;    /* mount path -> whandle* open for writing */

	mapper_crypto *crypto;      /* keys, trust anchors, the certificate map */
	GHashTable *learned;        /* backing paths whose S/MIME was evaluated */
	unsigned tmp_counter;       /* for unique temporary file names */

	int inotify_fd;
	GHashTable *watches;        /* wd -> folder* */
	int stop_pipe[2];
	pthread_t watcher;
	bool watcher_running;
} mount;

/* Per-mount limits of the message cache: objects of evicted messages are
 * rebuilt on demand (identically, so inode numbers and names stay). */
#define CACHE_MAX_ENTRIES 2048
#define CACHE_MAX_BYTES (256u << 20)

/* log.c-less logging: one line to stderr (or syslog once daemonised). */
void mapifs_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
extern bool mapifs_use_syslog;

/* mailbox.c */
int mount_open_source(mount *mnt, const char *source);
folder *folder_get(mount *mnt, const char *path);
/* Make sure @f's listing is current; fills @diff (may be NULL) with changes. */
void folder_refresh(mount *mnt, folder *f, folder_diff *diff);
msgfile *folder_message(mount *mnt, folder *f, const char *name);
void folder_diff_init(folder_diff *d);
void folder_diff_release(folder_diff *d);
void mount_folders_free(mount *mnt);
int source_open(mount *mnt, const char *relpath);
int source_stat(mount *mnt, const char *relpath, struct stat *st);
/* Read the whole file (level FULL) or its header block (HEADERS). */
int source_read(mount *mnt, const char *relpath, mapper_load_level level,
                char **data, size_t *len, struct stat *st);
int source_sha256(mount *mnt, const char *relpath, char hex[65]);

/* inode.c */
fuse_ino_t inode_number(const char *path);
void inodes_init(mount *mnt);
void inodes_free(mount *mnt);
node *inode_get(mount *mnt, fuse_ino_t ino);
node *inode_find_path(mount *mnt, const char *path);
/* Find or create the child node @name of @parent, taking one lookup. */
node *inode_child(mount *mnt, node *parent, const char *name, node_kind kind, folder *f);
void inode_forget(mount *mnt, fuse_ino_t ino, uint64_t n);
/* A message directory moved: nodes under @from now live under @to. */
void inode_rename(mount *mnt, const char *from, const char *to, folder *f, const char *msgname);
/* Inodes at or under mount path @prefix (for invalidation). */
GArray *inodes_under(mount *mnt, const char *prefix);

/* cache.c */
void cache_init(mount *mnt);
void cache_free(mount *mnt);
/* The message object of @mf at @level or better; NULL with *err set. The
 * object stays valid until the lock is released. */
mapper_message *cache_message(mount *mnt, folder *f, msgfile *mf,
                              mapper_load_level level, struct stat *st, int *err);
void cache_drop(mount *mnt, folder *f, const char *name);

/* certs.c: the certificate map at the mount root (design.md 5) */
#define CERTIFICATES_DIR "certificates"
/* Evaluate every S/MIME message not seen yet, so the map learns from all
 * signed mail in the mailbox; cheap once done (headers of new files only). */
void certificates_learn(mount *mnt);

/* watch.c */
int watch_init(mount *mnt);
void watch_folder(mount *mnt, folder *f);
int watch_start(mount *mnt);
void watch_stop(mount *mnt);

/* write.c: the write path (design.md 4).  Errors are positive errnos. */
typedef enum {
	WH_PROP,       /* a property file */
	WH_EML,        /* message.eml: the whole message */
	WH_DELIVERY,   /* a new file in a folder: a message being delivered */
} wh_kind;
typedef struct whandle whandle;
int write_open(mount *mnt, node *n, int flags, whandle **out);
int write_create(mount *mnt, node *parent, const char *name, whandle **out, node_kind *kind);
int write_data(whandle *h, const char *data, size_t size, off_t off);
int write_truncate(whandle *h, off_t size);
int write_flush(mount *mnt, whandle *h);
/* Apply a pending change whatever was written (release, fsync). */
int write_apply(mount *mnt, whandle *h);
void write_release(mount *mnt, whandle *h);
/* The open handle writing @path, if any (its size is what stat shows). */
whandle *write_handle_for(mount *mnt, const char *path);
size_t write_handle_size(const whandle *h);
int write_read(whandle *h, size_t size, off_t off, char **out, size_t *outlen);
int write_setsize(mount *mnt, node *n, off_t size);
int write_mkdir(mount *mnt, node *parent, const char *name);
int write_rmdir(mount *mnt, node *parent, const char *name);
int write_rename(mount *mnt, node *parent, const char *name, node *newparent,
                 const char *newname, unsigned int flags);
void write_clean_leftovers(mount *mnt, folder *f);

/* ops.c */
int mapper_errno(mapper_status st);
extern const struct fuse_lowlevel_ops mapifs_ops;

#endif /* MAPIFS_H */
