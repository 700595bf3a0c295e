/*
 * dl-info: what a stream or a model holds: counts, tensors (dtype, shape
 * per sample, value range), the label histogram, the stream metadata and,
 * for a model, its layers.  Aligned text for people, --json for scripts.
 * Nothing is printed unless every input was read to its end.  The
 * gathering and printing are lib/summary.c's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-info [--json] [--no-verify] [-q] [FILE...]\n"
    "Describe tensor streams and models (stdin when no FILE or FILE is -).\n"
    "  -j, --json         one JSON object per input on stdout\n"
    "      --no-verify    do not check payload checksums\n"
    "      --max-record B largest record accepted, in bytes (default 1 GiB)\n"
    "  -q, --quiet        no messages\n"
    "  -h, --help         this text; -V, --version: the version\n";

/* Read the stream name (NULL: stdin) to its end into a new summary. */
static int
summarise(const char *name, const struct dl_reader_opts *ro, struct dl_summary **sp)
{
	struct dl_reader *r;
	struct dl_record *rec = NULL;
	const struct dl_record *h;
	int rc;

	if (!(r = dl_reader_open(name, ro)))
		return -DL_EIO;
	/* the first HEAD is dl_reader_head()'s; next() returns later ones */
	rc = -DL_ENOMEM;
	if (!(h = dl_reader_head(r)) || !(rec = dl_record_new(NULL)) ||
	    !(*sp = dl_summary_new(name, h))) {
		rc = h ? rc : -DL_EFORMAT;
		dl_record_free(rec);
		dl_reader_close(r);
		return rc;
	}
	while ((rc = dl_reader_next(r, rec)) > 0)
		if ((rc = dl_summary_add(*sp, rec)) < 0)
			break;
	if (rc >= 0 && (rc = dl_summary_end(*sp, dl_reader_offset(r))) == 1)
		dl_warn("%s: layers from parameter names: %s", name ? name : "stdin", dl_errmsg());
	dl_record_free(rec);
	dl_reader_close(r);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "max-record", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct dl_reader_opts ro = { 0 };
	struct dl_summary **s;
	int c, i, n, json = 0, rc;

	dl_setprogname(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'N': ro.no_verify = 1; break;
		case 'M': ro.max_record = dl_arg_long(optarg, "--max-record", 64, (1L << 62)); break;
		default: dl_opt_common(c, argv, NULL, usage_text);	/* -q -h -V, errors */
		}
	}
	n = argc > optind ? argc - optind : 1;
	if (!(s = calloc(n, sizeof *s)))
		dl_die("out of memory");
	for (i = 0; i < n; i++)
		if ((rc = summarise(argc > optind ? argv[optind + i] : NULL, &ro, &s[i])) < 0)
			dl_fail(rc, NULL);
	for (i = 0; i < n; i++) {
		if (!json && i)
			putchar('\n');
		if (json)
			dl_summary_print_json(s[i], stdout);
		else
			dl_summary_print_text(s[i], stdout);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		dl_die("stdout:");
	for (i = 0; i < n; i++)
		dl_summary_free(s[i]);
	free(s);
	return 0;
}
