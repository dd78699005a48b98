/*
 * test-levels.c - MAPPER_LOAD_HEADERS against MAPPER_LOAD_FULL (mapper.h):
 * every root entry that mapper_message_needs_body() does not name has the same
 * presence, kind, size and content (and tag, type and set) in both objects,
 * recursively; the body names answer MAPPER_INCOMPLETE on the headers-only
 * object.  The headers-only load must also work when it is given only the
 * header block (the bytes up to and including the empty line).
 */
#include "mapper-test.h"

/* Names mapper.h's MAPPER_LOAD_HEADERS comment calls body-derived and that
 * a FULL object may or may not have. */
static const char *const body_names[] = {
	"PidTagBody", "PidTagHtml", "PidTagRtfCompressed", "PidTagNativeBody",
	"PidTagInternetCodepage", "PidTagMessageFlags", "PidTagHasAttachments", "attachments",
};

static char *join(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s%s%s", dir, *dir ? "/" : "", name);
	return p;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Compare entry @path of both objects; directories recursively. */
static void compare_entry(mapper_message *full, mapper_message *hdr, const char *path, const char *what);

static void compare_dir(mapper_message *full, mapper_message *hdr, const char *path, const char *what)
{
	char **names = NULL;
	size_t count = 0;
	if (mapper_message_list(full, path, &names, &count) != MAPPER_OK) {
		ok(0, "%s: list '%s' of the FULL object", what, path);
		return;
	}
	/* below the root, the listings themselves must agree */
	if (*path) {
		char *a = list_joined(full, path), *b = list_joined(hdr, path);
		is_str(b, a, "%s: ls '%s' is the same in both", what, path);
		free(a);
		free(b);
	}
	for (size_t i = 0; i < count; i++) {
		char *p = join(path, names[i]);
		if (!*path && mapper_message_needs_body(hdr, names[i]))
			is_stat(hdr, p, MAPPER_INCOMPLETE, what);
		else
			compare_entry(full, hdr, p, what);
		free(p);
	}
	mapper_names_free(names);
}

static void compare_entry(mapper_message *full, mapper_message *hdr, const char *path, const char *what)
{
	mapper_node a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	mapper_status sa = mapper_message_stat(full, path, &a);
	mapper_status sb = mapper_message_stat(hdr, path, &b);
	if (sa != MAPPER_OK || sb != MAPPER_OK) {
		ok(0, "%s: %s in both", what, path);
		diag("FULL: %s; HEADERS: %s", mapper_status_to_string(sa), mapper_status_to_string(sb));
		return;
	}
	if (a.kind == MAPPER_NODE_DIR || b.kind == MAPPER_NODE_DIR) {
		if (ok(a.kind == b.kind && a.is_message == b.is_message && a.tag == b.tag,
		       "%s: %s is the same directory in both", what, path))
			compare_dir(full, hdr, path, what);
		return;
	}
	const void *da = NULL, *db = NULL;
	size_t na = 0, nb = 0;
	mapper_message_read(full, path, &da, &na);
	mapper_message_read(hdr, path, &db, &nb);
	int same_meta = a.size == b.size && a.tag == b.tag && same_str(a.type_name, b.type_name) &&
	                same_str(a.set_guid, b.set_guid) && a.size == na && b.size == nb;
	if (!same_meta) {
		ok(0, "%s: %s: same size, tag, type and set in both", what, path);
		diag("FULL: size %llu (read %zu) tag 0x%08X %s; HEADERS: size %llu (read %zu) tag 0x%08X %s",
		     (unsigned long long)a.size, na, a.tag, a.type_name ? a.type_name : "-",
		     (unsigned long long)b.size, nb, b.tag, b.type_name ? b.type_name : "-");
		return;
	}
	is_mem(db, nb, da, na, "%s: %s is the same in both", what, path);
}

/* Load @msg both ways (and HEADERS from the header block alone) and compare. */
static void check_levels(const char *what, const char *msg, const mapper_source *src)
{
	size_t len = strlen(msg);
	mapper_message *full = mapper_message_load(msg, len, src, MAPPER_LOAD_FULL);
	mapper_message *hdr = mapper_message_load(msg, len, src, MAPPER_LOAD_HEADERS);
	is_int(mapper_message_level(full), MAPPER_LOAD_FULL, "%s: level of the FULL load", what);
	is_int(mapper_message_level(hdr), MAPPER_LOAD_HEADERS, "%s: level of the HEADERS load", what);
	is_str(mapper_message_class(hdr), mapper_message_class(full), "%s: same class", what);

	char w[200];
	snprintf(w, sizeof w, "%s (whole message)", what);
	compare_dir(full, hdr, "", w);
	for (size_t i = 0; i < sizeof body_names / sizeof body_names[0]; i++)
		is_stat(hdr, body_names[i], MAPPER_INCOMPLETE, w);

	/* the header block alone: up to and including the empty line */
	const char *e = strstr(msg, "\r\n\r\n");
	const char *f = strstr(msg, "\n\n");
	size_t hlen = e && (!f || e < f) ? (size_t)(e - msg) + 4 : f ? (size_t)(f - msg) + 2 : len;
	char *block = malloc(hlen);
	memcpy(block, msg, hlen); /* not NUL-terminated: the loader gets a length */
	mapper_message *hdr2 = mapper_message_load(block, hlen, src, MAPPER_LOAD_HEADERS);
	free(block); /* "the bytes are copied; the caller keeps @data" */
	snprintf(w, sizeof w, "%s (header block only)", what);
	is_str(mapper_message_class(hdr2), mapper_message_class(full), "%s: same class", w);
	compare_dir(full, hdr2, "", w);
	for (size_t i = 0; i < sizeof body_names / sizeof body_names[0]; i++)
		is_stat(hdr2, body_names[i], MAPPER_INCOMPLETE, w);

	mapper_message_free(hdr2);
	mapper_message_free(hdr);
	mapper_message_free(full);
}

static const char plain_msg[] =
	"Received: from mx.example.com by mx.example.org; Tue, 14 Nov 2023 23:13:25 +0100\r\n"
	"From: \"Alice Example\" <alice@example.com>\r\n"
	"Sender: Secretary <sec@example.com>\r\n"
	"Reply-To: Alice <alice@example.com>, list@example.org\r\n"
	"To: \"Bob B.\" <bob@example.org>, Friends: carol@example.net, dave@example.com;\r\n"
	"Cc: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\r\n"
	"Subject: =?UTF-8?Q?RE:_Gr=C3=BC=C3=9Fe?=\r\n"
	"Date: Tue, 14 Nov 2023 23:13:21 +0100\r\n"
	"Message-ID: <abc.123@example.com>\r\n"
	"In-Reply-To: <prev.1@example.com>\r\n"
	"Keywords: red, green\r\n"
	"Content-Language: de-DE\r\n"
	"Accept-Language: de-DE, en-US\r\n"
	"X-Message-Flag: Follow up\r\n"
	"Importance: high\r\n"
	"Sensitivity: Private\r\n"
	"Thread-Topic: Greetings\r\n"
	"Thread-Index: AdoXOwD/ECAwQFBgcICQoLDA0ODwAA==\r\n"
	"Disposition-Notification-To: alice@example.com\r\n"
	"List-Help: <mailto:help@example.org>\r\n"
	"X-Mailer: unit test\r\n"
	"X-Foo: bar\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-ID: <body.1@example.com>\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Gr=FC=DFe\r\n";

static const char multipart_msg[] =
	"From: a@example.com\n"
	"To: b@example.org\n"
	"Subject: multipart\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"MIX\"\n"
	"\n"
	"--MIX\n"
	"Content-Type: multipart/alternative; boundary=\"ALT\"\n"
	"\n"
	"--ALT\n"
	"Content-Type: text/plain\n"
	"\n"
	"plain\n"
	"--ALT\n"
	"Content-Type: text/html\n"
	"\n"
	"<p>html</p>\n"
	"--ALT--\n"
	"--MIX\n"
	"Content-Type: application/pdf; name=a.pdf\n"
	"Content-Disposition: attachment; filename=a.pdf\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"JVBERi0xLjQK\n"
	"--MIX\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: c@example.com\n"
	"To: d@example.org\n"
	"Subject: inner\n"
	"\n"
	"inner body\n"
	"--MIX--\n";

static const char signed_msg[] =
	"From: Alice <alice@example.com>\r\n"
	"To: Bob <bob@example.org>\r\n"
	"Subject: signed\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
	"\tmicalg=sha-256; boundary=\"SIG\"\r\n"
	"X-Foo: after content type\r\n"
	"\r\n"
	"--SIG\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"signed text\r\n"
	"--SIG\r\n"
	"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAECAwQFBgcICQoLDA0ODw==\r\n"
	"--SIG--\r\n";

static const char opaque_msg[] =
	"From: Alice <alice@example.com>\r\n"
	"To: Bob <bob@example.org>\r\n"
	"Subject: encrypted\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n"
	"\tname=\"smime.p7m\"\r\n"
	"Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"MIAGCSqGSIb3DQEHA6CAMIACAQAxggFAMIIBPAIBADAkMBYxFDASBgNVBAMMC2V4YW1wbGUu\r\n"
	"Y29tAgoBAgMEBQYHCAkKAAD/\r\n";

static const char octet_msg[] =
	"From: Alice <alice@example.com>\n"
	"Subject: octet\n"
	"Content-Type: application/octet-stream\n"
	"Content-Disposition: attachment; filename=\"mail.P7M\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"AAEC/w==\n";

int main(void)
{
	mapper_init();

	ok(mapper_name_needs_body("PidTagBody"), "PidTagBody needs the body");
	ok(mapper_name_needs_body("PidTagHtml"), "PidTagHtml needs the body");
	ok(mapper_name_needs_body("attachments"), "attachments needs the body");
	ok(mapper_name_needs_body("PidTagHasAttachments"), "PidTagHasAttachments needs the body");
	ok(!mapper_name_needs_body("PidTagSubject"), "PidTagSubject does not need the body");
	ok(!mapper_name_needs_body("recipients"), "recipients does not need the body");
	ok(!mapper_name_needs_body("PS_INTERNET_HEADERS"), "PS_INTERNET_HEADERS does not need the body");
	ok(!mapper_name_needs_body("PidTagMessageClass"), "PidTagMessageClass does not need the body");
	{
		/* ... unless the body may make the message a meeting or a report */
		static const char multi[] = "Content-Type: multipart/mixed; boundary=x\r\n\r\n";
		static const char report[] = "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n";
		static const char plain[] = "Subject: s\r\n\r\nbody\r\n";
		mapper_message *mm = mapper_message_load(multi, strlen(multi), NULL, MAPPER_LOAD_HEADERS);
		mapper_message *rm = mapper_message_load(report, strlen(report), NULL, MAPPER_LOAD_HEADERS);
		mapper_message *pm = mapper_message_load(plain, strlen(plain), NULL, MAPPER_LOAD_HEADERS);
		ok(mapper_message_needs_body(mm, "PidTagMessageClass"), "multipart: the class may be in a text/calendar part");
		ok(!mapper_message_needs_body(mm, "PidTagSubject"), "multipart: the subject is in the header");
		ok(mapper_message_needs_body(rm, "PidTagSubject"), "a report: every name waits for the body");
		ok(!mapper_message_needs_body(pm, "PidTagMessageClass"), "text/plain: the class is in the header");
		ok(mapper_message_needs_body(pm, "PidTagBody"), "text/plain: the body needs the body");
		mapper_node n;
		is_int(mapper_message_stat(mm, "PidTagMessageClass", &n), MAPPER_INCOMPLETE, "and stat says so");
		mapper_message_free(mm);
		mapper_message_free(rm);
		mapper_message_free(pm);
	}

	mapper_source src = { .maildir_flags = "FRS", .mtime = 1700000000 };
	check_levels("plain", plain_msg, &src);
	check_levels("plain, no source", plain_msg, NULL);
	check_levels("multipart", multipart_msg, &src);
	check_levels("clear-signed", signed_msg, &src);
	check_levels("opaque", opaque_msg, &src);
	check_levels("octet-stream .P7M", octet_msg, NULL);

	/* the HEADERS object answers paths below the body names with INCOMPLETE too */
	mapper_message *hdr = mapper_message_load(multipart_msg, strlen(multipart_msg), NULL, MAPPER_LOAD_HEADERS);
	is_stat(hdr, "attachments/0", MAPPER_INCOMPLETE, "headers only");
	is_stat(hdr, "attachments/0/PidTagAttachDataBinary", MAPPER_INCOMPLETE, "headers only");
	is_stat(hdr, "PidTagNoSuchProperty", MAPPER_NOT_FOUND, "headers only: an unknown name");
	is_stat(hdr, "PidTagSubject", MAPPER_OK, "headers only");
	{
		char **names;
		size_t n;
		ok(mapper_message_list(hdr, "recipients", &names, &n) == MAPPER_OK && n == 1,
		   "headers only: recipients listed");
		if (n)
			mapper_names_free(names);
	}
	mapper_message_free(hdr);

	mapper_shutdown();
	return done_testing();
}
