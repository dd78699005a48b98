/*
 * tree.c - the public entry points on top of the mapper: library set-up,
 * loading a message, and the file tree of design.md section 2 over the
 * object (path resolution, stat, list, read).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmime/gmime.h>

#include "mapper-private.h"
#include "tags.h"

/* ---- life-cycle ---------------------------------------------------------- */

void mapper_init(void)
{
	g_mime_init();
	smime_global_init();
	html_global_init();
}

void mapper_shutdown(void)
{
	html_global_shutdown();
	smime_global_shutdown();
	g_mime_shutdown();
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

/* A header block longer than this is not looked for in pieces: such a
 * message is loaded from memory, as any message is. */
#define HEAD_MAX (1u << 20)

mapper_message *mapper_message_load_file(int fd, const mapper_source *source,
                                         size_t defer_min)
{
	static const mapper_source none;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	size_t file_len = (size_t)st.st_size;

	/* the header block, 16 KiB at a time until its empty line */
	size_t cap = MIN(file_len, (size_t)16384), n = 0, head = 0;
	char *buf = g_malloc(cap + 1);
	for (;;) {
		ssize_t r = file_read_at(fd, buf + n, cap - n, (int64_t)n);
		if (r < 0) {
			errno = (int)-r;
			g_free(buf);
			return NULL;
		}
		n += (size_t)r;
		head = import_header_block_len(buf, n);
		if (head < n || n < cap || cap >= HEAD_MAX || cap == file_len)
			break;
		cap = MIN(MIN(cap * 2, (size_t)HEAD_MAX), file_len);
		buf = g_realloc(buf, cap + 1);
	}
	mapper_message *m = NULL;
	if (head < n) {
		m = message_new(0);
		m->level = MAPPER_LOAD_FULL;
		if (!import_message_file(m, buf, head, fd, file_len, source ? source : &none,
		                         defer_min)) {
			mapper_message_free(m);
			m = NULL;
		}
	}
	if (!m) {
		/* the whole file in memory, as mapper_message_load() takes it */
		buf = g_realloc(buf, file_len + 1);
		ssize_t r = file_read_at(fd, buf, file_len, 0);
		if (r < 0) {
			errno = (int)-r;
			g_free(buf);
			return NULL;
		}
		m = mapper_message_load(buf, (size_t)r, source, MAPPER_LOAD_FULL);
	}
	g_free(buf);
	return m;
}

bool mapper_message_has_deferred(const mapper_message *m)
{
	return m->has_deferred;
}

size_t mapper_header_block_length(const void *data, size_t len)
{
	return import_header_block_len(data, len);
}

mapper_status mapper_check_originator(const void *data, size_t len, char **why)
{
	size_t block = mapper_header_block_length(data, len);
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(data ? data : "", block);
	GMimeParser *parser = g_mime_parser_new_with_stream(mem);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	InternetAddressList *from = msg ? g_mime_message_get_from(msg) : NULL;
	bool found = from && internet_address_list_length(from) > 0;
	if (msg)
		g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(mem);
	if (found)
		return MAPPER_OK;
	return mapper_fail(why, MAPPER_INVALID,
	                   "the message would have no From: (RFC 5322 3.6.2); write "
	                   "PidTagSentRepresentingEmailAddress first");
}

/* Root entries that only a full load provides: body, attachment table and
 * everything that depends on it (mfHasAttach). */
static const char *const body_names[] = {
	"PidTagBody", "PidTagHtml", "PidTagRtfCompressed", "PidTagNativeBody",
	"PidTagInternetCodepage", "PidTagMessageFlags", "PidTagHasAttachments",
	"attachments", "smime", "PSETID_Appointment", "PSETID_Meeting", "body.rtf", "info",
};

bool mapper_name_needs_body(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(body_names); i++)
		if (strcmp(body_names[i], name) == 0)
			return true;
	return false;
}

bool mapper_message_needs_body(const mapper_message *m, const char *name)
{
	if (mapper_name_needs_body(name))
		return true;
	/* MS-OXCMAIL 2.2.3.7: a report's class and recipient rows are in its body */
	if (m->body_decides)
		return true;
	/* MS-OXCMAIL 2.1.3.2.26: a TNEF stream's properties win over the header's */
	if (m->tnef_expected)
		return true;
	/* MS-OXCMAIL 2.2.3.3.3: a meeting's class and organizer are in its
	 * text/calendar part, which may sit anywhere in a multipart body */
	return m->class_in_body &&
	       (strcmp(name, "PidTagMessageClass") == 0 || g_str_has_prefix(name, "PidTagSentRepresenting"));
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
	R_RAW,         /* message.eml of an embedded message, body.rtf: raw */
	R_VDIR,        /* a directory under smime/ or received/: v */
	R_VFILE,       /* a file under smime/ or received/: v */
	R_RECEIVED,    /* received/: msg (design.md 9) */
} rkind;

typedef struct {
	rkind kind;
	mapper_message *msg;
	mapper_bag *bag;
	mapper_attachment *att;
	const mapper_propset *set;
	mapper_prop *prop;
	smime_node *v;
	GBytes *raw;
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

/* Parse a row number "N": decimal, no sign, no leading zeros, at most 9
 * digits, below @len. */
static bool row_index(const char *s, guint len, guint *out)
{
	return row_number(s, 9, out) && *out < len;
}

/* The file name of a named property inside its set's directory. */
static char *named_file_name(const mapper_prop *p)
{
	char buf[12];
	return g_strdup(prop_named_file_name(p, buf));
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
		    strcmp(prop_named_file_name(&(mapper_prop){ .lid = (uint32_t)lid }, buf), name) == 0)
			by_lid = bag_get_lid(bag, set, (uint32_t)lid);
	}
	if (by_name && by_lid)
		return by_name->pos < by_lid->pos ? by_name : by_lid;
	return by_name ? by_name : by_lid;
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

/* ---- info: the message at a glance (issue 13) -------------------------------- */

static const char *bag_text(const mapper_bag *bag, uint32_t tag)
{
	mapper_prop *p = bag_get(bag, tag);
	return p && p->str ? p->str : NULL;
}

/* "Name <address>", the address alone, or the name alone. */
static void append_mailbox(GString *s, const char *name, const char *addr)
{
	if (name && addr && strcmp(name, addr) != 0)
		g_string_append_printf(s, "%s <%s>", name, addr);
	else
		g_string_append(s, addr ? addr : name ? name : "");
}

/* The recipients of type @type (1 To, 2 Cc, 3 Bcc), comma-separated. */
static void append_recipients(GString *s, const char *field, mapper_message *m, int64_t type)
{
	bool any = false;
	for (guint i = 0; i < m->recipients->len; i++) {
		mapper_bag *row = m->recipients->pdata[i];
		mapper_prop *t = bag_get(row, TAG_RECIPIENT_TYPE);
		if (!t || t->v.i != type)
			continue;
		const char *addr = bag_text(row, TAG_SMTP_ADDRESS);
		if (!addr)
			addr = bag_text(row, TAG_EMAIL_ADDRESS);
		g_string_append(s, any ? ", " : field);
		append_mailbox(s, bag_text(row, TAG_DISPLAY_NAME), addr);
		any = true;
	}
	if (any)
		g_string_append_c(s, '\n');
}

/* The summary file "info": one field a line, in the spirit of Plan 9
 * upas/fs's info, for `cat *\/info | grep` and `head *\/info`.  Made on
 * first read and kept (an edit drops it: edit.c). */
static GBytes *message_info(mapper_message *m)
{
	if (m->info)
		return m->info;
	GString *s = g_string_new(NULL);
	mapper_prop *when = bag_get(&m->props, TAG_CLIENT_SUBMIT_TIME);
	if (!when)
		when = bag_get(&m->props, TAG_MESSAGE_DELIVERY_TIME);
	if (when) {
		GBytes *v = value_render(when);
		gsize n;
		const char *d = g_bytes_get_data(v, &n);
		g_string_append(s, "Date: ");
		g_string_append_len(s, d, (gssize)n);
	}
	const char *from_addr = bag_text(&m->props, TAG_SENT_REPRESENTING_SMTP_ADDRESS);
	if (!from_addr)
		from_addr = bag_text(&m->props, TAG_SENT_REPRESENTING_EMAIL_ADDRESS);
	const char *from_name = bag_text(&m->props, TAG_SENT_REPRESENTING_NAME);
	if (from_addr || from_name) {
		g_string_append(s, "From: ");
		append_mailbox(s, from_name, from_addr);
		g_string_append_c(s, '\n');
	}
	append_recipients(s, "To: ", m, 1);
	append_recipients(s, "Cc: ", m, 2);
	append_recipients(s, "Bcc: ", m, 3);
	const char *subject = bag_text(&m->props, TAG_SUBJECT);
	g_string_append_printf(s, "Subject: %s\n", subject ? subject : "");
	g_string_append_printf(s, "Class: %s\n", mapper_message_class(m));
	bool any = false;
	for (guint i = 0; i < m->attachments->len; i++) {
		mapper_attachment *a = m->attachments->pdata[i];
		const char *name = bag_text(&a->props, TAG_ATTACH_LONG_FILENAME);
		if (!name)
			name = bag_text(&a->props, TAG_DISPLAY_NAME);
		g_string_append(s, any ? ", " : "Attachments: ");
		g_string_append(s, name ? name : "(no name)");
		any = true;
	}
	if (any)
		g_string_append_c(s, '\n');
	smime_node *dir = smime_dir(m);
	smime_node *status = dir ? smime_node_child(dir, "status") : NULL;
	if (status && status->data) {
		gsize n;
		const char *d = g_bytes_get_data(status->data, &n);
		g_string_append(s, "S/MIME: ");
		g_string_append_len(s, d, (gssize)n);
		if (!n || d[n - 1] != '\n')
			g_string_append_c(s, '\n');
	}
	m->info = g_string_free_to_bytes(s);
	return m->info;
}

/* Step from a message root into child @name. */
static mapper_status step_message(resolved *r, const char *name)
{
	/* a meeting's class and organizer are in its text/calendar part */
	if (r->msg->level != MAPPER_LOAD_FULL && !mapper_name_needs_body(name) &&
	    mapper_message_needs_body(r->msg, name))
		return MAPPER_INCOMPLETE;
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
		r->raw = r->msg->raw;
		return MAPPER_OK;
	}
	if (strcmp(name, "info") == 0 && r->msg->level == MAPPER_LOAD_FULL) {
		r->kind = R_RAW;
		r->raw = message_info(r->msg);
		return MAPPER_OK;
	}
	/* PidTagRtfCompressed decompressed (MS-OXRTFCP), read-only */
	if (strcmp(name, "body.rtf") == 0 && r->msg->rtf) {
		r->kind = R_RAW;
		r->raw = r->msg->rtf;
		return MAPPER_OK;
	}
	/* design.md 9: the Received path, from the header block alone, so
	 * a headers-only object has it too */
	if (strcmp(name, "received") == 0) {
		if (!received_count(r->msg))
			return MAPPER_NOT_FOUND;
		r->kind = R_RECEIVED;
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
	mapper_status st = step_bag(r, name);
	if (st == MAPPER_NOT_FOUND && r->msg->level != MAPPER_LOAD_FULL && mapper_name_needs_body(name))
		return MAPPER_INCOMPLETE;
	return st;
}

static mapper_status step(resolved *r, const char *name)
{
	switch (r->kind) {
	case R_MESSAGE:
		return step_message(r, name);
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
		if (!row_index(name, r->msg->attachments->len, &i)) {
			/* issue 13: the attachment's file name, an alias of its data */
			int a = attachment_by_alias(r->msg, name);
			if (a < 0)
				return MAPPER_NOT_FOUND;
			r->att = r->msg->attachments->pdata[a];
			r->bag = &r->att->props;
			r->prop = bag_get(r->bag, TAG_ATTACH_DATA_BINARY);
			r->kind = R_PROP;
			return MAPPER_OK;
		}
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
	case R_RECEIVED: {
		/* by number, not by a scan of the hops: a header may hold
		 * thousands of Received fields */
		guint i;
		if (!row_index(name, received_count(r->msg), &i))
			return MAPPER_NOT_FOUND;
		r->kind = R_VDIR;
		r->v = received_hop_dir(r->msg, i);
		return MAPPER_OK;
	}
	case R_VDIR: {
		smime_node *c = smime_node_child(r->v, name);
		if (!c)
			return MAPPER_NOT_FOUND;
		if (smime_node_message(c)) {
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
	if ((m->body_decides || m->tnef_expected) && m->level != MAPPER_LOAD_FULL)
		return MAPPER_INCOMPLETE;
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
		node->size = r.prop->deferred ? mapper_deferred_size(r.prop->deferred)
		                              : g_bytes_get_size(value_render(r.prop));
		node->tag = r.prop->tag;
		node->type_name = mapper_type_name(r.prop->tag);
		node->set_guid = r.prop->set ? r.prop->set->guid : NULL;
		break;
	}
	case R_RAW:
		node->kind = MAPPER_NODE_FILE;
		node->size = g_bytes_get_size(r.raw);
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
		if (r.msg->rtf)
			g_ptr_array_add(out, g_strdup("body.rtf"));
		g_ptr_array_add(out, g_strdup("info"));
		if (smime_dir(r.msg))
			g_ptr_array_add(out, g_strdup("smime"));
		if (received_count(r.msg))
			g_ptr_array_add(out, g_strdup("received"));
		break;
	case R_RECEIVED:
		for (guint i = 0; i < received_count(r.msg); i++)
			g_ptr_array_add(out, g_strdup_printf("%u", i));
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
		for (guint i = 0; i < r.msg->attachments->len; i++) {
			g_ptr_array_add(out, g_strdup_printf("%u", i));
			const char *alias = attachment_alias(r.msg, i);
			if (alias)
				g_ptr_array_add(out, g_strdup(alias));
		}
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

const char *mapper_message_attachment_name(mapper_message *m, const char *row)
{
	resolved r;
	if (resolve(m, row, &r) != MAPPER_OK || r.kind != R_ROW || !r.att)
		return NULL;
	for (guint i = 0; i < r.msg->attachments->len; i++)
		if (r.msg->attachments->pdata[i] == r.att)
			return attachment_alias(r.msg, i);
	return NULL;
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
	if (r.kind == R_PROP && r.prop->deferred)
		return MAPPER_DEFERRED;
	if (r.kind == R_PROP)
		b = value_render(r.prop);
	else if (r.kind == R_RAW)
		b = r.raw;
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

mapper_status mapper_message_deferred(mapper_message *m, const char *path, mapper_deferred **out)
{
	*out = NULL;
	resolved r;
	mapper_status st = resolve(m, path, &r);
	if (st != MAPPER_OK)
		return st;
	if (r.kind != R_PROP || !r.prop->deferred)
		return MAPPER_INVALID;
	*out = mapper_deferred_ref(r.prop->deferred);
	return MAPPER_OK;
}
