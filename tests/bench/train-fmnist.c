/*
 * tests/bench/train-fmnist.c - train a network on Fashion-MNIST straight
 * from the IDX files (no pipeline), report samples/s and test accuracy.
 * Build and run (not part of make test):
 *   make B=build/x && cc -O2 -fopenmp -Ilib -Iformats tests/bench/train-fmnist.c \
 *     build/x/lib/libdlpipe.a -ldnnl -lopenblas -lzstd -lz -lm -o /tmp/tf && \
 *   /tmp/tf '20C5-MP2-50C5-MP2-FC256-FC10' EPOCHS [BATCH] [THREADS] [LIMIT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dlpipe.h"

#define DIR "/usr/share/datasets/fashion-mnist/"

static uint8_t *
idx(const char *name, long skip, long *n)
{
	gzFile f = gzopen(name, "rb");
	uint8_t hdr[16];
	uint8_t *buf;
	long cap = 60000L * 784 + 16, got;

	if (!f)
		dl_die("%s:", name);
	buf = malloc(cap);
	gzread(f, hdr, (unsigned)skip);
	got = gzread(f, buf, (unsigned)cap);
	gzclose(f);
	*n = got;
	return buf;
}

int
main(int argc, char **argv)
{
	const char *desc = argc > 1 ? argv[1] : "20C5-MP2-50C5-MP2-FC256-FC10";
	int epochs = argc > 2 ? atoi(argv[2]) : 1, bs = argc > 3 ? atoi(argv[3]) : 128;
	int threads = argc > 4 ? atoi(argv[4]) : 2;
	long limit = argc > 5 ? atol(argv[5]) : 60000, nx, ny, ntx, nty;
	uint8_t *x = idx(DIR "train-images-idx3-ubyte.gz", 16, &nx);
	uint8_t *y = idx(DIR "train-labels-idx1-ubyte.gz", 8, &ny);
	uint8_t *xt = idx(DIR "t10k-images-idx3-ubyte.gz", 16, &ntx);
	uint8_t *yt = idx(DIR "t10k-labels-idx1-ubyte.gz", 8, &nty);
	uint64_t sh[3] = { 28, 28, 1 };
	struct dl_net *net = dl_net_new(desc, 3, sh, &(struct dl_net_opts){ .device = "cpu",
	    .seed = 1, .threads = threads });
	struct dl_opt *o;
	struct dl_tensor tx = { .name = "x", .dtype = DL_U8, .ndim = 4 };
	struct dl_tensor ty = { .name = "y", .dtype = DL_U8, .ndim = 1 };
	struct dl_loss_stats st;
	long n = ny < limit ? ny : limit;
	char sum[4096];

	dl_setprogname("train-fmnist");
	if (!net)
		dl_die("%s", dl_errmsg());
	o = dl_opt_new(net, &(struct dl_opt_conf){ .kind = DL_OPT_ADAM, .lr = 1e-3,
	    .sched = DL_SCHED_COSINE, .epochs = epochs });
	dl_net_summary(net, sum, sizeof sum);
	fputs(sum, stderr);
	for (int e = 0; e < epochs; e++) {
		double t0 = dl_now(), loss = 0;
		long correct = 0, seen = 0;

		for (long b = 0; b + bs <= n; b += bs) {
			dl_opt_set_progress(o, e + (double)b / n);
			tx.shape[0] = bs, tx.shape[1] = 28, tx.shape[2] = 28, tx.shape[3] = 1;
			tx.data = x + b * 784, tx.nbytes = (size_t)bs * 784;
			ty.shape[0] = bs, ty.data = y + b, ty.nbytes = bs;
			if (dl_net_forward(net, &tx, 1) < 0 || dl_net_loss(net, &ty, 1, &st) < 0 ||
			    dl_net_backward(net, DL_BACK_PARAMS) < 0 || dl_opt_step(o) < 0)
				dl_die("%s", dl_errmsg());
			loss += st.loss, correct += st.correct, seen += st.n;
		}
		double dt = dl_now() - t0;
		long tc = 0;
		for (long b = 0; b < nty; b += 500) {
			tx.shape[0] = 500, tx.data = xt + b * 784, tx.nbytes = 500 * 784;
			ty.shape[0] = 500, ty.data = yt + b, ty.nbytes = 500;
			dl_net_forward(net, &tx, 0);
			dl_net_loss(net, &ty, 0, &st);
			tc += st.correct;
		}
		fprintf(stderr, "epoch %d: train loss %.4f acc %.4f  test acc %.4f  %.1f s  %.0f samples/s\n",
		    e + 1, loss / seen, (double)correct / seen, (double)tc / nty, dt, seen / dt);
	}
	dl_opt_free(o);
	dl_net_free(net);
	return 0;
}
