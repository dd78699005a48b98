/*
 * test-mapping.c - the general MS-OXCMAIL mapping (oxcmail-mapping.md
 * sections 1-4 and 7): header properties, recipients, body selection,
 * attachments, embedded messages and Maildir flags.
 */
#include "mapper-test.h"

/* ---- headers (oxcmail-mapping.md 1.2, 1.3, 1.4) ----------------------------- */

static const char headers_msg[] =
	"Return-Path: <alice@example.com>\r\n"
	"Received: from mx.example.com (mx.example.com [192.0.2.1])\r\n"
	"\tby mx.example.org with ESMTP; Tue, 14 Nov 2023 23:13:25 +0100\r\n"
	"From: \"Alice Example\" <alice@example.com>, second@example.com\r\n"
	"To: \"Bob B.\" <bob@example.org>, carol@example.net,\r\n"
	" Friends: dave@example.com, \"Eve\" <eve@example.com>;\r\n"
	"Cc: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\r\n"
	"Bcc: <hidden@example.com>\r\n"
	"Subject: =?ISO-8859-1?Q?RE:_Gr=FC=DFe?=\r\n"
	"Date: Tue, 14 Nov 2023 23:13:21 +0100\r\n"
	"Message-ID: <abc.123@example.com>\r\n"
	"In-Reply-To: <prev.1@example.com>\r\n"
	"References: <root.0@example.com>\r\n"
	" <prev.1@example.com>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 8bit\r\n"
	"X-Foo: bar baz\r\n"
	"Thread-Topic: Greetings\r\n"
	"Thread-Index: AdoXOwD/ECAwQFBgcICQoLDA0ODwAA==\r\n"
	"List-Unsubscribe: <mailto:leave@example.com>\r\n"
	"Disposition-Notification-To: Alice <alice@example.com>\r\n"
	"Sensitivity: Company-Confidential\r\n"
	"X-Priority: 1 (Highest)\r\n"
	"Importance: low\r\n"
	"Priority: urgent\r\n"
	"\r\n"
	"Hello world\r\n";

static void test_headers(void)
{
	mapper_message *m = load(headers_msg);
	const char *w = "headers";

	/* From: the first mailbox only */
	is_file(m, "PidTagSentRepresentingName", "Alice Example\n", w);
	is_file(m, "PidTagSentRepresentingAddressType", "SMTP\n", w);
	is_file(m, "PidTagSentRepresentingEmailAddress", "alice@example.com\n", w);
	is_file(m, "PidTagSentRepresentingSmtpAddress", "alice@example.com\n", w);
	static const char key[] = "SMTP:ALICE@EXAMPLE.COM";
	is_file_mem(m, "PidTagSentRepresentingSearchKey", key, sizeof key, w); /* NUL included */
	/* Sender copied from From when absent */
	is_file(m, "PidTagSenderName", "Alice Example\n", "no Sender: copied from From");
	is_file(m, "PidTagSenderSmtpAddress", "alice@example.com\n", "no Sender: copied from From");
	is_file(m, "PidTagSenderAddressType", "SMTP\n", "no Sender: copied from From");
	is_file(m, "PidTagSenderEmailAddress", "alice@example.com\n", "no Sender: copied from From");
	is_file_mem(m, "PidTagSenderSearchKey", key, sizeof key, "no Sender: copied from From");
	{
		size_t a = 0, b = 0;
		char *x = read_copy(m, "PidTagSentRepresentingEntryId", &a);
		char *y = read_copy(m, "PidTagSenderEntryId", &b);
		ok(x && y && a > 24 && a == b && memcmp(x, y, a) == 0,
		   "no Sender: PidTagSenderEntryId equals PidTagSentRepresentingEntryId");
		/* MS-OXCDATA 2.2.5.1: flags 0, then MUIDOOP */
		static const unsigned char oop[] = { 0, 0, 0, 0, 0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3,
		                                     0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02 };
		ok(x && a > sizeof oop && memcmp(x, oop, sizeof oop) == 0,
		   "PidTagSentRepresentingEntryId is a one-off EntryID");
		free(x);
		free(y);
	}

	/* recipients: To/Cc/Bcc, group flattened, name falls back to the address */
	is_list(m, "recipients", "0,1,2,3,4,5", w);
	static const struct { const char *type, *name, *addr; } rows[] = {
		{ "1\n", "Bob B.\n", "bob@example.org\n" },
		{ "1\n", "carol@example.net\n", "carol@example.net\n" },
		{ "1\n", "dave@example.com\n", "dave@example.com\n" },
		{ "1\n", "Eve\n", "eve@example.com\n" },
		{ "2\n", "J\xC3\xBCrgen M\xC3\xBCller\n", "juergen@example.de\n" },
		{ "3\n", "hidden@example.com\n", "hidden@example.com\n" },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char p[64];
		snprintf(p, sizeof p, "recipients/%zu/PidTagRecipientType", i);
		is_file(m, p, rows[i].type, "recipient type");
		snprintf(p, sizeof p, "recipients/%zu/PidTagDisplayName", i);
		is_file(m, p, rows[i].name, "recipient name");
		snprintf(p, sizeof p, "recipients/%zu/PidTagEmailAddress", i);
		is_file(m, p, rows[i].addr, "recipient address");
		snprintf(p, sizeof p, "recipients/%zu/PidTagSmtpAddress", i);
		is_file(m, p, rows[i].addr, "recipient SMTP address");
		snprintf(p, sizeof p, "recipients/%zu/PidTagAddressType", i);
		is_file(m, p, "SMTP\n", "recipient address type");
	}
	is_file(m, "recipients/4/PidTagObjectType", "6\n", "recipient object type MAPI_MAILUSER");
	is_file(m, "recipients/4/PidTagDisplayType", "0\n", "recipient display type DT_MAILUSER");
	static const char key4[] = "SMTP:JUERGEN@EXAMPLE.DE";
	is_file_mem(m, "recipients/4/PidTagSearchKey", key4, sizeof key4, "recipient search key");
	is_absent(m, "recipients/6", w);
	is_file(m, "PidTagDisplayTo", "Bob B.; carol@example.net; dave@example.com; Eve\n", w);
	is_file(m, "PidTagDisplayCc", "J\xC3\xBCrgen M\xC3\xBCller\n", w);
	is_file(m, "PidTagDisplayBcc", "hidden@example.com\n", w);

	/* Subject: RFC 2047 decoded, prefix split */
	is_file(m, "PidTagSubject", "RE: Gr\xC3\xBC\xC3\x9F" "e\n", w);
	is_file(m, "PidTagSubjectPrefix", "RE: \n", w);
	is_file(m, "PidTagNormalizedSubject", "Gr\xC3\xBC\xC3\x9F" "e\n", w);

	/* dates in UTC */
	is_file(m, "PidTagClientSubmitTime", "2023-11-14T22:13:21Z\n", w);
	is_file(m, "PidTagMessageDeliveryTime", "2023-11-14T22:13:25Z\n", "delivery time from Received");

	/* identifiers verbatim */
	is_file(m, "PidTagInternetMessageId", "<abc.123@example.com>\n", w);
	is_file(m, "PidTagInReplyToId", "<prev.1@example.com>\n", w);
	is_file(m, "PidTagInternetReferences", "<root.0@example.com> <prev.1@example.com>\n",
	        "References unfolded");

	/* Importance wins over X-Priority and Priority; Priority -> PidTagPriority */
	is_file(m, "PidTagImportance", "0\n", "Importance: low wins over X-Priority: 1");
	is_file(m, "PidTagPriority", "1\n", "Priority: urgent");
	is_file(m, "PidTagSensitivity", "3\n", "Company-Confidential");
	is_file(m, "PidTagConversationTopic", "Greetings\n", w);
	static const unsigned char tindex[] = { 0x01, 0xDA, 0x17, 0x3B, 0x00, 0xFF, 0x10, 0x20, 0x30, 0x40, 0x50,
	                                        0x60, 0x70, 0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0, 0xF0, 0x00 };
	is_file_mem(m, "PidTagConversationIndex", tindex, sizeof tindex, "Thread-Index base64-decoded");
	is_file(m, "PidTagListUnsubscribe", "<mailto:leave@example.com>\n", w);
	is_file(m, "PidTagReadReceiptRequested", "true\n", "Disposition-Notification-To");
	is_file(m, "PidTagReadReceiptSmtpAddress", "alice@example.com\n", "Disposition-Notification-To");

	/* generic headers (2.2.3.2.29) and the excluded ones */
	is_file(m, "PS_INTERNET_HEADERS/X-Foo", "bar baz\n", "generic header");
	{
		mapper_node node;
		ok(mapper_message_stat(m, "PS_INTERNET_HEADERS/X-Foo", &node) == MAPPER_OK &&
		   node.kind == MAPPER_NODE_FILE && node.set_guid &&
		   strcmp(node.set_guid, "{00020386-0000-0000-C000-000000000046}") == 0 &&
		   (node.tag >> 16) >= 0x8000 && (node.tag & 0xFFFF) == 0x001F,
		   "X-Foo is a named PtypString in PS_INTERNET_HEADERS with an id >= 0x8000");
	}
	is_absent(m, "PS_INTERNET_HEADERS/Received", "excluded header");
	is_absent(m, "PS_INTERNET_HEADERS/MIME-Version", "excluded header");
	is_absent(m, "PS_INTERNET_HEADERS/Content-Transfer-Encoding", "excluded header");
	is_absent(m, "PS_INTERNET_HEADERS/Return-Path", "excluded header");
	/* Content-Type is kept raw on every message, as Outlook does (issue 12) */
	is_file(m, "PS_INTERNET_HEADERS/Content-Type", "text/plain; charset=utf-8\n", "the raw Content-Type");
	is_absent(m, "PS_INTERNET_HEADERS/Subject", "header mapped elsewhere");
	is_absent(m, "PS_INTERNET_HEADERS/Importance", "header mapped elsewhere");
	is_list(m, "PS_INTERNET_HEADERS", "Content-Type,X-Foo", "only the generic header and Content-Type");

	/* PidTagTransportMessageHeaders: the header block as it came */
	size_t hlen = (size_t)(strstr(headers_msg, "\r\n\r\n") - headers_msg) + 2;
	is_file_mem(m, "PidTagTransportMessageHeaders", headers_msg, hlen, "raw header block");

	is_file(m, "PidTagBody", "Hello world\r\n", w);
	is_str(mapper_message_class(m), "IPM.Note", "class of a plain message");
	mapper_message_free(m);

	/* Sender present: its own group */
	m = load("From: Boss <boss@example.com>\r\n"
	         "Sender: Secretary <sec@example.com>\r\n"
	         "Subject: Hello: x y\r\n"
	         "\r\n"
	         "body\r\n");
	is_file(m, "PidTagSentRepresentingName", "Boss\n", "Sender present");
	is_file(m, "PidTagSenderName", "Secretary\n", "Sender present");
	is_file(m, "PidTagSenderSmtpAddress", "sec@example.com\n", "Sender present");
	/* a 5-letter word before ": " is no prefix */
	is_file(m, "PidTagSubjectPrefix", "\n", "Hello: x y");
	is_file(m, "PidTagNormalizedSubject", "Hello: x y\n", "Hello: x y");
	is_file(m, "PidTagImportance", "1\n", "no importance header: normal");
	is_file(m, "PidTagSensitivity", "0\n", "no Sensitivity header");
	is_absent(m, "PidTagReadReceiptRequested", "no Disposition-Notification-To");
	is_list(m, "recipients", "", "no To/Cc/Bcc");
	mapper_message_free(m);

	/* only Sender: From is taken from it */
	m = load("Sender: sec@example.com\n\nbody\n");
	is_file(m, "PidTagSentRepresentingSmtpAddress", "sec@example.com\n", "only Sender: copied to From");
	is_file(m, "PidTagSentRepresentingName", "sec@example.com\n", "only Sender: name is the address");
	mapper_message_free(m);

	static const struct { const char *subject, *prefix, *normalized; } subjects[] = {
		{ "FW: Report", "FW: ", "Report" },
		{ "Re: Re: x", "Re: ", "Re: x" },
		{ "AW: Antwort", "AW: ", "Antwort" },
		{ "1A: no", "", "1A: no" },
		{ "Hello: x y", "", "Hello: x y" },
		{ "RE:no space", "", "RE:no space" },
		{ "", "", "" },
	};
	for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
		char msg[200], p[100], n[100];
		snprintf(msg, sizeof msg, "From: a@example.com\r\nSubject: %s\r\n\r\nx\r\n", subjects[i].subject);
		snprintf(p, sizeof p, "%s\n", subjects[i].prefix);
		snprintf(n, sizeof n, "%s\n", subjects[i].normalized);
		m = load(msg);
		is_file(m, "PidTagSubjectPrefix", p, subjects[i].subject);
		is_file(m, "PidTagNormalizedSubject", n, subjects[i].subject);
		mapper_message_free(m);
	}

	/* importance without Importance: Priority, X-Priority */
	static const struct { const char *hdrs, *importance; } imp[] = {
		{ "X-Priority: 2\r\n", "2\n" },
		{ "X-Priority: 3 (Normal)\r\n", "1\n" },
		{ "X-Priority: 5 (Lowest)\r\n", "0\n" },
		{ "Priority: non-urgent\r\n", "0\n" },
		{ "Priority: normal\r\n", "1\n" },
		{ "X-MSMail-Priority: High\r\n", "2\n" },
		{ "X-Priority: 5\r\nImportance: High\r\n", "2\n" },
		{ "Importance: Normal\r\nX-Priority: 1\r\n", "1\n" },
	};
	for (size_t i = 0; i < sizeof imp / sizeof imp[0]; i++) {
		char msg[200];
		snprintf(msg, sizeof msg, "From: a@example.com\r\n%s\r\nx\r\n", imp[i].hdrs);
		m = load(msg);
		is_file(m, "PidTagImportance", imp[i].importance, imp[i].hdrs);
		mapper_message_free(m);
	}
	m = load("Priority: non-urgent\r\n\r\nx\r\n");
	is_file(m, "PidTagPriority", "-1\n", "Priority: non-urgent");
	mapper_message_free(m);

	static const struct { const char *value, *expected; } sens[] = {
		{ "Personal", "1\n" }, { "Private", "2\n" }, { "company-confidential", "3\n" }, { "Normal", "0\n" },
	};
	for (size_t i = 0; i < sizeof sens / sizeof sens[0]; i++) {
		char msg[200];
		snprintf(msg, sizeof msg, "Sensitivity: %s\r\n\r\nx\r\n", sens[i].value);
		m = load(msg);
		is_file(m, "PidTagSensitivity", sens[i].expected, sens[i].value);
		mapper_message_free(m);
	}

	/* more header rules of oxcmail-mapping.md 1.2 */
	m = load("From: a@example.com\r\n"
	         "To: undisclosed-recipients:;\r\n"
	         "Reply-To: Alice <alice@example.com>, list@example.org\r\n"
	         "Return-Receipt-To: a@example.com\r\n"
	         "X-Unsent: 1\r\n"
	         "Content-Class: urn:content-class:custom.Widget\r\n"
	         "List-Help: <mailto:help@example.org>\r\n"
	         "X-List-Help: <mailto:other@example.org>\r\n"
	         "X-Foo: first\r\n"
	         "X-Foo: second\r\n"
	         "Expires: Wed, 15 Nov 2023 00:00:00 +0000\r\n"
	         "\r\n"
	         "x\r\n");
	/* an empty group is a To row without address (what mkdir recipients/N
	 * makes, so it survives the writer); undisclosed-recipients has no name */
	is_list(m, "recipients", "0", "empty group: one row");
	is_absent(m, "recipients/0/PidTagSmtpAddress", "empty group: no address");
	is_absent(m, "recipients/0/PidTagDisplayName", "undisclosed-recipients: no name");
	is_file(m, "recipients/0/PidTagRecipientType", "1\n", "empty group: a To row");
	is_absent(m, "PidTagDisplayTo", "empty group");
	is_file(m, "PidTagReplyRecipientNames", "Alice;list@example.org\n", "Reply-To names joined with ;");
	{
		size_t n = 0;
		char *d = read_copy(m, "PidTagReplyRecipientEntries", &n);
		/* FLATENTRYLIST: count 2, then the size of the entries */
		ok(d && n > 8 && (unsigned char)d[0] == 2 && d[1] == 0 && d[2] == 0 && d[3] == 0,
		   "Reply-To: FLATENTRYLIST of two EntryIDs");
		free(d);
	}
	is_file(m, "PidTagOriginatorDeliveryReportRequested", "true\n", "Return-Receipt-To");
	has_bit(m, "PidTagMessageFlags", 0x8, "X-Unsent: 1 -> mfUnsent");
	is_str(mapper_message_class(m), "IPM.Note.Custom.Widget", "Content-Class custom");
	is_file(m, "PS_INTERNET_HEADERS/Content-Class", "urn:content-class:custom.Widget\n", "Content-Class kept");
	is_file(m, "PidTagListHelp", "<mailto:help@example.org>\n", "List-Help wins over X-List-Help");
	is_file(m, "PS_INTERNET_HEADERS/X-Foo", "first\n", "repeated header: the first wins");
	is_file(m, "PidTagExpiryTime", "2023-11-15T00:00:00Z\n", "Expires");
	mapper_message_free(m);

	/* LF-only headers: the header block is still taken as it came */
	static const char lf_msg[] = "From: a@example.com\nX-Foo: folded\n value\nSubject: lf\n\nbody\n";
	m = load(lf_msg);
	is_file_mem(m, "PidTagTransportMessageHeaders", lf_msg, strlen(lf_msg) - strlen("\nbody\n"),
	            "LF header block");
	is_file(m, "PS_INTERNET_HEADERS/X-Foo", "folded value\n", "folded generic header is one line");
	is_file(m, "PidTagBody", "body\n", "LF body");
	/* no Content-Type field: text/plain in US-ASCII (RFC 2045 5.2) */
	is_file(m, "PS_INTERNET_HEADERS/Content-Type", "text/plain; charset=us-ascii\n",
	        "the default Content-Type");
	/* no Thread-Topic: the normalized subject (MS-OXCMAIL 2.2.3.2.7) */
	is_file(m, "PidTagConversationTopic", "lf\n", "ConversationTopic from the subject");
	mapper_message_free(m);

	m = load("From: a@example.com\nSubject: RE: the plan\nContent-Type: text/plain;\n"
	         " charset=\"iso-8859-1\"; format=flowed\n\nbody\n");
	is_file(m, "PidTagConversationTopic", "the plan\n", "ConversationTopic without the prefix");
	is_file(m, "PS_INTERNET_HEADERS/Content-Type", "text/plain; charset=\"iso-8859-1\"; format=flowed\n",
	        "the Content-Type unfolded, parameters as written");
	mapper_message_free(m);
	m = load("From: a@example.com\n\nno subject\n");
	is_absent(m, "PidTagConversationTopic", "no subject, no topic");
	mapper_message_free(m);
}

/* ---- body (oxcmail-mapping.md 3.2) --------------------------------------------- */

static void check_charset(const char *charset, const char *bytes, const char *utf8, const char *codepage)
{
	char msg[400], body[200], what[100];
	snprintf(msg, sizeof msg,
	         "From: a@example.com\r\n"
	         "Subject: charset\r\n"
	         "MIME-Version: 1.0\r\n"
	         "Content-Type: text/plain; charset=\"%s\"\r\n"
	         "Content-Transfer-Encoding: 8bit\r\n"
	         "\r\n"
	         "%s\r\n", charset, bytes);
	snprintf(body, sizeof body, "%s\r\n", utf8);
	snprintf(what, sizeof what, "text/plain in %s", charset);
	mapper_message *m = load(msg);
	is_file(m, "PidTagBody", body, what);
	is_file(m, "PidTagInternetCodepage", codepage, what);
	is_file(m, "PidTagNativeBody", "1\n", what);
	is_absent(m, "PidTagHtml", what);
	is_list(m, "attachments", "", what);
	mapper_message_free(m);
}

static const char alternative_msg[] =
	"From: a@example.com\r\n"
	"Subject: alternative\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/alternative; boundary=\"ALT\"\r\n"
	"\r\n"
	"--ALT\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"plain text\r\n"
	"--ALT\r\n"
	"Content-Type: text/html; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"<p>Gr=FC=DFe</p>\r\n"
	"--ALT--\r\n";

static const char mixed_msg[] =
	"From: a@example.com\n"
	"Subject: mixed\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"MIX\"\n"
	"\n"
	"--MIX\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"see the attachment\n"
	"--MIX\n"
	"Content-Type: application/zip; name=\"a.zip\"\n"
	"Content-Disposition: attachment; filename=\"a.zip\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"UEsDBAoAAAAAAA==\n"
	"--MIX--\n";

static const char related_msg[] =
	"From: a@example.com\r\n"
	"Subject: related\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/related; boundary=\"REL\"; type=\"text/html\"\r\n"
	"\r\n"
	"--REL\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<html><body><img src=\"cid:logo.123@example.com\"></body></html>\r\n"
	"--REL\r\n"
	"Content-Type: image/png\r\n"
	"Content-ID: <logo.123@example.com>\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"iVBORw0KGgoAAAANSUhEUg==\r\n"
	"--REL\r\n"
	"Content-Type: image/gif\r\n"
	"Content-ID: <unused@example.com>\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"R0lGODlhAQABAAAAACw=\r\n"
	"--REL--\r\n";

static void test_body(void)
{
	check_charset("iso-8859-1", "Gr\xFC\xDF" "e", "Gr\xC3\xBC\xC3\x9F" "e", "28591\n");
	check_charset("windows-1252", "\x80 5 \x93quoted\x94",
	              "\xE2\x82\xAC 5 \xE2\x80\x9Cquoted\xE2\x80\x9D", "1252\n");
	check_charset("koi8-r", "\xF0\xD2\xC9\xD7\xC5\xD4",
	              "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", "20866\n");
	check_charset("shift_jis", "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD",
	              "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF", "932\n");

	mapper_message *m = load(alternative_msg);
	/* HTML kept as bytes in its own code page */
	is_file(m, "PidTagHtml", "<p>Gr\xFC\xDF" "e</p>", "alternative prefers html");
	is_file(m, "PidTagNativeBody", "3\n", "alternative");
	is_file(m, "PidTagInternetCodepage", "28591\n", "alternative: html charset");
	is_list(m, "attachments", "", "alternative: the plain rendition is no attachment");
	is_file(m, "PidTagHasAttachments", "false\n", "alternative");
	mapper_message_free(m);

	m = load(mixed_msg);
	is_file(m, "PidTagBody", "see the attachment", "mixed: body from the first part");
	is_list(m, "attachments", "0,a.zip", "mixed: one attachment");
	is_file(m, "attachments/0/PidTagAttachLongFilename", "a.zip\n", "mixed");
	is_file(m, "attachments/0/PidTagAttachMimeTag", "application/zip\n", "mixed");
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", "PK\x03\x04\x0A\0\0\0\0\0", 10, "mixed");
	is_file(m, "attachments/0/PidTagAttachmentHidden", "false\n", "mixed: a real attachment is not hidden");
	is_file(m, "PidTagHasAttachments", "true\n", "mixed");
	mapper_message_free(m);

	m = load(related_msg);
	is_file(m, "PidTagHtml", "<html><body><img src=\"cid:logo.123@example.com\"></body></html>", "related");
	is_list(m, "attachments", "0,1,attachment1.png,attachment2.gif", "related");
	is_file(m, "attachments/0/PidTagAttachContentId", "logo.123@example.com\n", "related");
	is_file(m, "attachments/0/PidTagAttachmentHidden", "true\n", "related: referenced image hidden");
	is_file(m, "attachments/0/PidTagAttachFlags", "4\n", "related: attRenderedInBody");
	is_file(m, "attachments/0/PidTagAttachMimeTag", "image/png\n", "related");
	is_file(m, "attachments/1/PidTagAttachmentHidden", "false\n", "related: unreferenced image shown");
	is_absent(m, "attachments/1/PidTagAttachFlags", "related: unreferenced image");
	mapper_message_free(m);
}

/* ---- attachments (oxcmail-mapping.md 4.2) ------------------------------------ */

static void test_attachments(void)
{
	unsigned char pdf[256];
	for (size_t i = 0; i < sizeof pdf; i++)
		pdf[i] = (unsigned char)(255 - i); /* 0xFF first, NUL last */
	char *b64 = base64_lines(pdf, sizeof pdf, 76, "\r\n");
	buf b = { 0 };
	buf_add(&b,
		"From: a@example.com\r\n"
		"To: b@example.org\r\n"
		"Subject: attachments\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"MIX\"\r\n"
		"\r\n"
		"This is a multi-part message in MIME format.\r\n"
		"--MIX\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"\r\n"
		"See attachments.\r\n"
		"--MIX\r\n"
		"Content-Type: application/pdf\r\n"
		"Content-Disposition: attachment;\r\n"
		" filename*=UTF-8''%C3%BCbersicht.pdf;\r\n"
		" creation-date=\"Tue, 14 Nov 2023 23:13:21 +0100\";\r\n"
		" modification-date=\"Wed, 15 Nov 2023 08:00:00 +0000\"\r\n"
		"Content-ID: <pdf1@example.com>\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n");
	buf_add(&b, b64);
	buf_add(&b,
		"--MIX\r\n"
		"Content-Type: image/png; name=\"=?UTF-8?B?w6TDtsO8LnBuZw==?=\"\r\n"
		"Content-Disposition: attachment\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"iVBORw0KGgo=\r\n"
		"--MIX\r\n"
		"Content-Type: text/plain; charset=utf-8; name=notes.txt\r\n"
		"Content-Disposition: attachment; filename=notes.txt\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n"
		"\r\n"
		"caf=C3=A9 =3D soft=\r\n"
		"break\r\n"
		"second line\r\n"
		"--MIX\r\n"
		"Content-Type: application/x-thing\r\n"
		"Content-Disposition: attachment; filename=\"a:b/c|d.bin\"\r\n"
		"\r\n"
		"raw\r\n"
		"--MIX--\r\n");
	free(b64);

	mapper_message *m = load(b.data);
	const char *w = "attachments";
	is_list(m, "attachments", "0,1,2,3,a_b_c_d.bin,notes.txt,\xC3\xA4\xC3\xB6\xC3\xBC.png,\xC3\xBC" "bersicht.pdf", w);
	is_file(m, "PidTagBody", "See attachments.", w);
	is_file(m, "PidTagHasAttachments", "true\n", w);
	has_bit(m, "PidTagMessageFlags", 0x10, w);

	is_file(m, "attachments/0/PidTagAttachLongFilename", "\xC3\xBC" "bersicht.pdf\n", "RFC 2231 filename*");
	is_file(m, "attachments/0/PidTagAttachExtension", ".pdf\n", w);
	is_file(m, "attachments/0/PidTagDisplayName", "\xC3\xBC" "bersicht.pdf\n", w);
	is_file(m, "attachments/0/PidTagAttachMimeTag", "application/pdf\n", w);
	is_file(m, "attachments/0/PidTagAttachContentId", "pdf1@example.com\n", "Content-ID without <>");
	is_file(m, "attachments/0/PidTagAttachMethod", "1\n", w);
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", pdf, sizeof pdf, "base64 decoded exactly");
	is_file(m, "attachments/0/PidTagAttachSize", "256\n", w);
	is_file(m, "attachments/0/PidTagCreationTime", "2023-11-14T22:13:21Z\n", "creation-date");
	is_file(m, "attachments/0/PidTagLastModificationTime", "2023-11-15T08:00:00Z\n", "modification-date");
	is_file(m, "attachments/0/PidTagAttachNumber", "0\n", w);
	is_file(m, "attachments/0/PidTagRenderingPosition", "-1\n", w);

	is_file(m, "attachments/1/PidTagAttachLongFilename", "\xC3\xA4\xC3\xB6\xC3\xBC.png\n", "RFC 2047 name");
	is_file(m, "attachments/1/PidTagAttachExtension", ".png\n", w);
	is_file_mem(m, "attachments/1/PidTagAttachDataBinary", "\x89PNG\r\n\x1A\n", 8, w);

	is_file(m, "attachments/2/PidTagAttachLongFilename", "notes.txt\n", w);
	is_file(m, "attachments/2/PidTagAttachFilename", "notes.txt\n", "8.3 name kept");
	is_file(m, "attachments/2/PidTagAttachDataBinary", "caf\xC3\xA9 = softbreak\r\nsecond line",
	        "quoted-printable decoded");
	is_file(m, "attachments/2/PidTagTextAttachmentCharset", "utf-8\n", w);
	is_file(m, "attachments/2/PidTagAttachMimeTag", "text/plain\n", w);

	/* MS-OXCMAIL 2.2.3.4.1.1: " / : < > | \ removed or replaced */
	{
		char *n = read_copy(m, "attachments/3/PidTagAttachLongFilename", NULL);
		ok(n && !strpbrk(n, "\"/:<>|\\") && strstr(n, ".bin\n"),
		   "file name sanitized: %s", n ? n : "(none)");
		free(n);
	}
	is_file(m, "attachments/3/PidTagAttachDataBinary", "raw", "no transfer encoding");
	mapper_message_free(m);
	free(b.data);
}

/* ---- embedded messages (4.2 item 6) -------------------------------------------- */

static const char level2[] =
	"From: Zed <zed@example.com>\r\n"
	"To: yves@example.org\r\n"
	"Subject: deepest\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"level two\r\n";

static void test_embedded(void)
{
	buf l1 = { 0 };
	buf_add(&l1,
		"From: Carol <carol@example.com>\r\n"
		"To: Dave <dave@example.org>, erin@example.net\r\n"
		"Subject: inner message\r\n"
		"Date: Mon, 13 Nov 2023 10:00:00 +0000\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"L1\"\r\n"
		"\r\n"
		"--L1\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"level one\r\n"
		"--L1\r\n"
		"Content-Type: message/rfc822\r\n"
		"\r\n");
	buf_add(&l1, level2);
	buf_add(&l1, "--L1--\r\n");

	buf top = { 0 };
	buf_add(&top,
		"From: a@example.com\r\n"
		"To: b@example.org\r\n"
		"Subject: Fwd: inner message\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"TOP\"\r\n"
		"\r\n"
		"--TOP\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"forwarded\r\n"
		"--TOP\r\n"
		"Content-Type: message/rfc822\r\n"
		"Content-Disposition: attachment\r\n"
		"\r\n");
	buf_add(&top, l1.data);
	buf_add(&top, "\r\n--TOP--\r\n");

	mapper_message *m = load(top.data);
	const char *w = "embedded";
	const char *obj = "attachments/0/PidTagAttachDataObject";
	is_list(m, "attachments", "0", w);
	is_file(m, "attachments/0/PidTagAttachMethod", "5\n", "afEmbeddedMessage");
	is_file(m, "attachments/0/PidTagAttachMimeTag", "message/rfc822\n", w);
	is_absent(m, "attachments/0/PidTagAttachDataBinary", "method 5 has no binary data");
	is_file(m, "attachments/0/PidTagDisplayName", "inner message\n", "display name from inner subject");
	{
		char *names = list_joined(m, "attachments/0");
		ok(strstr(names, "PidTagAttachDataObject") != NULL, "attachments/0 lists PidTagAttachDataObject");
		free(names);
	}
	mapper_node node;
	ok(mapper_message_stat(m, obj, &node) == MAPPER_OK && node.kind == MAPPER_NODE_DIR &&
	   node.is_message && node.tag == 0x3701000Du &&
	   node.type_name && strcmp(node.type_name, "PtypObject") == 0,
	   "PidTagAttachDataObject: a message directory, tag 0x3701000D, PtypObject");
	ok(mapper_message_stat(m, "", &node) == MAPPER_OK && node.kind == MAPPER_NODE_DIR && node.is_message,
	   "root is a message directory");
	ok(mapper_message_stat(m, "attachments/0", &node) == MAPPER_OK && node.kind == MAPPER_NODE_DIR &&
	   !node.is_message, "attachments/0 is a directory, not a message");

	is_file(m, "attachments/0/PidTagAttachDataObject/PidTagSubject", "inner message\n", w);
	is_file(m, "attachments/0/PidTagAttachDataObject/PidTagMessageClass", "IPM.Note\n", w);
	is_file(m, "attachments/0/PidTagAttachDataObject/PidTagClientSubmitTime", "2023-11-13T10:00:00Z\n", w);
	is_file(m, "attachments/0/PidTagAttachDataObject/PidTagSentRepresentingName", "Carol\n", w);
	is_list(m, "attachments/0/PidTagAttachDataObject/recipients", "0,1", "inner recipients");
	is_file(m, "attachments/0/PidTagAttachDataObject/recipients/0/PidTagDisplayName", "Dave\n", w);
	is_file(m, "attachments/0/PidTagAttachDataObject/recipients/1/PidTagSmtpAddress", "erin@example.net\n", w);
	is_file(m, "attachments/0/PidTagAttachDataObject/PidTagBody", "level one", w);
	/* the outer recipients are not mixed in */
	is_list(m, "recipients", "0", "outer recipients");
	is_file(m, "recipients/0/PidTagSmtpAddress", "b@example.org\n", w);

	/* second level */
	const char *obj2 = "attachments/0/PidTagAttachDataObject/attachments/0/PidTagAttachDataObject";
	is_file(m, "attachments/0/PidTagAttachDataObject/attachments/0/PidTagAttachMethod", "5\n", "level 2");
	ok(mapper_message_stat(m, obj2, &node) == MAPPER_OK && node.kind == MAPPER_NODE_DIR && node.is_message,
	   "level 2: PidTagAttachDataObject is a message directory");
	char p[200];
	snprintf(p, sizeof p, "%s/PidTagSubject", obj2);
	is_file(m, p, "deepest\n", "level 2");
	snprintf(p, sizeof p, "%s/recipients/0/PidTagSmtpAddress", obj2);
	is_file(m, p, "yves@example.org\n", "level 2");
	snprintf(p, sizeof p, "%s/PidTagBody", obj2);
	/* the CRLF before "--L1--" belongs to the delimiter (RFC 2046 5.1.1) */
	is_file(m, p, "level two", "level 2");

	/*
	 * TODO(mapper bug: embedded message bytes re-serialised): design.md 2
	 * shows message.eml as "the Internet-format message, byte for byte as
	 * stored", but add_embedded() (import.c) stores GMime's
	 * re-serialisation of the inner message, written with the default
	 * format options, which turns every CRLF into LF.  These fail until the
	 * inner bytes are taken from the input.
	 */
	snprintf(p, sizeof p, "%s/message.eml", obj);
	is_file_mem(m, p, l1.data, l1.len, "embedded message.eml byte for byte (CRLF kept)");
	snprintf(p, sizeof p, "%s/message.eml", obj2);
	is_file_mem(m, p, level2, strlen(level2) - 2, "level 2 message.eml byte for byte (CRLF kept)");
	snprintf(p, sizeof p, "%s/PidTagTransportMessageHeaders", obj);
	is_file_mem(m, p, l1.data, (size_t)(strstr(l1.data, "\r\n\r\n") - l1.data) + 2,
	            "embedded header block as it came (CRLF kept)");
	is_absent(m, "message.eml", "the top message has no message.eml of its own");
	mapper_message_free(m);

	/* LF input: message.eml byte for byte */
	char *lf_top = malloc(top.len + 1);
	size_t n = 0;
	for (size_t i = 0; i < top.len; i++)
		if (top.data[i] != '\r')
			lf_top[n++] = top.data[i];
	lf_top[n] = '\0';
	char *lf_l1 = malloc(l1.len + 1);
	size_t n1 = 0;
	for (size_t i = 0; i < l1.len; i++)
		if (l1.data[i] != '\r')
			lf_l1[n1++] = l1.data[i];
	lf_l1[n1] = '\0';
	m = load(lf_top);
	snprintf(p, sizeof p, "%s/message.eml", obj);
	is_file_mem(m, p, lf_l1, n1, "LF: embedded message.eml byte for byte");
	snprintf(p, sizeof p, "%s/PidTagSubject", obj2);
	is_file(m, p, "deepest\n", "LF: level 2");
	mapper_message_free(m);
	free(lf_top);
	free(lf_l1);
	free(top.data);
	free(l1.data);
}

/* ---- Maildir flags (oxcmail-mapping.md 7.2) -------------------------------------- */

static void test_flags(void)
{
	mapper_message *m = load_flags(mixed_msg, "FRS");
	has_bit(m, "PidTagMessageFlags", 0x1, "FRS with attachment: mfRead");
	has_bit(m, "PidTagMessageFlags", 0x10, "FRS with attachment: mfHasAttach");
	lacks_bit(m, "PidTagMessageFlags", 0x8, "FRS: not unsent");
	is_file(m, "PidTagRead", "true\n", "FRS");
	is_file(m, "PidTagFlagStatus", "2\n", "FRS: flagged");
	is_file(m, "PidTagFollowupIcon", "6\n", "FRS: red flag");
	is_file(m, "PidTagLastVerbExecuted", "102\n", "FRS: replied");
	is_file(m, "PidTagIconIndex", "261\n", "FRS: replied icon");
	has_bit(m, "PidTagMessageStatus", 0x200, "FRS: ANSWERED");
	is_file(m, "PidTagHasAttachments", "true\n", "FRS with attachment");
	mapper_message_free(m);

	m = load_flags(alternative_msg, "FRS");
	is_file(m, "PidTagMessageFlags", "1\n", "FRS without attachment: only mfRead");
	is_file(m, "PidTagHasAttachments", "false\n", "FRS without attachment");
	mapper_message_free(m);

	m = load_flags(alternative_msg, "");
	is_file(m, "PidTagMessageFlags", "0\n", "no flags");
	is_file(m, "PidTagRead", "false\n", "no flags");
	is_absent(m, "PidTagFlagStatus", "no flags");
	mapper_message_free(m);

	m = load_flags(alternative_msg, "DT");
	has_bit(m, "PidTagMessageFlags", 0x8, "D: mfUnsent");
	has_bit(m, "PidTagMessageStatus", 0x100, "D: DRAFT");
	has_bit(m, "PidTagMessageStatus", 0x8, "T: DELMARKED");
	mapper_message_free(m);

	m = load_flags(mixed_msg, "P");
	is_file(m, "PidTagLastVerbExecuted", "104\n", "P: forwarded");
	is_file(m, "PidTagMessageFlags", "16\n", "P with attachment: only mfHasAttach");
	mapper_message_free(m);
}

/* MS-OXCMAIL 2.2.3.9.2: message/partial is never reassembled: the
 * fragment is an attachment of its own type and bytes, with a warning. */
static void test_partial(void)
{
	static const char inner[] =
		"From: a@example.com\r\nSubject: the whole\r\nContent-Type: text/plain\r\n\r\n"
		"first half of the text\r\n";
	buf b = { 0 };
	buf_add(&b, "From: a@example.com\r\nSubject: part 1 of 2\r\nMIME-Version: 1.0\r\n"
	            "Content-Type: message/partial; id=\"abc@example.com\"; number=1; total=2\r\n\r\n");
	buf_add(&b, inner);
	mapper_message *m = load(b.data);
	const char *what = "message/partial";
	is_file(m, "PidTagMessageClass", "IPM.Note\n", what);
	is_file(m, "attachments/0/PidTagAttachMimeTag", "message/partial\n", what);
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", inner, strlen(inner), what);
	is_absent(m, "attachments/0/PidTagAttachDataObject", what);   /* not parsed as a message */
	is_absent(m, "PidTagBody", what);
	ok(mapper_message_warning(m) && strstr(mapper_message_warning(m), "not reassembled"),
	   "%s: the message warns that it is not reassembled", what);
	mapper_message_free(m);
	free(b.data);
}

/* MS-OXCMAIL 2.2.3.7: reports.  One per-recipient group of a DSN with
 * @status, and an MDN with disposition @type. */
static mapper_message *dsn(const char *action, const char *status)
{
	buf b = { 0 };
	buf_printf(&b, "From: MAILER-DAEMON@mx.example.org\r\nDate: Mon, 02 Dec 2024 10:05:00 +0000\r\n"
	               "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
	               " boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\ntext\r\n--B\r\n"
	               "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
	               "Final-Recipient: rfc822; b@example.net\r\nAction: %s\r\nStatus: %s\r\n"
	               "\r\n--B--\r\n", action, status);
	mapper_message *m = load(b.data);
	free(b.data);
	return m;
}

static void test_reports(void)
{
	/* 2.2.3.7.1.3: status code, diagnostic and reason codes by Subject.Detail
	 * (a Subject or Detail past 9 counts as 0; -1: no diagnostic) */
	static const struct { const char *status, *code, *diag, *reason; } t[] = {
		{ "5.1.1", "511\n", "35\n", "1\n" }, { "5.1.9", "519\n", "0\n", "0\n" },
		{ "4.4.7", "447\n", "5\n", "0\n" }, { "5.4.3", "543\n", "-1\n", "6\n" },
		{ "5.7.1", "571\n", "29\n", "0\n" }, { "5.12.1", "501\n", "-1\n", "0\n" },
		{ "4.4.4", "444\n", "-1\n", "0\n" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		mapper_message *m = dsn("failed", t[i].status);
		is_file(m, "PidTagMessageClass", "REPORT.IPM.Note.NDR\n", t[i].status);
		is_file(m, "recipients/0/PidTagNonDeliveryReportStatusCode", t[i].code, t[i].status);
		is_file(m, "recipients/0/PidTagNonDeliveryReportDiagCode", t[i].diag, t[i].status);
		is_file(m, "recipients/0/PidTagNonDeliveryReportReasonCode", t[i].reason, t[i].status);
		mapper_message_free(m);
	}
	/* 2.2.3.7.1.1: each action's class */
	static const char *const actions[][2] = {
		{ "delivered", "REPORT.IPM.Note.DR\n" }, { "expanded", "REPORT.IPM.Note.Expanded.DR\n" },
		{ "Relayed", "REPORT.IPM.Note.Relayed.DR\n" }, { "delayed", "REPORT.IPM.Note.Delayed.DR\n" },
		{ "unheard-of", "IPM.Note\n" },
	};
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		mapper_message *m = dsn(actions[i][0], "2.0.0");
		is_file(m, "PidTagMessageClass", actions[i][1], actions[i][0]);
		mapper_message_free(m);
	}
	/* a header-only load cannot know a report's class: it asks for the rest */
	static const char mdn[] =
		"From: b@example.net\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report;"
		" report-type=disposition-notification; boundary=B\r\n\r\n--B\r\n"
		"Content-Type: text/plain\r\n\r\nDeleted unread.\r\n--B\r\n"
		"Content-Type: message/disposition-notification\r\n\r\n"
		"Final-Recipient: rfc822;b@example.net\r\nOriginal-Message-ID: <o@example.org>\r\n"
		"Disposition: manual-action/MDN-sent-manually; deleted\r\n\r\n--B--\r\n";
	mapper_message *m = load_level(mdn, MAPPER_LOAD_HEADERS);
	mapper_node node;
	is_int(mapper_message_stat(m, "PidTagMessageClass", &node), MAPPER_INCOMPLETE,
	       "a report's header-only object answers MAPPER_INCOMPLETE");
	mapper_message_free(m);
	m = load(mdn);
	is_file(m, "PidTagMessageClass", "REPORT.IPM.Note.IPNNRN\n", "MDN deleted");
	is_file(m, "PidTagOriginalMessageId", "<o@example.org>\n", "MDN");
	is_file(m, "PidTagOriginalDisplayTo", "b@example.net\n", "MDN");
	is_file(m, "PidTagBody", "Deleted unread.", "MDN");
	mapper_message_free(m);
}

int main(void)
{
	mapper_init();
	test_headers();
	test_body();
	test_attachments();
	test_embedded();
	test_flags();
	test_partial();
	test_reports();
	mapper_shutdown();
	return done_testing();
}
