/*
 * dl-saliency: where a trained network looks.  Adds a tensor "saliency"
 * (height x width, f32) to every sample (or batch) of the stream: the
 * gradient of a class score with respect to the image, the drop in the
 * class probability when a window of the image is hidden, or (dense) the
 * class probability of the window around each pixel over an image larger
 * than the model's input.  The work is lib/saliency.c and lib/dense.c.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-saliency [options] MODEL [FILE]\n"
    "Add a tensor \"saliency\" (height x width) to each sample of a stream.\n"
    "  -m, --method M     gradient (|d score/d x|, max over channels; default),\n"
    "                     occlusion (drop of p(class) under a sliding window),\n"
    "                     dense (p(class) over a larger image, model run as convolutions;\n"
    "                     also adds \"probs\" [P,Q,K])\n"
    "  -c, --class C      a class number, predicted (default) or label (y)\n"
    "      --score S      gradient of: logprob (log p(class); default), logit, prob\n"
    "      --smooth N     gradient: SmoothGrad, the mean map of N noisy copies (default 0: none)\n"
    "      --noise S      SmoothGrad noise sd, a fraction of each image's range (default 0.15)\n"
    "      --seed S       SmoothGrad noise seed (default 0); sample i draws stream i\n"
    "  -w, --window N     occlusion window side in pixels (default 6); -s, --stride N:\n"
    "                     its step (default window/2)\n"
    "  -d, --device D     cpu, cuda[:N], auto (default $DL_DEVICE, else auto)\n"
    "      --threads N    CPU threads (default: OpenMP's)\n"
    "  -o, --output FILE  write there (atomically) instead of stdout\n"
    "  -q, --quiet        no messages; -v, --verbose: the device even off a terminal\n"
    "  -h, --help         this text; -V, --version: the version\n";

enum { M_GRADIENT, M_OCCLUSION, M_DENSE };

struct opts {
	int method;
	struct dl_saliency_opts sal;
	int cls;		/* >= 0, or -1 predicted, -2 label */
	int window, stride;
	const char *model, *input;
	struct dl_net_opts no;	/* -d */
	struct dl_io_opts io;	/* -o */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option lo[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "class", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'w' },
		{ "stride", required_argument, NULL, 's' },
		{ "score", required_argument, NULL, 'S' },
		{ "smooth", required_argument, NULL, 'N' },
		{ "noise", required_argument, NULL, 'Z' },
		{ "seed", required_argument, NULL, 'R' },
		DL_DEVICE_LONGOPTS, DL_THREADS_LONGOPT, { "verbose", no_argument, NULL, 'v' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*o = (struct opts){ .method = M_GRADIENT, .cls = -1, .window = 6,
	    .sal = { .score = DL_SCORE_LOGPROB, .smooth = 0, .noise = 0.15f } };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:c:w:s:d:o:qvhV", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "gradient"))
				o->method = M_GRADIENT;
			else if (!strcmp(optarg, "occlusion"))
				o->method = M_OCCLUSION;
			else if (!strcmp(optarg, "dense"))
				o->method = M_DENSE;
			else
				dl_usage_die("--method: expected gradient, occlusion or dense, not '%s'",
				    optarg);
			break;
		case 'c':
			if (!strcmp(optarg, "predicted"))
				o->cls = -1;
			else if (!strcmp(optarg, "label"))
				o->cls = -2;
			else
				o->cls = (int)dl_arg_long(optarg, "--class", 0, 1 << 20);
			break;
		case 'S':
			if (!strcmp(optarg, "logit"))
				o->sal.score = DL_SCORE_LOGIT;
			else if (!strcmp(optarg, "logprob"))
				o->sal.score = DL_SCORE_LOGPROB;
			else if (!strcmp(optarg, "prob"))
				o->sal.score = DL_SCORE_PROB;
			else
				dl_usage_die("--score: expected logit, logprob or prob, not '%s'", optarg);
			break;
		case 'N': o->sal.smooth = (int)dl_arg_long(optarg, "--smooth", 0, 1 << 16); break;
		case 'Z': o->sal.noise = (float)dl_arg_double(optarg, "--noise", 0, 100); break;
		case 'R': o->sal.seed = (uint64_t)dl_arg_long(optarg, "--seed", 0, LONG_MAX); break;
		case 'w': o->window = (int)dl_arg_long(optarg, "--window", 1, 1 << 16); break;
		case 's': o->stride = (int)dl_arg_long(optarg, "--stride", 1, 1 << 16); break;
		default:
			if (!dl_opt_device(c, &o->no))
				dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	dl_args_model_input(argc, argv, &o->model, &o->input);
	if (!o->stride)
		o->stride = o->window > 1 ? o->window / 2 : 1;
	if (o->method == M_DENSE && o->cls == -2)
		dl_usage_die("--class label: not with --method dense (give a class number)");
}

/* The dense net for h x w images (padded), rebuilt when the size changes. */
static struct dl_net *
dense_for(struct dl_net *model, int h, int w, const struct dl_net_opts *no)
{
	static struct dl_net *d;
	static int dh, dw;
	int pad[4];

	if (d && dh == h && dw == w)
		return d;
	dl_net_free(d);
	dl_dense_padding(model, h, w, pad);
	if (!(d = dl_net_dense(model, pad[2], pad[3], no)))
		return NULL;
	dh = h;
	dw = w;
	return d;
}

/* Dense maps of n images x[n,h,w,c]: probs [n,P,Q,K] into rec, the
 * saliency into sal[n,h,w]. */
static int
dense(struct dl_net *model, const struct dl_net_opts *no, struct dl_record *rec,
    const float *x, int n, int h, int w, int cls, float *sal)
{
	struct dl_net *d = dense_for(model, h, w, no);
	int pqk[3], rc;
	long need;
	float *pr;
	struct dl_tensor *t;

	if (!d)
		return -DL_ESHAPE;
	need = (long)n * dl_net_outputs(d);
	dl_record_remove(rec, "probs");
	if (!(pr = malloc((size_t)need * sizeof *pr)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	if ((rc = dl_saliency_dense(model, d, x, n, h, w, cls, pr, need, pqk, sal)) < 0)
		goto out;
	t = dl_record_add(rec, "probs", DL_F32, n > 1 ? 4 : 3, n > 1 ?
	    (uint64_t[]){ (uint64_t)n, (uint64_t)pqk[0], (uint64_t)pqk[1], (uint64_t)pqk[2] } :
	    (uint64_t[]){ (uint64_t)pqk[0], (uint64_t)pqk[1], (uint64_t)pqk[2] });
	if (!t)
		rc = -DL_EUSAGE;
	else
		memcpy(t->data, pr, t->nbytes);
out:
	free(pr);
	return rc;
}

static int
one_record(const struct opts *o, struct dl_net *net, const struct dl_net_opts *no,
    struct dl_record *rec, int batched, uint64_t *nsamples)
{
	struct dl_saliency_opts so = o->sal;
	struct dl_tensor *x = dl_record_find(rec, "x"), *y = dl_record_find(rec, "y"), *t;
	int in[3], n, h, w, c, *cls, rc = 0;
	long hwc;
	float *xf, *sal;

	if (!x)
		return dl_seterr(DL_EFORMAT, "no tensor x");
	dl_net_input_shape(net, in);
	if (dl_image_dims(x, batched, &n, &h, &w, &c) < 0)
		return dl_seterr(DL_ESHAPE, "x: expected an image [H,W] or [H,W,C]");
	if (c != in[2] || (o->method != M_DENSE && (h != in[0] || w != in[1])))
		return dl_seterr(DL_ESHAPE, "x is %dx%dx%d, the model takes %dx%dx%d%s", h, w, c,
		    in[0], in[1], in[2], o->method == M_DENSE ? " or larger" : "");
	hwc = (long)h * w * c;
	xf = malloc((size_t)n * hwc * sizeof *xf);
	sal = calloc((size_t)n * h * w, sizeof *sal);
	cls = malloc((size_t)n * sizeof *cls);
	if (!xf || !sal || !cls) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto out;
	}
	dl_to_f32(x->data, x->dtype, (uint64_t)n * hwc, xf);
	for (int i = 0; i < n; i++) {
		cls[i] = o->cls;
		if (o->cls == -2) {
			if (!y || dl_tensor_count(y) != (uint64_t)n) {
				rc = dl_seterr(DL_EFORMAT, "--class label: no class label y");
				goto out;
			}
			cls[i] = (int)dl_tensor_get(y, (uint64_t)i);
		}
	}
	so.first = *nsamples;		/* SmoothGrad noise: the sample's own stream */
	*nsamples += (uint64_t)n;
	if (o->method == M_GRADIENT)
		rc = dl_saliency_grad(net, xf, n, cls, &so, sal);
	else if (o->method == M_OCCLUSION)
		for (int i = 0; i < n && rc == 0; i++)
			rc = dl_saliency_occlusion(net, xf + i * hwc, cls + i, o->window, o->stride, 0,
			    sal + (long)i * h * w);
	else
		rc = dense(net, no, rec, xf, n, h, w, o->cls, sal);
	if (rc < 0)
		goto out;
	dl_record_remove(rec, "saliency");
	t = dl_record_add(rec, "saliency", DL_F32, batched ? 3 : 2, batched ?
	    (uint64_t[]){ (uint64_t)n, (uint64_t)h, (uint64_t)w } :
	    (uint64_t[]){ (uint64_t)h, (uint64_t)w });
	if (!t) {
		rc = -DL_ENOMEM;
		goto out;
	}
	memcpy(t->data, sal, (size_t)n * h * w * sizeof *sal);
out:
	free(xf);
	free(sal);
	free(cls);
	return rc;
}

/* What one record needs. */
struct job {
	const struct opts *o;
	struct dl_net *net;
	const struct dl_net_opts *no;
	int batched;
	uint64_t samples;	/* so far */
};

static int
saliency_rec(void *arg, struct dl_record *rec, uint64_t n)
{
	struct job *j = arg;
	int rc = one_record(j->o, j->net, j->no, rec, j->batched, &j->samples);

	if (rc < 0)
		dl_errprefix("record %llu", (unsigned long long)n);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const char *names[] = { "gradient", "occlusion", "dense" };
	struct opts o;
	struct dl_net_opts no = { 0 };
	struct dl_net *net;
	struct dl_reader *in;
	struct dl_writer *out;
	struct dl_record *rec, *head;
	int rc, batched;

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &o);
	no.device = o.no.device, no.threads = o.no.threads;
	head = dl_record_new(DL_TAG_HEAD);	/* the model's, then the output's */
	if (!head || !(net = dl_model_load(o.model, &no, head)))
		dl_die("%s", dl_errmsg());	/* it names the file */
	dl_msg_device(net);
	if (!(in = dl_reader_open(o.input, NULL)))
		dl_die("%s", dl_errmsg());
	if (!dl_reader_head(in))
		dl_die("%s", dl_errmsg());
	batched = dl_head_batched(dl_reader_head(in));
	dl_warn_prep(head, dl_reader_head(in));
	if (!(out = dl_writer_open(o.io.out, NULL)))
		dl_die("%s", dl_errmsg());
	if (dl_record_copy(head, dl_reader_head(in)) < 0 ||
	    dl_record_set(head, "saliency", names[o.method]) < 0 || dl_writer_head(out, head) < 0)
		dl_die("%s", dl_errmsg());
	rec = dl_record_new(NULL);
	rc = dl_filter_data(in, out, rec, saliency_rec, &(struct job){ &o, net, &no, batched, 0 });
	if (rc < 0)
		dl_writer_die(out, rc);
	if ((rc = dl_writer_close(out)) < 0)
		dl_fail(rc, "write");
	dl_record_free(rec);
	dl_record_free(head);
	dl_reader_close(in);
	dl_net_free(net);
	return 0;
}
