/*
 * mapper-tool - the mapper without FUSE: print or export the message object
 * of one .eml file, for tests and batch use.
 *
 *   mapper-tool show [--headers-only] [--flags FRS] FILE.eml
 *   mapper-tool export [--flags FRS] FILE.eml DIR
 *   mapper-tool export --jsonl [--list-folders] SOURCE [FOLDER...]
 *   mapper-tool ls [--headers-only] FILE.eml [PATH]
 *   mapper-tool cat [--headers-only] FILE.eml PATH
 *   mapper-tool class FILE.eml
 *   mapper-tool rebuild [--flags FRS] FILE.eml
 *   mapper-tool verify [crypto options] FILE.eml
 *
 * verify prints smime/status and exits as `openssl cms -verify` does: 0 for
 * a good signature, 4 for any other outcome (bad, untrusted, expired, not
 * signed, not S/MIME); like every verb, 1 when FILE cannot be read, 2 for
 * a usage error.
 * rebuild prints the Internet-format message mapper_message_export() makes
 * from the unedited object of FILE.eml and FILE.eml's bytes.
 *
 * Crypto options (before FILE): those of mapifs, parsed by the same code
 * (crypto-options.h); they decide what smime/ shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "config.h"
#include "crypto-options.h"
#include "mapper-tool-jsonl.h"
#include "mapper.h"

static int usage(FILE *out)
{
	fputs("usage: mapper-tool show [--headers-only] [--flags FLAGS] FILE.eml\n"
	      "       mapper-tool export [--flags FLAGS] FILE.eml DIR\n"
	      "       mapper-tool export --jsonl [--list-folders] SOURCE [FOLDER...]\n"
	      "       mapper-tool ls [--headers-only] FILE.eml [PATH]\n"
	      "       mapper-tool cat [--headers-only] FILE.eml PATH\n"
	      "       mapper-tool class FILE.eml\n"
	      "       mapper-tool rebuild [--flags FLAGS] FILE.eml\n"
	      "       mapper-tool verify FILE.eml   (exit 0: good signature, 4: not)\n"
	      "Prints the MS-OXCMAIL/MS-OXOSMIME message object of FILE.eml as the\n"
	      "files a mapifs mount shows.  FLAGS are Maildir flag letters (e.g. FRS).\n"
	      "rebuild prints the message written back from that object.\n"
	      "export --jsonl prints every message object of SOURCE (a Maildir, a tree\n"
	      "of .eml files) as one JSON object a line; --list-folders its folders.\n"
	      "Crypto options (before FILE.eml), as for mapifs:\n",
	      out);
	fputs(mapper_crypto_options_help(), out);
	return out == stderr ? 2 : 0;
}

/* "dir/name", or "name" at the top. */
static char *join(const char *dir, const char *name)
{
	return *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
}

static bool printable(const void *data, size_t len)
{
	return g_utf8_validate(data, (gssize)len, NULL) && !memchr(data, '\0', len);
}

static void show(mapper_message *m, const char *path, int indent)
{
	char **names;
	size_t n;
	if (mapper_message_list(m, path, &names, &n) != MAPPER_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		char *p = join(path, names[i]);
		mapper_node node;
		if (mapper_message_stat(m, p, &node) != MAPPER_OK) {
			g_free(p);
			continue;
		}
		if (node.kind == MAPPER_NODE_DIR) {
			printf("%*s%s/\n", indent, "", names[i]);
			show(m, p, indent + 2);
		} else {
			const void *d;
			size_t len;
			mapper_message_read(m, p, &d, &len);
			if (printable(d, len) && len < 400 && !memchr(d, '\n', len ? len - 1 : 0)) {
				printf("%*s%s = %.*s", indent, "", names[i], (int)len, (const char *)d);
				if (!len || ((const char *)d)[len - 1] != '\n')
					putchar('\n');
			} else {
				printf("%*s%s = <%zu bytes>\n", indent, "", names[i], len);
			}
		}
		g_free(p);
	}
	mapper_names_free(names);
}

static int export(mapper_message *m, const char *path, const char *dir)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "mapper-tool: %s: %s\n", dir, g_strerror(errno));
		return 1;
	}
	char **names;
	size_t n;
	if (mapper_message_list(m, path, &names, &n) != MAPPER_OK)
		return 1;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char *p = join(path, names[i]);
		char *out = g_build_filename(dir, names[i], NULL);
		mapper_node node;
		if (mapper_message_stat(m, p, &node) == MAPPER_OK) {
			if (node.kind == MAPPER_NODE_DIR) {
				rc = export(m, p, out);
			} else {
				const void *d;
				size_t len;
				GError *err = NULL;
				mapper_message_read(m, p, &d, &len);
				if (!g_file_set_contents(out, d, (gssize)len, &err)) {
					fprintf(stderr, "mapper-tool: %s\n", err->message);
					g_error_free(err);
					rc = 1;
				}
			}
		}
		g_free(out);
		g_free(p);
	}
	mapper_names_free(names);
	return rc;
}

/* Carry out @cmd on @m, loaded from @file (its bytes @data); @args are
 * the arguments after FILE.  The exit status. */
static int run(const char *cmd, mapper_message *m, const char *file, const char *data,
               size_t len, mapper_load_level level, int nargs, char **args)
{
	int rc = 0;
	if (!strcmp(cmd, "show") && nargs == 0) {
		if (level == MAPPER_LOAD_HEADERS)
			fputs("(headers only: body, attachments and flags are not shown)\n", stdout);
		show(m, "", 0);
	} else if (!strcmp(cmd, "class") && nargs == 0) {
		printf("%s\n", mapper_message_class(m));
	} else if (!strcmp(cmd, "export") && nargs == 1 && level == MAPPER_LOAD_FULL) {
		rc = export(m, "", args[0]);
	} else if (!strcmp(cmd, "ls") && nargs <= 1) {
		char **names;
		size_t n;
		mapper_status s = mapper_message_list(m, nargs ? args[0] : "", &names, &n);
		if (s != MAPPER_OK) {
			fprintf(stderr, "mapper-tool: %s\n", mapper_status_to_string(s));
			rc = 1;
		} else {
			for (size_t k = 0; k < n; k++)
				puts(names[k]);
			mapper_names_free(names);
		}
	} else if (!strcmp(cmd, "cat") && nargs == 1) {
		const void *d;
		size_t n;
		mapper_status s = mapper_message_read(m, args[0], &d, &n);
		if (s != MAPPER_OK) {
			fprintf(stderr, "mapper-tool: %s: %s\n", args[0], mapper_status_to_string(s));
			rc = 1;
		} else {
			fwrite(d, 1, n, stdout);
		}
	} else if (!strcmp(cmd, "verify") && nargs == 0 && level == MAPPER_LOAD_FULL) {
		/* openssl cms -verify: 0 verified, 4 "an error verifying the message" */
		const void *d;
		size_t n;
		if (mapper_message_read(m, "smime/status", &d, &n) != MAPPER_OK) {
			printf("not S/MIME\n");
			rc = 4;
		} else {
			fwrite(d, 1, n, stdout);
			rc = n >= 5 && !memcmp(d, "good", 4) && (((const char *)d)[4] == '\n') ? 0 : 4;
		}
	} else if (!strcmp(cmd, "rebuild") && nargs == 0 && level == MAPPER_LOAD_FULL) {
		char *out = NULL, *why = NULL;
		size_t n = 0;
		mapper_status s = mapper_message_export(m, data, len, &out, &n, &why);
		if (s != MAPPER_OK) {
			fprintf(stderr, "mapper-tool: %s: %s\n", file, why ? why : mapper_status_to_string(s));
			rc = 1;
		} else if (fwrite(out, 1, n, stdout) != n || fflush(stdout) != 0) {
			fprintf(stderr, "mapper-tool: writing stdout: %s\n", g_strerror(errno));
			rc = 1;
		}
		free(out);
		free(why);
	} else {
		rc = usage(stderr);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return usage(stdout);
	if (!strcmp(cmd, "--version")) {
		printf("mapper-tool %s\n", MAPIFS_VERSION);
		return 0;
	}
	/* a whole mailbox, not one file: mapper-tool-jsonl.c */
	if (!strcmp(cmd, "export") && mapper_tool_wants_jsonl(argc, argv)) {
		int rc = mapper_tool_export_jsonl(argc, argv);
		return rc < 0 ? usage(stderr) : rc;
	}

	mapper_source src = { 0 };
	mapper_load_level level = MAPPER_LOAD_FULL;
	/* the S/MIME options are those of mapifs (crypto-options.h) */
	mapper_crypto_options *opts = mapper_crypto_options_new();
	char *why = NULL;
	int i = 2;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		int taken = mapper_crypto_options_take(opts, argc, argv, &i, &why);
		if (taken > 0)
			continue;
		if (taken == 0 && !strcmp(argv[i], "--headers-only")) {
			level = MAPPER_LOAD_HEADERS;
		} else if (taken == 0 && !strcmp(argv[i], "--flags") && i + 1 < argc) {
			src.maildir_flags = argv[++i];
		} else {
			if (why)
				fprintf(stderr, "mapper-tool: %s\n", why);
			free(why);
			mapper_crypto_options_free(opts);
			return usage(stderr);
		}
	}
	if (i >= argc) {
		mapper_crypto_options_free(opts);
		return usage(stderr);
	}
	const char *file = argv[i++];

	gchar *data;
	gsize len;
	GError *err = NULL;
	if (!g_file_get_contents(file, &data, &len, &err)) {
		fprintf(stderr, "mapper-tool: %s\n", err->message);
		g_error_free(err);
		mapper_crypto_options_free(opts);
		return 1;
	}
	struct stat st;
	if (stat(file, &st) == 0)
		src.mtime = st.st_mtime;

	mapper_init();
	mapper_crypto *crypto = mapper_crypto_new();
	mapper_status cst = mapper_crypto_options_apply(opts, crypto, &why);
	mapper_crypto_options_free(opts);
	int rc = 1;
	if (cst != MAPPER_OK) {
		fprintf(stderr, "mapper-tool: %s\n", why ? why : mapper_status_to_string(cst));
		free(why);
	} else {
		mapper_message *m = mapper_message_load(data, len, &src, level);
		mapper_message_set_crypto(m, crypto);
		if (mapper_message_warning(m))
			fprintf(stderr, "mapper-tool: %s: %s\n", file, mapper_message_warning(m));
		rc = run(cmd, m, file, data, len, level, argc - i, argv + i);
		mapper_message_free(m);
	}
	g_free(data);
	mapper_crypto_free(crypto);
	mapper_shutdown();
	return rc;
}
