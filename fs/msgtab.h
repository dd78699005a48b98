/*
 * msgtab.h - a folder's listing, packed (msgtab.c).  Needs only GLib, so
 * that tests/unit/test-msgtab.c can check it on its own.
 */
#ifndef MAPIFS_MSGTAB_H
#define MAPIFS_MSGTAB_H

#include <stdbool.h>
#include <stddef.h>

/* A folder's listing (msgtab.c): message name -> the rest of its file
 * name and whether it is in new/, packed (a folder may hold a million). */
typedef struct msgtab msgtab;
typedef struct msgent {
	const char *name;    /* the message name (Maildir unique name, .eml stem) */
	size_t name_len;
	const char *suffix;  /* what follows it in the file name: ":2,FLAGS", ".eml", "" */
	bool in_new;         /* a Maildir message in new/ */
} msgent;
msgtab *msgtab_new(void);
void msgtab_free(msgtab *t);
size_t msgtab_count(const msgtab *t);
/* Look @name up; @e (may be NULL) then points into the table, valid until
 * it next changes. */
bool msgtab_get(const msgtab *t, const char *name, msgent *e);
/* Add @name, or replace its entry; false (nothing changed) if the name
 * or the suffix is longer than a file name can be (255 bytes). */
bool msgtab_put(msgtab *t, const char *name, const char *suffix, bool in_new);
/* The same for file name @file: its first @name_len bytes are the name,
 * the rest the suffix. */
bool msgtab_put_file(msgtab *t, const char *file, size_t name_len, bool in_new);
bool msgtab_remove(msgtab *t, const char *name);
/* Make room in the index for @n entries in all, so that adding them does
 * not rebuild it again and again. */
void msgtab_reserve(msgtab *t, size_t n);
/* Every entry, in the order added: *@pos starts at 0; the table must not
 * change meanwhile. */
bool msgtab_next(const msgtab *t, size_t *pos, msgent *e);
/* Bytes allocated for the table. */
size_t msgtab_bytes(const msgtab *t);

#endif
