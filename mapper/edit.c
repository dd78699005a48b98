/*
 * edit.c - changing a message object through its files (design.md section 4).
 *
 * Each function here checks a name and a value and changes the object in
 * memory; nothing is written anywhere.  export.c then turns the edited object
 * back into Internet format.  What may be edited is a whitelist: a property
 * is writable when the MS-OXCMAIL writer turns it into a header field or a
 * MIME part (oxcmail-mapping.md 1.2, 3.3, 4.3) or when Maildir flags carry it
 * (7.2); the header-backed ones are headers.c's table.  Everything else
 * is derived from other data (display lists, entry ids, sizes, the header
 * block) or from signed or encrypted content, and is read-only: writing it
 * could only make the object disagree with itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>
#include <gmime/gmime.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "mapper-private.h"
#include "headers.h"

/* ---- what may be written ------------------------------------------------ */

/* Message properties the writer turns into header fields (1.2) are those
 * of header_table's edit column (headers.c). */

/* Body properties: MIME parts of a message that is not S/MIME (3.3). */
static const char *const body_props[] = { "PidTagBody", "PidTagHtml", NULL };

/* Properties Maildir flags carry (7.2); editing them renames the file. */
static const char *const flag_props[] = {
	"PidTagMessageFlags", "PidTagMessageStatus", "PidTagLastVerbExecuted",
	"PidTagFlagStatus", NULL,
};

static const char *const recipient_props[] = {
	"PidTagRecipientType", "PidTagDisplayName", "PidTagEmailAddress",
	"PidTagSmtpAddress", "PidTagAddressType", NULL,
};

static const char *const attachment_props[] = {
	"PidTagAttachDataBinary", "PidTagAttachLongFilename", "PidTagAttachFilename",
	"PidTagAttachMimeTag", "PidTagDisplayName", "PidTagAttachContentId",
	"PidTagAttachContentLocation", NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

bool mapper_path_is_flag_property(const char *path)
{
	return path && in_list(flag_props, path);
}


/* ---- paths ------------------------------------------------------------- */

typedef enum { W_MESSAGE, W_SET, W_RECIPIENT, W_ATTACHMENT, W_NEW_ATTACHMENT } wkind;

/* Where a property file lives: the bag, what kind of directory, the row. */
typedef struct {
	wkind kind;
	mapper_bag *bag;
	const mapper_propset *set;   /* W_SET */
	mapper_attachment *att;      /* W_ATTACHMENT */
	guint row;
	const char *name;            /* the file name (points into the path copy) */
} target;

/* Row numbers written to are at most 6 digits (the tree view reads 9). */
#define ROW_DIGITS 6

/* Split @path (a copy the caller frees) into a target. Only the top message
 * is editable: an embedded message is part of its parent's attachment. */
static mapper_status locate(mapper_message *m, char *path, target *t, char **why)
{
	memset(t, 0, sizeof *t);
	if (strcmp(path, "smime") == 0 || strncmp(path, "smime/", 6) == 0)
		return mapper_fail(why, MAPPER_READ_ONLY,
		            "smime/ is computed from the protected content and is read-only");
	if (strcmp(path, "received") == 0 || strncmp(path, "received/", 9) == 0)
		return mapper_fail(why, MAPPER_READ_ONLY,
		            "received/ is read from the Received header fields and is read-only "
		            "(design.md 9)");
	char *parts[4] = { 0 };
	int n = 0;
	for (char *p = path, *save = NULL, *tok; (tok = strtok_r(p, "/", &save)); p = NULL) {
		if (n == 3)
			return mapper_fail(why, MAPPER_READ_ONLY, "%s: embedded messages are read-only", path);
		parts[n++] = tok;
	}
	if (n == 1) {
		t->kind = W_MESSAGE;
		t->bag = &m->props;
		t->name = parts[0];
		return MAPPER_OK;
	}
	if (n == 2 && strcmp(parts[0], "attachments") == 0) {
		/* issue 13: an attachment's file name is its data; a new name
		 * ("cp report.pdf attachments/") adds an attachment */
		int a = attachment_by_alias(m, parts[1]);
		t->kind = a >= 0 ? W_ATTACHMENT : W_NEW_ATTACHMENT;
		t->name = a >= 0 ? "PidTagAttachDataBinary" : parts[1];
		if (a >= 0) {
			t->row = (guint)a;
			t->att = m->attachments->pdata[a];
			t->bag = &t->att->props;
		}
		return MAPPER_OK;
	}
	if (n == 2) {
		t->set = mapper_propset_by_name(parts[0]);
		if (!t->set)
			return mapper_fail(why, MAPPER_NOT_FOUND, "no property set %s", parts[0]);
		t->kind = W_SET;
		t->bag = &m->props;
		t->name = parts[1];
		return MAPPER_OK;
	}
	if (n == 3 && (strcmp(parts[0], "recipients") == 0 || strcmp(parts[0], "attachments") == 0)) {
		bool rcpt = parts[0][0] == 'r';
		GPtrArray *rows = rcpt ? m->recipients : m->attachments;
		if (!row_number(parts[1], ROW_DIGITS, &t->row) || t->row >= rows->len)
			return mapper_fail(why, MAPPER_NOT_FOUND, "no row %s/%s", parts[0], parts[1]);
		t->kind = rcpt ? W_RECIPIENT : W_ATTACHMENT;
		if (rcpt) {
			t->bag = rows->pdata[t->row];
		} else {
			t->att = rows->pdata[t->row];
			t->bag = &t->att->props;
		}
		t->name = parts[2];
		return MAPPER_OK;
	}
	return mapper_fail(why, MAPPER_NOT_FOUND, "no such property file");
}

/* A header field name: printable ASCII without ':' (RFC 5322 2.2). */
static bool valid_field_name(const char *s)
{
	if (!*s || strlen(s) > 200)
		return false;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 33 || *c > 126 || *c == ':')
			return false;
	return true;
}

/* May a file named @name be written into attachments/ as a new attachment
 * (issue 13, "cp report.pdf attachments/")? */
static mapper_status check_new_attachment(mapper_message *m, const char *name, char **why)
{
	if (m->level != MAPPER_LOAD_FULL)
		return mapper_fail(why, MAPPER_INCOMPLETE, "the message was not loaded completely");
	if (m->smime != SMIME_NONE)
		/* MS-OXOSMIME 2.2.1/2.2.2 */
		return mapper_fail(why, MAPPER_READ_ONLY, "an S/MIME message has exactly one attachment");
	if (!attachment_alias_usable(name))
		return mapper_fail(why, MAPPER_INVALID, "\"%s\" cannot name an attachment: a row number, "
		                   "a hidden name, a control byte or more than 255 bytes", name);
	return MAPPER_OK;
}

/*
 * The tag of the file @t names, with permission checks.  For named
 * properties *@named is set and the tag's type is what the file holds.
 */
static mapper_status check(mapper_message *m, const target *t, uint32_t *tag, char **why)
{
	const char *name = t->name;
	*tag = 0;
	/* A header-only object takes the changes that only rewrite header
	 * fields (header_tag_is_editable and the named properties below):
	 * export.c then copies the body as it is.  The rest need it all. */
	bool whole = m->level == MAPPER_LOAD_FULL;
	static const char incomplete[] = "the message was not loaded completely";

	if (t->kind == W_SET) {
		mapper_prop *held = t->set == &mapper_psetid_common && strcmp(name, "0x8530") == 0
		                    ? bag_get_lid(t->bag, t->set, 0x8530) : bag_get_named(t->bag, t->set, name);
		if (held && held->tnef)
			return mapper_fail(why, MAPPER_READ_ONLY, "%s/%s comes from the TNEF part (winmail.dat), "
			                   "which mapifs does not rewrite (MS-OXTNEF)", t->set->name, name);
		if (t->set == &mapper_ps_internet_headers) {
			if (!valid_field_name(name))
				return mapper_fail(why, MAPPER_INVALID, "%s is not a header field name", name);
			if (g_ascii_strncasecmp(name, "Content-", 8) == 0)
				/* the MIME structure writes these; on opaque S/MIME the
				 * Content-Type describes the protected content (MS-OXOSMIME 2.2.2) */
				return mapper_fail(why, MAPPER_READ_ONLY, "%s describes the MIME structure", name);
			/* header names another property (or the MIME structure) already writes */
			const header_row *row = header_find(name);
			if (row && (row->flags & HF_NO_TWIN))
				return mapper_fail(why, MAPPER_INVALID,
				            "%s is written from another property (MS-OXCMAIL 2.1.3.2.4)", name);
			*tag = PROP_TAG(0, PT_UNICODE);
			return MAPPER_OK;
		}
		if (t->set == &mapper_ps_public_strings && strcmp(name, "Keywords") == 0) {
			*tag = PROP_TAG(0, PT_MV_UNICODE);
			return MAPPER_OK;
		}
		if (t->set == &mapper_psetid_common && strcmp(name, "0x8530") == 0) {
			*tag = PROP_TAG(0, PT_UNICODE);       /* PidLidFlagRequest -> X-Message-Flag */
			return MAPPER_OK;
		}
		return mapper_fail(why, MAPPER_READ_ONLY, "%s/%s is read-only", t->set->name, name);
	}

	if (t->kind == W_NEW_ATTACHMENT) {
		*tag = TAG_ATTACH_DATA_BINARY;
		return check_new_attachment(m, name, why);
	}
	if (t->kind == W_MESSAGE && strcmp(name, "info") == 0)
		return mapper_fail(why, MAPPER_READ_ONLY, "info is a summary of the message and read-only");
	if (t->kind == W_MESSAGE && strcmp(name, "body.rtf") == 0)
		return mapper_fail(why, MAPPER_READ_ONLY,
		                   "body.rtf is PidTagRtfCompressed decompressed (MS-OXRTFCP) and read-only");
	uint32_t tg = mapper_tag_from_name(name);
	if (!tg || !mapper_type_name(tg))
		return mapper_fail(why, MAPPER_INVALID, "%s is not a known property name", name);
	const char *canon = mapper_tag_name(tg);
	/* design.md 5, composing: writing PR_SECURITY_FLAGS seals the message */
	if (t->kind == W_MESSAGE && tg == TAG_SECURITY_FLAGS) {
		*tag = tg;
		return whole ? MAPPER_OK : mapper_fail(why, MAPPER_INCOMPLETE, incomplete);
	}
	if (!canon)
		return mapper_fail(why, MAPPER_READ_ONLY, "%s is read-only", name);
	*tag = tg;
	if (!whole && t->kind != W_MESSAGE)
		return mapper_fail(why, MAPPER_INCOMPLETE, incomplete);
	if (t->kind == W_ATTACHMENT && t->att->tnef)
		return mapper_fail(why, MAPPER_READ_ONLY, "attachment %u is inside the TNEF part (winmail.dat), "
		                   "which mapifs does not rewrite (MS-OXTNEF)", t->row);
	mapper_prop *held = bag_get(t->bag, tg);
	if (held && held->tnef)
		return mapper_fail(why, MAPPER_READ_ONLY, "%s comes from the TNEF part (winmail.dat), "
		                   "which mapifs does not rewrite (MS-OXTNEF)", canon);

	switch (t->kind) {
	case W_MESSAGE:
		if (header_tag_is_editable(tg))
			return MAPPER_OK;
		if (!whole && (in_list(flag_props, canon) || in_list(body_props, canon)))
			return mapper_fail(why, MAPPER_INCOMPLETE, incomplete);
		if (in_list(flag_props, canon))
			return MAPPER_OK;
		if (in_list(body_props, canon)) {
			if (m->smime != SMIME_NONE)
				/* MS-OXOSMIME 2.2.1: the body of a clear-signed message is
				 * promoted from signed content; opaque ones have none */
				return mapper_fail(why, MAPPER_READ_ONLY,
				            "%s comes from signed or encrypted content", canon);
			return MAPPER_OK;
		}
		return mapper_fail(why, MAPPER_READ_ONLY, "%s is derived and read-only", canon);
	case W_RECIPIENT:
		if (in_list(recipient_props, canon))
			return MAPPER_OK;
		return mapper_fail(why, MAPPER_READ_ONLY, "recipient %s is derived and read-only", canon);
	case W_ATTACHMENT:
		if (m->smime != SMIME_NONE) {
			/* design.md 4: only the whole protected entity may be replaced */
			if (strcmp(canon, "PidTagAttachDataBinary") == 0)
				return MAPPER_OK;
			return mapper_fail(why, MAPPER_READ_ONLY,
			            "%s of the S/MIME attachment is read-only (MS-OXOSMIME 2.2)", canon);
		}
		if (t->att->embedded)
			return mapper_fail(why, MAPPER_READ_ONLY, "embedded messages are read-only");
		if (in_list(attachment_props, canon))
			return MAPPER_OK;
		return mapper_fail(why, MAPPER_READ_ONLY, "attachment %s is derived and read-only", canon);
	case W_SET:
	case W_NEW_ATTACHMENT:
		break;
	}
	return mapper_fail(why, MAPPER_READ_ONLY, "%s is read-only", name);
}

/* locate() and check() of @path: *@copy is the copy of the path @t points
 * into (the caller g_free()s it whatever the result). */
static mapper_status resolve_target(mapper_message *m, const char *path, char **copy, target *t,
                                    uint32_t *tag, char **why)
{
	*copy = g_strdup(path ? path : "");
	*tag = 0;
	mapper_status st = locate(m, *copy, t, why);
	if (st == MAPPER_OK)
		st = check(m, t, tag, why);
	return st;
}

mapper_status mapper_message_can_set(mapper_message *m, const char *path, char **why)
{
	char *copy;
	target t;
	uint32_t tag;
	mapper_status st = resolve_target(m, path, &copy, &t, &tag, why);
	g_free(copy);
	return st;
}

/* ---- values (design.md section 3, "accepted on write") ----------------- */

/* One line of text: one trailing "\n" or "\r\n" dropped, none inside. */
static mapper_status single_line(const char *d, size_t len, char **out, char **why)
{
	if (len && d[len - 1] == '\n')
		len--;
	if (len && d[len - 1] == '\r')
		len--;
	if (memchr(d, '\0', len))
		return mapper_fail(why, MAPPER_INVALID, "a NUL byte in a text value");
	if (memchr(d, '\n', len) || memchr(d, '\r', len))
		return mapper_fail(why, MAPPER_INVALID, "a line break inside a single-line value");
	if (!g_utf8_validate(d, (gssize)len, NULL))
		return mapper_fail(why, MAPPER_INVALID, "the text is not UTF-8");
	*out = g_strndup(d, len);
	return MAPPER_OK;
}

static mapper_status parse_integer(const char *d, size_t len, bool wide, int64_t *out, char **why)
{
	char *s = g_strstrip(g_strndup(d, len));
	char *end = NULL;
	bool ok = *s != '\0';
	int64_t v = 0;
	if (ok && (g_str_has_prefix(s, "0x") || g_str_has_prefix(s, "0X"))) {
		guint64 u = g_ascii_strtoull(s + 2, &end, 16);
		ok = s[2] && g_ascii_isxdigit(s[2]) && *end == '\0' &&
		     (wide || u <= 0xFFFFFFFFu);
		/* hex is a bit pattern: 0xFFFFFFFF is -1 as PtypInteger32 */
		v = wide ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u;
	} else if (ok) {
		errno = 0;
		gint64 i = g_ascii_strtoll(s, &end, 10);
		ok = *end == '\0' && errno == 0 && (g_ascii_isdigit(s[0]) || s[0] == '-') &&
		     (wide || (i >= G_MININT32 && i <= G_MAXINT32));
		v = i;
	}
	if (!ok) {
		mapper_status st = mapper_fail(why, MAPPER_INVALID, "\"%s\" is not a%s integer", s,
		                        wide ? " 64-bit" : " 32-bit");
		g_free(s);
		return st;
	}
	g_free(s);
	*out = v;
	return MAPPER_OK;
}

static mapper_status parse_bool(const char *d, size_t len, gboolean *out, char **why)
{
	char *s = g_strstrip(g_strndup(d, len));
	mapper_status st = MAPPER_OK;
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*out = TRUE;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*out = FALSE;
	else
		st = mapper_fail(why, MAPPER_INVALID, "\"%s\" is not true, false, 1 or 0", s);
	g_free(s);
	return st;
}

/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", stored little-endian in the first
 * three fields (MS-OXCDATA 2.5.1), the inverse of value.c's format_guid. */
static mapper_status parse_guid(const char *d, size_t len, guint8 g[16], char **why)
{
	char *s = g_strstrip(g_strndup(d, len));
	unsigned v[16];
	int used = 0;
	bool ok = strlen(s) == 38 &&
		sscanf(s, "{%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x}%n",
		       &v[3], &v[2], &v[1], &v[0], &v[5], &v[4], &v[7], &v[6],
		       &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15], &used) == 16 &&
		used == 38;
	for (int i = 0; ok && i < 38; i++)
		if (i != 0 && i != 9 && i != 14 && i != 19 && i != 24 && i != 37 && !g_ascii_isxdigit(s[i]))
			ok = false;
	g_free(s);
	if (!ok)
		return mapper_fail(why, MAPPER_INVALID, "not a GUID in {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} form");
	for (int i = 0; i < 16; i++)
		g[i] = (guint8)v[i];
	return MAPPER_OK;
}

/* An addr-spec as RFC 5322 3.4.1 writes it, checked the simple way: one
 * "@" with text on both sides and nothing that would end the address. */
static bool plausible_address(const char *a)
{
	const char *at = strchr(a, '@');
	if (!at || at == a || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const char *c = a; *c; c++)
		if (g_ascii_isspace(*c) || strchr("<>,;:\"()[]\\", *c))
			return false;
	return true;
}

/* A media type "type/subtype" (RFC 2045 5.1 tokens). */
static bool valid_media_type(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/'))
		return false;
	for (const char *c = s; *c; c++)
		if (*c != '/' && (*c <= 32 || *c >= 127 || strchr("()<>@,;:\\\"[]?=", *c)))
			return false;
	return true;
}

/* Text of a file @d as the property type @tag wants; sets @p's value. */
static mapper_status parse_value(mapper_prop *p, uint32_t tag, const char *d, size_t len, char **why)
{
	const mapper_propdef *def = p->set ? NULL : propdef_by_tag(tag);
	switch (PROP_TYPE(tag)) {
	case PT_UNICODE:
		if (def && (def->flags & PROPDEF_MULTILINE)) {
			if (memchr(d, '\0', len))
				return mapper_fail(why, MAPPER_INVALID, "a NUL byte in a text value");
			if (!g_utf8_validate(d, (gssize)len, NULL))
				return mapper_fail(why, MAPPER_INVALID, "the text is not UTF-8");
			p->str = g_strndup(d, len);
			return MAPPER_OK;
		}
		return single_line(d, len, &p->str, why);
	case PT_SHORT:
	case PT_LONG:
		return parse_integer(d, len, false, &p->v.i, why);
	case PT_I8:
		return parse_integer(d, len, true, &p->v.i, why);
	case PT_BOOLEAN:
		return parse_bool(d, len, &p->v.b, why);
	case PT_SYSTIME: {
		char *s = g_strndup(d, len);
		mapper_status st = mapper_parse_time(s, &p->v.t);
		if (st != MAPPER_OK)
			mapper_fail(why, st, "\"%s\" is not an ISO 8601 date with offset or an RFC 5322 date",
			     g_strstrip(s));
		g_free(s);
		return st;
	}
	case PT_CLSID: {
		guint8 g[16];
		mapper_status st = parse_guid(d, len, g, why);
		if (st == MAPPER_OK)
			p->bin = g_bytes_new(g, 16);
		return st;
	}
	case PT_BINARY:
		p->bin = g_bytes_new(d, len);
		return MAPPER_OK;
	case PT_MV_UNICODE: {
		char *all = g_strndup(d, len);
		if (strlen(all) != len || !g_utf8_validate(all, -1, NULL)) {
			g_free(all);
			return mapper_fail(why, MAPPER_INVALID, "the text is not UTF-8");
		}
		char **lines = g_strsplit(all, "\n", -1);
		g_free(all);
		GPtrArray *vals = g_ptr_array_new();
		for (char **l = lines; *l; l++) {
			size_t n = strlen(*l);
			if (n && (*l)[n - 1] == '\r')
				(*l)[n - 1] = '\0';
			if (**l)
				g_ptr_array_add(vals, g_strdup(*l));
		}
		g_strfreev(lines);
		g_ptr_array_add(vals, NULL);
		p->mv = (char **)g_ptr_array_free(vals, FALSE);
		return MAPPER_OK;
	}
	default:
		return mapper_fail(why, MAPPER_READ_ONLY, "values of this type cannot be written");
	}
}

/* ---- rules tying values together ---------------------------------------- */

/* Checks beyond the type: ranges and formats the writer relies on. */
static mapper_status check_value(mapper_message *m, const target *t, const char *canon,
                                 const mapper_prop *p, char **why)
{
	if (!canon)
		return MAPPER_OK;
	if (strcmp(canon, "PidTagImportance") == 0 && (p->v.i < 0 || p->v.i > 2))
		return mapper_fail(why, MAPPER_INVALID, "PidTagImportance is 0 (low), 1 (normal) or 2 (high)");
	if (strcmp(canon, "PidTagSensitivity") == 0 && (p->v.i < 0 || p->v.i > 3))
		return mapper_fail(why, MAPPER_INVALID, "PidTagSensitivity is 0 to 3");
	if (strcmp(canon, "PidTagPriority") == 0 && (p->v.i < -1 || p->v.i > 1))
		return mapper_fail(why, MAPPER_INVALID, "PidTagPriority is -1, 0 or 1");
	if (strcmp(canon, "PidTagRecipientType") == 0 && (p->v.i < 1 || p->v.i > 3))
		/* MS-OXCMAIL 2.1.3.1.1: only To, Cc and Bcc reach the header */
		return mapper_fail(why, MAPPER_INVALID, "PidTagRecipientType is 1 (To), 2 (Cc) or 3 (Bcc)");
	if (strcmp(canon, "PidTagAddressType") == 0 && g_ascii_strcasecmp(p->str, "SMTP") != 0)
		return mapper_fail(why, MAPPER_INVALID, "only SMTP addresses can be written to a message");
	if (g_str_has_suffix(canon, "EmailAddress") || g_str_has_suffix(canon, "SmtpAddress"))
		if (!plausible_address(p->str))
			return mapper_fail(why, MAPPER_INVALID, "\"%s\" is not an e-mail address", p->str);
	if (strcmp(canon, "PidTagAttachMimeTag") == 0 && !valid_media_type(p->str))
		return mapper_fail(why, MAPPER_INVALID, "\"%s\" is not a media type", p->str);
	if (strcmp(canon, "PidTagInternetMessageId") == 0 || strcmp(canon, "PidTagInReplyToId") == 0) {
		size_t n = strlen(p->str);
		if (n < 3 || p->str[0] != '<' || p->str[n - 1] != '>' || !strchr(p->str, '@'))
			return mapper_fail(why, MAPPER_INVALID, "a message id looks like <left@right>");
	}
	if (t->kind == W_ATTACHMENT && m->smime != SMIME_NONE)
		return smime_entity_check(m, p->bin, why);
	return MAPPER_OK;
}

/* Whether @d can never become an integer as parse_integer() reads it,
 * whatever is written after it: it is no beginning of "-123" or "0x1F". */
static bool never_integer(const char *d, size_t len)
{
	char *s = g_strstrip(g_strndup(d, len));
	const char *c = s;
	if (c[0] == '0' && (c[1] == 'x' || c[1] == 'X')) {
		for (c += 2; g_ascii_isxdigit(*c); c++)
			;
	} else {
		if (*c == '-')
			c++;
		while (g_ascii_isdigit(*c))
			c++;
	}
	bool never = *c != '\0';
	g_free(s);
	return never;
}

/* Whether @d, trimmed and lowered, is no beginning of true, false, 1 or 0. */
static bool never_boolean(const char *d, size_t len)
{
	char *s = g_strstrip(g_strndup(d, len));
	bool never = *s && !g_str_has_prefix("true", s) && !g_str_has_prefix("false", s) &&
	             strcmp(s, "1") != 0 && strcmp(s, "0") != 0;
	g_free(s);
	return never;
}

mapper_status mapper_message_check_partial(mapper_message *m, const char *path, const void *data,
                                           size_t len, char **why)
{
	char *copy;
	target t;
	uint32_t tag;
	mapper_status st = resolve_target(m, path, &copy, &t, &tag, why);
	if (st != MAPPER_OK || tag == TAG_SECURITY_FLAGS || !len) {
		g_free(copy);
		return st;
	}
	const char *d = data;
	uint32_t type = PROP_TYPE(tag);
	const char *canon = t.kind == W_SET ? NULL : mapper_tag_name(tag);
	const mapper_propdef *def = canon ? propdef_by_tag(tag) : NULL;
	bool line = type == PT_SHORT || type == PT_LONG || type == PT_I8 || type == PT_BOOLEAN ||
	            type == PT_SYSTIME || type == PT_CLSID ||
	            (type == PT_UNICODE && !(def && (def->flags & PROPDEF_MULTILINE)));
	/* design.md 3: a single-line value is complete at its line break, and
	 * some bytes rule a number out at once; anything else waits for close */
	bool judge = line && (memchr(d, '\n', len) ||
	                      ((type == PT_SHORT || type == PT_LONG || type == PT_I8) && never_integer(d, len)) ||
	                      (type == PT_BOOLEAN && never_boolean(d, len)));
	if (judge) {
		mapper_prop p = { .tag = tag };
		st = parse_value(&p, tag, d, len, why);
		if (st == MAPPER_OK)
			st = check_value(m, &t, canon, &p, why);
		g_free(p.str);
		if (p.bin)
			g_bytes_unref(p.bin);
		g_strfreev(p.mv);
	}
	g_free(copy);
	return st;
}

/* The address group a property belongs to: writing one address updates
 * its twin (EmailAddress <-> SmtpAddress) so the writer never sees two
 * different addresses for one mailbox. */
static void couple_addresses(mapper_bag *bag, const char *canon, const mapper_prop *p)
{
	static const char *const pairs[][2] = {
		{ "PidTagSentRepresentingEmailAddress", "PidTagSentRepresentingSmtpAddress" },
		{ "PidTagSenderEmailAddress", "PidTagSenderSmtpAddress" },
		{ "PidTagReadReceiptEmailAddress", "PidTagReadReceiptSmtpAddress" },
		{ "PidTagEmailAddress", "PidTagSmtpAddress" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
		for (int j = 0; j < 2; j++) {
			if (strcmp(canon, pairs[i][j]) != 0)
				continue;
			uint32_t twin = mapper_tag_from_name(pairs[i][!j]);
			if (p)
				bag_set_string(bag, twin, p->str);
			else
				bag_remove(bag, twin);
			const char *type = g_str_has_prefix(canon, "PidTagSentRepresenting")
				? "PidTagSentRepresentingAddressType"
				: g_str_has_prefix(canon, "PidTagSender") ? "PidTagSenderAddressType"
				: g_str_has_prefix(canon, "PidTagReadReceipt") ? "PidTagReadReceiptAddressType"
				: "PidTagAddressType";
			if (p)
				bag_set_string(bag, mapper_tag_from_name(type), "SMTP");
		}
	}
}

/* Keep the subject trio consistent (oxcmail-mapping.md 1.4): a new
 * PidTagSubject drops the old split, so the writer takes the new subject. */
static void couple_subject(mapper_bag *bag, const char *canon)
{
	if (strcmp(canon, "PidTagSubject") == 0) {
		bag_remove(bag, mapper_tag_from_name("PidTagSubjectPrefix"));
		bag_remove(bag, mapper_tag_from_name("PidTagNormalizedSubject"));
	} else if (strcmp(canon, "PidTagSubjectPrefix") == 0 ||
	           strcmp(canon, "PidTagNormalizedSubject") == 0) {
		bag_remove(bag, mapper_tag_from_name("PidTagSubject"));
	}
}

/* Maildir flags are read back from several properties (oxcmail-mapping.md
 * 7.2: D from mfUnsent or DRAFT, R from ANSWERED or the last verb), so a
 * change to one of them is carried to its twins; otherwise clearing
 * mfUnsent would leave D set through msDraft. */
static void couple_flags(mapper_bag *bag, const char *canon)
{
	uint32_t flags_tag = mapper_tag_from_name("PidTagMessageFlags");
	uint32_t status_tag = mapper_tag_from_name("PidTagMessageStatus");
	uint32_t verb_tag = mapper_tag_from_name("PidTagLastVerbExecuted");
	mapper_prop *flags = bag_get(bag, flags_tag);
	mapper_prop *status = bag_get(bag, status_tag);
	mapper_prop *verb = bag_get(bag, verb_tag);
	int64_t st = status ? status->v.i : 0;

	if (strcmp(canon, "PidTagMessageFlags") == 0) {
		int64_t f = flags ? flags->v.i : 0;
		st = (f & MF_UNSENT) ? (st | MSGSTATUS_DRAFT) : (st & ~(int64_t)MSGSTATUS_DRAFT);
		if (status || (st & MSGSTATUS_DRAFT))
			bag_set_int(bag, status_tag, st);
		bag_set_bool(bag, mapper_tag_from_name("PidTagRead"), (f & MF_READ) != 0);
	} else if (strcmp(canon, "PidTagMessageStatus") == 0) {
		int64_t f = flags ? flags->v.i : 0;
		f = (st & MSGSTATUS_DRAFT) ? (f | MF_UNSENT) : (f & ~(int64_t)MF_UNSENT);
		bag_set_int(bag, flags_tag, f);
		if (!(st & MSGSTATUS_ANSWERED) && verb && (verb->v.i == 102 || verb->v.i == 103))
			bag_remove(bag, verb_tag);
	} else if (strcmp(canon, "PidTagLastVerbExecuted") == 0) {
		bool replied = verb && (verb->v.i == 102 || verb->v.i == 103);
		st = replied ? (st | MSGSTATUS_ANSWERED) : (st & ~(int64_t)MSGSTATUS_ANSWERED);
		if (status || replied)
			bag_set_int(bag, status_tag, st);
	}
}

/* ---- set ----------------------------------------------------------------- */

static mapper_prop *find_named(mapper_bag *bag, const mapper_propset *set, const char *name)
{
	if (set == &mapper_psetid_common)
		return bag_get_lid(bag, set, 0x8530);
	return bag_get_named(bag, set, name);
}

/* The "info" summary, the attachments' file names and the Received path
 * are made from the object as it was: an edit drops them. */
static void drop_info(mapper_message *m)
{
	if (m->info)
		g_bytes_unref(m->info);
	m->info = NULL;
	attachment_aliases_drop(m);
	message_received_drop(m);
}

/* The media type for a new attachment named @name holding @data: what
 * shared-mime-info (through GIO) makes of the name and the first bytes. */
static char *guess_media_type(const char *name, const char *data, size_t len)
{
	gboolean uncertain = FALSE;
	char *type = g_content_type_guess(name, (const guchar *)data, MIN(len, 4096), &uncertain);
	char *mime = type ? g_content_type_get_mime_type(type) : NULL;
	g_free(type);
	if (!mime || !valid_media_type(mime) || strcmp(mime, "application/x-zerosize") == 0) {
		g_free(mime);
		mime = g_strdup("application/octet-stream");
	}
	return mime;
}

/* Add attachment @name with data @p (taken) to @m: a by-value file
 * attachment, as "mkdir attachments/N" and three writes would make it. */
static void add_named_attachment(mapper_message *m, const char *name, mapper_prop *p)
{
	mapper_attachment *a = attachment_new();
	bag_set_int(&a->props, TAG_ATTACH_NUMBER, m->attachments->len);
	bag_set_int(&a->props, TAG_ATTACH_METHOD, 1);   /* afByValue */
	bag_set_string(&a->props, TAG_ATTACH_LONG_FILENAME, name);
	bag_set_string(&a->props, TAG_DISPLAY_NAME, name);
	gsize n = 0;
	const char *d = p->bin ? g_bytes_get_data(p->bin, &n) : NULL;
	char *mime = guess_media_type(name, d, n);
	bag_set_string(&a->props, TAG_ATTACH_MIME_TAG, mime);
	g_free(mime);
	bag_add(&a->props, p);
	g_ptr_array_add(m->attachments, a);
}

mapper_status mapper_message_set(mapper_message *m, const char *path,
                                 const void *data, size_t len, char **why)
{
	drop_info(m);
	char *copy;
	target t;
	uint32_t tag;
	mapper_status st = resolve_target(m, path, &copy, &t, &tag, why);
	if (st != MAPPER_OK) {
		g_free(copy);
		return st;
	}
	const char *canon = t.kind == W_SET ? NULL : mapper_tag_name(tag);
	const char *d = data ? data : "";

	if (t.kind == W_MESSAGE && tag == TAG_SECURITY_FLAGS) {
		/* not stored as a property: it asks for the message to be sealed
		 * when it is written out (mapper_message_export) */
		mapper_prop tmp = { .tag = tag };
		st = len ? parse_value(&tmp, tag, d, len, why) : MAPPER_OK;
		if (st == MAPPER_OK)
			st = smime_seal_request(m, len ? tmp.v.i : 0, why);
		g_free(copy);
		return st;
	}

	/* design.md 4: truncating a file to empty removes the property */
	if (len == 0 && t.kind != W_NEW_ATTACHMENT) {
		if (t.kind == W_ATTACHMENT && m->smime != SMIME_NONE) {
			g_free(copy);
			return mapper_fail(why, MAPPER_INVALID, "the S/MIME attachment cannot be empty");
		}
		if (t.kind == W_SET) {
			mapper_prop *old = find_named(t.bag, t.set, t.name);
			if (old)
				bag_remove_prop(t.bag, old);
		} else {
			bag_remove(t.bag, tag);
			couple_addresses(t.bag, canon, NULL);
			if (t.kind == W_MESSAGE)
				couple_flags(t.bag, canon);
		}
		g_free(copy);
		return MAPPER_OK;
	}

	mapper_prop *p = g_new0(mapper_prop, 1);
	p->tag = tag;
	if (t.kind == W_SET) {
		p->set = t.set;
		if (t.set == &mapper_psetid_common)
			p->lid = 0x8530;
		else
			p->name = g_strdup(t.name);
	}
	st = parse_value(p, tag, d, len, why);
	if (st == MAPPER_OK)
		st = check_value(m, &t, canon, p, why);
	if (st != MAPPER_OK) {
		g_free(p->name);
		g_free(p->str);
		if (p->bin)
			g_bytes_unref(p->bin);
		g_strfreev(p->mv);
		g_free(p);
		g_free(copy);
		return st;
	}

	if (t.kind == W_NEW_ATTACHMENT) {
		add_named_attachment(m, t.name, p);
		g_free(copy);
		return MAPPER_OK;
	}
	/* replace the old value in place, keeping the bag's order */
	mapper_prop *old = t.kind == W_SET ? find_named(t.bag, t.set, t.name) : bag_get(t.bag, tag);
	if (old) {
		if (t.kind == W_SET) {
			g_free(p->name);
			p->name = old->name ? g_strdup(old->name) : NULL; /* keep the header's spelling */
			p->tag = PROP_TAG(PROP_ID(old->tag), PROP_TYPE(tag));
		}
		bag_replace(t.bag, old, p);
	} else {
		bag_add(t.bag, p);
		if (t.kind == W_SET)
			bag_number_named(t.bag);
	}
	if (canon) {
		couple_addresses(t.bag, canon, p);
		couple_subject(t.bag, canon);
		if (t.kind == W_MESSAGE)
			couple_flags(t.bag, canon);
	}
	g_free(copy);
	return MAPPER_OK;
}

/* ---- rows ------------------------------------------------------------------ */

static mapper_status row_path(mapper_message *m, const char *path, bool adding,
                              GPtrArray **rows, bool *rcpt, guint *row, char **why)
{
	if (m->level != MAPPER_LOAD_FULL)
		return mapper_fail(why, MAPPER_INCOMPLETE, "the message was not loaded completely");
	char **parts = g_strsplit(path ? path : "", "/", -1);
	mapper_status st = MAPPER_OK;
	if (g_strv_length(parts) != 2 ||
	    (strcmp(parts[0], "recipients") != 0 && strcmp(parts[0], "attachments") != 0)) {
		st = mapper_fail(why, MAPPER_READ_ONLY, "only recipients/N and attachments/N are rows");
	} else {
		*rcpt = parts[0][0] == 'r';
		*rows = *rcpt ? m->recipients : m->attachments;
		if (!*rcpt && m->smime != SMIME_NONE)
			/* MS-OXOSMIME 2.2.1/2.2.2: exactly one attachment, which
			 * 3.1.5.1.4 / 3.1.5.2.4 step 1 check before rebuilding */
			st = mapper_fail(why, MAPPER_READ_ONLY, "an S/MIME message has exactly one attachment");
		else if (!row_number(parts[1], ROW_DIGITS, row))
			st = mapper_fail(why, MAPPER_INVALID, "%s is not a row number", parts[1]);
		else if (adding && *row < (*rows)->len)
			st = mapper_fail(why, MAPPER_EXISTS, "%s already exists", path);
		else if (adding && *row != (*rows)->len)
			st = mapper_fail(why, MAPPER_INVALID, "the next %s row is %u", parts[0], (*rows)->len);
		else if (!adding && *row >= (*rows)->len)
			st = mapper_fail(why, MAPPER_NOT_FOUND, "no row %s", path);
	}
	g_strfreev(parts);
	return st;
}

mapper_status mapper_message_mkdir(mapper_message *m, const char *path, char **why)
{
	drop_info(m);
	GPtrArray *rows;
	bool rcpt;
	guint row;
	mapper_status st = row_path(m, path, true, &rows, &rcpt, &row, why);
	if (st != MAPPER_OK)
		return st;
	if (rcpt) {
		/* design.md 4: To unless PidTagRecipientType says otherwise.  Rows
		 * are numbered in header order (To, Cc and Bcc as the message has
		 * them), so a new row takes the type of the last one: a To row
		 * after Cc rows would come back from the file before them, and
		 * "recipients/N" would name another recipient after the write. */
		int64_t type = 1;
		if (rows->len) {
			mapper_prop *last = bag_get(rows->pdata[rows->len - 1], TAG_RECIPIENT_TYPE);
			if (last && last->v.i >= 1 && last->v.i <= 3)
				type = last->v.i;
		}
		mapper_bag *bag = g_new0(mapper_bag, 1);
		bag_init(bag);
		bag_set_int(bag, TAG_ROWID, row);
		bag_set_int(bag, TAG_RECIPIENT_TYPE, type);
		g_ptr_array_add(rows, bag);
	} else {
		mapper_attachment *a = attachment_new();
		bag_set_int(&a->props, TAG_ATTACH_NUMBER, row);
		bag_set_int(&a->props, TAG_ATTACH_METHOD, 1);   /* afByValue */
		bag_set_string(&a->props, TAG_ATTACH_MIME_TAG, "application/octet-stream");
		bag_set_binary(&a->props, TAG_ATTACH_DATA_BINARY, "", 0);
		g_ptr_array_add(rows, a);
	}
	return MAPPER_OK;
}

mapper_status mapper_message_rmdir(mapper_message *m, const char *path, char **why)
{
	drop_info(m);
	GPtrArray *rows;
	bool rcpt;
	guint row;
	mapper_status st = row_path(m, path, false, &rows, &rcpt, &row, why);
	if (st != MAPPER_OK)
		return st;
	if (!rcpt && ((mapper_attachment *)rows->pdata[row])->tnef)
		return mapper_fail(why, MAPPER_READ_ONLY, "attachment %u is inside the TNEF part (winmail.dat), "
		                   "which mapifs does not rewrite (MS-OXTNEF)", row);
	g_ptr_array_remove_index(rows, row);
	return MAPPER_OK;
}

/* ---- the S/MIME attachment -------------------------------------------- */

/* The CMS content type of DER bytes, or NID_undef when they are not a CMS
 * ContentInfo (RFC 5652 3) that OpenSSL reads completely. */
static int cms_type(GBytes *der)
{
	gsize n = 0;
	const unsigned char *d = der ? g_bytes_get_data(der, &n) : NULL;
	if (!d || !n || n > G_MAXLONG)
		return NID_undef;
	const unsigned char *p = d;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)n);
	int nid = NID_undef;
	if (cms && p == d + n)
		nid = OBJ_obj2nid(CMS_get0_type(cms));
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return nid;
}

/* A multipart/signed entity (RFC 1847 2.1) with its two body parts. */
static bool is_signed_entity(GBytes *data)
{
	gsize n = 0;
	const char *d = g_bytes_get_data(data, &n);
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(d ? d : "", n);
	GMimeParser *parser = g_mime_parser_new_with_stream(mem);
	GMimeObject *o = g_mime_parser_construct_part(parser, NULL);
	bool ok = o && GMIME_IS_MULTIPART_SIGNED(o) &&
	          g_mime_multipart_get_count(GMIME_MULTIPART(o)) == 2 &&
	          g_mime_object_get_content_type_parameter(o, "protocol");
	if (o)
		g_object_unref(o);
	g_object_unref(parser);
	g_object_unref(mem);
	return ok;
}

/* The "additional verification" MS-OXOSMIME 3.1.5.1.3 and 3.1.5.2.3 allow
 * on a message object's attachment (a valid RFC 1847 multipart/signed; a
 * CMS message of RFC 3852), done before a write rather than on reading. */
mapper_status smime_entity_check(mapper_message *m, GBytes *data, char **why)
{
	if (m->smime == SMIME_CLEAR_SIGNED) {
		if (!is_signed_entity(data))
			return mapper_fail(why, MAPPER_INVALID,
			            "not a multipart/signed entity with two parts (RFC 1847)");
		return MAPPER_OK;
	}
	mapper_attachment *a = m->attachments->len ? m->attachments->pdata[0] : NULL;
	mapper_prop *old = a ? bag_get(&a->props, TAG_ATTACH_DATA_BINARY) : NULL;
	int want = old ? cms_type(old->bin) : NID_undef;
	int got = cms_type(data);
	if (got == NID_undef)
		return mapper_fail(why, MAPPER_INVALID, "not a DER-encoded CMS message (RFC 5652)");
	if (want != NID_undef && got != want)
		return mapper_fail(why, MAPPER_INVALID, "CMS %s cannot replace CMS %s",
		            OBJ_nid2sn(got), OBJ_nid2sn(want));
	return MAPPER_OK;
}
