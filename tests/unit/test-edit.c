/*
 * test-edit.c - editing message objects through their files (design.md
 * sections 3 and 4): values accepted on write, what is read-only, rows.
 * Only the object in memory is checked here; the stored result is the
 * writer's (test-export.c) and the mount's (tests/bats/8*.bats).
 */
#include "mapper-test.h"

static const char plain[] =
	"From: Alice <alice@example.org>\n"
	"To: Bob <bob@example.org>, carol@example.org\n"
	"Subject: Hello\n"
	"Date: Tue, 14 Nov 2023 23:13:21 +0100\n"
	"Message-ID: <1@example.org>\n"
	"X-Mailer: test\n"
	"\n"
	"Hi Bob.\n";

static const char clear_signed[] =
	"From: alice@example.org\n"
	"Subject: signed\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=b1\n"
	"\n"
	"--b1\n"
	"Content-Type: text/plain\n"
	"\n"
	"signed text\n"
	"--b1\n"
	"Content-Type: application/pkcs7-signature; name=smime.p7s\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"MIAGCSqGSIb3DQEHAqCAMIACAQExADALBgkqhkiG9w0BBwGggDAAAAAAAAA=\n"
	"--b1--\n";

static mapper_status set(mapper_message *m, const char *path, const char *value)
{
	char *why = NULL;
	mapper_status st = mapper_message_set(m, path, value, strlen(value), &why);
	if (st != MAPPER_OK) {
		if (!why || !*why)
			diag("no reason given for %s", path);
		else
			diag("%s: %s", path, why);
	}
	free(why);
	return st;
}

#define is_status(got, expected, ...) \
	is_str(mapper_status_to_string(got), mapper_status_to_string(expected), __VA_ARGS__)

static void test_strings(void)
{
	mapper_message *m = load(plain);
	is_status(set(m, "PidTagSubject", "New subject\n"), MAPPER_OK, "set a subject");
	is_file(m, "PidTagSubject", "New subject\n", "one trailing newline dropped, shown again");
	is_status(set(m, "PidTagSubject", "CRLF\r\n"), MAPPER_OK, "CRLF ending");
	is_file(m, "PidTagSubject", "CRLF\n", "CRLF dropped");
	is_status(set(m, "PidTagSubject", "Grüße\n"), MAPPER_OK, "UTF-8 subject");
	is_file(m, "PidTagSubject", "Grüße\n", "UTF-8 kept");
	is_status(set(m, "PidTagSubject", "a\nb\n"), MAPPER_INVALID, "newline inside: EINVAL");
	is_status(set(m, "PidTagSubject", "a\rb"), MAPPER_INVALID, "CR inside: EINVAL");
	is_status(set(m, "PidTagSubject", "\xff\xfe\n"), MAPPER_INVALID, "not UTF-8: EINVAL");
	is_file(m, "PidTagSubject", "Grüße\n", "a refused value changes nothing");
	is_status(set(m, "PidTagInternetMessageId", "no-brackets\n"), MAPPER_INVALID, "message id shape");
	is_status(set(m, "PidTagInternetMessageId", "<2@example.org>\n"), MAPPER_OK, "message id");
	mapper_message_free(m);
}

static void test_numbers_and_times(void)
{
	mapper_message *m = load(plain);
	is_status(set(m, "PidTagImportance", "2\n"), MAPPER_OK, "importance 2");
	is_file(m, "PidTagImportance", "2\n", "importance shown");
	is_status(set(m, "PidTagImportance", "0x0"), MAPPER_OK, "hex accepted");
	is_file(m, "PidTagImportance", "0\n", "hex value");
	is_status(set(m, "PidTagImportance", "high\n"), MAPPER_INVALID, "text in an integer");
	is_status(set(m, "PidTagImportance", "7\n"), MAPPER_INVALID, "importance out of range");
	is_status(set(m, "PidTagImportance", "1.5"), MAPPER_INVALID, "not an integer");
	is_status(set(m, "PidTagSensitivity", "99999999999"), MAPPER_INVALID, "beyond 32 bits");
	is_file(m, "PidTagImportance", "0\n", "refused values change nothing");

	is_status(set(m, "PidTagClientSubmitTime", "2024-05-01T11:30:00+02:00\n"), MAPPER_OK, "ISO date");
	is_file(m, "PidTagClientSubmitTime", "2024-05-01T09:30:00Z\n", "shown in UTC");
	is_status(set(m, "PidTagClientSubmitTime", "Wed, 01 May 2024 09:30:00 +0000"), MAPPER_OK,
	          "RFC 5322 date");
	is_status(set(m, "PidTagClientSubmitTime", "yesterday\n"), MAPPER_INVALID, "bad date");
	is_status(set(m, "PidTagClientSubmitTime", "2024-05-01T09:30:00\n"), MAPPER_INVALID,
	          "a date without offset is ambiguous");

	is_status(set(m, "PidTagReadReceiptRequested", "1\n"), MAPPER_OK, "boolean 1");
	is_file(m, "PidTagReadReceiptRequested", "true\n", "boolean shown");
	is_status(set(m, "PidTagReadReceiptRequested", "maybe"), MAPPER_INVALID, "boolean maybe");

	is_status(set(m, "PidTagMessageFlags", "0x1"), MAPPER_OK, "flags hex");
	is_file(m, "PidTagMessageFlags", "1\n", "flags");
	ok(mapper_path_is_flag_property("PidTagMessageFlags"), "flags are carried by Maildir flags");
	ok(!mapper_path_is_flag_property("PidTagSubject"), "the subject is not");
	mapper_message_free(m);
}

static void test_named(void)
{
	mapper_message *m = load(plain);
	is_status(set(m, "PS_INTERNET_HEADERS/X-Foo", "v\n"), MAPPER_OK, "new header property");
	is_file(m, "PS_INTERNET_HEADERS/X-Foo", "v\n", "shown");
	is_status(set(m, "PS_INTERNET_HEADERS/X-Mailer", "other\n"), MAPPER_OK, "existing one");
	is_file(m, "PS_INTERNET_HEADERS/X-Mailer", "other\n", "changed");
	is_status(set(m, "PS_INTERNET_HEADERS/X-Foo", ""), MAPPER_OK, "empty removes");
	is_absent(m, "PS_INTERNET_HEADERS/X-Foo", "removed");
	is_status(set(m, "PS_INTERNET_HEADERS/Subject", "x\n"), MAPPER_INVALID,
	          "a header another property writes (MS-OXCMAIL 2.1.3.2.4)");
	is_status(set(m, "PS_INTERNET_HEADERS/Content-Type", "text/html\n"), MAPPER_READ_ONLY,
	          "Content-* belong to the structure");
	is_status(set(m, "PS_INTERNET_HEADERS/Bad Name", "x\n"), MAPPER_INVALID, "field name with a space");
	is_status(set(m, "PS_PUBLIC_STRINGS/Keywords", "one\ntwo\n"), MAPPER_OK, "keywords");
	is_file(m, "PS_PUBLIC_STRINGS/Keywords", "one\ntwo\n", "one keyword a line");
	is_status(set(m, "NO_SUCH_SET/X", "x"), MAPPER_NOT_FOUND, "unknown set");
	mapper_message_free(m);
}

static void test_permissions(void)
{
	mapper_message *m = load(plain);
	char *why = NULL;
	is_status(mapper_message_can_set(m, "PidTagNoSuchThing", &why), MAPPER_INVALID, "unknown name");
	ok(why && *why, "with a reason");
	free(why);
	is_status(mapper_message_can_set(m, "PidTagMessageClass", NULL), MAPPER_READ_ONLY, "class");
	is_status(mapper_message_can_set(m, "PidTagTransportMessageHeaders", NULL), MAPPER_READ_ONLY,
	          "header block");
	is_status(mapper_message_can_set(m, "PidTagDisplayTo", NULL), MAPPER_READ_ONLY, "display list");
	is_status(mapper_message_can_set(m, "PidTagHasAttachments", NULL), MAPPER_READ_ONLY, "derived flag");
	is_status(mapper_message_can_set(m, "recipients/0/PidTagSearchKey", NULL), MAPPER_READ_ONLY,
	          "recipient search key");
	is_status(mapper_message_can_set(m, "PidTagBody", NULL), MAPPER_OK, "a plain body is writable");
	is_status(mapper_message_can_set(m, "recipients/9/PidTagDisplayName", NULL), MAPPER_NOT_FOUND,
	          "no such row");
	mapper_message_free(m);

	/* a header-only object takes what only a header field holds */
	mapper_message *h = load_level(plain, MAPPER_LOAD_HEADERS);
	is_status(mapper_message_can_set(h, "PidTagSubject", NULL), MAPPER_OK,
	          "header-only: the subject (a header field)");
	is_status(mapper_message_can_set(h, "PS_INTERNET_HEADERS/X-Foo", NULL), MAPPER_OK,
	          "header-only: a generic header field");
	is_status(mapper_message_can_set(h, "PidTagBody", NULL), MAPPER_INCOMPLETE,
	          "header-only: the body needs the whole message");
	is_status(mapper_message_can_set(h, "PidTagInternetCodepage", NULL), MAPPER_READ_ONLY,
	          "header-only: the code page is derived, as on the whole message");
	is_status(mapper_message_can_set(h, "0x6E010003", NULL), MAPPER_INCOMPLETE,
	          "header-only: sealing needs the whole message");
	is_status(mapper_message_can_set(h, "recipients/0/PidTagDisplayName", NULL), MAPPER_INCOMPLETE,
	          "header-only: rows need the whole message");
	is_status(mapper_message_can_set(h, "PidTagMessageClass", NULL), MAPPER_READ_ONLY,
	          "header-only: read-only stays read-only");
	mapper_message_free(h);

	mapper_message *s = load(clear_signed);
	is_status(mapper_message_can_set(s, "PidTagSubject", NULL), MAPPER_OK, "outer subject");
	is_status(mapper_message_can_set(s, "PidTagBody", NULL), MAPPER_READ_ONLY,
	          "promoted body of a clear-signed message");
	is_status(mapper_message_can_set(s, "attachments/0/PidTagAttachMimeTag", NULL), MAPPER_READ_ONLY,
	          "the S/MIME attachment's mime tag");
	is_status(mapper_message_can_set(s, "attachments/0/PidTagAttachDataBinary", NULL), MAPPER_OK,
	          "its bytes may be replaced");
	is_status(set(s, "attachments/0/PidTagAttachDataBinary", "not mime at all"), MAPPER_INVALID,
	          "by a well-formed entity only");
	is_status(mapper_message_mkdir(s, "attachments/1", NULL), MAPPER_READ_ONLY,
	          "no second attachment on S/MIME");
	is_status(mapper_message_rmdir(s, "attachments/0", NULL), MAPPER_READ_ONLY,
	          "nor removing the one");
	mapper_message_free(s);
}

static void test_rows(void)
{
	mapper_message *m = load(plain);
	is_list(m, "recipients", "0,1", "two recipients");
	is_status(mapper_message_mkdir(m, "recipients/5", NULL), MAPPER_INVALID, "not the next row");
	is_status(mapper_message_mkdir(m, "recipients/1", NULL), MAPPER_EXISTS, "an existing row");
	is_status(mapper_message_mkdir(m, "recipients/2", NULL), MAPPER_OK, "the next row");
	is_file(m, "recipients/2/PidTagRecipientType", "1\n", "a To recipient");
	is_status(set(m, "recipients/2/PidTagEmailAddress", "not an address\n"), MAPPER_INVALID,
	          "address checked");
	is_status(set(m, "recipients/2/PidTagEmailAddress", "dave@example.org\n"), MAPPER_OK, "address");
	is_file(m, "recipients/2/PidTagSmtpAddress", "dave@example.org\n", "SMTP address follows");
	is_file(m, "recipients/2/PidTagAddressType", "SMTP\n", "address type follows");
	is_status(set(m, "recipients/2/PidTagRecipientType", "4"), MAPPER_INVALID, "only To/Cc/Bcc");
	is_status(set(m, "recipients/2/PidTagRecipientType", "2"), MAPPER_OK, "Cc");
	is_status(mapper_message_rmdir(m, "recipients/0", NULL), MAPPER_OK, "remove the first");
	is_file(m, "recipients/0/PidTagSmtpAddress", "carol@example.org\n", "later rows move down");
	is_status(mapper_message_rmdir(m, "recipients/7", NULL), MAPPER_NOT_FOUND, "no such row");
	is_status(mapper_message_rmdir(m, "PS_INTERNET_HEADERS", NULL), MAPPER_READ_ONLY, "not a row");

	is_status(mapper_message_mkdir(m, "attachments/0", NULL), MAPPER_OK, "a new attachment");
	is_file(m, "attachments/0/PidTagAttachMimeTag", "application/octet-stream\n", "default type");
	is_status(set(m, "attachments/0/PidTagAttachMimeTag", "no slash\n"), MAPPER_INVALID,
	          "media type checked");
	is_status(set(m, "attachments/0/PidTagAttachMimeTag", "application/pdf\n"), MAPPER_OK, "media type");
	is_status(set(m, "attachments/0/PidTagAttachDataBinary", "%PDF-1.4"), MAPPER_OK, "data");
	is_file(m, "attachments/0/PidTagAttachDataBinary", "%PDF-1.4", "raw bytes");
	is_status(mapper_message_can_set(m, "attachments/0/PidTagAttachSize", NULL), MAPPER_READ_ONLY,
	          "derived size");
	mapper_message_free(m);
}

/* mapper_message_check_partial: what write(2) can already refuse (issue 13) */
static void test_partial(void)
{
	mapper_message *m = load(plain);
	static const struct {
		const char *path, *bytes;
		mapper_status want;
		const char *what;
	} cases[] = {
		{ "PidTagImportance", "x", MAPPER_INVALID, "no integer starts with x" },
		{ "PidTagImportance", "1", MAPPER_OK, "1 may go on" },
		{ "PidTagImportance", "-", MAPPER_OK, "a sign may go on" },
		{ "PidTagImportance", "0x", MAPPER_OK, "so may 0x" },
		{ "PidTagImportance", "0x1g", MAPPER_INVALID, "but not 0x1g" },
		{ "PidTagImportance", "5\n", MAPPER_INVALID, "a complete line is range-checked" },
		{ "PidTagImportance", "2\n", MAPPER_OK, "2 is taken" },
		{ "PidTagSubject", "half a subj", MAPPER_OK, "a line not yet ended" },
		{ "PidTagSubject", "a\nb", MAPPER_INVALID, "a second line" },
		{ "PidTagSubject", "done\n", MAPPER_OK, "one line" },
		{ "PidTagClientSubmitTime", "yesterday", MAPPER_OK, "a date waits for its line" },
		{ "PidTagClientSubmitTime", "yesterday\n", MAPPER_INVALID, "and is judged then" },
		{ "PidTagBody", "x\ny\n", MAPPER_OK, "multi-line text waits for close" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *why = NULL;
		is_status(mapper_message_check_partial(m, cases[i].path, cases[i].bytes, strlen(cases[i].bytes), &why),
		          cases[i].want, "%s: %s", cases[i].path, cases[i].what);
		free(why);
	}
	mapper_status derived = mapper_message_can_set(m, "PidTagHasAttachments", NULL);
	ok(derived != MAPPER_OK, "PidTagHasAttachments cannot be set");
	is_status(mapper_message_check_partial(m, "PidTagHasAttachments", "1", 1, NULL), derived,
	          "a derived property: as can_set says");
	char *subject = read_copy(m, "PidTagSubject", NULL);
	mapper_message *again = load(plain);
	char *before = read_copy(again, "PidTagSubject", NULL);
	is_str(subject, before, "judging changes nothing");
	free(subject);
	free(before);
	mapper_message_free(again);
	mapper_message_free(m);
}

/* info: the summary file (issue 13), made again after an edit */
static void test_info(void)
{
	mapper_message *m = load(plain);
	char *info = read_copy(m, "info", NULL);
	ok(info && strstr(info, "Subject: "), "info has a Subject line: %s", info ? info : "(none)");
	ok(info && strstr(info, "Class: IPM.Note\n"), "and the class");
	free(info);
	is_status(mapper_message_set(m, "PidTagSubject", "Changed\n", 8, NULL), MAPPER_OK, "edit the subject");
	info = read_copy(m, "info", NULL);
	ok(info && strstr(info, "Subject: Changed\n"), "info follows the edit: %s", info ? info : "(none)");
	free(info);
	is_status(mapper_message_set(m, "info", "x", 1, NULL), MAPPER_READ_ONLY, "info is read-only");
	mapper_message *h = load_level(plain, MAPPER_LOAD_HEADERS);
	is_stat(h, "info", MAPPER_INCOMPLETE, "headers only: info needs the attachments");
	mapper_message_free(h);
	mapper_message_free(m);
}

int main(void)
{
	mapper_init();
	test_partial();
	test_info();
	test_strings();
	test_numbers_and_times();
	test_named();
	test_permissions();
	test_rows();
	mapper_shutdown();
	return done_testing();
}
