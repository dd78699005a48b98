/*
 * test-deferred.c - a message loaded from its file with its attachments
 * left there (mapper_message_load_file(), issue 11) is the same object as
 * the message loaded from memory: the same tree, sizes, bytes, class and
 * warning, on every message of the corpus (../shared/corpus, CORPUS_DIR)
 * and on hostile base64 built here; reads at any offset and in any size
 * give the bytes GMime decodes in memory; and the content really stays in
 * the file (it is read from it: a truncated file fails the read).
 */

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "corpus-walk.h"
#include "mapper-test.h"

static int files, deferred_files, deferred_bytes_checked;

static int file_of(const char *data, size_t len)
{
	int fd = memfd_create("message", 0);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	return fd;
}

/* Read all of @d in reads of @step bytes (the last one asks past the end). */
static GByteArray *read_all(mapper_deferred *d, int fd, size_t step, bool *failed)
{
	GByteArray *out = g_byte_array_new();
	guint8 *chunk = g_malloc(step);
	for (uint64_t off = 0;;) {
		ssize_t n = mapper_deferred_pread(d, fd, chunk, step, off);
		if (n < 0) {
			*failed = true;
			break;
		}
		if (n == 0)
			break;
		g_byte_array_append(out, chunk, (guint)n);
		off += (uint64_t)n;
	}
	g_free(chunk);
	return out;
}

/* The deferred file @path of @fm has the bytes @want, however it is read. */
static bool same_deferred(const char *name, const char *path, mapper_message *fm, int fd,
                          const guint8 *want, size_t len, GRand *rand)
{
	mapper_deferred *d = NULL;
	if (mapper_message_deferred(fm, path, &d) != MAPPER_OK || !d) {
		diag("%s: %s: MAPPER_DEFERRED but no deferred content", name, path);
		return false;
	}
	bool good = mapper_deferred_size(d) == len;
	if (!good)
		diag("%s: %s: size %llu from the file, %zu in memory", name, path,
		     (unsigned long long)mapper_deferred_size(d), len);
	/* sequentially, in odd sizes and in FUSE's */
	static const size_t steps[] = { 1, 4095, 4097, 131072 };
	for (size_t i = 0; good && i < G_N_ELEMENTS(steps); i++) {
		if (steps[i] == 1 && len > 20000)
			continue;
		bool failed = false;
		GByteArray *got = read_all(d, fd, steps[i], &failed);
		if (failed || got->len != len || (len && memcmp(got->data, want, len) != 0)) {
			diag("%s: %s: read in steps of %zu: %u bytes, %zu expected%s", name, path, steps[i],
			     got->len, len, failed ? " (a read failed)" : "");
			good = false;
		}
		g_byte_array_unref(got);
	}
	/* and at random offsets, backwards and forwards */
	guint8 chunk[9000];
	for (int i = 0; good && i < 40 && len; i++) {
		uint64_t off = (uint64_t)g_rand_int_range(rand, 0, (gint32)MIN(len, (size_t)G_MAXINT32));
		size_t want_n = (size_t)g_rand_int_range(rand, 1, sizeof chunk);
		ssize_t n = mapper_deferred_pread(d, fd, chunk, want_n, off);
		size_t expect = MIN(want_n, len - (size_t)off);
		if (n != (ssize_t)expect || memcmp(chunk, want + off, expect) != 0) {
			diag("%s: %s: %zu bytes at %llu: got %zd", name, path, want_n,
			     (unsigned long long)off, n);
			good = false;
		}
	}
	mapper_deferred_unref(d);
	deferred_files++;
	deferred_bytes_checked += (int)MIN(len, (size_t)G_MAXINT / 64);
	return good;
}

/* The subtree @path of both objects is the same; false with a diagnostic. */
static bool same_tree(const char *name, mapper_message *mm, mapper_message *fm, int fd,
                      const char *path, GRand *rand)
{
	mapper_node a, b;
	mapper_status sa = mapper_message_stat(mm, path, &a), sb = mapper_message_stat(fm, path, &b);
	if (sa != sb || (sa == MAPPER_OK && (a.kind != b.kind || a.size != b.size || a.tag != b.tag))) {
		diag("%s: %s: stat differs (status %d/%d, size %llu/%llu)", name, path, sa, sb,
		     (unsigned long long)a.size, (unsigned long long)b.size);
		return false;
	}
	if (sa != MAPPER_OK)
		return true;
	if (a.kind == MAPPER_NODE_FILE) {
		const void *da, *db;
		size_t la, lb;
		sa = mapper_message_read(mm, path, &da, &la);
		sb = mapper_message_read(fm, path, &db, &lb);
		if (sa == MAPPER_OK && sb == MAPPER_DEFERRED)
			return same_deferred(name, path, fm, fd, da, la, rand);
		if (sa != sb || (sa == MAPPER_OK && (la != lb || memcmp(da, db, la) != 0))) {
			diag("%s: %s: content differs (status %d/%d)", name, path, sa, sb);
			return false;
		}
		return true;
	}
	char **na = NULL, **nb = NULL;
	size_t ca = 0, cb = 0;
	sa = mapper_message_list(mm, path, &na, &ca);
	sb = mapper_message_list(fm, path, &nb, &cb);
	bool good = sa == sb && ca == cb;
	for (size_t i = 0; good && i < ca; i++)
		good = strcmp(na[i], nb[i]) == 0;
	if (!good)
		diag("%s: %s: listings differ", name, path);
	for (size_t i = 0; good && i < ca; i++) {
		/* smime/ is not walked: a message with it is loaded from memory
		 * both ways (the S/MIME conversion keeps raw bytes) */
		if (!*path && strcmp(na[i], "smime") == 0)
			continue;
		char *sub = *path ? g_strconcat(path, "/", na[i], NULL) : g_strdup(na[i]);
		good = same_tree(name, mm, fm, fd, sub, rand);
		g_free(sub);
	}
	mapper_names_free(na);
	mapper_names_free(nb);
	return good;
}

/* Both loads of @data agree; @defer_min as the file load takes it. */
static void check_message(const char *name, const char *data, size_t len, size_t defer_min)
{
	files++;
	mapper_message *mm = mapper_message_load(data, len, NULL, MAPPER_LOAD_FULL);
	int fd = file_of(data, len);
	mapper_message *fm = mapper_message_load_file(fd, NULL, defer_min);
	if (!fm) {
		ok(0, "%s: loads from its file", name);
		close(fd);
		mapper_message_free(mm);
		return;
	}
	GRand *rand = g_rand_new_with_seed((guint32)len);
	bool good = same_tree(name, mm, fm, fd, "", rand);
	if (good && g_strcmp0(mapper_message_warning(mm), mapper_message_warning(fm)) != 0) {
		diag("%s: warning \"%s\" from memory, \"%s\" from the file", name,
		     mapper_message_warning(mm), mapper_message_warning(fm));
		good = false;
	}
	if (good && strcmp(mapper_message_class(mm), mapper_message_class(fm)) != 0) {
		diag("%s: class differs", name);
		good = false;
	}
	ok(good, "%s: the same object from the file as from memory", name);
	g_rand_free(rand);
	mapper_message_free(fm);
	mapper_message_free(mm);
	close(fd);
}

/* A corpus message: every part that can stays in the file. */
static void check_corpus_message(const char *name, const char *data, size_t len)
{
	check_message(name, data, len, 0);
}

/* A multipart message with one attachment whose encoded body is @body
 * (freed here). */
static char *with_attachment(const char *cte, char *body, const char *eol)
{
	char *eml = g_strdup_printf(
		"From: a@example.org%1$sTo: b@example.org%1$sSubject: deferred%1$s"
		"MIME-Version: 1.0%1$sContent-Type: multipart/mixed; boundary=\"b\"%1$s%1$s"
		"--b%1$sContent-Type: text/plain%1$s%1$sthe body%1$s"
		"--b%1$sContent-Type: application/octet-stream; name=x.bin%1$s"
		"Content-Disposition: attachment; filename=x.bin%1$s"
		"Content-Transfer-Encoding: %2$s%1$s%1$s%3$s%1$s--b--%1$s",
		eol, cte, body);
	g_free(body);
	return eml;
}

/* @n random bytes as base64 in lines of @line characters ending in @eol. */
static char *random_base64(GRand *rand, size_t n, size_t line, const char *eol)
{
	guint8 *raw = g_malloc(n);
	for (size_t i = 0; i < n; i++)
		raw[i] = (guint8)g_rand_int(rand);
	char *b64 = g_base64_encode(raw, n);
	g_free(raw);
	GString *s = g_string_new(NULL);
	size_t total = strlen(b64);
	for (size_t i = 0; i < total; i += line) {
		g_string_append_len(s, b64 + i, (gssize)MIN(line, total - i));
		if (i + line < total)
			g_string_append(s, eol);
	}
	g_free(b64);
	return g_string_free(s, FALSE);
}

static void check_built(const char *name, char *eml, size_t defer_min)
{
	check_message(name, eml, strlen(eml), defer_min);
	g_free(eml);
}

/*
 * A read that starts at a mark (every 1 MiB of a part's input, taken when
 * the size is counted) starts from the decoder state counted there: read
 * the first bytes after each mark alone and compare.  @body is the part's
 * base64 as the message holds it; the message has no other attachment.
 */
static void check_marks(const char *name, const char *eml, const char *body)
{
	size_t len = strlen(eml), blen = strlen(body);
	mapper_message *mm = mapper_message_load(eml, len, NULL, MAPPER_LOAD_FULL);
	const void *want;
	size_t wlen;
	const char *path = "attachments/0/PidTagAttachDataBinary";
	int fd = file_of(eml, len);
	mapper_message *fm = mapper_message_load_file(fd, NULL, 0);
	mapper_deferred *d = NULL;
	int bad = 0, marks = 0;
	if (mapper_message_read(mm, path, &want, &wlen) != MAPPER_OK || !fm ||
	    mapper_message_deferred(fm, path, &d) != MAPPER_OK) {
		ok(0, "%s: loads both ways with a deferred attachment", name);
		goto out;
	}
	size_t valid = 0, r = 0;
	for (size_t mark = 1 << 20; mark < blen; mark += 1 << 20, marks++) {
		for (; r < mark; r++)
			valid += g_ascii_isalnum(body[r]) || body[r] == '+' || body[r] == '/';
		size_t dec = valid / 4 * 3;
		for (int j = 5; j >= 0; j--) {
			guint8 c;
			ssize_t n = mapper_deferred_pread(d, fd, &c, 1, dec + (size_t)j);
			if (dec + (size_t)j < wlen && (n != 1 || c != ((const guint8 *)want)[dec + (size_t)j]))
				bad++;
		}
	}
	ok(bad == 0 && marks >= 2, "%s: the bytes right after each of %d marks read alone are right (%d wrong)",
	   name, marks, bad);
out:
	mapper_deferred_unref(d);
	mapper_message_free(fm);
	mapper_message_free(mm);
	close(fd);
}

/* Hostile and ordinary base64, and parts that are not encoded. */
static void built_messages(void)
{
	GRand *rand = g_rand_new_with_seed(11);
	/* over 1 MiB decoded: the reads start at marks */
	check_built("3 MiB base64, LF", with_attachment("base64", random_base64(rand, 3 << 20, 76, "\n"), "\n"), 0);
	check_built("3 MiB base64, CRLF", with_attachment("base64", random_base64(rand, 3 << 20, 76, "\r\n"), "\r\n"), 0);
	check_built("2 MiB base64 in one line", with_attachment("base64", random_base64(rand, 2 << 20, 1u << 30, "\n"), "\n"), 0);
	/* marks where a quartet is half done, and one after 4,096 bytes of
	 * nothing but blanks (its state comes from the piece before) */
	for (int eol = 0; eol < 2; eol++) {
		const char *e = eol ? "\r\n" : "\n";
		char *body = random_base64(rand, 3 << 20, 75, e);
		if (eol) {
			/* blanks from where 2 characters of a quartet are pending up
			 * to the mark, so that its state is the piece before's */
			size_t at = (1 << 20) - 4096, valid = 0;
			for (size_t i = 0; i < at; i++)
				valid += g_ascii_isalnum(body[i]) || body[i] == '+' || body[i] == '/';
			for (; valid % 4 != 2; at--)
				valid -= g_ascii_isalnum(body[at - 1]) || body[at - 1] == '+' || body[at - 1] == '/';
			memset(body + at, ' ', (1 << 20) - at);
		}
		char *eml = with_attachment("base64", g_strdup(body), e);
		check_marks(eol ? "3 MiB, lines of 75, CRLF, blanks before a mark" : "3 MiB, lines of 75, LF",
		            eml, strstr(eml, body));
		g_free(eml);
		g_free(body);
	}
	check_built("base64 with odd line lengths", with_attachment("base64", random_base64(rand, 100000, 61, "\n"), "\n"), 0);

	/* '=' and junk around the 4,096-byte pieces GMime decodes in */
	char *b = random_base64(rand, 300000, 76, "\n");
	size_t blen = strlen(b);
	for (size_t at = 4090; at < blen; at += 4096 * 7 + 3) {
		for (int k = 0; k < 12 && at + k < blen; k++)
			if (b[at + k] != '\n')
				b[at + k] = "=*= \t!=\r=:=-"[k];
	}
	check_built("base64 with '=' and junk at piece boundaries", with_attachment("base64", b, "\n"), 0);
	check_built("base64 without padding", with_attachment("base64", g_strdup("AAECAwQFBgcICQ"), "\n"), 0);
	check_built("base64 of nothing but junk", with_attachment("base64", g_strdup("!!!! ==== ****\n===="), "\n"), 0);
	check_built("empty base64 part", with_attachment("base64", g_strdup(""), "\n"), 0);

	/* not encoded: the bytes as they are */
	GString *bin = g_string_new(NULL);
	for (int i = 0; i < 50000; i++)
		g_string_append_c(bin, (char)(i % 7 == 0 ? '\n' : i % 250 + 1));
	char *eml = with_attachment("binary", g_string_free(bin, FALSE), "\n");
	check_message("binary part", eml, strlen(eml), 0);
	g_free(eml);
	check_built("8bit part", with_attachment("8bit", g_strdup("caf\xc3\xa9\nline two\n"), "\n"), 0);
	check_built("quoted-printable part (decoded in memory)",
	            with_attachment("quoted-printable", g_strdup("caf=C3=A9=\nsoft break\n"), "\n"), 0);
	/* big enough only at the default threshold */
	check_built("small part under the threshold",
	            with_attachment("base64", random_base64(rand, 3000, 76, "\n"), "\n"), 1 << 20);
	g_rand_free(rand);
}

int main(void)
{
	mapper_init();
	built_messages();
	int built_deferred = deferred_files;
	ok(built_deferred >= 10, "the built messages read %d attachments from their file", built_deferred);

	/* the content is read from the file, not kept: truncate it and a read fails */
	GRand *rand = g_rand_new_with_seed(3);
	char *eml = with_attachment("base64", random_base64(rand, 2 << 20, 76, "\n"), "\n");
	g_rand_free(rand);
	int fd = file_of(eml, strlen(eml));
	mapper_message *fm = mapper_message_load_file(fd, NULL, 1 << 20);
	ok(fm && mapper_message_has_deferred(fm), "a 2 MiB attachment stays in the file at the default threshold");
	const void *data;
	size_t len;
	is_int(mapper_message_read(fm, "attachments/0/PidTagAttachDataBinary", &data, &len),
	       MAPPER_DEFERRED, "its property file reads as MAPPER_DEFERRED");
	char *out = NULL, *why = NULL;
	size_t outlen = 0;
	is_int(mapper_message_export(fm, eml, strlen(eml), &out, &outlen, &why), MAPPER_INCOMPLETE,
	       "export of such an object is refused (%s)", why ? why : "");
	free(why);
	free(out);
	mapper_deferred *d = NULL;
	mapper_message_deferred(fm, "attachments/0/PidTagAttachDataBinary", &d);
	mapper_message_free(fm);
	char chunk[100];
	ok(d && mapper_deferred_pread(d, fd, chunk, sizeof chunk, 0) == sizeof chunk,
	   "the content outlives the message object");
	if (ftruncate(fd, (off_t)(strlen(eml) / 2)) != 0)
		abort();
	ok(d && mapper_deferred_pread(d, fd, chunk, sizeof chunk, (2 << 20) - 200) < 0,
	   "a read past what the truncated file holds fails");
	mapper_deferred_unref(d);
	close(fd);
	g_free(eml);

	/* an invitation whose iCalendar part is left in the file is still a
	 * meeting (the class must not depend on how the message was loaded) */
	static const char invite[] =
		"From: a@example.com\r\nTo: b@example.com\r\nSubject: Sync\r\n"
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
		"--x\r\nContent-Type: text/plain\r\n\r\nJoin us.\r\n"
		"--x\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n"
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
		"BEGIN:VEVENT\r\nUID:u1@example.com\r\nDTSTAMP:20260301T100000Z\r\n"
		"DTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nSUMMARY:Sync\r\n"
		"ORGANIZER:mailto:a@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		"--x--\r\n";
	fd = file_of(invite, strlen(invite));
	fm = mapper_message_load_file(fd, NULL, 0);
	mapper_message *mm = mapper_message_load(invite, strlen(invite), NULL, MAPPER_LOAD_FULL);
	ok(fm && mapper_message_has_deferred(fm), "the iCalendar part stays in the file");
	is_str(fm ? mapper_message_class(fm) : NULL, mapper_message_class(mm),
	       "and the class is the same as from memory");
	is_str(mapper_message_class(mm), "IPM.Schedule.Meeting.Request", "a meeting request");
	mapper_message_free(fm);
	mapper_message_free(mm);
	close(fd);

	int dbefore = deferred_files;
	if (corpus_run(check_corpus_message))
		ok(deferred_files - dbefore > 50, "%d corpus attachments were read from their file",
		   deferred_files - dbefore);
	mapper_shutdown();
	return done_testing();
}
