/*
 * tests/bench/dense.c - the dense LeNet (FC layers as convolutions) over a
 * canvas against sliding the original LeNet over the same windows (every
 * stride pixels, batches of 256): time of each, the speed-up, and the
 * largest difference between their probabilities.  Usage: dense SIDE REPS
 * (a SIDE x SIDE canvas of Fashion-MNIST items; the best of REPS runs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

#define FM "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

int
main(int argc, char **argv)
{
	int side = argc > 1 ? atoi(argv[1]) : 280, reps = argc > 2 ? atoi(argv[2]) : 3;
	uint64_t shape[3] = { 28, 28, 1 };
	struct dl_net_opts no = { .seed = 1, .device = "cpu" };
	struct dl_net *net = dl_net_new("20C5-MP2-50C5-MP2-FC256-FC10", 3, shape, &no), *d;
	struct dl_array_in *a = dl_idx_open(FM);
	const void *it;
	float *canvas = calloc((size_t)side * side, sizeof *canvas), *pd, *ps, *win;
	int p, q, k, st, B = 256;
	double t0, td = 1e9, tsl = 1e9, worst = 0;

	if (!net || !a || !canvas)
		return fprintf(stderr, "dense: %s\n", dl_errmsg()), 1;
	for (int c = 0; c < (side / 28) * (side / 28) && dl_array_next(a, &it) == 1; c++)
		for (int y = 0; y < 28; y++)
			for (int x = 0; x < 28; x++)
				canvas[(long)((c / (side / 28)) * 28 + y) * side + (c % (side / 28)) * 28 + x] =
				    ((const uint8_t *)it)[y * 28 + x] / 255.0f;
	dl_array_close(a);
	if (!(d = dl_net_dense(net, side, side, &no)))
		return fprintf(stderr, "dense: %s\n", dl_errmsg()), 1;
	st = dl_net_total_stride(net);
	pd = malloc((size_t)dl_net_outputs(d) * sizeof *pd);
	ps = malloc((size_t)dl_net_outputs(d) * sizeof *ps);
	win = malloc((size_t)B * 784 * sizeof *win);
	for (int r = 0; r < reps; r++) {
		t0 = dl_now();
		if (dl_dense_probs(d, canvas, 1, pd, dl_net_outputs(d), &p, &q, &k) < 0)
			return fprintf(stderr, "dense: %s\n", dl_errmsg()), 1;
		td = fmin(td, dl_now() - t0);
		t0 = dl_now();
		for (long i0 = 0; i0 < (long)p * q; i0 += B) {
			int nb = (long)p * q - i0 < B ? (int)((long)p * q - i0) : B;
			for (int b = 0; b < nb; b++) {
				int i = (int)((i0 + b) / q), j = (int)((i0 + b) % q);
				for (int y = 0; y < 28; y++)
					memcpy(win + b * 784 + y * 28,
					    canvas + (long)(i * st + y) * side + j * st, 28 * sizeof *win);
			}
			if (dl_net_forward_f32(net, win, nb, 0) < 0 ||
			    dl_net_probs(net, ps + i0 * 10, (long)nb * 10) < 0)
				return fprintf(stderr, "dense: %s\n", dl_errmsg()), 1;
		}
		tsl = fmin(tsl, dl_now() - t0);
	}
	for (long i = 0; i < (long)p * q * k; i++)
		worst = fmax(worst, fabs(pd[i] - ps[i]));
	printf("canvas %dx%d, %dx%d windows (stride %d): dense %.4f s, sliding %.4f s, "
	    "speed-up %.1fx, worst |dp| %.3g\n", side, side, p, q, st, td, tsl, tsl / td, worst);
	return worst <= 1e-5 ? 0 : 1;
}
