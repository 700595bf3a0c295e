/*
 * tests/bench/perf-train.c - dlpipe twin of tests/bench/perf-torch.py:
 * train one net for one epoch (or LIMIT samples) of Fashion-MNIST, batch
 * 128, Adam lr 1e-3, one untimed warm-up batch, and print
 * "dlpipe NAME SAMPLES/S".  Built and run by tests/bench/perf-train.sh.
 * usage: perf-train mlp|lenet|vgg|DESCRIPTION [THREADS] [LIMIT] [BATCH]
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
	long cap = 60000L * 784 + 16;

	if (!f)
		dl_die("%s:", name);
	if (!(buf = malloc(cap)))
		dl_die("out of memory");
	gzread(f, hdr, (unsigned)skip);
	*n = gzread(f, buf, (unsigned)cap);
	gzclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "lenet", *desc = name;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	long limit = argc > 3 ? atol(argv[3]) : 60000, nx, ny;
	int bs = argc > 4 ? atoi(argv[4]) : 128;
	uint8_t *x, *y;
	uint64_t sh[3] = { 28, 28, 1 };
	struct dl_net *net;
	struct dl_opt *o;
	struct dl_tensor tx = { .name = "x", .dtype = DL_U8, .ndim = 4 };
	struct dl_tensor ty = { .name = "y", .dtype = DL_U8, .ndim = 1 };
	struct dl_loss_stats st;
	long n, seen = 0;
	double t0, dt;

	dl_setprogname("perf-train");
	if (!strcmp(name, "mlp"))
		desc = "FC256-FC256-FC10";
	else if (!strcmp(name, "lenet"))
		desc = "20C5-MP2-50C5-MP2-FC256-FC10";
	else if (!strcmp(name, "vgg"))
		desc = "32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10";
	x = idx(DIR "train-images-idx3-ubyte.gz", 16, &nx);
	y = idx(DIR "train-labels-idx1-ubyte.gz", 8, &ny);
	n = ny < limit ? ny : limit;
	if (!(net = dl_net_new(desc, 3, sh, &(struct dl_net_opts){ .device = "cpu", .seed = 1,
	    .threads = threads })))
		dl_die("%s", dl_errmsg());
	o = dl_opt_new(net, &(struct dl_opt_conf){ .kind = DL_OPT_ADAM, .lr = 1e-3 });
	tx.shape[0] = bs, tx.shape[1] = 28, tx.shape[2] = 28, tx.shape[3] = 1;
	tx.nbytes = (size_t)bs * 784;
	ty.shape[0] = bs, ty.nbytes = bs;
	t0 = 0;
	for (long b = -bs; b + bs <= n; b += bs) {
		if (b == 0)
			t0 = dl_now();	/* after the warm-up batch */
		tx.data = x + (b < 0 ? 0 : b) * 784;
		ty.data = y + (b < 0 ? 0 : b);
		if (dl_net_forward(net, &tx, 1) < 0 || dl_net_loss(net, &ty, 1, &st) < 0 ||
		    dl_net_backward(net, DL_BACK_PARAMS) < 0 || dl_opt_step(o) < 0)
			dl_die("%s", dl_errmsg());
		if (b >= 0)
			seen += bs;
	}
	dt = dl_now() - t0;
	/* a hash of the trained weights: the same for every thread count */
	uint64_t hash = 14695981039346656037ULL;
	for (int i = 0; i < dl_net_params(net); i++) {
		struct dl_param_info pi;
		float *h;

		dl_net_param_info(net, i, &pi);
		if (!(h = malloc(pi.n * sizeof *h)) || dl_net_param_get(net, i, h) < 0)
			dl_die("params");
		for (size_t j = 0; j < pi.n * sizeof *h; j++)
			hash = (hash ^ ((uint8_t *)h)[j]) * 1099511628211ULL;
		free(h);
	}
	printf("dlpipe %s %.0f samples/s (%ld samples, %.2f s, loss %.4f, weights %016llx)\n",
	    name, seen / dt, seen, dt, st.loss / st.n, (unsigned long long)hash);
	dl_opt_free(o);
	dl_net_free(net);
	free(x);
	free(y);
	return 0;
}
