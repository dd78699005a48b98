/*
 * fuzz-export.c - the writer on unedited objects (issue 9, fuzzing point d):
 * mapper_message_export() with the original bytes (the "keep what did not
 * change" path) and without them (a new message), then the output loaded
 * again and walked.  Export may refuse a message (a status and a reason),
 * but never crash, leak or hang, and what it writes must load.  A
 * header-only object gives the same bytes as the whole one, or refuses.
 */
#include "fuzz.h"

FUZZ_PLAIN_INIT

static void reload(const char *out, size_t len)
{
	mapper_message *again = mapper_message_load(out, len, NULL, MAPPER_LOAD_FULL);
	if (!again)
		fuzz_fail("mapper_message_load returned NULL");
	fuzz_budget b = fuzz_default_budget();
	b.entries = 5000;
	fuzz_walk(again, "", false, &b, 0);
	mapper_message_free(again);
}

static void export_once(mapper_message *m, const uint8_t *orig, size_t orig_len)
{
	char *out = NULL, *why = NULL;
	size_t len = 0;
	mapper_status st = mapper_message_export(m, orig, orig_len, &out, &len, &why);
	if (st == MAPPER_OK) {
		if (!out)
			fuzz_fail("export succeeded without output");
		reload(out, len);
	} else if (out) {
		fuzz_fail("export failed (%s) but gave output", mapper_status_to_string(st));
	}
	free(out);
	free(why);
}

/* A header-only object (write.c edits header fields that way) either says
 * MAPPER_INCOMPLETE or gives the bytes the whole object @m gives, both as
 * a whole and as a new header block followed by the original's tail. */
static void header_only(mapper_message *m, const uint8_t *data, size_t size,
                        const mapper_source *src)
{
	char *whole = NULL, *out = NULL, *block = NULL;
	size_t wlen = 0, len = 0, blen = 0, keep = 0;
	mapper_status ws = mapper_message_export(m, data, size, &whole, &wlen, NULL);
	size_t hlen = mapper_header_block_length(data, size);
	if (hlen > size)
		fuzz_fail("a header block of %zu bytes in %zu", hlen, size);
	mapper_message *head = mapper_message_load(data, hlen, src, MAPPER_LOAD_HEADERS);
	mapper_status hs = mapper_message_export(head, data, size, &out, &len, NULL);
	mapper_status bs = mapper_message_export_header(head, data, hlen, &block, &blen, &keep, NULL);
	if (hs != bs)
		fuzz_fail("header-only export: %s as a whole, %s as a block", mapper_status_to_string(hs),
		          mapper_status_to_string(bs));
	if (hs == MAPPER_OK) {
		if (ws != MAPPER_OK)
			fuzz_fail("header-only export succeeded where the whole one failed");
		if (len != wlen || memcmp(out, whole, len) != 0)
			fuzz_fail("header-only export differs from the whole one");
		if (keep > size || blen + (size - keep) != wlen || memcmp(block, whole, blen) != 0 ||
		    memcmp(data + keep, whole + blen, size - keep) != 0)
			fuzz_fail("header block + kept tail differs from the whole export");
	} else if (hs != MAPPER_INCOMPLETE && hs != ws) {
		fuzz_fail("header-only export: %s, whole: %s", mapper_status_to_string(hs),
		          mapper_status_to_string(ws));
	}
	free(whole);
	free(out);
	free(block);
	mapper_message_free(head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mapper_source src = fuzz_source(size ? data[size - 1] : 0);
	mapper_message *m = mapper_message_load(data, size, &src, MAPPER_LOAD_FULL);
	if (!m)
		fuzz_fail("mapper_message_load returned NULL");
	export_once(m, data, size);
	if (size && (data[size - 1] & 0x40))
		export_once(m, NULL, 0);
	header_only(m, data, size, &src);
	mapper_message_free(m);
	return 0;
}
