/*
 * html.c - the plain text of an HTML body, for PidTagBody of a message
 * whose only text is HTML (MS-OXCMAIL 2.2.3.3.2: the store keeps the body
 * in every form; MS-OXBBODY 2.1.3) and for the text/plain alternative the
 * writer makes from HTML (MS-OXCMAIL 2.1.3.3.4).
 *
 * libxml2's HTML parser reads the document the way a browser does (entities,
 * unclosed tags, comments); this file only lays out the tree as text, close
 * to what `w3m -dump` prints: blocks on their own lines, paragraphs apart,
 * list items with "•" or their number, table cells of a row on one line,
 * white space collapsed except in <pre>, nothing of head, script, style.
 *
 * Hostile input: the parser's events are laid out as they come (SAX), with
 * no tree, so time and memory follow the size of the HTML, however deep.
 */
#include <string.h>

#include <libxml/HTMLparser.h>

#include "mapper-private.h"

typedef enum { K_INLINE, K_SKIP, K_LINE, K_PARA, K_BREAK, K_ITEM, K_CELL, K_PRE } kind;

/* What an element is to the layout; HTML 4 / HTML living standard names. */
static kind kind_of(const char *name)
{
	static const struct { const char *name; kind k; } t[] = {
		{ "head", K_SKIP }, { "script", K_SKIP }, { "style", K_SKIP }, { "title", K_SKIP },
		{ "template", K_SKIP }, { "object", K_SKIP }, { "iframe", K_SKIP },
		{ "p", K_PARA }, { "h1", K_PARA }, { "h2", K_PARA }, { "h3", K_PARA }, { "h4", K_PARA },
		{ "h5", K_PARA }, { "h6", K_PARA }, { "blockquote", K_PARA }, { "ul", K_PARA },
		{ "ol", K_PARA }, { "dl", K_PARA }, { "table", K_PARA }, { "pre", K_PRE },
		{ "xmp", K_PRE }, { "listing", K_PRE }, { "plaintext", K_PRE },
		{ "div", K_LINE }, { "tr", K_LINE }, { "hr", K_LINE }, { "dt", K_LINE },
		{ "dd", K_LINE }, { "address", K_LINE }, { "center", K_LINE }, { "section", K_LINE },
		{ "article", K_LINE }, { "aside", K_LINE }, { "header", K_LINE }, { "footer", K_LINE },
		{ "nav", K_LINE }, { "main", K_LINE }, { "figure", K_LINE }, { "figcaption", K_LINE },
		{ "form", K_LINE }, { "fieldset", K_LINE }, { "caption", K_LINE }, { "details", K_LINE },
		{ "summary", K_LINE }, { "body", K_LINE }, { "html", K_LINE },
		{ "br", K_BREAK }, { "li", K_ITEM }, { "td", K_CELL }, { "th", K_CELL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (g_ascii_strcasecmp(name, t[i].name) == 0)
			return t[i].k;
	return K_INLINE;
}

typedef struct {
	GString *out;
	const char *eol;
	size_t eol_len;
	int breaks;        /* line breaks owed before the next text (1 or 2) */
	bool space;        /* collapsed white space owed before the next text */
	int pre;           /* inside this many <pre> */
	unsigned skip;     /* inside this many elements not shown (head, script...) */
	size_t mark_end;   /* where the last list item's mark ends */
	GArray *lists;     /* per open list: -1 for <ul>, else the next number */
} layout;

static bool at_line_start(const layout *l)
{
	return l->out->len == 0 ||
	       (l->out->len >= l->eol_len &&
	        memcmp(l->out->str + l->out->len - l->eol_len, l->eol, l->eol_len) == 0);
}

/* Trailing line ends of the output, at most 2. */
static int trailing_breaks(const layout *l)
{
	int n = 0;
	size_t len = l->out->len;
	while (n < 2 && len >= l->eol_len && memcmp(l->out->str + len - l->eol_len, l->eol, l->eol_len) == 0) {
		n++;
		len -= l->eol_len;
	}
	return n;
}

static void owe_breaks(layout *l, int n)
{
	if (l->breaks < n)
		l->breaks = n;
}

/* Before text: the line breaks owed (none at the very start), then one
 * space if white space came between two words of a line. */
static void settle(layout *l)
{
	if (l->out->len && l->breaks) {
		for (int n = trailing_breaks(l); n < l->breaks; n++)
			g_string_append_len(l->out, l->eol, (gssize)l->eol_len);
		l->space = false;
	}
	l->breaks = 0;
	if (l->space && !at_line_start(l) && l->out->len != l->mark_end)
		g_string_append_c(l->out, ' ');
	l->space = false;
}

static void put_text(layout *l, const char *s, size_t len)
{
	const char *end = s + len;
	if (l->pre) {
		settle(l);
		for (const char *p = s; p < end; p++) {
			if (*p == '\r' && p + 1 < end && p[1] == '\n')
				continue;
			if (*p == '\n' || *p == '\r')
				g_string_append_len(l->out, l->eol, (gssize)l->eol_len);
			else
				g_string_append_c(l->out, *p);
		}
		return;
	}
	for (const char *p = s; p < end;) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f') {
			l->space = true;
			p++;
			continue;
		}
		/* a no-break space reads as a space, but is not collapsed */
		bool nbsp = p + 1 < end && (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0;
		settle(l);
		if (nbsp) {
			g_string_append_c(l->out, ' ');
			p += 2;
		} else {
			g_string_append_c(l->out, *p);
			p++;
		}
	}
}

static void enter(layout *l, const char *name, const xmlChar **attrs)
{
	kind k = kind_of(name);
	if (l->skip || k == K_SKIP) {
		l->skip++;
		return;
	}
	switch (k) {
	case K_PARA:
		owe_breaks(l, 2);
		if (g_ascii_strcasecmp(name, "ul") == 0 || g_ascii_strcasecmp(name, "ol") == 0) {
			int next = -1;
			if (name[0] == 'o' || name[0] == 'O') {
				next = 1;
				for (size_t i = 0; attrs && attrs[i]; i += 2)
					if (g_ascii_strcasecmp((const char *)attrs[i], "start") == 0 && attrs[i + 1])
						next = (int)CLAMP(g_ascii_strtoll((const char *)attrs[i + 1], NULL, 10),
						                  0, 1000000);
			}
			/* a list inside an item is a line of it, not a paragraph */
			if (l->lists->len)
				l->breaks = 1;
			g_array_append_val(l->lists, next);
		}
		break;
	case K_PRE:
		owe_breaks(l, 2);
		l->pre++;
		break;
	case K_LINE:
		owe_breaks(l, 1);
		break;
	case K_BREAK:
		settle(l);
		g_string_append_len(l->out, l->eol, (gssize)l->eol_len);
		break;
	case K_ITEM: {
		owe_breaks(l, 1);
		int *next = l->lists->len ? &g_array_index(l->lists, int, l->lists->len - 1) : NULL;
		char mark[24];
		if (next && *next >= 0)
			g_snprintf(mark, sizeof mark, "%d. ", (*next)++);
		else
			g_strlcpy(mark, "\u2022 ", sizeof mark);
		settle(l);
		g_string_append(l->out, mark);
		l->mark_end = l->out->len;
		break;
	}
	case K_CELL:
		l->space = true;
		break;
	default:
		break;
	}
}

static void leave(layout *l, const char *name)
{
	if (l->skip) {
		l->skip--;
		return;
	}
	switch (kind_of(name)) {
	case K_PARA:
		if ((g_ascii_strcasecmp(name, "ul") == 0 || g_ascii_strcasecmp(name, "ol") == 0) &&
		    l->lists->len) {
			g_array_set_size(l->lists, l->lists->len - 1);
			owe_breaks(l, l->lists->len ? 1 : 2);
			break;
		}
		owe_breaks(l, 2);
		break;
	case K_PRE:
		if (l->pre)
			l->pre--;
		owe_breaks(l, 2);
		break;
	case K_LINE:
	case K_ITEM:
		owe_breaks(l, 1);
		break;
	case K_CELL:
		l->space = true;
		break;
	default:
		break;
	}
}

/* libxml2's SAX events: the parser pairs every start with an end, closing
 * what the HTML left open, and sends text with its entities decoded.  No
 * tree is built, so no depth limit of the tree builder drops text (a
 * tree stops at 256 levels) and memory stays that of the text. */
static void on_start(void *ctx, const xmlChar *name, const xmlChar **attrs)
{
	enter(ctx, (const char *)name, attrs);
}

static void on_end(void *ctx, const xmlChar *name)
{
	leave(ctx, (const char *)name);
}

static void on_text(void *ctx, const xmlChar *text, int len)
{
	layout *l = ctx;
	if (!l->skip && len > 0)
		put_text(l, (const char *)text, (size_t)len);
}

/* The HTML as UTF-8: from @charset (the part's), else as it is when it is
 * UTF-8, else as windows-1252, the usual undeclared 8-bit charset. */
static char *html_utf8(const char *html, size_t len, const char *charset)
{
	char *u = NULL;
	if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0)
		u = g_convert(html, (gssize)len, "UTF-8", charset, NULL, NULL, NULL);
	if (!u && !g_utf8_validate(html, (gssize)len, NULL))
		u = g_convert(html, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
	if (!u)
		u = g_utf8_make_valid(html, (gssize)len);
	return u;
}

char *html_to_text(const char *html, size_t len, const char *charset, bool crlf)
{
	char *utf8 = html_utf8(html ? html : "", html ? len : 0, charset);
	layout l = {
		.out = g_string_new(NULL),
		.eol = crlf ? "\r\n" : "\n",
		.eol_len = crlf ? 2 : 1,
		.lists = g_array_new(FALSE, FALSE, sizeof(int)),
	};
	size_t n = strlen(utf8);
	htmlSAXHandler sax = {
		.startElement = on_start,
		.endElement = on_end,
		.characters = on_text,
		.ignorableWhitespace = on_text,
		.cdataBlock = on_text,
	};
	htmlParserCtxtPtr ctxt = n ? htmlCreatePushParserCtxt(&sax, &l, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8)
	                           : NULL;
	if (ctxt) {
		/* the bytes are UTF-8 now: a <meta charset> must not change that */
		htmlCtxtUseOptions(ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
		                         HTML_PARSE_NONET | HTML_PARSE_IGNORE_ENC);
		/* the last chunk goes with terminate set: libxml2 2.9 holds back
		 * text it has not seen the end of, and an empty last call loses it */
		for (size_t off = 0; off < n;) {
			size_t chunk = MIN(n - off, (size_t)1 << 20);
			htmlParseChunk(ctxt, utf8 + off, (int)chunk, off + chunk == n);
			off += chunk;
		}
		htmlFreeParserCtxt(ctxt);
	}
	g_free(utf8);
	g_array_free(l.lists, TRUE);
	if (l.out->len && !at_line_start(&l))
		g_string_append_len(l.out, l.eol, (gssize)l.eol_len);
	return g_string_free(l.out, FALSE);
}

/* libxml2's global state, set up before threads use the parser. */
void html_global_init(void)
{
	xmlInitParser();
}

void html_global_shutdown(void)
{
	xmlCleanupParser();
}
