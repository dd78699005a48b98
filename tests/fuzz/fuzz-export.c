/*
 * fuzz-export.c - the writer on unedited objects (issue 9, fuzzing point d):
 * mapper_message_export() with the original bytes (the "keep what did not
 * change" path) and without them (a new message), then the output loaded
 * again and walked.  Export may refuse a message (a status and a reason),
 * but never crash, leak or hang, and what it writes must load.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mapper_source src = fuzz_source(size ? data[size - 1] : 0);
	mapper_message *m = mapper_message_load(data, size, &src, MAPPER_LOAD_FULL);
	if (!m)
		fuzz_fail("mapper_message_load returned NULL");
	export_once(m, data, size);
	if (size && (data[size - 1] & 0x40))
		export_once(m, NULL, 0);
	/* a headers-only object cannot be exported */
	mapper_message *head = mapper_message_load(data, size, &src, MAPPER_LOAD_HEADERS);
	char *out = NULL;
	size_t len = 0;
	if (mapper_message_export(head, data, size, &out, &len, NULL) == MAPPER_OK)
		fuzz_fail("a headers-only object was exported");
	free(out);
	mapper_message_free(head);
	mapper_message_free(m);
	return 0;
}
