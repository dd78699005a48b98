/*
 * test-smime.c - the MS-OXOSMIME rules of the mapper's import:
 * recognition by the last Content-Type header (3.1.5.1.1, 3.1.5.2.1),
 * clear-signed messages (2.2.1, 3.1.5.1.2) and opaque-signed or encrypted
 * messages (2.2.2).  No real signatures: the mapper does no crypto here, so
 * the CMS blobs are fake bytes.
 */
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
	is_list(m, "attachments", "0", what);   /* 2.2.1 item 4: exactly one */
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", expected, elen, what); /* 4a */
	is_file(m, "attachments/0/PidTagAttachMethod", "1\n", what);                  /* 4.b.i */
	is_file(m, "attachments/0/PidTagAttachMimeTag", "multipart/signed\n", what);  /* 4.b.ii */
	is_file(m, "attachments/0/PidTagAttachFilename", "SMIME.txt\n", what);        /* 4.b.iii */
	is_file(m, "attachments/0/PidTagAttachLongFilename", "SMIME.txt\n", what);    /* 4.b.iv */
	is_file(m, "attachments/0/PidTagDisplayName", "SMIME.txt\n", what);           /* 4.b.v */
	is_file(m, "PidTagHasAttachments", "true\n", what);
	has_bit(m, "PidTagMessageFlags", 0x10, what);
	/* the opaque-only named property is not made for clear-signed mail */
	is_absent(m, "PS_INTERNET_HEADERS/Content-Type", what);

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
	is_list(m, "attachments", "0", "mbox From line");
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
	is_list(m, p, "0", what);
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
	/* item 5: exactly one attachment, transfer encoding removed */
	is_list(m, "attachments", "0", what);
	is_file_mem(m, "attachments/0/PidTagAttachDataBinary", cms, sizeof cms, what);
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

/* Not S/MIME: class IPM.Note, no Content-Type named property, and the
 * entity is an ordinary attachment. */
static void check_not_smime(const char *what, const char *msg)
{
	mapper_message *m = load(msg);
	is_str(mapper_message_class(m), "IPM.Note", "%s: class", what);
	is_absent(m, "PS_INTERNET_HEADERS/Content-Type", what);
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
		is_list(m, "attachments", "0", "upper-case media type");
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

int main(void)
{
	mapper_init();
	test_clear_signed();
	test_clear_signed_mbox();
	test_embedded_signed();
	test_opaque();
	mapper_shutdown();
	return done_testing();
}
