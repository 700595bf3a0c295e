/*
 * dl-convert: a model in, a model out.  --dense turns every fully
 * connected layer into a convolution (FC after an h x h map: a conv with
 * an h x h kernel; later FCs: 1x1 convs) with the same weights, so the
 * network runs over images larger than it was trained on and gives a map
 * of class scores; --input HxW builds the model for another input size.
 * The work is lib/dense.c (dl_net_dense, dl_net_derive).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-convert [--dense] [--input HxW] [-o OUT] MODEL\n"
    "Write MODEL converted: fully connected layers as convolutions, another input size.\n"
    "      --dense        FCn after an h x h x c map becomes nCh, later FCs nC1\n"
    "      --input HxW    build for H x W inputs (e.g. 280x280; channels stay)\n"
    "  -o, --output FILE  write there (atomically) instead of stdout\n"
    "  -d, --device D     where to build the net (default cpu)\n"
    "      --threads N    CPU threads (default: OpenMP's)\n"
    "  -v, --verbose      say what became what\n"
    "  -q, --quiet; -h, --help; -V, --version\n";

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "dense", no_argument, NULL, 'D' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		DL_DEVICE_LONGOPTS, DL_THREADS_LONGOPT,
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct dl_net_opts no = { .device = "cpu" };
	struct dl_net *net, *conv;
	struct dl_record *head;
	const char *output = "-";
	int c, dense = 0, h = 0, w = 0, in[3], rc;
	char *end;

	dl_setprogname(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:d:vqhV", lo, NULL)) != -1) {
		switch (c) {
		case 'D': dense = 1; break;
		case 'i':
			h = (int)strtol(optarg, &end, 10);
			if (*end == 'x' || *end == 'X')
				w = (int)strtol(end + 1, &end, 10);
			if (*end || h < 1 || w < 1 || h > 1 << 16 || w > 1 << 16)
				dl_usage_die("--input: expected HxW such as 280x280, not '%s'", optarg);
			break;
		case 'o': output = optarg; break;
		default:
			if (!dl_opt_device(c, &no))	/* -o is ours: a model */
				dl_opt_common(c, argv, NULL, usage_text);
		}
	}
	if (optind != argc - 1)
		dl_usage_die(optind < argc ? "expected one MODEL" : "missing MODEL");
	if (!dense && !h)
		dl_usage_die("nothing to do: give --dense and/or --input HxW");
	if (!(head = dl_record_new(DL_TAG_HEAD)))
		dl_die("%s", dl_errmsg());
	if (!(net = dl_model_load(argv[optind], &no, head)))
		dl_die("%s", dl_errmsg());	/* it names the file */
	dl_net_input_shape(net, in);
	conv = dense ? dl_net_dense(net, h, w, &no) : dl_net_derive(net, NULL, h, w, &no);
	if (!conv)
		dl_die("%s: %s", argv[optind], dl_errmsg());
	if (dense) {
		/* where each output position looks: an in[0] x in[1] window every stride pixels */
		dl_record_setf(head, "dense_window", "%d,%d", in[0], in[1]);
		dl_record_setf(head, "dense_stride", "%d", dl_net_total_stride(net));
	}
	dl_record_set(head, "converted_from", dl_net_desc(net));
	if ((rc = dl_model_save(output, conv, NULL, head)) < 0)
		dl_fail(rc, output);
	if (dl_verbose)
		dl_msg("%s -> %s", dl_net_desc(net), dl_net_desc(conv));
	dl_net_free(conv);
	dl_net_free(net);
	dl_record_free(head);
	return 0;
}
