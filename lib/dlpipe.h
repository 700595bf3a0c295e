/*
 * dlpipe.h - the one public header of libdlpipe: errors, tensors, records
 * and tensor streams (DLS v1, man dl-stream(5)).  The network, backend,
 * image and statistics parts have headers of their own, included below.
 * The byte layout itself lives in formats/stream.h.
 */
#ifndef DLPIPE_H
#define DLPIPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DL_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {		/* cuda/ is compiled as C++ */
#endif

/* ---- errors ------------------------------------------------------------
 * Library functions return 0 (or a count) on success and a negative DL_E*
 * code on failure, leaving a one-line message for dl_errmsg().  The library
 * never exits and never prints. */
enum dl_err {
	DL_ENOMEM = 1,		/* allocation failed or a limit was hit */
	DL_EIO,			/* read/write/open failed (errno in message) */
	DL_EFORMAT,		/* malformed input: stream, idx, png, npy, ... */
	DL_ESHAPE,		/* tensors whose shapes or dtypes do not fit */
	DL_EDEVICE,		/* backend (CUDA, cuDNN, cuBLAS) failure */
	DL_EUSAGE,		/* bad argument given to the library */
	DL_EPIPE,		/* downstream closed the pipe: exit quietly */
	DL_ENUM,		/* NaN or infinity where a number was needed */
};

enum { DL_EXIT_OK = 0, DL_EXIT_FAIL = 1, DL_EXIT_USAGE = 2 };

extern const char *dl_progname;	/* "dl-cat": set by dl_setprogname() */
extern int dl_quiet;		/* -q: no progress, no dl_msg() */
extern int dl_verbose;		/* -v: dl_msg() even when stderr is no tty */

/* Record an error message (printf format) for dl_errmsg() and return
 * -code, so "return dl_seterr(DL_EFORMAT, ...)" reads naturally.  The
 * message is per thread.  A format ending in ':' gets strerror(errno). */
int dl_seterr(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: " (e.g. a file name). */
void dl_errprefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *dl_errmsg(void);	/* the last message; "" if none */

/* For programs (bin/): messages go to stderr prefixed with dl_progname. */
void dl_setprogname(const char *argv0);
__attribute__((noreturn)) void dl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void dl_usage_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dl_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* on a tty or -v; never -q */
/* Exit for a failed library call: quietly (status 1, no message) on
 * -DL_EPIPE, else dl_die("what: message").  */
__attribute__((noreturn)) void dl_fail(int rc, const char *what);
/* Exit with status after an error: flush stdio, then _exit() (no atexit
 * handlers: the memory an error path held is the system's to free). */
__attribute__((noreturn)) void dl_exit_error(int status);
void dl_print_version(void);	/* "dl-cat (dlpipe) 0.1.0" on stdout */

/* Flag values for programs: parse or dl_usage_die() naming the flag. */
long dl_arg_long(const char *s, const char *flag, long lo, long hi);
double dl_arg_double(const char *s, const char *flag, double lo, double hi);
uint64_t dl_arg_seed(const char *s, const char *flag);

/* Progress line on stderr, redrawn in place; only when stderr is a
 * terminal (or dl_verbose) and not dl_quiet.  done/total may be 0. */
struct dl_progress {
	const char *what;	/* "epoch 3" */
	double t0;		/* dl_now() at start */
	double last;		/* last redraw */
	int active;		/* 1: drawing */
};
void dl_progress_start(struct dl_progress *p, const char *what);
void dl_progress_update(struct dl_progress *p, uint64_t done, uint64_t total, const char *extra);
void dl_progress_end(struct dl_progress *p);
double dl_now(void);		/* monotonic seconds */

/* Memory: 64-byte aligned, zeroed; NULL (with dl_seterr) on failure. */
void *dl_alloc(size_t nbytes);
void *dl_realloc(void *p, size_t old_nbytes, size_t new_nbytes);  /* keeps 64-alignment */
void dl_free(void *p);

/* ---- random numbers ------------------------------------------------------
 * Counter-friendly, seedable, same sequence everywhere (splitmix64 seeds a
 * xoshiro256**).  dl_rng_fork(seed, k) gives the k-th independent stream,
 * so per-sample generators make results independent of thread count. */
struct dl_rng { uint64_t s[4]; };
void dl_rng_seed(struct dl_rng *r, uint64_t seed);
void dl_rng_fork(struct dl_rng *r, uint64_t seed, uint64_t k);
uint64_t dl_rng_u64(struct dl_rng *r);
double dl_rng_uniform(struct dl_rng *r);		/* [0, 1) */
double dl_rng_normal(struct dl_rng *r);			/* N(0, 1) */
uint64_t dl_rng_below(struct dl_rng *r, uint64_t n);	/* [0, n), unbiased */
void dl_rng_shuffle(struct dl_rng *r, uint64_t *a, size_t n);  /* Fisher-Yates */
/* perm[n]: 0..n-1 in the order of dl_rng_shuffle() on dl_rng_fork(seed, k). */
void dl_rng_permutation(uint64_t *perm, uint64_t n, uint64_t seed, uint64_t k);

/* ---- tensors ------------------------------------------------------------ */
enum dl_dtype {			/* DLS v1 codes: kind << 4 | log2(itemsize) */
	DL_U8 = 0x10, DL_U16 = 0x11, DL_U32 = 0x12, DL_U64 = 0x13,
	DL_I8 = 0x20, DL_I16 = 0x21, DL_I32 = 0x22, DL_I64 = 0x23,
	DL_F16 = 0x31, DL_F32 = 0x32, DL_F64 = 0x33,
	DL_BF16 = 0x41,
	DL_BOOL = 0x50,
};
#define DL_MAX_NDIM 8
#define DL_MAX_NAME 255

size_t dl_dtype_size(int dtype);	/* bytes per element; 0: unknown code */
const char *dl_dtype_name(int dtype);	/* "u8", "f32", ...; NULL: unknown */
int dl_dtype_parse(const char *s);	/* "f32" -> DL_F32; -1: unknown */

struct dl_tensor {
	char name[DL_MAX_NAME + 1];	/* [A-Za-z0-9_.:/-]{1,255} */
	int dtype;			/* enum dl_dtype */
	int ndim;			/* 0..DL_MAX_NDIM; 0 = scalar */
	uint64_t shape[DL_MAX_NDIM];	/* outermost first (C order) */
	void *data;			/* 64-byte aligned; nbytes long */
	size_t nbytes;			/* prod(shape) * dtype size */
	int owned;			/* 1: data freed with the record */
};

uint64_t dl_tensor_count(const struct dl_tensor *t);	/* elements */
/* "u8[28,28,1]" into buf; returns buf. */
char *dl_tensor_desc(const struct dl_tensor *t, char *buf, size_t n);
/* Read element i as a double / write one (any dtype; bf16/f16 too). */
double dl_tensor_get(const struct dl_tensor *t, uint64_t i);
void dl_tensor_set(struct dl_tensor *t, uint64_t i, double v);
/* Every element of t as f32 into dst[dl_tensor_count(t)]: u8 read as
 * value/255 (pixels), other types rounded to the nearest float. */
void dl_tensor_f32(const struct dl_tensor *t, float *dst);
int dl_name_valid(const char *s, size_t len);	/* 1 if allowed as name/key */
/* Keyword tables ("sgd", "adam", ...): the index of s among words[0..n)
 * (-1: none, or s NULL), and words[i] ("?" outside). */
int dl_word_index(const char *const *words, int n, const char *s);
const char *dl_word_at(const char *const *words, int n, int i);

/* ---- records -------------------------------------------------------------
 * One DLS record: a tag, tensors, key/values.  A record read from a stream
 * owns its buffer; tensors point into it.  Records are reusable: pass the
 * same one to dl_reader_next() again and its memory is recycled. */
#define DL_TAG_HEAD "HEAD"
#define DL_TAG_DATA "DATA"
#define DL_TAG_MARK "MARK"
#define DL_TAG_ENDS "ENDS"
#define DL_TAG_ABRT "ABRT"

enum dl_marker {
	DL_MARK_EPOCH = 1,	/* end of epoch; KV epoch, samples */
	DL_MARK_SHARD = 2,	/* end of shard; KV source */
	DL_MARK_FLUSH = 3,	/* emit partial batches now */
};

struct dl_kv {
	char *key;		/* NUL-terminated, valid name */
	char *val;		/* NUL-terminated UTF-8 */
	size_t val_len;		/* strlen(val) */
};

struct dl_record {
	char tag[5];			/* "DATA", NUL-terminated */
	uint32_t marker;		/* MARK code; 0 otherwise */
	int n_tensors;
	struct dl_tensor *tensors;	/* n_tensors of them */
	int n_kv;
	struct dl_kv *kv;		/* n_kv of them */
	/* private: */
	int cap_tensors, cap_kv;
	void *raw;			/* prelude + payload as read (64-aligned) */
	size_t raw_cap, raw_len;	/* allocated / used */
	uint32_t prelude_size;		/* of the raw bytes */
	uint32_t prelude_crc, payload_crc;
	int raw_valid;			/* 1: raw matches the record as read */
};

struct dl_record *dl_record_new(const char *tag);
void dl_record_free(struct dl_record *r);
void dl_record_clear(struct dl_record *r, const char *tag);	/* empty, keep memory */
int dl_record_is(const struct dl_record *r, const char *tag);	/* tag equal */
int dl_record_is_mark(const struct dl_record *r, uint32_t code);
/* Add a tensor with zeroed data owned by the record; NULL on error
 * (bad name, duplicate, overflow, no memory). */
struct dl_tensor *dl_record_add(struct dl_record *r, const char *name, int dtype,
                                int ndim, const uint64_t *shape);
/* Add a tensor that borrows data (must outlive the record's use). */
struct dl_tensor *dl_record_add_ref(struct dl_record *r, const char *name, int dtype,
                                    int ndim, const uint64_t *shape, void *data);
struct dl_tensor *dl_record_find(const struct dl_record *r, const char *name);
int dl_record_remove(struct dl_record *r, const char *name);	/* 0, or -DL_EUSAGE if absent */
int dl_record_set(struct dl_record *r, const char *key, const char *val);  /* replaces */
int dl_record_setf(struct dl_record *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *dl_record_get(const struct dl_record *r, const char *key);	/* NULL: absent */
int dl_record_unset(struct dl_record *r, const char *key);
/* Records held in memory, in order: the list owns them. */
struct dl_record_list {
	struct dl_record **rec;		/* n of them */
	size_t n, cap;
};
int dl_record_list_add(struct dl_record_list *l, struct dl_record *r);	/* 0 or -DL_ENOMEM */
void dl_record_list_free(struct dl_record_list *l);	/* the records too; l empty again */
/* Deep copy of src into dst (dst owns everything afterwards). */
int dl_record_copy(struct dl_record *dst, const struct dl_record *src);
/* dst becomes src with tensor name replaced, order kept: same tag, marker
 * and KV, every other tensor borrowing src's data, and name as dtype,
 * ndim, shape over data (borrowed too: both must outlive dst's use).
 * 0, or -DL_ENOMEM, or -DL_EUSAGE when src has no tensor name or is dst. */
int dl_record_replace(struct dl_record *dst, const struct dl_record *src, const char *name,
                      int dtype, int ndim, const uint64_t *shape, void *data);
/* ---- reading streams --------------------------------------------------- */
struct dl_reader_opts {
	uint64_t max_record;	/* default 1 GiB */
	uint32_t max_prelude;	/* default 1 MiB, ceiling 64 MiB */
	int no_verify;		/* 1: skip payload CRCs */
	int allow_tty;		/* 1: read from a terminal */
};

struct dl_reader;
/* Open a file ("-" or NULL: stdin).  Sniffs zstd (and names gzip, xz,
 * npy, ... as foreign).  NULL with dl_errmsg() on failure. */
struct dl_reader *dl_reader_open(const char *path, const struct dl_reader_opts *o);
struct dl_reader *dl_reader_fdopen(int fd, const char *name, const struct dl_reader_opts *o);
/* 1 if the file at path starts with a zstd frame (a stream that
 * dl_reader_open() decompresses, and dl_index_open() refuses); else 0. */
int dl_file_is_zstd(const char *path);
/* 1 if path is a regular file (can be read again), 0 if it is stdin ("-"
 * or NULL) or another kind of file, -1 with errno when it cannot be
 * stat()ed. */
int dl_file_regular(const char *path);
/* Open each path in turn as one sequence of streams (dl-cat a b). */
struct dl_reader *dl_reader_open_many(char **paths, int n, const struct dl_reader_opts *o);
/* The next record: returns 1 and fills rec, 0 at the clean end of input
 * (after an ENDS), or a negative DL_E* code.  The first HEAD is not
 * returned (dl_reader_head() has it); the HEAD of each later concatenated
 * stream or file is; ENDS is consumed silently; ABRT becomes an error
 * quoting its message.  Messages name input, byte offset, record number
 * and tag. */
int dl_reader_next(struct dl_reader *r, struct dl_record *rec);
/* The first HEAD (read on demand; NULL with error if there is none). */
const struct dl_record *dl_reader_head(struct dl_reader *r);
const char *dl_reader_name(const struct dl_reader *r);	/* "stdin", path */
uint64_t dl_reader_offset(const struct dl_reader *r);	/* decoded bytes consumed */
uint64_t dl_reader_records(const struct dl_reader *r);	/* records returned */
void dl_reader_close(struct dl_reader *r);

/* Read the stream at path ("-" or NULL: stdin) once, in order: its first
 * HEAD, then every record dl_reader_next() returns, each handed to fn(arg,
 * rec, src) (src the reader's name), which returns 0 to go on, > 0 to
 * stop, or -DL_E* to fail.  With keep, records after fn are also appended
 * to list (which then owns them): DATA and, unless DL_HOLD_DATA_ONLY,
 * markers and other records but HEADs (and, with DL_HOLD_NO_EPOCH, but
 * epoch markers).  Returns 0 at the end of the input, fn's value when it
 * stopped, or -DL_E* (reading; -DL_EIO when the input cannot be opened or
 * has no HEAD). */
enum { DL_HOLD = 1, DL_HOLD_DATA_ONLY = 2, DL_HOLD_NO_EPOCH = 4 };
typedef int dl_hold_fn(void *arg, const struct dl_record *rec, const char *src);
struct dl_record_list;
int dl_stream_hold(const char *path, const struct dl_reader_opts *o, int keep,
                   struct dl_record_list *list, dl_hold_fn *fn, void *arg);

/* The DATA records of several inputs, numbered in the order added, for
 * reading in any order: a regular file that is not zstd through its
 * record index (fn sees its HEAD), anything else held by dl_stream_hold()
 * (fn sees every record).  add returns 0, or fn's -DL_E*, or -DL_E*.
 * shuffle puts the records in the order dl_rng_permutation(seed, k)
 * gives; get points *rec at the i-th record in the order: a held one, or
 * scratch read through the index.  0 or -DL_E*. */
struct dl_sample_table;
struct dl_sample_table *dl_sample_table_new(void);
int dl_sample_table_add(struct dl_sample_table *t, const char *path, int regular,
                        const struct dl_reader_opts *o, dl_hold_fn *fn, void *arg);
uint64_t dl_sample_table_count(const struct dl_sample_table *t);
int dl_sample_table_shuffle(struct dl_sample_table *t, uint64_t seed, uint64_t k);
int dl_sample_table_get(struct dl_sample_table *t, uint64_t j, struct dl_record *scratch,
                        const struct dl_record **rec);
void dl_sample_table_free(struct dl_sample_table *t);

/* Random access over a regular file: index every DATA record (headers
 * only: payloads are checked when read).  Markers, ENDS and HEAD are not
 * indexed. */
struct dl_index;
struct dl_index *dl_index_open(const char *path, const struct dl_reader_opts *o);
uint64_t dl_index_count(const struct dl_index *ix);		/* DATA records */
const struct dl_record *dl_index_head(const struct dl_index *ix);
int dl_index_read(struct dl_index *ix, uint64_t i, struct dl_record *rec);  /* 1 or -DL_E* */
void dl_index_close(struct dl_index *ix);

/* ---- writing streams --------------------------------------------------- */
struct dl_writer_opts {
	int zstd_level;		/* 0: plain; >0: whole-stream zstd at that level */
	int allow_tty;		/* 1: write to a terminal */
};

struct dl_writer;
/* Open a file ("-" or NULL: stdout).  A named file is written to a
 * temporary name beside it and renamed into place by dl_writer_close(),
 * so no half-written output ever stands under the final name. */
struct dl_writer *dl_writer_open(const char *path, const struct dl_writer_opts *o);
struct dl_writer *dl_writer_fdopen(int fd, const char *name, const struct dl_writer_opts *o);
/* Write a record.  The first record must be HEAD; seq numbers are the
 * writer's.  ENDS is written by close; an input ENDS/ABRT is refused. */
int dl_writer_put(struct dl_writer *w, const struct dl_record *rec);
/* Write an end-of-epoch marker (DL_MARK_EPOCH) with KV epoch and samples. */
int dl_writer_put_epoch(struct dl_writer *w, uint64_t epoch, uint64_t samples);
/* Write a record read from a stream byte-for-byte (only the header's seq
 * and CRC are redone); falls back to dl_writer_put() when it cannot. */
int dl_writer_put_raw(struct dl_writer *w, const struct dl_record *rec);
/* Start the stream with a HEAD made from head (copied: "producer" set to
 * dl_progname), for filters: one call instead of copying by hand. */
int dl_writer_head(struct dl_writer *w, const struct dl_record *head);
int dl_writer_flush(struct dl_writer *w);
/* Write ENDS, flush, fsync and rename a named file; frees w.  0 or -DL_E*. */
int dl_writer_close(struct dl_writer *w);
/* Best effort: write ABRT with message, remove a temporary file, free w. */
void dl_writer_abort(struct dl_writer *w, const char *message);
uint64_t dl_writer_records(const struct dl_writer *w);

/* The record loop of a filter: every record of r after its first HEAD
 * into rec: later HEADs dropped, DATA records handed to fn(arg, rec, n),
 * n counting them from 1, then written with dl_writer_put(), any other
 * record written as read (dl_writer_put_raw()).  0 at the end of the
 * input, or the first -DL_E* of fn, reading or writing. */
typedef int dl_data_fn(void *arg, struct dl_record *rec, uint64_t n);
int dl_filter_data(struct dl_reader *r, struct dl_writer *w, struct dl_record *rec,
                   dl_data_fn *fn, void *arg);

/* ---- what programs share (lib/prog.c) -------------------------------------
 * The stream flags: put DL_IO_LONGOPTS in a program's longopts table and
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
 * -o) and exit 1: quietly when rc is -DL_EPIPE, else with dl_errmsg(). */
__attribute__((noreturn)) void dl_writer_die(struct dl_writer *w, int rc);

/* Say on stderr which device a net runs on ("device cuda:0 (NVIDIA ...)",
 * "device cpu (2 threads)"): when stderr is a terminal or with -v, never
 * with -q.  For the programs that compute (--device auto picks). */
struct dl_net;
void dl_msg_device(const struct dl_net *net);
/* First thing in the main of a program that computes with threads: make
 * OpenMP threads sleep rather than spin while they wait (they would starve
 * the rest of a pipeline), by running the program again once with
 * OMP_WAIT_POLICY=PASSIVE unless the environment already sets a policy. */
void dl_omp_init(void);

/* ---- CRC-32C ------------------------------------------------------------- */
uint32_t dl_crc32c(uint32_t crc, const void *buf, size_t n);	/* crc=0 to start */

/* ---- other parts ---------------------------------------------------------- */
#include "formats.h"
#include "net.h"
#include "image.h"
#include "stats.h"
#include "explain.h"
#include "export.h"
#include "import.h"
#include "train.h"
#include "plot.h"
#include "summary.h"

#ifdef __cplusplus
}
#endif

#endif
