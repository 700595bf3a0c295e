/*
 * progress.c - the progress line of programs on stderr, redrawn in place
 * (dl_progress_*, lib/kit/kit.h), and the training loop's
 * (dl_train_progress).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

void
dl_progress_start(struct dl_progress *p, const char *what)
{
	p->what = what;
	p->t0 = p->last = dl_now();
	p->active = !dl_quiet && (dl_verbose || isatty(2));
}

void
dl_progress_update(struct dl_progress *p, uint64_t done, uint64_t total, const char *extra)
{
	double t = dl_now();
	char bar[32];
	int w = 20, k;

	if (!p->active || t - p->last < 0.2)
		return;
	p->last = t;
	if (total) {
		k = (int)(w * (double)done / total);
		k = k > w ? w : k;
		memset(bar, '#', k);
		memset(bar + k, '.', w - k);
		bar[w] = 0;
		fprintf(stderr, "\r%s: %s [%s] %llu/%llu %.0fs %s\033[K", dl_progname, p->what, bar,
		        (unsigned long long)done, (unsigned long long)total, t - p->t0,
		        extra ? extra : "");
	} else {
		fprintf(stderr, "\r%s: %s %llu %.0fs %s\033[K", dl_progname, p->what,
		        (unsigned long long)done, t - p->t0, extra ? extra : "");
	}
	fflush(stderr);
}

void
dl_progress_end(struct dl_progress *p)
{
	if (p->active && isatty(2))
		fprintf(stderr, "\r\033[K");
	p->active = 0;
}

void
dl_train_progress(long epoch, long done, long total, double loss, double acc)
{
	static struct dl_progress p;
	static char what[32];
	char extra[96];

	if (done < 0) {
		dl_progress_end(&p);
	} else if (done == 0) {
		snprintf(what, sizeof what, "epoch %ld", epoch);
		dl_progress_start(&p, what);
	} else {
		snprintf(extra, sizeof extra, "loss %.4f acc %.2f%%", loss, 100.0 * acc);
		dl_progress_update(&p, (uint64_t)done, (uint64_t)total, extra);
	}
}
