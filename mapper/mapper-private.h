/*
 * mapper-private.h - the message object model shared by the mapper's modules.
 *
 * A message object is a property bag plus a recipient table and an attachment
 * table; an attachment is a property bag plus, for attach method 5, an
 * embedded message object.  Every value is held typed (not as file text) so
 * that the writer of a later issue can rebuild Internet format from it;
 * value.c renders the file text on demand and caches it in the property.
 */
#ifndef MAPPER_PRIVATE_H
#define MAPPER_PRIVATE_H

#include <glib.h>
#include "mapper.h"

/* ---- property types (MS-OXCDATA 2.11.1) -------------------------------- */

#define PT_SHORT    0x0002u
#define PT_LONG     0x0003u
#define PT_BOOLEAN  0x000Bu
#define PT_OBJECT   0x000Du
#define PT_I8       0x0014u
#define PT_UNICODE  0x001Fu
#define PT_SYSTIME  0x0040u
#define PT_CLSID    0x0048u
#define PT_BINARY   0x0102u
#define PT_MV_UNICODE 0x101Fu

#define PROP_TAG(id, type) ((((uint32_t)(id)) << 16) | (uint32_t)(type))
#define PROP_ID(tag) ((uint32_t)(tag) >> 16)
#define PROP_TYPE(tag) ((uint32_t)(tag) & 0xFFFFu)

/* ---- property sets for named properties (oxcmail-mapping.md 0.2) ------- */

typedef struct mapper_propset {
	const char *name;   /* directory name, e.g. "PS_INTERNET_HEADERS" */
	const char *guid;   /* "{00020386-0000-0000-C000-000000000046}" */
} mapper_propset;

extern const mapper_propset mapper_ps_internet_headers;
extern const mapper_propset mapper_ps_public_strings;
extern const mapper_propset mapper_psetid_common;

/* The property set whose directory name is @name, or NULL. */
const mapper_propset *mapper_propset_by_name(const char *name);

/* ---- properties --------------------------------------------------------- */

typedef struct mapper_prop {
	uint32_t tag;                /* id << 16 | type; named: assigned id 0x8000+ */
	const mapper_propset *set;   /* NULL for a tagged property */
	char *name;                  /* named by string; NULL if by @lid */
	uint32_t lid;                /* named by number (when name == NULL) */
	union {
		int64_t i;           /* PT_LONG, PT_I8, PT_SHORT */
		gboolean b;          /* PT_BOOLEAN */
		int64_t t;           /* PT_SYSTIME, as Unix seconds */
	} v;
	char *str;                   /* PT_UNICODE: UTF-8, no NUL inside */
	GBytes *bin;                 /* PT_BINARY, PT_CLSID (16 bytes) */
	char **mv;                   /* PT_MV_UNICODE: NULL-terminated */
	GBytes *rendered;            /* cache of value_render() */
	struct mapper_bag *bag;      /* the bag holding it, or NULL */
	guint pos;                   /* its slot in bag->props */
} mapper_prop;

/*
 * A property bag: the properties in the order they were set (setting a key
 * again moves it to the end, as the reader's "last field wins" rules rely
 * on) plus an index, so that a lookup does not depend on how many
 * properties a message has (issue 9: 100,000 header fields).
 *
 * Invariants:
 *  - At most one property per key.  The key is the tag for a tagged
 *    property, (set, name) compared case-insensitively for a named one
 *    (RFC 5322 1.2.2: header names), (set, lid) for one named by number.
 *  - @props may hold NULL holes where a property was removed, so that a
 *    removal is O(1); skip them when iterating.  Holes are squeezed out when
 *    they are half the array.
 *  - Change a bag through the bag_* functions below: they keep @props,
 *    @index and @sets in step.  A g_ptr_array_remove() on @props is
 *    tolerated (the free function unindexes the property).
 *  - A bag does not move in memory while it holds properties: they point
 *    back to it.
 */
typedef struct mapper_bag {
	GPtrArray *props;            /* of mapper_prop* (or NULL holes), owned */
	guint holes;                 /* NULL entries in @props */
	/* made once the bag outgrows a linear scan (object.c BAG_INDEX_MIN) */
	GHashTable *index;           /* mapper_prop* keyed by its key -> itself */
	GHashTable *sets;            /* mapper_propset* -> count of its properties */
} mapper_bag;

void bag_init(mapper_bag *bag);
void mapper_prop_free(gpointer prop);
void bag_release(mapper_bag *bag);

/* Lookup by tag (type must match) or by (set, name) case-insensitively. */
mapper_prop *bag_get(const mapper_bag *bag, uint32_t tag);
mapper_prop *bag_get_named(const mapper_bag *bag, const mapper_propset *set,
                           const char *name);
mapper_prop *bag_get_lid(const mapper_bag *bag, const mapper_propset *set, uint32_t lid);
/* Whether the bag holds a property of @set. */
bool bag_has_set(const mapper_bag *bag, const mapper_propset *set);
void bag_remove(mapper_bag *bag, uint32_t tag);

/* Append @prop (taken), first removing and freeing the property of the
 * same key if there is one. */
void bag_add(mapper_bag *bag, mapper_prop *prop);
/* Put @prop (taken; the same key as @old) in @old's place, freeing @old. */
void bag_replace(mapper_bag *bag, mapper_prop *old, mapper_prop *prop);
/* Remove @prop, which is in @bag, and free it. */
void bag_remove_prop(mapper_bag *bag, mapper_prop *prop);

/* Setters replace an existing value of the same tag or name. Strings are copied. */
void bag_set_string(mapper_bag *bag, uint32_t tag, const char *utf8);
void bag_set_int(mapper_bag *bag, uint32_t tag, int64_t value);
void bag_set_bool(mapper_bag *bag, uint32_t tag, gboolean value);
void bag_set_time(mapper_bag *bag, uint32_t tag, int64_t unix_seconds);
void bag_set_binary(mapper_bag *bag, uint32_t tag, const void *data, size_t len);
void bag_set_binary_take(mapper_bag *bag, uint32_t tag, GBytes *bytes);
void bag_set_strv(mapper_bag *bag, uint32_t tag, char **values_taken);
mapper_prop *bag_set_named_string(mapper_bag *bag, const mapper_propset *set,
                                  const char *name, const char *utf8);
mapper_prop *bag_set_named_lid(mapper_bag *bag, const mapper_propset *set,
                               uint32_t lid, uint32_t type);

/* Give named properties ids 0x8000+ in (set, name) order, as a store would. */
void bag_number_named(mapper_bag *bag);
/* The file name of named property @p in its set's directory: p->name
 * (borrowed from @p), or its lid as "0xNNNN" written into @buf. */
const char *prop_named_file_name(const mapper_prop *p, char buf[static 12]);

/* ---- objects ------------------------------------------------------------- */

typedef struct mapper_attachment {
	mapper_bag props;
	struct mapper_message *embedded; /* attach method 5, else NULL */
	/* 1 + the attachment's number in MIME order in the bytes the message
	 * was loaded from; 0 for an attachment added since (a zero-filled new
	 * one).  The writer finds the attachment's MIME part by it, so edits
	 * keep it when they change or renumber attachments. */
	int origin;
} mapper_attachment;

typedef enum {
	SMIME_NONE,
	SMIME_CLEAR_SIGNED,  /* multipart/signed, MS-OXOSMIME 2.2.1 */
	SMIME_OPAQUE,        /* opaque-signed or encrypted, MS-OXOSMIME 2.2.2 */
} smime_kind;

/* A computed directory or file outside the property model: the smime/ tree
 * of design.md 5.  Exactly one of @data (a file), @children (a directory,
 * of smime_node*, sorted by name) and @msg (a nested message object, owned)
 * is set. */
typedef struct smime_node {
	char *name;
	GBytes *data;
	GPtrArray *children;
	struct mapper_message *msg;
} smime_node;

void smime_node_free(gpointer node);
smime_node *smime_node_child(const smime_node *dir, const char *name);

struct mapper_message {
	mapper_bag props;
	smime_kind smime;
	mapper_crypto *crypto;       /* borrowed; NULL = no keys, no anchors */
	smime_node *smime_dir;       /* smime/, computed on first access */
	bool smime_done;
	char *smime_sender;          /* unwrapped content: the outer message's sender */
	bool unwrapped;              /* smime/content of another message, not an attachment */
	int seal;                    /* PR_SECURITY_FLAGS to apply on export (0 = none) */
	int64_t pending_flags;       /* PidTagMessageFlags before mfHasAttach */
	GPtrArray *recipients;       /* of mapper_bag*, owned */
	GPtrArray *attachments;      /* of mapper_attachment*, owned */
	GBytes *raw;                 /* embedded messages: their bytes; top: NULL */
	char *warning;
	mapper_load_level level;
	int depth;                   /* nesting depth, 0 for the top message */
};

mapper_message *message_new(int depth);
/* An attachment with an empty property bag. */
mapper_attachment *attachment_new(void);
/* Return @st, setting *@why (when not NULL) to the formatted reason, which
 * callers of the public API free with free(). */
mapper_status mapper_fail(char **why, mapper_status st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Record the first warning only; later ones are dropped. printf-style. */
void message_warn(mapper_message *m, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Parse the name of row N of recipients/ or attachments/: decimal, no sign,
 * no leading zero, at most @max_digits digits.  The range is the caller's. */
bool row_number(const char *s, size_t max_digits, guint *out);

/* ---- modules ----------------------------------------------------------- */

/* edit.c: is @data a well-formed replacement for the single attachment of
 * S/MIME message @m, of the same kind (design.md 4)? */
mapper_status smime_entity_check(mapper_message *m, GBytes *data, char **why);

/* smime.c: smime/ of @m (computing it on first use); NULL unless @m is an
 * S/MIME message loaded fully. */
smime_node *smime_dir(mapper_message *m);
/* Load the OpenSSL providers (default and legacy) once; unload them. */
void smime_global_init(void);
void smime_global_shutdown(void);
/* PR_SECURITY_FLAGS written on @m: check that sealing can be done now
 * (identity, recipient certificates) and record it for export. */
mapper_status smime_seal_request(mapper_message *m, int64_t flags, char **why);
/* Seal the exported message @in as m->seal asks (MS-OXOSMIME 3.1.5.2.4 form). */
mapper_status smime_seal(mapper_message *m, const char *in, size_t in_len,
                         char **out, size_t *out_len, char **why);
/* The property PR_SECURITY_FLAGS (0x6E010003), written to seal a message. */
#define TAG_SECURITY_FLAGS PROP_TAG(0x6E01, PT_LONG)

/* props.c: canonical names. flags say how the value is shown. */
#define PROPDEF_MULTILINE 0x1        /* PtypString shown exactly, no added "\n" */
typedef struct mapper_propdef {
	uint32_t tag;
	const char *name;
	unsigned flags;
} mapper_propdef;
const mapper_propdef *propdef_by_tag(uint32_t tag);
const mapper_propdef *propdef_by_name(const char *name);

/* value.c: the file text of a property (design.md section 3), cached. */
GBytes *value_render(mapper_prop *prop);

/* import.c */
void import_message(mapper_message *m, const char *data, size_t len,
                    const mapper_source *source, mapper_load_level level);

/* The reader's view of a message's MIME tree, for the writer: which part
 * became the body and which the attachments.  GMime objects are held as
 * references; import_layout_clear() drops them. */
typedef struct import_layout {
	struct _GMimeMessage *msg;   /* the parsed message, NULL if none */
	struct _GMimeObject *body;   /* the leaf that gave the body, or NULL */
	GPtrArray *parts;            /* GMimeObject* of attachment i (not S/MIME) */
	size_t skip;                 /* bytes before the first header field */
	size_t headers_end;          /* end of the header block, from data + skip */
	bool crlf;                   /* the header block ends its lines in CRLF */
} import_layout;
/* import_message() at MAPPER_LOAD_FULL with no source, keeping the layout. */
void import_message_layout(mapper_message *m, const char *data, size_t len,
                           import_layout *layout);
void import_layout_clear(import_layout *layout);

/* text.c: the Internet code page of charset @charset (any case; NULL
 * gives 0), 0 if unknown; the charset name of @codepage, a static string,
 * NULL if unknown.  The first charset of a code page is the one named. */
int text_codepage_from_charset(const char *charset);
const char *text_codepage_charset(int64_t codepage);
/* Which of the @n NUL-terminated @needles occur in the NUL-terminated
 * @text, as strstr() would find them, in time linear in the text and the
 * needles: a new array of @n flags, freed with g_free(). */
gboolean *text_contains(const char *text, const char *const *needles, guint n);

/* address.c: one-off EntryIDs and search keys (oxcmail-mapping.md 1.5). */
GBytes *address_oneoff_entryid(const char *display_name, const char *smtp);
GBytes *address_search_key(const char *smtp);
GBytes *address_flatentrylist(GPtrArray *entryids);

/* Limit on MIME nesting (multiparts and embedded messages together); deeper
 * parts are not converted and a warning is recorded.  Like mblaze's walker. */
#define MAPPER_MAX_DEPTH 64

#endif /* MAPPER_PRIVATE_H */
