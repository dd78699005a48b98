/*
 * base.c - the bottom of fs/: the log, the one translation of mapper
 * statuses to errnos, and mount-path joins.  Every other file of fs/ may
 * use it; it uses nothing of fs/.
 *
 * Errors in fs/ are 0 or a positive errno everywhere (a worker's result is
 * what the handler replies, as in libfuse's passthrough_ll.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "mapifs.h"

bool mapifs_use_syslog;
FILE *mapifs_log_file;

static void log_line(int priority, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);

static void log_line(int priority, const char *fmt, va_list ap)
{
	char *raw = g_strdup_vprintf(fmt, ap);
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
	const char *level = priority == LOG_ERR ? "error: " : "";
	if (mapifs_log_file) {
		GDateTime *now = g_date_time_new_now_utc();
		char *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
		/* one write per line: lines of several threads never mix */
		char *text = g_strdup_printf("%s mapifs[%d]: %s%s\n", when, (int)getpid(), level, safe);
		fputs(text, mapifs_log_file);
		fflush(mapifs_log_file);
		g_free(text);
		g_free(when);
		g_date_time_unref(now);
	} else if (mapifs_use_syslog)
		syslog(priority, "%s%s", level, safe);
	else
		fprintf(stderr, "mapifs: %s%s\n", level, safe);
	g_free(safe);
	g_string_free(line, TRUE);
	g_free(raw);
}

void mapifs_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void mapifs_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(LOG_ERR, fmt, ap);
	va_end(ap);
}

int mapifs_open_logfile(const char *path)
{
	/* append, close-on-exec; the file keeps the mode the user gave it */
	FILE *f = fopen(path, "ae");
	if (!f)
		return errno;
	setvbuf(f, NULL, _IOLBF, 0);
	mapifs_log_file = f;
	return 0;
}

void mapifs_open_syslog(void)
{
	openlog("mapifs", LOG_PID, LOG_DAEMON);
	mapifs_use_syslog = true;
}

int mapper_errno(mapper_status st)
{
	switch (st) {
	case MAPPER_OK: return 0;
	case MAPPER_NOT_FOUND: return ENOENT;
	case MAPPER_NOT_A_DIRECTORY: return ENOTDIR;
	case MAPPER_IS_A_DIRECTORY: return EISDIR;
	case MAPPER_INVALID: return EINVAL;
	case MAPPER_INCOMPLETE: return EIO;
	case MAPPER_NO_MEMORY: return ENOMEM;
	case MAPPER_READ_ONLY: return EPERM;
	case MAPPER_EXISTS: return EEXIST;
	case MAPPER_DEFERRED: return EIO;   /* the caller reads it with mapper_deferred_pread() */
	}
	return EIO;
}

char *path_join(const char *dir, const char *name)
{
	return *dir ? g_strconcat(dir, "/", name, NULL) : g_strdup(name);
}
