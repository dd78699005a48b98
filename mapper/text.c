/*
 * text.c - text tables and searches the reader and the writer share, so
 * that neither calls the other: charset names <-> Internet code pages, and
 * many needles looked for in one text.
 */
#include <string.h>

#include "mapper-private.h"

/* ---- charsets and code pages --------------------------------------------- */

/* Internet code page numbers (oxcmail-mapping.md 0.3); the first charset of
 * a code page is the one the writer names. */
static const struct { const char *cs; int cp; } codepage_table[] = {
	{ "utf-8", 65001 }, { "utf-7", 65000 }, { "utf-16", 1200 }, { "utf-16le", 1200 },
	{ "us-ascii", 20127 }, { "ascii", 20127 }, { "iso-8859-1", 28591 },
	{ "iso-8859-2", 28592 }, { "iso-8859-3", 28593 }, { "iso-8859-4", 28594 },
	{ "iso-8859-5", 28595 }, { "iso-8859-6", 28596 }, { "iso-8859-7", 28597 },
	{ "iso-8859-8", 28598 }, { "iso-8859-9", 28599 }, { "iso-8859-13", 28603 },
	{ "iso-8859-15", 28605 }, { "windows-1250", 1250 }, { "windows-1251", 1251 },
	{ "windows-1252", 1252 }, { "windows-1253", 1253 }, { "windows-1254", 1254 },
	{ "windows-1255", 1255 }, { "windows-1256", 1256 }, { "windows-1257", 1257 },
	{ "windows-1258", 1258 }, { "koi8-r", 20866 }, { "koi8-u", 21866 },
	{ "iso-2022-jp", 50220 }, { "euc-jp", 51932 }, { "shift_jis", 932 },
	{ "gb2312", 936 }, { "gbk", 936 }, { "gb18030", 54936 }, { "big5", 950 },
	{ "euc-kr", 51949 }, { "ks_c_5601-1987", 949 },
};

int text_codepage_from_charset(const char *charset)
{
	if (!charset)
		return 0;
	for (size_t i = 0; i < G_N_ELEMENTS(codepage_table); i++)
		if (g_ascii_strcasecmp(charset, codepage_table[i].cs) == 0)
			return codepage_table[i].cp;
	return 0;
}

const char *text_codepage_charset(int64_t codepage)
{
	for (size_t i = 0; i < G_N_ELEMENTS(codepage_table); i++)
		if (codepage_table[i].cp == codepage)
			return codepage_table[i].cs;
	return NULL;
}

/* ---- many needles in one text ------------------------------------------ */

/* Aho-Corasick (CACM 18(6), 1975): every needle in one pass over the text.
 * A strstr() per needle is quadratic when an HTML body refers to each of
 * 100,000 inline parts (issue 9), and GLib has no multi-pattern search.
 * A state's edges are a sibling list of at most 256, so a step is O(1). */
typedef struct {
	guint32 child, sibling, fail; /* 0 is none: the root is nobody's child */
	guint8 byte;                  /* the byte on the edge from the parent */
	bool hit;                     /* the text ends a match here */
} ac_state;

static guint32 ac_next(const ac_state *st, guint32 s, guint8 byte)
{
	for (guint32 t = st[s].child; t; t = st[t].sibling)
		if (st[t].byte == byte)
			return t;
	return 0;
}

gboolean *text_contains(const char *text, const char *const *needles, guint n)
{
	GArray *states = g_array_new(FALSE, TRUE, sizeof(ac_state));
	g_array_set_size(states, 1);    /* the root */
	guint32 *end = g_new(guint32, n ? n : 1);
	for (guint i = 0; i < n; i++) {
		guint32 s = 0;
		for (const guint8 *p = (const guint8 *)needles[i]; *p; p++) {
			guint32 t = ac_next((ac_state *)(void *)states->data, s, *p);
			if (!t) {
				ac_state add = { .byte = *p };
				add.sibling = g_array_index(states, ac_state, s).child;
				t = states->len;
				g_array_append_val(states, add);
				g_array_index(states, ac_state, s).child = t;
			}
			s = t;
		}
		end[i] = s;
	}
	ac_state *st = (ac_state *)(void *)states->data;

	/* failure links, breadth first; @order keeps that order */
	guint32 *order = g_new(guint32, states->len);
	guint32 head = 0, tail = 0;
	for (guint32 t = st[0].child; t; t = st[t].sibling)
		order[tail++] = t;
	while (head < tail) {
		guint32 u = order[head++];
		for (guint32 v = st[u].child; v; v = st[v].sibling) {
			guint32 f = st[u].fail, to;
			while (!(to = ac_next(st, f, st[v].byte)) && f)
				f = st[f].fail;
			st[v].fail = to;
			order[tail++] = v;
		}
	}

	guint32 s = 0;
	for (const guint8 *p = (const guint8 *)text; *p; p++) {
		guint32 to;
		while (!(to = ac_next(st, s, *p)) && s)
			s = st[s].fail;
		s = to;
		st[s].hit = true;
	}
	st[0].hit = true;   /* strstr() finds "" in any text */
	/* a match ending at a state also ends at each state on its failure
	 * chain, which lies nearer the root: deepest first */
	for (guint32 i = tail; i-- > 0;)
		if (st[order[i]].hit)
			st[st[order[i]].fail].hit = true;

	gboolean *found = g_new0(gboolean, n ? n : 1);
	for (guint i = 0; i < n; i++)
		found[i] = st[end[i]].hit;
	g_free(order);
	g_free(end);
	g_array_unref(states);
	return found;
}
