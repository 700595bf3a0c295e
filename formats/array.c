/*
 * array.c - read an array file item by item along its first axis, for
 * idx.c and npy.c (which parse the headers).  The item buffer grows only
 * as decoded bytes arrive, so a header promising more than the file holds
 * fails with "truncated" instead of allocating what it claims.
 */
#include <stdlib.h>
#include <string.h>

#include "dls.h"
#include "formats.h"
#include "zread.h"

#define MAX_ITEM ((size_t)1 << 30)	/* one item <= 1 GiB, the record limit */
#define CHUNK ((size_t)1 << 20)		/* grow the buffer by at most this */

struct dl_array_in {
	struct dl_zread *z;
	struct dl_array_info info;
	char what[8];		/* "idx", "npy" */
	int swap;		/* 1: elements are big-endian */
	unsigned char *buf;
	size_t cap;
	uint64_t index;		/* items read */
	int ended;
};

static int
mul_ok(uint64_t a, uint64_t b, uint64_t *r)
{
	return !__builtin_mul_overflow(a, b, r);
}

void
dl_tensor_drop(struct dl_tensor *t)
{
	if (!t)
		return;
	if (t->owned)
		dl_free(t->data);
	memset(t, 0, sizeof *t);
}

struct dl_array_in *
dl_array_start(struct dl_zread *z, const struct dl_array_info *info, int swap, const char *what)
{
	struct dl_array_in *a;
	uint64_t n = 1, total;
	size_t size = dl_dtype_size(info->dtype);
	char dims[160];
	size_t len = 0;

	for (int i = 0; i < info->ndim && len < sizeof dims; i++)
		len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%llu", i ? "x" : "",
		    (unsigned long long)info->shape[i]);
	for (int i = 1; i < info->ndim; i++)
		if (!mul_ok(n, info->shape[i], &n))
			goto toolarge;
	if (!mul_ok(n, size, &n) || n > MAX_ITEM || !mul_ok(n, info->shape[0], &total))
		goto toolarge;
	if (!(a = calloc(1, sizeof *a))) {
		dl_zread_close(z);
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	a->z = z;
	a->info = *info;
	a->info.item_nbytes = (size_t)n;
	a->swap = swap && size > 1;
	snprintf(a->what, sizeof a->what, "%s", what);
	return a;
toolarge:
	dl_seterr(DL_EFORMAT, "%s: %s header declares an array of %s %s, too large "
	    "(at most %zu MiB an item)", dl_zread_name(z), what, dims,
	    dl_dtype_name(info->dtype), MAX_ITEM >> 20);
	dl_zread_close(z);
	return NULL;
}

static void
swap_elems(unsigned char *p, size_t nbytes, size_t size)
{
	for (size_t i = 0; i + size <= nbytes; i += size)
		for (size_t a = 0, b = size - 1; a < b; a++, b--) {
			unsigned char t = p[i + a];
			p[i + a] = p[i + b];
			p[i + b] = t;
		}
}

int
dl_array_next(struct dl_array_in *a, const void **item)
{
	size_t need = a->info.item_nbytes, got = 0, want;
	unsigned char probe;
	long long k;

	*item = NULL;
	if (a->ended)
		return 0;
	if (a->index == a->info.shape[0]) {
		/* Check that the data ends where the header says it does. */
		if ((k = dl_zread(a->z, &probe, 1)) < 0)
			return (int)k;
		if (k > 0)
			return dl_seterr(DL_EFORMAT, "%s: data goes on after the %llu items "
			    "its %s header declares", dl_zread_name(a->z),
			    (unsigned long long)a->info.shape[0], a->what);
		a->ended = 1;
		return 0;
	}
	while (got < need) {
		want = need - got < CHUNK ? need - got : CHUNK;
		if (got + want > a->cap) {
			size_t cap = a->cap ? a->cap : 64;
			unsigned char *p;

			while (cap < got + want)
				cap = cap * 2 < need ? cap * 2 : need;
			if (!(p = dl_realloc(a->buf, a->cap, cap)))
				return -DL_ENOMEM;
			a->buf = p;
			a->cap = cap;
		}
		if ((k = dl_zread(a->z, a->buf + got, want)) < 0)
			return (int)k;
		got += (size_t)k;
		if ((size_t)k < want)
			return dl_seterr(DL_EFORMAT, "%s: truncated: item %llu of %llu has %zu "
			    "of its %zu bytes", dl_zread_name(a->z),
			    (unsigned long long)a->index + 1,
			    (unsigned long long)a->info.shape[0], got, need);
	}
	if (a->swap)
		swap_elems(a->buf, need, dl_dtype_size(a->info.dtype));
	a->index++;
	*item = a->buf ? (const void *)a->buf : (const void *)"";
	return 1;
}

const struct dl_array_info *
dl_array_info(const struct dl_array_in *a)
{
	return &a->info;
}

uint64_t
dl_array_index(const struct dl_array_in *a)
{
	return a->index;
}

void
dl_array_close(struct dl_array_in *a)
{
	if (!a)
		return;
	dl_zread_close(a->z);
	dl_free(a->buf);
	free(a);
}
