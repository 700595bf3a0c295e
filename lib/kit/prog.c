/*
 * prog.c - what every program's main shares: flag values, the stream flags
 * (-o, --zstd, --no-verify, --max-record), -q/-v/-h/-V, usage errors from
 * getopt_long, leaving a failed output behind cleanly and the OpenMP
 * re-exec.  Part of the program kit (lib/kit/kit.h): only bin/ links it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

/* ---- flag values ---- */
long
dl_arg_long(const char *s, const char *flag, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		dl_usage_die("%s: '%s' is not a whole number from %ld to %ld", flag, s, lo, hi);
	return v;
}

double
dl_arg_double(const char *s, const char *flag, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		dl_usage_die("%s: '%s' is not a number from %g to %g", flag, s, lo, hi);
	return v;
}

uint64_t
dl_arg_seed(const char *s, const char *flag)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		dl_usage_die("%s: '%s' is not a seed (a whole number >= 0)", flag, s);
	return v;
}

/* Exit 0 after writing to stdout, or 1 when that failed (--help >&-). */
__attribute__((noreturn)) static void
exit_stdout(void)
{
	if ((fflush(stdout) == EOF || ferror(stdout)) && errno != EPIPE)
		dl_die("stdout:");
	exit(DL_EXIT_OK);
}

void
dl_opt_common(int c, char **argv, struct dl_io_opts *io, const char *usage)
{
	switch (c) {
	case 'o':
		if (io) {
			io->out = optarg;
			return;
		}
		break;
	case DL_OPT_ZSTD:
		if (io) {
			io->wo.zstd_level = optarg ? (int)dl_arg_long(optarg, "--zstd", 1, 19) : 3;
			return;
		}
		break;
	case DL_OPT_NO_VERIFY:
		if (io) {
			io->ro.no_verify = 1;
			return;
		}
		break;
	case DL_OPT_MAX_RECORD:
		if (io) {
			io->ro.max_record = (uint64_t)dl_arg_long(optarg, "--max-record", 64, 1L << 62);
			return;
		}
		break;
	case DL_OPT_THREADS:	/* a program without dl_opt_device() */
		dl_threads_set((int)dl_arg_long(optarg, "--threads", 1, 1024));
		return;
	case 'q':
		dl_quiet = 1;
		return;
	case 'v':
		dl_verbose = 1;
		return;
	case 'h':
		fputs(usage, stdout);
		exit_stdout();
	case 'V':
		dl_print_version();
		exit_stdout();
	case ':':
		dl_usage_die("option '%s' needs a value", argv[optind - 1]);
	}
	/* a long option is named as typed ("--quiet=3"), a short one by its letter */
	if (optopt && optopt < 0x1000 && strncmp(argv[optind - 1], "--", 2))
		dl_usage_die("unknown option '-%c'", optopt);
	dl_usage_die("unknown option '%s'", argv[optind - 1]);
}

void
dl_args_model_input(int argc, char **argv, const char **model, const char **input)
{
	if (optind >= argc)
		dl_usage_die("missing MODEL");
	*model = argv[optind++];
	if (optind < argc)
		*input = argv[optind++];
	if (optind < argc)
		dl_usage_die("unexpected argument '%s'", argv[optind]);
}

void
dl_writer_die(struct dl_writer *w, int rc)
{
	char msg[1024];

	snprintf(msg, sizeof msg, "%s", dl_errmsg());
	dl_writer_abort(w, msg);
	if (rc == -DL_EPIPE)
		dl_exit_error(DL_EXIT_OK);
	dl_die("%s", msg);
}


/* OpenMP threads that spin while they wait (libgomp's default) starve the
 * other programs of a pipeline on the same cores: on a shared two-core
 * machine training ran up to 17x slower.  libgomp reads OMP_WAIT_POLICY
 * before main, so a program that computes sets it and runs itself again,
 * once, with the same arguments; a policy the user chose is kept. */
void
dl_omp_init(void)
{
	char buf[65536], *args[1024];
	ssize_t n = 0, k;
	int fd, argc = 0;

	if (getenv("OMP_WAIT_POLICY"))
		return;
	setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
	if ((fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)) < 0)
		return;
	while (n < (ssize_t)sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
		n += k;
	close(fd);
	if (n <= 0 || n >= (ssize_t)sizeof buf - 1)
		return;			/* unreadable or too long: run as we are */
	buf[n] = 0;
	for (char *p = buf; p < buf + n && argc < 1023; p += strlen(p) + 1)
		args[argc++] = p;
	args[argc] = NULL;
	execv("/proc/self/exe", args);	/* returns only on failure: go on */
}
