/*
 * dl-generate: images from a generator model (dl-gan): -n of them from
 * seeded noise, or walks between pairs of noise vectors, as a stream of
 * samples (x f32 [H,W,C] in [0,1]) for dl-export.  The work is lib/gan.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "gan.h"

static const char usage_text[] =
    "usage: dl-generate G.dlm [options]\n"
    "Write images made by a generator (dl-gan -o G.dlm) from seeded noise.\n"
    "  -n, --count N         N images, or N walks with --walk (default 64)\n"
    "      --seed S          the noise (default 1): image i's noise depends on S and i alone\n"
    "      --walk K          K images along a straight line between two noise vectors,\n"
    "                        per walk (dl-export montage --cols K: a walk a row)\n"
    "      --first I         start at image (or walk) I (default 0)\n"
    "  -o, --output FILE     the stream (default stdout); --zstd[=LEVEL]: compressed\n"
    "  -d, --device D        cpu, cuda, cuda:N, auto (default $DL_DEVICE, else auto)\n"
    "      --threads N       CPU threads (default: OpenMP's)\n"
    "  -q, --quiet           no messages; -v, --verbose\n"
    "  -h, --help            this text; -V, --version: the version\n";

struct opts {
	struct dl_io_opts io;
	struct dl_net_opts no;
	const char *model;
	long n, first;
	uint64_t seed;
	int walk;
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	enum { SEED = 256, WALK, FIRST };
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' }, { "seed", required_argument, NULL, SEED },
		{ "walk", required_argument, NULL, WALK }, { "first", required_argument, NULL, FIRST },
		DL_DEVICE_LONGOPTS, { "threads", required_argument, NULL, DL_OPT_THREADS },
		DL_OUT_LONGOPTS, { NULL, 0, NULL, 0 }
	};
	int ch;

	o->n = 64;
	o->seed = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, DL_IO_SHORTOPTS "n:d:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': o->n = dl_arg_long(optarg, "-n", 1, 1L << 30); break;
		case SEED: o->seed = dl_arg_seed(optarg, "--seed"); break;
		case WALK: o->walk = (int)dl_arg_long(optarg, "--walk", 2, 1 << 16); break;
		case FIRST: o->first = dl_arg_long(optarg, "--first", 0, 1L << 40); break;
		default:
			if (!dl_opt_device(ch, &o->no))
				dl_opt_common(ch, argv, &o->io, usage_text);
		}
	}
	if (optind >= argc)
		dl_usage_die("no model: give G.dlm");
	if (optind + 1 < argc)
		dl_usage_die("one model only ('%s' is extra)", argv[optind + 1]);
	o->model = argv[optind];
	dl_device_check(&o->no);
}

int
main(int argc, char *argv[])
{
	struct opts o = { 0 };
	struct dl_record *head = dl_record_new(DL_TAG_HEAD), *rec = dl_record_new(NULL);
	struct dl_writer *out;
	struct dl_net *g;
	float *z, *img;
	long total, k, first;
	int in[3], sh[3], nz, rc = 0;
	struct dl_layer_info li;

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &o);
	if (!head || !rec || !(g = dl_model_load(o.model, &o.no, NULL)))
		dl_die("%s", dl_errmsg());	/* the loader names the file */
	dl_msg_device(g);
	dl_net_input_shape(g, in);
	nz = in[0] * in[1] * in[2];
	dl_net_layer_info(g, dl_net_layers(g) - 1, &li);
	memcpy(sh, li.shape, sizeof sh);
	if (strcmp(li.act, "tanh"))
		dl_warn("%s: the last layer (%s, %s) is not tanh: its outputs are mapped from "
		    "[-1,1] to [0,1] all the same", o.model, li.name, li.token);
	k = dl_net_outputs(g);
	total = o.walk ? o.n * o.walk : o.n;
	first = o.walk ? o.first * o.walk : o.first;
	if (!(z = malloc(256 * (size_t)nz * sizeof *z)) || !(img = malloc(256 * (size_t)k * sizeof *img)))
		dl_die("out of memory");
	dl_record_set(head, "kind", "samples");
	dl_record_set(head, "producer", "dl-generate");
	dl_record_setf(head, "seed", "%llu", (unsigned long long)o.seed);
	if (!(out = dl_writer_open(o.io.out, &o.io.wo)) || dl_writer_head(out, head) < 0)
		dl_die("%s", dl_errmsg());
	for (long i = 0; i < total && rc >= 0; i += 256) {
		long m = total - i < 256 ? total - i : 256;

		if ((rc = dl_gan_latent(z, first + i, m, nz, o.seed, o.walk)) < 0 ||
		    (rc = dl_gan_generate(g, z, m, img)) < 0)
			break;
		for (long j = 0; j < m && rc >= 0; j++) {
			struct dl_tensor *t;

			dl_record_clear(rec, DL_TAG_DATA);
			if (!(t = dl_record_add(rec, "x", DL_F32, 3,
			    (uint64_t[]){ sh[0], sh[1], sh[2] }))) {
				rc = -DL_ENOMEM;
				break;
			}
			memcpy(t->data, img + j * k, k * sizeof(float));
			dl_record_setf(rec, "id", "%ld", first + i + j);
			rc = dl_writer_put(out, rec);
		}
	}
	if (rc < 0)
		dl_writer_die(out, rc);
	if ((rc = dl_writer_close(out)) < 0)
		dl_fail(rc, "write");
	free(z);
	free(img);
	dl_record_free(rec);
	dl_record_free(head);
	dl_net_free(g);
	return 0;
}
