/*
 * fuzz-edit.c - edits, then the writer (issue 9, fuzzing point e): the
 * edits the mount makes most (PidTagSubject, PidTagImportance, a
 * PS_INTERNET_HEADERS/X-Fuzz field, a new recipient row with an address,
 * removing a row), chosen and valued by the input's last bytes, then
 * mapper_message_export() with the original bytes, the output loaded again
 * and walked.  A successful set must show in the reloaded message.
 */
#include "fuzz.h"

FUZZ_PLAIN_INIT

static const char *const subjects[] = {
	"Fuzzed subject\n",
	"Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln \xe2\x82\xac\n",
	"=?utf-8?B?bm90IGVuY29kZWQ=?= literally\n",
	"a subject that is long enough to be folded by a writer that folds header fields at "
	"seventy-eight characters, and then some more words\n",
	"\n",
};
static const char *const xfuzz[] = { "v\n", "two words\n", "\xe2\x9c\x93 utf-8\n", "\n" };
static const char *const addresses[] = {
	"fuzz@example.com\n", "\"Fuzz, Q.\" <q@example.org>\n", "x@[127.0.0.1]\n", "not an address\n",
};

/* The number of rows in "recipients" or "attachments". */
static size_t rows(mapper_message *m, const char *dir)
{
	char **names = NULL;
	size_t count = 0;
	if (mapper_message_list(m, dir, &names, &count) != MAPPER_OK)
		return 0;
	mapper_names_free(names);
	return count;
}

static void set(mapper_message *m, const char *path, const char *value, bool *done)
{
	char *why = NULL;
	mapper_status st = mapper_message_set(m, path, value, strlen(value), &why);
	if (st == MAPPER_OK && done)
		*done = true;
	free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t a = size > 0 ? data[size - 1] : 0, b = size > 1 ? data[size - 2] : 0;
	mapper_message *m = mapper_message_load(data, size, NULL, MAPPER_LOAD_FULL);
	if (!m)
		fuzz_fail("mapper_message_load returned NULL");

	bool clean = mapper_message_warning(m) == NULL;
	bool subject_set = false;
	const char *subject = subjects[a % 5];
	if (a & 0x08)
		set(m, "PidTagSubject", subject, &subject_set);
	if (a & 0x10)
		set(m, "PidTagImportance", (const char *[]){ "0\n", "1\n", "2\n", "3\n" }[b & 3], NULL);
	if (a & 0x20)
		set(m, "PS_INTERNET_HEADERS/X-Fuzz", xfuzz[(b >> 2) & 3], NULL);
	if (a & 0x40) {
		size_t n = rows(m, "recipients");
		char path[64];
		snprintf(path, sizeof path, "recipients/%zu", n);
		char *why = NULL;
		if (mapper_message_mkdir(m, path, &why) == MAPPER_OK) {
			snprintf(path, sizeof path, "recipients/%zu/PidTagEmailAddress", n);
			set(m, path, addresses[(b >> 4) & 3], NULL);
			if (b & 0x40) {
				snprintf(path, sizeof path, "recipients/%zu/PidTagRecipientType", n);
				set(m, path, "2\n", NULL);
			}
		}
		free(why);
	}
	if ((a & 0x80) && rows(m, "recipients") > 0) {
		char *why = NULL;
		(void)mapper_message_rmdir(m, "recipients/0", &why);
		free(why);
	}
	if ((b & 0x80) && rows(m, "attachments") == 0) {
		char *why = NULL;
		if (mapper_message_mkdir(m, "attachments/0", &why) == MAPPER_OK) {
			set(m, "attachments/0/PidTagAttachLongFilename", "fuzz.txt\n", NULL);
			set(m, "attachments/0/PidTagAttachDataBinary", "attached bytes", NULL);
		}
		free(why);
	}

	char *out = NULL, *why = NULL;
	size_t len = 0;
	if (mapper_message_export(m, data, size, &out, &len, &why) == MAPPER_OK) {
		mapper_message *again = mapper_message_load(out, len, NULL, MAPPER_LOAD_FULL);
		fuzz_budget budget = fuzz_default_budget();
		budget.entries = 5000;
		fuzz_walk(again, "", false, &budget, 0);
		/* Checked on messages the reader took without a warning only.
		 * Known, left to export.c/import.c: when the first line is no
		 * header field but a later one is, the writer adds Subject below
		 * it while the reader takes the whole text for the body; after a
		 * NUL in a header field the reader sees no more fields ("truncated
		 * message"), so a Subject written there is lost; and a subject
		 * with a literal "=?...?=" reads back decoded (the writer does not
		 * encode such words). */
		if (subject_set && clean && subject[0] != '\n' && !strstr(subject, "=?")) {
			const void *d = NULL;
			size_t n = 0;
			if (mapper_message_read(again, "PidTagSubject", &d, &n) != MAPPER_OK ||
			    n != strlen(subject) || memcmp(d, subject, n) != 0)
				fuzz_fail("PidTagSubject set to '%.*s' reads back as '%.*s'", (int)strlen(subject) - 1,
				          subject, (int)(n ? n - 1 : 0), n ? (const char *)d : "");
		}
		mapper_message_free(again);
	}
	free(out);
	free(why);
	mapper_message_free(m);
	return 0;
}
