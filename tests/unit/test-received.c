/*
 * test-received.c - the Received path (design.md 9, mapper/received.c):
 * received/N/ of a message object, N = 0 for the bottom-most Received
 * field, with raw, from, by, via, with, id, for, date, delay and note.
 *
 * Tricky fields one by one (folding, keywords inside comments, quoted
 * strings and angle addresses, nested and unclosed comments, no date, a bad
 * date, garbage, IPv6 literals, several "for" addresses, qmail's lone
 * comment, CRLF), the tree (listing, headers-only objects, embedded
 * messages, odd paths), the write path (read-only) and an edit (the tree is
 * made again), and 10,000 Received fields: the work grows linearly (timed
 * at n and 8n as test-scale does; the ratio must stay under 24).
 */
#include <time.h>

#include "mapper-test.h"

static const char tail[] =
	"From: Alice <alice@example.com>\n"
	"To: bob@example.org\n"
	"Subject: hops\n"
	"Date: Wed, 01 May 2024 09:30:00 +0000\n"
	"\n"
	"body\n";

/* A message of the Received fields @fields (top-most first) and tail[]. */
static mapper_message *with_fields(const char *fields, mapper_load_level level)
{
	buf b = { 0 };
	buf_add(&b, fields);
	buf_add(&b, tail);
	mapper_message *m = load_level(b.data, level);
	free(b.data);
	return m;
}

/* File received/@hop/@name is @text and "\n" (@text NULL: the file is absent). */
static void hop_is(mapper_message *m, int hop, const char *name, const char *text, const char *what)
{
	char path[64];
	snprintf(path, sizeof path, "received/%d/%s", hop, name);
	if (!text) {
		is_absent(m, path, what);
		return;
	}
	char *want = malloc(strlen(text) + 2);
	sprintf(want, "%s\n", text);
	is_file(m, path, want, what);
	free(want);
}

/* The note of hop @hop contains @part. */
static void note_has(mapper_message *m, int hop, const char *part, const char *what)
{
	char path[64];
	snprintf(path, sizeof path, "received/%d/note", hop);
	char *note = read_copy(m, path, NULL);
	if (!ok(note && strstr(note, part), "%s: note has '%s'", what, part))
		diag("note: %s", note ? note : "(none)");
	if (note)
		ok(strchr(note, '\n') == note + strlen(note) - 1, "%s: the note is one line", what);
	free(note);
}

static const char postfix[] =
	"Received: from mail.example.com (mail.example.com [192.0.2.1])\n"
	"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
	"\t key-exchange X25519 server-signature RSA-PSS (2048 bits))\n"
	"\t(No client certificate requested)\n"
	"\tby mx.example.net (Postfix) with ESMTPS id 4ABC12\n"
	"\tfor <bob@example.net>; Wed,  1 May 2024 11:30:07 +0200 (CEST)\n";

static void test_postfix(void)
{
	const char *what = "Postfix, folded, 'with' inside a comment";
	mapper_message *m = with_fields(postfix, MAPPER_LOAD_FULL);
	is_list(m, "received", "0", what);
	is_list(m, "received/0", "by,date,for,from,id,raw,with", what);
	hop_is(m, 0, "from", "mail.example.com (mail.example.com [192.0.2.1]) (using TLSv1.3 with "
	       "cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature "
	       "RSA-PSS (2048 bits)) (No client certificate requested)", what);
	hop_is(m, 0, "by", "mx.example.net (Postfix)", what);
	hop_is(m, 0, "with", "ESMTPS", what);
	hop_is(m, 0, "id", "4ABC12", what);
	hop_is(m, 0, "for", "<bob@example.net>", what);
	hop_is(m, 0, "date", "2024-05-01T09:30:07Z", what);
	hop_is(m, 0, "delay", NULL, what);
	hop_is(m, 0, "note", NULL, what);
	is_file(m, "received/0/raw", postfix, what);
	char *root = list_joined(m, "");
	ok(strstr(root, ",received,") != NULL, "%s: the root lists received", what);
	free(root);
	mapper_node node;
	ok(mapper_message_stat(m, "received/0", &node) == MAPPER_OK && node.kind == MAPPER_NODE_DIR &&
	   !node.is_message && !node.tag, "%s: received/0 is a plain directory", what);
	mapper_message_free(m);

	/* CRLF: the same values; raw keeps the CRLF */
	what = "Postfix, CRLF";
	char *fields = crlf(postfix);
	m = with_fields(fields, MAPPER_LOAD_FULL);
	hop_is(m, 0, "by", "mx.example.net (Postfix)", what);
	hop_is(m, 0, "for", "<bob@example.net>", what);
	hop_is(m, 0, "date", "2024-05-01T09:30:07Z", what);
	hop_is(m, 0, "note", NULL, what);
	is_file(m, "received/0/raw", fields, what);
	free(fields);
	mapper_message_free(m);
}

/* Three hops, top-most (last) first; the middle relay's clock is slow. */
static const char chain[] =
	"Received: from relay.example.net by mx.example.org with ESMTP id C;\n"
	" Wed, 01 May 2024 09:30:10 +0000\n"
	"RECEIVED: from laptop.example.com by relay.example.net with ESMTPSA id B;"
	" Wed, 01 May 2024 04:28:00 -0500\n"
	"received:from [127.0.0.1] by laptop.example.com with LMTP id A; Wed, 01 May 2024 11:29:00 +0200\n";

static void test_order(void)
{
	const char *what = "three hops: order and delays";
	mapper_message *m = with_fields(chain, MAPPER_LOAD_FULL);
	is_list(m, "received", "0,1,2", what);
	hop_is(m, 0, "id", "A", what);
	hop_is(m, 1, "id", "B", what);
	hop_is(m, 2, "id", "C", what);
	hop_is(m, 0, "date", "2024-05-01T09:29:00Z", what);
	hop_is(m, 1, "date", "2024-05-01T09:28:00Z", what);
	hop_is(m, 1, "delay", "-60", what);
	hop_is(m, 2, "delay", "130", what);
	hop_is(m, 0, "delay", NULL, what);
	is_file(m, "received/1/raw", "RECEIVED: from laptop.example.com by relay.example.net with "
	        "ESMTPSA id B; Wed, 01 May 2024 04:28:00 -0500\n", what);
	is_file(m, "received/0/raw", "received:from [127.0.0.1] by laptop.example.com with LMTP id A;"
	        " Wed, 01 May 2024 11:29:00 +0200\n", what);
	/* paths that are not hops */
	static const char *const odd[] = { "received/3", "received/00", "received/-1", "received/1x",
	                                   "received/", "received/0/", "received/0/nothing",
	                                   "received/99999999999999999999" };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		is_absent(m, odd[i], what);
	is_stat(m, "received/0/raw/x", MAPPER_NOT_A_DIRECTORY, what);
	const void *d;
	size_t n;
	is_int(mapper_message_read(m, "received/0", &d, &n), MAPPER_IS_A_DIRECTORY, "%s: read of a hop", what);
	mapper_message_free(m);

	/* the headers-only object has the same tree */
	what = "three hops, headers only";
	m = with_fields(chain, MAPPER_LOAD_HEADERS);
	is_list(m, "received", "0,1,2", what);
	is_list(m, "received/1", "by,date,delay,from,id,raw,with", what);
	hop_is(m, 2, "delay", "130", what);
	ok(!mapper_message_needs_body(m, "received"), "%s: received needs no body", what);
	mapper_message_free(m);
}

static void test_tricky(void)
{
	const char *what = "keywords in comments, quoted strings, angle addresses";
	mapper_message *m = with_fields(
		"Received: FROM a.example (x (nested (by (deeper) with ESMTP) id 7) for y) BY b.example\n"
		"  (\"with\" \\) for) With \"id for\" iD <for.id@by.example> (via) For <x@example.org>,\n"
		"\t<y@example.org>, \"z by\" <z@example.org>; Wed, 01 May 2024 09:30:00 GMT\n",
		MAPPER_LOAD_FULL);
	hop_is(m, 0, "from", "a.example (x (nested (by (deeper) with ESMTP) id 7) for y)", what);
	hop_is(m, 0, "by", "b.example (\"with\" \\) for)", what);
	hop_is(m, 0, "with", "\"id for\"", what);
	hop_is(m, 0, "id", "<for.id@by.example> (via)", what);
	hop_is(m, 0, "for", "<x@example.org>, <y@example.org>, \"z by\" <z@example.org>", what);
	hop_is(m, 0, "via", NULL, what);
	hop_is(m, 0, "note", NULL, what);
	hop_is(m, 0, "date", "2024-05-01T09:30:00Z", what);
	mapper_message_free(m);

	what = "IPv6 literals";
	m = with_fields("Received: from [IPv6:2001:db8::1] (unknown [IPv6:2001:db8:0:0:1::5])\n"
	                " by [IPv6:2001:db8::2] via TCP with ESMTP id v6;\n"
	                " Wed, 1 May 2024 09:30:00 +0000 (UTC)\n", MAPPER_LOAD_FULL);
	hop_is(m, 0, "from", "[IPv6:2001:db8::1] (unknown [IPv6:2001:db8:0:0:1::5])", what);
	hop_is(m, 0, "by", "[IPv6:2001:db8::2]", what);
	hop_is(m, 0, "via", "TCP", what);
	hop_is(m, 0, "with", "ESMTP", what);
	hop_is(m, 0, "date", "2024-05-01T09:30:00Z", what);
	hop_is(m, 0, "note", NULL, what);
	mapper_message_free(m);

	what = "qmail's lone comment";
	m = with_fields("Received: (qmail 123 invoked by uid 0); 1 May 2024 09:30:00 -0000\n",
	                MAPPER_LOAD_FULL);
	is_list(m, "received/0", "date,raw", what);
	hop_is(m, 0, "date", "2024-05-01T09:30:00Z", what);
	mapper_message_free(m);
}

static void test_broken(void)
{
	/* top-most first: hop 0 is the last field */
	mapper_message *m = with_fields(
		"Received: only garbage here\n"
		"Received: from a.example by b.example with SMTP\n"
		"Received: from a.example by b.example; 31 Feb 2024 10:00:00 +0000\n"
		"Received: from a.example by b.example; 1 2 3\n"
		"Received: from a.example (by b.example; Wed, 01 May 2024 09:30:00 +0000\n"
		"Received: from a <b@c by d; Wed, 01 May 2024 09:30:00 +0000\n"
		"Received: from a from b by c with; Wed, 01 May 2024 09:30:00 +0000\n"
		"Received: junk from a by b; Wed, 01 May 2024 09:30:00 +0000\n"
		"Received:\n",
		MAPPER_LOAD_FULL);
	is_list(m, "received", "0,1,2,3,4,5,6,7,8", "every field gets a hop");

	const char *what = "an empty field";
	is_list(m, "received/0", "note,raw", what);
	is_file(m, "received/0/raw", "Received:\n", what);
	note_has(m, 0, "no ';'", what);

	what = "words before the first clause";
	hop_is(m, 1, "from", "a", what);
	hop_is(m, 1, "date", "2024-05-01T09:30:00Z", what);
	hop_is(m, 1, "delay", NULL, what);   /* hop 0 has no date */
	note_has(m, 1, "before the first clause", what);

	what = "a repeated clause and an empty one";
	hop_is(m, 2, "from", "a", what);
	hop_is(m, 2, "by", "c", what);
	hop_is(m, 2, "with", NULL, what);
	hop_is(m, 2, "delay", "0", what);
	note_has(m, 2, "clause 'from' appears again", what);
	note_has(m, 2, "clause 'with' has no value", what);

	what = "an unclosed angle address";
	hop_is(m, 3, "from", "a <b@c by d; Wed, 01 May 2024 09:30:00 +0000", what);
	hop_is(m, 3, "date", NULL, what);
	note_has(m, 3, "angle address is not closed", what);
	note_has(m, 3, "no ';'", what);

	what = "an unclosed comment";
	hop_is(m, 4, "from", "a.example (by b.example; Wed, 01 May 2024 09:30:00 +0000", what);
	hop_is(m, 4, "by", NULL, what);
	note_has(m, 4, "comment is not closed", what);

	what = "GMime's nonsense date \"1 2 3\"";
	hop_is(m, 5, "by", "b.example", what);
	hop_is(m, 5, "date", NULL, what);
	note_has(m, 5, "cannot be read", what);

	what = "31 February";
	hop_is(m, 6, "date", NULL, what);
	note_has(m, 6, "cannot be read", what);

	what = "no ';' and date";
	is_list(m, "received/7", "by,from,note,raw,with", what);
	note_has(m, 7, "no ';'", what);

	what = "only garbage";
	is_list(m, "received/8", "note,raw", what);
	is_file(m, "received/8/raw", "Received: only garbage here\n", what);
	note_has(m, 8, "before the first clause", what);
	note_has(m, 8, "no ';'", what);
	mapper_message_free(m);

	m = with_fields("", MAPPER_LOAD_FULL);
	is_absent(m, "received", "no Received field: no received/");
	char *root = list_joined(m, "");
	ok(!strstr(root, "received"), "no Received field: the root does not list it");
	free(root);
	mapper_message_free(m);
}

static void test_embedded(void)
{
	const char *what = "an embedded message";
	mapper_message *m = load(
		"From: a@example.org\nTo: b@example.org\nSubject: outer\n"
		"Content-Type: multipart/mixed; boundary=\"XX\"\n\n"
		"--XX\nContent-Type: text/plain\n\nsee below\n"
		"--XX\nContent-Type: message/rfc822\n\n"
		"Received: by inner.example with SMTP id in; Wed, 01 May 2024 09:30:00 +0000\n"
		"From: c@example.org\nSubject: inner\n\nthe inner body\n"
		"--XX--\n");
	is_absent(m, "received", what);
	hop_is(m, 0, "id", NULL, what);
	is_file(m, "attachments/0/PidTagAttachDataObject/received/0/id", "in\n", what);
	is_file(m, "attachments/0/PidTagAttachDataObject/received/0/date", "2024-05-01T09:30:00Z\n", what);
	mapper_message_free(m);
}

static void test_read_only(void)
{
	const char *what = "read-only";
	mapper_message *m = with_fields(chain, MAPPER_LOAD_FULL);
	static const char *const paths[] = { "received", "received/0", "received/0/from",
	                                     "received/0/note", "received/7/x" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char *why = NULL;
		is_int(mapper_message_can_set(m, paths[i], &why), MAPPER_READ_ONLY, "%s: can_set %s", what, paths[i]);
		free(why);
		why = NULL;
		is_int(mapper_message_set(m, paths[i], "x\n", 2, &why), MAPPER_READ_ONLY, "%s: set %s", what, paths[i]);
		free(why);
		why = NULL;
		is_int(mapper_message_check_partial(m, paths[i], "x", 1, &why), MAPPER_READ_ONLY,
		       "%s: check_partial %s", what, paths[i]);
		free(why);
	}
	is_int(mapper_message_mkdir(m, "received/3", NULL), MAPPER_READ_ONLY, "%s: mkdir", what);
	is_int(mapper_message_rmdir(m, "received/0", NULL), MAPPER_READ_ONLY, "%s: rmdir", what);
	hop_is(m, 1, "delay", "-60", what);

	/* an edit drops the tree (edit.c); it is made again, the same */
	what = "after an edit";
	const void *before;
	size_t n;
	is_int(mapper_message_read(m, "received/2/by", &before, &n), MAPPER_OK, "%s: read", what);
	size_t fp = mapper_message_footprint(m);
	is_int(mapper_message_set(m, "PidTagSubject", "new\n", 4, NULL), MAPPER_OK, "%s: set subject", what);
	ok(mapper_message_footprint(m) < fp, "%s: the computed tree is gone", what);
	hop_is(m, 2, "by", "mx.example.org", what);
	hop_is(m, 2, "delay", "130", what);
	mapper_message_free(m);
}

/* ---- many hops ---------------------------------------------------------------- */

static char *many(size_t n)
{
	buf b = { 0 };
	for (size_t i = n; i-- > 0;)
		buf_printf(&b, "Received: from h%zu.example (h%zu.example [192.0.2.%zu]) by h%zu.example\n"
		           "\twith ESMTP id %zu for <x@example.org>; Wed, 01 May 2024 %02zu:%02zu:%02zu +0000\n",
		           i, i, i % 256, i + 1, i, i / 3600 % 24, i / 60 % 60, i % 60);
	buf_add(&b, tail);
	return b.data;
}

/* Load, list received/, and read every file of every hop: what `grep -r`
 * of received/ does.  The number of files read. */
static size_t walk(const char *eml, mapper_load_level level)
{
	mapper_message *m = load_level(eml, level);
	char **hops = NULL;
	size_t count = 0, files = 0;
	if (mapper_message_list(m, "received", &hops, &count) == MAPPER_OK) {
		for (size_t i = 0; i < count; i++) {
			char dir[64];
			snprintf(dir, sizeof dir, "received/%s", hops[i]);
			char **names = NULL;
			size_t k = 0;
			if (mapper_message_list(m, dir, &names, &k) != MAPPER_OK)
				continue;
			for (size_t j = 0; j < k; j++) {
				char path[96];
				const void *d;
				size_t len;
				snprintf(path, sizeof path, "%s/%s", dir, names[j]);
				files += mapper_message_read(m, path, &d, &len) == MAPPER_OK;
			}
			mapper_names_free(names);
		}
		mapper_names_free(hops);
	}
	mapper_message_free(m);
	return files;
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double best_walk(const char *eml, int runs)
{
	double best = 1e9;
	for (int r = 0; r < runs; r++) {
		double t0 = cpu_seconds();
		walk(eml, MAPPER_LOAD_HEADERS);
		double t = cpu_seconds() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

static void test_many(void)
{
	const char *what = "10,000 Received fields";
	char *big = many(10000);
	mapper_message *m = load_level(big, MAPPER_LOAD_HEADERS);
	char **names = NULL;
	size_t count = 0;
	is_int(mapper_message_list(m, "received", &names, &count), MAPPER_OK, "%s: list", what);
	is_int((long long)count, 10000, "%s: every field is a hop", what);
	mapper_names_free(names);
	hop_is(m, 9999, "id", "9999", what);
	hop_is(m, 9999, "delay", "1", what);
	hop_is(m, 0, "from", "h0.example (h0.example [192.0.2.0])", what);
	hop_is(m, 5000, "by", "h5001.example", what);
	hop_is(m, 5000, "date", "2024-05-01T01:23:20Z", what);
	mapper_message_free(m);
	is_int((long long)walk(big, MAPPER_LOAD_FULL), 10000 * 8 - 1, "%s: every file reads", what);

	/* linear: 8 times the hops cost about 8 times as much, not 64 */
	char *small = many(1250);
	double ts = best_walk(small, 3), tb = best_walk(big, 3);
	double ratio = tb / (ts > 1e-6 ? ts : 1e-6);
	diag("1,250 hops %.4fs, 10,000 hops %.4fs, ratio %.1f", ts, tb, ratio);
	ok(ratio < 24.0, "%s: the work grows linearly (ratio %.1f < 24)", what, ratio);
	free(small);
	free(big);

	/* one hostile field: 200,000 nested comments, quotes and brackets */
	buf b = { 0 };
	buf_add(&b, "Received: from ");
	for (int i = 0; i < 50000; i++)
		buf_add(&b, "(\"<[");
	buf_add(&b, "\n");
	buf_add(&b, tail);
	double t0 = cpu_seconds();
	m = load_level(b.data, MAPPER_LOAD_FULL);
	hop_is(m, 0, "date", NULL, "a field of 200,000 openers");
	note_has(m, 0, "comment is not closed", "a field of 200,000 openers");
	mapper_message_free(m);
	diag("the field of 200,000 openers: %.4fs", cpu_seconds() - t0);
	free(b.data);
}

int main(void)
{
	mapper_init();
	test_postfix();
	test_order();
	test_tricky();
	test_broken();
	test_embedded();
	test_read_only();
	test_many();
	mapper_shutdown();
	return done_testing();
}
