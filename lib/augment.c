/*
 * augment.c - dl_augment_image() (lib/image.c) over the images of many
 * records at once, on threads, each image drawing from its own random
 * stream so that the bytes do not depend on the thread count; and the
 * colour PCA that lighting uses, from a statistics file (lib/stats.c).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "image.h"

#define MAX_THREADS 64
#define GRAIN 16		/* images a thread takes at a time */

int
dl_augment_load_pca(struct dl_augment *a, const char *path)
{
	struct dl_whiten w;
	int rc;

	if ((rc = dl_whiten_load(&w, path)) < 0)
		return rc;
	if (!w.eigvec || w.scope != DL_SCOPE_CHANNEL || w.d > 4) {
		dl_whiten_fini(&w);
		return dl_seterr(DL_EFORMAT, "%s: not a colour PCA (fit one with dl-whiten --fit pca)",
		    path);
	}
	a->light_c = w.d;
	memcpy(a->eigval, w.eigval, w.d * sizeof *w.eigval);
	memcpy(a->eigvec, w.eigvec, (size_t)w.d * w.d * sizeof *w.eigvec);
	dl_whiten_fini(&w);
	return 0;
}

int
dl_augment_batch_init(struct dl_augment_batch *b, const struct dl_tensor *t, int batched)
{
	int lead = batched ? 1 : 0;
	char desc[128];

	if ((t->dtype != DL_U8 && t->dtype != DL_F32) ||
	    dl_image_dims(t, batched, &b->n, &b->h, &b->w, &b->c) < 0)
		return dl_seterr(DL_EFORMAT, "tensor '%s' is %s, not an image (H x W [x C], u8 or "
		                 "f32)%s", t->name, dl_tensor_desc(t, desc, sizeof desc),
		                 lead ? " in a batch" : "");
	if (!b->h || !b->w || !b->c)
		return dl_seterr(DL_EFORMAT, "tensor '%s' is %s, an empty image", t->name,
		                 dl_tensor_desc(t, desc, sizeof desc));
	b->src = t->data;
	b->dtype = t->dtype;
	if (t->shape[lead] > 1 << 16 || t->shape[lead + 1] > 1 << 16 || b->c > 1 << 16 ||
	    t->shape[0] > 1 << 30)
		return dl_seterr(DL_EFORMAT, "image too large");
	return 0;
}

/* Threads take GRAIN images at a time from a shared counter: which thread
 * does an image changes nothing in its bytes.  Plain threads that block
 * when done, not OpenMP's spinning ones, as the rest of a pipeline needs
 * the cores too. */
struct work {
	const struct dl_augment *a;
	uint64_t seed;
	const struct dl_augment_batch *b;
	int n_b;
	const uint64_t *start;	/* per batch: the index of its first image in the run */
	uint64_t total;		/* images */
	_Atomic uint64_t next;
	_Atomic int bad;
};

/* Image j of the run: find its batch, transform it.  0 or -1. */
static int
one_image(struct work *wk, uint64_t j)
{
	int i = 0, lo = 0, hi = wk->n_b - 1, oh, ow;

	while (lo <= hi) {	/* the batch holding image j */
		int mid = (lo + hi) / 2;
		if (wk->start[mid] <= j) {
			i = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	const struct dl_augment_batch *b = &wk->b[i];
	uint64_t k = j - wk->start[i];
	struct dl_rng r;
	size_t in_sz = (size_t)b->h * b->w * b->c * dl_dtype_size(b->dtype), out_sz;

	dl_augment_out_size(wk->a, b->h, b->w, &oh, &ow);
	out_sz = (size_t)oh * ow * b->c * dl_dtype_size(dl_augment_out_dtype(wk->a, b->dtype));
	dl_rng_fork(&r, wk->seed, b->first + k);
	return dl_augment_image(wk->a, &r, (const char *)b->src + k * in_sz, b->dtype, b->h, b->w,
	                        b->c, (char *)b->dst + k * out_sz) < 0 ? -1 : 0;
}

static void *
worker(void *arg)
{
	struct work *wk = arg;
	uint64_t j0, j;

	while ((j0 = atomic_fetch_add(&wk->next, GRAIN)) < wk->total)
		for (j = j0; j < j0 + GRAIN && j < wk->total; j++)
			if (one_image(wk, j) < 0)
				atomic_store(&wk->bad, 1);
	return NULL;
}

int
dl_augment_images(const struct dl_augment *a, uint64_t seed, const struct dl_augment_batch *b,
                  int n_b, int threads)
{
	uint64_t total = 0, *start;
	pthread_t th[MAX_THREADS];
	int n_th = 0;
	struct work wk;

	if (n_b <= 0)
		return 0;
	if (!(start = malloc((n_b + 1) * sizeof *start)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (int i = 0; i < n_b; i++) {
		start[i] = total;
		total += b[i].n;
	}
	start[n_b] = total;
	wk = (struct work){ .a = a, .seed = seed, .b = b, .n_b = n_b, .start = start, .total = total };
	atomic_init(&wk.next, 0);
	atomic_init(&wk.bad, 0);
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	for (; n_th < threads - 1 && (uint64_t)(n_th + 1) * GRAIN < total; n_th++)
		if (pthread_create(&th[n_th], NULL, worker, &wk) != 0)
			break;
	worker(&wk);
	for (int i = 0; i < n_th; i++)
		pthread_join(th[i], NULL);
	free(start);
	if (atomic_load(&wk.bad))
		return dl_seterr(DL_ENOMEM, "out of memory transforming images");
	return 0;
}
