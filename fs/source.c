/*
 * source.c - the files below the source root, opened without changing
 * anything and without ever leaving the mailbox: the one place that calls
 * open(2) on the source.  Knows nothing of folders or messages (store.c).
 *
 * Every file and directory is opened read-only with O_NOATIME where the
 * kernel allows it (design.md 6: a traversal leaves atimes as they were).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
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

int source_open_listing(mount *mnt, const char *reldir, int *fd)
{
	*fd = open_noatime(mnt->srcfd, reldir, O_DIRECTORY);
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

int source_read_fd(int fd, mapper_load_level level, char **data, size_t *len, struct stat *st)
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

void digests_init(digests *d)
{
	const EVP_MD *md[DIGEST_COUNT] = { EVP_md5(), EVP_sha1(), EVP_sha256() };
	for (int i = 0; i < DIGEST_COUNT; i++) {
		d->ctx[i] = EVP_MD_CTX_new();
		EVP_DigestInit_ex(d->ctx[i], md[i], NULL);
	}
}

void digests_update(digests *d, const void *data, size_t len)
{
	for (int i = 0; i < DIGEST_COUNT; i++)
		EVP_DigestUpdate(d->ctx[i], data, len);
}

void digests_final(digests *d, digest_hex *out)
{
	char *hex[DIGEST_COUNT] = { out->md5, out->sha1, out->sha256 };
	for (int i = 0; i < DIGEST_COUNT; i++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		EVP_DigestFinal_ex(d->ctx[i], md, &n);
		EVP_MD_CTX_free(d->ctx[i]);
		d->ctx[i] = NULL;
		for (unsigned k = 0; k < n; k++)
			g_snprintf(hex[i] + 2 * k, 3, "%02x", md[k]);
	}
}

char *digests_text(const digest_hex *h, const char *name)
{
	/* the lines of md5sum --tag, sha1sum --tag and sha256sum --tag, which
	 * "cksum -c" checks all three of */
	return g_strdup_printf("MD5 (%s) = %s\nSHA1 (%s) = %s\nSHA256 (%s) = %s\n", name, h->md5, name,
	                       h->sha1, name, h->sha256);
}

int source_digests(mount *mnt, const char *relpath, digest_hex *out)
{
	int fd;
	int err = source_open(mnt, relpath, &fd);
	if (err)
		return err;
	digests d;
	digests_init(&d);
	/* streamed: a message of any size costs one buffer */
	char *buf = g_malloc(1 << 16);
	ssize_t r;
	while ((r = read(fd, buf, 1 << 16)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		digests_update(&d, buf, (size_t)r);
	}
	g_free(buf);
	digests_final(&d, out);
	close(fd);
	return err;
}
