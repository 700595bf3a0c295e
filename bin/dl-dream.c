/*
 * dl-dream: images by gradient ascent on the input of a trained network.
 * --layer NAME is Deep Dream (raise the L2 norm of that layer's
 * activation, over octaves, with jitter; the layers up to NAME run over
 * the whole image, whatever its size); --class K raises the score of class
 * K (from noise: fooling images).  Images come from the stream (converted
 * to the model's channels) or, with --noise N, from uniform noise.  The
 * work is lib/dream.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-dream [options] (--layer NAME | --class K) MODEL [FILE]\n"
    "Gradient ascent on images: Deep Dream on a layer, or a class's score.\n"
    "  -l, --layer NAME       maximise ||activation||^2 of this layer (conv2, ...)\n"
    "  -c, --class K          maximise the score (logit) of class K\n"
    "      --steps N          steps per octave (default 20)\n"
    "  -e, --step-size F      mean pixel change per step (default 0.01)\n"
    "      --octaves N        octaves, coarse to fine (default 1; --layer only)\n"
    "      --octave-scale F   size ratio between octaves (default 1.4)\n"
    "  -j, --jitter PX        random roll of up to PX pixels each step (default 0)\n"
    "      --clip             keep pixels in [0, 1] after every step\n"
    "      --noise N          start from N images of uniform noise (model's size)\n"
    "      --seed S           jitter and noise (default 1)\n"
    "  -d, --device D         cpu, cuda[:N], auto (default $DL_DEVICE, else auto)\n"
    "      --threads N        CPU threads (default: OpenMP's)\n"
    "  -o, --output FILE      write there (atomically) instead of stdout\n"
    "  -v, --verbose          the objective before and after, per image\n"
    "  -q, --quiet; -h, --help; -V, --version\n";

struct opts {
	struct dl_dream_opts d;
	int has_class;
	long noise;
	const char *model, *input;
	struct dl_net_opts no;	/* -d */
	struct dl_io_opts io;	/* -o */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	enum { O_OCT = 256, O_OSCALE, O_CLIP, O_NOISE, O_SEED };
	static const struct option lo[] = {
		{ "layer", required_argument, NULL, 'l' },
		{ "class", required_argument, NULL, 'c' },
		{ "steps", required_argument, NULL, 'n' },
		{ "step-size", required_argument, NULL, 'e' },
		{ "octaves", required_argument, NULL, O_OCT },
		{ "octave-scale", required_argument, NULL, O_OSCALE },
		{ "jitter", required_argument, NULL, 'j' },
		{ "clip", no_argument, NULL, O_CLIP },
		{ "noise", required_argument, NULL, O_NOISE },
		{ "seed", required_argument, NULL, O_SEED },
		DL_DEVICE_LONGOPTS, DL_THREADS_LONGOPT,
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*o = (struct opts){ .d = { .steps = 20, .step_size = 0.01f, .octaves = 1,
	    .octave_scale = 1.4f, .seed = 1 } };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:c:e:j:d:o:vqhV", lo, NULL)) != -1) {
		switch (c) {
		case 'l': o->d.layer = optarg; break;
		case 'c':
			o->d.cls = (int)dl_arg_long(optarg, "--class", 0, 1 << 20);
			o->has_class = 1;
			break;
		case 'n': o->d.steps = (int)dl_arg_long(optarg, "--steps", 1, 1000000); break;
		case 'e': o->d.step_size = (float)dl_arg_double(optarg, "--step-size", 1e-9, 1e6); break;
		case O_OCT: o->d.octaves = (int)dl_arg_long(optarg, "--octaves", 1, 32); break;
		case O_OSCALE:
			o->d.octave_scale = (float)dl_arg_double(optarg, "--octave-scale", 1.01, 16);
			break;
		case 'j': o->d.jitter = (int)dl_arg_long(optarg, "--jitter", 0, 1 << 16); break;
		case O_CLIP: o->d.lo = 0, o->d.hi = 1; break;
		case O_NOISE: o->noise = dl_arg_long(optarg, "--noise", 1, 1L << 30); break;
		case O_SEED: o->d.seed = dl_arg_seed(optarg, "--seed"); break;
		default:
			if (!dl_opt_device(c, &o->no))
				dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	dl_args_model_input(argc, argv, &o->model, &o->input);
	if (!o->d.layer == !o->has_class)
		dl_usage_die("give one of --layer NAME and --class K");
	if (o->noise && o->input)
		dl_usage_die("--noise makes its own images: no input FILE");
	if (o->has_class && o->d.octaves > 1)
		dl_usage_die("--octaves: only with --layer (--class runs at the model's input size)");
}

/* Dream on image t (any channels; converted to the model's) and put the
 * result as x (f32) into rec with the objective as key/values. */
static int
dream_one(struct dl_dream *d, struct dl_net *net, const struct opts *o,
    const struct dl_tensor *t, struct dl_record *rec, uint64_t index)
{
	struct dl_dream_result r;
	struct dl_tensor *x;
	int in[3], h, w, rc;
	float *img;

	dl_net_input_shape(net, in);
	if ((rc = dl_explain_image(t, in[2], &img, &h, &w)) < 0)
		return rc;
	if ((rc = dl_dream_run(d, img, h, w, index, &r)) < 0) {
		free(img);
		return rc;
	}
	dl_record_remove(rec, "x");
	if (!(x = dl_record_add(rec, "x", DL_F32, 3,
	    (uint64_t[]){ (uint64_t)h, (uint64_t)w, (uint64_t)in[2] }))) {
		free(img);
		return -DL_ENOMEM;
	}
	memcpy(x->data, img, x->nbytes);
	free(img);
	if (o->d.layer)
		dl_record_setf(rec, "dream", "l2:%s", o->d.layer);
	else
		dl_record_setf(rec, "dream", "class:%d", o->d.cls);
	dl_record_setf(rec, "dream_before", "%.6g", r.before);
	dl_record_setf(rec, "dream_after", "%.6g", r.after);
	if (dl_verbose)
		dl_msg("image %llu: %s %.6g -> %.6g (%d octave%s)", (unsigned long long)index,
		    o->d.layer ? "||a||" : "p(class)", r.before, r.after, r.octaves,
		    r.octaves == 1 ? "" : "s");
	return 0;
}

/* The output HEAD: the input's (or an empty one), kind=samples, and the
 * model's class names when the input has none. */
static void
out_head(struct dl_record *head, struct dl_reader *in)
{
	const char *classes = dl_record_get(head, "classes");
	char *cl = classes ? strdup(classes) : NULL;

	dl_record_clear(head, DL_TAG_HEAD);
	if (in && dl_record_copy(head, dl_reader_head(in)) < 0)
		dl_die("%s", dl_errmsg());
	dl_record_set(head, "kind", "samples");
	if (cl && !dl_record_get(head, "classes"))
		dl_record_set(head, "classes", cl);
	free(cl);
}

/* --noise N: dream on N images of uniform noise. */
static int
dream_noise(struct dl_dream *d, struct dl_net *net, const struct opts *o, struct dl_writer *out,
    struct dl_record *rec)
{
	int rc = 0, in[3];
	uint64_t shape[3];

	dl_net_input_shape(net, in);
	for (int i = 0; i < 3; i++)
		shape[i] = (uint64_t)in[i];
	for (uint64_t n = 0; n < (uint64_t)o->noise && rc >= 0; n++) {
		struct dl_tensor *t;
		dl_record_clear(rec, DL_TAG_DATA);
		if (!(t = dl_record_add(rec, "noise", DL_F32, 3, shape)))
			dl_die("%s", dl_errmsg());
		dl_dream_noise(t->data, (long)dl_tensor_count(t), o->d.seed, n);
		dl_record_setf(rec, "id", "noise-%llu", (unsigned long long)n);
		if ((rc = dream_one(d, net, o, t, rec, n)) < 0 ||
		    (rc = dl_record_remove(rec, "noise")) < 0 ||
		    (rc = dl_writer_put(out, rec)) < 0)
			break;
	}
	return rc;
}

/* What dreaming on a stream needs. */
struct dreamer {
	struct dl_dream *d;
	struct dl_net *net;
	const struct opts *o;
};

/* Dream on sample n's x (n from 1). */
static int
dream_rec(void *arg, struct dl_record *rec, uint64_t n)
{
	struct dreamer *dr = arg;
	struct dl_tensor *x;
	int rc;

	if (!(x = dl_record_find(rec, "x")))
		return dl_seterr(DL_EFORMAT, "record %llu: no tensor x", (unsigned long long)n);
	if ((rc = dream_one(dr->d, dr->net, dr->o, x, rec, n - 1)) < 0)
		dl_errprefix("image %llu", (unsigned long long)n);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct dl_net_opts no = { 0 };
	struct dl_net *net;
	struct dl_dream *d;
	struct dl_reader *in = NULL;
	struct dl_writer *out;
	struct dl_record *rec, *head;
	int rc;

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &o);
	no.device = o.no.device, no.threads = o.no.threads;
	head = dl_record_new(DL_TAG_HEAD);
	if (!(net = dl_model_load(o.model, &no, head)))
		dl_die("%s", dl_errmsg());	/* it names the file */
	dl_msg_device(net);
	if (!(d = dl_dream_new(net, &o.d, &no)))
		dl_usage_die("%s", dl_errmsg());
	if (!o.noise) {
		if (!(in = dl_reader_open(o.input, NULL)) || !dl_reader_head(in))
			dl_die("%s", dl_errmsg());
		if (dl_head_batched(dl_reader_head(in)))
			dl_die("%s: batches: dream on samples (before dl-batch)", dl_reader_name(in));
		dl_warn_prep(head, dl_reader_head(in));
	}
	out_head(head, in);	/* a stream of samples carrying the model's class names */
	if (!(out = dl_writer_open(o.io.out, NULL)) || dl_writer_head(out, head) < 0)
		dl_die("%s", dl_errmsg());
	rec = dl_record_new(NULL);
	rc = o.noise ? dream_noise(d, net, &o, out, rec) :
	    dl_filter_data(in, out, rec, dream_rec, &(struct dreamer){ d, net, &o });
	if (rc < 0)
		dl_writer_die(out, rc);
	if ((rc = dl_writer_close(out)) < 0)
		dl_fail(rc, "write");
	dl_record_free(rec);
	dl_record_free(head);
	if (in)
		dl_reader_close(in);
	dl_dream_free(d);
	dl_net_free(net);
	return 0;
}
