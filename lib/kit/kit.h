/*
 * kit.h - the program kit: what the mains of bin/ share and the library
 * itself may not do, because it exits, prints or runs the program again.
 * Messages and exits (lib/kit/err.c), the progress line
 * (lib/kit/progress.c), flag values, the common flags and the OpenMP
 * re-exec (lib/kit/prog.c), the device flags (lib/kit/netflags.c) and the
 * device line (lib/kit/device.c).  Built as lib/libdlpipe-kit.a, linked
 * into the programs only (and the tests that need it); included by
 * lib/dlpipe.h.
 */
#ifndef DL_KIT_H
#define DL_KIT_H

#include <stdint.h>

#include "dls.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DL_EXIT_OK = 0, DL_EXIT_FAIL = 1, DL_EXIT_USAGE = 2 };

extern int dl_quiet;		/* -q: no progress, no dl_msg() */
extern int dl_verbose;		/* -v: dl_msg() even when stderr is no tty */

/* ---- messages and exits (lib/kit/err.c) -----------------------------------
 * Messages go to stderr prefixed with dl_progname. */
void dl_setprogname(const char *argv0);
__attribute__((noreturn)) void dl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void dl_usage_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* dl_msg: with -v, or on a terminal by the last program of a pipeline
 * (dl_progress_mode() is not DL_SHOW_NONE); never with -q. */
void dl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dl_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* unless -q, tty or not */
/* Exit for a failed library call: quietly with status 0 on -DL_EPIPE
 * (the program downstream closed the pipe: dl-train stopping at -e or
 * --patience, head; a downstream that failed says so with its own
 * status), else dl_die("what: message").  dl_setprogname() ignores
 * SIGPIPE, so a closed pipe is this error rather than death by signal
 * (status 141 under set -o pipefail). */
__attribute__((noreturn)) void dl_fail(int rc, const char *what);
/* Exit with status after an error: flush stdio, then _exit() (no atexit
 * handlers: the memory an error path held is the system's to free). */
__attribute__((noreturn)) void dl_exit_error(int status);
void dl_print_version(void);	/* "dl-cat (dlpipe) 0.1.0" on stdout */

/* Progress on stderr (lib/kit/progress.c).  Of a pipeline only the last
 * program draws: stderr a terminal and stdout not a pipe (or
 * dl_stdout_text set: a program that writes no stream on stdout, such as
 * dl-train); it redraws one line in place (DL_SHOW_DRAW).  With -v the
 * others, and any program whose stderr is not a terminal, write plain
 * lines (DL_SHOW_LINES: at most one every 10 s and a closing one; no
 * carriage return, no escape code); otherwise, and with -q, nothing.
 * done/total may be 0. */
enum { DL_SHOW_NONE, DL_SHOW_DRAW, DL_SHOW_LINES };
extern int dl_stdout_text;
int dl_progress_mode(void);
/* Erase a drawn progress line (the messages of lib/kit/err.c do, first). */
void dl_progress_clear(void);
struct dl_progress {
	const char *what;	/* "epoch 3/30" */
	double t0;		/* dl_now() at start */
	double last;		/* last redraw */
	int active;		/* 1: showing */
	int mode;		/* DL_SHOW_* */
	uint64_t done, total;	/* the latest update */
	char extra[96];
};
void dl_progress_start(struct dl_progress *p, const char *what);
void dl_progress_update(struct dl_progress *p, uint64_t done, uint64_t total, const char *extra);
void dl_progress_end(struct dl_progress *p);
/* The training loop's progress (dl_train_conf.on_batch, lib/train.h):
 * "epoch 3/30 [####....] 1024/60000 0:02 ETA 1:55 loss 0.4321 acc 85.00%",
 * then "epoch 3/30 validating ..." while it validates.  setup: the epochs
 * of the run (0: unknown) and the samples of an epoch (0: unknown; known
 * from the second epoch on), and whether it validates. */
void dl_train_progress_setup(long epochs, long samples, int val);
void dl_train_progress(long epoch, long done, long total, double loss, double acc);
/* The line of an epoch ("epoch 3/30: loss ... (best)"), unless -q, on a
 * terminal or not: a run under nohup or CI says how it goes.  The closing
 * line names the best epoch (the last without validation), its figures and
 * the model written. */
struct dl_epoch_stats;
void dl_train_epoch_line(const struct dl_epoch_stats *s);
void dl_train_closing_line(const struct dl_epoch_stats *best, const char *model, int stopped);

/* "warning: the model was trained on data with zca (...), this data has
 * no whitening: ..." when dl_prep_mismatch() says so (lib/kit/prep.c). */
struct dl_record;
void dl_warn_prep(const struct dl_record *model_head, const struct dl_record *data_head);

/* ---- flags (lib/kit/prog.c) -------------------------------------------------- */
/* Flag values: parse or dl_usage_die() naming the flag. */
long dl_arg_long(const char *s, const char *flag, long lo, long hi);
double dl_arg_double(const char *s, const char *flag, double lo, double hi);
uint64_t dl_arg_seed(const char *s, const char *flag);

/* The stream flags: put DL_IO_LONGOPTS in a program's longopts table and
 * DL_IO_SHORTOPTS at the start of its short options (with opterr = 0), then
 * send every getopt_long result the program does not handle itself to
 * dl_opt_common(): it fills io (NULL: a program without stream output),
 * sets dl_quiet/dl_verbose, prints usage (-h) or the version (-V) and
 * exits 0, and exits 2 naming an unknown option or a missing value. */
enum { DL_OPT_ZSTD = 0x1000, DL_OPT_NO_VERIFY, DL_OPT_MAX_RECORD };
struct dl_io_opts {
	const char *out;		/* -o FILE; NULL: stdout */
	struct dl_reader_opts ro;	/* --no-verify, --max-record */
	struct dl_writer_opts wo;	/* --zstd[=LEVEL] */
};
#define DL_IO_SHORTOPTS ":o:qvhV"
/* DL_OUT_LONGOPTS: a program that writes a stream (-o, --zstd) with the
 * usual -q -v -h -V; DL_IO_LONGOPTS adds the reader's --no-verify and
 * --max-record. */
#define DL_OUT_LONGOPTS \
	{ "output", required_argument, NULL, 'o' }, \
	{ "zstd", optional_argument, NULL, DL_OPT_ZSTD }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }
#define DL_IO_LONGOPTS DL_OUT_LONGOPTS, \
	{ "no-verify", no_argument, NULL, DL_OPT_NO_VERIFY }, \
	{ "max-record", required_argument, NULL, DL_OPT_MAX_RECORD }
void dl_opt_common(int c, char **argv, struct dl_io_opts *io, const char *usage);
/* The operands MODEL [FILE] after getopt_long: *input is left alone when
 * there is no FILE; a missing MODEL or an extra operand exits 2. */
void dl_args_model_input(int argc, char **argv, const char **model, const char **input);
/* Leave a failed output cleanly (an ABRT record on a pipe, no file for
 * -o) and exit 1 with dl_errmsg(); quietly with status 0 when rc is
 * -DL_EPIPE (see dl_fail). */
__attribute__((noreturn)) void dl_writer_die(struct dl_writer *w, int rc);

/* First thing in the main of a program that computes with threads: make
 * OpenMP threads sleep rather than spin while they wait (they would starve
 * the rest of a pipeline), by running the program again once with
 * OMP_WAIT_POLICY=PASSIVE unless the environment already sets a policy. */
void dl_omp_init(void);

/* ---- devices (lib/kit/netflags.c, device.c) -----------------------------------
 * The device flags of the programs that compute: put DL_DEVICE_LONGOPTS
 * (-d, --device; "d:" in the short options) and, where the program has
 * them, DL_PRECISION_LONGOPTS (--precision, --threads) in the longopts
 * table, send getopt_long's results to dl_opt_device() first (1: it took
 * the flag), and call dl_device_check() once the flags are parsed: bf16
 * and fp16 on the cpu exit 2, with --device auto and no usable GPU 1. */
enum { DL_OPT_PRECISION = 0x1100, DL_OPT_THREADS };
#define DL_DEVICE_LONGOPTS { "device", required_argument, NULL, 'd' }
/* --threads alone, for a program without --precision */
#define DL_THREADS_LONGOPT { "threads", required_argument, NULL, DL_OPT_THREADS }
#define DL_PRECISION_LONGOPTS \
	{ "precision", required_argument, NULL, DL_OPT_PRECISION }, \
	{ "threads", required_argument, NULL, DL_OPT_THREADS }
struct dl_net_opts;
int dl_opt_device(int c, struct dl_net_opts *no);
void dl_device_check(const struct dl_net_opts *no);
/* Say on stderr which device a net runs on ("device cuda:0 (NVIDIA ...)",
 * "device cpu (2 threads)"): as dl_msg() does (a terminal and the last
 * program of its pipeline, or -v; never -q).  For the programs that compute (--device auto picks). */
struct dl_net;
void dl_msg_device(const struct dl_net *net);

/* ---- under mpirun (lib/kit/mpirun.c, lib/dist.h) ----------------------------
 * dl_mpirun_start: MPI started when an MPI launcher ran the program (else
 * nothing happens); ranks > 0 quiet and named "PROG (rank R)" in their
 * messages; --device auto/cuda becomes auto:L/cuda:L (L: the local rank);
 * a SIGTERM from the launcher (another rank died) exits 1 naming that rank.
 * dl_mpirun_fail: print the error and stop every rank (exit 1), or
 * dl_fail() without MPI.  dl_mpirun_inputs: the input names with "%r"
 * replaced by the rank (any "%r": every rank reads its own shard, lib/dist.h;
 * rank 0 alone reads otherwise).  dl_mpirun_epoch: with -v on rank 0, the epoch's
 * all-reduce time. */
void dl_mpirun_start(struct dl_net_opts *no);
__attribute__((noreturn)) void dl_mpirun_fail(int rc);
void dl_mpirun_epoch(long epoch);
char **dl_mpirun_inputs(char **in, int n);

/* dl-import onnx and dl-export onnx (lib/kit/onnx-cmd.c): argv from the
 * format on (argv[0] "onnx"); 0, or exits as a main does. */
int dl_onnx_import_cmd(int argc, char *argv[]);
int dl_onnx_export_cmd(int argc, char *argv[]);

#ifdef __cplusplus
}
#endif

#endif
