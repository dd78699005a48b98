/*
 * prefetch.c - read ahead: while a program walks a folder's messages in
 * the order readdir gave them (find, grep -r, a shell glob, a mail
 * indexer), parse the next ones on another core before it asks.
 *
 * A cold pass over a folder spends a third of its time in the daemon's
 * parse of each message, serially between two requests of the same
 * program (issue 11, scripts/bench.sh row 1).  The kernel reads ahead in
 * files for the same reason.  Like it, this starts only on sequential
 * access: the property lookups of two messages in a row that are
 * neighbours in the folder's last listing (either way round); a random
 * access starts nothing.  It parses at the level the last lookup needed
 * (header-only for PidTagSubject, full for PidTagBody), verifies the
 * signatures when it was under smime/, and only into the cache, whose bounds apply as to any other load, so it can never hold
 * more memory than a reader could make it hold.
 *
 * One worker thread, a queue of a few messages (older ones are dropped:
 * the reader has moved on).  Its own lock, never held across a parse and
 * never taken with mount->lock held.
 */
#include <errno.h>
#include <string.h>

#include "mapifs.h"

/* How many messages ahead of the reader are parsed; the queue holds twice
 * as many before the oldest go. */
#define PREFETCH_AHEAD 2
#define PREFETCH_QUEUE (2 * PREFETCH_AHEAD)

struct name_order {
	gint refs;
	char **names;        /* sorted (strcmp); the array is owned */
	size_t count;
	GPtrArray *keep[2];  /* what the names point into, dropped with the order */
	size_t last;         /* index of the message looked into last, or count */
};

typedef struct {
	folder *f;           /* folders live as long as the mount */
	char *name;
	mapper_load_level level;
	bool smime;          /* work out smime/ too (signatures verified) */
} job;

struct prefetcher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	GHashTable *orders;  /* folder* -> name_order* (a reference) */
	GQueue jobs;         /* of job* */
	bool stop;
	bool running;
	pthread_t thread;
};

name_order *order_new(char **names, size_t count, GPtrArray *keep1, GPtrArray *keep2)
{
	name_order *o = g_new0(name_order, 1);
	o->refs = 1;
	o->names = names;
	o->count = count;
	o->keep[0] = keep1;
	o->keep[1] = keep2;
	o->last = count;
	return o;
}

name_order *order_ref(name_order *o)
{
	g_atomic_int_inc(&o->refs);
	return o;
}

void order_unref(gpointer p)
{
	name_order *o = p;
	if (!o || !g_atomic_int_dec_and_test(&o->refs))
		return;
	g_free(o->names);
	for (int i = 0; i < 2; i++)
		if (o->keep[i])
			g_ptr_array_unref(o->keep[i]);
	g_free(o);
}

static void job_free(gpointer p)
{
	job *j = p;
	g_free(j->name);
	g_free(j);
}

static void *worker(void *arg)
{
	mount *mnt = arg;
	struct prefetcher *p = mnt->prefetch;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		job *j = g_queue_pop_head(&p->jobs);
		if (!j) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		int err = 0;
		cached *c = cache_get(mnt, j->f, j->name, j->level, NULL, &err);
		if (c && j->smime) {
			/* the outer layer's verification, what smime/status needs (not
			 * the content's layers); it holds this message's lock only */
			mapper_node mn;
			mapper_message_stat(cache_lock(c), "smime/status", &mn);
			cache_unlock(c);
		}
		cache_put(mnt, c);
		job_free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int prefetch_start(mount *mnt)
{
	struct prefetcher *p = g_new0(struct prefetcher, 1);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->orders = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, order_unref);
	g_queue_init(&p->jobs);
	mnt->prefetch = p;
	int r = pthread_create(&p->thread, NULL, worker, mnt);
	p->running = r == 0;
	return r;
}

void prefetch_stop(mount *mnt)
{
	struct prefetcher *p = mnt->prefetch;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->running)
		pthread_join(p->thread, NULL);
	g_queue_clear_full(&p->jobs, job_free);
	g_hash_table_unref(p->orders);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	g_free(p);
	mnt->prefetch = NULL;
}

void prefetch_set_order(mount *mnt, folder *f, name_order *o)
{
	struct prefetcher *p = mnt->prefetch;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	g_hash_table_replace(p->orders, f, order_ref(o));
	pthread_mutex_unlock(&p->lock);
}

/* Index of @name in @o, or o->count. */
static size_t find(const name_order *o, const char *name)
{
	size_t lo = 0, hi = o->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->names[mid], name);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return o->count;
}

void prefetch_looked_into(mount *mnt, folder *f, const char *name, const char *inner)
{
	mapper_load_level level = cache_level_for(inner);
	bool smime = strncmp(inner, "smime", 5) == 0 && (!inner[5] || inner[5] == '/');
	struct prefetcher *p = mnt->prefetch;
	if (!p || !p->running)
		return;
	pthread_mutex_lock(&p->lock);
	name_order *o = g_hash_table_lookup(p->orders, f);
	size_t i = o ? find(o, name) : 0;
	if (!o || i == o->count || i == o->last) {
		/* unknown, or the same message again: nothing new learnt */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	/* forwards, or backwards: bash collects a glob's directory entries
	 * in reverse before it sorts them */
	bool known = o->last != o->count;
	int step = known && o->last + 1 == i ? 1 : known && i + 1 == o->last ? -1 : 0;
	o->last = i;
	if (step) {
		/* the messages ahead not queued yet: at the first step of a run
		 * all of them, then the one that came into reach */
		size_t from = g_queue_get_length(&p->jobs) ? PREFETCH_AHEAD : 1;
		for (size_t d = from; d <= PREFETCH_AHEAD; d++) {
			if (step < 0 ? d > i : i + d >= o->count)
				break;
			job *j = g_new(job, 1);
			j->f = f;
			j->name = g_strdup(o->names[step < 0 ? i - d : i + d]);
			j->level = level;
			j->smime = smime;
			g_queue_push_tail(&p->jobs, j);
		}
		while (g_queue_get_length(&p->jobs) > PREFETCH_QUEUE)
			job_free(g_queue_pop_head(&p->jobs));
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}
