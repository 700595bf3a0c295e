/*
 * profile.c - where the time goes.  With DL_PROFILE set (and not "0") in
 * the environment, every net times each layer's forward and backward pass
 * and the optimizer's step (the device synchronised around each, so the
 * figures of an asynchronous back end are true, and a little slower), and
 * counts the floating-point operations of its convolutions and fully
 * connected layers (a multiply-add is 2: the forward of a convolution is
 * 2 P Q K R S C a sample; the backward is as much again for the weight
 * gradient and again for the input gradient, when each is computed).
 * When the net is freed, a table goes to stderr: per layer the seconds
 * forward and backward, their share of the total, and GFLOP/s.  What is
 * not in any row (reading the stream, the loss, copies) is the difference
 * between the program's run time and the table's total.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net-priv.h"

struct prof_row {
	double s[2];		/* seconds forward, backward */
	double flop[2];		/* floating-point operations counted */
	long calls[2];
};

struct dl_prof {
	double opt_s;
	long opt_calls;
	long samples[2];	/* forward, backward */
	struct prof_row row[];	/* one per layer */
};

void
prof_start(struct dl_net *net)
{
	const char *e = getenv("DL_PROFILE");

	if (e && *e && strcmp(e, "0") && !net->prof)
		net->prof = calloc(1, sizeof *net->prof + (size_t)net->n_layers * sizeof(struct prof_row));
}

double
prof_clock(struct dl_net *net)
{
	struct timespec ts;

	if (!net->prof)
		return 0;
	if (net->be->sync)
		net->be->sync(net->ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Forward multiply-adds x 2 of one sample of layer l (0 for kinds that
 * only move or scale data). */
static double
layer_flop(const struct layer *l)
{
	return l->kind->flops ? l->kind->flops(l) : 0;
}

void
prof_layer(struct dl_net *net, int i, int dir, double t0, int ngrads)
{
	struct prof_row *r;

	if (!net->prof)
		return;
	r = &net->prof->row[i];
	r->s[dir] += prof_clock(net) - t0;
	r->calls[dir]++;
	r->flop[dir] += (double)net->batch * layer_flop(&net->L[i]) * (dir ? ngrads : 1);
	if (i == 0)
		net->prof->samples[dir] += net->batch;
}

void
prof_opt(struct dl_net *net, double t0)
{
	if (!net->prof)
		return;
	net->prof->opt_s += prof_clock(net) - t0;
	net->prof->opt_calls++;
}

static void
gflops(char *buf, size_t n, double flop, double s)
{
	if (flop > 0 && s > 0)
		snprintf(buf, n, "%8.1f", flop / s * 1e-9);
	else
		snprintf(buf, n, "%8s", "-");
}

void
prof_report(struct dl_net *net)
{
	struct dl_prof *p = net->prof;
	double total = p ? p->opt_s : 0, flop[2] = { 0, 0 }, s[2] = { 0, 0 }, per = 0;
	const char *prog = program_invocation_short_name;

	if (!p || (!p->samples[0] && !p->opt_calls))
		return;
	for (int i = 0; i < net->n_layers; i++) {
		for (int d = 0; d < 2; d++) {
			s[d] += p->row[i].s[d];
			flop[d] += p->row[i].flop[d];
		}
		per += layer_flop(&net->L[i]);
	}
	total += s[0] + s[1];
	fprintf(stderr, "%s: profile: %ld samples forward, %ld backward; %.6g MFLOP a sample "
	    "forward, %.6g forward and backward (a multiply-add is 2)\n", prog, p->samples[0],
	    p->samples[1], per * 1e-6, p->samples[1] ? (per + flop[1] / p->samples[1]) * 1e-6 : 0);
	fprintf(stderr, "%s: %-8s %-10s %9s %9s %6s %8s %8s\n", prog, "layer", "token",
	    "fwd s", "bwd s", "share", "fwd GF/s", "bwd GF/s");
	for (int i = 0; i < net->n_layers; i++) {
		struct prof_row *r = &p->row[i];
		char gf[2][16];

		gflops(gf[0], sizeof gf[0], r->flop[0], r->s[0]);
		gflops(gf[1], sizeof gf[1], r->flop[1], r->s[1]);
		fprintf(stderr, "%s: %-8s %-10.10s %9.3f %9.3f %5.1f%% %s %s\n", prog, net->L[i].name,
		    net->L[i].token, r->s[0], r->s[1],
		    total > 0 ? 100 * (r->s[0] + r->s[1]) / total : 0, gf[0], gf[1]);
	}
	fprintf(stderr, "%s: %-19s %9s %9.3f %5.1f%% (%ld steps)\n", prog, "optimizer", "",
	    p->opt_s, total > 0 ? 100 * p->opt_s / total : 0, p->opt_calls);
	{
		char gf[2][16];

		gflops(gf[0], sizeof gf[0], flop[0], s[0]);
		gflops(gf[1], sizeof gf[1], flop[1], s[1]);
		fprintf(stderr, "%s: %-19s %9.3f %9.3f %5.1f%% %s %s (total %.3f s)\n", prog, "all",
		    s[0], s[1], 100.0, gf[0], gf[1], total);
	}
}

void
prof_free(struct dl_net *net)
{
	free(net->prof);
	net->prof = NULL;
}
