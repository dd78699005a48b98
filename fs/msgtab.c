/*
 * msgtab.c - a folder's listing, packed: message name -> the rest of its
 * file name (":2,FLAGS", ".eml" or nothing) and whether it is in new/.
 *
 * A folder may hold a million messages (issue 11, bench --million).  A
 * refcounted block and a GHashTable entry per message cost some 230 bytes
 * each there (M3: 390 MiB after reading every subject, target 256 MiB).
 * Here every entry is its two strings back to back in one arena, and the
 * index is one 8-byte slot per entry, open addressing with linear probing:
 * some 60 bytes a message.
 *
 * Removing an entry marks it dead in the arena; the arena is compacted
 * when dead bytes pass half of it, and the index rebuilt when live and
 * removed slots fill it, so every operation is amortised O(1) and no
 * sequence of changes makes the table grow without bound.  Names come
 * from files other people can create, so the hash is seeded per table.
 */
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "msgtab.h"

/* entry: state byte, name, NUL, suffix, NUL */
enum { ENT_DEAD = 0, ENT_CUR = 1, ENT_NEW = 2 };

/* slot: 0 empty, TOMB removed, else (hash tag << OFF_BITS) | (offset + 1) */
#define OFF_BITS 40
#define OFF_MASK ((UINT64_C(1) << OFF_BITS) - 1)
#define TOMB UINT64_MAX

struct msgtab {
	char *arena;
	size_t len, cap, dead;   /* bytes used, allocated, of dead entries */
	uint64_t *slot;
	size_t nslots;           /* a power of two (0 before the first put) */
	size_t count, tombs;     /* live entries; removed slots */
	uint64_t seed;
};

static uint64_t mix(uint64_t h)
{
	/* MurmurHash3's fmix64: every input bit reaches every output bit */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

static uint64_t hash_name(const msgtab *t, const char *name)
{
	/* FNV-1a over the bytes, from a per-table seed, then mixed */
	uint64_t h = t->seed;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * UINT64_C(0x100000001b3);
	return mix(h);
}

static uint64_t tag_of(uint64_t h)
{
	return h >> OFF_BITS;
}

static size_t offset_of(uint64_t s)
{
	return (size_t)(s & OFF_MASK) - 1;
}

static const char *entry_name(const msgtab *t, uint64_t s)
{
	return t->arena + offset_of(s) + 1;   /* after the state byte */
}

static size_t entry_bytes(const char *p)
{
	size_t n = 1 + strlen(p + 1) + 1;
	return n + strlen(p + n) + 1;
}

msgtab *msgtab_new(void)
{
	msgtab *t = g_new0(msgtab, 1);
	t->seed = (uint64_t)g_random_int() << 32 ^ g_random_int() ^ UINT64_C(0xcbf29ce484222325);
	return t;
}

void msgtab_free(msgtab *t)
{
	if (!t)
		return;
	g_free(t->arena);
	g_free(t->slot);
	g_free(t);
}

size_t msgtab_count(const msgtab *t)
{
	return t->count;
}

/* The slot of @name, or of the place it would go (the first removed slot
 * on its probe path, else the empty one that ends it).  *@found says which. */
static size_t probe(const msgtab *t, const char *name, uint64_t h, bool *found)
{
	size_t mask = t->nslots - 1, i = (size_t)h & mask, free_at = SIZE_MAX;
	uint64_t tag = tag_of(h);
	/* the index is never full (see grow_index), so an empty slot ends this */
	for (;;) {
		uint64_t s = t->slot[i];
		if (s == 0) {
			*found = false;
			return free_at != SIZE_MAX ? free_at : i;
		}
		if (s == TOMB) {
			if (free_at == SIZE_MAX)
				free_at = i;
		} else if (s >> OFF_BITS == tag && strcmp(entry_name(t, s), name) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static void read_entry(const msgtab *t, size_t off, msgent *e)
{
	const char *p = t->arena + off;
	e->in_new = p[0] == ENT_NEW;
	e->name = p + 1;
	e->suffix = e->name + strlen(e->name) + 1;
}

/* Put every live entry into a fresh index of @n slots. */
static void rebuild_index(msgtab *t, size_t n)
{
	g_free(t->slot);
	t->slot = g_new0(uint64_t, n);
	t->nslots = n;
	t->tombs = 0;
	size_t pos = 0;
	msgent e;
	while (msgtab_next(t, &pos, &e)) {
		size_t off = (size_t)(e.name - 1 - t->arena);
		uint64_t h = hash_name(t, e.name);
		size_t i = (size_t)h & (n - 1);
		while (t->slot[i])
			i = (i + 1) & (n - 1);
		t->slot[i] = tag_of(h) << OFF_BITS | (off + 1);
	}
}

/* Copy the live entries to a new arena, dropping the dead ones. */
static void compact(msgtab *t)
{
	char *old = t->arena;
	size_t oldlen = t->len;
	t->cap = t->len - t->dead + 64;
	t->arena = g_malloc(t->cap);
	t->len = 0;
	t->dead = 0;
	for (size_t off = 0; off < oldlen;) {
		size_t n = entry_bytes(old + off);
		if (old[off] != ENT_DEAD) {
			memcpy(t->arena + t->len, old + off, n);
			t->len += n;
		}
		off += n;
	}
	g_free(old);
	rebuild_index(t, t->nslots);
}

/* Room in the index for one more entry: at most 3/4 of it used, removed
 * slots counted, so probes stay short and always end. */
static void grow_index(msgtab *t)
{
	if ((t->count + t->tombs + 1) * 4 <= t->nslots * 3)
		return;
	size_t n = 16;
	while ((t->count + 1) * 2 > n)
		n *= 2;
	rebuild_index(t, n);
}

/* Mark the entry of slot @i dead (the slot still points to it). */
static void kill_entry(msgtab *t, size_t i)
{
	char *p = t->arena + offset_of(t->slot[i]);
	p[0] = ENT_DEAD;
	t->dead += entry_bytes(p);
	t->count--;
}

bool msgtab_get(const msgtab *t, const char *name, msgent *e)
{
	if (!t->count)
		return false;
	bool found;
	size_t i = probe(t, name, hash_name(t, name), &found);
	if (found && e)
		read_entry(t, offset_of(t->slot[i]), e);
	return found;
}

void msgtab_put(msgtab *t, const char *name, const char *suffix, bool in_new)
{
	size_t nl = strlen(name), sl = strlen(suffix), need = 1 + nl + 1 + sl + 1;
	grow_index(t);
	uint64_t h = hash_name(t, name);
	bool found;
	size_t i = probe(t, name, h, &found);
	if (found)
		kill_entry(t, i);   /* replaced: its slot takes the new entry */
	else if (t->slot[i] == TOMB)
		t->tombs--;
	if (t->len + need > t->cap) {
		t->cap = MAX(t->cap * 2, t->len + need + 4096);
		t->arena = g_realloc(t->arena, t->cap);
	}
	size_t off = t->len;
	char *p = t->arena + off;
	p[0] = in_new ? ENT_NEW : ENT_CUR;
	memcpy(p + 1, name, nl + 1);
	memcpy(p + 1 + nl + 1, suffix, sl + 1);
	t->len += need;
	t->slot[i] = tag_of(h) << OFF_BITS | (off + 1);
	t->count++;
	if (t->dead > 65536 && t->dead > t->len / 2)
		compact(t);
}

bool msgtab_remove(msgtab *t, const char *name)
{
	if (!t->count)
		return false;
	bool found;
	size_t i = probe(t, name, hash_name(t, name), &found);
	if (!found)
		return false;
	kill_entry(t, i);
	t->slot[i] = TOMB;
	t->tombs++;
	if (t->dead > 65536 && t->dead > t->len / 2)
		compact(t);
	return true;
}

bool msgtab_next(const msgtab *t, size_t *pos, msgent *e)
{
	while (*pos < t->len) {
		size_t off = *pos;
		read_entry(t, off, e);
		*pos = (size_t)(e->suffix - t->arena) + strlen(e->suffix) + 1;
		if (t->arena[off] != ENT_DEAD)
			return true;
	}
	return false;
}

size_t msgtab_bytes(const msgtab *t)
{
	return t->cap + t->nslots * sizeof(uint64_t) + sizeof *t;
}
