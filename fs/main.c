/*
 * main.c - mapifs: mount a mailbox as MS-OXCMAIL / MS-OXOSMIME message objects.
 *
 *   mapifs [options] SOURCE MOUNTPOINT
 *
 * SOURCE is a Maildir (it has cur/ or new/) or a directory tree of .eml files.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto-options.h"
#include "mapifs.h"

struct options {
	char *source;
	int readonly;
	int forensic;
	int help;
	int version;
	access_opts access;
	mapper_crypto_options *crypto;   /* design.md 5 (crypto-options.h) */
	unsigned max_inodes;
	unsigned cache_mb;
	char *log_file;                  /* -o log=FILE */
	char *audit_file;                /* -o audit=FILE (issue 14) */
	GPtrArray *owned;                /* strings split_args made */
};

/* Inodes kept before the kernel is asked to forget the least recently
 * looked up ones: some 420 bytes each with their index entries (measured
 * at a million messages, 75,000 inodes fewer took 32 MB less), so some
 * 42 MB (issue 11: memory must not grow with everything ever read, and
 * stay under 256 MiB with a million messages listed). */
#define DEFAULT_MAX_INODES 100000
/* MiB of parsed messages kept (cache.c): the header-only objects of some
 * 8,000 messages.  With the inodes above and a million-message listing
 * that keeps the daemon under 256 MiB (issue 11, bench M3: 271 MiB with
 * 96). */
#define DEFAULT_CACHE_MB 64

enum {
	KEY_HELP, KEY_VERSION, KEY_UID, KEY_GID, KEY_UMASK, KEY_SHARE_DECRYPTED, KEY_ALLOW_OTHER,
	KEY_MAX_INODES, KEY_CACHE_MB, KEY_LOG, KEY_AUDIT,
};


static const struct fuse_opt option_spec[] = {
	/* passed on to the kernel after parsing, unless a custody log needs
	 * to see the write attempts (parse_command_line) */
	{ "ro", offsetof(struct options, readonly), 1 },
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_DISCARD),
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
	FUSE_OPT_KEY("max_inodes=", KEY_MAX_INODES),
	FUSE_OPT_KEY("cache_mb=", KEY_CACHE_MB),
	FUSE_OPT_KEY("log=", KEY_LOG),
	FUSE_OPT_KEY("audit=", KEY_AUDIT),
	FUSE_OPT_END
};

/* One "-o" list, as mount(8) and fstab pass it: the mapifs options in it
 * (forensic and the S/MIME ones, issue 13: every option both ways, as
 * sshfs has it) are taken here; the rest is returned for fuse_opt, as
 * written ("\," escapes a comma, as in fuse_opt), or NULL when nothing is
 * left.  *@bad is set on a missing value. */
static char *take_mount_options(const char *list, struct options *o, bool *bad)
{
	GString *rest = g_string_new(NULL);
	const char *p = list;
	while (*p && !*bad) {
		const char *start = p;
		GString *entry = g_string_new(NULL);   /* unescaped */
		for (; *p && *p != ','; p++) {
			if (*p == '\\' && p[1])
				p++;
			g_string_append_c(entry, *p);
		}
		const char *end = p;
		if (*p == ',')
			p++;
		char *why = NULL;
		int r = 0;
		if (strcmp(entry->str, "forensic") == 0) {
			o->forensic = 1;
			r = 1;
		} else {
			r = mapper_crypto_options_take_mount_option(o->crypto, entry->str, &why);
		}
		if (r < 0) {
			fprintf(stderr, "mapifs: %s\n", why);
			free(why);
			*bad = true;
		} else if (r == 0 && end > start) {
			if (rest->len)
				g_string_append_c(rest, ',');
			g_string_append_len(rest, start, end - start);
		}
		g_string_free(entry, TRUE);
	}
	return g_string_free(rest, rest->len == 0);
}

/* The S/MIME options take a value, "--name VALUE" or "--name=VALUE", and
 * some repeat.  They are taken out of argv before fuse_opt sees it, because
 * fuse_opt runs every matching template and "--cert " matches "--certs";
 * so are their "-o name=VALUE" forms.  The rest stays, in order, in *@out
 * (argc returned; new strings are kept in o->owned); -1 (and a message)
 * when a value is missing. */
static int split_args(int argc, char **argv, struct options *o, char ***out)
{
	char **rest = g_new0(char *, argc + 1);
	int n = 0;
	if (argc > 0)
		rest[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		char *why = NULL;
		if (strncmp(argv[i], "-o", 2) == 0 && (argv[i][2] || i + 1 < argc)) {
			bool bad = false;
			char *left = take_mount_options(argv[i][2] ? argv[i] + 2 : argv[++i], o, &bad);
			if (bad) {
				g_free(left);
				g_free(rest);
				return -1;
			}
			if (left) {
				char *opt = g_strconcat("-o", left, NULL);
				g_free(left);
				g_ptr_array_add(o->owned, opt);
				rest[n++] = opt;
			}
			continue;
		}
		int r = mapper_crypto_options_take(o->crypto, argc, argv, &i, &why);
		if (r < 0) {
			fprintf(stderr, "mapifs: %s\n", why);
			free(why);
			g_free(rest);
			return -1;
		}
		if (r == 0)
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
	case KEY_MAX_INODES:
	case KEY_CACHE_MB: {
		const char *v = strchr(arg, '=') + 1;
		unsigned long limit = key == KEY_CACHE_MB ? 1UL << 20 : 0xffffffffUL;
		char *end;
		errno = 0;
		unsigned long n = strtoul(v, &end, 10);
		if (!*v || *end || errno || n > limit || (key == KEY_CACHE_MB && n == 0)) {
			fprintf(stderr, "mapifs: -o %s: not a number%s\n", arg,
			        key == KEY_CACHE_MB ? " from 1 to 1048576" : "");
			return -1;
		}
		if (key == KEY_CACHE_MB)
			o->cache_mb = (unsigned)n;
		else
			o->max_inodes = (unsigned)n;
		return 0;
	}
	case KEY_SHARE_DECRYPTED:
		o->access.share_decrypted = true;
		return 0;
	case KEY_LOG:
		if (!arg[4]) {
			fprintf(stderr, "mapifs: -o log=FILE: no file named\n");
			return -1;
		}
		g_free(o->log_file);
		o->log_file = g_strdup(arg + 4);
		return 0;
	case KEY_AUDIT:
		if (!arg[6]) {
			fprintf(stderr, "mapifs: -o audit=FILE: no file named\n");
			return -1;
		}
		g_free(o->audit_file);
		o->audit_file = g_strdup(arg + 6);
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
	       "    -o max_inodes=N        keep about N files and directories in memory, then\n"
	       "                           let the kernel forget the least recently looked up\n"
	       "                           (default 100000; 0: no limit)\n"
	       "    -o cache_mb=N          keep up to N MiB of parsed messages (default 64)\n"
	       "    -o log=FILE            append the log to FILE (default: stderr with -f,\n"
	       "                           else syslog); every refused change is there, and\n"
	       "                           the last one of a message in its xattr\n"
	       "                           user.mapifs.error\n"
	       "    -o share_decrypted     decrypted content follows the same modes as the\n"
	       "                           rest (default: the mounting user's alone)\n"
	       "    -o audit=FILE          with -o ro / --forensic: a custody log, outside\n"
	       "                           SOURCE, of the mount (its listing's SHA-256) and\n"
	       "                           of every refused write attempt\n"
	       "\n"
	       "S/MIME options (what each message's smime/ folder shows):\n"
	       "%s"
	       "\n"
	       "Every option also has an -o form for fstab and mount -t fuse.mapifs:\n"
	       "-o forensic, -o key=FILE, -o pass_file=FILE, -o seal_order=ORDER ...\n"
	       "(\\, is a comma in a value).  Logs: stderr with -f, else syslog.\n"
	       "See mapifs(1) and mapifs(7).\n"
	       "\n", prog, mapper_crypto_options_help());
	fuse_cmdline_help();
}

/* Build the crypto context from the options; false (and a message on stderr)
 * on any problem, before anything is mounted. */
static bool setup_crypto(struct options *o, mapper_crypto *c)
{
	char *why = NULL;
	mapper_status st = mapper_crypto_options_apply(o->crypto, c, &why);
	if (st != MAPPER_OK)
		fprintf(stderr, "mapifs: %s\n", why ? why : mapper_status_to_string(st));
	free(why);
	return st == MAPPER_OK;
}

static void options_free(struct options *o)
{
	free(o->source);
	g_free(o->log_file);
	g_free(o->audit_file);
	mapper_crypto_options_free(o->crypto);
	g_ptr_array_unref(o->owned);
}

/* The session loop: several threads serve requests (mapifs.h: the
 * locks); -s one.  0, or 1 on a failure of the loop. */
static int serve(mount *mnt, const struct fuse_cmdline_opts *cmd)
{
	int ret;
	if (cmd->singlethread) {
		ret = fuse_session_loop(mnt->se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, (unsigned)cmd->clone_fd);
		/* UINT_MAX is fuse_parse_cmdline's "not given" (libfuse 3.14
		 * complains when it is passed on) */
		if (cmd->max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(cfg, cmd->max_idle_threads);
		fuse_loop_cfg_set_max_threads(cfg, cmd->max_threads);
		ret = fuse_session_loop_mt(mnt->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	/* a signal (SIGTERM, SIGINT) ends the loop as an unmount does */
	return ret < 0 ? 1 : 0;
}

/* Parse the command line into @opts, @args and @cmd.  -1 to go on, else
 * the exit status (0 after --help or --version). */
/* Whether @path is @dir or lies below it. */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0' || !strcmp(dir, "/"));
}

/* -o audit=FILE: only on a read-only mount, and never inside the
 * evidence (issue 14); 0, or 2 for a usage error (and a message). */
static int check_audit(const struct options *opts)
{
	if (!opts->audit_file)
		return 0;
	if (!opts->forensic && !opts->readonly) {
		fprintf(stderr, "mapifs: -o audit=FILE is for read-only mounts: add -o ro or --forensic\n");
		return 2;
	}
	char *dir = g_path_get_dirname(opts->audit_file);
	char *real_dir = realpath(dir, NULL);
	char *src = opts->source ? realpath(opts->source, NULL) : NULL;
	int err = 0;
	if (!real_dir) {
		fprintf(stderr, "mapifs: -o audit=%s: %s: %s\n", opts->audit_file, dir, g_strerror(errno));
		err = 2;
	} else if (src && below(real_dir, src)) {
		fprintf(stderr, "mapifs: -o audit=%s: the custody log must lie outside the evidence (%s)\n",
		        opts->audit_file, src);
		err = 2;
	}
	free(src);
	free(real_dir);
	g_free(dir);
	return err;
}

static int parse_command_line(int argc, char *argv[], struct options *opts,
                              struct fuse_args *args, struct fuse_cmdline_opts *cmd)
{
	/* issue 13: 2 for every usage error, as FUSE daemons do; 1 at run time */
	if (fuse_opt_parse(args, opts, option_spec, option_proc) != 0)
		return 2;
	if (opts->help) {
		usage(argv[0]);
		return 0;
	}
	if (opts->version) {
		printf("mapifs %s\n", MAPIFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		return 0;
	}
	int err = check_audit(opts);
	if (err)
		return err;
	/* design.md 6: the kernel refuses writes of a read-only mount before
	 * they reach us; with a custody log they must reach us, to be
	 * recorded, and we refuse every one (mapifs(7)) */
	if ((opts->forensic || opts->readonly) && !opts->audit_file)
		fuse_opt_add_arg(args, "-oro");
	/* design.md 8: other users are let in only with the kernel checking
	 * the modes we show */
	if (opts->access.allow_other)
		fuse_opt_add_arg(args, "-odefault_permissions");
	/* issue 13: df and findmnt show the mailbox as the source, as sshfs
	 * shows its host:path; fuse_opt reads "\," as a comma in a value */
	char *abs = opts->source ? realpath(opts->source, NULL) : NULL;
	GString *fsopt = g_string_new("-osubtype=mapifs,fsname=");
	for (const char *c = abs ? abs : opts->source ? opts->source : "mapifs"; *c; c++) {
		if (*c == ',' || *c == '\\')
			g_string_append_c(fsopt, '\\');
		g_string_append_c(fsopt, *c);
	}
	free(abs);
	fuse_opt_add_arg(args, fsopt->str);
	g_string_free(fsopt, TRUE);
	if (fuse_parse_cmdline(args, cmd) != 0)
		return 2;
	if (!opts->source || !cmd->mountpoint) {
		fprintf(stderr, "mapifs: missing %s\nusage: %s [options] SOURCE MOUNTPOINT (see --help)\n",
		        opts->source ? "MOUNTPOINT" : "SOURCE and MOUNTPOINT", argv[0]);
		return 2;
	}
	/* the kernel would mount the root directory on a file, and every
	 * access would then fail; "/dev/fd/N" is libfuse's form for a
	 * /dev/fuse descriptor mounted by the caller */
	struct stat st;
	if (strncmp(cmd->mountpoint, "/dev/fd/", 8) != 0 && stat(cmd->mountpoint, &st) == 0 &&
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mapifs: %s is not a directory\n", cmd->mountpoint);
		return 2;
	}
	return -1;
}

/* The tables of a mount whose source is open (undone by tables_free). */
static void tables_init(mount *mnt)
{
	inodes_init(mnt);
	cache_init(mnt);
	mnt->open_writes = g_hash_table_new(g_str_hash, g_str_equal);
	mnt->errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	mnt->open_handles = g_hash_table_new(g_direct_hash, g_direct_equal);
	mnt->open_dirs = g_hash_table_new(g_direct_hash, g_direct_equal);
	sync_init(mnt);
}

static void tables_free(mount *mnt)
{
	prefetch_stop(mnt);
	watch_stop(mnt);
	sync_free(mnt);
	cache_free(mnt);
	/* files and directories still open when the session ended: the
	 * kernel sends no release for them */
	write_free_leftover_handles(mnt);
	ops_free_leftover_listings(mnt);
	g_hash_table_unref(mnt->open_writes);
	g_hash_table_unref(mnt->errors);
	g_hash_table_unref(mnt->open_handles);
	g_hash_table_unref(mnt->open_dirs);
	inodes_free(mnt);
}

/* Whether @mountpoint is already the mount point of a mapifs mount
 * (/proc/self/mountinfo, proc(5): field 5 the mount point, octal-escaped;
 * after " - " the file system type): mounting again would hide it under a
 * second one. */
static bool already_mapifs(const char *mountpoint)
{
	char *abs = realpath(mountpoint, NULL);
	FILE *f = abs ? fopen("/proc/self/mountinfo", "re") : NULL;
	bool found = false;
	char *line = NULL;
	size_t cap = 0;
	while (f && !found && getline(&line, &cap, f) > 0) {
		char **fields = g_strsplit(line, " ", -1);
		guint n = g_strv_length(fields);
		char *dash = strstr(line, " - ");
		if (n > 5 && dash && g_str_has_prefix(dash + 3, "fuse.mapifs ")) {
			char *where = g_strcompress(fields[4]);   /* \040 and the like */
			found = strcmp(where, abs) == 0;
			g_free(where);
		}
		g_strfreev(fields);
	}
	free(line);
	if (f)
		fclose(f);
	free(abs);
	return found;
}

/* Mount @mnt at @cmd's mount point and serve it until it is unmounted.
 * The exit status. */
/* @command: the command line, for the custody log. */
static int run_session(mount *mnt, struct fuse_args *args, const struct fuse_cmdline_opts *cmd,
                       const char *command)
{
	int ret = 1;
	mnt->se = fuse_session_new(args, &mapifs_ops, sizeof mapifs_ops, mnt);
	if (!mnt->se)
		return 2;   /* libfuse has said which option it does not know */
	if (fuse_set_signal_handlers(mnt->se) != 0)
		goto out1;
	if (fuse_session_mount(mnt->se, cmd->mountpoint) != 0)
		goto out2;
	audit_mount(mnt, cmd->mountpoint, command);
	if (!cmd->foreground && !mapifs_log_file)
		mapifs_open_syslog();
	fuse_daemonize(cmd->foreground);
	/* the watcher thread starts after fork(): threads do not survive it */
	int err = watch_start(mnt);
	if (err)
		mapifs_log("not following changes to %s: %s", mnt->source, g_strerror(err));
	/* read-ahead is an optimisation: without its thread, nothing is lost */
	err = prefetch_start(mnt);
	if (err)
		mapifs_log("not reading ahead: %s", g_strerror(err));
	ret = serve(mnt, cmd);
	prefetch_stop(mnt);
	watch_stop(mnt);
	fuse_session_unmount(mnt->se);
	audit_unmount();
out2:
	fuse_remove_signal_handlers(mnt->se);
out1:
	fuse_session_destroy(mnt->se);
	mnt->se = NULL;
	return ret;
}

int main(int argc, char *argv[])
{
	/* glibc gives each thread that allocates its own arena, and what one
	 * frees another cannot reuse: with a dozen request threads the
	 * daemon kept half again as much memory as it used (issue 11,
	 * scripts/bench.sh row 10).  Two arenas serve two cores. */
	mallopt(M_ARENA_MAX, 2);
	struct options opts = { .max_inodes = DEFAULT_MAX_INODES, .cache_mb = DEFAULT_CACHE_MB };
	opts.crypto = mapper_crypto_options_new();
	opts.owned = g_ptr_array_new_with_free_func(g_free);
	char **fargv = NULL;
	int fargc = split_args(argc, argv, &opts, &fargv);
	if (fargc < 0) {
		options_free(&opts);
		return 2;
	}
	struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);
	struct fuse_cmdline_opts cmd = { 0 };
	mount mnt = { 0 };
	int ret = parse_command_line(argc, argv, &opts, &args, &cmd);
	if (ret >= 0)
		goto out1;
	ret = 1;
	/* opened before the daemon changes to / and loses its terminal, so
	 * that a bad path is said here, once */
	if (opts.log_file) {
		int lerr = mapifs_open_logfile(opts.log_file);
		if (lerr) {
			fprintf(stderr, "mapifs: -o log=%s: %s\n", opts.log_file, g_strerror(lerr));
			goto out1;
		}
	}
	if (opts.audit_file) {
		int aerr = audit_open(opts.audit_file);
		if (aerr) {
			fprintf(stderr, "mapifs: -o audit=%s: %s\n", opts.audit_file, g_strerror(aerr));
			goto out1;
		}
	}
	char *command = g_strjoinv(" ", argv);

	pthread_mutex_init(&mnt.lock, NULL);
	pthread_cond_init(&mnt.scan_cond, NULL);
	g_mutex_init(&mnt.certs_lock);
	examine_init(&mnt.examine);
	mnt.readonly = opts.readonly || opts.forensic;
	mnt.uid = getuid();
	mnt.gid = getgid();
	mnt.access = opts.access;
	mnt.max_inodes = opts.max_inodes;
	mnt.cache_max_bytes = (size_t)opts.cache_mb << 20;
	mnt.srcfd = -1;
	mnt.inotify_fd = -1;
	int err = mount_open_source(&mnt, opts.source);
	if (err) {
		fprintf(stderr, "mapifs: cannot use %s as a mailbox: %s\n", opts.source, g_strerror(err));
		goto out2;
	}
	if (already_mapifs(cmd.mountpoint)) {
		fprintf(stderr, "mapifs: %s is already a mapifs mount; unmount it first "
		        "(fusermount3 -u %s)\n", cmd.mountpoint, cmd.mountpoint);
		goto out2;
	}
	if (!mount_source_holds_mail(&mnt))
		fprintf(stderr, "mapifs: warning: %s is no Maildir (no cur/ or new/) and holds no Maildir "
		        "or .eml file: the mount shows nothing until mail arrives\n", opts.source);
	mapper_init();
	mnt.crypto = mapper_crypto_new();
	mnt.learned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!setup_crypto(&opts, mnt.crypto))
		goto out3;
	tables_init(&mnt);
	err = watch_init(&mnt);
	if (err)
		fprintf(stderr, "mapifs: %s\n", g_strerror(err));
	else
		ret = run_session(&mnt, &args, &cmd, command);
	tables_free(&mnt);
out3:
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
	examine_free(&mnt.examine);
	pthread_cond_destroy(&mnt.scan_cond);
	pthread_mutex_destroy(&mnt.lock);
	g_free(command);
out1:
	audit_close();
	options_free(&opts);
	g_free(fargv);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
