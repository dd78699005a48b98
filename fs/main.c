/*
 * main.c - mapifs: mount a mailbox as MS-OXCMAIL / MS-OXOSMIME message objects.
 *
 *   mapifs [options] SOURCE MOUNTPOINT
 *
 * SOURCE is a Maildir (it has cur/ or new/) or a directory tree of .eml files.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "mapifs.h"

struct options {
	char *source;
	int readonly;
	int forensic;
	int help;
	int version;
	access_opts access;
	/* design.md 5; the repeatable ones are kept in order, so that the
	 * i-th --key goes with the i-th --cert */
	GPtrArray *keys, *certs, *p12s, *pass_files, *cas;
	char *certs_dir, *verify_at, *digest, *cipher, *seal_order;
};

enum {
	KEY_HELP, KEY_VERSION, KEY_UID, KEY_GID, KEY_UMASK, KEY_SHARE_DECRYPTED, KEY_ALLOW_OTHER, KEY_KEY, KEY_CERT, KEY_PKCS12, KEY_PASS_FILE, KEY_CA,
	KEY_CERTS, KEY_VERIFY_AT, KEY_DIGEST, KEY_CIPHER, KEY_SEAL_ORDER,
};


static const struct fuse_opt option_spec[] = {
	{ "ro", offsetof(struct options, readonly), 1 },
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_KEEP),
	{ "--forensic", offsetof(struct options, forensic), 1 },
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	/* design.md 8, the names other FUSE file systems use */
	FUSE_OPT_KEY("uid=", KEY_UID),
	FUSE_OPT_KEY("gid=", KEY_GID),
	FUSE_OPT_KEY("umask=", KEY_UMASK),
	FUSE_OPT_KEY("share_decrypted", KEY_SHARE_DECRYPTED),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_END
};

static void set_once(char **slot, const char *value)
{
	free(*slot);
	*slot = strdup(value);
}

/* The S/MIME options take a value, "--name VALUE" or "--name=VALUE", and
 * some repeat.  They are taken out of argv before fuse_opt sees it, because
 * fuse_opt runs every matching template and "--cert " matches "--certs". */
static const struct value_opt {
	const char *name;
	int key;
} value_opts[] = {
	{ "--key", KEY_KEY }, { "--cert", KEY_CERT }, { "--pkcs12", KEY_PKCS12 },
	{ "--pass-file", KEY_PASS_FILE }, { "--ca", KEY_CA }, { "--certs", KEY_CERTS },
	{ "--verify-at", KEY_VERIFY_AT }, { "--digest", KEY_DIGEST }, { "--cipher", KEY_CIPHER },
	{ "--seal-order", KEY_SEAL_ORDER },
};

static void take_value(struct options *o, int key, const char *v)
{
	switch (key) {
	case KEY_KEY: g_ptr_array_add(o->keys, g_strdup(v)); break;
	case KEY_CERT: g_ptr_array_add(o->certs, g_strdup(v)); break;
	case KEY_PKCS12: g_ptr_array_add(o->p12s, g_strdup(v)); break;
	case KEY_PASS_FILE: g_ptr_array_add(o->pass_files, g_strdup(v)); break;
	case KEY_CA: g_ptr_array_add(o->cas, g_strdup(v)); break;
	case KEY_CERTS: set_once(&o->certs_dir, v); break;
	case KEY_VERIFY_AT: set_once(&o->verify_at, v); break;
	case KEY_DIGEST: set_once(&o->digest, v); break;
	case KEY_CIPHER: set_once(&o->cipher, v); break;
	case KEY_SEAL_ORDER: set_once(&o->seal_order, v); break;
	}
}

/* Move the value options of @argv into @o; the rest stays, in order, in
 * *@out (argc returned).  -1 (and a message) when a value is missing. */
static int split_args(int argc, char **argv, struct options *o, char ***out)
{
	char **rest = g_new0(char *, argc + 1);
	int n = 0;
	for (int i = 0; i < argc; i++) {
		const struct value_opt *hit = NULL;
		const char *value = NULL;
		for (size_t k = 0; i > 0 && k < G_N_ELEMENTS(value_opts) && !hit; k++) {
			size_t len = strlen(value_opts[k].name);
			if (strncmp(argv[i], value_opts[k].name, len) != 0)
				continue;
			if (argv[i][len] == '=') {
				hit = &value_opts[k];
				value = argv[i] + len + 1;
			} else if (argv[i][len] == '\0') {
				hit = &value_opts[k];
				if (i + 1 >= argc) {
					fprintf(stderr, "mapifs: %s needs a value\n", argv[i]);
					g_free(rest);
					return -1;
				}
				value = argv[++i];
			}
		}
		if (hit)
			take_value(o, hit->key, value);
		else
			rest[n++] = argv[i];
	}
	*out = rest;
	return n;
}

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		/* the first plain argument is SOURCE, the next the mount point */
		if (!o->source) {
			o->source = strdup(arg);
			return 0;
		}
		return 1;
	case KEY_HELP:
		o->help = 1;
		return 0;
	case KEY_VERSION:
		o->version = 1;
		return 0;
	case KEY_UID:
	case KEY_GID:
	case KEY_UMASK: {
		const char *v = strchr(arg, '=') + 1;
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, key == KEY_UMASK ? 8 : 10);
		if (!*v || *end || errno || (key == KEY_UMASK ? n > 0777 : n > 0xfffffffeUL)) {
			fprintf(stderr, "mapifs: -o %s: not a%s number\n", arg,
			        key == KEY_UMASK ? "n octal" : "");
			return -1;
		}
		if (key == KEY_UID) {
			o->access.set_uid = true;
			o->access.uid = (uid_t)n;
		} else if (key == KEY_GID) {
			o->access.set_gid = true;
			o->access.gid = (gid_t)n;
		} else {
			o->access.set_umask = true;
			o->access.umask = (mode_t)n;
		}
		return 0;
	}
	case KEY_SHARE_DECRYPTED:
		o->access.share_decrypted = true;
		return 0;
	case KEY_ALLOW_OTHER:
		o->access.allow_other = true;
		return 1;   /* the kernel's option too */
	}
	return 1;
}

static void usage(const char *prog)
{
	printf("usage: %s [options] SOURCE MOUNTPOINT\n"
	       "\n"
	       "Mount the mailbox SOURCE (a Maildir, or a directory tree of .eml files)\n"
	       "at MOUNTPOINT, showing every message as an MS-OXCMAIL / MS-OXOSMIME\n"
	       "message object: a directory of property files and attachment objects.\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n"
	       "\n"
	       "mapifs options:\n"
	       "    -o ro, --forensic      refuse every write, change nothing in SOURCE\n"
	       "    -o allow_other         let other users in (turns on default_permissions:\n"
	       "                           modes follow the source files and folders)\n"
	       "    -o uid=N,gid=N         show every file as owned by N (default: the source's)\n"
	       "    -o umask=M             modes 0777/0666 minus M (default: the source's)\n"
	       "    -o share_decrypted     decrypted content follows the same modes as the\n"
	       "                           rest (default: the mounting user's alone)\n"
	       "\n"
	       "S/MIME (design.md 5):\n"
	       "    --key FILE --cert FILE       a local identity that decrypts and signs\n"
	       "    --pkcs12 FILE --pass-file F  the same from PKCS #12 (both repeatable)\n"
	       "    --ca FILE|DIR|system         trust anchors (repeatable; none by default)\n"
	       "    --certs DIR                  preload certificates/ from DIR\n"
	       "    --verify-at TIME             verify as of TIME, not the signing time\n"
	       "    --digest NAME                signing digest (sha256; md5, sha1, sha384, sha512)\n"
	       "    --cipher NAME                content cipher (aes-128-cbc; rc4, des-ede3-cbc ...)\n"
	       "    --seal-order ORDER           sign-then-encrypt (default) or encrypt-then-sign\n"
	       "Private key and pass files must not be readable by group or others.\n"
	       "\n", prog);
	fuse_cmdline_help();
}

/* Like ssh: a private key (or its password) that others can read is not
 * used at all, so that a mistake is noticed rather than carried on. */
static bool private_file_ok(const char *file, const char *what)
{
	struct stat st;
	if (stat(file, &st) != 0) {
		fprintf(stderr, "mapifs: %s %s: %s\n", what, file, g_strerror(errno));
		return false;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "mapifs: %s %s is accessible by group or others (mode %04o); "
		        "refusing to use it: chmod 600 %s\n",
		        what, file, (unsigned)(st.st_mode & 07777), file);
		return false;
	}
	return true;
}

static char *read_password(const char *file)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *err = NULL;
	if (!g_file_get_contents(file, &text, &len, &err)) {
		fprintf(stderr, "mapifs: pass file %s: %s\n", file, err->message);
		g_error_free(err);
		return NULL;
	}
	/* the first line is the password */
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

/* Build the crypto context from the options; false (and a message on stderr)
 * on any problem, before anything is mounted. */
static bool setup_crypto(struct options *o, mapper_crypto *c)
{
	char *why = NULL;
	mapper_status st = MAPPER_OK;
	if (o->keys->len != o->certs->len) {
		fprintf(stderr, "mapifs: each --key needs a --cert (%u keys, %u certificates)\n",
		        o->keys->len, o->certs->len);
		return false;
	}
	if (o->pass_files->len > o->p12s->len) {
		fprintf(stderr, "mapifs: a --pass-file without its --pkcs12\n");
		return false;
	}
	for (guint i = 0; i < o->keys->len; i++) {
		if (!private_file_ok(o->keys->pdata[i], "private key"))
			return false;
		st = mapper_crypto_add_identity(c, o->keys->pdata[i], o->certs->pdata[i], &why);
		if (st != MAPPER_OK)
			goto fail;
	}
	for (guint i = 0; i < o->p12s->len; i++) {
		if (!private_file_ok(o->p12s->pdata[i], "PKCS #12 file"))
			return false;
		char *pw = NULL;
		if (i < o->pass_files->len) {
			if (!private_file_ok(o->pass_files->pdata[i], "pass file"))
				return false;
			pw = read_password(o->pass_files->pdata[i]);
			if (!pw)
				return false;
		}
		st = mapper_crypto_add_pkcs12(c, o->p12s->pdata[i], pw ? pw : "", &why);
		if (pw) {
			memset(pw, 0, strlen(pw));
			g_free(pw);
		}
		if (st != MAPPER_OK)
			goto fail;
	}
	for (guint i = 0; i < o->cas->len && st == MAPPER_OK; i++)
		st = mapper_crypto_add_trust(c, o->cas->pdata[i], &why);
	if (st == MAPPER_OK && o->certs_dir)
		st = mapper_crypto_preload(c, o->certs_dir, &why);
	if (st == MAPPER_OK && o->digest)
		st = mapper_crypto_set_digest(c, o->digest, &why);
	if (st == MAPPER_OK && o->cipher)
		st = mapper_crypto_set_cipher(c, o->cipher, &why);
	if (st != MAPPER_OK)
		goto fail;
	if (o->verify_at) {
		int64_t t;
		if (mapper_parse_time(o->verify_at, &t) != MAPPER_OK) {
			fprintf(stderr, "mapifs: --verify-at %s: not an ISO 8601 or RFC 5322 date\n", o->verify_at);
			return false;
		}
		mapper_crypto_set_verify_at(c, t);
	}
	if (o->seal_order) {
		if (strcmp(o->seal_order, "encrypt-then-sign") == 0) {
			mapper_crypto_set_encrypt_first(c, true);
		} else if (strcmp(o->seal_order, "sign-then-encrypt") != 0) {
			fprintf(stderr, "mapifs: --seal-order takes sign-then-encrypt or encrypt-then-sign\n");
			return false;
		}
	}
	return true;
fail:
	fprintf(stderr, "mapifs: %s\n", why ? why : mapper_status_to_string(st));
	free(why);
	return false;
}

static void options_free(struct options *o)
{
	free(o->source);
	GPtrArray *lists[] = { o->keys, o->certs, o->p12s, o->pass_files, o->cas };
	for (size_t i = 0; i < G_N_ELEMENTS(lists); i++)
		if (lists[i])
			g_ptr_array_unref(lists[i]);
	free(o->certs_dir);
	free(o->verify_at);
	free(o->digest);
	free(o->cipher);
	free(o->seal_order);
}

int main(int argc, char *argv[])
{
	struct options opts = { 0 };
	opts.keys = g_ptr_array_new_with_free_func(g_free);
	opts.certs = g_ptr_array_new_with_free_func(g_free);
	opts.p12s = g_ptr_array_new_with_free_func(g_free);
	opts.pass_files = g_ptr_array_new_with_free_func(g_free);
	opts.cas = g_ptr_array_new_with_free_func(g_free);
	char **fargv = NULL;
	int fargc = split_args(argc, argv, &opts, &fargv);
	if (fargc < 0) {
		options_free(&opts);
		return 2;
	}
	struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);
	struct fuse_cmdline_opts cmd = { 0 };
	mount mnt = { 0 };
	int ret = 1;

	if (fuse_opt_parse(&args, &opts, option_spec, option_proc) != 0)
		goto out1;
	if (opts.help) {
		usage(argv[0]);
		ret = 0;
		goto out1;
	}
	if (opts.version) {
		printf("mapifs %s\n", MAPIFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		ret = 0;
		goto out1;
	}
	if (opts.forensic && !opts.readonly)
		fuse_opt_add_arg(&args, "-oro");
	/* design.md 8: other users are let in only with the kernel checking
	 * the modes we show */
	if (opts.access.allow_other)
		fuse_opt_add_arg(&args, "-odefault_permissions");
	fuse_opt_add_arg(&args, "-osubtype=mapifs,fsname=mapifs");
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		goto out1;
	if (!opts.source || !cmd.mountpoint) {
		fprintf(stderr, "mapifs: missing %s\nusage: %s [options] SOURCE MOUNTPOINT (see --help)\n",
		        opts.source ? "MOUNTPOINT" : "SOURCE and MOUNTPOINT", argv[0]);
		ret = 2;
		goto out1;
	}

	pthread_mutex_init(&mnt.lock, NULL);
	pthread_cond_init(&mnt.scan_cond, NULL);
	g_mutex_init(&mnt.certs_lock);
	mnt.readonly = opts.readonly || opts.forensic;
	mnt.uid = getuid();
	mnt.gid = getgid();
	mnt.access = opts.access;
	mnt.srcfd = -1;
	mnt.inotify_fd = -1;
	int err = mount_open_source(&mnt, opts.source);
	if (err) {
		fprintf(stderr, "mapifs: cannot use %s as a mailbox: %s\n", opts.source, g_strerror(err));
		goto out2;
	}
	mapper_init();
	mnt.crypto = mapper_crypto_new();
	mnt.learned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!setup_crypto(&opts, mnt.crypto)) {
		ret = 1;
		goto out_crypto;
	}
	inodes_init(&mnt);
	cache_init(&mnt);
	mnt.open_writes = g_hash_table_new(g_str_hash, g_str_equal);
	mnt.open_handles = g_hash_table_new(g_direct_hash, g_direct_equal);
	mnt.open_dirs = g_hash_table_new(g_direct_hash, g_direct_equal);
	sync_init(&mnt);
	err = watch_init(&mnt);
	if (err) {
		fprintf(stderr, "mapifs: %s\n", g_strerror(err));
		goto out3;
	}

	mnt.se = fuse_session_new(&args, &mapifs_ops, sizeof mapifs_ops, &mnt);
	if (!mnt.se)
		goto out3;
	if (fuse_set_signal_handlers(mnt.se) != 0)
		goto out4;
	if (fuse_session_mount(mnt.se, cmd.mountpoint) != 0)
		goto out5;

	if (!cmd.foreground) {
		mapifs_open_syslog();
	}
	fuse_daemonize(cmd.foreground);
	/* the watcher thread starts after fork(): threads do not survive it */
	err = watch_start(&mnt);
	if (err)
		mapifs_log("not following changes to %s: %s", mnt.source, g_strerror(err));

	/* several threads serve requests (mapifs.h: the locks); -s one */
	if (cmd.singlethread) {
		ret = fuse_session_loop(mnt.se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, (unsigned)cmd.clone_fd);
		/* UINT_MAX is fuse_parse_cmdline's "not given" (libfuse 3.14
		 * complains when it is passed on) */
		if (cmd.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(cfg, cmd.max_idle_threads);
		fuse_loop_cfg_set_max_threads(cfg, cmd.max_threads);
		ret = fuse_session_loop_mt(mnt.se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	/* a signal (SIGTERM, SIGINT) ends the loop as an unmount does */
	ret = ret < 0 ? 1 : 0;

	watch_stop(&mnt);
	fuse_session_unmount(mnt.se);
out5:
	fuse_remove_signal_handlers(mnt.se);
out4:
	fuse_session_destroy(mnt.se);
out3:
	watch_stop(&mnt);
	sync_free(&mnt);
	cache_free(&mnt);
	/* files and directories still open when the session ended: the
	 * kernel sends no release for them */
	write_free_leftover_handles(&mnt);
	ops_free_leftover_listings(&mnt);
	g_hash_table_unref(mnt.open_writes);
	g_hash_table_unref(mnt.open_handles);
	g_hash_table_unref(mnt.open_dirs);
	inodes_free(&mnt);
out_crypto:
	mount_folders_free(&mnt);
	/* keys are freed (and zeroed by OpenSSL) before exit */
	mapper_crypto_free(mnt.crypto);
	g_hash_table_unref(mnt.learned);
	mapper_shutdown();
out2:
	if (mnt.srcfd >= 0)
		close(mnt.srcfd);
	g_free(mnt.source);
	g_mutex_clear(&mnt.certs_lock);
	pthread_cond_destroy(&mnt.scan_cond);
	pthread_mutex_destroy(&mnt.lock);
out1:
	options_free(&opts);
	g_free(fargv);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
