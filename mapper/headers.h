/*
 * headers.h - the one table of the Internet header fields the mapper gives a
 * meaning of their own (oxcmail-mapping.md 1.2, 1.3): which property each
 * becomes, how the reader (import.c) takes it, how the writer (export.c)
 * makes it again, and what the editor (edit.c) lets a file write change.
 * Private to mapper/.
 *
 * Invariants of header_table[]:
 *  - One row per field name; names compare case-insensitively (RFC 5322
 *    1.2.2), and a name not in the table is a generic header
 *    (MS-OXCMAIL 2.2.3.2.29) unless header_is_generic() says otherwise.
 *  - Rows the writer makes come first, in the order it makes them (the G
 *    order of oxcmail-mapping.md 5).  A row whose @export is HX_WITH_ABOVE
 *    follows the row that writes it: every field of its name is replaced
 *    whenever that row writes its field ("Importance" also replaces
 *    "X-Priority" and "X-MSMail-Priority").
 *  - The table is static and constant: rows and the strings in them stay
 *    valid for the life of the process.
 */
#ifndef MAPPER_HEADERS_H
#define MAPPER_HEADERS_H

#include "tags.h"

/* How the reader takes a field (import.c holds one function per kind). */
typedef enum {
	HI_NONE,            /* no property of its own, and none of 2.2.3.2.29 */
	HI_CONTENT_TYPE,    /* remembered: the last one names the message's media type */
	HI_FROM,            /* first mailbox of the first readable From */
	HI_SENDER,          /* first mailbox of the first readable Sender */
	HI_REPLY_TO,        /* every mailbox of the first readable Reply-To */
	HI_RECIPIENTS,      /* one recipient row per mailbox, of type @param */
	HI_DATE,            /* the first Date, a warning when unreadable */
	HI_RECEIVED,        /* the date of the first (newest) readable Received */
	HI_SUBJECT,         /* the first Subject, split into prefix and rest */
	HI_STRING_FIRST,    /* raw value to @tag, the first field wins */
	HI_STRING_LAST,     /* raw value to @tag, the last field wins */
	HI_TEXT_LAST,       /* RFC 2047-decoded value to @tag, the last field wins */
	HI_LIST,            /* raw value to @tag; an "X-" name only while @tag is unset */
	HI_TIME,            /* a date to @tag, the last readable one wins */
	HI_IMPORTANCE,      /* PidTagImportance; a lower @param (rank) wins */
	HI_PRIORITY,        /* HI_IMPORTANCE, and the first readable PidTagPriority */
	HI_SENSITIVITY,     /* the RFC 2156 word, the last field wins */
	HI_KEYWORDS,        /* every keyword of every field, into PidNameKeywords */
	HI_LANGUAGE,        /* the LCID of the first language tag, first known wins */
	HI_ACCEPT_LANGUAGE, /* PS_INTERNET_HEADERS "Accept-Language"; the X- form only while unset */
	HI_THREAD_INDEX,    /* base64-decoded to @tag */
	HI_RETURN_RECEIPT,  /* the flag @tag */
	HI_NOTIFICATION,    /* the read-receipt flags and the PidTagReadReceipt* group */
	HI_MESSAGE_FLAG,    /* PidLidFlagRequest and PidTagFlagStatus */
	HI_SUPPRESS,        /* the token bits of X-Auto-Response-Suppress */
	HI_CONTENT_CLASS,   /* PidNameContentClass; the last one may name the class */
	HI_UNSENT,          /* "1" marks the message unsent (mfUnsent) */
	HI_AUTO_SUBMITTED,  /* "auto-forwarded": PidTagAutoForwarded; else generic */
	HI_COUNT
} header_import;

/* How the writer makes a field from the object (export.c, one function per kind). */
typedef enum {
	HX_NONE,            /* not written from a property (MIME structure, transport, generic) */
	HX_WITH_ABOVE,      /* replaced together with the row above (see the invariants) */
	HX_SENDER,
	HX_FROM,
	HX_RETURN_RECEIPT,
	HX_NOTIFICATION,
	HX_RECIPIENTS,      /* the rows of type @param */
	HX_REPLY_TO,
	HX_NAMED,           /* the PS_INTERNET_HEADERS property of the row's name */
	HX_IMPORTANCE,
	HX_PRIORITY,
	HX_SENSITIVITY,
	HX_DATE,
	HX_SUBJECT,
	HX_STRING,          /* the string @tag */
	HX_THREAD_INDEX,
	HX_MESSAGE_ID,
	HX_KEYWORDS,
	HX_LANGUAGE,
	HX_TIME,            /* the time @tag */
	HX_SUPPRESS,
	HX_MESSAGE_FLAG,
	HX_COUNT
} header_export;

/* header_row.flags */
#define HF_NO_TWIN 0x1  /* edit.c refuses PS_INTERNET_HEADERS/<name>: another property writes it (2.1.3.2.4) */
#define HF_GENERIC 0x2  /* still a generic header (2.2.3.2.29) when its kind does not take it */

typedef struct header_row {
	const char *name;          /* the field name, as the writer spells it */
	uint32_t tag;              /* the property it maps to, or 0 (a group, a named one, none) */
	header_import import;
	header_export export;
	int param;                 /* HI_RECIPIENTS/HX_RECIPIENTS: type; HI_IMPORTANCE: rank */
	unsigned flags;            /* HF_* */
	uint32_t edit[4];          /* properties a file write may change, 0-terminated (design.md 4) */
	const char *oxcmail;       /* MS-OXCMAIL section(s): reader / writer; "-" none known */
} header_row;

extern const header_row header_table[];
extern const size_t header_table_len;

/* The row of field @name (any case), or NULL; borrowed from the table. */
const header_row *header_find(const char *name);

/* Whether field @name, whose row is @row (header_find(name), may be NULL),
 * gets a PS_INTERNET_HEADERS property of its own name (MS-OXCMAIL
 * 2.2.3.2.29) rather than none or a mapped one. */
bool header_row_is_generic(const header_row *row, const char *name);
/* header_row_is_generic(header_find(@name), @name) */
bool header_is_generic(const char *name);

/* Whether a file write may change tagged property @tag because the writer
 * makes a header field from it (the @edit column). */
bool header_tag_is_editable(uint32_t tag);

/* Content-Language (MS-OXCMAIL 2.2.3.2.11, 2.1.3.2.16): the LCID of language
 * tag @tag (any case), 0 if unknown; the language tag of @lcid, NULL if
 * unknown (a static string). */
int header_lcid_from_tag(const char *tag);
const char *header_lcid_tag(int64_t lcid);

#endif /* MAPPER_HEADERS_H */
