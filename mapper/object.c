/*
 * object.c - property bags, message objects, and the tree view of
 * design.md section 2 over them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "mapper-private.h"

/* ---- status and life-cycle ------------------------------------------- */

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
	}
	return "unknown status";
}

void mapper_init(void)
{
	g_mime_init();
	smime_global_init();
}

void mapper_shutdown(void)
{
	smime_global_shutdown();
	g_mime_shutdown();
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
static const char *named_file_name_in(const mapper_prop *p, char buf[static 12])
{
	if (p->name)
		return p->name;
	g_snprintf(buf, 12, "0x%04X", p->lid);
	return buf;
}

static char *named_file_name(const mapper_prop *p)
{
	char buf[12];
	return g_strdup(named_file_name_in(p, buf));
}

static int named_cmp(gconstpointer a, gconstpointer b)
{
	const mapper_prop *x = *(mapper_prop *const *)a, *y = *(mapper_prop *const *)b;
	int c = strcmp(x->set->name, y->set->name);
	if (c)
		return c;
	char bx[12], by[12];
	return strcmp(named_file_name_in(x, bx), named_file_name_in(y, by));
}

/* The named property of @set whose file name is exactly @name (what
 * named_file_name() gives), or NULL.  Names are indexed case-insensitively,
 * so the hit is checked; a name can also be a lid's "0xNNNN", and should
 * both exist the one set first wins, as a scan of the bag would find. */
static mapper_prop *bag_named_file(const mapper_bag *bag, const mapper_propset *set,
                                   const char *name)
{
	mapper_prop *by_name = bag_get_named(bag, set, name);
	if (by_name && strcmp(by_name->name, name) != 0)
		by_name = NULL;
	mapper_prop *by_lid = NULL;
	if (name[0] == '0' && name[1] == 'x' && g_ascii_isxdigit(name[2])) {
		char *end = NULL;
		guint64 lid = g_ascii_strtoull(name + 2, &end, 16);
		char buf[12];
		if (end && !*end && lid <= G_MAXUINT32 &&
		    strcmp(named_file_name_in(&(mapper_prop){ .lid = (uint32_t)lid }, buf), name) == 0)
			by_lid = bag_get_lid(bag, set, (uint32_t)lid);
	}
	if (by_name && by_lid)
		return by_name->pos < by_lid->pos ? by_name : by_lid;
	return by_name ? by_name : by_lid;
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
	g_free(m->warning);
	smime_node_free(m->smime_dir);
	g_free(m->smime_sender);
	g_free(m);
}

mapper_message *mapper_message_load(const void *data, size_t len,
                                    const mapper_source *source,
                                    mapper_load_level level)
{
	static const mapper_source none;
	mapper_message *m = message_new(0);
	m->level = level;
	import_message(m, data, len, source ? source : &none, level);
	return m;
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

/* Root entries that only a full load provides: body, attachment table and
 * everything that depends on it (mfHasAttach). */
static const char *const body_names[] = {
	"PidTagBody", "PidTagHtml", "PidTagRtfCompressed", "PidTagNativeBody",
	"PidTagInternetCodepage", "PidTagMessageFlags", "PidTagHasAttachments",
	"attachments", "smime",
};

bool mapper_name_needs_body(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(body_names); i++)
		if (strcmp(body_names[i], name) == 0)
			return true;
	return false;
}

/* ---- the tree view -------------------------------------------------------- */

/* What a path resolves to. */
typedef enum {
	R_MESSAGE,     /* message root: msg */
	R_SET,         /* named-property set directory: bag + set */
	R_RECIPIENTS,  /* recipients/: msg */
	R_ATTACHMENTS, /* attachments/: msg */
	R_ROW,         /* recipients/N or attachments/N: bag (+ att) */
	R_PROP,        /* a property file: prop */
	R_RAW,         /* message.eml of an embedded message: msg */
	R_VDIR,        /* a directory under smime/: v */
	R_VFILE,       /* a file under smime/: v */
} rkind;

typedef struct {
	rkind kind;
	mapper_message *msg;
	mapper_bag *bag;
	mapper_attachment *att;
	const mapper_propset *set;
	mapper_prop *prop;
	smime_node *v;
} resolved;

static const uint32_t TAG_ATTACH_DATA_OBJECT = PROP_TAG(0x3701, PT_OBJECT);

static char *prop_file_name(const mapper_prop *p)
{
	const char *n = mapper_tag_name(p->tag);
	return n ? g_strdup(n) : g_strdup_printf("0x%08X", p->tag);
}

/* The tagged property named @name in @bag: by its canonical name, or by its
 * tag when it has none (never both: "0x0037001F" is not PidTagSubject's alias). */
static mapper_prop *bag_find_file(mapper_bag *bag, const char *name)
{
	uint32_t tag = mapper_tag_from_name(name);
	if (!tag)
		return NULL;
	if (name[0] == '0') {
		char shown[11];
		g_snprintf(shown, sizeof shown, "0x%08X", tag);
		if (mapper_tag_name(tag) || strcmp(shown, name) != 0)
			return NULL;
	}
	return bag_get(bag, tag);
}

/* Parse a row number "N": decimal, no sign, no leading zeros. */
static bool row_index(const char *s, guint len, guint *out)
{
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 9)
		return false;
	for (const char *c = s; *c; c++)
		if (!g_ascii_isdigit(*c))
			return false;
	*out = (guint)atoi(s);
	return *out < len;
}

/* Step from a bag directory (message root or row) into child @name. */
static mapper_status step_bag(resolved *r, const char *name)
{
	mapper_prop *p = bag_find_file(r->bag, name);
	if (p) {
		r->kind = R_PROP;
		r->prop = p;
		return MAPPER_OK;
	}
	const mapper_propset *set = mapper_propset_by_name(name);
	/* the sets of writable named properties can be entered while still
	 * empty, so that a new header can be created in them (design.md 4);
	 * they are listed only when they hold something */
	bool writable_set = r->kind == R_MESSAGE && r->msg->depth == 0 && r->bag == &r->msg->props &&
	                    (set == &mapper_ps_internet_headers || set == &mapper_ps_public_strings);
	if (set && (bag_has_set(r->bag, set) || writable_set)) {
		r->kind = R_SET;
		r->set = set;
		return MAPPER_OK;
	}
	return MAPPER_NOT_FOUND;
}

static mapper_status step(resolved *r, const char *name)
{
	switch (r->kind) {
	case R_MESSAGE:
		if (strcmp(name, "recipients") == 0) {
			r->kind = R_RECIPIENTS;
			return MAPPER_OK;
		}
		if (strcmp(name, "attachments") == 0) {
			if (r->msg->level != MAPPER_LOAD_FULL)
				return MAPPER_INCOMPLETE;
			r->kind = R_ATTACHMENTS;
			return MAPPER_OK;
		}
		if (strcmp(name, "message.eml") == 0 && r->msg->raw) {
			r->kind = R_RAW;
			return MAPPER_OK;
		}
		if (strcmp(name, "smime") == 0 && r->msg->smime != SMIME_NONE) {
			if (r->msg->level != MAPPER_LOAD_FULL)
				return MAPPER_INCOMPLETE;
			r->v = smime_dir(r->msg);
			if (!r->v)
				return MAPPER_NOT_FOUND;
			r->kind = R_VDIR;
			return MAPPER_OK;
		}
		r->bag = &r->msg->props;
		{
			mapper_status st = step_bag(r, name);
			if (st == MAPPER_NOT_FOUND && r->msg->level != MAPPER_LOAD_FULL &&
			    mapper_name_needs_body(name))
				return MAPPER_INCOMPLETE;
			return st;
		}
	case R_RECIPIENTS: {
		guint i;
		if (!row_index(name, r->msg->recipients->len, &i))
			return MAPPER_NOT_FOUND;
		r->kind = R_ROW;
		r->bag = r->msg->recipients->pdata[i];
		r->att = NULL;
		return MAPPER_OK;
	}
	case R_ATTACHMENTS: {
		guint i;
		if (!row_index(name, r->msg->attachments->len, &i))
			return MAPPER_NOT_FOUND;
		r->kind = R_ROW;
		r->att = r->msg->attachments->pdata[i];
		r->bag = &r->att->props;
		return MAPPER_OK;
	}
	case R_ROW:
		if (r->att && r->att->embedded && strcmp(name, "PidTagAttachDataObject") == 0) {
			r->kind = R_MESSAGE;
			r->msg = r->att->embedded;
			r->att = NULL;
			return MAPPER_OK;
		}
		return step_bag(r, name);
	case R_SET: {
		mapper_prop *p = bag_named_file(r->bag, r->set, name);
		if (!p)
			return MAPPER_NOT_FOUND;
		r->kind = R_PROP;
		r->prop = p;
		return MAPPER_OK;
	}
	case R_VDIR: {
		smime_node *c = smime_node_child(r->v, name);
		if (!c)
			return MAPPER_NOT_FOUND;
		if (c->msg) {
			r->kind = R_MESSAGE;
			r->msg = c->msg;
			r->v = NULL;
		} else {
			r->kind = c->children ? R_VDIR : R_VFILE;
			r->v = c;
		}
		return MAPPER_OK;
	}
	case R_PROP:
	case R_RAW:
	case R_VFILE:
		return MAPPER_NOT_A_DIRECTORY;
	}
	return MAPPER_NOT_FOUND;
}

static mapper_status resolve(mapper_message *m, const char *path, resolved *r)
{
	memset(r, 0, sizeof *r);
	r->kind = R_MESSAGE;
	r->msg = m;
	if (!path || !*path)
		return MAPPER_OK;

	char **parts = g_strsplit(path, "/", -1);
	mapper_status st = MAPPER_OK;
	for (char **c = parts; *c && st == MAPPER_OK; c++) {
		if (!**c) {
			st = MAPPER_NOT_FOUND;
			break;
		}
		st = step(r, *c);
	}
	g_strfreev(parts);
	return st;
}

mapper_status mapper_message_stat(mapper_message *m, const char *path, mapper_node *node)
{
	resolved r;
	mapper_status st = resolve(m, path, &r);
	if (st != MAPPER_OK)
		return st;

	memset(node, 0, sizeof *node);
	switch (r.kind) {
	case R_PROP: {
		node->kind = MAPPER_NODE_FILE;
		node->size = g_bytes_get_size(value_render(r.prop));
		node->tag = r.prop->tag;
		node->type_name = mapper_type_name(r.prop->tag);
		node->set_guid = r.prop->set ? r.prop->set->guid : NULL;
		break;
	}
	case R_RAW:
		node->kind = MAPPER_NODE_FILE;
		node->size = g_bytes_get_size(r.msg->raw);
		break;
	case R_VFILE:
		node->kind = MAPPER_NODE_FILE;
		node->size = g_bytes_get_size(r.v->data);
		break;
	case R_MESSAGE:
		node->kind = MAPPER_NODE_DIR;
		node->is_message = true;
		if (r.msg->depth > 0 && !r.msg->unwrapped) {
			node->tag = TAG_ATTACH_DATA_OBJECT;
			node->type_name = mapper_type_name(TAG_ATTACH_DATA_OBJECT);
		}
		break;
	default:
		node->kind = MAPPER_NODE_DIR;
		break;
	}
	return MAPPER_OK;
}

static void add_bag_names(GPtrArray *out, mapper_bag *bag)
{
	/* one directory per set, however many properties it holds */
	GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (!p)
			continue;
		if (!p->set)
			g_ptr_array_add(out, prop_file_name(p));
		else if (g_hash_table_add(seen, (gpointer)p->set))
			g_ptr_array_add(out, g_strdup(p->set->name));
	}
	g_hash_table_unref(seen);
}

static int name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

mapper_status mapper_message_list(mapper_message *m, const char *path,
                                  char ***names, size_t *count)
{
	resolved r;
	mapper_status st = resolve(m, path, &r);
	if (st != MAPPER_OK)
		return st;

	GPtrArray *out = g_ptr_array_new();
	switch (r.kind) {
	case R_MESSAGE:
		if (r.msg->level != MAPPER_LOAD_FULL) {
			g_ptr_array_unref(out);
			return MAPPER_INCOMPLETE;
		}
		add_bag_names(out, &r.msg->props);
		g_ptr_array_add(out, g_strdup("recipients"));
		g_ptr_array_add(out, g_strdup("attachments"));
		if (r.msg->raw)
			g_ptr_array_add(out, g_strdup("message.eml"));
		if (smime_dir(r.msg))
			g_ptr_array_add(out, g_strdup("smime"));
		break;
	case R_VDIR:
		for (guint i = 0; i < r.v->children->len; i++)
			g_ptr_array_add(out, g_strdup(((smime_node *)r.v->children->pdata[i])->name));
		break;
	case R_ROW:
		add_bag_names(out, r.bag);
		if (r.att && r.att->embedded)
			g_ptr_array_add(out, g_strdup("PidTagAttachDataObject"));
		break;
	case R_SET:
		for (guint i = 0; i < r.bag->props->len; i++) {
			mapper_prop *p = r.bag->props->pdata[i];
			if (p && p->set == r.set)
				g_ptr_array_add(out, named_file_name(p));
		}
		break;
	case R_RECIPIENTS:
		for (guint i = 0; i < r.msg->recipients->len; i++)
			g_ptr_array_add(out, g_strdup_printf("%u", i));
		break;
	case R_ATTACHMENTS:
		for (guint i = 0; i < r.msg->attachments->len; i++)
			g_ptr_array_add(out, g_strdup_printf("%u", i));
		break;
	case R_PROP:
	case R_RAW:
	case R_VFILE:
		g_ptr_array_unref(out);
		return MAPPER_NOT_A_DIRECTORY;
	}
	g_ptr_array_sort(out, name_cmp);
	*count = out->len;
	g_ptr_array_add(out, NULL);
	*names = (char **)g_ptr_array_free(out, FALSE);
	return MAPPER_OK;
}

void mapper_names_free(char **names)
{
	g_strfreev(names);
}

mapper_status mapper_message_read(mapper_message *m, const char *path,
                                  const void **data, size_t *len)
{
	resolved r;
	mapper_status st = resolve(m, path, &r);
	if (st != MAPPER_OK)
		return st;
	GBytes *b;
	if (r.kind == R_PROP)
		b = value_render(r.prop);
	else if (r.kind == R_RAW)
		b = r.msg->raw;
	else if (r.kind == R_VFILE)
		b = r.v->data;
	else
		return MAPPER_IS_A_DIRECTORY;
	gsize n;
	*data = g_bytes_get_data(b, &n);
	*len = n;
	if (!*data)
		*data = "";
	return MAPPER_OK;
}
