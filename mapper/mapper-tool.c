/*
 * mapper-tool - the mapper without FUSE: print or export the message object
 * of one .eml file, for tests and batch use.
 *
 *   mapper-tool show [--headers-only] [--flags FRS] FILE.eml
 *   mapper-tool export [--flags FRS] FILE.eml DIR
 *   mapper-tool ls [--headers-only] FILE.eml [PATH]
 *   mapper-tool cat [--headers-only] FILE.eml PATH
 *   mapper-tool class FILE.eml
 *   mapper-tool rebuild [--flags FRS] FILE.eml
 *
 * rebuild prints the Internet-format message mapper_message_export() makes
 * from the unedited object of FILE.eml and FILE.eml's bytes.
 *
 * Crypto options (before FILE, as for mapifs): --ca FILE|DIR|system,
 * --key FILE --cert FILE, --pkcs12 FILE --pass-file FILE, --verify-at TIME;
 * they decide what smime/ shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "config.h"
#include "mapper.h"

static int usage(FILE *out)
{
	fputs("usage: mapper-tool show [--headers-only] [--flags FLAGS] FILE.eml\n"
	      "       mapper-tool export [--flags FLAGS] FILE.eml DIR\n"
	      "       mapper-tool ls [--headers-only] FILE.eml [PATH]\n"
	      "       mapper-tool cat [--headers-only] FILE.eml PATH\n"
	      "       mapper-tool class FILE.eml\n"
	      "       mapper-tool rebuild [--flags FLAGS] FILE.eml\n"
	      "Prints the MS-OXCMAIL/MS-OXOSMIME message object of FILE.eml as the\n"
	      "files a mapifs mount shows.  FLAGS are Maildir flag letters (e.g. FRS).\n"
	      "rebuild prints the message written back from that object.\n"
	      "Crypto options (before FILE.eml): --ca FILE|DIR|system, --key FILE --cert FILE,\n"
	      "--pkcs12 FILE --pass-file FILE, --verify-at TIME.\n",
	      out);
	return out == stderr ? 2 : 0;
}

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

	mapper_source src = { 0 };
	mapper_load_level level = MAPPER_LOAD_FULL;
	/* repeatable, paired in order as mapifs pairs them */
	GPtrArray *cas = g_ptr_array_new(), *keys = g_ptr_array_new(), *certs = g_ptr_array_new();
	GPtrArray *p12s = g_ptr_array_new(), *pass_files = g_ptr_array_new();
	const char *at = NULL;
	int i = 2;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		bool has_arg = i + 1 < argc;
		if (!strcmp(argv[i], "--headers-only"))
			level = MAPPER_LOAD_HEADERS;
		else if (!strcmp(argv[i], "--flags") && has_arg)
			src.maildir_flags = argv[++i];
		else if (!strcmp(argv[i], "--ca") && has_arg)
			g_ptr_array_add(cas, argv[++i]);
		else if (!strcmp(argv[i], "--key") && has_arg)
			g_ptr_array_add(keys, argv[++i]);
		else if (!strcmp(argv[i], "--cert") && has_arg)
			g_ptr_array_add(certs, argv[++i]);
		else if (!strcmp(argv[i], "--pkcs12") && has_arg)
			g_ptr_array_add(p12s, argv[++i]);
		else if (!strcmp(argv[i], "--pass-file") && has_arg)
			g_ptr_array_add(pass_files, argv[++i]);
		else if (!strcmp(argv[i], "--verify-at") && has_arg)
			at = argv[++i];
		else
			return usage(stderr);
	}
	if (keys->len != certs->len)
		return usage(stderr);
	if (i >= argc)
		return usage(stderr);
	const char *file = argv[i++];

	gchar *data;
	gsize len;
	GError *err = NULL;
	if (!g_file_get_contents(file, &data, &len, &err)) {
		fprintf(stderr, "mapper-tool: %s\n", err->message);
		g_error_free(err);
		return 1;
	}
	struct stat st;
	if (stat(file, &st) == 0)
		src.mtime = st.st_mtime;

	mapper_init();
	mapper_crypto *crypto = mapper_crypto_new();
	char *why = NULL;
	mapper_status cst = MAPPER_OK;
	for (guint k = 0; cst == MAPPER_OK && k < cas->len; k++)
		cst = mapper_crypto_add_trust(crypto, cas->pdata[k], &why);
	for (guint k = 0; cst == MAPPER_OK && k < keys->len; k++)
		cst = mapper_crypto_add_identity(crypto, keys->pdata[k], certs->pdata[k], &why);
	for (guint k = 0; cst == MAPPER_OK && k < p12s->len; k++) {
		gchar *pw = NULL;
		if (k < pass_files->len && !g_file_get_contents(pass_files->pdata[k], &pw, NULL, NULL))
			pw = NULL;
		if (pw)
			pw[strcspn(pw, "\r\n")] = '\0';
		cst = mapper_crypto_add_pkcs12(crypto, p12s->pdata[k], pw ? pw : "", &why);
		g_free(pw);
	}
	g_ptr_array_unref(cas);
	g_ptr_array_unref(keys);
	g_ptr_array_unref(certs);
	g_ptr_array_unref(p12s);
	g_ptr_array_unref(pass_files);
	if (cst == MAPPER_OK && at) {
		int64_t t;
		if (mapper_parse_time(at, &t) == MAPPER_OK)
			mapper_crypto_set_verify_at(crypto, t);
		else
			cst = MAPPER_INVALID, why = strdup("--verify-at: not a date");
	}
	if (cst != MAPPER_OK) {
		fprintf(stderr, "mapper-tool: %s\n", why ? why : mapper_status_to_string(cst));
		free(why);
		g_free(data);
		mapper_crypto_free(crypto);
		mapper_shutdown();
		return 1;
	}
	mapper_message *m = mapper_message_load(data, len, &src, level);
	mapper_message_set_crypto(m, crypto);
	if (mapper_message_warning(m))
		fprintf(stderr, "mapper-tool: %s: %s\n", file, mapper_message_warning(m));

	int rc = 0;
	if (!strcmp(cmd, "show") && i == argc) {
		if (level == MAPPER_LOAD_HEADERS)
			fputs("(headers only: body, attachments and flags are not shown)\n", stdout);
		show(m, "", 0);
	} else if (!strcmp(cmd, "class") && i == argc) {
		printf("%s\n", mapper_message_class(m));
	} else if (!strcmp(cmd, "export") && i + 1 == argc && level == MAPPER_LOAD_FULL) {
		rc = export(m, "", argv[i]);
	} else if (!strcmp(cmd, "ls") && i + 1 >= argc) {
		char **names;
		size_t n;
		mapper_status s = mapper_message_list(m, i < argc ? argv[i] : "", &names, &n);
		if (s != MAPPER_OK) {
			fprintf(stderr, "mapper-tool: %s\n", mapper_status_to_string(s));
			rc = 1;
		} else {
			for (size_t k = 0; k < n; k++)
				puts(names[k]);
			mapper_names_free(names);
		}
	} else if (!strcmp(cmd, "cat") && i + 1 == argc) {
		const void *d;
		size_t n;
		mapper_status s = mapper_message_read(m, argv[i], &d, &n);
		if (s != MAPPER_OK) {
			fprintf(stderr, "mapper-tool: %s: %s\n", argv[i], mapper_status_to_string(s));
			rc = 1;
		} else {
			fwrite(d, 1, n, stdout);
		}
	} else if (!strcmp(cmd, "rebuild") && i == argc && level == MAPPER_LOAD_FULL) {
		char *out = NULL;
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
		why = NULL;
	} else {
		rc = usage(stderr);
	}
	g_free(data);
	mapper_message_free(m);
	mapper_crypto_free(crypto);
	mapper_shutdown();
	return rc;
}
