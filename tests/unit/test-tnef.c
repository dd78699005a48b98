/*
 * test-tnef.c - TNEF streams (winmail.dat) in messages (issue 12; MS-OXCMAIL
 * 2.1.3.2.26, MS-OXTNEF, MS-OXRTFCP): the correlation check, the stream's
 * properties winning over the MIME ones, its attachments and embedded
 * messages as attachment objects, body.rtf, what stays read-only, the round
 * trip, and streams cut or lying about their counts.  The streams are
 * built here, field by field as MS-OXTNEF 2.1.3 lays them out; the e2e test
 * (99-tnef.bats) checks the same against Debian's tnef and ytnef.
 */
#include <glib.h>

#include "mapper-test.h"

/* ---- building streams ------------------------------------------------------ */

static void put8(GByteArray *b, guint8 v)
{
	g_byte_array_append(b, &v, 1);
}

static void put16(GByteArray *b, guint32 v)
{
	guint8 x[2] = { v & 0xFF, v >> 8 & 0xFF };
	g_byte_array_append(b, x, 2);
}

static void put32(GByteArray *b, guint32 v)
{
	guint8 x[4] = { v & 0xFF, v >> 8 & 0xFF, v >> 16 & 0xFF, v >> 24 };
	g_byte_array_append(b, x, 4);
}

static void pad(GByteArray *b, size_t n)
{
	while (n++ % 4)
		put8(b, 0);
}

static GByteArray *stream_new(void)
{
	GByteArray *s = g_byte_array_new();
	put32(s, 0x223E9F78);   /* MS-OXTNEF 2.1.3.1: TNEF_SIGNATURE */
	put16(s, 0x0001);       /* legacy key */
	return s;
}

/* 2.1.3.1: level, id, length, data, checksum (the sum of the data bytes) */
static void attr(GByteArray *s, int level, guint32 id, const void *d, size_t n)
{
	guint32 sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += ((const guint8 *)d)[i];
	put8(s, (guint8)level);
	put32(s, id);
	put32(s, (guint32)n);
	g_byte_array_append(s, d, (guint)n);
	put16(s, sum & 0xFFFF);
}

static void attr_str(GByteArray *s, int level, guint32 id, const char *text)
{
	attr(s, level, id, text, strlen(text) + 1);
}

/* A property list (2.1.3.5); its count is patched by props_end(). */
static GByteArray *props_new(void)
{
	GByteArray *p = g_byte_array_new();
	put32(p, 0);
	return p;
}

static void props_count(GByteArray *p)
{
	guint32 n = p->data[0] | p->data[1] << 8 | p->data[2] << 16 | (guint32)p->data[3] << 24;
	n++;
	p->data[0] = n & 0xFF;
	p->data[1] = n >> 8 & 0xFF;
	p->data[2] = n >> 16 & 0xFF;
	p->data[3] = n >> 24;
}

static void var_value(GByteArray *p, const void *d, size_t n)
{
	put32(p, 1);
	put32(p, (guint32)n);
	g_byte_array_append(p, d, (guint)n);
	pad(p, n);
}

static void prop_unicode(GByteArray *p, guint32 tag, const char *utf8)
{
	glong units = 0;
	gunichar2 *w = g_utf8_to_utf16(utf8, -1, NULL, &units, NULL);
	props_count(p);
	put32(p, tag);
	var_value(p, w, (size_t)(units + 1) * 2);
	g_free(w);
}

static void prop_string8(GByteArray *p, guint32 tag, const char *bytes)
{
	props_count(p);
	put32(p, tag);
	var_value(p, bytes, strlen(bytes) + 1);
}

static void prop_binary(GByteArray *p, guint32 tag, const void *d, size_t n)
{
	props_count(p);
	put32(p, tag);
	var_value(p, d, n);
}

static void prop_long(GByteArray *p, guint32 tag, guint32 v)
{
	props_count(p);
	put32(p, tag);
	put32(p, v);
}

/* PSETID_Common {00062008-0000-0000-C000-000000000046}, MS-OXCDATA byte order */
static const guint8 psetid_common[16] = { 0x08, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
                                          0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };
static const guint8 unknown_set[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void prop_named_unicode(GByteArray *p, const guint8 guid[16], guint32 lid, const char *utf8)
{
	glong units = 0;
	gunichar2 *w = g_utf8_to_utf16(utf8, -1, NULL, &units, NULL);
	props_count(p);
	put32(p, 0x8000u << 16 | 0x001F);
	g_byte_array_append(p, guid, 16);
	put32(p, 0);   /* MNID_ID */
	put32(p, lid);
	var_value(p, w, (size_t)(units + 1) * 2);
	g_free(w);
}

/* PidTagAttachDataObject: IID_IMessage, then the TNEF stream @inner
 * (MS-OXTNEF 2.1.3.5) */
static void prop_embedded(GByteArray *p, const GByteArray *inner)
{
	static const guint8 iid_imessage[16] = { 0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	                                         0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };
	GByteArray *obj = g_byte_array_new();
	g_byte_array_append(obj, iid_imessage, 16);
	g_byte_array_append(obj, inner->data, inner->len);
	props_count(p);
	put32(p, 0x3701000D);
	var_value(p, obj->data, obj->len);
	g_byte_array_unref(obj);
}

static void attr_props(GByteArray *s, int level, guint32 id, GByteArray *p)
{
	attr(s, level, id, p->data, p->len);
	g_byte_array_unref(p);
}

/* MS-OXRTFCP 3.1.1: the specification's first example, compressed */
static const guint8 rtf_example[] = {
	0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7,
	0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20,
	0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f,
	0xa0,
};
static const char rtf_example_text[] = "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";

/* A TNEF stream as Outlook writes one: class, subject and other properties,
 * compressed RTF, named properties, two files and an embedded message.
 * With @key, PidTagTnefCorrelationKey is @key and its NUL. */
static GByteArray *full_stream(const char *key)
{
	GByteArray *s = stream_new();
	guint8 cp[8] = { 0xE4, 0x04, 0, 0, 0, 0, 0, 0 };   /* attOemCodepage 1252 */
	attr(s, 1, 0x00069007, cp, sizeof cp);
	attr_str(s, 1, 0x00078008, "IPM.Microsoft Mail.Note");
	GByteArray *p = props_new();
	if (key)
		prop_binary(p, 0x007F0102, key, strlen(key) + 1);
	prop_unicode(p, 0x0037001F, "Re: TNEF subject \xc3\xbc");
	prop_string8(p, 0x0070001E, "TNEF topic \xe9");       /* cp1252 e-acute */
	prop_long(p, 0x00170003, 2);                            /* PidTagImportance */
	prop_long(p, 0x0E070003, 0x1234);                       /* the store's flags: not taken */
	prop_binary(p, 0x10090102, rtf_example, sizeof rtf_example);
	props_count(p);                                          /* a PT_DOUBLE: skipped */
	put32(p, 0x66660005);
	put32(p, 0);
	put32(p, 0x40090000);
	prop_named_unicode(p, psetid_common, 0x8580, "Work account");
	prop_named_unicode(p, unknown_set, 0x1, "not shown");
	attr_props(s, 1, 0x00069003, p);

	/* attachment 1: a file with title, dates and a long name */
	guint8 rend[14] = { 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0 };
	attr(s, 2, 0x00069002, rend, sizeof rend);
	attr_str(s, 2, 0x00018010, "REPORT~1.PDF");
	guint8 date[14] = { 0xEA, 0x07, 3, 0, 1, 0, 8, 0, 15, 0, 45, 0, 0, 0 };   /* 2026-03-01 08:15:45 */
	attr(s, 2, 0x00038013, date, sizeof date);
	attr(s, 2, 0x0006800F, "%PDF-1.4\n\0binary", 16);
	p = props_new();
	prop_unicode(p, 0x3707001F, "Quarterly report.pdf");
	prop_unicode(p, 0x370E001F, "application/pdf");
	attr_props(s, 2, 0x00069005, p);

	/* attachment 2: only a title, STRING8 long name in cp1252 */
	attr(s, 2, 0x00069002, rend, sizeof rend);
	attr_str(s, 2, 0x00018010, "NOTES.TXT");
	attr(s, 2, 0x0006800F, "notes\r\n", 7);
	p = props_new();
	prop_string8(p, 0x3707001E, "Notizen f\xfcr M\xe4rz.txt");
	attr_props(s, 2, 0x00069005, p);

	/* attachment 3: an embedded message (PidTagAttachDataObject) */
	GByteArray *inner = stream_new();
	attr_str(inner, 1, 0x00078008, "IPM.Note");
	p = props_new();
	prop_unicode(p, 0x0037001F, "Inner subject");
	prop_unicode(p, 0x1000001F, "inner body");
	attr_props(inner, 1, 0x00069003, p);
	attr(s, 2, 0x00069002, rend, sizeof rend);
	p = props_new();
	prop_long(p, 0x37050003, 5);
	prop_embedded(p, inner);
	g_byte_array_unref(inner);
	attr_props(s, 2, 0x00069005, p);
	return s;
}

/* multipart/mixed { text/plain, application/ms-tnef } with the correlator
 * header @corr (NULL: none). */
static char *wrap(const char *corr, const guint8 *tnef, size_t n)
{
	gchar *b64 = g_base64_encode(tnef, n);
	GString *lines = g_string_new(NULL);
	for (size_t i = 0, len = strlen(b64); i < len; i += 76)
		g_string_append_printf(lines, "%.76s\r\n", b64 + i);
	char *eml = g_strdup_printf(
		"From: Alice <alice@example.com>\r\n"
		"To: bob@example.com\r\n"
		"Subject: MIME subject\r\n"
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
		"Message-ID: <t1@example.com>\r\n"
		"%s%s%s"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n"
		"\r\n"
		"--b\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"\r\n"
		"mime body\r\n"
		"--b\r\n"
		"Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"Content-Disposition: attachment; filename=\"winmail.dat\"\r\n"
		"\r\n"
		"%s"
		"--b--\r\n",
		corr ? "X-MS-TNEF-Correlator: " : "", corr ? corr : "", corr ? "\r\n" : "", lines->str);
	g_string_free(lines, TRUE);
	g_free(b64);
	return eml;
}

/* File @path of the message wrapping stream @s (correlator <t1@example.com>)
 * holds @expected. */
static void check_wrapped(const GByteArray *s, const char *path, const char *expected, const char *what)
{
	char *eml = wrap("<t1@example.com>", s->data, s->len);
	mapper_message *m = load(eml);
	is_file(m, path, expected, what);
	mapper_message_free(m);
	g_free(eml);
}

/* ---- the mapping ----------------------------------------------------------- */

static void test_matched(void)
{
	GByteArray *s = full_stream("<t1@example.com>");
	char *eml = wrap("<t1@example.com>", s->data, s->len);
	mapper_message *m = load(eml);
	is_str(mapper_message_warning(m), NULL, "matched: no warning");
	/* MS-OXCMAIL 2.1.3.2.26: the stream's properties win */
	is_file(m, "PidTagSubject", "Re: TNEF subject \xc3\xbc\n", "the stream's subject wins");
	is_file(m, "PidTagSubjectPrefix", "Re: \n", "its prefix follows it");
	is_file(m, "PidTagNormalizedSubject", "TNEF subject \xc3\xbc\n", "and its normalized form");
	is_file(m, "PidTagConversationTopic", "TNEF topic \xc3\xa9\n", "PT_STRING8 in cp1252 becomes UTF-8");
	is_file(m, "PidTagImportance", "2\n", "PidTagImportance");
	/* MS-OXTNEF: the old form's class under its Exchange name */
	is_file(m, "PidTagMessageClass", "IPM.Note\n", "IPM.Microsoft Mail.Note is IPM.Note");
	is_file(m, "PSETID_Common/0x8580", "Work account\n", "a named property of a known set");
	is_stat(m, "0x66660005", MAPPER_NOT_FOUND, "a PT_DOUBLE is not held");
	is_file(m, "PidTagBody", "mime body", "the MIME body stays when the stream has none");
	/* the store's own: flags from the Maildir, not the sender's store */
	char *flags = read_copy(m, "PidTagMessageFlags", NULL);
	ok(flags && strcmp(flags, "4660\n") != 0, "PidTagMessageFlags is not the stream's (%s)", flags ? flags : "?");
	free(flags);
	/* MS-OXRTFCP 3.1.1 */
	is_file(m, "body.rtf", rtf_example_text, "body.rtf is PidTagRtfCompressed decompressed");

	/* the attachments, not winmail.dat */
	is_list(m, "attachments", "0,1,2,Notizen f\xC3\xBCr M\xC3\xA4rz.txt,Quarterly report.pdf", "three attachments from the stream");
	is_file(m, "attachments/0/PidTagAttachLongFilename", "Quarterly report.pdf\n", "long name");
	is_file(m, "attachments/0/PidTagAttachFilename", "REPORT~1.PDF\n", "attAttachTitle");
	is_file(m, "attachments/0/PidTagAttachMimeTag", "application/pdf\n", "MIME tag from the stream");
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", "%PDF-1.4\n\0binary", 16, "attAttachData");
	is_file(m, "attachments/0/PidTagAttachSize", "16\n", "size");
	is_file(m, "attachments/0/PidTagLastModificationTime", "2026-03-01T08:15:45Z\n", "attAttachModifyDate");
	is_file(m, "attachments/0/PidTagAttachMethod", "1\n", "afByValue");
	is_file(m, "attachments/1/PidTagAttachLongFilename", "Notizen f\xc3\xbcr M\xc3\xa4rz.txt\n",
	        "PT_STRING8 long name");
	is_file(m, "attachments/1/PidTagAttachExtension", ".txt\n", "extension from the long name");
	is_file(m, "attachments/2/PidTagAttachMethod", "5\n", "embedded message: afEmbeddedMessage");
	is_file(m, "attachments/2/PidTagAttachDataObject/PidTagSubject", "Inner subject\n", "its subject");
	is_file(m, "attachments/2/PidTagAttachDataObject/PidTagBody", "inner body", "its body");
	is_file(m, "PidTagHasAttachments", "true\n", "PidTagHasAttachments");

	/* a headers-only object cannot know what the stream will say */
	mapper_message *h = load_level(eml, MAPPER_LOAD_HEADERS);
	is_stat(h, "PidTagSubject", MAPPER_INCOMPLETE, "header-only: the subject waits for the stream");
	ok(mapper_message_needs_body(h, "PidTagSubject"), "and mapper_message_needs_body says so");
	mapper_message_free(h);

	/* the round trip: untouched, the same bytes */
	char *out = NULL, *why = NULL;
	size_t outlen = 0;
	is_int(mapper_message_export(m, eml, strlen(eml), &out, &outlen, &why), MAPPER_OK, "export");
	is_mem(out, outlen, eml, strlen(eml), "untouched: byte for byte");
	free(out);
	free(why);

	/* what the stream holds is read-only; the rest can change */
	why = NULL;
	is_int(mapper_message_set(m, "PidTagSubject", "x", 1, &why), MAPPER_READ_ONLY, "subject is the stream's");
	ok(why && strstr(why, "TNEF"), "and the reason says TNEF: %s", why ? why : "");
	free(why);
	why = NULL;
	is_int(mapper_message_set(m, "attachments/0/PidTagAttachLongFilename", "x", 1, &why), MAPPER_READ_ONLY,
	       "a stream attachment is read-only");
	free(why);
	why = NULL;
	is_int(mapper_message_rmdir(m, "attachments/1", &why), MAPPER_READ_ONLY, "and cannot be removed");
	free(why);
	why = NULL;
	is_int(mapper_message_set(m, "body.rtf", "x", 1, &why), MAPPER_READ_ONLY, "body.rtf is read-only");
	free(why);
	why = NULL;
	is_int(mapper_message_set(m, "PidTagSensitivity", "2", 1, &why), MAPPER_OK, "a MIME property changes");
	free(why);
	why = NULL;
	is_int(mapper_message_export(m, eml, strlen(eml), &out, &outlen, &why), MAPPER_OK, "export the edit");
	const char *part = strstr(eml, "--b\r\nContent-Type: application/ms-tnef");
	ok(out && part && g_strstr_len(out, (gssize)outlen, part), "the TNEF part is kept byte for byte");
	ok(out && g_strstr_len(out, (gssize)outlen, "Sensitivity: Private"), "and the edit is there");
	mapper_message *again = mapper_message_load(out, outlen, NULL, MAPPER_LOAD_FULL);
	is_file(again, "PidTagSubject", "Re: TNEF subject \xc3\xbc\n", "read again: the stream still wins");
	is_list(again, "attachments", "0,1,2,Notizen f\xC3\xBCr M\xC3\xA4rz.txt,Quarterly report.pdf", "with its attachments");
	mapper_message_free(again);
	free(out);
	free(why);

	mapper_message_free(m);
	g_free(eml);
	g_byte_array_unref(s);
}

/* MS-OXCMAIL 2.1.3.2.26: a stream that is not the message's stays an
 * attachment, with its real media type (issue 12), and a warning. */
static void test_not_ours(void)
{
	GByteArray *s = full_stream("<t1@example.com>");
	static const char *const corr[] = { "<other@example.com>", NULL };
	for (size_t i = 0; i < G_N_ELEMENTS(corr); i++) {
		char *eml = wrap(corr[i], s->data, s->len);
		mapper_message *m = load(eml);
		const char *w = corr[i] ? "another correlator" : "no correlator";
		is_file(m, "PidTagSubject", "MIME subject\n", w);
		is_list(m, "attachments", "0,winmail.dat", w);
		is_file(m, "attachments/0/PidTagAttachMimeTag", "application/ms-tnef\n", w);
		is_file_mem(m, "attachments/0/PidTagAttachDataBinary", s->data, s->len, w);
		ok(mapper_message_warning(m) && strstr(mapper_message_warning(m), "TNEF"), "%s: warning %s", w,
		   mapper_message_warning(m) ? mapper_message_warning(m) : "(none)");
		mapper_message_free(m);
		g_free(eml);
	}
	g_byte_array_unref(s);

	/* a stream without a key belongs to the message that announces one */
	s = full_stream(NULL);
	char *eml = wrap("<t1@example.com>", s->data, s->len);
	mapper_message *m = load(eml);
	is_file(m, "PidTagSubject", "Re: TNEF subject \xc3\xbc\n", "keyless stream: its subject wins");
	mapper_message_free(m);
	g_free(eml);
	g_byte_array_unref(s);
}

/* Hostile streams: every cut, a wrong checksum, counts that lie, deep
 * nesting.  Each loads, without crash, as applied or as an attachment. */
static void test_hostile(void)
{
	GByteArray *s = full_stream("<t1@example.com>");
	int applied = 0, kept = 0, other = 0;
	for (size_t cut = 0; cut < s->len; cut++) {
		char *eml = wrap("<t1@example.com>", s->data, cut);
		mapper_message *m = load(eml);
		char *mt = read_copy(m, "attachments/0/PidTagAttachMimeTag", NULL);
		if (mt && strcmp(mt, "application/ms-tnef\n") == 0)
			kept++;
		else if (!mt || strcmp(mt, "application/pdf\n") == 0)
			applied++;
		else
			other++;
		free(mt);
		mapper_message_free(m);
		g_free(eml);
	}
	/* a cut inside an attribute is malformed (kept); one between two
	 * attributes leaves a shorter stream (applied) */
	is_int(other, 0, "every cut stream is applied or kept (%d applied, %d kept)", applied, kept);
	ok(kept > 0 && applied > 0 && applied < 20, "most cuts are malformed (%d applied, %d kept)", applied, kept);

	/* a wrong checksum */
	GByteArray *bad = g_byte_array_new();
	g_byte_array_append(bad, s->data, s->len);
	bad->data[bad->len - 1] ^= 1;
	char *eml = wrap("<t1@example.com>", bad->data, bad->len);
	mapper_message *m = load(eml);
	is_file(m, "attachments/0/PidTagAttachMimeTag", "application/ms-tnef\n", "checksum error: kept");
	ok(mapper_message_warning(m) && strstr(mapper_message_warning(m), "checksum"), "warning: %s",
	   mapper_message_warning(m) ? mapper_message_warning(m) : "(none)");
	mapper_message_free(m);
	g_free(eml);
	g_byte_array_unref(bad);
	g_byte_array_unref(s);

	/* a property list claiming 4 billion properties, values claiming 4 GB */
	s = stream_new();
	GByteArray *p = g_byte_array_new();
	put32(p, 0xFFFFFFFF);
	put32(p, 0x0037001F);
	put32(p, 0xFFFFFFFF);
	put32(p, 0xFFFFFFF0);
	attr(s, 1, 0x00069003, p->data, p->len);
	g_byte_array_unref(p);
	check_wrapped(s, "attachments/0/PidTagAttachMimeTag", "application/ms-tnef\n", "lying counts: kept");
	g_byte_array_unref(s);

	/* embedded messages nested 200 deep: the model stops at its depth limit */
	GByteArray *cur = stream_new();
	attr_str(cur, 1, 0x00078008, "IPM.Note");
	for (int i = 0; i < 200; i++) {
		GByteArray *outer = stream_new();
		guint8 rend[14] = { 1, 0, 0xFF, 0xFF, 0xFF, 0xFF };
		attr(outer, 2, 0x00069002, rend, sizeof rend);
		p = props_new();
		prop_embedded(p, cur);
		attr_props(outer, 2, 0x00069005, p);
		g_byte_array_unref(cur);
		cur = outer;
	}
	check_wrapped(cur, "attachments/0/PidTagAttachMethod", "5\n", "200 nested embedded messages load");
	g_byte_array_unref(cur);
}

int main(void)
{
	mapper_init();
	test_matched();
	test_not_ours();
	test_hostile();
	mapper_shutdown();
	return done_testing();
}
