/*
 * dl-fid: the Frechet distance between two sets of images as a classifier
 * sees them (FID with a model of one's own), and what the classifier
 * predicts for each set: how many images a class and the mean top
 * probability.  How a generator (dl-gan, dl-generate) is scored.  The
 * work is lib/fid.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "fid.h"

static const char usage_text[] =
    "usage: dl-fid MODEL [options] A.dls B.dls\n"
    "Print the Frechet distance between the images of A and B (streams of samples\n"
    "or batches, tensor x; '-' is stdin), in the activations of one layer of the\n"
    "classifier MODEL, and the classifier's predictions for each set.\n"
    "  -l, --layer NAME      the layer (default: the one before the last with weights)\n"
    "      --limit N         at most N images of each set\n"
    "  -d, --device D        cpu, cuda, cuda:N, auto (default $DL_DEVICE, else auto)\n"
    "      --threads N       CPU threads (default: OpenMP's)\n"
    "  -q, --quiet           no messages; -v, --verbose\n"
    "  -h, --help            this text; -V, --version: the version\n"
    "Output, a line each: fid D; images NA NB; top_prob PA PB (the mean top\n"
    "probability); classes_a and classes_b (the fraction predicted as each class);\n"
    "min_class MA MB (the smallest of those fractions).\n";

/* The layer before the output: the last fc/conv/tconv before the last one,
 * with the non-linearity it has ("fc1" of ...-FC256-D50-FC10). */
static const char *
default_layer(const struct dl_net *net)
{
	struct dl_layer_info li;
	int seen = 0;

	for (int i = dl_net_layers(net) - 1; i >= 0; i--) {
		dl_net_layer_info(net, i, &li);
		if (li.params > 0 && strcmp(li.kind, "bn") && seen++)
			return li.name;
	}
	return NULL;
}

static void
fractions(const char *key, const struct dl_fid_set *a, const struct dl_fid_set *b)
{
	const struct dl_fid_set *s[2] = { a, b };

	for (int i = 0; i < 2; i++) {
		printf("classes_%c", 'a' + i);
		for (int j = 0; j < s[i]->k; j++)
			printf(" %.4f", (double)s[i]->count[j] / s[i]->n);
		printf("\n");
	}
	printf("%s", key);
	for (int i = 0; i < 2; i++) {
		long lo = s[i]->count[0];

		for (int j = 1; j < s[i]->k; j++)
			if (s[i]->count[j] < lo)
				lo = s[i]->count[j];
		printf(" %.4f", (double)lo / s[i]->n);
	}
	printf("\n");
}

int
main(int argc, char *argv[])
{
	enum { LIMIT = 256 };
	static const struct option longopts[] = {
		{ "layer", required_argument, NULL, 'l' }, { "limit", required_argument, NULL, LIMIT },
		DL_DEVICE_LONGOPTS, { "threads", required_argument, NULL, DL_OPT_THREADS },
		{ "quiet", no_argument, NULL, 'q' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct dl_net_opts no = { 0 };
	struct dl_fid_set a, b;
	const char *layer = NULL;
	struct dl_net *net;
	long limit = 0;
	double fid;
	int ch, rc;

	dl_setprogname(argv[0]);
	dl_omp_init();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":l:d:qvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': layer = optarg; break;
		case LIMIT: limit = dl_arg_long(optarg, "--limit", 2, 1L << 40); break;
		default:
			if (!dl_opt_device(ch, &no))
				dl_opt_common(ch, argv, NULL, usage_text);
		}
	}
	if (argc - optind != 3)
		dl_usage_die("expected MODEL A.dls B.dls");
	if (!strcmp(argv[optind + 1], "-") && !strcmp(argv[optind + 2], "-"))
		dl_usage_die("only one of A and B can be stdin");
	dl_device_check(&no);
	if (!(net = dl_model_load(argv[optind], &no, NULL)))
		dl_die("%s", dl_errmsg());
	dl_msg_device(net);
	if (!layer && !(layer = default_layer(net)))
		dl_usage_die("%s: no layer before the output; give --layer", argv[optind]);
	if (dl_net_find_layer(net, layer) < 0)
		dl_usage_die("--layer: %s", dl_errmsg());
	if ((rc = dl_fid_set_stream(net, layer, argv[optind + 1], limit, &a)) < 0 ||
	    (rc = dl_fid_set_stream(net, layer, argv[optind + 2], limit, &b)) < 0)
		dl_fail(rc, NULL);
	if ((rc = dl_frechet(a.d, a.mean, a.cov, b.mean, b.cov, &fid)) < 0)
		dl_fail(rc, NULL);
	dl_msg("layer %s: %d values an image", layer, a.d);
	printf("fid %.4f\nimages %ld %ld\ntop_prob %.4f %.4f\n", fid, a.n, b.n, a.top / a.n,
	    b.top / b.n);
	fractions("min_class", &a, &b);
	if (fflush(stdout) == EOF || ferror(stdout))
		dl_die("stdout:");
	dl_fid_set_fini(&a);
	dl_fid_set_fini(&b);
	dl_net_free(net);
	return 0;
}
