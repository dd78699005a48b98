/*
 * export.c - message object -> Internet format (the writer).
 *
 * MS-OXCMAIL 2.1.3 (oxcmail-mapping.md 1.2, 2.3, 3.3, 4.3 and 5) for every
 * message, MS-OXOSMIME 3.1.5.1.4 / 3.1.5.2.4 for S/MIME ones.
 *
 * A message object loaded from Internet bytes is written back by difference,
 * the idea of MS-OXCMAIL 2.4.3's MIME skeleton: the original bytes are read
 * again into a "base" object, and only what differs between base and the
 * edited object is regenerated.  The top header block is handled as text,
 * one field at a time: a changed property replaces every field of its
 * header group by one regenerated field at the place of the first; all other
 * fields keep their bytes.  The MIME tree is handled by GMime: changed body
 * parts and attachments are replaced in the parsed tree, which is then
 * written out; when neither changed, the body bytes are the original ones.
 * S/MIME messages never go through GMime's writer: the protected bytes are
 * copied as they are (MS-OXOSMIME 2.2.1 item 4a).
 *
 * Which header fields are made from properties, and in which order, is
 * headers.c's table.  Header fields this file generates end their lines as
 * the original header block does (LF for a new message); GMime folds and
 * RFC 2047-encodes them.
 */
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mapper-private.h"

#include "headers.h"

/* MS-OXCDATA 2.2.5.1: ProviderUID of one-off EntryIDs (MUIDOOP) */
static const guint8 muid_oop[16] = {
	0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19,
	0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02,
};

static bool ieq(const char *a, const char *b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

/* ---- property values ------------------------------------------------------ */

static const char *bag_str(const mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = bag_get(bag, tag);
	return p && p->str && *p->str ? p->str : NULL;
}

static bool bag_int(const mapper_bag *bag, uint32_t tag, int64_t *out)
{
	mapper_prop *p = bag_get(bag, tag);
	if (p)
		*out = PROP_TYPE(tag) == PT_BOOLEAN ? p->v.b : p->v.i;
	return p != NULL;
}

static bool bytes_same(GBytes *a, GBytes *b)
{
	if (!a || !b)
		return !a == !b || g_bytes_get_size(a ? a : b) == 0;
	return g_bytes_equal(a, b);
}

/* Same type and value; NULL only equals NULL. */
static bool prop_same(const mapper_prop *a, const mapper_prop *b)
{
	if (!a || !b)
		return a == b;
	if (PROP_TYPE(a->tag) != PROP_TYPE(b->tag))
		return false;
	switch (PROP_TYPE(a->tag)) {
	case PT_UNICODE:
		return g_strcmp0(a->str, b->str) == 0;
	case PT_BINARY:
	case PT_CLSID:
		return bytes_same(a->bin, b->bin);
	case PT_MV_UNICODE: {
		char **x = a->mv, **y = b->mv;
		for (; x && y && *x && *y; x++, y++)
			if (strcmp(*x, *y) != 0)
				return false;
		return !(x && *x) && !(y && *y);
	}
	case PT_BOOLEAN:
		return !a->v.b == !b->v.b;
	default:
		return a->v.i == b->v.i;
	}
}

/* The property of @bag with the key (tag, or set and name/lid) of @p. */
static mapper_prop *same_key(const mapper_bag *bag, const mapper_prop *p)
{
	if (!p->set)
		return bag_get(bag, p->tag);
	return p->name ? bag_get_named(bag, p->set, p->name) : bag_get_lid(bag, p->set, p->lid);
}

/* Whether two bags hold the same properties, the tags in @ignore aside. */
static bool bag_same(const mapper_bag *a, const mapper_bag *b, const uint32_t *ignore, size_t n_ignore)
{
	const mapper_bag *bags[2] = { a, b };
	for (int k = 0; k < 2; k++) {
		const mapper_bag *x = bags[k], *y = bags[!k];
		for (guint i = 0; i < x->props->len; i++) {
			mapper_prop *p = x->props->pdata[i];
			if (!p)
				continue; /* a hole (mapper-private.h) */
			bool skip = false;
			for (size_t j = 0; j < n_ignore && !p->set; j++)
				skip |= p->tag == ignore[j];
			if (!skip && !prop_same(p, same_key(y, p)))
				return false;
		}
	}
	return true;
}

/* Attachment properties that follow from others or from the row's place. */
static const uint32_t attachment_derived[] = { TAG_ATTACH_NUMBER, TAG_ATTACH_SIZE };

static bool message_same(const mapper_message *a, const mapper_message *b, int depth);

static bool attachment_same(const mapper_attachment *a, const mapper_attachment *b, int depth)
{
	if (!bag_same(&a->props, &b->props, attachment_derived, G_N_ELEMENTS(attachment_derived)))
		return false;
	if (!a->embedded || !b->embedded)
		return !a->embedded && !b->embedded;
	return message_same(a->embedded, b->embedded, depth + 1);
}

static bool message_same(const mapper_message *a, const mapper_message *b, int depth)
{
	if (depth > MAPPER_MAX_DEPTH)
		return true;
	if (a->smime != b->smime || !bag_same(&a->props, &b->props, NULL, 0) ||
	    a->recipients->len != b->recipients->len || a->attachments->len != b->attachments->len)
		return false;
	for (guint i = 0; i < a->recipients->len; i++)
		if (!bag_same(a->recipients->pdata[i], b->recipients->pdata[i], NULL, 0))
			return false;
	for (guint i = 0; i < a->attachments->len; i++)
		if (!attachment_same(a->attachments->pdata[i], b->attachments->pdata[i], depth))
			return false;
	return true;
}

/* ---- the top header block as a list of fields --------------------------- */

typedef struct {
	char *name;     /* NULL: a line that is no field (kept as it is) */
	GString *text;  /* the field's bytes, folding and line breaks included */
} field;

static void field_free(gpointer p)
{
	field *f = p;
	g_free(f->name);
	g_string_free(f->text, TRUE);
	g_free(f);
}

static field *field_new(const char *name, const char *text, size_t len)
{
	field *f = g_new0(field, 1);
	f->name = name ? g_strdup(name) : NULL;
	f->text = g_string_new_len(text, (gssize)len);
	return f;
}

/* The length of the field name at @p if the line starts a field: printable
 * characters but ':' (RFC 5322 2.2), optional blanks, then ':'. */
static size_t field_name_len(const char *p, const char *end)
{
	const char *c = p;
	while (c < end && *c > ' ' && *c < 0x7f && *c != ':')
		c++;
	size_t n = (size_t)(c - p);
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	return n && c < end && *c == ':' ? n : 0;
}

/* Split a header block into fields; continuation lines (RFC 5322 2.2.3)
 * stay with their field, other lines become nameless entries. */
static GPtrArray *fields_split(const char *data, size_t len)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(field_free);
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		field *last = out->len ? out->pdata[out->len - 1] : NULL;
		size_t n = field_name_len(p, end);
		if ((*p == ' ' || *p == '\t') && last) {
			g_string_append_len(last->text, p, next - p);
		} else if (n) {
			char *name = g_strndup(p, n);
			g_ptr_array_add(out, field_new(name, p, (size_t)(next - p)));
			g_free(name);
		} else {
			g_ptr_array_add(out, field_new(NULL, p, (size_t)(next - p)));
		}
		p = next;
	}
	return out;
}

/* Where the header block of @data ends: the offset of the empty line that
 * ends it, 0 if @data starts with one, -1 if there is none. */
static gssize block_end(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	while (p < end) {
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			return p - data;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -1;
		p = nl + 1;
	}
	return -1;
}

static bool in_names(const char *name, const char *const *names)
{
	for (; *names; names++)
		if (ieq(name, *names))
			return true;
	return false;
}

/* Remove every field named in @names; the index of the first removed, or -1. */
static int fields_remove(GPtrArray *fields, const char *const *names)
{
	int first = -1;
	for (guint i = 0; i < fields->len;) {
		field *f = fields->pdata[i];
		if (f->name && in_names(f->name, names)) {
			if (first < 0)
				first = (int)i;
			g_ptr_array_remove_index(fields, i);
		} else {
			i++;
		}
	}
	return first;
}

static bool fields_have(GPtrArray *fields, const char *name)
{
	for (guint i = 0; i < fields->len; i++) {
		field *f = fields->pdata[i];
		if (f->name && ieq(f->name, name))
			return true;
	}
	return false;
}

/* Header fields of the MIME entity itself: the ones GMime keeps on the top
 * part.  Content-Language and Content-Class describe the message. */
static bool entity_field(const char *name)
{
	return g_ascii_strncasecmp(name, "Content-", 8) == 0 &&
	       !ieq(name, "Content-Language") && !ieq(name, "Content-Class");
}

/* ---- the writer's state ---------------------------------------------------- */

typedef struct {
	mapper_message *m;
	mapper_message *base;      /* the object the original bytes give; NULL if new */
	import_layout layout;      /* where base's body and attachments are */
	GMimeFormatOptions *fo;
	const char *nl;            /* line break of generated fields */
	GPtrArray *fields;         /* the top header block being edited */
	const char *orig_body;     /* the original bytes after the header block */
	size_t orig_body_len;
	GMimeObject *top;          /* the MIME entity written after the headers */
	bool restructured;         /* top changed: it is written out by GMime */
	int depth;
	char *why;
} ex;

static mapper_status fail(ex *x, mapper_status st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static mapper_status fail(ex *x, mapper_status st, const char *fmt, ...)
{
	if (!x->why) {
		va_list ap;
		va_start(ap, fmt);
		x->why = g_strdup_vprintf(fmt, ap);
		va_end(ap);
	}
	return st;
}

/* Whether the property @tag differs between base and the object; always
 * true for a new message, whose groups are all generated. */
static bool differs(ex *x, uint32_t tag)
{
	if (!x->base)
		return true;
	return !prop_same(bag_get(&x->base->props, tag), bag_get(&x->m->props, tag));
}

static bool differs_named(ex *x, const mapper_propset *set, const char *name)
{
	if (!x->base)
		return true;
	return !prop_same(bag_get_named(&x->base->props, set, name),
	                  bag_get_named(&x->m->props, set, name));
}

static bool differs_group(ex *x, const address_tags *t)
{
	const uint32_t *tags = &t->name;
	for (int i = 0; i < 6; i++)
		if (differs(x, tags[i]))
			return true;
	return false;
}

/* Replace the fields named @names (NULL-terminated) by @text (taken; NULL
 * just removes them): at the place of the first one, else at the end. */
static void put(ex *x, const char *const *names, char *text)
{
	int at = fields_remove(x->fields, names);
	if (!text)
		return;
	field *last = x->fields->len ? x->fields->pdata[x->fields->len - 1] : NULL;
	char *name = g_strndup(text, field_name_len(text, text + strlen(text)));
	field *f = field_new(name, text, strlen(text));
	g_free(name);
	g_free(text);
	if (at >= 0) {
		g_ptr_array_insert(x->fields, at, f);
		return;
	}
	/* a last field without line break (no body) must not run into the new one */
	if (last && last->text->len && last->text->str[last->text->len - 1] != '\n')
		g_string_append(last->text, x->nl);
	g_ptr_array_add(x->fields, f);
}

/* "Name: value" and a line break, RFC 2047-encoded and folded by GMime
 * (MS-OXCMAIL 2.1.3.2: non-ASCII header text MUST be encoded). */
static char *fmt_text(ex *x, const char *name, const char *utf8)
{
	GMimeHeaderList *hl = g_mime_header_list_new(NULL);
	g_mime_header_list_append(hl, name, utf8, "utf-8");
	char *s = g_mime_header_list_to_string(hl, x->fo);
	g_object_unref(hl);
	return s;
}

static char *fmt_addresses(ex *x, const char *name, InternetAddressList *list)
{
	GString *s = g_string_new(name);
	g_string_append(s, ": ");
	internet_address_list_encode(list, x->fo, s);
	return g_string_free(s, FALSE);
}

/* RFC 5322 3.3 date-time with seconds, in UTC (MS-OXCMAIL 2.1.3.2.7). */
static char *fmt_date(ex *x, const char *name, int64_t unix_seconds)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(unix_seconds);
	if (!dt)
		return NULL;
	char *d = g_mime_utils_header_format_date(dt);
	g_date_time_unref(dt);
	char *s = fmt_text(x, name, d);
	g_free(d);
	return s;
}

static InternetAddress *mailbox_new(const char *name, const char *addr)
{
	/* the reader names a mailbox by its address when it has no name */
	bool named = name && *name && strcmp(name, addr) != 0;
	InternetAddress *ia = internet_address_mailbox_new(named ? name : NULL, addr);
	internet_address_set_charset(ia, "utf-8");
	return ia;
}

/* The address of a mailbox: EmailAddress in AddressType's syntax when that
 * is SMTP (or unset), else PidTagSmtpAddress (oxcmail-mapping.md 2.3). */
static const char *smtp_of(const mapper_bag *bag, uint32_t type, uint32_t email, uint32_t smtp)
{
	const char *t = bag_str(bag, type), *e = bag_str(bag, email);
	if (e && (!t || ieq(t, "SMTP")) && strchr(e, '@'))
		return e;
	return bag_str(bag, smtp);
}

static const char *group_addr(ex *x, const address_tags *t)
{
	return smtp_of(&x->m->props, t->type, t->email, t->smtp);
}

static char *fmt_group(ex *x, const char *name, const address_tags *t)
{
	const char *addr = group_addr(x, t);
	if (!addr)
		return NULL;
	InternetAddressList *list = internet_address_list_new();
	InternetAddress *ia = mailbox_new(bag_str(&x->m->props, t->name), addr);
	internet_address_list_add(list, ia);
	g_object_unref(ia);
	char *s = fmt_addresses(x, name, list);
	g_object_unref(list);
	return s;
}

/* ---- header groups (oxcmail-mapping.md 1.2; in the G order of section 5) -- */

static void hdr_sender(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs_group(x, &sender))
		return;
	/* written only when it is not the From mailbox (G compares SMTP addresses) */
	const char *s = group_addr(x, &sender), *f = group_addr(x, &sent_representing);
	put(x, names, s && f && !ieq(s, f) ? fmt_group(x, names[0], &sender) : NULL);
}

static void hdr_from(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs_group(x, &sent_representing))
		return;
	/* PidTagSentRepresenting*, else PidTagSender* (G, K) */
	char *s = fmt_group(x, names[0], &sent_representing);
	if (!s)
		s = fmt_group(x, names[0], &sender);
	put(x, names, s);
}

static bool flag_set(const mapper_bag *bag, uint32_t tag)
{
	int64_t v = 0;
	return bag_int(bag, tag, &v) && v;
}

/* MS-OXCMAIL 2.1.3.1.5: the address from PidTagReadReceipt*, else
 * PidTagSender*, else PidTagSentRepresenting*. */
static void hdr_return_receipt(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_ORIGINATOR_DELIVERY_REPORT_REQUESTED))
		return;
	char *s = NULL;
	if (flag_set(&x->m->props, TAG_ORIGINATOR_DELIVERY_REPORT_REQUESTED)) {
		const address_tags *t = group_addr(x, &read_receipt) ? &read_receipt
		                        : group_addr(x, &sender) ? &sender : &sent_representing;
		s = fmt_group(x, names[0], t);
	}
	put(x, names, s);
}

/* MS-OXCMAIL 2.1.3.1.6: only when PidTagReadReceiptRequested is TRUE; the
 * address from PidTagReadReceipt*, else PidTagSentRepresenting*. */
static void hdr_notification(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_READ_RECEIPT_REQUESTED) && !differs_group(x, &read_receipt))
		return;
	char *s = NULL;
	if (flag_set(&x->m->props, TAG_READ_RECEIPT_REQUESTED))
		s = fmt_group(x, names[0],
		              group_addr(x, &read_receipt) ? &read_receipt : &sent_representing);
	put(x, names, s);
}

/* The recipients of type @type (1 To, 2 Cc, 3 Bcc) as name/address pairs. */
static GPtrArray *recipient_list(const mapper_message *m, int64_t type)
{
	GPtrArray *out = g_ptr_array_new();
	for (guint i = 0; m && i < m->recipients->len; i++) {
		const mapper_bag *row = m->recipients->pdata[i];
		int64_t t = 0;
		/* MS-OXOMSG 2.2.3.1: the high bits are resend flags */
		if (!bag_int(row, TAG_RECIPIENT_TYPE, &t) || (t & 0xF) != type)
			continue;
		g_ptr_array_add(out, (gpointer)bag_str(row, TAG_DISPLAY_NAME));
		g_ptr_array_add(out, (gpointer)smtp_of(row, TAG_ADDRESS_TYPE, TAG_EMAIL_ADDRESS, TAG_SMTP_ADDRESS));
	}
	return out;
}

/* MS-OXCMAIL 2.1.3.1.1: the rows of type @row->param (1 To, 2 Cc, 3 Bcc; others ignored).  A row
 * without address yet is an empty group (RFC 5322 3.4) named by its display
 * name, or undisclosed-recipients:; when it has none (the reader reads both
 * back into a row). */
static void hdr_recipients(ex *x, const header_row *row, const char *const *names)
{
	int type = row->param;
	GPtrArray *now = recipient_list(x->m, type);
	GPtrArray *was = recipient_list(x->base, type);
	bool same = x->base && now->len == was->len;
	for (guint i = 0; same && i < now->len; i++)
		same = g_strcmp0(now->pdata[i], was->pdata[i]) == 0;
	if (!same) {
		char *s = NULL;
		if (now->len) {
			InternetAddressList *list = internet_address_list_new();
			for (guint i = 0; i < now->len; i += 2) {
				const char *name = now->pdata[i], *addr = now->pdata[i + 1];
				InternetAddress *ia;
				if (addr) {
					ia = mailbox_new(name, addr);
				} else {
					ia = internet_address_group_new(name ? name : "undisclosed-recipients");
					internet_address_set_charset(ia, "utf-8");
				}
				internet_address_list_add(list, ia);
				g_object_unref(ia);
			}
			s = fmt_addresses(x, names[0], list);
			g_object_unref(list);
		}
		put(x, names, s);
	}
	g_ptr_array_unref(now);
	g_ptr_array_unref(was);
}

static guint32 le32(const guint8 *d)
{
	return d[0] | (guint32)d[1] << 8 | (guint32)d[2] << 16 | (guint32)d[3] << 24;
}

/* A NUL-terminated string of a one-off EntryID at *@off, as UTF-8. */
static char *oneoff_string(const guint8 *d, size_t n, size_t *off, bool unicode)
{
	size_t start = *off, end = start;
	if (unicode) {
		while (end + 1 < n && (d[end] || d[end + 1]))
			end += 2;
		if (end + 1 >= n)
			return NULL;
		*off = end + 2;
		glong len = (glong)(end - start) / 2;
		gunichar2 *u = g_new(gunichar2, len + 1);
		for (glong i = 0; i < len; i++)
			u[i] = (gunichar2)(d[start + 2 * i] | d[start + 2 * i + 1] << 8);
		char *s = g_utf16_to_utf8(u, len, NULL, NULL, NULL);
		g_free(u);
		return s;
	}
	while (end < n && d[end])
		end++;
	if (end >= n)
		return NULL;
	*off = end + 1;
	return g_utf8_make_valid((const char *)d + start, (gssize)(end - start));
}

/* MS-OXCMAIL 2.1.3.1.2: the mailboxes of PidTagReplyRecipientEntries, a
 * FLATENTRYLIST (MS-OXCDATA 2.3.3) of one-off EntryIDs (2.2.5.1); the
 * names come from PidTagReplyRecipientNames when it has one per entry. */
static InternetAddressList *reply_to_list(const mapper_bag *bag)
{
	mapper_prop *p = bag_get(bag, TAG_REPLY_RECIPIENT_ENTRIES);
	gsize n = 0;
	const guint8 *d = p && p->bin ? g_bytes_get_data(p->bin, &n) : NULL;
	if (!d || n < 8)
		return NULL;
	guint32 count = le32(d);
	const char *names_str = bag_str(bag, TAG_REPLY_RECIPIENT_NAMES);
	char **names = names_str ? g_strsplit(names_str, ";", -1) : NULL;
	bool use_names = names && g_strv_length(names) == count;
	InternetAddressList *list = internet_address_list_new();
	size_t off = 8;
	for (guint32 i = 0; i < count && off + 4 <= n; i++) {
		size_t size = le32(d + off);
		off += 4;
		if (size > n - off)
			break;
		const guint8 *e = d + off;
		off += size;
		off += size % 4 ? 4 - size % 4 : 0;
		/* flags, provider UID, version, flag word, then the three strings */
		if (size < 24 || memcmp(e + 4, muid_oop, sizeof muid_oop) != 0)
			continue; /* an address-book EntryID cannot be resolved here */
		bool unicode = (e[22] | e[23] << 8) & 0x8000;
		size_t at = 24;
		char *name = oneoff_string(e, size, &at, unicode);
		char *type = name ? oneoff_string(e, size, &at, unicode) : NULL;
		char *addr = type ? oneoff_string(e, size, &at, unicode) : NULL;
		if (addr && *addr && ieq(type, "SMTP")) {
			InternetAddress *ia = mailbox_new(use_names ? names[i] : name, addr);
			internet_address_list_add(list, ia);
			g_object_unref(ia);
		}
		g_free(name);
		g_free(type);
		g_free(addr);
	}
	g_strfreev(names);
	if (off > n || internet_address_list_length(list) == 0) {
		g_object_unref(list);
		return NULL;
	}
	return list;
}

static void hdr_reply_to(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_REPLY_RECIPIENT_ENTRIES) && !differs(x, TAG_REPLY_RECIPIENT_NAMES))
		return;
	InternetAddressList *list = reply_to_list(&x->m->props);
	put(x, names, list ? fmt_addresses(x, names[0], list) : NULL);
	if (list)
		g_object_unref(list);
}

/* One string property, one header. */
static void hdr_string(ex *x, const header_row *row, const char *const *names)
{
	uint32_t tag = row->tag;
	if (!differs(x, tag))
		return;
	const char *v = bag_str(&x->m->props, tag);
	put(x, names, v ? fmt_text(x, names[0], v) : NULL);
}

/* MS-OXCMAIL 2.2.3.2.5 read in reverse, the G way: Importance wins over
 * the other priority headers on reading, so those that would only repeat it
 * go.  Priority stays: it carries PidTagPriority. */
static void hdr_importance(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_IMPORTANCE))
		return;
	static const char *const words[] = { "Low", "Normal", "High" };
	int64_t v = -1;
	bag_int(&x->m->props, TAG_IMPORTANCE, &v);
	put(x, names,
	    v >= 0 && v <= 2 ? fmt_text(x, names[0], words[v]) : NULL);
}

static void hdr_priority(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_PRIORITY))
		return;
	int64_t v = 0;
	bool have = bag_int(&x->m->props, TAG_PRIORITY, &v);
	put(x, names,
	    have ? fmt_text(x, names[0], v > 0 ? "urgent" : v < 0 ? "non-urgent" : "normal") : NULL);
}

/* oxcmail-mapping.md 1.2: the RFC 2156 words; 0 (normal) has none (K). */
static void hdr_sensitivity(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_SENSITIVITY))
		return;
	static const char *const words[] = { NULL, "Personal", "Private", "Company-Confidential" };
	int64_t v = 0;
	bag_int(&x->m->props, TAG_SENSITIVITY, &v);
	put(x, names, v >= 1 && v <= 3 ? fmt_text(x, names[0], words[v]) : NULL);
}

static void hdr_date(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_CLIENT_SUBMIT_TIME))
		return;
	mapper_prop *p = bag_get(&x->m->props, TAG_CLIENT_SUBMIT_TIME);
	/* MS-OXCMAIL 2.1.3.2.7: a message without one is dated now */
	int64_t t = p ? p->v.t : x->base ? 0 : g_get_real_time() / G_USEC_PER_SEC;
	put(x, names, p || !x->base ? fmt_date(x, names[0], t) : NULL);
}

/* MS-OXCMAIL 2.1.3.2.8: PidTagSubjectPrefix + PidTagNormalizedSubject, else
 * PidTagSubject.  A subject that was just written wins over a stale pair. */
static void hdr_subject(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_SUBJECT) && !differs(x, TAG_SUBJECT_PREFIX) &&
	    !differs(x, TAG_NORMALIZED_SUBJECT))
		return;
	mapper_bag *bag = &x->m->props;
	mapper_prop *subject = bag_get(bag, TAG_SUBJECT);
	mapper_prop *prefix = bag_get(bag, TAG_SUBJECT_PREFIX);
	mapper_prop *normalized = bag_get(bag, TAG_NORMALIZED_SUBJECT);
	char *value = NULL;
	if (subject && subject->str && (differs(x, TAG_SUBJECT) || (!prefix && !normalized)))
		value = g_strdup(subject->str);
	else if (prefix || normalized)
		value = g_strconcat(prefix && prefix->str ? prefix->str : "",
		                    normalized && normalized->str ? normalized->str : "", NULL);
	put(x, names, value ? fmt_text(x, names[0], value) : NULL);
	g_free(value);
}

static void hdr_thread_index(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_CONVERSATION_INDEX))
		return;
	mapper_prop *p = bag_get(&x->m->props, TAG_CONVERSATION_INDEX);
	gsize n = 0;
	const guchar *d = p && p->bin ? g_bytes_get_data(p->bin, &n) : NULL;
	char *b64 = n ? g_base64_encode(d, n) : NULL;
	put(x, names, b64 ? fmt_text(x, names[0], b64) : NULL);
	g_free(b64);
}

static void hdr_message_id(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_INTERNET_MESSAGE_ID))
		return;
	const char *v = bag_str(&x->m->props, TAG_INTERNET_MESSAGE_ID);
	char *made = NULL;
	if (!v && !x->base) {
		/* MS-OXCMAIL 2.1.3.2.11: generated when the message has none */
		char *id = g_mime_utils_generate_message_id("mapifs.invalid");
		v = made = g_strdup_printf("<%s>", id);
		g_free(id);
	}
	put(x, names, v ? fmt_text(x, names[0], v) : NULL);
	g_free(made);
}

/* PidNameKeywords: one keyword per value, joined with ", " (1.2). */
static void hdr_keywords(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs_named(x, &mapper_ps_public_strings, "Keywords"))
		return;
	mapper_prop *p = bag_get_named(&x->m->props, &mapper_ps_public_strings, "Keywords");
	char *v = p && p->mv && *p->mv ? g_strjoinv(", ", p->mv) : NULL;
	put(x, names, v ? fmt_text(x, names[0], v) : NULL);
	g_free(v);
}

/* MS-OXCMAIL 2.1.3.2.16: the LCID as a language tag. */
static void hdr_language(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_MESSAGE_LOCALE_ID))
		return;
	int64_t lcid = 0;
	const char *tag = bag_int(&x->m->props, TAG_MESSAGE_LOCALE_ID, &lcid) ? header_lcid_tag(lcid) : NULL;
	put(x, names, tag ? fmt_text(x, names[0], tag) : NULL);
}

/* A PS_INTERNET_HEADERS property with a place of its own in the G order,
 * or more than one header to replace. */
static void hdr_named(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs_named(x, &mapper_ps_internet_headers, names[0]))
		return;
	mapper_prop *p = bag_get_named(&x->m->props, &mapper_ps_internet_headers, names[0]);
	put(x, names, p && p->str && *p->str ? fmt_text(x, names[0], p->str) : NULL);
}

static void hdr_time(ex *x, const header_row *row, const char *const *names)
{
	uint32_t tag = row->tag;
	if (!differs(x, tag))
		return;
	mapper_prop *p = bag_get(&x->m->props, tag);
	put(x, names, p ? fmt_date(x, names[0], p->v.t) : NULL);
}

/* X-Auto-Response-Suppress tokens (G): the reader's suppress_from() reversed. */
static void hdr_suppress(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	if (!differs(x, TAG_AUTO_RESPONSE_SUPPRESS))
		return;
	static const char *const tokens[] = { "DR", "NDR", "RN", "NRN", "OOF", "AutoReply" };
	int64_t bits = 0;
	bag_int(&x->m->props, TAG_AUTO_RESPONSE_SUPPRESS, &bits);
	GString *v = g_string_new(NULL);
	if ((bits & 0x3F) == 0x3F)
		g_string_append(v, "All");
	else
		for (int i = 0; i < 6; i++)
			if (bits & (1 << i))
				g_string_append_printf(v, "%s%s", v->len ? ", " : "", tokens[i]);
	put(x, names,
	    v->len ? fmt_text(x, names[0], v->str) : NULL);
	g_string_free(v, TRUE);
}

/* PidLidFlagRequest (PSETID_Common 0x8530) -> X-Message-Flag. */
static void hdr_message_flag(ex *x, const header_row *row, const char *const *names)
{
	(void)row;
	mapper_prop *now = bag_get_lid(&x->m->props, &mapper_psetid_common, 0x8530);
	mapper_prop *was = x->base ? bag_get_lid(&x->base->props, &mapper_psetid_common, 0x8530) : NULL;
	if (x->base && prop_same(now, was))
		return;
	put(x, names,
	    now && now->str && *now->str ? fmt_text(x, names[0], now->str) : NULL);
}

/* Whether PS_INTERNET_HEADERS/@name is written as the header @name here:
 * not when a group above writes it (Accept-Language, Content-Class), not
 * for fields of the MIME entity (written with it, and never the opaque
 * S/MIME Content-Type), not for names another property maps to. */
static bool generic_writable(const char *name)
{
	for (const char *c = name; *c; c++)
		if (*c <= ' ' || *c >= 0x7f || *c == ':')
			return false; /* not a field name (RFC 5322 2.2) */
	if (!*name)
		return false;
	if (ieq(name, "Accept-Language") || g_ascii_strncasecmp(name, "Content-", 8) == 0)
		return false;
	/* MS-OXCMAIL 2.1.3.2.4: never one another property maps to, nor the
	 * reserved Exchange ones */
	return header_is_generic(name);
}

/* The PS_INTERNET_HEADERS names of @m that @before (when not NULL) does
 * not have.  Within one bag they are unique already (mapper-private.h), so
 * only the other bag's need looking up. */
static void add_generic_names(GPtrArray *out, const mapper_message *m, const mapper_message *before)
{
	for (guint i = 0; m && i < m->props.props->len; i++) {
		mapper_prop *p = m->props.props->pdata[i];
		if (!p || p->set != &mapper_ps_internet_headers || !p->name)
			continue;
		if (!before || !bag_get_named(&before->props, &mapper_ps_internet_headers, p->name))
			g_ptr_array_add(out, p->name);
	}
}

/* MS-OXCMAIL 2.1.3.2.4: every other string property of PS_INTERNET_HEADERS
 * is the header of its name.  The opaque S/MIME "Content-Type" is never
 * echoed (oxcmail-mapping.md 1.3). */
static void hdr_generic(ex *x)
{
	GPtrArray *names = g_ptr_array_new();
	add_generic_names(names, x->m, NULL);
	add_generic_names(names, x->base, x->m);
	for (guint i = 0; i < names->len; i++) {
		const char *name = names->pdata[i];
		if (!generic_writable(name) || !differs_named(x, &mapper_ps_internet_headers, name))
			continue;
		mapper_prop *p = bag_get_named(&x->m->props, &mapper_ps_internet_headers, name);
		char *canon = g_strdup(name);
		const char *const rm[] = { canon, NULL };
		put(x, rm, p && p->str && *p->str ? fmt_text(x, name, p->str) : NULL);
		g_free(canon);
	}
	g_ptr_array_unref(names);
}

typedef void field_writer(ex *x, const header_row *row, const char *const *names);

static field_writer *const field_writers[] = {
	[HX_NONE] = NULL,
	[HX_WITH_ABOVE] = NULL,
	[HX_SENDER] = hdr_sender,
	[HX_FROM] = hdr_from,
	[HX_RETURN_RECEIPT] = hdr_return_receipt,
	[HX_NOTIFICATION] = hdr_notification,
	[HX_RECIPIENTS] = hdr_recipients,
	[HX_REPLY_TO] = hdr_reply_to,
	[HX_NAMED] = hdr_named,
	[HX_IMPORTANCE] = hdr_importance,
	[HX_PRIORITY] = hdr_priority,
	[HX_SENSITIVITY] = hdr_sensitivity,
	[HX_DATE] = hdr_date,
	[HX_SUBJECT] = hdr_subject,
	[HX_STRING] = hdr_string,
	[HX_THREAD_INDEX] = hdr_thread_index,
	[HX_MESSAGE_ID] = hdr_message_id,
	[HX_KEYWORDS] = hdr_keywords,
	[HX_LANGUAGE] = hdr_language,
	[HX_TIME] = hdr_time,
	[HX_SUPPRESS] = hdr_suppress,
	[HX_MESSAGE_FLAG] = hdr_message_flag,
};
G_STATIC_ASSERT(G_N_ELEMENTS(field_writers) == HX_COUNT);

/* Every header group, in header_table's (the G) order, then the generic
 * ones.  A group's names are its row's and those of the HX_WITH_ABOVE rows
 * right after it. */
static void headers(ex *x)
{
	for (size_t i = 0; i < header_table_len; i++) {
		const header_row *row = &header_table[i];
		field_writer *w = field_writers[row->export];
		if (!w)
			continue;
		const char *names[5];
		size_t n = 0;
		names[n++] = row->name;
		for (size_t j = i + 1; j < header_table_len && n < 4 &&
		     header_table[j].export == HX_WITH_ABOVE; j++)
			names[n++] = header_table[j].name;
		names[n] = NULL;
		w(x, row, names);
	}
	hdr_generic(x);
}

/* ---- the MIME tree (oxcmail-mapping.md 3.3, 4.3) -------------------------- */

static bool is_type(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = o ? g_mime_object_get_content_type(o) : NULL;
	return ct && ieq(g_mime_content_type_get_media_type(ct), type) &&
	       (!sub || ieq(g_mime_content_type_get_media_subtype(ct), sub));
}

static bool is_attachment_disposition(GMimeObject *o)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
	return d && g_mime_content_disposition_is_attachment(d);
}

static bool is_text_leaf(GMimeObject *o, const char *sub)
{
	return GMIME_IS_PART(o) && is_type(o, "text", sub) && !is_attachment_disposition(o);
}

/* The multipart holding @child below @root, and @child's index in it.
 * Embedded messages are not searched: their parts are theirs. */
static GMimeMultipart *parent_of(GMimeObject *root, GMimeObject *child, int depth, int *index)
{
	if (!root || depth > MAPPER_MAX_DEPTH || !GMIME_IS_MULTIPART(root))
		return NULL;
	GMimeMultipart *mp = GMIME_MULTIPART(root);
	for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
		GMimeObject *part = g_mime_multipart_get_part(mp, i);
		if (part == child) {
			*index = i;
			return mp;
		}
		GMimeMultipart *found = parent_of(part, child, depth + 1, index);
		if (found)
			return found;
	}
	return NULL;
}

/* Put @repl (reference taken) where @old is. */
static void replace_object(ex *x, GMimeObject *old, GMimeObject *repl)
{
	x->restructured = true;
	if (old == x->top) {
		g_object_unref(x->top);
		x->top = repl;
		return;
	}
	int i = 0;
	GMimeMultipart *mp = parent_of(x->top, old, 0, &i);
	if (mp) {
		GMimeObject *was = g_mime_multipart_replace(mp, i, repl);
		if (was)
			g_object_unref(was);
	}
	g_object_unref(repl);
}

static GMimeObject *new_multipart(const char *subtype, GMimeObject *first, GMimeObject *second)
{
	GMimeMultipart *mp = g_mime_multipart_new_with_subtype(subtype);
	if (first)
		g_mime_multipart_add(mp, first);
	if (second)
		g_mime_multipart_add(mp, second);
	return GMIME_OBJECT(mp);
}

static void set_content(GMimePart *part, const void *data, size_t len)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(data ? data : "", len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(s);
}

/* Whether text written with the file's line breaks would come back with
 * other bytes: a bare LF in a CRLF file, or a CR in an LF file. */
static bool breaks_differ(const char *d, size_t len, bool crlf)
{
	for (size_t i = 0; i < len; i++) {
		if (!crlf && d[i] == '\r')
			return true;
		if (crlf && d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			return true;
	}
	return false;
}

/* New text for a text part, with the cheapest 7-bit-safe transfer encoding
 * (oxcmail-mapping.md 4.3, the MimeKit/G practice).  A text whose line
 * breaks are not the file's is base64-encoded instead: quoted-printable
 * would turn them into the file's (RFC 2045 6.7 rule 4), and the property
 * must read back as the bytes written (design.md 3). */
/*
 * GMime 3.2 never ends folding an RFC 2231 parameter whose name leaves
 * 0-2 bytes of a line for the value: g_mime_param_list_encode()
 * (gmime-param.c) takes GMIME_FOLD_LEN (78) - (name + 6) bytes of the
 * value per line and, with 0, appends "name*N*=" until memory runs out.
 * That is a name of 70-72 bytes, no real parameter.  Before a part of the
 * input gets a Content-Type parameter changed, which re-encodes the field,
 * such parameters are left out, all at once (removing them one by one
 * would encode the others each time).
 */
static bool unfoldable(const char *name)
{
	size_t n = strlen(name) + 6;
	return n >= 78 - 2 && n <= 78;
}

static void drop_unfoldable_params(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	GMimeParamList *params = ct ? g_mime_content_type_get_parameters(ct) : NULL;
	int count = params ? g_mime_param_list_length(params) : 0;
	bool bad = false;
	for (int i = 0; i < count && !bad; i++)
		bad = unfoldable(g_mime_param_get_name(g_mime_param_list_get_parameter_at(params, i)));
	if (!bad)
		return;
	GMimeContentType *clean = g_mime_content_type_new(g_mime_content_type_get_media_type(ct),
	                                                  g_mime_content_type_get_media_subtype(ct));
	for (int i = 0; i < count; i++) {
		GMimeParam *p = g_mime_param_list_get_parameter_at(params, i);
		if (!unfoldable(g_mime_param_get_name(p)))
			g_mime_content_type_set_parameter(clean, g_mime_param_get_name(p), g_mime_param_get_value(p));
	}
	g_mime_object_set_content_type(o, clean);
	g_object_unref(clean);
}

static void set_text(GMimePart *part, const char *data, size_t len, const char *charset, bool crlf)
{
	GMimeObject *o = GMIME_OBJECT(part);
	drop_unfoldable_params(o);
	GMimeParamList *params = g_mime_content_type_get_parameters(g_mime_object_get_content_type(o));
	/* the new text is not format=flowed (RFC 3676): a reader would re-flow it */
	g_mime_param_list_remove(params, "format");
	g_mime_param_list_remove(params, "delsp");
	if (charset)
		g_mime_object_set_content_type_parameter(o, "charset", charset);
	set_content(part, data, len);
	g_mime_part_set_content_encoding(part, breaks_differ(data ? data : "", len, crlf)
		? GMIME_CONTENT_ENCODING_BASE64
		: g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT));
}

static GMimeObject *text_part(const char *subtype, const char *data, size_t len, const char *charset,
                              bool crlf)
{
	GMimePart *p = g_mime_part_new_with_type("text", subtype);
	set_text(p, data, len, charset, crlf);
	return GMIME_OBJECT(p);
}

/* The charset of new HTML: UTF-8 when the bytes are, else the code page
 * of PidTagInternetCodepage (3.1), never UTF-16 (MS-OXCMAIL 2.1.3.3.1). */
static const char *html_charset(ex *x, const char *data, size_t len)
{
	if (g_utf8_validate(data, (gssize)len, NULL))
		return "utf-8";
	int64_t cp = 0;
	const char *cs = bag_int(&x->m->props, TAG_INTERNET_CODEPAGE, &cp) ? text_codepage_charset(cp) : NULL;
	return cs && g_ascii_strncasecmp(cs, "utf-", 4) != 0 ? cs : "windows-1252";
}

static bool is_ascii(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)data[i] >= 0x80)
			return false;
	return true;
}

static GMimeObject *html_part(ex *x, GBytes *html)
{
	gsize n = 0;
	const char *d = html ? g_bytes_get_data(html, &n) : NULL;
	return text_part("html", d, n, html_charset(x, d ? d : "", n), x->layout.crlf);
}

static GMimeObject *plain_from_html(ex *x, GBytes *html)
{
	gsize n = 0;
	const char *d = html ? g_bytes_get_data(html, &n) : NULL;
	char *text = html_to_text(d ? d : "", n, html_charset(x, d ? d : "", n), x->layout.crlf);
	GMimeObject *p = text_part("plain", text, strlen(text), "utf-8", x->layout.crlf);
	g_free(text);
	return p;
}

/* The body as MS-OXCMAIL 2.1.3.3.3 / 2.1.3.3.4 lay it out: text/plain, or
 * multipart/alternative {text/plain, text/html}; NULL without a body. */
static GMimeObject *new_body(ex *x)
{
	mapper_prop *body = bag_get(&x->m->props, TAG_BODY);
	mapper_prop *html = bag_get(&x->m->props, TAG_HTML);
	GMimeObject *plain = body && body->str
	                     ? text_part("plain", body->str, strlen(body->str), "utf-8", x->layout.crlf) : NULL;
	if (!html)
		return plain;
	if (!plain)
		plain = plain_from_html(x, html->bin);
	GMimeObject *h = html_part(x, html->bin);
	GMimeObject *alt = new_multipart("alternative", plain, h);
	g_object_unref(plain);
	g_object_unref(h);
	return alt;
}

/* Remove @o from the tree; a multipart left empty goes too, and a top
 * left with nothing becomes an empty text/plain. */
static void remove_object(ex *x, GMimeObject *o, int depth)
{
	x->restructured = true;
	if (o == x->top) {
		replace_object(x, o, text_part("plain", "", 0, "utf-8", x->layout.crlf));
		return;
	}
	int i = 0;
	GMimeMultipart *mp = parent_of(x->top, o, 0, &i);
	if (!mp)
		return;
	GMimeObject *was = g_mime_multipart_remove_at(mp, i);
	if (was)
		g_object_unref(was);
	if (g_mime_multipart_get_count(mp) == 0 && depth < MAPPER_MAX_DEPTH)
		remove_object(x, GMIME_OBJECT(mp), depth + 1);
}

/* Put @body (reference taken) before everything else: first in a
 * multipart/mixed top, else with the top wrapped into one (3.3). */
static void prepend_body(ex *x, GMimeObject *body)
{
	x->restructured = true;
	if (GMIME_IS_MULTIPART(x->top) && is_type(x->top, "multipart", "mixed")) {
		g_mime_multipart_insert(GMIME_MULTIPART(x->top), 0, body);
		g_object_unref(body);
		return;
	}
	GMimeObject *mixed = new_multipart("mixed", body, x->top);
	g_object_unref(body);
	g_object_unref(x->top);
	x->top = mixed;
}

/* Put @part (reference taken) next to @unit in a new multipart/alternative,
 * @part first when it is the plain text (RFC 2046 5.1.4: best last). */
static void pair_with(ex *x, GMimeObject *unit, GMimeObject *part, bool part_first)
{
	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	g_mime_multipart_add(alt, part_first ? part : unit);
	g_mime_multipart_add(alt, part_first ? unit : part);
	g_object_unref(part);
	replace_object(x, unit, GMIME_OBJECT(alt));
}

/* Where the reader's body sits in the tree (update_body). */
typedef struct {
	GMimeObject *leaf;         /* the part the body was read from */
	GMimeObject *unit;         /* the HTML "unit": leaf, or the multipart/related it leads */
	GMimeObject *rendition;    /* what is a rendition in @alt: unit, or further up */
	GMimeMultipart *alt;       /* the multipart/alternative holding @rendition, or NULL */
	GMimeObject *sibling;      /* the text/plain alternative of an HTML body, or NULL */
} body_place;

static void find_body_place(ex *x, GMimeObject *leaf, body_place *bp)
{
	bp->leaf = bp->unit = leaf;
	int i = 0;
	GMimeMultipart *parent = parent_of(x->top, leaf, 0, &i);
	if (parent && i == 0 && is_type(GMIME_OBJECT(parent), "multipart", "related")) {
		bp->unit = GMIME_OBJECT(parent);
		parent = parent_of(x->top, bp->unit, 0, &i);
	}
	/* the multipart/alternative it is a rendition in: its parent, or further
	 * up where it leads a multipart/mixed the reader took as the body
	 * (3.2: a mixed entity qualifies by its first part) */
	bp->rendition = bp->unit;
	for (int d = 0; parent && i == 0 && d < MAPPER_MAX_DEPTH &&
	     (is_type(GMIME_OBJECT(parent), "multipart", "mixed") ||
	      is_type(GMIME_OBJECT(parent), "multipart", "related")); d++) {
		bp->rendition = GMIME_OBJECT(parent);
		parent = parent_of(x->top, bp->rendition, 0, &i);
	}
	bp->alt = parent && is_type(GMIME_OBJECT(parent), "multipart", "alternative") ? parent : NULL;
	bool plain_body = is_type(leaf, "text", "plain");
	bp->sibling = NULL;
	for (int k = 0; bp->alt && !plain_body && k < g_mime_multipart_get_count(bp->alt); k++) {
		GMimeObject *c = g_mime_multipart_get_part(bp->alt, k);
		if (!bp->sibling && c != bp->rendition && is_text_leaf(c, "plain"))
			bp->sibling = c;
	}
}

/* The body was text/plain: @text (PidTagBody, NULL if gone) and @mh
 * (PidTagHtml, NULL if none) as they are now. */
static void update_plain_body(ex *x, const body_place *bp, const char *text, mapper_prop *mh,
                              bool body_changed, bool html_changed)
{
	GMimeObject *leaf = bp->leaf;
	if (html_changed && mh) {
		GMimeObject *h = html_part(x, mh->bin);
		if (body_changed && !text) {
			/* the plain text went: the HTML's own rendition replaces it */
			GMimeObject *p = plain_from_html(x, mh->bin);
			replace_object(x, leaf, new_multipart("alternative", p, h));
			g_object_unref(p);
			g_object_unref(h);
			return;
		}
		if (body_changed)
			set_text(GMIME_PART(leaf), text, strlen(text), "utf-8", x->layout.crlf);
		if (bp->alt && bp->rendition == leaf) {
			g_mime_multipart_add(bp->alt, h);
			g_object_unref(h);
		} else {
			pair_with(x, leaf, h, false);
		}
		return;
	}
	if (body_changed && text)
		set_text(GMIME_PART(leaf), text, strlen(text), "utf-8", x->layout.crlf);
	else if (body_changed)
		remove_object(x, leaf, 0);
}

/* The body was HTML (or enriched), PidTagHtml changed: the new HTML in its
 * place, or the part removed.  False when the whole change is done. */
static bool update_html_part(ex *x, body_place *bp, const char *text, mapper_prop *mh,
                             bool body_changed)
{
	GMimeObject *leaf = bp->leaf;
	if (mh) {
		if (is_type(leaf, "text", "html")) {
			gsize n = 0;
			const char *d = mh->bin ? g_bytes_get_data(mh->bin, &n) : NULL;
			/* keep the part's charset unless the new bytes need UTF-8 */
			const char *cs = d && !is_ascii(d, n) && g_utf8_validate(d, (gssize)n, NULL) ? "utf-8"
			                 : g_mime_object_get_content_type_parameter(leaf, "charset") ? NULL
			                 : html_charset(x, d ? d : "", n);
			set_text(GMIME_PART(leaf), d, n, cs, x->layout.crlf);
		} else {
			/* text/enriched: HTML takes its place */
			GMimeObject *h = html_part(x, mh->bin);
			if (bp->unit == leaf)
				bp->unit = h;
			replace_object(x, leaf, h);
		}
		/* the plain alternative is made from the HTML (2.1.3.3.4); the
		 * PidTagBody read from it was the old HTML's text */
		if (bp->sibling && !body_changed) {
			gsize n = 0;
			const char *d = mh->bin ? g_bytes_get_data(mh->bin, &n) : NULL;
			char *plain = html_to_text(d ? d : "", n, html_charset(x, d ? d : "", n), x->layout.crlf);
			set_text(GMIME_PART(bp->sibling), plain, strlen(plain), "utf-8", x->layout.crlf);
			g_free(plain);
		}
	} else if (text && !bp->sibling) {
		/* HTML gone, text stays: the text takes the HTML's place */
		replace_object(x, leaf, text_part("plain", text, strlen(text), "utf-8", x->layout.crlf));
		return false;
	} else {
		remove_object(x, leaf, 0);
		if (bp->unit == leaf)
			bp->unit = NULL;
	}
	return true;
}

/* The body was HTML (or enriched), PidTagBody changed: its plain
 * alternative follows @text, made when there was none. */
static void update_html_text(ex *x, const body_place *bp, const char *text)
{
	if (bp->sibling && text) {
		set_text(GMIME_PART(bp->sibling), text, strlen(text), "utf-8", x->layout.crlf);
	} else if (bp->sibling) {
		remove_object(x, bp->sibling, 0);
	} else if (text) {
		GMimeObject *p = text_part("plain", text, strlen(text), "utf-8", x->layout.crlf);
		if (bp->alt && bp->unit) {
			g_mime_multipart_insert(bp->alt, 0, p);
			g_object_unref(p);
		} else if (bp->unit)
			pair_with(x, bp->unit, p, true);
		else
			prepend_body(x, p);
	}
}

/* PidTagBody / PidTagHtml changed: change the parts the reader took them
 * from (import.c's walk, via import_layout), create or remove them. */
static void update_body(ex *x)
{
	mapper_prop *mb = bag_get(&x->m->props, TAG_BODY), *bb = bag_get(&x->base->props, TAG_BODY);
	mapper_prop *mh = bag_get(&x->m->props, TAG_HTML), *bh = bag_get(&x->base->props, TAG_HTML);
	bool body_changed = !prop_same(mb, bb), html_changed = !prop_same(mh, bh);
	if (!body_changed && !html_changed)
		return;
	x->restructured = true;
	const char *text = mb && mb->str ? mb->str : NULL;
	GMimeObject *leaf = x->layout.body;
	if (leaf && !parent_of(x->top, leaf, 0, &(int){ 0 }) && leaf != x->top)
		leaf = NULL; /* removed with an attachment's part */
	if (!leaf) {
		GMimeObject *body = new_body(x);
		if (body)
			prepend_body(x, body);
		return;
	}

	body_place bp;
	find_body_place(x, leaf, &bp);
	if (is_type(leaf, "text", "plain")) {
		update_plain_body(x, &bp, text, mh, body_changed, html_changed);
		return;
	}
	if (html_changed && !update_html_part(x, &bp, text, mh, body_changed))
		return;
	if (body_changed)
		update_html_text(x, &bp, text);
}

/* ---- attachments (oxcmail-mapping.md 4.3) -------------------------------- */

/* Whether the header block @d holds at least one field "name:" (RFC 5322
 * 2.2: printable ASCII but ":", then ":"; 4.5 allows white space before
 * the colon), at the start of a line. */
static bool any_field(const char *d, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = 0;
		while (i + n < len && d[i + n] > 32 && d[i + n] < 127 && d[i + n] != ':')
			n++;
		size_t w = n;
		while (n && i + w < len && (d[i + w] == ' ' || d[i + w] == '\t'))
			w++;   /* RFC 5322 4.5: obsolete white space before the colon */
		if (n && i + w < len && d[i + w] == ':')
			return true;
		const char *nl = memchr(d + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - d) + 1;
	}
	return false;
}

static mapper_status export_bytes(mapper_message *m, const char *orig, size_t orig_len,
                                  int depth, GByteArray **out, size_t *keep_from, char **why);

/* MS-OXCMAIL 2.1.3.4.2.2: PidTagAttachMimeTag when it is a valid media type
 * a single part can have, else application/octet-stream. */
static GMimeContentType *attachment_type(const char *tag)
{
	static const char *const replaced[] = {
		"message/rfc822", "application/applefile", "application/mac-binhex40", NULL,
	};
	GMimeContentType *ct = NULL;
	if (tag && strchr(tag, '/') && !strpbrk(tag, " \t;\"()<>@,:\\[]?="))
		ct = g_mime_content_type_parse(NULL, tag);
	if (ct && (ieq(g_mime_content_type_get_media_type(ct), "multipart") || in_names(tag, replaced) ||
	           !*g_mime_content_type_get_media_subtype(ct))) {
		g_object_unref(ct);
		ct = NULL;
	}
	return ct ? ct : g_mime_content_type_new("application", "octet-stream");
}

/* UTF-8 in RFC 2231 parameters rather than GMime's guess of a charset. */
static void param_utf8(GMimeParamList *params, const char *name)
{
	GMimeParam *p = params ? g_mime_param_list_get_parameter(params, name) : NULL;
	if (p)
		g_mime_param_set_charset(p, "UTF-8");
}

static void disposition_date(GMimeObject *o, const char *param, const mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = bag_get(bag, tag);
	GDateTime *dt = p ? g_date_time_new_from_unix_utc(p->v.t) : NULL;
	if (!dt)
		return;
	char *d = g_mime_utils_header_format_date(dt);
	g_mime_object_set_content_disposition_parameter(o, param, d);
	g_free(d);
	g_date_time_unref(dt);
}

/* The MIME part of attachment @a (MS-OXCMAIL 2.1.3.4); @old is the part it
 * was read from, if any, whose inline-ness it keeps.  NULL with x->why set
 * when an embedded message cannot be written. */
static GMimeObject *attachment_part(ex *x, mapper_attachment *a, GMimeObject *old)
{
	mapper_bag *bag = &a->props;
	int64_t method = 1;
	bag_int(bag, TAG_ATTACH_METHOD, &method);
	if (method == 5 && a->embedded) {
		/* 4.3: message/rfc822 with no parameters, the message itself inside */
		gsize n = 0;
		const char *raw = a->embedded->raw ? g_bytes_get_data(a->embedded->raw, &n) : NULL;
		GByteArray *bytes = NULL;
		char *why = NULL;
		if (export_bytes(a->embedded, raw, n, x->depth + 1, &bytes, NULL, &why) != MAPPER_OK) {
			fail(x, MAPPER_INVALID, "embedded message: %s", why ? why : "cannot be written");
			g_free(why);
			return NULL;
		}
		GMimePart *part = g_mime_part_new_with_type("message", "rfc822");
		set_content(part, bytes->data, bytes->len);
		/* RFC 2046 5.2.1: 7bit, 8bit or binary only */
		if (g_mime_utils_text_is_8bit(bytes->data, bytes->len))
			g_mime_part_set_content_encoding(part, memchr(bytes->data, '\0', bytes->len)
			                                 ? GMIME_CONTENT_ENCODING_BINARY : GMIME_CONTENT_ENCODING_8BIT);
		g_byte_array_free(bytes, TRUE);
		return GMIME_OBJECT(part);
	}

	GMimeContentType *ct = attachment_type(bag_str(bag, TAG_ATTACH_MIME_TAG));
	GMimePart *part = g_mime_part_new();
	GMimeObject *o = GMIME_OBJECT(part);
	g_mime_object_set_content_type(o, ct);
	g_object_unref(ct);
	const char *charset = bag_str(bag, TAG_TEXT_ATTACHMENT_CHARSET);
	if (charset && is_type(o, "text", NULL))
		g_mime_object_set_content_type_parameter(o, "charset", charset);

	/* inline when it was, or when it is shown in the HTML (2.1.3.4.1.2) */
	int64_t flags = 0;
	bag_int(bag, TAG_ATTACH_FLAGS, &flags);
	bool inl = old ? !is_attachment_disposition(old) : (flags & 0x4) && bag_str(bag, TAG_ATTACH_CONTENT_ID);
	g_mime_object_set_disposition(o, inl ? "inline" : "attachment");
	const char *name = bag_str(bag, TAG_ATTACH_LONG_FILENAME);
	if (!name)
		name = bag_str(bag, TAG_ATTACH_FILENAME);
	if (name) {
		/* filename= and name= (2.1.3.4.2.2), RFC 2231 when not ASCII */
		g_mime_part_set_filename(part, name);
		param_utf8(g_mime_content_disposition_get_parameters(g_mime_object_get_content_disposition(o)), "filename");
		param_utf8(g_mime_content_type_get_parameters(g_mime_object_get_content_type(o)), "name");
	}
	disposition_date(o, "creation-date", bag, TAG_CREATION_TIME);
	disposition_date(o, "modification-date", bag, TAG_LAST_MODIFICATION_TIME);
	/* Content-Description only says something the file name does not */
	const char *dn = bag_str(bag, TAG_DISPLAY_NAME);
	if (dn && (!name || strcmp(dn, name) != 0))
		g_mime_object_set_header(o, "Content-Description", dn, "utf-8");
	/* 2.1.3.4.2.3: Content-ID when it has non-blank text, without its <> */
	const char *cid = bag_str(bag, TAG_ATTACH_CONTENT_ID);
	if (cid) {
		char *id = g_strstrip(g_strdup(cid));
		size_t n = strlen(id);
		if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
			memmove(id, id + 1, n - 2);
			id[n - 2] = '\0';
		}
		if (*id)
			g_mime_object_set_content_id(o, id);
		g_free(id);
	}
	const char *loc = bag_str(bag, TAG_ATTACH_CONTENT_LOCATION);
	if (loc)
		g_mime_part_set_content_location(part, loc);
	const char *base = bag_str(bag, TAG_ATTACH_CONTENT_BASE);
	if (base)
		g_mime_object_set_header(o, "Content-Base", base, NULL);
	const char *payload = bag_str(bag, TAG_ATTACH_PAYLOAD_CLASS);
	if (payload)
		g_mime_object_set_header(o, "X-Payload-Class", payload, NULL);

	mapper_prop *data = bag_get(bag, TAG_ATTACH_DATA_BINARY);
	gsize n = 0;
	const void *d = data && data->bin ? g_bytes_get_data(data->bin, &n) : NULL;
	set_content(part, d, n);
	/* G always base64 for file data (4.3) */
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	return o;
}

/* Attachments removed, changed and added since the original was read:
 * matched to their MIME parts by mapper_attachment.origin. */
static mapper_status update_attachments(ex *x)
{
	GPtrArray *base_atts = x->base->attachments, *parts = x->layout.parts;
	if (!parts || parts->len != base_atts->len)
		return fail(x, MAPPER_INVALID, "the original message's parts do not match its attachments");
	bool *kept = g_new0(bool, base_atts->len + 1);
	GPtrArray *added = g_ptr_array_new();
	mapper_status st = MAPPER_OK;
	for (guint i = 0; i < x->m->attachments->len && st == MAPPER_OK; i++) {
		mapper_attachment *a = x->m->attachments->pdata[i];
		guint k = (guint)a->origin - 1;
		if (a->origin < 1 || k >= base_atts->len || kept[k]) {
			g_ptr_array_add(added, a);
			continue;
		}
		kept[k] = true;
		if (attachment_same(a, base_atts->pdata[k], x->depth))
			continue;
		if (((mapper_attachment *)base_atts->pdata[k])->tnef) {
			/* its part is the whole TNEF stream (edit.c refuses this too) */
			st = fail(x, MAPPER_READ_ONLY, "attachment %u is inside the TNEF part (winmail.dat)", i);
			break;
		}
		GMimeObject *part = attachment_part(x, a, parts->pdata[k]);
		if (part)
			replace_object(x, parts->pdata[k], part);
		else
			st = MAPPER_INVALID;
	}
	for (guint k = 0; k < base_atts->len && st == MAPPER_OK; k++) {
		if (kept[k])
			continue;
		if (((mapper_attachment *)base_atts->pdata[k])->tnef)
			st = fail(x, MAPPER_READ_ONLY, "attachment %u is inside the TNEF part (winmail.dat)", k);
		else
			remove_object(x, parts->pdata[k], 0);
	}
	/* new ones go last, into multipart/mixed (oxcmail-mapping.md 3.3) */
	for (guint i = 0; i < added->len && st == MAPPER_OK; i++) {
		GMimeObject *part = attachment_part(x, added->pdata[i], NULL);
		if (!part) {
			st = MAPPER_INVALID;
			break;
		}
		if (!(GMIME_IS_MULTIPART(x->top) && is_type(x->top, "multipart", "mixed"))) {
			GMimeObject *mixed = new_multipart("mixed", x->top, NULL);
			g_object_unref(x->top);
			x->top = mixed;
		}
		g_mime_multipart_add(GMIME_MULTIPART(x->top), part);
		g_object_unref(part);
		x->restructured = true;
	}
	g_ptr_array_unref(added);
	g_free(kept);
	return st;
}

/* A new message's tree: the body (3.3) with the attachments the HTML shows
 * in multipart/related (2.1.3.3.6), the others after it in multipart/mixed. */
static mapper_status build_tree(ex *x)
{
	x->restructured = true;
	GMimeObject *body = new_body(x);
	mapper_prop *html = bag_get(&x->m->props, TAG_HTML);
	char *html_text = NULL;
	if (html && html->bin) {
		gsize n = 0;
		const char *d = g_bytes_get_data(html->bin, &n);
		html_text = g_strndup(d ? d : "", n);
	}
	GPtrArray *parts = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < x->m->attachments->len; i++) {
		GMimeObject *part = attachment_part(x, x->m->attachments->pdata[i], NULL);
		if (!part) {
			g_ptr_array_unref(parts);
			if (body)
				g_object_unref(body);
			g_free(html_text);
			return MAPPER_INVALID;
		}
		g_ptr_array_add(parts, part);
	}
	/* 2.1.3.4.1.2: inline only when the flag, the Content-ID and the
	 * reference in the HTML all say so; the references are looked for in
	 * one pass, not one per part */
	GPtrArray *refs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < parts->len; i++) {
		const char *cid = g_mime_object_get_content_id(parts->pdata[i]);
		g_ptr_array_add(refs, cid ? g_strconcat("cid:", cid, NULL) : g_strdup(""));
	}
	gboolean *found = html_text ? text_contains(html_text, (const char *const *)refs->pdata, refs->len)
	                            : NULL;
	GMimeMultipart *related = NULL, *mixed = NULL;
	for (guint i = 0; i < parts->len; i++) {
		GMimeObject *part = parts->pdata[i];
		bool inl = found && g_mime_object_get_content_id(part) && found[i] &&
		           !is_attachment_disposition(part);
		GMimeMultipart **into = inl ? &related : &mixed;
		if (!*into)
			*into = g_mime_multipart_new_with_subtype(inl ? "related" : "mixed");
		g_mime_multipart_add(*into, part);
	}
	g_free(found);
	g_ptr_array_unref(refs);
	g_ptr_array_unref(parts);
	g_free(html_text);
	if (!body)
		body = text_part("plain", "", 0, "utf-8", x->layout.crlf);
	if (related) {
		g_mime_multipart_insert(related, 0, body);
		g_object_unref(body);
		body = GMIME_OBJECT(related);
	}
	if (mixed) {
		g_mime_multipart_insert(mixed, 0, body);
		g_object_unref(body);
		body = GMIME_OBJECT(mixed);
	}
	if (x->top)
		g_object_unref(x->top);
	x->top = body;
	return MAPPER_OK;
}

/* PidTagBodyContentId / -Location of a single-part message (1.2, G). */
static void update_top_ids(ex *x)
{
	if (!GMIME_IS_PART(x->top))
		return;
	if (differs(x, TAG_BODY_CONTENT_ID)) {
		const char *id = bag_str(&x->m->props, TAG_BODY_CONTENT_ID);
		if (id)
			g_mime_object_set_content_id(x->top, id);
		else
			g_mime_object_remove_header(x->top, "Content-Id");
		x->restructured = true;
	}
	if (differs(x, TAG_BODY_CONTENT_LOCATION)) {
		const char *loc = bag_str(&x->m->props, TAG_BODY_CONTENT_LOCATION);
		if (loc)
			g_mime_part_set_content_location(GMIME_PART(x->top), loc);
		else
			g_mime_object_remove_header(x->top, "Content-Location");
		x->restructured = true;
	}
}

/* ---- S/MIME (MS-OXOSMIME 3.1.5.1.4, 3.1.5.2.4) ---------------------------- */

/* The last field named @name and, when @count is not NULL, how many there are. */
static field *last_field(GPtrArray *fields, const char *name, int *count)
{
	field *last = NULL;
	int n = 0;
	for (guint i = 0; i < fields->len; i++) {
		field *f = fields->pdata[i];
		if (f->name && ieq(f->name, name)) {
			last = f;
			n++;
		}
	}
	if (count)
		*count = n;
	return last;
}

/* The unfolded value of a field, trimmed; caller frees. */
static char *field_value(const field *f)
{
	const char *colon = memchr(f->text->str, ':', f->text->len);
	char *v = g_mime_utils_header_unfold(colon ? colon + 1 : "");
	return g_strstrip(v);
}

/* MS-OXOSMIME 3.1.5.1.4 steps 2-3: the attachment @d (@n bytes) read as a
 * MIME entity; of its header fields only the last Content-Type goes to
 * @tail, then the empty line and the body byte for byte to @rest. */
static mapper_status clear_signed_tail(ex *x, const char *d, size_t n, GPtrArray *tail,
                                       GByteArray *rest)
{
	gssize end = block_end(d, n);
	GPtrArray *own = end >= 0 ? fields_split(d, (size_t)end) : NULL;
	field *ct = NULL;
	for (guint i = 0; own && i < own->len; i++) {
		field *f = own->pdata[i];
		if (f->name && ieq(f->name, "Content-Type"))
			ct = f;
	}
	if (!ct) {
		if (own)
			g_ptr_array_unref(own);
		return fail(x, MAPPER_INVALID, "the clear-signed attachment is not a MIME entity "
		            "with a Content-Type field (MS-OXOSMIME 3.1.5.1.4)");
	}
	g_ptr_array_add(tail, field_new(ct->name, ct->text->str, ct->text->len));
	g_ptr_array_unref(own);
	g_byte_array_append(rest, (const guint8 *)d + end, (guint)(n - (size_t)end));
	return MAPPER_OK;
}

/* Whether the Content-Type value @v names an opaque S/MIME entity
 * (MS-OXOSMIME 3.1.5.2.1: application/pkcs7-mime, its x- form, or
 * application/octet-stream, which needs a .p7m name). */
static bool opaque_media_type(const char *v)
{
	GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
	if (!ct)
		return false;
	const char *type = g_mime_content_type_get_media_type(ct);
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	bool yes = type && sub && ieq(type, "application") &&
	           (ieq(sub, "pkcs7-mime") || ieq(sub, "x-pkcs7-mime") || ieq(sub, "octet-stream"));
	g_object_unref(ct);
	return yes;
}

/* MS-OXOSMIME 3.1.5.2.4 step 4: the raw Content-Type of the original
 * (PS_INTERNET_HEADERS "Content-Type"), else the MIME tag with name=
 * @filename.  With @same_kind an original field that says the same stays. */
static void opaque_content_type(ex *x, mapper_attachment *a, const char *filename, bool same_kind,
                                GPtrArray *tail)
{
	mapper_prop *raw = bag_get_named(&x->m->props, &mapper_ps_internet_headers, "Content-Type");
	/* every message keeps its Content-Type there: that of a message being
	 * made opaque (sealed) describes what it was, not the CMS */
	if (raw && raw->str && !opaque_media_type(raw->str))
		raw = NULL;
	char *text;
	if (raw && raw->str && *raw->str) {
		text = g_strconcat("Content-Type: ", raw->str, x->nl, NULL);
	} else {
		const char *tag = bag_str(&a->props, TAG_ATTACH_MIME_TAG);
		GMimeContentType *ct = tag ? g_mime_content_type_parse(NULL, tag) : NULL;
		if (!ct)
			ct = g_mime_content_type_new("application", "pkcs7-mime");
		if (filename)
			g_mime_content_type_set_parameter(ct, "name", filename);
		param_utf8(g_mime_content_type_get_parameters(ct), "name");
		char *v = g_mime_content_type_encode(ct, x->fo);
		text = g_strconcat("Content-Type:", v, NULL);
		g_free(v);
		g_object_unref(ct);
	}
	field *f = same_kind && raw && raw->str ? last_field(x->fields, "Content-Type", NULL) : NULL;
	char *was = f ? field_value(f) : NULL;
	if (was && strcmp(was, raw->str) == 0)
		g_ptr_array_add(tail, field_new(f->name, f->text->str, f->text->len));
	else
		g_ptr_array_add(tail, field_new("Content-Type", text, strlen(text)));
	g_free(was);
	g_free(text);
}

/* MS-OXOSMIME 3.1.5.2.4 step 5: "attachment" with filename= @filename.
 * With @same_kind an original field with just that stays. */
static void opaque_disposition(ex *x, const char *filename, bool same_kind, GPtrArray *tail)
{
	GMimeContentDisposition *cd = g_mime_content_disposition_new();
	g_mime_content_disposition_set_disposition(cd, "attachment");
	g_mime_content_disposition_set_parameter(cd, "filename", filename ? filename : "smime.p7m");
	param_utf8(g_mime_content_disposition_get_parameters(cd), "filename");
	char *v = g_mime_content_disposition_encode(cd, x->fo);
	char *text = g_strconcat("Content-Disposition:", v, NULL);
	g_free(v);
	int count = 0;
	field *f = same_kind ? last_field(x->fields, "Content-Disposition", &count) : NULL;
	char *was = f && count == 1 ? field_value(f) : NULL;
	GMimeContentDisposition *old_cd = was ? g_mime_content_disposition_parse(NULL, was) : NULL;
	if (old_cd && ieq(g_mime_content_disposition_get_disposition(old_cd), "attachment") &&
	    g_mime_param_list_length(g_mime_content_disposition_get_parameters(old_cd)) == 1 &&
	    g_strcmp0(g_mime_content_disposition_get_parameter(old_cd, "filename"),
	              g_mime_content_disposition_get_parameter(cd, "filename")) == 0)
		g_ptr_array_add(tail, field_new(f->name, f->text->str, f->text->len));
	else
		/* step 5 always: a message sent without one gains it, the one
		 * header a rebuild adds (tests/bats/roundtrip.py lists them) */
		g_ptr_array_add(tail, field_new("Content-Disposition", text, strlen(text)));
	if (old_cd)
		g_object_unref(old_cd);
	g_free(was);
	g_free(text);
	g_object_unref(cd);
}

/* MS-OXOSMIME 3.1.5.2.4 steps 6 and 7: Content-Transfer-Encoding base64
 * and the attachment's bytes @data (@d, @n) in base64.  An original that
 * was base64 already, of the same bytes, keeps its field and its text. */
static void opaque_body(ex *x, mapper_prop *data, const char *d, size_t n, bool same_kind,
                        GPtrArray *tail, GByteArray *rest)
{
	mapper_attachment *b = same_kind && x->base->attachments->len == 1 ? x->base->attachments->pdata[0] : NULL;
	int count = 0;
	field *f = same_kind ? last_field(x->fields, "Content-Transfer-Encoding", &count) : NULL;
	char *was = f && count == 1 ? field_value(f) : NULL;
	bool base64_was = was && ieq(was, "base64");
	g_free(was);
	if (base64_was) {
		g_ptr_array_add(tail, field_new(f->name, f->text->str, f->text->len));
		/* the same bytes as before: the same base64 text */
		mapper_prop *bdata = b ? bag_get(&b->props, TAG_ATTACH_DATA_BINARY) : NULL;
		if (bdata && prop_same(bdata, data)) {
			g_byte_array_append(rest, (const guint8 *)x->orig_body, (guint)x->orig_body_len);
			return;
		}
	} else {
		char *text = g_strconcat("Content-Transfer-Encoding: base64", x->nl, NULL);
		g_ptr_array_add(tail, field_new("Content-Transfer-Encoding", text, strlen(text)));
		g_free(text);
	}
	GMimeEncoding enc;
	g_mime_encoding_init_encode(&enc, GMIME_CONTENT_ENCODING_BASE64);
	char *b64 = g_malloc(g_mime_encoding_outlen(&enc, n) + 4);
	size_t blen = g_mime_encoding_flush(&enc, d, n, b64);
	g_byte_array_append(rest, (const guint8 *)x->nl, (guint)strlen(x->nl));
	for (size_t i = 0; i < blen; i++) {
		if (b64[i] == '\n')
			g_byte_array_append(rest, (const guint8 *)x->nl, (guint)strlen(x->nl));
		else
			g_byte_array_append(rest, (const guint8 *)b64 + i, 1);
	}
	g_free(b64);
}

/* The header fields of the message entity and its body.  The header block
 * already holds the promoted properties' fields (MS-OXOSMIME 3.1.5.1.4
 * step 4, 3.1.5.2.4 step 3); here the Content-* fields go and the entity's
 * own come in: the attachment's last Content-Type field byte for byte
 * (clear-signed, 3.1.5.1.4), or Content-Type, Content-Disposition and
 * Content-Transfer-Encoding with the base64 CMS bytes (opaque, 3.1.5.2.4). */
static mapper_status smime_tail(ex *x, GPtrArray *tail, GByteArray *rest)
{
	bool clear = x->m->smime == SMIME_CLEAR_SIGNED;
	const char *section = clear ? "3.1.5.1.4" : "3.1.5.2.4";
	/* step 1 of both: exactly one attachment */
	if (x->m->attachments->len != 1)
		return fail(x, MAPPER_INVALID, "an S/MIME message object needs exactly one attachment "
		            "(MS-OXOSMIME %s), this one has %u", section, x->m->attachments->len);
	mapper_attachment *a = x->m->attachments->pdata[0];
	mapper_prop *data = bag_get(&a->props, TAG_ATTACH_DATA_BINARY);
	gsize n = 0;
	const char *d = data && data->bin ? g_bytes_get_data(data->bin, &n) : NULL;
	if (!d || !n)
		return fail(x, MAPPER_INVALID, "the S/MIME attachment has no data (MS-OXOSMIME %s)", section);
	if (clear)
		return clear_signed_tail(x, d, n, tail, rest);

	/* An unedited original keeps its own fields where they say the same. */
	bool same_kind = x->base && x->base->smime == SMIME_OPAQUE;
	const char *filename = bag_str(&a->props, TAG_ATTACH_FILENAME);
	if (!filename)
		filename = bag_str(&a->props, TAG_ATTACH_LONG_FILENAME);
	opaque_content_type(x, a, filename, same_kind, tail);
	opaque_disposition(x, filename, same_kind, tail);
	opaque_body(x, data, d, n, same_kind, tail, rest);
	return MAPPER_OK;
}

/* ---- putting it together ------------------------------------------------ */

static bool tail_has(GPtrArray *tail, const char *name)
{
	for (guint i = 0; i < tail->len; i++) {
		field *f = tail->pdata[i];
		if (f->name && ieq(f->name, name))
			return true;
	}
	return false;
}

/* Put the entity's header fields @tail into the header block.  With
 * @keep_places each goes where the original field of its name was (so an
 * unchanged entity keeps its bytes in their order) and, with @drop_others,
 * original entity fields with no counterpart go; without @keep_places, all
 * original entity fields go and @tail takes the place of the first.  Fields new to the block follow the
 * one placed before them; a MIME-Version (RFC 2045 4) comes first if
 * @mime_version and the block has none. */
static void place_entity_fields(ex *x, GPtrArray *tail, bool keep_places, bool drop_others,
                                bool mime_version)
{
	int next = -1;
	for (guint i = 0; i < x->fields->len;) {
		field *f = x->fields->pdata[i];
		if (f->name && entity_field(f->name) && !(keep_places && tail_has(tail, f->name)) &&
		    (drop_others || !keep_places)) {
			if (next < 0)
				next = (int)i;
			g_ptr_array_remove_index(x->fields, i);
		} else {
			i++;
		}
	}
	int first = -1;
	for (guint i = 0; i < tail->len; i++) {
		field *f = tail->pdata[i];
		const char *const rm[] = { f->name, NULL };
		int at = keep_places && f->name ? fields_remove(x->fields, rm) : -1;
		if (at < 0)
			at = next >= 0 ? next : (int)x->fields->len;
		if (at > (int)x->fields->len)
			at = (int)x->fields->len;
		field *before = at > 0 ? x->fields->pdata[at - 1] : NULL;
		if (before && before->text->len && before->text->str[before->text->len - 1] != '\n')
			g_string_append(before->text, x->nl);
		g_ptr_array_insert(x->fields, at, field_new(f->name, f->text->str, f->text->len));
		if (first < 0 || at < first)
			first = at;
		next = at + 1;
	}
	if (mime_version && !fields_have(x->fields, "MIME-Version")) {
		char *text = g_strconcat("MIME-Version: 1.0", x->nl, NULL);
		g_ptr_array_insert(x->fields, first >= 0 ? first : (int)x->fields->len,
		                   field_new("MIME-Version", text, strlen(text)));
		g_free(text);
	}
}

/* Content-Language and Content-Class belong to the message: GMime keeps
 * them on the top part, the header block keeps them in place. */
static void strip_message_fields(GMimeObject *top)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(top);
	for (int i = g_mime_header_list_get_count(hl) - 1; i >= 0; i--) {
		const char *name = g_mime_header_get_name(g_mime_header_list_get_header_at(hl, i));
		if (ieq(name, "Content-Language") || ieq(name, "Content-Class"))
			g_mime_header_list_remove_at(hl, i);
	}
}

/* The (re)built top entity, written by GMime: its header fields replace the
 * original entity fields; the rest is the body. */
static void splice_top(ex *x, GByteArray *rest)
{
	strip_message_fields(x->top);
	GByteArray *buf = g_byte_array_new();
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(buf);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	g_mime_object_write_to_stream(x->top, x->fo, s);
	g_object_unref(s);
	gssize end = block_end((const char *)buf->data, buf->len);
	if (end < 0)
		end = (gssize)buf->len;
	GPtrArray *own = fields_split((const char *)buf->data, (size_t)end);
	place_entity_fields(x, own, x->base != NULL, true, true);
	g_ptr_array_unref(own);
	if ((size_t)end == buf->len)
		g_byte_array_append(rest, (const guint8 *)x->nl, (guint)strlen(x->nl));
	else
		g_byte_array_append(rest, buf->data + end, buf->len - (guint)end);
	g_byte_array_free(buf, TRUE);
}

/* Body and attachments as the original has them (its bytes can stay even
 * when GMime could not read them as a message). */
static bool content_same(ex *x)
{
	const mapper_message *a = x->m, *b = x->base;
	if (!prop_same(bag_get(&a->props, TAG_BODY), bag_get(&b->props, TAG_BODY)) ||
	    !prop_same(bag_get(&a->props, TAG_HTML), bag_get(&b->props, TAG_HTML)) ||
	    a->attachments->len != b->attachments->len)
		return false;
	for (guint i = 0; i < a->attachments->len; i++)
		if (!attachment_same(a->attachments->pdata[i], b->attachments->pdata[i], x->depth))
			return false;
	return true;
}

/* The rest of the message after its header block, into @rest. */
static mapper_status write_body(ex *x, GByteArray *rest)
{
	mapper_status st = MAPPER_OK;
	/* MS-OXOSMIME 3.1.5.1.3 / 3.1.5.2.3 go by the class, which follows the
	 * kind the reader recognized and cannot be written: the kind decides */
	if (x->m->smime != SMIME_NONE) {
		GPtrArray *tail = g_ptr_array_new_with_free_func(field_free);
		st = smime_tail(x, tail, rest);
		if (st == MAPPER_OK) {
			/* a message of another kind before: none of its entity fields
			 * fit; the same kind keeps the ones S/MIME does not rebuild
			 * (Content-Description ...), and an original without a
			 * MIME-Version keeps its own ways */
			bool same_kind = x->base && x->base->smime == x->m->smime;
			place_entity_fields(x, tail, same_kind, !same_kind, !same_kind);
		}
		g_ptr_array_unref(tail);
	} else {
		GMimeObject *top = x->layout.msg ? g_mime_message_get_mime_part(x->layout.msg) : NULL;
		if (x->base && x->base->smime == SMIME_NONE && top) {
			x->top = g_object_ref(top);
			strip_message_fields(x->top);
			update_top_ids(x);
			update_body(x);
			st = update_attachments(x);
		} else if (!x->base || !content_same(x)) {
			st = build_tree(x);
		}
		if (st == MAPPER_OK && x->restructured)
			splice_top(x, rest);
		else if (st == MAPPER_OK)
			g_byte_array_append(rest, (const guint8 *)x->orig_body, (guint)x->orig_body_len);
	}
	return st;
}

/* The message: what came before the header block, the fields, @rest. */
static GByteArray *assemble(ex *x, const char *orig, size_t skip, bool headerless,
                            const GByteArray *rest)
{
	size_t head = skip;
	for (guint i = 0; i < x->fields->len; i++)
		head += ((field *)x->fields->pdata[i])->text->len;
	GByteArray *o = g_byte_array_sized_new((guint)(head + rest->len + 4));
	/* lines before the header block (an mbox "From " line) stay in
	 * front of it; but with no header block at all they are the text,
	 * and new fields go above them with the empty line between, or
	 * the old text would end up inside the header */
	if (skip)
		g_byte_array_append(o, (const guint8 *)orig, (guint)skip);
	for (guint i = 0; i < x->fields->len; i++) {
		field *f = x->fields->pdata[i];
		g_byte_array_append(o, (const guint8 *)f->text->str, (guint)f->text->len);
	}
	if (headerless && x->fields->len && !x->restructured)
		g_byte_array_append(o, (const guint8 *)x->nl, (guint)strlen(x->nl));
	/* a header block that ends without a line break (no body) */
	if (rest->len && o->len && o->data[o->len - 1] != '\n')
		g_byte_array_append(o, (const guint8 *)x->nl, (guint)strlen(x->nl));
	g_byte_array_append(o, rest->data, rest->len);
	return o;
}

static mapper_status export_bytes(mapper_message *m, const char *orig, size_t orig_len,
                                  int depth, GByteArray **out, size_t *keep_from, char **why)
{
	*out = NULL;
	*why = NULL;
	/* A header-only object (edit.c let it change a property a header field
	 * is written from): the header block is rewritten and the body copied
	 * as it is, which is what the full way gives when neither the body nor
	 * the attachments changed, without parsing them (issue 11: an edit of
	 * a 13.7 MB message).  S/MIME, whose header and protected content go
	 * together, and text without a header field take the full way. */
	bool headers_only = m->level != MAPPER_LOAD_FULL;
	if (headers_only && (!orig || m->smime != SMIME_NONE)) {
		*why = g_strdup("the message object was loaded with its headers only");
		return MAPPER_INCOMPLETE;
	}
	if (depth > MAPPER_MAX_DEPTH) {
		/* the reader did not convert deeper messages either */
		if (!orig) {
			*why = g_strdup_printf("messages nested deeper than %d levels cannot be written", MAPPER_MAX_DEPTH);
			return MAPPER_INVALID;
		}
		*out = g_byte_array_new();
		g_byte_array_append(*out, (const guint8 *)orig, (guint)orig_len);
		return MAPPER_OK;
	}

	ex x = { 0 };
	x.m = m;
	x.depth = depth;
	size_t block = headers_only ? import_header_block_len(orig, orig_len) : orig_len;
	if (orig) {
		x.base = message_new(m->depth);
		x.base->level = m->level;
		import_message_layout(x.base, orig, block, m->level, &x.layout);
	}
	x.nl = orig && x.layout.crlf ? "\r\n" : "\n";
	x.fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(x.fo, orig && x.layout.crlf ? GMIME_NEWLINE_FORMAT_DOS
	                                                                    : GMIME_NEWLINE_FORMAT_UNIX);
	size_t skip = orig ? MIN(x.layout.skip, orig_len) : 0;
	size_t hend = orig ? MIN(x.layout.headers_end, orig_len - skip) : 0;
	/* text without a single header field (RFC 5322 2.2: name ":") is all
	 * body: GMime reports it as a header block, but new fields must go
	 * above it with the empty line between, or it would sit in the header */
	bool headerless = orig && !any_field(orig + skip, hend);
	if (headerless)
		hend = 0;
	/* the reader's header block must end at the empty line the scan found:
	 * if it ended before (a line that is no header field, binary junk),
	 * the whole message might read otherwise than its first part does */
	size_t at = skip + hend;
	bool block_agrees = block <= orig_len && block > at &&
	                    (block - at == 1 ? orig[at] == '\n'
	                                     : block - at == 2 && orig[at] == '\r' && orig[at + 1] == '\n');
	if (headers_only && (headerless || !block_agrees || x.base->smime != SMIME_NONE)) {
		import_layout_clear(&x.layout);
		mapper_message_free(x.base);
		g_mime_format_options_free(x.fo);
		*why = g_strdup("the message object was loaded with its headers only");
		return MAPPER_INCOMPLETE;
	}
	x.fields = orig ? fields_split(orig + skip, hend) : g_ptr_array_new_with_free_func(field_free);
	x.orig_body = orig ? orig + skip + hend : "";
	x.orig_body_len = orig ? orig_len - skip - hend : 0;

	if (!orig) {
		/* oxcmail-mapping.md 5: MIME-Version comes first */
		char *text = g_strconcat("MIME-Version: 1.0", x.nl, NULL);
		g_ptr_array_add(x.fields, field_new("MIME-Version", text, strlen(text)));
		g_free(text);
	}
	headers(&x);

	GByteArray *rest = g_byte_array_new();
	mapper_status st = MAPPER_OK;
	if (headers_only && keep_from)
		*keep_from = skip + hend;    /* the caller copies the rest itself */
	else if (headers_only)
		g_byte_array_append(rest, (const guint8 *)x.orig_body, (guint)x.orig_body_len);
	else
		st = write_body(&x, rest);

	if (st == MAPPER_OK)
		*out = assemble(&x, orig, skip, headerless, rest);
	else
		*why = g_strdup(x.why ? x.why : mapper_status_to_string(st));

	g_byte_array_free(rest, TRUE);
	g_ptr_array_unref(x.fields);
	if (x.top)
		g_object_unref(x.top);
	import_layout_clear(&x.layout);
	if (x.base)
		mapper_message_free(x.base);
	g_mime_format_options_free(x.fo);
	g_free(x.why);
	return st;
}

mapper_status mapper_message_export(mapper_message *m, const void *orig, size_t orig_len,
                                    char **out, size_t *out_len, char **why)
{
	*out = NULL;
	*out_len = 0;
	if (why)
		*why = NULL;
	if (!m) {
		if (why)
			*why = strdup("no message object");
		return MAPPER_INVALID;
	}
	if (m->has_deferred)
		return mapper_fail(why, MAPPER_INCOMPLETE,
		                   "content of the object was left in its file: load it into memory to export it");
	GByteArray *bytes = NULL;
	char *reason = NULL;
	mapper_status st = export_bytes(m, orig, orig ? orig_len : 0, m->depth, &bytes, NULL, &reason);
	if (st == MAPPER_OK && m->seal) {
		/* design.md 5: PR_SECURITY_FLAGS was written; the plain message
		 * just made is what gets signed and/or encrypted */
		char *sealed = NULL, *sw = NULL;
		size_t sealed_len = 0;
		st = smime_seal(m, (const char *)bytes->data, bytes->len, &sealed, &sealed_len, &sw);
		g_byte_array_set_size(bytes, 0);
		if (st == MAPPER_OK)
			g_byte_array_append(bytes, (const guint8 *)sealed, (guint)sealed_len);
		else
			reason = g_strdup(sw);
		free(sealed);
		free(sw);
		if (st != MAPPER_OK) {
			g_byte_array_free(bytes, TRUE);
			bytes = NULL;
		}
	}
	if (st == MAPPER_OK) {
		*out = malloc(bytes->len ? bytes->len : 1);
		if (*out) {
			memcpy(*out, bytes->data, bytes->len);
			*out_len = bytes->len;
		} else {
			st = MAPPER_NO_MEMORY;
		}
		g_byte_array_free(bytes, TRUE);
	}
	if (st != MAPPER_OK && why)
		*why = strdup(reason ? reason : mapper_status_to_string(st));
	g_free(reason);
	return st;
}

/* oxcmail-mapping.md 7.2, "read back on export" column. */
void mapper_message_maildir_flags(const mapper_message *m, char buf[static 8])
{
	const mapper_bag *bag = &m->props;
	int64_t flags = 0, status = 0, verb = -1, flag_status = 0;
	bag_int(bag, TAG_MESSAGE_FLAGS, &flags);
	bag_int(bag, TAG_MESSAGE_STATUS, &status);
	bag_int(bag, TAG_LAST_VERB_EXECUTED, &verb);
	bag_int(bag, TAG_FLAG_STATUS, &flag_status);
	char *p = buf;
	if ((flags & MF_UNSENT) || (status & MSGSTATUS_DRAFT))
		*p++ = 'D';
	if (flag_status == 2)
		*p++ = 'F';
	if (verb == 104)
		*p++ = 'P';
	if (verb == 102 || verb == 103 || (status & MSGSTATUS_ANSWERED))
		*p++ = 'R';
	if (flags & MF_READ)
		*p++ = 'S';
	if (status & MSGSTATUS_DELMARKED)
		*p++ = 'T';
	*p = '\0';
}

mapper_status mapper_message_export_header(mapper_message *m, const void *head, size_t head_len,
                                           char **out, size_t *out_len, size_t *keep_from,
                                           char **why)
{
	*out = NULL;
	*out_len = 0;
	*keep_from = 0;
	if (why)
		*why = NULL;
	GByteArray *bytes = NULL;
	char *reason = NULL;
	mapper_status st = m && head && m->level == MAPPER_LOAD_HEADERS
	                   ? export_bytes(m, head, head_len, m->depth, &bytes, keep_from, &reason)
	                   : MAPPER_INCOMPLETE;
	if (st == MAPPER_OK) {
		*out_len = bytes->len;
		*out = malloc(bytes->len ? bytes->len : 1);
		if (*out)
			memcpy(*out, bytes->data, bytes->len);
		else
			st = MAPPER_NO_MEMORY;
	}
	if (bytes)
		g_byte_array_free(bytes, TRUE);
	if (st != MAPPER_OK && why)
		*why = strdup(reason ? reason : mapper_status_to_string(st));
	g_free(reason);
	return st;
}
