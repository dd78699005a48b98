/*
 * test-export.c - the writer: mapper_message_export() (MS-OXCMAIL 2.1.3,
 * MS-OXOSMIME 3.1.5.1.4 / 3.1.5.2.4) and mapper_message_maildir_flags()
 * (oxcmail-mapping.md 7.2).
 *
 * Objects are edited here through the property bags of mapper-private.h, as
 * edit.c does (edit.c has tests of its own); what counts is what the writer
 * makes of an edited object: the header fields that change, the ones that
 * keep their bytes, and the properties a new read of the output gives.
 */
#include <gmime/gmime.h>

#include "mapper-test.h"
#include "mapper-private.h"

/* ---- tags ------------------------------------------------------------------ */

#define TAG(id, type) PROP_TAG(id, type)
#define T_IMPORTANCE TAG(0x0017, PT_LONG)
#define T_SENSITIVITY TAG(0x0036, PT_LONG)
#define T_SUBJECT TAG(0x0037, PT_UNICODE)
#define T_CLIENT_SUBMIT_TIME TAG(0x0039, PT_SYSTIME)
#define T_SUBJECT_PREFIX TAG(0x003D, PT_UNICODE)
#define T_RECIPIENT_TYPE TAG(0x0C15, PT_LONG)
#define T_MESSAGE_FLAGS TAG(0x0E07, PT_LONG)
#define T_MESSAGE_STATUS TAG(0x0E17, PT_LONG)
#define T_NORMALIZED_SUBJECT TAG(0x0E1D, PT_UNICODE)
#define T_BODY TAG(0x1000, PT_UNICODE)
#define T_HTML TAG(0x1013, PT_BINARY)
#define T_INTERNET_MESSAGE_ID TAG(0x1035, PT_UNICODE)
#define T_LAST_VERB_EXECUTED TAG(0x1081, PT_LONG)
#define T_FLAG_STATUS TAG(0x1090, PT_LONG)
#define T_ROWID TAG(0x3000, PT_LONG)
#define T_DISPLAY_NAME TAG(0x3001, PT_UNICODE)
#define T_ADDRESS_TYPE TAG(0x3002, PT_UNICODE)
#define T_EMAIL_ADDRESS TAG(0x3003, PT_UNICODE)
#define T_ATTACH_DATA_BINARY TAG(0x3701, PT_BINARY)
#define T_ATTACH_METHOD TAG(0x3705, PT_LONG)
#define T_ATTACH_LONG_FILENAME TAG(0x3707, PT_UNICODE)
#define T_ATTACH_MIME_TAG TAG(0x370E, PT_UNICODE)
#define T_SMTP_ADDRESS TAG(0x39FE, PT_UNICODE)
#define T_SENT_REPRESENTING_NAME TAG(0x0042, PT_UNICODE)
#define T_SENT_REPRESENTING_EMAIL TAG(0x0065, PT_UNICODE)
#define T_SENT_REPRESENTING_SMTP TAG(0x5D02, PT_UNICODE)

/* ---- editing, the way edit.c keeps related properties together ----------- */

static void set_subject(mapper_message *m, const char *s)
{
	bag_set_string(&m->props, T_SUBJECT, s);
	bag_remove(&m->props, T_SUBJECT_PREFIX);
	bag_remove(&m->props, T_NORMALIZED_SUBJECT);
}

static void set_address(mapper_bag *row, const char *addr)
{
	bag_set_string(row, T_EMAIL_ADDRESS, addr);
	bag_set_string(row, T_SMTP_ADDRESS, addr);
	bag_set_string(row, T_ADDRESS_TYPE, "SMTP");
}

/* mapper_message_mkdir("recipients/N"): a To row without address. */
static mapper_bag *add_row(mapper_message *m)
{
	mapper_bag *row = g_new0(mapper_bag, 1);
	bag_init(row);
	bag_set_int(row, T_ROWID, m->recipients->len);
	bag_set_int(row, T_RECIPIENT_TYPE, 1);
	g_ptr_array_add(m->recipients, row);
	return row;
}

/* mapper_message_mkdir("attachments/N"), then its file written. */
static mapper_attachment *add_attachment(mapper_message *m, const char *name, const char *mime,
                                         const void *data, size_t len)
{
	mapper_attachment *a = g_new0(mapper_attachment, 1);
	bag_init(&a->props);
	bag_set_int(&a->props, T_ATTACH_METHOD, 1);
	bag_set_string(&a->props, T_ATTACH_MIME_TAG, mime);
	bag_set_string(&a->props, T_ATTACH_LONG_FILENAME, name);
	bag_set_binary(&a->props, T_ATTACH_DATA_BINARY, data, len);
	g_ptr_array_add(m->attachments, a);
	return a;
}

/* ---- running the writer ------------------------------------------------------ */

/* Export @m against @orig (NULL: a new message); a NUL-terminated copy,
 * NULL when the export fails (then *@why_out, if given, has the reason). */
static char *export_str(mapper_message *m, const char *orig, char **why_out)
{
	char *out = NULL, *why = NULL;
	size_t n = 0;
	mapper_status st = mapper_message_export(m, orig, orig ? strlen(orig) : 0, &out, &n, &why);
	if (st != MAPPER_OK) {
		if (why_out)
			*why_out = why;
		else {
			diag("export failed: %s: %s", mapper_status_to_string(st), why ? why : "(no reason)");
			free(why);
		}
		return NULL;
	}
	ok(why == NULL, "no reason on success");
	char *s = malloc(n + 1);
	memcpy(s, out, n);
	s[n] = '\0';
	free(out);
	free(why);
	return s;
}

/* Load, edit with @edit, export, and return the output (caller frees). */
static char *rebuild(const char *eml, void (*edit)(mapper_message *))
{
	mapper_message *m = load(eml);
	if (edit)
		edit(m);
	char *out = export_str(m, eml, NULL);
	mapper_message_free(m);
	return out;
}

/* ---- looking at the output ------------------------------------------------- */

static bool is_ascii_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

#define is_null_warning(m) is_str(mapper_message_warning(m), NULL, "read back without a warning")

static size_t block_end(const char *msg)
{
	for (size_t i = 0; msg[i]; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n')
			return i + 1;
		if (msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 1;
	}
	return strlen(msg);
}

/* The top header fields of @msg, each with its folding and line break. */
static char **fields(const char *msg)
{
	size_t end = block_end(msg);
	GPtrArray *out = g_ptr_array_new();
	for (size_t i = 0; i < end;) {
		size_t j = i;
		do {
			while (j < end && msg[j] != '\n')
				j++;
			j++;
		} while (j < end && (msg[j] == ' ' || msg[j] == '\t'));
		g_ptr_array_add(out, g_strndup(msg + i, MIN(j, end) - i));
		i = j;
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static bool field_is(const char *f, const char *name)
{
	size_t n = strlen(name);
	return g_ascii_strncasecmp(f, name, n) == 0 && f[n] == ':';
}

/* How many top fields are named @name. */
static int count_fields(const char *msg, const char *name)
{
	char **fs = fields(msg);
	int n = 0;
	for (char **f = fs; *f; f++)
		n += field_is(*f, name);
	g_strfreev(fs);
	return n;
}

/* The unfolded value of the first top field named @name, or NULL. */
static char *field_value(const char *msg, const char *name)
{
	char **fs = fields(msg);
	char *v = NULL;
	for (char **f = fs; *f && !v; f++)
		if (field_is(*f, name)) {
			char *u = g_mime_utils_header_unfold(*f + strlen(name) + 1);
			v = g_strdup(g_strstrip(u));
			g_free(u);
		}
	g_strfreev(fs);
	return v;
}

/* Every top field of @a not named in @except is in @b, byte for byte, and
 * in the same order; same for @b against @a. */
static bool same_fields_except(const char *a, const char *b, const char *const *except)
{
	char **fa = fields(a), **fb = fields(b);
	GPtrArray *xa = g_ptr_array_new(), *xb = g_ptr_array_new();
	char **lists[2] = { fa, fb };
	GPtrArray *kept[2] = { xa, xb };
	for (int k = 0; k < 2; k++)
		for (char **f = lists[k]; *f; f++) {
			bool skip = false;
			for (const char *const *e = except; *e; e++)
				skip |= field_is(*f, *e);
			if (!skip)
				g_ptr_array_add(kept[k], *f);
		}
	bool same = xa->len == xb->len;
	for (guint i = 0; same && i < xa->len; i++)
		same = strcmp(xa->pdata[i], xb->pdata[i]) == 0;
	if (!same) {
		for (guint i = 0; i < MAX(xa->len, xb->len); i++)
			diag("  %s | %s", i < xa->len ? (char *)xa->pdata[i] : "-", i < xb->len ? (char *)xb->pdata[i] : "-");
	}
	g_ptr_array_unref(xa);
	g_ptr_array_unref(xb);
	g_strfreev(fa);
	g_strfreev(fb);
	return same;
}

/* The body after the top header block. */
static const char *body_of(const char *msg)
{
	return msg + block_end(msg);
}

/* ---- inputs ---------------------------------------------------------------- */

static const char plain_msg[] =
	"Return-Path: <alice@example.org>\n"
	"Received: from mx.example.org by mail.example.net; Tue, 14 Nov 2023 22:13:20 +0000\n"
	"From: Alice Example <alice@example.org>\n"
	"To: Bob Example <bob@example.net>, carol@example.net\n"
	"Cc: \"Dave, D.\" <dave@example.net>\n"
	"Subject: Re: Lunch =?UTF-8?Q?tomorrow=3F?=\n"
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
	"Message-ID: <plain.1@example.org>\n"
	"X-Priority: 5 (Lowest)\n"
	"X-Bar: gone soon\n"
	"X-Mailer: test\n"
	"  folded continuation\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Gr=FC=DFe, Bob.\n";

static const char alternative_msg[] =
	"From: alice@example.org\r\n"
	"To: bob@example.net\r\n"
	"Subject: Alternative with attachments\r\n"
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	"Message-ID: <alt.1@example.org>\r\n"
	"Content-Language: de-DE\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"mixed\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--mixed\r\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
	"\r\n"
	"--alt\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Hello plain\r\n"
	"--alt\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>Hello <b>html</b></p>\r\n"
	"--alt--\r\n"
	"--mixed\r\n"
	"Content-Type: application/pdf; name=\"a.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"--mixed\r\n"
	"Content-Type: text/csv; name=\"b.csv\"\r\n"
	"Content-Disposition: attachment; filename=\"b.csv\"\r\n"
	"\r\n"
	"a,b\r\n"
	"1,2\r\n"
	"--mixed\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"From: inner@example.org\r\n"
	"Subject: Inner\r\n"
	"\r\n"
	"inner body\r\n"
	"--mixed--\r\n";

/* MS-OXOSMIME 2.2.1: a clear-signed message (the signature bytes are fake:
 * the writer does no crypto, it keeps the entity's bytes) */
static const char signed_msg[] =
	"From: Alice <alice@example.org>\n"
	"To: bob@example.net\n"
	"Subject: Signed\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\n"
	" micalg=sha-256; boundary=\"SIG\"\n"
	"Importance: Low\n"
	"\n"
	"This is an S/MIME signed message\n"
	"\n"
	"--SIG\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"signed text  \n"
	"--SIG\n"
	"Content-Type: application/pkcs7-signature; name=smime.p7s\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"AAECAwQF\n"
	"--SIG--\n";

static const char opaque_msg[] =
	"From: Alice <alice@example.org>\n"
	"To: bob@example.net\n"
	"Subject: Opaque\n"
	"MIME-Version: 1.0\n"
	"Content-Disposition: attachment; filename=\"smime.p7m\"\n"
	"Content-Type: application/pkcs7-mime; smime-type=signed-data;\n"
	"  name=\"smime.p7m\"\n"
	"Content-Transfer-Encoding: base64\n"
	"Content-Description: S/MIME message\n"
	"\n"
	"MIIBAAYJKoZIhvcNAQcCoA==\n";

/* ---- tests ------------------------------------------------------------------- */

static void test_unedited(void)
{
	static const struct { const char *what, *eml; } cases[] = {
		{ "plain", plain_msg },
		{ "alternative with attachments, CRLF", alternative_msg },
		{ "clear-signed", signed_msg },
		{ "opaque", opaque_msg },
		{ "no body at all", "From: a@example.org\nSubject: x\n" },
		{ "not a message", "// Not an RFC-822 Document" },
		{ "mbox From line", "From nobody Thu Jan  1 00:00:00 1970\nFrom: a@example.org\n\nbody\n" },
		{ "empty group", "From: a@example.org\nTo: undisclosed-recipients:;\nCc: Team:;\n\nx\n" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *out = rebuild(cases[i].eml, NULL);
		ok(out && strcmp(out, cases[i].eml) == 0, "unedited %s: the same bytes", cases[i].what);
		if (out && strcmp(out, cases[i].eml))
			tap_diag_value("got", out);
		free(out);
	}

	/* recipient rows of empty groups (the reader's side of the round trip) */
	mapper_message *m = load("From: a@example.org\nTo: undisclosed-recipients:;, b@example.org\nCc: Team:;\n\nx\n");
	is_list(m, "recipients", "0,1,2", "empty groups are rows");
	is_absent(m, "recipients/0/PidTagDisplayName", "undisclosed-recipients has no name");
	is_absent(m, "recipients/0/PidTagEmailAddress", "no address");
	is_file(m, "recipients/0/PidTagRecipientType", "1\n", "a To row");
	is_file(m, "recipients/2/PidTagDisplayName", "Team\n", "a named group");
	is_file(m, "recipients/2/PidTagRecipientType", "2\n", "a Cc row");
	is_file(m, "PidTagDisplayTo", "b@example.org\n", "DisplayTo skips the nameless row");
	mapper_message_free(m);
}

static void edit_subject_ascii(mapper_message *m) { set_subject(m, "Dinner today"); }
static void edit_subject_utf8(mapper_message *m) { set_subject(m, "Grüße – 東京"); }
static void edit_normalized(mapper_message *m)
{
	bag_remove(&m->props, T_SUBJECT);
	bag_set_string(&m->props, T_NORMALIZED_SUBJECT, "Lunch on Friday");
}

static void test_subject(void)
{
	static const char *const subject[] = { "Subject", NULL };
	char *out = rebuild(plain_msg, edit_subject_ascii);
	ok(out && same_fields_except(plain_msg, out, subject), "ASCII subject: every other field kept");
	char *v = out ? field_value(out, "Subject") : NULL;
	is_str(v, "Dinner today", "ASCII subject written as is");
	ok(out && strcmp(body_of(out), body_of(plain_msg)) == 0, "ASCII subject: body bytes kept");
	ok(out && strstr(out, "Cc: ") < strstr(out, "Subject: Dinner") &&
	   strstr(out, "Subject: Dinner") < strstr(out, "Date: "), "subject in the place of the old one");
	free(v);
	free(out);

	out = rebuild(plain_msg, edit_subject_utf8);
	ok(out && same_fields_except(plain_msg, out, subject), "UTF-8 subject: every other field kept");
	v = out ? field_value(out, "Subject") : NULL;
	ok(v && strstr(v, "=?") && is_ascii_text(v), "UTF-8 subject RFC 2047-encoded: %s", v ? v : "(none)");
	free(v);
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagSubject", "Grüße – 東京\n", "UTF-8 subject reads back");
		mapper_message_free(m);
	}
	free(out);

	out = rebuild(plain_msg, edit_normalized);
	v = out ? field_value(out, "Subject") : NULL;
	is_str(v, "Re: Lunch on Friday", "prefix + normalized subject (MS-OXCMAIL 2.1.3.2.8)");
	free(v);
	free(out);
}

static void edit_importance_high(mapper_message *m) { bag_set_int(&m->props, T_IMPORTANCE, 2); }
static void edit_sensitivity(mapper_message *m) { bag_set_int(&m->props, T_SENSITIVITY, 3); }

static void test_importance(void)
{
	static const char *const changed[] = { "Importance", "X-Priority", NULL };
	char *out = rebuild(plain_msg, edit_importance_high);
	char *v = out ? field_value(out, "Importance") : NULL;
	is_str(v, "High", "importance 2 -> Importance: High");
	is_int(out ? count_fields(out, "X-Priority") : -1, 0, "the X-Priority it replaces is gone");
	ok(out && same_fields_except(plain_msg, out, changed), "importance: every other field kept");
	ok(out && strstr(out, "Message-ID") < strstr(out, "Importance: High") &&
	   strstr(out, "Importance: High") < strstr(out, "X-Bar"), "Importance where X-Priority was");
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagImportance", "2\n", "importance reads back");
		mapper_message_free(m);
	}
	free(v);
	free(out);

	out = rebuild(plain_msg, edit_sensitivity);
	v = out ? field_value(out, "Sensitivity") : NULL;
	is_str(v, "Company-Confidential", "sensitivity 3 (RFC 2156 words)");
	free(v);
	free(out);
}

static void edit_add_rows(mapper_message *m)
{
	add_row(m);                                   /* no address, no name */
	mapper_bag *row = add_row(m);
	bag_set_string(row, T_DISPLAY_NAME, "Sales");  /* a name only */
	row = add_row(m);
	set_address(row, "erin@example.net");
	bag_set_string(row, T_DISPLAY_NAME, "Erin É");
	bag_set_int(row, T_RECIPIENT_TYPE, 3);
}

static void edit_remove_row(mapper_message *m)
{
	g_ptr_array_remove_index(m->recipients, 1); /* carol */
}

static void edit_move_row(mapper_message *m)
{
	bag_set_int(m->recipients->pdata[0], T_RECIPIENT_TYPE, 2); /* Bob to Cc */
}

static void edit_row_address(mapper_message *m)
{
	set_address(m->recipients->pdata[0], "robert@example.net");
}

static void test_recipients(void)
{
	char *out = rebuild(plain_msg, edit_add_rows);
	static const char *const rcpt[] = { "To", "Bcc", NULL };
	ok(out && same_fields_except(plain_msg, out, rcpt), "new rows: only To and Bcc change");
	char *to = out ? field_value(out, "To") : NULL;
	ok(to && strstr(to, "bob@example.net") && strstr(to, "carol@example.net") &&
	   strstr(to, "undisclosed-recipients:") && strstr(to, "Sales:"),
	   "To: old mailboxes, then the rows without address as empty groups: %s", to ? to : "");
	free(to);
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_list(m, "recipients", "0,1,2,3,4,5", "all rows read back");
		is_absent(m, "recipients/2/PidTagEmailAddress", "the row without address stays one");
		is_absent(m, "recipients/2/PidTagDisplayName", "... with no name");
		is_file(m, "recipients/3/PidTagDisplayName", "Sales\n", "the named one keeps its name");
		is_file(m, "recipients/5/PidTagRecipientType", "3\n", "the Bcc row");
		is_file(m, "recipients/5/PidTagEmailAddress", "erin@example.net\n", "its address");
		is_file(m, "recipients/5/PidTagDisplayName", "Erin É\n", "its encoded name");
		mapper_message_free(m);
	}
	free(out);

	out = rebuild(plain_msg, edit_remove_row);
	to = out ? field_value(out, "To") : NULL;
	ok(to && strstr(to, "bob@example.net") && !strstr(to, "carol"), "removed row leaves To: %s", to ? to : "");
	static const char *const to_only[] = { "To", NULL };
	ok(out && same_fields_except(plain_msg, out, to_only), "removed row: Cc untouched");
	free(to);
	free(out);

	out = rebuild(plain_msg, edit_move_row);
	to = out ? field_value(out, "To") : NULL;
	char *cc = out ? field_value(out, "Cc") : NULL;
	ok(to && !strstr(to, "bob@") && cc && strstr(cc, "bob@example.net") && strstr(cc, "dave@"),
	   "type 2 moves Bob to Cc: To %s / Cc %s", to ? to : "", cc ? cc : "");
	free(to);
	free(cc);
	free(out);

	out = rebuild(plain_msg, edit_row_address);
	m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "recipients/0/PidTagEmailAddress", "robert@example.net\n", "a new address");
		is_file(m, "recipients/0/PidTagDisplayName", "Bob Example\n", "the name kept");
		mapper_message_free(m);
	}
	free(out);
}

static void edit_date(mapper_message *m) { bag_set_time(&m->props, T_CLIENT_SUBMIT_TIME, 1714555800); }
static void edit_headers(mapper_message *m)
{
	bag_set_named_string(&m->props, &mapper_ps_internet_headers, "X-Foo", "v");
	bag_set_named_string(&m->props, &mapper_ps_internet_headers, "X-Utf", "naïve");
	bag_set_named_string(&m->props, &mapper_ps_internet_headers, "Content-Type", "text/evil");
	mapper_prop *p = bag_get_named(&m->props, &mapper_ps_internet_headers, "X-Bar");
	g_ptr_array_remove(m->props.props, p);
}

static void test_headers(void)
{
	char *out = rebuild(plain_msg, edit_date);
	char *v = out ? field_value(out, "Date") : NULL;
	is_str(v, "Wed, 01 May 2024 09:30:00 +0000", "Date from PidTagClientSubmitTime (RFC 5322 3.3)");
	static const char *const date[] = { "Date", NULL };
	ok(out && same_fields_except(plain_msg, out, date), "date: every other field kept");
	free(v);
	free(out);

	out = rebuild(plain_msg, edit_headers);
	v = out ? field_value(out, "X-Foo") : NULL;
	is_str(v, "v", "a new PS_INTERNET_HEADERS property adds its header");
	free(v);
	is_int(out ? count_fields(out, "X-Bar") : -1, 0, "a removed one drops its header");
	is_int(out ? count_fields(out, "Content-Type") : -1, 1, "Content-Type is never a generic header");
	v = out ? field_value(out, "X-Utf") : NULL;
	ok(v && strstr(v, "=?"), "non-ASCII value RFC 2047-encoded: %s", v ? v : "");
	free(v);
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PS_INTERNET_HEADERS/X-Utf", "naïve\n", "non-ASCII header reads back");
		is_file(m, "PS_INTERNET_HEADERS/X-Mailer", "test  folded continuation\n", "folded field untouched");
		mapper_message_free(m);
	}
	free(out);
}

static void edit_reply_to(mapper_message *m)
{
	GPtrArray *eids = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_ptr_array_add(eids, address_oneoff_entryid("Help Desk", "help@example.org"));
	g_ptr_array_add(eids, address_oneoff_entryid("ops@example.org", "ops@example.org"));
	bag_set_binary_take(&m->props, TAG(0x004F, PT_BINARY), address_flatentrylist(eids));
	bag_set_string(&m->props, TAG(0x0050, PT_UNICODE), "Help Desk;ops@example.org");
	g_ptr_array_unref(eids);
}

static void edit_from(mapper_message *m)
{
	bag_set_string(&m->props, T_SENT_REPRESENTING_NAME, "Alice Ä");
	bag_set_string(&m->props, T_SENT_REPRESENTING_EMAIL, "alice@example.com");
	bag_set_string(&m->props, T_SENT_REPRESENTING_SMTP, "alice@example.com");
}

static void test_addresses(void)
{
	char *out = rebuild(alternative_msg, edit_reply_to);
	char *v = out ? field_value(out, "Reply-To") : NULL;
	is_str(v, "Help Desk <help@example.org>, ops@example.org",
	       "Reply-To from the one-off EntryIDs of PidTagReplyRecipientEntries (2.1.3.1.2)");
	ok(out && strstr(out, "Reply-To: Help Desk <help@example.org>, ops@example.org\r\n"),
	   "a field made for a CRLF message ends in CRLF");
	static const char *const reply_to[] = { "Reply-To", NULL };
	ok(out && same_fields_except(alternative_msg, out, reply_to), "Reply-To: every other field kept");
	ok(out && strcmp(body_of(out), body_of(alternative_msg)) == 0, "Reply-To: the body's bytes kept");
	free(v);
	free(out);

	out = rebuild(plain_msg, edit_from);
	v = out ? field_value(out, "From") : NULL;
	ok(v && strstr(v, "=?") && strstr(v, "<alice@example.com>"), "From from PidTagSentRepresenting*: %s", v ? v : "");
	free(v);
	is_int(out ? count_fields(out, "Sender") : -1, 0, "no Sender: PidTagSender* was not edited");
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagSentRepresentingName", "Alice Ä\n", "the From name reads back");
		mapper_message_free(m);
	}
	free(out);
}

static void edit_body(mapper_message *m) { bag_set_string(&m->props, T_BODY, "New text, Grüße\nline 2\n"); }
static void edit_html(mapper_message *m)
{
	static const char html[] = "<html><body><p>New &amp; <i>better</i></p><script>x()</script></body></html>";
	bag_set_binary(&m->props, T_HTML, html, strlen(html));
}
static void edit_alt_body(mapper_message *m) { bag_set_string(&m->props, T_BODY, "Hello new plain\r\n"); }
static void edit_remove_body(mapper_message *m) { bag_remove(&m->props, T_BODY); }

static void test_body(void)
{
	char *out = rebuild(plain_msg, edit_body);
	static const char *const entity[] = { "Content-Type", "Content-Transfer-Encoding", NULL };
	ok(out && same_fields_except(plain_msg, out, entity), "plain body: message fields kept");
	char *ct = out ? field_value(out, "Content-Type") : NULL;
	is_str(ct, "text/plain; charset=utf-8", "plain body in UTF-8");
	free(ct);
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagBody", "New text, Grüße\nline 2\n", "new body reads back");
		mapper_message_free(m);
	}
	free(out);

	/* adding HTML to a plain message: multipart/alternative (3.3) */
	out = rebuild(plain_msg, edit_html);
	ct = out ? field_value(out, "Content-Type") : NULL;
	ok(ct && g_str_has_prefix(ct, "multipart/alternative"), "HTML added: %s", ct ? ct : "");
	free(ct);
	m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagHtml",
		        "<html><body><p>New &amp; <i>better</i></p><script>x()</script></body></html>",
		        "the HTML reads back");
		mapper_message_free(m);
	}
	ok(out && strstr(out, "Content-Type: text/plain; charset=iso-8859-1\n"
	                      "Content-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe, Bob.\n"),
	   "the plain part stays as it was");
	free(out);

	/* the alternative of a multipart message */
	out = rebuild(alternative_msg, edit_html);
	m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagHtml",
		        "<html><body><p>New &amp; <i>better</i></p><script>x()</script></body></html>",
		        "alternative: HTML replaced");
		is_list(m, "attachments", "0,1,2,a.pdf,b.csv", "alternative: attachments kept");
		is_file(m, "attachments/1/PidTagAttachDataBinary", "a,b\r\n1,2", "alternative: their bytes kept");
		mapper_message_free(m);
	}
	ok(out && strstr(out, "New & better\r\n") && !strstr(out, "Hello plain") && !strstr(out, "x()\r\n"),
	   "alternative: the plain part made from the HTML (2.1.3.3.4)");
	ok(out && strstr(out, "preamble\r\n--mixed\r\n"), "alternative: untouched parts as they were");
	ok(out && strstr(out, "\r\n--mixed\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"),
	   "alternative: attachment headers byte for byte");
	free(out);

	out = rebuild(alternative_msg, edit_alt_body);
	ok(out && strstr(out, "Hello new plain") && !strstr(out, "Hello plain") && strstr(out, "<b>html</b>"),
	   "alternative: PidTagBody goes to the text/plain part");
	free(out);

	out = rebuild(plain_msg, edit_remove_body);
	m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagBody", "", "removed body: empty text");
		mapper_message_free(m);
	}
	free(out);
}

static const unsigned char pdf[] = { '%', 'P', 'D', 'F', 0, 1, 2, 0xFF, '\n', 'x' };

static void edit_add_attachment(mapper_message *m)
{
	add_attachment(m, "report é.pdf", "application/pdf", pdf, sizeof pdf);
}

static void edit_remove_attachment(mapper_message *m)
{
	g_ptr_array_remove_index(m->attachments, 0); /* a.pdf; b.csv moves down */
}

static void edit_change_attachment(mapper_message *m)
{
	mapper_attachment *a = m->attachments->pdata[1];
	bag_set_string(&a->props, T_ATTACH_LONG_FILENAME, "c.csv");
	bag_set_binary(&a->props, T_ATTACH_DATA_BINARY, "x,y\n", 4);
	add_attachment(m, "new.bin", "multipart/mixed", "zz", 2);
}

static void edit_embedded(mapper_message *m)
{
	mapper_attachment *a = m->attachments->pdata[2];
	set_subject(a->embedded, "Inner, edited");
}

static void test_attachments(void)
{
	char *out = rebuild(plain_msg, edit_add_attachment);
	char *ct = out ? field_value(out, "Content-Type") : NULL;
	ok(ct && g_str_has_prefix(ct, "multipart/mixed"), "single part + attachment: multipart/mixed (%s)", ct ? ct : "");
	free(ct);
	static const char *const entity[] = { "Content-Type", "Content-Transfer-Encoding", NULL };
	ok(out && same_fields_except(plain_msg, out, entity), "attachment added: message fields kept");
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagBody", "Grüße, Bob.\n", "the body stays the body");
		is_list(m, "attachments", "0,report \xC3\xA9.pdf", "one attachment");
		is_file(m, "attachments/0/PidTagAttachLongFilename", "report é.pdf\n", "its name (RFC 2231)");
		is_file(m, "attachments/0/PidTagAttachMimeTag", "application/pdf\n", "its type");
		is_file_mem(m, "attachments/0/PidTagAttachDataBinary", pdf, sizeof pdf, "its bytes");
		mapper_message_free(m);
	}
	free(out);

	out = rebuild(alternative_msg, edit_remove_attachment);
	m = out ? load(out) : NULL;
	if (m) {
		is_list(m, "attachments", "0,1,b.csv", "one attachment fewer");
		is_file(m, "attachments/0/PidTagAttachLongFilename", "b.csv\n", "the right one went");
		is_file(m, "PidTagHtml", "<p>Hello <b>html</b></p>", "the body stays");
		mapper_message_free(m);
	}
	ok(out && !strstr(out, "a.pdf") && !strstr(out, "JVBERi0xLjQK"), "its part is gone");
	free(out);

	out = rebuild(alternative_msg, edit_change_attachment);
	m = out ? load(out) : NULL;
	if (m) {
		is_list(m, "attachments", "0,1,2,3,a.pdf,c.csv,new.bin", "changed and added");
		is_file(m, "attachments/1/PidTagAttachLongFilename", "c.csv\n", "new name");
		is_file(m, "attachments/1/PidTagAttachDataBinary", "x,y\n", "new bytes");
		is_file(m, "attachments/1/PidTagAttachMimeTag", "text/csv\n", "the type kept");
		is_file(m, "attachments/3/PidTagAttachMimeTag", "application/octet-stream\n",
		        "a multipart mime tag is written as application/octet-stream (2.1.3.4.2.2)");
		is_file(m, "attachments/3/PidTagAttachDataBinary", "zz", "the added one's bytes");
		mapper_message_free(m);
	}
	ok(out && strstr(out, "Content-Type: application/pdf; name=\"a.pdf\"\r\n"), "unchanged attachment kept as it was");
	free(out);

	out = rebuild(alternative_msg, edit_embedded);
	m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "attachments/2/PidTagAttachDataObject/PidTagSubject", "Inner, edited\n",
		        "an edited embedded message is written too");
		is_file(m, "attachments/2/PidTagAttachMethod", "5\n", "still embedded");
		mapper_message_free(m);
	}
	free(out);
}

/* The multipart/signed entity the reader puts in attachment 0. */
static char *entity_of(const char *eml, size_t *len)
{
	mapper_message *m = load(eml);
	char *d = read_copy(m, "attachments/0/PidTagAttachDataBinary", len);
	mapper_message_free(m);
	return d;
}

static void edit_signed(mapper_message *m)
{
	set_subject(m, "Signed, edited");
	bag_set_int(&m->props, T_IMPORTANCE, 2);
	set_address(m->recipients->pdata[0], "carol@example.net");
}

static void test_clear_signed(void)
{
	char *out = rebuild(signed_msg, edit_signed);
	size_t n1 = 0, n2 = 0;
	char *before = entity_of(signed_msg, &n1);
	char *after = out ? entity_of(out, &n2) : NULL;
	ok(after && n1 == n2 && memcmp(before, after, n1) == 0,
	   "clear-signed: the multipart/signed entity's bytes are unchanged (3.1.5.1.4)");
	is_int(out ? count_fields(out, "Content-Type") : -1, 1, "exactly one Content-Type");
	char *ct = out ? field_value(out, "Content-Type") : NULL;
	is_str(ct, "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"SIG\"",
	       "the entity's (last) Content-Type");
	free(ct);
	is_int(out ? count_fields(out, "MIME-Version") : -1, 1, "one MIME-Version");
	ok(out && strcmp(body_of(out), body_of(signed_msg)) == 0, "the body byte for byte");
	mapper_message *m = out ? load(out) : NULL;
	if (m) {
		is_file(m, "PidTagMessageClass", "IPM.Note.SMIME.MultipartSigned\n", "still clear-signed");
		is_file(m, "PidTagSubject", "Signed, edited\n", "new subject");
		is_file(m, "PidTagImportance", "2\n", "new importance");
		is_file(m, "recipients/0/PidTagEmailAddress", "carol@example.net\n", "new recipient");
		mapper_message_free(m);
	}
	free(before);
	free(after);
	free(out);

	/* a new entity in attachment 0 (edit.c checks it is one) */
	m = load(signed_msg);
	static const char entity[] =
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=NEW\n"
		"\n"
		"--NEW\n\nother\n--NEW\nContent-Type: application/pkcs7-signature\n\nAA==\n--NEW--\n";
	bag_set_binary(&((mapper_attachment *)m->attachments->pdata[0])->props, T_ATTACH_DATA_BINARY,
	               entity, strlen(entity));
	out = export_str(m, signed_msg, NULL);
	ok(out && strstr(out, "Subject: Signed\nMIME-Version: 1.0\n"
	                      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=NEW\n"
	                      "Importance: Low\n\n--NEW\n\nother\n"),
	   "a new entity: its Content-Type only, then its body");
	is_int(out ? count_fields(out, "MIME-Version") : -1, 1, "the entity's MIME-Version is not taken");
	free(out);

	/* two Content-Type fields: the entity keeps the last, the message has one */
	char *twice = g_strconcat("Content-Type: text/plain\n", signed_msg, NULL);
	mapper_message *m2 = load(twice);
	set_subject(m2, "Twice");
	out = export_str(m2, twice, NULL);
	is_int(out ? count_fields(out, "Content-Type") : -1, 1, "two Content-Type fields: one is left");
	char *ct2 = out ? field_value(out, "Content-Type") : NULL;
	ok(ct2 && g_str_has_prefix(ct2, "multipart/signed"), "... the last one (MS-OXOSMIME 3.1.5.1.4 step 3)");
	free(ct2);
	free(out);
	mapper_message_free(m2);
	g_free(twice);

	/* MS-OXOSMIME 3.1.5.1.4 step 1 */
	g_ptr_array_set_size(m->attachments, 0);
	char *why = NULL;
	out = export_str(m, signed_msg, &why);
	ok(!out && why && strstr(why, "exactly one attachment"), "no attachment: refused (%s)", why ? why : "");
	free(why);
	free(out);
	mapper_message_free(m);
}

static void edit_opaque(mapper_message *m) { set_subject(m, "Opaque, edited"); }

static void test_opaque(void)
{
	char *out = rebuild(opaque_msg, edit_opaque);
	static const char *const subject[] = { "Subject", NULL };
	ok(out && same_fields_except(opaque_msg, out, subject), "opaque, subject edited: other fields kept");
	ok(out && strcmp(body_of(out), body_of(opaque_msg)) == 0, "the same CMS bytes keep their base64 text");
	free(out);

	/* new CMS bytes: 3.1.5.2.4 steps 4-7 */
	mapper_message *m = load(opaque_msg);
	unsigned char cms[100];
	for (size_t i = 0; i < sizeof cms; i++)
		cms[i] = (unsigned char)(i * 7);
	bag_set_binary(&((mapper_attachment *)m->attachments->pdata[0])->props, T_ATTACH_DATA_BINARY, cms, sizeof cms);
	out = export_str(m, opaque_msg, NULL);
	char *v = out ? field_value(out, "Content-Type") : NULL;
	is_str(v, "application/pkcs7-mime; smime-type=signed-data;  name=\"smime.p7m\"",
	       "Content-Type from PS_INTERNET_HEADERS/Content-Type (3.1.5.2.4 step 4a)");
	free(v);
	v = out ? field_value(out, "Content-Disposition") : NULL;
	ok(v && strstr(v, "attachment") && strstr(v, "smime.p7m"), "Content-Disposition attachment, filename (step 5)");
	free(v);
	v = out ? field_value(out, "Content-Transfer-Encoding") : NULL;
	is_str(v, "base64", "base64 (step 6)");
	free(v);
	v = out ? field_value(out, "Content-Description") : NULL;
	is_str(v, "S/MIME message", "other entity fields of the original stay");
	free(v);
	char *b64 = base64_lines(cms, sizeof cms, 76, "\n");
	char *expect = g_strconcat("\n", b64, NULL);
	is_str(out ? body_of(out) : NULL, expect, "base64 of the new bytes, 76 characters a line (step 7)");
	free(b64);
	g_free(expect);
	mapper_message *back = out ? load(out) : NULL;
	if (back) {
		is_file(back, "PidTagMessageClass", "IPM.Note.SMIME\n", "still opaque");
		is_file_mem(back, "attachments/0/PidTagAttachDataBinary", cms, sizeof cms, "the CMS bytes read back");
		mapper_message_free(back);
	}
	free(out);

	/* without the named property: PidTagAttachMimeTag and name= (step 4b) */
	mapper_prop *p = bag_get_named(&m->props, &mapper_ps_internet_headers, "Content-Type");
	g_ptr_array_remove(m->props.props, p);
	out = export_str(m, NULL, NULL);
	v = out ? field_value(out, "Content-Type") : NULL;
	is_str(v, "application/pkcs7-mime; name=smime.p7m", "Content-Type from the MIME tag and the file name");
	free(v);
	is_int(out ? count_fields(out, "MIME-Version") : -1, 1, "a MIME-Version");
	back = out ? load(out) : NULL;
	if (back) {
		is_file(back, "PidTagSubject", "Opaque\n", "new S/MIME message: headers from the object");
		is_file_mem(back, "attachments/0/PidTagAttachDataBinary", cms, sizeof cms, "new S/MIME message: payload");
		mapper_message_free(back);
	}
	free(out);
	mapper_message_free(m);
}

static void test_new_message(void)
{
	mapper_message *m = message_new(0);
	m->level = MAPPER_LOAD_FULL;
	char *out = export_str(m, NULL, NULL);
	ok(out != NULL, "an empty object exports");
	is_int(out ? count_fields(out, "MIME-Version") : -1, 1, "new: MIME-Version");
	is_int(out ? count_fields(out, "Date") : -1, 1, "new: Date (now)");
	char *v = out ? field_value(out, "Message-ID") : NULL;
	ok(v && v[0] == '<' && strstr(v, "@mapifs.invalid>"), "new: a generated Message-ID %s", v ? v : "");
	free(v);
	v = out ? field_value(out, "Content-Type") : NULL;
	is_str(v, "text/plain; charset=utf-8", "new: an empty text/plain");
	free(v);
	mapper_message *back = out ? load(out) : NULL;
	if (back) {
		is_file(back, "PidTagBody", "", "new: empty body");
		is_null_warning(back);
		mapper_message_free(back);
	}
	free(out);

	set_subject(m, "Hello ✓");
	bag_set_string(&m->props, T_BODY, "Body text\n");
	bag_set_string(&m->props, T_SENT_REPRESENTING_NAME, "Alice");
	bag_set_string(&m->props, T_SENT_REPRESENTING_EMAIL, "alice@example.org");
	bag_set_string(&m->props, T_SENT_REPRESENTING_SMTP, "alice@example.org");
	bag_set_string(&m->props, T_INTERNET_MESSAGE_ID, "<new.1@example.org>");
	bag_set_time(&m->props, T_CLIENT_SUBMIT_TIME, 1714555800);
	bag_set_int(&m->props, T_IMPORTANCE, 0);
	bag_set_named_string(&m->props, &mapper_ps_internet_headers, "X-Foo", "bar");
	bag_set_named_string(&m->props, &mapper_ps_internet_headers, "Content-Class", "urn:content-class:custom.W");
	mapper_bag *row = add_row(m);
	set_address(row, "bob@example.net");
	add_attachment(m, "a.txt", "text/plain", "attached\n", 9);
	out = export_str(m, NULL, NULL);
	char **fs = out ? fields(out) : NULL;
	GString *names = g_string_new(NULL);
	for (char **f = fs; f && *f; f++)
		g_string_append_printf(names, "%s%.*s", names->len ? "," : "", (int)strcspn(*f, ":"), *f);
	is_str(names->str, "MIME-Version,From,To,Content-Class,Importance,Date,Subject,Message-ID,X-Foo,Content-Type",
	       "new: fields in the G order of oxcmail-mapping.md 5");
	g_string_free(names, TRUE);
	g_strfreev(fs);
	back = out ? load(out) : NULL;
	if (back) {
		is_file(back, "PidTagSubject", "Hello ✓\n", "new: subject");
		is_file(back, "PidTagBody", "Body text\n", "new: body");
		is_file(back, "PidTagSenderEmailAddress", "alice@example.org\n", "new: From");
		is_file(back, "PidTagSentRepresentingName", "Alice\n", "new: From name");
		is_file(back, "recipients/0/PidTagEmailAddress", "bob@example.net\n", "new: recipient");
		is_file(back, "PidTagInternetMessageId", "<new.1@example.org>\n", "new: Message-ID");
		is_file(back, "PidTagClientSubmitTime", "2024-05-01T09:30:00Z\n", "new: Date");
		is_file(back, "PidTagImportance", "0\n", "new: importance");
		is_file(back, "PS_INTERNET_HEADERS/X-Foo", "bar\n", "new: named header");
		is_file(back, "PidTagMessageClass", "IPM.Note.Custom.W\n", "new: Content-Class");
		is_file(back, "attachments/0/PidTagAttachLongFilename", "a.txt\n", "new: attachment");
		is_file(back, "attachments/0/PidTagAttachDataBinary", "attached\n", "new: attachment bytes");
		is_null_warning(back);
		mapper_message_free(back);
	}
	free(out);

	/* HTML only: multipart/alternative with a text/plain made from it */
	bag_remove(&m->props, T_BODY);
	g_ptr_array_set_size(m->attachments, 0);
	static const char html[] = "<p>Hi&nbsp;<b>there</b></p>";
	bag_set_binary(&m->props, T_HTML, html, strlen(html));
	out = export_str(m, NULL, NULL);
	v = out ? field_value(out, "Content-Type") : NULL;
	ok(v && g_str_has_prefix(v, "multipart/alternative"), "new HTML message: %s", v ? v : "");
	free(v);
	ok(out && strstr(out, "Hi there\n"), "new HTML message: the text from the HTML");
	back = out ? load(out) : NULL;
	if (back) {
		is_file(back, "PidTagHtml", html, "new HTML message: HTML");
		mapper_message_free(back);
	}
	free(out);
	mapper_message_free(m);

	/* headers only: nothing to write from without the original */
	m = load_level(plain_msg, MAPPER_LOAD_HEADERS);
	char *o = NULL, *why = NULL;
	size_t n = 0;
	is_int(mapper_message_export(m, NULL, 0, &o, &n, &why), MAPPER_INCOMPLETE,
	       "a headers-only object cannot be written without the original");
	ok(why != NULL, "with a reason");
	free(why);
	free(o);
	/* with it: the new header block and the body as it was, the same bytes
	 * as the whole message gives (unit-header-edit does it on the corpus) */
	is_int(mapper_message_set(m, "PidTagSubject", "Other\n", 6, NULL), MAPPER_OK,
	          "headers only: subject set");
	mapper_message *whole = load(plain_msg);
	is_int(mapper_message_set(whole, "PidTagSubject", "Other\n", 6, NULL), MAPPER_OK,
	          "whole: subject set");
	char *o2 = NULL;
	size_t n2 = 0, keep = 0;
	is_int(mapper_message_export(whole, plain_msg, strlen(plain_msg), &o2, &n2, NULL), MAPPER_OK,
	          "whole: written");
	is_int(mapper_message_export(m, plain_msg, strlen(plain_msg), &o, &n, NULL), MAPPER_OK,
	          "headers only: written");
	is_mem(o, n, o2, n2, "headers only: the same bytes as the whole message");
	free(o);
	is_int(mapper_message_export_header(m, plain_msg, strlen(plain_msg), &o, &n, &keep, NULL),
	          MAPPER_OK, "header block only: written");
	ok(o && keep <= strlen(plain_msg) && n + strlen(plain_msg) - keep == n2 &&
	   memcmp(o, o2, n) == 0 && memcmp(plain_msg + keep, o2 + n, n2 - n) == 0,
	   "header block only: the new block, then the original from byte %zu, is the same message",
	   keep);
	ok(strstr(plain_msg + keep, "Subject:") == NULL, "header block only: the body is all that is kept");
	free(o);
	free(o2);
	is_int(mapper_message_export_header(whole, plain_msg, strlen(plain_msg), &o, &n, &keep, NULL),
	          MAPPER_INCOMPLETE, "header block only: not for a whole object");
	free(o);
	mapper_message_free(whole);
	mapper_message_free(m);

	/* S/MIME: the header goes with the protected content */
	m = load_level(signed_msg, MAPPER_LOAD_HEADERS);
	is_int(mapper_message_set(m, "PidTagSubject", "Other\n", 6, NULL), MAPPER_OK,
	          "clear-signed, headers only: subject set");
	is_int(mapper_message_export(m, signed_msg, strlen(signed_msg), &o, &n, NULL),
	          MAPPER_INCOMPLETE, "clear-signed, headers only: needs the whole message");
	free(o);
	mapper_message_free(m);
}

static void flags_case(const char *maildir, const char *expect)
{
	mapper_message *m = load_flags(plain_msg, maildir);
	char letters[8];
	mapper_message_maildir_flags(m, letters);
	is_str(letters, expect, "maildir flags %s read back", maildir);
	mapper_message_free(m);
}

static void test_flags(void)
{
	flags_case("", "");
	flags_case("S", "S");
	flags_case("DFPRST", "DFRST");   /* only one of R/P: ANSWERED wins (7.2) */
	flags_case("PS", "PS");
	flags_case("T", "T");
	mapper_message *m = load_flags(plain_msg, "RS");
	bag_set_int(&m->props, T_MESSAGE_FLAGS, 0);
	bag_set_int(&m->props, T_MESSAGE_STATUS, 0);
	bag_set_int(&m->props, T_LAST_VERB_EXECUTED, 104);
	bag_set_int(&m->props, T_FLAG_STATUS, 2);
	char letters[8];
	mapper_message_maildir_flags(m, letters);
	is_str(letters, "FP", "flags from edited properties");
	bag_set_int(&m->props, T_MESSAGE_FLAGS, 0x9);
	bag_set_int(&m->props, T_LAST_VERB_EXECUTED, 103);
	mapper_message_maildir_flags(m, letters);
	is_str(letters, "DFRS", "mfUnsent + mfRead, reply-all");
	mapper_message_free(m);
}

int main(void)
{
	mapper_init();
	test_unedited();
	test_subject();
	test_importance();
	test_recipients();
	test_headers();
	test_addresses();
	test_body();
	test_attachments();
	test_clear_signed();
	test_opaque();
	test_new_message();
	test_flags();
	mapper_shutdown();
	return done_testing();
}
