/*
 * model.c - the message object model of mapper-private.h: property bags,
 * messages, attachments and the smime/ nodes hanging off them, their
 * lifetime, and the status and warning helpers every module reports with.
 * Nothing here parses or writes Internet format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapper-private.h"
#include "tags.h"

/* ---- status -------------------------------------------------------------- */

const char *mapper_status_to_string(mapper_status status)
{
	switch (status) {
	case MAPPER_OK: return "success";
	case MAPPER_NOT_FOUND: return "no such property or path";
	case MAPPER_NOT_A_DIRECTORY: return "not a directory";
	case MAPPER_IS_A_DIRECTORY: return "is a directory";
	case MAPPER_INVALID: return "invalid value";
	case MAPPER_INCOMPLETE: return "needs the whole message";
	case MAPPER_NO_MEMORY: return "out of memory";
	case MAPPER_READ_ONLY: return "read-only property";
	case MAPPER_EXISTS: return "already exists";
	case MAPPER_DEFERRED: return "content is read from the message file";
	}
	return "unknown status";
}

/* ---- bags ---------------------------------------------------------------- */

static void bag_unindex(mapper_bag *bag, mapper_prop *p);

void mapper_prop_free(gpointer p)
{
	mapper_prop *prop = p;
	if (!prop)
		return; /* a hole of mapper_bag.props */
	/* removed from the array by g_ptr_array_remove(): out of the index too */
	if (prop->bag)
		bag_unindex(prop->bag, prop);
	g_free(prop->name);
	g_free(prop->str);
	if (prop->bin)
		g_bytes_unref(prop->bin);
	mapper_deferred_unref(prop->deferred);
	g_strfreev(prop->mv);
	if (prop->rendered)
		g_bytes_unref(prop->rendered);
	g_free(prop);
}

/* Below this many slots a bag is scanned: most bags (recipient rows,
 * attachments) stay that small, and a hash table each would cost more than
 * it saves. */
#define BAG_INDEX_MIN 32

/* The key of mapper-private.h's bag invariant.  GLib has no
 * case-insensitive string hash, hence the loop. */
static guint prop_key_hash(gconstpointer k)
{
	const mapper_prop *p = k;
	if (!p->set)
		return p->tag;
	guint h = g_direct_hash(p->set);
	if (!p->name)
		return h ^ (p->lid * 2654435761u);
	for (const char *c = p->name; *c; c++)
		h = h * 31 + (guint)g_ascii_tolower(*c);
	return h;
}

static gboolean prop_key_equal(gconstpointer a, gconstpointer b)
{
	const mapper_prop *x = a, *y = b;
	if (x->set != y->set)
		return FALSE;
	if (!x->set)
		return x->tag == y->tag;
	if (!x->name || !y->name)
		return !x->name && !y->name && x->lid == y->lid;
	/* header names are case-insensitive (RFC 5322 1.2.2) */
	return g_ascii_strcasecmp(x->name, y->name) == 0;
}

void bag_init(mapper_bag *bag)
{
	memset(bag, 0, sizeof *bag);
	bag->props = g_ptr_array_new_with_free_func(mapper_prop_free);
}

void bag_release(mapper_bag *bag)
{
	GHashTable *index = bag->index, *sets = bag->sets;
	/* the properties are freed without unindexing them one by one */
	bag->index = bag->sets = NULL;
	if (index)
		g_hash_table_unref(index);
	if (sets)
		g_hash_table_unref(sets);
	if (bag->props)
		g_ptr_array_unref(bag->props);
	memset(bag, 0, sizeof *bag);
}

static void sets_count(mapper_bag *bag, const mapper_propset *set, int delta)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(bag->sets, set)) + (guint)delta;
	if (n)
		g_hash_table_insert(bag->sets, (gpointer)set, GUINT_TO_POINTER(n));
	else
		g_hash_table_remove(bag->sets, set);
}

/* Index a bag that has grown past BAG_INDEX_MIN slots. */
static void bag_build_index(mapper_bag *bag)
{
	bag->index = g_hash_table_new(prop_key_hash, prop_key_equal);
	bag->sets = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (!p)
			continue;
		p->bag = bag;
		g_hash_table_add(bag->index, p);
		if (p->set)
			sets_count(bag, p->set, 1);
	}
}

/* The property with the key of @probe, or NULL. */
static mapper_prop *bag_find(const mapper_bag *bag, const mapper_prop *probe)
{
	if (bag->index)
		return g_hash_table_lookup(bag->index, probe);
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (p && prop_key_equal(p, probe))
			return p;
	}
	return NULL;
}

mapper_prop *bag_get(const mapper_bag *bag, uint32_t tag)
{
	mapper_prop probe = { .tag = tag };
	return bag_find(bag, &probe);
}

mapper_prop *bag_get_named(const mapper_bag *bag, const mapper_propset *set,
                           const char *name)
{
	mapper_prop probe = { .set = set, .name = (char *)name };
	return set && name ? bag_find(bag, &probe) : NULL;
}

mapper_prop *bag_get_lid(const mapper_bag *bag, const mapper_propset *set, uint32_t lid)
{
	mapper_prop probe = { .set = set, .lid = lid };
	return set ? bag_find(bag, &probe) : NULL;
}

bool bag_has_set(const mapper_bag *bag, const mapper_propset *set)
{
	if (bag->sets)
		return g_hash_table_contains(bag->sets, set);
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (p && p->set == set)
			return true;
	}
	return false;
}

/* Squeeze the holes out of @props, keeping the order. */
static void bag_compact(mapper_bag *bag)
{
	guint j = 0;
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (!p)
			continue;
		p->pos = j;
		bag->props->pdata[j++] = p;
	}
	/* the tail now repeats moved pointers: clear it before the free func sees it */
	for (guint i = j; i < bag->props->len; i++)
		bag->props->pdata[i] = NULL;
	g_ptr_array_set_size(bag->props, j);
	bag->holes = 0;
}

static void bag_unindex(mapper_bag *bag, mapper_prop *p)
{
	p->bag = NULL;
	if (!bag->index)
		return;
	g_hash_table_remove(bag->index, p);
	if (p->set)
		sets_count(bag, p->set, -1);
}

static void bag_index(mapper_bag *bag, mapper_prop *p)
{
	p->bag = bag;
	if (!bag->index)
		return;
	g_hash_table_add(bag->index, p);
	if (p->set)
		sets_count(bag, p->set, 1);
}

/* The slot of @p in @props.  A g_ptr_array_remove() by a caller (the unit
 * tests edit bags that way) moves the later properties: renumber then. */
static guint bag_slot(mapper_bag *bag, mapper_prop *p)
{
	if (p->pos >= bag->props->len || bag->props->pdata[p->pos] != p)
		bag_compact(bag);
	return p->pos;
}

void bag_remove_prop(mapper_bag *bag, mapper_prop *p)
{
	/* a hole rather than g_ptr_array_remove(), which moves every later
	 * property: a message re-setting one property per header field would
	 * be quadratic */
	bag->props->pdata[bag_slot(bag, p)] = NULL;
	bag->holes++;
	bag_unindex(bag, p);
	mapper_prop_free(p);
	if (bag->holes > BAG_INDEX_MIN / 2 && bag->holes > bag->props->len / 2)
		bag_compact(bag);
}

void bag_add(mapper_bag *bag, mapper_prop *p)
{
	mapper_prop *old = bag_find(bag, p);
	if (old)
		bag_remove_prop(bag, old);
	p->pos = bag->props->len;
	g_ptr_array_add(bag->props, p);
	if (!bag->index && bag->props->len >= BAG_INDEX_MIN)
		bag_build_index(bag);   /* indexes @p with the others */
	else
		bag_index(bag, p);
}

void bag_replace(mapper_bag *bag, mapper_prop *old, mapper_prop *p)
{
	p->pos = bag_slot(bag, old);
	bag->props->pdata[p->pos] = p;    /* no free func runs on assignment */
	bag_unindex(bag, old);
	bag_index(bag, p);
	mapper_prop_free(old);
}

void bag_remove(mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = bag_get(bag, tag);
	if (p)
		bag_remove_prop(bag, p);
}

/* A fresh (or cleared) tagged property slot for @tag. */
static mapper_prop *slot(mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = g_new0(mapper_prop, 1);
	p->tag = tag;
	bag_add(bag, p);
	return p;
}

/* Single-line strings may not hold line breaks (design.md 3); folded or
 * malformed input is flattened to spaces rather than shown broken. */
static char *clean_string(uint32_t tag, const char *utf8)
{
	const mapper_propdef *def = propdef_by_tag(tag);
	char *s = g_strdup(utf8 ? utf8 : "");
	if (!g_utf8_validate(s, -1, NULL)) {
		char *fixed = g_utf8_make_valid(s, -1);
		g_free(s);
		s = fixed;
	}
	if (!(def && (def->flags & PROPDEF_MULTILINE))) {
		for (char *c = s; *c; c++)
			if (*c == '\r' || *c == '\n')
				*c = ' ';
	}
	return s;
}

void bag_set_string(mapper_bag *bag, uint32_t tag, const char *utf8)
{
	char *s = clean_string(tag, utf8);
	slot(bag, tag)->str = s;
}

void bag_set_int(mapper_bag *bag, uint32_t tag, int64_t value)
{
	slot(bag, tag)->v.i = value;
}

void bag_set_bool(mapper_bag *bag, uint32_t tag, gboolean value)
{
	slot(bag, tag)->v.b = value ? TRUE : FALSE;
}

void bag_set_time(mapper_bag *bag, uint32_t tag, int64_t unix_seconds)
{
	slot(bag, tag)->v.t = unix_seconds;
}

void bag_set_binary(mapper_bag *bag, uint32_t tag, const void *data, size_t len)
{
	slot(bag, tag)->bin = g_bytes_new(data, len);
}

void bag_set_binary_take(mapper_bag *bag, uint32_t tag, GBytes *bytes)
{
	slot(bag, tag)->bin = bytes;
}

void bag_set_deferred(mapper_bag *bag, uint32_t tag, mapper_deferred *d)
{
	slot(bag, tag)->deferred = d;
}

void bag_set_strv(mapper_bag *bag, uint32_t tag, char **values_taken)
{
	for (char **s = values_taken; s && *s; s++) {
		char *c = clean_string(PROP_TAG(0, PT_UNICODE), *s);
		g_free(*s);
		*s = c;
	}
	slot(bag, tag)->mv = values_taken;
}

mapper_prop *bag_set_named_string(mapper_bag *bag, const mapper_propset *set,
                                  const char *name, const char *utf8)
{
	mapper_prop *p = g_new0(mapper_prop, 1);
	p->set = set;
	p->name = g_strdup(name);
	p->tag = PROP_TAG(0, PT_UNICODE);
	p->str = clean_string(p->tag, utf8);
	bag_add(bag, p);
	return p;
}

mapper_prop *bag_set_named_lid(mapper_bag *bag, const mapper_propset *set,
                               uint32_t lid, uint32_t type)
{
	mapper_prop *p = g_new0(mapper_prop, 1);
	p->set = set;
	p->lid = lid;
	p->tag = PROP_TAG(0, type);
	bag_add(bag, p);
	return p;
}

/* The file name of a named property inside its set's directory: its
 * name, or its lid written into @buf. */
const char *prop_named_file_name(const mapper_prop *p, char buf[static 12])
{
	if (p->name)
		return p->name;
	g_snprintf(buf, 12, "0x%04X", p->lid);
	return buf;
}

static int named_cmp(gconstpointer a, gconstpointer b)
{
	const mapper_prop *x = *(mapper_prop *const *)a, *y = *(mapper_prop *const *)b;
	int c = strcmp(x->set->name, y->set->name);
	if (c)
		return c;
	char bx[12], by[12];
	return strcmp(prop_named_file_name(x, bx), prop_named_file_name(y, by));
}

void bag_number_named(mapper_bag *bag)
{
	GPtrArray *named = g_ptr_array_new();
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (p && p->set)
			g_ptr_array_add(named, p);
	}
	g_ptr_array_sort(named, named_cmp);
	for (guint i = 0; i < named->len; i++) {
		mapper_prop *p = named->pdata[i];
		p->tag = PROP_TAG(0x8000 + i, PROP_TYPE(p->tag));
	}
	g_ptr_array_unref(named);
}

/* ---- messages ---------------------------------------------------------- */

static void bag_free(gpointer p)
{
	bag_release(p);
	g_free(p);
}

mapper_attachment *attachment_new(void)
{
	mapper_attachment *a = g_new0(mapper_attachment, 1);
	bag_init(&a->props);
	return a;
}

static void attachment_free(gpointer p)
{
	mapper_attachment *a = p;
	bag_release(&a->props);
	if (a->embedded)
		mapper_message_free(a->embedded);
	g_free(a);
}

mapper_bag *message_add_recipient(mapper_message *m, const char *name, const char *addr, int type)
{
	mapper_bag *row = g_new0(mapper_bag, 1);
	bag_init(row);
	bag_set_int(row, TAG_ROWID, m->recipients->len);
	bag_set_int(row, TAG_RECIPIENT_TYPE, type);
	g_ptr_array_add(m->recipients, row);
	if (!addr) {
		/* an empty group: the row mapper_message_mkdir() makes, plus the name */
		if (name) {
			bag_set_string(row, TAG_DISPLAY_NAME, name);
			bag_set_string(row, TAG_TRANSMITTABLE_DISPLAY_NAME, name);
		}
		return row;
	}
	name = name ? name : addr;
	GBytes *eid = address_oneoff_entryid(name, addr);
	bag_set_string(row, TAG_DISPLAY_NAME, name);
	bag_set_string(row, TAG_TRANSMITTABLE_DISPLAY_NAME, name);
	bag_set_string(row, TAG_ADDRESS_TYPE, "SMTP");
	bag_set_string(row, TAG_EMAIL_ADDRESS, addr);
	bag_set_string(row, TAG_SMTP_ADDRESS, addr);
	bag_set_binary_take(row, TAG_ENTRYID, g_bytes_ref(eid));
	bag_set_binary_take(row, TAG_RECIPIENT_ENTRYID, g_bytes_ref(eid));
	bag_set_binary_take(row, TAG_RECORD_KEY, eid);
	bag_set_binary_take(row, TAG_SEARCH_KEY, address_search_key(addr));
	bag_set_int(row, TAG_OBJECT_TYPE, 6);   /* MAPI_MAILUSER */
	bag_set_int(row, TAG_DISPLAY_TYPE, 0);  /* DT_MAILUSER */
	bag_set_bool(row, TAG_RESPONSIBILITY, TRUE);
	bag_set_int(row, TAG_RECIPIENT_FLAGS, 1); /* recipSendable */
	return row;
}

mapper_message *message_new(int depth)
{
	mapper_message *m = g_new0(mapper_message, 1);
	bag_init(&m->props);
	m->recipients = g_ptr_array_new_with_free_func(bag_free);
	m->attachments = g_ptr_array_new_with_free_func(attachment_free);
	m->depth = depth;
	return m;
}

mapper_status mapper_fail(char **why, mapper_status st, const char *fmt, ...)
{
	if (why) {
		va_list ap;
		va_start(ap, fmt);
		char *s = g_strdup_vprintf(fmt, ap);
		va_end(ap);
		*why = strdup(s);   /* callers free it with free() (mapper.h) */
		g_free(s);
	}
	return st;
}

void message_warn(mapper_message *m, const char *fmt, ...)
{
	if (m->warning)
		return;
	va_list ap;
	va_start(ap, fmt);
	m->warning = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}

void mapper_message_free(mapper_message *m)
{
	if (!m)
		return;
	bag_release(&m->props);
	g_ptr_array_unref(m->recipients);
	g_ptr_array_unref(m->attachments);
	if (m->raw)
		g_bytes_unref(m->raw);
	if (m->rtf)
		g_bytes_unref(m->rtf);
	if (m->info)
		g_bytes_unref(m->info);
	attachment_aliases_drop(m);
	message_received_drop(m);
	g_free(m->warning);
	smime_node_free(m->smime_dir);
	g_free(m->smime_sender);
	g_free(m);
}

/* ---- attachment file names (issue 13) ------------------------------------ */

/* NAME_MAX of Linux file systems. */
#define ALIAS_MAX 255
/* A longer "extension" is part of the name. */
#define ALIAS_EXT_MAX 16

/* The row directories' names: a name of digits only is kept for them. */
static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!g_ascii_isdigit(*s))
			return false;
	return true;
}

/* @name as one file name: the part after the last '/' or '\\', control
 * bytes as '_', spaces at the ends dropped, a leading '.' (hidden, ".",
 * "..") as '_', invalid UTF-8 as U+FFFD.  Not shortened.  Caller frees. */
static char *alias_clean(const char *name)
{
	const char *base = name;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == '\\')
			base = c + 1;
	char *s = g_utf8_make_valid(base, -1);
	for (char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '_';
	g_strstrip(s);
	if (s[0] == '.')
		s[0] = '_';
	return s;
}

/* @stem, @mid and @ext joined, @stem cut (at a character) to fit ALIAS_MAX. */
static char *alias_join(const char *stem, const char *mid, const char *ext)
{
	size_t room = ALIAS_MAX - strlen(mid) - strlen(ext), n = strlen(stem);
	if (n > room) {
		const char *end = g_utf8_find_prev_char(stem, stem + room + 1);
		n = end ? (size_t)(end - stem) : 0;
	}
	return g_strdup_printf("%.*s%s%s", (int)n, stem, mid, ext);
}

bool attachment_alias_usable(const char *name)
{
	char *clean = alias_clean(name);
	bool ok = *name && strcmp(clean, name) == 0 && strlen(name) <= ALIAS_MAX && !all_digits(name);
	g_free(clean);
	return ok;
}

static void make_aliases(mapper_message *m)
{
	if (m->aliases)
		return;
	m->aliases = g_ptr_array_new_full(m->attachments->len, g_free);
	m->alias_index = g_hash_table_new(g_str_hash, g_str_equal);
	/* clean name -> the next number to try, so that n attachments of one
	 * name cost n tries, not n * n */
	GHashTable *next = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < m->attachments->len; i++) {
		mapper_attachment *a = m->attachments->pdata[i];
		if (!bag_get(&a->props, TAG_ATTACH_DATA_BINARY)) {
			g_ptr_array_add(m->aliases, NULL);
			continue;
		}
		const char *name = NULL;
		const uint32_t tags[] = { TAG_ATTACH_LONG_FILENAME, TAG_ATTACH_FILENAME, TAG_DISPLAY_NAME };
		for (size_t k = 0; k < G_N_ELEMENTS(tags) && !name; k++) {
			mapper_prop *p = bag_get(&a->props, tags[k]);
			name = p && p->str && *p->str ? p->str : NULL;
		}
		char *clean = alias_clean(name ? name : "attachment");
		if (!*clean) {
			g_free(clean);
			clean = g_strdup("attachment");
		}
		const char *dot = strrchr(clean, '.');
		if (!dot || dot == clean || strlen(dot) > ALIAS_EXT_MAX)
			dot = clean + strlen(clean);
		char *stem = g_strndup(clean, (gsize)(dot - clean));
		guint k = GPOINTER_TO_UINT(g_hash_table_lookup(next, clean));
		char *alias = NULL;
		/* every try that fails meets a name already given, so the tries
		 * of all attachments together are bounded by twice their number */
		for (k = k ? k : 1;; k++) {
			char mid[16] = "";
			if (k > 1)
				g_snprintf(mid, sizeof mid, " (%u)", k);
			alias = alias_join(stem, mid, dot);
			if (!all_digits(alias) && !g_hash_table_contains(m->alias_index, alias))
				break;
			g_free(alias);
		}
		g_hash_table_replace(next, clean, GUINT_TO_POINTER(k + 1));
		g_hash_table_insert(m->alias_index, alias, GUINT_TO_POINTER(i + 1));
		g_ptr_array_add(m->aliases, alias);
		g_free(stem);
	}
	g_hash_table_unref(next);
}

const char *attachment_alias(mapper_message *m, guint i)
{
	make_aliases(m);
	return i < m->aliases->len ? m->aliases->pdata[i] : NULL;
}

int attachment_by_alias(mapper_message *m, const char *name)
{
	make_aliases(m);
	return (int)GPOINTER_TO_UINT(g_hash_table_lookup(m->alias_index, name)) - 1;
}

void attachment_aliases_drop(mapper_message *m)
{
	if (m->alias_index)
		g_hash_table_unref(m->alias_index);
	if (m->aliases)
		g_ptr_array_unref(m->aliases);
	m->alias_index = NULL;
	m->aliases = NULL;
}

/* ---- the Received path (received.c reads it) ------------------------------ */

void message_received_drop(mapper_message *m)
{
	for (guint i = 0; i < m->received_count; i++) {
		g_bytes_unref(m->received[i].raw);
		smime_node_free(m->received[i].dir);
	}
	g_free(m->received);
	m->received = NULL;
	m->received_count = 0;
	m->received_done = false;
}

/* ---- memory, roughly (mapper_message_footprint) ------------------------ */

/* What malloc adds to a block (glibc: the chunk header and rounding). */
#define BLOCK_OVERHEAD 16
/* A GHashTable entry: key, value and hash slots, with the table's slack. */
#define HASH_ENTRY 48

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 + BLOCK_OVERHEAD : 0;
}

static size_t gbytes_bytes(GBytes *b)
{
	/* GBytes: the struct and the data, usually two blocks */
	return b ? g_bytes_get_size(b) + 48 + 2 * BLOCK_OVERHEAD : 0;
}

static size_t bag_bytes(const mapper_bag *bag)
{
	size_t n = bag->props->len * sizeof(gpointer) + 64;
	if (bag->index)
		n += g_hash_table_size(bag->index) * HASH_ENTRY + 64;
	if (bag->sets)
		n += g_hash_table_size(bag->sets) * HASH_ENTRY + 64;
	for (guint i = 0; i < bag->props->len; i++) {
		const mapper_prop *p = bag->props->pdata[i];
		if (!p)
			continue;
		n += sizeof *p + BLOCK_OVERHEAD + str_bytes(p->name) + str_bytes(p->str) +
		     gbytes_bytes(p->bin) + (p->deferred ? deferred_footprint(p->deferred) : 0) +
		     (p->rendered != p->bin ? gbytes_bytes(p->rendered) : 0);
		for (char **v = p->mv; v && *v; v++)
			n += sizeof(char *) + str_bytes(*v);
	}
	return n;
}

static size_t message_bytes(const mapper_message *m, int depth);

static size_t smime_node_bytes(const smime_node *n, int depth)
{
	if (!n || depth > MAPPER_MAX_DEPTH)
		return 0;
	size_t b = sizeof *n + BLOCK_OVERHEAD + str_bytes(n->name) + gbytes_bytes(n->data) +
	           gbytes_bytes(n->pending) + str_bytes(n->sender);
	if (n->children) {
		b += n->children->len * sizeof(gpointer) + 64;
		for (guint i = 0; i < n->children->len; i++)
			b += smime_node_bytes(n->children->pdata[i], depth + 1);
	}
	if (n->msg)
		b += message_bytes(n->msg, depth + 1);
	return b;
}

static size_t received_bytes(const mapper_message *m, int depth)
{
	size_t n = m->received ? m->received_count * sizeof(received_hop) + BLOCK_OVERHEAD : 0;
	for (guint i = 0; i < m->received_count; i++)
		n += gbytes_bytes(m->received[i].raw) + smime_node_bytes(m->received[i].dir, depth);
	return n;
}

static size_t message_bytes(const mapper_message *m, int depth)
{
	if (!m || depth > MAPPER_MAX_DEPTH)
		return 0;
	size_t n = sizeof *m + BLOCK_OVERHEAD + bag_bytes(&m->props) + gbytes_bytes(m->raw) + gbytes_bytes(m->rtf) + gbytes_bytes(m->info) +
	           str_bytes(m->warning) + str_bytes(m->smime_sender) +
	           smime_node_bytes(m->smime_dir, depth + 1) + received_bytes(m, depth + 1);
	for (guint i = 0; i < m->recipients->len; i++)
		n += sizeof(mapper_bag) + BLOCK_OVERHEAD + bag_bytes(m->recipients->pdata[i]);
	for (guint i = 0; i < m->attachments->len; i++) {
		const mapper_attachment *a = m->attachments->pdata[i];
		n += sizeof *a + BLOCK_OVERHEAD + bag_bytes(&a->props) +
		     message_bytes(a->embedded, depth + 1);
	}
	return n;
}

size_t mapper_message_footprint(const mapper_message *m)
{
	return message_bytes(m, 0);
}

mapper_load_level mapper_message_level(const mapper_message *m)
{
	return m->level;
}

const char *mapper_message_warning(const mapper_message *m)
{
	return m->warning;
}

const char *mapper_message_class(const mapper_message *m)
{
	mapper_prop *p = bag_get(&m->props, PROP_TAG(0x001A, PT_UNICODE));
	return p && p->str ? p->str : "IPM.Note";
}

/* ---- smime/ nodes -------------------------------------------------------- */

void smime_node_free(gpointer p)
{
	smime_node *n = p;
	if (!n)
		return;
	g_free(n->name);
	if (n->data)
		g_bytes_unref(n->data);
	if (n->children)
		g_ptr_array_unref(n->children);
	if (n->msg)
		mapper_message_free(n->msg);
	if (n->pending)
		g_bytes_unref(n->pending);
	g_free(n->sender);
	g_free(n);
}

smime_node *smime_node_child(const smime_node *dir, const char *name)
{
	if (!dir->children)
		return NULL;
	for (guint i = 0; i < dir->children->len; i++) {
		smime_node *c = dir->children->pdata[i];
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* ---- row names ----------------------------------------------------------- */

bool row_number(const char *s, size_t max_digits, guint *out)
{
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > max_digits)
		return false;
	for (const char *c = s; *c; c++)
		if (!g_ascii_isdigit(*c))
			return false;
	*out = (guint)atoi(s);
	return true;
}
