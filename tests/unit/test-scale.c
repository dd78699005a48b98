/*
 * test-scale.c - the work a message costs grows with its size, not with its
 * size squared (issue 9: 100,000 header fields hung the daemon).
 *
 * Each case generates a message of n items in memory (distinct header
 * fields, one field repeated, a header field re-setting a property between
 * distinct ones, recipients in To and Cc, attachments, inline images the
 * HTML body refers to) and does what a mount does with it: load it with
 * MAPPER_LOAD_HEADERS and list and stat its header directories, load it
 * with MAPPER_LOAD_FULL, list every directory and stat every entry, write
 * it back unedited, edit PidTagSubject and write it back again.
 *
 * First the results are checked (counts, a value read back, the unedited
 * export giving the input bytes).  Then the same work is timed at n and at
 * 8n, the best of three runs each (fewer when more cannot change the
 * verdict): linear work gives a ratio of about 8, n log n a little more,
 * quadratic work 64; the test wants less than 24.  No time limit is
 * asserted, since the machine may be slow or busy; the timings, in
 * processor seconds, are printed as comments.
 *
 * The first n of a case is small enough for quadratic code to fail within
 * seconds instead of running into the test's timeout; header fields are
 * then tried at 100,000 too.  The whole test takes about 15 processor
 * seconds under AddressSanitizer.
 */
#include <time.h>

#include "mapper-test.h"

#define GROWTH 8        /* the large message has GROWTH times the items */
#define MAX_RATIO 24.0  /* between linear (GROWTH) and quadratic (GROWTH^2) */
#define RUNS 3

static const char head[] =
	"From: Alice <alice@example.com>\n"
	"Subject: Scale\n"
	"Date: Wed, 01 May 2024 09:30:00 +0000\n"
	"Message-ID: <scale@example.com>\n"
	"MIME-Version: 1.0\n";

/* ---- the messages ---------------------------------------------------------- */

static void make_distinct(buf *b, size_t n)
{
	buf_add(b, head);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "X-Field-%zu: value %zu\n", i, i);
	buf_add(b, "Content-Type: text/plain\n\nbody\n");
}

static void make_repeated(buf *b, size_t n)
{
	buf_add(b, head);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "X-Same: value %zu\n", i);
	buf_add(b, "Content-Type: text/plain\n\nbody\n");
}

/* Thread-Topic sets PidTagConversationTopic again each time, the last one
 * winning, among as many distinct fields. */
static void make_reset(buf *b, size_t n)
{
	buf_add(b, head);
	for (size_t i = 0; i < n / 2; i++)
		buf_printf(b, "X-Field-%zu: value %zu\nThread-Topic: topic %zu\n", i, i, i);
	buf_add(b, "Content-Type: text/plain\n\nbody\n");
}

/* Half in To, half in Cc, folded one address a line. */
static void make_recipients(buf *b, size_t n)
{
	buf_add(b, head);
	for (size_t i = 0; i < n; i++) {
		if (i == 0)
			buf_add(b, "To: ");
		else if (i == n / 2)
			buf_add(b, "\nCc: ");
		else
			buf_add(b, ",\n ");
		buf_printf(b, "User %zu <u%zu@example.com>", i, i);
	}
	buf_add(b, "\nContent-Type: text/plain\n\nbody\n");
}

static void make_parts(buf *b, size_t n)
{
	buf_add(b, head);
	buf_add(b, "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
	           "--b\nContent-Type: text/plain\n\nbody\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "--b\nContent-Type: application/octet-stream; name=\"f%zu.bin\"\n"
		              "Content-Disposition: attachment; filename=\"f%zu.bin\"\n\nx%zu\n", i, i, i);
	buf_add(b, "--b--\n");
}

/* An HTML body referring to every inline image but the last, each image
 * after a comment full of near misses ("cid:" not followed by an image's
 * Content-ID), which a search for each reference in turn has to wade
 * through again and again. */
static void make_inline(buf *b, size_t n)
{
	buf_add(b, head);
	buf_add(b, "Content-Type: multipart/related; boundary=\"b\"\n\n"
	           "--b\nContent-Type: text/html\n\n<html><body>");
	for (size_t i = 0; i + 1 < n; i++) {
		buf_add(b, "<!--");
		for (int k = 0; k < 100; k++)
			buf_add(b, "cid:");
		buf_printf(b, "-->\n<img src=\"cid:i%zu@example.com\">\n", i);
	}
	buf_add(b, "</body></html>\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "--b\nContent-Type: image/png\nContent-ID: <i%zu@example.com>\n\nx\n", i);
	buf_add(b, "--b--\n");
}

/* An HTML body of n unclosed elements, each inside the one before
 * (div, then a list item of a new list, then inline ones): its PidTagBody
 * (mapper/html.c) walks a tree n deep. */
static void make_html_nested(buf *b, size_t n)
{
	buf_add(b, head);
	buf_add(b, "Content-Type: text/html; charset=utf-8\n\n<html><body>");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s w%zu ", (const char *[]){ "<div>", "<ul><li>", "<b>", "<i>" }[i % 4], i);
	buf_add(b, "</body></html>\n");
}

/* ---- what a mount does with them -------------------------------------------- */

static size_t count_names(mapper_message *m, const char *path)
{
	char **names = NULL;
	size_t n = 0;
	if (mapper_message_list(m, path, &names, &n) != MAPPER_OK)
		return (size_t)-1;
	mapper_names_free(names);
	return n;
}

/* Processor time of this process: the others that share the machine (the
 * test suites run in parallel) slow the wall clock down unevenly. */
static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One timed run: when it is past @give_up (0: never), it stops between
 * steps, so that quadratic code fails the test rather than time it out. */
typedef struct {
	double give_up;
	bool gave_up;
	long ticks;
} run;

static bool over_now(run *r)
{
	if (!r->gave_up && r->give_up > 0)
		r->gave_up = seconds() > r->give_up;
	return r->gave_up;
}

/* The processor clock is a system call: in loops, look at it now and then. */
static bool over(run *r)
{
	return (++r->ticks & 255) == 0 ? over_now(r) : r->gave_up;
}

/* List @path and stat every entry, directories recursively; the number of
 * entries, or -1 when something fails (or the run gave up). */
static long walk(run *r, mapper_message *m, const char *path, int depth)
{
	char **names = NULL;
	size_t n = 0;
	if (mapper_message_list(m, path, &names, &n) != MAPPER_OK)
		return -1;
	long count = 0;
	buf p = { 0 };
	for (size_t i = 0; i < n && count >= 0; i++) {
		p.len = 0;
		buf_printf(&p, "%s%s%s", path, *path ? "/" : "", names[i]);
		mapper_node node;
		if (over(r) || mapper_message_stat(m, p.data, &node) != MAPPER_OK) {
			count = -1;
			break;
		}
		count++;
		if (node.kind == MAPPER_NODE_DIR && depth < 8) {
			long below = walk(r, m, p.data, depth + 1);
			count = below < 0 ? -1 : count + below;
		}
	}
	free(p.data);
	mapper_names_free(names);
	return count;
}

typedef struct {
	long header_entries;   /* below the header directories, headers-only load */
	long entries;          /* everything, full load */
	bool export_same;      /* the unedited export is the input */
	bool edit_written;     /* the edited export has the new subject */
	mapper_message *m;     /* the full object, edited; caller frees */
} outcome;

/* The work of one message; returns the seconds it took, or a negative
 * number when it gave up after @give_up seconds. */
static double work(const buf *eml, double give_up, outcome *o)
{
	double start = seconds();
	run r = { .give_up = give_up > 0 ? start + give_up : 0 };
	memset(o, 0, sizeof *o);

	mapper_message *h = load_level(eml->data, MAPPER_LOAD_HEADERS);
	long a = walk(&r, h, "recipients", 0);
	long b = mapper_message_stat(h, "PS_INTERNET_HEADERS", &(mapper_node){ 0 }) == MAPPER_OK
	         ? walk(&r, h, "PS_INTERNET_HEADERS", 0) : 0;
	o->header_entries = a < 0 || b < 0 ? -1 : a + b;
	mapper_message_free(h);
	if (over_now(&r))
		return -1;

	o->m = load(eml->data);
	o->entries = walk(&r, o->m, "", 0);
	if (over_now(&r))
		return -1;

	char *out = NULL, *why = NULL;
	size_t len = 0;
	if (mapper_message_export(o->m, eml->data, eml->len, &out, &len, &why) == MAPPER_OK)
		o->export_same = len == eml->len && memcmp(out, eml->data, len) == 0;
	free(out);
	free(why);
	if (over_now(&r))
		return -1;

	static const char subject[] = "Scaled\n";
	out = why = NULL;
	if (mapper_message_set(o->m, "PidTagSubject", subject, strlen(subject), &why) == MAPPER_OK &&
	    mapper_message_export(o->m, eml->data, eml->len, &out, &len, &why) == MAPPER_OK)
		o->edit_written = memmem(out, len, "\nSubject: Scaled\n", 17) &&
		                  !memmem(out, len, "\nSubject: Scale\n", 16);
	free(out);
	free(why);
	return seconds() - start;
}

/* ---- the cases ------------------------------------------------------------------- */

typedef struct scale_case {
	const char *what;
	/* the small sizes, tried in turn (0 ends): a first one small enough
	 * for quadratic code to fail the ratio within seconds, rather than
	 * to run into the test's timeout */
	size_t n[3];
	void (*make)(buf *b, size_t n);
	/* assertions on the outcome for a message of @n items */
	void (*check)(const struct scale_case *sc, size_t n, const outcome *o);
} scale_case;

static void check_distinct(const scale_case *sc, size_t n, const outcome *o)
{
	/* and Content-Type, kept on every message */
	is_int(count_names(o->m, "PS_INTERNET_HEADERS"), n + 1, "%s, n=%zu: one property per field", sc->what, n);
	is_int(o->header_entries, n + 1, "%s, n=%zu: as many with the headers only", sc->what, n);
	char path[64], value[64];
	snprintf(path, sizeof path, "PS_INTERNET_HEADERS/X-Field-%zu", n - 1);
	snprintf(value, sizeof value, "value %zu\n", n - 1);
	is_file(o->m, path, value, sc->what);
	snprintf(path, sizeof path, "PS_INTERNET_HEADERS/x-field-%zu", n / 2);
	is_absent(o->m, path, sc->what);   /* file names keep the field's spelling */
}

static void check_repeated(const scale_case *sc, size_t n, const outcome *o)
{
	is_list(o->m, "PS_INTERNET_HEADERS", "Content-Type,X-Same", sc->what);
	is_file(o->m, "PS_INTERNET_HEADERS/X-Same", "value 0\n", sc->what);  /* the first wins */
}

static void check_reset(const scale_case *sc, size_t n, const outcome *o)
{
	is_int(count_names(o->m, "PS_INTERNET_HEADERS"), n / 2 + 1, "%s, n=%zu: the distinct fields and Content-Type",
	       sc->what, n);
	char value[64];
	snprintf(value, sizeof value, "topic %zu\n", n / 2 - 1);
	is_file(o->m, "PidTagConversationTopic", value, sc->what);  /* the last wins */
}

static void check_recipients(const scale_case *sc, size_t n, const outcome *o)
{
	is_int(count_names(o->m, "recipients"), n, "%s, n=%zu: one row per address", sc->what, n);
	char path[64], value[64];
	snprintf(path, sizeof path, "recipients/%zu/PidTagSmtpAddress", n - 1);
	snprintf(value, sizeof value, "u%zu@example.com\n", n - 1);
	is_file(o->m, path, value, sc->what);
	snprintf(path, sizeof path, "recipients/%zu/PidTagRecipientType", n - 1);
	is_file(o->m, path, "2\n", sc->what);
	is_file(o->m, "recipients/0/PidTagRecipientType", "1\n", sc->what);
}

static void check_parts(const scale_case *sc, size_t n, const outcome *o)
{
	/* each row has its file name beside it (issue 13) */
	is_int(count_names(o->m, "attachments"), 2 * n, "%s, n=%zu: one attachment per part", sc->what, n);
	char path[64], value[64];
	snprintf(path, sizeof path, "attachments/%zu/PidTagAttachLongFilename", n - 1);
	snprintf(value, sizeof value, "f%zu.bin\n", n - 1);
	is_file(o->m, path, value, sc->what);
	snprintf(path, sizeof path, "attachments/%zu/PidTagAttachDataBinary", n - 1);
	snprintf(value, sizeof value, "x%zu", n - 1);
	is_file(o->m, path, value, sc->what);
	snprintf(path, sizeof path, "attachments/f%zu.bin", n - 1);
	is_file(o->m, path, value, sc->what);
}

static void check_inline(const scale_case *sc, size_t n, const outcome *o)
{
	is_int(count_names(o->m, "attachments"), 2 * n, "%s, n=%zu: one attachment per image", sc->what, n);
	char path[64];
	snprintf(path, sizeof path, "attachments/%zu/PidTagAttachmentHidden", n - 2);
	is_file(o->m, path, "true\n", sc->what);   /* referred to: shown in the body */
	snprintf(path, sizeof path, "attachments/%zu/PidTagAttachmentHidden", n - 1);
	is_file(o->m, path, "false\n", sc->what);  /* not referred to */
	is_file(o->m, "attachments/0/PidTagAttachmentHidden", "true\n", sc->what);
}

static void check_html_nested(const scale_case *sc, size_t n, const outcome *o)
{
	/* a line per <div> or item: "w0", "", "• w1 w2 w3", "w4", "• w5 w6 w7",
	 * ...: the outermost list is a paragraph, the lists in it lines */
	buf want = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (i % 4 == 0 && i)
			buf_add(&want, "\n");
		else if (i % 4 == 1)
			buf_add(&want, i == 1 ? "\n\n\u2022 " : "\n\u2022 ");
		else if (i % 4)
			buf_add(&want, " ");
		buf_printf(&want, "w%zu", i);
	}
	buf_add(&want, "\n");
	is_file(o->m, "PidTagBody", want.data, sc->what);
	free(want.data);
}

static const scale_case cases[] = {
	{ "distinct header fields", { 1500, 12500 }, make_distinct, check_distinct },
	{ "one header field repeated", { 6250 }, make_repeated, check_repeated },
	{ "a property set again between fields", { 2000 }, make_reset, check_reset },
	{ "recipients in To and Cc", { 1000 }, make_recipients, check_recipients },
	{ "attachments", { 1250 }, make_parts, check_parts },
	{ "inline images the HTML refers to", { 1000 }, make_inline, check_inline },
	{ "elements nested in an HTML body", { 2000 }, make_html_nested, check_html_nested },
};

/* Check the outcome for @n items and time the work: the best of @runs,
 * fewer when more cannot change the verdict against @limit (0: none);
 * negative when a run gave up, past 4 @limit. */
static double measure(const scale_case *sc, size_t n, int runs, double limit, int *done)
{
	buf eml = { 0 };
	sc->make(&eml, n);
	double best = -1;
	for (*done = 0; *done < runs;) {
		outcome o;
		double t = work(&eml, 4 * limit, &o);
		++*done;
		if (t < 0) {
			diag("%s, n=%zu: gave up after %.3f s", sc->what, n, 4 * limit);
			mapper_message_free(o.m);
			best = -1;
			break;
		}
		if (best < 0 || t < best)
			best = t;
		if (*done == 1) {
			ok(o.entries > 0, "%s, n=%zu: every entry listed and stat'ed", sc->what, n);
			ok(o.header_entries >= 0, "%s, n=%zu: the header directories of the headers-only object",
			   sc->what, n);
			ok(o.export_same, "%s, n=%zu: the unedited object is written back as it came", sc->what, n);
			ok(o.edit_written, "%s, n=%zu: an edited PidTagSubject is written", sc->what, n);
			sc->check(sc, n, &o);
		}
		mapper_message_free(o.m);
		if (best < limit || (limit > 0 && best > 2 * limit))
			break;   /* passed already, or so far over that it is no noise */
	}
	free(eml.data);
	return best;
}

int main(void)
{
	mapper_init();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const scale_case *sc = &cases[i];
		for (int k = 0; k < 3 && sc->n[k]; k++) {
			size_t n = sc->n[k];
			int small_runs, large_runs;
			double small = measure(sc, n, RUNS, 0, &small_runs);
			double large = measure(sc, n * GROWTH, RUNS, small * MAX_RATIO, &large_runs);
			double ratio = large < 0 ? -1 : large / (small > 0 ? small : 1e-9);
			if (large < 0)
				diag("%s: n=%zu %.3f s, n=%zu more than %.3f s", sc->what, n, small,
				     n * GROWTH, 4 * small * MAX_RATIO);
			else
				diag("%s: n=%zu %.3f s, n=%zu %.3f s (best of %d and %d runs): ratio %.1f",
				     sc->what, n, small, n * GROWTH, large, small_runs, large_runs, ratio);
			if (!ok(ratio >= 0 && ratio < MAX_RATIO,
			        "%s, n=%zu: %d times the items cost %.1f times the time (< %.0f)",
			        sc->what, n, GROWTH, ratio, MAX_RATIO))
				break;   /* larger sizes would only take long */
		}
	}
	mapper_shutdown();
	return done_testing();
}
