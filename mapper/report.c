/*
 * report.c - delivery and read reports (multipart/report) to message
 * objects: MS-OXCMAIL 2.2.3.7.1 for delivery status notifications (RFC
 * 3464, message/delivery-status) and the reverse of 2.1.3.6.2 for message
 * disposition notifications (RFC 8098, message/disposition-notification),
 * whose reading MS-OXCMAIL leaves unsaid.
 *
 * The status part is groups of header fields, a blank line apart: the
 * first about the message, one per recipient after it.  GMime parses each
 * group as a header block (folding, RFC 2047 in X-Display-Name); this file
 * only decides what each field becomes.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "mapper-private.h"
#include "tags.h"

/* At most this many recipient groups are read: a report of more is a
 * hostile one, and the bytes bound the work anyway. */
#define REPORT_MAX_GROUPS 10000

static bool ieq(const char *a, const char *b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

static bool blank_line(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			return false;
	return true;
}

static void group_free(gpointer g)
{
	if (g)
		g_object_unref(g);
}

/* Header block @data (@len bytes) parsed by GMime, or NULL. */
static GMimeMessage *parse_group(const char *data, size_t len)
{
	GByteArray *block = g_byte_array_new();
	g_byte_array_append(block, (const guint8 *)data, (guint)len);
	g_byte_array_append(block, (const guint8 *)"\n\n", 2);
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(block);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	return msg;
}

/* The groups of @data, lines between blank ones, each a GMimeMessage
 * whose header list is the group's fields (NULL where GMime found none),
 * in order: the per-message group first. */
static GPtrArray *field_groups(const char *data, size_t len)
{
	GPtrArray *groups = g_ptr_array_new_with_free_func(group_free);
	size_t i = 0, start = 0;
	bool in_group = false;
	while (i < len && groups->len < REPORT_MAX_GROUPS) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;
		bool blank = blank_line(data + i, data + end);
		if (!blank && !in_group) {
			start = i;
			in_group = true;
		}
		if (in_group && (blank || end == len)) {
			g_ptr_array_add(groups, parse_group(data + start, (blank ? i : end) - start));
			in_group = false;
		}
		i = end;
	}
	return groups;
}

/* Field @name of group @g, unfolded, trimmed; NULL if absent (the first). */
static char *field(GMimeMessage *g, const char *name)
{
	if (!g)
		return NULL;
	GMimeHeaderList *h = g_mime_object_get_header_list(GMIME_OBJECT(g));
	GMimeHeader *f = g_mime_header_list_get_header(h, name);
	if (!f)
		return NULL;
	char *v = g_mime_utils_header_unfold(g_mime_header_get_raw_value(f));
	g_strstrip(v);
	if (!g_utf8_validate(v, -1, NULL)) {
		char *u = g_utf8_make_valid(v, -1);
		g_free(v);
		v = u;
	}
	return v;
}

/* The part after "type;" of an RFC 3464 typed field ("dns; mx.example"),
 * trimmed; the whole value when it has no type. */
static const char *after_type(const char *v)
{
	const char *semi = strchr(v, ';');
	if (!semi)
		return v;
	semi++;
	while (*semi == ' ' || *semi == '\t')
		semi++;
	return semi;
}

/* ---- delivery status notifications ---------------------------------------- */

/* 2.2.3.7.1.1: the severity of an Action, -1 for an unknown one. */
static int severity(const char *action)
{
	static const char *const order[] = { "delivered", "expanded", "relayed", "delayed", "failed" };
	for (int i = 0; action && i < 5; i++)
		if (ieq(action, order[i]))
			return i;
	return -1;
}

static const char *const class_suffix[] = { ".DR", ".Expanded.DR", ".Relayed.DR", ".Delayed.DR", ".NDR" };

/* 2.2.3.7.1.3: the status code's Kind.Subject.Detail as the three codes. */
static void status_codes(mapper_bag *row, const char *status)
{
	int kind = 0, subject = 0, detail = 0;
	if (sscanf(status, "%d.%d.%d", &kind, &subject, &detail) != 3)
		return;
	if (kind < 0 || kind > 9)
		return;
	if (subject < 0 || subject > 9)
		subject = 0;
	if (detail < 0 || detail > 9)
		detail = 0;
	bag_set_int(row, TAG_NDR_STATUS_CODE, kind * 100 + subject * 10 + detail);
	int diag = -1, reason = 0;
	/* the table of 2.2.3.7.1.3: Subject.Detail -> diagnostic (and reason) */
	static const struct { int subject, detail, diag, reason; } t[] = {
		{ 1, 1, 35, 1 }, { 1, 2, 48, 0 }, { 1, 3, 32, 0 }, { 1, 4, 1, 0 }, { 1, 6, 40, 0 },
		{ 1, -1, 0, 0 }, { 2, 1, 38, 0 }, { 2, 2, 13, 0 }, { 2, 3, 13, 0 }, { 2, 4, 30, 0 },
		{ 2, -1, 38, 0 }, { 3, 2, -1, 0 }, { 3, 3, 18, 0 }, { 3, 5, 18, 0 }, { 3, 4, 13, 0 },
		{ 3, -1, 38, 0 }, { 4, 0, -1, 0 }, { 4, 4, -1, 0 }, { 4, 3, -1, 6 }, { 4, 6, 3, 0 },
		{ 4, 8, 3, 0 }, { 4, 7, 5, 0 }, { 4, -1, 2, 0 }, { 5, 3, 16, 0 }, { 5, 4, 11, 0 },
		{ 5, -1, 17, 0 }, { 6, 2, 9, 0 }, { 6, 3, 8, 0 }, { 6, 4, 25, 0 }, { 6, 5, -1, 2 },
		{ 6, -1, 15, 0 }, { 7, 1, 29, 0 }, { 7, 2, 28, 0 }, { 7, 3, 26, 0 }, { 7, -1, 46, 0 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (t[i].subject == subject && (t[i].detail == detail || t[i].detail == -1)) {
			diag = t[i].diag;
			reason = t[i].reason;
			break;
		}
	bag_set_int(row, TAG_NDR_DIAG_CODE, diag);   /* -1: none (0xFFFFFFFF) */
	bag_set_int(row, TAG_NDR_REASON_CODE, reason);
}

/* A recipient row for the group @g (2.2.3.7.1 steps 3.2-3.6). */
static void dsn_row(mapper_message *m, GMimeMessage *g, const char *action, int64_t sent, bool have_sent)
{
	char *final = field(g, "Final-Recipient");
	char *name = field(g, "X-Display-Name");
	const char *addr = final ? after_type(final) : NULL;
	char *decoded = name ? g_mime_utils_header_decode_text(NULL, name) : NULL;
	mapper_bag *row = message_add_recipient(m, decoded && *decoded ? decoded : NULL,
	                                        addr && *addr ? addr : NULL, 1 /* MAPI_TO */);
	char *remote = field(g, "Remote-MTA");
	char *status = field(g, "Status");
	char *diag = field(g, "Diagnostic-Code");
	char *info = field(g, "X-Supplementary-Info");
	/* step 3.3: the mta-name, without its type */
	if (remote && *after_type(remote))
		bag_set_string(row, TAG_REMOTE_MTA, after_type(remote));
	/* step 3.4 and 2.2.3.7.1.2: "<" remote-mta SP "#" status [SP diagnostic] ">" */
	if (info) {
		bag_set_string(row, TAG_SUPPLEMENTARY_INFO, info);
	} else {
		GString *s = g_string_new("<");
		if (remote && *after_type(remote))
			g_string_append_printf(s, "%s ", after_type(remote));
		g_string_append_printf(s, "#%s", status ? status : "");
		if (diag && *diag)
			g_string_append_printf(s, " %s", diag);
		g_string_append_c(s, '>');
		bag_set_string(row, TAG_SUPPLEMENTARY_INFO, s->str);
		g_string_free(s, TRUE);
	}
	if (status)
		status_codes(row, status);
	/* steps 3.5 and 3.6: the report's own sent time */
	if (have_sent) {
		bag_set_time(row, TAG_REPORT_TIME, sent);
		if (!ieq(action, "failed"))
			bag_set_time(row, TAG_DELIVER_TIME, sent);
	}
	g_free(final);
	g_free(name);
	g_free(decoded);
	g_free(remote);
	g_free(status);
	g_free(diag);
	g_free(info);
}

static bool read_dsn(mapper_message *m, GPtrArray *groups, int64_t sent, bool have_sent)
{
	/* step 1: the highest severity of all recipients' Action fields */
	int best = -1;
	for (guint i = 1; i < groups->len; i++) {
		char *a = field(groups->pdata[i], "Action");
		int sev = severity(a);
		g_free(a);
		if (sev > best)
			best = sev;
	}
	if (best < 0)
		return false;
	/* 2.2.3.7.1.1: "REPORT." + the class read so far + the suffix */
	mapper_prop *cls = bag_get(&m->props, TAG_MESSAGE_CLASS);
	char *c = g_strconcat("REPORT.", cls && cls->str ? cls->str : "IPM.Note", class_suffix[best], NULL);
	bag_set_string(&m->props, TAG_MESSAGE_CLASS, c);
	g_free(c);
	/* step 2 */
	char *mta = groups->len ? field(groups->pdata[0], "Reporting-MTA") : NULL;
	if (mta)
		bag_set_string(&m->props, TAG_REPORTING_MTA, mta);
	g_free(mta);
	/* step 3: a row per recipient of that severity; others SHOULD be skipped */
	for (guint i = 1; i < groups->len; i++) {
		char *a = field(groups->pdata[i], "Action");
		if (severity(a) == best)
			dsn_row(m, groups->pdata[i], a, sent, have_sent);
		g_free(a);
	}
	return true;
}

/* ---- message disposition notifications ------------------------------------ */

/* The reverse of MS-OXCMAIL 2.1.3.6.2 (the writer) and MS-OXOMSG 2.2.1.34:
 * the disposition type makes the class (read: IPNRN, not read: IPNNRN),
 * Original-Message-ID and the correlation key name the original. */
static bool read_mdn(mapper_message *m, GPtrArray *groups, int64_t sent, bool have_sent)
{
	if (!groups->len)
		return false;
	GMimeMessage *g = groups->pdata[0];
	char *disp = field(g, "Disposition");
	if (!disp)
		return false;
	/* "action-mode/sending-mode; type/modifier" (RFC 8098 3.2.6) */
	const char *semi = strchr(disp, ';');
	char *mode = g_strstrip(g_strndup(disp, semi ? (gsize)(semi - disp) : strlen(disp)));
	char *type = g_strstrip(g_strdup(semi ? semi + 1 : ""));
	char *slash = strchr(type, '/');
	if (slash)
		*slash = 0;
	g_strstrip(type);
	const char *suffix = ieq(type, "displayed") || ieq(type, "dispatched") || ieq(type, "processed")
	                     ? ".IPNRN"
	                     : ieq(type, "deleted") || ieq(type, "denied") || ieq(type, "failed") ? ".IPNNRN"
	                     : NULL;
	if (suffix) {
		mapper_prop *cls = bag_get(&m->props, TAG_MESSAGE_CLASS);
		char *c = g_strconcat("REPORT.", cls && cls->str ? cls->str : "IPM.Note", suffix, NULL);
		bag_set_string(&m->props, TAG_MESSAGE_CLASS, c);
		g_free(c);
	}
	bag_set_string(&m->props, TAG_REPORT_TEXT, disp);
	if (*type)
		bag_set_string(&m->props, TAG_REPORT_DISPOSITION, type);
	if (*mode)
		bag_set_string(&m->props, TAG_REPORT_DISPOSITION_MODE, mode);
	char *id = field(g, "Original-Message-ID");
	if (id)
		bag_set_string(&m->props, TAG_ORIGINAL_MESSAGE_ID, id);
	char *key = field(g, "X-MSExch-Correlation-Key");
	if (key) {
		gsize n = 0;
		guchar *raw = g_base64_decode(key, &n);
		if (n)
			bag_set_binary(&m->props, TAG_PARENT_KEY, raw, n);
		g_free(raw);
	}
	/* whose reading it reports */
	char *who = field(g, "Original-Recipient");
	if (!who)
		who = field(g, "Final-Recipient");
	if (who)
		bag_set_string(&m->props, TAG_ORIGINAL_DISPLAY_TO, after_type(who));
	if (have_sent)
		bag_set_time(&m->props, TAG_RECEIPT_TIME, sent);
	g_free(disp);
	g_free(mode);
	g_free(type);
	g_free(id);
	g_free(key);
	g_free(who);
	return true;
}

bool report_read(mapper_message *m, bool mdn, const char *data, size_t len, int64_t sent,
                 bool have_sent)
{
	GPtrArray *groups = field_groups(data, len);
	bool done = mdn ? read_mdn(m, groups, sent, have_sent) : read_dsn(m, groups, sent, have_sent);
	g_ptr_array_unref(groups);
	return done;
}
