/*
 * mpirun.c - what a program does under mpirun (dl-train; lib/dist.h):
 * start MPI, quiet the ranks other than 0 and name them in messages, pick
 * the GPU by local rank, stop the whole job on an error, and, when the
 * launcher stops this rank because another died, say which and exit 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "dist.h"

static char progname[64], device[32];

/* async-signal-safe: write(2) and integers by hand */
static void
put_long(char **p, long v)
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n)
		*(*p)++ = d[--n];
}

static void
put_str(char **p, const char *s)
{
	while (*s)
		*(*p)++ = *s++;
}

static void
on_term(int sig)
{
	char buf[512], *p = buf;
	long pid = 0;
	int r = dl_dist_peer_gone(&pid);

	(void)sig;
	put_str(&p, dl_progname);
	put_str(&p, ": ");
	if (r >= 0) {
		put_str(&p, "rank ");
		put_long(&p, r);
		put_str(&p, " (pid ");
		put_long(&p, pid);
		put_str(&p, ") died; stopping (the model on disk is the last finished epoch's)\n");
	} else
		put_str(&p, "stopped by the MPI launcher (another rank failed, or the job was "
		    "stopped); the model on disk is the last finished epoch's\n");
	if (write(2, buf, (size_t)(p - buf)) < 0)
		_exit(1);
	_exit(1);
}

void
dl_mpirun_start(struct dl_net_opts *no)
{
	struct sigaction sa;
	int r;

	if (dl_dist_init() < 0)
		dl_die("%s", dl_errmsg());
	if (dl_dist_size() == 1)
		return;
	if ((r = dl_dist_rank()) > 0) {
		snprintf(progname, sizeof progname, "%s (rank %d)", dl_progname, r);
		dl_progname = progname;
		dl_quiet = 1;
		dl_verbose = 0;
	}
	/* one GPU a rank: auto and cuda mean the one of this rank's local rank */
	if (!no->device)
		no->device = getenv("DL_DEVICE");
	if (!no->device || !strcmp(no->device, "auto") || !strcmp(no->device, "cuda")) {
		snprintf(device, sizeof device, "%s:%d", no->device ? no->device : "auto",
		    dl_dist_local_rank());
		no->device = device;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
}

char **
dl_mpirun_inputs(char **in, int n)
{
	static char **out;
	int shards = 0;

	if (!in || !(out = calloc(n, sizeof *out)))
		return in;
	for (int i = 0; i < n; i++) {
		const char *p = strstr(in[i], "%r");
		size_t k = p ? (size_t)(p - in[i]) : 0;

		if (!p) {
			out[i] = in[i];
			continue;
		}
		shards = 1;
		if (asprintf(&out[i], "%.*s%d%s", (int)k, in[i], dl_dist_rank(), p + 2) < 0)
			dl_die("out of memory");
	}
	dl_dist_set_shards(shards);
	return out;
}

void
dl_mpirun_fail(int rc)
{
	if (dl_dist_size() > 1 && rc != -DL_EPIPE) {
		fprintf(stderr, "%s: %s\n", dl_progname, dl_errmsg());
		fflush(stderr);
		dl_dist_abort(1);
	}
	dl_fail(rc, NULL);
}

void
dl_mpirun_epoch(long epoch)
{
	double s;
	long calls;
	size_t bytes;

	if (dl_dist_size() == 1)
		return;
	dl_dist_times(&s, &calls, &bytes);
	if (dl_verbose && !dl_quiet)
		dl_msg("epoch %ld: %d ranks, all-reduce of %.2f MB x %ld steps: %.3f s on rank 0",
		    epoch, dl_dist_size(), bytes / 1e6, calls, s);
}
