/*
 * fuzz-walk.c - the tree as the daemon reads it (issue 9, fuzzing point b):
 * mapper_message_list() recursively from "", mapper_message_stat() and
 * mapper_message_read() of every entry, on a full and on a headers-only
 * object, within a budget of entries and bytes.  S/MIME messages are
 * walked without a crypto context (smime/ is worked out as the daemon does
 * without keys); fuzz-smime does it with keys.
 */
#include "fuzz.h"

FUZZ_PLAIN_INIT

/* A headers-only object cannot list its root: walk what the full object's
 * root has, as the daemon does before it loads the body. */
static void walk_headers(mapper_message *head, mapper_message *full, fuzz_budget *b)
{
	char **names = NULL;
	size_t count = 0;
	if (mapper_message_list(full, "", &names, &count) != MAPPER_OK)
		return;
	for (size_t i = 0; i < count && b->entries > 0; i++) {
		mapper_node node;
		b->entries--;
		mapper_status st = mapper_message_stat(head, names[i], &node);
		if (st == MAPPER_INCOMPLETE || st == MAPPER_NOT_FOUND) {
			if (!mapper_message_needs_body(head, names[i]))
				fuzz_fail("headers-only root entry '%s': %s", names[i], mapper_status_to_string(st));
			continue;
		}
		if (st != MAPPER_OK)
			fuzz_fail("headers-only stat '%s': %s", names[i], mapper_status_to_string(st));
		if (node.kind == MAPPER_NODE_DIR) {
			fuzz_walk(head, names[i], true, b, 1);
		} else {
			const void *d;
			size_t len;
			if (mapper_message_read(head, names[i], &d, &len) != MAPPER_OK || len != node.size)
				fuzz_fail("headers-only read '%s'", names[i]);
		}
	}
	mapper_names_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mapper_source src = fuzz_source(size ? data[size - 1] : 0);
	mapper_message *full = mapper_message_load(data, size, &src, MAPPER_LOAD_FULL);
	mapper_message *head = mapper_message_load(data, size, &src, MAPPER_LOAD_HEADERS);
	if (!full || !head)
		fuzz_fail("mapper_message_load returned NULL");
	fuzz_budget b = fuzz_default_budget();
	fuzz_walk(full, "", false, &b, 0);
	b = fuzz_default_budget();
	walk_headers(head, full, &b);
	/* paths that are not there */
	mapper_node node;
	static const char *const odd[] = {
		"/", "//", "recipients/", "recipients/-1", "recipients/99999999999999999999",
		"attachments/0/PidTagAttachDataObject/attachments/0", "smime/content/smime/status",
		"PS_INTERNET_HEADERS/", "PidTagSubject/x", "..", "./PidTagSubject", "recipients/00",
	};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		(void)mapper_message_stat(full, odd[i], &node);
		(void)mapper_message_stat(head, odd[i], &node);
	}
	mapper_message_free(head);
	mapper_message_free(full);
	return 0;
}
