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

/* entry: state byte, name length, suffix length (a file name has at most
 * NAME_MAX = 255 bytes), name, NUL, suffix, NUL: the lengths let a scan
 * skip from entry to entry and compare names without strlen */
enum { ENT_DEAD = 0, ENT_CUR = 1, ENT_NEW = 2 };
#define ENT_HEAD 3

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

static uint64_t hash_name(const msgtab *t, const char *name, size_t n)
{
	/* eight bytes at a time from a per-table seed, each word mixed in by
	 * a multiply and a rotation; the length and a final mix spread it */
	uint64_t h = t->seed ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, name + i, 8);
		h = ((h ^ w) * UINT64_C(0x9e3779b97f4a7c15));
		h = h << 29 | h >> 35;
	}
	uint64_t w = 0;
	memcpy(&w, name + i, n - i);
	return mix(h ^ w);
}

static uint64_t tag_of(uint64_t h)
{
	return h >> OFF_BITS;
}

static size_t offset_of(uint64_t s)
{
	return (size_t)(s & OFF_MASK) - 1;
}

static size_t entry_bytes(const char *p)
{
	return ENT_HEAD + (unsigned char)p[1] + 1 + (unsigned char)p[2] + 1;
}

/* Whether the entry at @p is named @name of @n bytes. */
static bool entry_is(const char *p, const char *name, size_t n)
{
	return (unsigned char)p[1] == n && memcmp(p + ENT_HEAD, name, n) == 0;
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
static size_t probe(const msgtab *t, const char *name, size_t n, uint64_t h, bool *found)
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
		} else if (s >> OFF_BITS == tag && entry_is(t->arena + offset_of(s), name, n)) {
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
	e->name_len = (unsigned char)p[1];
	e->name = p + ENT_HEAD;
	e->suffix = e->name + e->name_len + 1;
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
		size_t off = (size_t)(e.name - ENT_HEAD - t->arena);
		uint64_t h = hash_name(t, e.name, e.name_len);
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

void msgtab_reserve(msgtab *t, size_t n)
{
	size_t want = 16;
	while (want < n * 2)
		want *= 2;
	if (want > t->nslots && (t->count + t->tombs + 1) * 4 <= want * 3)
		rebuild_index(t, want);
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
	size_t n = strlen(name);
	size_t i = probe(t, name, n, hash_name(t, name, n), &found);
	if (found && e)
		read_entry(t, offset_of(t->slot[i]), e);
	return found;
}

static bool put(msgtab *t, const char *name, size_t nl, const char *suffix, size_t sl, bool in_new)
{
	if (nl > 255 || sl > 255)
		return false;
	size_t need = ENT_HEAD + nl + 1 + sl + 1;
	grow_index(t);
	uint64_t h = hash_name(t, name, nl);
	bool found;
	size_t i = probe(t, name, nl, h, &found);
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
	p[1] = (char)nl;
	p[2] = (char)sl;
	memcpy(p + ENT_HEAD, name, nl);
	p[ENT_HEAD + nl] = '\0';
	memcpy(p + ENT_HEAD + nl + 1, suffix, sl + 1);
	t->len += need;
	t->slot[i] = tag_of(h) << OFF_BITS | (off + 1);
	t->count++;
	if (t->dead > 65536 && t->dead > t->len / 2)
		compact(t);
	return true;
}

bool msgtab_put(msgtab *t, const char *name, const char *suffix, bool in_new)
{
	return put(t, name, strlen(name), suffix, strlen(suffix), in_new);
}

bool msgtab_put_file(msgtab *t, const char *file, size_t name_len, bool in_new)
{
	return put(t, file, name_len, file + name_len, strlen(file + name_len), in_new);
}

bool msgtab_remove(msgtab *t, const char *name)
{
	if (!t->count)
		return false;
	bool found;
	size_t n = strlen(name);
	size_t i = probe(t, name, n, hash_name(t, name, n), &found);
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
		*pos += entry_bytes(t->arena + off);
		if (t->arena[off] != ENT_DEAD) {
			read_entry(t, off, e);
			return true;
		}
	}
	return false;
}

size_t msgtab_bytes(const msgtab *t)
{
	return t->cap + t->nslots * sizeof(uint64_t) + sizeof *t;
}
