/*
 * onnx-cmd.c - the onnx formats of dl-import and dl-export: their flags
 * and messages, around lib/onnx-import.c and lib/onnx-export.c.  Part of
 * the program kit (lib/kit/kit.h): dl-import.c and dl-export.c hand their
 * arguments here when the format is "onnx", so they stay thin.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

static const char import_usage[] =
    "usage: dl-import onnx MODEL.onnx [-o FILE] [--input-scale S] [-qv]\n"
    "Turn an ONNX network (a chain of Conv, Gemm, MatMul+Add, BatchNormalization,\n"
    "pooling and non-linearities; see dl-import(1)) into a dlpipe model.\n"
    "  -o, --output FILE     write FILE atomically instead of stdout\n"
    "      --input-scale S   the ONNX model takes S times dlpipe's [0, 1] inputs\n"
    "                        (255 for a model of 0..255 images): folded into the\n"
    "                        first layer's weights\n"
    "  -q, --quiet           no messages; -v, --verbose: the description on stderr\n"
    "  -h, --help            this text; -V, --version: the version\n";

int
dl_onnx_import_cmd(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "input-scale", required_argument, NULL, 's' },
		DL_OUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct dl_onnx_import_opts o = { 0 };
	struct dl_onnx_import_info info;
	struct dl_io_opts io = { 0 };
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 's')
			o.input_scale = dl_arg_double(optarg, "--input-scale", 1e-6, 1e6);
		else if (c == DL_OPT_ZSTD)
			dl_usage_die("onnx: --zstd is not for models");
		else
			dl_opt_common(c, argv, &io, import_usage);
	}
	if (optind == argc)
		dl_usage_die("onnx: missing file operand");
	if (optind + 1 < argc)
		dl_usage_die("onnx: unexpected operand '%s'", argv[optind + 1]);
	char source[1024];
	snprintf(source, sizeof source, "onnx %s", argv[optind]);
	o.source = source;
	if ((rc = dl_onnx_import_file(argv[optind], io.out ? io.out : "-", &o, &info)) < 0)
		dl_fail(rc, NULL);
	if (dl_verbose)
		dl_msg("%s: %ld nodes: %s", argv[optind], info.nodes, info.desc);
	return 0;
}

static const char export_usage[] =
    "usage: dl-export onnx [-o FILE] [--probs] [MODEL]\n"
    "Write a dlpipe model (MODEL, or stdin) as an ONNX graph (opset 13, batch N).\n"
    "  -o, --output FILE     write FILE atomically instead of stdout\n"
    "      --probs           end in Softmax (loss nll) or Sigmoid (bce): output p;\n"
    "                        default: the logits, output z\n"
    "  -q, --quiet           no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help            this text; -V, --version: the version\n";

int
dl_onnx_export_cmd(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "probs", no_argument, NULL, 'p' },
		DL_OUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct dl_io_opts io = { 0 };
	int c, rc, probs = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS, longopts, NULL)) != -1) {
		if (c == 'p')
			probs = 1;
		else if (c == DL_OPT_ZSTD)
			dl_usage_die("onnx: --zstd is not for ONNX files");
		else
			dl_opt_common(c, argv, &io, export_usage);
	}
	if (optind + 1 < argc)
		dl_usage_die("onnx: unexpected operand '%s'", argv[optind + 1]);
	if (!io.out && isatty(1))
		dl_usage_die("onnx: will not write a model to a terminal (use -o FILE)");
	if ((rc = dl_onnx_export(optind < argc ? argv[optind] : "-", io.out ? io.out : "-", probs)) < 0)
		dl_fail(rc, NULL);
	return 0;
}
