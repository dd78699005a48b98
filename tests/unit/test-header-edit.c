/*
 * test-header-edit.c - an edit of a header-derived property made on the
 * header block alone (issue 11: write.c tries it first, then the whole
 * message) gives the same bytes as the same edit made on the whole message,
 * on every message of the corpus (../shared/corpus, CORPUS_DIR) and on the
 * messages below; and it is really taken for plain mail, not left to the
 * fallback.
 *
 * A message the header path does not take (S/MIME, no header field) must
 * say MAPPER_INCOMPLETE, never give other bytes or another status.
 */
#include <glib.h>

#include "corpus-walk.h"
#include "mapper-test.h"

static const struct {
	const char *path, *value;
	bool header;         /* a header field is all it changes */
} edits[] = {
	{ "PidTagSubject", "Edited through the header block, ünïcode\n", true },
	{ "PidTagSubject", "", true },              /* removed */
	{ "PidTagImportance", "2\n", true },
	{ "PidTagSensitivity", "3\n", true },
	{ "PS_INTERNET_HEADERS/X-Mapifs-Test", "yes\n", true },
	{ "PS_INTERNET_HEADERS/Content-Type", "text/plain\n", false },  /* refused both ways */
	{ "PidTagBody", "new body\n", false },      /* the whole message only */
	{ "PidTagInternetCodepage", "65001\n", false }, /* derived: refused both ways */
};

static int files, taken, fallbacks;

/* One edit of @data both ways; false (with a diagnostic) if they differ. */
static bool same_both_ways(const char *name, const char *data, size_t len, size_t e)
{
	const char *path = edits[e].path, *value = edits[e].value;
	mapper_message *full = mapper_message_load(data, len, NULL, MAPPER_LOAD_FULL);
	char *why = NULL, *out1 = NULL, *out2 = NULL;
	size_t len1 = 0, len2 = 0;
	mapper_status s1 = mapper_message_set(full, path, value, strlen(value), &why);
	free(why);
	why = NULL;
	if (s1 == MAPPER_OK)
		s1 = mapper_message_export(full, data, len, &out1, &len1, &why);
	free(why);
	why = NULL;
	mapper_message_free(full);

	size_t hlen = mapper_header_block_length(data, len);
	mapper_message *head = mapper_message_load(data, hlen, NULL, MAPPER_LOAD_HEADERS);
	mapper_status s2 = mapper_message_set(head, path, value, strlen(value), &why);
	free(why);
	why = NULL;
	char *out3 = NULL;
	size_t len3 = 0, keep = 0;
	mapper_status s3 = s2;
	if (s2 == MAPPER_OK) {
		s2 = mapper_message_export(head, data, len, &out2, &len2, &why);
		/* and as write.c stores it: the new block, then the file from keep on */
		s3 = mapper_message_export_header(head, data, hlen, &out3, &len3, &keep, NULL);
	}
	free(why);
	mapper_message_free(head);
	if (s3 != s2 || (s3 == MAPPER_OK && (keep > len || len3 + (len - keep) != len2 ||
	                                     memcmp(out3, out2, len3) != 0 ||
	                                     memcmp(data + keep, out2 + len3, len - keep) != 0))) {
		diag("%s, %s: the header block alone (status %s) is not the same message", name, path,
		     mapper_status_to_string(s3));
		s2 = MAPPER_INVALID;   /* reported below as a difference */
	}
	free(out3);

	bool same = true;
	if (s2 == MAPPER_INCOMPLETE) {
		fallbacks += edits[e].header;
	} else if (s2 != s1) {
		diag("%s, %s: status %s by the header block, %s by the whole message", name, path,
		     mapper_status_to_string(s2), mapper_status_to_string(s1));
		same = false;
	} else if (s1 == MAPPER_OK && (len1 != len2 || memcmp(out1, out2, len1) != 0)) {
		diag("%s, %s: %zu bytes by the header block, %zu by the whole message", name, path,
		     len2, len1);
		same = false;
	} else if (s1 == MAPPER_OK) {
		taken++;
		if (!edits[e].header) {
			diag("%s, %s: taken by the header block", name, path);
			same = false;
		}
	}
	free(out1);
	free(out2);
	return same;
}

static void check_message(const char *name, const char *data, size_t len)
{
	files++;
	int bad = 0;
	for (size_t e = 0; e < G_N_ELEMENTS(edits); e++)
		bad += !same_both_ways(name, data, len, e);
	ok(bad == 0, "%s: %zu edits give the same bytes both ways", name, G_N_ELEMENTS(edits));
}

static const char plain[] =
	"From: Alice <alice@example.org>\n"
	"To: Bob <bob@example.org>\n"
	"Subject: =?UTF-8?Q?caf=C3=A9?= and more\n"
	"Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
	"Message-ID: <1@example.org>\n"
	"Importance: low\n"
	"MIME-Version: 1.0\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"caf=E9\n";

static const char crlf_mixed[] =
	"From junk line of an mbox\r\n"
	"From: a@example.org\r\n"
	"Subject: crlf\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=b\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"body\r\n"
	"--b\r\n"
	"Content-Type: application/octet-stream; name=x.bin\r\n"
	"Content-Disposition: attachment; filename=x.bin\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"AAECAw==\r\n"
	"--b--\r\n";

static const char no_body[] = "From: a@example.org\nSubject: no body at all\n";

int main(void)
{
	mapper_init();
	check_message("plain (built in)", plain, strlen(plain));
	check_message("CRLF multipart with junk (built in)", crlf_mixed, strlen(crlf_mixed));
	is_int(taken, 10, "both built-in messages with a body took the header path for every header edit");
	check_message("header only (built in)", no_body, strlen(no_body));

	corpus_run(check_message);
	/* the point of it: plain mail really takes the header path */
	ok(taken > fallbacks, "the header path took %d header edits, left %d to the whole message "
	   "(S/MIME among them)", taken, fallbacks);
	mapper_shutdown();
	return done_testing();
}
