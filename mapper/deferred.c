/*
 * deferred.c - content left in the message file (issue 11): the decoded
 * bytes of a large attachment part, read and decoded from the file when
 * they are read, never held in memory whole.
 *
 * A part is a range of the file and a transfer encoding: base64, or none
 * (7bit, 8bit, binary: the bytes are the content).  Its decoded size is
 * counted once, when the message is loaded, and marks taken on the way
 * let a read start near its offset rather than at the beginning.
 *
 * The decoding is GMime's own (g_mime_encoding_base64_decode_step), fed
 * the way g_mime_data_wrapper_write_to_stream() feeds it: in pieces of
 * 4,096 bytes from the start of the part.  GMime 3.2's decoder gives the
 * same bytes however its input is cut, but its scan for a trailing '=' is
 * done per piece, so the same pieces keep the bytes the same as a load
 * into memory gives should that change (unit-deferred compares them on
 * the corpus and on hostile parts).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "mapper-private.h"

/* g_mime_stream_write_to_stream()'s buffer (gmime-stream.c) */
#define PIECE 4096
/* a mark every 256 pieces: a read starts at most 1 MiB of input before its
 * offset; 137 marks for a 100 MiB attachment */
#define PIECES_PER_MARK 256
/* input read from the file at once */
#define BLOCK (16 * PIECE)

typedef struct mark {
	int64_t raw;        /* file offset of a piece boundary */
	uint64_t dec;       /* decoded bytes before it */
	int state;          /* the decoder's state there */
	guint32 save;
} mark;

struct mapper_deferred {
	gint refs;
	int64_t start, end;     /* the encoded bytes: [start, end) of the file */
	bool base64;
	uint64_t size;          /* decoded */
	GArray *marks;          /* of mark, by offset; marks[0] is the start */
	/* where the last read stopped, so that the next one (a program reads
	 * on from there) does not decode from a mark again */
	GMutex lock;
	mark cursor;
};

ssize_t file_read_at(int fd, void *buf, size_t len, int64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + (int64_t)got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Decode @len (at most PIECE) bytes of input at @in with the state of @at,
 * which moves past them; the output (at most PIECE bytes) goes to @out. */
static size_t decode_piece(const guint8 *in, size_t len, guint8 *out, mark *at)
{
	size_t n = g_mime_encoding_base64_decode_step(in, len, out, &at->state, &at->save);
	at->raw += (int64_t)len;
	at->dec += n;
	return n;
}

/* How many of the @len bytes at @in are base64 characters: comparisons
 * without branches rather than GMime's table, so that the compiler makes
 * vector code of it (GCC 12 does at -O3, so that is asked for here; clang does at -O2), 16
 * bytes a step; 8-bit counts, added up before they can overflow. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O3")))
#endif
static size_t count_base64(const guint8 *in, size_t len)
{
	size_t valid = 0;
	for (size_t i = 0; i < len;) {
		size_t stop = MIN(len, i + 255);
		guint8 part = 0;
		for (; i < stop; i++) {
			guint8 ch = in[i];
			part += (guint8)((guint8)((guint8)(ch | 0x20) - 'a') < 26) |
			        (guint8)((guint8)(ch - '0') < 10) | (guint8)(ch == '+') | (guint8)(ch == '/');
		}
		valid += part;
	}
	return valid;
}

/*
 * Count what decode_piece() would give for @len bytes at @in, moving @at
 * past them, without decoding: the decoded size is needed up front (it is
 * the file's size) and a second decoding pass made the first read of a
 * 100 MiB attachment 1.85x `base64 -d`.  The rules are GMime 3.2's
 * (gmime-encodings.c): a base64 character adds 6 bits and every fourth
 * gives 3 bytes, then the saved bits start from 0; '=' ends the stream
 * (state -1, the pending bits flushed); any other byte is skipped.  A
 * piece holding '=', or met after the end, is left to GMime itself.
 */
static void count_piece(const guint8 *in, size_t len, mark *at)
{
	if (at->state < 0 || at->state > 3) {
		at->raw += (int64_t)len;   /* past the end: GMime decodes nothing more */
		return;
	}
	size_t valid = count_base64(in, len);
	unsigned eq = memchr(in, '=', len) != NULL;
	if (eq) {
		guint8 out[PIECE];
		decode_piece(in, len, out, at);
		return;
	}
	size_t n = (size_t)at->state + valid;
	at->dec += n / 4 * 3;
	at->raw += (int64_t)len;
	int left = (int)(n % 4);
	/* the bits GMime saves: the last @left characters, or, when this piece
	 * has fewer, the ones before it shifted on */
	guint32 saved = 0;
	int found = 0, shift = 0;
	for (size_t i = len; i > 0 && found < left; i--) {
		guint8 ch = in[i - 1];
		int r = ch >= 'A' && ch <= 'Z' ? ch - 'A' : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
		        : ch >= '0' && ch <= '9' ? ch - '0' + 52 : ch == '+' ? 62 : ch == '/' ? 63 : -1;
		if (r < 0)
			continue;
		saved |= (guint32)r << shift;
		shift += 6;
		found++;
	}
	if (found < left)
		saved |= at->save << shift;
	at->state = left;
	at->save = saved;
}

mapper_deferred *deferred_new(int fd, int64_t start, int64_t end, bool base64, int *err)
{
	*err = 0;
	mapper_deferred *d = g_new0(mapper_deferred, 1);
	d->refs = 1;
	d->start = start;
	d->end = end;
	d->base64 = base64;
	d->marks = g_array_new(FALSE, FALSE, sizeof(mark));
	g_mutex_init(&d->lock);
	mark at = { .raw = start };
	g_array_append_val(d->marks, at);
	if (!base64) {
		d->size = (uint64_t)(end - start);
		d->cursor = at;
		return d;
	}
	/* count the decoded bytes: one pass over the part, BLOCK at a time */
	guint8 *in = g_malloc(BLOCK);
	guint64 pieces = 0;
	while (at.raw < end) {
		size_t want = (size_t)MIN((int64_t)BLOCK, end - at.raw);
		ssize_t got = file_read_at(fd, in, want, at.raw);
		if (got < 0 || (size_t)got != want) {
			*err = got < 0 ? (int)-got : EIO;   /* shorter than when it was parsed */
			break;
		}
		for (size_t p = 0; p < want; p += PIECE) {
			count_piece(in + p, MIN((size_t)PIECE, want - p), &at);
			if (++pieces % PIECES_PER_MARK == 0 && at.raw < end)
				g_array_append_val(d->marks, at);
		}
	}
	g_free(in);
	if (*err) {
		mapper_deferred_unref(d);
		return NULL;
	}
	d->size = at.dec;
	d->cursor = g_array_index(d->marks, mark, 0);
	return d;
}

mapper_deferred *mapper_deferred_ref(mapper_deferred *d)
{
	g_atomic_int_inc(&d->refs);
	return d;
}

void mapper_deferred_unref(mapper_deferred *d)
{
	if (!d || !g_atomic_int_dec_and_test(&d->refs))
		return;
	g_array_free(d->marks, TRUE);
	g_mutex_clear(&d->lock);
	g_free(d);
}

uint64_t mapper_deferred_size(const mapper_deferred *d)
{
	return d->size;
}

size_t deferred_footprint(const mapper_deferred *d)
{
	return sizeof *d + d->marks->len * sizeof(mark) + 64;
}

/* The last mark at or before decoded offset @off (binary search). */
static mark mark_before(const mapper_deferred *d, uint64_t off)
{
	guint lo = 0, hi = d->marks->len;
	while (hi - lo > 1) {
		guint mid = lo + (hi - lo) / 2;
		if (g_array_index(d->marks, mark, mid).dec <= off)
			lo = mid;
		else
			hi = mid;
	}
	return g_array_index(d->marks, mark, lo);
}

ssize_t mapper_deferred_pread(mapper_deferred *d, int fd, void *buf, size_t size, uint64_t off)
{
	if (off >= d->size || size == 0)
		return 0;
	size = (size_t)MIN((uint64_t)size, d->size - off);
	if (!d->base64) {
		ssize_t n = file_read_at(fd, buf, size, d->start + (int64_t)off);
		return n >= 0 && (size_t)n != size ? -EIO : n;
	}

	/* start from the cursor when it is at or before @off and no further
	 * from it than the mark before @off; the lock is not held while decoding */
	mark at = mark_before(d, off);
	g_mutex_lock(&d->lock);
	if (d->cursor.dec <= off && d->cursor.dec >= at.dec)
		at = d->cursor;
	g_mutex_unlock(&d->lock);

	guint8 *in = g_malloc(BLOCK);
	guint8 out[PIECE];
	size_t done = 0;
	ssize_t err = 0;
	mark next = at;          /* the piece boundary where the next read may start */
	while (done < size && at.raw < d->end) {
		size_t want = (size_t)MIN((int64_t)BLOCK, d->end - at.raw);
		ssize_t got = file_read_at(fd, in, want, at.raw);
		if (got < 0 || (size_t)got != want) {
			err = got < 0 ? got : -EIO;
			break;
		}
		for (size_t p = 0; p < want && done < size; p += PIECE) {
			mark before = at;
			size_t n = decode_piece(in + p, MIN((size_t)PIECE, want - p), out, &at);
			/* the piece's output covers decoded [before.dec, at.dec) */
			uint64_t want_at = off + done;
			if (at.dec > want_at) {
				size_t from = (size_t)(want_at - before.dec);
				size_t take = MIN(n - from, size - done);
				memcpy((char *)buf + done, out + from, take);
				done += take;
			}
			/* a later read of what follows starts at the piece that holds
			 * it: this one if it was not read to its end */
			next = off + done < at.dec ? before : at;
		}
	}
	g_free(in);
	if (err)
		return err;
	if (done != size)
		return -EIO;    /* the part decodes to less than when it was counted */
	g_mutex_lock(&d->lock);
	d->cursor = next;
	g_mutex_unlock(&d->lock);
	return (ssize_t)done;
}
