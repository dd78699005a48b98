/*
 * crypto-options.c - the S/MIME command-line options of mapifs and
 * mapper-tool: parsed once, checked once, loaded into a mapper_crypto.
 * Uses the public API (mapper.h) and mapper_fail(); the top of mapper/.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib.h>

#include "crypto-options.h"
#include "mapper-private.h"

struct mapper_crypto_options {
	/* repeatable; the i-th --key goes with the i-th --cert, the i-th
	 * --pass-file with the i-th --pkcs12 */
	GPtrArray *keys, *certs, *p12s, *pass_files, *cas;
	char *certs_dir, *verify_at, *digest, *cipher, *seal_order;
};

mapper_crypto_options *mapper_crypto_options_new(void)
{
	mapper_crypto_options *o = g_new0(mapper_crypto_options, 1);
	GPtrArray **lists[] = { &o->keys, &o->certs, &o->p12s, &o->pass_files, &o->cas };
	for (size_t i = 0; i < G_N_ELEMENTS(lists); i++)
		*lists[i] = g_ptr_array_new_with_free_func(g_free);
	return o;
}

void mapper_crypto_options_free(mapper_crypto_options *o)
{
	if (!o)
		return;
	GPtrArray *lists[] = { o->keys, o->certs, o->p12s, o->pass_files, o->cas };
	for (size_t i = 0; i < G_N_ELEMENTS(lists); i++)
		g_ptr_array_unref(lists[i]);
	g_free(o->certs_dir);
	g_free(o->verify_at);
	g_free(o->digest);
	g_free(o->cipher);
	g_free(o->seal_order);
	g_free(o);
}

/* A single-valued option: the last one given wins. */
static void set_once(char **slot, const char *v)
{
	g_free(*slot);
	*slot = g_strdup(v);
}

/* Where the value of option @name goes: a list, or a single slot. */
static bool option_slot(mapper_crypto_options *o, const char *name, GPtrArray **list, char ***one)
{
	const struct { const char *name; size_t list, one; } table[] = {
		{ "--key", offsetof(mapper_crypto_options, keys), 0 },
		{ "--cert", offsetof(mapper_crypto_options, certs), 0 },
		{ "--pkcs12", offsetof(mapper_crypto_options, p12s), 0 },
		{ "--pass-file", offsetof(mapper_crypto_options, pass_files), 0 },
		{ "--ca", offsetof(mapper_crypto_options, cas), 0 },
		{ "--certs", 0, offsetof(mapper_crypto_options, certs_dir) },
		{ "--verify-at", 0, offsetof(mapper_crypto_options, verify_at) },
		{ "--digest", 0, offsetof(mapper_crypto_options, digest) },
		{ "--cipher", 0, offsetof(mapper_crypto_options, cipher) },
		{ "--seal-order", 0, offsetof(mapper_crypto_options, seal_order) },
	};
	for (size_t k = 0; k < G_N_ELEMENTS(table); k++) {
		if (strcmp(name, table[k].name) != 0)
			continue;
		*list = table[k].one ? NULL : *(GPtrArray **)((char *)o + table[k].list);
		*one = table[k].one ? (char **)((char *)o + table[k].one) : NULL;
		return true;
	}
	return false;
}

/* Keep @value for option @name ("--key"); false when there is no such option. */
static bool store(mapper_crypto_options *o, const char *name, const char *value)
{
	GPtrArray *list;
	char **one;
	if (!option_slot(o, name, &list, &one))
		return false;
	if (list)
		g_ptr_array_add(list, g_strdup(value));
	else
		set_once(one, value);
	return true;
}

int mapper_crypto_options_take(mapper_crypto_options *o, int argc, char **argv, int *i,
                               char **why)
{
	const char *arg = argv[*i];
	const char *eq = strchr(arg, '=');
	char *name = eq ? g_strndup(arg, (gsize)(eq - arg)) : g_strdup(arg);
	GPtrArray *list;
	char **one;
	bool known = option_slot(o, name, &list, &one);
	if (known && !eq && *i + 1 >= argc) {
		mapper_fail(why, MAPPER_INVALID, "%s needs a value", arg);
		g_free(name);
		return -1;
	}
	if (known)
		store(o, name, eq ? eq + 1 : argv[++*i]);
	g_free(name);
	return known ? 1 : 0;
}

int mapper_crypto_options_take_mount_option(mapper_crypto_options *o, const char *opt,
                                            char **why)
{
	const char *eq = strchr(opt, '=');
	size_t len = eq ? (size_t)(eq - opt) : strlen(opt);
	/* "--" and the name, with fstab's underscores as the command line's hyphens */
	char *name = g_strdup_printf("--%.*s", (int)len, opt);
	g_strdelimit(name + 2, "_", '-');
	GPtrArray *list;
	char **one;
	int r = 0;
	if (option_slot(o, name, &list, &one)) {
		if (!eq || !eq[1]) {
			mapper_fail(why, MAPPER_INVALID, "-o %.*s needs a value (-o %.*s=...)",
			            (int)len, opt, (int)len, opt);
			r = -1;
		} else {
			store(o, name, eq + 1);
			r = 1;
		}
	}
	g_free(name);
	return r;
}

/* Like ssh: a private key (or its password) that others can read is not
 * used at all, so that a mistake is noticed rather than carried on. */
static mapper_status private_file_ok(const char *file, const char *what, char **why)
{
	struct stat st;
	if (stat(file, &st) != 0)
		return mapper_fail(why, MAPPER_INVALID, "%s %s: %s", what, file, g_strerror(errno));
	if (st.st_mode & 077)
		return mapper_fail(why, MAPPER_INVALID, "%s %s is accessible by group or others (mode %04o); "
		            "refusing to use it: chmod 600 %s",
		            what, file, (unsigned)(st.st_mode & 07777), file);
	return MAPPER_OK;
}

/* The password of pass file @file: its first line (caller wipes and frees
 * with g_free). */
static mapper_status read_password(const char *file, char **pw, char **why)
{
	mapper_status st = private_file_ok(file, "pass file", why);
	if (st != MAPPER_OK)
		return st;
	gchar *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(file, &text, &len, &err)) {
		st = mapper_fail(why, MAPPER_INVALID, "pass file %s: %s", file, err->message);
		g_error_free(err);
		return st;
	}
	text[strcspn(text, "\r\n")] = '\0';
	*pw = text;
	return MAPPER_OK;
}

static mapper_status add_identities(const mapper_crypto_options *o, mapper_crypto *c, char **why)
{
	mapper_status st = MAPPER_OK;
	for (guint i = 0; st == MAPPER_OK && i < o->keys->len; i++) {
		st = private_file_ok(o->keys->pdata[i], "private key", why);
		if (st == MAPPER_OK)
			st = mapper_crypto_add_identity(c, o->keys->pdata[i], o->certs->pdata[i], why);
	}
	for (guint i = 0; st == MAPPER_OK && i < o->p12s->len; i++) {
		char *pw = NULL;
		st = private_file_ok(o->p12s->pdata[i], "PKCS #12 file", why);
		if (st == MAPPER_OK && i < o->pass_files->len)
			st = read_password(o->pass_files->pdata[i], &pw, why);
		if (st == MAPPER_OK)
			st = mapper_crypto_add_pkcs12(c, o->p12s->pdata[i], pw ? pw : "", why);
		if (pw) {
			memset(pw, 0, strlen(pw));
			g_free(pw);
		}
	}
	return st;
}

mapper_status mapper_crypto_options_apply(const mapper_crypto_options *o, mapper_crypto *c,
                                          char **why)
{
	*why = NULL;
	if (o->keys->len != o->certs->len)
		return mapper_fail(why, MAPPER_INVALID, "each --key needs a --cert (%u keys, %u certificates)",
		            o->keys->len, o->certs->len);
	if (o->pass_files->len > o->p12s->len)
		return mapper_fail(why, MAPPER_INVALID, "a --pass-file without its --pkcs12");
	int64_t at = 0;
	if (o->verify_at && mapper_parse_time(o->verify_at, &at) != MAPPER_OK)
		return mapper_fail(why, MAPPER_INVALID, "--verify-at %s: not an ISO 8601 or RFC 5322 date",
		            o->verify_at);
	bool encrypt_first = o->seal_order && strcmp(o->seal_order, "encrypt-then-sign") == 0;
	if (o->seal_order && !encrypt_first && strcmp(o->seal_order, "sign-then-encrypt") != 0)
		return mapper_fail(why, MAPPER_INVALID,
		            "--seal-order takes sign-then-encrypt or encrypt-then-sign");

	mapper_status st = add_identities(o, c, why);
	for (guint i = 0; st == MAPPER_OK && i < o->cas->len; i++)
		st = mapper_crypto_add_trust(c, o->cas->pdata[i], why);
	if (st == MAPPER_OK && o->certs_dir)
		st = mapper_crypto_preload(c, o->certs_dir, why);
	if (st == MAPPER_OK && o->digest)
		st = mapper_crypto_set_digest(c, o->digest, why);
	if (st == MAPPER_OK && o->cipher)
		st = mapper_crypto_set_cipher(c, o->cipher, why);
	if (st != MAPPER_OK)
		return st;
	if (o->verify_at)
		mapper_crypto_set_verify_at(c, at);
	if (encrypt_first)
		mapper_crypto_set_encrypt_first(c, true);
	return MAPPER_OK;
}

const char *mapper_crypto_options_help(void)
{
	return "    --key FILE --cert FILE       a local identity that decrypts and signs\n"
	       "    --pkcs12 FILE --pass-file F  the same from PKCS #12 (both repeatable)\n"
	       "    --ca FILE|DIR|system         trust anchors (repeatable; none by default)\n"
	       "    --certs DIR                  preload certificates/ from DIR\n"
	       "    --verify-at TIME             verify as of TIME, not the signing time\n"
	       "    --digest NAME                signing digest (sha256; md5, sha1, sha384, sha512)\n"
	       "    --cipher NAME                content cipher (aes-128-cbc; rc4, des-ede3-cbc ...)\n"
	       "    --seal-order ORDER           sign-then-encrypt (default) or encrypt-then-sign\n"
	       "Private key and pass files must not be readable by group or others.\n";
}
