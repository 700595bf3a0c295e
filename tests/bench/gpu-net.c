/*
 * tests/bench/gpu-net.c - dlpipe's side of tests/bench/gpu.sh: training
 * throughput of a network on Fashion-MNIST (straight from the IDX files,
 * batches taken in order, Adam), or forward+backward throughput on random
 * input of any shape (VGG-16 at 224x224).  Prints one line
 * "samples/s X device D".  The torch twin is tests/bench/gpu_torch.py.
 *   gpu-net fmnist DESC BATCH EPOCHS DEVICE
 *   gpu-net synth DESC H W C CLASSES BATCH STEPS DEVICE
 * The first WARM steps (algorithm choice, allocations) are not timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dlpipe.h"

#define DIR "/usr/share/datasets/fashion-mnist/"
#define WARM 10

static uint8_t *
idx(const char *name, long skip, long cap, long *n)
{
	gzFile f = gzopen(name, "rb");
	uint8_t hdr[16];
	uint8_t *buf = malloc(cap);

	if (!f || !buf)
		dl_die("%s:", name);
	gzread(f, hdr, (unsigned)skip);
	*n = gzread(f, buf, (unsigned)cap);
	gzclose(f);
	return buf;
}

static void
step_or_die(int rc)
{
	if (rc < 0)
		dl_die("%s", dl_errmsg());
}

static void
report(struct dl_net *net, double samples, double secs)
{
	const struct dl_backend *be = dl_net_backend(net);
	char d[256];

	snprintf(d, sizeof d, "%s", be->name);
	if (be->describe)
		be->describe(dl_net_ctx(net), d, sizeof d);
	printf("samples/s %.1f device %s\n", samples / secs, d);
}

static int
fmnist(const char *desc, int bs, int epochs, const char *dev)
{
	long nx, ny;
	uint8_t *x = idx(DIR "train-images-idx3-ubyte.gz", 16, 60000L * 784, &nx);
	uint8_t *y = idx(DIR "train-labels-idx1-ubyte.gz", 8, 60000L, &ny);
	uint64_t sh[3] = { 28, 28, 1 };
	struct dl_net *net = dl_net_new(desc, 3, sh, &(struct dl_net_opts){ .device = dev,
	    .seed = 1 });
	struct dl_tensor tx = { .name = "x", .dtype = DL_U8, .ndim = 4 };
	struct dl_tensor ty = { .name = "y", .dtype = DL_U8, .ndim = 1 };
	struct dl_loss_stats st;
	struct dl_opt *o;
	double t0 = 0, loss = 0;
	long steps = 0, timed = 0;

	if (!net || !(o = dl_opt_new(net, &(struct dl_opt_conf){ .kind = DL_OPT_ADAM, .lr = 1e-3 })))
		dl_die("%s", dl_errmsg());
	for (int e = 0; e < epochs; e++)
		for (long b = 0; b + bs <= ny; b += bs, steps++) {
			if (steps == WARM) {
				step_or_die(dl_net_backend(net)->sync(dl_net_ctx(net)));
				t0 = dl_now();
			}
			tx.shape[0] = bs, tx.shape[1] = 28, tx.shape[2] = 28, tx.shape[3] = 1;
			tx.data = x + b * 784, tx.nbytes = (size_t)bs * 784;
			ty.shape[0] = bs, ty.data = y + b, ty.nbytes = bs;
			step_or_die(dl_net_forward(net, &tx, 1));
			step_or_die(dl_net_loss(net, &ty, 1, &st));
			step_or_die(dl_net_backward(net, DL_BACK_PARAMS));
			step_or_die(dl_opt_step(o));
			loss += st.loss / st.n;
			timed += steps >= WARM ? bs : 0;
		}
	step_or_die(dl_net_backend(net)->sync(dl_net_ctx(net)));
	fprintf(stderr, "gpu-net: %s: %ld steps, mean loss %.4f\n", desc, steps, loss / steps);
	report(net, timed, dl_now() - t0);
	dl_opt_free(o);
	dl_net_free(net);
	free(x), free(y);
	return 0;
}

static int
synth(const char *desc, int h, int w, int c, int classes, int bs, int steps, const char *dev)
{
	uint64_t sh[3] = { h, w, c };
	struct dl_net *net = dl_net_new(desc, 3, sh, &(struct dl_net_opts){ .device = dev,
	    .seed = 1 });
	size_t n = (size_t)bs * h * w * c;
	float *x = malloc(n * sizeof *x);
	int32_t *y = malloc(bs * sizeof *y);
	struct dl_tensor tx = { .name = "x", .dtype = DL_F32, .ndim = 4, .shape = { bs, h, w, c },
	    .data = x, .nbytes = n * sizeof *x };
	struct dl_tensor ty = { .name = "y", .dtype = DL_I32, .ndim = 1, .shape = { bs },
	    .data = y, .nbytes = bs * sizeof *y };
	struct dl_loss_stats st;
	struct dl_rng rng;
	double t0 = 0;

	if (!net || !x || !y)
		dl_die("%s", net ? "out of memory" : dl_errmsg());
	dl_rng_seed(&rng, 1);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)dl_rng_uniform(&rng) - 0.5f;
	for (int i = 0; i < bs; i++)
		y[i] = (int32_t)dl_rng_below(&rng, classes);
	for (int s = 0; s < WARM + steps; s++) {
		if (s == WARM) {
			step_or_die(dl_net_backend(net)->sync(dl_net_ctx(net)));
			t0 = dl_now();
		}
		step_or_die(dl_net_forward(net, &tx, 1));
		step_or_die(dl_net_loss(net, &ty, 1, &st));
		step_or_die(dl_net_backward(net, DL_BACK_PARAMS));
	}
	step_or_die(dl_net_backend(net)->sync(dl_net_ctx(net)));
	report(net, (double)steps * bs, dl_now() - t0);
	dl_net_free(net);
	free(x), free(y);
	return 0;
}

int
main(int argc, char **argv)
{
	dl_setprogname("gpu-net");
	if (argc == 6 && !strcmp(argv[1], "fmnist"))
		return fmnist(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
	if (argc == 10 && !strcmp(argv[1], "synth"))
		return synth(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
		    atoi(argv[7]), atoi(argv[8]), argv[9]);
	dl_usage_die("usage: gpu-net fmnist DESC BATCH EPOCHS DEVICE | "
	    "gpu-net synth DESC H W C CLASSES BATCH STEPS DEVICE");
}
