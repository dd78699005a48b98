/*
 * received.c - the Received path of design.md 9 (issue 14): received/N/ of
 * a message object, one directory per Received field of its header block
 * (PidTagTransportMessageHeaders), N = 0 for the first hop (the bottom-most
 * field: every relay prepends its own, RFC 5321 4.4) up to the final
 * delivery (the top-most field).  Nothing is read until received/ is
 * looked at, and a hop's clauses only when its directory is.
 *
 * RFC 5321 4.4 writes a field as
 *     Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
 *     Opt-info = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
 * and RFC 5322 3.6.7 reads any  "Received:" *received-token ";" date-time.
 * Deployed MTAs write more than the grammar has ("with Microsoft SMTP
 * Server (...)", Exim's "tls ...", qmail's lone comment), so the field is
 * read leniently and whatever does not parse is said in a note, never
 * dropped:
 *  - Comments (nested, RFC 5322 3.2.2), quoted strings (3.2.4), angle
 *    addresses and domain literals (3.4, 3.4.1) are opaque: nothing inside
 *    them is a keyword or the date's ';'.
 *  - The date-time is the text after the last ';' outside them (RFC 5322
 *    3.6.7: ";" date-time ends the field).
 *  - A clause starts at a keyword -- from, by, via, with, id or for, in any
 *    case -- standing as a word of its own, and runs to the next keyword:
 *    its value is all that text, comments included, with every run of
 *    white space (folding too) made one space.  A clause given twice keeps
 *    its first value.
 * The note names, in this order and joined by "; ": a missing or
 * unreadable date-time, words (not comments) before the first clause, a
 * comment / quoted string / angle address / domain literal left open, a
 * clause without a value, a clause given again.  A field with nothing but
 * comments before its ';' (qmail's "(qmail 123 invoked by uid 0)") is
 * well-formed RFC 5322 and has no note.
 */
#include <string.h>

#include <gmime/gmime.h>

#include "mapper-private.h"
#include "tags.h"

enum { C_FROM, C_BY, C_VIA, C_WITH, C_ID, C_FOR, C_COUNT };
static const char *const clause_names[C_COUNT] = { "from", "by", "via", "with", "id", "for" };

/* ---- words, comments and the rest (RFC 5322 3.2) ---------------------------- */

typedef enum { T_END, T_WORD, T_COMMENT, T_QUOTED, T_ANGLE, T_LITERAL } tkind;

typedef struct {
	const char *s;
	size_t len, pos;
	unsigned unclosed;   /* 1 << kind of each construct left open at the end */
} lexer;

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static tkind opener(char c)
{
	switch (c) {
	case '(': return T_COMMENT;
	case '"': return T_QUOTED;
	case '<': return T_ANGLE;
	case '[': return T_LITERAL;
	default: return T_WORD;
	}
}

/* The end of the construct of @kind opened at @i: past its closing
 * character, or the end of the text when it has none.  A backslash quotes
 * the next character in comments and quoted strings (quoted-pair, RFC 5322
 * 3.2.1); comments nest (3.2.2). */
static size_t skip_delimited(lexer *lx, size_t i, tkind kind)
{
	static const char closer[] = { [T_COMMENT] = ')', [T_QUOTED] = '"', [T_ANGLE] = '>',
	                               [T_LITERAL] = ']' };
	bool quoting = kind == T_COMMENT || kind == T_QUOTED;
	size_t depth = 1;
	for (i++; i < lx->len; i++) {
		char c = lx->s[i];
		if (quoting && c == '\\')
			i++;
		else if (kind == T_COMMENT && c == '(')
			depth++;
		else if (c == closer[kind] && --depth == 0)
			return i + 1;
	}
	lx->unclosed |= 1u << kind;
	return lx->len;
}

/* The next token, [*@start, *@end) of the text; white space between
 * tokens is skipped.  A word runs to white space or an opening character. */
static tkind next_token(lexer *lx, size_t *start, size_t *end)
{
	while (lx->pos < lx->len && is_wsp(lx->s[lx->pos]))
		lx->pos++;
	if (lx->pos >= lx->len)
		return T_END;
	size_t i = lx->pos;
	tkind kind = opener(lx->s[i]);
	*start = i;
	if (kind != T_WORD) {
		lx->pos = skip_delimited(lx, i, kind);
	} else {
		while (i < lx->len && !is_wsp(lx->s[i]) && opener(lx->s[i]) == T_WORD)
			i++;
		lx->pos = i;
	}
	*end = lx->pos;
	return kind;
}

/* The offset of the ';' that ends the stamp (the last one outside
 * comments, quoted strings, angle addresses and domain literals), or -1. */
static gssize date_separator(const char *v, size_t len)
{
	lexer lx = { .s = v, .len = len };
	gssize semi = -1;
	size_t a, b;
	tkind k;
	while ((k = next_token(&lx, &a, &b)) != T_END) {
		if (k != T_WORD)
			continue;
		const char *p = memrchr(v + a, ';', b - a);
		if (p)
			semi = p - v;
	}
	return semi;
}

/* @len bytes at @s as one line: unfolded by GMime (RFC 5322 2.2.3), then
 * every run of spaces and tabs made one space; g_free(). */
static char *one_line(const char *s, size_t len)
{
	char *copy = g_strndup(s, len);
	char *u = g_mime_utils_header_unfold(copy);
	g_free(copy);
	size_t o = 0;
	bool space = false;
	for (size_t i = 0; u[i]; i++) {
		if (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' || u[i] == '\n') {
			space = o > 0;
			continue;
		}
		if (space)
			u[o++] = ' ';
		space = false;
		u[o++] = u[i];
	}
	u[o] = '\0';
	return u;
}

/* ---- the date-time ---------------------------------------------------------- */

/* The shape of RFC 5322 3.3 date-time with the obsolete zones of 4.3, as
 * mapper_parse_time() checks it (GMime reads "1 2 3" as a date), plus what
 * deployed MTAs write in Received fields and Python's email.utils reads
 * too: no comma after the day name, a zone name after the numeric zone
 * ("+0000 GMT", Yahoo's relays). */
#define RECEIVED_DATE \
	"^([a-z]{3},?\\s*)?[0-9]{1,2}\\s+[a-z]{3}\\s+[0-9]{2,4}\\s+" \
	"[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?\\s+([+-][0-9]{4}(\\s+[a-z]{1,5})?|[a-z]{1,5})" \
	"\\s*(\\(.*\\))?$"
/* No date-time is longer (a day, a time, a zone and a zone comment): a
 * longer text is not tried, so that a hostile one costs nothing. */
#define DATE_MAX 256

static GRegex *date_shape(void)
{
	static gsize once;
	static GRegex *re;
	if (g_once_init_enter(&once)) {
		re = g_regex_new(RECEIVED_DATE, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	return re;
}

/* The date-time after the ';' at @semi of the value @v (@len bytes). */
static bool read_date(const char *v, size_t len, gssize semi, int64_t *out)
{
	if (semi < 0)
		return false;
	char *text = one_line(v + semi + 1, len - (size_t)semi - 1);
	GDateTime *dt = NULL;
	if (*text && strlen(text) <= DATE_MAX && g_regex_match(date_shape(), text, 0, NULL))
		dt = g_mime_utils_header_decode_date(text);
	g_free(text);
	if (!dt)
		return false;
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

/* ---- the clauses (RFC 5321 4.4) --------------------------------------------- */

static int keyword(const char *w, size_t len)
{
	for (int i = 0; i < C_COUNT; i++)
		if (strlen(clause_names[i]) == len && g_ascii_strncasecmp(w, clause_names[i], len) == 0)
			return i;
	return -1;
}

static void add_note(GString *notes, const char *text)
{
	if (notes->len)
		g_string_append(notes, "; ");
	g_string_append(notes, text);
}

/* Notes on a stamp's tokens, in the order of the file comment. */
static void clause_notes(GString *notes, bool before, unsigned unclosed, unsigned empty,
                         unsigned repeated)
{
	if (before)
		add_note(notes, "words before the first clause are none of from, by, via, with, id, "
		                "for (RFC 5321 4.4)");
	if (unclosed & (1u << T_COMMENT))
		add_note(notes, "a comment is not closed (RFC 5322 3.2.2)");
	if (unclosed & (1u << T_QUOTED))
		add_note(notes, "a quoted string is not closed (RFC 5322 3.2.4)");
	if (unclosed & (1u << T_ANGLE))
		add_note(notes, "an angle address is not closed (RFC 5322 3.4)");
	if (unclosed & (1u << T_LITERAL))
		add_note(notes, "a domain literal is not closed (RFC 5322 3.4.1)");
	for (int i = 0; i < C_COUNT; i++)
		if (empty & (1u << i))
			g_string_append_printf(notes, "%sclause '%s' has no value", notes->len ? "; " : "",
			                       clause_names[i]);
	for (int i = 0; i < C_COUNT; i++)
		if (repeated & (1u << i))
			g_string_append_printf(notes, "%sclause '%s' appears again; the first is kept",
			                       notes->len ? "; " : "", clause_names[i]);
}

/* The clauses of the stamp, @len bytes at @v (the text before the date's
 * ';'), into @clause (g_free()d strings, NULL where absent), and notes. */
static void read_clauses(const char *v, size_t len, char *clause[C_COUNT], GString *notes)
{
	lexer lx = { .s = v, .len = len };
	int cur = -1;                 /* the clause being read; C_COUNT: a repeated one */
	size_t from = 0, to = 0;      /* its value so far, [from, to) of @v */
	unsigned seen = 0, empty = 0, repeated = 0;
	bool before = false;
	for (;;) {
		size_t a = 0, b = 0;
		tkind k = next_token(&lx, &a, &b);
		int kw = k == T_WORD ? keyword(v + a, b - a) : -1;
		if (k != T_END && kw < 0) {
			if (cur < 0)
				before |= k != T_COMMENT;
			else if (from == to)
				from = a, to = b;
			else
				to = b;
			continue;
		}
		/* a keyword or the end closes the clause being read */
		if (cur >= 0 && cur < C_COUNT) {
			if (from == to)
				empty |= 1u << cur;
			else
				clause[cur] = one_line(v + from, to - from);
		}
		if (k == T_END)
			break;
		from = to = 0;
		if (seen & (1u << kw)) {
			repeated |= 1u << kw;
			cur = C_COUNT;
		} else {
			seen |= 1u << kw;
			cur = kw;
		}
	}
	clause_notes(notes, before, lx.unclosed, empty, repeated);
}

/* ---- the hops ---------------------------------------------------------------- */

/* The value of a hop's field (after "Received:"), and its length. */
static const char *hop_value(const received_hop *h, size_t *len)
{
	gsize n;
	const char *raw = g_bytes_get_data(h->raw, &n);
	const char *colon = memchr(raw, ':', n);
	size_t skip = colon ? (size_t)(colon - raw) + 1 : n;
	*len = n - skip;
	return raw + skip;
}

/* The date-time of hop @i, read once. */
static bool hop_time(mapper_message *m, guint i, int64_t *out)
{
	received_hop *h = &m->received[i];
	if (!h->dated) {
		size_t len;
		const char *v = hop_value(h, &len);
		h->dated = read_date(v, len, date_separator(v, len), &h->time) ? 1 : -1;
	}
	*out = h->time;
	return h->dated > 0;
}

/* The Received fields of @m's header block, as GMime's header list has
 * them, into m->received, the last field first. */
static void collect(mapper_message *m)
{
	mapper_prop *p = bag_get(&m->props, TAG_TRANSPORT_MESSAGE_HEADERS);
	if (!p || !p->str || !*p->str)
		return;
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(p->str, strlen(p->str));
	GMimeParser *parser = g_mime_parser_new_with_stream(mem);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	GPtrArray *fields = g_ptr_array_new();
	if (msg) {
		GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
		int n = g_mime_header_list_get_count(list);
		for (int i = 0; i < n; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
			if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Received") != 0)
				continue;
			/* the field as it stands: its name as written, ':', the raw value */
			const char *value = g_mime_header_get_raw_value(h);
			GString *raw = g_string_new(g_mime_header_get_raw_name(h));
			g_string_append_c(raw, ':');
			g_string_append(raw, value ? value : "");
			if (raw->str[raw->len - 1] != '\n')
				g_string_append_c(raw, '\n');
			g_ptr_array_add(fields, g_string_free_to_bytes(raw));
		}
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(mem);
	m->received_count = fields->len;
	m->received = fields->len ? g_new0(received_hop, fields->len) : NULL;
	for (guint i = 0; i < fields->len; i++)
		m->received[fields->len - 1 - i].raw = fields->pdata[i];
	g_ptr_array_free(fields, TRUE);
}

guint received_count(mapper_message *m)
{
	if (!m->received_done) {
		m->received_done = true;
		collect(m);
	}
	return m->received_count;
}

/* A file of directory @dir: @text (taken), then "\n". */
static void hop_file(smime_node *dir, const char *name, char *text)
{
	smime_node *n = g_new0(smime_node, 1);
	n->name = g_strdup(name);
	size_t len = strlen(text);
	text = g_realloc(text, len + 2);
	text[len] = '\n';
	text[len + 1] = '\0';
	n->data = g_bytes_new_take(text, len + 1);
	g_ptr_array_add(dir->children, n);
}

static int node_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp((*(smime_node *const *)a)->name, (*(smime_node *const *)b)->name);
}

/* received/@i/ of @m: raw, the clauses, date, delay (RFC 5321 4.4 has no
 * delay: it is this hop's date-time less the previous hop's), note. */
static smime_node *hop_dir(mapper_message *m, guint i)
{
	received_hop *h = &m->received[i];
	smime_node *dir = g_new0(smime_node, 1);
	dir->name = g_strdup_printf("%u", i);
	dir->children = g_ptr_array_new_with_free_func(smime_node_free);

	smime_node *raw = g_new0(smime_node, 1);
	raw->name = g_strdup("raw");
	raw->data = g_bytes_ref(h->raw);
	g_ptr_array_add(dir->children, raw);

	size_t len;
	const char *v = hop_value(h, &len);
	gssize semi = date_separator(v, len);
	GString *notes = g_string_new(NULL);
	int64_t t = 0, prev = 0;
	if (semi < 0)
		add_note(notes, "no ';' and date-time end the field (RFC 5322 3.6.7)");
	else if (!hop_time(m, i, &t))
		add_note(notes, "the date-time after the last ';' cannot be read (RFC 5322 3.3)");
	char *clause[C_COUNT] = { 0 };
	read_clauses(v, semi < 0 ? len : (size_t)semi, clause, notes);
	for (int c = 0; c < C_COUNT; c++)
		if (clause[c])
			hop_file(dir, clause_names[c], clause[c]);
	if (hop_time(m, i, &t)) {
		char buf[21];
		mapper_format_time(t, buf);
		hop_file(dir, "date", g_strdup(buf));
		if (i > 0 && hop_time(m, i - 1, &prev))
			hop_file(dir, "delay", g_strdup_printf("%" G_GINT64_FORMAT, t - prev));
	}
	if (notes->len)
		hop_file(dir, "note", g_string_free(notes, FALSE));
	else
		g_string_free(notes, TRUE);
	g_ptr_array_sort(dir->children, node_cmp);
	return dir;
}

smime_node *received_hop_dir(mapper_message *m, guint i)
{
	if (i >= received_count(m))
		return NULL;
	if (!m->received[i].dir)
		m->received[i].dir = hop_dir(m, i);
	return m->received[i].dir;
}
