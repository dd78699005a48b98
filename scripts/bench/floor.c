/* floor: the fastest FUSE server a mailbox view could be, the benchmark's
 * reference for mapifs (scripts/bench.sh, rows 1 and 13).
 *
 *   floor SHAPE.tsv MOUNTPOINT
 *
 * SHAPE.tsv has one line per message, "NAME<TAB>CONTENT".  The mount shows
 *   MOUNTPOINT/INBOX/NAME/PidTagSubject    containing CONTENT and "\n"
 * all in memory, the same shape as mapifs shows a Maildir.  Everything that
 * saves a round trip is on: the low-level API, entry and attribute timeouts
 * of a day, readdirplus, `open` answered ENOSYS (with FUSE_CAP_NO_OPEN_SUPPORT
 * the kernel then sends no OPEN/FLUSH/RELEASE at all), `opendir` with
 * cache_readdir and keep_cache, and a multi-threaded loop.  It stays in the
 * foreground; unmount with fusermount3 -u MOUNTPOINT.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE

#include <fuse_lowlevel.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* inode numbers: 1 root, 2 INBOX, then 3 + 2i message i, 4 + 2i its file */
#define INO_ROOT 1
#define INO_INBOX 2
#define TIMEOUT 86400.0
#define FILE_NAME "PidTagSubject"

struct msg {
	char *name;
	char *content; /* with its final newline */
	size_t len;
};

struct floor {
	struct msg *msgs; /* sorted by name */
	size_t n;
	time_t now;
};

static int msg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msg *)a)->name, ((const struct msg *)b)->name);
}

static struct floor *fl_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* fill st for ino; 0 or ENOENT */
static int fl_stat(const struct floor *fl, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = fl->now;
	if (ino == INO_ROOT || ino == INO_INBOX) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (ino < 3 || (ino - 3) / 2 >= fl->n)
		return ENOENT;
	if ((ino - 3) % 2 == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = (off_t)fl->msgs[(ino - 3) / 2].len;
	}
	return 0;
}

static int fl_entry(const struct floor *fl, fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->ino = ino;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	return fl_stat(fl, ino, &e->attr);
}

/* the child of parent called name, or 0 */
static fuse_ino_t fl_child(const struct floor *fl, fuse_ino_t parent, const char *name)
{
	if (parent == INO_ROOT)
		return strcmp(name, "INBOX") == 0 ? INO_INBOX : 0;
	if (parent == INO_INBOX) {
		struct msg key = { .name = (char *)name };
		struct msg *m = bsearch(&key, fl->msgs, fl->n, sizeof key, msg_cmp);
		return m ? 3 + 2 * (fuse_ino_t)(m - fl->msgs) : 0;
	}
	if (parent >= 3 && (parent - 3) % 2 == 0 && (parent - 3) / 2 < fl->n)
		return strcmp(name, FILE_NAME) == 0 ? parent + 1 : 0;
	return 0;
}

static void fl_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* no OPEN/RELEASE for files once open has answered ENOSYS */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
	/* always readdirplus, not only when the kernel guesses it helps */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

static void fl_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct floor *fl = fl_of(req);
	struct fuse_entry_param e;
	fuse_ino_t ino = fl_child(fl, parent, name);

	if (ino == 0 || fl_entry(fl, ino, &e) != 0)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_entry(req, &e);
}

static void fl_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	(void)fi;
	if (fl_stat(fl_of(req), ino, &st) != 0)
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static void fl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, ENOSYS);
}

static void fl_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	if (fl_stat(fl_of(req), ino, &st) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* the name of entry i of directory ino (0 ".", 1 "..", then children), its
 * inode in *child; NULL past the end */
static const char *fl_dirent(const struct floor *fl, fuse_ino_t ino, size_t i, fuse_ino_t *child)
{
	if (i == 0 || i == 1) {
		*child = i == 0 ? ino : (ino == INO_ROOT ? INO_ROOT : ino == INO_INBOX ? INO_ROOT : INO_INBOX);
		return i == 0 ? "." : "..";
	}
	i -= 2;
	if (ino == INO_ROOT) {
		*child = INO_INBOX;
		return i == 0 ? "INBOX" : NULL;
	}
	if (ino == INO_INBOX) {
		if (i >= fl->n)
			return NULL;
		*child = 3 + 2 * (fuse_ino_t)i;
		return fl->msgs[i].name;
	}
	*child = ino + 1;
	return i == 0 ? FILE_NAME : NULL;
}

static void fl_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct floor *fl = fl_of(req);
	char *buf = malloc(size);
	size_t used = 0;
	fuse_ino_t child;
	const char *name;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; (name = fl_dirent(fl, ino, i, &child)) != NULL; i++) {
		size_t len;
		if (plus) {
			struct fuse_entry_param e;
			fl_entry(fl, child, &e);
			/* "." and ".." are not looked up by the kernel */
			if (i < 2)
				e.ino = 0, e.attr.st_ino = child;
			len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)i + 1);
		} else {
			struct stat st;
			fl_stat(fl, child, &st);
			len = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)i + 1);
		}
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	fl_readdir_common(req, ino, size, off, 0);
}

static void fl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	fl_readdir_common(req, ino, size, off, 1);
}

static void fl_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct floor *fl = fl_of(req);
	(void)fi;
	if (ino < 4 || (ino - 3) % 2 != 1 || (ino - 3) / 2 >= fl->n) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	const struct msg *m = &fl->msgs[(ino - 3) / 2];
	if ((size_t)off >= m->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, m->content + off, m->len - (size_t)off < size ? m->len - (size_t)off : size);
}

static const struct fuse_lowlevel_ops fl_ops = {
	.init = fl_init,
	.lookup = fl_lookup,
	.getattr = fl_getattr,
	.open = fl_open,
	.read = fl_read,
	.opendir = fl_opendir,
	.readdir = fl_readdir,
	.readdirplus = fl_readdirplus,
};

/* read SHAPE.tsv into fl; 0 or -1 with a message */
static int fl_load(struct floor *fl, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;

	if (!f) {
		perror(path);
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		if (fl->n == alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			fl->msgs = realloc(fl->msgs, alloc * sizeof *fl->msgs);
			if (!fl->msgs)
				abort();
		}
		struct msg *m = &fl->msgs[fl->n++];
		m->name = strdup(line);
		if (asprintf(&m->content, "%s\n", tab + 1) < 0 || !m->name)
			abort();
		m->len = strlen(m->content);
	}
	free(line);
	fclose(f);
	qsort(fl->msgs, fl->n, sizeof *fl->msgs, msg_cmp);
	fl->now = time(NULL);
	return 0;
}

int main(int argc, char **argv)
{
	struct floor fl = { 0 };
	char *fargv[] = { argv[0], "-o", "fsname=floor,subtype=floor", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	struct fuse_loop_config *cfg;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SHAPE.tsv MOUNTPOINT\n", argv[0]);
		return 2;
	}
	if (fl_load(&fl, argv[1]) != 0)
		return 1;
	se = fuse_session_new(&args, &fl_ops, sizeof fl_ops, &fl);
	if (!se)
		goto err_out1;
	if (fuse_set_signal_handlers(se) != 0)
		goto err_out2;
	if (fuse_session_mount(se, argv[2]) != 0)
		goto err_out3;
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, 10);
	ret = fuse_session_loop_mt(se, cfg) != 0;
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(se);
err_out3:
	fuse_remove_signal_handlers(se);
err_out2:
	fuse_session_destroy(se);
err_out1:
	fuse_opt_free_args(&args);
	return ret;
}
