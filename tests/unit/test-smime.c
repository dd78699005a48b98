/*
 * test-smime.c - the MS-OXOSMIME rules of the mapper's import:
 * recognition by the last Content-Type header (3.1.5.1.1, 3.1.5.2.1),
 * clear-signed messages (2.2.1, 3.1.5.1.2) and opaque-signed or encrypted
 * messages (2.2.2).  No real signatures: the mapper does no crypto here, so
 * the CMS blobs are fake bytes -- except in test_malformed_digest_set(),
 * which signs with OpenSSL in memory to reach the verifier's error paths
 * (and, under AddressSanitizer, to check that they leak nothing).
 */
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mapper-test.h"

/* ---- expected bytes built from the input ----------------------------------- */

/* Offset of the empty line that ends the header block of @msg (CRLF or LF). */
static size_t header_block_end(const char *msg)
{
	size_t n = strlen(msg);
	for (size_t i = 0; i < n; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n')
			return i + 1;
		if (msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 1;
	}
	return n;
}

/*
 * What MS-OXOSMIME 2.2.1 item 4a and 3.1.5.1.2 steps 4-5 make of @msg: the
 * last Content-Type header field exactly as written (folding and line ends
 * included), the empty line, then the whole body; no other header field.
 * Caller frees.
 */
static char *signed_entity(const char *msg, size_t *len)
{
	size_t end = header_block_end(msg);
	size_t field = (size_t)-1;
	for (size_t i = 0; i < end; i++) {
		if ((i == 0 || msg[i - 1] == '\n') && strncasecmp(msg + i, "Content-Type:", 13) == 0)
			field = i;
	}
	if (field == (size_t)-1)
		abort();
	size_t field_end = field;
	for (;;) {
		const char *nl = memchr(msg + field_end, '\n', end - field_end);
		field_end = nl ? (size_t)(nl - msg) + 1 : end;
		if (field_end >= end || (msg[field_end] != ' ' && msg[field_end] != '\t'))
			break;
	}
	buf b = { 0 };
	buf_add_len(&b, msg + field, field_end - field);
	buf_add(&b, msg + end); /* the empty line and the body */
	*len = b.len;
	return b.data;
}

/* The raw value of the last Content-Type header of @msg, CRLF/LF removed
 * (RFC 5322 2.2.3 unfolding) and outer blanks trimmed, plus "\n". */
static char *unfolded_content_type(const char *msg)
{
	size_t end = header_block_end(msg), field = 0;
	for (size_t i = 0; i < end; i++)
		if ((i == 0 || msg[i - 1] == '\n') && strncasecmp(msg + i, "Content-Type:", 13) == 0)
			field = i;
	buf b = { 0 };
	size_t i = field + 13;
	while (msg[i] == ' ' || msg[i] == '\t')
		i++;
	for (; i < end; i++) {
		if (msg[i] == '\r' && msg[i + 1] == '\n')
			i++;
		if (msg[i] == '\n') {
			if (msg[i + 1] != ' ' && msg[i + 1] != '\t')
				break;
			continue;
		}
		buf_add_len(&b, msg + i, 1);
	}
	while (b.len && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
		b.data[--b.len] = '\0';
	buf_add(&b, "\n");
	return b.data;
}

/* ---- clear-signed (MS-OXOSMIME 2.2.1) -------------------------------------- */

/* The common checks of one clear-signed message: class, exactly one
 * attachment, its content byte for byte and its properties. */
static void check_clear_signed(const char *what, const char *msg)
{
	mapper_message *m = load(msg);
	size_t elen;
	char *expected = signed_entity(msg, &elen);

	is_str(mapper_message_class(m), "IPM.Note.SMIME.MultipartSigned", "%s: class (2.2.1 item 1)", what);
	is_file(m, "PidTagMessageClass", "IPM.Note.SMIME.MultipartSigned\n", what);
	is_list(m, "attachments", "0,SMIME.txt", what);   /* 2.2.1 item 4: exactly one */
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", expected, elen, what); /* 4a */
	is_file(m, "attachments/0/PidTagAttachMethod", "1\n", what);                  /* 4.b.i */
	is_file(m, "attachments/0/PidTagAttachMimeTag", "multipart/signed\n", what);  /* 4.b.ii */
	is_file(m, "attachments/0/PidTagAttachFilename", "SMIME.txt\n", what);        /* 4.b.iii */
	is_file(m, "attachments/0/PidTagAttachLongFilename", "SMIME.txt\n", what);    /* 4.b.iv */
	is_file(m, "attachments/0/PidTagDisplayName", "SMIME.txt\n", what);           /* 4.b.v */
	is_file(m, "PidTagHasAttachments", "true\n", what);
	has_bit(m, "PidTagMessageFlags", 0x10, what);
	/* the raw Content-Type, as on every message (issue 12) */
	ok(mapper_message_stat(m, "PS_INTERNET_HEADERS/Content-Type", &(mapper_node){ 0 }) == MAPPER_OK,
	   "%s: PS_INTERNET_HEADERS/Content-Type", what);

	mapper_node node;
	ok(mapper_message_stat(m, "attachments/0/PidTagAttachDataBinary", &node) == MAPPER_OK &&
	   node.kind == MAPPER_NODE_FILE && node.size == elen && node.tag == 0x37010102u &&
	   node.type_name && strcmp(node.type_name, "PtypBinary") == 0,
	   "%s: stat of the SMIME.txt data: file, exact size, PidTagAttachDataBinary", what);
	free(expected);
	mapper_message_free(m);
}

/* text/plain first part; the Content-Type field folded with a tab and a
 * space, neither first nor last among the headers. */
static const char signed_plain[] =
	"Return-Path: <alice@example.com>\r\n"
	"Received: from mx.example.com by mx.example.org; Tue, 14 Nov 2023 23:13:25 +0100\r\n"
	"From: Alice <alice@example.com>\r\n"
	"To: Bob <bob@example.org>\r\n"
	"Subject: signed plain\r\n"
	"Date: Tue, 14 Nov 2023 23:13:21 +0100\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
	"\tmicalg=sha-256;\r\n"
	" boundary=\"----=_Part_0_1\"\r\n"
	"X-Mailer: unit test\r\n"
	"\r\n"
	"This is a cryptographically signed message in MIME format.\r\n"
	"\r\n"
	"------=_Part_0_1\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 7bit\r\n"
	"\r\n"
	"Hello, this is signed.\r\n"
	"------=_Part_0_1\r\n"
	"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-Disposition: attachment; filename=smime.p7s\r\n"
	"\r\n"
	"MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIIB\r\n"
	"AAECAwQFBgcICQoLDA0ODw==\r\n"
	"\r\n"
	"------=_Part_0_1--\r\n"
	"\r\n";

/* multipart/alternative first part, LF line ends, Content-Type last header. */
static const char signed_alternative[] =
	"From: Alice <alice@example.com>\n"
	"To: bob@example.org\n"
	"Subject: signed html\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/signed; boundary=\"sig\"; micalg=sha-256;\n"
	"  protocol=\"application/pkcs7-signature\"\n"
	"\n"
	"--sig\n"
	"Content-Type: multipart/alternative; boundary=\"alt\"\n"
	"\n"
	"--alt\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"plain version\n"
	"--alt\n"
	"Content-Type: text/html; charset=us-ascii\n"
	"\n"
	"<html><body><p>html version</p></body></html>\n"
	"--alt--\n"
	"\n"
	"--sig\n"
	"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"AAECAwQFBgcICQoLDA0ODw==\n"
	"--sig--\n";

/* multipart/mixed first part with a PDF: the PDF stays inside SMIME.txt. */
static const char signed_mixed[] =
	"Content-Type: multipart/signed;\r\n"
	" protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"S\"\r\n"
	"From: Alice <alice@example.com>\r\n"
	"To: bob@example.org\r\n"
	"Subject: signed with attachment\r\n"
	"MIME-Version: 1.0\r\n"
	"\r\n"
	"--S\r\n"
	"Content-Type: multipart/mixed; boundary=\"M\"\r\n"
	"\r\n"
	"--M\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Please find the report attached. Gr=C3=BC=C3=9Fe\r\n"
	"--M\r\n"
	"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
	"--M--\r\n"
	"--S\r\n"
	"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAECAwQFBgcICQoLDA0ODw==\r\n"
	"--S--\r\n";

/* Two Content-Type headers: the last one, multipart/signed, decides
 * (3.1.5.1.1), and only it goes into SMIME.txt (3.1.5.1.2 step 4). */
static const char signed_second_ct[] =
	"From: alice@example.com\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"Subject: two content types\r\n"
	"CONTENT-TYPE: Multipart/Signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=b1\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"second content type wins\r\n"
	"--b1\r\n"
	"Content-Type: application/pkcs7-signature\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAECAw==\r\n"
	"--b1--\r\n";

static void test_clear_signed(void)
{
	check_clear_signed("signed, text/plain first part", signed_plain);
	mapper_message *m = load(signed_plain);
	/* 2.2.1 item 2: the body is promoted from the first part */
	is_file(m, "PidTagBody", "Hello, this is signed.", "signed plain: body from first part");
	is_file(m, "PidTagNativeBody", "1\n", "signed plain");
	is_absent(m, "PidTagHtml", "signed plain");
	/* item 3: the other properties as for any message */
	is_file(m, "PidTagSubject", "signed plain\n", "signed plain: header properties");
	is_file(m, "PidTagSentRepresentingSmtpAddress", "alice@example.com\n", "signed plain");
	is_file(m, "recipients/0/PidTagSmtpAddress", "bob@example.org\n", "signed plain");
	is_file(m, "PidTagClientSubmitTime", "2023-11-14T22:13:21Z\n", "signed plain");
	is_file(m, "PS_INTERNET_HEADERS/X-Mailer", "unit test\n", "signed plain");
	mapper_message_free(m);

	check_clear_signed("signed, multipart/alternative first part, LF", signed_alternative);
	m = load(signed_alternative);
	is_file(m, "PidTagHtml", "<html><body><p>html version</p></body></html>",
	        "signed alternative: html body from first part");
	is_file(m, "PidTagNativeBody", "3\n", "signed alternative");
	mapper_message_free(m);

	check_clear_signed("signed, multipart/mixed first part", signed_mixed);
	m = load(signed_mixed);
	is_file(m, "PidTagBody", "Please find the report attached. Gr\xC3\xBC\xC3\x9F" "e",
	        "signed mixed: body from the text part");
	is_absent(m, "attachments/1", "signed mixed: the PDF is not a second attachment");
	mapper_message_free(m);

	check_clear_signed("signed, the second of two Content-Type headers", signed_second_ct);
	m = load(signed_second_ct);
	is_file(m, "PidTagBody", "second content type wins", "two content types: body");
	mapper_message_free(m);

	/* "vice versa": multipart/signed first, text/plain last -> not S/MIME */
	static const char signed_first_ct[] =
		"From: alice@example.com\r\n"
		"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b1\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"\r\n"
		"--b1\r\n"
		"\r\n"
		"not signed after all\r\n"
		"--b1--\r\n";
	m = load(signed_first_ct);
	is_str(mapper_message_class(m), "IPM.Note", "signed first, text/plain last: class IPM.Note");
	is_list(m, "attachments", "", "signed first, text/plain last: no attachment");
	mapper_message_free(m);
}

/* A clear-signed message after an mbox "From " line, which is no header. */
static void test_clear_signed_mbox(void)
{
	static const char from_line[] = "From alice@example.com Tue Nov 14 23:13:21 2023\r\n";
	buf b = { 0 };
	buf_add(&b, from_line);
	buf_add(&b, signed_plain);
	mapper_message *m = load(b.data);
	size_t elen;
	char *expected = signed_entity(signed_plain, &elen);
	is_str(mapper_message_class(m), "IPM.Note.SMIME.MultipartSigned", "mbox From line: class");
	is_list(m, "attachments", "0,SMIME.txt", "mbox From line");
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", expected, elen, "mbox From line");
	is_file(m, "PidTagBody", "Hello, this is signed.", "mbox From line: body");
	free(expected);
	mapper_message_free(m);
	free(b.data);
}

/* A clear-signed message forwarded as message/rfc822: the embedded message
 * object follows MS-OXOSMIME too (MS-OXCMAIL 2.2.3.4.3 converts it as a
 * message), so its SMIME.txt is the inner entity byte for byte. */
static void check_embedded_signed(const char *what, const char *inner, const char *eol)
{
	buf b = { 0 };
	buf_printf(&b, "From: carol@example.com%sTo: dave@example.org%sSubject: Fwd: signed%s"
	               "MIME-Version: 1.0%sContent-Type: multipart/mixed; boundary=\"OUT\"%s%s"
	               "--OUT%sContent-Type: text/plain%s%sforwarded%s"
	               "--OUT%sContent-Type: message/rfc822%s%s",
	           eol, eol, eol, eol, eol, eol, eol, eol, eol, eol, eol, eol, eol);
	buf_add(&b, inner);
	buf_printf(&b, "%s--OUT--%s", eol, eol);
	mapper_message *m = load(b.data);
	size_t elen;
	char *expected = signed_entity(inner, &elen);
	const char *obj = "attachments/0/PidTagAttachDataObject";
	char p[200];
	is_str(mapper_message_class(m), "IPM.Note", "%s: outer class", what);
	snprintf(p, sizeof p, "%s/PidTagMessageClass", obj);
	is_file(m, p, "IPM.Note.SMIME.MultipartSigned\n", what);
	snprintf(p, sizeof p, "%s/attachments", obj);
	is_list(m, p, "0,SMIME.txt", what);
	snprintf(p, sizeof p, "%s/attachments/0/PidTagAttachDataBinary", obj);
	is_file_mem(m, p, expected, elen, what);
	snprintf(p, sizeof p, "%s/attachments/0/PidTagAttachMimeTag", obj);
	is_file(m, p, "multipart/signed\n", what);
	free(expected);
	mapper_message_free(m);
	free(b.data);
}

static void test_embedded_signed(void)
{
	check_embedded_signed("embedded clear-signed, LF", signed_alternative, "\n");
	/*
	 * TODO(mapper bug: embedded message bytes re-serialised): add_embedded()
	 * in import.c converts GMime's re-serialisation of the inner message
	 * (g_mime_object_write_to_stream with default format options), which
	 * writes every CRLF as LF; so the SMIME.txt of an embedded CRLF
	 * clear-signed message is not the original entity (MS-OXOSMIME 2.2.1
	 * item 4a: "preserve the entire original outer content ... unmodified").
	 * Fails until the inner message's own bytes are converted.
	 */
	check_embedded_signed("embedded clear-signed, CRLF", signed_plain, "\r\n");
}

/* ---- opaque-signed and encrypted (MS-OXOSMIME 2.2.2) ----------------------- */

/* Fake CMS bytes: every byte value, NUL and 0xFF among them. */
static unsigned char cms[300];

static void fill_cms(void)
{
	for (size_t i = 0; i < sizeof cms; i++)
		cms[i] = (unsigned char)(i * 7 + 3);
	cms[0] = 0x30;
	cms[1] = 0x80;
	cms[2] = 0x00;
	cms[3] = 0xFF;
	cms[sizeof cms - 1] = 0x00;
}

/* An opaque message: @headers (the top entity's, "\r\n" after each) and the
 * fake CMS bytes in base64, 64 characters a line. */
static char *opaque_message(const char *headers, const char *eol)
{
	buf b = { 0 };
	char *b64 = base64_lines(cms, sizeof cms, 64, eol);
	buf_add(&b, "From: Alice <alice@example.com>");
	buf_add(&b, eol);
	buf_add(&b, "To: Bob <bob@example.org>");
	buf_add(&b, eol);
	buf_add(&b, "Subject: opaque");
	buf_add(&b, eol);
	buf_add(&b, "MIME-Version: 1.0");
	buf_add(&b, eol);
	buf_add(&b, headers);
	buf_add(&b, "Content-Transfer-Encoding: base64");
	buf_add(&b, eol);
	buf_add(&b, eol);
	buf_add(&b, b64);
	free(b64);
	return b.data;
}

/* The checks every opaque message gets; @mime is the entity's media type,
 * @name the attachment's expected file name (NULL: not checked). */
static void check_opaque(const char *what, const char *msg, const char *cls,
                         const char *mime, const char *name)
{
	mapper_message *m = load(msg);
	char *ct = unfolded_content_type(msg);
	char *mime_nl = malloc(strlen(mime) + 2);
	sprintf(mime_nl, "%s\n", mime);

	is_str(mapper_message_class(m), cls, "%s: class", what);
	/* item 2: no body */
	is_absent(m, "PidTagBody", what);
	is_absent(m, "PidTagHtml", what);
	is_absent(m, "PidTagRtfCompressed", what);
	/* item 4 / 3.1.5.2.2 step 2: the raw last Content-Type value */
	is_file(m, "PS_INTERNET_HEADERS/Content-Type", ct, what);
	mapper_node node;
	ok(mapper_message_stat(m, "PS_INTERNET_HEADERS/Content-Type", &node) == MAPPER_OK &&
	   node.set_guid && strcmp(node.set_guid, "{00020386-0000-0000-C000-000000000046}") == 0 &&
	   node.type_name && strcmp(node.type_name, "PtypString") == 0,
	   "%s: Content-Type is a PS_INTERNET_HEADERS PtypString", what);
	/* item 5: exactly one attachment (row 0, and its file name beside it:
	 * the same data), transfer encoding removed */
	char *alias = g_strdup_printf("attachments/%s", name ? name : "smime.p7m");
	char *rows = g_strdup_printf("0,%s", alias + strlen("attachments/"));
	is_list(m, "attachments", rows, what);
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", cms, sizeof cms, what);
	is_file_mem(m, alias, cms, sizeof cms, what);
	g_free(rows);
	g_free(alias);
	is_file(m, "attachments/0/PidTagAttachMethod", "1\n", what);
	is_file(m, "attachments/0/PidTagAttachMimeTag", mime_nl, what); /* 5.b */
	if (name) {
		char *name_nl = malloc(strlen(name) + 2);
		sprintf(name_nl, "%s\n", name);
		is_file(m, "attachments/0/PidTagAttachLongFilename", name_nl, what);
		is_file(m, "attachments/0/PidTagDisplayName", name_nl, what);
		free(name_nl);
	}
	is_file(m, "PidTagHasAttachments", "true\n", what);
	has_bit(m, "PidTagMessageFlags", 0x10, what);
	/* item 3: the ordinary header properties are there */
	is_file(m, "PidTagSubject", "opaque\n", what);
	is_file(m, "recipients/0/PidTagDisplayName", "Bob\n", what);
	free(mime_nl);
	free(ct);
	mapper_message_free(m);
}

/* Not S/MIME: class IPM.Note. */
static void check_not_smime(const char *what, const char *msg)
{
	mapper_message *m = load(msg);
	is_str(mapper_message_class(m), "IPM.Note", "%s: class", what);
	mapper_message_free(m);
}

static void test_opaque(void)
{
	fill_cms();
	char *msg;

	msg = opaque_message("Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n"
	                     "\tname=\"smime.p7m\"\r\n"
	                     "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n", "\r\n");
	check_opaque("pkcs7-mime enveloped", msg, "IPM.Note.SMIME", "application/pkcs7-mime", "smime.p7m");
	free(msg);

	msg = opaque_message("Content-Type: application/x-pkcs7-mime; smime-type=signed-data; name=smime.p7m\n",
	                     "\n");
	check_opaque("x-pkcs7-mime signed-data, LF", msg, "IPM.Note.SMIME", "application/x-pkcs7-mime",
	             "smime.p7m");
	free(msg);

	msg = opaque_message("Content-Type: application/pkcs7-mime;\r\n"
	                     " smime-type=signed-receipt; name=smime.p7m\r\n", "\r\n");
	check_opaque("signed receipt", msg, "IPM.Note.Receipt.SMIME", "application/pkcs7-mime", NULL);
	free(msg);

	msg = opaque_message("Content-Type: application/octet-stream; name=\"x.P7M\"\r\n", "\r\n");
	check_opaque("octet-stream name=x.P7M", msg, "IPM.Note.SMIME", "application/octet-stream", "x.P7M");
	free(msg);

	msg = opaque_message("Content-Type: application/octet-stream\r\n"
	                     "Content-Disposition: attachment; filename=y.p7m\r\n", "\r\n");
	check_opaque("octet-stream filename=y.p7m", msg, "IPM.Note.SMIME", "application/octet-stream", "y.p7m");
	free(msg);

	/* the media type is compared case-insensitively */
	msg = opaque_message("Content-Type: Application/PKCS7-MIME; smime-type=enveloped-data\r\n", "\r\n");
	{
		mapper_message *m = load(msg);
		is_str(mapper_message_class(m), "IPM.Note.SMIME", "upper-case media type: class");
		is_list(m, "attachments", "0,smime.p7m", "upper-case media type");
		mapper_message_free(m);
	}
	free(msg);

	/* not S/MIME: .p7s name, no name, .p7m not the extension */
	msg = opaque_message("Content-Type: application/octet-stream; name=x.p7s\r\n", "\r\n");
	check_not_smime("octet-stream name=x.p7s", msg);
	free(msg);
	msg = opaque_message("Content-Type: application/octet-stream\r\n", "\r\n");
	check_not_smime("octet-stream without a name", msg);
	free(msg);
	msg = opaque_message("Content-Type: application/octet-stream; name=report.p7m.txt\r\n", "\r\n");
	check_not_smime("octet-stream name=report.p7m.txt", msg);
	free(msg);
	msg = opaque_message("Content-Type: application/pkcs7-signature; name=smime.p7s\r\n", "\r\n");
	check_not_smime("detached pkcs7-signature alone", msg);
	free(msg);

	/* 3.1.5.2.1: the LAST Content-Type decides */
	msg = opaque_message("Content-Type: multipart/mixed; boundary=\"zzz\"\r\n"
	                     "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n",
	                     "\r\n");
	check_opaque("multipart/mixed first, pkcs7-mime last", msg, "IPM.Note.SMIME",
	             "application/pkcs7-mime", "smime.p7m");
	free(msg);

	static const char pkcs7_first[] =
		"From: alice@example.com\r\n"
		"Subject: opaque\r\n"
		"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
		"Content-Type: multipart/mixed; boundary=\"zzz\"\r\n"
		"\r\n"
		"--zzz\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"just text\r\n"
		"--zzz--\r\n";
	check_not_smime("pkcs7-mime first, multipart/mixed last", pkcs7_first);
	mapper_message *m = load(pkcs7_first);
	is_file(m, "PidTagBody", "just text", "pkcs7-mime first, multipart/mixed last: ordinary body");
	mapper_message_free(m);
}

/* ---- verification error paths (real CMS) ----------------------------------- */

/* The length of the DER element at @p (definite lengths, short or long
 * form), its header length in *@hdr. */
static size_t der_len(const unsigned char *p, size_t *hdr)
{
	size_t len = p[1];
	*hdr = 2;
	if (len & 0x80) {
		int k = len & 0x7f;
		len = 0;
		for (int i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		*hdr += (size_t)k;
	}
	return len;
}

/* Append the DER element TAG { @n bytes at @content } to @b. */
static void der_put(buf *b, unsigned char tag, const void *content, size_t n)
{
	unsigned char h[6] = { tag };
	size_t hl = 2;
	if (n < 0x80) {
		h[1] = (unsigned char)n;
	} else if (n < 0x100) {
		h[1] = 0x81, h[2] = (unsigned char)n, hl = 3;
	} else if (n < 0x10000) {
		h[1] = 0x82, h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n, hl = 4;
	} else {
		h[1] = 0x83, h[2] = (unsigned char)(n >> 16), h[3] = (unsigned char)(n >> 8);
		h[4] = (unsigned char)n, hl = 5;
	}
	buf_add_len(b, h, hl);
	buf_add_len(b, content, n);
}

/*
 * ContentInfo { signedData, SignedData { version, digestAlgorithms, rest } }
 * with the digestAlgorithms SET emptied, as openssl's
 * test/smime-eml/pkcs7-empty-digest-set.eml has it.  Caller frees.
 */
static unsigned char *empty_digest_set(const unsigned char *der, size_t *len)
{
	size_t h, ci = der_len(der, &h);
	const unsigned char *oid = der + h, *end = der + h + ci;
	size_t oh, ol = der_len(oid, &oh);
	const unsigned char *a0 = oid + oh + ol;
	size_t ah;
	der_len(a0, &ah);
	const unsigned char *sd = a0 + ah;
	size_t sh;
	der_len(sd, &sh);
	const unsigned char *ver = sd + sh;
	size_t vh, vl = der_len(ver, &vh);
	const unsigned char *set = ver + vh + vl;
	size_t th, tl = der_len(set, &th);
	const unsigned char *rest = set + th + tl;

	buf inner = { 0 }, sdb = { 0 }, a0b = { 0 }, cib = { 0 }, out = { 0 };
	buf_add_len(&inner, ver, vh + vl);
	buf_add_len(&inner, "\x31\x00", 2);
	buf_add_len(&inner, rest, (size_t)(end - rest));
	der_put(&sdb, 0x30, inner.data, inner.len);
	der_put(&a0b, 0xA0, sdb.data, sdb.len);
	buf_add_len(&cib, oid, oh + ol);
	buf_add_len(&cib, a0b.data, a0b.len);
	der_put(&out, 0x30, cib.data, cib.len);
	free(inner.data);
	free(sdb.data);
	free(a0b.data);
	free(cib.data);
	*len = out.len;
	return (unsigned char *)out.data;
}

/* A self-signed P-256 certificate for "CN=@cn" with @email (when not NULL)
 * as its subject emailAddress, and its key. */
static X509 *test_signer(EVP_PKEY **key, const char *cn, const char *email)
{
	*key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!*key || !x)
		abort();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	if (email)
		X509_NAME_add_entry_by_txt(name, "emailAddress", MBSTRING_ASC, (const unsigned char *)email,
		                           -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, *key);
	if (!X509_sign(x, *key, EVP_sha256()))
		abort();
	return x;
}

/* multipart/signed from @from over @content with the detached signature @sig. */
static char *clear_signed_message(const char *from, const char *content, const unsigned char *sig,
                                  size_t sig_len)
{
	char *b64 = base64_lines(sig, sig_len, 64, "\r\n");
	buf b = { 0 };
	buf_printf(&b,
	           "From: %s\r\n"
	           "Subject: signed\r\n"
	           "MIME-Version: 1.0\r\n"
	           "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
	           " micalg=sha-256; boundary=\"sig-boundary\"\r\n"
	           "\r\n"
	           "--sig-boundary\r\n"
	           "%s"
	           "\r\n--sig-boundary\r\n"
	           "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
	           "Content-Transfer-Encoding: base64\r\n"
	           "\r\n"
	           "%s"
	           "--sig-boundary--\r\n", from, content, b64);
	free(b64);
	return b.data;
}

/*
 * The shape of openssl's pkcs7-empty-digest-set.eml, built here: a correct
 * signature (signed attributes and all) whose SignedData.digestAlgorithms
 * SET is empty (bad), or names a digest OpenSSL does not know (error).
 * Both end in CMS_verify() failing inside CMS_dataInit(), the path where
 * OpenSSL 3.0 leaked its copy of a memory BIO content on every evaluation
 * (smime.c content_bio()); run under AddressSanitizer, leak checking covers
 * it.  The unchanged signature is untrusted (no anchors), which shows that
 * the signature itself is sound.
 */
static void test_malformed_digest_set(void)
{
	static const char content[] = "Content-Type: text/plain\r\n\r\nThis is the content to be signed.\r\n";
	EVP_PKEY *key;
	X509 *cert = test_signer(&key, "Digest Set Test", NULL);
	BIO *in = BIO_new_mem_buf(content, (int)strlen(content));
	CMS_ContentInfo *signed_data = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY);
	if (!ok(signed_data != NULL, "digest set: CMS_sign works"))
		return;
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(signed_data, &der);
	ok(n > 0, "digest set: signature encoded (%d bytes)", n);

	char *msg = clear_signed_message("signer@example.com", content, der, (size_t)n);
	mapper_message *m = load(msg);
	is_file(m, "smime/status", "untrusted\n", "digest set: as signed");
	mapper_message_free(m);
	free(msg);

	size_t elen;
	unsigned char *empty = empty_digest_set(der, &elen);
	CMS_ContentInfo *check = NULL;
	{
		const unsigned char *p = empty;
		check = d2i_CMS_ContentInfo(NULL, &p, (long)elen);
		ok(check != NULL && p == empty + elen, "digest set: the emptied SignedData still parses");
		CMS_ContentInfo_free(check);
	}
	msg = clear_signed_message("signer@example.com", content, empty, elen);
	for (int round = 0; round < 3; round++) {
		m = load(msg);
		is_file(m, "smime/status", "bad\n", "empty digest set");
		is_file(m, "smime/signers/0/status", "bad\n", "empty digest set");
		is_file(m, "smime/signers/0/digest", "sha256\n", "empty digest set");
		is_file(m, "smime/content/PidTagBody", "This is the content to be signed.\r\n", "empty digest set");
		mapper_message_free(m);
	}
	free(msg);
	free(empty);

	/* sha256 (2.16.840.1.101.3.4.2.1) -> 2.16.840.1.101.3.4.2.127 in the
	 * digest set only: its first occurrence, before the signer infos */
	static const unsigned char sha256_oid[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
	unsigned char *unknown = malloc((size_t)n);
	memcpy(unknown, der, (size_t)n);
	unsigned char *at = memmem(unknown, (size_t)n, sha256_oid, sizeof sha256_oid);
	ok(at != NULL, "digest set: sha256 found in the signature");
	if (at)
		at[sizeof sha256_oid - 1] = 0x7f;
	msg = clear_signed_message("signer@example.com", content, unknown, (size_t)n);
	m = load(msg);
	char *status = read_copy(m, "smime/status", NULL);
	ok(status && strncmp(status, "error: ", 7) == 0, "unknown digest in the digest set: status %s",
	   status ? status : "(none)");
	free(status);
	mapper_message_free(m);
	free(msg);
	free(unknown);

	OPENSSL_free(der);
	CMS_ContentInfo_free(signed_data);
	BIO_free(in);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* ---- one crypto context, many threads (mapper.h "Threads") ----------------- */

/* A detached signature by @cert over @content with signing time @when. */
static unsigned char *sign_at(X509 *cert, EVP_PKEY *key, const char *content, time_t when, size_t *len)
{
	BIO *in = BIO_new_mem_buf(content, (int)strlen(content));
	unsigned flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
	CMS_ContentInfo *sd = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si = sd ? CMS_add1_signer(sd, cert, key, EVP_sha256(), flags) : NULL;
	ASN1_TIME *t = ASN1_TIME_set(NULL, when);
	if (!si || !t || !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t, -1) ||
	    CMS_final(sd, in, NULL, flags) != 1)
		abort();
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(sd, &der);
	if (n <= 0)
		abort();
	*len = (size_t)n;
	ASN1_TIME_free(t);
	CMS_ContentInfo_free(sd);
	BIO_free(in);
	return der;
}

static char *pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	char *d;
	long n = BIO_get_mem_data(b, &d);
	char *s = strndup(d, (size_t)n);
	BIO_free(b);
	return s;
}

/* Add a new self-signed identity for "me@example.com" to @crypto (through
 * files, as mapper_crypto_add_identity() takes them) and trust it. */
static void add_test_identity(mapper_crypto *crypto, X509 **cert, EVP_PKEY **key)
{
	*cert = test_signer(key, "Me", "me@example.com");
	char key_file[] = "/tmp/mapifs-test-smime-key-XXXXXX", cert_file[] = "/tmp/mapifs-test-smime-crt-XXXXXX";
	int kfd = mkstemp(key_file), cfd = mkstemp(cert_file);
	FILE *kf = kfd >= 0 ? fdopen(kfd, "w") : NULL, *cf = cfd >= 0 ? fdopen(cfd, "w") : NULL;
	if (!kf || !cf)
		abort();
	PEM_write_PrivateKey(kf, *key, NULL, NULL, 0, NULL, NULL);
	PEM_write_X509(cf, *cert);
	fclose(kf);
	fclose(cf);
	char *why = NULL;
	ok(mapper_crypto_add_identity(crypto, key_file, cert_file, &why) == MAPPER_OK &&
	   mapper_crypto_add_trust(crypto, cert_file, &why) == MAPPER_OK,
	   "test identity loaded (%s)", why ? why : "ok");
	free(why);
	unlink(key_file);
	unlink(cert_file);
}

enum { THREAD_SIGNERS = 4, THREAD_WORKERS = 4, THREAD_ROUNDS = 6 };

typedef struct {
	mapper_crypto *crypto;
	char **msgs;                 /* NULL-terminated */
	int first;                   /* where this worker starts in @msgs */
	int good, other;
} worker_job;

static gpointer worker(gpointer p)
{
	worker_job *j = p;
	size_t n = 0;
	while (j->msgs[n])
		n++;
	for (int round = 0; round < THREAD_ROUNDS; round++)
		for (size_t i = 0; i < n; i++) {
			const char *msg = j->msgs[(j->first + i) % n];
			mapper_message *m = mapper_message_load(msg, strlen(msg), NULL, MAPPER_LOAD_FULL);
			mapper_message_set_crypto(m, j->crypto);
			mapper_message_smime_evaluate(m);
			const void *d;
			size_t len;
			if (mapper_message_read(m, "smime/status", &d, &len) == MAPPER_OK && len == 5 &&
			    memcmp(d, "good\n", 5) == 0)
				j->good++;
			else
				j->other++;
			mapper_message_free(m);
		}
	return NULL;
}

typedef struct {
	mapper_crypto *crypto;
	volatile gint stop;
	int reads, bad;
	int sealed, refused;         /* sealer: exports done, seals refused */
} reader_job;

/* Seal a message to user1..3 (encrypt: recipient certificates come from
 * the map): refused until the workers have learnt them, then sealed. */
static bool seal_once(mapper_crypto *crypto)
{
	static const char plain[] =
		"From: me@example.com\r\n"
		"To: user1@example.com, user2@example.com\r\n"
		"Cc: user3@example.com\r\n"
		"Subject: sealed\r\n"
		"\r\n"
		"body\r\n";
	mapper_message *m = mapper_message_load(plain, strlen(plain), NULL, MAPPER_LOAD_FULL);
	mapper_message_set_crypto(m, crypto);
	bool sealed = false;
	if (mapper_message_set(m, "0x6E010003", "1\n", 2, NULL) == MAPPER_OK) {
		char *out = NULL;
		size_t len = 0;
		sealed = mapper_message_export(m, plain, strlen(plain), &out, &len, NULL) == MAPPER_OK &&
		         strstr(out, "application/pkcs7-mime") != NULL;
		free(out);
	}
	mapper_message_free(m);
	return sealed;
}

static gpointer sealer(gpointer p)
{
	reader_job *r = p;
	while (!g_atomic_int_get(&r->stop)) {
		if (seal_once(r->crypto))
			r->sealed++;
		else
			r->refused++;
	}
	return NULL;
}

/* Read the map the ways the daemon does while the workers learn. */
static gpointer reader(gpointer p)
{
	reader_job *r = p;
	while (!g_atomic_int_get(&r->stop)) {
		size_t count = 0;
		char **names = mapper_crypto_map_addresses(r->crypto, &count);
		for (size_t i = 0; i < count; i++) {
			char *addr = g_strndup(names[i], strlen(names[i]) - 4);
			char *pem = NULL;
			size_t len = 0;
			if (!mapper_crypto_map_copy(r->crypto, addr, &pem, &len) || len != strlen(pem) ||
			    strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) != 0)
				r->bad++;
			free(pem);
			const void *d;
			if (!mapper_crypto_map_get(r->crypto, addr, &d, &len) || len < 27 ||
			    memcmp(d, "-----BEGIN CERTIFICATE-----", 27) != 0)
				r->bad++;
			g_free(addr);
			r->reads++;
		}
		mapper_names_free(names);
		(void)mapper_crypto_map_generation(r->crypto);
	}
	return NULL;
}

/*
 * Distinct messages sharing one mapper_crypto, evaluated in parallel while
 * another thread reads the map: every good signature is good, and the map
 * ends as the signing times say, whatever the order.  Signer 0 has two
 * certificates for one address; the later signature's wins.  Run under
 * AddressSanitizer (scripts/test.sh) or ThreadSanitizer this also checks
 * the locking.
 */
static void test_threads(void)
{
	EVP_PKEY *keys[THREAD_SIGNERS + 1];
	X509 *certs[THREAD_SIGNERS + 1];
	char tmpl[] = "/tmp/mapifs-test-smime-XXXXXX";
	int fd = mkstemp(tmpl);
	FILE *anchors = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!ok(anchors != NULL, "threads: trust anchor file"))
		return;
	for (int i = 0; i <= THREAD_SIGNERS; i++) {
		char cn[32], email[64];
		snprintf(cn, sizeof cn, "Thread Signer %d", i);
		/* the extra one is signer 0's renewed certificate */
		snprintf(email, sizeof email, "user%d@example.com", i % THREAD_SIGNERS);
		certs[i] = test_signer(&keys[i], cn, email);
		PEM_write_X509(anchors, certs[i]);
	}
	fclose(anchors);

	mapper_crypto *crypto = mapper_crypto_new();
	char *why = NULL;
	ok(mapper_crypto_add_trust(crypto, tmpl, &why) == MAPPER_OK, "threads: anchors loaded (%s)",
	   why ? why : "ok");
	free(why);
	unlink(tmpl);
	/* a local identity, to seal with */
	EVP_PKEY *my_key;
	X509 *my_cert;
	add_test_identity(crypto, &my_cert, &my_key);

	static const char content[] = "Content-Type: text/plain\r\n\r\nthreads\r\n";
	char *msgs[THREAD_SIGNERS + 2] = { 0 };
	/* inside the certificates' validity (from an hour ago) */
	time_t base = time(NULL) - 1800;
	for (int i = 0; i <= THREAD_SIGNERS; i++) {
		char from[64];
		snprintf(from, sizeof from, "user%d@example.com", i % THREAD_SIGNERS);
		size_t len;
		/* the renewed certificate signed last */
		unsigned char *sig = sign_at(certs[i], keys[i], content, base + (i == THREAD_SIGNERS ? 1000 : i), &len);
		msgs[i] = clear_signed_message(from, content, sig, len);
		OPENSSL_free(sig);
	}

	worker_job jobs[THREAD_WORKERS];
	GThread *threads[THREAD_WORKERS];
	reader_job rj = { .crypto = crypto }, sj = { .crypto = crypto };
	GThread *rt = g_thread_new("reader", reader, &rj);
	GThread *st = g_thread_new("sealer", sealer, &sj);
	for (int w = 0; w < THREAD_WORKERS; w++) {
		/* each worker reads the messages in another order */
		jobs[w] = (worker_job){ .crypto = crypto, .msgs = msgs, .first = THREAD_SIGNERS - w };
		threads[w] = g_thread_new("worker", worker, &jobs[w]);
	}
	int good = 0, other = 0;
	for (int w = 0; w < THREAD_WORKERS; w++) {
		g_thread_join(threads[w]);
		good += jobs[w].good;
		other += jobs[w].other;
	}
	g_atomic_int_set(&rj.stop, 1);
	g_atomic_int_set(&sj.stop, 1);
	g_thread_join(rt);
	g_thread_join(st);
	ok(other == 0 && good == THREAD_WORKERS * THREAD_ROUNDS * (THREAD_SIGNERS + 1),
	   "threads: %d evaluations good, %d not", good, other);
	ok(rj.bad == 0, "threads: %d map reads during evaluation, %d bad", rj.reads, rj.bad);
	ok(sj.sealed + sj.refused > 0, "threads: %d seals during evaluation (%d refused for want of "
	   "certificates)", sj.sealed, sj.refused);
	ok(seal_once(crypto), "threads: sealing to the learnt certificates works afterwards");

	size_t count = 0;
	char **names = mapper_crypto_map_addresses(crypto, &count);
	ok(count == THREAD_SIGNERS, "threads: %zu addresses in the map", count);
	mapper_names_free(names);
	for (int i = 0; i < THREAD_SIGNERS; i++) {
		char addr[64];
		snprintf(addr, sizeof addr, "user%d@example.com", i);
		char *pem = NULL, *want = pem_of(certs[i == 0 ? THREAD_SIGNERS : i]);
		size_t len = 0;
		ok(mapper_crypto_map_copy(crypto, addr, &pem, &len) && pem && strcmp(pem, want) == 0,
		   "threads: %s maps to the certificate of its latest signature", addr);
		free(pem);
		free(want);
	}
	ok(!mapper_crypto_map_copy(crypto, "nobody@example.com", &(char *){ NULL }, &(size_t){ 0 }),
	   "threads: map_copy of an unknown address is false");

	for (int i = 0; i <= THREAD_SIGNERS; i++) {
		free(msgs[i]);
		X509_free(certs[i]);
		EVP_PKEY_free(keys[i]);
	}
	X509_free(my_cert);
	EVP_PKEY_free(my_key);
	mapper_crypto_free(crypto);
}

/* ---- sealing: inputs the fuzzers found (tests/fuzz/fuzz-smime) ------------ */

/* Seal @len bytes at @msg with PR_SECURITY_FLAGS @flags; the status of the
 * export, the sealed message in *@out (caller frees). */
static mapper_status seal_message(mapper_crypto *crypto, const char *msg, size_t len, const char *flags,
                                  char **out, size_t *out_len, char **why)
{
	mapper_message *m = mapper_message_load(msg, len, NULL, MAPPER_LOAD_FULL);
	mapper_message_set_crypto(m, crypto);
	mapper_status st = mapper_message_set(m, "0x6E010003", flags, strlen(flags), why);
	if (st == MAPPER_OK)
		st = mapper_message_export(m, msg, len, out, out_len, why);
	mapper_message_free(m);
	return st;
}

static void test_seal_fuzz_regressions(void)
{
	mapper_crypto *crypto = mapper_crypto_new();
	EVP_PKEY *key;
	X509 *cert;
	add_test_identity(crypto, &cert, &key);

	/* fuzz-smime: a NUL in a header field.  GMime wrote the field cut at
	 * the NUL and without its line break, gluing the sealed entity's
	 * Content-Type to it: the "signed" message was no S/MIME at all.  Now
	 * sealing it is refused (smime.c header_has_nul). */
	static const char nul_header[] =
		"Subject: nul\r\n"
		"MIME-Version: 1.0\r\n"
		"X-Odd: mult\0\0\0ht-Type: multipart/mixed\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"body\r\n";
	char *out = NULL, *why = NULL;
	size_t len = 0;
	mapper_status st = seal_message(crypto, nul_header, sizeof nul_header - 1, "2\n", &out, &len, &why);
	ok(st == MAPPER_INVALID && !out && why && strstr(why, "NUL"), "seal with a NUL in a header: refused (%s)",
	   why ? why : mapper_status_to_string(st));
	free(out);
	free(why);

	/* the same without the NUL seals, and verifies */
	static const char plain[] =
		"Subject: plain\r\n"
		"MIME-Version: 1.0\r\n"
		"X-Odd: mult ht-Type: multipart/mixed\r\n"
		"Content-Type: text/plain\r\n"
		"\r\n"
		"body\r\n";
	out = NULL;
	why = NULL;
	st = seal_message(crypto, plain, sizeof plain - 1, "2\n", &out, &len, &why);
	ok(st == MAPPER_OK, "seal without the NUL: sealed (%s)", why ? why : "ok");
	if (st == MAPPER_OK) {
		mapper_message *m = mapper_message_load(out, len, NULL, MAPPER_LOAD_FULL);
		mapper_message_set_crypto(m, crypto);
		is_file(m, "smime/status", "good\n", "sealed message");
		is_file(m, "smime/content/PidTagBody", "body\r\n", "sealed message");
		mapper_message_free(m);
	}
	free(out);
	free(why);

	/* fuzz-smime: a header block that runs to the end of the bytes, its
	 * last field without a line break.  The sealed entity's Content-Type
	 * was glued to that field, so the signed message had no smime/. */
	static const char unended[] =
		"Subject: unended\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/rel0\r\n"
		"Received: from a.example by b.example with ESMTP id La";
	out = NULL;
	why = NULL;
	st = seal_message(crypto, unended, sizeof unended - 1, "2\n", &out, &len, &why);
	ok(st == MAPPER_OK, "seal of a message that ends without a line break: sealed (%s)",
	   why ? why : "ok");
	if (st == MAPPER_OK) {
		mapper_message *m = mapper_message_load(out, len, NULL, MAPPER_LOAD_FULL);
		mapper_message_set_crypto(m, crypto);
		is_file(m, "smime/status", "good\n", "sealed unended message");
		is_file(m, "PidTagSubject", "unended\n", "sealed unended message");
		mapper_message_free(m);
	}
	free(out);
	free(why);

	X509_free(cert);
	EVP_PKEY_free(key);
	mapper_crypto_free(crypto);
}

int main(void)
{
	mapper_init();
	test_clear_signed();
	test_clear_signed_mbox();
	test_embedded_signed();
	test_opaque();
	test_malformed_digest_set();
	test_threads();
	test_seal_fuzz_regressions();
	mapper_shutdown();
	return done_testing();
}
