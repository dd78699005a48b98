/*
 * export.c - message object -> Internet format (the writer).
 * Placeholder until the writer lands.
 */
#include <stdlib.h>
#include <string.h>

#include "mapper-private.h"

mapper_status mapper_message_export(mapper_message *m, const void *orig, size_t orig_len,
                                    char **out, size_t *out_len, char **why)
{
	(void)m; (void)orig; (void)orig_len; (void)out; (void)out_len;
	if (why)
		*why = strdup("the writer is not built yet");
	return MAPPER_INVALID;
}

void mapper_message_maildir_flags(const mapper_message *m, char buf[static 8])
{
	(void)m;
	buf[0] = '\0';
}
