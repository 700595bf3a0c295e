/*
 * mkbatches.c - write a stream of N f32 batch records (x [256,28,28,1],
 * y i32[256]) for tests/bench/cat.sh; about 0.8 MB a record.
 * usage: mkbatches OUT N
 */
#include <stdlib.h>

#include "dlpipe.h"

int
main(int argc, char *argv[])
{
	uint64_t xs[4] = { 256, 28, 28, 1 }, ys[1] = { 256 };
	struct dl_writer *w;
	struct dl_record *h, *r;
	struct dl_tensor *x, *y;
	struct dl_rng rng;
	float *xp;
	int32_t *yp;
	long i, n;
	int rc;

	dl_setprogname(argv[0]);
	if (argc != 3)
		dl_usage_die("usage: mkbatches OUT N");
	n = dl_arg_long(argv[2], "N", 1, 1L << 30);
	if (!(w = dl_writer_open(argv[1], NULL)) || !(h = dl_record_new(DL_TAG_HEAD)) ||
	    !(r = dl_record_new(DL_TAG_DATA)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_record_set(h, "kind", "batches")) < 0 || (rc = dl_writer_put(w, h)) < 0)
		dl_fail(rc, argv[1]);
	if (!(x = dl_record_add(r, "x", DL_F32, 4, xs)) || !(y = dl_record_add(r, "y", DL_I32, 1, ys)))
		dl_die("%s", dl_errmsg());
	xp = x->data;
	yp = y->data;
	dl_rng_seed(&rng, 1);
	for (i = 0; i < n; i++) {
		for (uint64_t j = 0; j < 256 * 28 * 28; j++)
			xp[j] = (float)dl_rng_uniform(&rng);
		for (int j = 0; j < 256; j++)
			yp[j] = (int32_t)dl_rng_below(&rng, 10);
		if ((rc = dl_writer_put(w, r)) < 0)
			dl_fail(rc, argv[1]);
	}
	if ((rc = dl_writer_close(w)) < 0)
		dl_fail(rc, argv[1]);
	return 0;
}
