/*
 * main.c - mapifs: mount a mailbox as MS-OXCMAIL / MS-OXOSMIME message objects.
 *
 *   mapifs [options] SOURCE MOUNTPOINT
 *
 * SOURCE is a Maildir (it has cur/ or new/) or a directory tree of .eml files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "mapifs.h"

bool mapifs_use_syslog;

void mapifs_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *raw = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* Log lines quote message bytes: control characters (terminal escape
	 * sequences, line breaks) are shown as \xNN so that every problem stays
	 * one harmless line on an examiner's terminal. */
	GString *line = g_string_new(NULL);
	for (const unsigned char *c = (const unsigned char *)raw; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			g_string_append_printf(line, "\\x%02x", *c);
		else
			g_string_append_c(line, (char)*c);
	}
	char *safe = g_utf8_make_valid(line->str, (gssize)line->len);
	if (mapifs_use_syslog)
		syslog(LOG_WARNING, "%s", safe);
	else
		fprintf(stderr, "mapifs: %s\n", safe);
	g_free(safe);
	g_string_free(line, TRUE);
	g_free(raw);
}

struct options {
	char *source;
	int readonly;
	int forensic;
	int help;
	int version;
};

enum { KEY_HELP, KEY_VERSION };

static const struct fuse_opt option_spec[] = {
	{ "ro", offsetof(struct options, readonly), 1 },
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_KEEP),
	{ "--forensic", offsetof(struct options, forensic), 1 },
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

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
	       "\n", prog);
	fuse_cmdline_help();
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct options opts = { 0 };
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
	mnt.readonly = opts.readonly || opts.forensic;
	mnt.uid = getuid();
	mnt.gid = getgid();
	mnt.srcfd = -1;
	mnt.inotify_fd = -1;
	int err = mount_open_source(&mnt, opts.source);
	if (err) {
		fprintf(stderr, "mapifs: cannot use %s as a mailbox: %s\n", opts.source, g_strerror(err));
		goto out2;
	}
	mapper_init();
	inodes_init(&mnt);
	cache_init(&mnt);
	mnt.open_writes = g_hash_table_new(g_str_hash, g_str_equal);
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
		openlog("mapifs", LOG_PID, LOG_DAEMON);
		mapifs_use_syslog = true;
	}
	fuse_daemonize(cmd.foreground);
	/* the watcher thread starts after fork(): threads do not survive it */
	err = watch_start(&mnt);
	if (err)
		mapifs_log("not following changes to %s: %s", mnt.source, g_strerror(err));

	/* one thread serves requests: GMime objects stay in it (docs/style.md) */
	ret = fuse_session_loop(mnt.se);
	if (ret < 0)
		ret = 1;

	watch_stop(&mnt);
	fuse_session_unmount(mnt.se);
out5:
	fuse_remove_signal_handlers(mnt.se);
out4:
	fuse_session_destroy(mnt.se);
out3:
	watch_stop(&mnt);
	cache_free(&mnt);
	/* handles still open at unmount are freed by release before the loop ends */
	g_hash_table_unref(mnt.open_writes);
	inodes_free(&mnt);
	mount_folders_free(&mnt);
	mapper_shutdown();
out2:
	if (mnt.srcfd >= 0)
		close(mnt.srcfd);
	g_free(mnt.source);
	pthread_mutex_destroy(&mnt.lock);
out1:
	free(opts.source);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	return ret;
}
