/*
 * import.c - Internet format -> message object.
 *
 * MS-OXCMAIL 2.2 for every message (as summarised in oxcmail-mapping.md
 * sections 1-4 and 7) and MS-OXOSMIME 2.2 / 3.1.5 for clear-signed, opaque
 * signed and encrypted ones.  GMime parses; this file only decides which
 * property each piece becomes (for header fields, headers.c's table says
 * which field is which kind; the rules here say what each kind becomes).  The protected content of S/MIME messages is
 * taken from the input bytes, never from GMime's re-serialisation, so that it
 * stays byte-exact (MS-OXOSMIME 2.2.1 item 4a).
 *
 * Leniency (what malformed input gets): unparseable dates, addresses and
 * parameters are left out with a warning; a message that GMime cannot parse
 * at all keeps its class "IPM.Note" and the properties of whatever headers
 * could be read; MIME nesting deeper than MAPPER_MAX_DEPTH is not converted.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "mapper-private.h"

#include "headers.h"


/* ---- the conversion context ------------------------------------------- */

typedef struct {
	mapper_message *m;
	const char *data;           /* the input bytes */
	size_t len;
	GMimeParserOptions *opts;
	GMimeMessage *msg;
	gint64 headers_end;         /* offset of the empty line ending the header block */
	GMimeContentType *last_ct;  /* the last Content-Type header, parsed */
	GMimeHeader *last_ct_header;
	bool html_body;             /* body went to PidTagHtml */
	GPtrArray *inline_candidates; /* attachments that may be hidden (4.2 item 7) */
	char *html_text;            /* the HTML body, for cid: references */
	char *html_charset;         /* its charset parameter, NULL if none */
	bool body_only;             /* clear-signed: promote the body, attach nothing */
	bool report_read;           /* a report's status part was read (report.c) */
	tnef_content *tnef;         /* the message's TNEF stream, read (tnef.c) */
	bool tnef_tried;            /* the first application/ms-tnef part was looked at */
	const char *boundary;       /* of the innermost multipart being walked */
	bool crlf;                  /* the input's header block ends lines in CRLF */
	GPtrArray *parts;           /* for import_message_layout(): the part of each attachment */
	GArray *order;              /* part_pos of every parsed object, pre-order (embedded_end) */
	GHashTable *order_index;    /* GMimeObject* -> its index in @order + 1 */
	/* parsed from a file (import_message_file): @data is its header block only */
	int fd;                     /* -1: @data is the whole message */
	size_t defer_min;           /* parts this big stay in the file */
	bool need_memory;           /* the conversion needs bytes past the header block */
} ctx;

static bool tnef_announced(ctx *c);

static void parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
	mapper_message *m = user;
	/* Only the issues GMime marks critical change what is shown (gmime-parser-options.h). */
	const char *what = NULL;
	switch (code) {
	case GMIME_CRIT_INVALID_HEADER_NAME: what = "invalid header name"; break;
	case GMIME_CRIT_CONFLICTING_HEADER: what = "conflicting header"; break;
	case GMIME_CRIT_CONFLICTING_PARAMETER: what = "conflicting parameter"; break;
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: what = "multipart without boundary"; break;
	case GMIME_CRIT_NESTING_OVERFLOW: what = "MIME nesting too deep"; break;
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: what = "part without headers or content"; break;
	case GMIME_WARN_TRUNCATED_MESSAGE: what = "truncated message"; break;
	case GMIME_WARN_MALFORMED_MESSAGE: what = "malformed message"; break;
	default: return;
	}
	if (offset >= 0)
		message_warn(m, "%s at byte %" G_GINT64_FORMAT "%s%.80s", what, offset,
		             item ? ": " : "", item ? item : "");
	else
		message_warn(m, "%s%s%.80s", what, item ? ": " : "", item ? item : "");
}

/* ---- small helpers ------------------------------------------------------- */

/* Unfold and trim a raw header value; caller frees. */
static char *unfold(const char *raw)
{
	char *u = g_mime_utils_header_unfold(raw ? raw : "");
	return g_strstrip(u);
}

/* Header text as UTF-8, raw 8-bit bytes decoded by GMime's fallback charsets. */
static char *to_utf8(ctx *c, const char *s)
{
	if (!s)
		return g_strdup("");
	if (g_utf8_validate(s, -1, NULL))
		return g_strdup(s);
	return g_mime_utils_decode_8bit(c->opts, s, strlen(s));
}

static bool time_from_header(const char *value, int64_t *out)
{
	GDateTime *dt = value ? g_mime_utils_header_decode_date(value) : NULL;
	if (!dt)
		return false;
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

static bool ieq(const char *a, const char *b)
{
	return g_ascii_strcasecmp(a, b) == 0;
}

static bool iprefix(const char *s, const char *prefix)
{
	return g_ascii_strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- addresses ---------------------------------------------------------- */

typedef struct {
	char *name;  /* display name, never empty (the address if none) */
	char *addr;  /* NULL for an empty group (a recipient without address) */
} mailbox;

static void mailbox_clear(gpointer p)
{
	mailbox *mb = p;
	g_free(mb->name);
	g_free(mb->addr);
}

/* Flatten groups; skip mailboxes without an address (oxcmail-mapping.md 2.2).
 * With @empty_groups an empty group is kept as a mailbox without address:
 * the writer puts a recipient that has no address yet into To/Cc/Bcc that
 * way, so the row survives a round trip.  "undisclosed-recipients:;" is the
 * nameless one (RFC 5322 3.4 mentions it; RFC 2822 A.1.3 uses it). */
static void collect_mailboxes(ctx *c, InternetAddressList *list, GArray *out, int depth,
                              bool empty_groups)
{
	if (!list || depth > 8)
		return;
	for (int i = 0; i < internet_address_list_length(list); i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
			if (empty_groups && depth == 0 && internet_address_list_length(members) == 0) {
				const char *gname = internet_address_get_name(ia);
				mailbox mb = { NULL, NULL };
				if (gname && *gname && !ieq(gname, "undisclosed-recipients"))
					mb.name = to_utf8(c, gname);
				g_array_append_val(out, mb);
				continue;
			}
			collect_mailboxes(c, members, out, depth + 1, false);
			continue;
		}
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		if (!addr || !*addr)
			continue;
		const char *name = internet_address_get_name(ia);
		mailbox mb;
		mb.addr = to_utf8(c, addr);
		mb.name = name && *name ? to_utf8(c, name) : g_strdup(mb.addr);
		g_array_append_val(out, mb);
	}
}

static GArray *parse_mailboxes(ctx *c, const char *raw_value, bool empty_groups)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(mailbox));
	g_array_set_clear_func(out, mailbox_clear);
	InternetAddressList *list = internet_address_list_parse(c->opts, raw_value ? raw_value : "");
	if (list) {
		collect_mailboxes(c, list, out, 0, empty_groups);
		g_object_unref(list);
	}
	return out;
}

static void set_address_group(mapper_bag *bag, const address_tags *t, const mailbox *mb)
{
	bag_set_string(bag, t->name, mb->name);
	bag_set_string(bag, t->type, "SMTP");
	bag_set_string(bag, t->email, mb->addr);
	bag_set_string(bag, t->smtp, mb->addr);
	bag_set_binary_take(bag, t->entryid, address_oneoff_entryid(mb->name, mb->addr));
	bag_set_binary_take(bag, t->search_key, address_search_key(mb->addr));
}

static void copy_address_group(mapper_bag *bag, const address_tags *from, const address_tags *to)
{
	const uint32_t *f = &from->name, *t = &to->name;
	for (int i = 0; i < 6; i++) {
		mapper_prop *p = bag_get(bag, f[i]);
		if (!p)
			continue;
		if (PROP_TYPE(f[i]) == PT_UNICODE)
			bag_set_string(bag, t[i], p->str);
		else
			bag_set_binary_take(bag, t[i], g_bytes_ref(p->bin));
	}
}

/* One recipient row (oxcmail-mapping.md 2.2). */
static void add_recipient(mapper_message *m, const mailbox *mb, int type)
{
	message_add_recipient(m, mb->name, mb->addr, type);
}

/* ---- header -> property rules (oxcmail-mapping.md 1.2, 1.3) ------------ */

/* Which header fields mean what is headers.c's table; the functions below
 * say how each kind of field becomes properties. */

/* MS-OXCMAIL 2.2.3.2.5: Importance wins, then Priority, X-Priority, X-MSMail-Priority. */
static int importance_from(const char *hdr, const char *v)
{
	if (ieq(hdr, "Importance") || ieq(hdr, "X-MSMail-Priority")) {
		if (iprefix(v, "low")) return 0;
		if (iprefix(v, "normal")) return 1;
		if (iprefix(v, "high")) return 2;
	} else if (ieq(hdr, "Priority")) {
		if (iprefix(v, "non-urgent")) return 0;
		if (iprefix(v, "normal")) return 1;
		if (iprefix(v, "urgent")) return 2;
	} else if (ieq(hdr, "X-Priority")) {
		switch (v[0]) {
		case '1': case '2': return 2;
		case '3': return 1;
		case '4': case '5': return 0;
		}
	}
	return -1;
}

static int sensitivity_from(const char *v)
{
	if (ieq(v, "Personal")) return 1;
	if (ieq(v, "Private")) return 2;
	if (ieq(v, "Company-Confidential")) return 3;
	return 0;
}

/* X-Auto-Response-Suppress tokens (oxcmail-mapping.md 1.2, gromox). */
static int64_t suppress_from(const char *v)
{
	int64_t bits = 0;
	char **tok = g_strsplit_set(v, ", ", -1);
	for (char **t = tok; *t; t++) {
		if (ieq(*t, "DR")) bits |= 0x1;
		else if (ieq(*t, "NDR")) bits |= 0x2;
		else if (ieq(*t, "RN")) bits |= 0x4;
		else if (ieq(*t, "NRN")) bits |= 0x8;
		else if (ieq(*t, "OOF")) bits |= 0x10;
		else if (ieq(*t, "AutoReply")) bits |= 0x20;
		else if (ieq(*t, "All")) bits |= 0x3F;
	}
	g_strfreev(tok);
	return bits;
}

/* MS-OXCMAIL 2.2.3.2.15: Content-Class values that name a message class. */
static char *class_from_content_class(const char *cc)
{
	static const struct { const char *cc, *cls; } t[] = {
		{ "fax", "IPM.Note.Microsoft.Fax" },
		{ "fax-ca", "IPM.Note.Microsoft.Fax.CA" },
		{ "missedcall", "IPM.Note.Microsoft.Missed.Voice" },
		{ "voice-uc", "IPM.Note.Microsoft.Conversation.Voice" },
		{ "voice-ca", "IPM.Note.Microsoft.Voicemail.UM.CA" },
		{ "voice", "IPM.Note.Microsoft.Voicemail.UM" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (ieq(cc, t[i].cc))
			return g_strdup(t[i].cls);
	if (iprefix(cc, "urn:content-class:custom.") && cc[25])
		return g_strconcat("IPM.Note.Custom.", cc + 25, NULL);
	return NULL;
}

/* PidTagSubjectPrefix: 1-3 characters, none a space or colon, the first not
 * a digit, then ": " (oxcmail-mapping.md 1.4, the gromox rule). */
static void set_subject(mapper_bag *bag, const char *subject)
{
	bag_set_string(bag, TAG_SUBJECT, subject);
	mapper_prop *p = bag_get(bag, TAG_SUBJECT);
	const char *s = p->str;
	const char *c = s;
	int n = 0;
	while (*c && n < 4 && *c != ':' && *c != ' ') {
		c = g_utf8_next_char(c);
		n++;
	}
	if (n >= 1 && n <= 3 && c[0] == ':' && c[1] == ' ' && !g_ascii_isdigit(s[0])) {
		char *prefix = g_strndup(s, (gsize)(c - s) + 2);
		bag_set_string(bag, TAG_SUBJECT_PREFIX, prefix);
		bag_set_string(bag, TAG_NORMALIZED_SUBJECT, c + 2);
		g_free(prefix);
	} else {
		bag_set_string(bag, TAG_SUBJECT_PREFIX, "");
		bag_set_string(bag, TAG_NORMALIZED_SUBJECT, s);
	}
}

/* Maildir flags (oxcmail-mapping.md 7.2) and X-Unsent, except mfHasAttach
 * which needs the attachment table and is added by the full import. */
static int64_t flags_from_source(ctx *c, const mapper_source *src, bool unsent)
{
	mapper_bag *bag = &c->m->props;
	const char *f = src->maildir_flags ? src->maildir_flags : "";
	int64_t flags = 0, status = 0;

	if (strchr(f, 'S'))
		flags |= MF_READ;
	bag_set_bool(bag, TAG_READ, (flags & MF_READ) != 0);
	if (strchr(f, 'D') || unsent) {
		flags |= MF_UNSENT;
		status |= MSGSTATUS_DRAFT;
	}
	if (strchr(f, 'T'))
		status |= MSGSTATUS_DELMARKED;
	if (strchr(f, 'R')) {
		status |= MSGSTATUS_ANSWERED;
		bag_set_int(bag, TAG_LAST_VERB_EXECUTED, 102);
		bag_set_int(bag, TAG_ICON_INDEX, 0x105);
	} else if (strchr(f, 'P')) {
		bag_set_int(bag, TAG_LAST_VERB_EXECUTED, 104);
		bag_set_int(bag, TAG_ICON_INDEX, 0x106);
	}
	if ((strchr(f, 'R') || strchr(f, 'P')) && src->mtime)
		bag_set_time(bag, TAG_LAST_VERB_EXECUTION_TIME, src->mtime);
	if (strchr(f, 'F')) {
		bag_set_int(bag, TAG_FLAG_STATUS, 2);
		bag_set_int(bag, TAG_FOLLOWUP_ICON, 6);
	}
	bag_set_int(bag, TAG_MESSAGE_STATUS, status);
	return flags;
}

/* Every header of the top entity, in file order (GMime keeps Content-*
 * headers on the MIME part, the others on the message). */
static GPtrArray *all_headers(GMimeMessage *msg)
{
	GPtrArray *out = g_ptr_array_new();
	GMimeHeaderList *lists[2] = { g_mime_object_get_header_list(GMIME_OBJECT(msg)), NULL };
	GMimeObject *part = g_mime_message_get_mime_part(msg);
	if (part)
		lists[1] = g_mime_object_get_header_list(part);
	for (int l = 0; l < 2; l++) {
		if (!lists[l])
			continue;
		for (int i = 0; i < g_mime_header_list_get_count(lists[l]); i++)
			g_ptr_array_add(out, g_mime_header_list_get_header_at(lists[l], i));
	}
	return out;
}

static int header_offset_cmp(gconstpointer a, gconstpointer b)
{
	gint64 x = g_mime_header_get_offset(*(GMimeHeader *const *)a);
	gint64 y = g_mime_header_get_offset(*(GMimeHeader *const *)b);
	return x < y ? -1 : x > y;
}

/* ---- the header fields, by header_table (headers.h) --------------------- */

/* One header field being read, in the forms the rules use. */
typedef struct {
	GMimeHeader *h;
	const char *name;       /* as the message spells it */
	const char *raw;        /* GMime's raw value: folded, not decoded */
	const char *value;      /* RFC 2047-decoded, UTF-8 */
	const char *value_raw;  /* unfolded and trimmed, not decoded, UTF-8 */
} field_in;

/* What the fields read so far decided, for the rules that look beyond one
 * field ("the first From wins", "Importance wins over X-Priority" ...). */
typedef struct {
	ctx *c;
	mapper_bag *bag;           /* the message's properties */
	int importance;            /* -1 until a field gives one */
	int importance_rank;       /* header_row.param of the field that gave it */
	bool have_from, have_sender, unsent, have_delivery;
	GString *display[4];       /* names of the To (1), Cc (2) and Bcc (3) rows */
	GPtrArray *keywords;       /* of char*, owned */
	char *content_class;       /* the last Content-Class, raw; owned */
} fields_read;

/* A rule for one kind of field (header_row.import).  It returns whether it
 * took the field; one it did not take goes to the generic rule when
 * header_row_is_generic() says so, as the if/else chain this replaces let
 * a field whose condition failed fall through to its last branch. */
typedef bool field_rule(fields_read *s, const header_row *row, const field_in *f);

static bool take_none(fields_read *s, const header_row *row, const field_in *f)
{
	(void)s, (void)row, (void)f;
	return false;
}

/* MS-OXOSMIME 3.1.5.1.1 / 3.1.5.2.1: the last one names the media type */
static bool take_content_type(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	s->c->last_ct_header = f->h;
	return true;
}

/* The first mailbox of the first From (or Sender) that has one. */
static bool take_originator(fields_read *s, const field_in *f, const address_tags *group, bool *have)
{
	if (*have)
		return false;
	GArray *mbs = parse_mailboxes(s->c, f->raw, false);
	if (mbs->len) {
		/* MS-OXCMAIL: the first mailbox of From only */
		set_address_group(s->bag, group, &g_array_index(mbs, mailbox, 0));
		*have = true;
	}
	g_array_unref(mbs);
	return true;
}

static bool take_from(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	return take_originator(s, f, &sent_representing, &s->have_from);
}

static bool take_sender(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	return take_originator(s, f, &sender, &s->have_sender);
}

static bool take_reply_to(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	if (bag_get(s->bag, TAG_REPLY_RECIPIENT_ENTRIES))
		return false;
	GArray *mbs = parse_mailboxes(s->c, f->raw, false);
	if (mbs->len) {
		GPtrArray *eids = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
		GString *names = g_string_new(NULL);
		for (guint j = 0; j < mbs->len; j++) {
			mailbox *mb = &g_array_index(mbs, mailbox, j);
			g_ptr_array_add(eids, address_oneoff_entryid(mb->name, mb->addr));
			/* ";" separates the names, so it cannot be inside one (gromox) */
			char *n = g_strdelimit(g_strdup(mb->name), ";", ' ');
			g_string_append_printf(names, "%s%s", j ? ";" : "", n);
			g_free(n);
		}
		bag_set_binary_take(s->bag, TAG_REPLY_RECIPIENT_ENTRIES, address_flatentrylist(eids));
		bag_set_string(s->bag, TAG_REPLY_RECIPIENT_NAMES, names->str);
		g_string_free(names, TRUE);
		g_ptr_array_unref(eids);
	}
	g_array_unref(mbs);
	return true;
}

static bool take_recipients(fields_read *s, const header_row *row, const field_in *f)
{
	int type = row->param;
	GArray *mbs = parse_mailboxes(s->c, f->raw, true);
	for (guint j = 0; j < mbs->len; j++) {
		mailbox *mb = &g_array_index(mbs, mailbox, j);
		add_recipient(s->c->m, mb, type);
		if (mb->name)
			g_string_append_printf(s->display[type], "%s%s", s->display[type]->len ? "; " : "", mb->name);
	}
	g_array_unref(mbs);
	return true;
}

static bool take_date(fields_read *s, const header_row *row, const field_in *f)
{
	int64_t t;
	if (bag_get(s->bag, row->tag))
		;
	else if (time_from_header(f->value_raw, &t))
		bag_set_time(s->bag, row->tag, t);
	else
		message_warn(s->c->m, "unreadable Date header: %s", f->value_raw);
	return true;
}

static bool take_received(fields_read *s, const header_row *row, const field_in *f)
{
	if (s->have_delivery)
		return false;
	/* the newest Received comes first; its date follows the last ';' */
	const char *semi = strrchr(f->value_raw, ';');
	int64_t t;
	if (semi && time_from_header(semi + 1, &t)) {
		bag_set_time(s->bag, row->tag, t);
		s->have_delivery = true;
	}
	return true;
}

static bool take_subject(fields_read *s, const header_row *row, const field_in *f)
{
	if (!bag_get(s->bag, row->tag))
		set_subject(s->bag, f->value);
	return true;
}

static bool take_string_first(fields_read *s, const header_row *row, const field_in *f)
{
	if (!bag_get(s->bag, row->tag))
		bag_set_string(s->bag, row->tag, f->value_raw);
	return true;
}

static bool take_string_last(fields_read *s, const header_row *row, const field_in *f)
{
	bag_set_string(s->bag, row->tag, f->value_raw);
	return true;
}

static bool take_text_last(fields_read *s, const header_row *row, const field_in *f)
{
	bag_set_string(s->bag, row->tag, f->value);
	return true;
}

/* List-* wins over X-List-*.  The test is on the name as spelled: a
 * lower-case "x-list-help" counts as List-Help, as it always has. */
static bool take_list(fields_read *s, const header_row *row, const field_in *f)
{
	if (f->name[0] != 'X' || !bag_get(s->bag, row->tag))
		bag_set_string(s->bag, row->tag, f->value_raw);
	return true;
}

static bool take_time(fields_read *s, const header_row *row, const field_in *f)
{
	int64_t t;
	if (time_from_header(f->value_raw, &t))
		bag_set_time(s->bag, row->tag, t);
	return true;
}

/* MS-OXCMAIL 2.2.3.2.5: a field of a better rank (Importance 0, Priority 1,
 * X-Priority 2, X-MSMail-Priority 3) wins, else the first readable one. */
static bool take_importance(fields_read *s, const header_row *row, const field_in *f)
{
	int v = importance_from(f->name, f->value_raw);
	if (v >= 0 && row->param < s->importance_rank) {
		s->importance = v;
		s->importance_rank = row->param;
	}
	return true;
}

static bool take_priority(fields_read *s, const header_row *row, const field_in *f)
{
	take_importance(s, row, f);
	if (!bag_get(s->bag, TAG_PRIORITY)) {
		/* PidTagPriority: -1 non-urgent, 0 normal, 1 urgent */
		if (iprefix(f->value_raw, "urgent"))
			bag_set_int(s->bag, TAG_PRIORITY, 1);
		else if (iprefix(f->value_raw, "non-urgent"))
			bag_set_int(s->bag, TAG_PRIORITY, -1);
		else if (iprefix(f->value_raw, "normal"))
			bag_set_int(s->bag, TAG_PRIORITY, 0);
	}
	return true;
}

static bool take_sensitivity(fields_read *s, const header_row *row, const field_in *f)
{
	bag_set_int(s->bag, row->tag, sensitivity_from(f->value_raw));
	return true;
}

static bool take_keywords(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	char **kw = g_strsplit_set(f->value, ",;", -1);
	for (char **k = kw; *k; k++) {
		g_strstrip(*k);
		if (**k)
			g_ptr_array_add(s->keywords, g_strdup(*k));
	}
	g_strfreev(kw);
	return true;
}

/* MS-OXCMAIL 2.2.3.2.11: the first language tag, when it has an LCID. */
static bool take_language(fields_read *s, const header_row *row, const field_in *f)
{
	char *first = g_strdup(f->value_raw);
	first[strcspn(first, ", ")] = '\0';
	int lcid = header_lcid_from_tag(first);
	if (lcid && !bag_get(s->bag, row->tag))
		bag_set_int(s->bag, row->tag, lcid);
	g_free(first);
	return true;
}

static bool take_accept_language(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	/* Accept-Language wins over X-Accept-Language */
	if (ieq(f->name, "Accept-Language") ||
	    !bag_get_named(s->bag, &mapper_ps_internet_headers, "Accept-Language"))
		bag_set_named_string(s->bag, &mapper_ps_internet_headers, "Accept-Language", f->value);
	return true;
}

static bool take_thread_index(fields_read *s, const header_row *row, const field_in *f)
{
	/* senders often drop the "=" padding; base64 needs it */
	GString *b64 = g_string_new(f->value_raw);
	while (b64->len % 4)
		g_string_append_c(b64, '=');
	gsize n = 0;
	guchar *d = g_base64_decode(b64->str, &n);
	g_string_free(b64, TRUE);
	if (n)
		bag_set_binary_take(s->bag, row->tag, g_bytes_new_take(d, n));
	else
		g_free(d);
	return true;
}

static bool take_return_receipt(fields_read *s, const header_row *row, const field_in *f)
{
	(void)f;
	bag_set_bool(s->bag, row->tag, TRUE);
	return true;
}

static bool take_notification(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	bag_set_bool(s->bag, TAG_READ_RECEIPT_REQUESTED, TRUE);
	bag_set_bool(s->bag, TAG_NON_RECEIPT_NOTIFICATION_REQUESTED, TRUE);
	GArray *mbs = parse_mailboxes(s->c, f->raw, false);
	if (mbs->len)
		set_address_group(s->bag, &read_receipt, &g_array_index(mbs, mailbox, 0));
	g_array_unref(mbs);
	return true;
}

static bool take_message_flag(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	/* PidLidFlagRequest, PSETID_Common 0x8530 */
	mapper_prop *p = bag_set_named_lid(s->bag, &mapper_psetid_common, 0x8530, PT_UNICODE);
	p->str = g_strdup(f->value);
	bag_set_int(s->bag, TAG_FLAG_STATUS, 2);
	return true;
}

static bool take_suppress(fields_read *s, const header_row *row, const field_in *f)
{
	bag_set_int(s->bag, row->tag, suppress_from(f->value_raw));
	return true;
}

static bool take_content_class(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	bag_set_named_string(s->bag, &mapper_ps_internet_headers, "Content-Class", f->value);
	g_free(s->content_class);
	s->content_class = g_strdup(f->value_raw);
	return true;
}

static bool take_unsent(fields_read *s, const header_row *row, const field_in *f)
{
	(void)row;
	s->unsent = strcmp(f->value_raw, "1") == 0;
	return true;
}

static bool take_auto_submitted(fields_read *s, const header_row *row, const field_in *f)
{
	if (!iprefix(f->value_raw, "auto-forwarded"))
		return false;
	bag_set_bool(s->bag, row->tag, TRUE);
	bag_set_named_string(s->bag, &mapper_ps_internet_headers, "Auto-Submitted", f->value);
	return true;
}

static field_rule *const field_rules[] = {
	[HI_NONE] = take_none,
	[HI_CONTENT_TYPE] = take_content_type,
	[HI_FROM] = take_from,
	[HI_SENDER] = take_sender,
	[HI_REPLY_TO] = take_reply_to,
	[HI_RECIPIENTS] = take_recipients,
	[HI_DATE] = take_date,
	[HI_RECEIVED] = take_received,
	[HI_SUBJECT] = take_subject,
	[HI_STRING_FIRST] = take_string_first,
	[HI_STRING_LAST] = take_string_last,
	[HI_TEXT_LAST] = take_text_last,
	[HI_LIST] = take_list,
	[HI_TIME] = take_time,
	[HI_IMPORTANCE] = take_importance,
	[HI_PRIORITY] = take_priority,
	[HI_SENSITIVITY] = take_sensitivity,
	[HI_KEYWORDS] = take_keywords,
	[HI_LANGUAGE] = take_language,
	[HI_ACCEPT_LANGUAGE] = take_accept_language,
	[HI_THREAD_INDEX] = take_thread_index,
	[HI_RETURN_RECEIPT] = take_return_receipt,
	[HI_NOTIFICATION] = take_notification,
	[HI_MESSAGE_FLAG] = take_message_flag,
	[HI_SUPPRESS] = take_suppress,
	[HI_CONTENT_CLASS] = take_content_class,
	[HI_UNSENT] = take_unsent,
	[HI_AUTO_SUBMITTED] = take_auto_submitted,
};
G_STATIC_ASSERT(G_N_ELEMENTS(field_rules) == HI_COUNT);

/* MS-OXCMAIL 2.2.3.2.29: a field no row maps gets a PS_INTERNET_HEADERS
 * property of its name; the first of repeated fields wins. */
static void take_generic(fields_read *s, const field_in *f)
{
	if (!bag_get_named(s->bag, &mapper_ps_internet_headers, f->name))
		bag_set_named_string(s->bag, &mapper_ps_internet_headers, f->name, f->value);
}

/* Every field of the top header block, in file order, through its rule. */
static void read_fields(fields_read *s)
{
	GPtrArray *hs = all_headers(s->c->msg);
	g_ptr_array_sort(hs, header_offset_cmp);
	for (guint i = 0; i < hs->len; i++) {
		field_in f = { .h = hs->pdata[i] };
		f.name = g_mime_header_get_name(f.h);
		f.raw = g_mime_header_get_raw_value(f.h);
		char *value_u = unfold(f.raw);           /* raw, unfolded */
		char *value = to_utf8(s->c, g_mime_header_get_value(f.h)); /* RFC 2047 decoded */
		char *value_raw = to_utf8(s->c, value_u);
		g_free(value_u);
		f.value = value;
		f.value_raw = value_raw;

		const header_row *row = header_find(f.name);
		bool taken = row && field_rules[row->import](s, row, &f);
		if (!taken && header_row_is_generic(row, f.name))
			take_generic(s, &f);
		g_free(value);
		g_free(value_raw);
	}
	g_ptr_array_unref(hs);
}

/* What the fields decided together, the defaults Outlook relies on, and
 * the Maildir flags (oxcmail-mapping.md 1.2, 7.2, 9 step 2). */
static void fields_finish(fields_read *s, const mapper_source *src)
{
	mapper_bag *bag = s->bag;
	bag_set_int(bag, TAG_IMPORTANCE, s->importance >= 0 ? s->importance : 1);
	if (!bag_get(bag, TAG_SENSITIVITY))
		bag_set_int(bag, TAG_SENSITIVITY, 0);
	/* From and Sender stand in for each other (oxcmail-mapping.md 1.2) */
	if (s->have_from && !s->have_sender)
		copy_address_group(bag, &sent_representing, &sender);
	else if (s->have_sender && !s->have_from)
		copy_address_group(bag, &sender, &sent_representing);

	if (s->display[1]->len) bag_set_string(bag, TAG_DISPLAY_TO, s->display[1]->str);
	if (s->display[2]->len) bag_set_string(bag, TAG_DISPLAY_CC, s->display[2]->str);
	if (s->display[3]->len) bag_set_string(bag, TAG_DISPLAY_BCC, s->display[3]->str);

	if (s->keywords->len) {
		mapper_prop *p = bag_set_named_string(bag, &mapper_ps_public_strings, "Keywords", "");
		g_free(p->str);
		p->str = NULL;
		p->tag = PROP_TAG(0, PT_MV_UNICODE);
		g_ptr_array_add(s->keywords, NULL);
		p->mv = (char **)g_ptr_array_steal(s->keywords, NULL);
	}

	if (!s->have_delivery && src->mtime)
		bag_set_time(bag, TAG_MESSAGE_DELIVERY_TIME, src->mtime);

	/* kept until the full import adds mfHasAttach */
	s->c->m->pending_flags = flags_from_source(s->c, src, s->unsent);
}

/* ---- S/MIME recognition (MS-OXOSMIME 3.1.5.1.1, 3.1.5.2.1) --------------- */

/* MS-OXOSMIME 3.1.5.1.1 Recognizing a Clear-Signed Message in Internet
 * Format: the message MIME entity, whose media type is the value of the
 * last Content-Type field, is multipart/signed.  No further checks (the
 * MAY of two body parts is left to smime.c's verification). */
static bool recognize_clear_signed(GMimeContentType *ct)
{
	return ieq(g_mime_content_type_get_media_type(ct), "multipart") &&
	       ieq(g_mime_content_type_get_media_subtype(ct), "signed");
}

/* MS-OXOSMIME 3.1.5.2.1 Recognizing an S/MIME Opaque-Signed or Encrypted
 * Message in Internet Format: application/pkcs7-mime or
 * application/x-pkcs7-mime; or application/octet-stream whose Content-Type
 * "name" or Content-Disposition "filename" ends in ".p7m" (any case). */
static bool recognize_opaque(ctx *c, GMimeContentType *ct)
{
	const char *type = g_mime_content_type_get_media_type(ct);
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	if (ieq(type, "application") && (ieq(sub, "pkcs7-mime") || ieq(sub, "x-pkcs7-mime")))
		return true;
	if (!ieq(type, "application") || !ieq(sub, "octet-stream"))
		return false;
	const char *names[2] = { g_mime_content_type_get_parameter(ct, "name"), NULL };
	GMimeObject *part = g_mime_message_get_mime_part(c->msg);
	if (part)
		names[1] = g_mime_object_get_content_disposition_parameter(part, "filename");
	bool p7m = false;
	for (int i = 0; i < 2; i++) {
		size_t n = names[i] ? strlen(names[i]) : 0;
		if (n >= 4 && g_ascii_strcasecmp(names[i] + n - 4, ".p7m") == 0)
			p7m = true;
	}
	return p7m;
}

/* Which S/MIME kind the message is, by its last Content-Type field, which
 * is parsed into c->last_ct. */
static smime_kind recognize_smime(ctx *c)
{
	if (c->last_ct_header)
		c->last_ct = g_mime_content_type_parse(c->opts, g_mime_header_get_value(c->last_ct_header));
	if (!c->last_ct)
		return SMIME_NONE;
	if (recognize_clear_signed(c->last_ct))
		return SMIME_CLEAR_SIGNED;
	if (recognize_opaque(c, c->last_ct))
		return SMIME_OPAQUE;
	return SMIME_NONE;
}

/* PidTagMessageClass (oxcmail-mapping.md 6.4): the S/MIME classes, else
 * the one the last Content-Class names (MS-OXCMAIL 2.2.3.2.15), else
 * IPM.Note.  An opaque message also keeps its raw Content-Type. */
static void set_message_class(ctx *c, const char *content_class)
{
	mapper_message *m = c->m;
	const char *cls = "IPM.Note";
	char *custom = NULL;
	if (m->smime == SMIME_CLEAR_SIGNED) {
		cls = "IPM.Note.SMIME.MultipartSigned";       /* MS-OXOSMIME 2.2.1 item 1 */
	} else if (m->smime == SMIME_OPAQUE) {
		const char *st = g_mime_content_type_get_parameter(c->last_ct, "smime-type");
		/* MS-OXOSMIME 2.2.2 item 1, endnote <5> for secure receipts */
		cls = st && ieq(st, "signed-receipt") ? "IPM.Note.Receipt.SMIME" : "IPM.Note.SMIME";
	} else if (content_class) {
		custom = class_from_content_class(content_class);
		if (custom)
			cls = custom;
	}
	bag_set_string(&m->props, TAG_MESSAGE_CLASS, cls);
	g_free(custom);
}

/* {PS_INTERNET_HEADERS, "Content-Type"}: the raw value of the last
 * Content-Type field, unfolded.  MS-OXOSMIME 3.1.5.2.2 step 2 requires it
 * of opaque S/MIME (the writer restores it, 3.1.5.2.4); Outlook keeps it
 * on every message, and so does this.  Without a field the message is
 * what RFC 2045 5.2 says it is by default. */
static void set_content_type_property(ctx *c)
{
	char *raw_ct = c->last_ct_header ? unfold(g_mime_header_get_raw_value(c->last_ct_header))
	                                 : g_strdup("text/plain; charset=us-ascii");
	char *raw_ct8 = to_utf8(c, raw_ct);
	bag_set_named_string(&c->m->props, &mapper_ps_internet_headers, "Content-Type", raw_ct8);
	g_free(raw_ct);
	g_free(raw_ct8);
}

/* PidTagConversationTopic: the Thread-Topic field, else the normalized
 * subject (MS-OXCMAIL 2.2.3.2.7 allows deriving it; Outlook has it on every
 * message with a subject).  Not written back unless it is changed: the
 * writer only writes properties that differ from the message's. */
static void set_conversation_topic(ctx *c)
{
	mapper_bag *bag = &c->m->props;
	mapper_prop *ns = bag_get(bag, TAG_NORMALIZED_SUBJECT);
	if (!bag_get(bag, TAG_CONVERSATION_TOPIC) && ns && ns->str)
		bag_set_string(bag, TAG_CONVERSATION_TOPIC, ns->str);
}

/* Content-ID / Content-Location / Content-Base of a single-part message
 * (oxcmail-mapping.md 1.2, last row). */
static void single_part_ids(ctx *c)
{
	mapper_bag *bag = &c->m->props;
	GMimeObject *part = g_mime_message_get_mime_part(c->msg);
	if (!part || !GMIME_IS_PART(part) || c->m->smime != SMIME_NONE)
		return;
	const char *cid = g_mime_object_get_content_id(part);
	if (cid && *cid)
		bag_set_string(bag, TAG_BODY_CONTENT_ID, cid);
	const char *loc = g_mime_object_get_header(part, "Content-Location");
	if (loc && *loc) {
		char *l = unfold(loc);
		bag_set_string(bag, TAG_BODY_CONTENT_LOCATION, l);
		g_free(l);
	}
	const char *base = g_mime_object_get_header(part, "Content-Base");
	if (base && *base) {
		char *b = unfold(base);
		bag_set_named_string(bag, &mapper_ps_internet_headers, "Content-Base", b);
		g_free(b);
	}
}

/* The top header block and the Maildir flags to properties (MS-OXCMAIL
 * 2.2.3.2; MS-OXOSMIME 3.1.5.1.2 / 3.1.5.2.2 step 1), and the message's
 * S/MIME kind and class. */
static void import_headers(ctx *c, const mapper_source *src)
{
	fields_read s = { .c = c, .bag = &c->m->props, .importance = -1, .importance_rank = 99 };
	for (int i = 1; i < 4; i++)
		s.display[i] = g_string_new(NULL);
	s.keywords = g_ptr_array_new_with_free_func(g_free);

	read_fields(&s);
	fields_finish(&s, src);
	c->m->smime = recognize_smime(c);
	set_message_class(c, s.content_class);
	/* MS-OXCMAIL 2.2.3.7: a report's class and rows are in its body */
	c->m->body_decides = c->m->smime == SMIME_NONE && c->last_ct &&
	                     ieq(g_mime_content_type_get_media_type(c->last_ct), "multipart") &&
	                     ieq(g_mime_content_type_get_media_subtype(c->last_ct), "report");
	c->m->class_in_body = c->m->smime == SMIME_NONE && !c->m->body_decides && c->last_ct &&
	                      (ieq(g_mime_content_type_get_media_type(c->last_ct), "multipart") ||
	                       (ieq(g_mime_content_type_get_media_type(c->last_ct), "text") &&
	                        ieq(g_mime_content_type_get_media_subtype(c->last_ct), "calendar")));
	c->m->tnef_expected = c->m->smime == SMIME_NONE && tnef_announced(c);
	set_content_type_property(c);
	set_conversation_topic(c);
	single_part_ids(c);

	for (int i = 1; i < 4; i++)
		g_string_free(s.display[i], TRUE);
	g_ptr_array_unref(s.keywords);
	g_free(s.content_class);
}

/* ---- body (MS-OXCMAIL 2.2.3.3.2, oxcmail-mapping.md 3.2) --------------- */

typedef enum { BODY_NONE, BODY_CALENDAR, BODY_PLAIN, BODY_ENRICHED, BODY_HTML } body_rank;

static bool is_attachment_disposition(GMimeObject *o)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
	return d && g_mime_content_disposition_is_attachment(d);
}

/* The body rank of a leaf, BODY_NONE if it cannot be a body.  text/calendar
 * would need [MS-OXCICAL] to become a meeting; it stays an attachment. */
static body_rank leaf_rank(GMimeObject *o)
{
	if (!GMIME_IS_PART(o) || is_attachment_disposition(o))
		return BODY_NONE;
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	if (!ct || !ieq(g_mime_content_type_get_media_type(ct), "text"))
		return BODY_NONE;
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	if (ieq(sub, "plain")) return BODY_PLAIN;
	if (ieq(sub, "html")) return BODY_HTML;
	if (ieq(sub, "enriched")) return BODY_ENRICHED;
	return BODY_NONE;
}

static bool is_multipart(GMimeObject *o, const char *sub)
{
	if (!GMIME_IS_MULTIPART(o))
		return false;
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	return ct && ieq(g_mime_content_type_get_media_subtype(ct), sub);
}

static GMimeObject *first_child(GMimeObject *o)
{
	GMimeMultipart *mp = GMIME_MULTIPART(o);
	return g_mime_multipart_get_count(mp) > 0 ? g_mime_multipart_get_part(mp, 0) : NULL;
}

/* Whether @o qualifies as the message body (the four rules of 3.2), and the
 * rank of the text it would give. A multipart/alternative child that is a
 * multipart/related with HTML also counts: real mail nests it that way. */
static body_rank qualifies(GMimeObject *o, int depth)
{
	if (depth > MAPPER_MAX_DEPTH || is_attachment_disposition(o))
		return BODY_NONE;
	if (GMIME_IS_PART(o))
		return leaf_rank(o);
	if (is_multipart(o, "alternative")) {
		body_rank best = BODY_NONE;
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			body_rank r = qualifies(g_mime_multipart_get_part(mp, i), depth + 1);
			if (r > best)
				best = r;
		}
		return best;
	}
	if (is_multipart(o, "related")) {
		GMimeObject *f = first_child(o);
		if (f && (leaf_rank(f) == BODY_HTML ||
		          (is_multipart(f, "alternative") && qualifies(f, depth + 1) == BODY_HTML)))
			return BODY_HTML;
		return BODY_NONE;
	}
	if (is_multipart(o, "mixed")) {
		GMimeObject *f = first_child(o);
		return f ? leaf_rank(f) : BODY_NONE;
	}
	return BODY_NONE;
}

/* The decoded content of @part.  The buffer is sized from the encoded
 * length up front and trimmed after: grown by doubling, a 100 MiB
 * attachment would take 128 MiB, and 192 MiB while it is copied over. */
static GBytes *part_content(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *src = w ? g_mime_data_wrapper_get_stream(w) : NULL;
	gint64 encoded = src ? g_mime_stream_length(src) : 0;
	guint guess = encoded > 0 && encoded < G_MAXUINT / 2 ? (guint)encoded : 0;
	if (w && g_mime_data_wrapper_get_encoding(w) == GMIME_CONTENT_ENCODING_BASE64)
		guess = guess / 4 * 3 + 3;
	GByteArray *buf = g_byte_array_sized_new(guess);
	if (w) {
		GMimeStream *s = g_mime_stream_mem_new_with_byte_array(buf);
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
		g_mime_data_wrapper_write_to_stream(w, s);
		g_object_unref(s);
	}
	gsize n = buf->len;
	guint8 *data = g_byte_array_steal(buf, NULL);
	g_byte_array_unref(buf);
	/* give back what the guess (or a growth) left over */
	return g_bytes_new_take(n ? g_realloc(data, n) : data, n);
}

/* The boundary parameter of @mp, or NULL.  Not g_mime_multipart_get_boundary():
 * for a multipart without one it sets a new random boundary, which changes
 * the parsed object and re-encodes its Content-Type field, and GMime 3.2
 * then never ends folding a parameter name longer than a line
 * (fuzz-edit: out of memory on a 1 KB message). */
static const char *multipart_boundary(GMimeMultipart *mp)
{
	return g_mime_object_get_content_type_parameter(GMIME_OBJECT(mp), "boundary");
}

/* When @part was parsed from a file and is big enough, its content as a
 * range of the file to decode when read (deferred.c) instead of bytes in
 * memory: base64, or no transfer encoding, which GMime copies as it is.
 * Quoted-printable and uuencode are decoded in memory as before. */
static mapper_deferred *deferrable(ctx *c, GMimePart *part)
{
	if (c->fd < 0)
		return NULL;
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *s = w ? g_mime_data_wrapper_get_stream(w) : NULL;
	if (!s || !GMIME_IS_STREAM_FS(s) || s->bound_start < 0 || s->bound_end < s->bound_start ||
	    (guint64)(s->bound_end - s->bound_start) < c->defer_min)
		return NULL;
	GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(w);
	bool base64 = enc == GMIME_CONTENT_ENCODING_BASE64;
	if (!base64 && enc != GMIME_CONTENT_ENCODING_DEFAULT && enc != GMIME_CONTENT_ENCODING_7BIT &&
	    enc != GMIME_CONTENT_ENCODING_8BIT && enc != GMIME_CONTENT_ENCODING_BINARY)
		return NULL;
	int err;
	return deferred_new(c->fd, s->bound_start, s->bound_end, base64, &err);
}

/* The text of a part as UTF-8; undeclared or unknown charsets fall back to
 * GMime's 8-bit heuristics rather than showing invalid UTF-8. */
static char *part_text_utf8(ctx *c, GMimePart *part)
{
	char *text = GMIME_IS_TEXT_PART(part) ? g_mime_text_part_get_text(GMIME_TEXT_PART(part)) : NULL;
	if (text && g_utf8_validate(text, -1, NULL))
		return text;
	g_free(text);
	GBytes *raw = part_content(part);
	gsize n;
	const char *d = g_bytes_get_data(raw, &n);
	char *out = g_mime_utils_decode_8bit(c->opts, d ? d : "", n);
	g_bytes_unref(raw);
	return out;
}

/* PidTagBody from a text/plain part: the body itself, or the plain
 * alternative of an HTML body (MS-OXCMAIL 2.2.3.3.2: the store keeps every
 * form of the body it is given; Outlook stores both). */
static void set_plain_text(ctx *c, GMimePart *part)
{
	char *text = part_text_utf8(c, part);
	bag_set_string(&c->m->props, TAG_BODY, text);
	g_free(text);
}

/* An HTML (or enriched) body without a plain alternative: PidTagBody is its
 * text, as a store makes it (MS-OXBBODY 2.1.3.1: every body property is
 * readable whatever the native one), in the file's line ends.  Clear-signed
 * content is shown the same way; opaque S/MIME has no body at all. */
static void body_text_from_html(ctx *c)
{
	if (!c->html_body || !c->html_text || bag_get(&c->m->props, TAG_BODY))
		return;
	char *text = html_to_text(c->html_text, strlen(c->html_text), c->html_charset, c->crlf);
	bag_set_string(&c->m->props, TAG_BODY, text);
	g_free(text);
}

static void set_body(ctx *c, GMimeObject *leaf)
{
	mapper_bag *bag = &c->m->props;
	GMimePart *part = GMIME_PART(leaf);
	body_rank r = leaf_rank(leaf);
	const char *charset = g_mime_object_get_content_type_parameter(leaf, "charset");
	int cp = text_codepage_from_charset(charset);

	if (r == BODY_PLAIN) {
		set_plain_text(c, part);
		bag_set_int(bag, TAG_NATIVE_BODY, 1);
		if (cp)
			bag_set_int(bag, TAG_INTERNET_CODEPAGE, cp);
	} else if (r == BODY_HTML) {
		/* PidTagHtml keeps the bytes in their own code page (3.2) */
		GBytes *html = part_content(part);
		gsize n;
		const char *d = g_bytes_get_data(html, &n);
		/* a second body can come (a rendition found by walk() before the
		 * chosen alternative): the last one wins, the first is freed */
		g_free(c->html_text);
		c->html_text = g_strndup(d ? d : "", n);
		g_free(c->html_charset);
		c->html_charset = g_strdup(charset);
		bag_set_binary_take(bag, TAG_HTML, html);
		bag_set_int(bag, TAG_NATIVE_BODY, 3);
		if (cp)
			bag_set_int(bag, TAG_INTERNET_CODEPAGE, cp);
		c->html_body = true;
	} else if (r == BODY_ENRICHED) {
		/* text/enriched -> HTML (RFC 1896 appendix B, by GMime's filter) */
		char *text = part_text_utf8(c, part);
		GByteArray *out = g_byte_array_new();
		GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(out);
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
		GMimeStream *f = g_mime_stream_filter_new(mem);
		GMimeFilter *enr = g_mime_filter_enriched_new(0);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), enr);
		g_mime_stream_write_string(f, text);
		g_mime_stream_flush(f);
		g_object_unref(enr);
		g_object_unref(f);
		g_object_unref(mem);
		g_free(c->html_text);
		c->html_text = g_strndup((const char *)out->data, out->len);
		g_free(c->html_charset);
		c->html_charset = g_strdup("utf-8");
		bag_set_binary_take(bag, TAG_HTML, g_byte_array_free_to_bytes(out));
		bag_set_int(bag, TAG_NATIVE_BODY, 3);
		bag_set_int(bag, TAG_INTERNET_CODEPAGE, 65001);
		c->html_body = true;
		g_free(text);
	}
}

static void walk(ctx *c, GMimeObject *o, int depth, GMimeObject **body);
static void take_children(ctx *c, GMimeObject *o, GMimeMultipart *mp, int n, int depth,
                          GMimeObject **body);

/* Map the qualifying entity @o: the best text becomes the body, the rest
 * of it attachments (2.2.3.3.2.1: html > enriched > plain). */
static void take_body(ctx *c, GMimeObject *o, int depth, GMimeObject **body)
{
	if (GMIME_IS_PART(o)) {
		*body = o;
		set_body(c, o);
		return;
	}
	GMimeMultipart *mp = GMIME_MULTIPART(o);
	int n = g_mime_multipart_get_count(mp);
	const char *outer = c->boundary;
	c->boundary = multipart_boundary(mp);
	take_children(c, o, mp, n, depth, body);
	c->boundary = outer;
}

static void take_children(ctx *c, GMimeObject *o, GMimeMultipart *mp, int n, int depth,
                          GMimeObject **body)
{
	if (is_multipart(o, "alternative")) {
		body_rank best = qualifies(o, depth);
		int chosen = -1, plain = -1;
		/* the last alternative of the best kind is the sender's preference
		 * (RFC 2046 5.1.4); the last plain one is PidTagBody beside an
		 * HTML body */
		for (int i = 0; i < n; i++) {
			GMimeObject *child = g_mime_multipart_get_part(mp, i);
			body_rank r = qualifies(child, depth + 1);
			if (r == best)
				chosen = i;
			if (r == BODY_PLAIN && GMIME_IS_PART(child))
				plain = i;
		}
		for (int i = 0; i < n; i++) {
			GMimeObject *child = g_mime_multipart_get_part(mp, i);
			if (i == chosen)
				take_body(c, child, depth + 1, body);
			else if (qualifies(child, depth + 1) == BODY_NONE)
				walk(c, child, depth + 1, body); /* not a rendition of the text */
		}
		if (best > BODY_PLAIN && plain >= 0 && plain != chosen)
			set_plain_text(c, GMIME_PART(g_mime_multipart_get_part(mp, plain)));
		return;
	}
	/* related or mixed: the first child holds the body, the rest are attachments */
	for (int i = 0; i < n; i++) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);
		if (i == 0)
			take_body(c, child, depth + 1, body);
		else
			walk(c, child, depth + 1, body);
	}
}

/* ---- attachments (oxcmail-mapping.md 4.2) -------------------------------- */

static const char *extension_for(const char *mime)
{
	static const struct { const char *mime, *ext; } t[] = {
		{ "text/plain", ".txt" }, { "text/html", ".html" }, { "text/calendar", ".ics" },
		{ "text/enriched", ".txt" }, { "text/csv", ".csv" }, { "text/xml", ".xml" },
		{ "image/png", ".png" }, { "image/jpeg", ".jpg" }, { "image/gif", ".gif" },
		{ "application/pdf", ".pdf" }, { "application/zip", ".zip" },
		{ "application/pkcs7-mime", ".p7m" }, { "application/x-pkcs7-mime", ".p7m" },
		{ "application/pkcs7-signature", ".p7s" }, { "application/x-pkcs7-signature", ".p7s" },
		{ "message/rfc822", ".eml" }, { "message/delivery-status", ".txt" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (ieq(mime, t[i].mime))
			return t[i].ext;
	return ".dat";
}

/* MS-OXCMAIL 2.2.3.4.1.1: drop control characters and " / : < > | \ from names. */
static char *sanitize_name(const char *name)
{
	GString *s = g_string_new(NULL);
	for (const char *c = name; *c; c = g_utf8_next_char(c)) {
		gunichar u = g_utf8_get_char_validated(c, -1);
		if (u == (gunichar)-1 || u == (gunichar)-2)
			break;
		if (u < 0x20 || (u < 0x80 && strchr("\"/:<>|\\", (int)u)))
			g_string_append_c(s, '_');
		else
			g_string_append_unichar(s, u);
	}
	return g_string_free(s, FALSE);
}

/* An 8.3 name for PidTagAttachFilename: kept if it already is one, else
 * NAME~1.EXT upper-cased (the MsgKit rule, oxcmail-mapping.md 4.2 item 2). */
static char *short_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t base = dot ? (size_t)(dot - name) : strlen(name);
	size_t ext = dot ? strlen(dot + 1) : 0;
	bool ok = base >= 1 && base <= 8 && ext <= 3;
	for (const char *c = name; *c && ok; c++)
		if (!(g_ascii_isalnum(*c) || strchr("._-~!#$%&'()@^`{}", *c)) || (*c == '.' && c != dot))
			ok = false;
	if (ok)
		return g_strdup(name);
	GString *s = g_string_new(NULL);
	for (size_t i = 0; i < base && s->len < 6; i++)
		if (g_ascii_isalnum(name[i]))
			g_string_append_c(s, g_ascii_toupper(name[i]));
	if (!s->len)
		g_string_append(s, "ATTACH");
	g_string_append(s, "~1");
	if (dot && ext) {
		g_string_append_c(s, '.');
		for (size_t i = 0; i < ext && i < 3; i++)
			g_string_append_c(s, g_ascii_toupper(dot[1 + i]));
	}
	return g_string_free(s, FALSE);
}

static mapper_attachment *new_attachment(mapper_message *m)
{
	mapper_attachment *a = g_new0(mapper_attachment, 1);
	bag_init(&a->props);
	a->origin = (int)m->attachments->len + 1;
	bag_set_int(&a->props, TAG_ATTACH_NUMBER, m->attachments->len);
	bag_set_int(&a->props, TAG_RENDERING_POSITION, -1); /* not rendered in RTF */
	g_ptr_array_add(m->attachments, a);
	return a;
}

/* Long name, extension, 8.3 name and display name from @name. */
static void set_attachment_names(mapper_bag *bag, const char *name, const char *description)
{
	char *clean = sanitize_name(name);
	bag_set_string(bag, TAG_ATTACH_LONG_FILENAME, clean);
	const char *dot = strrchr(clean, '.');
	if (dot && dot[1])
		bag_set_string(bag, TAG_ATTACH_EXTENSION, dot);
	char *sn = short_name(clean);
	bag_set_string(bag, TAG_ATTACH_FILENAME, sn);
	g_free(sn);
	/* Content-Description SHOULD also become PidTagDisplayName (4.2 item 2) */
	bag_set_string(bag, TAG_DISPLAY_NAME, description && *description ? description : clean);
	g_free(clean);
}

static void set_disposition_times(mapper_bag *bag, GMimeObject *o)
{
	static const struct { const char *param; uint32_t tag; } t[] = {
		{ "creation-date", TAG_CREATION_TIME },
		{ "modification-date", TAG_LAST_MODIFICATION_TIME },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
		const char *v = g_mime_object_get_content_disposition_parameter(o, t[i].param);
		int64_t when;
		if (v && time_from_header(v, &when))
			bag_set_time(bag, t[i].tag, when);
	}
}

static char *media_type(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	if (!ct)
		return g_strdup("application/octet-stream");
	/* g_mime_content_type_get_mime_type() returns a new string */
	char *t = g_mime_content_type_get_mime_type(ct);
	char *lower = g_ascii_strdown(t ? t : "application/octet-stream", -1);
	g_free(t);
	return lower;
}

/* The properties every attachment gets from its MIME headers. */
static void attachment_common(ctx *c, mapper_attachment *a, GMimeObject *o)
{
	mapper_bag *bag = &a->props;
	const char *cid = g_mime_object_get_content_id(o);
	if (cid && *cid)
		bag_set_string(bag, TAG_ATTACH_CONTENT_ID, cid);
	const char *loc = g_mime_object_get_header(o, "Content-Location");
	if (loc && *loc) {
		char *l = unfold(loc);
		bag_set_string(bag, TAG_ATTACH_CONTENT_LOCATION, l);
		g_free(l);
	}
	const char *base = g_mime_object_get_header(o, "Content-Base");
	if (base && *base) {
		char *b = unfold(base);
		bag_set_string(bag, TAG_ATTACH_CONTENT_BASE, b);
		g_free(b);
	}
	const char *pc = g_mime_object_get_header(o, "X-Payload-Class");
	if (pc && *pc)
		bag_set_string(bag, TAG_ATTACH_PAYLOAD_CLASS, pc);
	set_disposition_times(bag, o);
}

static void add_leaf_attachment(ctx *c, GMimePart *part)
{
	GMimeObject *o = GMIME_OBJECT(part);
	mapper_attachment *a = new_attachment(c->m);
	mapper_bag *bag = &a->props;
	char *mime = media_type(o);

	/* 4.2 item 1 gives a TNEF stream that cannot be used application/
	 * octet-stream; issue 12 keeps its real media type, which says what it is */
	bag_set_string(bag, TAG_ATTACH_MIME_TAG, mime);
	if (g_str_has_prefix(mime, "text/")) {
		const char *cs = g_mime_object_get_content_type_parameter(o, "charset");
		if (cs && *cs)
			bag_set_string(bag, TAG_TEXT_ATTACHMENT_CHARSET, cs);
	}

	/* 4.2 item 2: Content-Disposition filename, Content-Type name, then description */
	const char *fname = g_mime_part_get_filename(part);
	char *desc = NULL;
	const char *d = g_mime_part_get_content_description(part);
	if (d)
		desc = to_utf8(c, d);
	char *name8 = fname && *fname ? to_utf8(c, fname) : NULL;
	if (name8 && *name8)
		set_attachment_names(bag, name8, desc);
	else if (desc && *desc)
		set_attachment_names(bag, desc, desc);
	else {
		/* no name at all: generated as gromox does, pkcs7 data as smime.p7m (Kopano) */
		char *gen = (ieq(mime, "application/pkcs7-mime") || ieq(mime, "application/x-pkcs7-mime"))
		            ? g_strdup("smime.p7m")
		            : g_strdup_printf("attachment%u%s", c->m->attachments->len, extension_for(mime));
		set_attachment_names(bag, gen, NULL);
		g_free(gen);
	}
	g_free(name8);
	g_free(desc);

	mapper_deferred *left = deferrable(c, part);
	if (left) {
		bag_set_int(bag, TAG_ATTACH_SIZE, (int64_t)mapper_deferred_size(left));
		bag_set_deferred(bag, TAG_ATTACH_DATA_BINARY, left);
		c->m->has_deferred = true;
	} else {
		GBytes *data = part_content(part);
		bag_set_int(bag, TAG_ATTACH_SIZE, (int64_t)g_bytes_get_size(data));
		bag_set_binary_take(bag, TAG_ATTACH_DATA_BINARY, data);
	}
	bag_set_int(bag, TAG_ATTACH_METHOD, 1); /* afByValue */
	attachment_common(c, a, o);

	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(o);
	if (!disp || !g_mime_content_disposition_is_attachment(disp))
		g_ptr_array_add(c->inline_candidates, a);
	bag_set_bool(bag, TAG_ATTACHMENT_HIDDEN, FALSE);
	g_free(mime);
}


/* ---- where a part ends ------------------------------------------------- */

/* One object of the parse: the offset of its first own header field (-1
 * if none) and the index in ctx.order just past its subtree. */
typedef struct {
	gint64 first;
	guint end;
} part_pos;

static gint64 first_offset(GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	gint64 first = -1;
	for (int i = 0; hl && i < g_mime_header_list_get_count(hl); i++) {
		gint64 off = g_mime_header_get_offset(g_mime_header_list_get_header_at(hl, i));
		if (off >= 0 && (first < 0 || off < first))
			first = off;
	}
	return first;
}

static void index_parts(ctx *c, GMimeObject *o, int depth)
{
	guint me = c->order->len;
	part_pos p = { first_offset(o), 0 };
	g_array_append_val(c->order, p);
	g_hash_table_insert(c->order_index, o, GUINT_TO_POINTER(me + 1));
	GMimeObject *sub = NULL;
	/* deeper than the walk goes (it counts multiparts only) is left out */
	bool deeper = depth <= 2 * MAPPER_MAX_DEPTH;
	if (deeper && GMIME_IS_MULTIPART(o)) {
		for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o)); i++)
			index_parts(c, g_mime_multipart_get_part(GMIME_MULTIPART(o), i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		sub = GMIME_OBJECT(g_mime_message_part_get_message(GMIME_MESSAGE_PART(o)));
	} else if (GMIME_IS_MESSAGE(o)) {
		sub = g_mime_message_get_mime_part(GMIME_MESSAGE(o));
	}
	if (sub && deeper)
		index_parts(c, sub, depth + 1);
	g_array_index(c->order, part_pos, me).end = c->order->len;
}

/* The part of @o ends before the next thing GMime parsed after it (the
 * first header field of the next object that is not inside it); where
 * that is preceded by a delimiter line, before that line.  c->len if
 * nothing follows. */
static size_t part_end(ctx *c, GMimeObject *o)
{
	if (!c->order) {
		c->order = g_array_new(FALSE, FALSE, sizeof(part_pos));
		c->order_index = g_hash_table_new(g_direct_hash, g_direct_equal);
		if (c->msg)
			index_parts(c, GMIME_OBJECT(c->msg), 0);
	}
	guint i = GPOINTER_TO_UINT(g_hash_table_lookup(c->order_index, o));
	if (!i)
		return c->len;
	gint64 next = -1;
	for (guint k = g_array_index(c->order, part_pos, i - 1).end; k < c->order->len && next < 0; k++)
		next = g_array_index(c->order, part_pos, k).first;
	if (next < 0 || (size_t)next > c->len)
		return c->len;
	/* back over the line break that ends the delimiter line, the line, and
	 * the line break before it (RFC 2046 5.1.1) */
	size_t p = (size_t)next;
	if (p > 0 && c->data[p - 1] == '\n')
		p--;
	while (p > 0 && c->data[p - 1] != '\n')
		p--;
	if (p + 1 < (size_t)next && c->data[p] == '-' && c->data[p + 1] == '-') {
		if (p > 0 && c->data[p - 1] == '\n')
			p--;
		if (p > 0 && c->data[p - 1] == '\r')
			p--;
		return p;
	}
	return (size_t)next;
}

/* The bytes of an embedded message as the input has them: from its first
 * header field to the boundary that closes its part (RFC 2046 5.1.1: the
 * line break before a boundary belongs to the boundary).  Signed content
 * forwarded inside must stay byte-exact (MS-OXOSMIME 2.2.1 item 4a).  When
 * the part was transfer-encoded, or the offsets do not check out, GMime
 * writes the message out again with the input's line endings. */
static GByteArray *embedded_bytes(ctx *c, GMimeMessage *inner)
{
	GByteArray *buf = g_byte_array_new();
	GPtrArray *hs = all_headers(inner);
	gint64 start = -1;
	GMimeHeader *first = NULL;
	for (guint i = 0; i < hs->len; i++) {
		gint64 o = g_mime_header_get_offset(hs->pdata[i]);
		if (o >= 0 && (start < 0 || o < start)) {
			start = o;
			first = hs->pdata[i];
		}
	}
	g_ptr_array_unref(hs);
	if (first && (size_t)start < c->len) {
		const char *name = g_mime_header_get_raw_name(first);
		size_t nl = strlen(name);
		if ((size_t)start + nl < c->len && memcmp(c->data + start, name, nl) == 0 &&
		    c->data[start + nl] == ':') {
			/* GMime may have ended the part at an outer boundary that the
			 * delimiter search below does not know; past that it would take
			 * in the parts that follow, each of them again in the part
			 * before it -- exponentially many embedded messages in a
			 * 110 KB input (fuzz-import) */
			size_t end = part_end(c, GMIME_OBJECT(inner));
			if (end < (size_t)start)
				end = c->len;
			if (c->boundary) {
				char *delim = g_strconcat("\n--", c->boundary, NULL);
				const char *hit = g_strstr_len(c->data + start, (gssize)(end - (size_t)start), delim);
				if (hit) {
					end = (size_t)(hit - c->data);
					if (end > (size_t)start && c->data[end - 1] == '\r')
						end--;
				}
				g_free(delim);
			}
			g_byte_array_append(buf, (const guint8 *)c->data + start, (guint)(end - (size_t)start));
			return buf;
		}
	}
	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, c->crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(buf);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	g_mime_object_write_to_stream(GMIME_OBJECT(inner), fo, s);
	g_object_unref(s);
	g_mime_format_options_free(fo);
	return buf;
}

/* message/rfc822: attach method 5 with a nested message object (4.2 item 6). */
static void add_embedded(ctx *c, GMimeMessagePart *mpart, int depth)
{
	if (c->fd >= 0) {
		/* embedded_bytes() takes the bytes from the input */
		c->need_memory = true;
		return;
	}
	GMimeObject *o = GMIME_OBJECT(mpart);
	GMimeMessage *inner = g_mime_message_part_get_message(mpart);
	mapper_attachment *a = new_attachment(c->m);
	mapper_bag *bag = &a->props;

	char *mime = media_type(o);
	bag_set_string(bag, TAG_ATTACH_MIME_TAG, mime);
	g_free(mime);
	attachment_common(c, a, o);

	GByteArray *buf = inner ? embedded_bytes(c, inner) : g_byte_array_new();

	if (depth >= MAPPER_MAX_DEPTH) {
		message_warn(c->m, "embedded messages nested deeper than %d levels are kept as data", MAPPER_MAX_DEPTH);
		bag_set_int(bag, TAG_ATTACH_METHOD, 1);
		bag_set_binary_take(bag, TAG_ATTACH_DATA_BINARY, g_byte_array_free_to_bytes(buf));
		set_attachment_names(bag, "message.eml", NULL);
		return;
	}

	mapper_message *em = message_new(c->m->depth + 1);
	em->level = MAPPER_LOAD_FULL;
	em->raw = g_byte_array_free_to_bytes(buf);
	static const mapper_source none;
	gsize n;
	const char *d = g_bytes_get_data(em->raw, &n);
	import_message(em, d ? d : "", n, &none, MAPPER_LOAD_FULL);
	/* one prefix however deep the problem sits */
	if (em->warning && g_str_has_prefix(em->warning, "in embedded message"))
		message_warn(c->m, "%s", em->warning);
	else if (em->warning)
		message_warn(c->m, "in embedded message: %s", em->warning);
	a->embedded = em;
	bag_set_int(bag, TAG_ATTACH_METHOD, 5); /* afEmbeddedMessage */
	bag_set_int(bag, TAG_ATTACH_SIZE, (int64_t)n);

	/* display name: name, filename, description, then the inner subject */
	const char *name = g_mime_object_get_content_type_parameter(o, "name");
	if (!name || !*name)
		name = g_mime_object_get_content_disposition_parameter(o, "filename");
	if (!name || !*name)
		name = g_mime_object_get_header(o, "Content-Description");
	mapper_prop *subj = bag_get(&em->props, TAG_SUBJECT);
	char *dn = name && *name ? to_utf8(c, name)
	           : g_strdup(subj && subj->str && *subj->str ? subj->str : "Embedded message");
	char *clean = sanitize_name(dn);
	bag_set_string(bag, TAG_DISPLAY_NAME, clean);
	g_free(clean);
	g_free(dn);
}

/* The machine-readable part of a report (multipart/report, RFC 6522): read
 * into the message's class, properties and recipient rows (report.c), and
 * not an attachment; a part it cannot use stays one. */
static bool take_report(ctx *c, GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	const char *sub = ct && ieq(g_mime_content_type_get_media_type(ct), "message")
	                  ? g_mime_content_type_get_media_subtype(ct) : NULL;
	bool mdn = sub && ieq(sub, "disposition-notification");
	if (!sub || (!mdn && !ieq(sub, "delivery-status")))
		return false;
	GBytes *b = part_content(part);
	gsize n;
	const char *d = g_bytes_get_data(b, &n);
	mapper_prop *date = bag_get(&c->m->props, TAG_CLIENT_SUBMIT_TIME);
	c->report_read = report_read(c->m, mdn, d ? d : "", n, date ? date->v.t : 0, date != NULL);
	g_bytes_unref(b);
	return c->report_read;
}

/* What a report says of the message it reports on, from its third part
 * (the message, or its header as text/rfc822-headers): PidTagOriginalSubject
 * and the like.  MS-OXCMAIL leaves this to the reader; Outlook shows them. */
static void report_original(ctx *c)
{
	for (guint i = 0; c->report_read && i < c->m->attachments->len; i++) {
		mapper_attachment *a = c->m->attachments->pdata[i];
		mapper_bag *from = a->embedded ? &a->embedded->props : NULL;
		if (!from)
			continue;
		static const uint32_t pairs[][2] = {
			{ TAG_SUBJECT, TAG_ORIGINAL_SUBJECT },
			{ TAG_CLIENT_SUBMIT_TIME, TAG_ORIGINAL_SUBMIT_TIME },
			{ TAG_DISPLAY_TO, TAG_ORIGINAL_DISPLAY_TO },
		};
		for (size_t k = 0; k < G_N_ELEMENTS(pairs); k++) {
			mapper_prop *p = bag_get(from, pairs[k][0]);
			if (!p || bag_get(&c->m->props, pairs[k][1]))
				continue;
			if (PROP_TYPE(pairs[k][0]) == PT_SYSTIME)
				bag_set_time(&c->m->props, pairs[k][1], p->v.t);
			else if (p->str)
				bag_set_string(&c->m->props, pairs[k][1], p->str);
		}
		break;
	}
}

/* ---- TNEF (MS-OXCMAIL 2.1.3.2.26, MS-OXTNEF) ------------------------------ */

static bool is_tnef_type(const char *type, const char *subtype)
{
	return type && subtype && ieq(type, "application") &&
	       (ieq(subtype, "ms-tnef") || ieq(subtype, "vnd.ms-tnef"));
}

static bool is_tnef(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	return ct && is_tnef_type(g_mime_content_type_get_media_type(ct), g_mime_content_type_get_media_subtype(ct));
}

/* The message's X-MS-TNEF-Correlator, trimmed; NULL if it has none. */
static char *tnef_correlator(ctx *c)
{
	const char *v = c->msg ? g_mime_object_get_header(GMIME_OBJECT(c->msg), "X-MS-TNEF-Correlator") : NULL;
	char *s = v ? g_strstrip(g_strdup(v)) : NULL;
	if (s && !*s) {
		g_free(s);
		s = NULL;
	}
	return s;
}

/* Whether the header block says a TNEF stream belongs to the message (a
 * correlator, or TNEF as the whole content), so that the stream's
 * properties, which win (tnef.c), are only known from the body.  A stream
 * in a message that announces none has nothing to be checked against
 * (MS-OXCMAIL 2.1.3.2.26) and stays an attachment: the header block alone
 * then tells which objects a TNEF stream changes (mapper_message_needs_body). */
static bool tnef_announced(ctx *c)
{
	char *corr = tnef_correlator(c);
	bool yes = corr != NULL;
	g_free(corr);
	return yes || (c->last_ct && is_tnef_type(g_mime_content_type_get_media_type(c->last_ct),
	                                          g_mime_content_type_get_media_subtype(c->last_ct)));
}

/* The TNEF stream's properties over the message's; a subject of its own
 * brings its prefix, normalized form and topic along, unless it has them
 * too (oxcmail-mapping.md 1.4).  They all stand for the stream's value, so
 * they are marked as its (edit.c keeps them read-only). */
static void tnef_subject(ctx *c)
{
	mapper_bag *bag = &c->m->props;
	tnef_apply_props(c->tnef, c->m);
	mapper_prop *subj = bag_get(bag, TAG_SUBJECT), *norm = bag_get(bag, TAG_NORMALIZED_SUBJECT),
	            *topic = bag_get(bag, TAG_CONVERSATION_TOPIC);
	if (!subj || !subj->tnef || !subj->str || (norm && norm->tnef))
		return;
	bool own_topic = topic && topic->tnef;
	char *s = g_strdup(subj->str);
	set_subject(bag, s);
	g_free(s);
	if (!own_topic)
		bag_set_string(bag, TAG_CONVERSATION_TOPIC, bag_get(bag, TAG_NORMALIZED_SUBJECT)->str);
	static const uint32_t tags[] = { TAG_SUBJECT, TAG_SUBJECT_PREFIX, TAG_NORMALIZED_SUBJECT,
	                                 TAG_CONVERSATION_TOPIC };
	for (size_t i = 0; i < G_N_ELEMENTS(tags); i++)
		bag_get(bag, tags[i])->tnef = true;
}

/* The first application/ms-tnef part at the top of the message: when it
 * belongs to the message, its attachments become the message's (each
 * standing on the part in the layout, which the writer keeps as it is)
 * and its message properties are applied after the walk.  False leaves
 * the part to be an ordinary attachment, with a warning saying why. */
static bool take_tnef(ctx *c, GMimePart *part)
{
	c->tnef_tried = true;
	if (!c->m->tnef_expected) {
		message_warn(c->m, "the TNEF part (winmail.dat) is kept as it is: the message has no "
		             "X-MS-TNEF-Correlator to match it (MS-OXCMAIL 2.1.3.2.26)");
		return false;
	}
	GBytes *b = part_content(part);
	gsize n;
	const char *d = g_bytes_get_data(b, &n);
	char *corr = tnef_correlator(c), *why = NULL;
	tnef_content *t = NULL;
	tnef_result r = tnef_read(d ? d : "", n, corr, c->m->depth, &t, &why);
	g_bytes_unref(b);
	g_free(corr);
	if (r != TNEF_OK) {
		message_warn(c->m, "the TNEF part (winmail.dat) is kept as it is: %s", why);
		g_free(why);
		return false;
	}
	guint k = tnef_attachment_count(t);
	for (guint i = 0; c->parts && i < k; i++)
		g_ptr_array_add(c->parts, g_object_ref(part));
	tnef_take_attachments(t, c->m);
	c->tnef = t;
	return true;
}

/* An iCalendar stream larger than this is not read from the message file
 * (one invitation is a few kilobytes; a large part may be left there). */
#define CALENDAR_MAX (16u << 20)

/* The bytes of attachment data @data, also when they were left in the
 * message file (a load from the file defers large parts: the meeting must
 * not depend on how the message was loaded); NULL if they cannot be had. */
static GBytes *data_bytes(ctx *c, mapper_prop *data)
{
	if (data->bin)
		return g_bytes_ref(data->bin);
	if (!data->deferred || c->fd < 0 || mapper_deferred_size(data->deferred) > CALENDAR_MAX)
		return NULL;
	size_t n = (size_t)mapper_deferred_size(data->deferred);
	char *buf = g_malloc(n + 1);
	ssize_t got = mapper_deferred_pread(data->deferred, c->fd, buf, n, 0);
	if (got < 0) {
		g_free(buf);
		return NULL;
	}
	return g_bytes_new_take(buf, (gsize)got);
}

/* MS-OXCMAIL 2.2.3.3.3: a text/calendar part (the iCalendar an invitation
 * carries, as an alternative or an attachment; the first one) makes the
 * message a meeting object (meeting.c, MS-OXCICAL).  The part itself stays
 * the attachment it is, the iCalendar stream as it came. */
static void meeting_from_calendar(ctx *c)
{
	for (guint i = 0; i < c->m->attachments->len; i++) {
		mapper_attachment *a = c->m->attachments->pdata[i];
		mapper_prop *mt = bag_get(&a->props, TAG_ATTACH_MIME_TAG);
		const char *tag = mt ? mt->str : NULL;
		mapper_prop *data = bag_get(&a->props, TAG_ATTACH_DATA_BINARY);
		if (!tag || !(ieq(tag, "text/calendar") || ieq(tag, "application/ics")) || !data)
			continue;
		GBytes *b = data_bytes(c, data);
		if (!b)
			continue;
		gsize n;
		const char *d = g_bytes_get_data(b, &n);
		bool read = meeting_read(c->m, d ? d : "", n);
		g_bytes_unref(b);
		if (read)
			return;
	}
}

/* Depth-first over the MIME tree: the first qualifying entity is the body
 * (3.2), every other leaf an attachment (4.2). */
static void walk(ctx *c, GMimeObject *o, int depth, GMimeObject **body)
{
	if (c->body_only && *body)
		return;
	if (depth > MAPPER_MAX_DEPTH) {
		message_warn(c->m, "MIME parts nested deeper than %d levels are not shown", MAPPER_MAX_DEPTH);
		return;
	}
	if (!*body && qualifies(o, depth) != BODY_NONE) {
		take_body(c, o, depth, body);
		return;
	}
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		const char *outer = c->boundary;
		c->boundary = multipart_boundary(mp);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			walk(c, g_mime_multipart_get_part(mp, i), depth + 1, body);
		c->boundary = outer;
	} else if (c->body_only) {
		return;
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		if (c->parts)
			g_ptr_array_add(c->parts, g_object_ref(o));
		add_embedded(c, GMIME_MESSAGE_PART(o), c->m->depth + depth + 1);
	} else if (GMIME_IS_PART(o)) {
		if (depth == 1 && c->m->body_decides && !c->report_read && take_report(c, GMIME_PART(o)))
			return;
		if (depth <= 1 && !c->tnef_tried && is_tnef(o) && take_tnef(c, GMIME_PART(o)))
			return;
		if (c->parts)
			g_ptr_array_add(c->parts, g_object_ref(o));
		/* MS-OXCMAIL 2.2.3.9.2: never reassembled (a scanner must not be
		 * defeated by split content); readers SHOULD reject such mail.  A
		 * store cannot refuse what is on disk: the fragment stays an
		 * opaque attachment, and the message says why */
		if (GMIME_IS_MESSAGE_PARTIAL(o))
			message_warn(c->m, "message/partial (part %d of %d): shown as it is, not reassembled "
			             "(MS-OXCMAIL 2.2.3.9.2)",
			             g_mime_message_partial_get_number(GMIME_MESSAGE_PARTIAL(o)),
			             g_mime_message_partial_get_total(GMIME_MESSAGE_PARTIAL(o)));
		add_leaf_attachment(c, GMIME_PART(o));
	}
}

/* The body of a clear-signed message's first part; its other parts stay
 * inside the one SMIME.txt attachment (MS-OXOSMIME 2.2.1 item 4). */
static void take_body_only(ctx *c, GMimeObject *o, int depth, GMimeObject **body)
{
	c->body_only = true;
	walk(c, o, depth, body);
	c->body_only = false;
}

/* MS-OXCMAIL 2.1.3.4.1.2 / 4.2 item 7 (the Kopano rule): an inline part whose
 * Content-ID the HTML body refers to is rendered in the body, so hidden.
 * "Refers to" is: the HTML holds "cid:" and the Content-ID, else the
 * Content-Location, anywhere. */
static void mark_inline(ctx *c)
{
	if (!c->html_body || !c->html_text)
		return;
	guint n = c->inline_candidates->len;
	GPtrArray *needles = g_ptr_array_new_with_free_func(g_free);
	gint *cid_at = g_new(gint, n ? n : 1), *loc_at = g_new(gint, n ? n : 1);
	for (guint i = 0; i < n; i++) {
		mapper_attachment *a = c->inline_candidates->pdata[i];
		mapper_prop *cid = bag_get(&a->props, TAG_ATTACH_CONTENT_ID);
		mapper_prop *loc = bag_get(&a->props, TAG_ATTACH_CONTENT_LOCATION);
		cid_at[i] = loc_at[i] = -1;
		if (cid && cid->str) {
			cid_at[i] = (gint)needles->len;
			g_ptr_array_add(needles, g_strconcat("cid:", cid->str, NULL));
		}
		if (loc && loc->str && *loc->str) {
			loc_at[i] = (gint)needles->len;
			g_ptr_array_add(needles, g_strdup(loc->str));
		}
	}
	gboolean *found = text_contains(c->html_text, (const char *const *)needles->pdata,
	                                       needles->len);
	for (guint i = 0; i < n; i++) {
		mapper_attachment *a = c->inline_candidates->pdata[i];
		if ((cid_at[i] >= 0 && found[cid_at[i]]) || (loc_at[i] >= 0 && found[loc_at[i]])) {
			bag_set_int(&a->props, TAG_ATTACH_FLAGS, 0x4); /* attRenderedInBody */
			bag_set_bool(&a->props, TAG_ATTACHMENT_HIDDEN, TRUE);
		}
	}
	g_free(found);
	g_free(cid_at);
	g_free(loc_at);
	g_ptr_array_unref(needles);
}

/* ---- S/MIME to a message object (MS-OXOSMIME 3.1.5.1.2, 3.1.5.2.2) ------ */

/* Offset of the first body byte: after the empty line at @headers_end. */
static size_t body_start(const ctx *c)
{
	size_t p = (size_t)c->headers_end;
	if (p < c->len && c->data[p] == '\r')
		p++;
	if (p < c->len && c->data[p] == '\n')
		p++;
	return p;
}

/* The exact bytes of the last Content-Type header field, folding included:
 * from its offset to the first line break not followed by white space
 * (RFC 5322 2.2.3).  After an mbox "From " line GMime's first offset is
 * known to be off; then the raw name and value, which hold the same bytes,
 * are joined instead. */
static GString *raw_content_type_field(ctx *c)
{
	GMimeHeader *h = c->last_ct_header;
	const char *rname = g_mime_header_get_raw_name(h);
	gint64 start = g_mime_header_get_offset(h);
	size_t rl = strlen(rname);
	GString *out = g_string_new(NULL);
	if (start >= 0 && (size_t)start + rl < (size_t)c->headers_end &&
	    memcmp(c->data + start, rname, rl) == 0 && c->data[start + rl] == ':') {
		size_t end = (size_t)start;
		size_t limit = (size_t)c->headers_end;
		while (end < limit) {
			const char *nl = memchr(c->data + end, '\n', limit - end);
			end = nl ? (size_t)(nl - c->data) + 1 : limit;
			if (end >= limit || (c->data[end] != ' ' && c->data[end] != '\t'))
				break;
		}
		g_string_append_len(out, c->data + start, (gssize)(end - (size_t)start));
	} else {
		g_string_append(out, rname);
		g_string_append_c(out, ':');
		g_string_append(out, g_mime_header_get_raw_value(h));
	}
	return out;
}

/* MS-OXOSMIME 3.1.5.1.2 Converting a Clear-Signed Message in Internet Format
 * into a Message Object, steps 2-5 (step 1 is import_headers): the one
 * attachment (2.2.1 item 4) is the multipart/signed entity: the
 * Content-Type field, then the body, byte for byte; every other header
 * field is left out.  The body is promoted from the first part (2.2.1 item 2). */
static void import_clear_signed(ctx *c)
{
	mapper_message *m = c->m;
	GString *entity = raw_content_type_field(c);
	size_t bs = body_start(c);
	/* the empty line exactly as the message has it */
	if ((size_t)c->headers_end < c->len)
		g_string_append_len(entity, c->data + c->headers_end, (gssize)(bs - (size_t)c->headers_end));
	else
		g_string_append(entity, "\r\n");
	if (bs < c->len)
		g_string_append_len(entity, c->data + bs, (gssize)(c->len - bs));

	mapper_attachment *a = new_attachment(m);
	mapper_bag *bag = &a->props;
	bag_set_int(bag, TAG_ATTACH_METHOD, 1);                          /* 4.b.i */
	bag_set_string(bag, TAG_ATTACH_MIME_TAG, "multipart/signed");    /* 4.b.ii */
	bag_set_string(bag, TAG_ATTACH_FILENAME, "SMIME.txt");           /* 4.b.iii */
	bag_set_string(bag, TAG_ATTACH_LONG_FILENAME, "SMIME.txt");      /* 4.b.iv */
	bag_set_string(bag, TAG_DISPLAY_NAME, "SMIME.txt");              /* 4.b.v */
	bag_set_string(bag, TAG_ATTACH_EXTENSION, ".txt");               /* 4.b.vi (MAY) */
	bag_set_int(bag, TAG_ATTACH_SIZE, (int64_t)entity->len);
	bag_set_binary_take(bag, TAG_ATTACH_DATA_BINARY, g_string_free_to_bytes(entity));

	/* item 2: the body comes from the first part, read as a complete message */
	GMimeObject *top = g_mime_message_get_mime_part(c->msg);
	if (top && GMIME_IS_MULTIPART(top)) {
		GMimeObject *signed_part = first_child(top);
		GMimeObject *body = NULL;
		if (signed_part)
			take_body_only(c, signed_part, 1, &body);
	} else {
		message_warn(m, "multipart/signed without parts");
	}
}

/* MS-OXOSMIME 3.1.5.2.2 Converting an S/MIME Opaque-Signed or Encrypted
 * Message in Internet Format into a Message Object, step 3 (step 1 is
 * import_headers, step 2 set_message_class): the message entity promoted
 * as one attachment by the ordinary rules, holding the transfer-decoded
 * CMS bytes (2.2.2 item 5). */
static void import_opaque(ctx *c)
{
	GMimeObject *top = g_mime_message_get_mime_part(c->msg);
	if (top && GMIME_IS_PART(top)) {
		add_leaf_attachment(c, GMIME_PART(top));
		mapper_attachment *a = c->m->attachments->pdata[c->m->attachments->len - 1];
		/* 5.b: the mime tag matches the media type of the entity */
		char *mime = media_type(top);
		bag_set_string(&a->props, TAG_ATTACH_MIME_TAG, mime);
		g_free(mime);
		/* the message entity is not an inline part of anything */
		g_ptr_array_remove(c->inline_candidates, a);
	} else {
		message_warn(c->m, "S/MIME entity could not be read");
	}
}

/* ---- entry point --------------------------------------------------------- */

/* Whether the line at @p looks like a header field: a name of printable
 * characters but ':' (RFC 5322 2.2), optional blanks, then ':'. */
static bool header_line(const char *p, const char *end)
{
	const char *c = p;
	while (c < end && *c > ' ' && *c < 0x7f && *c != ':')
		c++;
	if (c == p)
		return false;
	while (c < end && (*c == ' ' || *c == '\t'))
		c++;
	return c < end && *c == ':';
}

/* Bytes before the first header field, looked for in the first few lines only. */
static size_t leading_junk(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	for (int line = 0; line < 8 && p < end; line++) {
		if (header_line(p, end))
			return (size_t)(p - data);
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			return 0; /* an empty line: no header block at all */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

/*
 * GMime 3.2 checks every parameter of a Content-Type or Content-Disposition
 * against all the others for a "conflicting parameter" warning, but only
 * when a warning callback is set: O(p^2) in the parameters of one field
 * (100,000 of them: 45 s).  A message with a field that long loses its
 * parser warnings instead (issue 9: every step at most O(n log n)).  The
 * count is per logical line (continuations folded in), over all the bytes:
 * a body line with that many semicolons only costs the warnings too.
 */
#define MAX_PARAMS_WITH_WARNINGS 1000

/* The count of has_long_parameter_list(), fed the input a block at a time
 * (a message parsed from its file is not in memory). */
typedef struct semi_count {
	size_t semis;       /* ';' in the current logical line */
	bool nl_last;       /* the last block ended with '\n' */
} semi_count;

/* Jumps from one ';' to the next with memchr: a base64 body of 100 MB has
 * none, and is passed over at memory speed rather than byte by byte. */
static bool count_semis(semi_count *sc, const char *p, const char *end)
{
	const char *semi;
	/* a logical line (RFC 5322 2.2.3 folding) ended at a block's end? */
	if (sc->nl_last && p < end && *p != ' ' && *p != '\t')
		sc->semis = 0;
	sc->nl_last = false;
	while ((semi = memchr(p, ';', (size_t)(end - p))) != NULL) {
		/* a logical line ended since the last one? */
		for (const char *nl = memchr(p, '\n', (size_t)(semi - p)); nl;
		     nl = memchr(nl + 1, '\n', (size_t)(semi - nl - 1))) {
			if (nl[1] != ' ' && nl[1] != '\t') {   /* nl < semi: nl[1] exists */
				sc->semis = 0;
				break;
			}
		}
		if (++sc->semis > MAX_PARAMS_WITH_WARNINGS)
			return true;
		p = semi + 1;
	}
	/* the line breaks after the last ';' matter to the next block's */
	for (const char *nl = sc->semis ? memchr(p, '\n', (size_t)(end - p)) : NULL; nl;
	     nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1))) {
		if (nl + 1 == end) {
			sc->nl_last = true;
			break;
		}
		if (nl[1] != ' ' && nl[1] != '\t') {
			sc->semis = 0;
			break;
		}
	}
	return false;
}

static bool has_long_parameter_list(const char *data, size_t len)
{
	semi_count sc = { 0 };
	return count_semis(&sc, data, data + len);
}

/* The same over the file @fd, a block at a time; false if it cannot be read. */
static bool file_has_long_parameter_list(int fd, size_t len)
{
	enum { CHUNK = 1 << 20 };
	char *buf = g_malloc(CHUNK);
	semi_count sc = { 0 };
	bool hit = false;
	for (size_t off = 0; off < len && !hit;) {
		ssize_t n = file_read_at(fd, buf, MIN((size_t)CHUNK, len - off), (int64_t)off);
		if (n <= 0)
			break;
		hit = count_semis(&sc, buf, buf + n);
		off += (size_t)n;
	}
	g_free(buf);
	return hit;
}

/* A GMime stream over @data that does not copy it, as
 * g_mime_stream_mem_new_with_buffer() does: a message of 137 MB would be
 * held twice while it is parsed (issue 11).  The array adopts the buffer
 * and gives it back, unfreed, when the last GMime object using the stream
 * is gone (view_gone); @data must outlive those objects, as it does: the
 * parse and the layout end before import returns (export clears its
 * layout before the caller frees the bytes). */
static void view_gone(gpointer array, GObject *stream)
{
	gsize n;
	g_byte_array_steal(array, &n);   /* the bytes are the caller's */
	g_byte_array_unref(array);
}

static GMimeStream *stream_view(const char *data, size_t len)
{
	GByteArray *array = g_byte_array_new_take((guint8 *)data, len);
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(array);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	g_object_weak_ref(G_OBJECT(s), view_gone, array);
	return s;
}

/* A message parsed from its file (import_message_file). */
typedef struct file_input {
	int fd;
	size_t len;
	size_t defer_min;
} file_input;

/* The body, attachments and what follows from them, of a full load. */
static void import_body(ctx *c, import_layout *layout)
{
	mapper_message *m = c->m;
	GMimeObject *top = g_mime_message_get_mime_part(c->msg);
	if (m->smime == SMIME_CLEAR_SIGNED) {
		import_clear_signed(c);
	} else if (m->smime == SMIME_OPAQUE) {
		import_opaque(c);  /* no body: MS-OXOSMIME 2.2.2 item 2 */
	} else if (top) {
		GMimeObject *body = NULL;
		walk(c, top, 0, &body);
		mark_inline(c);
		report_original(c);
		if (!c->report_read)
			meeting_from_calendar(c);
		if (layout)
			layout->body = body ? g_object_ref(body) : NULL;
	}
	if (m->smime != SMIME_OPAQUE)
		body_text_from_html(c);
	/* MS-OXCMAIL 2.1.3.2.26: the properties of the message's own TNEF
	 * stream win over those the MIME gave */
	if (c->tnef)
		tnef_subject(c);
	int64_t flags = m->pending_flags;
	if (m->attachments->len)
		flags |= MF_HAS_ATTACH;
	bag_set_int(&m->props, TAG_MESSAGE_FLAGS, flags);
	bag_set_bool(&m->props, TAG_HAS_ATTACHMENTS, m->attachments->len > 0);
}

/* With @file, @data is the header block of the file (and the return is
 * false if the conversion needs more of it: see import_message_file). */
static bool import_with_layout(mapper_message *m, const char *data, size_t len,
                               const mapper_source *src, mapper_load_level level,
                               import_layout *layout, const file_input *file)
{
	ctx c = { 0 };
	c.m = m;
	c.fd = file ? file->fd : -1;
	c.defer_min = file ? file->defer_min : 0;
	/* Lines before the first header field are not part of the message: an
	 * mbox "From " line, an HTTP request line of an AS2 capture, a stray
	 * continuation.  They are skipped, so offsets below are in the message. */
	size_t skip = leading_junk(data, len);
	if (file && skip)
		return false;   /* the parse's offsets would be the file's, not the message's */
	if (layout)
		layout->skip = skip;
	data += skip;
	len -= skip;
	c.data = data;
	c.len = len;
	c.opts = g_mime_parser_options_new();
	if (!(file ? file_has_long_parameter_list(file->fd, file->len)
	           : has_long_parameter_list(data, len)))
		g_mime_parser_options_set_warning_callback(c.opts, parser_warning, m);
	c.inline_candidates = g_ptr_array_new();

	GMimeStream *stream;
	if (file) {
		/* read as it is parsed; the content of a part is a substream of it
		 * (the parser persists the stream), not a copy */
		stream = g_mime_stream_fs_new_with_bounds(file->fd, 0, (gint64)file->len);
		g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
	} else {
		stream = stream_view(data, len);
	}
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	g_mime_parser_set_respect_content_length(parser, FALSE);
	c.msg = g_mime_parser_construct_message(parser, c.opts);
	c.headers_end = g_mime_parser_get_headers_end(parser);
	if (file && c.msg && (c.headers_end < 0 || (size_t)c.headers_end > len))
		c.need_memory = true;   /* GMime's header block is not the one read */
	if (c.headers_end < 0 || (size_t)c.headers_end > len)
		c.headers_end = (gint64)len;
	c.crlf = c.headers_end >= 2 && data[c.headers_end - 2] == '\r';
	if (layout) {
		layout->headers_end = (size_t)c.headers_end;
		layout->crlf = c.crlf;
		c.parts = layout->parts;
	}

	if (!c.msg) {
		message_warn(m, "not an Internet message: no header could be parsed");
		bag_set_string(&m->props, TAG_MESSAGE_CLASS, "IPM.Note");
		if (level == MAPPER_LOAD_FULL) {
			bag_set_int(&m->props, TAG_MESSAGE_FLAGS, 0);
			bag_set_bool(&m->props, TAG_HAS_ATTACHMENTS, FALSE);
		}
		goto out;
	}

	/* MS-OXCMAIL 2.2.3.2.28: the header block as it came */
	if (c.headers_end > 0) {
		char *block = g_strndup(data, (gsize)c.headers_end);
		char *u = to_utf8(&c, block);
		bag_set_string(&m->props, TAG_TRANSPORT_MESSAGE_HEADERS, u);
		g_free(u);
		g_free(block);
	}
	import_headers(&c, src);
	/* S/MIME conversion keeps the body's bytes (MS-OXOSMIME 2.2.1 item 4) */
	if (c.fd >= 0 && m->smime != SMIME_NONE)
		c.need_memory = true;

	if (level == MAPPER_LOAD_FULL && !c.need_memory)
		import_body(&c, layout);
	bag_number_named(&m->props);

out:
	tnef_content_free(c.tnef);
	if (c.last_ct)
		g_object_unref(c.last_ct);
	if (layout && c.msg)
		layout->msg = g_object_ref(c.msg);
	if (c.msg)
		g_object_unref(c.msg);
	g_object_unref(parser);
	g_object_unref(stream);
	g_mime_parser_options_free(c.opts);
	g_ptr_array_unref(c.inline_candidates);
	g_free(c.html_text);
	g_free(c.html_charset);
	if (c.order)
		g_array_unref(c.order);
	if (c.order_index)
		g_hash_table_unref(c.order_index);
	return !c.need_memory;
}

void import_message(mapper_message *m, const char *data, size_t len,
                    const mapper_source *src, mapper_load_level level)
{
	import_with_layout(m, data, len, src, level, NULL, NULL);
}

bool import_message_file(mapper_message *m, const char *head, size_t head_len, int fd,
                         size_t file_len, const mapper_source *src, size_t defer_min)
{
	file_input in = { .fd = fd, .len = file_len, .defer_min = defer_min };
	return import_with_layout(m, head, head_len, src, MAPPER_LOAD_FULL, NULL, &in);
}

void import_message_layout(mapper_message *m, const char *data, size_t len,
                           mapper_load_level level, import_layout *layout)
{
	static const mapper_source none;
	memset(layout, 0, sizeof *layout);
	layout->parts = g_ptr_array_new_with_free_func(g_object_unref);
	import_with_layout(m, data, len, &none, level, layout, NULL);
}

size_t import_header_block_len(const char *data, size_t len)
{
	const char *p = data + leading_junk(data, len), *end = data + len;
	while (p < end) {
		/* p is at the start of a line: an empty one ends the block */
		if (*p == '\n')
			return (size_t)(p + 1 - data);
		if (*p == '\r' && p + 1 < end && p[1] == '\n')
			return (size_t)(p + 2 - data);
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
	}
	return len;
}

void import_layout_clear(import_layout *layout)
{
	if (layout->msg)
		g_object_unref(layout->msg);
	if (layout->body)
		g_object_unref(layout->body);
	if (layout->parts)
		g_ptr_array_unref(layout->parts);
	memset(layout, 0, sizeof *layout);
}
