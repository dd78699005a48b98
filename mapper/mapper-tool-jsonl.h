/*
 * mapper-tool-jsonl.h - "mapper-tool export --jsonl": every message object
 * of a mailbox as one JSON object a line (issue 14), apart from
 * mapper-tool.c so that json-glib is needed by mapper-tool alone.
 */
#ifndef MAPPER_TOOL_JSONL_H
#define MAPPER_TOOL_JSONL_H

#include <stdbool.h>

/* Whether the arguments of "mapper-tool export" (@argv[2] on) ask for the
 * JSON Lines form rather than the export of one file into a directory. */
bool mapper_tool_wants_jsonl(int argc, char **argv);

/* Run "mapper-tool export --jsonl [options] SOURCE [FOLDER...]" (@argv[0]
 * is the program, @argv[1] "export").  The exit status (mapper-tool(1)),
 * or -1 for a usage error, for which the caller prints the usage. */
int mapper_tool_export_jsonl(int argc, char **argv);

#endif /* MAPPER_TOOL_JSONL_H */
