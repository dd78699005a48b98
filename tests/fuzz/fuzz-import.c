/*
 * fuzz-import.c - mapper_message_load() at both levels (issue 9, fuzzing
 * point a): the reader must take any bytes, return an object with a class
 * and never crash, leak or hang.  The root files a headers-only object has
 * must be the same as the full object's (mapper.h, mapper_name_needs_body).
 */
#include "fuzz.h"

FUZZ_PLAIN_INIT

/* Every root file of @full that does not need the body is in @head, same
 * size and bytes. */
static void same_root(mapper_message *full, mapper_message *head)
{
	char **names = NULL;
	size_t count = 0;
	if (mapper_message_list(full, "", &names, &count) != MAPPER_OK)
		fuzz_fail("the root of a full object does not list");
	for (size_t i = 0; i < count; i++) {
		mapper_node a, b;
		if (mapper_name_needs_body(names[i]))
			continue;
		if (mapper_message_stat(full, names[i], &a) != MAPPER_OK)
			fuzz_fail("listed root entry '%s' does not stat", names[i]);
		mapper_status st = mapper_message_stat(head, names[i], &b);
		if (st != MAPPER_OK)
			fuzz_fail("root entry '%s': %s in the headers-only object", names[i],
			          mapper_status_to_string(st));
		if (a.kind != b.kind || (a.kind == MAPPER_NODE_FILE && a.size != b.size))
			fuzz_fail("root entry '%s' differs between the levels (size %llu / %llu)", names[i],
			          (unsigned long long)a.size, (unsigned long long)b.size);
		if (a.kind == MAPPER_NODE_FILE) {
			const void *x, *y;
			size_t xl, yl;
			if (mapper_message_read(full, names[i], &x, &xl) != MAPPER_OK ||
			    mapper_message_read(head, names[i], &y, &yl) != MAPPER_OK || xl != yl ||
			    memcmp(x, y, xl) != 0)
				fuzz_fail("root file '%s' differs between the levels", names[i]);
		}
	}
	mapper_names_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mapper_source src = fuzz_source(size ? data[size - 1] : 0);
	mapper_message *head = mapper_message_load(data, size, &src, MAPPER_LOAD_HEADERS);
	mapper_message *full = mapper_message_load(data, size, &src, MAPPER_LOAD_FULL);
	if (!head || !full)
		fuzz_fail("mapper_message_load returned NULL");
	if (mapper_message_level(head) != MAPPER_LOAD_HEADERS || mapper_message_level(full) != MAPPER_LOAD_FULL)
		fuzz_fail("wrong level");
	const char *hc = mapper_message_class(head), *fc = mapper_message_class(full);
	if (!hc || !fc || strncmp(fc, "IPM.", 4) != 0)
		fuzz_fail("no class");
	char flags[8];
	mapper_message_maildir_flags(full, flags);
	mapper_message_maildir_flags(head, flags);
	(void)mapper_message_warning(full);
	same_root(full, head);
	mapper_message_free(head);
	mapper_message_free(full);
	return 0;
}
