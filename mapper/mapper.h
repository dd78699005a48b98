/*
 * mapper.h - Internet mail <-> MAPI message object conversion.
 *
 * The mapper turns the bytes of one Internet message (RFC 5322 + MIME) into a
 * message object as [MS-OXCMAIL] and, for S/MIME, [MS-OXOSMIME] prescribe,
 * and presents that object as a small tree of directories and files, the
 * layout of design.md section 2.  It knows nothing of FUSE, Maildir, config
 * files or the process: it never exits, never logs, and keeps no global state
 * besides GMime's one-time initialisation and the OpenSSL providers (default
 * and legacy) that mapper_init() loads.
 *
 * Invariants:
 *  - A mapper_message is owned by exactly one caller and is not thread-safe;
 *    use it from one thread at a time.  Distinct messages may be used in
 *    different threads at once, also when they share one mapper_crypto
 *    (see there).  GMime objects never escape the loader: they are
 *    released before mapper_message_load() returns.
 *  - Paths are relative to the message object's root, components separated
 *    by '/', no leading or trailing '/'; "" is the root itself.
 *  - Everything a getter returns stays valid until the message is freed,
 *    unless the doc comment says "caller frees".
 *  - Listings are sorted (strcmp order), so they are identical from run to run.
 */
#ifndef MAPPER_H
#define MAPPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------ */

typedef enum mapper_status {
	MAPPER_OK = 0,
	MAPPER_NOT_FOUND,       /* no such property, row or path */
	MAPPER_NOT_A_DIRECTORY, /* path names a file where a directory was expected */
	MAPPER_IS_A_DIRECTORY,  /* path names a directory where a file was expected */
	MAPPER_INVALID,         /* malformed argument or value */
	MAPPER_INCOMPLETE,      /* the object was loaded with headers only */
	MAPPER_NO_MEMORY,
	MAPPER_READ_ONLY,       /* the property cannot be changed (design.md 4) */
	MAPPER_EXISTS,          /* the row or entry is already there */
	MAPPER_DEFERRED,        /* the content is in the message file: mapper_message_deferred() */
} mapper_status;

/* A short English phrase for @status; static storage. */
const char *mapper_status_to_string(mapper_status status);

/* ---- library life-cycle ---------------------------------------------- */

/* Initialise GMime and load OpenSSL's default and legacy providers (RC2,
 * RC4, old PKCS #12 bags) once; call before anything else, from one thread. */
void mapper_init(void);
/* Release GMime's global state; nothing may be used afterwards. */
void mapper_shutdown(void);

/* ---- loading --------------------------------------------------------- */

typedef enum mapper_load_level {
	/* Parse the top-level header block only: every property that a header
	 * supplies, the recipient table and the named header properties.  The
	 * body-derived names of mapper_name_needs_body() are absent. */
	MAPPER_LOAD_HEADERS,
	/* Parse the whole message: body, attachments, embedded messages. */
	MAPPER_LOAD_FULL,
} mapper_load_level;

/* Where the bytes came from; every field is optional (zero = unknown). */
typedef struct mapper_source {
	const char *maildir_flags; /* the letters after ":2,", e.g. "FRS" */
	bool maildir_new;          /* the file is in new/ (never seen by a reader) */
	int64_t mtime;             /* backing file's modification time, Unix seconds */
} mapper_source;

typedef struct mapper_message mapper_message;

/*
 * Convert @len bytes at @data into a message object.  With
 * MAPPER_LOAD_HEADERS, @data may hold just the header block (the bytes up to
 * and including the empty line).  The bytes are copied; the caller keeps
 * @data.  Never fails on malformed input: whatever could be derived is
 * there, and mapper_message_warning() says what went wrong.  Returns NULL
 * only when out of memory.  Caller frees with mapper_message_free().
 */
mapper_message *mapper_message_load(const void *data, size_t len,
                                    const mapper_source *source,
                                    mapper_load_level level);

void mapper_message_free(mapper_message *message);

/*
 * Load the message in the file @fd (MAPPER_LOAD_FULL) without holding the
 * file in memory (issue 11): GMime parses it from the file, and the content
 * of each attachment part whose encoded size is at least @defer_min bytes,
 * base64 or not transfer-encoded, stays there: its property file reads as
 * MAPPER_DEFERRED, and mapper_message_deferred() reads it from the file.
 * Everything else is the same as mapper_message_load() of the file's bytes
 * gives; a message whose conversion needs its raw bytes (S/MIME, embedded
 * messages, lines before the header) is read into memory and loaded so.
 * The descriptor is read with pread() and not kept.  NULL when the file
 * cannot be read (errno set) or memory runs out.
 */
mapper_message *mapper_message_load_file(int fd, const mapper_source *source,
                                         size_t defer_min);

/* Whether any file of the object reads as MAPPER_DEFERRED. */
bool mapper_message_has_deferred(const mapper_message *message);

/* The length of the header block at @data (with any lines before it and
 * its empty line): what a MAPPER_LOAD_HEADERS load needs. */
size_t mapper_header_block_length(const void *data, size_t len);

/* The level the message was loaded with. */
mapper_load_level mapper_message_level(const mapper_message *message);

/*
 * An estimate of the heap memory the object holds now, in bytes: its
 * properties, rows, attachments, embedded messages, smime/ tree and the
 * file text cached for reads (which grows as files are read), with malloc's
 * per-block overhead.  For sizing caches by memory rather than by count.
 */
size_t mapper_message_footprint(const mapper_message *message);

/* One line describing the first problem met while converting, or NULL. */
const char *mapper_message_warning(const mapper_message *message);

/* PidTagMessageClass of the message, e.g. "IPM.Note.SMIME"; never NULL. */
const char *mapper_message_class(const mapper_message *message);

/*
 * Whether the root entry @name (one path component) can only be answered
 * from a MAPPER_LOAD_FULL object.  Every other root entry has the same
 * presence, size and content in a MAPPER_LOAD_HEADERS object.
 */
bool mapper_name_needs_body(const char *name);

/*
 * The same for the root entry @name of @message, whichever level it was
 * loaded at: true for every name of mapper_name_needs_body(), and also where
 * this message's header block cannot decide the answer (a report's class
 * and rows, a possible meeting's class and organizer).  A headers-only
 * object answers these with MAPPER_INCOMPLETE; every other root entry is
 * the same as in the full object.
 */
bool mapper_message_needs_body(const mapper_message *message, const char *name);

/* ---- the object as a tree (design.md section 2) ---------------------- */

typedef enum mapper_node_kind {
	MAPPER_NODE_DIR,
	MAPPER_NODE_FILE,
} mapper_node_kind;

typedef struct mapper_node {
	mapper_node_kind kind;
	uint64_t size;          /* files: exact byte size of the content */
	uint32_t tag;           /* property tag (0x0037001F), 0 if not a property */
	const char *type_name;  /* "PtypString" ..., NULL if not a property */
	const char *set_guid;   /* named properties: "{00020386-...}", else NULL */
	bool is_message;        /* a message object root (nested or top) */
} mapper_node;

/*
 * Describe the entry at @path.  Returns MAPPER_NOT_FOUND if there is none,
 * MAPPER_INCOMPLETE if the answer needs a MAPPER_LOAD_FULL object.
 * The strings in @node are valid until the message is freed.
 */
mapper_status mapper_message_stat(mapper_message *message, const char *path,
                                  mapper_node *node);

/*
 * The names in directory @path, sorted.  On success *@names is a
 * NULL-terminated array; caller frees it with mapper_names_free().
 * The root of a MAPPER_LOAD_HEADERS object cannot be listed completely:
 * that gives MAPPER_INCOMPLETE (its header-derived subdirectories can).
 */
mapper_status mapper_message_list(mapper_message *message, const char *path,
                                  char ***names, size_t *count);
void mapper_names_free(char **names);

/*
 * The file name attachment row @row ("attachments/N", at any depth) has in
 * its attachments/ directory beside N, an alias of its data (issue 13), or
 * NULL when it has none.  Valid until the message is changed or freed.
 */
const char *mapper_message_attachment_name(mapper_message *message, const char *row);

/*
 * The content of file @path.  *@data points into the message and is valid
 * until the message is freed.
 */
mapper_status mapper_message_read(mapper_message *message, const char *path,
                                  const void **data, size_t *len);

/*
 * Content left in the message file by mapper_message_load_file(): the
 * decoded bytes of file @path when mapper_message_read() gives
 * MAPPER_DEFERRED for it, with a reference of its own (it outlives the
 * message; mapper_deferred_unref() releases it).  Thread-safe.
 */
typedef struct mapper_deferred mapper_deferred;
mapper_status mapper_message_deferred(mapper_message *message, const char *path,
                                      mapper_deferred **out);
mapper_deferred *mapper_deferred_ref(mapper_deferred *d);
void mapper_deferred_unref(mapper_deferred *d);
/* The decoded size: mapper_message_stat()'s size of the file. */
uint64_t mapper_deferred_size(const mapper_deferred *d);
/* Read up to @size bytes at @off of the content, decoding them from @fd,
 * the file the message was loaded from (the caller checks it is still the
 * same file).  Returns the bytes read, 0 at the end, or -errno (-EIO if
 * the file no longer holds what was parsed).  A read that follows the last
 * one goes on from where it ended instead of decoding from a mark up to
 * 1 MiB before its offset. */
ssize_t mapper_deferred_pread(mapper_deferred *d, int fd, void *buf, size_t size,
                              uint64_t off);

/* ---- editing (design.md section 4) ------------------------------------ */

/*
 * Edits need a MAPPER_LOAD_FULL object (else MAPPER_INCOMPLETE), except
 * setting a message property that only a header field holds (Subject,
 * Importance, PS_INTERNET_HEADERS/<field> ...), which a MAPPER_LOAD_HEADERS
 * object takes too.  They change only the object in memory;
 * mapper_message_export() (or, header-only, mapper_message_export_header())
 * turns the edited
 * object into Internet format.  @why, when not NULL, receives one English
 * line explaining a failure (caller frees it with free()).
 *
 * Statuses: MAPPER_INVALID for a value that does not parse (text in an
 * integer, a newline in a single-line string, a bad date) or an unknown
 * property name; MAPPER_READ_ONLY for properties derived from other data or
 * from signed/encrypted content; MAPPER_NOT_FOUND for a missing row.
 */

/* Set the property file @path (e.g. "PidTagSubject",
 * "recipients/0/PidTagEmailAddress", "PS_INTERNET_HEADERS/X-Foo") from the
 * file text @data (design.md section 3).  An empty value removes it. */
mapper_status mapper_message_set(mapper_message *message, const char *path,
                                 const void *data, size_t len, char **why);

/* May a file be created (or written) at @path?  Checks the name and the
 * permissions only, not a value. */
mapper_status mapper_message_can_set(mapper_message *message, const char *path,
                                     char **why);

/* Can the first @len bytes written to property file @path still become a
 * value mapper_message_set() takes?  MAPPER_OK when they can (or cannot be
 * judged before the writer is done: multi-line text, binary data); the
 * failure mapper_message_set() would give when they cannot: a single-line
 * value whose line is complete, or bytes no number has (design.md 4: a
 * shell's echo ignores the error of close(), not that of write()). */
mapper_status mapper_message_check_partial(mapper_message *message, const char *path,
                                           const void *data, size_t len, char **why);

/* Add the row "recipients/N" or "attachments/N"; N must be the next free
 * number.  A new recipient has no address yet and the type of the last row
 * (To when there is none; rows are numbered in header order); a new
 * attachment is an empty application/octet-stream file attachment. */
mapper_status mapper_message_mkdir(mapper_message *message, const char *path,
                                   char **why);

/* Remove the row "recipients/N" or "attachments/N"; later rows move down. */
mapper_status mapper_message_rmdir(mapper_message *message, const char *path,
                                   char **why);

/* Is @path (a property file path) one of the properties Maildir flags
 * carry (oxcmail-mapping.md 7.2)?  Editing only those renames the file. */
bool mapper_path_is_flag_property(const char *path);

/*
 * The Internet-format message for @message, in a newly allocated buffer
 * (*@out, *@out_len; free with free()).  @orig is the message the object was
 * loaded from, or NULL for a new message: header fields and MIME parts whose
 * properties did not change are kept as they were (MS-OXCMAIL 2.4.3's MIME
 * skeleton idea); changed ones are regenerated by the writer rules of
 * oxcmail-mapping.md 1.2, 2.3, 3.3, 4.3 and 5, and S/MIME messages are
 * rebuilt by MS-OXOSMIME 3.1.5.1.4 / 3.1.5.2.4 with the protected bytes
 * unchanged.
 */
mapper_status mapper_message_export(mapper_message *message,
                                    const void *orig, size_t orig_len,
                                    char **out, size_t *out_len, char **why);

/*
 * mapper_message_export() of an object loaded with MAPPER_LOAD_HEADERS and
 * changed only in what header fields hold, without the body: @head is the
 * start of the original, at least its header block
 * (mapper_header_block_length()).  The new message is *@out (malloc'ed)
 * followed by the original from byte *@keep_from to its end, unchanged.
 * MAPPER_INCOMPLETE when the change needs the whole message (S/MIME, text
 * without a header field): mapper_message_export() on a full object then.
 */
mapper_status mapper_message_export_header(mapper_message *message,
                                           const void *head, size_t head_len,
                                           char **out, size_t *out_len, size_t *keep_from,
                                           char **why);

/* MAPPER_OK when the Internet-format message @data (its header block is
 * enough) has a From: field with a mailbox or group in it; MAPPER_INVALID,
 * with *@why saying what to write, when not: RFC 5322 3.6 requires one, and
 * the writer is asked never to store a message without it (issue 13). */
mapper_status mapper_check_originator(const void *data, size_t len, char **why);

/* The Maildir flag letters the object's properties say (oxcmail-mapping.md
 * 7.2, "read back on export"), in ASCII order, out of "DFPRST". */
void mapper_message_maildir_flags(const mapper_message *message, char buf[static 8]);

/* ---- S/MIME certificate services (design.md section 5) ----------------- */

/*
 * A crypto context: the local identities (decrypt and sign), the trust
 * anchors, the verification time, the compose settings and the address ->
 * certificate map (SMTP-ADDR-DC-CERT-MAP of the DRS seeds).  It is owned by
 * the caller, who attaches it to messages with mapper_message_set_crypto();
 * it must outlive them.  Everything is done with OpenSSL's CMS API on the
 * original bytes; plaintext only ever lives in memory.
 *
 * Threads: set the context up first, from one thread -- mapper_crypto_new,
 * add_identity, add_pkcs12, add_trust, preload and the set_* calls, before
 * any message uses it.  After that it is thread-safe: messages evaluated in
 * different threads may share it (their verification, decryption and
 * sealing only read the identities, trust anchors and settings), and the
 * certificate map -- learnt from good signatures in any thread -- may be
 * read with the map_* calls from any thread at the same time.  An internal
 * mutex guards the map; it is never held during a verification or
 * decryption.  Messages themselves are still one thread at a time each.
 */
typedef struct mapper_crypto mapper_crypto;

mapper_crypto *mapper_crypto_new(void);
void mapper_crypto_free(mapper_crypto *crypto);

/* A local identity from a private key (PEM or DER, unencrypted) and its
 * certificate (PEM or DER).  The first identity added signs. */
mapper_status mapper_crypto_add_identity(mapper_crypto *crypto, const char *key_file,
                                         const char *cert_file, char **why);
/* A local identity from a PKCS #12 file; @password may be "". */
mapper_status mapper_crypto_add_pkcs12(mapper_crypto *crypto, const char *file,
                                       const char *password, char **why);
/* Trust anchors: a PEM file, a directory of PEM files, or "system". */
mapper_status mapper_crypto_add_trust(mapper_crypto *crypto, const char *where, char **why);
/* Preload the certificate map from the certificates in directory @dir. */
mapper_status mapper_crypto_preload(mapper_crypto *crypto, const char *dir, char **why);
/* Verify as of @unix_seconds instead of each signature's signing time. */
void mapper_crypto_set_verify_at(mapper_crypto *crypto, int64_t unix_seconds);
/* Compose settings: digest ("sha256"), content cipher ("aes-128-cbc"), and
 * whether to encrypt before signing (the DRS order). */
mapper_status mapper_crypto_set_digest(mapper_crypto *crypto, const char *name, char **why);
mapper_status mapper_crypto_set_cipher(mapper_crypto *crypto, const char *name, char **why);
void mapper_crypto_set_encrypt_first(mapper_crypto *crypto, bool encrypt_first);

/* The mailbox of the signing identity (the first one added): the first
 * e-mail address of its certificate (subject emailAddress, SAN
 * rfc822Name) in *@address and its subject's common name in *@name (NULL
 * when it has none); both g_free()d by the caller.  False, with nothing
 * set, when there is no identity or its certificate names no address. */
bool mapper_crypto_identity_mailbox(const mapper_crypto *crypto, char **name, char **address);

/* The addresses in the certificate map, sorted; free with mapper_names_free(). */
char **mapper_crypto_map_addresses(mapper_crypto *crypto, size_t *count);
/* The PEM certificate for @address (lower-case); false if there is none.
 * The bytes stay valid until the context is freed (a replaced certificate's
 * PEM is kept until then), but may be outdated by the time they are read:
 * prefer mapper_crypto_map_copy(). */
bool mapper_crypto_map_get(mapper_crypto *crypto, const char *address,
                           const void **pem, size_t *len);
/* A copy of the PEM certificate for @address (lower-case), taken under the
 * map's lock: *@pem (NUL-terminated; caller frees with free()) and its
 * length *@len without the NUL.  false if there is none (or no memory). */
bool mapper_crypto_map_copy(mapper_crypto *crypto, const char *address,
                            char **pem, size_t *len);
/* A number that changes whenever the map changes. */
unsigned mapper_crypto_map_generation(const mapper_crypto *crypto);

/* Attach @crypto to @message (and its embedded messages): its smime/
 * directory then verifies, decrypts and learns with it.  Without a context
 * signatures are still checked, against no trust anchors. */
void mapper_message_set_crypto(mapper_message *message, mapper_crypto *crypto);
/* Work out smime/ now (it is otherwise done on first access), so that the
 * certificate map learns from this message.  Harmless on other messages. */
void mapper_message_smime_evaluate(mapper_message *message);

/* ---- property names and value codecs ---------------------------------- */

/*
 * The canonical file name of property @tag ("PidTagSubject"), or NULL when
 * the property has no canonical name (it is then shown as "0x6E010003").
 */
const char *mapper_tag_name(uint32_t tag);
/* The tag for a canonical name or "0xNNNNNNNN"; 0 if unknown. */
uint32_t mapper_tag_from_name(const char *name);
/* "PtypString" etc. for the type in the low 16 bits of @tag; NULL if unknown. */
const char *mapper_type_name(uint32_t tag);

/* Unix seconds <-> FILETIME (100 ns ticks since 1601-01-01 UTC). */
uint64_t mapper_unix_to_filetime(int64_t unix_seconds);
int64_t mapper_filetime_to_unix(uint64_t filetime);

/* Format @unix_seconds as "2024-05-01T09:30:00Z" into @buf (>= 21 bytes). */
void mapper_format_time(int64_t unix_seconds, char buf[static 21]);
/*
 * Parse an ISO 8601 date-time with any offset ("2024-05-01T11:30:00+02:00",
 * "...Z") or an RFC 5322 date into Unix seconds.  Returns MAPPER_INVALID on
 * anything else.
 */
mapper_status mapper_parse_time(const char *text, int64_t *unix_seconds);

#ifdef __cplusplus
}
#endif
#endif /* MAPPER_H */
