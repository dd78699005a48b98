/*
 * test-memory.c - mapper_message_footprint() (mapper.h), which the daemon's
 * cache weighs objects by: it follows the memory an object really holds,
 * as glibc's mallinfo2() counts it, within a factor that keeps a cache of
 * 128 MiB from holding much more (or much less) than that.
 */
#include <malloc.h>

#include <glib.h>

#include "mapper-test.h"

/* A message with @n recipients and an attachment of @att_bytes. */
static char *make_message(int n, size_t att_bytes)
{
	GString *s = g_string_new("From: A <a@example.org>\r\nSubject: sizes\r\n"
	                          "Message-ID: <m@example.org>\r\nMIME-Version: 1.0\r\n");
	g_string_append(s, "To: ");
	for (int i = 0; i < n; i++)
		g_string_append_printf(s, "%sU%d <u%d@example.org>", i ? ",\r\n " : "", i, i);
	g_string_append(s, "\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	                   "Content-Type: text/plain\r\n\r\nhello\r\n--b\r\n"
	                   "Content-Type: application/octet-stream; name=x.bin\r\n"
	                   "Content-Transfer-Encoding: base64\r\n\r\n");
	guchar *raw = g_malloc(att_bytes);
	for (size_t i = 0; i < att_bytes; i++)
		raw[i] = (guchar)(i * 7919u >> 3);
	gchar *b64 = g_base64_encode(raw, att_bytes);
	for (size_t i = 0, b64_len = strlen(b64); i < b64_len; i += 76)
		g_string_append_printf(s, "%.76s\r\n", b64 + i);
	g_string_append(s, "--b--\r\n");
	g_free(b64);
	g_free(raw);
	return g_string_free(s, FALSE);
}

/* Heap bytes in use now: in the arenas, and in blocks malloc mapped on
 * their own (big ones). */
static size_t heap(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* Whether mallinfo2() sees this process's allocations: not under
 * AddressSanitizer, whose allocator it does not know. */
static bool heap_counted(void)
{
	size_t before = heap();
	char *volatile p = malloc(1 << 16);
	bool seen = p && heap() >= before + (1 << 16);
	free(p);
	return seen;
}

static void check(const char *what, int recipients, size_t att, mapper_load_level level)
{
	char *eml = make_message(recipients, att);
	size_t before = heap();
	mapper_message *m = load_level(eml, level);
	/* read everything once, as a reader of the mount would */
	char **names;
	size_t n;
	if (mapper_message_list(m, "", &names, &n) == MAPPER_OK) {
		for (size_t i = 0; i < n; i++) {
			const void *d;
			size_t len;
			mapper_message_read(m, names[i], &d, &len);
		}
		mapper_names_free(names);
	}
	size_t real = heap() - before;
	size_t fp = mapper_message_footprint(m);
	diag("%s: footprint %zu, heap %zu", what, fp, real);
	ok(fp >= real / 2 && fp <= real * 2, "%s: footprint within 2x of the heap it holds", what);
	mapper_message_free(m);
	g_free(eml);
}

int main(void)
{
	mapper_init();
	/* what GMime and GLib set up once, on first use, is not the object's */
	char *warm = make_message(3, 100);
	mapper_message_free(load(warm));
	mapper_message_free(load_level(warm, MAPPER_LOAD_HEADERS));
	g_free(warm);

	if (heap_counted()) {
		check("small message, headers only", 3, 100, MAPPER_LOAD_HEADERS);
		check("small message, full", 3, 100, MAPPER_LOAD_FULL);
		check("1,000 recipients, full", 1000, 100, MAPPER_LOAD_FULL);
		check("1 MB attachment, full", 1, 1 << 20, MAPPER_LOAD_FULL);
	} else {
		/* the comparisons with the heap run in the normal build */
		diag("mallinfo2() does not count this allocator (a sanitizer build): "
		     "footprint checked against known sizes only");
	}

	mapper_message *empty = load("");
	mapper_message *big;
	char *eml = make_message(1, 1 << 20);
	big = load(eml);
	g_free(eml);
	ok(mapper_message_footprint(big) > (1u << 20), "a 1 MB attachment counts at least 1 MB");
	ok(mapper_message_footprint(empty) < 4096, "an empty message counts little (%zu)",
	   mapper_message_footprint(empty));
	mapper_message_free(big);
	mapper_message_free(empty);
	mapper_shutdown();
	return done_testing();
}
