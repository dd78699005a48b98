/*
 * smime.c - the certificate services of design.md section 5, with OpenSSL's
 * CMS API on the original bytes: signature verification, decryption, the
 * address -> certificate map (SMTP-ADDR-DC-CERT-MAP), and sealing messages
 * composed through the filesystem.
 *
 * Receive side (seed 001, "Cryptographic Processing"): every signed layer is
 * verified, MD5 and SHA-256 as the seed requires and the SHA family besides;
 * an enveloped layer is decrypted with the local identity (RC4 or AES-128 as
 * the seed requires, and 3DES, RC2, AES-192/256, AES-GCM).  The seed drops
 * data whose sender certificate is invalid; a browsing tool shows it instead,
 * with a status that says so, and only "good" signatures enter the map.
 * Send side (seed 000): sign with the local certificate included in the
 * PKCS #7 certificate set, encrypt to the recipient's certificate from the
 * map, in either order.
 *
 * GMime's own S/MIME goes through GpgME, so GMime is used here for MIME only.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <sys/stat.h>

#include <gmime/gmime.h>
#include <openssl/pem.h>  /* before cms.h, for PEM_read_bio_CMS */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mapper-private.h"
#include "tags.h"

/* ---- the context -------------------------------------------------------- */

/* OSSL_STACK_OF_X509_free() is OpenSSL 3.2; Debian 12 has 3.0. */
static void certs_free(STACK_OF(X509) *sk)
{
	sk_X509_pop_free(sk, X509_free);
}

typedef struct identity {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;       /* extra certificates (PKCS #12), or NULL */
} identity;

typedef struct map_entry {
	X509 *cert;
	int64_t when;                /* signing time; INT64_MIN when preloaded */
	GBytes *pem;
} map_entry;

/*
 * Threads (mapper.h): everything above @lock is set up before the first
 * message uses the context and only read afterwards -- the identities'
 * keys and certificates, the X509_STORE (OpenSSL 3 locks its own lookups;
 * every verification makes its own X509_STORE_CTX), the settings.  The
 * certificate map is written while messages are evaluated, from any
 * thread, so @lock guards it: taken only around the map operations, never
 * across a CMS verification, decryption or PEM encoding.
 */
struct mapper_crypto {
	GPtrArray *ids;              /* of identity*, the first one signs */
	X509_STORE *store;           /* trust anchors (--ca); empty = none */
	bool have_verify_at;
	int64_t verify_at;
	const EVP_MD *md;
	const EVP_CIPHER *cipher;
	bool encrypt_first;

	GMutex lock;                 /* guards the fields below */
	GHashTable *map;             /* lower-case address -> map_entry* */
	unsigned generation;
	/* the PEM of every replaced entry, so that what mapper_crypto_map_get()
	 * returned stays valid until the context is freed */
	GPtrArray *retired;          /* of GBytes* */
};

static void identity_free(gpointer p)
{
	identity *id = p;
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	certs_free(id->chain);
	g_free(id);
}

static void map_entry_free(gpointer p)
{
	map_entry *e = p;
	X509_free(e->cert);
	g_bytes_unref(e->pem);
	g_free(e);
}

mapper_crypto *mapper_crypto_new(void)
{
	mapper_crypto *c = g_new0(mapper_crypto, 1);
	c->ids = g_ptr_array_new_with_free_func(identity_free);
	c->store = X509_STORE_new();
	c->md = EVP_sha256();
	c->cipher = EVP_aes_128_cbc();
	g_mutex_init(&c->lock);
	c->map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, map_entry_free);
	c->retired = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	return c;
}

void mapper_crypto_free(mapper_crypto *c)
{
	if (!c)
		return;
	g_ptr_array_unref(c->ids);
	X509_STORE_free(c->store);
	g_hash_table_unref(c->map);
	g_ptr_array_unref(c->retired);
	g_mutex_clear(&c->lock);
	g_free(c);
}

/* OpenSSL's reason for the last failure, and the error queue emptied. */
static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

/* "FILE: REASON" for a file that could not be used; frees @reason. */
static mapper_status file_fail(char **why, const char *file, char *reason)
{
	mapper_status st = mapper_fail(why, MAPPER_INVALID, "%s: %s", file, reason ? reason : "unusable");
	free(reason);
	return st;
}

/* Never ask for a pass phrase on the terminal: a daemon has none. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

static GBytes *read_file(const char *file, char **why)
{
	gchar *data = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(file, &data, &len, &err)) {
		if (why)
			*why = strdup(err->message);
		g_error_free(err);
		return NULL;
	}
	return g_bytes_new_take(data, len);
}

/* All certificates in PEM or DER bytes (a PEM file may hold several). */
static STACK_OF(X509) *parse_certs(GBytes *b)
{
	gsize n;
	const unsigned char *d = g_bytes_get_data(b, &n);
	STACK_OF(X509) *out = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(d, (int)n);
	X509 *x;
	while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL)))
		sk_X509_push(out, x);
	BIO_free(bio);
	if (sk_X509_num(out) == 0) {
		const unsigned char *p = d;
		x = d2i_X509(NULL, &p, (long)n);
		if (x)
			sk_X509_push(out, x);
	}
	ERR_clear_error();
	return out;
}

static X509 *read_cert(const char *file, char **why)
{
	GBytes *b = read_file(file, why);
	if (!b)
		return NULL;
	STACK_OF(X509) *all = parse_certs(b);
	g_bytes_unref(b);
	X509 *x = sk_X509_num(all) ? sk_X509_shift(all) : NULL;
	certs_free(all);
	if (!x && why)
		*why = strdup("no certificate in it (PEM or DER expected)");
	return x;
}

static EVP_PKEY *read_key(const char *file, char **why)
{
	GBytes *b = read_file(file, why);
	if (!b)
		return NULL;
	gsize n;
	const unsigned char *d = g_bytes_get_data(b, &n);
	BIO *bio = BIO_new_mem_buf(d, (int)n);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (!k) {
		const unsigned char *p = d;
		k = d2i_AutoPrivateKey(NULL, &p, (long)n);
	}
	ERR_clear_error();
	g_bytes_unref(b);
	if (!k && why)
		*why = strdup("no unencrypted private key in it (PEM or DER expected)");
	return k;
}

static mapper_status add_identity(mapper_crypto *c, EVP_PKEY *key, X509 *cert,
                                  STACK_OF(X509) *chain, const char *what, char **why)
{
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		EVP_PKEY_free(key);
		X509_free(cert);
		certs_free(chain);
		return mapper_fail(why, MAPPER_INVALID, "%s: the private key does not belong to the certificate", what);
	}
	identity *id = g_new0(identity, 1);
	id->key = key;
	id->cert = cert;
	id->chain = chain;
	g_ptr_array_add(c->ids, id);
	return MAPPER_OK;
}

mapper_status mapper_crypto_add_identity(mapper_crypto *c, const char *key_file,
                                         const char *cert_file, char **why)
{
	char *reason = NULL;
	EVP_PKEY *key = read_key(key_file, &reason);
	if (!key)
		return file_fail(why, key_file, reason);
	X509 *cert = read_cert(cert_file, &reason);
	if (!cert) {
		EVP_PKEY_free(key);
		return file_fail(why, cert_file, reason);
	}
	return add_identity(c, key, cert, NULL, cert_file, why);
}

mapper_status mapper_crypto_add_pkcs12(mapper_crypto *c, const char *file,
                                       const char *password, char **why)
{
	char *reason = NULL;
	GBytes *b = read_file(file, &reason);
	if (!b)
		return file_fail(why, file, reason);
	gsize n;
	const unsigned char *p = g_bytes_get_data(b, &n);
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)n);
	g_bytes_unref(b);
	if (!p12)
		return mapper_fail(why, MAPPER_INVALID, "%s: not a PKCS #12 file (%s)", file, ossl_reason());
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	/* RC2-40 certificate bags need the legacy provider (mapper_init) */
	int ok = PKCS12_parse(p12, password ? password : "", &key, &cert, &chain);
	PKCS12_free(p12);
	if (!ok || !key || !cert) {
		const char *r = ok ? "it holds no key and certificate pair" : ossl_reason();
		EVP_PKEY_free(key);
		X509_free(cert);
		certs_free(chain);
		return mapper_fail(why, MAPPER_INVALID, "%s: cannot read it: %s (wrong password?)", file, r);
	}
	return add_identity(c, key, cert, chain, file, why);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && g_ascii_strcasecmp(s + a - b, suffix) == 0;
}

/* Every regular file of @dir with a certificate suffix, sorted. */
static GPtrArray *cert_files(const char *dir)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return out;
	const char *name;
	while ((name = g_dir_read_name(d)))
		if (has_suffix(name, ".pem") || has_suffix(name, ".crt") || has_suffix(name, ".der") ||
		    has_suffix(name, ".cer"))
			g_ptr_array_add(out, g_build_filename(dir, name, NULL));
	g_dir_close(d);
	g_ptr_array_sort(out, (GCompareFunc)g_strcmp0);
	return out;
}

static mapper_status add_trust_file(mapper_crypto *c, const char *file, char **why)
{
	char *reason = NULL;
	GBytes *b = read_file(file, &reason);
	if (!b)
		return file_fail(why, file, reason);
	STACK_OF(X509) *all = parse_certs(b);
	g_bytes_unref(b);
	int n = sk_X509_num(all);
	for (int i = 0; i < n; i++)
		X509_STORE_add_cert(c->store, sk_X509_value(all, i));
	certs_free(all);
	ERR_clear_error();
	if (!n)
		return mapper_fail(why, MAPPER_INVALID, "%s: no certificate in it", file);
	return MAPPER_OK;
}

mapper_status mapper_crypto_add_trust(mapper_crypto *c, const char *where, char **why)
{
	if (strcmp(where, "system") == 0) {
		/* only when asked: design.md 5, "no system store unless asked" */
		if (X509_STORE_set_default_paths(c->store) != 1)
			return mapper_fail(why, MAPPER_INVALID, "the system trust store: %s", ossl_reason());
		return MAPPER_OK;
	}
	if (g_file_test(where, G_FILE_TEST_IS_DIR)) {
		GPtrArray *files = cert_files(where);
		mapper_status st = files->len ? MAPPER_OK
		                              : mapper_fail(why, MAPPER_INVALID, "%s: no certificate files in it", where);
		for (guint i = 0; i < files->len && st == MAPPER_OK; i++)
			st = add_trust_file(c, files->pdata[i], why);
		g_ptr_array_unref(files);
		return st;
	}
	return add_trust_file(c, where, why);
}

void mapper_crypto_set_verify_at(mapper_crypto *c, int64_t t)
{
	c->have_verify_at = true;
	c->verify_at = t;
}

mapper_status mapper_crypto_set_digest(mapper_crypto *c, const char *name, char **why)
{
	const EVP_MD *md = EVP_get_digestbyname(name);
	if (!md)
		return mapper_fail(why, MAPPER_INVALID, "unknown digest %s", name);
	c->md = md;
	return MAPPER_OK;
}

mapper_status mapper_crypto_set_cipher(mapper_crypto *c, const char *name, char **why)
{
	const EVP_CIPHER *ciph = EVP_get_cipherbyname(name);
	if (!ciph)
		return mapper_fail(why, MAPPER_INVALID, "unknown cipher %s", name);
	c->cipher = ciph;
	return MAPPER_OK;
}

void mapper_crypto_set_encrypt_first(mapper_crypto *c, bool encrypt_first)
{
	c->encrypt_first = encrypt_first;
}

/* ---- the certificate map ------------------------------------------------ */

static GBytes *cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	char *d;
	long n = BIO_get_mem_data(b, &d);
	GBytes *out = g_bytes_new(d, (gsize)n);
	BIO_free(b);
	return out;
}

/* The e-mail addresses of @x (subject emailAddress, SAN rfc822Name). */
static GPtrArray *cert_emails(X509 *x)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	STACK_OF(OPENSSL_STRING) *em = X509_get1_email(x);
	for (int i = 0; i < sk_OPENSSL_STRING_num(em); i++) {
		const char *e = sk_OPENSSL_STRING_value(em, i);
		bool dup = false;
		for (guint j = 0; j < out->len; j++)
			dup |= g_ascii_strcasecmp(out->pdata[j], e) == 0;
		if (!dup)
			g_ptr_array_add(out, g_strdup(e));
	}
	X509_email_free(em);
	return out;
}

bool mapper_crypto_identity_mailbox(const mapper_crypto *c, char **name, char **address)
{
	if (!c || c->ids->len == 0)
		return false;
	const identity *id = c->ids->pdata[0];
	GPtrArray *em = cert_emails(id->cert);
	bool found = em->len > 0;
	if (found) {
		*address = g_strdup(em->pdata[0]);
		*name = NULL;
		const X509_NAME *subject = X509_get_subject_name(id->cert);
		int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
		unsigned char *utf8 = NULL;
		if (at >= 0 &&
		    ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at))) > 0 &&
		    g_utf8_validate((const char *)utf8, -1, NULL))
			*name = g_strdup((const char *)utf8);
		OPENSSL_free(utf8);
	}
	g_ptr_array_unref(em);
	return found;
}

/* An address usable as a file name: one '@', no '/', no control bytes. */
static char *map_key(const char *address)
{
	if (!address || !strchr(address, '@') || strchr(address, '/') || strlen(address) > 254 ||
	    address[0] == '.')
		return NULL;
	for (const unsigned char *c = (const unsigned char *)address; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return NULL;
	return g_ascii_strdown(address, -1);
}

/* SMTP-ADDR-DC-CERT-MAP(address) := cert; "any value previously stored MUST
 * be overwritten" (seed 001) by a later signature.  Later means a later
 * signing time, so the map does not depend on the order mail is read in;
 * equal times are settled by comparing the certificates.  @pem is @cert's
 * PEM text.  Takes c->lock. */
static void map_put(mapper_crypto *c, const char *address, X509 *cert, GBytes *pem, int64_t when)
{
	char *key = map_key(address);
	if (!key)
		return;
	g_mutex_lock(&c->lock);
	map_entry *e = g_hash_table_lookup(c->map, key);
	if (e && (when < e->when || (when == e->when && X509_cmp(cert, e->cert) <= 0))) {
		g_free(key);
	} else if (e && X509_cmp(cert, e->cert) == 0) {
		/* the same certificate, signed later: what the map shows is
		 * unchanged, only the time later signatures must beat */
		e->when = when;
		g_free(key);
	} else {
		map_entry *n = g_new0(map_entry, 1);
		X509_up_ref(cert);
		n->cert = cert;
		n->when = when;
		n->pem = g_bytes_ref(pem);
		if (e)
			g_ptr_array_add(c->retired, g_bytes_ref(e->pem));
		g_hash_table_replace(c->map, key, n);
		c->generation++;
	}
	g_mutex_unlock(&c->lock);
}

static void learn(mapper_crypto *c, X509 *cert, const char *from, int64_t when)
{
	if (!c)
		return;
	GBytes *pem = cert_pem(cert);
	if (from)
		map_put(c, from, cert, pem, when);
	GPtrArray *em = cert_emails(cert);
	for (guint i = 0; i < em->len; i++)
		map_put(c, em->pdata[i], cert, pem, when);
	g_ptr_array_unref(em);
	g_bytes_unref(pem);
}

mapper_status mapper_crypto_preload(mapper_crypto *c, const char *dir, char **why)
{
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
		return mapper_fail(why, MAPPER_INVALID, "%s is not a directory", dir);
	GPtrArray *files = cert_files(dir);
	for (guint i = 0; i < files->len; i++) {
		const char *f = files->pdata[i];
		GBytes *b = read_file(f, NULL);
		if (!b)
			continue;
		STACK_OF(X509) *all = parse_certs(b);
		g_bytes_unref(b);
		/* a file named "<address>.pem" is that address's certificate */
		char *base = g_path_get_basename(f);
		char *dot = strrchr(base, '.');
		if (dot)
			*dot = '\0';
		for (int k = 0; k < sk_X509_num(all); k++) {
			X509 *x = sk_X509_value(all, k);
			learn(c, x, k == 0 ? base : NULL, INT64_MIN);
		}
		g_free(base);
		certs_free(all);
	}
	g_ptr_array_unref(files);
	return MAPPER_OK;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **mapper_crypto_map_addresses(mapper_crypto *c, size_t *count)
{
	guint n = 0;
	g_mutex_lock(&c->lock);
	char **keys = (char **)g_hash_table_get_keys_as_array(c->map, &n);
	char **out = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++)
		out[i] = g_strdup_printf("%s.pem", keys[i]);
	g_mutex_unlock(&c->lock);
	g_free(keys);
	qsort(out, n, sizeof *out, strp_cmp);
	if (count)
		*count = n;
	return out;
}

bool mapper_crypto_map_get(mapper_crypto *c, const char *address, const void **pem, size_t *len)
{
	g_mutex_lock(&c->lock);
	map_entry *e = g_hash_table_lookup(c->map, address);
	gsize n = 0;
	/* a replaced entry's PEM is retired, not freed: the pointer stays valid */
	const void *d = e ? g_bytes_get_data(e->pem, &n) : NULL;
	g_mutex_unlock(&c->lock);
	if (!e)
		return false;
	*pem = d;
	*len = n;
	return true;
}

bool mapper_crypto_map_copy(mapper_crypto *c, const char *address, char **pem, size_t *len)
{
	g_mutex_lock(&c->lock);
	map_entry *e = g_hash_table_lookup(c->map, address);
	GBytes *b = e ? g_bytes_ref(e->pem) : NULL;
	g_mutex_unlock(&c->lock);
	if (!b)
		return false;
	gsize n;
	const void *d = g_bytes_get_data(b, &n);
	char *copy = malloc(n + 1);
	if (copy) {
		memcpy(copy, d, n);
		copy[n] = '\0';
		*pem = copy;
		*len = n;
	}
	g_bytes_unref(b);
	return copy != NULL;
}

unsigned mapper_crypto_map_generation(const mapper_crypto *c)
{
	/* the lock is the context's own mutable state, not its value */
	GMutex *lock = (GMutex *)&c->lock;
	g_mutex_lock(lock);
	unsigned g = c->generation;
	g_mutex_unlock(lock);
	return g;
}

/* ---- the smime/ tree ---------------------------------------------------- */

static smime_node *vdir(smime_node *parent, const char *name)
{
	smime_node *n = g_new0(smime_node, 1);
	n->name = g_strdup(name);
	n->children = g_ptr_array_new_with_free_func(smime_node_free);
	if (parent)
		g_ptr_array_add(parent->children, n);
	return n;
}

static void vfile_take(smime_node *dir, const char *name, GBytes *data)
{
	smime_node *old = smime_node_child(dir, name);
	if (old)
		g_ptr_array_remove(dir->children, old);
	smime_node *n = g_new0(smime_node, 1);
	n->name = g_strdup(name);
	n->data = data;
	g_ptr_array_add(dir->children, n);
}

/* A one-line file: the text, then "\n" (design.md 3). */
static void vline(smime_node *dir, const char *name, const char *text)
{
	char *s = g_strdup_printf("%s\n", text);
	vfile_take(dir, name, g_bytes_new_take(s, strlen(s)));
}

static void vlinef(smime_node *dir, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void vlinef(smime_node *dir, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	vline(dir, name, s);
	g_free(s);
}

static int node_cmp(gconstpointer a, gconstpointer b)
{
	const smime_node *x = *(smime_node *const *)a, *y = *(smime_node *const *)b;
	return strcmp(x->name, y->name);
}

static void vsort(smime_node *dir)
{
	if (!dir->children)
		return;
	g_ptr_array_sort(dir->children, node_cmp);
	for (guint i = 0; i < dir->children->len; i++)
		vsort(dir->children->pdata[i]);
}

static char *bio_string(BIO *b)
{
	char *d;
	long n = BIO_get_mem_data(b, &d);
	char *s = g_strndup(d, (gsize)n);
	BIO_free(b);
	/* names may hold any bytes: keep the file valid UTF-8 on one line */
	for (char *c = s; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (!g_utf8_validate(s, -1, NULL)) {
		char *v = g_utf8_make_valid(s, -1);
		g_free(s);
		s = v;
	}
	return s;
}

/* RFC 2253 form, as `openssl x509 -nameopt RFC2253` prints it. */
static char *name_text(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
	return bio_string(b);
}

/* Upper-case hex, as `openssl x509 -serial` prints it. */
static char *serial_text(const ASN1_INTEGER *serial)
{
	BIO *b = BIO_new(BIO_s_mem());
	i2a_ASN1_INTEGER(b, serial);
	return bio_string(b);
}

static bool asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

static void vtime(smime_node *dir, const char *name, const ASN1_TIME *t)
{
	int64_t u;
	if (asn1_time_unix(t, &u)) {
		char buf[21];
		mapper_format_time(u, buf);
		vline(dir, name, buf);
	}
}

/* The address mail from @m was sent from, for the certificate map. */
static const char *sender_address(mapper_message *m)
{
	if (m->smime_sender)
		return m->smime_sender;
	const uint32_t tags[] = { sent_representing.smtp, sent_representing.email,
	                          sender.smtp, sender.email };
	for (size_t i = 0; i < G_N_ELEMENTS(tags); i++) {
		mapper_prop *p = bag_get(&m->props, tags[i]);
		if (p && p->str && strchr(p->str, '@'))
			return p->str;
	}
	return NULL;
}

static bool plausible_entity(GBytes *b);

/* smime/content: the unwrapped entity as a nested message object, itself
 * recognised (and unwrapped) again when it is S/MIME: nested layers in
 * either order.  It is converted when first gone into (smime_node_message). */
static void add_content(mapper_message *m, smime_node *dir, const void *data, size_t len)
{
	if (m->depth + 1 > MAPPER_MAX_DEPTH) {
		message_warn(m, "S/MIME layers nested too deeply; the innermost are not unwrapped");
		return;
	}
	smime_node *n = g_new0(smime_node, 1);
	n->name = g_strdup("content");
	n->pending = g_bytes_new(data, len);
	n->owner = m;
	n->sender = g_strdup(sender_address(m));
	g_ptr_array_add(dir->children, n);
}

mapper_message *smime_node_message(smime_node *n)
{
	if (n->msg || !n->pending)
		return n->msg;
	static const mapper_source none;
	mapper_message *m = n->owner;
	mapper_message *in = message_new(m->depth + 1);
	in->level = MAPPER_LOAD_FULL;
	in->unwrapped = true;
	in->raw = n->pending;
	n->pending = NULL;
	in->smime_sender = n->sender;
	n->sender = NULL;
	gsize len;
	const char *data = g_bytes_get_data(in->raw, &len);
	if (!plausible_entity(in->raw)) {
		/* content with no header at all is a text/plain body (RFC 2045
		 * 5.2 defaults): read it after an empty header block */
		GString *s = g_string_new("\r\n");
		g_string_append_len(s, data, (gssize)len);
		import_message(in, s->str, s->len, &none, MAPPER_LOAD_FULL);
		g_string_free(s, TRUE);
	} else {
		import_message(in, data ? data : "", len, &none, MAPPER_LOAD_FULL);
	}
	mapper_message_set_crypto(in, m->crypto);
	n->msg = in;
	return in;
}

/* ---- verification --------------------------------------------------------- */

/* Worst first wins when signers disagree. */
typedef enum { SEV_GOOD, SEV_UNTRUSTED, SEV_EXPIRED, SEV_ERROR, SEV_BAD } severity;

typedef struct chain_result {
	bool untrusted, expired;
	int other;                   /* first other X509_V_ERR_*, 0 if none */
} chain_result;

static int chain_cb(int ok, X509_STORE_CTX *ctx)
{
	if (ok)
		return 1;
	chain_result *r = X509_STORE_CTX_get_app_data(ctx);
	int e = X509_STORE_CTX_get_error(ctx);
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
		r->untrusted = true;
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		r->expired = true;
		break;
	default:
		if (!r->other)
			r->other = e;
		break;
	}
	/* go on, to see every problem of the chain */
	return 1;
}

/* Is @cert chained to a trust anchor at time @when?  The certificates the
 * message carries serve as intermediates. */
static severity check_chain(mapper_crypto *c, X509 *cert, STACK_OF(X509) *untrusted,
                            int64_t when, char **reason)
{
	X509_STORE *empty = NULL;
	X509_STORE *store = c ? c->store : (empty = X509_STORE_new());
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	chain_result r = { 0 };
	severity sev = SEV_ERROR;
	if (ctx && X509_STORE_CTX_init(ctx, store, cert, untrusted) == 1) {
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)when);
		X509_STORE_CTX_set_app_data(ctx, &r);
		X509_STORE_CTX_set_verify_cb(ctx, chain_cb);
		if (X509_verify_cert(ctx) < 0 && !r.other)
			r.other = X509_V_ERR_UNSPECIFIED;
		if (r.other) {
			sev = SEV_ERROR;
			*reason = g_strdup(X509_verify_cert_error_string(r.other));
		} else if (r.untrusted) {
			sev = SEV_UNTRUSTED;
		} else if (r.expired) {
			sev = SEV_EXPIRED;
		} else {
			sev = SEV_GOOD;
		}
	} else {
		*reason = g_strdup(ossl_reason());
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(empty);
	ERR_clear_error();
	return sev;
}

static const char *severity_word(severity s)
{
	switch (s) {
	case SEV_GOOD: return "good";
	case SEV_UNTRUSTED: return "untrusted";
	case SEV_EXPIRED: return "expired";
	case SEV_ERROR: return "error";
	case SEV_BAD: return "bad";
	}
	return "error";
}

static void vstatus(smime_node *dir, severity s, const char *reason)
{
	if (s == SEV_ERROR)
		vlinef(dir, "status", "error: %s", reason ? reason : "unknown");
	else
		vline(dir, "status", severity_word(s));
}

/* Whether an OpenSSL verification failure means "the data do not match the
 * signature" (bad) rather than "it could not be checked" (error). */
static bool failure_is_bad(unsigned long e)
{
	if (e == 0)
		return true;   /* refused without a reason: e.g. an empty digest set */
	if (ERR_GET_LIB(e) != ERR_LIB_CMS)
		return false;
	switch (ERR_GET_REASON(e)) {
	case CMS_R_VERIFICATION_FAILURE:
	case CMS_R_CONTENT_VERIFY_ERROR:
	case CMS_R_SIGNER_CERTIFICATE_NOT_FOUND:
	case CMS_R_NO_MATCHING_SIGNATURE:
		return true;
	}
	return false;
}

/* @in with every line break made CRLF (@crlf) or LF. */
static GBytes *line_breaks(GBytes *in, bool crlf)
{
	gsize n;
	const char *d = g_bytes_get_data(in, &n);
	GString *s = g_string_sized_new(n + n / 16);
	for (gsize i = 0; i < n; i++) {
		if (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n')
			continue;
		if (d[i] == '\n' && crlf)
			g_string_append_c(s, '\r');
		g_string_append_c(s, d[i]);
	}
	return g_string_free_to_bytes(s);
}

static GBytes *bio_bytes(BIO *b)
{
	char *d;
	long n = BIO_get_mem_data(b, &d);
	return g_bytes_new(d, n > 0 ? (gsize)n : 0);
}

static bool signing_time(CMS_SignerInfo *si, int64_t *out)
{
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	if (idx < 0)
		return false;
	X509_ATTRIBUTE *a = CMS_signed_get_attr(si, idx);
	ASN1_TYPE *t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	if (!t || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return false;
	return asn1_time_unix((const ASN1_TIME *)t->value.asn1_string, out);
}

/*
 * The detached content for CMS_verify(): @len bytes at @data, read through a
 * null filter so that the head of the chain is not a memory BIO.
 *
 * Why: OpenSSL 3.0's CMS_verify() (crypto/cms/cms_smime.c, 3.0.19 and still
 * in 3.5/master) copies a BIO_TYPE_MEM content into a temporary
 * BIO_new_mem_buf() "tmpin" and frees it only as the tail of the digest BIO
 * chain that CMS_dataInit(cms, tmpin) builds.  When CMS_dataInit() returns
 * NULL -- ossl_cms_SignedData_init_bio() makes no chain for an empty
 * SignedData.digestAlgorithms SET (and no error either), or fails on a
 * digest algorithm it cannot fetch -- the error path calls
 * BIO_free_all(NULL) and tmpin (5 allocations, 272 bytes) leaks on every
 * evaluation.  Any other BIO is used as it is (tmpin = dcont), and the
 * error path then frees only what CMS_verify made, so nothing leaks; the
 * verification itself is the same.  The caller frees the chain with
 * BIO_free_all().
 */
static BIO *content_bio(const void *data, size_t len)
{
	BIO *mem = BIO_new_mem_buf(data, (int)len);
	BIO *filter = BIO_new(BIO_f_null());
	if (!mem || !filter) {
		BIO_free(mem);
		BIO_free(filter);
		return NULL;
	}
	return BIO_push(filter, mem);
}

/*
 * A signedData layer.  @detached is the signed part of a multipart/signed
 * entity as stored; NULL for opaque signed data.  The signature is checked
 * over the stored bytes, then over their CRLF-canonical form (RFC 8551
 * 3.1.1) and over an LF-only form, which some signers hashed (the corpus
 * has NSS messages like that); the first that verifies counts.
 */
/* What CMS_verify() said of the signature maths (verify_maths). */
typedef struct {
	bool ok;                   /* one content form verified */
	unsigned long first_err;   /* else the OpenSSL error of the first attempt */
	char *first_reason;        /* and its text; owned */
	GBytes *content;           /* the signed content, owned; NULL if none */
} maths_result;

/* Check the signature maths of @cms over its own content or @detached,
 * trying @detached as it is, with CRLF and with LF line breaks. */
static void verify_maths(CMS_ContentInfo *cms, GBytes *detached, maths_result *r)
{
	GPtrArray *cands = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	if (detached)
		g_ptr_array_add(cands, g_bytes_ref(detached));
	for (guint i = 0; i < (detached ? 3 : 1) && !r->ok; i++) {
		/* the other line breaks only when the bytes as they are fail (most
		 * verify as they are: issue 11 row 12) */
		if (i > 0)
			g_ptr_array_add(cands, line_breaks(detached, i == 1));
		GBytes *cand = detached ? cands->pdata[i] : NULL;
		if (i > 0 && g_bytes_equal(cand, cands->pdata[0]))
			continue;
		gsize n = 0;
		const void *d = cand ? g_bytes_get_data(cand, &n) : NULL;
		BIO *dc = cand ? content_bio(d, n) : NULL;
		BIO *out = BIO_new(BIO_s_mem());
		ERR_clear_error();
		/* the maths only here; the chain is judged per signer below */
		if (CMS_verify(cms, NULL, NULL, dc, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) == 1) {
			r->ok = true;
			/* content/ shows the part as stored, whichever form verified */
			r->content = detached ? g_bytes_ref(detached) : bio_bytes(out);
		} else if (!r->first_reason) {
			r->first_err = ERR_peek_last_error();
			r->first_reason = g_strdup(ossl_reason());
		}
		ERR_clear_error();
		BIO_free_all(dc);
		BIO_free(out);
	}
	g_ptr_array_unref(cands);
	if (!r->content) {
		if (detached) {
			r->content = g_bytes_ref(detached);
		} else {
			ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
			if (pos && *pos)
				r->content = g_bytes_new(ASN1_STRING_get0_data(*pos), (gsize)ASN1_STRING_length(*pos));
		}
	}
}

/* The facts of a signer's certificate, as files in @sd. */
static void show_signer_cert(smime_node *sd, X509 *cert)
{
	vfile_take(sd, "certificate.pem", cert_pem(cert));
	GPtrArray *em = cert_emails(cert);
	GString *s = g_string_new(NULL);
	for (guint k = 0; k < em->len; k++)
		g_string_append_printf(s, "%s\n", (char *)em->pdata[k]);
	g_ptr_array_unref(em);
	if (s->len)
		vfile_take(sd, "email", g_string_free_to_bytes(s));
	else
		g_string_free(s, TRUE);
	char *t = name_text(X509_get_subject_name(cert));
	vline(sd, "subject", t);
	g_free(t);
	t = name_text(X509_get_issuer_name(cert));
	vline(sd, "issuer", t);
	g_free(t);
	t = serial_text(X509_get0_serialNumber(cert));
	vline(sd, "serial", t);
	g_free(t);
	vtime(sd, "not-before", X509_get0_notBefore(cert));
	vtime(sd, "not-after", X509_get0_notAfter(cert));
}

/* One signer @si of a signed layer: its files in @sd and its verdict, with
 * the reason in *@reason (the caller frees it). */
static severity judge_signer(mapper_message *m, smime_node *sd, CMS_SignerInfo *si,
                             STACK_OF(X509) *certs, const maths_result *r, char **reason)
{
	mapper_crypto *c = m->crypto;
	X509 *cert = NULL;
	for (int k = 0; k < sk_X509_num(certs) && !cert; k++)
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, k)) == 0)
			cert = sk_X509_value(certs, k);
	X509_ALGOR *dig = NULL;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	if (dig) {
		char *lower = g_ascii_strdown(OBJ_nid2sn(OBJ_obj2nid(dig->algorithm)), -1);
		vline(sd, "digest", lower);
		g_free(lower);
	}
	int64_t stime = 0;
	bool has_stime = signing_time(si, &stime);
	if (has_stime) {
		char buf[21];
		mapper_format_time(stime, buf);
		vline(sd, "signing-time", buf);
	}
	severity sev;
	*reason = NULL;
	if (!r->ok) {
		sev = failure_is_bad(r->first_err) ? SEV_BAD : SEV_ERROR;
		*reason = g_strdup(r->first_reason);
	} else if (!cert) {
		/* the seed drops data whose signer certificate is missing */
		sev = SEV_BAD;
	} else {
		int64_t when = c && c->have_verify_at ? c->verify_at
		             : has_stime ? stime : (int64_t)time(NULL);
		sev = check_chain(c, cert, certs, when, reason);
		if (sev == SEV_GOOD)
			learn(c, cert, sender_address(m), has_stime ? stime : INT64_MIN + 1);
	}
	if (cert)
		show_signer_cert(sd, cert);
	vstatus(sd, sev, *reason);
	return sev;
}

static void verify_signed(mapper_message *m, smime_node *dir, CMS_ContentInfo *cms, GBytes *detached)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	maths_result r = { 0 };
	verify_maths(cms, detached, &r);

	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	severity worst = SEV_GOOD;
	char *worst_reason = NULL;
	int nsi = sk_CMS_SignerInfo_num(sis);
	smime_node *signers = nsi > 0 ? vdir(dir, "signers") : NULL;
	for (int i = 0; i < nsi; i++) {
		char num[16];
		g_snprintf(num, sizeof num, "%d", i);
		smime_node *sd = vdir(signers, num);
		char *reason = NULL;
		severity sev = judge_signer(m, sd, sk_CMS_SignerInfo_value(sis, i), certs, &r, &reason);
		if (sev >= worst) {
			worst = sev;
			g_free(worst_reason);
			worst_reason = reason;
		} else {
			g_free(reason);
		}
	}
	if (nsi == 0)
		vline(dir, "status", "error: the signed data has no signature");
	else
		vstatus(dir, worst, worst_reason);
	g_free(worst_reason);
	g_free(r.first_reason);
	certs_free(certs);
	if (r.content) {
		gsize n;
		const void *d = g_bytes_get_data(r.content, &n);
		add_content(m, dir, d, n);
		g_bytes_unref(r.content);
	}
}

/* ---- decryption ----------------------------------------------------------- */

/* Step into the next DER element at *@p (definite lengths only). */
static bool der_next(const unsigned char **p, long *avail, const unsigned char **start,
                     const unsigned char **content, long *clen, int *tag, int *cls)
{
	const unsigned char *q = *p;
	long len;
	int t, c;
	if (*avail <= 0)
		return false;
	int r = ASN1_get_object(&q, &len, &t, &c, *avail);
	if ((r & 0x80) || r == 0x21)
		return false;
	*start = *p;
	*content = q;
	*clen = len;
	*tag = t;
	*cls = c;
	*avail -= (long)(q + len - *p);
	*p = q + len;
	return true;
}

/* The content-encryption algorithm of (auth)EnvelopedData (RFC 5652 6.1,
 * RFC 5083 2.1): OpenSSL 3.0 has no getter, so OpenSSL's own DER reader
 * walks ContentInfo -> [0] -> the first SEQUENCE after the recipient SET. */
static char *content_cipher(CMS_ContentInfo *cms)
{
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	char *name = NULL;
	const unsigned char *p = der, *start, *ct;
	long avail = n, clen;
	int tag, cls;
	if (n <= 0)
		goto out;
	/* ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content } */
	if (!der_next(&p, &avail, &start, &ct, &clen, &tag, &cls))
		goto out;
	p = ct;
	avail = clen;
	if (!der_next(&p, &avail, &start, &ct, &clen, &tag, &cls) ||          /* OID */
	    !der_next(&p, &avail, &start, &ct, &clen, &tag, &cls) ||          /* [0] */
	    cls != V_ASN1_CONTEXT_SPECIFIC)
		goto out;
	p = ct;
	avail = clen;
	if (!der_next(&p, &avail, &start, &ct, &clen, &tag, &cls))          /* EnvelopedData */
		goto out;
	p = ct;
	avail = clen;
	bool seen_set = false;
	while (der_next(&p, &avail, &start, &ct, &clen, &tag, &cls)) {
		if (cls == V_ASN1_UNIVERSAL && tag == V_ASN1_SET)
			seen_set = true;
		if (seen_set && cls == V_ASN1_UNIVERSAL && tag == V_ASN1_SEQUENCE) {
			/* EncryptedContentInfo ::= SEQUENCE { contentType, algorithm, ... } */
			const unsigned char *q = ct;
			long qa = clen;
			if (!der_next(&q, &qa, &start, &ct, &clen, &tag, &cls))
				break;
			const unsigned char *alg = q;
			X509_ALGOR *a = d2i_X509_ALGOR(NULL, &alg, qa);
			if (a) {
				int nid = OBJ_obj2nid(a->algorithm);
				const char *ln = nid != NID_undef ? OBJ_nid2ln(nid) : NULL;
				if (ln) {
					name = g_ascii_strdown(ln, -1);
				} else {
					char oid[80];
					OBJ_obj2txt(oid, sizeof oid, a->algorithm, 1);
					name = g_strdup(oid);
				}
				X509_ALGOR_free(a);
			}
			break;
		}
	}
out:
	OPENSSL_free(der);
	ERR_clear_error();
	return name;
}

static void recipient_line(GString *s, X509_NAME *issuer, ASN1_INTEGER *serial,
                           ASN1_OCTET_STRING *keyid)
{
	if (issuer && serial) {
		char *i = name_text(issuer), *n = serial_text(serial);
		g_string_append_printf(s, "issuer=%s; serial=%s\n", i, n);
		g_free(i);
		g_free(n);
	} else if (keyid) {
		g_string_append(s, "subjectKeyIdentifier=");
		for (int k = 0; k < ASN1_STRING_length(keyid); k++)
			g_string_append_printf(s, "%02x", ASN1_STRING_get0_data(keyid)[k]);
		g_string_append_c(s, '\n');
	} else {
		g_string_append(s, "unknown\n");
	}
}

static GBytes *recipients_text(CMS_ContentInfo *cms)
{
	GString *s = g_string_new(NULL);
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		ASN1_OCTET_STRING *keyid = NULL;
		X509_NAME *issuer = NULL;
		ASN1_INTEGER *serial = NULL;
		switch (CMS_RecipientInfo_type(ri)) {
		case CMS_RECIPINFO_TRANS:
			CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, &issuer, &serial);
			recipient_line(s, issuer, serial, keyid);
			break;
		case CMS_RECIPINFO_AGREE: {
			STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
			for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks); k++) {
				CMS_RecipientEncryptedKey *rek = sk_CMS_RecipientEncryptedKey_value(reks, k);
				ASN1_GENERALIZEDTIME *tm = NULL;
				CMS_OtherKeyAttribute *other = NULL;
				keyid = NULL;
				issuer = NULL;
				serial = NULL;
				CMS_RecipientEncryptedKey_get0_id(rek, &keyid, &tm, &other, &issuer, &serial);
				recipient_line(s, issuer, serial, keyid);
			}
			break;
		}
		case CMS_RECIPINFO_KEK:
			g_string_append(s, "kekri\n");
			break;
		case CMS_RECIPINFO_PASS:
			g_string_append(s, "pwri\n");
			break;
		default:
			g_string_append(s, "other\n");
			break;
		}
	}
	ERR_clear_error();
	return g_string_free_to_bytes(s);
}

/* Does a RecipientInfo of @cms name @cert (issuer and serial, or key id)? */
static bool recipient_matches(CMS_ContentInfo *cms, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	bool found = false;
	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris) && !found; i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
			found = CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0;
		} else if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
			STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
			for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks) && !found; k++)
				found = CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, k),
				                                           cert) == 0;
		}
	}
	ERR_clear_error();
	return found;
}

/* A decrypted S/MIME content is a MIME entity: it starts with a header field
 * or with the empty line of an entity without one.  Used to reject the
 * random output a wrong key can give when recipients are tried by trial. */
static bool plausible_entity(GBytes *b)
{
	gsize n;
	const char *d = g_bytes_get_data(b, &n);
	if (n == 0)
		return false;
	if (d[0] == '\n' || (n > 1 && d[0] == '\r' && d[1] == '\n'))
		return true;
	gsize i = 0;
	while (i < n && i < 200 && d[i] > ' ' && d[i] < 0x7f && d[i] != ':')
		i++;
	return i > 0 && i < n && d[i] == ':';
}

static CMS_ContentInfo *cms_from_der(GBytes *der)
{
	gsize n;
	const unsigned char *p = g_bytes_get_data(der, &n);
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)n);
	ERR_clear_error();
	return cms;
}

/* One attempt on a fresh parse of @der (a failed attempt leaves state). */
static GBytes *try_decrypt(GBytes *der, identity *id, bool by_id, char **reason)
{
	CMS_ContentInfo *cms = cms_from_der(der);
	if (!cms)
		return NULL;
	BIO *out = BIO_new(BIO_s_mem());
	GBytes *plain = NULL;
	ERR_clear_error();
	/* With the certificate OpenSSL decrypts only the matching recipient
	 * and reports a failure as one.  Without it (trial, for recipients
	 * named by an identifier that does not match, as Outlook 2010 does)
	 * CMS_DEBUG_DECRYPT keeps the failure instead of the random key the
	 * Bleichenbacher countermeasure substitutes: a wrong key must never
	 * look like success. */
	unsigned flags = CMS_BINARY | (by_id ? 0 : CMS_DEBUG_DECRYPT);
	if (CMS_decrypt(cms, id->key, by_id ? id->cert : NULL, NULL, out, flags) == 1)
		plain = bio_bytes(out);
	else if (reason)
		*reason = g_strdup(ossl_reason());
	ERR_clear_error();
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return plain;
}

static void decrypt_enveloped(mapper_message *m, smime_node *dir, CMS_ContentInfo *cms, GBytes *der)
{
	mapper_crypto *c = m->crypto;
	char *cipher = content_cipher(cms);
	if (cipher)
		vline(dir, "cipher", cipher);
	g_free(cipher);
	vfile_take(dir, "recipients", recipients_text(cms));

	GBytes *plain = NULL;
	char *failure = NULL;
	for (guint i = 0; c && i < c->ids->len && !plain; i++) {
		identity *id = c->ids->pdata[i];
		if (!recipient_matches(cms, id->cert))
			continue;
		char *reason = NULL;
		plain = try_decrypt(der, id, true, &reason);
		if (!plain && !failure) {
			char *subj = name_text(X509_get_subject_name(id->cert));
			failure = g_strdup_printf("cannot decrypt with the key of %s: %s", subj,
			                          reason ? reason : "unknown error");
			g_free(subj);
		}
		g_free(reason);
	}
	for (guint i = 0; c && i < c->ids->len && !plain; i++) {
		plain = try_decrypt(der, c->ids->pdata[i], false, NULL);
		if (plain && !plausible_entity(plain)) {
			g_bytes_unref(plain);
			plain = NULL;
		}
	}
	if (plain) {
		vline(dir, "status", "not-signed");
		gsize n;
		const void *d = g_bytes_get_data(plain, &n);
		add_content(m, dir, d, n);
		g_bytes_unref(plain);
	} else if (failure) {
		vlinef(dir, "status", "error: %s", failure);
	} else {
		vline(dir, "status", "no-key");
	}
	g_free(failure);
}

/* ---- layers ----------------------------------------------------------------- */

/* MS-OXOSMIME 3.1.5.2.5, reading an opaque-signed or encrypted message
 * object: the spec rebuilds the Internet form (3.1.5.2.4) and reads it by
 * RFC 3851; the "different process ... same interpretation" it allows is
 * to read the attachment's bytes, which hold the transfer-decoded CMS
 * (2.2.2 item 5a), directly. */
static void opaque_layer(mapper_message *m, smime_node *dir, GBytes *data)
{
	CMS_ContentInfo *cms = cms_from_der(data);
	GBytes *der = data ? g_bytes_ref(data) : NULL;
	if (!cms && data) {
		/* some writers armour it as PEM */
		gsize n;
		const void *d = g_bytes_get_data(data, &n);
		BIO *b = BIO_new_mem_buf(d, (int)n);
		cms = PEM_read_bio_CMS(b, NULL, no_password, NULL);
		BIO_free(b);
		ERR_clear_error();
		if (cms) {
			unsigned char *out = NULL;
			int len = i2d_CMS_ContentInfo(cms, &out);
			g_bytes_unref(der);
			der = g_bytes_new(out, len > 0 ? (gsize)len : 0);
			OPENSSL_free(out);
		}
	}
	if (!cms) {
		vline(dir, "status", "error: the S/MIME attachment is not a CMS (PKCS #7) message");
		if (der)
			g_bytes_unref(der);
		return;
	}
	int nid = OBJ_obj2nid(CMS_get0_type(cms));
	switch (nid) {
	case NID_pkcs7_signed:
		verify_signed(m, dir, cms, NULL);
		break;
	case NID_pkcs7_enveloped:
	case NID_id_smime_ct_authEnvelopedData:
		decrypt_enveloped(m, dir, cms, der);
		break;
	default:
		vlinef(dir, "status", "error: unsupported CMS content type %s",
		       nid != NID_undef ? OBJ_nid2sn(nid) : "(unknown)");
		break;
	}
	CMS_ContentInfo_free(cms);
	g_bytes_unref(der);
}

/* RFC 1847 2.1 / RFC 2046 5.1.1: the signed body part is exactly the bytes
 * between the first delimiter line and the line break that precedes the
 * next one.  GMime re-serialises parts (and OpenSSL's S/MIME reader turns
 * every line break into CRLF), so the stored bytes are cut out here, by
 * the boundary GMime read from the header.  NULL if there is no such part. */
static GBytes *first_part_bytes(const char *d, size_t n, const char *boundary)
{
	size_t bl = strlen(boundary);
	const char *start = NULL;
	for (size_t pos = 0; pos < n;) {
		const char *nl = memchr(d + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - d) + 1 : n;
		if (end - pos >= 2 + bl && d[pos] == '-' && d[pos + 1] == '-' &&
		    memcmp(d + pos + 2, boundary, bl) == 0) {
			if (!start) {
				start = d + end;
			} else {
				/* the line break before the delimiter belongs to it */
				size_t stop = pos;
				if (stop > 0 && d[stop - 1] == '\n')
					stop--;
				if (stop > 0 && d[stop - 1] == '\r')
					stop--;
				if (d + stop < start)
					stop = (size_t)(start - d);
				return g_bytes_new(start, (size_t)(d + stop - start));
			}
		}
		pos = end;
	}
	return NULL;
}

/* The transfer-decoded content of a leaf part. */
static GBytes *part_content(GMimeObject *obj)
{
	if (!GMIME_IS_PART(obj))
		return NULL;
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
	if (!w)
		return NULL;
	GMimeStream *s = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, s);
	GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	GBytes *out = g_bytes_new(a->data, a->len);
	g_object_unref(s);
	return out;
}

/* MS-OXOSMIME 3.1.5.1.5, reading a clear-signed message object: the
 * attachment holds the multipart/signed entity, Content-Type field and body
 * as they were (2.2.1 item 4a), which is the Internet form 3.1.5.1.4 would
 * rebuild less the promoted header fields; it is read by RFC 1847 here.
 * GMime reads its structure and decodes the signature part; OpenSSL reads
 * the CMS in it. */
static void clear_signed_layer(mapper_message *m, smime_node *dir, GBytes *entity)
{
	gsize n;
	const char *d = g_bytes_get_data(entity, &n);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(d, n);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeObject *obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	GMimeObject *sigpart = NULL;
	const char *boundary = NULL;
	if (obj && GMIME_IS_MULTIPART(obj) && g_mime_multipart_get_count(GMIME_MULTIPART(obj)) >= 2) {
		/* not g_mime_multipart_get_boundary(): it makes one up when there
		 * is none (see import.c multipart_boundary) */
		boundary = g_mime_object_get_content_type_parameter(obj, "boundary");
		sigpart = g_mime_multipart_get_part(GMIME_MULTIPART(obj), 1);
	}
	const char *protocol = obj ? g_mime_object_get_content_type_parameter(obj, "protocol") : NULL;
	GBytes *sig = sigpart ? part_content(sigpart) : NULL;
	GBytes *signed_part = boundary ? first_part_bytes(d, n, boundary) : NULL;
	CMS_ContentInfo *cms = sig ? cms_from_der(sig) : NULL;
	if (!cms && sig) {
		gsize sn;
		const void *sd = g_bytes_get_data(sig, &sn);
		BIO *b = BIO_new_mem_buf(sd, (int)sn);
		cms = PEM_read_bio_CMS(b, NULL, no_password, NULL);
		BIO_free(b);
		ERR_clear_error();
	}
	if (protocol && !strstr(protocol, "pkcs7-signature"))
		vlinef(dir, "status", "error: not an S/MIME signature (protocol %s)", protocol);
	else if (!signed_part || !sig)
		vline(dir, "status", "error: the multipart/signed entity has no signed part and signature");
	else if (!cms)
		vline(dir, "status", "error: the signature part is not a CMS (PKCS #7) message");
	else if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		vline(dir, "status", "error: the signature part holds no signed data");
	else
		verify_signed(m, dir, cms, signed_part);
	CMS_ContentInfo_free(cms);
	if (sig)
		g_bytes_unref(sig);
	if (signed_part)
		g_bytes_unref(signed_part);
	if (obj)
		g_object_unref(obj);
}

/* smime/ of @m.  Which procedure reads it (3.1.5.1.5 or 3.1.5.2.5) is the
 * kind import.c recognized (3.1.5.1.1 / 3.1.5.2.1); PidTagMessageClass,
 * by which 3.1.5.1.3 / 3.1.5.2.3 recognize a message object, follows that
 * kind and cannot be written. */
static smime_node *evaluate(mapper_message *m)
{
	smime_node *dir = vdir(NULL, "smime");
	mapper_attachment *a = m->attachments->len ? m->attachments->pdata[0] : NULL;
	mapper_prop *p = a ? bag_get(&a->props, TAG_ATTACH_DATA_BINARY) : NULL;
	if (!p || !p->bin)
		vline(dir, "status", "error: the message has no S/MIME entity");
	else if (m->smime == SMIME_CLEAR_SIGNED)
		clear_signed_layer(m, dir, p->bin);
	else
		opaque_layer(m, dir, p->bin);
	ERR_clear_error();
	vsort(dir);
	return dir;
}

smime_node *smime_dir(mapper_message *m)
{
	if (m->smime == SMIME_NONE || m->level != MAPPER_LOAD_FULL)
		return NULL;
	if (!m->smime_done) {
		m->smime_done = true;
		m->smime_dir = evaluate(m);
	}
	return m->smime_dir;
}

void mapper_message_set_crypto(mapper_message *m, mapper_crypto *c)
{
	if (!m)
		return;
	m->crypto = c;
	for (guint i = 0; i < m->attachments->len; i++) {
		mapper_attachment *a = m->attachments->pdata[i];
		if (a->embedded)
			mapper_message_set_crypto(a->embedded, c);
	}
}

static void evaluate_all(mapper_message *m)
{
	smime_node *dir = smime_dir(m);
	if (dir) {
		smime_node *content = smime_node_child(dir, "content");
		if (content && smime_node_message(content))
			evaluate_all(content->msg);
	}
	if (m->level != MAPPER_LOAD_FULL)
		return;
	for (guint i = 0; i < m->attachments->len; i++) {
		mapper_attachment *a = m->attachments->pdata[i];
		if (a->embedded)
			evaluate_all(a->embedded);
	}
}

void mapper_message_smime_evaluate(mapper_message *m)
{
	if (m)
		evaluate_all(m);
}

/* ---- sealing (seed 000; design.md 5 "Composing") ------------------------ */

static const char *recipient_address(mapper_bag *row)
{
	mapper_prop *p = bag_get(row, TAG_SMTP_ADDRESS);
	if (!p || !p->str || !strchr(p->str, '@'))
		p = bag_get(row, TAG_EMAIL_ADDRESS);
	return p && p->str && strchr(p->str, '@') ? p->str : NULL;
}

/* The certificates to encrypt to: every To/Cc/Bcc recipient's from the map,
 * plus the local one, so that the sender can read it too. */
static STACK_OF(X509) *seal_recipients(mapper_message *m, char **why)
{
	mapper_crypto *c = m->crypto;
	STACK_OF(X509) *out = sk_X509_new_null();
	for (guint i = 0; i < m->recipients->len; i++) {
		mapper_bag *row = m->recipients->pdata[i];
		const char *addr = recipient_address(row);
		if (!addr)
			continue;
		char *key = map_key(addr);
		X509 *cert = NULL;      /* a reference of our own */
		if (key) {
			/* another thread may replace the entry: hold the certificate */
			g_mutex_lock(&c->lock);
			map_entry *e = g_hash_table_lookup(c->map, key);
			if (e) {
				cert = e->cert;
				X509_up_ref(cert);
			}
			g_mutex_unlock(&c->lock);
		}
		/* mail to oneself: the local identities are known without the map */
		for (guint k = 0; !cert && key && k < c->ids->len; k++) {
			identity *id = c->ids->pdata[k];
			GPtrArray *em = cert_emails(id->cert);
			for (guint j = 0; j < em->len && !cert; j++)
				if (g_ascii_strcasecmp(em->pdata[j], key) == 0) {
					cert = id->cert;
					X509_up_ref(cert);
				}
			g_ptr_array_unref(em);
		}
		g_free(key);
		if (!cert) {
			mapper_fail(why, MAPPER_INVALID,
			      "no certificate for %s in certificates/: cannot encrypt to it", addr);
			certs_free(out);
			return NULL;
		}
		bool dup = false;
		for (int k = 0; k < sk_X509_num(out); k++)
			dup |= X509_cmp(sk_X509_value(out, k), cert) == 0;
		if (dup)
			X509_free(cert);
		else
			sk_X509_push(out, cert);
	}
	identity *me = c->ids->pdata[0];
	bool dup = false;
	for (int k = 0; k < sk_X509_num(out); k++)
		dup |= X509_cmp(sk_X509_value(out, k), me->cert) == 0;
	if (!dup) {
		X509_up_ref(me->cert);
		sk_X509_push(out, me->cert);
	}
	return out;
}

/* MS-OXOSMIME 3.1.5.2.6, composing an opaque-signed or encrypted message
 * object: compose the message in Internet format, then convert it by
 * 3.1.5.2.2.  Here the plain message is written out (export.c), sealed by
 * smime_seal(), and read back when the file is loaded again. */
mapper_status smime_seal_request(mapper_message *m, int64_t flags, char **why)
{
	if (m->depth > 0)
		return mapper_fail(why, MAPPER_READ_ONLY, "only a top-level message can be sealed");
	if (flags < 0 || flags > 3)
		return mapper_fail(why, MAPPER_INVALID,
		             "PR_SECURITY_FLAGS takes 1 (encrypt), 2 (sign) or 3 (both), not %lld",
		             (long long)flags);
	if (flags && m->smime != SMIME_NONE)
		return mapper_fail(why, MAPPER_READ_ONLY, "the message is already S/MIME");
	if (flags && (!m->crypto || !m->crypto->ids->len))
		return mapper_fail(why, MAPPER_INVALID,
		             "no local identity to %s with (give --key and --cert, or --pkcs12 and --pass-file)",
		             flags & 2 ? "sign" : "encrypt");
	if (flags & 1) {
		STACK_OF(X509) *r = seal_recipients(m, why);
		if (!r)
			return MAPPER_INVALID;
		certs_free(r);
	}
	m->seal = (int)flags;
	return MAPPER_OK;
}

static GBytes *serialize(GMimeObject *obj)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	/* S/MIME content is canonical with CRLF line breaks (RFC 8551 3.1.1) */
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *s = g_mime_stream_mem_new();
	g_mime_object_write_to_stream(obj, fo, s);
	GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	GBytes *out = g_bytes_new(a->data, a->len);
	g_object_unref(s);
	g_mime_format_options_free(fo);
	return out;
}

static GBytes *cms_der(CMS_ContentInfo *cms)
{
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	GBytes *out = n > 0 ? g_bytes_new(der, (gsize)n) : NULL;
	OPENSSL_free(der);
	return out;
}

/* PKCS #7 signedData over @entity, encapsulated (opaque), with the local
 * certificate (and its chain) in the certificate set: seed 000. */
static GBytes *seal_sign(mapper_crypto *c, GBytes *entity, char **why)
{
	identity *me = c->ids->pdata[0];
	gsize n;
	const void *d = g_bytes_get_data(entity, &n);
	BIO *in = BIO_new_mem_buf(d, (int)n);
	GBytes *out = NULL;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	if (cms && CMS_add1_signer(cms, me->cert, me->key, c->md, CMS_BINARY)) {
		for (int i = 0; i < sk_X509_num(me->chain); i++)
			CMS_add1_cert(cms, sk_X509_value(me->chain, i));
		if (CMS_final(cms, in, NULL, CMS_BINARY) == 1)
			out = cms_der(cms);
	}
	if (!out)
		mapper_fail(why, MAPPER_INVALID, "signing failed: %s", ossl_reason());
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	ERR_clear_error();
	return out;
}

static GBytes *seal_encrypt(mapper_message *m, GBytes *entity, char **why)
{
	STACK_OF(X509) *recips = seal_recipients(m, why);
	if (!recips)
		return NULL;
	gsize n;
	const void *d = g_bytes_get_data(entity, &n);
	BIO *in = BIO_new_mem_buf(d, (int)n);
	GBytes *out = NULL;
	CMS_ContentInfo *cms = CMS_encrypt(recips, in, m->crypto->cipher, CMS_BINARY);
	if (cms)
		out = cms_der(cms);
	else
		mapper_fail(why, MAPPER_INVALID, "encryption failed: %s", ossl_reason());
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	certs_free(recips);
	ERR_clear_error();
	return out;
}

/* The application/pkcs7-mime entity of MS-OXOSMIME 3.1.5.2.4 / RFC 8551
 * 3.2: smime-type, name and filename smime.p7m, base64. */
static GMimeObject *p7m_part(GBytes *der, const char *smime_type)
{
	GMimePart *part = g_mime_part_new_with_type("application", "pkcs7-mime");
	GMimeObject *obj = GMIME_OBJECT(part);
	g_mime_object_set_content_type_parameter(obj, "smime-type", smime_type);
	g_mime_object_set_content_type_parameter(obj, "name", "smime.p7m");
	g_mime_object_set_disposition(obj, "attachment");
	g_mime_part_set_filename(part, "smime.p7m");
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	gsize n;
	const guint8 *d = g_bytes_get_data(der, &n);
	GByteArray *copy = g_byte_array_new();
	g_byte_array_append(copy, d, (guint)n);
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(copy);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(s);
	return obj;
}

/* Is there a NUL byte in the header block of the message @d (up to the
 * first empty line)? */
static bool header_has_nul(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\0')
			return true;
		if (d[i] == '\n' && i + 1 < n &&
		    (d[i + 1] == '\n' || (d[i + 1] == '\r' && i + 2 < n && d[i + 2] == '\n')))
			return false;
	}
	return false;
}

mapper_status smime_seal(mapper_message *m, const char *in, size_t in_len,
                         char **out, size_t *out_len, char **why)
{
	mapper_crypto *c = m->crypto;
	*out = NULL;
	*out_len = 0;
	if (!c || !c->ids->len)
		return mapper_fail(why, MAPPER_INVALID, "no local identity to seal with");
	/* GMime keeps a field's raw value as a C string: one with a NUL is
	 * written cut short, without its line break, and the next field --
	 * the sealed entity's Content-Type among them -- is glued to it, so the
	 * result would not even be S/MIME (found by fuzz-smime) */
	if (header_has_nul(in, in_len))
		return mapper_fail(why, MAPPER_INVALID, "a header field holds a NUL byte: the message cannot be sealed");
	/* The same for bytes that end without a line break (a header block
	 * that runs to the end): the last field's raw value has none, and the
	 * sealed entity's Content-Type would be glued to it (fuzz-smime).  A
	 * line break, in the message's own style, ends it first. */
	char *ended = NULL;
	if (in_len && in[in_len - 1] != '\n') {
		const char *nl = memchr(in, '\n', in_len);
		bool crlf = nl && nl > in && nl[-1] == '\r';
		ended = g_malloc(in_len + 2);
		memcpy(ended, in, in_len);
		if (crlf && in[in_len - 1] != '\r')
			ended[in_len++] = '\r';
		ended[in_len++] = '\n';
		in = ended;
	}
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(in, in_len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	g_free(ended);
	GMimeObject *body = msg ? g_mime_message_get_mime_part(msg) : NULL;
	if (!body) {
		if (msg)
			g_object_unref(msg);
		return mapper_fail(why, MAPPER_INVALID, "the message to seal has no body to protect");
	}
	/* the protected entity: the message's MIME part, headers and body;
	 * the RFC 5322 fields stay outside (RFC 8551 3.1) */
	GBytes *entity = serialize(body);
	GMimeObject *last = NULL;
	mapper_status st = MAPPER_OK;
	bool encrypt_first = c->encrypt_first;
	for (int step = 0; step < 2 && st == MAPPER_OK; step++) {
		bool do_encrypt = (step == 0) == encrypt_first;
		if (!(m->seal & (do_encrypt ? 1 : 2)))
			continue;
		GBytes *der = do_encrypt ? seal_encrypt(m, entity, why) : seal_sign(c, entity, why);
		if (!der) {
			st = MAPPER_INVALID;
			break;
		}
		const char *type = "signed-data";
		if (do_encrypt)
			type = EVP_CIPHER_get_mode(c->cipher) == EVP_CIPH_GCM_MODE ? "authEnveloped-data"
			                                                          : "enveloped-data";
		if (last)
			g_object_unref(last);
		last = p7m_part(der, type);
		g_bytes_unref(der);
		g_bytes_unref(entity);
		entity = serialize(last);
	}
	if (st == MAPPER_OK && last) {
		g_mime_message_set_mime_part(msg, last);
		GBytes *all = serialize(GMIME_OBJECT(msg));
		gsize n;
		const void *d = g_bytes_get_data(all, &n);
		*out = malloc(n ? n : 1);
		if (*out) {
			memcpy(*out, d, n);
			*out_len = n;
		} else {
			st = MAPPER_NO_MEMORY;
		}
		g_bytes_unref(all);
	}
	if (last)
		g_object_unref(last);
	g_bytes_unref(entity);
	g_object_unref(msg);
	return st;
}

/* ---- library life-cycle ------------------------------------------------- */

static OSSL_PROVIDER *prov_default, *prov_legacy;

void smime_global_init(void)
{
	/* RC4 and RC2 (and the RC2-40 bags of old PKCS #12 files) live in the
	 * legacy provider; loading one provider explicitly stops the default
	 * one from loading by itself, so both are loaded. */
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	ERR_clear_error();
}

void smime_global_shutdown(void)
{
	if (prov_legacy)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default)
		OSSL_PROVIDER_unload(prov_default);
	prov_legacy = prov_default = NULL;
}
