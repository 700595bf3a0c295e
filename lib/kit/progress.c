/*
 * progress.c - the progress of programs on stderr (dl_progress_*,
 * lib/kit/kit.h) and the training loop's (dl_train_progress, the epoch
 * and closing lines of dl-train).
 *
 * Who draws: of a pipeline only its last program, the one whose stdout is
 * not a pipe (or that writes no stream on stdout: dl-train, dl-eval), and
 * only when stderr is a terminal; it redraws one line in place.  With -v
 * the others (and any program off a terminal) write plain lines instead,
 * at most one every ten seconds: never a carriage return or an escape
 * code where stderr is not a terminal.  -q: nothing.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlpipe.h"

int dl_stdout_text;
static int drawn;		/* a line is on the terminal, not ended */

int
dl_progress_mode(void)
{
	struct stat st;
	int piped = fstat(1, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));

	if (dl_quiet)
		return DL_SHOW_NONE;
	if (isatty(2) && (dl_stdout_text || !piped))
		return DL_SHOW_DRAW;
	return dl_verbose ? DL_SHOW_LINES : DL_SHOW_NONE;
}

void
dl_progress_clear(void)
{
	if (drawn)
		fputs("\r\033[K", stderr);
	drawn = 0;
}

/* "1:05", "2:03:04" */
static char *
hms(char *buf, size_t n, double s)
{
	long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;

	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
	return buf;
}

void
dl_progress_start(struct dl_progress *p, const char *what)
{
	p->what = what;
	p->t0 = p->last = dl_now();
	p->mode = dl_progress_mode();
	p->active = p->mode != DL_SHOW_NONE;
	p->done = p->total = 0;
	p->extra[0] = 0;
}

static void
show(struct dl_progress *p, double t)
{
	char bar[32], el[16], eta[32] = "";
	int w = 20, k;
	const char *cr = p->mode == DL_SHOW_DRAW ? "\r" : "";
	const char *nl = p->mode == DL_SHOW_DRAW ? "\033[K" : "\n";

	hms(el, sizeof el, t - p->t0);
	if (p->total && p->done <= p->total) {
		k = (int)(w * (double)p->done / p->total);
		memset(bar, '#', k);
		memset(bar + k, '.', w - k);
		bar[w] = 0;
		if (p->done > 0 && p->done < p->total) {
			memcpy(eta, " ETA ", 6);
			hms(eta + 5, sizeof eta - 5, (t - p->t0) * (p->total - p->done) / p->done);
		}
		fprintf(stderr, "%s%s: %s [%s] %llu/%llu %s%s%s%s%s", cr, dl_progname, p->what, bar,
		    (unsigned long long)p->done, (unsigned long long)p->total, el, eta,
		    *p->extra ? " " : "", p->extra, nl);
	} else {
		fprintf(stderr, "%s%s: %s %llu %s%s%s%s", cr, dl_progname, p->what,
		    (unsigned long long)p->done, el, *p->extra ? " " : "", p->extra, nl);
	}
	drawn = p->mode == DL_SHOW_DRAW;
	fflush(stderr);
}

void
dl_progress_update(struct dl_progress *p, uint64_t done, uint64_t total, const char *extra)
{
	double t = dl_now();

	p->done = done;
	p->total = total;
	snprintf(p->extra, sizeof p->extra, "%s", extra ? extra : "");
	if (!p->active || t - p->last < (p->mode == DL_SHOW_DRAW ? 0.2 : 10))
		return;
	p->last = t;
	show(p, t);
}

void
dl_progress_end(struct dl_progress *p)
{
	if (p->active && p->mode == DL_SHOW_DRAW)
		dl_progress_clear();
	else if (p->active && p->done)	/* the closing count, as a line */
		show(p, dl_now());
	p->active = 0;
}

/* ---- dl-train ---- */
static long run_epochs, run_samples;
static int run_val;

void
dl_train_progress_setup(long epochs, long samples, int val)
{
	run_epochs = epochs;
	run_samples = samples > 0 ? samples : 0;
	run_val = val;
}

static void
epoch_name(char *buf, size_t n, long k)
{
	if (run_epochs > 0)
		snprintf(buf, n, "epoch %ld/%ld", k, run_epochs);
	else
		snprintf(buf, n, "epoch %ld", k);
}

void
dl_train_progress(long epoch, long done, long total, double loss, double acc)
{
	static struct dl_progress p;
	static char what[48];
	char extra[96];

	if (done == -2 && p.active && p.mode == DL_SHOW_DRAW) {	/* validating */
		fprintf(stderr, "\r%s: %s validating ...\033[K", dl_progname, what);
		fflush(stderr);
		drawn = 1;
		p.active = 0;
	} else if (done < 0) {
		if (p.mode == DL_SHOW_DRAW)
			dl_progress_clear();
		p.active = 0;
	} else if (done == 0) {
		epoch_name(what, sizeof what, epoch);
		dl_progress_start(&p, what);
		if (p.mode == DL_SHOW_LINES)	/* the epoch's line says it all */
			p.active = 0;
	} else {
		snprintf(extra, sizeof extra, "loss %.4f acc %.2f%%", loss, 100.0 * acc);
		dl_progress_update(&p, (uint64_t)done, (uint64_t)(total ? total : run_samples), extra);
	}
}

void
dl_train_epoch_line(const struct dl_epoch_stats *s)
{
	char k[48], val[96] = "", scale[96] = "";

	if (dl_quiet)
		return;
	epoch_name(k, sizeof k, s->epoch);
	if (s->has_val)
		snprintf(val, sizeof val, ", val loss %.4f acc %.2f%%", s->val_loss, 100 * s->val_acc);
	if (s->loss_scale > 0)
		snprintf(scale, sizeof scale, ", loss scale %g (%ld step%s skipped)", s->loss_scale,
		    s->skipped, s->skipped == 1 ? "" : "s");
	dl_progress_clear();
	fprintf(stderr, "%s: %s: loss %.4f acc %.2f%%%s, lr %.3g, %.1f s, %.0f samples/s%s%s\n",
	    dl_progname, k, s->train_loss, 100 * s->train_acc, val, s->lr, s->seconds,
	    s->samples_per_s, scale, s->has_val && s->best ? " (best)" : "");
}

void
dl_train_closing_line(const struct dl_epoch_stats *best, const char *model, int stopped)
{
	char k[48];

	if (dl_quiet || !best->epoch)
		return;
	dl_progress_clear();
	epoch_name(k, sizeof k, best->epoch);
	if (best->has_val)
		fprintf(stderr, "%s: %sbest %s: val loss %.4f acc %.2f%%; wrote %s\n", dl_progname,
		    stopped ? "stopped early; " : "", k, best->val_loss, 100 * best->val_acc, model);
	else
		fprintf(stderr, "%s: %slast %s: loss %.4f acc %.2f%%; wrote %s\n", dl_progname,
		    "", k, best->train_loss, 100 * best->train_acc, model);
}
