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
	const char *suffix;  /* what follows it in the file name: ":2,FLAGS", ".eml", "" */
	bool in_new;         /* a Maildir message in new/ */
} msgent;
msgtab *msgtab_new(void);
void msgtab_free(msgtab *t);
size_t msgtab_count(const msgtab *t);
/* Look @name up; @e (may be NULL) then points into the table, valid until
 * it next changes. */
bool msgtab_get(const msgtab *t, const char *name, msgent *e);
/* Add @name, or replace its entry. */
void msgtab_put(msgtab *t, const char *name, const char *suffix, bool in_new);
bool msgtab_remove(msgtab *t, const char *name);
/* Every entry, in the order added: *@pos starts at 0; the table must not
 * change meanwhile. */
bool msgtab_next(const msgtab *t, size_t *pos, msgent *e);
/* Bytes allocated for the table. */
size_t msgtab_bytes(const msgtab *t);

#endif
