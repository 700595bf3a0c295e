/*
 * plot.h - training curves for dl-plot (lib/plot.c): the TSV logs that
 * dl-train --log writes, read and checked, and a figure of them drawn by
 * gnuplot (a child process fed a script on its standard input; the data
 * travel as inline data blocks of parsed numbers, never as file names).
 */
#ifndef DL_PLOT_H
#define DL_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* One epoch of a log; NAN where the log says nan (no validation set). */
struct dl_plot_row {
	double epoch, train_loss, train_acc, val_loss, val_acc;
};

struct dl_plot_run {
	char *label;			/* legend text (malloc'ed) */
	struct dl_plot_row *row;	/* in file order */
	size_t n;
	int has_train, has_val;		/* some finite train / val figure */
};

/*
 * Read a dl-train log: a header line naming the columns (epoch,
 * train_loss, train_acc required; val_loss, val_acc optional; others
 * ignored but checked to be numbers), then one line of numbers per epoch,
 * separated by tabs or spaces.  Blank lines, lines starting with '#' and
 * repeats of the header (concatenated logs) are skipped.  path is the
 * name used in messages and for the default label; f NULL opens path
 * ("-": stdin).  Errors read "PATH: line N: what" (-DL_EFORMAT), or
 * -DL_EIO / -DL_ENOMEM.  On success run->label is the base name of path
 * less a .tsv, .log or .txt suffix ("stdin" for -).
 */
int dl_plot_read(const char *path, FILE *f, struct dl_plot_run *run);
void dl_plot_run_free(struct dl_plot_run *run);

struct dl_plot_opts {
	const char *title;		/* above both panels; NULL: none */
	int width, height;		/* pixels; 0: 1000 x 420 */
	int svg;			/* SVG instead of PNG */
	const char *gnuplot;		/* the program; NULL: "gnuplot" on PATH */
};

/*
 * The gnuplot script of the figure: two panels side by side, loss and
 * accuracy (the logs' fractions as percentages) against epoch, one colour per run, training solid, validation
 * dashed; the terminal writes to standard output.  Runs with no rows are
 * left out.  0, or -DL_EUSAGE when no run has a row, -DL_EIO on a write
 * error.
 */
int dl_plot_script(FILE *f, const struct dl_plot_run *runs, int n, const struct dl_plot_opts *o);

/*
 * Run gnuplot on that script and put the image at out, atomically: a
 * temporary file beside it that gnuplot fills is renamed into place when
 * gnuplot succeeded (out NULL or "-": standard output, as it comes).
 * -DL_EIO when gnuplot cannot be found or run or fails (its first line of
 * errors in the message), or the file cannot be written.
 */
int dl_plot_render(const char *out, const struct dl_plot_run *runs, int n,
    const struct dl_plot_opts *o);

#endif
