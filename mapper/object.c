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

void mapper_prop_free(gpointer p)
{
	mapper_prop *prop = p;
	g_free(prop->name);
	g_free(prop->str);
	if (prop->bin)
		g_bytes_unref(prop->bin);
	g_strfreev(prop->mv);
	if (prop->rendered)
		g_bytes_unref(prop->rendered);
	g_free(prop);
}

void bag_init(mapper_bag *bag)
{
	bag->props = g_ptr_array_new_with_free_func(mapper_prop_free);
}

void bag_release(mapper_bag *bag)
{
	if (bag->props)
		g_ptr_array_unref(bag->props);
	bag->props = NULL;
}

mapper_prop *bag_get(const mapper_bag *bag, uint32_t tag)
{
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (!p->set && p->tag == tag)
			return p;
	}
	return NULL;
}

mapper_prop *bag_get_named(const mapper_bag *bag, const mapper_propset *set,
                           const char *name)
{
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		/* header names are case-insensitive (RFC 5322 1.2.2) */
		if (p->set == set && p->name && g_ascii_strcasecmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

mapper_prop *bag_get_lid(const mapper_bag *bag, const mapper_propset *set, uint32_t lid)
{
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (p->set == set && !p->name && p->lid == lid)
			return p;
	}
	return NULL;
}

void bag_remove(mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = bag_get(bag, tag);
	if (p)
		g_ptr_array_remove(bag->props, p);
}

/* A fresh (or cleared) tagged property slot for @tag. */
static mapper_prop *slot(mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = bag_get(bag, tag);
	if (p) {
		g_ptr_array_remove(bag->props, p);
	}
	p = g_new0(mapper_prop, 1);
	p->tag = tag;
	g_ptr_array_add(bag->props, p);
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
	mapper_prop *p = bag_get_named(bag, set, name);
	if (p) {
		g_ptr_array_remove(bag->props, p);
	}
	p = g_new0(mapper_prop, 1);
	p->set = set;
	p->name = g_strdup(name);
	p->tag = PROP_TAG(0, PT_UNICODE);
	p->str = clean_string(p->tag, utf8);
	g_ptr_array_add(bag->props, p);
	return p;
}

mapper_prop *bag_set_named_lid(mapper_bag *bag, const mapper_propset *set,
                               uint32_t lid, uint32_t type)
{
	mapper_prop *p = bag_get_lid(bag, set, lid);
	if (p)
		g_ptr_array_remove(bag->props, p);
	p = g_new0(mapper_prop, 1);
	p->set = set;
	p->lid = lid;
	p->tag = PROP_TAG(0, type);
	g_ptr_array_add(bag->props, p);
	return p;
}

/* The file name of a named property inside its set's directory. */
static char *named_file_name(const mapper_prop *p)
{
	return p->name ? g_strdup(p->name) : g_strdup_printf("0x%04X", p->lid);
}

static int named_cmp(gconstpointer a, gconstpointer b)
{
	const mapper_prop *x = *(mapper_prop *const *)a, *y = *(mapper_prop *const *)b;
	int c = strcmp(x->set->name, y->set->name);
	if (c)
		return c;
	char *nx = named_file_name(x), *ny = named_file_name(y);
	c = strcmp(nx, ny);
	g_free(nx);
	g_free(ny);
	return c;
}

void bag_number_named(mapper_bag *bag)
{
	GPtrArray *named = g_ptr_array_new();
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (p->set)
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

static bool bag_has_set(mapper_bag *bag, const mapper_propset *set)
{
	for (guint i = 0; i < bag->props->len; i++)
		if (((mapper_prop *)bag->props->pdata[i])->set == set)
			return true;
	return false;
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
	case R_SET:
		for (guint i = 0; i < r->bag->props->len; i++) {
			mapper_prop *p = r->bag->props->pdata[i];
			if (p->set != r->set)
				continue;
			char *n = named_file_name(p);
			int eq = strcmp(n, name) == 0;
			g_free(n);
			if (eq) {
				r->kind = R_PROP;
				r->prop = p;
				return MAPPER_OK;
			}
		}
		return MAPPER_NOT_FOUND;
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
	for (guint i = 0; i < bag->props->len; i++) {
		mapper_prop *p = bag->props->pdata[i];
		if (p->set) {
			bool dup = false;
			for (guint j = 0; j < out->len; j++)
				if (strcmp(out->pdata[j], p->set->name) == 0)
					dup = true;
			if (!dup)
				g_ptr_array_add(out, g_strdup(p->set->name));
		} else {
			g_ptr_array_add(out, prop_file_name(p));
		}
	}
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
			if (p->set == r.set)
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
