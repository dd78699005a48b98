/*
 * audit.c - the custody log of a forensic mount (issue 14, design.md 9):
 * -o audit=FILE appends one line per event to FILE, which lies outside
 * the evidence:
 *
 *   <UTC time> mount version="…" source="…" mountpoint="…" options="…"
 *              uid=… host="…" entries=N listing-sha256=…
 *   <UTC time> refused op=open-write path="INBOX/…/PidTagSubject" uid=… pid=… error=EROFS
 *   <UTC time> unmount refused=N
 *
 * The listing hash is of the source as `find` lists it, so that anyone can
 * recompute it without mapifs:
 *
 *   cd SOURCE && find . -mindepth 1 -printf '%P\t%y\t%s\t%T@\n' | LC_ALL=C sort | sha256sum
 *
 * Each line is one write() to a file opened O_APPEND, synced to disk at
 * once: a log that stops is still whole up to its last line.  Values are
 * quoted with C escapes (g_strescape), so a line is one line whatever a
 * path holds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "mapifs.h"

static int audit_fd = -1;
static unsigned long refused_count;
static GMutex audit_lock;

bool audit_on(void)
{
	return audit_fd >= 0;
}

int audit_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno;
	audit_fd = fd;
	return 0;
}

void audit_close(void)
{
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
}

/* "KEY=\"VALUE\"" with C escapes, appended to @s. */
static void append_quoted(GString *s, const char *key, const char *value)
{
	char *e = g_strescape(value ? value : "", NULL);
	g_string_append_printf(s, " %s=\"%s\"", key, e);
	g_free(e);
}

/* Write @line (its time is put first) and sync it. */
static void audit_write(GString *line)
{
	GDateTime *now = g_date_time_new_now_utc();
	char *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
	g_date_time_unref(now);
	g_string_prepend(line, when);
	g_free(when);
	g_string_append_c(line, '\n');
	g_mutex_lock(&audit_lock);
	ssize_t n;
	do
		n = write(audit_fd, line->str, line->len);
	while (n < 0 && errno == EINTR);
	int err = n < 0 ? errno : (size_t)n < line->len ? ENOSPC : 0;
	if (!err && fdatasync(audit_fd) != 0 && errno != EINVAL)
		err = errno;
	g_mutex_unlock(&audit_lock);
	if (err)
		mapifs_error("the audit log could not be written: %s", g_strerror(err));
}

/* ---- the listing of the source ------------------------------------------- */

/* find's %y for @mode. */
static char type_letter(mode_t mode)
{
	return S_ISREG(mode) ? 'f' : S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISFIFO(mode) ? 'p'
	       : S_ISSOCK(mode) ? 's' : S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' : 'U';
}

/* The lines of every entry below directory @dirfd (taken) at @rel, in
 * @lines: the directories are opened without following a symlink and
 * without changing an access time (design.md 6), depth-bounded. */
static void list_dir(int dirfd, const char *rel, int depth, GPtrArray *lines)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		char *path = path_join(rel, e->d_name);
		/* find -printf '%P\t%y\t%s\t%T@\n' */
		g_ptr_array_add(lines, g_strdup_printf("%s\t%c\t%jd\t%jd.%09ld0", path, type_letter(st.st_mode),
		                                       (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		                                       st.st_mtim.tv_nsec));
		if (S_ISDIR(st.st_mode) && depth < 256) {
			int sub = openat(dirfd, e->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
			if (sub < 0 && errno == EPERM)   /* O_NOATIME: not the owner */
				sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				list_dir(sub, path, depth + 1, lines);
		}
		g_free(path);
	}
	closedir(d);
}

static int line_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The SHA-256 of the source's listing (see the top) and its entries. */
static void listing_hash(mount *mnt, char hex[65], size_t *entries)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	int fd;
	if (source_open_listing(mnt, "", &fd) == 0)
		list_dir(fd, "", 0, lines);
	g_ptr_array_sort(lines, line_cmp);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (guint i = 0; i < lines->len; i++) {
		EVP_DigestUpdate(ctx, lines->pdata[i], strlen(lines->pdata[i]));
		EVP_DigestUpdate(ctx, "\n", 1);
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < n && i < 32; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*entries = lines->len;
	g_ptr_array_unref(lines);
}

/* ---- the records ---------------------------------------------------------- */

void audit_mount(mount *mnt, const char *mountpoint, const char *options)
{
	if (!audit_on())
		return;
	char hex[65] = "";
	size_t entries = 0;
	listing_hash(mnt, hex, &entries);
	GString *s = g_string_new(" mount");
	append_quoted(s, "version", MAPIFS_VERSION);
	append_quoted(s, "source", mnt->source);
	append_quoted(s, "mountpoint", mountpoint);
	append_quoted(s, "options", options);
	g_string_append_printf(s, " uid=%ju", (uintmax_t)mnt->uid);
	append_quoted(s, "host", g_get_host_name());
	g_string_append_printf(s, " entries=%zu listing-sha256=%s", entries, hex);
	audit_write(s);
	g_string_free(s, TRUE);
}

void audit_refused(const char *op, const char *path, uid_t uid, pid_t pid, int err)
{
	if (!audit_on())
		return;
	GString *s = g_string_new(" refused");
	g_string_append_printf(s, " op=%s", op);
	append_quoted(s, "path", path);
	g_string_append_printf(s, " uid=%ju pid=%jd error=%s", (uintmax_t)uid, (intmax_t)pid,
	                       err == EROFS ? "EROFS" : err == EPERM ? "EPERM" : g_strerror(err));
	g_mutex_lock(&audit_lock);
	refused_count++;
	g_mutex_unlock(&audit_lock);
	audit_write(s);
	g_string_free(s, TRUE);
}

void audit_unmount(void)
{
	if (!audit_on())
		return;
	GString *s = g_string_new(" unmount");
	g_string_append_printf(s, " refused=%lu", refused_count);
	audit_write(s);
	g_string_free(s, TRUE);
}
