/*
 * plot.c - training curves: dl-train's TSV logs read and checked, and a
 * two-panel figure of them (loss, accuracy) drawn by gnuplot.  gnuplot
 * gets its script on standard input from an unlinked temporary file and
 * writes the image to standard output, which is a temporary file beside
 * the destination; no name from the command line reaches the script, and
 * labels are quoted.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dlpipe.h"

#define MAX_COLS 64

enum { C_EPOCH, C_TLOSS, C_TACC, C_VLOSS, C_VACC, N_WANT };
static const char *const want[N_WANT] = {
	"epoch", "train_loss", "train_acc", "val_loss", "val_acc"
};

/* Split s in place on runs of tabs and spaces; the number of fields, or
 * MAX_COLS + 1 when there are more than MAX_COLS. */
static int
split(char *s, char **field)
{
	int n = 0;

	for (;;) {
		while (*s == '\t' || *s == ' ')
			*s++ = '\0';
		if (!*s)
			return n;
		if (n == MAX_COLS)
			return MAX_COLS + 1;
		field[n++] = s;
		while (*s && *s != '\t' && *s != ' ')
			s++;
	}
}

static char *
default_label(const char *path)
{
	static const char *const ext[] = { ".tsv", ".log", ".txt" };
	const char *b;
	size_t len;
	char *s;

	if (!strcmp(path, "-"))
		return strdup("stdin");
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (b = path + len; b > path && b[-1] != '/'; b--)
		;
	len -= (size_t)(b - path);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		size_t k = strlen(ext[i]);

		if (len > k && !strncmp(b + len - k, ext[i], k)) {
			len -= k;
			break;
		}
	}
	if ((s = malloc(len + 1))) {
		memcpy(s, b, len);
		s[len] = '\0';
	}
	return s;
}

/* The header: which field holds each wanted column (-1: absent). */
static int
header(const char *path, char **field, int nf, int *col)
{
	for (int k = 0; k < N_WANT; k++)
		col[k] = -1;
	if (nf < 1 || strcmp(field[0], "epoch"))
		return dl_seterr(DL_EFORMAT, "%s: line 1: not a dl-train log (no header "
		    "'epoch train_loss train_acc ...')", path);
	for (int i = 0; i < nf; i++)
		for (int k = 0; k < N_WANT; k++)
			if (!strcmp(field[i], want[k])) {
				if (col[k] >= 0)
					return dl_seterr(DL_EFORMAT, "%s: line 1: column '%s' "
					    "twice", path, want[k]);
				col[k] = i;
			}
	for (int k = C_TLOSS; k <= C_TACC; k++)
		if (col[k] < 0)
			return dl_seterr(DL_EFORMAT, "%s: line 1: no column '%s': not a "
			    "dl-train log", path, want[k]);
	return 0;
}

static int
row(const char *path, long line, char **field, int nf, int nh, char **hf, const int *col,
    struct dl_plot_row *r)
{
	double v[MAX_COLS];

	if (nf != nh)
		return dl_seterr(DL_EFORMAT, "%s: line %ld: %d fields, expected %d", path, line,
		    nf, nh);
	for (int i = 0; i < nf; i++) {
		char *end;

		errno = 0;
		v[i] = strtod(field[i], &end);
		if (end == field[i] || *end)
			return dl_seterr(DL_EFORMAT, "%s: line %ld: %s: '%s' is not a number",
			    path, line, dl_esc(hf[i]), dl_escn(field[i], strnlen(field[i], 40)));
	}
	if (!isfinite(v[col[C_EPOCH]]))
		return dl_seterr(DL_EFORMAT, "%s: line %ld: epoch '%s' is not a finite "
		    "number", path, line, dl_escn(field[col[C_EPOCH]], strnlen(field[col[C_EPOCH]], 40)));
	r->epoch = v[col[C_EPOCH]];
	r->train_loss = v[col[C_TLOSS]];
	r->train_acc = v[col[C_TACC]];
	r->val_loss = col[C_VLOSS] >= 0 ? v[col[C_VLOSS]] : NAN;
	r->val_acc = col[C_VACC] >= 0 ? v[col[C_VACC]] : NAN;
	return 0;
}

static int
same_fields(char **a, char **b, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(a[i], b[i]))
			return 0;
	return 1;
}

/* Room for one more row in run (*cap rows allocated). */
static int
room(struct dl_plot_run *run, size_t *cap)
{
	size_t nc = *cap ? 2 * *cap : 64;
	struct dl_plot_row *p;

	if (run->n < *cap)
		return 0;
	if (!(p = realloc(run->row, nc * sizeof *p)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	run->row = p;
	*cap = nc;
	return 0;
}

int
dl_plot_read(const char *path, FILE *f, struct dl_plot_run *run)
{
	char *buf = NULL, *hbuf = NULL, *field[MAX_COLS + 1], *hf[MAX_COLS + 1];
	size_t cap = 0, rcap = 0;
	ssize_t len;
	long line = 0;
	int nh = 0, col[N_WANT], rc = 0, own = 0;

	*run = (struct dl_plot_run){ 0 };
	if (!f) {
		if (!strcmp(path, "-"))
			f = stdin;
		else if (!(f = fopen(path, "r")))
			return dl_seterr(DL_EIO, "%s:", path);
		else
			own = 1;
	}
	while ((len = getline(&buf, &cap, f)) >= 0) {
		int nf;

		line++;
		if ((size_t)len != strlen(buf)) {
			rc = dl_seterr(DL_EFORMAT, "%s: line %ld: a NUL byte: not a dl-train log",
			    path, line);
			break;
		}
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (!hbuf) {
			if (!(hbuf = strdup(buf))) {
				rc = dl_seterr(DL_ENOMEM, "out of memory");
				break;
			}
			if ((nh = split(hbuf, hf)) > MAX_COLS) {
				rc = dl_seterr(DL_EFORMAT, "%s: line 1: more than %d columns", path,
				    MAX_COLS);
				break;
			}
			if ((rc = header(path, hf, nh, col)) < 0)
				break;
			continue;
		}
		if (buf[strspn(buf, " \t")] == '#')
			continue;
		if ((nf = split(buf, field)) == 0)
			continue;
		if (nf == nh && !strcmp(field[0], "epoch") && same_fields(field, hf, nf))
			continue;	/* a header again */
		if ((rc = room(run, &rcap)) < 0)
			break;
		if ((rc = row(path, line, field, nf > MAX_COLS ? MAX_COLS + 1 : nf, nh, hf, col,
		    &run->row[run->n])) < 0)
			break;
		run->n++;
	}
	if (!rc && ferror(f))
		rc = dl_seterr(DL_EIO, "%s: read:", path);
	else if (!rc && !hbuf)
		rc = dl_seterr(DL_EFORMAT, "%s: empty, not a dl-train log", path);
	if (own)
		fclose(f);
	free(buf);
	free(hbuf);
	if (!rc && !(run->label = default_label(path)))
		rc = dl_seterr(DL_ENOMEM, "out of memory");
	if (rc < 0) {
		dl_plot_run_free(run);
		return rc;
	}
	for (size_t i = 0; i < run->n; i++) {
		const struct dl_plot_row *r = &run->row[i];

		run->has_train |= isfinite(r->train_loss) || isfinite(r->train_acc);
		run->has_val |= isfinite(r->val_loss) || isfinite(r->val_acc);
	}
	return 0;
}

void
dl_plot_run_free(struct dl_plot_run *run)
{
	free(run->label);
	free(run->row);
	*run = (struct dl_plot_run){ 0 };
}

/* ---- the gnuplot script --------------------------------------------------- */

static const char *const colour[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
};
#define N_COLOUR (sizeof colour / sizeof *colour)

/* s as a gnuplot single-quoted string: ' doubled (the only escape there),
 * control characters as spaces so that a line of script stays a line. */
static void
quote(FILE *f, const char *s)
{
	putc('\'', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\'')
			fputs("''", f);
		else
			putc(c < 0x20 || c == 0x7f ? ' ' : c, f);
	}
	putc('\'', f);
}

static void
number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, " %.9g", v);
	else
		fputs(" NaN", f);
}

/* Whether run r has a finite figure of one kind (acc: accuracy, else
 * loss; val: validation, else training). */
static int
has(const struct dl_plot_run *r, int acc, int val)
{
	for (size_t k = 0; k < r->n; k++) {
		const struct dl_plot_row *w = &r->row[k];

		if (isfinite(val ? (acc ? w->val_acc : w->val_loss) : (acc ? w->train_acc :
		    w->train_loss)))
			return 1;
	}
	return 0;
}

/* One panel: columns 2 + acc (train, solid) and 4 + acc (val, dashed) of
 * each run's block in the run's colour; with key, a key naming every run
 * and, when there is validation data, the two line styles. */
static void
panel(FILE *f, const struct dl_plot_run *runs, int n, int acc, int key)
{
	const char *sep = "plot ";
	int any = 0, any_val = 0;

	for (int i = 0; i < n; i++) {
		any |= has(&runs[i], acc, 0) || has(&runs[i], acc, 1);
		any_val |= has(&runs[i], acc, 1);
	}
	fprintf(f, "set ylabel '%s'\n", acc ? "accuracy (%)" : "loss");
	if (!any) {
		fputs("unset key\nset label 1 'no data' at graph 0.5, 0.5 center\n"
		    "plot [] [0:1] NaN notitle\nunset label 1\n", f);
		return;
	}
	if (key)
		fputs("set key top right opaque box lc rgb '#c0c0c0' spacing 1.1 samplen 3\n", f);
	else
		fputs("unset key\n", f);
	for (int i = 0; i < n; i++) {
		const struct dl_plot_run *r = &runs[i];
		const char *pts = r->n <= 30 ? "linespoints ps 0.6 pt" : "lines";

		if (!r->n)
			continue;
		if (has(r, acc, 0))
			fprintf(f, "%s$run%d using 1:%d with %s%s", sep, i, 2 + acc, pts,
			    r->n <= 30 ? " 7" : "");
		else if (key)	/* a key entry for a run without these data */
			fprintf(f, "%sNaN with lines", sep);
		else
			goto val;
		fprintf(f, " lw 2 lc rgb '%s' dt 1", colour[i % N_COLOUR]);
		if (key) {
			fputs(" title ", f);
			quote(f, r->label);
		} else
			fputs(" notitle", f);
		sep = ", \\\n     ";
val:
		if (!has(r, acc, 1))
			continue;
		fprintf(f, "%s$run%d using 1:%d with %s%s lw 2 lc rgb '%s' dt (8,4) notitle", sep,
		    i, 4 + acc, pts, r->n <= 30 ? " 6" : "", colour[i % N_COLOUR]);
		sep = ", \\\n     ";
	}
	if (key && any_val)
		fprintf(f, "%sNaN with lines lw 2 lc rgb 'black' dt 1 title 'train', \\\n"
		    "     NaN with lines lw 2 lc rgb 'black' dt (8,4) title 'validation'", sep);
	fputs("\n", f);
}

int
dl_plot_script(FILE *f, const struct dl_plot_run *runs, int n, const struct dl_plot_opts *o)
{
	int w = o && o->width > 0 ? o->width : 1000, h = o && o->height > 0 ? o->height : 420;
	double lo = INFINITY, hi = -INFINITY, pad;
	int rows = 0;

	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < runs[i].n; k++) {
			lo = fmin(lo, runs[i].row[k].epoch);
			hi = fmax(hi, runs[i].row[k].epoch);
			rows++;
		}
	if (!rows)
		return dl_seterr(DL_EUSAGE, "no epochs to plot");
	pad = hi - lo < 1 ? 0.5 : 0.03 * (hi - lo);	/* points clear of the border */
	lo -= pad;
	hi += pad;
	fputs("# training curves by dl-plot; the image goes to standard output\n"
	    "set encoding utf8\n", f);
	if (o && o->svg)
		fprintf(f, "set terminal svg size %d,%d dynamic noenhanced font 'sans,11' "
		    "background '#ffffff'\n", w, h);
	else
		fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'sans,10' "
		    "background '#ffffff'\n", w, h);
	fputs("set datafile missing NaN\n", f);
	for (int i = 0; i < n; i++) {
		if (!runs[i].n)
			continue;
		fprintf(f, "$run%d << EOD\n", i);
		for (size_t k = 0; k < runs[i].n; k++) {
			const struct dl_plot_row *r = &runs[i].row[k];

			fprintf(f, "%.9g", r->epoch);	/* accuracy in % */
			number(f, r->train_loss);
			number(f, 100 * r->train_acc);
			number(f, r->val_loss);
			number(f, 100 * r->val_acc);
			putc('\n', f);
		}
		fputs("EOD\n", f);
	}
	fputs("set multiplot layout 1,2", f);
	if (o && o->title && *o->title) {
		fputs(" title ", f);
		quote(f, o->title);
		fputs(" font ',13'", f);
	}
	fprintf(f, "\nset grid lc rgb '#d0d0d0' lw 1\n"
	    "set border lc rgb '#404040'\n"
	    "set xlabel 'epoch'\n"
	    "set xrange [%.9g:%.9g]\n"
	    "set offsets 0, 0, graph 0.05, graph 0.05\n", lo, hi);
	if (hi - lo <= 13)
		fputs("set xtics 1\n", f);
	fputs("set title 'loss'\n", f);
	panel(f, runs, n, 0, 1);
	fputs("set title 'accuracy'\n", f);
	panel(f, runs, n, 1, 0);
	fputs("unset multiplot\n", f);
	if (fflush(f) || ferror(f))
		return dl_seterr(DL_EIO, "gnuplot script: write:");
	return 0;
}

/* ---- running gnuplot ------------------------------------------------------ */

static int
cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* The first line of gnuplot's errors, for a message. */
static void
first_error(FILE *err, char *msg, size_t n)
{
	char line[512];

	msg[0] = '\0';
	rewind(err);
	while (fgets(line, sizeof line, err)) {
		size_t len = strcspn(line, "\r\n");

		line[len] = '\0';
		if (len && strspn(line, " \t^") != len) {
			snprintf(msg, n, ": %s", line + strspn(line, " \t"));
			return;
		}
	}
}

static int
run_gnuplot(const char *prog, FILE *script, int out)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *)prog, NULL }, msg[600];
	FILE *err;
	pid_t pid;
	int rc, st;

	if (!(err = tmpfile()))
		return dl_seterr(DL_EIO, "temporary file:");
	cloexec(fileno(err));
	cloexec(fileno(script));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fileno(script), 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, fileno(err), 2);
	rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		errno = rc;
		if (rc == ENOENT)
			rc = dl_seterr(DL_EIO, "%s not found: dl-plot draws with gnuplot "
			    "(Debian package gnuplot-nox)", prog);
		else
			rc = dl_seterr(DL_EIO, "cannot run %s:", prog);
		fclose(err);
		return rc;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			fclose(err);
			return dl_seterr(DL_EIO, "waitpid:");
		}
	rc = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		first_error(err, msg, sizeof msg);
		if (WIFEXITED(st))
			rc = dl_seterr(DL_EIO, "%s failed (exit %d)%s", prog, WEXITSTATUS(st), msg);
		else
			rc = dl_seterr(DL_EIO, "%s killed by signal %d%s", prog, WTERMSIG(st), msg);
	}
	fclose(err);
	return rc;
}

int
dl_plot_render(const char *out, const struct dl_plot_run *runs, int n,
    const struct dl_plot_opts *o)
{
	const char *prog = o && o->gnuplot && *o->gnuplot ? o->gnuplot : "gnuplot";
	int to_stdout = !out || !strcmp(out, "-"), fd = 1, rc;
	struct dl_atomic file = { .fd = -1 };
	FILE *script;
	struct stat st;

	if (!(script = tmpfile()))
		return dl_seterr(DL_EIO, "temporary file:");
	if ((rc = dl_plot_script(script, runs, n, o)) < 0)
		goto out;
	rewind(script);
	if (!to_stdout) {
		if ((rc = dl_atomic_open(&file, out)) < 0)
			goto out;
		fd = file.fd;
	}
	rc = run_gnuplot(prog, script, fd);
	if (!to_stdout) {
		if (!rc && (fstat(fd, &st) || st.st_size == 0))
			rc = dl_seterr(DL_EIO, "%s: gnuplot wrote nothing", out);
		if (rc)
			dl_atomic_abort(&file);
		else
			rc = dl_atomic_commit(&file);
	}
out:
	fclose(script);
	return rc;
}
