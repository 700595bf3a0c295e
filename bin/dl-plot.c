/*
 * dl-plot: training curves: the loss and accuracy per epoch of one or
 * more dl-train --log files in one figure (PNG or SVG), drawn by gnuplot.
 * The logs are read and checked by lib/plot.c, which writes the script
 * (numbers in inline data blocks, labels quoted) and runs gnuplot.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-plot -o FILE.png [--title T] [--size WxH] [--label NAME]... [--svg]\n"
    "               [--script] [-qv] LOG...\n"
    "Draw the training curves of dl-train --log files (- is stdin): loss and\n"
    "accuracy per epoch, training solid, validation dashed, one colour a run.\n"
    "  -o, --output FILE     the image (required; - for stdout); SVG when it ends\n"
    "                        in .svg, else PNG\n"
    "  -t, --title TEXT      a title over both panels\n"
    "  -s, --size WxH        image size in pixels (default 1000x420)\n"
    "  -l, --label NAME      the legend name of the next LOG (default: its base\n"
    "                        name less .tsv/.log/.txt); repeat for later LOGs\n"
    "      --svg             SVG whatever the name of -o\n"
    "      --script          print the gnuplot script on stdout instead of drawing\n"
    "  -q, --quiet           no warnings; -v, --verbose: say what was drawn\n"
    "  -h, --help            this text; -V, --version: the version\n"
    "Environment: DL_GNUPLOT, the gnuplot program (default gnuplot on PATH).\n";

enum { O_SVG = 0x2000, O_SCRIPT };

struct opts {
	struct dl_plot_opts po;
	const char *out;
	const char **label;
	int n_label, script;
};

static void
parse_size(const char *s, struct dl_plot_opts *po)
{
	char *end;
	long w, h;

	w = strtol(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X'))
		dl_usage_die("--size: '%s' is not WxH", s);
	s = end + 1;
	h = strtol(s, &end, 10);
	if (end == s || *end || w < 64 || h < 64 || w > 16384 || h > 16384)
		dl_usage_die("--size: '%s' is not WxH with sides from 64 to 16384", s);
	po->width = (int)w;
	po->height = (int)h;
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "svg", no_argument, NULL, O_SVG },
		{ "script", no_argument, NULL, O_SCRIPT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	size_t len;
	int c;

	if (!(o->label = calloc((size_t)argc, sizeof *o->label)))
		dl_die("out of memory");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:t:s:l:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 't': o->po.title = optarg; break;
		case 's': parse_size(optarg, &o->po); break;
		case 'l': o->label[o->n_label++] = optarg; break;
		case O_SVG: o->po.svg = 1; break;
		case O_SCRIPT: o->script = 1; break;
		default: dl_opt_common(c, argv, NULL, usage_text);
		}
	}
	if (optind == argc)
		dl_usage_die("no LOG to plot");
	if (o->n_label > argc - optind)
		dl_usage_die("%d --label for %d LOG", o->n_label, argc - optind);
	if (!o->out && !o->script)
		dl_usage_die("-o FILE is required");
	if (o->out && !strcmp(o->out, "-") && isatty(1))
		dl_usage_die("-o -: standard output is a terminal");
	len = o->out ? strlen(o->out) : 0;
	if (len > 4 && !strcasecmp(o->out + len - 4, ".svg"))
		o->po.svg = 1;
	o->po.gnuplot = getenv("DL_GNUPLOT");
}

int
main(int argc, char *argv[])
{
	struct opts o = { 0 };
	struct dl_plot_run *run;
	int n, stdin_used = 0, rows = 0, rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &o);
	n = argc - optind;
	if (!(run = calloc((size_t)n, sizeof *run)))
		dl_die("out of memory");
	for (int i = 0; i < n; i++) {
		const char *path = argv[optind + i];

		if (!strcmp(path, "-") && stdin_used++)
			dl_usage_die("stdin (-) named twice");
		if (dl_plot_read(path, NULL, &run[i]) < 0)
			dl_die("%s", dl_errmsg());
		if (i < o.n_label) {
			free(run[i].label);
			if (!(run[i].label = strdup(o.label[i])))
				dl_die("out of memory");
		}
		if (!run[i].n && !dl_quiet)
			dl_warn("%s: no epochs yet", path);
		rows += (int)run[i].n;
	}
	if (!rows)
		dl_die("no epochs to plot");
	if (o.script) {
		rc = dl_plot_script(stdout, run, n, &o.po);
		if (rc < 0 || fflush(stdout))
			dl_die("write:");
	} else if ((rc = dl_plot_render(o.out, run, n, &o.po)) < 0)
		dl_die("%s", dl_errmsg());
	if (dl_verbose && !o.script)
		dl_msg("%d runs, %d epochs to %s (%s)", n, rows, o.out, o.po.svg ? "SVG" : "PNG");
	for (int i = 0; i < n; i++)
		dl_plot_run_free(&run[i]);
	free(run);
	free(o.label);
	return 0;
}
