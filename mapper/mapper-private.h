/*
 * mapper-private.h - the message object model shared by the mapper's
 * modules, and what each module offers the ones above it.
 *
 * A message object is a property bag plus a recipient table and an
 * attachment table; an attachment is a property bag plus, for attach
 * method 5, an embedded message object.  Every value is held typed (not as
 * file text) so that the writer can rebuild Internet format from it;
 * value.c renders the file text on demand and caches it in the property.
 *
 * Layers.  A file calls only functions of the files below it, never one
 * above (tests: nm of the objects; see the report of issue 10):
 *
 *   tree.c     public entry points: init, load, the file tree (stat/list/read)
 *   edit.c     changing an object through its files (design.md 4)
 *   export.c   message object -> Internet format (the writer)
 *   smime.c    certificate services: verify, decrypt, the map, sealing
 *   import.c   Internet format -> message object (the reader)
 *   tnef.c     TNEF streams (winmail.dat) and compressed RTF
 *   meeting.c  iCalendar -> meeting properties
 *   report.c   delivery and read reports
 *   received.c the Received path: received/N/ (design.md 9)
 *   headers.c  the table of mapped header fields (headers.h), LCIDs
 *   text.c     charsets <-> code pages, many needles in one text
 *   model.c    bags, messages, attachments, smime/ nodes; status, warnings
 *   address.c  one-off EntryIDs, search keys, FLATENTRYLIST
 *   value.c    property values as file text; times
 *   deferred.c content left in the message file, decoded when read
 *   props.c    property names and tags, named-property sets
 *
 * Ownership, unless a declaration says otherwise: a function returning a
 * pointer it calls "new" or "made" gives it to the caller, who frees it
 * as stated; any other returned pointer is borrowed from the object passed
 * in and stays valid until that object (the property, bag or message) is
 * changed at that place or freed.  Arguments are borrowed for the call.
 * A reason stored in *why is the caller's, freed with free() (mapper.h).
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
extern const mapper_propset mapper_psetid_appointment;
extern const mapper_propset mapper_psetid_meeting;

/* props.c: the property set whose directory name is @name, or NULL; the
 * sets are static, valid for the life of the process. */
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
	mapper_deferred *deferred;   /* PT_BINARY left in the file (bin NULL) */
	char **mv;                   /* PT_MV_UNICODE: NULL-terminated */
	GBytes *rendered;            /* cache of value_render() */
	struct mapper_bag *bag;      /* the bag holding it, or NULL */
	guint pos;                   /* its slot in bag->props */
	bool tnef;                   /* its value came from the message's TNEF
	                              * stream, which the writer does not remake */
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
	/* made once the bag outgrows a linear scan (model.c BAG_INDEX_MIN) */
	GHashTable *index;           /* mapper_prop* keyed by its key -> itself */
	GHashTable *sets;            /* mapper_propset* -> count of its properties */
} mapper_bag;

/* ---- deferred.c --------------------------------------------------------- */

/* Read @len bytes at @off of file @fd (pread, again after EINTR and short
 * reads): the count read, short only at the end of the file, or -errno. */
ssize_t file_read_at(int fd, void *buf, size_t len, int64_t off);
/* The part [@start, @end) of file @fd, base64 or not transfer-encoded:
 * reads it once to count its decoded size.  NULL with *@err (an errno) if
 * the file cannot be read there. */
mapper_deferred *deferred_new(int fd, int64_t start, int64_t end, bool base64, int *err);
/* Heap bytes it holds. */
size_t deferred_footprint(const mapper_deferred *d);

/* ---- model.c: bags ------------------------------------------------------ */

/* An empty bag in @bag's memory; bag_release() frees what it holds (not
 * @bag itself) and leaves it zeroed. */
void bag_init(mapper_bag *bag);
void bag_release(mapper_bag *bag);
/* Free a property (NULL is a hole: ignored); one still in a bag leaves its
 * index.  The free function of mapper_bag.props. */
void mapper_prop_free(gpointer prop);

/* Lookup by tag (type must match) or by (set, name) case-insensitively.
 * The property is the bag's: valid until it is replaced or removed (any
 * bag_set_* or bag_add of its key, bag_remove*) or the bag is released. */
mapper_prop *bag_get(const mapper_bag *bag, uint32_t tag);
mapper_prop *bag_get_named(const mapper_bag *bag, const mapper_propset *set,
                           const char *name);
mapper_prop *bag_get_lid(const mapper_bag *bag, const mapper_propset *set, uint32_t lid);
/* Whether the bag holds a property of @set. */
bool bag_has_set(const mapper_bag *bag, const mapper_propset *set);
/* Remove and free the tagged property @tag, if there is one. */
void bag_remove(mapper_bag *bag, uint32_t tag);

/* Append @prop (taken), first removing and freeing the property of the
 * same key if there is one. */
void bag_add(mapper_bag *bag, mapper_prop *prop);
/* Put @prop (taken; the same key as @old) in @old's place, freeing @old. */
void bag_replace(mapper_bag *bag, mapper_prop *old, mapper_prop *prop);
/* Remove @prop, which is in @bag, and free it. */
void bag_remove_prop(mapper_bag *bag, mapper_prop *prop);

/* Setters replace (and free) an existing property of the same tag or
 * name.  Strings and data are copied, except where a name says "take":
 * bag_set_binary_take() takes the caller's reference to @bytes,
 * bag_set_strv() the vector and its strings.  The named setters return
 * the new property, the bag's (lifetime as for bag_get). */
void bag_set_string(mapper_bag *bag, uint32_t tag, const char *utf8);
void bag_set_int(mapper_bag *bag, uint32_t tag, int64_t value);
void bag_set_bool(mapper_bag *bag, uint32_t tag, gboolean value);
void bag_set_time(mapper_bag *bag, uint32_t tag, int64_t unix_seconds);
void bag_set_binary(mapper_bag *bag, uint32_t tag, const void *data, size_t len);
void bag_set_binary_take(mapper_bag *bag, uint32_t tag, GBytes *bytes);
/* A PT_BINARY value that stays in the message file; takes @d's reference. */
void bag_set_deferred(mapper_bag *bag, uint32_t tag, mapper_deferred *d);
void bag_set_strv(mapper_bag *bag, uint32_t tag, char **values_taken);
mapper_prop *bag_set_named_string(mapper_bag *bag, const mapper_propset *set,
                                  const char *name, const char *utf8);
mapper_prop *bag_set_named_lid(mapper_bag *bag, const mapper_propset *set,
                               uint32_t lid, uint32_t type);

/* Give named properties ids 0x8000+ in (set, name) order, as a store would. */
void bag_number_named(mapper_bag *bag);
/* The file name of named property @p in its set's directory: p->name
 * (borrowed from @p, valid as long as @p), or its lid as "0xNNNN" written
 * into @buf (then @buf is returned). */
const char *prop_named_file_name(const mapper_prop *p, char buf[static 12]);

/* ---- model.c: objects ----------------------------------------------------- */

typedef struct mapper_attachment {
	mapper_bag props;
	struct mapper_message *embedded; /* attach method 5, else NULL */
	/* 1 + the attachment's number in MIME order in the bytes the message
	 * was loaded from; 0 for an attachment added since (a zero-filled new
	 * one).  The writer finds the attachment's MIME part by it, so edits
	 * keep it when they change or renumber attachments. */
	int origin;
	bool tnef;                       /* one of the TNEF stream's (tnef.c): its
	                                  * MIME part is the whole winmail.dat */
} mapper_attachment;

typedef enum {
	SMIME_NONE,
	SMIME_CLEAR_SIGNED,  /* multipart/signed, MS-OXOSMIME 2.2.1; recognized by 3.1.5.1.1 */
	SMIME_OPAQUE,        /* opaque-signed or encrypted, MS-OXOSMIME 2.2.2; by 3.1.5.2.1 */
} smime_kind;

/* A computed directory or file outside the property model: the smime/ tree
 * of design.md 5.  Exactly one of @data (a file), @children (a directory,
 * of smime_node*, sorted by name), @msg (a nested message object, owned)
 * and @pending is set.  @pending is the bytes of smime/content before it is
 * first gone into: it is made a message object then (smime_node_message),
 * since `cat smime/status` of many messages should not convert the content
 * of each (issue 11). */
typedef struct smime_node {
	char *name;
	GBytes *data;
	GPtrArray *children;
	struct mapper_message *msg;
	GBytes *pending;
	struct mapper_message *owner;   /* with @pending: whose smime/ it is in */
	char *sender;                   /* with @pending: the owner's sender address */
} smime_node;

/* Free @node (NULL is fine) with its name, data, children and message. */
void smime_node_free(gpointer node);
/* The child of @dir named @name, or NULL; @dir's, valid as long as @dir. */
smime_node *smime_node_child(const smime_node *dir, const char *name);
/* smime.c: the nested message object of @n (made from @pending the first
 * time), or NULL if @n is not one. */
struct mapper_message *smime_node_message(smime_node *n);

/* One hop of the Received path (received.c, design.md 9). */
typedef struct received_hop {
	GBytes *raw;                 /* its field as it stands: "Received:" and the
	                              * value, folding kept, ending in "\n" */
	smime_node *dir;             /* received/N/, made on first use, or NULL */
	int64_t time;                /* its date-time, when @dated is 1 */
	signed char dated;           /* 0 not read yet, 1 read, -1 none or unreadable */
} received_hop;

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
	bool has_deferred;           /* some content stays in the file (deferred.c) */
	bool body_decides;           /* a report: its class and recipients come from
	                              * the body, so a header-only object answers
	                              * nothing (MAPPER_INCOMPLETE) */
	bool class_in_body;          /* multipart or text/calendar: a text/calendar
	                              * part may make it a meeting, so a header-only
	                              * object leaves its class and organizer
	                              * (PidTagSentRepresenting*) to the full one */
	bool tnef_expected;          /* X-MS-TNEF-Correlator or a TNEF top entity:
	                              * properties of a TNEF stream in the body win,
	                              * so a header-only object answers nothing */
	GBytes *rtf;                 /* PidTagRtfCompressed decompressed (body.rtf) */
	GBytes *info;                /* the "info" summary, made on first read (tree.c) */
	GPtrArray *aliases;          /* attachment i's file name in attachments/, or
	                              * NULL; made on first use (model.c) */
	GHashTable *alias_index;     /* alias -> i + 1 */
	received_hop *received;      /* the Received fields, the bottom-most (the first
	                              * hop) first; read on first use (received.c) */
	guint received_count;
	bool received_done;          /* @received has been read */
};

/* ---- attachment file names (issue 13) ----------------------------------
 * Every attachment that holds data (PidTagAttachDataBinary) has a file name
 * in attachments/ beside its row N, an alias of that data: its
 * PidTagAttachLongFilename (else PidTagAttachFilename, PidTagDisplayName)
 * made usable as one file name and unique in the message ("a (2).pdf"). */

/* The alias of attachment @i, or NULL. */
const char *attachment_alias(mapper_message *m, guint i);
/* The attachment whose alias is @name, or -1. */
int attachment_by_alias(mapper_message *m, const char *name);
/* Whether a new attachment may be given file name @name: it is what the
 * alias of an attachment of that name would be (no row number, no leading
 * dot, no '/', '\\' or control bytes, valid UTF-8, at most 255 bytes). */
bool attachment_alias_usable(const char *name);
/* Forget the aliases: an edit may change them. */
void attachment_aliases_drop(mapper_message *m);
/* Forget the Received path (it is read again on next use): an edit may
 * change the header block it is read from. */
void message_received_drop(mapper_message *m);

/* A new empty message object at nesting @depth (level MAPPER_LOAD_HEADERS
 * until the caller says otherwise); freed with mapper_message_free(). */
mapper_message *message_new(int depth);
/* A new attachment with an empty property bag and origin 0; the caller
 * adds it to a message's @attachments, which then owns it. */
mapper_attachment *attachment_new(void);
/* A new row at the end of @m's recipient table, as oxcmail-mapping.md 2.2
 * builds it (the row gromox builds): @addr NULL for an empty group, @name
 * NULL for the address itself.  The row is @m's. */
mapper_bag *message_add_recipient(mapper_message *m, const char *name, const char *addr, int type);
/* Return @st, setting *@why (when not NULL) to the formatted reason, which
 * callers of the public API free with free(). */
mapper_status mapper_fail(char **why, mapper_status st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Record the first warning only (m->warning, owned by @m); later ones are
 * dropped. printf-style. */
void message_warn(mapper_message *m, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Parse the name of row N of recipients/ or attachments/: decimal, no sign,
 * no leading zero, at most @max_digits digits.  The range is the caller's. */
bool row_number(const char *s, size_t max_digits, guint *out);

/* ---- props.c ----------------------------------------------------------- */

/* Canonical names; flags say how the value is shown. */
#define PROPDEF_MULTILINE 0x1        /* PtypString shown exactly, no added "\n" */
typedef struct mapper_propdef {
	uint32_t tag;
	const char *name;
	unsigned flags;
} mapper_propdef;
/* The row of @tag or @name, or NULL; rows are static. */
const mapper_propdef *propdef_by_tag(uint32_t tag);
const mapper_propdef *propdef_by_name(const char *name);

/* ---- value.c ----------------------------------------------------------- */

/* The file text of a property (design.md section 3), cached in @prop: the
 * property's, valid until the property is freed (do not unref). */
GBytes *value_render(mapper_prop *prop);

/* ---- address.c --------------------------------------------------------- */

/* One-off EntryIDs and search keys (oxcmail-mapping.md 1.5), and a
 * FLATENTRYLIST of @entryids (GBytes*, borrowed): new GBytes, the caller
 * unrefs them. */
GBytes *address_oneoff_entryid(const char *display_name, const char *smtp);
GBytes *address_search_key(const char *smtp);
GBytes *address_flatentrylist(GPtrArray *entryids);

/* ---- text.c ------------------------------------------------------------ */

/* The Internet code page of charset @charset (any case; NULL gives 0), 0
 * if unknown; the charset name of @codepage, a static string, NULL if
 * unknown.  The first charset of a code page is the one named. */
int text_codepage_from_charset(const char *charset);
const char *text_codepage_charset(int64_t codepage);
/* Which of the @n NUL-terminated @needles occur in the NUL-terminated
 * @text, as strstr() would find them, in time linear in the text and the
 * needles: a new array of @n flags, freed with g_free(). */
gboolean *text_contains(const char *text, const char *const *needles, guint n);

/* ---- html.c ------------------------------------------------------------ */

/* The plain text of @len bytes of HTML in @charset (NULL: UTF-8 if valid,
 * else windows-1252), laid out as `w3m -dump` would, lines ending in CRLF
 * when @crlf; g_free().  html_global_init() once before any thread. */
char *html_to_text(const char *html, size_t len, const char *charset, bool crlf);
void html_global_init(void);
void html_global_shutdown(void);

/* headers.c: see headers.h. */

/* ---- received.c ---------------------------------------------------------- */

/* The number of Received fields of @m's header block
 * (PidTagTransportMessageHeaders), reading them on first use: received/
 * exists when it is not 0. */
guint received_count(mapper_message *m);
/* received/@i/ of @m (hop 0 is the bottom-most field), made on first use:
 * a directory of one-line files (raw, from, by, via, with, id, for, date,
 * delay, note), @m's until it is freed or edited; NULL when there is no
 * such hop. */
smime_node *received_hop_dir(mapper_message *m, guint i);

/* ---- meeting.c --------------------------------------------------------- */

/* MS-OXCMAIL 2.2.3.3.3 / MS-OXCICAL: the iCalendar @data (@len bytes) of a
 * text/calendar part read into @m (meeting class, start, end, location,
 * attendees, organizer, global object id).  False when it holds no event
 * with a METHOD that makes a meeting object (then the class is unchanged,
 * though event properties may be set). */
bool meeting_read(mapper_message *m, const char *data, size_t len);

/* ---- tnef.c ------------------------------------------------------------ */

typedef enum {
	TNEF_OK,        /* the stream belongs to the message: its content applies */
	TNEF_NOT_OURS,  /* its correlation key is another message's */
	TNEF_BAD,       /* not a TNEF stream, or a malformed one */
} tnef_result;

/* What a TNEF stream holds, read but not yet put into a message. */
typedef struct tnef_content {
	mapper_message *shadow;   /* its message properties and attachments */
	int skipped;              /* properties of types the model does not hold */
} tnef_content;

/* Read the TNEF stream @data (MS-OXTNEF) of a message at nesting @depth
 * whose X-MS-TNEF-Correlator is @correlator (NULL: none).  TNEF_OK gives
 * *@out (tnef_content_free()); otherwise *@why says why (g_free()). */
tnef_result tnef_read(const void *data, size_t len, const char *correlator, int depth,
                      tnef_content **out, char **why);
guint tnef_attachment_count(const tnef_content *c);
/* Move the stream's attachments to the end of @m's table (marked tnef). */
void tnef_take_attachments(tnef_content *c, mapper_message *m);
/* Put the stream's message properties into @m over those it has (all but
 * the ones the store keeps: flags, sizes, delivery time ...), marked tnef;
 * decompress PidTagRtfCompressed into m->rtf. */
void tnef_apply_props(tnef_content *c, mapper_message *m);
void tnef_content_free(tnef_content *c);
/* MS-OXRTFCP: the RTF of a PidTagRtfCompressed value (compressed or not),
 * or NULL with *@why (g_free()). */
GBytes *rtf_decompress(const guint8 *data, size_t len, char **why);

/* ---- report.c ---------------------------------------------------------- */

/* MS-OXCMAIL 2.2.3.7: a message/delivery-status (@mdn false) or
 * message/disposition-notification part of @len bytes, read into @m (class,
 * report properties, a recipient row per reported recipient).  @sent: the
 * report's own sent time (Date), if @have_sent.  False when the part holds
 * nothing a report needs (then @m is unchanged). */
bool report_read(mapper_message *m, bool mdn, const char *data, size_t len, int64_t sent,
                 bool have_sent);

/* ---- import.c ---------------------------------------------------------- */

/* Convert @len bytes of @data (borrowed for the call: everything kept is
 * copied) into @m, a message_new() object, at @level; @source gives the
 * Maildir flags and times.  Problems become m->warning, never a failure. */
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
/* import_message() at @level with no source, filling @layout (whose old
 * contents are overwritten, not freed; @data is borrowed for the call).
 * The layout owns its references until import_layout_clear(). */
void import_message_layout(mapper_message *m, const char *data, size_t len,
                           mapper_load_level level, import_layout *layout);
/* The length of @data's header block with what precedes it (leading junk
 * lines), through its empty line: the reader's header block ends there or
 * before.  @len when there is no empty line. */
size_t import_header_block_len(const char *data, size_t len);
/* import_message() at MAPPER_LOAD_FULL of the message in file @fd of
 * @file_len bytes, parsed from the file (mapper_message_load_file()): @head
 * is its header block, read by the caller.  False when the conversion
 * needs the raw bytes in memory (S/MIME, an embedded message, lines before
 * the header): then @m holds nothing useful and the caller loads the bytes. */
bool import_message_file(mapper_message *m, const char *head, size_t head_len, int fd,
                         size_t file_len, const mapper_source *src, size_t defer_min);
void import_layout_clear(import_layout *layout);

/* ---- smime.c ----------------------------------------------------------- */

/* smime/ of @m (computing it on first use): @m's, valid until @m is freed;
 * NULL unless @m is an S/MIME message loaded fully. */
smime_node *smime_dir(mapper_message *m);
/* Load the OpenSSL providers (default and legacy) once; unload them. */
void smime_global_init(void);
void smime_global_shutdown(void);
/* PR_SECURITY_FLAGS written on @m: check that sealing can be done now
 * (identity, recipient certificates) and record it for export
 * (MS-OXOSMIME 3.1.5.2.6). */
mapper_status smime_seal_request(mapper_message *m, int64_t flags, char **why);
/* Seal the exported message @in (@in_len bytes, borrowed) as m->seal asks,
 * in MS-OXOSMIME 3.1.5.2.4 form: *@out is new, malloc()ed, the caller
 * free()s it; NULL on failure, with *@why set. */
mapper_status smime_seal(mapper_message *m, const char *in, size_t in_len,
                         char **out, size_t *out_len, char **why);
/* The property PR_SECURITY_FLAGS (0x6E010003), written to seal a message. */
#define TAG_SECURITY_FLAGS PROP_TAG(0x6E01, PT_LONG)

/* ---- edit.c ------------------------------------------------------------ */

/* Is @data (borrowed) a well-formed replacement for the single attachment
 * of S/MIME message @m, of the same kind (design.md 4; MS-OXOSMIME
 * 3.1.5.1.3 / 3.1.5.2.3 "additional verification")? */
mapper_status smime_entity_check(mapper_message *m, GBytes *data, char **why);

/* Limit on MIME nesting (multiparts and embedded messages together); deeper
 * parts are not converted and a warning is recorded.  Like mblaze's walker. */
#define MAPPER_MAX_DEPTH 64

#endif /* MAPPER_PRIVATE_H */
