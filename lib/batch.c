/*
 * batch.c - samples into batches (dl_batcher_*, lib/train.h): a seeded
 * shuffle buffer, then a queue of samples handed out batch_size at a time.
 * A sample is held as one slot: the bytes of its tensors, laid out as the
 * first sample's tensors (the "schema").  dl-batch, dl-train -b and
 * dl-eval use it.
 */
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

struct field {
	char name[DL_MAX_NAME + 1];
	int dtype, ndim;
	uint64_t shape[DL_MAX_NDIM];	/* per sample */
	size_t nbytes;			/* per sample */
	size_t off;			/* in a slot */
};

struct dl_batcher {
	int batch_size;
	long shuffle;		/* buffer size; 0: none */
	uint64_t seed;
	struct dl_rng rng;
	struct field *f;	/* the schema */
	int n_f;
	size_t slot_nbytes;
	char **slot;		/* every slot allocated */
	long n_slot, cap_slot;
	long *free_ids;		/* free slot ids (a stack), room for n_slot */
	long n_free;
	long *pool;		/* shuffle buffer: slot ids */
	long n_pool;
	long *q;		/* ring of slot ids ready for batches */
	long q_cap, q_head, q_len;
};

static size_t
align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

struct dl_batcher *
dl_batcher_new(int batch_size, long shuffle, uint64_t seed)
{
	struct dl_batcher *b;

	if (batch_size < 1 || shuffle < 0) {
		dl_seterr(DL_EUSAGE, "batcher: batch size %d, shuffle buffer %ld", batch_size, shuffle);
		return NULL;
	}
	if (!(b = calloc(1, sizeof *b))) {
		dl_seterr(DL_ENOMEM, "batcher: out of memory");
		return NULL;
	}
	b->batch_size = batch_size;
	b->shuffle = shuffle;
	b->seed = seed;
	dl_rng_fork(&b->rng, seed, 0);
	if (shuffle && !(b->pool = malloc(shuffle * sizeof *b->pool))) {
		free(b);
		dl_seterr(DL_ENOMEM, "batcher: out of memory for a shuffle buffer of %ld", shuffle);
		return NULL;
	}
	return b;
}

static void
drop_slots(struct dl_batcher *b)
{
	for (long i = 0; i < b->n_slot; i++)
		dl_free(b->slot[i]);
	free(b->slot);
	free(b->free_ids);
	b->slot = NULL;
	b->free_ids = NULL;
	b->n_slot = b->cap_slot = b->n_free = 0;
}

void
dl_batcher_free(struct dl_batcher *b)
{
	if (!b)
		return;
	drop_slots(b);
	free(b->f);
	free(b->pool);
	free(b->q);
	free(b);
}

long
dl_batcher_held(const struct dl_batcher *b)
{
	return b->n_pool + b->q_len;
}

void
dl_batcher_epoch(struct dl_batcher *b, uint64_t k)
{
	dl_rng_fork(&b->rng, b->seed, k);
}

/* Does tensor t, less its first skip dimensions, fit field f? */
static int
fits(const struct field *f, const struct dl_tensor *t, int skip)
{
	if (strcmp(f->name, t->name) || f->dtype != t->dtype || f->ndim != t->ndim - skip)
		return 0;
	for (int d = 0; d < f->ndim; d++)
		if (f->shape[d] != t->shape[d + skip])
			return 0;
	return 1;
}

/* Fix the schema from rec (nothing is held). */
static int
set_schema(struct dl_batcher *b, const struct dl_record *rec, int skip)
{
	struct field *f;
	size_t off = 0;

	if (rec->n_tensors == 0)
		return dl_seterr(DL_EFORMAT, "a DATA record without tensors");
	if (!(f = calloc(rec->n_tensors, sizeof *f)))
		return dl_seterr(DL_ENOMEM, "batcher: out of memory");
	for (int i = 0; i < rec->n_tensors; i++) {
		const struct dl_tensor *t = &rec->tensors[i];
		size_t n = dl_dtype_size(t->dtype);

		if (t->ndim < skip) {
			free(f);
			return dl_seterr(DL_ESHAPE, "tensor %s is a scalar in a batch record", t->name);
		}
		snprintf(f[i].name, sizeof f[i].name, "%s", t->name);
		f[i].dtype = t->dtype;
		f[i].ndim = t->ndim - skip;
		for (int d = 0; d < f[i].ndim; d++) {
			f[i].shape[d] = t->shape[d + skip];
			n *= t->shape[d + skip];
		}
		f[i].nbytes = n;
		f[i].off = off;
		off += align64(n);
	}
	free(b->f);
	drop_slots(b);
	b->f = f;
	b->n_f = rec->n_tensors;
	b->slot_nbytes = off ? off : 64;
	return 0;
}

static void
row_desc(const struct dl_tensor *t, int skip, char *buf, size_t n)
{
	struct dl_tensor rt = *t;

	rt.ndim -= skip;
	memmove(rt.shape, rt.shape + skip, rt.ndim * sizeof rt.shape[0]);
	dl_tensor_desc(&rt, buf, n);
}

/* rec's tensors against the schema (set it when nothing is held). */
static int
check(struct dl_batcher *b, const struct dl_record *rec, int skip)
{
	char want[128], got[128];
	int i;

	if (rec->n_tensors == b->n_f) {
		for (i = 0; i < b->n_f && fits(&b->f[i], &rec->tensors[i], skip); i++)
			;
		if (i == b->n_f)
			return 0;
	}
	if (dl_batcher_held(b) == 0)
		return set_schema(b, rec, skip);
	for (i = 0; i < b->n_f; i++) {
		const struct dl_tensor *t = dl_record_find(rec, b->f[i].name);
		struct dl_tensor ft = { .dtype = b->f[i].dtype, .ndim = b->f[i].ndim };

		if (!t)
			return dl_seterr(DL_ESHAPE, "a sample lacks tensor %s that the others have",
			    b->f[i].name);
		memcpy(ft.shape, b->f[i].shape, sizeof ft.shape);
		if (!fits(&b->f[i], t, skip)) {
			row_desc(t, skip, got, sizeof got);
			return dl_seterr(DL_ESHAPE, "sample tensor %s is %s where earlier samples had %s",
			    t->name, got, dl_tensor_desc(&ft, want, sizeof want));
		}
	}
	for (i = 0; i < rec->n_tensors; i++) {
		int j;

		for (j = 0; j < b->n_f && strcmp(b->f[j].name, rec->tensors[i].name); j++)
			;
		if (j == b->n_f)
			return dl_seterr(DL_ESHAPE, "a sample has tensor %s that earlier samples lack",
			    rec->tensors[i].name);
	}
	return 0;	/* same tensors in another order */
}

static long
slot_get(struct dl_batcher *b)
{
	if (b->n_free)
		return b->free_ids[--b->n_free];
	if (b->n_slot == b->cap_slot) {
		long cap = b->cap_slot ? 2 * b->cap_slot : 256;
		char **s = realloc(b->slot, cap * sizeof *s);
		long *fr;

		if (!s)
			return dl_seterr(DL_ENOMEM, "batcher: out of memory");
		b->slot = s;
		if (!(fr = realloc(b->free_ids, cap * sizeof *fr)))
			return dl_seterr(DL_ENOMEM, "batcher: out of memory");
		b->free_ids = fr;
		b->cap_slot = cap;
	}
	if (!(b->slot[b->n_slot] = dl_alloc(b->slot_nbytes)))
		return dl_seterr(DL_ENOMEM, "batcher: out of memory for a sample of %zu bytes",
		    b->slot_nbytes);
	return b->n_slot++;
}

static int
q_push(struct dl_batcher *b, long id)
{
	if (b->q_len == b->q_cap) {
		long cap = b->q_cap ? 2 * b->q_cap : 2 * (long)b->batch_size + 16;
		long *q = malloc(cap * sizeof *q);

		if (!q)
			return dl_seterr(DL_ENOMEM, "batcher: out of memory");
		for (long i = 0; i < b->q_len; i++)
			q[i] = b->q[(b->q_head + i) % b->q_cap];
		free(b->q);
		b->q = q;
		b->q_cap = cap;
		b->q_head = 0;
	}
	b->q[(b->q_head + b->q_len++) % b->q_cap] = id;
	return 0;
}

/* One sample: row 'row' of rec's tensors (skip = 1) or rec itself. */
static int
put_one(struct dl_batcher *b, const struct dl_record *rec, int skip, uint64_t row)
{
	long id = slot_get(b), j;
	char *s;

	if (id < 0)
		return (int)id;
	s = b->slot[id];
	for (int i = 0; i < b->n_f; i++) {
		const struct dl_tensor *t = &rec->tensors[i];
		const struct field *f = &b->f[i];

		if (strcmp(t->name, f->name))
			t = dl_record_find(rec, f->name);
		memcpy(s + f->off, (const char *)t->data + row * f->nbytes, f->nbytes);
	}
	if (!b->shuffle)
		return q_push(b, id);
	if (b->n_pool < b->shuffle) {
		b->pool[b->n_pool++] = id;
		return 0;
	}
	j = (long)dl_rng_below(&b->rng, b->shuffle);
	if (q_push(b, b->pool[j]) < 0) {
		b->free_ids[b->n_free++] = id;
		return -DL_ENOMEM;
	}
	b->pool[j] = id;
	return 0;
}

int
dl_batcher_put(struct dl_batcher *b, const struct dl_record *rec, int batched)
{
	uint64_t n = 1;
	int rc;

	if ((rc = check(b, rec, batched ? 1 : 0)) < 0)
		return rc;
	if (batched) {
		n = rec->tensors[0].shape[0];
		for (int i = 1; i < rec->n_tensors; i++)
			if (rec->tensors[i].shape[0] != n)
				return dl_seterr(DL_ESHAPE, "batch tensors %s and %s differ in length "
				    "(%llu, %llu)", rec->tensors[0].name, rec->tensors[i].name,
				    (unsigned long long)n, (unsigned long long)rec->tensors[i].shape[0]);
	}
	for (uint64_t r = 0; r < n; r++)
		if ((rc = put_one(b, rec, batched ? 1 : 0, r)) < 0)
			return rc;
	return 0;
}

void
dl_batcher_end(struct dl_batcher *b)
{
	/* Fisher-Yates on the buffer, then all of it into the queue. */
	for (long i = b->n_pool - 1; i > 0; i--) {
		long j = (long)dl_rng_below(&b->rng, (uint64_t)i + 1), t = b->pool[i];

		b->pool[i] = b->pool[j];
		b->pool[j] = t;
	}
	for (long i = 0; i < b->n_pool; i++)
		if (q_push(b, b->pool[i]) < 0) {	/* out of memory: keep the rest */
			memmove(b->pool, b->pool + i, (b->n_pool - i) * sizeof *b->pool);
			b->n_pool -= i;
			return;
		}
	b->n_pool = 0;
}

int
dl_batcher_get(struct dl_batcher *b, struct dl_record *out, int partial)
{
	long n = b->q_len < b->batch_size ? b->q_len : b->batch_size;

	if (n == 0 || (n < b->batch_size && !partial))
		return 0;
	dl_record_clear(out, DL_TAG_DATA);
	for (int i = 0; i < b->n_f; i++) {
		const struct field *f = &b->f[i];
		uint64_t shape[DL_MAX_NDIM];
		struct dl_tensor *t;

		if (f->ndim + 1 > DL_MAX_NDIM)
			return dl_seterr(DL_ESHAPE, "tensor %s has %d dimensions: no room for a batch "
			    "dimension", f->name, f->ndim);
		shape[0] = (uint64_t)n;
		memcpy(shape + 1, f->shape, f->ndim * sizeof shape[0]);
		if (!(t = dl_record_add(out, f->name, f->dtype, f->ndim + 1, shape)))
			return -DL_ENOMEM;
		for (long k = 0; k < n; k++)
			memcpy((char *)t->data + k * f->nbytes,
			    b->slot[b->q[(b->q_head + k) % b->q_cap]] + f->off, f->nbytes);
	}
	for (long k = 0; k < n; k++)
		b->free_ids[b->n_free++] = b->q[(b->q_head + k) % b->q_cap];
	b->q_head = (b->q_head + n) % b->q_cap;
	b->q_len -= n;
	return 1;
}

long
dl_batcher_drop(struct dl_batcher *b)
{
	long n = dl_batcher_held(b);

	for (long k = 0; k < b->q_len; k++)
		b->free_ids[b->n_free++] = b->q[(b->q_head + k) % b->q_cap];
	for (long k = 0; k < b->n_pool; k++)
		b->free_ids[b->n_free++] = b->pool[k];
	b->q_len = b->q_head = b->n_pool = 0;
	return n;
}

int
dl_head_batched(const struct dl_record *head)
{
	const char *k = head ? dl_record_get(head, "kind") : NULL;

	return k && !strcmp(k, "batches");
}

int
dl_head_merge(struct dl_record *first, const struct dl_record *h, const char *src)
{
	const char *kind = dl_record_get(h, "kind"), *k0 = dl_record_get(first, "kind");
	const char *classes = dl_record_get(h, "classes"), *c0 = dl_record_get(first, "classes");

	if (k0 && kind && strcmp(k0, kind))
		return dl_seterr(DL_EFORMAT, "%s: kind '%s' does not match the first stream's '%s'",
		    src, dl_esc(kind), dl_esc(k0));
	if (c0 && classes && strcmp(c0, classes))
		return dl_seterr(DL_EFORMAT, "%s: classes differ from the first stream's", src);
	if (!c0 && classes)
		return dl_record_set(first, "classes", classes);
	return 0;
}

long
dl_record_samples(const struct dl_record *rec, int batched)
{
	const struct dl_tensor *t;

	if (!batched)
		return 1;
	if (!(t = dl_record_find(rec, "x")) && rec->n_tensors > 0)
		t = &rec->tensors[0];
	return t && t->ndim > 0 ? (long)t->shape[0] : 1;
}
